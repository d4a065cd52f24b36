// The "struct" half of ggml-common.h: values and bytes per block of each type the kernels read.
// test/types.test.ts checks every entry against src/types.ts (and so against ggml_type_size).

/** Values per block (0: a type the kernels do not know). */
export function blockValues(type: i32): i32 {
  switch (type) {
    case 0: case 1: case 30: return 1;                       // f32 f16 bf16
    case 2: case 3: case 6: case 7: case 8: case 20: case 39: return 32; // q4_0 q4_1 q5_0 q5_1 q8_0 iq4_nl mxfp4
    case 40: case 42: return 64;                            // nvfp4 q2_0
    case 41: return 128;                                    // q1_0
    case 10: case 11: case 12: case 13: case 14: case 16: case 17: case 18: case 19:
    case 21: case 22: case 23: case 29: case 34: case 35: return 256; // K, I and TQ types
    default: return 0;
  }
}

/** Bytes per block (sizeof(block_*)). */
export function blockBytes(type: i32): i32 {
  switch (type) {
    case 0: return 4;
    case 1: case 30: return 2;
    case 2: return 18;  case 3: return 20;  case 6: return 22;  case 7: return 24;  case 8: return 34;
    case 10: return 84; case 11: return 110; case 12: return 144; case 13: return 176; case 14: return 210;
    case 16: return 66; case 17: return 74; case 18: return 98; case 19: return 50; case 20: return 18;
    case 21: return 110; case 22: return 82; case 23: return 136; case 29: return 56;
    case 34: return 54; case 35: return 66; case 39: return 17; case 40: return 36; case 41: return 18; case 42: return 18;
    default: return 0;
  }
}

/** Bytes of one row of n values of `type` (0 when unknown or n does not fit the block). */
export function rowBytes(type: i32, n: i32): usize {
  const bv = blockValues(type);
  if (bv == 0 || n % bv != 0) return 0;
  return <usize>(n / bv) * <usize>blockBytes(type);
}
