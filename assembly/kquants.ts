// port of quantize_row_q6_K_ref and quantize_row_q6_K_impl, ggml-quants.c @ 36491e40
// (the revision the reference build @node-llama-cpp/linux-x64@3.22.1 matches; see KERNELS.md).
//
// Exactness: every float is f32 and every float expression keeps C's operand order; nearest_int is
// the 12582912 trick (its garbage for NaN/inf/huge values is then clamped exactly as in C); MAX/MIN
// on ints are plain integer clamps; int8_t/uint8_t stores keep the low byte as C's conversion does.

import { nearest_int, fabsf, fp16_to_fp32, store_f16 } from "./common";
import { make_qx_quants, clamp_i32, GROUP_MAX_EPS } from "./search";

const QK_K: i32 = 256;

// ---- block_q6_K (ggml-common.h): ql[QK_K/2], qh[QK_K/4], int8 scales[QK_K/16], ggml_half d ----
const Q6K_QL: usize = 0;
const Q6K_QH: usize = Q6K_QL + QK_K / 2;
const Q6K_SCALES: usize = Q6K_QH + QK_K / 4;
const Q6K_D: usize = Q6K_SCALES + QK_K / 16;
/** sizeof(block_q6_K) = 210 */
export const Q6K_BLOCK_BYTES: usize = Q6K_D + 2;

// Per-call scratch, as the C stack arrays `int8_t L[QK_K]; float scales[QK_K/16];`.
const L_Q6K: usize = memory.data(QK_K, 16);
const SCALES_Q6K: usize = memory.data((QK_K / 16) << 2, 16);

/**
 * quantize_row_q6_K_impl: n_per_row values at x (a multiple of QK_K) into n_per_row/256 block_q6_K at
 * y, with quant_weights (n_per_row floats) as importance, or none when it is 0.
 */
export function quantize_row_q6_K_impl(x: usize, y: usize, n_per_row: i32, quant_weights: usize): void {
  const nb = n_per_row / QK_K;
  const L = L_Q6K;
  const scales = SCALES_Q6K;

  for (let i = 0; i < nb; i++) {
    let max_scale: f32 = 0;
    let max_abs_scale: f32 = 0;

    // one 16-wide sub-block search at a time (the unit a SIMD version puts in one lane)
    for (let ib = 0; ib < QK_K / 16; ++ib) {
      const qw: usize = quant_weights != 0 ? quant_weights + (<usize>(QK_K * i + 16 * ib) << 2) : 0;
      const scale: f32 = make_qx_quants(16, 32, x + (<usize>(16 * ib) << 2), L + <usize>(16 * ib), 1, qw);
      store<f32>(scales + (<usize>ib << 2), scale);

      const abs_scale: f32 = fabsf(scale);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scale;
      }
    }

    if (max_abs_scale < GROUP_MAX_EPS) {
      // memset(&y[i], 0, sizeof(block_q6_K)); y[i].d = GGML_FP32_TO_FP16(0.f), which is 0 too
      memory.fill(y, 0, Q6K_BLOCK_BYTES);
      store_f16(y + Q6K_D, <f32>0);
      x += <usize>QK_K << 2;
      y += Q6K_BLOCK_BYTES;
      continue;
    }

    const iscale: f32 = <f32>-128 / max_scale;
    store_f16(y + Q6K_D, <f32>1 / iscale);
    for (let ib = 0; ib < QK_K / 16; ++ib) {
      const q = nearest_int(iscale * load<f32>(scales + (<usize>ib << 2)));
      store<i8>(y + Q6K_SCALES + <usize>ib, q < 127 ? q : 127); // int -> int8_t keeps the low byte
    }

    // where a scale byte is 0, d == 0 and the sub-block keeps make_qx_quants' levels
    const dh: f32 = fp16_to_fp32(load<u16>(y + Q6K_D));
    for (let j = 0; j < QK_K / 16; ++j) {
      const d: f32 = dh * <f32>load<i8>(y + Q6K_SCALES + <usize>j);
      if (d == 0) continue; // `if (!d)`: a NaN d goes on
      for (let ii = 0; ii < 16; ++ii) {
        let l = nearest_int(load<f32>(x + (<usize>(16 * j + ii) << 2)) / d);
        l = clamp_i32(l, -32, 31);
        store<i8>(L + <usize>(16 * j + ii), l + 32);
      }
    }

    // pack: the low 4 bits of four 32-wide quarters into ql, their high 2 bits into qh
    let ql = y + Q6K_QL;
    let qh = y + Q6K_QH;
    for (let j = 0; j < QK_K; j += 128) {
      for (let l = 0; l < 32; ++l) {
        // L is int8_t (always 0..63 here): `>> 4` acts on the promoted int, the store keeps the low byte
        const q1 = <i32>load<i8>(L + <usize>(j + l));
        const q2 = <i32>load<i8>(L + <usize>(j + l + 32));
        const q3 = <i32>load<i8>(L + <usize>(j + l + 64));
        const q4 = <i32>load<i8>(L + <usize>(j + l + 96));
        store<u8>(ql + <usize>l, (q1 & 0xF) | ((q3 & 0xF) << 4));
        store<u8>(ql + <usize>(l + 32), (q2 & 0xF) | ((q4 & 0xF) << 4));
        store<u8>(qh + <usize>l, (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
      ql += 64;
      qh += 32;
    }

    x += <usize>QK_K << 2;
    y += Q6K_BLOCK_BYTES;
  }
}

/** quantize_row_q6_K_ref: k values (a multiple of QK_K), no importance. In C it is a copy of
 *  quantize_row_q6_K_impl's body with make_qx_quants(..., NULL), i.e. the impl with quant_weights = NULL. */
export function quantize_row_q6_K_ref(x: usize, y: usize, k: i32): void {
  quantize_row_q6_K_impl(x, y, k, 0);
}

/**
 * The row function of quantize_q6_K: one row of n values (n % 256 == 0) through quantize_row_q6_K_ref
 * when qw == 0, else through quantize_row_q6_K_impl with qw as the row's importance.
 * Returns the bytes written (210 per 256 values).
 */
export function quantize_row_q6_K(x: usize, y: usize, n: i32, qw: usize): usize {
  if (qw == 0) quantize_row_q6_K_ref(x, y, n);
  else quantize_row_q6_K_impl(x, y, n, qw);
  return <usize>(n / QK_K) * Q6K_BLOCK_BYTES;
}
