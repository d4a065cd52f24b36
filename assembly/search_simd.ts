// SIMD128 lane-wise versions of the scale searches of search.ts (make_qkx2_quants / make_qkx3_quants,
// make_qx_quants, make_q3_quants), for kernels that run independent groups (sub-blocks or blocks)
// at once, one per f32x4 lane: the legacy _impl kernels (legacy_simd.ts) and the K-quants
// (kquants_simd.ts). iquants_simd.ts uses the same scratch for its own search.
//
// The caller transposes the four groups' n values (n = 16 or 32) and weights into XT and WT
// (vector i = element i of the four groups), so each lane performs exactly the scalar op sequence,
// every sum in element order. C's branches become masks and selects; the levels C keeps are
// recomputed at the end from the (iscale, min) of the trial that produced them (make_q3_quants,
// whose levels come from its refinement, keeps them instead).
//
// Exact only where the scalar code has no NaN or overflow to reproduce, so a lane is handed back
// (its bit in the returned mask) unless:
//   - its weights sum to a finite value (so every weight is finite, hence every x: the weights of
//     every make_qkx* caller are non-finite where x is), or for make_qx_quants its products x·w do
//     (a finite x·w needs a finite x and a finite w), or for make_q3_quants the x² do;
//   - make_qkx*: every trial keeps |(x - min)·iscale| below 2^21, where f32x4.nearest equals
//     nearest_int (the 12582912 trick, ties to even below 2^22). make_qx_quants needs no such test:
//     |iscale·x| <= (nmax + 0.9)·|x|/max|x| there; make_q3_quants uses the trick itself.
// Lanes that exit early (every level 0) are exact whatever their values.

import { GROUP_MAX_EPS } from "./search";
import { __transpose4_store, __finite_f32x4, __int_f32x4, __bytes16_i32x4 } from "./simd";

/** Transposed values and weights of four groups (32 vectors each at most), and trial levels. */
export const XT: usize = memory.data(32 * 16, 16);
export const WT: usize = memory.data(32 * 16, 16);
const LT: usize = memory.data(32 * 16, 16);
const WXT: usize = memory.data(32 * 16, 16);

/** The searches' results, one lane per group: the returned scale (0 for an early exit); C's final
 *  `min` (the_min gets -min; make_qkx*); the iscale (and min) whose levels C kept; all ones where it
 *  exited early (all levels 0). */
export const OUT_SCALE: usize = memory.data(16, 16);
export const OUT_MIN: usize = memory.data(16, 16);
export const OUT_IS: usize = memory.data(16, 16);
export const OUT_MU: usize = memory.data(16, 16);
export const OUT_DONE: usize = memory.data(16, 16);
/** The second chain's scales of __q3_search_x8. */
export const OUT_SCALE2: usize = memory.data(16, 16);

/** Stores at dst the transpose of four runs of n floats (n a multiple of 4) at src, src + stride,
 *  src + 2·stride, src + 3·stride: vector i = [run0[i], run1[i], run2[i], run3[i]]. */
// @ts-ignore: decorator
@inline export function __transpose_x4(src: usize, stride: usize, n: i32, dst: usize): void {
  for (let j: usize = 0; j < (<usize>n << 2); j += 16) {
    __transpose4_store(v128.load(src + j), v128.load(src + stride + j), v128.load(src + 2 * stride + j), v128.load(src + 3 * stride + j), dst + (j << 2));
  }
}

/** C's levels MAX(0, MIN(nmax, l)) in the float domain; pmax(0, .) also turns -0 into +0. */
// @ts-ignore: decorator
@inline export function __clamp_levels_f32x4(l: v128, nmax: v128): v128 {
  return f32x4.pmax(f32x4.splat(0), f32x4.pmin(l, nmax));
}

/** The error term of the searches: |diff| (use_mad) or diff². */
// @ts-ignore: decorator
@inline function err_f32x4(diff: v128, use_mad: bool): v128 {
  return use_mad ? f32x4.abs(diff) : f32x4.mul(diff, diff);
}

/** Lanes where (absx + |min|)·|iscale| is not below 2^21, which bounds |(x - min)·iscale| for every
 *  x of a lane with max|x| <= absx (each rounding is monotonic). iscale is negative when an accepted
 *  min (<= 0) exceeds max (all x negative), and its size then unbounded. */
// @ts-ignore: decorator
@inline function out_of_range(absx: v128, min: v128, iscale: v128): v128 {
  return v128.not(f32x4.lt(f32x4.mul(f32x4.add(absx, f32x4.abs(min)), f32x4.abs(iscale)), f32x4.splat(<f32>2097152)));
}

/**
 * make_qkx2_quants / make_qkx3_quants(n, nmax, x, weights, L, the_min, Laux, rmin, rdelta, nstep,
 * use_mad) on the four groups in XT / WT (nstep >= 1). The two differ only in their early-exit test,
 * `max == min` against `max <= min`, which agree: min <= x[0] <= max unless x[0] is NaN, and
 * clearing a positive min keeps it below max. Results in OUT_*; returns the lanes (bits 0-3) the
 * scalar code must redo.
 */
// @ts-ignore: decorator
@inline export function __qkx_search_x4(n: i32, nmax: i32, rmin: f32, rdelta: f32, nstep: i32, use_mad: bool): i32 {
  const N: usize = <usize>n << 4;
  const zero = f32x4.splat(0);
  const NMAX = f32x4.splat(<f32>nmax);
  const x0 = v128.load(XT), w0 = v128.load(WT);
  let min = x0, max = x0;
  let sum_w = w0;
  let sum_x = f32x4.mul(sum_w, x0);
  for (let i: usize = 16; i < N; i += 16) {
    const xi = v128.load(XT + i), wi = v128.load(WT + i);
    min = v128.bitselect(xi, min, f32x4.lt(xi, min)); // if (x[i] < min) min = x[i];
    max = v128.bitselect(xi, max, f32x4.gt(xi, max)); // if (x[i] > max) max = x[i];
    sum_w = f32x4.add(sum_w, wi);
    sum_x = f32x4.add(sum_x, f32x4.mul(wi, xi));
  }
  const absx = f32x4.pmax(f32x4.abs(min), f32x4.abs(max)); // >= every |x| of a finite lane
  min = v128.bitselect(zero, min, f32x4.gt(min, zero));   // if (min > 0) min = 0;
  const done = f32x4.le(max, min);                         // L = 0, the_min = -min, return 0
  const min_done = min;
  let redo = v128.andnot(v128.not(__finite_f32x4(sum_w)), done);
  let iscale = f32x4.div(NMAX, f32x4.sub(max, min));
  let scale = f32x4.div(f32x4.splat(<f32>1), iscale);
  redo = v128.or(redo, v128.andnot(out_of_range(absx, min, iscale), done));
  let best = zero;
  for (let i: usize = 0; i < N; i += 16) {
    const xi = v128.load(XT + i);
    const l = __clamp_levels_f32x4(f32x4.nearest(f32x4.mul(f32x4.sub(xi, min), iscale)), NMAX);
    const diff = f32x4.sub(f32x4.add(f32x4.mul(scale, l), min), xi); // scale*L[i] + min - x[i]
    best = f32x4.add(best, f32x4.mul(v128.load(WT + i), err_f32x4(diff, use_mad)));
  }
  let best_is = iscale, best_mu = min;
  for (let is = 0; is <= nstep; ++is) {
    iscale = f32x4.div(f32x4.splat(rmin + rdelta * <f32>is + <f32>nmax), f32x4.sub(max, min));
    redo = v128.or(redo, v128.andnot(out_of_range(absx, min, iscale), done));
    let sum_l = zero, sum_l2 = zero, sum_xl = zero;
    for (let i: usize = 0; i < N; i += 16) {
      const xi = v128.load(XT + i);
      const l = __clamp_levels_f32x4(f32x4.nearest(f32x4.mul(iscale, f32x4.sub(xi, min))), NMAX);
      v128.store(LT + i, l);
      const wl = f32x4.mul(v128.load(WT + i), l);
      sum_l = f32x4.add(sum_l, wl);
      sum_l2 = f32x4.add(sum_l2, f32x4.mul(wl, l));
      sum_xl = f32x4.add(sum_xl, f32x4.mul(wl, xi));
    }
    const D = f32x4.sub(f32x4.mul(sum_w, sum_l2), f32x4.mul(sum_l, sum_l));
    const pos = f32x4.gt(D, zero);
    if (!v128.any_true(pos)) continue;
    let this_scale = f32x4.div(f32x4.sub(f32x4.mul(sum_w, sum_xl), f32x4.mul(sum_x, sum_l)), D);
    let this_min = f32x4.div(f32x4.sub(f32x4.mul(sum_l2, sum_x), f32x4.mul(sum_l, sum_xl)), D);
    const over = f32x4.gt(this_min, zero);
    this_min = v128.bitselect(zero, this_min, over);
    this_scale = v128.bitselect(f32x4.div(sum_xl, sum_l2), this_scale, over);
    let cur = zero;
    for (let i: usize = 0; i < N; i += 16) {
      const diff = f32x4.sub(f32x4.add(f32x4.mul(this_scale, v128.load(LT + i)), this_min), v128.load(XT + i));
      cur = f32x4.add(cur, f32x4.mul(v128.load(WT + i), err_f32x4(diff, use_mad)));
    }
    const take = v128.and(pos, f32x4.lt(cur, best));
    best_is = v128.bitselect(iscale, best_is, take);
    best_mu = v128.bitselect(min, best_mu, take);
    best = v128.bitselect(cur, best, take);
    scale = v128.bitselect(this_scale, scale, take);
    min = v128.bitselect(this_min, min, take);
  }
  v128.store(OUT_SCALE, v128.andnot(scale, done));
  v128.store(OUT_MIN, v128.bitselect(min_done, min, done));
  v128.store(OUT_IS, best_is);
  v128.store(OUT_MU, best_mu);
  v128.store(OUT_DONE, done);
  return i32x4.bitmask(redo);
}

/** One vector of the levels __qkx_search_x4 kept for lane b: clamp(nearest((x - mu)·is), 0, nmax)
 *  as i32 lanes, for the four values at x (0 where the lane exited early). */
// @ts-ignore: decorator
@inline function qkx_level4(x: usize, mu: v128, is: v128, nmax: v128, done: v128): v128 {
  return __int_f32x4(v128.andnot(__clamp_levels_f32x4(f32x4.nearest(f32x4.mul(f32x4.sub(v128.load(x), mu), is)), nmax), done));
}

/** Stores at L the n (16 or 32) level bytes __qkx_search_x4 kept for lane b (0..3), from the
 *  group's values at x (contiguous). */
// @ts-ignore: decorator
@inline export function __qkx_levels(x: usize, b: i32, n: i32, nmax: i32, L: usize): void {
  const o = <usize>b << 2;
  const is = v128.load32_splat(OUT_IS + o);
  const mu = v128.load32_splat(OUT_MU + o);
  const done = v128.load32_splat(OUT_DONE + o);
  const NMAX = f32x4.splat(<f32>nmax);
  for (let j: usize = 0; j < (<usize>n << 2); j += 64) {
    v128.store(L + (j >> 2), __bytes16_i32x4(
      qkx_level4(x + j, mu, is, NMAX, done), qkx_level4(x + j + 16, mu, is, NMAX, done),
      qkx_level4(x + j + 32, mu, is, NMAX, done), qkx_level4(x + j + 48, mu, is, NMAX, done)));
  }
}

/**
 * make_qx_quants(n, nmax, x, L, rmse_type = 1, weights) on the four groups in XT / WT: the levels
 * nmax + clamp(nearest_int(iscale·x), -nmax, nmax - 1), the first pass at iscale = -nmax/max (max:
 * the first x of largest |x|), then the 18 trials iscale = -(nmax + 0.1·is)/max, each kept when
 * sumlx²/suml2 grows. Results in OUT_SCALE, OUT_IS and OUT_DONE (max|x| < GROUP_MAX_EPS); returns
 * the lanes (bits 0-3) the scalar code must redo.
 */
// @ts-ignore: decorator
@inline export function __qx_search_x4(n: i32, nmax: i32): i32 {
  const N: usize = <usize>n << 4;
  const zero = f32x4.splat(0);
  let amax = zero, max = zero, sumwx = zero;
  for (let i: usize = 0; i < N; i += 16) {
    const xi = v128.load(XT + i), wi = v128.load(WT + i);
    const ax = f32x4.abs(xi);
    const m = f32x4.gt(ax, amax); // if (ax > amax) { amax = ax; max = x[i]; }
    amax = v128.bitselect(ax, amax, m);
    max = v128.bitselect(xi, max, m);
    const wx = f32x4.mul(xi, wi); // x[i]*w: the first pass's product, and w*x[i] of the trials
    v128.store(WXT + i, wx);
    sumwx = f32x4.add(sumwx, wx); // finiteness test only
  }
  const done = f32x4.lt(amax, f32x4.splat(GROUP_MAX_EPS));
  const redo = v128.andnot(v128.not(__finite_f32x4(sumwx)), done);
  const hi = f32x4.splat(<f32>(nmax - 1)), lo = f32x4.splat(<f32>-nmax);
  let iscale = f32x4.div(f32x4.splat(<f32>-nmax), max);
  let sumlx = zero, suml2 = zero;
  for (let i: usize = 0; i < N; i += 16) {
    const l = f32x4.pmax(f32x4.pmin(f32x4.nearest(f32x4.mul(iscale, v128.load(XT + i))), hi), lo);
    sumlx = f32x4.add(sumlx, f32x4.mul(v128.load(WXT + i), l));
    suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(v128.load(WT + i), l), l));
  }
  let scale = v128.bitselect(f32x4.div(sumlx, suml2), zero, f32x4.ne(suml2, zero)); // suml2 ? sumlx/suml2 : 0
  let best = f32x4.mul(scale, sumlx);
  let best_is = iscale;
  for (let is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = f32x4.div(f32x4.splat(-(<f32>nmax + <f32>0.1 * <f32>is)), max);
    sumlx = zero;
    suml2 = zero;
    for (let i: usize = 0; i < N; i += 16) {
      const l = f32x4.pmax(f32x4.pmin(f32x4.nearest(f32x4.mul(iscale, v128.load(XT + i))), hi), lo);
      sumlx = f32x4.add(sumlx, f32x4.mul(v128.load(WXT + i), l));
      suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(v128.load(WT + i), l), l));
    }
    const take = v128.and(f32x4.gt(suml2, zero), f32x4.gt(f32x4.mul(sumlx, sumlx), f32x4.mul(best, suml2)));
    best_is = v128.bitselect(iscale, best_is, take);
    scale = v128.bitselect(f32x4.div(sumlx, suml2), scale, take);
    best = v128.bitselect(f32x4.mul(scale, sumlx), best, take);
  }
  v128.store(OUT_SCALE, v128.andnot(scale, done));
  v128.store(OUT_IS, best_is);
  v128.store(OUT_DONE, done);
  return i32x4.bitmask(redo);
}

/** One vector of the levels __qx_search_x4 kept: nmax + clamp(nearest(is·x), -nmax, nmax - 1) as
 *  floats, for the four values at x (0 where the lane exited early). */
// @ts-ignore: decorator
@inline export function __qx_level_f32x4(x: usize, is: v128, nmax: i32, done: v128): v128 {
  const l = f32x4.pmax(f32x4.pmin(f32x4.nearest(f32x4.mul(is, v128.load(x))), f32x4.splat(<f32>(nmax - 1))), f32x4.splat(<f32>-nmax));
  return v128.andnot(f32x4.add(l, f32x4.splat(<f32>nmax)), done);
}

/** Stores at L the n (16 or 32) level bytes __qx_search_x4 kept for lane b (0..3), from the group's
 *  values at x (contiguous). */
// @ts-ignore: decorator
@inline export function __qx_levels(x: usize, b: i32, n: i32, nmax: i32, L: usize): void {
  const o = <usize>b << 2;
  const is = v128.load32_splat(OUT_IS + o);
  const done = v128.load32_splat(OUT_DONE + o);
  for (let j: usize = 0; j < (<usize>n << 2); j += 64) {
    v128.store(L + (j >> 2), __bytes16_i32x4(
      __int_f32x4(__qx_level_f32x4(x + j, is, nmax, done)), __int_f32x4(__qx_level_f32x4(x + j + 16, is, nmax, done)),
      __int_f32x4(__qx_level_f32x4(x + j + 32, is, nmax, done)), __int_f32x4(__qx_level_f32x4(x + j + 48, is, nmax, done))));
  }
}

/** The i32 levels of __q3_search_x8 (vector 16k + i = element i of the four groups of chain k). */
const LQ3: usize = memory.data(32 * 16, 16);

/** clamp(nearest_int(v), lo, hi) on each lane, exact for every v, as floats. */
// @ts-ignore: decorator
@inline function nearest_clamped_f32x4(v: v128, lo: v128, hi: v128): v128 {
  return f32x4.convert_i32x4_s(i32x4.max_s(lo, i32x4.min_s(__nearest_int_i32x4(v), hi)));
}

/**
 * make_q3_quants(16, nmax, x, L, do_rmse = true) on eight groups of 16 (weights x²): four in XT[0..15]
 * (chain 0) and four in XT[16..31] (chain 1), run as two interleaved chains because the refinement is
 * latency-bound (each element's step needs the sums the previous one left). The first pass at
 * iscale = -nmax/max, then up to 5 passes of the element-sequential refinement, each element of a
 * lane looked at in order and its sums updated before the next, as in C. A lane whose pass changes
 * nothing would break out of the loop; further passes cannot change it either (its state is what the
 * pass started from), so the lanes run until none changes. nearest_int is the exact trick throughout
 * (the refinement's x·sl2/slx is unbounded). Scales in OUT_SCALE (chain 0) and OUT_SCALE2 (chain 1),
 * levels for __q3_levels; returns the lanes the scalar code must redo (bits 0-3 chain 0, 4-7 chain 1:
 * a non-finite x or x²).
 */
// @ts-ignore: decorator
@inline export function __q3_search_x8(nmax: i32): i32 {
  const N: usize = 16 << 4;
  const zero = f32x4.splat(0);
  let amax0 = zero, max0 = zero, sumw0 = zero, amax1 = zero, max1 = zero, sumw1 = zero;
  for (let i: usize = 0; i < N; i += 16) {
    const x0 = v128.load(XT + i), x1 = v128.load(XT + N + i);
    const a0 = f32x4.abs(x0), a1 = f32x4.abs(x1);
    const m0 = f32x4.gt(a0, amax0), m1 = f32x4.gt(a1, amax1);
    amax0 = v128.bitselect(a0, amax0, m0);
    amax1 = v128.bitselect(a1, amax1, m1);
    max0 = v128.bitselect(x0, max0, m0);
    max1 = v128.bitselect(x1, max1, m1);
    sumw0 = f32x4.add(sumw0, f32x4.mul(x0, x0)); // finiteness tests only
    sumw1 = f32x4.add(sumw1, f32x4.mul(x1, x1));
  }
  const eps = f32x4.splat(GROUP_MAX_EPS);
  const done0 = f32x4.lt(amax0, eps), done1 = f32x4.lt(amax1, eps);
  const redo = i32x4.bitmask(v128.andnot(v128.not(__finite_f32x4(sumw0)), done0))
    | (i32x4.bitmask(v128.andnot(v128.not(__finite_f32x4(sumw1)), done1)) << 4);
  const lo = i32x4.splat(-nmax), hi = i32x4.splat(nmax - 1);
  const is0 = f32x4.div(f32x4.splat(<f32>-nmax), max0), is1 = f32x4.div(f32x4.splat(<f32>-nmax), max1);
  let sumlx0 = zero, suml20 = zero, sumlx1 = zero, suml21 = zero;
  for (let i: usize = 0; i < N; i += 16) {
    const x0 = v128.load(XT + i), x1 = v128.load(XT + N + i);
    const l0 = nearest_clamped_f32x4(f32x4.mul(is0, x0), lo, hi), l1 = nearest_clamped_f32x4(f32x4.mul(is1, x1), lo, hi);
    v128.store(LT + i, l0);
    v128.store(LT + N + i, l1);
    const w0 = f32x4.mul(x0, x0), w1 = f32x4.mul(x1, x1);
    sumlx0 = f32x4.add(sumlx0, f32x4.mul(f32x4.mul(w0, x0), l0));
    sumlx1 = f32x4.add(sumlx1, f32x4.mul(f32x4.mul(w1, x1), l1));
    suml20 = f32x4.add(suml20, f32x4.mul(f32x4.mul(w0, l0), l0));
    suml21 = f32x4.add(suml21, f32x4.mul(f32x4.mul(w1, l1), l1));
  }
  for (let itry = 0; itry < 5; ++itry) {
    let changed = i32x4.splat(0);
    for (let i: usize = 0; i < N; i += 16) {
      // chain 0
      const x0 = v128.load(XT + i), L0 = v128.load(LT + i);
      const w0 = f32x4.mul(x0, x0);
      const wx0 = f32x4.mul(w0, x0);
      let slx0 = f32x4.sub(sumlx0, f32x4.mul(wx0, L0));
      let sl20 = f32x4.sub(suml20, f32x4.mul(f32x4.mul(w0, L0), L0));
      const n0 = nearest_clamped_f32x4(f32x4.div(f32x4.mul(x0, sl20), slx0), lo, hi);
      // chain 1
      const x1 = v128.load(XT + N + i), L1 = v128.load(LT + N + i);
      const w1 = f32x4.mul(x1, x1);
      const wx1 = f32x4.mul(w1, x1);
      let slx1 = f32x4.sub(sumlx1, f32x4.mul(wx1, L1));
      let sl21 = f32x4.sub(suml21, f32x4.mul(f32x4.mul(w1, L1), L1));
      const n1 = nearest_clamped_f32x4(f32x4.div(f32x4.mul(x1, sl21), slx1), lo, hi);
      // slx > 0 && new_l != L[i], then the new sums and the test that keeps them
      const c0 = v128.and(f32x4.gt(slx0, zero), f32x4.ne(n0, L0));
      const c1 = v128.and(f32x4.gt(slx1, zero), f32x4.ne(n1, L1));
      slx0 = f32x4.add(slx0, f32x4.mul(wx0, n0));
      slx1 = f32x4.add(slx1, f32x4.mul(wx1, n1));
      sl20 = f32x4.add(sl20, f32x4.mul(f32x4.mul(w0, n0), n0));
      sl21 = f32x4.add(sl21, f32x4.mul(f32x4.mul(w1, n1), n1));
      const t0 = v128.and(c0, v128.and(f32x4.gt(sl20, zero),
        f32x4.gt(f32x4.mul(f32x4.mul(slx0, slx0), suml20), f32x4.mul(f32x4.mul(sumlx0, sumlx0), sl20))));
      const t1 = v128.and(c1, v128.and(f32x4.gt(sl21, zero),
        f32x4.gt(f32x4.mul(f32x4.mul(slx1, slx1), suml21), f32x4.mul(f32x4.mul(sumlx1, sumlx1), sl21))));
      v128.store(LT + i, v128.bitselect(n0, L0, t0));
      v128.store(LT + N + i, v128.bitselect(n1, L1, t1));
      sumlx0 = v128.bitselect(slx0, sumlx0, t0);
      sumlx1 = v128.bitselect(slx1, sumlx1, t1);
      suml20 = v128.bitselect(sl20, suml20, t0);
      suml21 = v128.bitselect(sl21, suml21, t1);
      changed = v128.or(changed, v128.or(t0, t1));
    }
    if (!v128.any_true(changed)) break;
  }
  // suml2 > 0 ? sumlx/suml2 : 0, and 0 for all-zero lanes
  v128.store(OUT_SCALE, v128.andnot(v128.bitselect(f32x4.div(sumlx0, suml20), zero, f32x4.gt(suml20, zero)), done0));
  v128.store(OUT_SCALE2, v128.andnot(v128.bitselect(f32x4.div(sumlx1, suml21), zero, f32x4.gt(suml21, zero)), done1));
  const off = f32x4.splat(<f32>nmax);
  for (let i: usize = 0; i < N; i += 16) {
    v128.store(LQ3 + i, __int_f32x4(v128.andnot(f32x4.add(v128.load(LT + i), off), done0)));
    v128.store(LQ3 + N + i, __int_f32x4(v128.andnot(f32x4.add(v128.load(LT + N + i), off), done1)));
  }
  return redo;
}

/** Stores at L the 16 level bytes (L[i] + nmax, 0 in an all-zero lane) __q3_search_x8 found for each
 *  of the four groups of chain c (0, 1), group after group: each four elements' i32 lanes narrowed
 *  to bytes, regrouped by group (a 4x4 byte transpose), then a 4x4 transpose of the 32-bit quads. */
// @ts-ignore: decorator
@inline export function __q3_levels(c: i32, L: usize): void {
  const p = LQ3 + (<usize>c << 8);
  const t0 = q3_quad(p), t1 = q3_quad(p + 64), t2 = q3_quad(p + 128), t3 = q3_quad(p + 192);
  __transpose4_store(t0, t1, t2, t3, L);
}

/** Elements 4k..4k+3 (the four i32 vectors at p) as bytes, lane b = group b's four bytes. */
// @ts-ignore: decorator
@inline function q3_quad(p: usize): v128 {
  const bytes = __bytes16_i32x4(v128.load(p), v128.load(p, 16), v128.load(p, 32), v128.load(p, 48));
  return i8x16.shuffle(bytes, bytes, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
}

/** nearest_int (the 12582912 trick) on each lane, garbage included: exact for every input. */
// @ts-ignore: decorator
@inline export function __nearest_int_i32x4(v: v128): v128 {
  return i32x4.sub(v128.and(f32x4.add(v, f32x4.splat(<f32>12582912.0)), i32x4.splat(0x007fffff)), i32x4.splat(0x00400000));
}
