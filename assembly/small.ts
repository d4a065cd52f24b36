// port of quantize_row_{tq1_0,tq2_0,mxfp4,nvfp4,q1_0,q2_0}_ref, ggml-quants.c (+ ggml-impl.h's
// E8M0 / UE4M3 helpers), checked against the reference build's ggml_quantize_chunk.
//
// None of these types reads an importance vector. C casts are spelled out:
//   lroundf(f) (glibc, long = 64 bit): round half away from zero; |f| >= 2^63 or NaN -> LONG_MIN,
//     whose low 32 bits (the `int xi`) are 0;
//   (int)f / (uint8_t)f -> cvtt_i32 (x86 cvttss2si: NaN/out of range -> 0x80000000);
//   MAX(a, b) -> cmax (keeps C's operand order on NaN).

import { fp32_to_fp16, cvtt_i32, roundf, cmax, fabsf } from "./common";
import { use_scalar } from "./simd";
import { block_tq1_0_simd, block_tq2_0_simd, block_mxfp4_simd, block_nvfp4_simd, block_q2_0_simd } from "./small_simd";

// The row functions run the SIMD blocks of small_simd.ts (byte-identical, test/kernels/simd-small.test.ts)
// unless set_scalar_kernels(1) selects these scalar ones.

// @ts-ignore: decorator
@inline function ld(x: usize, j: i32): f32 { return load<f32>(x + (<usize>j << 2)); }

/** glibc lroundf truncated to int, as `int xi = lroundf(v)` does on x86-64. */
// @ts-ignore: decorator
@inline function lroundf_i32(v: f32): i32 {
  if (!(fabsf(v) < <f32>9223372036854775808.0)) return 0; // LONG_MIN: low 32 bits are 0
  return <i32><i64>roundf(v);
}

// ---------------------------------------------------------------- tq1_0
// block_tq1_0 { uint8_t qs[48]; uint8_t qh[4]; ggml_half d; } = 54 bytes per 256

export function block_tq1_0(x: usize, y: usize): void {
  let amax: f32 = 0;
  for (let j = 0; j < 256; j++) amax = cmax(amax, fabsf(ld(x, j)));
  const d: f32 = amax;
  const id: f32 = d != 0 ? <f32>1 / d : <f32>0;
  store<u16>(y + 52, fp32_to_fp16(d));
  // 5 elements per byte, along 32 bytes
  for (let m = 0; m < 32; ++m) {
    let q: u32 = 0;
    for (let n = 0; n < 5; ++n) {
      const xi: i32 = lroundf_i32(ld(x, m + n * 32) * id) + 1;
      q = (q * 3) & 0xFF;
      q = (q + <u32>xi) & 0xFF;
    }
    q = ((q * 256) + 242) / 243;
    store<u8>(y + <usize>m, <u8>q);
  }
  // along 16 bytes
  const x2 = x + 160 * 4;
  for (let m = 0; m < 16; ++m) {
    let q: u32 = 0;
    for (let n = 0; n < 5; ++n) {
      const xi: i32 = lroundf_i32(ld(x2, m + n * 16) * id) + 1;
      q = (q * 3) & 0xFF;
      q = (q + <u32>xi) & 0xFF;
    }
    q = ((q * 256) + 242) / 243;
    store<u8>(y + 32 + <usize>m, <u8>q);
  }
  // 4 elements per byte
  const x3 = x2 + 80 * 4;
  for (let j = 0; j < 4; ++j) {
    let q: u32 = 0;
    for (let m = 0; m < 4; ++m) {
      const xi: i32 = lroundf_i32(ld(x3, j + m * 4) * id) + 1;
      q = (q * 3) & 0xFF;
      q = (q + <u32>xi) & 0xFF;
    }
    q = (q * 3) & 0xFF; // shift the first value to the most significant trit
    q = ((q * 256) + 242) / 243;
    store<u8>(y + 48 + <usize>j, <u8>q);
  }
}

export function quantize_row_tq1_0(x: usize, y: usize, n: i32, qw: usize): usize {
  const nb = n / 256;
  const block = use_scalar() ? block_tq1_0 : block_tq1_0_simd;
  for (let i = 0; i < nb; i++) block(x + <usize>i * 1024, y + <usize>i * 54);
  return <usize>nb * 54;
}

// ---------------------------------------------------------------- tq2_0
// block_tq2_0 { uint8_t qs[64]; ggml_half d; } = 66 bytes per 256

export function block_tq2_0(x: usize, y: usize): void {
  let amax: f32 = 0;
  for (let j = 0; j < 256; j++) amax = cmax(amax, fabsf(ld(x, j)));
  const d: f32 = amax;
  const id: f32 = d != 0 ? <f32>1 / d : <f32>0;
  store<u16>(y + 64, fp32_to_fp16(d));
  for (let j = 0; j < 64; j += 32) {
    const xb = x + <usize>(j * 4) * 4;
    for (let m = 0; m < 32; ++m) {
      let q: u32 = 0;
      for (let n = 0; n < 4; ++n) {
        const xi: i32 = lroundf_i32(ld(xb, m + n * 32) * id) + 1;
        q = (q + <u32>((xi & 3) << (2 * n))) & 0xFF;
      }
      store<u8>(y + <usize>(j + m), <u8>q);
    }
  }
}

export function quantize_row_tq2_0(x: usize, y: usize, n: i32, qw: usize): usize {
  const nb = n / 256;
  const block = use_scalar() ? block_tq2_0 : block_tq2_0_simd;
  for (let i = 0; i < nb; i++) block(x + <usize>i * 1024, y + <usize>i * 66);
  return <usize>nb * 66;
}

// ---------------------------------------------------------------- mxfp4 / nvfp4 shared

/** kvalues_mxfp4 (ggml-common.h): twice the E2M1 values. */
const KVALUES_MXFP4: usize = memory.data<i8>([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]);

// @ts-ignore: decorator
@inline export function kvalue_mxfp4(i: i32): f32 { return <f32>load<i8>(KVALUES_MXFP4 + <usize>i); }

function best_index_mxfp4(x: f32, e: f32): i32 {
  let best_index = 0;
  let best_err: f32 = fabsf(kvalue_mxfp4(0) * e - x);
  for (let i = 1; i < 16; i++) {
    const err: f32 = fabsf(kvalue_mxfp4(i) * e - x);
    if (err < best_err) {
      best_index = i;
      best_err = err;
    }
  }
  return best_index;
}

/** ggml_e8m0_to_fp32_half: 0.5 * 2^(x-127), bit-built. */
// @ts-ignore: decorator
@inline export function e8m0_to_fp32_half(x: u32): f32 {
  const bits: u32 = x < 2 ? (<u32>0x00200000 << x) : ((x - 1) << 23);
  return reinterpret<f32>(bits);
}

/** glibc log2f. WASM has no log2, so it is computed in f64 (AS's Math.log2, a port of musl's log2,
 *  error < 1 ulp of f64, exact at powers of two) and rounded once to f32. That equals the correctly
 *  rounded f32 result unless log2(a) lies within ~2^-52 (relative) of an f32 rounding midpoint, and
 *  the caller only takes floorf() of it, which that could change only next to a power of two; those
 *  neighbourhoods (±64 ulps around every 2^k, subnormals included) are checked against the reference
 *  build in test/kernels/small.test.ts. f64 is used here on purpose, to reproduce C's float result. */
// @ts-ignore: decorator
@inline export function log2f(a: f32): f32 {
  return <f32>Math.log2(<f64>a);
}

// ---------------------------------------------------------------- mxfp4
// block_mxfp4 { uint8_t e; uint8_t qs[16]; } = 17 bytes per 32

export function block_mxfp4(x: usize, y: usize): void {
  let amax: f32 = 0;
  for (let j = 0; j < 32; j++) {
    const v: f32 = ld(x, j);
    if (amax < fabsf(v)) amax = fabsf(v);
  }
  // (uint8_t)(floorf(log2f(amax)) - 2 + 127): float arithmetic, then cvttss2si's low byte
  const e: u32 = amax > 0 ? <u32>(cvtt_i32(Mathf.floor(log2f(amax)) - <f32>2 + <f32>127) & 0xFF) : 0;
  const d: f32 = e8m0_to_fp32_half(e);
  store<u8>(y, <u8>e);
  for (let j = 0; j < 16; ++j) {
    const x0 = best_index_mxfp4(ld(x, j), d);
    const x1 = best_index_mxfp4(ld(x, 16 + j), d);
    store<u8>(y + 1 + <usize>j, <u8>(x0 | (x1 << 4)));
  }
}

export function quantize_row_mxfp4(x: usize, y: usize, n: i32, qw: usize): usize {
  const nb = n / 32;
  const block = use_scalar() ? block_mxfp4 : block_mxfp4_simd;
  for (let i = 0; i < nb; i++) block(x + <usize>i * 128, y + <usize>i * 17);
  return <usize>nb * 17;
}

// ---------------------------------------------------------------- nvfp4
// block_nvfp4 { uint8_t d[4]; uint8_t qs[32]; } = 36 bytes per 64 (4 sub-blocks of 16)

/** ggml_ue4m3_to_fp32 (times 0.5, the kvalues convention); every case is exact in f32. */
export function ue4m3_to_fp32(x: u32): f32 {
  if (x == 0 || x == 0x7F) return 0;
  const exp: i32 = <i32>((x >> 3) & 0xF);
  const man: i32 = <i32>(x & 0x7);
  let raw: f32;
  if (exp == 0) raw = <f32>man * reinterpret<f32>(0x3B000000); // ldexpf(man, -9)
  else raw = (<f32>1 + <f32>man / <f32>8) * reinterpret<f32>(<u32>(exp - 7 + 127) << 23); // ldexpf(.., exp-7)
  return raw * <f32>0.5;
}

/** ggml_fp32_to_ue4m3. */
export function fp32_to_ue4m3(xin: f32): u32 {
  let x: f32 = xin;
  if (!(x > 0)) return 0;
  if (x > <f32>448) x = 448;
  const bits: u32 = reinterpret<u32>(x);
  const fp32_exp: i32 = <i32>((bits >> 23) & 0xFF) - 127;
  const fp32_man: i32 = <i32>((bits >> 20) & 0x7);
  let ue4m3_exp: i32 = fp32_exp + 7;
  if (ue4m3_exp <= 0) {
    let man: i32 = cvtt_i32(x * <f32>512 + <f32>0.5);
    if (man > 7) man = 7;
    if (man < 1) return 0;
    return <u32>(man & 0xFF);
  }
  if (ue4m3_exp >= 15) return 0x7E;
  const round_bit: i32 = <i32>((bits >> 19) & 1);
  let ue4m3_man: i32 = fp32_man + round_bit;
  if (ue4m3_man > 7) {
    ue4m3_man = 0;
    ue4m3_exp++;
    if (ue4m3_exp >= 15) return 0x7E;
  }
  return <u32>(((ue4m3_exp << 3) | ue4m3_man) & 0xFF);
}

export function block_nvfp4(x: usize, y: usize): void {
  for (let s = 0; s < 4; s++) {
    const xb = x + <usize>(s * 16) * 4;
    let amax: f32 = 0;
    for (let j = 0; j < 16; j++) {
      if (amax < fabsf(ld(xb, j))) amax = fabsf(ld(xb, j));
    }
    const ue = fp32_to_ue4m3(amax / <f32>6);
    store<u8>(y + <usize>s, <u8>ue);
    const d: f32 = ue4m3_to_fp32(ue);
    for (let j = 0; j < 8; ++j) {
      const x0 = best_index_mxfp4(ld(xb, j), d);
      const x1 = best_index_mxfp4(ld(xb, 8 + j), d);
      store<u8>(y + 4 + <usize>(s * 8 + j), <u8>(x0 | (x1 << 4)));
    }
  }
}

export function quantize_row_nvfp4(x: usize, y: usize, n: i32, qw: usize): usize {
  const nb = n / 64;
  const block = use_scalar() ? block_nvfp4 : block_nvfp4_simd;
  for (let i = 0; i < nb; i++) block(x + <usize>i * 256, y + <usize>i * 36);
  return <usize>nb * 36;
}

// ---------------------------------------------------------------- q1_0
// block_q1_0 { ggml_half d; uint8_t qs[16]; } = 18 bytes per 128

function block_q1_0(x: usize, y: usize): void {
  let sum_abs: f32 = 0;
  for (let j = 0; j < 128; j++) sum_abs += fabsf(ld(x, j));
  const d: f32 = sum_abs / <f32>128;
  store<u16>(y, fp32_to_fp16(d));
  for (let b = 0; b < 16; ++b) {
    let q: u32 = 0;
    for (let o = 0; o < 8; ++o) if (ld(x, b * 8 + o) >= 0) q |= <u32>1 << <u32>o;
    store<u8>(y + 2 + <usize>b, <u8>q);
  }
}

export function quantize_row_q1_0(x: usize, y: usize, n: i32, qw: usize): usize {
  const nb = n / 128;
  for (let i = 0; i < nb; i++) block_q1_0(x + <usize>i * 512, y + <usize>i * 18);
  return <usize>nb * 18;
}

// ---------------------------------------------------------------- q2_0
// block_q2_0 { ggml_half d; uint8_t qs[16]; } = 18 bytes per 64

export function block_q2_0(x: usize, y: usize): void {
  let amax: f32 = 0;
  for (let j = 0; j < 64; j++) {
    const a: f32 = fabsf(ld(x, j));
    if (a > amax) amax = a;
  }
  const d: f32 = amax;
  const id: f32 = d > 0 ? <f32>1 / d : <f32>0;
  store<u16>(y, fp32_to_fp16(d));
  for (let b = 0; b < 16; ++b) {
    let byte: u32 = 0;
    for (let o = 0; o < 4; ++o) {
      let q: i32 = cvtt_i32(roundf(ld(x, b * 4 + o) * id)) + 1;
      if (q < 0) q = 0;
      if (q > 3) q = 3;
      byte |= <u32>q << <u32>(o * 2);
    }
    store<u8>(y + 2 + <usize>b, <u8>byte);
  }
}

export function quantize_row_q2_0(x: usize, y: usize, n: i32, qw: usize): usize {
  const nb = n / 64;
  const block = use_scalar() ? block_q2_0 : block_q2_0_simd;
  for (let i = 0; i < nb; i++) block(x + <usize>i * 256, y + <usize>i * 18);
  return <usize>nb * 18;
}
