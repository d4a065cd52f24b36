// The float targets: f32 (memcpy), f16 (ggml_fp32_to_fp16_row) and bf16 (ggml_fp32_to_bf16_row).
// None of them reads an importance matrix.

import { fp32_to_fp16, fp32_to_bf16 } from "./common";

export function quantize_row_f32(x: usize, y: usize, n: i32, qw: usize): usize {
  memory.copy(y, x, <usize>n << 2);
  return <usize>n << 2;
}

export function quantize_row_f16(x: usize, y: usize, n: i32, qw: usize): usize {
  for (let i = 0; i < n; i++) store<u16>(y + (<usize>i << 1), fp32_to_fp16(load<f32>(x + (<usize>i << 2))));
  return <usize>n << 1;
}

export function quantize_row_bf16(x: usize, y: usize, n: i32, qw: usize): usize {
  for (let i = 0; i < n; i++) store<u16>(y + (<usize>i << 1), fp32_to_bf16(load<f32>(x + (<usize>i << 2))));
  return <usize>n << 1;
}
