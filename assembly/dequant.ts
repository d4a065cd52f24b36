// The to_float of every quantized type (ggml-quants.c dequantize_row_*), used to requantize
// (--allow-requantize) exactly as llama.cpp does: dequantize to f32, then quantize. Each reads k/blck
// blocks at x and writes k floats at y; float operations in C's order (no FMA in the reference).

import { fp16_to_fp32 } from "./common";
import { kvalue_mxfp4, e8m0_to_fp32_half, ue4m3_to_fp32 } from "./small";
import { kvalue_iq4nl } from "./tables";
import { IQ4NL_BLOCK_BYTES, IQ4XS_BLOCK_BYTES, IQ4XS_SCALES_H, IQ4XS_SCALES_L, IQ4XS_QS } from "./iquants";
import { dequantize_row_iq2_xxs, dequantize_row_iq2_xs, dequantize_row_iq2_s, dequantize_row_iq1_s, dequantize_row_iq1_m } from "./dequant_grid";
import { IQ3XXS_BLOCK_BYTES, IQ3S_BLOCK_BYTES, IQ3S_QS, IQ3S_QH, IQ3S_SIGNS, IQ3S_SCALES } from "./iq3";
import { IQ3XXS_GRID, IQ3S_GRID } from "./grids_iq3";

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

/** get_scale_min_k4: the 6-bit scale and min j of a q4_K/q5_K block's 12 scale bytes at q. */
// @ts-ignore: decorator
@inline function scale_k4(j: i32, q: usize): i32 {
  return j < 4 ? <i32>load<u8>(q + j) & 63 : (<i32>load<u8>(q + j + 4) & 0xF) | ((<i32>load<u8>(q + j - 4) >> 6) << 4);
}
// @ts-ignore: decorator
@inline function min_k4(j: i32, q: usize): i32 {
  return j < 4 ? <i32>load<u8>(q + j + 4) & 63 : (<i32>load<u8>(q + j + 4) >> 4) | ((<i32>load<u8>(q + j) >> 6) << 4);
}

export function dequantize_row_q2_K(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  let out = 0;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * 84;
    const d = half(blk + 80), min = half(blk + 82);
    let q = blk + 16;
    let is = 0;
    for (let n = 0; n < 256; n += 128) {
      let shift = 0;
      for (let j = 0; j < 4; ++j) {
        let sc = <i32>load<u8>(blk + is++);
        let dl: f32 = d * <f32>(sc & 0xF), ml: f32 = min * <f32>(sc >> 4);
        for (let l = 0; l < 16; ++l) put(y, out++, dl * <f32>((<i32>load<u8>(q + l) >> shift) & 3) - ml);
        sc = <i32>load<u8>(blk + is++);
        dl = d * <f32>(sc & 0xF); ml = min * <f32>(sc >> 4);
        for (let l = 0; l < 16; ++l) put(y, out++, dl * <f32>((<i32>load<u8>(q + l + 16) >> shift) & 3) - ml);
        shift += 2;
      }
      q += 32;
    }
  }
}

export function dequantize_row_q3_K(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  const kmask1: u32 = 0x03030303, kmask2: u32 = 0x0f0f0f0f;
  let out = 0;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * 110;
    const d_all = half(blk + 108);
    let q = blk + 32;
    const hm = blk;
    const sc = blk + 96;
    const a0 = load<u32>(sc), a1 = load<u32>(sc + 4), tmp = load<u32>(sc + 8);
    // the 16 6-bit scales unpacked as int8, as C does through its aux[4] words
    const s0 = (a0 & kmask2) | (((tmp >> 0) & kmask1) << 4);
    const s1 = (a1 & kmask2) | (((tmp >> 2) & kmask1) << 4);
    const s2 = ((a0 >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    const s3 = ((a1 >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    let m: i32 = 1;
    let is = 0;
    for (let n = 0; n < 256; n += 128) {
      let shift = 0;
      for (let j = 0; j < 4; ++j) {
        for (let half16 = 0; half16 < 2; ++half16) {
          const word = is < 4 ? s0 : is < 8 ? s1 : is < 12 ? s2 : s3;
          const scale = <i32>(<i8>(word >> (<u32>(is & 3) << 3)));
          is++;
          const dl: f32 = d_all * <f32>(scale - 32);
          const off = half16 * 16;
          for (let l = 0; l < 16; ++l) {
            const v = ((<i32>load<u8>(q + l + off) >> shift) & 3) - ((<i32>load<u8>(hm + l + off) & m) != 0 ? 0 : 4);
            put(y, out++, dl * <f32>v);
          }
        }
        shift += 2;
        m <<= 1;
      }
      q += 32;
    }
  }
}

export function dequantize_row_q4_K(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  let out = 0;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * 144;
    const d = half(blk), min = half(blk + 2);
    const scales = blk + 4;
    let q = blk + 16;
    let is = 0;
    for (let j = 0; j < 256; j += 64) {
      const d1: f32 = d * <f32>scale_k4(is, scales), m1: f32 = min * <f32>min_k4(is, scales);
      const d2: f32 = d * <f32>scale_k4(is + 1, scales), m2: f32 = min * <f32>min_k4(is + 1, scales);
      for (let l = 0; l < 32; ++l) put(y, out++, d1 * <f32>(<i32>load<u8>(q + l) & 0xF) - m1);
      for (let l = 0; l < 32; ++l) put(y, out++, d2 * <f32>(<i32>load<u8>(q + l) >> 4) - m2);
      q += 32;
      is += 2;
    }
  }
}

export function dequantize_row_q5_K(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  let out = 0;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * 176;
    const d = half(blk), min = half(blk + 2);
    const scales = blk + 4, qh = blk + 16;
    let ql = blk + 48;
    let is = 0;
    let u1: i32 = 1, u2: i32 = 2;
    for (let j = 0; j < 256; j += 64) {
      const d1: f32 = d * <f32>scale_k4(is, scales), m1: f32 = min * <f32>min_k4(is, scales);
      const d2: f32 = d * <f32>scale_k4(is + 1, scales), m2: f32 = min * <f32>min_k4(is + 1, scales);
      for (let l = 0; l < 32; ++l) put(y, out++, d1 * <f32>((<i32>load<u8>(ql + l) & 0xF) + ((<i32>load<u8>(qh + l) & u1) != 0 ? 16 : 0)) - m1);
      for (let l = 0; l < 32; ++l) put(y, out++, d2 * <f32>((<i32>load<u8>(ql + l) >> 4) + ((<i32>load<u8>(qh + l) & u2) != 0 ? 16 : 0)) - m2);
      ql += 32;
      is += 2;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

const POW3: usize = memory.data<u8>([1, 3, 9, 27, 81, 243]);

// @ts-ignore: decorator
@inline function trit(q: u32, pow3: u32): i32 { return <i32>((((q * pow3) & 0xFF) * 3) >> 8); }

export function dequantize_row_tq1_0(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  let o = 0;
  for (let i = 0; i < nb; ++i) {
    const b = x + <usize>i * 54;
    const d = half(b + 52);
    for (let n = 0; n < 5; ++n) for (let m = 0; m < 32; ++m) put(y, o++, <f32>(trit(load<u8>(b + m), load<u8>(POW3 + <usize>n)) - 1) * d);
    for (let n = 0; n < 5; ++n) for (let m = 0; m < 16; ++m) put(y, o++, <f32>(trit(load<u8>(b + 32 + m), load<u8>(POW3 + <usize>n)) - 1) * d);
    for (let n = 0; n < 4; ++n) for (let j = 0; j < 4; ++j) put(y, o++, <f32>(trit(load<u8>(b + 48 + j), load<u8>(POW3 + <usize>n)) - 1) * d);
  }
}

export function dequantize_row_tq2_0(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  let o = 0;
  for (let i = 0; i < nb; ++i) {
    const b = x + <usize>i * 66;
    const d = half(b + 64);
    for (let j = 0; j < 64; j += 32) {
      for (let l = 0; l < 4; ++l) {
        for (let m = 0; m < 32; ++m) put(y, o++, <f32>(<i32>((load<u8>(b + j + m) >> <u8>(l * 2)) & 3) - 1) * d);
      }
    }
  }
}

export function dequantize_row_mxfp4(x: usize, y: usize, k: i32): void {
  const nb = k / 32;
  for (let i = 0; i < nb; i++) {
    const b = x + <usize>i * 17;
    const d = e8m0_to_fp32_half(load<u8>(b));
    for (let j = 0; j < 16; ++j) {
      const q = <i32>load<u8>(b + 1 + j);
      put(y, i * 32 + j, kvalue_mxfp4(q & 0x0F) * d);
      put(y, i * 32 + j + 16, kvalue_mxfp4(q >> 4) * d);
    }
  }
}

export function dequantize_row_nvfp4(x: usize, y: usize, k: i32): void {
  const nb = k / 64;
  for (let i = 0; i < nb; i++) {
    const b = x + <usize>i * 36;
    for (let s = 0; s < 4; s++) {
      const d = ue4m3_to_fp32(load<u8>(b + s));
      const o = i * 64 + s * 16;
      for (let j = 0; j < 8; ++j) {
        const q = <i32>load<u8>(b + 4 + s * 8 + j);
        put(y, o + j, kvalue_mxfp4(q & 0x0F) * d);
        put(y, o + j + 8, kvalue_mxfp4(q >> 4) * d);
      }
    }
  }
}

export function dequantize_row_q1_0(x: usize, y: usize, k: i32): void {
  const nb = k / 128;
  for (let i = 0; i < nb; i++) {
    const b = x + <usize>i * 18;
    const d = half(b);
    const neg_d: f32 = -d;
    for (let j = 0; j < 128; ++j) put(y, i * 128 + j, ((load<u8>(b + 2 + (j >> 3)) >> <u8>(j & 7)) & 1) ? d : neg_d);
  }
}

export function dequantize_row_q2_0(x: usize, y: usize, k: i32): void {
  const nb = k / 64;
  for (let i = 0; i < nb; i++) {
    const b = x + <usize>i * 18;
    const d = half(b);
    for (let j = 0; j < 64; ++j) {
      const q = <i32>((load<u8>(b + 2 + (j >> 2)) >> <u8>((j & 3) * 2)) & 3);
      put(y, i * 64 + j, <f32>(q - 1) * d);
    }
  }
}

/** dequantize_row_iq4_nl: y[j] = d * kvalues[qs[j] & 0xf], y[j+16] = d * kvalues[qs[j] >> 4]. */
export function dequantize_row_iq4_nl(x: usize, y: usize, k: i32): void {
  const nb = k / 32;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * IQ4NL_BLOCK_BYTES;
    const d: f32 = half(blk);
    const out = y + (<usize>(i * 32) << 2);
    for (let j = 0; j < 16; ++j) {
      const q = <i32>load<u8>(blk + 2 + <usize>j);
      store<f32>(out + (<usize>j << 2), d * kvalue_iq4nl(q & 0xf));
      store<f32>(out + (<usize>(j + 16) << 2), d * kvalue_iq4nl(q >> 4));
    }
  }
}

/** dequantize_row_iq4_xs: per 32 values dl = d * (ls - 32) with the 6-bit ls from scales_l/scales_h. */
export function dequantize_row_iq4_xs(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * IQ4XS_BLOCK_BYTES;
    const d: f32 = half(blk);
    const scales_h = <i32>load<u16>(blk + IQ4XS_SCALES_H);
    let qs = blk + IQ4XS_QS;
    let out = y + (<usize>(i * 256) << 2);
    for (let ib = 0; ib < 8; ++ib) {
      const ls = ((<i32>load<u8>(blk + IQ4XS_SCALES_L + <usize>(ib / 2)) >> (4 * (ib % 2))) & 0xf) | (((scales_h >> (2 * ib)) & 3) << 4);
      const dl: f32 = d * <f32>(ls - 32);
      for (let j = 0; j < 16; ++j) {
        const q = <i32>load<u8>(qs + <usize>j);
        store<f32>(out + (<usize>j << 2), dl * kvalue_iq4nl(q & 0xf));
        store<f32>(out + (<usize>(j + 16) << 2), dl * kvalue_iq4nl(q >> 4));
      }
      out += 32 << 2;
      qs += 16;
    }
  }
}

/** Four grid bytes at g times db, negated where `signs` has bit j0 + j set (ksigns/kmask of
 *  ggml-common.h: y = db * grid[j] * (signs & kmask[j] ? -1 : 1)). */
// @ts-ignore: decorator
@inline function put_grid4(out: usize, db: f32, g: usize, signs: u32, j0: u32): void {
  for (let j: u32 = 0; j < 4; ++j) {
    store<f32>(out + (<usize>j << 2), db * <f32>load<u8>(g + j) * ((signs >> (j0 + j)) & 1 ? <f32>-1 : <f32>1));
  }
}

/** ksigns_iq2xs[i]: the 7 stored sign bits and their parity as the 8th. */
// @ts-ignore: decorator
@inline function ksigns(i: u32): u32 { return i | ((popcnt(i) & 1) << 7); }

/** dequantize_row_iq3_xxs: per 32 values db = d * (0.5 + ls) * 0.5, 8 grid indices and 4 x 7 signs. */
export function dequantize_row_iq3_xxs(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * IQ3XXS_BLOCK_BYTES;
    const d: f32 = half(blk);
    let qs = blk + 2;
    const scales_and_signs = blk + 2 + 64;
    let out = y + (<usize>(i * 256) << 2);
    for (let ib32 = 0; ib32 < 8; ++ib32) {
      const aux32 = load<u32>(scales_and_signs + (<usize>ib32 << 2));
      const db: f32 = d * (<f32>0.5 + <f32>(aux32 >> 28)) * <f32>0.5;
      for (let l: u32 = 0; l < 4; ++l) {
        const signs = ksigns((aux32 >> (7 * l)) & 127);
        put_grid4(out, db, IQ3XXS_GRID + (<usize>load<u8>(qs + 2 * l) << 2), signs, 0);
        put_grid4(out + 16, db, IQ3XXS_GRID + (<usize>load<u8>(qs + 2 * l + 1) << 2), signs, 4);
        out += 32;
      }
      qs += 8;
    }
  }
}

/** dequantize_row_iq3_s: per 32 values db = d * (1 + 2*ls), 9-bit grid indices (qs | qh bit), stored signs. */
export function dequantize_row_iq3_s(x: usize, y: usize, k: i32): void {
  const nb = k / 256;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * IQ3S_BLOCK_BYTES;
    const d: f32 = half(blk);
    let out = y + (<usize>(i * 256) << 2);
    for (let ib32 = 0; ib32 < 8; ++ib32) {
      const sc = <i32>load<u8>(blk + IQ3S_SCALES + <usize>(ib32 / 2));
      const db: f32 = d * <f32>(<i32>(1 + 2 * ((sc >> (4 * (ib32 % 2))) & 0xf)));
      const qs = blk + IQ3S_QS + <usize>(8 * ib32);
      const qh = <u32>load<u8>(blk + IQ3S_QH + <usize>ib32);
      const signs = blk + IQ3S_SIGNS + <usize>(4 * ib32);
      for (let l: u32 = 0; l < 4; ++l) {
        const s = <u32>load<u8>(signs + l);
        const g1 = <u32>load<u8>(qs + 2 * l) | ((qh << (8 - 2 * l)) & 256);
        const g2 = <u32>load<u8>(qs + 2 * l + 1) | ((qh << (7 - 2 * l)) & 256);
        put_grid4(out, db, IQ3S_GRID + (<usize>g1 << 2), s, 0);
        put_grid4(out + 16, db, IQ3S_GRID + (<usize>g2 << 2), s, 4);
        out += 32;
      }
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
    case 10: dequantize_row_q2_K(x, y, k); return true;
    case 11: dequantize_row_q3_K(x, y, k); return true;
    case 12: dequantize_row_q4_K(x, y, k); return true;
    case 13: dequantize_row_q5_K(x, y, k); return true;
    case 14: dequantize_row_q6_K(x, y, k); return true;
    case 16: dequantize_row_iq2_xxs(x, y, k); return true;
    case 17: dequantize_row_iq2_xs(x, y, k); return true;
    case 18: dequantize_row_iq3_xxs(x, y, k); return true;
    case 19: dequantize_row_iq1_s(x, y, k); return true;
    case 20: dequantize_row_iq4_nl(x, y, k); return true;
    case 21: dequantize_row_iq3_s(x, y, k); return true;
    case 22: dequantize_row_iq2_s(x, y, k); return true;
    case 23: dequantize_row_iq4_xs(x, y, k); return true;
    case 29: dequantize_row_iq1_m(x, y, k); return true;
    case 34: dequantize_row_tq1_0(x, y, k); return true;
    case 35: dequantize_row_tq2_0(x, y, k); return true;
    case 39: dequantize_row_mxfp4(x, y, k); return true;
    case 40: dequantize_row_nvfp4(x, y, k); return true;
    case 41: dequantize_row_q1_0(x, y, k); return true;
    case 42: dequantize_row_q2_0(x, y, k); return true;
    default: return false;
  }
}
