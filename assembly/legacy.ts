// port of quantize_row_q{4_0,4_1,5_0,5_1,8_0}_ref and quantize_row_q{4_0,4_1,5_0,5_1}_impl, ggml-quants.c @ 36491e40
//
// The legacy block-32 quants. Without an importance vector (qw == 0) every type runs its _ref
// kernel, block by block; with one, q4_0/q4_1/q5_0/q5_1 run their _impl kernel, which weights
// each value by qw[j] * sqrt(sigma2 + x[j]^2) (sigma2 = mean square of the whole row) and searches
// the scale with make_qx_quants / make_qkx3_quants. q8_0 ignores the importance vector.
//
// Each block is quantized by its own function reading 32 floats at x and writing one block at y,
// so a SIMD version can later put one block per lane. C casts are spelled out:
//   (int8_t)(f)  -> cvtt_i32(f) (x86 cvttss2si: NaN/out of range -> 0x80000000), then low byte;
//   MIN(15, ...) -> on the sign-extended int8, as C promotes it.
// NaN in the input on the imatrix path: exact only where llama-quantize accepts the block (see
// search.ts); everything else, inf included, is exact.

import { fp32_to_fp16, cvtt_i32, roundf, cmax, fabsf } from "./common";
import { make_qx_quants, make_qkx3_quants, imin } from "./search";
import { use_scalar } from "./simd";
import {
  quantize_row_q4_0_impl_simd, quantize_row_q4_1_impl_simd, quantize_row_q5_0_impl_simd, quantize_row_q5_1_impl_simd,
  quantize_row_q8_0_ref_simd,
} from "./legacy_simd";

// Block layouts (ggml-common.h). Offsets in bytes.
export const QK: i32 = 32;                 // QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0
// block_q4_0 { ggml_half d; uint8_t qs[16]; }
export const Q4_0_BYTES: usize = 18; export const Q4_0_QS: usize = 2;
// block_q4_1 { ggml_half d; ggml_half m; uint8_t qs[16]; }
export const Q4_1_BYTES: usize = 20; export const Q4_1_M: usize = 2; export const Q4_1_QS: usize = 4;
// block_q5_0 { ggml_half d; uint8_t qh[4]; uint8_t qs[16]; }
export const Q5_0_BYTES: usize = 22; export const Q5_0_QH: usize = 2; export const Q5_0_QS: usize = 6;
// block_q5_1 { ggml_half d; ggml_half m; uint8_t qh[4]; uint8_t qs[16]; }
export const Q5_1_BYTES: usize = 24; export const Q5_1_M: usize = 2; export const Q5_1_QH: usize = 4; export const Q5_1_QS: usize = 8;
// block_q8_0 { ggml_half d; int8_t qs[32]; }
export const Q8_0_BYTES: usize = 34; export const Q8_0_QS: usize = 2;

const BLOCK_F32_BYTES: usize = <usize>QK << 2;

// Scratch for the imatrix kernels: float weight[32]; int8/uint8 L[32], Laux[32]; float min.
const weight: usize = memory.data(QK * 4, 16);
const L: usize = memory.data(QK, 16);
const Laux: usize = memory.data(QK, 16);
const the_min: usize = memory.data(4, 4);

// @ts-ignore: decorator
@inline function ld(x: usize, j: i32): f32 { return load<f32>(x + (<usize>j << 2)); }

/** C's (int8_t)(f), sign-extended back to int as C's MIN sees it. */
// @ts-ignore: decorator
@inline function to_int8(f: f32): i32 { return (cvtt_i32(f) << 24) >> 24; }

// ---------------------------------------------------------------- _ref kernels, one block each

export function block_q4_0_ref(x: usize, y: usize): void {
  let amax: f32 = 0; // absolute max
  let max: f32 = 0;
  for (let j = 0; j < QK; j++) {
    const v: f32 = ld(x, j);
    if (amax < fabsf(v)) {
      amax = fabsf(v);
      max = v;
    }
  }
  const d: f32 = max / <f32>-8;
  const id: f32 = d != 0 ? <f32>1 / d : <f32>0;
  store<u16>(y, fp32_to_fp16(d));
  for (let j = 0; j < QK / 2; ++j) {
    const x0: f32 = ld(x, j) * id;
    const x1: f32 = ld(x, QK / 2 + j) * id;
    const xi0: i32 = imin(15, to_int8(x0 + <f32>8.5)) & 0xFF;
    const xi1: i32 = imin(15, to_int8(x1 + <f32>8.5)) & 0xFF;
    store<u8>(y + Q4_0_QS + <usize>j, xi0 | (xi1 << 4));
  }
}

export function block_q4_1_ref(x: usize, y: usize): void {
  let min: f32 = reinterpret<f32>(0x7F7FFFFF);  // FLT_MAX
  let max: f32 = reinterpret<f32>(0xFF7FFFFF);  // -FLT_MAX
  for (let j = 0; j < QK; j++) {
    const v: f32 = ld(x, j);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const d: f32 = (max - min) / <f32>15;
  const id: f32 = d != 0 ? <f32>1 / d : <f32>0;
  store<u16>(y, fp32_to_fp16(d));
  store<u16>(y + Q4_1_M, fp32_to_fp16(min));
  for (let j = 0; j < QK / 2; ++j) {
    const x0: f32 = (ld(x, j) - min) * id;
    const x1: f32 = (ld(x, QK / 2 + j) - min) * id;
    const xi0: i32 = imin(15, to_int8(x0 + <f32>0.5)) & 0xFF;
    const xi1: i32 = imin(15, to_int8(x1 + <f32>0.5)) & 0xFF;
    store<u8>(y + Q4_1_QS + <usize>j, xi0 | (xi1 << 4));
  }
}

export function block_q5_0_ref(x: usize, y: usize): void {
  let amax: f32 = 0; // absolute max
  let max: f32 = 0;
  for (let j = 0; j < QK; j++) {
    const v: f32 = ld(x, j);
    if (amax < fabsf(v)) {
      amax = fabsf(v);
      max = v;
    }
  }
  const d: f32 = max / <f32>-16;
  const id: f32 = d != 0 ? <f32>1 / d : <f32>0;
  store<u16>(y, fp32_to_fp16(d));
  let qh: u32 = 0;
  for (let j = 0; j < QK / 2; ++j) {
    const x0: f32 = ld(x, j) * id;
    const x1: f32 = ld(x, QK / 2 + j) * id;
    const xi0: u32 = <u32>(imin(31, to_int8(x0 + <f32>16.5)) & 0xFF);
    const xi1: u32 = <u32>(imin(31, to_int8(x1 + <f32>16.5)) & 0xFF);
    store<u8>(y + Q5_0_QS + <usize>j, (xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
    // the 5th bit of each value goes to qh
    qh |= ((xi0 & 0x10) >> 4) << <u32>(j + 0);
    qh |= ((xi1 & 0x10) >> 4) << <u32>(j + QK / 2);
  }
  store<u32>(y + Q5_0_QH, qh);
}

export function block_q5_1_ref(x: usize, y: usize): void {
  let min: f32 = reinterpret<f32>(0x7F7FFFFF);  // FLT_MAX
  let max: f32 = reinterpret<f32>(0xFF7FFFFF);  // -FLT_MAX
  for (let j = 0; j < QK; j++) {
    const v: f32 = ld(x, j);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const d: f32 = (max - min) / <f32>31;
  const id: f32 = d != 0 ? <f32>1 / d : <f32>0;
  store<u16>(y, fp32_to_fp16(d));
  store<u16>(y + Q5_1_M, fp32_to_fp16(min));
  let qh: u32 = 0;
  for (let j = 0; j < QK / 2; ++j) {
    const x0: f32 = (ld(x, j) - min) * id;
    const x1: f32 = (ld(x, QK / 2 + j) - min) * id;
    // (uint8_t)(x + 0.5f): no clamp in C, just the low byte
    const xi0: u32 = <u32>cvtt_i32(x0 + <f32>0.5) & 0xFF;
    const xi1: u32 = <u32>cvtt_i32(x1 + <f32>0.5) & 0xFF;
    store<u8>(y + Q5_1_QS + <usize>j, (xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
    qh |= ((xi0 & 0x10) >> 4) << <u32>(j + 0);
    qh |= ((xi1 & 0x10) >> 4) << <u32>(j + QK / 2);
  }
  store<u32>(y + Q5_1_QH, qh);
}

export function block_q8_0_ref(x: usize, y: usize): void {
  let amax: f32 = 0; // absolute max
  for (let j = 0; j < QK; j++) {
    amax = cmax(amax, fabsf(ld(x, j)));
  }
  const d: f32 = amax / <f32>127;
  const id: f32 = d != 0 ? <f32>1 / d : <f32>0;
  store<u16>(y, fp32_to_fp16(d));
  for (let j = 0; j < QK; ++j) {
    const x0: f32 = ld(x, j) * id;
    store<i8>(y + Q8_0_QS + <usize>j, cvtt_i32(roundf(x0)));
  }
}

export function quantize_row_q4_0_ref(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  for (let i = 0; i < nb; i++) block_q4_0_ref(x + <usize>i * BLOCK_F32_BYTES, y + <usize>i * Q4_0_BYTES);
}
export function quantize_row_q4_1_ref(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  for (let i = 0; i < nb; i++) block_q4_1_ref(x + <usize>i * BLOCK_F32_BYTES, y + <usize>i * Q4_1_BYTES);
}
export function quantize_row_q5_0_ref(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  for (let i = 0; i < nb; i++) block_q5_0_ref(x + <usize>i * BLOCK_F32_BYTES, y + <usize>i * Q5_0_BYTES);
}
export function quantize_row_q5_1_ref(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  for (let i = 0; i < nb; i++) block_q5_1_ref(x + <usize>i * BLOCK_F32_BYTES, y + <usize>i * Q5_1_BYTES);
}
export function quantize_row_q8_0_ref(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  for (let i = 0; i < nb; i++) block_q8_0_ref(x + <usize>i * BLOCK_F32_BYTES, y + <usize>i * Q8_0_BYTES);
}

// ---------------------------------------------------------------- _impl kernels (importance)

/** sigma2 = sum(x^2)/n over the whole row, summed in order. */
export function row_sigma2(x: usize, n_per_row: i32): f32 {
  let sum_x2: f32 = 0;
  for (let j = 0; j < n_per_row; ++j) {
    const v: f32 = ld(x, j);
    sum_x2 += v * v;
  }
  return sum_x2 / <f32>n_per_row;
}

/** weight[j] = qw[j] * sqrtf(sigma2 + xb[j]*xb[j]) */
// @ts-ignore: decorator
@inline function block_weights(xb: usize, qw: usize, sigma2: f32): void {
  for (let j = 0; j < QK; ++j) {
    const v: f32 = ld(xb, j);
    store<f32>(weight + (<usize>j << 2), ld(qw, j) * Mathf.sqrt(sigma2 + v * v));
  }
}

// One block of each _impl kernel: xb (32 floats), its importance qwb (32 floats) and the row's
// sigma2 into the block at yb. The row loops below call them in order, as the C loop does; the SIMD
// kernels (legacy_simd.ts) call them for the blocks they hand back to the scalar code.

export function block_q4_0_impl(xb: usize, yb: usize, qwb: usize, sigma2: f32): void {
  block_weights(xb, qwb, sigma2);
  const d: f32 = make_qx_quants(QK, 8, xb, L, 1, weight);
  store<u16>(yb, fp32_to_fp16(d));
  for (let j = 0; j < 16; ++j) {
    store<u8>(yb + Q4_0_QS + <usize>j, <i32>load<i8>(L + <usize>j) | (<i32>load<i8>(L + <usize>(j + 16)) << 4));
  }
}

export function block_q4_1_impl(xb: usize, yb: usize, qwb: usize, sigma2: f32): void {
  block_weights(xb, qwb, sigma2);
  const d: f32 = make_qkx3_quants(QK, 15, xb, weight, L, the_min, Laux, <f32>-0.9, <f32>0.05, 36, false);
  const min: f32 = load<f32>(the_min);
  store<u16>(yb, fp32_to_fp16(d));
  store<u16>(yb + Q4_1_M, fp32_to_fp16(-min));
  for (let j = 0; j < 16; ++j) {
    store<u8>(yb + Q4_1_QS + <usize>j, <u32>load<u8>(L + <usize>j) | (<u32>load<u8>(L + <usize>(j + 16)) << 4));
  }
}

export function block_q5_0_impl(xb: usize, yb: usize, qwb: usize, sigma2: f32): void {
  block_weights(xb, qwb, sigma2);
  const d: f32 = make_qx_quants(QK, 16, xb, L, 1, weight);
  store<u16>(yb, fp32_to_fp16(d));
  let qh: u32 = 0;
  for (let j = 0; j < 16; ++j) {
    const xi0: u32 = load<u8>(L + <usize>j);        // (uint8_t) of an int8 level in [0, 31]
    const xi1: u32 = load<u8>(L + <usize>(j + 16));
    store<u8>(yb + Q5_0_QS + <usize>j, (xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
    qh |= ((xi0 & 0x10) >> 4) << <u32>(j + 0);
    qh |= ((xi1 & 0x10) >> 4) << <u32>(j + QK / 2);
  }
  store<u32>(yb + Q5_0_QH, qh);
}

export function block_q5_1_impl(xb: usize, yb: usize, qwb: usize, sigma2: f32): void {
  block_weights(xb, qwb, sigma2);
  const d: f32 = make_qkx3_quants(QK, 31, xb, weight, L, the_min, Laux, <f32>-0.9, <f32>0.05, 36, false);
  const min: f32 = load<f32>(the_min);
  store<u16>(yb, fp32_to_fp16(d));
  store<u16>(yb + Q5_1_M, fp32_to_fp16(-min));
  let qh: u32 = 0;
  for (let j = 0; j < 16; ++j) {
    const xi0: u32 = load<u8>(L + <usize>j);
    const xi1: u32 = load<u8>(L + <usize>(j + 16));
    store<u8>(yb + Q5_1_QS + <usize>j, (xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
    qh |= ((xi0 & 0x10) >> 4) << <u32>(j + 0);
    qh |= ((xi1 & 0x10) >> 4) << <u32>(j + QK / 2);
  }
  store<u32>(yb + Q5_1_QH, qh);
}

export function quantize_row_q4_0_impl(x: usize, y: usize, n_per_row: i32, quant_weights: usize): void {
  if (quant_weights == 0) {
    quantize_row_q4_0_ref(x, y, n_per_row);
    return;
  }
  const sigma2: f32 = row_sigma2(x, n_per_row);
  const nb = n_per_row / QK;
  for (let ib = 0; ib < nb; ++ib) {
    block_q4_0_impl(x + <usize>ib * BLOCK_F32_BYTES, y + <usize>ib * Q4_0_BYTES, quant_weights + <usize>ib * BLOCK_F32_BYTES, sigma2);
  }
}

export function quantize_row_q4_1_impl(x: usize, y: usize, n_per_row: i32, quant_weights: usize): void {
  if (quant_weights == 0) {
    quantize_row_q4_1_ref(x, y, n_per_row);
    return;
  }
  const sigma2: f32 = row_sigma2(x, n_per_row);
  const nb = n_per_row / QK;
  for (let ib = 0; ib < nb; ++ib) {
    block_q4_1_impl(x + <usize>ib * BLOCK_F32_BYTES, y + <usize>ib * Q4_1_BYTES, quant_weights + <usize>ib * BLOCK_F32_BYTES, sigma2);
  }
}

export function quantize_row_q5_0_impl(x: usize, y: usize, n_per_row: i32, quant_weights: usize): void {
  if (quant_weights == 0) {
    quantize_row_q5_0_ref(x, y, n_per_row);
    return;
  }
  const sigma2: f32 = row_sigma2(x, n_per_row);
  const nb = n_per_row / QK;
  for (let ib = 0; ib < nb; ++ib) {
    block_q5_0_impl(x + <usize>ib * BLOCK_F32_BYTES, y + <usize>ib * Q5_0_BYTES, quant_weights + <usize>ib * BLOCK_F32_BYTES, sigma2);
  }
}

export function quantize_row_q5_1_impl(x: usize, y: usize, n_per_row: i32, quant_weights: usize): void {
  if (quant_weights == 0) {
    quantize_row_q5_1_ref(x, y, n_per_row);
    return;
  }
  const sigma2: f32 = row_sigma2(x, n_per_row);
  const nb = n_per_row / QK;
  for (let ib = 0; ib < nb; ++ib) {
    block_q5_1_impl(x + <usize>ib * BLOCK_F32_BYTES, y + <usize>ib * Q5_1_BYTES, quant_weights + <usize>ib * BLOCK_F32_BYTES, sigma2);
  }
}

// ---------------------------------------------------------------- row functions (RowFn)
// quantize_q4_0 & co. in ggml-quants.c: _ref without importance, _impl with it; q8_0 always _ref.
// They run the SIMD kernels of legacy_simd.ts (byte-identical, test/kernels/simd-legacy.test.ts),
// or the scalar ones above after set_scalar_kernels(1).

export function quantize_row_q4_0(x: usize, y: usize, n: i32, qw: usize): usize {
  if (use_scalar()) quantize_row_q4_0_impl(x, y, n, qw);
  else quantize_row_q4_0_impl_simd(x, y, n, qw);
  return <usize>(n / QK) * Q4_0_BYTES;
}
export function quantize_row_q4_1(x: usize, y: usize, n: i32, qw: usize): usize {
  if (use_scalar()) quantize_row_q4_1_impl(x, y, n, qw);
  else quantize_row_q4_1_impl_simd(x, y, n, qw);
  return <usize>(n / QK) * Q4_1_BYTES;
}
export function quantize_row_q5_0(x: usize, y: usize, n: i32, qw: usize): usize {
  if (use_scalar()) quantize_row_q5_0_impl(x, y, n, qw);
  else quantize_row_q5_0_impl_simd(x, y, n, qw);
  return <usize>(n / QK) * Q5_0_BYTES;
}
export function quantize_row_q5_1(x: usize, y: usize, n: i32, qw: usize): usize {
  if (use_scalar()) quantize_row_q5_1_impl(x, y, n, qw);
  else quantize_row_q5_1_impl_simd(x, y, n, qw);
  return <usize>(n / QK) * Q5_1_BYTES;
}
export function quantize_row_q8_0(x: usize, y: usize, n: i32, qw: usize): usize {
  if (use_scalar()) quantize_row_q8_0_ref(x, y, n);
  else quantize_row_q8_0_ref_simd(x, y, n);
  return <usize>(n / QK) * Q8_0_BYTES;
}
