// iq4_nl and iq4_xs (quantize_iq4_nl / quantize_iq4_xs: quantize_row_iq4_nl_impl with ntry = 7, with
// or without an imatrix) against llama.cpp:
// - goldens: sha256 of llama.cpp's bytes committed in test/fixtures/golden/kernels-iq4_{nl,xs}.json
//   (scripts/make-iq4-goldens.ts), so the tests run anywhere;
// - live: the reference library itself (test/support/oracle.ts) on edge rows and on thousands of
//   random rows from f32, f16 and bf16 sources with several kinds of imatrix, NaN payloads included.
//   IQ4_ROUNDS=N scales the random part (N times the seeds).
// Dequantization of both types is covered by test/kernels/dequant.test.ts.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Kernels, quantizeRows } from "../../src/kernels.js";
import { oracle } from "../support/oracle.js";
import { scalar } from "../support/simd.js";
import { goldenChecks } from "./golden-checks.js";
import { importance } from "../support/rows.js";
import { bytesOf, extremeImportance, nonFiniteImportance } from "./q6_K.cases.js";
import { negativeImportance } from "./k4.cases.js";
import { IMATRIX_KINDS, liveDraws } from "./random-sources.js";
import { IQ4_TYPES, SRC_BF16, SRC_F16, SRC_F32, allRows, firstDiff, goldenSets, rowDigests, sha256, type Iq4Type } from "./iq4.cases.js";

interface GoldenFile {
  made_by: string;
  type: string;
  sets: { name: string; n: number; srcType: number; imatrix: string; nrows: number; sha256: string; rows: [string, string][] }[];
}

const ROUNDS = Number(process.env.IQ4_ROUNDS ?? 1);
/** Widths of the live edge-row test (each row kind at each, five imatrices). */
const EDGE_WIDTHS: Record<string, number[]> = { iq4_nl: [32, 96, 512, 4096], iq4_xs: [256, 768, 4096] };

const WIDTHS: Record<string, number[]> = {
  iq4_nl: [32, 64, 96, 160, 256, 512, 768, 1024, 2048, 2880, 4096, 5120],
  iq4_xs: [256, 512, 768, 1024, 1536, 2048, 3072, 4096, 5120, 11008],
};

function iq4Suite(ty: Iq4Type): void {
  const golden: GoldenFile = JSON.parse(readFileSync(new URL(`../fixtures/golden/kernels-${ty.name}.json`, import.meta.url), "utf8"));
  const sets = goldenSets(ty);
  const k = new Kernels();
  const ours = (src: Uint8Array, srcType: number, n: number, imatrix?: Float32Array) => quantizeRows(k, ty.id, src, srcType, n, imatrix);
  const oursF32 = (rows: Float32Array, n: number, imatrix?: Float32Array) => ours(bytesOf(rows), SRC_F32, n, imatrix);

  describe(`${ty.name} kernel`, () => {
    it(`writes ${ty.blockBytes} bytes per ${ty.blockSize} values and takes only whole blocks`, () => {
      const rows = new Float32Array(3 * 512).map((_, i) => Math.sin(i));
      expect(oursF32(rows, 512).length).toBe(3 * (512 / ty.blockSize) * ty.blockBytes);
      expect(oursF32(rows, 512, importance(512)).length).toBe(3 * (512 / ty.blockSize) * ty.blockBytes);
      expect(() => oursF32(new Float32Array(2 * (ty.blockSize + 16)), ty.blockSize + 16)).toThrow(RangeError);
    });

    it("quantizes an all-zero block to every level 8 (kvalues_iq4nl[8] = 1), d = +0 (iq4_nl) or -0 (iq4_xs: -max_scale/32)", () => {
      const q = oursF32(new Float32Array(ty.blockSize), ty.blockSize);
      expect(q[0] | (q[1] << 8)).toBe(ty.blockSize === 32 ? 0 : 0x8000);
      if (ty.blockSize === 256) expect(Array.from(q.subarray(2, 8))).toEqual([0xaa, 0xaa, 0, 0, 0, 0]); // every 6-bit scale 0 + 32: high bits 2, low nibble 0
      expect(Array.from(q.subarray(ty.blockBytes - ty.blockSize / 2))).toEqual(new Array(ty.blockSize / 2).fill(0x88));
    });

    it("NaNs in a block below GROUP_MAX_EPS take level 15 (best_index_int8(NaN)), the rest level 8", () => {
      const n = ty.blockSize;
      const x = new Float32Array(n).fill(1e-17);
      x[5] = NaN;
      const q = oursF32(x, n);
      const qs = q.subarray(ty.blockBytes - n / 2);
      expect(qs[5] & 0xf).toBe(15);
      expect(qs[6] & 0xf).toBe(8);
    });

    describe("goldens (llama.cpp's bytes, committed)", () => {
      goldenChecks({ golden, sets, typeId: ty.id, typeName: ty.name, builds: { simd: k, scalar }, rowDigests: (b, n) => rowDigests(ty, b, n), sha256 });
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

    it(`every deterministic row kind at widths ${EDGE_WIDTHS[ty.name].join(" ")}, five kinds of imatrix`, () => {
      let rowsChecked = 0;
      for (const n of EDGE_WIDTHS[ty.name]) {
        const { rows, names } = allRows(n);
        for (const im of [undefined, importance(n, n), extremeImportance(n, n), negativeImportance(n, n), nonFiniteImportance(n, n)]) {
          expect(firstDiff(ty, oursF32(rows, n, im), ref.quantize(ty.id, rows, n, im), n, names), `n=${n} imatrix=${im ? "yes" : "no"}`).toBeNull();
          rowsChecked += names.length;
        }
      }
      expect(rowsChecked).toBeGreaterThan(1000);
    });

    for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
      it(`random rows from ${label}, every imatrix kind, ${2 * ROUNDS} seeds each`, () => {
        let rowsChecked = 0;
        for (const { n, names, src, rows, imatrix: im, what } of liveDraws({ id: ty.id, srcType, kinds: IMATRIX_KINDS, seeds: 2 * ROUNDS, widths: WIDTHS[ty.name], budget: 32768, minRows: 8 })) {
          const diff = firstDiff(ty, ours(src, srcType, n, im), ref.quantize(ty.id, rows, n, im), n, names);
          expect(diff, what).toBeNull();
          rowsChecked += names.length;
        }
        expect(rowsChecked).toBeGreaterThan(150 * ROUNDS);
      });
    }
  });
}

for (const ty of IQ4_TYPES) iq4Suite(ty);
