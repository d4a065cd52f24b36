// ggml_validate_row_data: llama.cpp checks every tensor it loads (check_tensors) and every row it
// quantizes; a non-finite value or scale fails the whole run. We mirror it exactly so that we refuse
// exactly the files llama.cpp refuses (e.g. a Q8_0 scale that overflows fp16 on a huge row).
// The float sources are checked 8 values per step (set_scalar_kernels(1): one by one).

import { use_scalar } from "./simd";

// Where a block keeps its fp16 scale(s): byte offsets of d and m (-1: none), from ggml-common.h.
function dOffset(type: i32): i32 {
  switch (type) {
    case 2: case 3: case 6: case 7: case 8: case 12: case 13: // q4_0 q4_1 q5_0 q5_1 q8_0 q4_K q5_K
    case 16: case 17: case 18: case 19: case 20: case 21: case 22: case 23: case 41: case 42: // iq*, q1_0, q2_0
      return 0;
    case 10: return 80;  // q2_K: scales[16] qs[64] d dmin
    case 11: return 108; // q3_K: hmask[32] qs[64] scales[12] d
    case 14: return 208; // q6_K: ql[128] qh[64] scales[16] d
    case 34: return 52;  // tq1_0: qs[48] qh[4] d
    case 35: return 64;  // tq2_0: qs[64] d
    default: return -1;
  }
}

function mOffset(type: i32): i32 {
  switch (type) {
    case 3: case 7: case 12: case 13: return 2; // q4_1 q5_1 (m), q4_K q5_K (dmin)
    case 10: return 82;                         // q2_K dmin
    default: return -1;
  }
}

// @ts-ignore: decorator
@inline function fp16_ok(h: u16): bool { return (h & 0x7c00) != 0x7c00; }

/** Whether any f32 at p..p+bytes (a multiple of 32) is inf or NaN. */
function any_f32_nonfinite(p: usize, bytes: usize): bool {
  const e = i32x4.splat(0x7f800000);
  for (let i: usize = 0; i < bytes; i += 32) {
    const a = i32x4.eq(v128.and(v128.load(p + i), e), e), b = i32x4.eq(v128.and(v128.load(p + i, 16), e), e);
    if (v128.any_true(v128.or(a, b))) return true;
  }
  return false;
}

/** Whether any of the 16-bit values at p..p+bytes (bytes a multiple of 16) has (h & mask) >= bad,
 *  as a signed compare of h & mask (mask < 0x8000): 8 per step, one test per 64 values. A
 *  pass over the whole source, so it runs at memory speed rather than one branch per value. */
function any_halves_at_least(p: usize, bytes: usize, mask: i32, bad: i32): bool {
  const m = i16x8.splat(<i16>mask), lim = i16x8.splat(<i16>(bad - 1));
  let i: usize = 0;
  for (; i + 128 <= bytes; i += 128) {
    let acc = i16x8.gt_s(v128.and(v128.load(p + i), m), lim);
    for (let j: usize = 16; j < 128; j += 16) acc = v128.or(acc, i16x8.gt_s(v128.and(v128.load(p + i + j), m), lim));
    if (v128.any_true(acc)) return true;
  }
  for (; i < bytes; i += 16) if (v128.any_true(i16x8.gt_s(v128.and(v128.load(p + i), m), lim))) return true;
  return false;
}

/** Returns 1 when nbytes of `type` at p pass ggml_validate_row_data, 0 when they fail, -1 when
 *  this module does not know how to validate the type (the caller must not pretend it passed). */
export function validate_row_data(type: i32, p: usize, nbytes: usize, typeSize: usize): i32 {
  if (typeSize == 0 || nbytes % typeSize != 0) return 0;
  const nb = nbytes / typeSize;
  if (type == 0) { // f32: no inf, no nan (the high halves, as f16-style exponent tests, in bulk)
    const bulk: usize = use_scalar() ? 0 : (nb & ~7) << 2;
    if (bulk > 0 && any_f32_nonfinite(p, bulk)) return 0;
    for (let i: usize = bulk >> 2; i < nb; i++) if ((load<u32>(p + (i << 2)) & 0x7f800000) == 0x7f800000) return 0;
    return 1;
  }
  if (type == 1) { // f16
    const bulk: usize = use_scalar() ? 0 : (nb & ~7) << 1;
    if (bulk > 0 && any_halves_at_least(p, bulk, 0x7c00, 0x7c00)) return 0;
    for (let i: usize = bulk >> 1; i < nb; i++) if (!fp16_ok(load<u16>(p + (i << 1)))) return 0;
    return 1;
  }
  if (type == 30) { // bf16
    const bulk: usize = use_scalar() ? 0 : (nb & ~7) << 1;
    if (bulk > 0 && any_halves_at_least(p, bulk, 0x7fff, 0x7f80)) return 0;
    for (let i: usize = bulk >> 1; i < nb; i++) if ((load<u16>(p + (i << 1)) & 0x7fff) >= 0x7f80) return 0;
    return 1;
  }
  if (type == 24 || type == 25 || type == 26 || type == 27) return 1; // integers: nothing to check
  if (type == 28) { // f64: ggml checks each value as a float, so |x| that rounds to inf in f32 fails too
    for (let i: usize = 0; i < nb; i++) {
      if ((reinterpret<u32>(<f32>load<f64>(p + (i << 3))) & 0x7f800000) == 0x7f800000) return 0;
    }
    return 1;
  }
  if (type == 39) { // mxfp4: E8M0 exponent byte 0xff is invalid
    for (let i: usize = 0; i < nb; i++) if (load<u8>(p + i * typeSize) == 0xff) return 0;
    return 1;
  }
  if (type == 40) return 1; // nvfp4: every UE4M3 scale byte is valid
  if (type == 9) return 0;  // q8_1: ggml_validate_row_data has no case for it ("invalid type 9")
  if (type == 15) { // q8_K: float d first
    for (let i: usize = 0; i < nb; i++) if ((load<u32>(p + i * typeSize) & 0x7f800000) == 0x7f800000) return 0;
    return 1;
  }
  if (type == 29) { // iq1_m: the fp16 scale is spread over the top nibbles of scales[4] (at byte 48)
    for (let i: usize = 0; i < nb; i++) {
      const sc = p + i * typeSize + 48;
      const s: u16 = <u16>((load<u16>(sc) >> 12) | ((load<u16>(sc + 2) >> 8) & 0x00f0) | ((load<u16>(sc + 4) >> 4) & 0x0f00) | (load<u16>(sc + 6) & 0xf000));
      if (!fp16_ok(s)) return 0;
    }
    return 1;
  }
  const d = dOffset(type);
  if (d < 0) return -1;
  const m = mOffset(type);
  for (let i: usize = 0; i < nb; i++) {
    const b = p + i * typeSize;
    if (!fp16_ok(load<u16>(b + d))) return 0;
    if (m >= 0 && !fp16_ok(load<u16>(b + m))) return 0;
  }
  return 1;
}
