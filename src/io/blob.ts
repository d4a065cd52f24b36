// ByteSource over a Blob (a browser File, or a Blob in Node and Deno): every read is a
// Blob.slice, so a model larger than memory is read a chunk at a time.

import { QuantizeError } from "../errors.js";
import type { ByteSource } from "./types.js";

export function blobSource(blob: Blob, name = (blob as Partial<File>).name ?? "blob"): ByteSource {
  return {
    name,
    size: blob.size,
    async readInto(dst, position) {
      const end = position + dst.byteLength;
      if (end > blob.size) throw new QuantizeError("BAD_FILE", `${name}: unexpected end of file at byte ${blob.size} (needed ${end - blob.size} more bytes)`);
      let bytes: ArrayBuffer;
      try {
        bytes = await blob.slice(position, end).arrayBuffer();
      } catch (e) {
        // a picked file that changed or vanished since it was picked
        throw new QuantizeError("IO", `${name}: cannot read: ${(e as Error)?.message ?? e}`, { cause: e });
      }
      dst.set(new Uint8Array(bytes));
    },
    async close() {},
  };
}
