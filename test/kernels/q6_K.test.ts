// q6_K (quantize_row_q6_K_ref without an imatrix, quantize_row_q6_K_impl with one) against llama.cpp:
// - goldens: sha256 of llama.cpp's bytes committed in test/fixtures/golden/kernels-q6_K.json, so the
//   test runs anywhere;
// - live: the reference library itself (test/support/oracle.ts) on random rows of many widths, from
//   f32, f16 and bf16 sources, with several kinds of imatrix. Q6K_ROUNDS=N scales the random part.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Kernels, quantizeRows } from "../../src/kernels.js";
import { oracle } from "../support/oracle.js";
import { imatrixKinds, liveDraws, randomSource } from "./random-sources.js";
import { Rng } from "../support/random.js";
import { scalar } from "../support/simd.js";
import { goldenChecks } from "./golden-checks.js";
import { importance, nonFiniteRows } from "../support/rows.js";
import {
  BLOCK_BYTES, Q6_K, QK_K, SRC_BF16, SRC_F16, SRC_F32, allRows, bytesOf, extremeImportance, f32ToF16, firstDiff,
  goldenSets, halfSource, rowDigests, sha256, toHalf,
} from "./q6_K.cases.js";

interface GoldenFile {
  made_by: string;
  sets: { name: string; n: number; srcType: number; imatrix: string; nrows: number; sha256: string; rows: [string, string][] }[];
}

const golden: GoldenFile = JSON.parse(readFileSync(new URL("../fixtures/golden/kernels-q6_K.json", import.meta.url), "utf8"));
const sets = goldenSets();
const k = new Kernels();

const ours = (src: Uint8Array, srcType: number, n: number, imatrix?: Float32Array) => quantizeRows(k, Q6_K, src, srcType, n, imatrix);
const oursF32 = (rows: Float32Array, n: number, imatrix?: Float32Array) => ours(bytesOf(rows), SRC_F32, n, imatrix);
const dOf = (bytes: Uint8Array, block: number) => bytes[block * BLOCK_BYTES + 208] | (bytes[block * BLOCK_BYTES + 209] << 8);

describe("q6_K kernel", () => {
  it("writes 210 bytes per 256 values and takes only whole super-blocks", () => {
    const rows = new Float32Array(3 * 512).map((_, i) => Math.sin(i));
    expect(oursF32(rows, 512).length).toBe(3 * 2 * BLOCK_BYTES);
    expect(() => oursF32(new Float32Array(2 * 384), 384)).toThrow(RangeError);
  });

  it("zeroes a super-block whose scales are all below GROUP_MAX_EPS (1e-15) and keeps search levels where a scale rounds to 0", () => {
    // 1e-14-sized values: every sub-block scale is ~3e-16 < 1e-15, so the block is all zero bytes
    const tiny = new Float32Array(QK_K).map((_, i) => ((i % 7) - 3) * 3e-15);
    expect(oursF32(tiny, QK_K).every((b) => b === 0)).toBe(true);
    // one loud sub-block, fifteen quiet ones: the quiet scales round to 0, so their 6-bit levels are
    // make_qx_quants' own (not all 32), as in C, where L[] is not recomputed when d == 0
    const x = new Float32Array(QK_K).map((_, i) => (i < 16 ? 1000 : 1e-3) * (((i * 5) % 11) - 5));
    const q = oursF32(x, QK_K);
    expect(Array.from(new Int8Array(q.buffer, 192 + 1, 15)).every((s) => s === 0)).toBe(true);
    expect(q.subarray(0, 128).some((b, i) => i % 64 >= 16 && b !== 0)).toBe(true);
  });

  describe("goldens (llama.cpp's bytes, committed)", () => {
    goldenChecks({ golden, sets, typeId: Q6_K, builds: { simd: k, scalar }, rowDigests, sha256 });
  });

  describe("sources", () => {
    it("quantizes f16 and bf16 rows exactly as the f32 rows they widen to", () => {
      const rng = new Rng(99);
      const n = 1024;
      const rows = new Float32Array(8 * n).map(() => rng.normal() * 0.05);
      for (const srcType of [SRC_F16, SRC_BF16]) {
        const { src, rows: wide } = halfSource(toHalf(rows, srcType), srcType);
        for (const im of [undefined, importance(n)]) {
          expect(firstDiff(ours(src, srcType, n, im), oursF32(wide, n, im), n)).toBeNull();
        }
      }
    });

    it("widens f16 specials (subnormals, ±65504, ±inf, NaN payloads) bit for bit", () => {
      const specials = [0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe01, 0x8000, 0x3c00];
      const n = QK_K;
      const bits = new Uint16Array(specials.length * n);
      specials.forEach((h, r) => { for (let i = 0; i < n; i++) bits[r * n + i] = i % 3 === 0 ? h : f32ToF16(((i % 11) - 5) * 0.01); });
      const { src, rows } = halfSource(bits, SRC_F16);
      expect(firstDiff(ours(src, SRC_F16, n), oursF32(rows, n), n)).toBeNull();
    });
  });

  describe("non-finite input", () => {
    // llama.cpp's kernel has no special case for inf/NaN, and we reproduce what it computes, garbage
    // included (the goldens' nf-* and nanpayload sets pin it; NaN payloads need the explicit NaN
    // order in make_qx_quants). llama-quantize itself never feeds such rows to the kernel: it loads
    // with check_tensors = true, so llama_model_loader::load_data_for rejects an f32/f16/bf16 tensor
    // holding inf or NaN ("tensor '%s' has invalid data"). Finite rows can still give a non-finite
    // d (fp16 overflow when |x| is beyond ~2.7e8, or x*x overflow with an imatrix, below), which it
    // rejects after quantizing: ggml_validate_row_data -> "quantized data validation failed".
    // Both checks belong to the host, not to the kernel.
    it("matches what llama.cpp computes for nonFiniteRows", () => {
      const n = QK_K;
      const plain = oursF32(nonFiniteRows(n), n);
      const imat = oursF32(nonFiniteRows(n), n, importance(n));
      // a +inf value: max = inf, iscale = -0, inf * -0 = NaN -> nearest_int gives 0; d stays finite
      expect(dOf(plain, 0)).toBe(0x122f);
      // a NaN among finite values: its sub-block's scale is NaN, the others search normally
      expect(dOf(plain, 1)).toBe(0x0666);
      // ±3e38: x*x overflows, every scale is inf/inf = NaN, `abs > max_abs` never holds -> zero block
      expect(plain.subarray(2 * BLOCK_BYTES, 3 * BLOCK_BYTES).every((b) => b === 0)).toBe(true);
      // ... but with an imatrix the weights stay finite, the scales overflow to inf and d = -inf
      // (0xfc00): a finite row that llama-quantize rejects after quantizing
      expect(dOf(imat, 2)).toBe(0xfc00);
    });
  });
});

// ---- live differential against the reference library ----

const ROUNDS = Number(process.env.Q6K_ROUNDS ?? 1);
const WIDTHS = [256, 512, 768, 1024, 1280, 1536, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 8192, 11008, 13824, 14336];


const IMATRIX_KINDS = imatrixKinds("none", "importance", "uniform", "extreme", "halfzero", "allzero", "subnormal", "nonfinite");

/** Source bytes of srcType and the f32 rows llama.cpp sees for them; a fifth of the rows get specials,
 *  a few anywhere or many packed into one 16-wide sub-block (two different NaNs meet in its sums). */
const source = (rng: Rng, rows: Float32Array, n: number, srcType: number) => randomSource(rng, rows, n, srcType, { subBlock: 16, nanBits: false });

describe.runIf(oracle)("q6_K against llama.cpp, live", () => {
  const ref = oracle!;

  it("the committed goldens are llama.cpp's current bytes", () => {
    for (const s of sets) {
      const g = golden.sets.find((x) => x.name === s.name)!;
      expect(sha256(ref.quantize(Q6_K, s.rows, s.n, s.imatrix)), s.name).toBe(g.sha256);
    }
  });

  it("edge, sub-block and non-finite rows at every width, both paths", () => {
    let rowsChecked = 0;
    for (const n of WIDTHS) {
      const { rows, names } = allRows(n);
      for (const im of [undefined, importance(n), extremeImportance(n)]) {
        expect(firstDiff(oursF32(rows, n, im), ref.quantize(Q6_K, rows, n, im), n, names), `n=${n} imatrix=${im ? "yes" : "no"}`).toBeNull();
        rowsChecked += names.length;
      }
    }
    expect(rowsChecked).toBeGreaterThan(2500);
  });

  for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
    it(`random rows from ${label}, every imatrix kind, ${8 * ROUNDS} seeds each`, () => {
      let rowsChecked = 0;
      for (const { n, names, src, rows, imatrix: im, what } of liveDraws({ id: 0, srcType, kinds: IMATRIX_KINDS, seeds: 8 * ROUNDS, widths: WIDTHS, budget: 131072, minRows: 2, source })) {
        const diff = firstDiff(ours(src, srcType, n, im), ref.quantize(Q6_K, rows, n, im), n, names);
        expect(diff, what).toBeNull();
        rowsChecked += names.length;
      }
      expect(rowsChecked).toBeGreaterThan(1000 * ROUNDS);
    });
  }
});
