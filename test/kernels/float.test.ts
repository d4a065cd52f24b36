// The float targets (f32 copy, f16 = ggml_fp32_to_fp16_row, bf16 = ggml_fp32_to_bf16_row_ref, as
// ggml_quantize_chunk calls them) and the driver's widening of f16/bf16 sources, against llama.cpp:
// NaN payloads and signs, infinities, subnormals, -0, overflow and rounding ties, bit for bit.
// Set GGUF_QUANTIZE_EXHAUSTIVE=1 to also sweep all 2^32 binary32 values through both conversions.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Kernels, quantizeRows } from "../../src/kernels.js";
import { T, typeByName } from "../../src/types.js";
import { oracle } from "../support/oracle.js";
import { SPECIAL_F32_BITS } from "../support/rows.js";
import { bytesOf, f16ToF32Bits, f32BitsToBf16, f32BitsToF16, bf16ToF32Bits } from "../support/floats.js";
import { SRC, inputDigest, makeCase, parseKey, sha256, type GoldenFile } from "../support/golden.js";
import { firstDiff } from "../support/compare.js";

const FLOATS = ["f32", "f16", "bf16"].map((name) => typeByName(name)!);
const golden = JSON.parse(readFileSync(new URL("../fixtures/golden/kernels-legacy.json", import.meta.url), "utf8")) as GoldenFile;
const k = new Kernels();

/** Our f32 -> target conversion of raw binary32 bit patterns (one row of n). */
function ours(type: number, bits: Uint32Array, n = bits.length): Uint8Array {
  return quantizeRows(k, type, bytesOf(bits), SRC.f32, n);
}

/** The sweep: every sign/exponent/top-10-mantissa prefix with the low 13 bits at the fp16 rounding
 *  points (0, 1, just below/at/above the tie, all ones), every top-16-bit prefix with the low 16 bits
 *  at the bf16 rounding points, and every fp16-subnormal-range exponent with ties at each shift. */
function sweepBits(): Uint32Array {
  const out: number[] = [];
  for (let p = 0; p < 1 << 19; p++) for (const lo of [0, 1, 0xfff, 0x1000, 0x1001, 0x1fff]) out.push(((p << 13) | lo) >>> 0);
  for (let p = 0; p < 1 << 16; p++) for (const lo of [0, 1, 0x7fff, 0x8000, 0x8001, 0xffff]) out.push(((p << 16) | lo) >>> 0);
  for (let e = 95; e <= 113; e++) {
    const shift = Math.min(24, 126 - e); // bits dropped when the value becomes an fp16 subnormal
    for (const sign of [0, 0x80000000]) for (let hi = 0; hi < 1 << Math.max(0, 23 - shift); hi++) {
      const half = shift > 0 ? 2 ** (shift - 1) : 0;
      for (const lo of [0, 1, half - 1, half, half + 1, 2 * half - 1]) {
        if (lo < 0 || lo >= 2 ** Math.min(shift, 23)) continue;
        out.push((sign | (e << 23) | (hi * 2 ** shift + lo)) >>> 0);
      }
    }
  }
  const bits = Uint32Array.from(out);
  const n = 4096;
  const padded = new Uint32Array(Math.ceil(bits.length / n) * n); // whole rows; the padding is +0
  padded.set(bits);
  return padded;
}

describe("float targets: goldens (no native library needed)", () => {
  const keys = Object.keys(golden.cases).filter((key) => FLOATS.some((ty) => key.startsWith(`${ty.name}/`)));

  it("cover f32, f16 and bf16 with the special values and random bit patterns", () => {
    for (const ty of FLOATS) for (const set of ["edge", "edge-f16", "edge-bf16", "specials", "bits"]) {
      expect(golden.cases[`${ty.name}/${set}/plain/32`], `${ty.name}/${set}`).toBeDefined();
    }
  });

  it.each(keys)("%s", (key) => {
    const { type, set, imatrix, n } = parseKey(key);
    const c = makeCase(type, set, imatrix, n);
    const entry = golden.cases[key];
    expect(inputDigest(c), "the row generator no longer makes the rows the golden was made from").toBe(entry.input);
    const out = quantizeRows(k, type.id, c.srcBytes, SRC[c.src], n, c.imatrix);
    const where = sha256(out) !== entry.output && oracle ? firstDiff(out, oracle.quantize(type.id, c.oracleRows, n), out.length / c.nrows) : undefined;
    expect(sha256(out), where).toBe(entry.output);
  });
});

describe("float targets: against an independent JS model (no native library needed)", () => {
  it("f16 and bf16 of the special values", () => {
    const bits = Uint32Array.from({ length: 64 * Math.ceil(SPECIAL_F32_BITS.length / 64) }, (_, i) => SPECIAL_F32_BITS[i % SPECIAL_F32_BITS.length]);
    expect(Array.from(new Uint16Array(ours(T.F16, bits).buffer))).toEqual(Array.from(bits, f32BitsToF16));
    expect(Array.from(new Uint16Array(ours(T.BF16, bits).buffer))).toEqual(Array.from(bits, f32BitsToBf16));
    // a few by hand: 65520 -> inf, 65519.996 -> 65504, 2^-25 -> 0, 1.5*2^-24 -> 2*2^-24, NaN -> 0x7e00 / sign kept
    expect(f32BitsToF16(0x477ff000)).toBe(0x7c00);
    expect(f32BitsToF16(0x477fefff)).toBe(0x7bff);
    expect(f32BitsToF16(0x33000000)).toBe(0x0000);
    expect(f32BitsToF16(0x33c00000)).toBe(0x0002);
    expect(f32BitsToF16(0xff800001)).toBe(0xfe00);
    expect(f32BitsToBf16(0x7f800001)).toBe(0x7fc0);
    expect(f32BitsToBf16(0x7f7f8000)).toBe(0x7f80);
  });

  it("the f32 target copies bits, NaN payloads included", () => {
    const bits = Uint32Array.from({ length: 64 }, (_, i) => SPECIAL_F32_BITS[i % SPECIAL_F32_BITS.length]);
    expect(Array.from(new Uint32Array(ours(T.F32, bits).buffer))).toEqual(Array.from(bits));
  });

  it("f16 and bf16 sources widen exactly (all 65536 patterns, through the f32 target)", () => {
    const h = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f16 = new Uint32Array(quantizeRows(k, T.F32, bytesOf(h), SRC.f16, 65536).buffer);
    const bf16 = new Uint32Array(quantizeRows(k, T.F32, bytesOf(h), SRC.bf16, 65536).buffer);
    for (let i = 0; i < 65536; i++) {
      if (f16[i] !== f16ToF32Bits(i)) expect.fail(`f16 0x${i.toString(16)} widened to 0x${f16[i].toString(16)}, expected 0x${f16ToF32Bits(i).toString(16)}`);
      if (bf16[i] !== bf16ToF32Bits(i)) expect.fail(`bf16 0x${i.toString(16)} widened to 0x${bf16[i].toString(16)}`);
    }
  });
});

describe.runIf(oracle)("float targets vs llama.cpp, live", () => {
  const require = createRequire(import.meta.url);
  const widen = () => {
    const koffi = require("koffi") as typeof import("koffi");
    const lib = koffi.load(join(oracle!.libDir, "libggml-base.so"));
    return {
      f16: lib.func("void ggml_fp16_to_fp32_row(const uint16_t *, _Out_ float *, int64_t)"),
      bf16: lib.func("void ggml_bf16_to_fp32_row(const uint16_t *, _Out_ float *, int64_t)"),
    };
  };

  it("the sweep of rounding points through f32, f16 and bf16 targets", () => {
    const bits = sweepBits();
    const n = 4096;
    const rows = new Float32Array(bits.buffer);
    for (const ty of FLOATS) {
      const diff = firstDiff(ours(ty.id, bits, n), oracle!.quantize(ty.id, rows, n), oracle!.rowSize(ty.id, n));
      expect(diff, ty.name).toBeUndefined();
    }
    console.log(`float sweep: ${bits.length} binary32 values through f32, f16 and bf16`);
  });

  it("our JS widening of f16 and bf16 equals ggml_fp16_to_fp32_row / ggml_bf16_to_fp32_row (all 65536)", () => {
    const w = widen();
    const h = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const out = new Float32Array(65536);
    const u = new Uint32Array(out.buffer);
    w.f16(h, out, 65536);
    for (let i = 0; i < 65536; i++) if (u[i] !== f16ToF32Bits(i)) expect.fail(`f16 0x${i.toString(16)}: ggml 0x${u[i].toString(16)}, ours 0x${f16ToF32Bits(i).toString(16)}`);
    w.bf16(h, out, 65536);
    for (let i = 0; i < 65536; i++) if (u[i] !== bf16ToF32Bits(i)) expect.fail(`bf16 0x${i.toString(16)}: ggml 0x${u[i].toString(16)}`);
  });

  it("all 65536 f16 and bf16 source patterns through every float target", () => {
    const h = Uint16Array.from({ length: 65536 }, (_, i) => i);
    for (const [src, widenBits] of [["f16", f16ToF32Bits], ["bf16", bf16ToF32Bits]] as const) {
      const wide = new Float32Array(Uint32Array.from(h, widenBits).buffer);
      for (const ty of FLOATS) {
        const got = quantizeRows(k, ty.id, bytesOf(h), SRC[src], 4096);
        expect(firstDiff(got, oracle!.quantize(ty.id, wide, 4096), oracle!.rowSize(ty.id, 4096)), `${src} -> ${ty.name}`).toBeUndefined();
      }
    }
  });

  it.runIf(process.env.GGUF_QUANTIZE_EXHAUSTIVE === "1")("every binary32 value through f16 and bf16 (2^32)", () => {
    const n = 1 << 22;
    const bits = new Uint32Array(n);
    const rows = new Float32Array(bits.buffer);
    for (let hi = 0; hi < 1024; hi++) {
      for (let i = 0; i < n; i++) bits[i] = (hi * n + i) >>> 0;
      for (const t of [T.F16, T.BF16]) {
        const diff = firstDiff(ours(t, bits, 4096), oracle!.quantize(t, rows, 4096), 8192);
        if (diff) expect.fail(`chunk 0x${(hi * n).toString(16)}, type ${t}: ${diff}`);
      }
    }
  }, 3_600_000);
});
