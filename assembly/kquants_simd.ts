// SIMD128 versions of quantize_row_q{4,5,6}_K_ref and quantize_row_q{4,5,6}_K_impl, ggml-quants.c @ 36491e40,
// byte-identical to the scalar ports in kquants.ts (which stay the reference: set_scalar_kernels(1)).
//
// The hot spot is the per-sub-block scale search (q4_K, q5_K: make_qkx2_quants without an imatrix,
// make_qkx3_quants with one; q6_K: make_qx_quants). It runs one 32-wide sub-block per lane, four at a time
// (search_simd.ts): the sub-blocks' values and weights are transposed, so each lane performs the
// scalar op sequence, sums in order included. The weights are per element (lane-wise), their sums
// per lane in order. A lane the vector search hands back (non-finite weights, or a trial out of the
// range where f32x4.nearest equals nearest_int) is redone by the scalar sub-block function, weights
// and sums included. The per-super-block glue (maxima, make_qp_quants, 6-bit packing, fp16) is the
// scalar code itself. The requantization is per element with the exact nearest_int trick; a
// sub-block whose dm is NaN (where the build's NaN operand order shows) goes to the scalar code.

import {
  L_Q3K, Q3K_BLOCK_BYTES, Q3K_D, Q3K_HMASK, Q3K_QS, Q3K_SCALES, SCALES_Q3K, SW_Q3K, scales_q3_K_impl, scales_q3_K_ref,
  search_q3_K_impl_sub, search_q3_K_ref_sub, sigma2_q3_K, q3_K_scale,
  L_Q2K, MINS_Q2K, Q2K_BLOCK_BYTES, Q2K_D, Q2K_DMIN, Q2K_QS, Q2K_SCALES, SCALES_Q2K, SW_Q2K, q2_K_requantize_sub, scales_q2_K_impl,
  scales_q2_K_ref, search_q2_K_impl_sub, search_q2_K_ref_sub, sigma2_q2_K,
  L_Q6K, Q6K_BLOCK_BYTES, Q6K_D, Q6K_QH, Q6K_QL, Q6K_SCALES, SCALES_Q6K, scales_q6_K, search_q6_K_sub,
  K4_D, K4_DMIN, K4_SCALES, L_K4, MINS_K4, Q4K_BLOCK_BYTES, Q4K_QS, Q5K_BLOCK_BYTES, Q5K_QH, Q5K_QS, SCALES_K4, SW_K4,
  finish_k4_impl, finish_k4_ref, min_k4, requantize_k4_sub, scale_k4, search_k4_impl_sub, search_k4_ref_sub, sigma2_k4,
} from "./kquants";
import { fp16_to_fp32 } from "./common";
import { __bytes16_i32x4, __finite_f32x4, __transpose4_store } from "./simd";
import {
  OUT_MIN, OUT_SCALE, OUT_SCALE2, WT, XT, __nearest_int_i32x4, __q3_levels, __q3_search_x8, __qkx_levels, __qkx_search_x4, __qx_levels, __qx_search_x4, __transpose_x4,
} from "./search_simd";

const QK_K: i32 = 256;
const SUB_F32: usize = 32 * 4;        // bytes of one sub-block of f32
const SUPER_F32: usize = 256 * 4;     // bytes of one super-block of f32

/** Scales, mins and levels of sub-blocks 4g..4g+3 from the search's results (lanes 0..3). */
// @ts-ignore: decorator
@inline function store_group(xg: usize, g: i32, nmax: i32): void {
  v128.store(SCALES_K4 + (<usize>g << 4), v128.load(OUT_SCALE));
  v128.store(MINS_K4 + (<usize>g << 4), f32x4.neg(v128.load(OUT_MIN))); // *the_min = -min
  const L = L_K4 + (<usize>g << 7);
  for (let b = 0; b < 4; b++) __qkx_levels(xg + <usize>b * SUB_F32, b, 32, nmax, L + (<usize>b << 5));
}

/** The _ref search of sub-blocks 4g..4g+3 (g = 0, 1) of the super-block at x: weights
 *  av_x + |x| with av_x = sqrtf(sum of x² / 32), then make_qkx2_quants. */
// @ts-ignore: decorator
@inline function search_ref_x4(x: usize, g: i32, nmax: i32, rmin: f32, rdelta: f32, nstep: i32): void {
  const xg = x + <usize>g * 4 * SUB_F32;
  __transpose_x4(xg, SUB_F32, 32, XT);
  let sum_x2 = f32x4.splat(0);
  for (let i: usize = 0; i < 32 * 16; i += 16) {
    const xi = v128.load(XT + i);
    sum_x2 = f32x4.add(sum_x2, f32x4.mul(xi, xi));
  }
  const av_x = f32x4.sqrt(f32x4.div(sum_x2, f32x4.splat(<f32>32)));
  for (let i: usize = 0; i < 32 * 16; i += 16) v128.store(WT + i, f32x4.add(av_x, f32x4.abs(v128.load(XT + i))));
  const redo = __qkx_search_x4(32, nmax, rmin, rdelta, nstep, false);
  store_group(xg, g, nmax);
  if (redo != 0) {
    for (let b = 0; b < 4; b++) if (redo & (1 << b)) search_k4_ref_sub(x, 4 * g + b, L_K4, nmax, rmin, rdelta, nstep);
  }
}

/** The _impl search of sub-blocks 4g..4g+3: weights qw·sqrtf(sigma2 + x²), their sums into SW_K4,
 *  then make_qkx3_quants. A lane whose weights do not sum to a finite value is redone whole (the
 *  sum goes to make_qp_quants, and the scalar code picks its NaN as the build does). */
// @ts-ignore: decorator
@inline function search_impl_x4(x: usize, qw: usize, g: i32, nmax: i32, sigma2: f32): void {
  const o = <usize>g * 4 * SUB_F32;
  const xg = x + o, qwg = qw + o;
  const s2 = f32x4.splat(sigma2);
  for (let j: usize = 0; j < SUB_F32; j += 16) {
    const x0 = v128.load(xg + j), x1 = v128.load(xg + SUB_F32 + j), x2 = v128.load(xg + 2 * SUB_F32 + j), x3 = v128.load(xg + 3 * SUB_F32 + j);
    __transpose4_store(x0, x1, x2, x3, XT + (j << 2));
    __transpose4_store(
      f32x4.mul(v128.load(qwg + j), f32x4.sqrt(f32x4.add(s2, f32x4.mul(x0, x0)))),
      f32x4.mul(v128.load(qwg + SUB_F32 + j), f32x4.sqrt(f32x4.add(s2, f32x4.mul(x1, x1)))),
      f32x4.mul(v128.load(qwg + 2 * SUB_F32 + j), f32x4.sqrt(f32x4.add(s2, f32x4.mul(x2, x2)))),
      f32x4.mul(v128.load(qwg + 3 * SUB_F32 + j), f32x4.sqrt(f32x4.add(s2, f32x4.mul(x3, x3)))),
      WT + (j << 2));
  }
  let sumw = f32x4.splat(0);
  for (let i: usize = 0; i < 32 * 16; i += 16) sumw = f32x4.add(sumw, v128.load(WT + i));
  v128.store(SW_K4 + (<usize>g << 4), sumw);
  const redo = __qkx_search_x4(32, nmax, <f32>-0.9, <f32>0.05, 36, false) | (~i32x4.bitmask(__finite_f32x4(sumw)) & 15);
  store_group(xg, g, nmax);
  if (redo != 0) {
    for (let b = 0; b < 4; b++) if (redo & (1 << b)) search_k4_impl_sub(x, 4 * g + b, L_K4, nmax, qw, sigma2);
  }
}

/** requantize_k4 (kquants.ts): per sub-block with d != 0, l = clamp(nearest_int((x + dm)/d), 0, nmax)
 *  on each lane; a NaN dm (then both addends may be NaN) goes to the scalar code. */
// @ts-ignore: decorator
@inline function requantize(x: usize, y: usize, nmax: i32): void {
  const dh: f32 = fp16_to_fp32(load<u16>(y + K4_D));
  const dminh: f32 = fp16_to_fp32(load<u16>(y + K4_DMIN));
  const zero = i32x4.splat(0), hi = i32x4.splat(nmax);
  for (let j = 0; j < QK_K / 32; ++j) {
    const d: f32 = dh * <f32>scale_k4(j, y + K4_SCALES);
    if (d == 0) continue;
    const dm: f32 = dminh * <f32>min_k4(j, y + K4_SCALES);
    if (dm != dm) {
      requantize_k4_sub(x, y, L_K4, nmax, j, dh, dminh);
      continue;
    }
    const D = f32x4.splat(d), DM = f32x4.splat(dm);
    const xj = x + <usize>j * SUB_F32;
    for (let h: usize = 0; h < SUB_F32; h += 64) {
      const p = xj + h;
      v128.store(L_K4 + (<usize>j << 5) + (h >> 2), __bytes16_i32x4(
        i32x4.max_s(zero, i32x4.min_s(__nearest_int_i32x4(f32x4.div(f32x4.add(v128.load(p), DM), D)), hi)),
        i32x4.max_s(zero, i32x4.min_s(__nearest_int_i32x4(f32x4.div(f32x4.add(v128.load(p, 16), DM), D)), hi)),
        i32x4.max_s(zero, i32x4.min_s(__nearest_int_i32x4(f32x4.div(f32x4.add(v128.load(p, 32), DM), D)), hi)),
        i32x4.max_s(zero, i32x4.min_s(__nearest_int_i32x4(f32x4.div(f32x4.add(v128.load(p, 48), DM), D)), hi))));
    }
  }
}

/** pack_q4_K: per 64 levels, the first 32 in the low nibbles, the next 32 in the high ones. */
// @ts-ignore: decorator
@inline function pack_q4(q: usize): void {
  for (let j: usize = 0; j < <usize>QK_K; j += 64) {
    const p = L_K4 + j, o = q + (j >> 1);
    v128.store(o, v128.or(v128.load(p), i8x16.shl(v128.load(p, 32), 4)));
    v128.store(o, v128.or(v128.load(p, 16), i8x16.shl(v128.load(p, 48), 4)), 16);
  }
}

/** pack_q5_K: the low 4 bits as q4_K; bit 4 of level 64k + j to bit 2k of qh[j], of 64k + 32 + j to
 *  bit 2k + 1 (levels are at most 31). */
// @ts-ignore: decorator
@inline function pack_q5(y: usize): void {
  const low = i8x16.splat(0x0F), one = i8x16.splat(1);
  for (let h: usize = 0; h < 32; h += 16) {
    let qh = i8x16.splat(0);
    for (let k = 0; k < 4; k++) {
      const a = v128.load(L_K4 + 64 * <usize>k + h), b = v128.load(L_K4 + 64 * <usize>k + 32 + h);
      v128.store(y + Q5K_QS + 32 * <usize>k + h, v128.or(v128.and(a, low), i8x16.shl(v128.and(b, low), 4)));
      qh = v128.or(qh, i8x16.shl(v128.and(i8x16.shr_u(a, 4), one), 2 * k));
      qh = v128.or(qh, i8x16.shl(v128.and(i8x16.shr_u(b, 4), one), 2 * k + 1));
    }
    v128.store(y + Q5K_QH + h, qh);
  }
}

/** quantize_row_q4_K_ref (q5 false) or quantize_row_q5_K_ref (q5 true). */
// @ts-ignore: decorator
@inline function ref_rows(x: usize, y: usize, k: i32, q5: bool): void {
  const nmax = q5 ? 31 : 15;
  const rmin: f32 = q5 ? <f32>-0.5 : <f32>-1;
  const nstep = q5 ? 15 : 20;
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    search_ref_x4(x, 0, nmax, rmin, <f32>0.1, nstep);
    search_ref_x4(x, 1, nmax, rmin, <f32>0.1, nstep);
    finish_k4_ref(y);
    requantize(x, y, nmax);
    if (q5) pack_q5(y);
    else pack_q4(y + Q4K_QS);
    x += SUPER_F32;
    y += q5 ? Q5K_BLOCK_BYTES : Q4K_BLOCK_BYTES;
  }
}

/** quantize_row_q4_K_impl (q5 false) or quantize_row_q5_K_impl (q5 true), qw != 0. */
// @ts-ignore: decorator
@inline function impl_rows(x: usize, y: usize, n: i32, qw: usize, q5: bool): void {
  const nmax = q5 ? 31 : 15;
  const nb = n / QK_K;
  for (let i = 0; i < nb; i++) {
    const sigma2: f32 = sigma2_k4(x);
    search_impl_x4(x, qw, 0, nmax, sigma2);
    search_impl_x4(x, qw, 1, nmax, sigma2);
    finish_k4_impl(y, q5);
    requantize(x, y, nmax);
    if (q5) pack_q5(y);
    else pack_q4(y + Q4K_QS);
    x += SUPER_F32;
    qw += SUPER_F32;
    y += q5 ? Q5K_BLOCK_BYTES : Q4K_BLOCK_BYTES;
  }
}

export function quantize_row_q4_K_ref_simd(x: usize, y: usize, k: i32): void { ref_rows(x, y, k, false); }
export function quantize_row_q5_K_ref_simd(x: usize, y: usize, k: i32): void { ref_rows(x, y, k, true); }
export function quantize_row_q4_K_impl_simd(x: usize, y: usize, n: i32, qw: usize): void { impl_rows(x, y, n, qw, false); }
export function quantize_row_q5_K_impl_simd(x: usize, y: usize, n: i32, qw: usize): void { impl_rows(x, y, n, qw, true); }

// ---------------------------------------------------------------- q6_K

const SUB16_F32: usize = 16 * 4;      // bytes of one q6_K sub-block of f32

/** q6_K's search of sub-blocks 4g..4g+3 (g = 0..3): make_qx_quants(16, 32, rmse_type 1) with weights
 *  qw (the super-block's importance) or, when qw is 0, x². */
// @ts-ignore: decorator
@inline function search_q6_x4(x: usize, qw: usize, g: i32): void {
  const o = <usize>g * 4 * SUB16_F32;
  const xg = x + o;
  __transpose_x4(xg, SUB16_F32, 16, XT);
  if (qw != 0) {
    __transpose_x4(qw + o, SUB16_F32, 16, WT);
  } else {
    for (let i: usize = 0; i < 16 * 16; i += 16) {
      const xi = v128.load(XT + i);
      v128.store(WT + i, f32x4.mul(xi, xi));
    }
  }
  const redo = __qx_search_x4(16, 32);
  v128.store(SCALES_Q6K + (<usize>g << 4), v128.load(OUT_SCALE));
  const L = L_Q6K + (<usize>g << 6);
  for (let b = 0; b < 4; b++) __qx_levels(xg + <usize>b * SUB16_F32, b, 16, 32, L + (<usize>b << 4));
  if (redo != 0) {
    for (let b = 0; b < 4; b++) if (redo & (1 << b)) search_q6_K_sub(x, 4 * g + b, qw);
  }
}

/** q6_K's requantization: where d = fp16(y.d)·scale is not 0, L = clamp(nearest_int(x/d), -32, 31) + 32. */
// @ts-ignore: decorator
@inline function requantize_q6(x: usize, y: usize): void {
  const dh: f32 = fp16_to_fp32(load<u16>(y + Q6K_D));
  const lo = i32x4.splat(-32), hi = i32x4.splat(31), off = i32x4.splat(32);
  for (let j = 0; j < QK_K / 16; ++j) {
    const d: f32 = dh * <f32>load<i8>(y + Q6K_SCALES + <usize>j);
    if (d == 0) continue; // `if (!d)`: a NaN d goes on
    const D = f32x4.splat(d);
    const p = x + <usize>j * SUB16_F32;
    v128.store(L_Q6K + (<usize>j << 4), __bytes16_i32x4(
      i32x4.add(i32x4.max_s(lo, i32x4.min_s(__nearest_int_i32x4(f32x4.div(v128.load(p), D)), hi)), off),
      i32x4.add(i32x4.max_s(lo, i32x4.min_s(__nearest_int_i32x4(f32x4.div(v128.load(p, 16), D)), hi)), off),
      i32x4.add(i32x4.max_s(lo, i32x4.min_s(__nearest_int_i32x4(f32x4.div(v128.load(p, 32), D)), hi)), off),
      i32x4.add(i32x4.max_s(lo, i32x4.min_s(__nearest_int_i32x4(f32x4.div(v128.load(p, 48), D)), hi)), off)));
  }
}

/** q6_K's packing (levels 0..63): per 128, ql[l] = q1 & 15 | (q3 & 15) << 4, ql[l + 32] = q2 & 15 |
 *  (q4 & 15) << 4, qh[l] = q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6, where q1..q4
 *  are the levels l, l + 32, l + 64, l + 96. */
// @ts-ignore: decorator
@inline function pack_q6(y: usize): void {
  const low = i8x16.splat(0x0F);
  for (let c: usize = 0; c < 2; c++) {
    for (let h: usize = 0; h < 32; h += 16) {
      const p = L_Q6K + 128 * c + h;
      const q1 = v128.load(p), q2 = v128.load(p, 32), q3 = v128.load(p, 64), q4 = v128.load(p, 96);
      v128.store(y + Q6K_QL + 64 * c + h, v128.or(v128.and(q1, low), i8x16.shl(q3, 4)));
      v128.store(y + Q6K_QL + 64 * c + 32 + h, v128.or(v128.and(q2, low), i8x16.shl(q4, 4)));
      v128.store(y + Q6K_QH + 32 * c + h, v128.or(
        v128.or(i8x16.shr_u(q1, 4), i8x16.shl(i8x16.shr_u(q2, 4), 2)),
        v128.or(i8x16.shl(i8x16.shr_u(q3, 4), 4), i8x16.shl(i8x16.shr_u(q4, 4), 6))));
    }
  }
}

/** quantize_row_q6_K_ref (qw == 0) or quantize_row_q6_K_impl. */
export function quantize_row_q6_K_simd(x: usize, y: usize, n: i32, qw: usize): void {
  const nb = n / QK_K;
  for (let i = 0; i < nb; i++) {
    for (let g = 0; g < 4; g++) search_q6_x4(x, qw, g);
    if (scales_q6_K(y)) {
      requantize_q6(x, y);
      pack_q6(y);
    }
    x += SUPER_F32;
    if (qw != 0) qw += SUPER_F32;
    y += Q6K_BLOCK_BYTES;
  }
}

// ---------------------------------------------------------------- q2_K

/** q2_K's search of sub-blocks 4g..4g+3 (g = 0..3): without an imatrix (qw == 0) make_qkx2_quants
 *  with weights |x| (nmax 3, rmin -0.5, rdelta 0.1, 15 steps, mean absolute error); with one,
 *  weights qw·sqrt(sigma2 + x²), their sums into SW_Q2K, and make_qkx3_quants (-0.9, 0.05, 36 steps).
 *  As for q4_K, a lane whose weights do not sum to a finite value is redone whole. */
// @ts-ignore: decorator
@inline function search_q2_x4(x: usize, qw: usize, g: i32, sigma2: f32): void {
  const o = <usize>g * 4 * SUB16_F32;
  const xg = x + o;
  __transpose_x4(xg, SUB16_F32, 16, XT);
  let redo: i32;
  if (qw == 0) {
    for (let i: usize = 0; i < 16 * 16; i += 16) v128.store(WT + i, f32x4.abs(v128.load(XT + i)));
    redo = __qkx_search_x4(16, 3, <f32>-0.5, <f32>0.1, 15, true);
  } else {
    __transpose_x4(qw + o, SUB16_F32, 16, WT);
    const s2 = f32x4.splat(sigma2);
    let sumw = f32x4.splat(0);
    for (let i: usize = 0; i < 16 * 16; i += 16) {
      const xi = v128.load(XT + i);
      const w = f32x4.mul(v128.load(WT + i), f32x4.sqrt(f32x4.add(s2, f32x4.mul(xi, xi))));
      v128.store(WT + i, w);
      sumw = f32x4.add(sumw, w);
    }
    v128.store(SW_Q2K + (<usize>g << 4), sumw);
    redo = __qkx_search_x4(16, 3, <f32>-0.9, <f32>0.05, 36, false) | (~i32x4.bitmask(__finite_f32x4(sumw)) & 15);
  }
  v128.store(SCALES_Q2K + (<usize>g << 4), v128.load(OUT_SCALE));
  v128.store(MINS_Q2K + (<usize>g << 4), f32x4.neg(v128.load(OUT_MIN))); // *the_min = -min
  const L = L_Q2K + (<usize>g << 6);
  for (let b = 0; b < 4; b++) __qkx_levels(xg + <usize>b * SUB16_F32, b, 16, 3, L + (<usize>b << 4));
  if (redo != 0) {
    for (let b = 0; b < 4; b++) {
      if (!(redo & (1 << b))) continue;
      if (qw == 0) search_q2_K_ref_sub(x, 4 * g + b);
      else search_q2_K_impl_sub(x, 4 * g + b, qw, sigma2);
    }
  }
}

/** q2_K's requantization (where d != 0: clamp(nearest_int((x + dm)/d), 0, 3); a NaN dm goes to the
 *  scalar code, as in q4_K) and packing: four 2-bit levels per byte, from levels l, l + 32, l + 64,
 *  l + 96 of each 128. */
// @ts-ignore: decorator
@inline function requantize_pack_q2(x: usize, y: usize): void {
  const dh: f32 = fp16_to_fp32(load<u16>(y + Q2K_D));
  const mh: f32 = fp16_to_fp32(load<u16>(y + Q2K_DMIN));
  const zero = i32x4.splat(0), hi = i32x4.splat(3);
  for (let j = 0; j < QK_K / 16; ++j) {
    const sc: i32 = <i32>load<u8>(y + Q2K_SCALES + <usize>j);
    const d: f32 = dh * <f32>(sc & 0xF);
    if (d == 0) continue;
    const dm: f32 = mh * <f32>(sc >> 4);
    if (dm != dm) {
      q2_K_requantize_sub(x, y, j, dh, mh);
      continue;
    }
    const D = f32x4.splat(d), DM = f32x4.splat(dm);
    const p = x + <usize>j * SUB16_F32;
    v128.store(L_Q2K + (<usize>j << 4), __bytes16_i32x4(
      i32x4.max_s(zero, i32x4.min_s(__nearest_int_i32x4(f32x4.div(f32x4.add(v128.load(p), DM), D)), hi)),
      i32x4.max_s(zero, i32x4.min_s(__nearest_int_i32x4(f32x4.div(f32x4.add(v128.load(p, 16), DM), D)), hi)),
      i32x4.max_s(zero, i32x4.min_s(__nearest_int_i32x4(f32x4.div(f32x4.add(v128.load(p, 32), DM), D)), hi)),
      i32x4.max_s(zero, i32x4.min_s(__nearest_int_i32x4(f32x4.div(f32x4.add(v128.load(p, 48), DM), D)), hi))));
  }
  pack2(L_Q2K, y + Q2K_QS);
}

/** Four 2-bit levels (0..3) per byte: byte 32c + l = L[128c + l] | L[.. + 32] << 2 | L[.. + 64] << 4 |
 *  L[.. + 96] << 6 (q2_K's qs, and q3_K's from its low two bits). */
// @ts-ignore: decorator
@inline function pack2(L: usize, q: usize): void {
  for (let c: usize = 0; c < 2; c++) {
    for (let h: usize = 0; h < 32; h += 16) {
      const p = L + 128 * c + h;
      v128.store(q + 32 * c + h, v128.or(
        v128.or(v128.load(p), i8x16.shl(v128.load(p, 32), 2)),
        v128.or(i8x16.shl(v128.load(p, 64), 4), i8x16.shl(v128.load(p, 96), 6))));
    }
  }
}

/** quantize_row_q2_K_ref (qw == 0) or quantize_row_q2_K_impl. */
export function quantize_row_q2_K_simd(x: usize, y: usize, n: i32, qw: usize): void {
  const nb = n / QK_K;
  for (let i = 0; i < nb; i++) {
    const sigma2: f32 = qw != 0 ? sigma2_q2_K(x) : 0;
    for (let g = 0; g < 4; g++) search_q2_x4(x, qw, g, sigma2);
    if (qw == 0) scales_q2_K_ref(y);
    else scales_q2_K_impl(y);
    requantize_pack_q2(x, y);
    x += SUPER_F32;
    if (qw != 0) qw += SUPER_F32;
    y += Q2K_BLOCK_BYTES;
  }
}

// ---------------------------------------------------------------- q3_K

/** quantize_row_q3_K_ref's search of sub-blocks 8p..8p+7 (p = 0, 1): make_q3_quants(nmax 4,
 *  do_rmse), two groups of four as two chains. */
// @ts-ignore: decorator
@inline function search_q3_ref_x8(x: usize, p: i32): void {
  const o = <usize>p * 8 * SUB16_F32;
  __transpose_x4(x + o, SUB16_F32, 16, XT);
  __transpose_x4(x + o + 4 * SUB16_F32, SUB16_F32, 16, XT + 16 * 16);
  const redo = __q3_search_x8(4);
  v128.store(SCALES_Q3K + (<usize>p << 5), v128.load(OUT_SCALE));
  v128.store(SCALES_Q3K + (<usize>p << 5) + 16, v128.load(OUT_SCALE2));
  const L = L_Q3K + (<usize>p << 7);
  __q3_levels(0, L);
  __q3_levels(1, L + 64);
  if (redo != 0) {
    for (let b = 0; b < 8; b++) if (redo & (1 << b)) search_q3_K_ref_sub(x, 8 * p + b);
  }
}

/** quantize_row_q3_K_impl's search of sub-blocks 4g..4g+3 (g = 0..3): weights qw·sqrt(sigma2 + x²),
 *  their sums into SW_Q3K, make_qx_quants(nmax 4, rmse_type 1). A lane whose weights do not sum to a
 *  finite value is redone whole (the scalar code picks the NaNs of the weights and sums as the build
 *  does). */
// @ts-ignore: decorator
@inline function search_q3_impl_x4(x: usize, qw: usize, g: i32, sigma2: f32): void {
  const o = <usize>g * 4 * SUB16_F32;
  const xg = x + o;
  __transpose_x4(xg, SUB16_F32, 16, XT);
  __transpose_x4(qw + o, SUB16_F32, 16, WT);
  const s2 = f32x4.splat(sigma2);
  let sumw = f32x4.splat(0);
  for (let i: usize = 0; i < 16 * 16; i += 16) {
    const xi = v128.load(XT + i);
    const w = f32x4.mul(f32x4.sqrt(f32x4.add(f32x4.mul(xi, xi), s2)), v128.load(WT + i));
    v128.store(WT + i, w);
    sumw = f32x4.add(sumw, w);
  }
  v128.store(SW_Q3K + (<usize>g << 4), sumw);
  const redo = __qx_search_x4(16, 4) | (~i32x4.bitmask(__finite_f32x4(sumw)) & 15);
  v128.store(SCALES_Q3K + (<usize>g << 4), v128.load(OUT_SCALE));
  const L = L_Q3K + (<usize>g << 6);
  for (let b = 0; b < 4; b++) __qx_levels(xg + <usize>b * SUB16_F32, b, 16, 4, L + (<usize>b << 4));
  if (redo != 0) {
    for (let b = 0; b < 4; b++) if (redo & (1 << b)) search_q3_K_impl_sub(x, 4 * g + b, qw, sigma2);
  }
}

/** q3_K's requantization (where d = fp16(y.d)·(sc - 32) is not 0: clamp(nearest_int(x/d), -4, 3) + 4)
 *  and packing: bit 2 of level 32k + m into bit k of hmask[m], the low two bits by pack2. */
// @ts-ignore: decorator
@inline function requantize_pack_q3(x: usize, y: usize): void {
  const sc_bytes = y + Q3K_SCALES;
  const dh: f32 = fp16_to_fp32(load<u16>(y + Q3K_D));
  const lo = i32x4.splat(-4), hi = i32x4.splat(3), off = i32x4.splat(4);
  for (let j = 0; j < QK_K / 16; ++j) {
    const d: f32 = dh * <f32>q3_K_scale(sc_bytes, j);
    if (d == 0) continue; // `if (!d)`: a NaN d goes on
    const D = f32x4.splat(d);
    const p = x + <usize>j * SUB16_F32;
    v128.store(L_Q3K + (<usize>j << 4), __bytes16_i32x4(
      i32x4.add(i32x4.max_s(lo, i32x4.min_s(__nearest_int_i32x4(f32x4.div(v128.load(p), D)), hi)), off),
      i32x4.add(i32x4.max_s(lo, i32x4.min_s(__nearest_int_i32x4(f32x4.div(v128.load(p, 16), D)), hi)), off),
      i32x4.add(i32x4.max_s(lo, i32x4.min_s(__nearest_int_i32x4(f32x4.div(v128.load(p, 32), D)), hi)), off),
      i32x4.add(i32x4.max_s(lo, i32x4.min_s(__nearest_int_i32x4(f32x4.div(v128.load(p, 48), D)), hi)), off)));
  }
  // levels are 0..7: `if (L > 3) { hmask |= bit; L -= 4; }` is bit 2 out, L & 3 left
  const one = i8x16.splat(1), low = i8x16.splat(3);
  for (let h: usize = 0; h < 32; h += 16) {
    let hm = i8x16.splat(0);
    for (let k = 0; k < 8; k++) {
      const p = L_Q3K + 32 * <usize>k + h;
      const l = v128.load(p);
      hm = v128.or(hm, i8x16.shl(v128.and(i8x16.shr_u(l, 2), one), k));
      v128.store(p, v128.and(l, low));
    }
    v128.store(y + Q3K_HMASK + h, hm);
  }
  pack2(L_Q3K, y + Q3K_QS);
}

/** quantize_row_q3_K_ref (qw == 0) or quantize_row_q3_K_impl. */
export function quantize_row_q3_K_simd(x: usize, y: usize, n: i32, qw: usize): void {
  const nb = n / QK_K;
  for (let i = 0; i < nb; i++) {
    if (qw == 0) {
      search_q3_ref_x8(x, 0);
      search_q3_ref_x8(x, 1);
      scales_q3_K_ref(y);
    } else {
      const sigma2: f32 = sigma2_q3_K(x);
      for (let g = 0; g < 4; g++) search_q3_impl_x4(x, qw, g, sigma2);
      scales_q3_K_impl(y);
    }
    requantize_pack_q3(x, y);
    x += SUPER_F32;
    if (qw != 0) qw += SUPER_F32;
    y += Q3K_BLOCK_BYTES;
  }
}
