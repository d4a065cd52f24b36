// SIMD128 versions of quantize_row_{tq1_0,tq2_0,mxfp4,nvfp4,q2_0}_ref, byte-identical to the scalar
// ports in small.ts (which stay the reference; test/kernels/simd-small.test.ts compares the two).
// q1_0 has none: its scalar kernel is already several times native (its cost is the f32 running sum,
// which must stay sequential).
//
// One block at a time. The per-block reduction (max |x|) is order-free over values without NaN, so
// it runs vertically (pmax) and then across lanes; the scale stays scalar, as in small.ts; the
// per-element maps (x*id, rounding, C's casts, index search) and the bit packing are lane-wise.
//   - q2_0, mxfp4, nvfp4 take max |x| with `if (a > amax)` / `if (amax < a)`, which skips NaN just
//     as pmax does: exact on every input.
//   - tq1_0, tq2_0 take it with C's MAX(amax, a), which can pick up a NaN and drop it again, so a
//     block holding a NaN is handed back to the scalar code. Without NaN, |x·id| ≤ 1 (plus an ulp),
//     or ±inf / NaN when 1/amax is inf (then x·0 or 0·inf), so lroundf's int is roundf + trunc, and
//     0 where the product is not below 2^31 (LONG_MIN's low half); the wrap of 2^31 ≤ |v| < 2^63
//     cannot occur.

import { fp32_to_fp16, cvtt_i32, fabsf } from "./common";
import { block_tq1_0, block_tq2_0, e8m0_to_fp32_half, fp32_to_ue4m3, kvalue_mxfp4, log2f, ue4m3_to_fp32 } from "./small";
import { __roundf_f32x4, __bytes16_i32x4 } from "./simd";

/** max |x| over n floats at x (n a multiple of 16), pmax lanes then the four lanes: exact as
 *  `if (amax < |x|) amax = |x|` from 0 (NaN never taken, all values ≥ +0, so order is free).
 */
// @ts-ignore: decorator
@inline function absmax(x: usize, n: i32): v128 {
  let m0 = f32x4.splat(0), m1 = f32x4.splat(0);
  for (let j = 0; j < n; j += 8) {
    m0 = f32x4.pmax(m0, f32x4.abs(v128.load(x + (<usize>j << 2))));
    m1 = f32x4.pmax(m1, f32x4.abs(v128.load(x + (<usize>j << 2), 16)));
  }
  const m = f32x4.pmax(m0, m1);
  return f32x4.pmax(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
}

/** The float max of absmax's result (lanes 0, 1). */
// @ts-ignore: decorator
@inline function lanes_max(m: v128): f32 {
  const a = f32x4.extract_lane(m, 0), b = f32x4.extract_lane(m, 1);
  return a < b ? b : a;
}

/** Whether any of n floats at x is NaN. */
// @ts-ignore: decorator
@inline function has_nan(x: usize, n: i32): bool {
  let acc = i32x4.splat(0);
  for (let j = 0; j < n; j += 4) {
    const v = v128.load(x + (<usize>j << 2));
    acc = v128.or(acc, f32x4.ne(v, v));
  }
  return v128.any_true(acc);
}

/** `lroundf(v)` as int on lanes where |v| < 2^31 or v is ±inf / NaN (see the header): roundf, trunc,
 *  and 0 where |v| is not below 2^31. */
// @ts-ignore: decorator
@inline function __lround_i32x4(v: v128): v128 {
  const r = __roundf_f32x4(v);
  return v128.and(i32x4.trunc_sat_f32x4_s(r), f32x4.lt(f32x4.abs(r), f32x4.splat(<f32>2147483648.0)));
}

/** Four i32 lanes, each holding four byte values in [0, 3] (little-endian), to the packed byte
 *  b0 | b1 << 2 | b2 << 4 | b3 << 6 in each lane. */
// @ts-ignore: decorator
@inline function __pack2_i32x4(v: v128): v128 {
  const p = v128.or(v128.or(v, i32x4.shr_u(v, 6)), v128.or(i32x4.shr_u(v, 12), i32x4.shr_u(v, 18)));
  return v128.and(p, i32x4.splat(0xFF));
}

/** (q * 256 + 242) / 243 on lanes 0 ≤ q ≤ 255 (tq1_0's trit scaling); exact in f32, as the quotient's
 *  fraction is 0 or at least 1/243 while its rounding error is below 2^-15. */
// @ts-ignore: decorator
@inline function __div243_i32x4(q: v128): v128 {
  const num = f32x4.convert_i32x4_s(i32x4.add(i32x4.shl(q, 8), i32x4.splat(242)));
  return i32x4.trunc_sat_f32x4_s(f32x4.trunc(f32x4.div(num, f32x4.splat(243))));
}

// ---------------------------------------------------------------- tq1_0

/** tq1_0's base-3 accumulation of `count` trits (element stride `stride` floats) at x, four bytes per lane. */
// @ts-ignore: decorator
@inline function trits(x: usize, stride: i32, count: i32, id: v128): v128 {
  let q = i32x4.splat(0);
  for (let n = 0; n < count; ++n) {
    const xi = i32x4.add(__lround_i32x4(f32x4.mul(v128.load(x + (<usize>(n * stride) << 2)), id)), i32x4.splat(1));
    q = v128.and(i32x4.mul(q, i32x4.splat(3)), i32x4.splat(0xFF));
    q = v128.and(i32x4.add(q, xi), i32x4.splat(0xFF));
  }
  return q;
}

export function block_tq1_0_simd(x: usize, y: usize): void {
  if (has_nan(x, 256)) { block_tq1_0(x, y); return; }
  const d: f32 = lanes_max(absmax(x, 256));
  const id = f32x4.splat(d != 0 ? <f32>1 / d : <f32>0);
  store<u16>(y + 52, fp32_to_fp16(d));
  const m8 = i32x4.splat(0xFF);
  // 5 elements per byte, along 32 bytes (element m + 32n), then along 16 (160 + m + 16n)
  for (let m = 0; m < 32; m += 16) {
    const p = x + (<usize>m << 2);
    v128.store(y + <usize>m, __bytes16_i32x4(
      v128.and(__div243_i32x4(trits(p, 32, 5, id)), m8), v128.and(__div243_i32x4(trits(p + 16, 32, 5, id)), m8),
      v128.and(__div243_i32x4(trits(p + 32, 32, 5, id)), m8), v128.and(__div243_i32x4(trits(p + 48, 32, 5, id)), m8)));
  }
  const x2 = x + 160 * 4;
  v128.store(y + 32, __bytes16_i32x4(
    v128.and(__div243_i32x4(trits(x2, 16, 5, id)), m8), v128.and(__div243_i32x4(trits(x2 + 16, 16, 5, id)), m8),
    v128.and(__div243_i32x4(trits(x2 + 32, 16, 5, id)), m8), v128.and(__div243_i32x4(trits(x2 + 48, 16, 5, id)), m8)));
  // 4 elements per byte (240 + j + 4m), the first shifted to the most significant trit
  const q = v128.and(i32x4.mul(trits(x2 + 80 * 4, 4, 4, id), i32x4.splat(3)), m8);
  const b = __bytes16_i32x4(v128.and(__div243_i32x4(q), m8), q, q, q);
  store<u32>(y + 48, i32x4.extract_lane(b, 0));
}

// ---------------------------------------------------------------- tq2_0

export function block_tq2_0_simd(x: usize, y: usize): void {
  if (has_nan(x, 256)) { block_tq2_0(x, y); return; }
  const d: f32 = lanes_max(absmax(x, 256));
  const id = f32x4.splat(d != 0 ? <f32>1 / d : <f32>0);
  store<u16>(y + 64, fp32_to_fp16(d));
  // byte j + m holds elements 4j + m + 32n, n = 0..3, two bits each
  for (let j = 0; j < 64; j += 32) {
    const xb = x + <usize>(j * 4) * 4;
    for (let m = 0; m < 32; m += 16) {
      const p = xb + (<usize>m << 2);
      v128.store(y + <usize>(j + m), __bytes16_i32x4(tq2_byte(p, id), tq2_byte(p + 16, id), tq2_byte(p + 32, id), tq2_byte(p + 48, id)));
    }
  }
}

// @ts-ignore: decorator
@inline function tq2_byte(p: usize, id: v128): v128 {
  let q = i32x4.splat(0);
  for (let n = 0; n < 4; ++n) {
    const xi = i32x4.add(__lround_i32x4(f32x4.mul(v128.load(p + (<usize>(n * 32) << 2)), id)), i32x4.splat(1));
    q = v128.and(i32x4.add(q, i32x4.shl(v128.and(xi, i32x4.splat(3)), 2 * n)), i32x4.splat(0xFF));
  }
  return q;
}

// ---------------------------------------------------------------- mxfp4 / nvfp4

/** Candidates k_i·d (i = 1..7, kvalues_mxfp4's non-negative half), splatted, for best_index4. */
const CANDIDATES: usize = memory.data(8 * 16, 16);

// @ts-ignore: decorator
@inline function set_candidates(d: f32): void {
  for (let i = 1; i < 8; i++) v128.store(CANDIDATES + (<usize>i << 4), f32x4.splat(kvalue_mxfp4(i) * d));
}

// best_index_mxfp4, four lanes at a time. For x ≥ 0 the negative values never beat index 0 strictly (their
// error |k·d| + x rounds to at least x = index 0's error), nor the positive ones for x < 0; and
// index 8 + i's error on x equals index i's on -x (negation is exact and rounding symmetric). So the
// C search over 16 is the search over indices 0..7 on |x|, plus 8 where x < 0 and the index is not 0.
// On 0..7 the candidates k_i·d do not decrease, so fl(k_i·d - |x|) does not either (rounding is
// monotone) and the errors |fl(k_i·d - |x|)| fall, then rise: C's first strict minimum is the last
// i whose error is below its predecessor's (0 if none), a max over i instead of a running select.
// NaN: no comparison holds, index 0, as in C.

/** Index i | 8 on lanes where x < 0 and i != 0 (the negative half of kvalues_mxfp4). */
// @ts-ignore: decorator
@inline function __sign8_i32x4(x: v128, idx: v128): v128 {
  const neg = v128.andnot(f32x4.lt(x, f32x4.splat(0)), i32x4.eq(idx, i32x4.splat(0)));
  return v128.or(idx, v128.and(neg, i32x4.splat(8)));
}

/** Two nibble indices per byte, lo | hi << 4, for the four-float groups at lo and hi: the search
 *  above for both groups in one pass (two independent chains, one load of each candidate). */
// @ts-ignore: decorator
@inline function nibbles(lo: usize, hi: usize): v128 {
  const xl = v128.load(lo), xh = v128.load(hi);
  const al = f32x4.abs(xl), ah = f32x4.abs(xh);
  let pl = al, ph = ah; // |0·d - x|
  let il = i32x4.splat(0), ih = i32x4.splat(0);
  for (let i = 1; i < 8; i++) {
    const c = v128.load(CANDIDATES + (<usize>i << 4));
    const el = f32x4.abs(f32x4.sub(c, al)), eh = f32x4.abs(f32x4.sub(c, ah));
    il = i32x4.max_s(il, v128.and(f32x4.lt(el, pl), i32x4.splat(i)));
    ih = i32x4.max_s(ih, v128.and(f32x4.lt(eh, ph), i32x4.splat(i)));
    pl = el; ph = eh;
  }
  return v128.or(__sign8_i32x4(xl, il), i32x4.shl(__sign8_i32x4(xh, ih), 4));
}

/** floorf(log2f(a)) for a > 0: a normal a's exponent when its mantissa is below 0x7F0000 (then
 *  log2(a) ≤ k + 0.9944, more than an f32 ulp of it below k + 1, and at least k, exact at 2^k),
 *  else small.ts's log2f (next to 2^(k+1) it rounds up to k + 1; subnormals, inf). The f64 log2
 *  costs a third of the kernel and almost never decides. */
// @ts-ignore: decorator
@inline function floor_log2f(a: f32): f32 {
  const bits = reinterpret<u32>(a);
  const exp = bits >> 23;
  if (exp - 1 < 254 && (bits & 0x7FFFFF) < 0x7F0000) return <f32>(<i32>exp - 127);
  return Mathf.floor(log2f(a));
}

export function block_mxfp4_simd(x: usize, y: usize): void {
  const amax: f32 = lanes_max(absmax(x, 32));
  const e: u32 = amax > 0 ? <u32>(cvtt_i32(floor_log2f(amax) - <f32>2 + <f32>127) & 0xFF) : 0;
  store<u8>(y, <u8>e);
  set_candidates(e8m0_to_fp32_half(e));
  // byte j: elements j and 16 + j
  v128.store(y + 1, __bytes16_i32x4(nibbles(x, x + 64), nibbles(x + 16, x + 80), nibbles(x + 32, x + 96), nibbles(x + 48, x + 112)));
}

export function block_nvfp4_simd(x: usize, y: usize): void {
  for (let s = 0; s < 4; s++) {
    const xb = x + <usize>(s * 16) * 4;
    const ue = fp32_to_ue4m3(lanes_max(absmax(xb, 16)) / <f32>6);
    store<u8>(y + <usize>s, <u8>ue);
    set_candidates(ue4m3_to_fp32(ue));
    // byte j of the sub-block: elements j and 8 + j
    const b = __bytes16_i32x4(nibbles(xb, xb + 32), nibbles(xb + 16, xb + 48), i32x4.splat(0), i32x4.splat(0));
    store<u64>(y + 4 + <usize>(s * 8), i64x2.extract_lane(b, 0));
  }
}

// ---------------------------------------------------------------- q2_0

/** q2_0's level of four lanes: (int)roundf(x·id) + 1 clamped to [0, 3]. cvttss2si's 0x80000000
 *  (NaN, |r| ≥ 2^31) gives 0 after the clamp; trunc_sat gives the same (its INT_MAX + 1 wraps)
 *  except on NaN, whose lanes are cleared. */
// @ts-ignore: decorator
@inline function __q2_0_level_i32x4(x: v128, id: v128): v128 {
  const r = __roundf_f32x4(f32x4.mul(x, id));
  const q = i32x4.min_s(i32x4.max_s(i32x4.add(i32x4.trunc_sat_f32x4_s(r), i32x4.splat(1)), i32x4.splat(0)), i32x4.splat(3));
  return v128.and(q, f32x4.eq(r, r));
}

/** 16 levels of consecutive elements at p as four packed bytes (lanes 0..3). */
// @ts-ignore: decorator
@inline function q2_0_bytes(p: usize, id: v128): v128 {
  return __pack2_i32x4(__bytes16_i32x4(
    __q2_0_level_i32x4(v128.load(p), id), __q2_0_level_i32x4(v128.load(p, 16), id),
    __q2_0_level_i32x4(v128.load(p, 32), id), __q2_0_level_i32x4(v128.load(p, 48), id)));
}

export function block_q2_0_simd(x: usize, y: usize): void {
  const d: f32 = lanes_max(absmax(x, 64));
  const id = f32x4.splat(d > 0 ? <f32>1 / d : <f32>0);
  store<u16>(y, fp32_to_fp16(d));
  v128.store(y + 2, __bytes16_i32x4(q2_0_bytes(x, id), q2_0_bytes(x + 64, id), q2_0_bytes(x + 128, id), q2_0_bytes(x + 192, id)));
}
