// port of quantize_row_iq1_s_impl and quantize_row_iq1_m_impl (with iq1_find_best_neighbour2 and
// iq1_sort_helper), ggml-quants.c, as the reference build has them: the 36491e40 text plus the
// later guards (a sub-block whose split search scores nothing gets scale 0 and shift +1 / 0 instead
// of GGML_ASSERT; iq1_s's near-zero sub-block sets its shift too). Lattice: lattice.ts (2048 points).
//
// Each 32 (iq1_s) or 16 (iq1_m) values take levels -1, 0, 1 shifted by ±IQ1S_DELTA; the best split of
// the sorted values into the three levels is searched exhaustively, then each 8-group snaps to the
// grid (iq1_find_best_neighbour2 where it is off it).
//
// The sort is C's qsort with a comparator on the value alone, so equal values (zeros, constant rows)
// are ordered by the libc's algorithm: the reference runs on glibc 2.36, whose qsort is a stable
// top-down merge sort (msort_with_tmp) for arrays this small; merge_sort below is that algorithm
// (glibc 2.37/2.38's introsort, musl or macOS would order ties, and NaNs, differently).
//
// imatrix: iq1_s requires one (FAIL_NO_IMATRIX); iq1_m without one weighs x².
// Exactness: f32 in C's operand order, nearest_int the 12582912 trick, C's MAX.
// Two paths write the same bytes: the scalar one (the reference, set_scalar_kernels(1)) and the
// default vector one: the split searches 4 splits (consecutive i2) per v128 with C's arithmetic
// lane-wise; where a lane passes C's accept test at the current best, C's chain of acceptances is
// skipped to the candidate it surely ends on (accept_in_order), else run in order; the sort by rank
// (rank_sort) when no value is NaN; the neighbour search 4 neighbours per v128 (lattice.ts
// nearest_listed); weights and max |x| lane-wise. Profile (iq1_m): the split search takes about
// half the time, its acceptances a fifth of that.

import { nearest_int, fabsf, store_f16, fp32_to_fp16 } from "./common";
import { clamp_i32 } from "./search";
import { LATTICE_IQ1, lattice_init, lattice_grid, kmap, neighbours_of, group_terms, nearest_listed } from "./lattice";
import { use_scalar } from "./simd";
import { kernel_abort, aborted, FAIL_NO_IMATRIX, FAIL_NO_NEIGHBOUR, FAIL_SCALE, FAIL_OUT_OF_BOUNDS } from "./rows";

const QK_K: i32 = 256;
const NGRID_IQ1S: i32 = 2048;
const FLT_MAX: f32 = reinterpret<f32>(0x7f7fffff);
/** IQ1S_DELTA = IQ1M_DELTA = 0.125f */
const DELTA: f32 = 0.125;
/** GROUP_MAX_EPS_IQ1_S = 1e-12f, GROUP_MAX_EPS_IQ1_M = 1e-7f */
const GROUP_MAX_EPS_IQ1_S: f32 = <f32>1e-12;
const GROUP_MAX_EPS_IQ1_M: f32 = <f32>1e-7;

// x_p = {-1 + δ, δ, 1 + δ}, x_m = {-1 - δ, -δ, 1 - δ}
const X_P: usize = memory.data<f32>([-1 + 0.125, 0.125, 1 + 0.125]);
const X_M: usize = memory.data<f32>([-1 - 0.125, -0.125, 1 - 0.125]);

// Per-call scratch, as C's arrays (sized for iq1_s's 32-value sub-blocks)
const WEIGHT: usize = memory.data(32 << 2, 16);
const L: usize = memory.data(32, 16);
// iq1_s's prefix sums over the sorted values, j = 0..32, padded with NaN for the vector search's lanes
// past 32 (NaN sums: never acceptable)
const SUMX: usize = memory.data<f32>([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NaN, NaN, NaN], 16);
const SUMW: usize = memory.data<f32>([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NaN, NaN, NaN], 16);
const PAIRS: usize = memory.data(32 << 3, 16); // {float value, int index} per element
const PAIRS_TMP: usize = memory.data(32 << 3, 16);
const RANKS: usize = memory.data(32 << 2, 16);
const INDEX: usize = memory.data(4 << 2, 16);
const SCALES: usize = memory.data(16 << 2, 16);
const SHIFTS: usize = memory.data(16, 16);

// @ts-ignore: decorator
@inline function f(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline function setf(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }
// @ts-ignore: decorator
@inline function pair_value(p: usize, j: i32): f32 { return load<f32>(p + (<usize>j << 3)); }
/** idx[2*j]: the original position of the j-th sorted value */
// @ts-ignore: decorator
@inline function pair_index(j: i32): i32 { return load<i32>(PAIRS + (<usize>j << 3) + 4); }

/**
 * glibc's msort_with_tmp on n 8-byte {value, index} pairs at b with iq1_sort_helper (value <
 * value: -1, >: 1, else 0): split n/2 | n - n/2, sort both, merge taking the left one while
 * cmp(left, right) <= 0, i.e. unless right < left. Stable; NaNs compare equal to everything.
 */
function merge_sort(b: usize, n: i32): void {
  if (n <= 1) return;
  const n1 = n >> 1;
  const n2 = n - n1;
  const b2 = b + (<usize>n1 << 3);
  merge_sort(b, n1);
  merge_sort(b2, n2);
  let i = 0, j = 0, t: usize = PAIRS_TMP;
  while (i < n1 && j < n2) {
    const l = pair_value(b, i), r = pair_value(b2, j);
    const cmp = l < r ? -1 : l > r ? 1 : 0;
    if (cmp <= 0) { store<u64>(t, load<u64>(b + (<usize>i << 3))); ++i; }
    else { store<u64>(t, load<u64>(b2 + (<usize>j << 3))); ++j; }
    t += 8;
  }
  // the rest of the left run goes after the merged part; the rest of the right run is in place
  for (; i < n1; ++i, t += 8) store<u64>(t, load<u64>(b + (<usize>i << 3)));
  memory.copy(b, PAIRS_TMP, <usize>(n - (n2 - j)) << 3);
}

/**
 * The vector path of sort_values for n a multiple of 4 values without NaN: each value goes straight
 * to its rank = #(smaller values) + #(equal values before it), which is where any stable sort puts it
 * when the comparator is a weak order (no NaN; -0 equals +0 as in iq1_sort_helper), glibc's merge
 * sort included. Without equal values that is #(smaller values), counted for 4 values per v128;
 * equal values show as repeated counts and take the full count. Returns false (nothing written)
 * when a value is NaN.
 */
function rank_sort(xb: usize, n: i32): bool {
  let nan = i32x4.splat(0);
  for (let c = 0; c < n; c += 4) { const v = v128.load(xb + (<usize>c << 2)); nan = v128.or(nan, f32x4.ne(v, v)); }
  if (v128.any_true(nan)) return false;
  // no equal values (-0 and +0 are equal) when the counts of smaller values are all different
  let seen = 0;
  for (let c = 0; c < n; c += 4) {
    const xi = v128.load(xb + (<usize>c << 2));
    let count = i32x4.splat(0);
    for (let j = 0; j < n; ++j) count = i32x4.sub(count, f32x4.lt(v128.load32_splat(xb + (<usize>j << 2)), xi));
    v128.store(RANKS + (<usize>c << 2), count);
  }
  for (let i = 0; i < n; ++i) seen |= 1 << load<i32>(RANKS + (<usize>i << 2));
  if (seen == (n == 32 ? -1 : (1 << n) - 1)) {
    for (let i = 0; i < n; ++i) {
      const rank = load<i32>(RANKS + (<usize>i << 2));
      store<f32>(PAIRS + (<usize>rank << 3), f(xb, i));
      store<i32>(PAIRS + (<usize>rank << 3) + 4, i);
    }
    return true;
  }
  for (let i = 0; i < n; ++i) {
    const xi = f(xb, i);
    const vi = f32x4.splat(xi), ii = i32x4.splat(i);
    let count = i32x4.splat(0);
    let lane = i32x4(0, 1, 2, 3);
    for (let c = 0; c < n; c += 4) {
      const v = v128.load(xb + (<usize>c << 2));
      const before = v128.or(f32x4.lt(v, vi), v128.and(f32x4.eq(v, vi), i32x4.lt_s(lane, ii)));
      count = i32x4.sub(count, before); // lanes of all ones: -1
      lane = i32x4.add(lane, i32x4.splat(4));
    }
    const c2 = i32x4.add(count, i32x4.shuffle(count, count, 2, 3, 0, 1));
    const rank = i32x4.extract_lane(c2, 0) + i32x4.extract_lane(c2, 1);
    store<f32>(PAIRS + (<usize>rank << 3), xi);
    store<i32>(PAIRS + (<usize>rank << 3) + 4, i);
  }
  return true;
}

/** pairs = (xb[j], j), sorted as qsort(pairs, n, 8, iq1_sort_helper) does on glibc 2.36. */
function sort_values(xb: usize, n: i32): void {
  if (!use_scalar() && rank_sort(xb, n)) return;
  for (let j = 0; j < n; ++j) {
    store<f32>(PAIRS + (<usize>j << 3), f(xb, j));
    store<i32>(PAIRS + (<usize>j << 3) + 4, j);
  }
  merge_sort(PAIRS, n);
}

/** u = Σ L[i] << 2i over 8 levels at p (0..2 here). */
// @ts-ignore: decorator
@inline function pack_levels(p: usize): i32 {
  let u = 0;
  for (let i = 0; i < 8; ++i) u |= <i32>load<i8>(p + <usize>i) << (2 * i);
  return u & 0xffff;
}

/** Σ w·(scale·xg[l] - x)² over the 8 values of grid point index, in C's order. */
// @ts-ignore: decorator
@inline function group_d2(index: i32, xval: usize, weight: usize, scale: f32, xg: usize, xoff: i32): f32 {
  const pg = lattice_grid(LATTICE_IQ1) + (<usize>index << 3);
  let d2: f32 = 0;
  for (let i = 0; i < 8; ++i) {
    const q = f(xg, (<i32>load<i8>(pg + <usize>i) - 1) / 2);
    const w = f(weight, i);
    const diff: f32 = scale * q - f(xval, xoff < 0 ? i : xoff);
    d2 += w * diff * diff;
  }
  return d2;
}

/**
 * iq1_find_best_neighbour2: the listed neighbour of off-grid vector m (kmap value) with the least
 * Σ w·(scale·xg[l] - x)² (first of equals); if none compares below FLT_MAX, C scans the whole grid
 * comparing every point with xval[i], i the grid index (reading up to 2047 floats past the group):
 * we do that only while it stays inside the row (rowEnd), else FAIL_OUT_OF_BOUNDS. Writes the
 * levels to Lp and returns the index, or -1 after kernel_abort.
 */
function find_best_neighbour2(m: i32, xval: usize, weight: usize, scale: f32, xg: usize, Lp: usize, rowEnd: usize): i32 {
  const nb = neighbours_of(LATTICE_IQ1, m);
  const num = <i32>load<u16>(nb);
  let best: f32 = FLT_MAX;
  let grid_index = -1;
  if (!use_scalar()) {
    // the vector search (lattice.ts): the same pick, and best stays FLT_MAX when there is none
    group_terms(f(xg, 0), f(xg, 1), f(xg, 2), xval, weight, scale);
    grid_index = nearest_listed(LATTICE_IQ1, m);
  } else {
    for (let j = 1; j <= num; ++j) {
      const index = <i32>load<u16>(nb + (<usize>j << 1));
      const d2 = group_d2(index, xval, weight, scale, xg, -1);
      if (d2 < best) { best = d2; grid_index = index; }
    }
  }
  if (grid_index < 0) {
    if (xval + (<usize>NGRID_IQ1S << 2) > rowEnd) { kernel_abort(FAIL_OUT_OF_BOUNDS); return -1; }
    for (let i = 0; i < NGRID_IQ1S; ++i) {
      const d2 = group_d2(i, xval, weight, scale, xg, i);
      if (d2 < best) { best = d2; grid_index = i; }
    }
  }
  if (grid_index < 0) { kernel_abort(FAIL_NO_NEIGHBOUR); return -1; }
  const pg = lattice_grid(LATTICE_IQ1) + (<usize>grid_index << 3);
  for (let i = 0; i < 8; ++i) store<i8>(Lp + <usize>i, <i8>((<i32>load<i8>(pg + <usize>i) - 1) / 2));
  return grid_index;
}

/** weight[i] = qw[i]·sqrt(sigma2 + x²), or x² without an imatrix (iq1_m). */
function weights(xb: usize, qw: usize, n: i32, sigma2: f32): void {
  if (!use_scalar()) { // the same operations lane-wise (n is 16 or 32)
    const s2 = f32x4.splat(sigma2);
    for (let i = 0; i < n; i += 4) {
      const x = v128.load(xb + (<usize>i << 2));
      const x2 = f32x4.mul(x, x);
      v128.store(WEIGHT + (<usize>i << 2), qw != 0 ? f32x4.mul(v128.load(qw + (<usize>i << 2)), f32x4.sqrt(f32x4.add(s2, x2))) : x2);
    }
    return;
  }
  if (qw != 0) {
    for (let i = 0; i < n; ++i) { const xi = f(xb, i); setf(WEIGHT, i, f(qw, i) * Mathf.sqrt(sigma2 + xi * xi)); }
  } else {
    for (let i = 0; i < n; ++i) { const xi = f(xb, i); setf(WEIGHT, i, xi * xi); }
  }
}

/** MAX(|x|) over n values, seeded with |x[0]| as C is. */
// @ts-ignore: decorator
@inline function max_abs(xb: usize, n: i32): f32 {
  if (!use_scalar()) { // without NaN, MAX's result is the greatest |x| whatever the order (n is 16 or 32)
    let m = f32x4.abs(v128.load(xb)), nan = f32x4.ne(m, m);
    for (let i = 4; i < n; i += 4) {
      const a = f32x4.abs(v128.load(xb + (<usize>i << 2)));
      nan = v128.or(nan, f32x4.ne(a, a));
      m = f32x4.pmax(m, a);
    }
    if (!v128.any_true(nan)) {
      m = f32x4.pmax(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
      return f32x4.extract_lane(f32x4.pmax(m, i32x4.shuffle(m, m, 1, 0, 3, 2)), 0);
    }
  }
  let max: f32 = fabsf(f(xb, 0));
  for (let i = 1; i < n; ++i) { const a = fabsf(f(xb, i)); max = max > a ? max : a; }
  return max;
}

/** L[idx[j]] = 0 below i1, 1 below i2, 2 after, over the sorted order. */
function split_levels(n: i32, i1: i32, i2: i32): void {
  for (let j = 0; j < n; ++j) store<i8>(L + <usize>pair_index(j), <i8>(j < i1 ? 0 : j < i2 ? 1 : 2));
}

/**
 * Each 8-group's levels to a grid index in INDEX[k] (off-grid groups snapped by
 * find_best_neighbour2 with group 0 on xx0 and the others on xx1), then, if any was off the grid,
 * the scale refitted as Σ(w·q)·x / Σ(w·q)·q when both sums are positive. Returns the scale, or -1
 * after kernel_abort.
 */
function snap_groups(xb: usize, groups: i32, scale: f32, xx0: usize, xx1: usize, rowEnd: usize): f32 {
  let all_on_grid = true;
  for (let k = 0; k < groups; ++k) {
    let grid_index = kmap(LATTICE_IQ1, pack_levels(L + <usize>(8 * k)));
    if (grid_index < 0) {
      all_on_grid = false;
      grid_index = find_best_neighbour2(grid_index, xb + (<usize>(8 * k) << 2), WEIGHT + (<usize>(8 * k) << 2), scale, k == 0 ? xx0 : xx1, L + <usize>(8 * k), rowEnd);
      if (grid_index < 0) return -1;
    }
    store<i32>(INDEX + (<usize>k << 2), grid_index);
  }
  if (all_on_grid) return scale;
  let sumqx: f32 = 0, sumq2: f32 = 0;
  for (let k = 0; k < groups; ++k) {
    const xx = k == 0 ? xx0 : xx1;
    const pg = lattice_grid(LATTICE_IQ1) + (<usize>load<i32>(INDEX + (<usize>k << 2)) << 3);
    for (let j = 0; j < 8; ++j) {
      const w = f(WEIGHT, 8 * k + j);
      const q = f(xx, (<i32>load<i8>(pg + <usize>j) - 1) / 2);
      sumqx += w * q * f(xb, 8 * k + j);
      sumq2 += w * q * q;
    }
  }
  return sumqx > 0 && sumq2 > 0 ? sumqx / sumq2 : scale;
}

// The split search's state, as C's locals: best_score, scale, besti1, besti2 and the shift (iq1_s:
// +1 x_p, -1 x_m) or sign pattern (iq1_m: 0..3, -1 none).
let best_score: f32 = 0;
let best_scale: f32 = 0;
let best_i1 = -1, best_i2 = -1, best_pick = 0;

/** C's acceptance of a candidate: the new best scale and score, and where it was found. */
// @ts-ignore: decorator
@inline function accept(sumqx: f32, sumq2: f32, i1: i32, i2: i32, pick: i32): void {
  best_scale = sumqx / sumq2;
  best_score = best_scale * sumqx;
  best_i1 = i1; best_i2 = i2; best_pick = pick;
}

/** One candidate of the split search: accepted when sumq2 > 0 and sumqx² > best_score·sumq2. */
// @ts-ignore: decorator
@inline function try_split(sumqx: f32, sumq2: f32, i1: i32, i2: i32, pick: i32): void {
  if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) accept(sumqx, sumq2, i1, i2, pick);
}

/** The split searches' vectors of sums, stored for the in-order pass: block b (4 splits, i2 + 4b + l
 *  in lane l) at 128b, in it pattern k's Σ w·q·x at 32k and its Σ w·q² at 32k + 16; up to LOOKAHEAD
 *  blocks (iq1_m's hits take that many). SCORES: their scores, pattern k of block b at 64b + 16k. */
const LOOKAHEAD: i32 = 2;
const LANES: usize = memory.data(LOOKAHEAD * 128, 16);
const SCORES: usize = memory.data(LOOKAHEAD * 64, 16);
// @ts-ignore: decorator
@inline function lane(b: i32, v: i32, l: i32): f32 { return load<f32>(LANES + (<usize>(32 * b + 4 * v + l) << 2)); }

/** Lanes where try_split might accept (sumqx, sumq2) against the current best_score: every lane it
 *  would accept (its second test; a lane passing only this one is merely rechecked in order). */
// @ts-ignore: decorator
@inline function accepts4(sumqx: v128, sumq2: v128): v128 {
  return f32x4.gt(f32x4.mul(sumqx, sumqx), f32x4.mul(f32x4.splat(best_score), sumq2));
}

/** Lanes of pattern k of block b (LANES) that try_split accepts at best_score bs: both of its tests. */
// @ts-ignore: decorator
@inline function passes4(b: i32, k: i32, bs: v128): v128 {
  const at = LANES + (<usize>(4 * b + k) << 5);
  const qx = v128.load(at), q2 = v128.load(at, 16);
  return v128.and(f32x4.gt(q2, f32x4.splat(0)), f32x4.gt(f32x4.mul(qx, qx), f32x4.mul(bs, q2)));
}

/** Four lane masks (pattern k's, lane l) as bits in C's order of the candidates: bit 4l + k. */
// @ts-ignore: decorator
@inline function in_order_bits(m0: v128, m1: v128, m2: v128, m3: v128): i32 {
  const m = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3)); // byte 4k + l
  return i8x16.bitmask(i8x16.shuffle(m, m, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
}

/** The candidates of block b (npat = 2 or 4 patterns) that try_split accepts at best_score, in C's order. */
// @ts-ignore: decorator
@inline function passing(b: i32, npat: i32): i32 {
  const bs = f32x4.splat(best_score), none = i32x4.splat(0);
  return in_order_bits(passes4(b, 0, bs), passes4(b, 1, bs), npat > 2 ? passes4(b, 2, bs) : none, npat > 2 ? passes4(b, 3, bs) : none);
}

/** Pattern k's lanes of block b as pattern masks expect them, or none (iq1_s has patterns 0 and 1 only). */
// @ts-ignore: decorator
@inline function score_vec(b: i32, k: i32): v128 { return v128.load(SCORES + (<usize>(4 * b + k) << 4)); }

/** The greatest of 4 floats without NaN, in every lane (x86 maxps: of -0 and +0 either). */
// @ts-ignore: decorator
@inline function hmax4(m: v128): v128 {
  const m2 = f32x4.pmax(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
  return f32x4.pmax(m2, i32x4.shuffle(m2, m2, 1, 0, 3, 2));
}

/** The pick C records for pattern k (iq1_m: k; iq1_s: its shift pick0 or pick1). */
// @ts-ignore: decorator
@inline function pick_of(npat: i32, k: i32, pick0: i32, pick1: i32): i32 { return npat > 2 ? k : k == 0 ? pick0 : pick1; }

/** The bits of block b's candidates whose split i2 + 4b + l is at most n. */
// @ts-ignore: decorator
@inline function live_bits(n: i32, i2: i32, b: i32): i32 {
  const last = n - i2 - 4 * b;
  return last >= 3 ? 0xffff : (1 << (4 * last + 4)) - 1;
}

/**
 * try_split on the candidates of LANES's nb blocks in C's order: splits (i1, i2 + j), j = 0..4nb-1 up
 * to n, each with its npat patterns (pattern k found as pick_of).
 *
 * C's chain of acceptances is skipped up to the last candidate it surely accepts, c: the first of
 * the greatest score s = (Σqx / Σq2)·Σqx. Every best_score C can hold just before c is the one on
 * entry or the score of an earlier candidate, all at most U = max(best_score, every score below s);
 * c's test, Σqx² > b·Σq2, can only turn false as b grows (Σq2 > 0), so if it passes at U, C accepts c
 * whatever happened before, and accepting overwrites all the state. From c on, C's tests run in
 * order. A NaN score (Σq2 > 0) or a test failing at U (near ties) takes C's tests in order on every
 * candidate.
 */
// @ts-ignore: decorator
@inline function accept_in_order(npat: i32, i1: i32, i2: i32, nb: i32, n: i32, pick0: i32, pick1: i32): void {
  const ninf = f32x4.splat(-Infinity), zero = f32x4.splat(0);
  let top = ninf, nan = i32x4.splat(0);
  for (let b = 0; b < nb; ++b) {
    const live = i32x4.le_s(i32x4(0, 1, 2, 3), i32x4.splat(n - i2 - 4 * b));
    for (let k = 0; k < 4; ++k) {
      let sc = ninf;
      if (k < npat) {
        const at = LANES + (<usize>(4 * b + k) << 5);
        const qx = v128.load(at), q2 = v128.load(at, 16);
        const s = f32x4.mul(f32x4.div(qx, q2), qx);
        const ok = v128.and(live, f32x4.gt(q2, zero)); // the others are never accepted
        nan = v128.or(nan, v128.and(ok, f32x4.ne(s, s)));
        sc = v128.bitselect(s, ninf, ok);
      }
      v128.store(SCORES + (<usize>(4 * b + k) << 4), sc);
      top = f32x4.pmax(top, sc);
    }
  }
  if (!v128.any_true(nan) && best_score == best_score) {
    const ms = hmax4(top);
    if (f32x4.extract_lane(ms, 0) == -Infinity) return; // no candidate with Σq2 > 0: C accepts none
    let cb = -1, c = 0;
    let below = ninf;
    for (let b = 0; b < nb; ++b) {
      const s0 = score_vec(b, 0), s1 = score_vec(b, 1), s2 = score_vec(b, 2), s3 = score_vec(b, 3);
      if (cb < 0) {
        const eq = in_order_bits(f32x4.eq(s0, ms), f32x4.eq(s1, ms), f32x4.eq(s2, ms), f32x4.eq(s3, ms));
        if (eq) { cb = b; c = ctz(eq); }
      }
      below = f32x4.pmax(below, f32x4.pmax(
        f32x4.pmax(v128.bitselect(s0, ninf, f32x4.lt(s0, ms)), v128.bitselect(s1, ninf, f32x4.lt(s1, ms))),
        f32x4.pmax(v128.bitselect(s2, ninf, f32x4.lt(s2, ms)), v128.bitselect(s3, ninf, f32x4.lt(s3, ms)))));
    }
    let u = f32x4.extract_lane(hmax4(below), 0);
    u = u > best_score ? u : best_score;
    const l = c >> 2, k = c & 3;
    const qx = lane(cb, 2 * k, l), q2 = lane(cb, 2 * k + 1, l);
    if (qx * qx > u * q2) {
      accept(qx, q2, i1, i2 + 4 * cb + l, pick_of(npat, k, pick0, pick1));
      for (let b = cb; b < nb; ++b) {
        let after = b == cb ? ~((2 << c) - 1) : -1;
        let bits = passing(b, npat) & live_bits(n, i2, b) & after;
        while (bits) {
          const c2 = ctz(bits);
          const l2 = c2 >> 2, k2 = c2 & 3;
          accept(lane(b, 2 * k2, l2), lane(b, 2 * k2 + 1, l2), i1, i2 + 4 * b + l2, pick_of(npat, k2, pick0, pick1));
          after = ~((2 << c2) - 1);
          bits = passing(b, npat) & live_bits(n, i2, b) & after;
        }
      }
      return;
    }
  }
  for (let b = 0; b < nb; ++b) {
    for (let l = 0; l < 4 && i2 + 4 * b + l <= n; ++l) {
      for (let k = 0; k < npat; ++k) try_split(lane(b, 2 * k, l), lane(b, 2 * k + 1, l), i1, i2 + 4 * b + l, pick_of(npat, k, pick0, pick1));
    }
  }
}

/** iq1_s's split (i1, i2) with both shifts, in C's order (x_p, then x_m). */
// @ts-ignore: decorator
@inline function iq1s_split(i1: i32, i2: i32, n: i32): void {
  const a: f32 = f(SUMX, i1) - f(SUMX, 0), b: f32 = f(SUMX, i2) - f(SUMX, i1), c: f32 = f(SUMX, n) - f(SUMX, i2);
  const wa: f32 = f(SUMW, i1) - f(SUMW, 0), wb: f32 = f(SUMW, i2) - f(SUMW, i1), wc: f32 = f(SUMW, n) - f(SUMW, i2);
  for (let s = 0; s < 2; ++s) {
    const xx = s == 0 ? X_P : X_M;
    const x0 = f(xx, 0), x1 = f(xx, 1), x2 = f(xx, 2);
    try_split(a * x0 + b * x1 + c * x2, wa * x0 * x0 + wb * x1 * x1 + wc * x2 * x2, i1, i2, s == 0 ? 1 : -1);
  }
}

/**
 * iq1_s's exhaustive search over the splits 0 <= i1 <= i2 <= n of the sorted values (SUMX, SUMW
 * prefix sums) into best_*. The vector path takes 4 consecutive i2 per v128 with the scalar
 * arithmetic lane-wise and tests them against the current best_score: when no lane of either shift
 * would be accepted, C accepts none of them either (best_score is unchanged across them); else
 * accept_in_order runs C's tests on them.
 */
function iq1s_split_search(n: i32, max: f32): void {
  best_score = -FLT_MAX; best_scale = max;
  best_i1 = -1; best_i2 = -1; best_pick = 0;
  if (use_scalar()) {
    for (let i1 = 0; i1 <= n; ++i1) for (let i2 = i1; i2 <= n; ++i2) iq1s_split(i1, i2, n);
    return;
  }
  const p0 = f32x4.splat(f(X_P, 0)), p1 = f32x4.splat(f(X_P, 1)), p2 = f32x4.splat(f(X_P, 2));
  const m0 = f32x4.splat(f(X_M, 0)), m1 = f32x4.splat(f(X_M, 1)), m2 = f32x4.splat(f(X_M, 2));
  const sx_all = f32x4.splat(f(SUMX, n)), sw_all = f32x4.splat(f(SUMW, n));
  for (let i1 = 0; i1 <= n; ++i1) {
    const sx1 = f32x4.splat(f(SUMX, i1)), sw1 = f32x4.splat(f(SUMW, i1));
    const a = f32x4.sub(sx1, f32x4.splat(f(SUMX, 0))), wa = f32x4.sub(sw1, f32x4.splat(f(SUMW, 0)));
    const ap = f32x4.mul(a, p0), am = f32x4.mul(a, m0);
    const wap = f32x4.mul(f32x4.mul(wa, p0), p0), wam = f32x4.mul(f32x4.mul(wa, m0), m0);
    for (let i2 = i1; i2 <= n; i2 += 4) {
      // lanes i2..i2+3; past n they read the NaN padding: NaN sums, never acceptable
      const sx2 = v128.load(SUMX + (<usize>i2 << 2)), sw2 = v128.load(SUMW + (<usize>i2 << 2));
      const b = f32x4.sub(sx2, sx1), c = f32x4.sub(sx_all, sx2);
      const wb = f32x4.sub(sw2, sw1), wc = f32x4.sub(sw_all, sw2);
      const qxp = f32x4.add(f32x4.add(ap, f32x4.mul(b, p1)), f32x4.mul(c, p2));
      const q2p = f32x4.add(f32x4.add(wap, f32x4.mul(f32x4.mul(wb, p1), p1)), f32x4.mul(f32x4.mul(wc, p2), p2));
      const qxm = f32x4.add(f32x4.add(am, f32x4.mul(b, m1)), f32x4.mul(c, m2));
      const q2m = f32x4.add(f32x4.add(wam, f32x4.mul(f32x4.mul(wb, m1), m1)), f32x4.mul(f32x4.mul(wc, m2), m2));
      if (!v128.any_true(v128.or(accepts4(qxp, q2p), accepts4(qxm, q2m)))) continue;
      // C's tests in C's order on the lanes' sums (the scalar ones, bit for bit)
      v128.store(LANES, qxp); v128.store(LANES, q2p, 16); v128.store(LANES, qxm, 32); v128.store(LANES, q2m, 48);
      accept_in_order(2, i1, i2, 1, n, 1, -1);
    }
  }
}

// ---- iq1_s: block_iq1_s { ggml_half d; uint8_t qs[QK_K/8]; uint16_t qh[QK_K/32]; } = 50 bytes ----
export const IQ1S_QS: usize = 2;
export const IQ1S_QH: usize = 2 + QK_K / 8;
export const IQ1S_BLOCK_BYTES: usize = IQ1S_QH + QK_K / 16;

/** quantize_row_iq1_s_impl over one row of n values (quant_weights required). */
export function quantize_row_iq1_s_impl(x: usize, y: usize, n: i32, quant_weights: usize): void {
  if (quant_weights == 0) { kernel_abort(FAIL_NO_IMATRIX); return; }
  lattice_init(LATTICE_IQ1);
  const block_size = 32;
  const rowEnd = x + (<usize>n << 2);
  const nbl = n / QK_K;
  for (let ibl = 0; ibl < nbl; ++ibl) {
    const blk = y + <usize>ibl * IQ1S_BLOCK_BYTES;
    store<u16>(blk, 0);
    memory.fill(blk + IQ1S_QS, 0, QK_K / 8);
    memory.fill(blk + IQ1S_QH, 0, QK_K / 16);
    let max_scale: f32 = 0;
    const xbl = x + (<usize>(QK_K * ibl) << 2);
    let sumx2: f32 = 0;
    for (let i = 0; i < QK_K; ++i) { const xi = f(xbl, i); sumx2 += xi * xi; }
    const sigma2: f32 = <f32>2 * sumx2 / <f32>QK_K;

    for (let ib = 0; ib < QK_K / block_size; ++ib) {
      const xb = xbl + (<usize>(block_size * ib) << 2);
      weights(xb, quant_weights + (<usize>(QK_K * ibl + block_size * ib) << 2), block_size, sigma2);
      const max = max_abs(xb, block_size);
      if (max < GROUP_MAX_EPS_IQ1_S) {
        setf(SCALES, ib, 0);
        store<i8>(SHIFTS + <usize>ib, 1);
        memory.fill(L, 1, block_size);
        continue;
      }
      sort_values(xb, block_size);
      setf(SUMX, 0, 0);
      setf(SUMW, 0, 0);
      for (let j = 0; j < block_size; ++j) {
        const i = pair_index(j);
        setf(SUMX, j + 1, f(SUMX, j) + f(WEIGHT, i) * f(xb, i));
        setf(SUMW, j + 1, f(SUMW, j) + f(WEIGHT, i));
      }
      iq1s_split_search(block_size, max);
      let scale = best_scale;
      const besti1 = best_i1, besti2 = best_i2;
      let best_shift = best_pick;
      if (besti1 < 0 || besti2 < 0 || best_shift == 0) {
        setf(SCALES, ib, 0);
        store<i8>(SHIFTS + <usize>ib, 1);
        memory.fill(L, 1, block_size);
        continue;
      }
      split_levels(block_size, besti1, besti2);
      if (scale < 0) {
        for (let j = 0; j < block_size; ++j) store<i8>(L + <usize>j, <i8>(2 - <i32>load<i8>(L + <usize>j)));
        scale = -scale;
        best_shift = -best_shift;
      }
      const xx = best_shift == 1 ? X_P : X_M;
      scale = snap_groups(xb, block_size / 8, scale, xx, xx, rowEnd);
      if (aborted()) return;
      let h: u32 = 0;
      for (let k = 0; k < block_size / 8; ++k) {
        const index = <u32>load<i32>(INDEX + (<usize>k << 2));
        store<u8>(blk + IQ1S_QS + <usize>((block_size / 8) * ib + k), <u8>(index & 255));
        h |= (index >> 8) << (3 * <u32>k);
      }
      store<u16>(blk + IQ1S_QH + (<usize>ib << 1), <u16>h);
      if (!(scale >= 0)) { kernel_abort(FAIL_SCALE); return; }
      setf(SCALES, ib, scale);
      store<i8>(SHIFTS + <usize>ib, <i8>best_shift);
      max_scale = max_scale > scale ? max_scale : scale;
    }

    if (max_scale == 0) continue;
    const d: f32 = max_scale / <f32>15;
    store_f16(blk, d * <f32>1.125);
    const id: f32 = <f32>1 / d;
    for (let ib = 0; ib < QK_K / block_size; ++ib) {
      let l = clamp_i32(nearest_int(<f32>0.5 * (id * f(SCALES, ib) - 1)), 0, 7);
      if (load<i8>(SHIFTS + <usize>ib) == -1) l |= 8;
      const qh = blk + IQ1S_QH + (<usize>ib << 1);
      store<u16>(qh, load<u16>(qh) | <u16>(l << 12));
    }
  }
}

/** The row function of quantize_iq1_s. Returns 50 bytes per 256 values. */
export function quantize_row_iq1_s(x: usize, y: usize, n: i32, qw: usize): usize {
  quantize_row_iq1_s_impl(x, y, n, qw);
  return <usize>(n / QK_K) * IQ1S_BLOCK_BYTES;
}

// ---- iq1_m: block_iq1_m { uint8_t qs[QK_K/8]; uint8_t qh[QK_K/16]; uint8_t scales[QK_K/32]; } = 56
// bytes; the fp16 super-block scale is spread over the top nibbles of the four uint16 of scales ----
export const IQ1M_QH: usize = QK_K / 8;
export const IQ1M_SCALES: usize = IQ1M_QH + QK_K / 16;
export const IQ1M_BLOCK_BYTES: usize = IQ1M_SCALES + QK_K / 32;
const SUMQX4: usize = memory.data(4 << 2, 16);
const SUMQ24: usize = memory.data(4 << 2, 16);

/** The importance of the sub-block starting at value `at`, or 0 without an imatrix. */
// @ts-ignore: decorator
@inline function sub_weights(quant_weights: usize, at: i32): usize { return quant_weights != 0 ? quant_weights + (<usize>at << 2) : 0; }

/** iq1_m's shift pattern k (0: +,+  1: +,-  2: -,+  3: -,-) for group g of a sub-block: x_p or x_m. */
// @ts-ignore: decorator
@inline function xx_of(k: i32, g: i32): usize { return (g == 0 ? k < 2 : k % 2 == 0) ? X_P : X_M; }

// Prefix sums per half of the sub-block (values 0..7 and 8..15 may take different shifts), over the
// sorted order: PX[h][j] = Σ w·x and PW[h][j] = Σ w over the first j sorted values lying in half h,
// j = 0..16; each half padded with 3 NaNs, which the vector search's lanes past j = 16 read (their
// sums are NaN, so they never look acceptable).
const HALF: i32 = 20;
const PX: usize = memory.data<f32>([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NaN, NaN, NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NaN, NaN, NaN], 16);
const PW: usize = memory.data<f32>([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NaN, NaN, NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NaN, NaN, NaN], 16);
/** iq1m_split_search's pw(h, j)·(x_s[1]² - x_s[2]²) for (h, s) = (0, p), (0, m), (1, p), (1, m), HALF apart */
const COLS: usize = memory.data(4 * HALF << 2, 16);
// @ts-ignore: decorator
@inline function px(h: i32, j: i32): f32 { return f(PX, HALF * h + j); }
// @ts-ignore: decorator
@inline function pw(h: i32, j: i32): f32 { return f(PW, HALF * h + j); }

/**
 * The four sign patterns' Σ (w·x_s[l])·x and Σ w·x_s[l]² for the split (i1, i2) of the 16 sorted
 * values, from the prefix sums, as the build computes them (llama.cpp PR #28706: since
 * x_s[0] - x_s[1] = x_s[1] - x_s[2] = -1, Σ over a half is T·x_s[2] - P(i1) - P(i2)).
 */
function iq1m_split_sums(i1: i32, i2: i32): void {
  const p2 = f(X_P, 2), m2 = f(X_M, 2);
  const cp1: f32 = f(X_P, 0) * f(X_P, 0) - f(X_P, 1) * f(X_P, 1), cp2: f32 = f(X_P, 1) * f(X_P, 1) - f(X_P, 2) * f(X_P, 2);
  const cm1: f32 = f(X_M, 0) * f(X_M, 0) - f(X_M, 1) * f(X_M, 1), cm2: f32 = f(X_M, 1) * f(X_M, 1) - f(X_M, 2) * f(X_M, 2);
  let qx_p0: f32 = 0, qx_m0: f32 = 0, q2_p0: f32 = 0, q2_m0: f32 = 0;
  let qx_p1: f32 = 0, qx_m1: f32 = 0, q2_p1: f32 = 0, q2_m1: f32 = 0;
  for (let h = 0; h < 2; ++h) {
    const sx: f32 = px(h, i1) + px(h, i2);
    const txs = px(h, 16), tws = pw(h, 16);
    const qxp: f32 = txs * p2 - sx, qxm: f32 = txs * m2 - sx;
    const q2p: f32 = tws * p2 * p2 + pw(h, i1) * cp1 + pw(h, i2) * cp2;
    const q2m: f32 = tws * m2 * m2 + pw(h, i1) * cm1 + pw(h, i2) * cm2;
    if (h == 0) { qx_p0 = qxp; qx_m0 = qxm; q2_p0 = q2p; q2_m0 = q2m; }
    else { qx_p1 = qxp; qx_m1 = qxm; q2_p1 = q2p; q2_m1 = q2m; }
  }
  setf(SUMQX4, 0, qx_p0 + qx_p1); setf(SUMQX4, 1, qx_p0 + qx_m1); setf(SUMQX4, 2, qx_m0 + qx_p1); setf(SUMQX4, 3, qx_m0 + qx_m1);
  setf(SUMQ24, 0, q2_p0 + q2_p1); setf(SUMQ24, 1, q2_p0 + q2_m1); setf(SUMQ24, 2, q2_m0 + q2_p1); setf(SUMQ24, 3, q2_m0 + q2_m1);
}

/** PX/PW over the sorted values of xb (sort_values first). */
function iq1m_prefix_sums(xb: usize): void {
  setf(PX, 0, 0); setf(PX, HALF, 0); setf(PW, 0, 0); setf(PW, HALF, 0);
  for (let j = 0; j < 16; ++j) {
    const i = pair_index(j);
    const h = i < 8 ? 0 : 1;
    setf(PX, HALF * h + j + 1, px(h, j) + f(WEIGHT, i) * f(xb, i));
    setf(PX, HALF * (1 - h) + j + 1, px(1 - h, j));
    setf(PW, HALF * h + j + 1, pw(h, j) + f(WEIGHT, i));
    setf(PW, HALF * (1 - h) + j + 1, pw(1 - h, j));
  }
}

/** iq1_m's split (i1, i2) with the four sign patterns in C's order. */
// @ts-ignore: decorator
@inline function iq1m_split(i1: i32, i2: i32): void {
  iq1m_split_sums(i1, i2);
  for (let k = 0; k < 4; ++k) try_split(f(SUMQX4, k), f(SUMQ24, k), i1, i2, k);
}

/**
 * iq1m_split_sums' arithmetic lane-wise for the splits (i1, i2 + l), l = 0..3, from i1's terms (x1h:
 * px(h, i1), q2sh: the first two terms of Σ w·q² of half h, shift s) and the totals' (ts_h): the
 * four patterns' sums stored in LANES's layout at `at` (if not 0), and the lanes where one of them
 * looks acceptable (accepts4). Lanes past 16 read the NaN padding: NaN sums, never acceptable.
 */
// @ts-ignore: decorator
@inline function iq1m_block(i2: i32, at: usize, x10: v128, x11: v128, q2p0a: v128, q2m0a: v128, q2p1a: v128, q2m1a: v128, tp0: v128, tm0: v128, tp1: v128, tm1: v128): v128 {
  const col = COLS + (<usize>i2 << 2);
  const sx0 = f32x4.add(x10, v128.load(PX + (<usize>i2 << 2))), sx1 = f32x4.add(x11, v128.load(PX + (<usize>(HALF + i2) << 2)));
  const qxp0 = f32x4.sub(tp0, sx0), qxm0 = f32x4.sub(tm0, sx0);
  const qxp1 = f32x4.sub(tp1, sx1), qxm1 = f32x4.sub(tm1, sx1);
  const q2p0 = f32x4.add(q2p0a, v128.load(col)), q2m0 = f32x4.add(q2m0a, v128.load(col, HALF * 4));
  const q2p1 = f32x4.add(q2p1a, v128.load(col, HALF * 8)), q2m1 = f32x4.add(q2m1a, v128.load(col, HALF * 12));
  // the patterns k = 0..3 (+,+  +,-  -,+  -,-)
  const qx0 = f32x4.add(qxp0, qxp1), q20 = f32x4.add(q2p0, q2p1);
  const qx1 = f32x4.add(qxp0, qxm1), q21 = f32x4.add(q2p0, q2m1);
  const qx2 = f32x4.add(qxm0, qxp1), q22 = f32x4.add(q2m0, q2p1);
  const qx3 = f32x4.add(qxm0, qxm1), q23 = f32x4.add(q2m0, q2m1);
  if (at != 0) {
    v128.store(at, qx0); v128.store(at, q20, 16); v128.store(at, qx1, 32); v128.store(at, q21, 48);
    v128.store(at, qx2, 64); v128.store(at, q22, 80); v128.store(at, qx3, 96); v128.store(at, q23, 112);
    return i32x4.splat(0);
  }
  return v128.or(v128.or(accepts4(qx0, q20), accepts4(qx1, q21)), v128.or(accepts4(qx2, q22), accepts4(qx3, q23)));
}

/**
 * iq1_m's exhaustive search over the splits 0 <= i1 <= i2 <= 16 (PX, PW prefix sums) into best_*,
 * the vector path as iq1s_split_search's: 4 consecutive i2 per v128 (iq1m_block), iq1m_split_sums'
 * arithmetic lane-wise, and when a lane of any pattern looks acceptable, accept_in_order on that
 * block and the next one of the row at once (fewer hits, each a mispredicted branch: measured
 * faster than one or three blocks).
 */
function iq1m_split_search(max: f32): void {
  best_score = -FLT_MAX; best_scale = max;
  best_i1 = -1; best_i2 = -1; best_pick = -1;
  if (use_scalar()) {
    for (let i1 = 0; i1 <= 16; ++i1) for (let i2 = i1; i2 <= 16; ++i2) iq1m_split(i1, i2);
    return;
  }
  const p2 = f(X_P, 2), m2 = f(X_M, 2);
  const cp1 = f32x4.splat(f(X_P, 0) * f(X_P, 0) - f(X_P, 1) * f(X_P, 1)), cp2 = f32x4.splat(f(X_P, 1) * f(X_P, 1) - f(X_P, 2) * f(X_P, 2));
  const cm1 = f32x4.splat(f(X_M, 0) * f(X_M, 0) - f(X_M, 1) * f(X_M, 1)), cm2 = f32x4.splat(f(X_M, 1) * f(X_M, 1) - f(X_M, 2) * f(X_M, 2));
  // per half: txs·x_s[2] and tws·x_s[2]·x_s[2], the split-independent parts
  const tp0 = f32x4.splat(px(0, 16) * p2), tm0 = f32x4.splat(px(0, 16) * m2);
  const tp1 = f32x4.splat(px(1, 16) * p2), tm1 = f32x4.splat(px(1, 16) * m2);
  const wp0 = f32x4.splat(pw(0, 16) * p2 * p2), wm0 = f32x4.splat(pw(0, 16) * m2 * m2);
  const wp1 = f32x4.splat(pw(1, 16) * p2 * p2), wm1 = f32x4.splat(pw(1, 16) * m2 * m2);
  // per column i2 (and half, shift): the term pw(h, i2)·c2, computed once rather than once per i1
  for (let j = 0; j < HALF; j += 4) {
    const w0 = v128.load(PW + (<usize>j << 2)), w1 = v128.load(PW + (<usize>(HALF + j) << 2));
    v128.store(COLS + (<usize>j << 2), f32x4.mul(w0, cp2));
    v128.store(COLS + (<usize>(HALF + j) << 2), f32x4.mul(w0, cm2));
    v128.store(COLS + (<usize>(2 * HALF + j) << 2), f32x4.mul(w1, cp2));
    v128.store(COLS + (<usize>(3 * HALF + j) << 2), f32x4.mul(w1, cm2));
  }
  for (let i1 = 0; i1 <= 16; ++i1) {
    const x10 = f32x4.splat(px(0, i1)), x11 = f32x4.splat(px(1, i1));
    const w10 = pw(0, i1), w11 = pw(1, i1);
    const q2p0a = f32x4.add(wp0, f32x4.splat(w10 * f32x4.extract_lane(cp1, 0)));
    const q2m0a = f32x4.add(wm0, f32x4.splat(w10 * f32x4.extract_lane(cm1, 0)));
    const q2p1a = f32x4.add(wp1, f32x4.splat(w11 * f32x4.extract_lane(cp1, 0)));
    const q2m1a = f32x4.add(wm1, f32x4.splat(w11 * f32x4.extract_lane(cm1, 0)));
    for (let i2 = i1; i2 <= 16; i2 += 4) {
      if (!v128.any_true(iq1m_block(i2, 0, x10, x11, q2p0a, q2m0a, q2p1a, q2m1a, tp0, tm0, tp1, tm1))) continue;
      // this block and the rest of the row, in one pass of C's tests
      let nb = 0;
      for (let j = i2; j <= 16 && nb < LOOKAHEAD; j += 4) iq1m_block(j, LANES + (<usize>(nb++) << 7), x10, x11, q2p0a, q2m0a, q2p1a, q2m1a, tp0, tm0, tp1, tm1);
      accept_in_order(4, i1, i2, nb, 16, 0, 0);
      i2 += 4 * (nb - 1);
    }
  }
}

/** quantize_row_iq1_m_impl over one row of n values, importance qw (n floats) or 0 (weights x²). */
export function quantize_row_iq1_m_impl(x: usize, y: usize, n: i32, quant_weights: usize): void {
  lattice_init(LATTICE_IQ1);
  const block_size = 16;
  const rowEnd = x + (<usize>n << 2);
  const nbl = n / QK_K;
  for (let ibl = 0; ibl < nbl; ++ibl) {
    const blk = y + <usize>ibl * IQ1M_BLOCK_BYTES;
    memory.fill(blk, 0, IQ1M_BLOCK_BYTES);
    let max_scale: f32 = 0;
    const xbl = x + (<usize>(QK_K * ibl) << 2);
    let sumx2: f32 = 0;
    for (let i = 0; i < QK_K; ++i) { const xi = f(xbl, i); sumx2 += xi * xi; }
    const sigma2: f32 = <f32>2 * sumx2 / <f32>QK_K;

    for (let ib = 0; ib < QK_K / block_size; ++ib) {
      const xb = xbl + (<usize>(block_size * ib) << 2);
      weights(xb, sub_weights(quant_weights, QK_K * ibl + block_size * ib), block_size, sigma2);
      const max = max_abs(xb, block_size);
      if (max < GROUP_MAX_EPS_IQ1_M) {
        setf(SCALES, ib, 0);
        store<i8>(SHIFTS + <usize>ib, 0);
        memory.fill(L, 1, block_size);
        continue;
      }
      sort_values(xb, block_size);
      iq1m_prefix_sums(xb);
      iq1m_split_search(max);
      let scale = best_scale;
      const besti1 = best_i1, besti2 = best_i2;
      let best_k = best_pick;
      if (besti1 < 0 || besti2 < 0 || best_k < 0) {
        setf(SCALES, ib, 0);
        store<i8>(SHIFTS + <usize>ib, 0);
        memory.fill(L, 1, block_size);
        continue;
      }
      split_levels(block_size, besti1, besti2);
      if (scale < 0) {
        for (let j = 0; j < block_size; ++j) store<i8>(L + <usize>j, <i8>(2 - <i32>load<i8>(L + <usize>j)));
        scale = -scale;
        best_k = 3 - best_k; // 0 <-> 3, 1 <-> 2
      }
      scale = snap_groups(xb, block_size / 8, scale, xx_of(best_k, 0), xx_of(best_k, 1), rowEnd);
      if (aborted()) return;
      const i0 = load<i32>(INDEX), i1 = load<i32>(INDEX, 4);
      store<u8>(blk + <usize>(2 * ib), <u8>(i0 & 255));
      store<u8>(blk + <usize>(2 * ib + 1), <u8>(i1 & 255));
      store<u8>(blk + IQ1M_QH + <usize>ib, <u8>((i0 >> 8) | ((i1 >> 8) << 4)));
      if (!(scale >= 0)) { kernel_abort(FAIL_SCALE); return; }
      setf(SCALES, ib, scale);
      store<i8>(SHIFTS + <usize>ib, <i8>best_k);
      max_scale = max_scale > scale ? max_scale : scale;
    }

    if (max_scale == 0) continue;
    const sc = blk + IQ1M_SCALES;
    let d: f32 = max_scale / <f32>15;
    const id: f32 = <f32>1 / d;
    let sumqx_f: f32 = 0, sumq2_f: f32 = 0;
    for (let ib = 0; ib < QK_K / block_size; ++ib) {
      const l = clamp_i32(nearest_int(<f32>0.5 * (id * f(SCALES, ib) - 1)), 0, 7);
      const word = sc + (<usize>(ib >> 2) << 1);
      store<u16>(word, load<u16>(word) | <u16>(l << (3 * (ib % 4))));
      const shift = <i32>load<i8>(SHIFTS + <usize>ib);
      const qh = blk + IQ1M_QH + <usize>ib;
      store<u8>(qh, load<u8>(qh) | <u8>(shift == 0 ? 0x00 : shift == 1 ? 0x80 : shift == 2 ? 0x08 : 0x88));
      const xb = xbl + (<usize>(block_size * ib) << 2);
      weights(xb, sub_weights(quant_weights, QK_K * ibl + block_size * ib), block_size, sigma2);
      const odd: i32 = 2 * l + 1;
      const lf: f32 = <f32>odd;
      for (let k = 0; k < block_size / 8; ++k) {
        const xx = xx_of(shift, k);
        const index = <i32>load<u8>(blk + <usize>(2 * ib + k)) + ((<i32>load<u8>(qh) << (8 - 4 * k)) & 0x700);
        const pg = lattice_grid(LATTICE_IQ1) + (<usize>index << 3);
        for (let j = 0; j < 8; ++j) {
          const w = f(WEIGHT, 8 * k + j);
          const q: f32 = f(xx, (<i32>load<i8>(pg + <usize>j) - 1) / 2) * lf;
          sumqx_f += w * q * f(xb, 8 * k + j);
          sumq2_f += w * q * q;
        }
      }
    }
    if (sumq2_f > 0) d = sumqx_f / sumq2_f;
    const s = <u32>fp32_to_fp16(d * <f32>1.1125);
    store<u16>(sc, load<u16>(sc) | <u16>((s & 0x000f) << 12));
    store<u16>(sc + 2, load<u16>(sc + 2) | <u16>((s & 0x00f0) << 8));
    store<u16>(sc + 4, load<u16>(sc + 4) | <u16>((s & 0x0f00) << 4));
    store<u16>(sc + 6, load<u16>(sc + 6) | <u16>(s & 0xf000));
  }
}

/** The row function of quantize_iq1_m. Returns 56 bytes per 256 values. */
export function quantize_row_iq1_m(x: usize, y: usize, n: i32, qw: usize): usize {
  quantize_row_iq1_m_impl(x, y, n, qw);
  return <usize>(n / QK_K) * IQ1M_BLOCK_BYTES;
}
