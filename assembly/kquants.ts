// port of quantize_row_q{2,3,4,5,6}_K_ref and quantize_row_q{2,3,4,5,6}_K_impl, ggml-quants.c @ 36491e40
// (the revision the reference build @node-llama-cpp/linux-x64@3.22.1 matches; see KERNELS.md).
//
// Exactness: every float is f32 and every float expression keeps C's operand order; nearest_int is
// the 12582912 trick (its garbage for NaN/inf/huge values is then clamped exactly as in C); MAX/MIN
// on ints are plain integer clamps; int8_t/uint8_t stores keep the low byte as C's conversion does.
//
// NaN operand order (see search.ts): where two different NaNs can meet in a commutative op and the
// survivor can reach the output, the op takes the operand order of the reference build's machine
// code (objdump of libggml-base.so), through nan_first / nan_first_mul, so that V8's tiers cannot
// swap them. That is C's order except where noted (q3_K's Σx², its weights and weight sums). With it
// q2_K and q3_K are byte-identical to the reference on NaN input too, though llama-quantize never
// quantizes such rows.

import { nearest_int, fabsf, fp16_to_fp32, store_f16 } from "./common";
import { use_scalar } from "./simd";
import { quantize_row_q4_K_ref_simd, quantize_row_q4_K_impl_simd, quantize_row_q5_K_ref_simd, quantize_row_q5_K_impl_simd, quantize_row_q6_K_simd, quantize_row_q2_K_simd, quantize_row_q3_K_simd } from "./kquants_simd";
import { make_qx_quants, make_q3_quants, make_qkx2_quants, make_qkx3_quants, make_qp_quants, clamp_i32, imin, GROUP_MAX_EPS, nan_first, nan_first_add, nan_first_mul } from "./search";

const QK_K: i32 = 256;

// ---- block_q6_K (ggml-common.h): ql[QK_K/2], qh[QK_K/4], int8 scales[QK_K/16], ggml_half d ----
export const Q6K_QL: usize = 0;
export const Q6K_QH: usize = Q6K_QL + QK_K / 2;
export const Q6K_SCALES: usize = Q6K_QH + QK_K / 4;
export const Q6K_D: usize = Q6K_SCALES + QK_K / 16;
/** sizeof(block_q6_K) = 210 */
export const Q6K_BLOCK_BYTES: usize = Q6K_D + 2;

// Per-call scratch, as the C stack arrays `int8_t L[QK_K]; float scales[QK_K/16];`.
export const L_Q6K: usize = memory.data(QK_K, 16);
export const SCALES_Q6K: usize = memory.data((QK_K / 16) << 2, 16);

/** One 16-wide sub-block ib (0..15) of q6_K's search: make_qx_quants(16, 32, ..., rmse_type 1, qw)
 *  into SCALES_Q6K[ib] and L + 16ib. qw points at the super-block's importance (0: none, weights
 *  x²). (The unit a SIMD lane runs; kquants_simd.ts calls it for the lanes it hands back.) */
export function search_q6_K_sub(x: usize, ib: i32, qw: usize): void {
  const qwb: usize = qw != 0 ? qw + (<usize>(16 * ib) << 2) : 0;
  store<f32>(SCALES_Q6K + (<usize>ib << 2), make_qx_quants(16, 32, x + (<usize>(16 * ib) << 2), L_Q6K + <usize>(16 * ib), 1, qwb));
}

/** q6_K's int8 scales and d from the searches' SCALES_Q6K, against the scale of largest magnitude
 *  (the first one). Returns false for a block whose scales are all below GROUP_MAX_EPS: it is
 *  written whole (all zero) and needs no levels. */
export function scales_q6_K(y: usize): bool {
  let max_scale: f32 = 0;
  let max_abs_scale: f32 = 0;
  for (let ib = 0; ib < QK_K / 16; ++ib) {
    const scale: f32 = load<f32>(SCALES_Q6K + (<usize>ib << 2));
    const abs_scale: f32 = fabsf(scale);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scale;
    }
  }

  if (max_abs_scale < GROUP_MAX_EPS) {
    // memset(&y[i], 0, sizeof(block_q6_K)); y[i].d = GGML_FP32_TO_FP16(0.f), which is 0 too
    memory.fill(y, 0, Q6K_BLOCK_BYTES);
    store_f16(y + Q6K_D, <f32>0);
    return false;
  }

  const iscale: f32 = <f32>-128 / max_scale;
  store_f16(y + Q6K_D, <f32>1 / iscale);
  for (let ib = 0; ib < QK_K / 16; ++ib) {
    const q = nearest_int(iscale * load<f32>(SCALES_Q6K + (<usize>ib << 2)));
    store<i8>(y + Q6K_SCALES + <usize>ib, q < 127 ? q : 127); // int -> int8_t keeps the low byte
  }
  return true;
}

/**
 * quantize_row_q6_K_impl: n_per_row values at x (a multiple of QK_K) into n_per_row/256 block_q6_K at
 * y, with quant_weights (n_per_row floats) as importance, or none when it is 0.
 */
export function quantize_row_q6_K_impl(x: usize, y: usize, n_per_row: i32, quant_weights: usize): void {
  const nb = n_per_row / QK_K;
  const L = L_Q6K;

  for (let i = 0; i < nb; i++) {
    // one 16-wide sub-block search at a time (C finds the largest scale inside this loop; finding it
    // after compares the same values in the same order)
    const qw: usize = quant_weights != 0 ? quant_weights + (<usize>(QK_K * i) << 2) : 0;
    for (let ib = 0; ib < QK_K / 16; ++ib) search_q6_K_sub(x, ib, qw);

    if (scales_q6_K(y)) {
      // where a scale byte is 0, d == 0 and the sub-block keeps make_qx_quants' levels
      const dh: f32 = fp16_to_fp32(load<u16>(y + Q6K_D));
      for (let j = 0; j < QK_K / 16; ++j) {
        const d: f32 = dh * <f32>load<i8>(y + Q6K_SCALES + <usize>j);
        if (d == 0) continue; // `if (!d)`: a NaN d goes on
        for (let ii = 0; ii < 16; ++ii) {
          let l = nearest_int(load<f32>(x + (<usize>(16 * j + ii) << 2)) / d);
          l = clamp_i32(l, -32, 31);
          store<i8>(L + <usize>(16 * j + ii), l + 32);
        }
      }

      // pack: the low 4 bits of four 32-wide quarters into ql, their high 2 bits into qh
      let ql = y + Q6K_QL;
      let qh = y + Q6K_QH;
      for (let j = 0; j < QK_K; j += 128) {
        for (let l = 0; l < 32; ++l) {
          // L is int8_t (always 0..63 here): `>> 4` acts on the promoted int, the store keeps the low byte
          const q1 = <i32>load<i8>(L + <usize>(j + l));
          const q2 = <i32>load<i8>(L + <usize>(j + l + 32));
          const q3 = <i32>load<i8>(L + <usize>(j + l + 64));
          const q4 = <i32>load<i8>(L + <usize>(j + l + 96));
          store<u8>(ql + <usize>l, (q1 & 0xF) | ((q3 & 0xF) << 4));
          store<u8>(ql + <usize>(l + 32), (q2 & 0xF) | ((q4 & 0xF) << 4));
          store<u8>(qh + <usize>l, (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
        }
        ql += 64;
        qh += 32;
      }
    }

    x += <usize>QK_K << 2;
    y += Q6K_BLOCK_BYTES;
  }
}

/** quantize_row_q6_K_ref: k values (a multiple of QK_K), no importance. In C it is a copy of
 *  quantize_row_q6_K_impl's body with make_qx_quants(..., NULL), i.e. the impl with quant_weights = NULL. */
export function quantize_row_q6_K_ref(x: usize, y: usize, k: i32): void {
  quantize_row_q6_K_impl(x, y, k, 0);
}

/**
 * The row function of quantize_q6_K: one row of n values (n % 256 == 0) through quantize_row_q6_K_ref
 * when qw == 0, else through quantize_row_q6_K_impl with qw as the row's importance (the SIMD version
 * of kquants_simd.ts unless set_scalar_kernels(1)).
 * Returns the bytes written (210 per 256 values).
 */
export function quantize_row_q6_K(x: usize, y: usize, n: i32, qw: usize): usize {
  if (!use_scalar()) quantize_row_q6_K_simd(x, y, n, qw);
  else if (qw == 0) quantize_row_q6_K_ref(x, y, n);
  else quantize_row_q6_K_impl(x, y, n, qw);
  return <usize>(n / QK_K) * Q6K_BLOCK_BYTES;
}

// ================================================================ q4_K and q5_K
//
// Both split a 256-value super-block into 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit
// min (packed by 12-byte get_scale_min_k4 layout) under two fp16 super-scales d and dmin. Without an
// imatrix (the _ref kernels) each sub-block is searched by make_qkx2_quants with weights
// av_x + |x| and the scales are rounded against their maximum; with one (the _impl kernels) the
// search is make_qkx3_quants with weights qw * sqrt(sigma2 + x^2), and make_qp_quants chooses the
// 6-bit scales. q4_K and q5_K differ only in nmax (15, 31), the search constants, a MIN(63, ...) that
// q4_K_impl lacks, and the packing of the levels.
//
// uint8 at every C uint8_t: `uint8_t ls = nearest_int(...)` keeps the low byte *before* MIN(63, ls);
// make_qp_quants' levels are uint8 too (a negative one wraps, see search.ts; negative importance,
// which an imatrix with negative counts gives, makes them). A sub-block whose 6-bit scale comes out
// 0 (d == 0) keeps make_qkx*'s levels, as C does not recompute them. NaN payloads follow the
// reference build where two different NaNs meet (search.ts; requantize_k4 below).
//
// For a SIMD version: the unit of one lane is a sub-block's weights + make_qkx2/qkx3 search (all of
// scales_k4_*'s loop body); make_qp_quants, the packing of scales, fp16 and the requantization's
// per-block set-up stay scalar, and the requantization and packing are per element.

// block_q4_K / block_q5_K (ggml-common.h): ggml_half d, dmin; uint8_t scales[12]; [q5_K: uint8_t qh[QK_K/8];] uint8_t qs[QK_K/2]
export const K4_D: usize = 0;
export const K4_DMIN: usize = 2;
export const K4_SCALES: usize = 4;
const K_SCALE_SIZE: usize = 12;
export const Q4K_QS: usize = K4_SCALES + K_SCALE_SIZE;
/** sizeof(block_q4_K) = 144 */
export const Q4K_BLOCK_BYTES: usize = Q4K_QS + QK_K / 2;
export const Q5K_QH: usize = K4_SCALES + K_SCALE_SIZE;
export const Q5K_QS: usize = Q5K_QH + QK_K / 8;
/** sizeof(block_q5_K) = 176 */
export const Q5K_BLOCK_BYTES: usize = Q5K_QS + QK_K / 2;

// Per-call scratch, as C's stack arrays: uint8_t L[QK_K], Laux[32], Ls[8], Lm[8];
// float weights[32], mins[8], scales[8], sw[8].
export const L_K4: usize = memory.data(QK_K, 16);
const LAUX_K4: usize = memory.data(32, 16);
const LS_K4: usize = memory.data(QK_K / 32, 16);
const LM_K4: usize = memory.data(QK_K / 32, 16);
const WEIGHTS_K4: usize = memory.data(32 << 2, 16);
export const MINS_K4: usize = memory.data((QK_K / 32) << 2, 16);
export const SCALES_K4: usize = memory.data((QK_K / 32) << 2, 16);
export const SW_K4: usize = memory.data((QK_K / 32) << 2, 16);

// @ts-ignore: decorator
@inline function ldf(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline function stf(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }

/** The plain path's weights for the 32 values at x: av_x + fabsf(x[l]), av_x = sqrtf(sum of x^2 / 32). */
function weights_av_x(x: usize, weights: usize): void {
  let sum_x2: f32 = 0;
  for (let l = 0; l < 32; ++l) sum_x2 += ldf(x, l) * ldf(x, l);
  const av_x: f32 = Mathf.sqrt(sum_x2 / <f32>32);
  for (let l = 0; l < 32; ++l) stf(weights, l, av_x + fabsf(ldf(x, l)));
}

/**
 * Stores the 6-bit scale ls and min lm of sub-block j (0..7) in the 12 scale bytes at q, the
 * inverse of get_scale_min_k4: sub-blocks 0-3 whole bytes, 4-7 split into nibbles with their top
 * 2 bits in bits 6-7 of bytes 0-7. Every store keeps the low byte (ls > 63 is possible in q4_K_impl).
 * Sub-blocks must come in order 0..7 (4-7 OR into bytes that 0-3 wrote).
 */
// @ts-ignore: decorator
@inline function set_scale_min_k4(j: i32, q: usize, ls: i32, lm: i32): void {
  if (j < 4) {
    store<u8>(q + <usize>j, <u8>ls);
    store<u8>(q + <usize>(j + 4), <u8>lm);
  } else {
    store<u8>(q + <usize>(j + 4), <u8>((ls & 0xF) | ((lm & 0xF) << 4)));
    store<u8>(q + <usize>(j - 4), load<u8>(q + <usize>(j - 4)) | <u8>((ls >> 4) << 6));
    store<u8>(q + <usize>j, load<u8>(q + <usize>j) | <u8>((lm >> 4) << 6));
  }
}

/** get_scale_min_k4: the 6-bit scale of sub-block j (0..7) from the 12 scale bytes at q. */
// @ts-ignore: decorator
@inline export function scale_k4(j: i32, q: usize): i32 {
  if (j < 4) return load<u8>(q + <usize>j) & 63;
  return (load<u8>(q + <usize>(j + 4)) & 0xF) | ((load<u8>(q + <usize>(j - 4)) >> 6) << 4);
}

/** get_scale_min_k4: the 6-bit min of sub-block j (0..7). */
// @ts-ignore: decorator
@inline export function min_k4(j: i32, q: usize): i32 {
  if (j < 4) return load<u8>(q + <usize>(j + 4)) & 63;
  return (load<u8>(q + <usize>(j + 4)) >> 4) | ((load<u8>(q + <usize>j) >> 6) << 4);
}

/** One sub-block j (0..7) of the _ref kernels' search: weights av_x + |x|, make_qkx2_quants; its
 *  scale into SCALES_K4[j], -min into MINS_K4[j], its levels into L + 32j. (The unit a SIMD lane runs;
 *  kquants_simd.ts calls it for the lanes it hands back.) */
export function search_k4_ref_sub(x: usize, j: i32, L: usize, nmax: i32, rmin: f32, rdelta: f32, nstep: i32): void {
  const xj = x + (<usize>(32 * j) << 2);
  weights_av_x(xj, WEIGHTS_K4);
  stf(SCALES_K4, j, make_qkx2_quants(32, nmax, xj, WEIGHTS_K4, L + <usize>(32 * j), MINS_K4 + (<usize>j << 2), LAUX_K4, rmin, rdelta, nstep, false));
}

/**
 * The _ref kernels' scales from the searches' SCALES_K4 and MINS_K4: 6-bit scales and mins rounded
 * against their maxima, and d = max_scale/63, dmin = max_min/63. Writes y's d, dmin and scales.
 */
export function finish_k4_ref(y: usize): void {
  const scales = SCALES_K4;
  const mins = MINS_K4;
  let max_scale: f32 = 0; // as we are deducting the min, scales are always positive
  let max_min: f32 = 0;
  for (let j = 0; j < QK_K / 32; ++j) {
    const scale: f32 = ldf(scales, j);
    if (scale > max_scale) max_scale = scale;
    const min: f32 = ldf(mins, j);
    if (min > max_min) max_min = min;
  }

  const inv_scale: f32 = max_scale > 0 ? <f32>63 / max_scale : <f32>0;
  const inv_min: f32 = max_min > 0 ? <f32>63 / max_min : <f32>0;
  for (let j = 0; j < QK_K / 32; ++j) {
    // uint8_t ls = nearest_int(...): the low byte, then MIN(63, ls)
    const ls: i32 = imin(63, nearest_int(inv_scale * ldf(scales, j)) & 0xFF);
    const lm: i32 = imin(63, nearest_int(inv_min * ldf(mins, j)) & 0xFF);
    set_scale_min_k4(j, y + K4_SCALES, ls, lm);
  }
  store_f16(y + K4_D, max_scale / <f32>63);
  store_f16(y + K4_DMIN, max_min / <f32>63);
}

/**
 * The _ref kernels' scales: one make_qkx2_quants search per 32-wide sub-block (levels into L), then
 * finish_k4_ref. (C finds the maxima inside the search loop; finding them after it compares the
 * same values in the same order.)
 */
function scales_k4_ref(x: usize, y: usize, L: usize, nmax: i32, rmin: f32, rdelta: f32, nstep: i32): void {
  for (let j = 0; j < QK_K / 32; ++j) search_k4_ref_sub(x, j, L, nmax, rmin, rdelta, nstep);
  finish_k4_ref(y);
}

/** sigma2 of the _impl kernels: 2 * (sum of x^2 over the super-block, in order) / 256. */
export function sigma2_k4(x: usize): f32 {
  let sum_x2: f32 = 0;
  for (let l = 0; l < QK_K; ++l) sum_x2 += ldf(x, l) * ldf(x, l);
  return <f32>2 * sum_x2 / <f32>QK_K;
}

/** One sub-block j of the _impl kernels' search: weights qw * sqrtf(sigma2 + x^2) (or av_x + |x|,
 *  av_x = sqrtf(sigma2), when qw is 0: a branch that ggml_quantize_chunk never takes, as it runs _ref
 *  without an imatrix), their sum into SW_K4[j], make_qkx3_quants; scale into SCALES_K4[j], -min
 *  into MINS_K4[j], levels into L + 32j. qw points at the super-block's importance. */
export function search_k4_impl_sub(x: usize, j: i32, L: usize, nmax: i32, qw: usize, sigma2: f32): void {
  const weights = WEIGHTS_K4;
  const xj = x + (<usize>(32 * j) << 2);
  if (qw != 0) {
    const qwj = qw + (<usize>(32 * j) << 2);
    for (let l = 0; l < 32; ++l) stf(weights, l, ldf(qwj, l) * Mathf.sqrt(sigma2 + ldf(xj, l) * ldf(xj, l)));
  } else {
    const av_x: f32 = Mathf.sqrt(sigma2);
    for (let l = 0; l < 32; ++l) stf(weights, l, av_x + fabsf(ldf(xj, l)));
  }
  let sumw: f32 = 0;
  for (let l = 0; l < 32; ++l) sumw += ldf(weights, l);
  stf(SW_K4, j, sumw);
  stf(SCALES_K4, j, make_qkx3_quants(32, nmax, xj, weights, L + <usize>(32 * j), MINS_K4 + (<usize>j << 2), LAUX_K4, <f32>-0.9, <f32>0.05, 36, false));
}

/** The _impl kernels' scales from SCALES_K4, MINS_K4 and SW_K4: make_qp_quants over the 8 scales and
 *  the 8 mins, weighted by each sub-block's sum of weights. clamp63: q5_K applies MIN(63, ...) to
 *  make_qp_quants' levels, q4_K not. Writes y's d, dmin and scales. */
export function finish_k4_impl(y: usize, clamp63: bool): void {
  const d_block: f32 = make_qp_quants(QK_K / 32, 63, SCALES_K4, LS_K4, SW_K4);
  const m_block: f32 = make_qp_quants(QK_K / 32, 63, MINS_K4, LM_K4, SW_K4);
  for (let j = 0; j < QK_K / 32; ++j) {
    let ls: i32 = load<u8>(LS_K4 + <usize>j);
    let lm: i32 = load<u8>(LM_K4 + <usize>j);
    if (clamp63) {
      ls = imin(63, ls);
      lm = imin(63, lm);
    }
    set_scale_min_k4(j, y + K4_SCALES, ls, lm);
  }
  store_f16(y + K4_D, d_block);
  store_f16(y + K4_DMIN, m_block);
}

/** The _impl kernels' scales: sigma2, one weighted make_qkx3_quants search per sub-block, then
 *  finish_k4_impl. */
function scales_k4_impl(x: usize, y: usize, L: usize, nmax: i32, qw: usize, clamp63: bool): void {
  const sigma2: f32 = sigma2_k4(x);
  for (let j = 0; j < QK_K / 32; ++j) search_k4_impl_sub(x, j, L, nmax, qw, sigma2);
  finish_k4_impl(y, clamp63);
}

/** Requantizes sub-block j against its stored 6-bit scale and min: l = nearest_int((x + dm)/d)
 *  clamped to [0, nmax], d = dh * scale, dm = dminh * min. A sub-block with d == 0 keeps its search
 *  levels (`if (!d) continue;`: a NaN d goes on). */
export function requantize_k4_sub(x: usize, y: usize, L: usize, nmax: i32, j: i32, dh: f32, dminh: f32): void {
  const d: f32 = dh * <f32>scale_k4(j, y + K4_SCALES);
  if (d == 0) return;
  const dm: f32 = dminh * <f32>min_k4(j, y + K4_SCALES);
  // x + dm: when both are NaN (dm = 0 * inf once dmin overflows fp16; such a block fails
  // validation anyway) the build keeps x's NaN for ii < 28 and dm's for the last four (its
  // vectorised loop computes the last quarter-vector as dm + x), in both _ref kernels. In the
  // _impl kernels a NaN x makes d = dmin = 0, so they never get here with one.
  for (let ii = 0; ii < 32; ++ii) {
    const xi: f32 = ldf(x, 32 * j + ii);
    let l = nearest_int((ii < 28 ? nan_first_add(xi, dm) : nan_first_add(dm, xi)) / d);
    l = clamp_i32(l, 0, nmax);
    store<u8>(L + <usize>(32 * j + ii), <u8>l);
  }
}

/** requantize_k4_sub for the eight sub-blocks. */
function requantize_k4(x: usize, y: usize, L: usize, nmax: i32): void {
  const dh: f32 = fp16_to_fp32(load<u16>(y + K4_D));
  const dminh: f32 = fp16_to_fp32(load<u16>(y + K4_DMIN));
  for (let j = 0; j < QK_K / 32; ++j) requantize_k4_sub(x, y, L, nmax, j, dh, dminh);
}

/** q4_K's qs: per 64 values, the first 32 levels in the low nibbles, the next 32 in the high ones. */
function pack_q4_K(L: usize, q: usize): void {
  for (let j = 0; j < QK_K; j += 64) {
    for (let l = 0; l < 32; ++l) {
      store<u8>(q + <usize>l, load<u8>(L + <usize>(j + l)) | (load<u8>(L + <usize>(j + l + 32)) << 4));
    }
    q += 32;
  }
}

/** q5_K's qs and qh: as q4_K for the low 4 bits; bit 4 of the value at n + j (n = 0, 64, 128, 192)
 *  goes to bit n/32 of qh[j], that of n + j + 32 to bit n/32 + 1. */
function pack_q5_K(L: usize, y: usize): void {
  const qh = y + Q5K_QH;
  let ql = y + Q5K_QS;
  memory.fill(qh, 0, QK_K / 8);
  let m1: u8 = 1;
  let m2: u8 = 2;
  for (let n = 0; n < QK_K; n += 64) {
    for (let j = 0; j < 32; ++j) {
      let l1: i32 = load<u8>(L + <usize>(n + j));
      if (l1 > 15) {
        l1 -= 16;
        store<u8>(qh + <usize>j, load<u8>(qh + <usize>j) | m1);
      }
      let l2: i32 = load<u8>(L + <usize>(n + j + 32));
      if (l2 > 15) {
        l2 -= 16;
        store<u8>(qh + <usize>j, load<u8>(qh + <usize>j) | m2);
      }
      store<u8>(ql + <usize>j, <u8>(l1 | (l2 << 4)));
    }
    m1 <<= 2;
    m2 <<= 2;
    ql += 32;
  }
}

/** quantize_row_q4_K_ref: k values (a multiple of QK_K) into k/256 block_q4_K, no importance. */
export function quantize_row_q4_K_ref(x: usize, y: usize, k: i32): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    scales_k4_ref(x, y, L_K4, 15, <f32>-1, <f32>0.1, 20);
    requantize_k4(x, y, L_K4, 15);
    pack_q4_K(L_K4, y + Q4K_QS);
    x += <usize>QK_K << 2;
    y += Q4K_BLOCK_BYTES;
  }
}

/** quantize_row_q4_K_impl: n_per_row values with quant_weights (n_per_row floats) as importance. */
export function quantize_row_q4_K_impl(x: usize, y: usize, n_per_row: i32, quant_weights: usize): void {
  const nb = n_per_row / QK_K;
  for (let i = 0; i < nb; i++) {
    const qw: usize = quant_weights != 0 ? quant_weights + (<usize>(QK_K * i) << 2) : 0;
    scales_k4_impl(x, y, L_K4, 15, qw, false);
    requantize_k4(x, y, L_K4, 15);
    pack_q4_K(L_K4, y + Q4K_QS);
    x += <usize>QK_K << 2;
    y += Q4K_BLOCK_BYTES;
  }
}

/** quantize_row_q5_K_ref: k values (a multiple of QK_K) into k/256 block_q5_K, no importance. */
export function quantize_row_q5_K_ref(x: usize, y: usize, k: i32): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    scales_k4_ref(x, y, L_K4, 31, <f32>-0.5, <f32>0.1, 15);
    requantize_k4(x, y, L_K4, 31);
    pack_q5_K(L_K4, y);
    x += <usize>QK_K << 2;
    y += Q5K_BLOCK_BYTES;
  }
}

/** quantize_row_q5_K_impl: n_per_row values with quant_weights (n_per_row floats) as importance. */
export function quantize_row_q5_K_impl(x: usize, y: usize, n_per_row: i32, quant_weights: usize): void {
  const nb = n_per_row / QK_K;
  for (let i = 0; i < nb; i++) {
    const qw: usize = quant_weights != 0 ? quant_weights + (<usize>(QK_K * i) << 2) : 0;
    scales_k4_impl(x, y, L_K4, 31, qw, true);
    requantize_k4(x, y, L_K4, 31);
    pack_q5_K(L_K4, y);
    x += <usize>QK_K << 2;
    y += Q5K_BLOCK_BYTES;
  }
}

/** The row function of quantize_q4_K: _ref when qw == 0, else _impl (the SIMD versions of
 *  kquants_simd.ts unless set_scalar_kernels(1)). Returns 144 bytes per 256 values. */
export function quantize_row_q4_K(x: usize, y: usize, n: i32, qw: usize): usize {
  if (use_scalar()) {
    if (qw == 0) quantize_row_q4_K_ref(x, y, n);
    else quantize_row_q4_K_impl(x, y, n, qw);
  } else {
    if (qw == 0) quantize_row_q4_K_ref_simd(x, y, n);
    else quantize_row_q4_K_impl_simd(x, y, n, qw);
  }
  return <usize>(n / QK_K) * Q4K_BLOCK_BYTES;
}

/** The row function of quantize_q5_K: _ref when qw == 0, else _impl (SIMD unless set_scalar_kernels(1)). Returns 176 bytes per 256 values. */
export function quantize_row_q5_K(x: usize, y: usize, n: i32, qw: usize): usize {
  if (use_scalar()) {
    if (qw == 0) quantize_row_q5_K_ref(x, y, n);
    else quantize_row_q5_K_impl(x, y, n, qw);
  } else {
    if (qw == 0) quantize_row_q5_K_ref_simd(x, y, n);
    else quantize_row_q5_K_impl_simd(x, y, n, qw);
  }
  return <usize>(n / QK_K) * Q5K_BLOCK_BYTES;
}

// ================================================================ q2_K

// ---- block_q2_K (ggml-common.h): uint8 scales[QK_K/16] (low nibble scale, high nibble min),
// uint8 qs[QK_K/4], ggml_half d, ggml_half dmin ----
export const Q2K_SCALES: usize = 0;
export const Q2K_QS: usize = Q2K_SCALES + QK_K / 16;
export const Q2K_D: usize = Q2K_QS + QK_K / 4;
export const Q2K_DMIN: usize = Q2K_D + 2;
/** sizeof(block_q2_K) = 84 */
export const Q2K_BLOCK_BYTES: usize = Q2K_DMIN + 2;

// Per-call scratch, as the C stack arrays: uint8_t L[QK_K], Laux[16], Ls[16], Lm[16];
// float weight(s)[16], mins[16], scales[16], sw[16].
export const L_Q2K: usize = memory.data(QK_K, 16);
const LAUX_Q2K: usize = memory.data(16, 16);
const LS_Q2K: usize = memory.data(QK_K / 16, 16);
const LM_Q2K: usize = memory.data(QK_K / 16, 16);
const WEIGHT_Q2K: usize = memory.data(16 << 2, 16);
export const MINS_Q2K: usize = memory.data((QK_K / 16) << 2, 16);
export const SCALES_Q2K: usize = memory.data((QK_K / 16) << 2, 16);
export const SW_Q2K: usize = memory.data((QK_K / 16) << 2, 16);

/** q2_K's requantization of sub-block j, shared by _ref and _impl: where d = dh·(scale & 0xF) is
 *  not 0, L = clamp(nearest_int((x + dmin·(scale >> 4))/d), 0, 3) (a sub-block with d == 0 keeps the
 *  search's levels). */
export function q2_K_requantize_sub(x: usize, y: usize, j: i32, dh: f32, mh: f32): void {
  const sc: i32 = <i32>load<u8>(y + Q2K_SCALES + <usize>j);
  const d: f32 = dh * <f32>(sc & 0xF);
  if (d == 0) return; // `if (!d)`: a NaN d goes on
  const dm: f32 = mh * <f32>(sc >> 4);
  for (let ii = 0; ii < 16; ++ii) {
    // (x + dm)/d: when x and dm (inf·0) are both NaN, x's payload decides, as in the build
    const l = nearest_int(nan_first(load<f32>(x + (<usize>(16 * j + ii) << 2)), dm) / d);
    store<u8>(L_Q2K + <usize>(16 * j + ii), clamp_i32(l, 0, 3));
  }
}

/** q2_K's requantization (q2_K_requantize_sub for the 16 sub-blocks) and packing: four 2-bit levels
 *  per qs byte. */
function q2_K_requantize_pack(x: usize, y: usize): void {
  const dh: f32 = fp16_to_fp32(load<u16>(y + Q2K_D));
  const mh: f32 = fp16_to_fp32(load<u16>(y + Q2K_DMIN));
  for (let j = 0; j < QK_K / 16; ++j) q2_K_requantize_sub(x, y, j, dh, mh);
  const L = L_Q2K;
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; ++l) {
      const q: i32 = <i32>load<u8>(L + <usize>(j + l))
        | (<i32>load<u8>(L + <usize>(j + l + 32)) << 2)
        | (<i32>load<u8>(L + <usize>(j + l + 64)) << 4)
        | (<i32>load<u8>(L + <usize>(j + l + 96)) << 6);
      store<u8>(y + Q2K_QS + <usize>(j / 4 + l), q);
    }
  }
}

/** One 16-wide sub-block j of quantize_row_q2_K_ref's search: make_qkx2_quants(nmax 3, weights |x|,
 *  rmin -0.5, rdelta 0.1, 15 steps, mean absolute error); scale into SCALES_Q2K[j], -min into
 *  MINS_Q2K[j], levels into L_Q2K + 16j. (The unit a SIMD lane runs.) */
export function search_q2_K_ref_sub(x: usize, j: i32): void {
  const xb = x + (<usize>(16 * j) << 2);
  for (let l = 0; l < 16; ++l) store<f32>(WEIGHT_Q2K + (<usize>l << 2), fabsf(load<f32>(xb + (<usize>l << 2))));
  store<f32>(SCALES_Q2K + (<usize>j << 2), make_qkx2_quants(16, 3, xb, WEIGHT_Q2K, L_Q2K + <usize>(16 * j), MINS_Q2K + (<usize>j << 2), LAUX_Q2K,
    <f32>-0.5, <f32>0.1, 15, true));
}

/** quantize_row_q2_K_ref's scales from SCALES_Q2K and MINS_Q2K: quantized to 4 bits against the
 *  largest of each (q4scale = 15). Writes y's scales, d and dmin. */
export function scales_q2_K_ref(y: usize): void {
  const mins = MINS_Q2K;
  const scales = SCALES_Q2K;
  const q4scale: f32 = 15;
  let max_scale: f32 = 0; // as we are deducting the min, scales are always positive
  let max_min: f32 = 0;
  for (let j = 0; j < QK_K / 16; ++j) {
    const scale: f32 = load<f32>(scales + (<usize>j << 2));
    if (scale > max_scale) max_scale = scale;
    const min: f32 = load<f32>(mins + (<usize>j << 2));
    if (min > max_min) max_min = min;
  }

  if (max_scale > 0) {
    const iscale: f32 = q4scale / max_scale;
    for (let j = 0; j < QK_K / 16; ++j) {
      const l = nearest_int(iscale * load<f32>(scales + (<usize>j << 2)));
      store<u8>(y + Q2K_SCALES + <usize>j, l); // int -> uint8_t keeps the low byte
    }
    store_f16(y + Q2K_D, max_scale / q4scale);
  } else {
    memory.fill(y + Q2K_SCALES, 0, QK_K / 16);
    store_f16(y + Q2K_D, <f32>0);
  }
  if (max_min > 0) {
    const iscale: f32 = q4scale / max_min;
    for (let j = 0; j < QK_K / 16; ++j) {
      const l = nearest_int(iscale * load<f32>(mins + (<usize>j << 2)));
      const p = y + Q2K_SCALES + <usize>j;
      store<u8>(p, <i32>load<u8>(p) | (l << 4)); // low byte of the int
    }
    store_f16(y + Q2K_DMIN, max_min / q4scale);
  } else {
    store_f16(y + Q2K_DMIN, <f32>0);
  }
}

/** quantize_row_q2_K_ref: k values (a multiple of QK_K), no importance. Each 16-wide sub-block gets
 *  search_q2_K_ref_sub, then scales_q2_K_ref. (C finds the largest scale and min inside the search
 *  loop; finding them after compares the same values in the same order.) */
export function quantize_row_q2_K_ref(x: usize, y: usize, k: i32): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    for (let j = 0; j < QK_K / 16; ++j) search_q2_K_ref_sub(x, j);
    scales_q2_K_ref(y);
    q2_K_requantize_pack(x, y);
    x += <usize>QK_K << 2;
    y += Q2K_BLOCK_BYTES;
  }
}

/** sigma2 of quantize_row_q2_K_impl: Σx²/QK_K of the super-block, in order (q3_K, q4_K: 2·Σx²/QK_K). */
export function sigma2_q2_K(x: usize): f32 {
  let sumx2: f32 = 0;
  for (let j = 0; j < QK_K; ++j) {
    const v: f32 = load<f32>(x + (<usize>j << 2));
    sumx2 += v * v;
  }
  return sumx2 / <f32>QK_K;
}

/** One 16-wide sub-block j of quantize_row_q2_K_impl's search: weights qw·sqrt(sigma2 + x²) (qw: the
 *  super-block's importance), their sum into SW_Q2K[j], make_qkx3_quants(nmax 3, rmin -0.9, rdelta
 *  0.05, 36 steps, squared error) into SCALES_Q2K[j], MINS_Q2K[j] and L_Q2K + 16j. */
export function search_q2_K_impl_sub(x: usize, j: i32, qw: usize, sigma2: f32): void {
  // No NaN order is needed for the weights or their sums here (unlike q3_K): a NaN weight only
  // reaches the searches' error sums (compared, never stored) and make_qp_quants' sw, where it makes
  // suml2 NaN and the result 0.
  const xb = x + (<usize>(16 * j) << 2);
  const qwb = qw + (<usize>(16 * j) << 2);
  const weight = WEIGHT_Q2K;
  for (let l = 0; l < 16; ++l) {
    const v: f32 = load<f32>(xb + (<usize>l << 2));
    store<f32>(weight + (<usize>l << 2), load<f32>(qwb + (<usize>l << 2)) * Mathf.sqrt(sigma2 + v * v));
  }
  // sw[j] after memset(sw, 0) and `for (l < QK_K/16) sw[j] += weight[l]` (QK_K/16 == 16)
  let sumw: f32 = 0;
  for (let l = 0; l < 16; ++l) sumw += load<f32>(weight + (<usize>l << 2));
  store<f32>(SW_Q2K + (<usize>j << 2), sumw);
  store<f32>(SCALES_Q2K + (<usize>j << 2), make_qkx3_quants(16, 3, xb, weight, L_Q2K + <usize>(16 * j), MINS_Q2K + (<usize>j << 2), LAUX_Q2K,
    <f32>-0.9, <f32>0.05, 36, false));
}

/** quantize_row_q2_K_impl's scales: make_qp_quants(nmax 15) over the 16 scales and the 16 mins,
 *  weighted by SW_Q2K. Writes y's d, dmin and scales. */
export function scales_q2_K_impl(y: usize): void {
  const dm: f32 = make_qp_quants(QK_K / 16, 15, SCALES_Q2K, LS_Q2K, SW_Q2K);
  const mm: f32 = make_qp_quants(QK_K / 16, 15, MINS_Q2K, LM_Q2K, SW_Q2K);
  store_f16(y + Q2K_D, dm);
  store_f16(y + Q2K_DMIN, mm);
  for (let j = 0; j < QK_K / 16; ++j) {
    store<u8>(y + Q2K_SCALES + <usize>j, <i32>load<u8>(LS_Q2K + <usize>j) | (<i32>load<u8>(LM_Q2K + <usize>j) << 4));
  }
}

/**
 * quantize_row_q2_K_impl: n_per_row values at x into block_q2_K at y with quant_weights (n_per_row
 * floats, required). Weights qw·sqrt(sigma2 + x²) with sigma2 = Σx²/QK_K of the super-block;
 * make_qkx3_quants per sub-block; the 16 scales and the 16 mins then each get make_qp_quants(nmax 15)
 * weighted by the sub-block weight sums.
 */
export function quantize_row_q2_K_impl(x: usize, y: usize, k: i32, quant_weights: usize): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    const sigma2: f32 = sigma2_q2_K(x);
    const qw = quant_weights + (<usize>(QK_K * i) << 2);
    for (let j = 0; j < QK_K / 16; ++j) search_q2_K_impl_sub(x, j, qw, sigma2);
    scales_q2_K_impl(y);
    q2_K_requantize_pack(x, y);
    x += <usize>QK_K << 2;
    y += Q2K_BLOCK_BYTES;
  }
}

/**
 * The row function of quantize_q2_K: one row of n values (n % 256 == 0) through quantize_row_q2_K_ref
 * when qw == 0, else through quantize_row_q2_K_impl (the SIMD version of kquants_simd.ts unless
 * set_scalar_kernels(1)). Returns the bytes written (84 per 256 values).
 */
export function quantize_row_q2_K(x: usize, y: usize, n: i32, qw: usize): usize {
  if (!use_scalar()) quantize_row_q2_K_simd(x, y, n, qw);
  else if (qw == 0) quantize_row_q2_K_ref(x, y, n);
  else quantize_row_q2_K_impl(x, y, n, qw);
  return <usize>(n / QK_K) * Q2K_BLOCK_BYTES;
}

// ================================================================ q3_K

// ---- block_q3_K (ggml-common.h): uint8 hmask[QK_K/8], uint8 qs[QK_K/4], uint8 scales[12] (sixteen
// 6-bit scales: low nibbles in 0..7, high 2 bits in 8..11), ggml_half d ----
export const Q3K_HMASK: usize = 0;
export const Q3K_QS: usize = Q3K_HMASK + QK_K / 8;
export const Q3K_SCALES: usize = Q3K_QS + QK_K / 4;
export const Q3K_D: usize = Q3K_SCALES + 12;
/** sizeof(block_q3_K) = 110 */
export const Q3K_BLOCK_BYTES: usize = Q3K_D + 2;

// Per-call scratch: int8_t L[QK_K], Ls[16]; float scales[16], weight[16], sw[16].
export const L_Q3K: usize = memory.data(QK_K, 16);
const LS_Q3K: usize = memory.data(QK_K / 16, 16);
export const SCALES_Q3K: usize = memory.data((QK_K / 16) << 2, 16);
const WEIGHT_Q3K: usize = memory.data(16 << 2, 16);
export const SW_Q3K: usize = memory.data((QK_K / 16) << 2, 16);

/** Stores 6-bit scale l (0..63) of sub-block j: its low nibble into scales[j % 8] (low or high half),
 *  its top 2 bits into scales[8 + j % 4] at bit 2·(j / 4). The bytes must start zeroed. */
// @ts-ignore: decorator
@inline function q3_K_put_scale(sc: usize, j: i32, l: i32): void {
  if (j < 8) {
    store<u8>(sc + <usize>j, l & 0xF);
  } else {
    store<u8>(sc + <usize>(j - 8), <i32>load<u8>(sc + <usize>(j - 8)) | ((l & 0xF) << 4));
  }
  l >>= 4;
  const p = sc + <usize>(8 + j % 4);
  store<u8>(p, <i32>load<u8>(p) | (l << (2 * (j / 4))));
}

/** The signed 6-bit scale of sub-block j from the 12 scale bytes at sc: int8_t sc = the nibble, then
 *  its top bits, then - 32 (all in int8, as C's stores truncate). */
// @ts-ignore: decorator
@inline export function q3_K_scale(sc: usize, j: i32): i32 {
  const l: i32 = j < 8 ? <i32>load<u8>(sc + <usize>j) & 0xF : <i32>load<u8>(sc + <usize>(j - 8)) >> 4;
  return <i32><i8>((l | (((<i32>load<u8>(sc + <usize>(8 + j % 4)) >> (2 * (j / 4))) & 3) << 4)) - 32);
}

/** q3_K's requantization and packing, shared by _ref and _impl: decodes each 6-bit scale back to
 *  int8 sc - 32, and where d = fp16(y.d)·sc is not 0, L = clamp(nearest_int(x/d), -4, 3) + 4 (a
 *  sub-block with d == 0 keeps the search's levels); then the high bit of each level goes to hmask
 *  (bit j/32 of hmask[j % 32]) and the low two bits, four to a byte, to qs. */
// @ts-ignore: decorator
@inline function q3_K_requantize_pack(x: usize, y: usize, L: usize): void {
  const sc_bytes = y + Q3K_SCALES;
  const dh: f32 = fp16_to_fp32(load<u16>(y + Q3K_D));
  for (let j = 0; j < QK_K / 16; ++j) {
    const d: f32 = dh * <f32>q3_K_scale(sc_bytes, j);
    if (d == 0) continue; // `if (!d)`: a NaN d goes on
    for (let ii = 0; ii < 16; ++ii) {
      const l = clamp_i32(nearest_int(load<f32>(x + (<usize>(16 * j + ii) << 2)) / d), -4, 3);
      store<i8>(L + <usize>(16 * j + ii), l + 4);
    }
  }

  memory.fill(y + Q3K_HMASK, 0, QK_K / 8);
  // the high bit of the first 32 levels goes to bit 0 of hmask[0..31], of the next 32 to bit 1, ...
  let m = 0;
  let hm: i32 = 1;
  for (let j = 0; j < QK_K; ++j) {
    const Lj: i32 = <i32>load<i8>(L + <usize>j);
    if (Lj > 3) {
      const p = y + Q3K_HMASK + <usize>m;
      store<u8>(p, <i32>load<u8>(p) | hm);
      store<i8>(L + <usize>j, Lj - 4);
    }
    if (++m == QK_K / 8) {
      m = 0;
      hm = (hm << 1) & 0xFF; // uint8_t hm
    }
  }
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; ++l) {
      const q: i32 = <i32>load<i8>(L + <usize>(j + l))
        | (<i32>load<i8>(L + <usize>(j + l + 32)) << 2)
        | (<i32>load<i8>(L + <usize>(j + l + 64)) << 4)
        | (<i32>load<i8>(L + <usize>(j + l + 96)) << 6);
      store<u8>(y + Q3K_QS + <usize>(j / 4 + l), q);
    }
  }
}

/** One 16-wide sub-block j of quantize_row_q3_K_ref's search: make_q3_quants(nmax 4, do_rmse) into
 *  SCALES_Q3K[j] and L_Q3K + 16j. (The unit a SIMD lane runs.) */
export function search_q3_K_ref_sub(x: usize, j: i32): void {
  store<f32>(SCALES_Q3K + (<usize>j << 2), make_q3_quants(16, 4, x + (<usize>(16 * j) << 2), L_Q3K + <usize>(16 * j), true));
}

/** quantize_row_q3_K_ref's scales from SCALES_Q3K: quantized to 6 bits against the one of largest
 *  magnitude (the first; iscale = -32/max_scale, through int8_t before the clamp). Writes y's
 *  scales and d. */
export function scales_q3_K_ref(y: usize): void {
  const scales = SCALES_Q3K;
  let max_scale: f32 = 0;
  let amax: f32 = 0;
  for (let j = 0; j < QK_K / 16; ++j) {
    const s: f32 = load<f32>(scales + (<usize>j << 2));
    const scale: f32 = fabsf(s);
    if (scale > amax) {
      amax = scale;
      max_scale = s;
    }
  }

  memory.fill(y + Q3K_SCALES, 0, 12);
  if (max_scale != 0) { // `if (max_scale)`
    const iscale: f32 = <f32>-32 / max_scale;
    for (let j = 0; j < QK_K / 16; ++j) {
      // int8_t l = nearest_int(...): the low byte, sign-extended, before the clamp
      let l: i32 = <i32><i8>nearest_int(iscale * load<f32>(scales + (<usize>j << 2)));
      l = clamp_i32(l, -32, 31) + 32;
      q3_K_put_scale(y + Q3K_SCALES, j, l);
    }
    store_f16(y + Q3K_D, <f32>1 / iscale);
  } else {
    store_f16(y + Q3K_D, <f32>0);
  }
}

/** quantize_row_q3_K_ref: k values (a multiple of QK_K), no importance: search_q3_K_ref_sub per
 *  sub-block, then scales_q3_K_ref. (C finds the largest scale inside the search loop; finding it
 *  after compares the same values in the same order.) */
export function quantize_row_q3_K_ref(x: usize, y: usize, k: i32): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    for (let j = 0; j < QK_K / 16; ++j) search_q3_K_ref_sub(x, j);
    scales_q3_K_ref(y);
    q3_K_requantize_pack(x, y, L_Q3K);
    x += <usize>QK_K << 2;
    y += Q3K_BLOCK_BYTES;
  }
}

/** sigma2 of quantize_row_q3_K_impl: 2·Σx²/QK_K, Σx² as q3_K_sum_x2 adds it. */
export function sigma2_q3_K(x: usize): f32 {
  return <f32>2 * q3_K_sum_x2(x) / <f32>QK_K;
}

/** Σx² over one super-block as the reference build's quantize_row_q3_K_impl adds it: four squares at a
 *  time, as sum + x0², x1² + sum, x2² + sum, sum + x3². The same value as C's sequential sum (each step
 *  adds one square to the running sum; only the operand order differs), and the same NaN when two meet.
 *  (Kept for fidelity: as far as we can tell a NaN sigma2 never shows, since it makes every scale of
 *  the super-block NaN, so d is 0 and the levels come from the searches, which do not read weights.) */
function q3_K_sum_x2(x: usize): f32 {
  let sum: f32 = 0;
  for (let j = 0; j < QK_K; j += 4) {
    const v0: f32 = load<f32>(x + (<usize>j << 2));
    const v1: f32 = load<f32>(x + (<usize>(j + 1) << 2));
    const v2: f32 = load<f32>(x + (<usize>(j + 2) << 2));
    const v3: f32 = load<f32>(x + (<usize>(j + 3) << 2));
    sum = nan_first(sum, v0 * v0);
    sum = nan_first(v1 * v1, sum);
    sum = nan_first(v2 * v2, sum);
    sum = nan_first(sum, v3 * v3);
  }
  return sum;
}

/** One 16-wide sub-block j of quantize_row_q3_K_impl's search: weights qw·sqrt(sigma2 + x²) (qw: the
 *  super-block's importance) or, when qw is 0, x²; their sum into SW_Q3K[j]; make_qx_quants(nmax 4,
 *  rmse_type 1) into SCALES_Q3K[j] and L_Q3K + 16j. */
export function search_q3_K_impl_sub(x: usize, j: i32, qw: usize, sigma2: f32): void {
  const weight = WEIGHT_Q3K;
  const xb = x + (<usize>(16 * j) << 2);
  if (qw != 0) {
    const qwb = qw + (<usize>(16 * j) << 2);
    for (let l = 0; l < 16; ++l) {
      // qw[l] * sqrtf(sigma2 + x*x) with the build's operands: x*x + sigma2, then sqrt * qw,
      // except for the last of the sixteen, qw * sqrt
      const v: f32 = load<f32>(xb + (<usize>l << 2));
      const s: f32 = Mathf.sqrt(nan_first(v * v, sigma2));
      const q: f32 = load<f32>(qwb + (<usize>l << 2));
      store<f32>(weight + (<usize>l << 2), l < 15 ? nan_first_mul(s, q) : nan_first_mul(q, s));
    }
  } else {
    for (let l = 0; l < 16; ++l) {
      const v: f32 = load<f32>(xb + (<usize>l << 2));
      store<f32>(weight + (<usize>l << 2), v * v);
    }
  }
  // sumw += weight[l]: the build adds the first two as sumw + w, the other fourteen as w + sumw.
  // This one shows: with two NaN weights in a sub-block (NaN importance) it decides the sign of d.
  let sumw: f32 = 0;
  for (let l = 0; l < 16; ++l) {
    const w: f32 = load<f32>(weight + (<usize>l << 2));
    sumw = l < 2 ? nan_first(sumw, w) : nan_first(w, sumw);
  }
  store<f32>(SW_Q3K + (<usize>j << 2), sumw);
  store<f32>(SCALES_Q3K + (<usize>j << 2), make_qx_quants(16, 4, xb, L_Q3K + <usize>(16 * j), 1, weight));
}

/** quantize_row_q3_K_impl's scales: make_qx_quants(nmax 32) over the 16 scales weighted by SW_Q3K
 *  gives the 6-bit scales and d. Writes y's scales and d. */
export function scales_q3_K_impl(y: usize): void {
  memory.fill(y + Q3K_SCALES, 0, 12);
  const d_block: f32 = make_qx_quants(QK_K / 16, 32, SCALES_Q3K, LS_Q3K, 1, SW_Q3K);
  for (let j = 0; j < QK_K / 16; ++j) {
    q3_K_put_scale(y + Q3K_SCALES, j, <i32>load<i8>(LS_Q3K + <usize>j));
  }
  store_f16(y + Q3K_D, d_block);
}

/**
 * quantize_row_q3_K_impl: n_per_row values at x into block_q3_K at y, with quant_weights as importance
 * (weights qw·sqrt(sigma2 + x²), sigma2 = 2·Σx²/QK_K of the super-block) or, when it is 0, x².
 * make_qx_quants(nmax 4) per sub-block, then scales_q3_K_impl.
 */
export function quantize_row_q3_K_impl(x: usize, y: usize, n_per_row: i32, quant_weights: usize): void {
  const nb = n_per_row / QK_K;
  for (let i = 0; i < nb; i++) {
    const sigma2: f32 = sigma2_q3_K(x);
    const qw: usize = quant_weights != 0 ? quant_weights + (<usize>(QK_K * i) << 2) : 0;
    for (let j = 0; j < QK_K / 16; ++j) search_q3_K_impl_sub(x, j, qw, sigma2);
    scales_q3_K_impl(y);
    q3_K_requantize_pack(x, y, L_Q3K);
    x += <usize>QK_K << 2;
    y += Q3K_BLOCK_BYTES;
  }
}

/**
 * The row function of quantize_q3_K: one row of n values (n % 256 == 0) through quantize_row_q3_K_ref
 * when qw == 0, else through quantize_row_q3_K_impl (the SIMD version of kquants_simd.ts unless
 * set_scalar_kernels(1)). Returns the bytes written (110 per 256 values).
 */
export function quantize_row_q3_K(x: usize, y: usize, n: i32, qw: usize): usize {
  if (!use_scalar()) quantize_row_q3_K_simd(x, y, n, qw);
  else if (qw == 0) quantize_row_q3_K_ref(x, y, n);
  else quantize_row_q3_K_impl(x, y, n, qw);
  return <usize>(n / QK_K) * Q3K_BLOCK_BYTES;
}
