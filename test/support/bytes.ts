// In-memory ByteSource for tests, with a log of the reads it served (to check that readers stay
// within the header and read in bounded chunks).

import { QuantizeError } from "../../src/errors.js";
import type { ByteSource } from "../../src/io/types.js";

export interface MemorySource extends ByteSource {
  /** [position, length] of every readInto call */
  readonly reads: [number, number][];
  /** bytes handed out so far */
  bytesRead(): number;
}

export function memorySource(bytes: Uint8Array, name = "mem.gguf"): MemorySource {
  const reads: [number, number][] = [];
  return {
    name,
    size: bytes.length,
    reads,
    bytesRead: () => reads.reduce((n, [, l]) => n + l, 0),
    async readInto(dst, position) {
      reads.push([position, dst.length]);
      if (position + dst.length > bytes.length) {
        throw new QuantizeError("BAD_FILE", `${name}: unexpected end of file at byte ${bytes.length}`);
      }
      dst.set(bytes.subarray(position, position + dst.length));
    },
    async close() {},
  };
}

/** Little-endian byte building for hand-made (often invalid) files. */
export const le = {
  u8: (v: number) => [v & 0xff],
  u32: (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); return [...b]; },
  i32: (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, v, true); return [...b]; },
  u64: (v: bigint | number) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true); return [...b]; },
  i64: (v: bigint | number) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigInt64(0, BigInt.asIntN(64, BigInt(v)), true); return [...b]; },
  f32: (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); return [...b]; },
  /** GGUF string: u64 length + bytes */
  str: (s: string | Uint8Array) => { const b = typeof s === "string" ? new TextEncoder().encode(s) : s; return [...le.u64(b.length), ...b]; },
};

export function concat(...parts: (number[] | Uint8Array)[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
