// Random block bytes for dequantization tests: deterministic, every fp16 scale finite.

import { TYPES } from "../../src/types.js";
import { Rng } from "./random.js";

export /** 64 KiB-ish of random block bytes, with every scale made finite (so no NaN reaches the digest). */
function randomBlocks(id: number): { bytes: Uint8Array; values: number } {
  const rng = new Rng(id * 977);
  const ty = TYPES[id];
  const blocks = (4096 / ty.blockSize) * 16;
  const bytes = new Uint8Array(blocks * ty.typeSize);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.u32() & 0xff;
  // a block fails validation (and llama.cpp refuses the file) when an fp16 scale is inf/NaN:
  // clear the top exponent bit of any such scale
  const fields = id === 3 || id === 7 || id === 12 || id === 13 ? [0, 2] : id === 14 ? [208] : id === 10 ? [80, 82] : id === 11 ? [108] : id === 34 ? [52] : id === 35 ? [64] : [0];
  if (id === 39) { // mxfp4: the E8M0 byte 0xff is invalid (ggml_validate_row_data); nvfp4 (40) has no invalid scale
    for (let b = 0; b < blocks; b++) if (bytes[b * ty.typeSize] === 0xff) bytes[b * ty.typeSize] = 0xfe;
    return { bytes, values: blocks * ty.blockSize };
  }
  if (id === 40) return { bytes, values: blocks * ty.blockSize };
  if (id === 29) { // iq1_m: the fp16 d is the top nibbles of the four uint16 scales (bytes 49, 51, 53, 55);
    // its exponent's top bit (bit 14) is bit 6 of byte 55: clear it, so every d is finite
    for (let b = 0; b < blocks; b++) bytes[b * ty.typeSize + 55] &= ~0x40;
    return { bytes, values: blocks * ty.blockSize };
  }
  for (let b = 0; b < blocks; b++) for (const f of fields) {
    const at = b * ty.typeSize + f + 1;
    if ((bytes[at] & 0x7c) === 0x7c) bytes[at] &= ~0x40;
  }
  return { bytes, values: blocks * ty.blockSize };
}
