// The to_float of every quantized type (ggml-quants.c dequantize_row_*), used to requantize
// (--allow-requantize) exactly as llama.cpp does: dequantize to f32, then quantize. Each reads k/blck
// blocks at x and writes k floats at y; float operations in C's order (no FMA in the reference).

import { fp16_to_fp32 } from "./common";

// @ts-ignore: decorator
@inline function half(p: usize): f32 { return fp16_to_fp32(load<u16>(p)); }
// @ts-ignore: decorator
@inline function put(y: usize, i: i32, v: f32): void { store<f32>(y + (<usize>i << 2), v); }

export function dequantize_row_q4_0(x: usize, y: usize, k: i32): void {
  const nb = k / 32;
  for (let i = 0; i < nb; i++) {
    const b = x + <usize>i * 18;
    const d = half(b);
    for (let j = 0; j < 16; ++j) {
      const q = <i32>load<u8>(b + 2 + j);
      put(y, i * 32 + j, <f32>((q & 0x0F) - 8) * d);
      put(y, i * 32 + j + 16, <f32>((q >> 4) - 8) * d);
    }
  }
}

export function dequantize_row_q4_1(x: usize, y: usize, k: i32): void {
  const nb = k / 32;
  for (let i = 0; i < nb; i++) {
    const b = x + <usize>i * 20;
    const d = half(b), m = half(b + 2);
    for (let j = 0; j < 16; ++j) {
      const q = <i32>load<u8>(b + 4 + j);
      put(y, i * 32 + j, <f32>(q & 0x0F) * d + m);
      put(y, i * 32 + j + 16, <f32>(q >> 4) * d + m);
    }
  }
}

export function dequantize_row_q5_0(x: usize, y: usize, k: i32): void {
  const nb = k / 32;
  for (let i = 0; i < nb; i++) {
    const b = x + <usize>i * 22;
    const d = half(b);
    const qh = load<u32>(b + 2);
    for (let j = 0; j < 16; ++j) {
      const xh_0 = ((qh >> <u32>j) << 4) & 0x10;
      const xh_1 = (qh >> <u32>(j + 12)) & 0x10;
      const q = <u32>load<u8>(b + 6 + j);
      put(y, i * 32 + j, <f32>(<i32>((q & 0x0F) | xh_0) - 16) * d);
      put(y, i * 32 + j + 16, <f32>(<i32>((q >> 4) | xh_1) - 16) * d);
    }
  }
}

export function dequantize_row_q5_1(x: usize, y: usize, k: i32): void {
  const nb = k / 32;
  for (let i = 0; i < nb; i++) {
    const b = x + <usize>i * 24;
    const d = half(b), m = half(b + 2);
    const qh = load<u32>(b + 4);
    for (let j = 0; j < 16; ++j) {
      const xh_0 = ((qh >> <u32>j) << 4) & 0x10;
      const xh_1 = (qh >> <u32>(j + 12)) & 0x10;
      const q = <u32>load<u8>(b + 8 + j);
      put(y, i * 32 + j, <f32>((q & 0x0F) | xh_0) * d + m);
      put(y, i * 32 + j + 16, <f32>((q >> 4) | xh_1) * d + m);
    }
  }
}

export function dequantize_row_q8_0(x: usize, y: usize, k: i32): void {
  const nb = k / 32;
  for (let i = 0; i < nb; i++) {
    const b = x + <usize>i * 34;
    const d = half(b);
    for (let j = 0; j < 32; ++j) put(y, i * 32 + j, <f32>load<i8>(b + 2 + j) * d);
  }
}

export function dequantize_row_q6_K(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * 210;
    const d = half(blk + 208);
    let ql = blk, qh = blk + 128, sc = blk + 192;
    let out = i * 256;
    for (let n = 0; n < 256; n += 128) {
      for (let l = 0; l < 32; ++l) {
        const is = l / 16;
        const h = <i32>load<u8>(qh + l);
        const q1 = <i32>(<i8>((<i32>load<u8>(ql + l) & 0xF) | (((h >> 0) & 3) << 4))) - 32;
        const q2 = <i32>(<i8>((<i32>load<u8>(ql + l + 32) & 0xF) | (((h >> 2) & 3) << 4))) - 32;
        const q3 = <i32>(<i8>((<i32>load<u8>(ql + l) >> 4) | (((h >> 4) & 3) << 4))) - 32;
        const q4 = <i32>(<i8>((<i32>load<u8>(ql + l + 32) >> 4) | (((h >> 6) & 3) << 4))) - 32;
        put(y, out + l, d * <f32>load<i8>(sc + is) * <f32>q1);
        put(y, out + l + 32, d * <f32>load<i8>(sc + is + 2) * <f32>q2);
        put(y, out + l + 64, d * <f32>load<i8>(sc + is + 4) * <f32>q3);
        put(y, out + l + 96, d * <f32>load<i8>(sc + is + 6) * <f32>q4);
      }
      out += 128; ql += 64; qh += 32; sc += 8;
    }
  }
}

/** to_float of `type` over k values; false when this module cannot dequantize the type. */
export function dequantize_row(type: i32, x: usize, y: usize, k: i32): bool {
  switch (type) {
    case 2: dequantize_row_q4_0(x, y, k); return true;
    case 3: dequantize_row_q4_1(x, y, k); return true;
    case 6: dequantize_row_q5_0(x, y, k); return true;
    case 7: dequantize_row_q5_1(x, y, k); return true;
    case 8: dequantize_row_q8_0(x, y, k); return true;
    case 14: dequantize_row_q6_K(x, y, k); return true;
    default: return false;
  }
}
