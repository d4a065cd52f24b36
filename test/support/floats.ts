// Bit-exact float16 / bfloat16 helpers for building test sources and for widening them the way
// the reference build does (ggml_fp16_to_fp32_row / ggml_bf16_to_fp32_row), so the oracle, which
// takes f32 rows only, sees exactly the values our driver widens inside wasm.
// Everything works on bit patterns (Uint16Array / Uint32Array): JS numbers would lose NaN payloads.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32Bits(x: number): number { f32[0] = x; return u32[0]; }
export function bitsF32(b: number): number { u32[0] = b >>> 0; return f32[0]; }

/** IEEE binary32 -> binary16 bits, round to nearest even; NaN -> sign|0x7E00 (as ggml does). */
export function f32BitsToF16(w: number): number {
  const sign = (w >>> 16) & 0x8000;
  const exp = (w >>> 23) & 0xff;
  const mant = w & 0x7fffff;
  if (exp === 0xff) return sign | (mant ? 0x7e00 : 0x7c00);
  const e = exp - 127 + 15; // unbiased in half terms
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // half subnormal (or zero): value = m * 2^-24, m = round(full * 2^(e-1-13))
    if (e < -10) return sign; // below half of the smallest subnormal (2^-25) rounds to 0; 2^-25 itself is handled below
    const full = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1))) m++;
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into the exponent, up to inf: correct
  return sign | h;
}

/** binary16 bits -> binary32 bits, as ggml_compute_fp16_to_fp32 does on x86 (a NaN is quieted, payload kept). */
export function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant ? 0x400000 | (mant << 13) : 0)) >>> 0;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    return (sign | f32Bits(mant * 2 ** -24)) >>> 0; // exact
  }
  return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
}

/** binary32 -> bfloat16 bits, as ggml_compute_fp32_to_bf16: RNE on the bits, NaN forced quiet. */
export function f32BitsToBf16(u: number): number {
  u >>>= 0;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}

export function bf16ToF32Bits(h: number): number { return (h << 16) >>> 0; }

/** A f32 row as f16 bits (RNE). */
export function toF16(rows: Float32Array): Uint16Array {
  const bits = new Uint32Array(rows.buffer, rows.byteOffset, rows.length);
  return Uint16Array.from(bits, f32BitsToF16);
}

/** A f32 row as bf16 bits (RNE). */
export function toBf16(rows: Float32Array): Uint16Array {
  const bits = new Uint32Array(rows.buffer, rows.byteOffset, rows.length);
  return Uint16Array.from(bits, f32BitsToBf16);
}

/** f16 bits widened as ggml_fp16_to_fp32_row does. */
export function widenF16(h: Uint16Array): Float32Array {
  const out = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = f16ToF32Bits(h[i]);
  return new Float32Array(out.buffer);
}

/** bf16 bits widened as ggml_bf16_to_fp32_row does. */
export function widenBf16(h: Uint16Array): Float32Array {
  const out = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = bf16ToF32Bits(h[i]);
  return new Float32Array(out.buffer);
}

export function bytesOf(a: Float32Array | Uint16Array | Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
