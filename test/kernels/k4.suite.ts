// The tests of q4_K and q5_K (quantize_row_q{4,5}_K_ref without an imatrix, quantize_row_q{4,5}_K_impl
// with one) against llama.cpp, one suite run by test/kernels/q4_K.test.ts and q5_K.test.ts:
// - goldens: sha256 of llama.cpp's bytes committed in test/fixtures/golden/kernels-<type>.json, so
//   the tests run anywhere;
// - live: the reference library itself (test/support/oracle.ts) on edge rows at many widths and on
//   thousands of random rows from f32, f16 and bf16 sources with several kinds of imatrix, NaN
//   payloads included. K4_ROUNDS=N scales the random part (N times the seeds).
//
// Non-finite input: llama-quantize never hands NaN or inf to a kernel (it loads with check_tensors
// and rejects such tensors), and it rejects a block whose fp16 d or dmin comes out inf/NaN after
// quantizing (ggml_validate_row_data). The kernels still match llama.cpp bit for bit on such rows,
// NaN payloads included (assembly/search.ts, assembly/kquants.ts), and these tests hold them to it.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Kernels, quantizeRows } from "../../src/kernels.js";
import { oracle } from "../support/oracle.js";
import { imatrixKinds, liveDraws, randomSource } from "./random-sources.js";
import { Rng } from "../support/random.js";
import { scalar } from "../support/simd.js";
import { goldenChecks } from "./golden-checks.js";
import { edgeRows, importance, nonFiniteRows, nonFiniteRowsMore, subBlockRows } from "../support/rows.js";
import { concatRows, bytesOf, extremeImportance, f32ToF16, halfSource, nanPayloadSource, nonFiniteImportance, toHalf } from "./q6_K.cases.js";
import {
  QK_K, SRC_BF16, SRC_F16, SRC_F32, firstDiff, goldenSets, negativeImportance, quirkRows, rowDigests, sha256, type K4Type,
} from "./k4.cases.js";

interface GoldenFile {
  made_by: string;
  type: string;
  sets: { name: string; n: number; srcType: number; imatrix: string; nrows: number; sha256: string; rows: [string, string][] }[];
}

const ROUNDS = Number(process.env.K4_ROUNDS ?? 1);


/** Every deterministic row kind at width n: edge, sub-block, non-finite and quirk rows. */
function allRows(n: number) {
  return concatRows([
    edgeRows(n, n + 5, 4), subBlockRows(n, n + 7), { rows: nonFiniteRows(n), names: ["nf-inf", "nf-nan", "nf-3e38"] },
    nonFiniteRowsMore(n), quirkRows(n, n + 9),
  ]);
}



const IMATRIX_KINDS = imatrixKinds("none", "importance", "uniform", "extreme", "negative", "halfzero", "allzero", "subnormal", "nonfinite");


const WIDTHS = [256, 512, 768, 1024, 1536, 2048, 2560, 3072, 4096, 5120, 6144, 8192, 11008, 14336];
const EDGE_WIDTHS = [256, 512, 768, 1280, 2560, 4096, 11008];

export function k4Suite(ty: K4Type): void {
  const golden: GoldenFile = JSON.parse(readFileSync(new URL(`../fixtures/golden/kernels-${ty.name}.json`, import.meta.url), "utf8"));
  const sets = goldenSets();
  const k = new Kernels();
  const BB = ty.blockBytes;

  const ours = (src: Uint8Array, srcType: number, n: number, imatrix?: Float32Array) => quantizeRows(k, ty.id, src, srcType, n, imatrix);
  const oursF32 = (rows: Float32Array, n: number, imatrix?: Float32Array) => ours(bytesOf(rows), SRC_F32, n, imatrix);
  /** get_scale_min_k4's 6-bit scale of sub-block j in the block at `at` */
  const scaleOf = (q: Uint8Array, at: number, j: number) => {
    const s = q.subarray(at + 4, at + 16);
    return j < 4 ? s[j] & 63 : (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
  };

  describe(`${ty.name} kernel`, () => {
    it(`writes ${BB} bytes per 256 values and takes only whole super-blocks`, () => {
      const rows = new Float32Array(3 * 512).map((_, i) => Math.sin(i));
      expect(oursF32(rows, 512).length).toBe(3 * 2 * BB);
      expect(oursF32(rows, 512, importance(512)).length).toBe(3 * 2 * BB);
      expect(() => oursF32(new Float32Array(2 * 384), 384)).toThrow(RangeError);
    });

    it("quantizes an all-zero super-block to zero bytes on both paths", () => {
      expect(oursF32(new Float32Array(QK_K), QK_K).every((b) => b === 0)).toBe(true);
      expect(oursF32(new Float32Array(QK_K), QK_K, importance(QK_K)).every((b) => b === 0)).toBe(true);
    });

    it("keeps the search's levels in a sub-block whose 6-bit scale rounds to 0", () => {
      // sub-block 0 is 1e6 times louder: the other scales round to 0, so d == 0 there and C skips
      // the requantization, leaving make_qkx2_quants' levels (not zeros, not recomputed)
      const rng = new Rng(5);
      const x = new Float32Array(QK_K).map((_, i) => rng.normal() * (i < 32 ? 1000 : 1e-3));
      const q = oursF32(x, QK_K);
      for (let j = 1; j < 8; j++) expect(scaleOf(q, 0, j), `sub-block ${j}`).toBe(0);
      const lowNibbles = ty.name === "q4_K" ? q.subarray(16 + 32, 16 + 64) : q.subarray(48 + 32, 48 + 64); // sub-block 2
      expect(new Set(Array.from(lowNibbles, (b) => b & 0xf)).size).toBeGreaterThan(4);
    });

    describe("goldens (llama.cpp's bytes, committed)", () => {
      goldenChecks({ golden, sets, typeId: ty.id, typeName: ty.name, builds: { simd: k, scalar }, rowDigests: (b, n) => rowDigests(ty, b, n), sha256 });
    });

    it("quantizes f16 and bf16 rows exactly as the f32 rows they widen to", () => {
      const rng = new Rng(99);
      const n = 1024;
      const rows = new Float32Array(8 * n).map(() => rng.normal() * 0.05);
      const bits = new Uint16Array(13 * QK_K);
      [0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe01, 0x8000, 0x3c00].forEach((h, r) => {
        for (let i = 0; i < QK_K; i++) bits[r * QK_K + i] = i % 3 === 0 ? h : f32ToF16(((i % 11) - 5) * 0.01);
      });
      for (const srcType of [SRC_F16, SRC_BF16]) {
        const { src, rows: wide } = halfSource(toHalf(rows, srcType), srcType);
        for (const im of [undefined, importance(n)]) {
          expect(firstDiff(ty, ours(src, srcType, n, im), oursF32(wide, n, im), n)).toBeNull();
        }
      }
      const sp = halfSource(bits, SRC_F16);
      for (const im of [undefined, importance(QK_K)]) expect(firstDiff(ty, ours(sp.src, SRC_F16, QK_K, im), oursF32(sp.rows, QK_K, im), QK_K)).toBeNull();
    });
  });

  describe.runIf(oracle)(`${ty.name} against llama.cpp, live`, () => {
    const ref = oracle!;

    it("the committed goldens are llama.cpp's current bytes", () => {
      for (const s of sets) {
        const g = golden.sets.find((x) => x.name === s.name)!;
        expect(sha256(ref.quantize(ty.id, s.rows, s.n, s.imatrix)), s.name).toBe(g.sha256);
      }
    });

    it(`edge, sub-block, non-finite and quirk rows at widths ${EDGE_WIDTHS.join(" ")}, five kinds of imatrix`, () => {
      let rowsChecked = 0;
      for (const n of EDGE_WIDTHS) {
        const { rows, names } = allRows(n);
        for (const im of [undefined, importance(n, n), extremeImportance(n, n), negativeImportance(n, n), nonFiniteImportance(n, n)]) {
          expect(firstDiff(ty, oursF32(rows, n, im), ref.quantize(ty.id, rows, n, im), n, names), `n=${n} imatrix=${im ? "yes" : "no"}`).toBeNull();
          rowsChecked += names.length;
        }
      }
      expect(rowsChecked).toBeGreaterThan(2000);
    });

    it("NaN payloads meeting in one sub-block, from f32, f16 and bf16", () => {
      for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
        for (const im of [undefined, importance(512), nonFiniteImportance(512)]) {
          for (const seed of [17, 18, 19]) {
            const { src, rows, names } = nanPayloadSource(512, srcType, 32, seed);
            expect(firstDiff(ty, ours(src, srcType, 512, im), ref.quantize(ty.id, rows, 512, im), 512, names), `${label} seed ${seed} imatrix=${im ? "yes" : "no"}`).toBeNull();
          }
        }
      }
    });

    for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
      it(`random rows from ${label}, every imatrix kind, ${4 * ROUNDS} seeds each`, () => {
        let rowsChecked = 0;
        const source = (rng: Rng, rows: Float32Array, n: number, srcType: number) => randomSource(rng, rows, n, srcType, { nanFirst: true });
        for (const { n, names, src, rows, imatrix: im, what } of liveDraws({ id: ty.id, srcType, kinds: IMATRIX_KINDS, seeds: 4 * ROUNDS, widths: WIDTHS, budget: 65536, minRows: 2, source })) {
          const diff = firstDiff(ty, ours(src, srcType, n, im), ref.quantize(ty.id, rows, n, im), n, names);
          expect(diff, what).toBeNull();
          rowsChecked += names.length;
        }
        expect(rowsChecked).toBeGreaterThan(1000 * ROUNDS);
      });
    }
  });
}
