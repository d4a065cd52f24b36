// port of quantize_row_iq2_xxs_impl, quantize_row_iq2_xs_impl and quantize_row_iq2_s_impl
// (with iq2_find_best_neighbour), ggml-quants.c @ 36491e40, as ggml_quantize_chunk runs them after
// ggml_quantize_init (lattices: lattice.ts).
//
// Each 8-value group of a sub-block is a point of an E8-like lattice (grid values 1, 3, 5 = levels
// 0..2) times a per-sub-block scale, with the signs kept apart (iq2_xxs/iq2_xs: 7 sign bits, the
// eighth implied by even parity, so an odd group flips its least important value). The scale search
// tries 13 (iq2_xxs) or 19 (iq2_xs, iq2_s) trial scales; a level vector off the grid snaps to its
// nearest listed neighbour by weighted distance.
//
// imatrix: iq2_xxs and iq2_xs require one (ggml_quantize_chunk asserts it; we report
// FAIL_NO_IMATRIX); iq2_s without one weighs 0.25·sigma2 + x².
// Where llama.cpp aborts (GGML_ASSERT/GGML_ABORT on NaN scales, points it cannot place, ...), the
// row quantizer calls kernel_abort (rows.ts) and returns.
//
// Exactness: f32 in C's operand order (`w*xval*q` is (w*xval)*q), nearest_int the 12582912 trick,
// C's MAX (a NaN survives only as the last operand), int8 L[] packed into a uint16 as C does.
// Two paths write the same bytes: the scalar one (the reference, set_scalar_kernels(1)) and the
// default vector one. Its trial loop (search_trials) puts the trials in lanes, 4 trial scales per
// v128, each lane doing the scalar arithmetic for its own scale: the levels, level words and float
// levels of every value (trial_levels_v); the map lookups, 4 per batch, and for the off-grid words
// one neighbour search per word shared by 2 or more trials of a batch (a lane per trial, terms looked
// up per coordinate and level) or nearest_listed (lattice.ts, 4 neighbours per v128) for a word of
// one trial (snap_trials_v); the sums straight from the trials' float levels (trial_sums_v); then C's
// accept tests in trial order. The refit of the chosen scale uses group_levels and nearest_listed.
// Profile (weight-like rows, n = 4096): per group and batch of 4 trials, about half the words are
// off the grid; iq2_s makes ~5 shared searches (lists of 9 neighbours) and ~1 single one per
// sub-block of 16, iq2_xs the same with lists of 60, iq2_xxs ~8 shared and ~4 single ones with
// lists of 31 per sub-block of 32. The shared searches' list scans dominate (half the time, most of it for iq2_xs); the
// levels and sums take a quarter.

import { nearest_int, store_f16 } from "./common";
import { make_qp_quants, GROUP_MAX_EPS, clamp_i32 } from "./search";
import { LATTICE_IQ2XXS, LATTICE_IQ2XS, LATTICE_IQ2S, lattice_init, lattice_grid, kmap, neighbours_of, group_terms, nearest_listed } from "./lattice";
import { use_scalar, __levels_f32x4, __levels_idv_f32x4, __transpose4_store } from "./simd";
import { kernel_abort, aborted, FAIL_NO_IMATRIX, FAIL_NO_NEIGHBOUR, FAIL_OFF_GRID, FAIL_SCALE, FAIL_OUT_OF_BOUNDS } from "./rows";

const QK_K: i32 = 256;
const KMAP_SIZE: i32 = 43692;
const FLT_MAX: f32 = reinterpret<f32>(0x7f7fffff);
/** GROUP_MAX_EPS_IQ2_S = 1e-8f */
const GROUP_MAX_EPS_IQ2_S: f32 = <f32>1e-8;

// Per-call scratch, as C's stack arrays (sized for the largest sub-block, 32)
const WEIGHT: usize = memory.data(32 << 2, 16);
const WAUX: usize = memory.data(32 << 2, 16);
const XVAL: usize = memory.data(32 << 2, 16);
const L: usize = memory.data(32, 16);    // int8_t L[]
const LAUX: usize = memory.data(32, 16); // int8_t Laux[]
const SCALES: usize = memory.data(16 << 2, 16);
const SIGNS: usize = memory.data(4, 16);  // uint8_t block_signs[]
const ON_GRID: usize = memory.data(2, 16);
const ON_GRID_AUX: usize = memory.data(2, 16);
const Q2: usize = memory.data(64, 16);    // the packed quants of one block, before the copy out

// @ts-ignore: decorator
@inline function f(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline function setf(p: usize, i: i32, v: f32): void { store<f32>(p + (<usize>i << 2), v); }

/** Σ x² over the super-block, in order. */
// @ts-ignore: decorator
@inline function sum_squares(x: usize): f32 {
  let s: f32 = 0;
  for (let i = 0; i < QK_K; ++i) { const xi = f(x, i); s += xi * xi; }
  return s;
}

/** u = Σ L[i] << 2i over 8 int8 levels at p, as C builds its uint16 (sign-extended, truncated). */
// @ts-ignore: decorator
@inline function pack_levels(p: usize): i32 {
  let u = 0;
  for (let i = 0; i < 8; ++i) u |= <i32>load<i8>(p + <usize>i) << (2 * i);
  return u & 0xffff;
}

/** kmap_q2xs[u] for a u that C would read; FAIL_OUT_OF_BOUNDS (and -1) past the table. */
// @ts-ignore: decorator
@inline function lookup(g: i32, u: i32): i32 {
  if (u >= KMAP_SIZE) { kernel_abort(FAIL_OUT_OF_BOUNDS); return -1; }
  return kmap(g, u);
}

/** The levels (pg[i] - 1)/2 of grid point index into 8 int8 at Lp. */
// @ts-ignore: decorator
@inline function grid_levels(g: i32, index: i32, Lp: usize): void {
  const pg = lattice_grid(g) + (<usize>index << 3);
  for (let i = 0; i < 8; ++i) store<i8>(Lp + <usize>i, <i8>((<i32>load<i8>(pg + <usize>i) - 1) / 2));
}

/**
 * iq2_find_best_neighbour: of the neighbours listed for off-grid vector m (kmap value), the one
 * nearest to xval by Σ weight·(scale·q - x)² (first of equals); writes its levels to Lp and returns
 * its index, or -1 after kernel_abort when none compares below FLT_MAX (NaN or overflow).
 */
function find_best_neighbour(g: i32, m: i32, xval: usize, weight: usize, scale: f32, Lp: usize): i32 {
  if (!use_scalar()) {
    group_terms(1, 3, 5, xval, weight, scale);
    const grid_index = nearest_listed(g, m);
    if (grid_index < 0) { kernel_abort(FAIL_NO_NEIGHBOUR); return -1; }
    grid_levels(g, grid_index, Lp);
    return grid_index;
  }
  const nb = neighbours_of(g, m);
  const num = <i32>load<u16>(nb);
  const grid = lattice_grid(g);
  let best_d2: f32 = FLT_MAX;
  let grid_index = -1;
  for (let j = 1; j <= num; ++j) {
    const index = <i32>load<u16>(nb + (<usize>j << 1));
    const pg = grid + (<usize>index << 3);
    let d2: f32 = 0;
    for (let i = 0; i < 8; ++i) {
      const q: f32 = <f32>load<i8>(pg + <usize>i);
      const diff: f32 = scale * q - f(xval, i);
      d2 += f(weight, i) * diff * diff;
    }
    if (d2 < best_d2) { best_d2 = d2; grid_index = index; }
  }
  if (grid_index < 0) { kernel_abort(FAIL_NO_NEIGHBOUR); return -1; }
  grid_levels(g, grid_index, Lp);
  return grid_index;
}

/** weight[i] = qw[i]·sqrt(sigma2 + x²) (qw != 0) or iq2_s's 0.25·sigma2 + x², then waux = sqrt(weight). */
function weights(xb: usize, qw: usize, n: i32, sigma2: f32): void {
  if (qw != 0) {
    for (let i = 0; i < n; ++i) { const xi = f(xb, i); setf(WEIGHT, i, f(qw, i) * Mathf.sqrt(sigma2 + xi * xi)); }
  } else {
    for (let i = 0; i < n; ++i) { const xi = f(xb, i); setf(WEIGHT, i, <f32>0.25 * sigma2 + xi * xi); }
  }
  for (let i = 0; i < n; ++i) setf(WAUX, i, Mathf.sqrt(f(WEIGHT, i)));
}

/**
 * xval = |x| per group of 8 with the sign bits in block_signs[k]; parity (iq2_xxs, iq2_xs): a group
 * with an odd number of negatives flips back the value of least weight·x² (the first of equals), so
 * that 7 bits carry the signs; the byte is kept & 127. iq2_s keeps all 8 bits.
 */
function split_signs(xb: usize, groups: i32, parity: bool): void {
  for (let k = 0; k < groups; ++k) {
    let nflip = 0;
    let s: u32 = 0;
    for (let i = 0; i < 8; ++i) {
      const xi = f(xb, 8 * k + i);
      if (xi >= 0) setf(XVAL, 8 * k + i, xi);
      else { setf(XVAL, 8 * k + i, -xi); ++nflip; s |= 1 << i; }
    }
    if (parity && (nflip & 1)) {
      let imin = 0;
      let min: f32 = f(WEIGHT, 8 * k) * f(xb, 8 * k) * f(xb, 8 * k);
      for (let i = 1; i < 8; ++i) {
        const ax: f32 = f(WEIGHT, 8 * k + i) * f(xb, 8 * k + i) * f(xb, 8 * k + i);
        if (ax < min) { min = ax; imin = i; }
      }
      setf(XVAL, 8 * k + imin, -f(XVAL, 8 * k + imin));
      s ^= 1 << imin;
    }
    store<u8>(SIGNS + <usize>k, <u8>(parity ? s & 127 : s));
  }
}

/** MAX over xval[0..n) in C's order. */
// @ts-ignore: decorator
@inline function max_xval(n: i32): f32 {
  let max: f32 = f(XVAL, 0);
  for (let i = 1; i < n; ++i) { const v = f(XVAL, i); max = max > v ? max : v; }
  return max;
}

/**
 * The levels clamp(nearest_int(0.5·(id·x - 1)), 0, 2) of the 8 values at x into 8 int8 at Lp;
 * returns their packed word u (pack_levels). Lane-wise f32 by default, the scalar loop as reference.
 */
// @ts-ignore: decorator
@inline function group_levels(x: usize, id: f32, Lp: usize): i32 {
  if (use_scalar()) {
    for (let i = 0; i < 8; ++i) store<i8>(Lp + <usize>i, <i8>clamp_i32(nearest_int(<f32>0.5 * (id * f(x, i) - 1)), 0, 2));
    return pack_levels(Lp);
  }
  const l0 = __levels_f32x4(v128.load(x), id, 2), l1 = __levels_f32x4(v128.load(x, 16), id, 2);
  v128.store64_lane(Lp, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(l0, l1), l0), 0);
  // levels 0..2: the weighted sum is the packed word, and integer sums have no order
  const u = i32x4.add(i32x4.mul(l0, i32x4(1, 4, 16, 64)), i32x4.mul(l1, i32x4(256, 1024, 4096, 16384)));
  const u2 = i32x4.add(u, i32x4.shuffle(u, u, 2, 3, 0, 1));
  return i32x4.extract_lane(u2, 0) + i32x4.extract_lane(u2, 1);
}

/**
 * One trial scale: levels nearest_int(0.5·(id·xval - 1)) clamped to 0..2 into Laux per group, each
 * off-grid group snapped to its best neighbour at this_scale (on_grid_aux[k] says which were on the
 * grid). Returns false after kernel_abort.
 */
function trial_levels(g: i32, groups: i32, id: f32, this_scale: f32, track: bool, laux: usize = LAUX, on_grid_aux: usize = ON_GRID_AUX): bool {
  for (let k = 0; k < groups; ++k) {
    const u = group_levels(XVAL + (<usize>(8 * k) << 2), id, laux + <usize>(8 * k));
    const m = lookup(g, u);
    if (track) store<u8>(on_grid_aux + <usize>k, 1);
    if (m < 0) {
      if (aborted()) return false;
      if (track) store<u8>(on_grid_aux + <usize>k, 0);
      if (find_best_neighbour(g, m, XVAL + (<usize>(8 * k) << 2), WAUX + (<usize>(8 * k) << 2), this_scale, laux + <usize>(8 * k)) < 0) return false;
    }
  }
  return true;
}

// sumqx = Σ (w·xval)·q and sumq2 = Σ (w·q)·q over levels at p, q = 2l + 1
let sumqx_out: f32 = 0;
let sumq2_out: f32 = 0;
// @ts-ignore: decorator
@inline function level_sums(p: usize, n: i32): void {
  let sumqx: f32 = 0, sumq2: f32 = 0;
  for (let i = 0; i < n; ++i) {
    const w = f(WEIGHT, i);
    const qi: i32 = 2 * <i32>load<i8>(p + <usize>i) + 1;
    const q: f32 = <f32>qi;
    sumqx += w * f(XVAL, i) * q;
    sumq2 += w * q * q;
  }
  sumqx_out = sumqx;
  sumq2_out = sumq2;
}

/** The scale search_trials ends with. */
let trials_scale: f32 = 0;
// ---- the vector trial search: trials in lanes. Batch b holds trials is = is0 + 4b + j in lane j
// (the lanes past the last trial are computed and never read). Pass 1: each lane's inverse scale and
// scale (C's f32 ops) and, per value, its level in each trial (as the float q = 2l + 1, the sums'
// operand) with the groups' level words. Pass 2: per group and batch, the 4 map lookups; off-grid
// words snap to their best neighbour (one search with a lane per trial for a word that 2 or more of
// the batch's trials share, else nearest_listed for the one trial), whose point replaces their q.
// Pass 3: the sums, a lane per trial, each over its values in order; then C's accept tests in trial
// order.

const MAX_BATCHES: i32 = 5;
/** per batch: the lanes' scales */
const SCALE_T: usize = memory.data(MAX_BATCHES << 4, 16);
/** per batch and value i (32 per batch): q of each trial */
const QF_T: usize = memory.data(MAX_BATCHES * (32 << 4), 16);
/** per group k and batch b (at (k·MAX_BATCHES + b)·16): the level words, the grid indices, and
 *  whether each word was on the grid (all ones or zero) */
const WORD_T: usize = memory.data(4 * MAX_BATCHES << 4, 16);
const GI_T: usize = memory.data(4 * MAX_BATCHES << 4, 16);
const ON_T: usize = memory.data(4 * MAX_BATCHES << 4, 16);
/** per batch: the lanes' sumqx and sumq2 */
const SUMQX_T: usize = memory.data(MAX_BATCHES << 4, 16);
const SUMQ2_T: usize = memory.data(MAX_BATCHES << 4, 16);
/** w·x per value, as C's first product of sumqx */
const WX: usize = memory.data(32 << 2, 16);
/** TERMS_T + 48i + 16l: coordinate i's term w_i·d·d, d = scale·q_l - x_i, in each trial's lane */
const TERMS_T: usize = memory.data(8 * 3 * 16, 16);

/** Pass 1 (see above) for `groups` groups and batches of is from is0 = -span. */
function trial_levels_v(groups: i32, span: i32, denom: f32, nbatches: i32): void {
  for (let b = 0; b < nbatches; ++b) {
    const is = f32x4.convert_i32x4_s(i32x4.add(i32x4.splat(4 * b - span), i32x4(0, 1, 2, 3)));
    const id = f32x4.div(f32x4.add(f32x4.splat(<f32>5), f32x4.mul(is, f32x4.splat(<f32>0.1))), f32x4.splat(denom));
    v128.store(SCALE_T + (<usize>b << 4), f32x4.div(f32x4.splat(<f32>1), id));
    const qt = QF_T + (<usize>b << 9);
    for (let k = 0; k < groups; ++k) {
      let word = i32x4.splat(0);
      for (let i = 0; i < 8; ++i) {
        const l = __levels_idv_f32x4(v128.load32_splat(XVAL + (<usize>(8 * k + i) << 2)), id, 2);
        v128.store(qt + (<usize>(8 * k + i) << 4), f32x4.convert_i32x4_s(i32x4.add(i32x4.shl(l, 1), i32x4.splat(1))));
        word = v128.or(word, i32x4.shl(l, 2 * i));
      }
      v128.store(WORD_T + (<usize>(k * MAX_BATCHES + b) << 4), word);
    }
  }
}

/** TERMS_T for group k at the scales s of a batch's trials (a lane each): w_i·d·d, d = s·q - x_i,
 *  as C computes each term (and as lattice.ts group_terms does for one scale). */
function trial_terms(k: i32, s: v128): void {
  const x = XVAL + (<usize>(8 * k) << 2), w = WAUX + (<usize>(8 * k) << 2);
  const s0 = f32x4.mul(s, f32x4.splat(<f32>1)), s1 = f32x4.mul(s, f32x4.splat(<f32>3)), s2 = f32x4.mul(s, f32x4.splat(<f32>5));
  for (let i = 0; i < 8; ++i) {
    const xi = v128.load32_splat(x + (<usize>i << 2)), wi = v128.load32_splat(w + (<usize>i << 2));
    const t = TERMS_T + (<usize>(48 * i));
    let d = f32x4.sub(s0, xi);
    v128.store(t, f32x4.mul(f32x4.mul(wi, d), d));
    d = f32x4.sub(s1, xi);
    v128.store(t, f32x4.mul(f32x4.mul(wi, d), d), 16);
    d = f32x4.sub(s2, xi);
    v128.store(t, f32x4.mul(f32x4.mul(wi, d), d), 32);
  }
}

/** A neighbour's distance in each trial's lane (terms: trial_terms; pg: its grid bytes), summed
 *  over i = 0..7 from 0 as C sums it. */
// @ts-ignore: decorator
@inline function neighbour_d2(pg: usize): v128 {
  // grid byte b (1, 3, 5) of coordinate i selects TERMS_T + 48i + 8(b - 1): the base is offset by -8
  const base = TERMS_T - 8;
  const p = load<u64>(pg);
  const lo = <u32>p, hi = <u32>(p >> 32);
  let d2 = f32x4.add(f32x4.splat(0), v128.load(base + <usize>((lo << 3) & 0x7f8)));
  d2 = f32x4.add(d2, v128.load(base + <usize>((lo >> 5) & 0x7f8), 48));
  d2 = f32x4.add(d2, v128.load(base + <usize>((lo >> 13) & 0x7f8), 96));
  d2 = f32x4.add(d2, v128.load(base + <usize>((lo >> 21) & 0x7f8), 144));
  d2 = f32x4.add(d2, v128.load(base + <usize>((hi << 3) & 0x7f8), 192));
  d2 = f32x4.add(d2, v128.load(base + <usize>((hi >> 5) & 0x7f8), 240));
  d2 = f32x4.add(d2, v128.load(base + <usize>((hi >> 13) & 0x7f8), 288));
  return f32x4.add(d2, v128.load(base + <usize>((hi >> 21) & 0x7f8), 336));
}

/**
 * iq2_find_best_neighbour for the 4 trials of a batch (terms: trial_terms) over the list of one
 * off-grid word (nb), one lane per trial: each lane runs C's loop over the list (the distance summed
 * over i = 0..7 from 0; the first one below the running best, from FLT_MAX, wins). Returns each
 * lane's grid index, -1 where none was below.
 */
function best_neighbours_4t(g: i32, nb: usize): v128 {
  const num = <i32>load<u16>(nb);
  const grid = lattice_grid(g);
  let best = f32x4.splat(FLT_MAX);
  let gi = i32x4.splat(-1);
  for (let j = 1; j <= num; ++j) {
    const index = <i32>load<u16>(nb + (<usize>j << 1));
    const d2 = neighbour_d2(grid + (<usize>index << 3));
    const lt = f32x4.lt(d2, best);
    best = f32x4.pmin(best, d2); // d2 < best ? d2 : best
    gi = v128.bitselect(i32x4.splat(index), gi, lt);
  }
  return gi;
}

/** Lane j of the q of group k's 8 values (qk: value 8k of its batch) := grid point index's bytes. */
// @ts-ignore: decorator
@inline function point_q_lane(grid: usize, index: i32, qk: usize, j: i32): void {
  const pg = grid + (<usize>index << 3), ql = qk + (<usize>j << 2);
  for (let i = 0; i < 8; ++i) store<f32>(ql + (<usize>i << 4), <f32>load<i8>(pg + <usize>i));
}

/** The 8 bytes of a grid point as 2 × 4 floats: (lo, hi) through out_lo / out_hi. */
// @ts-ignore: decorator
@inline function point_lo(grid: usize, index: i32): v128 {
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(grid + (<usize>index << 3)))));
}
// @ts-ignore: decorator
@inline function point_hi(grid: usize, index: i32): v128 {
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(grid + (<usize>index << 3) + 4))));
}

/**
 * Pass 2 (see above): per group and batch, the 4 map lookups; each off-grid word of the batch's
 * trials snaps per trial: one search with a lane per trial for a word that 2 or more trials share
 * (best_neighbours_4t), nearest_listed (4 neighbours per v128) for a word of one trial. Returns false
 * when a trial's search finds nothing (C aborts).
 */
function snap_trials_v(g: i32, groups: i32, ntrials: i32, nbatches: i32): bool {
  const grid = lattice_grid(g);
  for (let k = 0; k < groups; ++k) {
    for (let b = 0; b < nbatches; ++b) {
      const at = <usize>(k * MAX_BATCHES + b) << 4;
      const words = v128.load(WORD_T + at);
      const gv = i32x4(kmap(g, i32x4.extract_lane(words, 0)), kmap(g, i32x4.extract_lane(words, 1)), kmap(g, i32x4.extract_lane(words, 2)), kmap(g, i32x4.extract_lane(words, 3)));
      v128.store(ON_T + at, i32x4.ge_s(gv, i32x4.splat(0)));
      const valid = (1 << min(4, ntrials - 4 * b)) - 1; // lane bits of the batch's trials
      const off = i32x4.bitmask(gv) & valid;
      v128.store(GI_T + at, gv);
      if (off == 0) continue;
      const scales = v128.load(SCALE_T + (<usize>b << 4));
      let termsReady = false;
      for (let m = off; m != 0;) {
        const j = ctz(m);
        const lane = GI_T + at + (<usize>j << 2);
        const same = i32x4.bitmask(i32x4.eq(words, v128.load32_splat(WORD_T + at + (<usize>j << 2)))) & off; // trials with j's word
        m &= ~same;
        if (same & (same - 1)) {
          if (!termsReady) { trial_terms(k, scales); termsReady = true; }
          const gi = best_neighbours_4t(g, neighbours_of(g, load<i32>(lane)));
          if (i32x4.bitmask(gi) & same) return false;
          const lanes = i32x4.ne(v128.and(i32x4.splat(same), i32x4(1, 2, 4, 8)), i32x4.splat(0));
          v128.store(GI_T + at, v128.bitselect(gi, v128.load(GI_T + at), lanes));
        } else {
          group_terms(1, 3, 5, XVAL + (<usize>(8 * k) << 2), WAUX + (<usize>(8 * k) << 2), load<f32>(SCALE_T + (<usize>(4 * b + j) << 2)));
          const index = nearest_listed(g, load<i32>(lane));
          if (index < 0) return false;
          store<i32>(lane, index);
        }
      }
      // the snapped trials' q: their points' bytes
      const qk = QF_T + (<usize>b << 9) + (<usize>(8 * k) << 4);
      if (off == 15) {
        const gi = v128.load(GI_T + at);
        const g0 = i32x4.extract_lane(gi, 0), g1 = i32x4.extract_lane(gi, 1), g2 = i32x4.extract_lane(gi, 2), g3 = i32x4.extract_lane(gi, 3);
        __transpose4_store(point_lo(grid, g0), point_lo(grid, g1), point_lo(grid, g2), point_lo(grid, g3), qk);
        __transpose4_store(point_hi(grid, g0), point_hi(grid, g1), point_hi(grid, g2), point_hi(grid, g3), qk + 64);
      } else {
        for (let m = off; m != 0; m &= m - 1) {
          const j = ctz(m);
          point_q_lane(grid, load<i32>(GI_T + at + (<usize>j << 2)), qk, j);
        }
      }
    }
  }
  return true;
}

/** Pass 3: Σ (w·x)·q and Σ (w·q)·q of every trial, a lane per trial, over its n values in order. */
function trial_sums_v(n: i32, nbatches: i32): void {
  for (let i = 0; i < n; ++i) setf(WX, i, f(WEIGHT, i) * f(XVAL, i));
  for (let b = 0; b < nbatches; ++b) {
    const qt = QF_T + (<usize>b << 9);
    let sqx = f32x4.splat(0), sq2 = f32x4.splat(0);
    for (let i = 0; i < n; ++i) {
      const q = v128.load(qt + (<usize>i << 4));
      sqx = f32x4.add(sqx, f32x4.mul(v128.load32_splat(WX + (<usize>i << 2)), q));
      sq2 = f32x4.add(sq2, f32x4.mul(f32x4.mul(v128.load32_splat(WEIGHT + (<usize>i << 2)), q), q));
    }
    v128.store(SUMQX_T + (<usize>b << 4), sqx);
    v128.store(SUMQ2_T + (<usize>b << 4), sq2);
  }
}

/**
 * The trial loop of iq2_xxs (groups 4, is = -6..6, over eff_max) and of search16 (groups 2, is =
 * -9..9, over max): trial scale id = (5 + 0.1·is)/denom taken when sumq2 > 0 and sumqx² > best·sumq2
 * (best from 0), which sets the scale to sumqx/sumq2 and copies the trial's levels into L (and, with
 * track, its on-grid flags into ON_GRID). The scale starts at scale0; result in trials_scale.
 * The vector path runs 4 trials, then their sums in one v128 (lane t: trial t, each the scalar
 * sum in order), then C's tests on them in order. Returns false after kernel_abort.
 */
function search_trials(g: i32, groups: i32, span: i32, denom: f32, scale0: f32, track: bool): bool {
  const top: i32 = 5;
  const n = 8 * groups;
  let best: f32 = 0;
  let scale = scale0;
  if (use_scalar()) {
    for (let is = -span; is <= span; ++is) {
      const id: f32 = (<f32>top + <f32>is * <f32>0.1) / denom;
      const this_scale: f32 = <f32>1 / id;
      if (!trial_levels(g, groups, id, this_scale, track)) return false;
      level_sums(LAUX, n);
      const sumqx = sumqx_out, sumq2 = sumq2_out;
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        scale = sumqx / sumq2;
        best = scale * sumqx;
        memory.copy(L, LAUX, n);
        if (track) memory.copy(ON_GRID, ON_GRID_AUX, 2);
      }
    }
    trials_scale = scale;
    return true;
  }
  const ntrials = 2 * span + 1;
  const nbatches = (ntrials + 3) >> 2;
  trial_levels_v(groups, span, denom, nbatches);
  if (!snap_trials_v(g, groups, ntrials, nbatches)) { kernel_abort(FAIL_NO_NEIGHBOUR); return false; }
  trial_sums_v(n, nbatches);
  let bestTrial = -1;
  for (let t = 0; t < ntrials; ++t) {
    const sumqx = f(SUMQX_T, t), sumq2 = f(SUMQ2_T, t);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      scale = sumqx / sumq2;
      best = scale * sumqx;
      bestTrial = t;
    }
  }
  if (bestTrial >= 0) {
    // the levels of the trial's points: an on-grid word's own levels, a snapped one's neighbour's
    const lane = <usize>((bestTrial >> 2) << 4) + (<usize>(bestTrial & 3) << 2);
    for (let k = 0; k < groups; ++k) {
      const at = (<usize>(k * MAX_BATCHES) << 4) + lane;
      grid_levels(g, load<i32>(GI_T + at), L + <usize>(8 * k));
      if (track) store<u8>(ON_GRID + <usize>k, load<i32>(ON_T + at) != 0 ? 1 : 0);
    }
  }
  trials_scale = scale;
  return true;
}

/**
 * Re-derives the levels of the groups (all, or only those off the grid when only_off_grid) from the
 * final scale, snapping to neighbours; rewrite: also take the snapped point's levels into L (iq2_xxs
 * does; iq2_xs and iq2_s keep the clamped levels of on-grid vectors, which are the point's anyway).
 * Then scale = sumqx/sumq2 when sumq2 > 0. Returns the scale (NaN-safe: aborts are checked by the caller).
 */
function refine(g: i32, groups: i32, scale: f32, only_off_grid: bool): f32 {
  const id: f32 = <f32>1 / scale;
  for (let k = 0; k < groups; ++k) {
    if (only_off_grid && load<u8>(ON_GRID + <usize>k)) continue;
    const u = group_levels(XVAL + (<usize>(8 * k) << 2), id, L + <usize>(8 * k));
    let grid_index = lookup(g, u);
    if (grid_index < 0) {
      if (aborted()) return scale;
      grid_index = find_best_neighbour(g, grid_index, XVAL + (<usize>(8 * k) << 2), WAUX + (<usize>(8 * k) << 2), scale, L + <usize>(8 * k));
      if (grid_index < 0) return scale;
    }
    if (!only_off_grid) grid_levels(g, grid_index, L + <usize>(8 * k));
  }
  level_sums(L, 8 * groups);
  return sumq2_out > 0 ? sumqx_out / sumq2_out : scale;
}

/** The grid index of each group's final levels; FAIL_OFF_GRID ("Oops") when one is not a point. */
// @ts-ignore: decorator
@inline function final_index(g: i32, k: i32): i32 {
  const m = lookup(g, pack_levels(L + <usize>(8 * k)));
  if (m < 0 && !aborted()) kernel_abort(FAIL_OFF_GRID);
  return m;
}

// ---- iq2_xxs: block_iq2_xxs { ggml_half d; uint16_t qs[QK_K/8]; } = 66 bytes ----
export const IQ2XXS_BLOCK_BYTES: usize = 2 + QK_K / 4;

/** quantize_row_iq2_xxs_impl over one row of n values (quant_weights required). */
export function quantize_row_iq2_xxs_impl(x: usize, y: usize, n: i32, quant_weights: usize): void {
  if (quant_weights == 0) { kernel_abort(FAIL_NO_IMATRIX); return; }
  const g = LATTICE_IQ2XXS;
  lattice_init(g);
  const kMaxQ = 3;
  const nbl = n / QK_K;
  for (let ibl = 0; ibl < nbl; ++ibl) {
    const blk = y + <usize>ibl * IQ2XXS_BLOCK_BYTES;
    store<u16>(blk, 0);
    memory.fill(Q2, 0, QK_K / 4);
    let max_scale: f32 = 0;
    const xbl = x + (<usize>(QK_K * ibl) << 2);
    const sigma2: f32 = sum_squares(xbl) / <f32>QK_K;

    for (let ib = 0; ib < QK_K / 32; ++ib) {
      const xb = xbl + (<usize>(32 * ib) << 2);
      weights(xb, quant_weights + (<usize>(QK_K * ibl + 32 * ib) << 2), 32, sigma2);
      split_signs(xb, 4, true);
      const max = max_xval(32);
      if (max < GROUP_MAX_EPS) {
        setf(SCALES, ib, 0);
        memory.fill(L, 0, 32);
        continue;
      }
      let scale: f32 = make_qp_quants(32, kMaxQ + 1, XVAL, L, WEIGHT);
      const eff_max: f32 = scale * <f32>kMaxQ;
      if (eff_max <= 0) { // the build (llama.cpp PR #19861), not the 36491e40 text: no search from a zero scale
        setf(SCALES, ib, 0);
        memory.fill(L, 0, 32);
        continue;
      }
      if (!search_trials(g, 4, 6, eff_max, scale, false)) return;
      scale = trials_scale;
      if (scale > 0) {
        scale = refine(g, 4, scale, false);
        if (aborted()) return;
      }
      if (scale < 0) {
        scale = -scale;
        for (let k = 0; k < 4; ++k) store<u8>(SIGNS + <usize>k, ~load<u8>(SIGNS + <usize>k) & 127);
      }
      for (let k = 0; k < 4; ++k) {
        const grid_index = final_index(g, k);
        if (aborted()) return;
        const q = Q2 + (<usize>(2 * ib) << 2);
        store<u32>(q, load<u32>(q) | (<u32>grid_index << (8 * k)));
        store<u32>(q, load<u32>(q, 4) | (<u32>load<u8>(SIGNS + <usize>k) << (7 * k)), 4);
      }
      if (!(scale >= 0)) { kernel_abort(FAIL_SCALE); return; }
      setf(SCALES, ib, scale);
      max_scale = max_scale > scale ? max_scale : scale;
    }

    if (max_scale == 0) {
      memory.fill(blk + 2, 0, QK_K / 4);
      continue;
    }
    const d: f32 = max_scale / <f32>31;
    store_f16(blk, d);
    const id: f32 = <f32>1 / d;
    for (let ib = 0; ib < QK_K / 32; ++ib) {
      const l = clamp_i32(nearest_int(<f32>0.5 * (id * f(SCALES, ib) - 1)), 0, 15);
      const q = Q2 + (<usize>(2 * ib + 1) << 2);
      store<u32>(q, load<u32>(q) | (<u32>l << 28));
    }
    memory.copy(blk + 2, Q2, QK_K / 4);
  }
}

/** The row function of quantize_iq2_xxs. Returns 66 bytes per 256 values. */
export function quantize_row_iq2_xxs(x: usize, y: usize, n: i32, qw: usize): usize {
  quantize_row_iq2_xxs_impl(x, y, n, qw);
  return <usize>(n / QK_K) * IQ2XXS_BLOCK_BYTES;
}

/**
 * The 16-value sub-block search shared by iq2_xs and iq2_s (quantize_row_iq2_xs_impl /
 * quantize_row_iq2_s_impl's loop body, kMaxQ = 3, 19 trial scales (5 + 0.1·is)/max): L[0..16) and
 * the returned scale, with block_signs[0..2) already set. Returns the scale (>= 0), or -1 after
 * kernel_abort. max is the largest xval (already >= the type's epsilon).
 */
function search16(g: i32, max: f32): f32 {
  const kMaxQ = 3;
  const top: i32 = 2 * kMaxQ - 1;
  store<u8>(ON_GRID, 1);
  store<u8>(ON_GRID, 1, 1);
  if (!search_trials(g, 2, 9, max, max / <f32>top, true)) return -1;
  let scale = trials_scale;
  const n_not_ongrid = (load<u8>(ON_GRID) ? 0 : 1) + (load<u8>(ON_GRID, 1) ? 0 : 1);
  if (n_not_ongrid > 0 && scale > 0) {
    scale = refine(g, 2, scale, true);
    if (aborted()) return -1;
  }
  return scale;
}

/** Set by subblock16 when the sub-block is below its epsilon (C: scales[ib] = 0; continue). */
let skipped = false;

/**
 * One 16-value sub-block of iq2_xs (parity signs, GROUP_MAX_EPS) or iq2_s (8 sign bits,
 * GROUP_MAX_EPS_IQ2_S): weights, signs, L cleared, the epsilon test (sets `skipped`), search16,
 * and the sign flip of a negative scale. Returns the scale (check aborted() and skipped).
 */
function subblock16(g: i32, xb: usize, qw: usize, sigma2: f32, parity: bool, eps: f32): f32 {
  skipped = false;
  weights(xb, qw, 16, sigma2);
  split_signs(xb, 2, parity);
  const max = max_xval(16);
  memory.fill(L, 0, 16);
  if (max < eps) { skipped = true; return 0; }
  let scale = search16(g, max);
  if (aborted()) return scale;
  if (scale < 0) {
    scale = -scale;
    for (let k = 0; k < 2; ++k) store<u8>(SIGNS + <usize>k, ~load<u8>(SIGNS + <usize>k) & (parity ? 127 : 255));
  }
  return scale;
}

// ---- iq2_xs: block_iq2_xs { ggml_half d; uint16_t qs[QK_K/8]; uint8_t scales[QK_K/32]; } = 74 bytes ----
export const IQ2XS_QS: usize = 2;
export const IQ2XS_SCALES: usize = 2 + QK_K / 4;
export const IQ2XS_BLOCK_BYTES: usize = IQ2XS_SCALES + QK_K / 32;

/** quantize_row_iq2_xs_impl over one row of n values (quant_weights required), as built: the
 *  16-value L[] is cleared at the start of every sub-block (PR #19861). */
export function quantize_row_iq2_xs_impl(x: usize, y: usize, n: i32, quant_weights: usize): void {
  if (quant_weights == 0) { kernel_abort(FAIL_NO_IMATRIX); return; }
  const g = LATTICE_IQ2XS;
  lattice_init(g);
  const nbl = n / QK_K;
  for (let ibl = 0; ibl < nbl; ++ibl) {
    const blk = y + <usize>ibl * IQ2XS_BLOCK_BYTES;
    store<u16>(blk, 0);
    memory.fill(Q2, 0, QK_K / 4);
    memory.fill(blk + IQ2XS_SCALES, 0, QK_K / 32);
    let max_scale: f32 = 0;
    const xbl = x + (<usize>(QK_K * ibl) << 2);
    const sigma2: f32 = sum_squares(xbl) / <f32>QK_K;

    for (let ib = 0; ib < QK_K / 16; ++ib) {
      const xb = xbl + (<usize>(16 * ib) << 2);
      const scale = subblock16(g, xb, quant_weights + (<usize>(QK_K * ibl + 16 * ib) << 2), sigma2, true, GROUP_MAX_EPS);
      if (aborted()) return;
      if (skipped) { setf(SCALES, ib, 0); continue; }
      for (let k = 0; k < 2; ++k) {
        const grid_index = final_index(g, k);
        if (aborted()) return;
        store<u16>(Q2 + (<usize>(2 * ib + k) << 1), <u16>(grid_index | (<i32>load<u8>(SIGNS + <usize>k) << 9)));
      }
      if (!(scale >= 0)) { kernel_abort(FAIL_SCALE); return; }
      setf(SCALES, ib, scale);
      max_scale = max_scale > scale ? max_scale : scale;
    }

    if (max_scale == 0) {
      memory.fill(blk + IQ2XS_QS, 0, QK_K / 4);
      continue;
    }
    const d: f32 = max_scale / <f32>31;
    store_f16(blk, d);
    const id: f32 = <f32>1 / d;
    pack_scales(blk + IQ2XS_SCALES, id);
    memory.copy(blk + IQ2XS_QS, Q2, QK_K / 4);
  }
}

/** The 16 sub-block scales as 4-bit l = nearest_int(0.5·(id·scale - 1)) in 0..15, two per byte. */
function pack_scales(p: usize, id: f32): void {
  for (let ib = 0; ib < QK_K / 16; ++ib) {
    const l = clamp_i32(nearest_int(<f32>0.5 * (id * f(SCALES, ib) - 1)), 0, 15);
    const at = p + <usize>(ib >> 1);
    if (ib % 2 == 0) store<u8>(at, <u8>l);
    else store<u8>(at, load<u8>(at) | <u8>(l << 4));
  }
}

/** The row function of quantize_iq2_xs. Returns 74 bytes per 256 values. */
export function quantize_row_iq2_xs(x: usize, y: usize, n: i32, qw: usize): usize {
  quantize_row_iq2_xs_impl(x, y, n, qw);
  return <usize>(n / QK_K) * IQ2XS_BLOCK_BYTES;
}

// ---- iq2_s: block_iq2_s { ggml_half d; uint8_t qs[QK_K/4]; uint8_t qh[QK_K/32]; uint8_t scales[QK_K/32]; }
// = 82 bytes; qs holds the 32 low grid bytes, then the 32 sign bytes ----
export const IQ2S_QS: usize = 2;
export const IQ2S_SIGNS: usize = IQ2S_QS + QK_K / 8;
export const IQ2S_QH: usize = 2 + QK_K / 4;
export const IQ2S_SCALES: usize = IQ2S_QH + QK_K / 32;
export const IQ2S_BLOCK_BYTES: usize = IQ2S_SCALES + QK_K / 32;

/** quantize_row_iq2_s_impl over one row of n values, importance qw (n floats) or 0 (weights
 *  0.25·sigma2 + x²); 8 plain sign bits per group, grid index 10 bits. */
export function quantize_row_iq2_s_impl(x: usize, y: usize, n: i32, quant_weights: usize): void {
  const g = LATTICE_IQ2S;
  lattice_init(g);
  const nbl = n / QK_K;
  for (let ibl = 0; ibl < nbl; ++ibl) {
    const blk = y + <usize>ibl * IQ2S_BLOCK_BYTES;
    memory.fill(blk, 0, IQ2S_BLOCK_BYTES);
    let max_scale: f32 = 0;
    const xbl = x + (<usize>(QK_K * ibl) << 2);
    const sigma2: f32 = <f32>2 * sum_squares(xbl) / <f32>QK_K;

    for (let ib = 0; ib < QK_K / 16; ++ib) {
      const xb = xbl + (<usize>(16 * ib) << 2);
      const scale = subblock16(g, xb, quant_weights != 0 ? quant_weights + (<usize>(QK_K * ibl + 16 * ib) << 2) : 0, sigma2, false, GROUP_MAX_EPS_IQ2_S);
      if (aborted()) return;
      if (skipped) { setf(SCALES, ib, 0); continue; }
      for (let k = 0; k < 2; ++k) {
        const grid_index = final_index(g, k);
        if (aborted()) return;
        const i8 = 2 * ib + k;
        store<u8>(blk + IQ2S_QS + <usize>i8, <u8>(grid_index & 255));
        const qh = blk + IQ2S_QH + <usize>(i8 >> 2);
        store<u8>(qh, load<u8>(qh) | <u8>((grid_index >> 8) << (2 * (i8 % 4))));
        store<u8>(blk + IQ2S_SIGNS + <usize>i8, load<u8>(SIGNS + <usize>k));
      }
      if (!(scale >= 0)) { kernel_abort(FAIL_SCALE); return; }
      setf(SCALES, ib, scale);
      max_scale = max_scale > scale ? max_scale : scale;
    }

    if (max_scale == 0) continue;
    const d: f32 = max_scale / <f32>31;
    store_f16(blk, d * <f32>0.9875);
    pack_scales(blk + IQ2S_SCALES, <f32>1 / d);
  }
}

/** The row function of quantize_iq2_s. Returns 82 bytes per 256 values. */
export function quantize_row_iq2_s(x: usize, y: usize, n: i32, qw: usize): usize {
  quantize_row_iq2_s_impl(x, y, n, qw);
  return <usize>(n / QK_K) * IQ2S_BLOCK_BYTES;
}
