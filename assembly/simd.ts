// SIMD128 helpers shared by the vector kernels (legacy_simd.ts, float.ts, rows.ts), and the switch
// that sends those kernels back to their scalar references (tests compare the two byte for byte).
//
// Every helper is lane-wise IEEE binary32 (WASM has no FMA contraction and no excess precision),
// so a lane computes exactly what the scalar code computes for one element. The few helpers that
// combine lanes say in which order they do it; they are used only where that order cannot change
// the result (see each caller's guard).
// No relaxed SIMD: every op here has one defined result.

// ---- the scalar switch ----

let scalarKernels: bool = false;

/** 1: the kernels that have a SIMD version run their scalar reference instead (tests only). */
export function set_scalar_kernels(on: i32): void { scalarKernels = on != 0; }

/** Whether the scalar references are selected. */
// @ts-ignore: decorator
@inline export function use_scalar(): bool { return scalarKernels; }

// ---- constants ----

/** 1.5 * 2^23 (0x4B400000): adding it to an integer-valued float t with |t| < 2^22 leaves
 *  0x4B400000 + t in the bits. */
export const MAGIC_F32: f32 = 12582912.0;
export const MAGIC_BITS: i32 = 0x4B400000;
export const F32_INF: f32 = reinterpret<f32>(0x7F800000);

// ---- per-lane maps ----

/** Integer-valued floats (|t| < 2^22, -0 allowed) to i32 lanes: t + 1.5*2^23 is exact and holds t in
 *  its low bits. Two ops, where i32x4.trunc_sat_f32x4_s is a seven-instruction sequence on x64. */
// @ts-ignore: decorator
@inline export function __int_f32x4(t: v128): v128 {
  return i32x4.sub(f32x4.add(t, f32x4.splat(MAGIC_F32)), i32x4.splat(MAGIC_BITS));
}

/** Each lane: clamp(nearest_int(0.5*(id*x - 1)), 0, top) as i32, the level of value x at inverse
 *  scale id in the iq2/iq3 searches (q = 2l + 1). */
// @ts-ignore: decorator
@inline export function __levels_f32x4(x: v128, id: f32, top: i32): v128 {
  return __levels_idv_f32x4(x, f32x4.splat(id), top);
}

/** As __levels_f32x4 with one inverse scale per lane (id * x, as the scalar code multiplies). */
// @ts-ignore: decorator
@inline export function __levels_idv_f32x4(x: v128, id: v128, top: i32): v128 {
  const t = f32x4.mul(f32x4.splat(<f32>0.5), f32x4.sub(f32x4.mul(id, x), f32x4.splat(<f32>1)));
  const l = i32x4.sub(v128.and(f32x4.add(t, f32x4.splat(MAGIC_F32)), i32x4.splat(0x007fffff)), i32x4.splat(0x00400000));
  return i32x4.max_s(i32x4.splat(0), i32x4.min_s(i32x4.splat(top), l));
}

/** C roundf on each lane, exact for every f32: trunc(x + copysign(0.49999997, x)) (common.ts roundf). */
// @ts-ignore: decorator
@inline export function __roundf_f32x4(x: v128): v128 {
  const half = v128.or(v128.and(x, i32x4.splat(<i32>0x80000000)), i32x4.splat(0x3EFFFFFF));
  return f32x4.trunc(f32x4.add(x, half));
}

/** Lanes that are finite (not NaN, not ±inf): all ones, else zero. */
// @ts-ignore: decorator
@inline export function __finite_f32x4(x: v128): v128 {
  return f32x4.lt(f32x4.abs(x), f32x4.splat(F32_INF));
}

/** fp32_to_fp16 (common.ts) on each lane: the 16 bits, zero-extended, in each i32 lane.
 *  Same ops in the same order as the scalar version; `shl1_w > 0xFF000000` (unsigned) is written as
 *  the equivalent `(w & 0x7FFFFFFF) > 0x7F800000` (signed). */
// @ts-ignore: decorator
@inline export function __fp16_f32x4(f: v128): v128 {
  const nan = i32x4.gt_s(v128.and(f, i32x4.splat(0x7FFFFFFF)), i32x4.splat(0x7F800000));
  return v128.bitselect(v128.or(i32x4.shr_u(v128.and(f, i32x4.splat(<i32>0x80000000)), 16), i32x4.splat(0x7E00)), __fp16_nonnan_f32x4(f), nan);
}

/** __fp16_f32x4 for lanes that are not NaN (±inf included): sign | nonsign. */
// @ts-ignore: decorator
@inline export function __fp16_nonnan_f32x4(f: v128): v128 {
  const scale_to_inf = f32x4.splat(reinterpret<f32>(0x77800000)); // 0x1.0p+112f
  const scale_to_zero = f32x4.splat(reinterpret<f32>(0x08800000)); // 0x1.0p-110f
  let base = f32x4.mul(f32x4.mul(f32x4.abs(f), scale_to_inf), scale_to_zero);
  const shl1_w = i32x4.add(f, f);
  const sign = v128.and(f, i32x4.splat(<i32>0x80000000));
  let bias = v128.and(shl1_w, i32x4.splat(<i32>0xFF000000));
  bias = i32x4.max_u(bias, i32x4.splat(0x71000000));
  base = f32x4.add(i32x4.add(i32x4.shr_u(bias, 1), i32x4.splat(0x07800000)), base);
  const exp_bits = v128.and(i32x4.shr_u(base, 13), i32x4.splat(0x00007C00));
  const mantissa_bits = v128.and(base, i32x4.splat(0x00000FFF));
  const nonsign = i32x4.add(exp_bits, mantissa_bits);
  return v128.or(i32x4.shr_u(sign, 16), nonsign);
}

/** fp16_to_fp32 (common.ts) on each lane; w holds each half's bits shifted into the top 16 bits of
 *  its i32 lane (h << 16). `two_w < 2^27` (unsigned) is written as `(w & 0x7FFFFFFF) < 2^26` (signed). */
// @ts-ignore: decorator
@inline export function __fp32_from_fp16_hi_i32x4(w: v128): v128 {
  const sign = v128.and(w, i32x4.splat(<i32>0x80000000));
  const two_w = i32x4.add(w, w);
  const normalized = f32x4.mul(i32x4.add(i32x4.shr_u(two_w, 4), i32x4.splat(0xE0 << 23)), f32x4.splat(reinterpret<f32>(0x07800000)));
  const denormalized = f32x4.sub(v128.or(i32x4.shr_u(two_w, 17), i32x4.splat(126 << 23)), f32x4.splat(<f32>0.5));
  const small = i32x4.lt_s(v128.and(w, i32x4.splat(0x7FFFFFFF)), i32x4.splat(1 << 26));
  return v128.or(sign, v128.bitselect(denormalized, normalized, small));
}

/** fp32_to_bf16 (common.ts) on each lane, as 32-bit lanes whose top 16 bits are the result:
 *  NaN -> u | 0x00400000 (the top half then is (u >> 16) | 64), else u + 0x7fff + ((u >> 16) & 1). */
// @ts-ignore: decorator
@inline export function __bf16_hi_f32x4(u: v128): v128 {
  const lsb = v128.and(i32x4.shr_u(u, 16), i32x4.splat(1));
  const rounded = i32x4.add(u, i32x4.add(lsb, i32x4.splat(0x7fff)));
  const nan = i32x4.gt_s(v128.and(u, i32x4.splat(0x7FFFFFFF)), i32x4.splat(0x7F800000));
  return v128.bitselect(v128.or(u, i32x4.splat(0x00400000)), rounded, nan);
}

// ---- lane-combining helpers ----

/** [r(a), r(b), r(c), r(d)] where r(v) = op(op(v0, v2), op(v1, v3)), op = pmax (x86 maxps: `a < b ? b : a`).
 *  Lane order of combination: (0, 2) and (1, 3) first, then the two results. */
// @ts-ignore: decorator
@inline export function __hpmax4_f32x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.pmax(f32x4.shuffle(a, b, 0, 4, 1, 5), f32x4.shuffle(a, b, 2, 6, 3, 7)); // [a0|a2, b0|b2, a1|a3, b1|b3]
  const cd = f32x4.pmax(f32x4.shuffle(c, d, 0, 4, 1, 5), f32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.pmax(f32x4.shuffle(ab, cd, 0, 1, 4, 5), f32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** As __hpmax4_f32x4 with pmin (`b < a ? b : a`). */
// @ts-ignore: decorator
@inline export function __hpmin4_f32x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.pmin(f32x4.shuffle(a, b, 0, 4, 1, 5), f32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.pmin(f32x4.shuffle(c, d, 0, 4, 1, 5), f32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.pmin(f32x4.shuffle(ab, cd, 0, 1, 4, 5), f32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** As __hpmax4_f32x4 with signed i32 max (order-free). */
// @ts-ignore: decorator
@inline export function __hmax4_i32x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.max_s(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = i32x4.max_s(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.max_s(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** Stores the 4x4 transpose of rows a, b, c, d at p: p[r] = [a[r], b[r], c[r], d[r]] (16 bytes each). */
// @ts-ignore: decorator
@inline export function __transpose4_store(a: v128, b: v128, c: v128, d: v128, p: usize): void {
  const t0 = f32x4.shuffle(a, b, 0, 4, 1, 5); // a0 b0 a1 b1
  const t1 = f32x4.shuffle(a, b, 2, 6, 3, 7); // a2 b2 a3 b3
  const t2 = f32x4.shuffle(c, d, 0, 4, 1, 5); // c0 d0 c1 d1
  const t3 = f32x4.shuffle(c, d, 2, 6, 3, 7); // c2 d2 c3 d3
  v128.store(p, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(p, f32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
  v128.store(p, f32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
  v128.store(p, f32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
}

/** The 16 low bytes of four i32x4 vectors whose lanes are in [0, 255], in order. */
// @ts-ignore: decorator
@inline export function __bytes16_i32x4(a: v128, b: v128, c: v128, d: v128): v128 {
  return i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(a, b), i16x8.narrow_i32x4_u(c, d));
}
