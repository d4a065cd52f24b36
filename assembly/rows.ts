// The row driver shared by every kernel: walks nrows source rows, widens each to f32 (f16 and bf16
// exactly, as ggml_fp16_to_fp32_row / ggml_bf16_to_fp32_row do), and hands it to one type's row
// quantizer. Mirrors ggml_quantize_chunk: rows are independent, so chunking never changes bytes.

import { fp16_to_fp32, bf16_to_fp32 } from "./common";
import { dequantize_row } from "./dequant";
import { rowBytes } from "./layout";
import { use_scalar, __fp32_from_fp16_hi_i32x4 } from "./simd";

/** Widens n halves at s into f32 at d: fp16 (bf16 false) or bf16, 8 per step (each half moved into
 *  the top of an i32 lane by an interleave with zeros), the rest one by one. */
function widen_row(s: usize, d: usize, n: i32, bf16: bool): void {
  let i = 0;
  if (!use_scalar()) {
    const z = i32x4.splat(0);
    for (; i + 8 <= n; i += 8) {
      const h = v128.load(s + (<usize>i << 1));
      const lo = i16x8.shuffle(z, h, 0, 8, 1, 9, 2, 10, 3, 11);
      const hi = i16x8.shuffle(z, h, 4, 12, 5, 13, 6, 14, 7, 15);
      const p = d + (<usize>i << 2);
      if (bf16) {
        v128.store(p, lo);
        v128.store(p, hi, 16);
      } else {
        v128.store(p, __fp32_from_fp16_hi_i32x4(lo));
        v128.store(p, __fp32_from_fp16_hi_i32x4(hi), 16);
      }
    }
  }
  for (; i < n; i++) {
    const h = load<u16>(s + (<usize>i << 1));
    store<f32>(d + (<usize>i << 2), bf16 ? bf16_to_fp32(h) : fp16_to_fp32(h));
  }
}

/** ggml_type ids of the source layouts the driver understands. */
export const SRC_F32: i32 = 0;
export const SRC_F16: i32 = 1;
export const SRC_BF16: i32 = 30;

/** A row quantizer: reads n floats at x, writes one row at y, returns the bytes written.
 *  qw is the importance vector for this row (n floats) or 0 for none. */
export type RowFn = (x: usize, y: usize, n: i32, qw: usize) => usize;

/** Scratch given by the host (set_scratch): n*4 bytes at least, for the widened row. */
let scratch: usize = 0;
export function set_scratch(p: usize): void { scratch = p; }

/** Pointer to row r of the source as f32: the row itself when it is f32, else widened (or
 *  dequantized) into scratch. Returns 0 for a source type the driver cannot read. */
export function row_f32(src: usize, srcType: i32, r: i32, n: i32): usize {
  if (srcType == SRC_F32) return src + (<usize>r * <usize>n << 2);
  if (srcType == SRC_F16 || srcType == SRC_BF16) {
    widen_row(src + (<usize>r * <usize>n << 1), scratch, n, srcType == SRC_BF16);
    return scratch;
  }
  const rb = rowBytes(srcType, n);
  if (rb == 0) return 0;
  return dequantize_row(srcType, src + <usize>r * rb, scratch, n) ? scratch : 0;
}

// Where llama.cpp stops the process (a GGML_ASSERT or GGML_ABORT inside a kernel: the iq2/iq1
// quantizers on data their searches cannot place, or without the imatrix they require), a row
// quantizer calls kernel_abort with the failed check's code (FAIL_* below) and returns; the driver
// then stops and returns -2 - row, and the host reads the code with kernel_failure().
let failure: i32 = 0;

/** "missing quantization weights" (iq2_xxs, iq2_xs, iq1_s without an imatrix) */
export const FAIL_NO_IMATRIX: i32 = 1;
/** iq2_find_best_neighbour / iq1_find_best_neighbour2: GGML_ASSERT(grid_index >= 0) */
export const FAIL_NO_NEIGHBOUR: i32 = 2;
/** "Oops: found point not on grid" */
export const FAIL_OFF_GRID: i32 = 3;
/** GGML_ASSERT(scale >= 0) (a NaN scale) */
export const FAIL_SCALE: i32 = 4;
/** C reads out of bounds here (a level vector past kmap_q2xs, iq1 neighbour fallback past the row): undefined, we refuse */
export const FAIL_OUT_OF_BOUNDS: i32 = 6;
/** iq3_xxs / iq3_s: a GGML_ASSERT or GGML_ABORT of their grid search (no neighbour at a finite
 *  distance, a NaN scale, a group that ends off the grid) */
export const FAIL_IQ3_SEARCH: i32 = 7;

/** Records that llama.cpp would abort here (the first code of a call is kept). */
export function kernel_abort(code: i32): void { if (failure == 0) failure = code; }
/** The iq3 quantizers' report (assembly/iq3.ts): llama.cpp aborts on this row. */
export function llama_aborts(): void { kernel_abort(FAIL_IQ3_SEARCH); }
/** Whether a row quantizer has called kernel_abort since the driver started the row. */
// @ts-ignore: decorator
@inline export function aborted(): bool { return failure != 0; }
/** The code of the last call's abort (0: none). */
export function kernel_failure(): i32 { return failure; }

/** Quantizes nrows rows of n values with fn; returns the bytes written, -1 on an unknown source
 *  type, or -2 - r when llama.cpp would abort the process on row r (nothing after it is written;
 *  kernel_failure() says why). */
export function quantize_rows(fn: RowFn, src: usize, srcType: i32, dst: usize, nrows: i32, n: i32, imatrix: usize): isize {
  failure = 0;
  let y = dst;
  for (let r = 0; r < nrows; r++) {
    const x = row_f32(src, srcType, r, n);
    if (x == 0) return -1;
    y += fn(x, y, n, imatrix);
    if (failure != 0) return -2 - <isize>r;
  }
  return <isize>(y - dst);
}
