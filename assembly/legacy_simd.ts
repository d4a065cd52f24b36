// SIMD128 versions of quantize_row_q{4_0,4_1,5_0,5_1,8_0}_ref and quantize_row_q{4_0,4_1,5_0,5_1}_impl,
// ggml-quants.c @ 36491e40, byte-identical to the scalar ports in legacy.ts (which stay the reference).
//
// Blocks go four at a time (a "group": 128 floats in, four blocks out); a row's last 1-3 blocks are
// copied into a zero-padded group. Nothing reorders a float sum that C sums in order.
//
// _ref kernels: the per-block reductions (max |x|, min, max) are order-free over values without
// NaN, so they run vertically (pmax/pmin trees) and then across lanes; the per-element maps (x*id,
// roundf, truncation, nibble and bit packing) are lane-wise. The four blocks' d, 1/d and fp16 scales
// go one block per lane. Each group checks, per block, the conditions under which that is exact:
//   - the scaled values in range, so that C's casts (cvttss2si, int8 wrap, MIN(15, ...)) reduce to
//     trunc plus a float clamp: amax·|id| (or (max-min)·id) below a bound with a margin. ±inf
//     anywhere in a block makes that product inf or NaN, so the test fails. (For finite values with
//     a finite id it cannot fail: the bound is a guard, not a case that occurs.)
//   - no NaN: q8_0 sees NaN in its max of |x| as int bits; the others may see a NaN in max or min
//     (the range test then fails) or not, and then the NaN reaches its element's level, whose bits
//     fall outside [0, 255] before the byte narrowing (out_of_byte): the whole group is redone;
//   - q4_0/q5_0: no tie between +amax and -amax (C keeps the first; the vector max does not know
//     which came first);
//   - q4_1/q5_1: min and max not ±0 (C keeps the first of +0/-0, and its sign reaches the fp16 bits).
// A block that fails a check is redone by its scalar function. Real weights fail them only with an
// occasional ±amax tie or a block whose min or max is exactly 0.
// V8 keeps loads and stores in order but hoists pure arithmetic freely; storing each block's
// results before the next block's loads keeps the live vectors within the 16 registers.
//
// _impl kernels: the scale searches (make_qx_quants for q4_0/q5_0, make_qkx3_quants for q4_1/q5_1)
// run one block per lane through search_simd.ts (shared with the K-quants): x and the weights are
// transposed into its scratch (lane b = block b), so each lane performs exactly the scalar op
// sequence, sums in element order included; the levels of the best trial are recomputed at the end
// from that trial's (iscale, min). A lane the search hands back (non-finite values or weights, a
// trial outside nearest_int's exact range) is redone by the scalar code.

import {
  QK, Q4_0_BYTES, Q4_0_QS, Q4_1_BYTES, Q4_1_M, Q4_1_QS, Q5_0_BYTES, Q5_0_QH, Q5_0_QS, Q5_1_BYTES, Q5_1_M, Q5_1_QH, Q5_1_QS,
  Q8_0_BYTES, Q8_0_QS,
  block_q4_0_ref, block_q4_1_ref, block_q5_0_ref, block_q5_1_ref, block_q8_0_ref,
  block_q4_0_impl, block_q4_1_impl, block_q5_0_impl, block_q5_1_impl, row_sigma2,
} from "./legacy";
import {
  __int_f32x4, __roundf_f32x4, __fp16_f32x4, __fp16_nonnan_f32x4, __hpmax4_f32x4, __hpmin4_f32x4,
  __hmax4_i32x4, __transpose4_store, __bytes16_i32x4,
} from "./simd";
import {
  OUT_DONE, OUT_IS, OUT_MIN, OUT_MU, OUT_SCALE, WT, XT, __clamp_levels_f32x4, __qkx_search_x4, __qx_level_f32x4, __qx_search_x4,
} from "./search_simd";

const BLOCK_F32: usize = 128;        // bytes of one block of f32
const GROUP_F32: usize = 4 * BLOCK_F32;

// Scratch: a padded group (x, importance, output), per-block reductions, transposed x / weights /
// w*x / levels (32 vectors each, lane b = block b).
const PAD_X: usize = memory.data(<i32>GROUP_F32, 16);
const PAD_W: usize = memory.data(<i32>GROUP_F32, 16);
const PAD_Y: usize = memory.data(4 * 34, 16);
const RED: usize = memory.data(8 * 16, 16);

// ---------------------------------------------------------------- shared pieces

/** Copies the last `rem` (1..3) blocks of a row at x (and of its importance at qw, when not 0) into
 *  the padded group, zeros after them. */
function pad_group(x: usize, qw: usize, rem: i32): void {
  const bytes = <usize>rem * BLOCK_F32;
  memory.copy(PAD_X, x, bytes);
  memory.fill(PAD_X + bytes, 0, GROUP_F32 - bytes);
  if (qw != 0) {
    memory.copy(PAD_W, qw, bytes);
    memory.fill(PAD_W + bytes, 0, GROUP_F32 - bytes);
  }
}

/** Stores lane b of h (fp16 bits in i32 lanes) at p + b*stride, for the four blocks of a group. */
// @ts-ignore: decorator
@inline function store_fp16x4(h: v128, p: usize, stride: usize): void {
  store<u16>(p, <u16>i32x4.extract_lane(h, 0));
  store<u16>(p + stride, <u16>i32x4.extract_lane(h, 1));
  store<u16>(p + 2 * stride, <u16>i32x4.extract_lane(h, 2));
  store<u16>(p + 3 * stride, <u16>i32x4.extract_lane(h, 3));
}

/** Each block's pmax and pmin into RED (block b at RED + 32b), stored before the next block is
 *  loaded: V8 keeps loads and stores in order, so this bounds the live vectors (with all 32 loads
 *  of a group up front, they spill). */
// @ts-ignore: decorator
@inline function reduce_group(x: usize): void {
  for (let b: usize = 0; b < 4; b++) {
    const p = x + b * BLOCK_F32;
    const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
    const v4 = v128.load(p, 64), v5 = v128.load(p, 80), v6 = v128.load(p, 96), v7 = v128.load(p, 112);
    v128.store(RED + (b << 5), f32x4.pmax(f32x4.pmax(f32x4.pmax(v0, v1), f32x4.pmax(v2, v3)), f32x4.pmax(f32x4.pmax(v4, v5), f32x4.pmax(v6, v7))));
    v128.store(RED + (b << 5), f32x4.pmin(f32x4.pmin(f32x4.pmin(v0, v1), f32x4.pmin(v2, v3)), f32x4.pmin(f32x4.pmin(v4, v5), f32x4.pmin(v6, v7))), 16);
  }
}

/** Stores 16 bytes at q from four i32x4 of levels that must lie in [0, 255], and returns the two
 *  saturated i16x8 halves OR-ed: a lane outside [0, 255] (a NaN x makes its level's magic-number
 *  bits garbage) shows as a bit in 0xFF00 there. */
// @ts-ignore: decorator
@inline function store_bytes16(q: usize, a: v128, b: v128, c: v128, d: v128): v128 {
  const h0 = i16x8.narrow_i32x4_s(a, b), h1 = i16x8.narrow_i32x4_s(c, d);
  v128.store(q, i8x16.narrow_i16x8_u(h0, h1));
  return v128.or(h0, h1);
}

/** Whether a check vector of store_bytes16 saw a level outside [0, 255]. */
// @ts-ignore: decorator
@inline function out_of_byte(check: v128): bool {
  return v128.any_true(v128.and(check, i16x8.splat(<i16>0xFF00)));
}

/** The byte of each element pair (j, j+16) of a 4-bit block: lo | hi << 4, from levels in [0, 15]
 *  (as floats); j = 4k..4k+3 come from a0..a3 (k = 0..3), j+16 from b0..b3. */
// @ts-ignore: decorator
@inline function nibbles(a0: v128, a1: v128, a2: v128, a3: v128, b0: v128, b1: v128, b2: v128, b3: v128): v128 {
  const s = f32x4.splat(16);
  return __bytes16_i32x4(
    __int_f32x4(f32x4.add(a0, f32x4.mul(b0, s))), __int_f32x4(f32x4.add(a1, f32x4.mul(b1, s))),
    __int_f32x4(f32x4.add(a2, f32x4.mul(b2, s))), __int_f32x4(f32x4.add(a3, f32x4.mul(b3, s))));
}

/** nibbles() stored at q, returning store_bytes16's check. */
// @ts-ignore: decorator
@inline function store_nibbles(q: usize, a0: v128, a1: v128, a2: v128, a3: v128, b0: v128, b1: v128, b2: v128, b3: v128): v128 {
  const s = f32x4.splat(16);
  return store_bytes16(q,
    __int_f32x4(f32x4.add(a0, f32x4.mul(b0, s))), __int_f32x4(f32x4.add(a1, f32x4.mul(b1, s))),
    __int_f32x4(f32x4.add(a2, f32x4.mul(b2, s))), __int_f32x4(f32x4.add(a3, f32x4.mul(b3, s))));
}

/** Stores a 5-bit block's qs (16 bytes at qs) and qh (u32 at qh) from its 32 levels in [0, 31] as
 *  bytes: lo = elements 0..15, hi = elements 16..31. qs[j] = (lo[j] & 15) | (hi[j] & 15) << 4; bit j
 *  of qh = bit 4 of element j (i16 shifts: each byte's bits stay within its lane where they count). */
// @ts-ignore: decorator
@inline function store_q5(lo: v128, hi: v128, qh: usize, qs: usize): void {
  v128.store(qs, v128.or(v128.and(lo, i8x16.splat(0x0F)), v128.and(i16x8.shl(hi, 4), i8x16.splat(<i8>0xF0))));
  store<u32>(qh, <u32>i8x16.bitmask(i16x8.shl(lo, 3)) | (<u32>i8x16.bitmask(i16x8.shl(hi, 3)) << 16));
}

/** store_q5 from 8 i32x4 of levels (elements 0..31), returning a check as store_bytes16's. */
// @ts-ignore: decorator
@inline function store_q5_checked(i0: v128, i1: v128, i2: v128, i3: v128, i4: v128, i5: v128, i6: v128, i7: v128, qh: usize, qs: usize): v128 {
  const h0 = i16x8.narrow_i32x4_s(i0, i1), h1 = i16x8.narrow_i32x4_s(i2, i3);
  const h2 = i16x8.narrow_i32x4_s(i4, i5), h3 = i16x8.narrow_i32x4_s(i6, i7);
  store_q5(i8x16.narrow_i16x8_u(h0, h1), i8x16.narrow_i16x8_u(h2, h3), qh, qs);
  return v128.or(v128.or(h0, h1), v128.or(h2, h3));
}

// ---------------------------------------------------------------- q8_0 (_ref)

/** max over the block of |x| as int bits (for finite values the same order as the floats; NaN and
 *  inf come out >= 0x7F800000). */
// @ts-ignore: decorator
@inline function amax_bits_block(x: usize): v128 {
  const m = i32x4.splat(0x7FFFFFFF);
  const a01 = i32x4.max_s(v128.and(v128.load(x), m), v128.and(v128.load(x, 16), m));
  const a23 = i32x4.max_s(v128.and(v128.load(x, 32), m), v128.and(v128.load(x, 48), m));
  const a45 = i32x4.max_s(v128.and(v128.load(x, 64), m), v128.and(v128.load(x, 80), m));
  const a67 = i32x4.max_s(v128.and(v128.load(x, 96), m), v128.and(v128.load(x, 112), m));
  return i32x4.max_s(i32x4.max_s(a01, a23), i32x4.max_s(a45, a67));
}

/** qs = (int8_t)roundf(x*id) for one block, |x*id| < 127.5 guaranteed by the caller. */
// @ts-ignore: decorator
@inline function q8_0_quants(x: usize, q: usize, id: v128): void {
  // each half stored before the next is loaded: V8 keeps loads and stores in order, and this
  // bounds the live vectors (all eight loads up front spill)
  const i0 = __int_f32x4(__roundf_f32x4(f32x4.mul(v128.load(x), id)));
  const i1 = __int_f32x4(__roundf_f32x4(f32x4.mul(v128.load(x, 16), id)));
  const i2 = __int_f32x4(__roundf_f32x4(f32x4.mul(v128.load(x, 32), id)));
  const i3 = __int_f32x4(__roundf_f32x4(f32x4.mul(v128.load(x, 48), id)));
  v128.store(q, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(i0, i1), i16x8.narrow_i32x4_s(i2, i3)));
  const i4 = __int_f32x4(__roundf_f32x4(f32x4.mul(v128.load(x, 64), id)));
  const i5 = __int_f32x4(__roundf_f32x4(f32x4.mul(v128.load(x, 80), id)));
  const i6 = __int_f32x4(__roundf_f32x4(f32x4.mul(v128.load(x, 96), id)));
  const i7 = __int_f32x4(__roundf_f32x4(f32x4.mul(v128.load(x, 112), id)));
  v128.store(q, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(i4, i5), i16x8.narrow_i32x4_s(i6, i7)), 16);
}

function group_q8_0(x: usize, y: usize): void {
  // each block's result stored before the next block is loaded (see q8_0_quants)
  v128.store(RED, amax_bits_block(x));
  v128.store(RED, amax_bits_block(x + BLOCK_F32), 16);
  v128.store(RED, amax_bits_block(x + 2 * BLOCK_F32), 32);
  v128.store(RED, amax_bits_block(x + 3 * BLOCK_F32), 48);
  const amax = __hmax4_i32x4(v128.load(RED), v128.load(RED, 16), v128.load(RED, 32), v128.load(RED, 48));
  const zero = f32x4.splat(0);
  const d = f32x4.div(amax, f32x4.splat(<f32>127));
  const id = v128.bitselect(f32x4.div(f32x4.splat(<f32>1), d), zero, f32x4.ne(d, zero));
  const ok = v128.and(i32x4.lt_s(amax, i32x4.splat(0x7F800000)), f32x4.lt(f32x4.mul(amax, id), f32x4.splat(<f32>127.5)));
  store_fp16x4(__fp16_nonnan_f32x4(d), y, Q8_0_BYTES); // d is NaN only where amax is (redone)
  q8_0_quants(x, y + Q8_0_QS, f32x4.splat(f32x4.extract_lane(id, 0)));
  q8_0_quants(x + BLOCK_F32, y + Q8_0_BYTES + Q8_0_QS, f32x4.splat(f32x4.extract_lane(id, 1)));
  q8_0_quants(x + 2 * BLOCK_F32, y + 2 * Q8_0_BYTES + Q8_0_QS, f32x4.splat(f32x4.extract_lane(id, 2)));
  q8_0_quants(x + 3 * BLOCK_F32, y + 3 * Q8_0_BYTES + Q8_0_QS, f32x4.splat(f32x4.extract_lane(id, 3)));
  const redo = ~i32x4.bitmask(ok) & 15;
  if (redo != 0) {
    for (let b = 0; b < 4; b++) if (redo & (1 << b)) block_q8_0_ref(x + <usize>b * BLOCK_F32, y + <usize>b * Q8_0_BYTES);
  }
}

export function quantize_row_q8_0_ref_simd(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  const ng = nb >> 2;
  for (let g = 0; g < ng; g++) group_q8_0(x + <usize>g * GROUP_F32, y + <usize>g * 4 * Q8_0_BYTES);
  const rem = nb & 3;
  if (rem != 0) {
    pad_group(x + <usize>ng * GROUP_F32, 0, rem);
    group_q8_0(PAD_X, PAD_Y);
    memory.copy(y + <usize>ng * 4 * Q8_0_BYTES, PAD_Y, <usize>rem * Q8_0_BYTES);
  }
}

// ---------------------------------------------------------------- q4_0, q5_0 (_ref)

/** One q4_0 block's quants: min(15, trunc(x*id + 8.5)) (C: MIN(15, (int8_t)(x*id + 8.5f))), with
 *  x*id + 8.5 in [0, 17) guaranteed by the caller. */
// @ts-ignore: decorator
@inline function q4_0_quants(x: usize, q: usize, id: v128): v128 {
  const h = f32x4.splat(<f32>8.5), c = f32x4.splat(<f32>15);
  const a0 = f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x), id), h)), c);
  const a1 = f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 16), id), h)), c);
  const a2 = f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 32), id), h)), c);
  const a3 = f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 48), id), h)), c);
  const b0 = f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 64), id), h)), c);
  const b1 = f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 80), id), h)), c);
  const b2 = f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 96), id), h)), c);
  const b3 = f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 112), id), h)), c);
  return store_nibbles(q, a0, a1, a2, a3, b0, b1, b2, b3);
}

/** One q5_0 block: min(31, trunc(x*id + 16.5)), x*id + 16.5 in [0, 33) guaranteed by the caller. */
// @ts-ignore: decorator
@inline function q5_0_quants(x: usize, y: usize, id: v128): v128 {
  const h = f32x4.splat(<f32>16.5), c = f32x4.splat(<f32>31);
  const i0 = __int_f32x4(f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x), id), h)), c));
  const i1 = __int_f32x4(f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 16), id), h)), c));
  const i2 = __int_f32x4(f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 32), id), h)), c));
  const i3 = __int_f32x4(f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 48), id), h)), c));
  const i4 = __int_f32x4(f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 64), id), h)), c));
  const i5 = __int_f32x4(f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 80), id), h)), c));
  const i6 = __int_f32x4(f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 96), id), h)), c));
  const i7 = __int_f32x4(f32x4.pmin(f32x4.trunc(f32x4.add(f32x4.mul(v128.load(x, 112), id), h)), c));
  return store_q5_checked(i0, i1, i2, i3, i4, i5, i6, i7, y + Q5_0_QH, y + Q5_0_QS);
}

/** q4_0 (q5 false) or q5_0 (q5 true) for a group. */
// @ts-ignore: decorator
@inline function group_x_0(x: usize, y: usize, q5: bool): void {
  reduce_group(x);
  const MX = __hpmax4_f32x4(v128.load(RED), v128.load(RED, 32), v128.load(RED, 64), v128.load(RED, 96));
  const MN = __hpmin4_f32x4(v128.load(RED, 16), v128.load(RED, 48), v128.load(RED, 80), v128.load(RED, 112));
  const zero = f32x4.splat(0);
  // C: the first x with the largest |x| (or +0 when every |x| is 0): +MX if it alone is largest,
  // MN if -MN alone is, +0 if both are 0, and a tie otherwise (redone by the scalar code).
  const negMN = f32x4.neg(MN);
  const pos = f32x4.gt(MX, negMN);
  const neg = f32x4.gt(negMN, MX);
  const max = v128.bitselect(MX, v128.bitselect(MN, zero, neg), pos);
  const tie = v128.andnot(f32x4.eq(MX, negMN), f32x4.eq(MX, zero));
  const amax = f32x4.pmax(MX, negMN);
  const d = f32x4.div(max, f32x4.splat(q5 ? <f32>-16 : <f32>-8));
  const id = v128.bitselect(f32x4.div(f32x4.splat(<f32>1), d), zero, f32x4.ne(d, zero));
  const range = f32x4.lt(f32x4.mul(amax, f32x4.abs(id)), f32x4.splat(q5 ? <f32>16.25 : <f32>8.25));
  // (a NaN that MX and MN miss reaches a level: out_of_byte then sends the group to the scalar code;
  // inf makes the range test fail)
  const ok = v128.andnot(range, tie);
  const bytes: usize = q5 ? Q5_0_BYTES : Q4_0_BYTES;
  store_fp16x4(__fp16_nonnan_f32x4(d), y, bytes); // d is NaN only in lanes that fail the range test
  let check: v128;
  if (q5) {
    check = v128.or(
      v128.or(q5_0_quants(x, y, f32x4.splat(f32x4.extract_lane(id, 0))),
        q5_0_quants(x + BLOCK_F32, y + bytes, f32x4.splat(f32x4.extract_lane(id, 1)))),
      v128.or(q5_0_quants(x + 2 * BLOCK_F32, y + 2 * bytes, f32x4.splat(f32x4.extract_lane(id, 2))),
        q5_0_quants(x + 3 * BLOCK_F32, y + 3 * bytes, f32x4.splat(f32x4.extract_lane(id, 3)))));
  } else {
    check = v128.or(
      v128.or(q4_0_quants(x, y + Q4_0_QS, f32x4.splat(f32x4.extract_lane(id, 0))),
        q4_0_quants(x + BLOCK_F32, y + bytes + Q4_0_QS, f32x4.splat(f32x4.extract_lane(id, 1)))),
      v128.or(q4_0_quants(x + 2 * BLOCK_F32, y + 2 * bytes + Q4_0_QS, f32x4.splat(f32x4.extract_lane(id, 2))),
        q4_0_quants(x + 3 * BLOCK_F32, y + 3 * bytes + Q4_0_QS, f32x4.splat(f32x4.extract_lane(id, 3)))));
  }
  const redo = out_of_byte(check) ? 15 : ~i32x4.bitmask(ok) & 15;
  if (redo != 0) {
    for (let b = 0; b < 4; b++) {
      if (!(redo & (1 << b))) continue;
      if (q5) block_q5_0_ref(x + <usize>b * BLOCK_F32, y + <usize>b * bytes);
      else block_q4_0_ref(x + <usize>b * BLOCK_F32, y + <usize>b * bytes);
    }
  }
}

function group_q4_0(x: usize, y: usize): void { group_x_0(x, y, false); }
function group_q5_0(x: usize, y: usize): void { group_x_0(x, y, true); }

export function quantize_row_q4_0_ref_simd(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  const ng = nb >> 2;
  for (let g = 0; g < ng; g++) group_q4_0(x + <usize>g * GROUP_F32, y + <usize>g * 4 * Q4_0_BYTES);
  const rem = nb & 3;
  if (rem != 0) {
    pad_group(x + <usize>ng * GROUP_F32, 0, rem);
    group_q4_0(PAD_X, PAD_Y);
    memory.copy(y + <usize>ng * 4 * Q4_0_BYTES, PAD_Y, <usize>rem * Q4_0_BYTES);
  }
}

export function quantize_row_q5_0_ref_simd(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  const ng = nb >> 2;
  for (let g = 0; g < ng; g++) group_q5_0(x + <usize>g * GROUP_F32, y + <usize>g * 4 * Q5_0_BYTES);
  const rem = nb & 3;
  if (rem != 0) {
    pad_group(x + <usize>ng * GROUP_F32, 0, rem);
    group_q5_0(PAD_X, PAD_Y);
    memory.copy(y + <usize>ng * 4 * Q5_0_BYTES, PAD_Y, <usize>rem * Q5_0_BYTES);
  }
}

// ---------------------------------------------------------------- q4_1, q5_1 (_ref)

/** One q4_1 block: trunc((x - min)*id + 0.5), in [0, 15] by the caller's range check. */
// @ts-ignore: decorator
@inline function q4_1_quants(x: usize, q: usize, min: v128, id: v128): v128 {
  const h = f32x4.splat(<f32>0.5);
  const a0 = f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x), min), id), h));
  const a1 = f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 16), min), id), h));
  const a2 = f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 32), min), id), h));
  const a3 = f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 48), min), id), h));
  const b0 = f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 64), min), id), h));
  const b1 = f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 80), min), id), h));
  const b2 = f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 96), min), id), h));
  const b3 = f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 112), min), id), h));
  return store_nibbles(q, a0, a1, a2, a3, b0, b1, b2, b3);
}

/** One q5_1 block: trunc((x - min)*id + 0.5), in [0, 31] by the caller's range check. */
// @ts-ignore: decorator
@inline function q5_1_quants(x: usize, y: usize, min: v128, id: v128): v128 {
  const h = f32x4.splat(<f32>0.5);
  const i0 = __int_f32x4(f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x), min), id), h)));
  const i1 = __int_f32x4(f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 16), min), id), h)));
  const i2 = __int_f32x4(f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 32), min), id), h)));
  const i3 = __int_f32x4(f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 48), min), id), h)));
  const i4 = __int_f32x4(f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 64), min), id), h)));
  const i5 = __int_f32x4(f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 80), min), id), h)));
  const i6 = __int_f32x4(f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 96), min), id), h)));
  const i7 = __int_f32x4(f32x4.trunc(f32x4.add(f32x4.mul(f32x4.sub(v128.load(x, 112), min), id), h)));
  return store_q5_checked(i0, i1, i2, i3, i4, i5, i6, i7, y + Q5_1_QH, y + Q5_1_QS);
}

/** q4_1 (q5 false) or q5_1 (q5 true) for a group. */
// @ts-ignore: decorator
@inline function group_x_1(x: usize, y: usize, q5: bool): void {
  reduce_group(x);
  const MX = __hpmax4_f32x4(v128.load(RED), v128.load(RED, 32), v128.load(RED, 64), v128.load(RED, 96));
  const MN = __hpmin4_f32x4(v128.load(RED, 16), v128.load(RED, 48), v128.load(RED, 80), v128.load(RED, 112));
  const zero = f32x4.splat(0);
  const diff = f32x4.sub(MX, MN);
  const d = f32x4.div(diff, f32x4.splat(q5 ? <f32>31 : <f32>15));
  const id = v128.bitselect(f32x4.div(f32x4.splat(<f32>1), d), zero, f32x4.ne(d, zero));
  const range = f32x4.lt(f32x4.mul(diff, id), f32x4.splat(q5 ? <f32>31.25 : <f32>15.25));
  // min or max ±0: C keeps the first zero it meets, whose sign reaches d or m
  const zeros = v128.or(f32x4.eq(MN, zero), f32x4.eq(MX, zero));
  // (a NaN that MX and MN miss reaches a level: out_of_byte then sends the group to the scalar code;
  // inf makes the range test fail)
  const ok = v128.andnot(range, zeros);
  const bytes: usize = q5 ? Q5_1_BYTES : Q4_1_BYTES;
  // d and m side by side (ggml_half d, m): one u32 per block; NaN only in lanes that fail the range test
  const dm = v128.or(__fp16_nonnan_f32x4(d), i32x4.shl(__fp16_nonnan_f32x4(MN), 16));
  store<u32>(y, i32x4.extract_lane(dm, 0));
  store<u32>(y + bytes, i32x4.extract_lane(dm, 1));
  store<u32>(y + 2 * bytes, i32x4.extract_lane(dm, 2));
  store<u32>(y + 3 * bytes, i32x4.extract_lane(dm, 3));
  let check: v128;
  if (q5) {
    check = v128.or(
      v128.or(q5_1_quants(x, y, f32x4.splat(f32x4.extract_lane(MN, 0)), f32x4.splat(f32x4.extract_lane(id, 0))),
        q5_1_quants(x + BLOCK_F32, y + bytes, f32x4.splat(f32x4.extract_lane(MN, 1)), f32x4.splat(f32x4.extract_lane(id, 1)))),
      v128.or(q5_1_quants(x + 2 * BLOCK_F32, y + 2 * bytes, f32x4.splat(f32x4.extract_lane(MN, 2)), f32x4.splat(f32x4.extract_lane(id, 2))),
        q5_1_quants(x + 3 * BLOCK_F32, y + 3 * bytes, f32x4.splat(f32x4.extract_lane(MN, 3)), f32x4.splat(f32x4.extract_lane(id, 3)))));
  } else {
    check = v128.or(
      v128.or(q4_1_quants(x, y + Q4_1_QS, f32x4.splat(f32x4.extract_lane(MN, 0)), f32x4.splat(f32x4.extract_lane(id, 0))),
        q4_1_quants(x + BLOCK_F32, y + bytes + Q4_1_QS, f32x4.splat(f32x4.extract_lane(MN, 1)), f32x4.splat(f32x4.extract_lane(id, 1)))),
      v128.or(q4_1_quants(x + 2 * BLOCK_F32, y + 2 * bytes + Q4_1_QS, f32x4.splat(f32x4.extract_lane(MN, 2)), f32x4.splat(f32x4.extract_lane(id, 2))),
        q4_1_quants(x + 3 * BLOCK_F32, y + 3 * bytes + Q4_1_QS, f32x4.splat(f32x4.extract_lane(MN, 3)), f32x4.splat(f32x4.extract_lane(id, 3)))));
  }
  const redo = out_of_byte(check) ? 15 : ~i32x4.bitmask(ok) & 15;
  if (redo != 0) {
    for (let b = 0; b < 4; b++) {
      if (!(redo & (1 << b))) continue;
      if (q5) block_q5_1_ref(x + <usize>b * BLOCK_F32, y + <usize>b * bytes);
      else block_q4_1_ref(x + <usize>b * BLOCK_F32, y + <usize>b * bytes);
    }
  }
}

function group_q4_1(x: usize, y: usize): void { group_x_1(x, y, false); }
function group_q5_1(x: usize, y: usize): void { group_x_1(x, y, true); }

export function quantize_row_q4_1_ref_simd(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  const ng = nb >> 2;
  for (let g = 0; g < ng; g++) group_q4_1(x + <usize>g * GROUP_F32, y + <usize>g * 4 * Q4_1_BYTES);
  const rem = nb & 3;
  if (rem != 0) {
    pad_group(x + <usize>ng * GROUP_F32, 0, rem);
    group_q4_1(PAD_X, PAD_Y);
    memory.copy(y + <usize>ng * 4 * Q4_1_BYTES, PAD_Y, <usize>rem * Q4_1_BYTES);
  }
}

export function quantize_row_q5_1_ref_simd(x: usize, y: usize, k: i32): void {
  const nb = k / QK;
  const ng = nb >> 2;
  for (let g = 0; g < ng; g++) group_q5_1(x + <usize>g * GROUP_F32, y + <usize>g * 4 * Q5_1_BYTES);
  const rem = nb & 3;
  if (rem != 0) {
    pad_group(x + <usize>ng * GROUP_F32, 0, rem);
    group_q5_1(PAD_X, PAD_Y);
    memory.copy(y + <usize>ng * 4 * Q5_1_BYTES, PAD_Y, <usize>rem * Q5_1_BYTES);
  }
}

// ---------------------------------------------------------------- _impl: one block per lane

/** Transposes the group's x into XT and its weights qw[j] * sqrtf(sigma2 + x[j]*x[j]) into WT:
 *  XT[i] = [x_0[i], x_1[i], x_2[i], x_3[i]] for block b = lane b. */
// @ts-ignore: decorator
@inline function transpose_group(x: usize, qw: usize, sigma2: f32): void {
  const s2 = f32x4.splat(sigma2);
  for (let j: usize = 0; j < BLOCK_F32; j += 16) {
    const x0 = v128.load(x + j), x1 = v128.load(x + BLOCK_F32 + j), x2 = v128.load(x + 2 * BLOCK_F32 + j), x3 = v128.load(x + 3 * BLOCK_F32 + j);
    __transpose4_store(x0, x1, x2, x3, XT + (j << 2));
    __transpose4_store(
      f32x4.mul(v128.load(qw + j), f32x4.sqrt(f32x4.add(s2, f32x4.mul(x0, x0)))),
      f32x4.mul(v128.load(qw + BLOCK_F32 + j), f32x4.sqrt(f32x4.add(s2, f32x4.mul(x1, x1)))),
      f32x4.mul(v128.load(qw + 2 * BLOCK_F32 + j), f32x4.sqrt(f32x4.add(s2, f32x4.mul(x2, x2)))),
      f32x4.mul(v128.load(qw + 3 * BLOCK_F32 + j), f32x4.sqrt(f32x4.add(s2, f32x4.mul(x3, x3)))),
      WT + (j << 2));
  }
}

/** q4_0 (q5 false) or q5_0 (q5 true) with importance, for a group. */
// @ts-ignore: decorator
@inline function group_x_0_impl(x: usize, qw: usize, sigma2: f32, y: usize, q5: bool): void {
  const nmax = q5 ? 16 : 8;
  transpose_group(x, qw, sigma2);
  const redo = __qx_search_x4(32, nmax);
  const bytes: usize = q5 ? Q5_0_BYTES : Q4_0_BYTES;
  store_fp16x4(__fp16_f32x4(v128.load(OUT_SCALE)), y, bytes);
  for (let b = 0; b < 4; b++) {
    const xb = x + <usize>b * BLOCK_F32;
    const yb = y + <usize>b * bytes;
    const is = f32x4.splat(load<f32>(OUT_IS + (<usize>b << 2)));
    const z = i32x4.splat(load<i32>(OUT_DONE + (<usize>b << 2)));
    if (q5) {
      const lo = __bytes16_i32x4(
        __int_f32x4(__qx_level_f32x4(xb, is, nmax, z)), __int_f32x4(__qx_level_f32x4(xb + 16, is, nmax, z)),
        __int_f32x4(__qx_level_f32x4(xb + 32, is, nmax, z)), __int_f32x4(__qx_level_f32x4(xb + 48, is, nmax, z)));
      const hi = __bytes16_i32x4(
        __int_f32x4(__qx_level_f32x4(xb + 64, is, nmax, z)), __int_f32x4(__qx_level_f32x4(xb + 80, is, nmax, z)),
        __int_f32x4(__qx_level_f32x4(xb + 96, is, nmax, z)), __int_f32x4(__qx_level_f32x4(xb + 112, is, nmax, z)));
      store_q5(lo, hi, yb + Q5_0_QH, yb + Q5_0_QS);
    } else {
      v128.store(yb + Q4_0_QS, nibbles(
        __qx_level_f32x4(xb, is, nmax, z), __qx_level_f32x4(xb + 16, is, nmax, z), __qx_level_f32x4(xb + 32, is, nmax, z), __qx_level_f32x4(xb + 48, is, nmax, z),
        __qx_level_f32x4(xb + 64, is, nmax, z), __qx_level_f32x4(xb + 80, is, nmax, z), __qx_level_f32x4(xb + 96, is, nmax, z), __qx_level_f32x4(xb + 112, is, nmax, z)));
    }
  }
  if (redo != 0) {
    for (let b = 0; b < 4; b++) {
      if (!(redo & (1 << b))) continue;
      if (q5) block_q5_0_impl(x + <usize>b * BLOCK_F32, y + <usize>b * bytes, qw + <usize>b * BLOCK_F32, sigma2);
      else block_q4_0_impl(x + <usize>b * BLOCK_F32, y + <usize>b * bytes, qw + <usize>b * BLOCK_F32, sigma2);
    }
  }
}

/** A block's levels clamp(nearest_int((x - mu)*is), 0, nmax) as floats, element vector at offset
 *  o bytes; zero (all ones for an early-exit block) forces 0. */
// @ts-ignore: decorator
@inline function qkx_level(x: usize, o: usize, mu: v128, is: v128, nmax: i32, zero: v128): v128 {
  const l = __clamp_levels_f32x4(f32x4.nearest(f32x4.mul(f32x4.sub(v128.load(x + o), mu), is)), f32x4.splat(<f32>nmax));
  return v128.andnot(l, zero);
}

/** q4_1 (q5 false) or q5_1 (q5 true) with importance, for a group. */
// @ts-ignore: decorator
@inline function group_x_1_impl(x: usize, qw: usize, sigma2: f32, y: usize, q5: bool): void {
  const nmax = q5 ? 31 : 15;
  transpose_group(x, qw, sigma2);
  const redo = __qkx_search_x4(32, nmax, <f32>-0.9, <f32>0.05, 36, false);
  const bytes: usize = q5 ? Q5_1_BYTES : Q4_1_BYTES;
  store_fp16x4(__fp16_f32x4(v128.load(OUT_SCALE)), y, bytes);
  store_fp16x4(__fp16_f32x4(v128.load(OUT_MIN)), y + (q5 ? Q5_1_M : Q4_1_M), bytes);
  for (let b = 0; b < 4; b++) {
    const xb = x + <usize>b * BLOCK_F32;
    const yb = y + <usize>b * bytes;
    const is = f32x4.splat(load<f32>(OUT_IS + (<usize>b << 2)));
    const mu = f32x4.splat(load<f32>(OUT_MU + (<usize>b << 2)));
    const z = i32x4.splat(load<i32>(OUT_DONE + (<usize>b << 2)));
    if (q5) {
      const lo = __bytes16_i32x4(
        __int_f32x4(qkx_level(xb, 0, mu, is, nmax, z)), __int_f32x4(qkx_level(xb, 16, mu, is, nmax, z)),
        __int_f32x4(qkx_level(xb, 32, mu, is, nmax, z)), __int_f32x4(qkx_level(xb, 48, mu, is, nmax, z)));
      const hi = __bytes16_i32x4(
        __int_f32x4(qkx_level(xb, 64, mu, is, nmax, z)), __int_f32x4(qkx_level(xb, 80, mu, is, nmax, z)),
        __int_f32x4(qkx_level(xb, 96, mu, is, nmax, z)), __int_f32x4(qkx_level(xb, 112, mu, is, nmax, z)));
      store_q5(lo, hi, yb + Q5_1_QH, yb + Q5_1_QS);
    } else {
      v128.store(yb + Q4_1_QS, nibbles(
        qkx_level(xb, 0, mu, is, nmax, z), qkx_level(xb, 16, mu, is, nmax, z), qkx_level(xb, 32, mu, is, nmax, z), qkx_level(xb, 48, mu, is, nmax, z),
        qkx_level(xb, 64, mu, is, nmax, z), qkx_level(xb, 80, mu, is, nmax, z), qkx_level(xb, 96, mu, is, nmax, z), qkx_level(xb, 112, mu, is, nmax, z)));
    }
  }
  if (redo != 0) {
    for (let b = 0; b < 4; b++) {
      if (!(redo & (1 << b))) continue;
      if (q5) block_q5_1_impl(x + <usize>b * BLOCK_F32, y + <usize>b * bytes, qw + <usize>b * BLOCK_F32, sigma2);
      else block_q4_1_impl(x + <usize>b * BLOCK_F32, y + <usize>b * bytes, qw + <usize>b * BLOCK_F32, sigma2);
    }
  }
}

function group_q4_0_impl(x: usize, qw: usize, sigma2: f32, y: usize): void { group_x_0_impl(x, qw, sigma2, y, false); }
function group_q5_0_impl(x: usize, qw: usize, sigma2: f32, y: usize): void { group_x_0_impl(x, qw, sigma2, y, true); }
function group_q4_1_impl(x: usize, qw: usize, sigma2: f32, y: usize): void { group_x_1_impl(x, qw, sigma2, y, false); }
function group_q5_1_impl(x: usize, qw: usize, sigma2: f32, y: usize): void { group_x_1_impl(x, qw, sigma2, y, true); }

/** The row loop of the _impl kernels: sigma2 in order (as C), then groups, then a padded group. */
// @ts-ignore: decorator
@inline function impl_rows(x: usize, y: usize, n: i32, qw: usize, bytes: usize, type: i32): void {
  const sigma2: f32 = row_sigma2(x, n);
  const nb = n / QK;
  const ng = nb >> 2;
  for (let g = 0; g < ng; g++) {
    const o = <usize>g * GROUP_F32;
    const yg = y + <usize>g * 4 * bytes;
    if (type == 2) group_q4_0_impl(x + o, qw + o, sigma2, yg);
    else if (type == 3) group_q4_1_impl(x + o, qw + o, sigma2, yg);
    else if (type == 6) group_q5_0_impl(x + o, qw + o, sigma2, yg);
    else group_q5_1_impl(x + o, qw + o, sigma2, yg);
  }
  const rem = nb & 3;
  if (rem != 0) {
    const o = <usize>ng * GROUP_F32;
    pad_group(x + o, qw + o, rem);
    if (type == 2) group_q4_0_impl(PAD_X, PAD_W, sigma2, PAD_Y);
    else if (type == 3) group_q4_1_impl(PAD_X, PAD_W, sigma2, PAD_Y);
    else if (type == 6) group_q5_0_impl(PAD_X, PAD_W, sigma2, PAD_Y);
    else group_q5_1_impl(PAD_X, PAD_W, sigma2, PAD_Y);
    memory.copy(y + <usize>ng * 4 * bytes, PAD_Y, <usize>rem * bytes);
  }
}

export function quantize_row_q4_0_impl_simd(x: usize, y: usize, n: i32, qw: usize): void {
  if (qw == 0) quantize_row_q4_0_ref_simd(x, y, n);
  else impl_rows(x, y, n, qw, Q4_0_BYTES, 2);
}
export function quantize_row_q4_1_impl_simd(x: usize, y: usize, n: i32, qw: usize): void {
  if (qw == 0) quantize_row_q4_1_ref_simd(x, y, n);
  else impl_rows(x, y, n, qw, Q4_1_BYTES, 3);
}
export function quantize_row_q5_0_impl_simd(x: usize, y: usize, n: i32, qw: usize): void {
  if (qw == 0) quantize_row_q5_0_ref_simd(x, y, n);
  else impl_rows(x, y, n, qw, Q5_0_BYTES, 6);
}
export function quantize_row_q5_1_impl_simd(x: usize, y: usize, n: i32, qw: usize): void {
  if (qw == 0) quantize_row_q5_1_ref_simd(x, y, n);
  else impl_rows(x, y, n, qw, Q5_1_BYTES, 7);
}
