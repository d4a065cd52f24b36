// The module's exports: one quantize entry per ggml type, all with the calling convention
//   (src, srcType, dst, nrows, nPerRow, imatrix) -> bytes written (or -1: unreadable source type)
// imatrix = 0 means none; when given it is nPerRow floats used for every row (the host passes the
// per-expert slice for 3-D tensors). The host owns the memory (imported) and all offsets.

import { quantize_rows, set_scratch as _set_scratch } from "./rows";
import { quantize_row_f32, quantize_row_f16, quantize_row_bf16 } from "./float";
import { quantize_row_q4_0, quantize_row_q4_1, quantize_row_q5_0, quantize_row_q5_1, quantize_row_q8_0 } from "./legacy";
import { quantize_row_q2_K, quantize_row_q3_K, quantize_row_q4_K, quantize_row_q5_K, quantize_row_q6_K } from "./kquants";
import { quantize_row_tq1_0, quantize_row_tq2_0, quantize_row_mxfp4, quantize_row_nvfp4, quantize_row_q1_0, quantize_row_q2_0 } from "./small";
import { quantize_row_iq4_nl, quantize_row_iq4_xs } from "./iquants";
import { quantize_row_iq2_xxs, quantize_row_iq2_xs, quantize_row_iq2_s } from "./iq2";
import { quantize_row_iq1_s, quantize_row_iq1_m } from "./iq1";
import { quantize_row_iq3_xxs, quantize_row_iq3_s } from "./iq3";
import { ARENA_END } from "./arena";
import { dequantize_row } from "./dequant";

/** First byte the host may use: below it lie the module's static data, the iq2/iq1 lattices
 *  (lattice.ts) and the arena of the other tables built at run time (arena.ts). */
export function heap_base(): usize { return ARENA_END; }

/** Where kernels may widen one source row (nPerRow * 4 bytes). */
export function set_scratch(p: usize): void { _set_scratch(p); }

export function quantize_f32(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_f32, src, srcType, dst, nrows, n, imatrix); }
export function quantize_f16(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_f16, src, srcType, dst, nrows, n, imatrix); }
export function quantize_bf16(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_bf16, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q4_0(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q4_0, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q4_1(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q4_1, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q5_0(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q5_0, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q5_1(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q5_1, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q8_0(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q8_0, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q2_K(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q2_K, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q3_K(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q3_K, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q4_K(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q4_K, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q5_K(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q5_K, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q6_K(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q6_K, src, srcType, dst, nrows, n, imatrix); }
export function quantize_tq1_0(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_tq1_0, src, srcType, dst, nrows, n, imatrix); }
export function quantize_tq2_0(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_tq2_0, src, srcType, dst, nrows, n, imatrix); }
export function quantize_mxfp4(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_mxfp4, src, srcType, dst, nrows, n, imatrix); }
export function quantize_nvfp4(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_nvfp4, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q1_0(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q1_0, src, srcType, dst, nrows, n, imatrix); }
export function quantize_q2_0(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_q2_0, src, srcType, dst, nrows, n, imatrix); }
export function quantize_iq4_nl(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_iq4_nl, src, srcType, dst, nrows, n, imatrix); }
export function quantize_iq2_xxs(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_iq2_xxs, src, srcType, dst, nrows, n, imatrix); }
export function quantize_iq2_xs(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_iq2_xs, src, srcType, dst, nrows, n, imatrix); }
export function quantize_iq1_s(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_iq1_s, src, srcType, dst, nrows, n, imatrix); }
export function quantize_iq1_m(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_iq1_m, src, srcType, dst, nrows, n, imatrix); }
export function quantize_iq2_s(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_iq2_s, src, srcType, dst, nrows, n, imatrix); }
export function quantize_iq3_xxs(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_iq3_xxs, src, srcType, dst, nrows, n, imatrix); }
export function quantize_iq3_s(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_iq3_s, src, srcType, dst, nrows, n, imatrix); }
export function quantize_iq4_xs(src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize { return quantize_rows(quantize_row_iq4_xs, src, srcType, dst, nrows, n, imatrix); }

export { validate_row_data } from "./validate";

/** Why the last quantize_* call returned -2 (llama.cpp would abort there): rows.ts FAIL_*. */
export { kernel_failure } from "./rows";

/** 1: kernels with a SIMD version run their scalar reference instead (tests compare the two). */
export { set_scalar_kernels } from "./simd";

/** to_float: k values of `type` at x into f32 at y; returns 0 when the type cannot be dequantized. */
export function dequantize(type: i32, x: usize, y: usize, k: i32): i32 { return dequantize_row(type, x, y, k) ? 1 : 0; }

export { blockValues as block_values, blockBytes as block_bytes } from "./layout";
