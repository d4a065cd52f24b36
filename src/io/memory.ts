// In-memory source and sink, for small models in a browser and for tests; the sink grows as it is
// written, in any order.

import { QuantizeError } from "../errors.js";
import type { ByteSink, ByteSource } from "./types.js";

export interface MemorySink extends ByteSink {
  /** the bytes written so far (a view, valid until the next write) */
  bytes(): Uint8Array;
  readonly committed: boolean;
}

export function memorySink(name = "memory"): MemorySink {
  let buf = new Uint8Array(0);
  let length = 0;
  let committed = false;
  return {
    name,
    get committed() { return committed; },
    async write(data, position) {
      const end = position + data.byteLength;
      if (end > buf.byteLength) {
        const grown = new Uint8Array(Math.max(end, buf.byteLength * 2));
        grown.set(buf.subarray(0, length));
        buf = grown;
      }
      buf.set(data, position);
      length = Math.max(length, end);
    },
    bytes: () => buf.subarray(0, length),
    async commit() { committed = true; },
    async abort() { buf = new Uint8Array(0); length = 0; },
  };
}

/** A ByteSource over bytes already in memory. */
export function memorySource(bytes: Uint8Array, name = "memory"): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async readInto(dst, position) {
      if (position + dst.byteLength > bytes.byteLength) throw new QuantizeError("BAD_FILE", `${name}: unexpected end of file at byte ${bytes.byteLength} (needed ${position + dst.byteLength - bytes.byteLength} more bytes)`);
      dst.set(bytes.subarray(position, position + dst.byteLength));
    },
    async close() {},
  };
}
