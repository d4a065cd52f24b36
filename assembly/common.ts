// Numeric primitives shared by every kernel, each an exact twin of the C it mirrors
// (ggml-impl.h / ggml-quants.c of the reference build, baseline x86-64, no FMA).
// Every float local is annotated f32: AssemblyScript defaults to f64, which changes bits.

// ---- fp16 (ggml_compute_fp32_to_fp16 / ggml_compute_fp16_to_fp32, the FP16 library algorithm) ----

/** fp32 -> fp16, round to nearest even via the 2^112 / 2^-110 scaling trick; NaN -> sign|0x7E00. */
// @ts-ignore: decorator
@inline export function fp32_to_fp16(f: f32): u16 {
  const scale_to_inf: f32 = reinterpret<f32>(0x77800000); // 0x1.0p+112f
  const scale_to_zero: f32 = reinterpret<f32>(0x08800000); // 0x1.0p-110f
  let base: f32 = (Mathf.abs(f) * scale_to_inf) * scale_to_zero;
  const w: u32 = reinterpret<u32>(f);
  const shl1_w: u32 = w + w;
  const sign: u32 = w & 0x80000000;
  let bias: u32 = shl1_w & 0xFF000000;
  if (bias < 0x71000000) bias = 0x71000000;
  base = reinterpret<f32>((bias >> 1) + 0x07800000) + base;
  const bits: u32 = reinterpret<u32>(base);
  const exp_bits: u32 = (bits >> 13) & 0x00007C00;
  const mantissa_bits: u32 = bits & 0x00000FFF;
  const nonsign: u32 = exp_bits + mantissa_bits;
  return <u16>((sign >> 16) | (shl1_w > 0xFF000000 ? 0x7E00 : nonsign));
}

/** fp16 -> fp32, exact (the same result as ggml's table or its bit trick). */
// @ts-ignore: decorator
@inline export function fp16_to_fp32(h: u16): f32 {
  const w: u32 = (<u32>h) << 16;
  const sign: u32 = w & 0x80000000;
  const two_w: u32 = w + w;
  const exp_offset: u32 = 0xE0 << 23;
  const exp_scale: f32 = reinterpret<f32>(0x07800000); // 0x1.0p-112f
  const normalized_value: f32 = reinterpret<f32>((two_w >> 4) + exp_offset) * exp_scale;
  const magic_mask: u32 = 126 << 23;
  const magic_bias: f32 = 0.5;
  const denormalized_value: f32 = reinterpret<f32>((two_w >> 17) | magic_mask) - magic_bias;
  const denormalized_cutoff: u32 = 1 << 27;
  const result: u32 = sign | (two_w < denormalized_cutoff ? reinterpret<u32>(denormalized_value) : reinterpret<u32>(normalized_value));
  return reinterpret<f32>(result);
}

// ---- bf16 (ggml_compute_fp32_to_bf16: RNE on the bits, NaN forced quiet, subnormals kept) ----

// @ts-ignore: decorator
@inline export function fp32_to_bf16(s: f32): u16 {
  const u: u32 = reinterpret<u32>(s);
  if ((u & 0x7fffffff) > 0x7f800000) return <u16>((u >> 16) | 64);
  return <u16>((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

// @ts-ignore: decorator
@inline export function bf16_to_fp32(h: u16): f32 {
  return reinterpret<f32>((<u32>h) << 16);
}

// ---- rounding ----

/** ggml's nearest_int: the 12582912 magic trick. Ties to even for |x| < 2^22; outside that range
 *  (and for NaN/inf) it yields the same defined garbage as C, which callers then clamp. */
// @ts-ignore: decorator
@inline export function nearest_int(fval: f32): i32 {
  const val: f32 = fval + <f32>12582912.0;
  const i: i32 = reinterpret<i32>(val);
  return (i & 0x007fffff) - 0x00400000;
}

/** C roundf (ties away from zero), exact for every f32: trunc(x + copysign(0.49999997, x)). */
// @ts-ignore: decorator
@inline export function roundf(x: f32): f32 {
  return Mathf.trunc(x + copysign<f32>(reinterpret<f32>(0x3EFFFFFF), x));
}

/** x86 cvttss2si: truncation toward zero; NaN and out-of-range give INT32_MIN (0x80000000),
 *  where WASM's saturating conversion would give INT32_MAX for +inf. */
// @ts-ignore: decorator
@inline export function cvtt_i32(x: f32): i32 {
  const t: i32 = <i32>x; // i32.trunc_sat_f32_s
  return (x >= <f32>2147483648.0 || x < <f32>-2147483648.0 || x != x) ? <i32>0x80000000 : t;
}

/** C fabsf. */
// @ts-ignore: decorator
@inline export function fabsf(x: f32): f32 { return Mathf.abs(x); }

/** C MAX(a, b) = ((a) > (b) ? (a) : (b)), which differs from f32.max on NaN and -0. */
// @ts-ignore: decorator
@inline export function cmax(a: f32, b: f32): f32 { return a > b ? a : b; }

/** C MIN(a, b) = ((a) < (b) ? (a) : (b)). */
// @ts-ignore: decorator
@inline export function cmin(a: f32, b: f32): f32 { return a < b ? a : b; }

// ---- little-endian stores used by every block layout ----

// @ts-ignore: decorator
@inline export function store_f16(p: usize, f: f32): void { store<u16>(p, fp32_to_fp16(f)); }
