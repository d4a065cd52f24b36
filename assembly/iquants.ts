// port of quantize_row_iq4_nl_impl, quantize_iq4_nl and quantize_iq4_xs, ggml-quants.c @ 36491e40,
// as compiled into the reference build (@node-llama-cpp/linux-x64@3.22.1 libggml-base.so; objdump of
// quantize_row_iq4_nl_impl.constprop.1 and of quantize_iq4_xs, which inlines it).
//
// ggml_quantize_chunk calls quantize_iq4_nl / quantize_iq4_xs with or without an imatrix: one code
// path, ntry = 7 always (ntry = -1 belongs to quantize_row_iq4_nl_ref, which llama-quantize never
// uses); quant_weights == NULL only swaps the weights for x².
//
// Where the build differs from the 36491e40 text: after the first pass over a sub-block it keeps
// `d = sumq2 > 0 ? sumqx/sumq2 : 0` (the text has `d = sumqx/sumq2`, a NaN when sumq2 is 0: an
// imatrix that is zero over the sub-block, or, with no imatrix, values whose squares underflow to 0;
// the goldens fail at every width with the text's line). best_index_int8 is the 36491e40 binary search (not the
// later branchless midpoint search of @01243c58: they differ on NaN, 15 vs 0).
//
// Exactness: every float is f32 in C's operand order; nearest_int is the 12582912 trick, clamped as
// in C. NaN payloads cannot reach the output here: the only payload-reading op is nearest_int of
// scales[ib]*id, and a scale is either 0, finite, ±inf or a NaN made by the hardware (inf/inf,
// 0*inf), whose payload is the default one (and a NaN in x makes sumq2 NaN, so d = 0).
// An all-zero iq4_xs block gets d = -max_scale/32 = -0 (fp16 0x8000) and every 6-bit scale 32.

import { nearest_int, fabsf, store_f16 } from "./common";
import { GROUP_MAX_EPS } from "./search";
import { kvalue_iq4nl } from "./tables";
import { use_scalar } from "./simd";
import { quantize_row_iq4_nl_simd, quantize_row_iq4_xs_simd } from "./iquants_simd";

const QK_K: i32 = 256;
const QK4_NL: i32 = 32;

// @ts-ignore: decorator
@inline function kval(i: i32): f32 { return kvalue_iq4nl(i); }

/** best_index_int8(16, kvalues_iq4nl, x) as at 36491e40: clamp to the ends, binary search, then the
 *  nearer neighbour (ties and NaN go up: a NaN x gives 15). */
// @ts-ignore: decorator
@inline export function best_index_iq4nl(x: f32): i32 {
  if (x <= kval(0)) return 0;
  if (x >= kval(15)) return 15;
  let ml = 0, mu = 15;
  while (mu - ml > 1) {
    const mav = (ml + mu) >> 1;
    if (x < kval(mav)) mu = mav; else ml = mav;
  }
  return x - kval(mu - 1) < kval(mu) - x ? mu - 1 : mu;
}

// Per-call scratch, as C's stack arrays: uint8_t L[QK_K]; float weight[32]; float scales[QK_K/32].
export const L_IQ4: usize = memory.data(QK_K, 16);
const WEIGHT_IQ4: usize = memory.data(32 << 2, 16);
export const SCALES_IQ4: usize = memory.data((QK_K / 32) << 2, 16);

/**
 * One 32-wide sub-block's search (the loop body of quantize_row_iq4_nl_impl over ib, ntry = 7):
 * fills weight[], returns the scale d (0 for an all-but-zero sub-block). sigma2 is only read when qw != 0.
 */
export function iq4_subblock(xb: usize, qw: usize, sigma2: f32): f32 {
  const weight = WEIGHT_IQ4;
  if (qw != 0) {
    for (let j = 0; j < 32; ++j) {
      const xj = load<f32>(xb + (<usize>j << 2));
      store<f32>(weight + (<usize>j << 2), load<f32>(qw + (<usize>j << 2)) * Mathf.sqrt(sigma2 + xj * xj));
    }
  } else {
    for (let j = 0; j < 32; ++j) {
      const xj = load<f32>(xb + (<usize>j << 2));
      store<f32>(weight + (<usize>j << 2), xj * xj);
    }
  }
  let amax: f32 = 0, max: f32 = 0;
  for (let j = 0; j < 32; ++j) {
    const xj = load<f32>(xb + (<usize>j << 2));
    const ax: f32 = fabsf(xj);
    if (ax > amax) { amax = ax; max = xj; }
  }
  if (amax < GROUP_MAX_EPS) return 0;

  // ntry > 0: d = -max/values[0]
  let d: f32 = -max / kval(0);
  let id: f32 = <f32>1 / d;
  let sumqx: f32 = 0, sumq2: f32 = 0;
  for (let j = 0; j < 32; ++j) {
    const xj = load<f32>(xb + (<usize>j << 2));
    const q: f32 = kval(best_index_iq4nl(id * xj));
    const wq: f32 = load<f32>(weight + (<usize>j << 2)) * q;
    sumqx += xj * wq; // the build: x[j] * (w*q)
    sumq2 += wq * q;
  }
  // the build (not the 36491e40 text): no division when sumq2 is not positive
  d = sumq2 > 0 ? sumqx / sumq2 : <f32>0;
  let best: f32 = sumqx * d;
  for (let itry = -7; itry <= 7; ++itry) {
    id = <f32>(itry - 127) / max; // (itry + values[0])/max, an int converted
    sumqx = 0;
    sumq2 = 0;
    for (let j = 0; j < 32; ++j) {
      const xj = load<f32>(xb + (<usize>j << 2));
      const q: f32 = kval(best_index_iq4nl(id * xj));
      const wq: f32 = load<f32>(weight + (<usize>j << 2)) * q;
      sumqx += xj * wq;
      sumq2 += wq * q;
    }
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = sumqx * d;
    }
  }
  return d;
}

/** sigma2 of quantize_row_iq4_nl_impl: Σx² in order, times 2/super_block_size (a power of two). */
// @ts-ignore: decorator
@inline export function sigma2_of(x: usize, n: i32, factor: f32): f32 {
  let s: f32 = 0;
  for (let j = 0; j < n; ++j) {
    const xj = load<f32>(x + (<usize>j << 2));
    s += xj * xj;
  }
  return s * factor;
}

/** q4[16*i + j] = L[32*i + j] | L[32*i + 16 + j] << 4 over n values. */
// @ts-ignore: decorator
@inline export function pack_nibbles(q4: usize, L: usize, n: i32): void {
  for (let i = 0; i < n / 32; ++i) {
    for (let j = 0; j < 16; ++j) {
      store<u8>(q4 + <usize>(16 * i + j), load<u8>(L + <usize>(32 * i + j)) | (load<u8>(L + <usize>(32 * i + 16 + j)) << 4));
    }
  }
}

// ---- block_iq4_nl (ggml-common.h): ggml_half d; uint8_t qs[QK4_NL/2] ----
/** sizeof(block_iq4_nl) = 18 */
export const IQ4NL_BLOCK_BYTES: usize = 2 + QK4_NL / 2;

/** One block of quantize_iq4_nl: 32 values at xb into the block_iq4_nl at blk, importance qw (32
 *  floats) or 0. (The unit a SIMD lane runs; iquants_simd.ts calls it for the lanes it hands back.) */
export function iq4_nl_block(xb: usize, qw: usize, blk: usize): void {
  const L = L_IQ4;
  const sigma2: f32 = qw != 0 ? sigma2_of(xb, QK4_NL, <f32>2 / <f32>QK4_NL) : <f32>0;
  const d: f32 = iq4_subblock(xb, qw, sigma2);
  store_f16(blk, d);
  // super_block_size == block_size, ntry > 0: the levels again from the final scale
  const id: f32 = d != 0 ? <f32>1 / d : <f32>0; // NaN is truthy
  for (let j = 0; j < QK4_NL; ++j) store<u8>(L + <usize>j, <u8>best_index_iq4nl(id * load<f32>(xb + (<usize>j << 2))));
  pack_nibbles(blk + 2, L, QK4_NL);
}

/** quantize_iq4_nl over one row: n values at x into n/32 block_iq4_nl at y, importance qw (n floats) or 0. */
export function quantize_row_iq4_nl_impl_row(x: usize, y: usize, n: i32, quant_weights: usize): void {
  const nblock = n / QK4_NL;
  for (let ibl = 0; ibl < nblock; ++ibl) {
    const o = <usize>(QK4_NL * ibl) << 2;
    iq4_nl_block(x + o, quant_weights != 0 ? quant_weights + o : 0, y + <usize>ibl * IQ4NL_BLOCK_BYTES);
  }
}

// ---- block_iq4_xs (ggml-common.h): ggml_half d; uint16_t scales_h; uint8_t scales_l[QK_K/64]; uint8_t qs[QK_K/2] ----
export const IQ4XS_SCALES_H: usize = 2;
export const IQ4XS_SCALES_L: usize = 4;
export const IQ4XS_QS: usize = IQ4XS_SCALES_L + QK_K / 64;
/** sizeof(block_iq4_xs) = 136 */
export const IQ4XS_BLOCK_BYTES: usize = IQ4XS_QS + QK_K / 2;

// Per-call scratch: the inverse scale idl of each sub-block (iq4_xs_scales to the level loop).
const IDL_IQ4: usize = memory.data((QK_K / 32) << 2, 16);

/** One 32-wide sub-block ib of quantize_iq4_xs's search into SCALES_IQ4[ib]; xs and qw (or 0) point
 *  at the super-block. */
export function iq4_xs_search_sub(xs: usize, qw: usize, ib: i32, sigma2: f32): void {
  const o = <usize>(32 * ib) << 2;
  store<f32>(SCALES_IQ4 + (<usize>ib << 2), iq4_subblock(xs + o, qw != 0 ? qw + o : 0, sigma2));
}

/** quantize_iq4_xs's scales from SCALES_IQ4: d = -max_scale/32 against the scale of largest
 *  magnitude (the first), 6-bit l = clamp(nearest_int(scale/d), -32, 31) + 32 per sub-block into
 *  scales_l and scales_h, and each sub-block's idl = 1/(l·d) (or 0) into IDL_IQ4. (C finds the largest
 *  scale inside the search loop; finding it after compares the same values in the same order.) */
export function iq4_xs_scales(blk: usize): void {
  const scales = SCALES_IQ4;
  let max_scale: f32 = 0, amax_scale: f32 = 0;
  for (let ib = 0; ib < QK_K / 32; ++ib) {
    const d: f32 = load<f32>(scales + (<usize>ib << 2));
    const abs_d: f32 = fabsf(d);
    if (abs_d > amax_scale) { amax_scale = abs_d; max_scale = d; }
  }

  let scales_h: u32 = 0;
  const d: f32 = -max_scale / <f32>32;
  store_f16(blk, d);
  const id: f32 = d != 0 ? <f32>1 / d : <f32>0;
  for (let ib = 0; ib < QK_K / 32; ++ib) {
    let l: i32 = nearest_int(load<f32>(scales + (<usize>ib << 2)) * id); // the build: scales[ib]*id
    l = l > 31 ? 31 : l;
    l = l < -32 ? -32 : l;
    const dl: f32 = <f32>l * d;
    store<f32>(IDL_IQ4 + (<usize>ib << 2), dl != 0 ? <f32>1 / dl : <f32>0);
    l += 32;
    const l_l: u32 = <u32>l & 0xf;
    const l_h: u32 = <u32>l >> 4;
    const sl = blk + IQ4XS_SCALES_L + <usize>(ib >> 1);
    if (ib % 2 == 0) store<u8>(sl, <u8>l_l);
    else store<u8>(sl, load<u8>(sl) | <u8>(l_l << 4));
    scales_h |= l_h << (2 * (<u32>ib % 8));
  }
  store<u16>(blk + IQ4XS_SCALES_H, <u16>scales_h);
}

/** IDL_IQ4[ib] at sub-block ib (0..7). */
// @ts-ignore: decorator
@inline export function iq4_xs_idl(ib: i32): f32 { return load<f32>(IDL_IQ4 + (<usize>ib << 2)); }

/** quantize_iq4_xs over one row: n values at x into n/256 block_iq4_xs at y, importance qw (n floats) or 0. */
export function quantize_row_iq4_xs_impl_row(x: usize, y: usize, n: i32, quant_weights: usize): void {
  const nblock = n / QK_K;
  const L = L_IQ4;
  for (let ibl = 0; ibl < nblock; ++ibl) {
    const xs = x + (<usize>(QK_K * ibl) << 2);
    const qwb: usize = quant_weights != 0 ? quant_weights + (<usize>(QK_K * ibl) << 2) : 0;
    const blk = y + <usize>ibl * IQ4XS_BLOCK_BYTES;
    const sigma2: f32 = sigma2_of(xs, QK_K, <f32>2 / <f32>QK_K);
    for (let ib = 0; ib < QK_K / 32; ++ib) iq4_xs_search_sub(xs, qwb, ib, sigma2);
    iq4_xs_scales(blk);
    for (let ib = 0; ib < QK_K / 32; ++ib) {
      const idl: f32 = iq4_xs_idl(ib);
      const xb = xs + (<usize>(32 * ib) << 2);
      const Lb = L + <usize>(32 * ib);
      for (let j = 0; j < 32; ++j) store<u8>(Lb + <usize>j, <u8>best_index_iq4nl(load<f32>(xb + (<usize>j << 2)) * idl));
    }
    pack_nibbles(blk + IQ4XS_QS, L, QK_K);
  }
}

/** The row function of quantize_iq4_nl (imatrix or not: one path; the SIMD version of
 *  iquants_simd.ts unless set_scalar_kernels(1)). Returns 18 bytes per 32 values. */
export function quantize_row_iq4_nl(x: usize, y: usize, n: i32, qw: usize): usize {
  if (use_scalar()) quantize_row_iq4_nl_impl_row(x, y, n, qw);
  else quantize_row_iq4_nl_simd(x, y, n, qw);
  return <usize>(n / QK4_NL) * IQ4NL_BLOCK_BYTES;
}

/** The row function of quantize_iq4_xs (imatrix or not: one path; SIMD unless set_scalar_kernels(1)). Returns 136 bytes per 256 values. */
export function quantize_row_iq4_xs(x: usize, y: usize, n: i32, qw: usize): usize {
  if (use_scalar()) quantize_row_iq4_xs_impl_row(x, y, n, qw);
  else quantize_row_iq4_xs_simd(x, y, n, qw);
  return <usize>(n / QK_K) * IQ4XS_BLOCK_BYTES;
}
