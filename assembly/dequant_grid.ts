// to_float of the lattice quants (ggml-quants.c dequantize_row_iq2_xxs, _iq2_xs, _iq2_s, _iq1_s,
// _iq1_m): k/256 blocks at x into k floats at y, float operations in C's order.
//
// The grids are ggml-common.h's iq2xxs_grid / iq2xs_grid / iq2s_grid (bytes 8, 25, 43 for levels
// 0..2) and iq1s_grid (int8 -1, 0, 1), read here from the packed levels of grids.ts; ksigns_iq2xs[i]
// is i with bit 7 set to the parity of i, kmask_iq2xs[j] = 1 << j.

import { fp16_to_fp32 } from "./common";
import { KGRID_2BIT_256, KGRID_2BIT_512, KGRID_2BIT_1024, KGRID_1BIT_2048 } from "./grids";
import { IQ2XXS_BLOCK_BYTES, IQ2XS_BLOCK_BYTES, IQ2XS_QS, IQ2XS_SCALES, IQ2S_BLOCK_BYTES, IQ2S_QS, IQ2S_SIGNS, IQ2S_QH, IQ2S_SCALES } from "./iq2";
import { IQ1S_BLOCK_BYTES, IQ1S_QS, IQ1S_QH, IQ1M_BLOCK_BYTES, IQ1M_QH, IQ1M_SCALES } from "./iq1";

const QK_K: i32 = 256;
const IQ1S_DELTA: f32 = 0.125;

/** The level (0..2) of value j of grid point g in a packed kgrid table. */
// @ts-ignore: decorator
@inline function level(table: usize, g: i32, j: i32): i32 { return (<i32>load<u16>(table + (<usize>g << 1)) >> (2 * j)) & 3; }
/** iq2*_grid byte: 8, 25, 43 for levels 0, 1, 2 (as a float). */
// @ts-ignore: decorator
@inline function iq2_grid(table: usize, g: i32, j: i32): f32 { const l = level(table, g, j); return l == 0 ? <f32>8 : l == 1 ? <f32>25 : <f32>43; }
/** ksigns_iq2xs[i]: the 7 sign bits and their parity as bit 7. */
// @ts-ignore: decorator
@inline function ksigns(i: u32): u32 { return i | ((popcnt<u32>(i) & 1) << 7); }
// @ts-ignore: decorator
@inline function sign(signs: u32, j: i32): f32 { return signs & (1 << j) ? <f32>-1 : <f32>1; }
/** An int as C converts it to float. */
// @ts-ignore: decorator
@inline function fi(v: i32): f32 { return <f32>v; }
// @ts-ignore: decorator
@inline function put(y: usize, i: i32, v: f32): void { store<f32>(y + (<usize>i << 2), v); }

/** Eight values db·grid[j]·±1 of iq2 grid point g with the given sign byte. */
// @ts-ignore: decorator
@inline function iq2_group(y: usize, at: i32, db: f32, table: usize, g: i32, signs: u32): void {
  for (let j = 0; j < 8; ++j) put(y, at + j, db * iq2_grid(table, g, j) * sign(signs, j));
}

/** dequantize_row_iq2_xxs: per 32 values two uint32, 4 grid bytes and 4 × 7 sign bits | scale << 28. */
export function dequantize_row_iq2_xxs(x: usize, y: usize, k: i32): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * IQ2XXS_BLOCK_BYTES;
    const d: f32 = fp16_to_fp32(load<u16>(blk));
    for (let ib32 = 0; ib32 < QK_K / 32; ++ib32) {
      const q = blk + 2 + (<usize>ib32 << 3);
      const aux1 = load<u32>(q, 4);
      const db: f32 = d * (<f32>0.5 + <f32>(aux1 >> 28)) * <f32>0.25;
      for (let l = 0; l < 4; ++l) {
        iq2_group(y, 256 * i + 32 * ib32 + 8 * l, db, KGRID_2BIT_256, <i32>load<u8>(q + <usize>l), ksigns((aux1 >> (7 * <u32>l)) & 127));
      }
    }
  }
}

/** The two 4-bit sub-block scales of 32 values: d·(0.5 + s)·0.25. */
// @ts-ignore: decorator
@inline function half_scale(d: f32, s: u32): f32 { return d * (<f32>0.5 + <f32>s) * <f32>0.25; }

/** dequantize_row_iq2_xs: uint16 per 8 values = grid index (9 bits) | 7 sign bits << 9. */
export function dequantize_row_iq2_xs(x: usize, y: usize, k: i32): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * IQ2XS_BLOCK_BYTES;
    const d: f32 = fp16_to_fp32(load<u16>(blk));
    for (let ib32 = 0; ib32 < QK_K / 32; ++ib32) {
      const s = <u32>load<u8>(blk + IQ2XS_SCALES + <usize>ib32);
      const db0 = half_scale(d, s & 0xf), db1 = half_scale(d, s >> 4);
      for (let l = 0; l < 4; ++l) {
        const q = <u32>load<u16>(blk + IQ2XS_QS + (<usize>(4 * ib32 + l) << 1));
        iq2_group(y, 256 * i + 32 * ib32 + 8 * l, l < 2 ? db0 : db1, KGRID_2BIT_512, <i32>(q & 511), ksigns(q >> 9));
      }
    }
  }
}

/** dequantize_row_iq2_s: grid index = qs byte | 2 bits of qh << 8; 8 plain sign bits per group. */
export function dequantize_row_iq2_s(x: usize, y: usize, k: i32): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * IQ2S_BLOCK_BYTES;
    const d: f32 = fp16_to_fp32(load<u16>(blk));
    for (let ib32 = 0; ib32 < QK_K / 32; ++ib32) {
      const s = <u32>load<u8>(blk + IQ2S_SCALES + <usize>ib32);
      const db0 = half_scale(d, s & 0xf), db1 = half_scale(d, s >> 4);
      const qh = <i32>load<u8>(blk + IQ2S_QH + <usize>ib32);
      for (let l = 0; l < 4; ++l) {
        const g = <i32>load<u8>(blk + IQ2S_QS + <usize>(4 * ib32 + l)) | ((qh << (8 - 2 * l)) & 0x300);
        iq2_group(y, 256 * i + 32 * ib32 + 8 * l, l < 2 ? db0 : db1, KGRID_2BIT_1024, g, <u32>load<u8>(blk + IQ2S_SIGNS + <usize>(4 * ib32 + l)));
      }
    }
  }
}

/** Eight values dl·(grid[j] + delta) of iq1 grid point g (grid values -1, 0, 1). */
// @ts-ignore: decorator
@inline function iq1_group(y: usize, at: i32, dl: f32, g: i32, delta: f32): void {
  for (let j = 0; j < 8; ++j) put(y, at + j, dl * (fi(level(KGRID_1BIT_2048, g, j) - 1) + delta));
}

/** dequantize_row_iq1_s: uint16 qh per 32 values = 4 × 3 high index bits | scale << 12 | delta sign << 15. */
export function dequantize_row_iq1_s(x: usize, y: usize, k: i32): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * IQ1S_BLOCK_BYTES;
    const d: f32 = fp16_to_fp32(load<u16>(blk));
    for (let ib = 0; ib < QK_K / 32; ++ib) {
      const qh = <i32>load<u16>(blk + IQ1S_QH + (<usize>ib << 1));
      const dl: f32 = d * fi(2 * ((qh >> 12) & 7) + 1);
      const delta: f32 = qh & 0x8000 ? -IQ1S_DELTA : IQ1S_DELTA;
      for (let l = 0; l < 4; ++l) {
        const g = <i32>load<u8>(blk + IQ1S_QS + <usize>(4 * ib + l)) | (((qh >> (3 * l)) & 7) << 8);
        iq1_group(y, 256 * i + 32 * ib + 8 * l, dl, g, delta);
      }
    }
  }
}

/** dequantize_row_iq1_m: 3-bit scales per 16 values in four uint16 whose top nibbles hold the fp16 d;
 *  per 8 values 3 high index bits and a delta sign bit in qh. */
export function dequantize_row_iq1_m(x: usize, y: usize, k: i32): void {
  const nb = k / QK_K;
  for (let i = 0; i < nb; i++) {
    const blk = x + <usize>i * IQ1M_BLOCK_BYTES;
    const sc = blk + IQ1M_SCALES;
    const s0 = <u32>load<u16>(sc), s1 = <u32>load<u16>(sc, 2), s2 = <u32>load<u16>(sc, 4), s3 = <u32>load<u16>(sc, 6);
    const d: f32 = fp16_to_fp32(<u16>((s0 >> 12) | ((s1 >> 8) & 0x00f0) | ((s2 >> 4) & 0x0f00) | (s3 & 0xf000)));
    for (let ib = 0; ib < QK_K / 32; ++ib) {
      const w = <i32>load<u16>(sc + (<usize>(ib >> 1) << 1));
      const dl1: f32 = d * fi(2 * ((w >> (6 * (ib % 2))) & 7) + 1);
      const dl2: f32 = d * fi(2 * ((w >> (6 * (ib % 2) + 3)) & 7) + 1);
      const qh0 = <i32>load<u8>(blk + IQ1M_QH + <usize>(2 * ib)), qh1 = <i32>load<u8>(blk + IQ1M_QH + <usize>(2 * ib + 1));
      for (let l = 0; l < 4; ++l) {
        const qh = l < 2 ? qh0 : qh1;
        const g = <i32>load<u8>(blk + <usize>(4 * ib + l)) | ((qh << (l % 2 == 0 ? 8 : 4)) & 0x700);
        const delta: f32 = qh & (l % 2 == 0 ? 0x08 : 0x80) ? -IQ1S_DELTA : IQ1S_DELTA;
        iq1_group(y, 256 * i + 32 * ib + 8 * l, l < 2 ? dl1 : dl2, g, delta);
      }
    }
  }
}
