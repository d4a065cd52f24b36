// port of iq3xs_init_impl, iq3_find_best_neighbour, quantize_row_iq3_xxs_impl (grid_size 256, as
// quantize_iq3_xxs calls it) and quantize_row_iq3_s_impl (block_size 32, as quantize_iq3_s calls it),
// ggml-quants.c @ 36491e40, checked against the reference build (@node-llama-cpp/linux-x64@3.22.1).
//
// ggml_quantize_chunk runs one code path with or without an imatrix: quant_weights == NULL only
// swaps the weights for x². Quirks of the C that shape the output and are reproduced here:
// - The build clears L (the levels of a sub-block) right after computing the sub-block's max, as
//   llama.cpp's later text does (@01243c58; the 36491e40 text leaves it uninitialized): when no trial
//   scale of the search is accepted (an imatrix that is zero over the sub-block, squares that
//   underflow, inf or NaN), iq3_xxs writes grid index 0 (levels 0,0,0,0) for every group, since all
//   groups count as on the grid and nothing recomputes them. iq3_s marks every group off the grid
//   before its search, so it recomputes L from the scale unless that scale is NaN.
// - iq3_s skips an all-zero sub-block with `continue` before it advances its qs and signs pointers,
//   so the next sub-blocks' grid indices and signs land in the slots of the skipped one (qh is
//   indexed by sub-block and does not shift).
// - llama.cpp aborts the process (GGML_ASSERT / GGML_ABORT) when no neighbour has a distance below
//   FLT_MAX (inf or NaN distances: values or importances whose squares overflow), when a scale is
//   NaN, or when a group ends off the grid. We report those rows to the driver (llama_aborts), which
//   fails the call instead of writing bytes llama.cpp never writes.
//
// Exactness: every float is f32 in C's operand order; nearest_int is the 12582912 trick, clamped as
// in C; C's MAX(a, b) is `a > b ? a : b` (it drops a NaN a).
// Two searches write the same bytes: the scalar one (search_scale, refit_off_grid,
// iq3_find_best_neighbour: the reference, selected by set_scalar_kernels(1)) and the default vector
// one below it (4 trials per v128 for the levels, the sums and the neighbour search of a word that
// 4 trials share; 4 neighbours per v128 for the other neighbour searches).
// Profile (weight-like rows): per group and trial, one map lookup, and a neighbour search when the
// word is off the grid (iq3_xxs ~70% of them, lists of 2.8 chunks of 4 neighbours on average;
// iq3_s ~50%, 3.4 chunks); in 3 of 4 batches of 4 consecutive trials a group's 4 words are the same.
// The neighbour searches dominate.

import { nearest_int, store_f16 } from "./common";
import { arena_alloc } from "./arena";
import { KMAP_SIZE, NEIGHBOUR_SLOTS_256, NEIGHBOUR_SLOTS_512, NBT_CHUNKS_256, NBT_CHUNKS_512 } from "./iq3_tables";
import { imin, imax } from "./search";
import { IQ3XXS_GRID, IQ3S_GRID } from "./grids_iq3";
import { llama_aborts } from "./rows";
import { use_scalar, F32_INF, __levels_f32x4, __levels_idv_f32x4, __transpose4_store } from "./simd";

const QK_K: i32 = 256;
/** kMaxQ: 8 levels (3 bits) per value, q = 2*l + 1 */
const K_MAX_Q: i32 = 8;
/** 2*kMaxQ - 1 as the float C converts it to */
const KMAXQ_2M1: f32 = <f32>(<i32>(2 * K_MAX_Q - 1));
const GROUP_MAX_EPS_IQ3_XXS: f32 = <f32>1e-8;
const FLT_MAX: f32 = reinterpret<f32>(0x7F7FFFFF);

// ---- iq3xs_init_impl: the quantizer's grid (bytes 2*l + 1), the map from 12-bit level words to grid
// indices (or to -(1 + offset) of a neighbour list), and the neighbour lists. Sizes: what the
// algorithm yields for these grids (checked as it builds).

// The tables live in the arena (assembly/arena.ts), set up by iq3_init; sizes in assembly/iq3_tables.ts.
// GRIDF: the grid points' levels as floats q = 2*l + 1, 16 bytes per point (the vector search's
// operands). NBT: the neighbour lists again for the vector search, as floats by groups of 4
// neighbours: chunk c of a list is 4 v128 (level i of neighbours 4c..4c+3, one per lane; 64 bytes);
// NBT_OFF: each off-grid word's list's byte offset into NBT.
let GRID_256: usize = 0, GRIDF_256: usize = 0, MAP_256: usize = 0, NEIGHBOURS_256: usize = 0, NBT_256: usize = 0, NBT_OFF_256: usize = 0;
let GRID_512: usize = 0, GRIDF_512: usize = 0, MAP_512: usize = 0, NEIGHBOURS_512: usize = 0, NBT_512: usize = 0, NBT_OFF_512: usize = 0;
/** dist2[j] of one off-grid word to every grid point */
const DIST2: usize = memory.data(512 << 2, 16);

let tablesReady = false;

/**
 * One iq3xs_init_impl(grid_size). dq is the dequantization grid of ggml-common.h (iq3xxs_grid has
 * bytes 8*l + 4 but 62 for l = 7, iq3s_grid has 2*l + 1). Neighbours of an off-grid word: the grid
 * points at the nwant smallest distinct squared distances, ordered by (distance, index) as the
 * qsort with iq3_compare_func leaves them (that comparator is a total order: no ties to break).
 */
function build_grid(gridSize: i32, nwant: i32, dq: usize, xxs: bool, grid: usize, gridf: usize, map: usize, neighbours: usize, capacity: i32): void {
  for (let k = 0; k < gridSize; ++k) {
    const w = load<u32>(dq + (<usize>k << 2));
    let out: u32 = 0;
    for (let i = 0; i < 4; ++i) {
      const b = (w >> (8 * <u32>i)) & 0xff;
      const l = xxs ? b >> 3 : (b - 1) >> 1;
      out |= (2 * l + 1) << (8 * <u32>i);
      store<f32>(gridf + (<usize>k << 4) + (<usize>i << 2), <f32>(<u32>(2 * l + 1)));
    }
    store<u32>(grid + (<usize>k << 2), out);
  }
  for (let i = 0; i < KMAP_SIZE; ++i) store<i32>(map + (<usize>i << 2), -1);
  for (let k = 0; k < gridSize; ++k) {
    let index = 0;
    for (let i = 0; i < 4; ++i) index |= ((<i32>load<u8>(grid + (<usize>k << 2) + i) - 1) / 2) << (3 * i);
    store<i32>(map + (<usize>index << 2), k);
  }
  let counter = 0;
  for (let i = 0; i < KMAP_SIZE; ++i) {
    if (load<i32>(map + (<usize>i << 2)) >= 0) continue;
    for (let j = 0; j < gridSize; ++j) {
      let d2 = 0;
      for (let k = 0; k < 4; ++k) {
        const d = <i32>load<u8>(grid + (<usize>j << 2) + k) - (2 * ((i >> (3 * k)) & 7) + 1);
        d2 += d * d;
      }
      store<i32>(DIST2 + (<usize>j << 2), d2);
    }
    store<i32>(map + (<usize>i << 2), -(counter + 1));
    const start = counter++;
    let n = 0;
    let below = -1;
    for (let shell = 0; shell < nwant; ++shell) {
      let d2 = i32.MAX_VALUE;
      for (let j = 0; j < gridSize; ++j) {
        const dj = load<i32>(DIST2 + (<usize>j << 2));
        if (dj > below && dj < d2) d2 = dj;
      }
      if (d2 == i32.MAX_VALUE) break;
      for (let j = 0; j < gridSize; ++j) {
        if (load<i32>(DIST2 + (<usize>j << 2)) != d2) continue;
        if (counter >= capacity) unreachable();
        store<u16>(neighbours + (<usize>counter << 1), <u16>j);
        ++counter;
        ++n;
      }
      below = d2;
    }
    store<u16>(neighbours + (<usize>start << 1), <u16>n);
  }
  if (counter != capacity) unreachable();
}

/** The transposed float neighbour lists (NBT) of one grid, from its lists and grid floats. */
function build_nbt(map: usize, neighbours: usize, gridf: usize, nbt: usize, nbtOff: usize, chunks: i32): void {
  let c = 0;
  for (let u = 0; u < KMAP_SIZE; ++u) {
    const m = load<i32>(map + (<usize>u << 2));
    if (m >= 0) continue;
    const nb = neighbours + (<usize>(-m - 1) << 1);
    const n = <i32>load<u16>(nb);
    store<i32>(nbtOff + (<usize>u << 2), c << 6);
    for (let j = n & ~3; j < ((n + 3) & ~3); ++j) {
      const chunk = nbt + (<usize>(c + (j >> 2)) << 6);
      for (let i = 0; i < 4; ++i) store<f32>(chunk + (<usize>i << 4) + (<usize>(j & 3) << 2), F32_INF);
    }
    for (let j = 0; j < n; ++j) {
      const g = <usize>load<u16>(nb + (<usize>(j + 1) << 1));
      const chunk = nbt + (<usize>(c + (j >> 2)) << 6);
      for (let i = 0; i < 4; ++i) store<f32>(chunk + (<usize>i << 4) + (<usize>(j & 3) << 2), load<f32>(gridf + (g << 4) + (<usize>i << 2)));
    }
    c += (n + 3) >> 2;
    if (c > chunks) unreachable();
  }
  if (c != chunks) unreachable();
}

/** ggml_quantize_init for both grids, once per instance. */
function iq3_init(): void {
  if (tablesReady) return;
  GRID_256 = arena_alloc(256 << 2); GRIDF_256 = arena_alloc(256 << 4); MAP_256 = arena_alloc(KMAP_SIZE << 2);
  NEIGHBOURS_256 = arena_alloc(NEIGHBOUR_SLOTS_256 << 1); NBT_256 = arena_alloc(NBT_CHUNKS_256 << 6); NBT_OFF_256 = arena_alloc(KMAP_SIZE << 2);
  GRID_512 = arena_alloc(512 << 2); GRIDF_512 = arena_alloc(512 << 4); MAP_512 = arena_alloc(KMAP_SIZE << 2);
  NEIGHBOURS_512 = arena_alloc(NEIGHBOUR_SLOTS_512 << 1); NBT_512 = arena_alloc(NBT_CHUNKS_512 << 6); NBT_OFF_512 = arena_alloc(KMAP_SIZE << 2);
  build_grid(256, 2, IQ3XXS_GRID, true, GRID_256, GRIDF_256, MAP_256, NEIGHBOURS_256, NEIGHBOUR_SLOTS_256);
  build_grid(512, 3, IQ3S_GRID, false, GRID_512, GRIDF_512, MAP_512, NEIGHBOURS_512, NEIGHBOUR_SLOTS_512);
  build_nbt(MAP_256, NEIGHBOURS_256, GRIDF_256, NBT_256, NBT_OFF_256, NBT_CHUNKS_256);
  build_nbt(MAP_512, NEIGHBOURS_512, GRIDF_512, NBT_512, NBT_OFF_512, NBT_CHUNKS_512);
  tablesReady = true;
}

// ---- scratch, as C's arrays ----

const WEIGHT: usize = memory.data(32 << 2, 16);
const WAUX: usize = memory.data(32 << 2, 16);
const XVAL: usize = memory.data(32 << 2, 16);
const LAUX: usize = memory.data(32, 16);
const L: usize = memory.data(32, 16);
const ON_GRID: usize = memory.data(8, 16);
const ON_GRID_AUX: usize = memory.data(8, 16);
const BLOCK_SIGNS: usize = memory.data(8, 16);
const SCALES: usize = memory.data((QK_K / 32) << 2, 16);
/** iq3_xxs's q3[3*(QK_K/8) + QK_K/32]: grid indices, then scales_and_signs (u32 per sub-block) */
const Q3: usize = memory.data(3 * (QK_K / 8) + QK_K / 32, 16);

// @ts-ignore: decorator
@inline function f32_at(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline function set_f32(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }
// @ts-ignore: decorator
@inline function cmax(a: f32, b: f32): f32 { return a > b ? a : b; }

/**
 * iq3_find_best_neighbour: among the neighbour list at nb (count, then grid indices), the grid point
 * with the smallest Σ w·(scale·q - x)² (the first one on ties); writes its levels to L[0..3] and
 * returns its index, or -1 when no distance is below FLT_MAX (llama.cpp's GGML_ASSERT fails).
 */
function iq3_find_best_neighbour(nb: usize, grid: usize, xval: usize, weight: usize, scale: f32, L: usize): i32 {
  const num = <i32>load<u16>(nb);
  let best_d2: f32 = FLT_MAX;
  let grid_index = -1;
  for (let j = 1; j <= num; ++j) {
    const g = <i32>load<u16>(nb + (<usize>j << 1));
    const pg = grid + (<usize>g << 2);
    let d2: f32 = 0;
    for (let i = 0; i < 4; ++i) {
      const q = <f32>load<u8>(pg + i);
      const diff: f32 = scale * q - f32_at(xval, i);
      d2 += f32_at(weight, i) * diff * diff;
    }
    if (d2 < best_d2) { best_d2 = d2; grid_index = g; }
  }
  if (grid_index < 0) return -1;
  const pg = grid + (<usize>grid_index << 2);
  for (let i = 0; i < 4; ++i) store<i8>(L + i, <i8>((<i32>load<u8>(pg + i) - 1) / 2));
  return grid_index;
}

/** The 12-bit word of the 4 levels at L (3 bits each). */
// @ts-ignore: decorator
@inline function level_word(L: usize): i32 {
  let u = 0;
  for (let i = 0; i < 4; ++i) u |= <i32>load<i8>(L + i) << (3 * i);
  return u;
}

/** The levels of 4 values at xval for inverse scale id: clamp(nearest_int(0.5*(id*x - 1)), 0, 7). */
// @ts-ignore: decorator
@inline function group_levels(xval: usize, id: f32, L: usize): void {
  for (let i = 0; i < 4; ++i) {
    const l = nearest_int(<f32>0.5 * (id * f32_at(xval, i) - <f32>1));
    store<i8>(L + i, <i8>imax(0, imin(K_MAX_Q - 1, l)));
  }
}

/** weight[i] (qw[i]·sqrt(sigma2 + x²), or x² without an imatrix) and waux[i] = sqrt(weight[i]). */
// @ts-ignore: decorator
@inline function sub_block_weights(xb: usize, qw: usize, sigma2: f32): void {
  if (qw != 0) {
    for (let i = 0; i < 32; ++i) {
      const xi = f32_at(xb, i);
      set_f32(WEIGHT, i, f32_at(qw, i) * Mathf.sqrt(sigma2 + xi * xi));
    }
  } else {
    for (let i = 0; i < 32; ++i) {
      const xi = f32_at(xb, i);
      set_f32(WEIGHT, i, xi * xi);
    }
  }
  for (let i = 0; i < 32; ++i) set_f32(WAUX, i, Mathf.sqrt(f32_at(WEIGHT, i)));
}

/** xval = |x| (x >= 0 ? x : -x, so NaN is negated) for the 8 values 8k..8k+7 of the sub-block at xb;
 *  returns their sign bits (bit i: x[8k+i] was not >= 0). */
// @ts-ignore: decorator
@inline function abs_and_signs(xb: usize, k: i32): u32 {
  let s: u32 = 0;
  for (let i = 0; i < 8; ++i) {
    const xi = f32_at(xb, 8 * k + i);
    if (xi >= 0) set_f32(XVAL, 8 * k + i, xi);
    else { set_f32(XVAL, 8 * k + i, -xi); s |= 1 << <u32>i; }
  }
  return s;
}

/** sigma2 = 2*Σx²/QK_K over one super-block, the sum in order. */
// @ts-ignore: decorator
@inline function super_block_sigma2(xbl: usize): f32 {
  let sumx2: f32 = 0;
  for (let i = 0; i < QK_K; ++i) {
    const xi = f32_at(xbl, i);
    sumx2 += xi * xi;
  }
  return <f32>2 * sumx2 / <f32>QK_K;
}

/** Σ w·x·q and Σ w·q² over the 32 levels at L (q = 2*l + 1), as C sums them; returns sumqx, sets SUMQ2. */
let sumq2_out: f32 = 0;
// @ts-ignore: decorator
@inline function weighted_sums(L: usize): f32 {
  let sumqx: f32 = 0, sumq2: f32 = 0;
  for (let i = 0; i < 32; ++i) {
    const w = f32_at(WEIGHT, i);
    const q = <f32>(<i32>(2 * <i32>load<i8>(L + i) + 1));
    sumqx += w * f32_at(XVAL, i) * q;
    sumq2 += w * q * q;
  }
  sumq2_out = sumq2;
  return sumqx;
}

/**
 * The scale search shared by both types: for each trial inverse scale id = (15 + 0.2·is)/max, the
 * levels of every 4-group, snapped to the grid (the best neighbour when off it, into LAUX too), and
 * the scale sumqx/sumq2 of the best trial. Copies the best trial's levels to L and its on-grid flags
 * to ON_GRID. Returns the scale (max/15 when no trial is accepted); sets `aborted` when a neighbour
 * search fails.
 */
let aborted = false;
function search_scale(max: f32, ntry: i32, grid: usize, map: usize, neighbours: usize, L: usize): f32 {
  let best: f32 = 0;
  let scale: f32 = max / KMAXQ_2M1;
  for (let is = -ntry; is <= ntry; ++is) {
    const id: f32 = (KMAXQ_2M1 + <f32>is * <f32>0.2) / max;
    const this_scale: f32 = <f32>1 / id;
    for (let k = 0; k < 8; ++k) {
      const La = LAUX + (<usize>k << 2);
      group_levels(XVAL + (<usize>k << 4), id, La);
      const u = level_word(La);
      const gi = load<i32>(map + (<usize>u << 2));
      store<bool>(ON_GRID_AUX + k, gi >= 0);
      if (gi < 0) {
        const nb = neighbours + (<usize>(-gi - 1) << 1);
        if (iq3_find_best_neighbour(nb, grid, XVAL + (<usize>k << 4), WAUX + (<usize>k << 4), this_scale, La) < 0) aborted = true;
      }
    }
    const sumqx = weighted_sums(LAUX);
    const sumq2 = sumq2_out;
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      scale = sumqx / sumq2;
      best = scale * sumqx;
      memory.copy(L, LAUX, 32);
      memory.copy(ON_GRID, ON_GRID_AUX, 8);
    }
  }
  return scale;
}

/**
 * The rescue pass after the search: the groups not on the grid (all of them for iq3_s, which never
 * marks one on it: onlyOffGrid false) get the levels of 1/scale snapped to the grid; returns the
 * refitted scale (unchanged when sumq2 is not positive).
 */
function refit_off_grid(scale: f32, onlyOffGrid: bool, grid: usize, map: usize, neighbours: usize, L: usize): f32 {
  const id: f32 = <f32>1 / scale;
  for (let k = 0; k < 8; ++k) {
    if (onlyOffGrid && load<bool>(ON_GRID + k)) continue;
    const Lk = L + (<usize>k << 2);
    let u = 0;
    for (let i = 0; i < 4; ++i) {
      const l = imax(0, imin(K_MAX_Q - 1, nearest_int(<f32>0.5 * (id * f32_at(XVAL + (<usize>k << 4), i) - <f32>1))));
      u |= l << (3 * i);
    }
    let gi = load<i32>(map + (<usize>u << 2));
    if (gi < 0) {
      gi = iq3_find_best_neighbour(neighbours + (<usize>(-gi - 1) << 1), grid, XVAL + (<usize>k << 4), WAUX + (<usize>k << 4), scale, Lk);
      if (gi < 0) { aborted = true; continue; } // C aborts before reading the grid
    }
    const pg = grid + (<usize>gi << 2);
    for (let i = 0; i < 4; ++i) store<i8>(Lk + i, <i8>((<i32>load<u8>(pg + i) - 1) / 2));
  }
  const sumqx = weighted_sums(L);
  const sumq2 = sumq2_out;
  return sumq2 > 0 ? sumqx / sumq2 : scale;
}


// ---- the vector search: the same arithmetic as search_scale / refit_off_grid / iq3_find_best_neighbour
// (their scalar references, selected by set_scalar_kernels(1)). Each lane computes exactly what the
// scalar code computes for one value, one trial or one neighbour; what combines lanes is integer
// (level words, list positions) or follows C's order (a neighbour's distance is summed over the 4
// values from 0, a trial's sums over the 32 values). Instead of levels it keeps per group the grid
// index (GI) and the levels as floats q = 2*l + 1 (QF); the sums use w*x hoisted out of the trial
// loop (WX: C recomputes the same product in every trial).

const QF: usize = memory.data(32 << 2, 16);
const GI: usize = memory.data(8 << 2, 16);
const WX: usize = memory.data(32 << 2, 16);


/** The 12-bit word of 4 levels (lane i at bits 3i). */
// @ts-ignore: decorator
@inline function __level_word_i32x4(l: v128): i32 {
  const m = i32x4.mul(l, i32x4(1, 8, 64, 512));
  return i32x4.extract_lane(m, 0) + i32x4.extract_lane(m, 1) + i32x4.extract_lane(m, 2) + i32x4.extract_lane(m, 3);
}

/** The levels l as floats q = 2*l + 1. */
// @ts-ignore: decorator
@inline function __q_f32x4(l: v128): v128 { return f32x4.convert_i32x4_s(i32x4.add(i32x4.shl(l, 1), i32x4.splat(1))); }

/** One term of a neighbour distance, per lane: C's `diff = scale*q - x; d2 += w*diff*diff`. */
// @ts-ignore: decorator
@inline function __add_wdiff2(d2: v128, s: v128, q: v128, x: v128, w: v128): v128 {
  const diff = f32x4.sub(f32x4.mul(s, q), x);
  return f32x4.add(d2, f32x4.mul(f32x4.mul(w, diff), diff));
}

/** A neighbour's distance per lane, its 4 terms (levels q0..q3) summed from 0 in C's order. */
// @ts-ignore: decorator
@inline function __dist2_f32x4(s: v128, q0: v128, q1: v128, q2: v128, q3: v128, x0: v128, x1: v128, x2: v128, x3: v128, w0: v128, w1: v128, w2: v128, w3: v128): v128 {
  const d2 = __add_wdiff2(__add_wdiff2(f32x4.splat(0), s, q0, x0, w0), s, q1, x1, w1);
  return __add_wdiff2(__add_wdiff2(d2, s, q2, x2, w2), s, q3, x3, w3);
}

/**
 * iq3_find_best_neighbour for group k with one lane per neighbour, 4 at a time: lane j of chunk c
 * sums w_i*(scale*q_i - x_i)² over i = 0..3 from 0, as C does for neighbour 4c + j. C keeps the first
 * distance below the running best (starting at FLT_MAX) in list order. Here each lane keeps its own
 * first minimum (strict `<` over its chunks; NaN never qualifies); the answer is the smallest list
 * position among the lanes holding the smallest of those minima (+0 and -0 compare equal either
 * way): no data-dependent branch. nbt: the list's chunks.
 */
function best_neighbour_v(nb: usize, nbt: usize, k: i32, scale: f32): i32 {
  const num = <i32>load<u16>(nb);
  const s = f32x4.splat(scale);
  const xs = XVAL + (<usize>k << 4), ws = WAUX + (<usize>k << 4);
  const x0 = v128.load32_splat(xs), x1 = v128.load32_splat(xs, 4), x2 = v128.load32_splat(xs, 8), x3 = v128.load32_splat(xs, 12);
  const w0 = v128.load32_splat(ws), w1 = v128.load32_splat(ws, 4), w2 = v128.load32_splat(ws, 8), w3 = v128.load32_splat(ws, 12);
  let best = f32x4.splat(FLT_MAX);
  let at = i32x4.splat(0);
  let pos = i32x4(0, 1, 2, 3);
  for (let j = 0; j < num; j += 4) {
    const p = nbt + (<usize>j << 4);
    const d2 = __dist2_f32x4(s, v128.load(p), v128.load(p, 16), v128.load(p, 32), v128.load(p, 48), x0, x1, x2, x3, w0, w1, w2, w3);
    const lt = f32x4.lt(d2, best);
    best = f32x4.pmin(best, d2); // d2 < best ? d2 : best
    at = v128.bitselect(pos, at, lt);
    pos = i32x4.add(pos, i32x4.splat(4));
  }
  let m = f32x4.pmin(best, v128.shuffle<f32>(best, best, 2, 3, 0, 1));
  m = f32x4.pmin(m, v128.shuffle<f32>(m, m, 1, 0, 3, 2));
  if (!(f32x4.extract_lane(m, 0) < FLT_MAX)) return -1;
  let first = v128.bitselect(at, i32x4.splat(i32.MAX_VALUE), f32x4.eq(best, m));
  first = i32x4.min_s(first, v128.shuffle<i32>(first, first, 2, 3, 0, 1));
  const j = min(i32x4.extract_lane(first, 0), i32x4.extract_lane(first, 1));
  return <i32>load<u16>(nb + (<usize>(j + 1) << 1));
}

/**
 * iq3_find_best_neighbour for group k in the 4 trials of a batch that share one off-grid word (list
 * at nb), one lane per trial (scales s): each lane runs C's loop over the list (the distance summed
 * over i = 0..3 from 0; the first one below the running best, from FLT_MAX, wins). Returns each
 * lane's grid index, -1 where no distance is below FLT_MAX.
 */
function best_neighbours_4t(nb: usize, gridf: usize, k: i32, s: v128): v128 {
  const num = <i32>load<u16>(nb);
  const xs = XVAL + (<usize>k << 4), ws = WAUX + (<usize>k << 4);
  const x0 = v128.load32_splat(xs), x1 = v128.load32_splat(xs, 4), x2 = v128.load32_splat(xs, 8), x3 = v128.load32_splat(xs, 12);
  const w0 = v128.load32_splat(ws), w1 = v128.load32_splat(ws, 4), w2 = v128.load32_splat(ws, 8), w3 = v128.load32_splat(ws, 12);
  let best = f32x4.splat(FLT_MAX);
  let gi = i32x4.splat(-1);
  for (let j = 1; j <= num; ++j) {
    const g = <i32>load<u16>(nb + (<usize>j << 1));
    const q = gridf + (<usize>g << 4);
    const d2 = __dist2_f32x4(s, v128.load32_splat(q), v128.load32_splat(q, 4), v128.load32_splat(q, 8), v128.load32_splat(q, 12), x0, x1, x2, x3, w0, w1, w2, w3);
    const lt = f32x4.lt(d2, best);
    best = f32x4.pmin(best, d2); // d2 < best ? d2 : best
    gi = v128.bitselect(i32x4.splat(g), gi, lt);
  }
  return gi;
}

/** Group k's grid point for inverse scale id (scale for the neighbour search): its index into GI
 *  and its levels into QF (at gi, qf); returns whether the levels were on the grid. */
// @ts-ignore: decorator
@inline function snap_group_v(k: i32, id: f32, scale: f32, gridf: usize, map: usize, neighbours: usize, nbt: usize, nbtOff: usize, gi: usize, qf: usize): bool {
  const x = v128.load(XVAL + (<usize>k << 4));
  const l = __levels_f32x4(x, id, K_MAX_Q - 1);
  const u = __level_word_i32x4(l);
  let g = load<i32>(map + (<usize>u << 2));
  if (g >= 0) {
    store<i32>(gi + (<usize>k << 2), g);
    v128.store(qf + (<usize>k << 4), __q_f32x4(l));
    return true;
  }
  g = best_neighbour_v(neighbours + (<usize>(-g - 1) << 1), nbt + <usize>load<i32>(nbtOff + (<usize>u << 2)), k, scale);
  if (g < 0) { aborted = true; g = 0; }
  store<i32>(gi + (<usize>k << 2), g);
  v128.store(qf + (<usize>k << 4), v128.load(gridf + (<usize>g << 4)));
  return false;
}

/** weighted_sums over float levels: Σ (w*x)*q and Σ (w*q)*q in order; returns sumqx, sets sumq2_out. */
// @ts-ignore: decorator
@inline function weighted_sums_v(qf: usize): f32 {
  let sumqx: f32 = 0, sumq2: f32 = 0;
  for (let i = 0; i < 32; ++i) {
    const q = f32_at(qf, i);
    sumqx += f32_at(WX, i) * q;
    sumq2 += f32_at(WEIGHT, i) * q * q;
  }
  sumq2_out = sumq2;
  return sumqx;
}

/** The trials by batches of 4 (lane j of batch b: trial 4b + j; at most 31 trials, 8 batches; the
 *  lanes past the last trial are computed and never read): the scales (SCALE_T); per group its
 *  level words (WORD_T, v128 per group); per value its level as a float (QF_TT, v128 per value: the
 *  sums' operands); per group and trial (32 trials a group) its grid index (GI_T) and whether its
 *  word is on the grid (ON_T, all ones or zero); per trial the sums. */
const MAX_BATCHES: i32 = 8;
const SCALE_T: usize = memory.data(MAX_BATCHES << 4, 16);
const WORD_T: usize = memory.data(MAX_BATCHES * (8 << 4), 16);
const QF_TT: usize = memory.data(MAX_BATCHES * (32 << 4), 16);
const GI_T: usize = memory.data(8 * MAX_BATCHES * (4 << 2), 16);
const ON_T: usize = memory.data(8 * MAX_BATCHES * (4 << 2), 16);
const SUMQX_T: usize = memory.data(MAX_BATCHES << 4, 16);
const SUMQ2_T: usize = memory.data(MAX_BATCHES << 4, 16);

/** Pass 1: every trial's inverse scale id = (15 + 0.2·is)/max and scale 1/id (C's f32 ops, a lane
 *  per trial), and the levels of every value for it, with the groups' words. */
function trial_levels(max: f32, ntry: i32, nbatches: i32): void {
  for (let b = 0; b < nbatches; ++b) {
    const is = f32x4.convert_i32x4_s(i32x4.add(i32x4.splat(4 * b - ntry), i32x4(0, 1, 2, 3)));
    const id = f32x4.div(f32x4.add(f32x4.splat(KMAXQ_2M1), f32x4.mul(is, f32x4.splat(<f32>0.2))), f32x4.splat(max));
    v128.store(SCALE_T + (<usize>b << 4), f32x4.div(f32x4.splat(<f32>1), id));
    const qt = QF_TT + (<usize>b << 9);
    for (let k = 0; k < 8; ++k) {
      const xk = XVAL + (<usize>k << 4), qk = qt + (<usize>k << 6);
      const l0 = __levels_idv_f32x4(v128.load32_splat(xk), id, K_MAX_Q - 1);
      const l1 = __levels_idv_f32x4(v128.load32_splat(xk, 4), id, K_MAX_Q - 1);
      const l2 = __levels_idv_f32x4(v128.load32_splat(xk, 8), id, K_MAX_Q - 1);
      const l3 = __levels_idv_f32x4(v128.load32_splat(xk, 12), id, K_MAX_Q - 1);
      v128.store(qk, __q_f32x4(l0));
      v128.store(qk, __q_f32x4(l1), 16);
      v128.store(qk, __q_f32x4(l2), 32);
      v128.store(qk, __q_f32x4(l3), 48);
      v128.store(WORD_T + (<usize>b << 7) + (<usize>k << 4), v128.or(v128.or(l0, i32x4.shl(l1, 3)), v128.or(i32x4.shl(l2, 6), i32x4.shl(l3, 9))));
    }
  }
}

/** Pass 2: per group and batch, the 4 map lookups; where a word is off the grid, the neighbour
 *  search (one for the batch when all its trials have that word, else one per trial), whose grid
 *  point replaces the trial's index and levels. Sets `aborted` when a search fails. */
function snap_trials(ntrials: i32, nbatches: i32, gridf: usize, map: usize, neighbours: usize, nbt: usize, nbtOff: usize): void {
  for (let k = 0; k < 8; ++k) {
    for (let b = 0; b < nbatches; ++b) {
      const words = v128.load(WORD_T + (<usize>b << 7) + (<usize>k << 4));
      const u0 = i32x4.extract_lane(words, 0), u1 = i32x4.extract_lane(words, 1), u2 = i32x4.extract_lane(words, 2), u3 = i32x4.extract_lane(words, 3);
      const gv = i32x4(load<i32>(map + (<usize>u0 << 2)), load<i32>(map + (<usize>u1 << 2)), load<i32>(map + (<usize>u2 << 2)), load<i32>(map + (<usize>u3 << 2)));
      const gt = GI_T + (<usize>(32 * k + 4 * b) << 2);
      v128.store(gt, gv);
      v128.store(ON_T + (<usize>(32 * k + 4 * b) << 2), i32x4.ge_s(gv, i32x4.splat(0)));
      const valid = (1 << min(4, ntrials - 4 * b)) - 1; // lane bits of the batch's trials
      const off = i32x4.bitmask(gv) & valid;
      if (off == 0) continue;
      const qk = QF_TT + (<usize>b << 9) + (<usize>k << 6);
      if (off == valid && (i32x4.bitmask(i32x4.eq(words, i32x4.splat(u0))) & valid) == valid) {
        let g = best_neighbours_4t(neighbours + (<usize>(-i32x4.extract_lane(gv, 0) - 1) << 1), gridf, k, v128.load(SCALE_T + (<usize>b << 4)));
        if ((i32x4.bitmask(g) & valid) != 0) aborted = true;
        g = i32x4.max_s(g, i32x4.splat(0));
        v128.store(gt, g);
        __transpose4_store(v128.load(gridf + (<usize>i32x4.extract_lane(g, 0) << 4)), v128.load(gridf + (<usize>i32x4.extract_lane(g, 1) << 4)),
          v128.load(gridf + (<usize>i32x4.extract_lane(g, 2) << 4)), v128.load(gridf + (<usize>i32x4.extract_lane(g, 3) << 4)), qk);
        continue;
      }
      for (let m = off; m != 0; m &= m - 1) {
        const j = ctz(m);
        const u = load<i32>(WORD_T + (<usize>b << 7) + (<usize>k << 4) + (<usize>j << 2));
        let g = best_neighbour_v(neighbours + (<usize>(-load<i32>(gt + (<usize>j << 2)) - 1) << 1), nbt + <usize>load<i32>(nbtOff + (<usize>u << 2)), k, load<f32>(SCALE_T + (<usize>(4 * b + j) << 2)));
        if (g < 0) { aborted = true; g = 0; }
        store<i32>(gt + (<usize>j << 2), g);
        const q = gridf + (<usize>g << 4), ql = qk + (<usize>j << 2);
        store<f32>(ql, load<f32>(q));
        store<f32>(ql, load<f32>(q, 4), 16);
        store<f32>(ql, load<f32>(q, 8), 32);
        store<f32>(ql, load<f32>(q, 12), 48);
      }
    }
  }
}

/** Pass 3: Σ (w*x)*q and Σ (w*q)*q of every trial, a lane per trial, each over its 32 values in order. */
function trial_sums(nbatches: i32): void {
  for (let i = 0; i < 32; ++i) set_f32(WX, i, f32_at(WEIGHT, i) * f32_at(XVAL, i));
  for (let b = 0; b < nbatches; ++b) {
    const qt = QF_TT + (<usize>b << 9);
    let sqx = f32x4.splat(0), sq2 = f32x4.splat(0);
    for (let i = 0; i < 32; ++i) {
      const q = v128.load(qt + (<usize>i << 4));
      sqx = f32x4.add(sqx, f32x4.mul(v128.load32_splat(WX + (<usize>i << 2)), q));
      sq2 = f32x4.add(sq2, f32x4.mul(f32x4.mul(v128.load32_splat(WEIGHT + (<usize>i << 2)), q), q));
    }
    v128.store(SUMQX_T + (<usize>b << 4), sqx);
    v128.store(SUMQ2_T + (<usize>b << 4), sq2);
  }
}

/**
 * search_scale, vector version: the three passes above, then C's sequential choice of the best
 * trial. Leaves the best trial in GI / ON_GRID and its groups' levels in QF (an on-grid word's
 * levels are its grid point's; when no trial is accepted, grid point 0, levels 0 in both grids:
 * C's L cleared to zero).
 */
function search_scale_v(max: f32, ntry: i32, gridf: usize, map: usize, neighbours: usize, nbt: usize, nbtOff: usize): f32 {
  const ntrials = 2 * ntry + 1;
  const nbatches = (ntrials + 3) >> 2;
  trial_levels(max, ntry, nbatches);
  snap_trials(ntrials, nbatches, gridf, map, neighbours, nbt, nbtOff);
  trial_sums(nbatches);
  let best: f32 = 0;
  let scale: f32 = max / KMAXQ_2M1;
  let bestTrial = -1;
  for (let t = 0; t < ntrials; ++t) {
    const sumqx = f32_at(SUMQX_T, t), sumq2 = f32_at(SUMQ2_T, t);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      scale = sumqx / sumq2;
      best = scale * sumqx;
      bestTrial = t;
    }
  }
  if (bestTrial >= 0) {
    for (let k = 0; k < 8; ++k) {
      store<i32>(GI + (<usize>k << 2), load<i32>(GI_T + (<usize>(32 * k + bestTrial) << 2)));
      store<bool>(ON_GRID + k, load<i32>(ON_T + (<usize>(32 * k + bestTrial) << 2)) != 0);
    }
  } else {
    memory.fill(GI, 0, 8 << 2);
  }
  for (let k = 0; k < 8; ++k) v128.store(QF + (<usize>k << 4), v128.load(gridf + (<usize>load<i32>(GI + (<usize>k << 2)) << 4)));
  return scale;
}

/** refit_off_grid, vector version (on GI / QF). */
function refit_off_grid_v(scale: f32, onlyOffGrid: bool, gridf: usize, map: usize, neighbours: usize, nbt: usize, nbtOff: usize): f32 {
  const id: f32 = <f32>1 / scale;
  for (let k = 0; k < 8; ++k) {
    if (onlyOffGrid && load<bool>(ON_GRID + k)) continue;
    snap_group_v(k, id, scale, gridf, map, neighbours, nbt, nbtOff, GI, QF);
  }
  const sumqx = weighted_sums_v(QF);
  const sumq2 = sumq2_out;
  return sumq2 > 0 ? sumqx / sumq2 : scale;
}

/** The levels of the groups' grid points (GI) into L, as the scalar path leaves them. */
function levels_from_gi(grid: usize, L: usize): void {
  for (let k = 0; k < 8; ++k) {
    const pg = grid + (<usize>load<i32>(GI + (<usize>k << 2)) << 2);
    for (let i = 0; i < 4; ++i) store<i8>(L + (<usize>(4 * k + i)), <i8>((<i32>load<u8>(pg + i) - 1) / 2));
  }
}

/** The search, the refit of the groups off the grid and the levels into L, by either path. */
function fit_sub_block(max: f32, ntry: i32, xxs: bool, grid: usize, gridf: usize, map: usize, neighbours: usize, nbt: usize, nbtOff: usize): f32 {
  memory.fill(ON_GRID, xxs ? 1 : 0, 8);
  const vec = !use_scalar();
  let scale = vec ? search_scale_v(max, ntry, gridf, map, neighbours, nbt, nbtOff) : search_scale(max, ntry, grid, map, neighbours, L);
  let n_not_ongrid = 0;
  for (let k = 0; k < 8; ++k) if (!load<bool>(ON_GRID + k)) ++n_not_ongrid;
  if (n_not_ongrid > 0 && scale > 0) {
    scale = vec ? refit_off_grid_v(scale, xxs, gridf, map, neighbours, nbt, nbtOff) : refit_off_grid(scale, xxs, grid, map, neighbours, L);
  }
  if (vec) levels_from_gi(grid, L);
  return scale;
}

// ---- block_iq3_xxs (ggml-common.h): ggml_half d; uint8_t qs[3*QK_K/8] (grid indices, then u32 scales_and_signs) ----
/** sizeof(block_iq3_xxs) = 98 */
export const IQ3XXS_BLOCK_BYTES: usize = 2 + 3 * QK_K / 8;

/** quantize_row_iq3_xxs_impl(256, ...) over one row: n values at x into n/256 blocks at y, importance qw or 0. */
export function quantize_row_iq3_xxs(x: usize, y: usize, n: i32, qw: usize): usize {
  iq3_init();
  aborted = false;
  const nbl = n / QK_K;
  const scales_and_signs = Q3 + QK_K / 4;
  for (let ibl = 0; ibl < nbl; ++ibl) {
    const blk = y + <usize>ibl * IQ3XXS_BLOCK_BYTES;
    store<u16>(blk, 0); // GGML_FP32_TO_FP16(0.f)
    memory.fill(Q3, 0, 3 * QK_K / 8 + QK_K / 32);
    let max_scale: f32 = 0;
    const xbl = x + (<usize>(QK_K * ibl) << 2);
    const sigma2 = super_block_sigma2(xbl);

    for (let ib = 0; ib < QK_K / 32; ++ib) {
      const xb = xbl + (<usize>(32 * ib) << 2);
      sub_block_weights(xb, qw != 0 ? qw + (<usize>(QK_K * ibl + 32 * ib) << 2) : 0, sigma2);
      // signs of each 8: an odd number of negatives flips back the one with the least w·x²
      for (let k = 0; k < 4; ++k) {
        let s = abs_and_signs(xb, k);
        if (popcnt(s) % 2) {
          let imin_ = 0;
          let min: f32 = f32_at(WEIGHT, 8 * k) * f32_at(xb, 8 * k) * f32_at(xb, 8 * k);
          for (let i = 1; i < 8; ++i) {
            const ax: f32 = f32_at(WEIGHT, 8 * k + i) * f32_at(xb, 8 * k + i) * f32_at(xb, 8 * k + i);
            if (ax < min) { min = ax; imin_ = i; }
          }
          set_f32(XVAL, 8 * k + imin_, -f32_at(XVAL, 8 * k + imin_));
          s ^= 1 << <u32>imin_;
        }
        store<u8>(BLOCK_SIGNS + k, <u8>(s & 127));
      }
      let max: f32 = f32_at(XVAL, 0);
      for (let i = 1; i < 32; ++i) max = cmax(max, f32_at(XVAL, i));
      memory.fill(L, 0, 32);
      if (max < GROUP_MAX_EPS_IQ3_XXS) {
        set_f32(SCALES, ib, 0);
        continue;
      }
      let scale = fit_sub_block(max, 15, true, GRID_256, GRIDF_256, MAP_256, NEIGHBOURS_256, NBT_256, NBT_OFF_256);
      if (scale < 0) {
        scale = -scale;
        for (let k = 0; k < 4; ++k) store<u8>(BLOCK_SIGNS + k, ~load<u8>(BLOCK_SIGNS + k) & 127);
      }
      for (let k = 0; k < 8; ++k) {
        const gi = load<i32>(MAP_256 + (<usize>level_word(L + (<usize>k << 2)) << 2));
        if (gi < 0) aborted = true; // "Oops: found point not on grid"
        store<u8>(Q3 + <usize>(8 * ib + k), <u8>gi);
      }
      store<u32>(scales_and_signs + (<usize>ib << 2),
        <u32>load<u8>(BLOCK_SIGNS) | (<u32>load<u8>(BLOCK_SIGNS + 1) << 7) | (<u32>load<u8>(BLOCK_SIGNS + 2) << 14) | (<u32>load<u8>(BLOCK_SIGNS + 3) << 21));
      if (!(scale >= 0)) aborted = true; // GGML_ASSERT(scale >= 0): a NaN scale
      set_f32(SCALES, ib, scale);
      max_scale = cmax(max_scale, scale);
    }

    if (max_scale == 0) { // C's `!max_scale` (a NaN is truthy)
      memory.fill(blk + 2, 0, 3 * QK_K / 8);
      continue;
    }
    const d: f32 = max_scale / <f32>31;
    store_f16(blk, d * <f32>1.0125);
    const id: f32 = <f32>1 / d;
    for (let ib = 0; ib < QK_K / 32; ++ib) {
      const l = imax(0, imin(15, nearest_int(<f32>0.5 * (id * f32_at(SCALES, ib) - <f32>1))));
      const p = scales_and_signs + (<usize>ib << 2);
      store<u32>(p, load<u32>(p) | (<u32>l << 28));
    }
    memory.copy(blk + 2, Q3, 3 * QK_K / 8);
  }
  if (aborted) llama_aborts();
  return <usize>nbl * IQ3XXS_BLOCK_BYTES;
}

// ---- block_iq3_s (ggml-common.h): ggml_half d; uint8_t qs[QK_K/4]; qh[QK_K/32]; signs[QK_K/8]; scales[QK_K/64] ----
export const IQ3S_QS: usize = 2;
export const IQ3S_QH: usize = IQ3S_QS + QK_K / 4;
export const IQ3S_SIGNS: usize = IQ3S_QH + QK_K / 32;
export const IQ3S_SCALES: usize = IQ3S_SIGNS + QK_K / 8;
/** sizeof(block_iq3_s) = 110 */
export const IQ3S_BLOCK_BYTES: usize = IQ3S_SCALES + QK_K / 64;

/** quantize_row_iq3_s_impl(32, ...) over one row: n values at x into n/256 blocks at y, importance qw or 0. */
export function quantize_row_iq3_s(x: usize, y: usize, n: i32, qw: usize): usize {
  iq3_init();
  aborted = false;
  const nbl = n / QK_K;
  for (let ibl = 0; ibl < nbl; ++ibl) {
    const blk = y + <usize>ibl * IQ3S_BLOCK_BYTES;
    memory.fill(blk, 0, IQ3S_BLOCK_BYTES);
    let qs = blk + IQ3S_QS;
    const qh = blk + IQ3S_QH;
    let signs = blk + IQ3S_SIGNS;
    let max_scale: f32 = 0;
    const xbl = x + (<usize>(QK_K * ibl) << 2);
    const sigma2 = super_block_sigma2(xbl);

    for (let ib = 0; ib < QK_K / 32; ++ib) {
      const xb = xbl + (<usize>(32 * ib) << 2);
      sub_block_weights(xb, qw != 0 ? qw + (<usize>(QK_K * ibl + 32 * ib) << 2) : 0, sigma2);
      for (let k = 0; k < 4; ++k) store<u8>(BLOCK_SIGNS + k, <u8>abs_and_signs(xb, k));
      let max: f32 = f32_at(XVAL, 0);
      for (let i = 1; i < 32; ++i) max = cmax(max, f32_at(XVAL, i));
      memory.fill(L, 0, 32);
      if (max == 0) { // C's `!max`; qs and signs stay where they are (see the header)
        set_f32(SCALES, ib, 0);
        continue;
      }
      let scale = fit_sub_block(max, 9, false, GRID_512, GRIDF_512, MAP_512, NEIGHBOURS_512, NBT_512, NBT_OFF_512);
      if (scale < 0) {
        scale = -scale;
        for (let k = 0; k < 4; ++k) store<u8>(BLOCK_SIGNS + k, ~load<u8>(BLOCK_SIGNS + k));
      }
      for (let k = 0; k < 8; ++k) {
        const gi = load<i32>(MAP_512 + (<usize>level_word(L + (<usize>k << 2)) << 2));
        if (gi < 0) aborted = true; // "Oops: found point not on grid"
        store<u8>(qs + k, <u8>(gi & 255));
        const bit = ib * 8 + k;
        const p = qh + <usize>(bit / 8);
        store<u8>(p, load<u8>(p) | <u8>((gi >> 8) << (bit % 8)));
      }
      qs += 8;
      for (let k = 0; k < 4; ++k) store<u8>(signs + k, load<u8>(BLOCK_SIGNS + k));
      signs += 4;
      if (!(scale >= 0)) aborted = true; // GGML_ASSERT(scale >= 0)
      set_f32(SCALES, ib, scale);
      max_scale = cmax(max_scale, scale);
    }

    if (max_scale == 0) continue;
    const d: f32 = max_scale / <f32>31;
    store_f16(blk, d * <f32>1.033);
    const id: f32 = <f32>1 / d;
    for (let ib = 0; ib < QK_K / 32; ib += 2) {
      const l1 = imax(0, imin(15, nearest_int(<f32>0.5 * (id * f32_at(SCALES, ib) - <f32>1))));
      const l2 = imax(0, imin(15, nearest_int(<f32>0.5 * (id * f32_at(SCALES, ib + 1) - <f32>1))));
      store<u8>(blk + IQ3S_SCALES + <usize>(ib / 2), <u8>(l1 | (l2 << 4)));
    }
  }
  if (aborted) llama_aborts();
  return <usize>nbl * IQ3S_BLOCK_BYTES;
}
