// The float targets: f32 (memcpy), f16 (ggml_fp32_to_fp16_row) and bf16 (ggml_fp32_to_bf16_row).
// None of them reads an importance matrix. f16 and bf16 convert 8 values per step with the lane-wise
// twins of common.ts's conversions (simd.ts), the rest one by one; set_scalar_kernels(1) selects the
// scalar loops (the reference the SIMD ones are tested against).

import { fp32_to_fp16, fp32_to_bf16 } from "./common";
import { use_scalar, __fp16_f32x4, __fp16_nonnan_f32x4, __bf16_hi_f32x4 } from "./simd";

export function quantize_row_f32(x: usize, y: usize, n: i32, qw: usize): usize {
  memory.copy(y, x, <usize>n << 2);
  return <usize>n << 2;
}

export function quantize_row_f16(x: usize, y: usize, n: i32, qw: usize): usize {
  let i = 0;
  if (!use_scalar()) {
    // 16 values per step, NaN-free chunks (their float sum is not NaN) without the NaN select
    for (; i + 16 <= n; i += 16) {
      const p = x + (<usize>i << 2);
      const q = y + (<usize>i << 1);
      const a = v128.load(p), b = v128.load(p, 16), c = v128.load(p, 32), d = v128.load(p, 48);
      const sum = f32x4.add(f32x4.add(a, b), f32x4.add(c, d));
      if (!v128.any_true(f32x4.ne(sum, sum))) {
        v128.store(q, i16x8.narrow_i32x4_u(__fp16_nonnan_f32x4(a), __fp16_nonnan_f32x4(b)));
        v128.store(q, i16x8.narrow_i32x4_u(__fp16_nonnan_f32x4(c), __fp16_nonnan_f32x4(d)), 16);
      } else {
        v128.store(q, i16x8.narrow_i32x4_u(__fp16_f32x4(a), __fp16_f32x4(b)));
        v128.store(q, i16x8.narrow_i32x4_u(__fp16_f32x4(c), __fp16_f32x4(d)), 16);
      }
    }
    for (; i + 8 <= n; i += 8) {
      const p = x + (<usize>i << 2);
      v128.store(y + (<usize>i << 1), i16x8.narrow_i32x4_u(__fp16_f32x4(v128.load(p)), __fp16_f32x4(v128.load(p, 16))));
    }
  }
  for (; i < n; i++) store<u16>(y + (<usize>i << 1), fp32_to_fp16(load<f32>(x + (<usize>i << 2))));
  return <usize>n << 1;
}

/** The rounded top halves of 8 floats (two vectors) as 8 bf16: RNE on the bits, without the NaN case. */
// @ts-ignore: decorator
@inline function bf16x8_finite(a: v128, b: v128): v128 {
  const r = i32x4.add(a, i32x4.add(v128.and(i32x4.shr_u(a, 16), i32x4.splat(1)), i32x4.splat(0x7fff)));
  const s = i32x4.add(b, i32x4.add(v128.and(i32x4.shr_u(b, 16), i32x4.splat(1)), i32x4.splat(0x7fff)));
  return i16x8.narrow_i32x4_u(i32x4.shr_u(r, 16), i32x4.shr_u(s, 16));
}

/** As bf16x8_finite with NaN handled (forced quiet, as fp32_to_bf16). */
// @ts-ignore: decorator
@inline function bf16x8(a: v128, b: v128): v128 {
  return i16x8.narrow_i32x4_u(i32x4.shr_u(__bf16_hi_f32x4(a), 16), i32x4.shr_u(__bf16_hi_f32x4(b), 16));
}

export function quantize_row_bf16(x: usize, y: usize, n: i32, qw: usize): usize {
  let i = 0;
  if (!use_scalar()) {
    // 16 values per step; their float sum is NaN if one of them is (a NaN-free chunk that sums to
    // NaN, inf - inf, just takes the NaN-aware path). ±inf need nothing: RNE on the bits keeps them.
    for (; i + 16 <= n; i += 16) {
      const p = x + (<usize>i << 2);
      const q = y + (<usize>i << 1);
      const a = v128.load(p), b = v128.load(p, 16), c = v128.load(p, 32), d = v128.load(p, 48);
      const sum = f32x4.add(f32x4.add(a, b), f32x4.add(c, d));
      if (!v128.any_true(f32x4.ne(sum, sum))) {
        v128.store(q, bf16x8_finite(a, b));
        v128.store(q, bf16x8_finite(c, d), 16);
      } else {
        v128.store(q, bf16x8(a, b));
        v128.store(q, bf16x8(c, d), 16);
      }
    }
    for (; i + 8 <= n; i += 8) {
      const p = x + (<usize>i << 2);
      v128.store(y + (<usize>i << 1), bf16x8(v128.load(p), v128.load(p, 16)));
    }
  }
  for (; i < n; i++) store<u16>(y + (<usize>i << 1), fp32_to_bf16(load<f32>(x + (<usize>i << 2))));
  return <usize>n << 1;
}
