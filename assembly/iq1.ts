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
// Hot spots for SIMD later: iq1_s's 561 split pairs × 2 scores, iq1_m's 153 splits × 4 sign
// patterns with an O(16) inner sum each, and the neighbour search (up to ~200 points × 8).

import { nearest_int, fabsf, store_f16 } from "./common";
import { clamp_i32 } from "./search";
import { LATTICE_IQ1, lattice_init, lattice_grid, kmap, neighbours_of } from "./lattice";
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
const SUMX: usize = memory.data(33 << 2, 16);
const SUMW: usize = memory.data(33 << 2, 16);
const PAIRS: usize = memory.data(32 << 3, 16); // {float value, int index} per element
const PAIRS_TMP: usize = memory.data(32 << 3, 16);
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

/** pairs = (xb[j], j), sorted as qsort(pairs, n, 8, iq1_sort_helper) does on glibc 2.36. */
function sort_values(xb: usize, n: i32): void {
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
  for (let j = 1; j <= num; ++j) {
    const index = <i32>load<u16>(nb + (<usize>j << 1));
    const d2 = group_d2(index, xval, weight, scale, xg, -1);
    if (d2 < best) { best = d2; grid_index = index; }
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
  if (qw != 0) {
    for (let i = 0; i < n; ++i) { const xi = f(xb, i); setf(WEIGHT, i, f(qw, i) * Mathf.sqrt(sigma2 + xi * xi)); }
  } else {
    for (let i = 0; i < n; ++i) { const xi = f(xb, i); setf(WEIGHT, i, xi * xi); }
  }
}

/** MAX(|x|) over n values, seeded with |x[0]| as C is. */
// @ts-ignore: decorator
@inline function max_abs(xb: usize, n: i32): f32 {
  let max: f32 = fabsf(f(xb, 0));
  for (let i = 1; i < n; ++i) { const a = fabsf(f(xb, i)); max = max > a ? max : a; }
  return max;
}

/** L[idx[j]] = 0 below i1, 1 below i2, 2 after, over the sorted order. */
function split_levels(n: i32, i1: i32, i2: i32): void {
  for (let j = 0; j < n; ++j) store<i8>(L + <usize>pair_index(j), <i8>(j < i1 ? 0 : j < i2 ? 1 : 2));
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
      let best_score: f32 = -FLT_MAX, scale: f32 = max;
      let besti1 = -1, besti2 = -1, best_shift = 0;
      const sx_all = f(SUMX, block_size), sw_all = f(SUMW, block_size);
      for (let i1 = 0; i1 <= block_size; ++i1) {
        for (let i2 = i1; i2 <= block_size; ++i2) {
          const a: f32 = f(SUMX, i1) - f(SUMX, 0), b: f32 = f(SUMX, i2) - f(SUMX, i1), c: f32 = sx_all - f(SUMX, i2);
          const wa: f32 = f(SUMW, i1) - f(SUMW, 0), wb: f32 = f(SUMW, i2) - f(SUMW, i1), wc: f32 = sw_all - f(SUMW, i2);
          for (let s = 0; s < 2; ++s) {
            const xx = s == 0 ? X_P : X_M;
            const x0 = f(xx, 0), x1 = f(xx, 1), x2 = f(xx, 2);
            const sumqx: f32 = a * x0 + b * x1 + c * x2;
            const sumq2: f32 = wa * x0 * x0 + wb * x1 * x1 + wc * x2 * x2;
            if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
              scale = sumqx / sumq2;
              best_score = scale * sumqx;
              besti1 = i1; besti2 = i2; best_shift = s == 0 ? 1 : -1;
            }
          }
        }
      }
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
      let all_on_grid = true;
      for (let k = 0; k < block_size / 8; ++k) {
        let grid_index = kmap(LATTICE_IQ1, pack_levels(L + <usize>(8 * k)));
        if (grid_index < 0) {
          all_on_grid = false;
          grid_index = find_best_neighbour2(grid_index, xb + (<usize>(8 * k) << 2), WEIGHT + (<usize>(8 * k) << 2), scale, xx, L + <usize>(8 * k), rowEnd);
          if (grid_index < 0) return;
        }
        store<i32>(INDEX + (<usize>k << 2), grid_index);
      }
      if (!all_on_grid) {
        let sumqx: f32 = 0, sumq2: f32 = 0;
        for (let k = 0; k < block_size / 8; ++k) {
          const pg = lattice_grid(LATTICE_IQ1) + (<usize>load<i32>(INDEX + (<usize>k << 2)) << 3);
          for (let j = 0; j < 8; ++j) {
            const w = f(WEIGHT, 8 * k + j);
            const q = f(xx, (<i32>load<i8>(pg + <usize>j) - 1) / 2);
            sumqx += w * q * f(xb, 8 * k + j);
            sumq2 += w * q * q;
          }
        }
        if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
      }
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
