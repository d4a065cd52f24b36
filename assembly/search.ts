// port of make_qx_quants, make_q3_quants, make_qkx2_quants, make_qkx3_quants and make_qp_quants,
// ggml-quants.c @ 36491e40 (the reference build's make_qkx3_quants inner loop is
// `l = nearest_int(iscale*(x-min)); l = MAX(0, MIN(nmax, l))`, not the newer
// `v > 0 ? nearest_int(MIN(v, nmax)) : 0`; see KERNELS.md §1).
//
// These are the per-group scale searches shared by the legacy imatrix kernels (q4_0, q5_0 use
// make_qx_quants; q4_1, q5_1 use make_qkx3_quants) and by the K-quants (q2_K: make_qkx2_quants,
// make_qkx3_quants, make_qp_quants; q3_K: make_q3_quants, make_qx_quants; q6_K: make_qx_quants).
// Each reads n floats at x, writes n level bytes at L and returns the scale, with every float
// operation in C's order and every float local f32. x, L, weights and Laux are byte addresses in
// linear memory.
//
// NaN payloads: see the note above nan_first below. make_qx_quants picks its NaNs the way the
// reference build's clones do (objdump); so do make_qkx2_quants, make_qkx3_quants and
// make_qp_quants for the one product each whose NaN can reach the output. NaN never reaches a
// kernel in a real run, since llama.cpp rejects non-finite weights on load, but the kernels match
// the reference build on it anyway (test/kernels/q2_K.test.ts, q3_K.test.ts, q6_K.test.ts).

import { nearest_int, fabsf } from "./common";

/** C MIN / MAX on ints (the float locals below are named min and max, as in C). */
// @ts-ignore: decorator
@inline export function imin(a: i32, b: i32): i32 { return a < b ? a : b; }
// @ts-ignore: decorator
@inline export function imax(a: i32, b: i32): i32 { return a > b ? a : b; }

/** GROUP_MAX_EPS = 1e-15f (0x26901D7D; the f64 literal rounds to the same f32). */
export const GROUP_MAX_EPS: f32 = <f32>1e-15;

/** C `MAX(lo, MIN(hi, l))` on ints. */
// @ts-ignore: decorator
@inline export function clamp_i32(l: i32, lo: i32, hi: i32): i32 {
  const m = hi < l ? hi : l;
  return lo > m ? lo : m;
}

// NaN payloads. When both operands of an x86 SSE op are NaN the result is the first operand's NaN
// (quieted); WASM leaves the choice open, and V8's tiers and Binaryen may swap the operands of
// commutative ops. The payload matters here because nearest_int(NaN) reads the mantissa: a NaN scale
// from an f16/bf16 NaN with a payload (0x7c01, 0x7f81, ...) becomes scale byte 127 instead of 0.
// The reference build's make_qx_quants.constprop.1 (the clone q6_K and q3_K call; objdump) accumulates the first
// pass as `sumlx = sumlx + t` and `suml2 = suml2 + t` and computes w*x[i] as `x[i] * w` (so does
// constprop.0, q4_0/q5_0's imatrix clone), so those three pick their NaN explicitly. Every other op in q6_K sees at most one NaN operand, or two with one
// payload, or is a division (whose operand order WASM fixes) or a comparison; and the sums of the
// search loop only feed comparisons, which are false for any NaN.
// make_qkx2_quants and make_qkx3_quants (q2_K inlines both; q4_1/q5_1/q4_K/q5_K call clone
// constprop.0) compute the first pass's iscale*(x[i] - min) as (x[i] - min) * iscale, and the
// make_qp_quants clones compute the last pass's iscale*x[i] in C's order but for x[7..14] of q2_K's
// clone (register allocation of the unrolled loop; see make_qp_quants); these are the only products
// of those searches whose NaN can reach a level or a scale (the error sums feed comparisons only, and
// the trial levels of the other passes are kept only when an error sum compares below another).

/** `a + b` with x86's choice when both are NaN: a (quieted, as a + a does). */
// @ts-ignore: decorator
@inline export function nan_first(a: f32, b: f32): f32 {
  return a + (a != a ? a : b);
}

/** `a * b` with x86's choice when both are NaN: a (quieted, as a * a does). */
// @ts-ignore: decorator
@inline export function nan_first_mul(a: f32, b: f32): f32 {
  return a * (a != a ? a : b);
}

/** The per-element weight of make_qx_quants: `qw ? qw[i] : rmse_type == 1 ? x*x : rmse_type == 2 ? 1
 *  : rmse_type == 3 ? fabsf(x) : sqrtf(fabsf(x))`. */
// @ts-ignore: decorator
@inline function qx_weight(qw: usize, i: i32, xi: f32, rmse_type: i32): f32 {
  if (qw != 0) return load<f32>(qw + (<usize>i << 2));
  if (rmse_type == 1) return xi * xi;
  if (rmse_type == 2) return <f32>1.0;
  if (rmse_type == 3) return fabsf(xi);
  return Mathf.sqrt(fabsf(xi));
}

/**
 * make_qx_quants: symmetric scale search for n values at x into int8 levels L (0..2*nmax-1).
 * rmse_type 0: plain rounding; < 0: one weighted refinement then return early; 1..4: weights
 * x², 1, |x|, sqrt|x| (or qw when qw != 0) and the 18-step search over iscale = -(nmax + 0.1·is)/max.
 * The element loops are sequential sums, as in C; the search over `is` is sequential too.
 */
export function make_qx_quants(n: i32, nmax: i32, x: usize, L: usize, rmse_type: i32, qw: usize): f32 {
  let max: f32 = 0;
  let amax: f32 = 0;
  for (let i = 0; i < n; ++i) {
    const xi = load<f32>(x + (<usize>i << 2));
    const ax: f32 = fabsf(xi);
    if (ax > amax) { amax = ax; max = xi; }
  }
  if (amax < GROUP_MAX_EPS) { // all zero
    for (let i = 0; i < n; ++i) store<i8>(L + <usize>i, 0);
    return <f32>0;
  }
  let iscale: f32 = <f32>(-nmax) / max;
  if (rmse_type == 0) {
    for (let i = 0; i < n; ++i) {
      const l = nearest_int(iscale * load<f32>(x + (<usize>i << 2)));
      store<i8>(L + <usize>i, nmax + clamp_i32(l, -nmax, nmax - 1));
    }
    return <f32>1 / iscale;
  }
  let return_early = false;
  if (rmse_type < 0) {
    rmse_type = -rmse_type;
    return_early = true;
  }
  let sumlx: f32 = 0;
  let suml2: f32 = 0;
  for (let i = 0; i < n; ++i) {
    const xi = load<f32>(x + (<usize>i << 2));
    let l = nearest_int(iscale * xi);
    l = clamp_i32(l, -nmax, nmax - 1);
    store<i8>(L + <usize>i, l + nmax);
    const w: f32 = qx_weight(qw, i, xi, rmse_type);
    const fl: f32 = <f32>l;
    // sumlx += w*x[i]*l; suml2 += w*l*l; with the NaN choices of the reference build (see nan_first)
    sumlx = nan_first(sumlx, nan_first_mul(xi, w) * fl);
    suml2 = nan_first(suml2, w * fl * fl);
  }
  // `suml2 ? a : b`: NaN is truthy
  let scale: f32 = suml2 != 0 ? sumlx / suml2 : <f32>0;
  if (return_early) return suml2 > 0 ? <f32>0.5 * (scale + <f32>1 / iscale) : <f32>1 / iscale;
  let best: f32 = scale * sumlx;
  for (let is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(<f32>nmax + <f32>0.1 * <f32>is) / max;
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; ++i) {
      const xi = load<f32>(x + (<usize>i << 2));
      let l = nearest_int(iscale * xi);
      l = clamp_i32(l, -nmax, nmax - 1);
      const w: f32 = qx_weight(qw, i, xi, rmse_type);
      const fl: f32 = <f32>l;
      sumlx += w * xi * fl;
      suml2 += w * fl * fl;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (let i = 0; i < n; ++i) {
        const l = nearest_int(iscale * load<f32>(x + (<usize>i << 2)));
        store<i8>(L + <usize>i, nmax + clamp_i32(l, -nmax, nmax - 1));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

/**
 * make_qkx3_quants: asymmetric levels L[i] in [0, nmax] (uint8) with a minimum, searching
 * nstep+1 trial scales (rmin + rdelta*is + nmax)/(max - min) and refitting scale and min by
 * weighted least squares. Weights default to x^2 when weights is 0. Stores -min at the_min.
 */
export function make_qkx3_quants(n: i32, nmax: i32, x: usize, weights: usize, L: usize, the_min: usize, Laux: usize,
    rmin: f32, rdelta: f32, nstep: i32, use_mad: bool): f32 {
  const x0: f32 = load<f32>(x);
  let min: f32 = x0;
  let max: f32 = x0;
  let sum_w: f32 = weights != 0 ? load<f32>(weights) : x0 * x0;
  let sum_x: f32 = sum_w * x0;
  for (let i = 1; i < n; ++i) {
    const xi: f32 = load<f32>(x + (<usize>i << 2));
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w: f32 = weights != 0 ? load<f32>(weights + (<usize>i << 2)) : xi * xi;
    sum_w += w;
    sum_x += w * xi;
  }
  if (min > 0) {
    min = 0;
  }
  if (max <= min) {
    memory.fill(L, 0, <usize>n);
    store<f32>(the_min, -min);
    return 0;
  }
  let iscale: f32 = <f32>nmax / (max - min);
  let scale: f32 = <f32>1 / iscale;
  let best_mad: f32 = 0;
  for (let i = 0; i < n; ++i) {
    const xi: f32 = load<f32>(x + (<usize>i << 2));
    // iscale*(x[i] - min), which the reference build computes as (x[i] - min) * iscale: when x[0]
    // is NaN (so min and iscale are) and x[i] is another NaN, the level comes from x[i]'s payload
    const l: i32 = nearest_int(nan_first_mul(xi - min, iscale));
    const li: u8 = <u8>imax(0, imin(nmax, l));
    store<u8>(L + <usize>i, li);
    let diff: f32 = scale * <f32>li + min - xi;
    diff = use_mad ? fabsf(diff) : diff * diff;
    const w: f32 = weights != 0 ? load<f32>(weights + (<usize>i << 2)) : xi * xi;
    best_mad += w * diff;
  }
  if (nstep < 1) {
    store<f32>(the_min, -min);
    return scale;
  }
  for (let is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * <f32>is + <f32>nmax) / (max - min);
    let sum_l: f32 = 0;
    let sum_l2: f32 = 0;
    let sum_xl: f32 = 0;
    for (let i = 0; i < n; ++i) {
      const xi: f32 = load<f32>(x + (<usize>i << 2));
      let l: i32 = nearest_int(iscale * (xi - min));
      l = imax(0, imin(nmax, l));
      store<u8>(Laux + <usize>i, <u8>l);
      const w: f32 = weights != 0 ? load<f32>(weights + (<usize>i << 2)) : xi * xi;
      const fl: f32 = <f32>l;
      sum_l += w * fl;
      sum_l2 += w * fl * fl;
      sum_xl += w * fl * xi;
    }
    const D: f32 = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      let this_scale: f32 = (sum_w * sum_xl - sum_x * sum_l) / D;
      let this_min: f32 = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      let mad: f32 = 0;
      for (let i = 0; i < n; ++i) {
        const xi: f32 = load<f32>(x + (<usize>i << 2));
        let diff: f32 = this_scale * <f32>load<u8>(Laux + <usize>i) + this_min - xi;
        diff = use_mad ? fabsf(diff) : diff * diff;
        const w: f32 = weights != 0 ? load<f32>(weights + (<usize>i << 2)) : xi * xi;
        mad += w * diff;
      }
      if (mad < best_mad) {
        memory.copy(L, Laux, <usize>n);
        best_mad = mad;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  store<f32>(the_min, -min);
  return scale;
}

/**
 * make_q3_quants: symmetric levels L[i] in [0, 2*nmax) (int8) for n values at x, weights x², with
 * do_rmse an element-sequential refinement: up to 5 passes in which each L[i] in turn moves to
 * nearest_int(x[i]·sl2/slx) (the best level for it given all the others) when that raises
 * sumlx²/suml2; each accepted move updates the sums before the next element is looked at.
 * Returns sumlx/suml2 (0 when suml2 is not > 0, e.g. NaN), or 1/iscale without do_rmse.
 */
export function make_q3_quants(n: i32, nmax: i32, x: usize, L: usize, do_rmse: bool): f32 {
  let max: f32 = 0;
  let amax: f32 = 0;
  for (let i = 0; i < n; ++i) {
    const xi: f32 = load<f32>(x + (<usize>i << 2));
    const ax: f32 = fabsf(xi);
    if (ax > amax) { amax = ax; max = xi; }
  }
  if (amax < GROUP_MAX_EPS) { // all zero
    for (let i = 0; i < n; ++i) store<i8>(L + <usize>i, 0);
    return <f32>0;
  }
  const iscale: f32 = <f32>(-nmax) / max;
  if (do_rmse) {
    let sumlx: f32 = 0;
    let suml2: f32 = 0;
    for (let i = 0; i < n; ++i) {
      const xi: f32 = load<f32>(x + (<usize>i << 2));
      const l = clamp_i32(nearest_int(iscale * xi), -nmax, nmax - 1);
      store<i8>(L + <usize>i, l);
      const w: f32 = xi * xi;
      const fl: f32 = <f32>l;
      sumlx += w * xi * fl;
      suml2 += w * fl * fl;
    }
    for (let itry = 0; itry < 5; ++itry) {
      let n_changed = 0;
      for (let i = 0; i < n; ++i) {
        const xi: f32 = load<f32>(x + (<usize>i << 2));
        const w: f32 = xi * xi;
        const Li: i32 = <i32>load<i8>(L + <usize>i);
        const fLi: f32 = <f32>Li;
        let slx: f32 = sumlx - w * xi * fLi;
        if (slx > 0) {
          let sl2: f32 = suml2 - w * fLi * fLi;
          const new_l = clamp_i32(nearest_int(xi * sl2 / slx), -nmax, nmax - 1);
          if (new_l != Li) {
            const fnew: f32 = <f32>new_l;
            slx += w * xi * fnew;
            sl2 += w * fnew * fnew;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
              store<i8>(L + <usize>i, new_l);
              sumlx = slx;
              suml2 = sl2;
              ++n_changed;
            }
          }
        }
      }
      if (n_changed == 0) break;
    }
    for (let i = 0; i < n; ++i) store<i8>(L + <usize>i, <i32>load<i8>(L + <usize>i) + nmax);
    return suml2 > 0 ? sumlx / suml2 : <f32>0;
  }
  for (let i = 0; i < n; ++i) {
    const l = clamp_i32(nearest_int(iscale * load<f32>(x + (<usize>i << 2))), -nmax, nmax - 1);
    store<i8>(L + <usize>i, l + nmax);
  }
  return <f32>1 / iscale;
}

/**
 * make_qkx2_quants: as make_qkx3_quants (asymmetric levels in [0, nmax], uint8, with a minimum
 * stored negated at the_min), but weights are required and the degenerate test is `max == min`.
 * The error is |diff| (use_mad) or diff², weighted.
 */
export function make_qkx2_quants(n: i32, nmax: i32, x: usize, weights: usize, L: usize, the_min: usize, Laux: usize,
    rmin: f32, rdelta: f32, nstep: i32, use_mad: bool): f32 {
  const x0: f32 = load<f32>(x);
  let min: f32 = x0;
  let max: f32 = x0;
  let sum_w: f32 = load<f32>(weights);
  let sum_x: f32 = sum_w * x0;
  for (let i = 1; i < n; ++i) {
    const xi: f32 = load<f32>(x + (<usize>i << 2));
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w: f32 = load<f32>(weights + (<usize>i << 2));
    sum_w += w;
    sum_x += w * xi;
  }
  if (min > 0) min = 0;
  if (max == min) {
    memory.fill(L, 0, <usize>n);
    store<f32>(the_min, -min);
    return 0;
  }
  let iscale: f32 = <f32>nmax / (max - min);
  let scale: f32 = <f32>1 / iscale;
  let best_error: f32 = 0;
  for (let i = 0; i < n; ++i) {
    const xi: f32 = load<f32>(x + (<usize>i << 2));
    const l: i32 = nearest_int(nan_first_mul(xi - min, iscale)); // the build's order, as in make_qkx3_quants
    const li: u8 = <u8>imax(0, imin(nmax, l));
    store<u8>(L + <usize>i, li);
    let diff: f32 = scale * <f32>li + min - xi;
    diff = use_mad ? fabsf(diff) : diff * diff;
    const w: f32 = load<f32>(weights + (<usize>i << 2));
    best_error += w * diff;
  }
  if (nstep < 1) {
    store<f32>(the_min, -min);
    return scale;
  }
  for (let is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * <f32>is + <f32>nmax) / (max - min);
    let sum_l: f32 = 0;
    let sum_l2: f32 = 0;
    let sum_xl: f32 = 0;
    for (let i = 0; i < n; ++i) {
      const xi: f32 = load<f32>(x + (<usize>i << 2));
      let l: i32 = nearest_int(iscale * (xi - min));
      l = imax(0, imin(nmax, l));
      store<u8>(Laux + <usize>i, <u8>l);
      const w: f32 = load<f32>(weights + (<usize>i << 2));
      const fl: f32 = <f32>l;
      sum_l += w * fl;
      sum_l2 += w * fl * fl;
      sum_xl += w * fl * xi;
    }
    const D: f32 = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      let this_scale: f32 = (sum_w * sum_xl - sum_x * sum_l) / D;
      let this_min: f32 = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      let cur_error: f32 = 0;
      for (let i = 0; i < n; ++i) {
        const xi: f32 = load<f32>(x + (<usize>i << 2));
        let diff: f32 = this_scale * <f32>load<u8>(Laux + <usize>i) + this_min - xi;
        diff = use_mad ? fabsf(diff) : diff * diff;
        const w: f32 = load<f32>(weights + (<usize>i << 2));
        cur_error += w * diff;
      }
      if (cur_error < best_error) {
        memory.copy(L, Laux, <usize>n);
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  store<f32>(the_min, -min);
  return scale;
}

/**
 * make_qp_quants: positive levels L[i] (uint8) in [0, nmax] for n non-negative values at x (the
 * sub-block scales or mins of a super-block), weighted by quant_weights: a 9-step search over
 * iscale = (nmax + 0.1·is)/max, then make_q3_quants' element-sequential refinement (5 passes).
 * C's truncation points are kept: the first `L[i] = nearest_int(...)` and every later store go
 * through uint8 without a lower clamp (a negative level becomes 256 + l), and the error and
 * refinement sums read L[i] back as that uint8, while the sums right after a store use the int.
 */
export function make_qp_quants(n: i32, nmax: i32, x: usize, L: usize, quant_weights: usize): f32 {
  let max: f32 = 0;
  for (let i = 0; i < n; ++i) {
    const xi: f32 = load<f32>(x + (<usize>i << 2));
    max = max > xi ? max : xi; // MAX(max, x[i])
  }
  if (max < GROUP_MAX_EPS) { // all zero
    for (let i = 0; i < n; ++i) store<u8>(L + <usize>i, 0);
    return <f32>0;
  }
  let iscale: f32 = <f32>nmax / max;
  for (let i = 0; i < n; ++i) {
    store<u8>(L + <usize>i, <u8>nearest_int(iscale * load<f32>(x + (<usize>i << 2))));
  }
  const scale: f32 = <f32>1 / iscale;
  let best_mse: f32 = 0;
  for (let i = 0; i < n; ++i) {
    const xi: f32 = load<f32>(x + (<usize>i << 2));
    const diff: f32 = xi - scale * <f32>load<u8>(L + <usize>i);
    const w: f32 = load<f32>(quant_weights + (<usize>i << 2));
    best_mse += w * diff * diff;
  }
  for (let is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const iscale_is: f32 = (<f32>0.1 * <f32>is + <f32>nmax) / max;
    const scale_is: f32 = <f32>1 / iscale_is;
    let mse: f32 = 0;
    for (let i = 0; i < n; ++i) {
      const xi: f32 = load<f32>(x + (<usize>i << 2));
      const l = imin(nmax, nearest_int(iscale_is * xi));
      const diff: f32 = xi - scale_is * <f32>l;
      const w: f32 = load<f32>(quant_weights + (<usize>i << 2));
      mse += w * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  let sumlx: f32 = 0;
  let suml2: f32 = 0;
  for (let i = 0; i < n; ++i) {
    const xi: f32 = load<f32>(x + (<usize>i << 2));
    // iscale*x[i] with the reference build's operand order, which matters when max is a NaN (the
    // last x is) and so is x[i]: the unrolled clones put iscale first, except q2_K's (constprop.2,
    // n = 16), which multiplies x[7..14] as x[i]*iscale; so a NaN x[i] there keeps its own payload
    const x_first = n == 16 && i >= 7 && i <= 14;
    const l = imin(nmax, nearest_int(x_first ? nan_first_mul(xi, iscale) : nan_first_mul(iscale, xi)));
    store<u8>(L + <usize>i, <u8>l);
    const w: f32 = load<f32>(quant_weights + (<usize>i << 2));
    const fl: f32 = <f32>l;
    sumlx += w * xi * fl;
    suml2 += w * fl * fl;
  }
  for (let itry = 0; itry < 5; ++itry) {
    let n_changed = 0;
    for (let i = 0; i < n; ++i) {
      const xi: f32 = load<f32>(x + (<usize>i << 2));
      const w: f32 = load<f32>(quant_weights + (<usize>i << 2));
      const Li: i32 = <i32>load<u8>(L + <usize>i);
      const fLi: f32 = <f32>Li;
      let slx: f32 = sumlx - w * xi * fLi;
      let sl2: f32 = suml2 - w * fLi * fLi;
      if (slx > 0 && sl2 > 0) {
        const new_l = imin(nmax, nearest_int(xi * sl2 / slx));
        if (new_l != Li) {
          const fnew: f32 = <f32>new_l;
          slx += w * xi * fnew;
          sl2 += w * fnew * fnew;
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            store<u8>(L + <usize>i, <u8>new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  return suml2 > 0 ? sumlx / suml2 : <f32>0;
}

/** The same as nan_first (kept under the name the q4_K/q5_K port uses). */
// @ts-ignore: decorator
@inline export function nan_first_add(a: f32, b: f32): f32 {
  return nan_first(a, b);
}
