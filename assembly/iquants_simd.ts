// SIMD128 versions of quantize_iq4_nl and quantize_iq4_xs (quantize_row_iq4_nl_impl, ntry = 7),
// ggml-quants.c @ 36491e40 as the reference build has it, byte-identical to the scalar ports in
// iquants.ts (which stay the reference: set_scalar_kernels(1)).
//
// The hot spot is the scale search of each 32-wide (sub-)block: 16 trial scales, each mapping every
// value to its nearest kvalues_iq4nl level (best_index_int8). It runs one block (iq4_nl) or
// sub-block (iq4_xs) per lane, four at a time, on transposed values and weights (search_simd.ts's
// scratch), so each lane performs the scalar op sequence, sums in order included. best_index_int8's
// binary search becomes a count of the levels above x and one compare with the two neighbours (the
// same float ops, so the same ties; see __iq4nl_index_i32x4). A lane whose values or weights are not
// finite is redone by the scalar code (an all-but-zero block, which ends early, never is). The
// per-super-block glue of iq4_xs (6-bit scales, fp16) is the scalar code itself; the final levels and
// nibble packing are per element.

import { GROUP_MAX_EPS } from "./search";
import { store_f16 } from "./common";
import { __bytes16_i32x4, __finite_f32x4 } from "./simd";
import { OUT_SCALE, WT, XT, __transpose_x4 } from "./search_simd";
import {
  IQ4NL_BLOCK_BYTES, IQ4XS_BLOCK_BYTES, IQ4XS_QS, SCALES_IQ4, iq4_nl_block, iq4_xs_idl, iq4_xs_scales, iq4_xs_search_sub, sigma2_of,
} from "./iquants";

const QK_K: i32 = 256;
const BLOCK_F32: usize = 32 * 4;     // bytes of one 32-wide (sub-)block of f32
const GROUP_F32: usize = 4 * BLOCK_F32;

/** kvalues_iq4nl as int8, for i8x16.swizzle. */
const KVALUES_I8: usize = memory.data<i8>([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]);

/** mu = 1 + #{i in 1..14: !(v < k[i])} on each lane: best_index_int8's upper bound (k[mu - 1] <= v <
 *  k[mu] inside (k[0], k[15]); 1 at or below k[0]; 15 at or above k[15] and for NaN, where every
 *  `v < k` is false, as in the binary search). */
// @ts-ignore: decorator
@inline function iq4nl_mu(v: v128): v128 {
  let m = i32x4.splat(15);
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(-104)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(-83)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(-65)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(-49)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(-35)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(-22)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(-10)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(1)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(13)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(25)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(38)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(53)));
  m = i32x4.add(m, f32x4.lt(v, f32x4.splat(69)));
  return i32x4.add(m, f32x4.lt(v, f32x4.splat(89)));
}

/** Bytes [k[mu - 1], k[mu], 0, 0] in each i32 lane (swizzle indices 0x80 give 0). */
// @ts-ignore: decorator
@inline function iq4nl_pair(mu: v128): v128 {
  const idx = v128.or(v128.or(i32x4.sub(mu, i32x4.splat(1)), i32x4.shl(mu, 8)), i32x4.splat(<i32>0x80800000));
  return i8x16.swizzle(v128.load(KVALUES_I8), idx);
}

/** Byte 0 (k[mu - 1]) and byte 1 (k[mu]) of iq4nl_pair's lanes as floats. */
// @ts-ignore: decorator
@inline function pair_lo(r: v128): v128 { return f32x4.convert_i32x4_s(i32x4.shr_s(i32x4.shl(r, 24), 24)); }
// @ts-ignore: decorator
@inline function pair_hi(r: v128): v128 { return f32x4.convert_i32x4_s(i32x4.shr_s(i32x4.shl(r, 16), 24)); }

/** best_index_int8(16, kvalues_iq4nl, v) on each lane: mu - 1 when v - k[mu - 1] < k[mu] - v, else mu.
 *  At or below k[0] the test holds (mu = 1: 0), at or above k[15] and for NaN it fails (mu = 15: 15),
 *  so the binary search's two early returns need no case of their own. */
// @ts-ignore: decorator
@inline export function __iq4nl_index_i32x4(v: v128): v128 {
  const mu = iq4nl_mu(v);
  const r = iq4nl_pair(mu);
  return i32x4.add(mu, f32x4.lt(f32x4.sub(v, pair_lo(r)), f32x4.sub(pair_hi(r), v)));
}

/** kvalues_iq4nl[best_index_int8(v)] on each lane, as a float (see __iq4nl_index_i32x4). */
// @ts-ignore: decorator
@inline function iq4nl_level(v: v128): v128 {
  const r = iq4nl_pair(iq4nl_mu(v));
  const a = pair_lo(r), b = pair_hi(r);
  return v128.bitselect(a, b, f32x4.lt(f32x4.sub(v, a), f32x4.sub(b, v)));
}

/** The weights of the four (sub-)blocks in XT into WT (which holds their importance when qw): qw·sqrt(sigma2
 *  + x²), or x² without an imatrix. */
// @ts-ignore: decorator
@inline function weights_x4(qw: bool, sigma2: v128): void {
  for (let i: usize = 0; i < 32 * 16; i += 16) {
    const x = v128.load(XT + i);
    const x2 = f32x4.mul(x, x);
    v128.store(WT + i, qw ? f32x4.mul(v128.load(WT + i), f32x4.sqrt(f32x4.add(sigma2, x2))) : x2);
  }
}

/** One pass of the search at inverse scale id: sumqx and sumq2 of each lane, in element order. */
// @ts-ignore: decorator
@inline function pass_sums(id: v128, out: usize): void {
  let sumqx = f32x4.splat(0), sumq2 = f32x4.splat(0);
  for (let i: usize = 0; i < 32 * 16; i += 16) {
    const x = v128.load(XT + i);
    const q = iq4nl_level(f32x4.mul(id, x));
    const wq = f32x4.mul(v128.load(WT + i), q);
    sumqx = f32x4.add(sumqx, f32x4.mul(x, wq)); // the build: x[j] * (w*q)
    sumq2 = f32x4.add(sumq2, f32x4.mul(wq, q));
  }
  v128.store(out, sumqx);
  v128.store(out, sumq2, 16);
}

const SUMS: usize = memory.data(32, 16);

/** iq4_subblock (iquants.ts) on the four (sub-)blocks in XT / WT: the scale d of each into OUT_SCALE
 *  (0 for an all-but-zero lane); returns the lanes the scalar code must redo (bits 0-3). */
// @ts-ignore: decorator
@inline function iq4_search_x4(): i32 {
  const zero = f32x4.splat(0);
  let amax = zero, max = zero, sumwx = zero;
  for (let i: usize = 0; i < 32 * 16; i += 16) {
    const x = v128.load(XT + i);
    const ax = f32x4.abs(x);
    const m = f32x4.gt(ax, amax); // if (ax > amax) { amax = ax; max = x; }
    amax = v128.bitselect(ax, amax, m);
    max = v128.bitselect(x, max, m);
    sumwx = f32x4.add(sumwx, f32x4.mul(x, v128.load(WT + i))); // finiteness test only: x and w finite
  }
  const done = f32x4.lt(amax, f32x4.splat(GROUP_MAX_EPS));
  const redo = v128.andnot(v128.not(__finite_f32x4(sumwx)), done);
  let d = f32x4.div(f32x4.neg(max), f32x4.splat(<f32>-127)); // -max / values[0]
  pass_sums(f32x4.div(f32x4.splat(1), d), SUMS);
  let sumqx = v128.load(SUMS), sumq2 = v128.load(SUMS, 16);
  d = v128.bitselect(f32x4.div(sumqx, sumq2), zero, f32x4.gt(sumq2, zero)); // the build: sumq2 > 0 ? ... : 0
  let best = f32x4.mul(sumqx, d);
  for (let itry = -7; itry <= 7; ++itry) {
    pass_sums(f32x4.div(f32x4.splat(<f32>(itry - 127)), max), SUMS);
    sumqx = v128.load(SUMS);
    sumq2 = v128.load(SUMS, 16);
    const take = v128.and(f32x4.gt(sumq2, zero), f32x4.gt(f32x4.mul(sumqx, sumqx), f32x4.mul(best, sumq2)));
    d = v128.bitselect(f32x4.div(sumqx, sumq2), d, take);
    best = v128.bitselect(f32x4.mul(sumqx, d), best, take);
  }
  v128.store(OUT_SCALE, v128.andnot(d, done));
  return i32x4.bitmask(redo);
}

/** The 16 nibble bytes of one 32-wide (sub-)block at xb: levels best_index(x·s) (x_first) or
 *  best_index(s·x), byte j = level j | level (16 + j) << 4. */
// @ts-ignore: decorator
@inline function levels_packed(xb: usize, s: v128, x_first: bool): v128 {
  const sixteen = i32x4.splat(16);
  const v0 = x_first ? f32x4.mul(v128.load(xb), s) : f32x4.mul(s, v128.load(xb));
  const v1 = x_first ? f32x4.mul(v128.load(xb, 16), s) : f32x4.mul(s, v128.load(xb, 16));
  const v2 = x_first ? f32x4.mul(v128.load(xb, 32), s) : f32x4.mul(s, v128.load(xb, 32));
  const v3 = x_first ? f32x4.mul(v128.load(xb, 48), s) : f32x4.mul(s, v128.load(xb, 48));
  const v4 = x_first ? f32x4.mul(v128.load(xb, 64), s) : f32x4.mul(s, v128.load(xb, 64));
  const v5 = x_first ? f32x4.mul(v128.load(xb, 80), s) : f32x4.mul(s, v128.load(xb, 80));
  const v6 = x_first ? f32x4.mul(v128.load(xb, 96), s) : f32x4.mul(s, v128.load(xb, 96));
  const v7 = x_first ? f32x4.mul(v128.load(xb, 112), s) : f32x4.mul(s, v128.load(xb, 112));
  return __bytes16_i32x4(
    i32x4.add(__iq4nl_index_i32x4(v0), i32x4.mul(__iq4nl_index_i32x4(v4), sixteen)),
    i32x4.add(__iq4nl_index_i32x4(v1), i32x4.mul(__iq4nl_index_i32x4(v5), sixteen)),
    i32x4.add(__iq4nl_index_i32x4(v2), i32x4.mul(__iq4nl_index_i32x4(v6), sixteen)),
    i32x4.add(__iq4nl_index_i32x4(v3), i32x4.mul(__iq4nl_index_i32x4(v7), sixteen)));
}

// ---------------------------------------------------------------- iq4_nl

// A row's last 1-3 blocks go through a zero-padded group (its zero blocks end early).
const PAD_X: usize = memory.data(<i32>GROUP_F32, 16);
const PAD_W: usize = memory.data(<i32>GROUP_F32, 16);
const PAD_Y: usize = memory.data(4 * 18, 16); // 4 block_iq4_nl

/** Four iq4_nl blocks at x (importance qw or 0) into y. */
// @ts-ignore: decorator
@inline function group_iq4_nl(x: usize, qw: usize, y: usize): void {
  __transpose_x4(x, BLOCK_F32, 32, XT);
  let sigma2 = f32x4.splat(0);
  if (qw != 0) {
    __transpose_x4(qw, BLOCK_F32, 32, WT);
    // each block's own sigma2: Σx² in order, times 2/32
    for (let i: usize = 0; i < 32 * 16; i += 16) {
      const xi = v128.load(XT + i);
      sigma2 = f32x4.add(sigma2, f32x4.mul(xi, xi));
    }
    sigma2 = f32x4.mul(sigma2, f32x4.splat(<f32>2 / <f32>32));
  }
  weights_x4(qw != 0, sigma2);
  const redo = iq4_search_x4();
  for (let b = 0; b < 4; b++) {
    const xb = x + <usize>b * BLOCK_F32;
    const blk = y + <usize>b * IQ4NL_BLOCK_BYTES;
    if (redo & (1 << b)) {
      iq4_nl_block(xb, qw != 0 ? qw + <usize>b * BLOCK_F32 : 0, blk);
      continue;
    }
    const d: f32 = load<f32>(OUT_SCALE + (<usize>b << 2));
    store_f16(blk, d);
    const id: f32 = d != 0 ? <f32>1 / d : <f32>0;
    v128.store(blk + 2, levels_packed(xb, f32x4.splat(id), false)); // id*x[j]
  }
}

export function quantize_row_iq4_nl_simd(x: usize, y: usize, n: i32, qw: usize): void {
  const nb = n / 32;
  const ng = nb >> 2;
  for (let g = 0; g < ng; g++) {
    const o = <usize>g * GROUP_F32;
    group_iq4_nl(x + o, qw != 0 ? qw + o : 0, y + <usize>g * 4 * IQ4NL_BLOCK_BYTES);
  }
  const rem = nb & 3;
  if (rem != 0) {
    const o = <usize>ng * GROUP_F32;
    const bytes = <usize>rem * BLOCK_F32;
    memory.copy(PAD_X, x + o, bytes);
    memory.fill(PAD_X + bytes, 0, GROUP_F32 - bytes);
    if (qw != 0) {
      memory.copy(PAD_W, qw + o, bytes);
      memory.fill(PAD_W + bytes, 0, GROUP_F32 - bytes);
    }
    group_iq4_nl(PAD_X, qw != 0 ? PAD_W : 0, PAD_Y);
    memory.copy(y + <usize>ng * 4 * IQ4NL_BLOCK_BYTES, PAD_Y, <usize>rem * IQ4NL_BLOCK_BYTES);
  }
}

// ---------------------------------------------------------------- iq4_xs

export function quantize_row_iq4_xs_simd(x: usize, y: usize, n: i32, qw: usize): void {
  const nblock = n / QK_K;
  for (let ibl = 0; ibl < nblock; ++ibl) {
    const sigma2: f32 = sigma2_of(x, QK_K, <f32>2 / <f32>QK_K);
    for (let g = 0; g < 2; g++) {
      const o = <usize>g * GROUP_F32;
      __transpose_x4(x + o, BLOCK_F32, 32, XT);
      if (qw != 0) __transpose_x4(qw + o, BLOCK_F32, 32, WT);
      weights_x4(qw != 0, f32x4.splat(sigma2));
      const redo = iq4_search_x4();
      v128.store(SCALES_IQ4 + (<usize>g << 4), v128.load(OUT_SCALE));
      if (redo != 0) {
        for (let b = 0; b < 4; b++) if (redo & (1 << b)) iq4_xs_search_sub(x, qw, 4 * g + b, sigma2);
      }
    }
    iq4_xs_scales(y);
    for (let ib = 0; ib < QK_K / 32; ++ib) {
      // x[j]*idl, as the build
      v128.store(y + IQ4XS_QS + (<usize>ib << 4), levels_packed(x + <usize>ib * BLOCK_F32, f32x4.splat(iq4_xs_idl(ib)), true));
    }
    x += <usize>QK_K << 2;
    if (qw != 0) qw += <usize>QK_K << 2;
    y += IQ4XS_BLOCK_BYTES;
  }
}
