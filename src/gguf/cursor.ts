// A forward cursor over a ByteSource that holds one bounded chunk in memory: the GGUF header reader
// and the legacy imatrix loader parse through it. Callers check lengths that come from the file
// against remaining() before asking for them, so memory is bounded by what the file really holds.

import { QuantizeError, ioError, type ErrorCode } from "../errors.js";
import type { ByteSource } from "../io/types.js";

export class Cursor {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufPos = 0; // file position of buf[0]
  private off = 0; // read position inside buf
  private readonly chunk: number;

  /**
   * @param chunkSize bytes fetched per read (default 1 MiB); one item larger than that is fetched whole
   * @param code, truncated: the error code and wording used when the file ends early
   */
  constructor(private readonly src: ByteSource, chunkSize = 1 << 20, private readonly code: ErrorCode = "BAD_FILE", private readonly truncated = "truncated") {
    this.chunk = Math.max(chunkSize, 16);
  }

  get pos(): number { return this.bufPos + this.off; }
  get size(): number { return this.src.size; }
  remaining(): number { return this.src.size - this.pos; }
  /** Whether n bytes are buffered (then the typed reads below may be called without fill()). */
  has(n: number): boolean { return this.buf.length - this.off >= n; }

  /** Makes n bytes readable, or throws "<file>: truncated: <what> ..." when the file has fewer left. */
  async fill(n: number, what: string): Promise<void> {
    if (this.has(n)) return;
    if (n > this.remaining()) {
      throw new QuantizeError(this.code, `${this.src.name}: ${this.truncated}: ${what} at byte ${this.pos} needs ${n} bytes, but the file ends at ${this.size}`);
    }
    const keep = this.buf.subarray(this.off);
    const want = Math.min(Math.max(n, this.chunk), this.remaining());
    const next = new Uint8Array(want);
    next.set(keep);
    try {
      await this.src.readInto(next.subarray(keep.length), this.pos + keep.length);
    } catch (e) {
      throw ioError(e, this.src.name, "read");
    }
    this.bufPos = this.pos;
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.off = 0;
  }

  u8(): number { return this.buf[this.off++]; }
  i8(): number { return this.view.getInt8(this.off++); }
  u16(): number { const v = this.view.getUint16(this.off, true); this.off += 2; return v; }
  i16(): number { const v = this.view.getInt16(this.off, true); this.off += 2; return v; }
  u32(): number { const v = this.view.getUint32(this.off, true); this.off += 4; return v; }
  i32(): number { const v = this.view.getInt32(this.off, true); this.off += 4; return v; }
  f32(): number { const v = this.view.getFloat32(this.off, true); this.off += 4; return v; }
  f64(): number { const v = this.view.getFloat64(this.off, true); this.off += 8; return v; }
  u64(): bigint { const v = this.view.getBigUint64(this.off, true); this.off += 8; return v; }
  i64(): bigint { const v = this.view.getBigInt64(this.off, true); this.off += 8; return v; }
  /** A copy of the next n bytes in its own buffer (so typed-array views on it are aligned). */
  copy(n: number): Uint8Array { const v = this.buf.slice(this.off, this.off + n); this.off += n; return v; }
  /** A view of the next n bytes, valid until the next fill(). */
  bytes(n: number): Uint8Array { const v = this.buf.subarray(this.off, this.off + n); this.off += n; return v; }
}
