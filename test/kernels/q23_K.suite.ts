// The tests of q2_K and q3_K (test/kernels/q2_K.test.ts, q3_K.test.ts), one suite for both: the
// _ref kernel without an imatrix, the _impl kernel with one, against llama.cpp:
// - goldens: sha256 of llama.cpp's bytes committed in test/fixtures/golden/kernels-<type>.json
//   (scripts/make-q23k-goldens.ts), so the tests run anywhere;
// - live: the reference library itself (test/support/oracle.ts) on edge rows at many widths and on
//   random rows from f32, f16 and bf16 sources with every kind of imatrix, NaN payloads included.
//   Q23K_ROUNDS=N multiplies the random part (the default run compares ~10,000 rows per type, ~5,000 of
//   them random); Q23K_SEED=S moves the random part to other seeds.
//
// Every comparison is exact, non-finite input included: the kernels reproduce even the NaN that the
// reference build keeps when two meet (assembly/kquants.ts), though llama-quantize rejects such
// rows before quantizing (check_tensors) or after (ggml_validate_row_data on a NaN/inf d or dmin).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Kernels, quantizeRows } from "../../src/kernels.js";
import { oracle } from "../support/oracle.js";
import { Rng } from "../support/random.js";
import { scalar } from "../support/simd.js";
import { goldenChecks } from "./golden-checks.js";
import { importance } from "../support/rows.js";
import { liveDraws } from "./random-sources.js";
import { SRC_BF16, SRC_F16, SRC_F32, allRows, bytesOf, extremeImportance, f32ToF16, halfSource, nanPayloadSource, nonFiniteImportance, toHalf } from "./q6_K.cases.js";
import { IMATRIX_KINDS, QK_K, firstDiff, goldenSets, nanStartSource, rowDigests, sha256, withSpecials, type KType } from "./q23_K.cases.js";

interface GoldenFile {
  made_by: string;
  sets: { name: string; n: number; srcType: number; imatrix: string; nrows: number; sha256: string; rows: [string, string][] }[];
}

// ---- dequantization (dequantize_row_q2_K / _q3_K), to check the layout independently of the goldens ----

const f16 = (b: Uint8Array, o: number) => {
  const h = b[o] | (b[o + 1] << 8);
  const e = (h >> 10) & 0x1f, m = h & 0x3ff, s = h & 0x8000 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
};

/** Value i (0..255) of a block: the sub-block is i >> 4, its 2 bits sit in qs[32·(i >> 7) + (i & 31)]
 *  at bit 2·((i >> 5) & 3). */
function dequantize(t: KType, b: Uint8Array, i: number): number {
  const j = i >> 4;
  if (t.name === "q2_K") {
    const q = (b[16 + 32 * (i >> 7) + (i & 31)] >> (2 * ((i >> 5) & 3))) & 3;
    return f16(b, 80) * (b[j] & 0xf) * q - f16(b, 82) * (b[j] >> 4);
  }
  const q = (b[32 + 32 * (i >> 7) + (i & 31)] >> (2 * ((i >> 5) & 3))) & 3;
  const high = (b[i & 31] >> (i >> 5)) & 1;
  const low = j < 8 ? b[96 + j] & 0xf : b[96 + j - 8] >> 4;
  const sc = (low | (((b[104 + (j % 4)] >> (2 * (j >> 2))) & 3) << 4)) - 32;
  return f16(b, 108) * sc * (q - (high ? 0 : 4));
}

// ---- live differential against the reference library ----

const WIDTHS = [256, 512, 768, 1024, 1536, 2048, 2560, 3072, 4096, 5120, 8192, 11008, 14336];
const ROUNDS = Number(process.env.Q23K_ROUNDS ?? 1);
const SEED = Number(process.env.Q23K_SEED ?? 0);

export function defineSuite(t: KType): void {
  const golden: GoldenFile = JSON.parse(readFileSync(new URL(`../fixtures/golden/kernels-${t.name}.json`, import.meta.url), "utf8"));
  const sets = goldenSets();
  const k = new Kernels();
  const ours = (src: Uint8Array, srcType: number, n: number, imatrix?: Float32Array) => quantizeRows(k, t.id, src, srcType, n, imatrix);
  const oursF32 = (rows: Float32Array, n: number, imatrix?: Float32Array) => ours(bytesOf(rows), SRC_F32, n, imatrix);

  describe(`${t.name} kernel`, () => {
    it(`writes ${t.blockBytes} bytes per 256 values and takes only whole super-blocks`, () => {
      const rows = new Float32Array(3 * 512).map((_, i) => Math.sin(i));
      expect(oursF32(rows, 512).length).toBe(3 * 2 * t.blockBytes);
      expect(oursF32(rows, 512, importance(512)).length).toBe(3 * 2 * t.blockBytes);
      expect(() => oursF32(new Float32Array(2 * 384), 384)).toThrow(RangeError);
    });

    it(`writes an all-zero block for ±0${t.name === "q3_K" ? " and for values below GROUP_MAX_EPS" : ""}, on both paths`, () => {
      const n = QK_K;
      // q3_K's searches (make_q3_quants, make_qx_quants) give up below GROUP_MAX_EPS = 1e-15; q2_K's
      // (make_qkx2_quants, make_qkx3_quants) have no epsilon and quantize 3e-16 like any other value
      for (const fill of t.name === "q3_K" ? [0, -0, 3e-16] : [0, -0]) {
        const x = new Float32Array(n).map((_, i) => (i % 2 ? fill : -fill));
        for (const im of [undefined, importance(n)]) {
          expect(oursF32(x, n, im).every((b) => b === 0), `fill ${fill} imatrix ${im ? "yes" : "no"}`).toBe(true);
        }
      }
      if (t.name === "q2_K") expect(oursF32(new Float32Array(n).map((_, i) => (i % 2 ? 3e-16 : -3e-16)), n).some((b) => b !== 0)).toBe(true);
    });

    it("dequantizes back close to the input (layout and packing, independently of llama.cpp)", () => {
      const rng = new Rng(5);
      const n = 1024;
      const x = new Float32Array(8 * n).map(() => rng.studentT(5) * 0.02);
      for (const im of [undefined, importance(n)]) {
        const q = oursF32(x, n, im);
        let err = 0, pow = 0;
        for (let r = 0; r < 8 * n; r++) {
          const block = q.subarray((r >> 8) * t.blockBytes, ((r >> 8) + 1) * t.blockBytes);
          err += (dequantize(t, block, r & 255) - x[r]) ** 2;
          pow += x[r] ** 2;
        }
        // measured: q2_K ~0.36 (plain) / ~0.37 (imatrix), q3_K ~0.18 / ~0.19 relative RMS error
        expect(Math.sqrt(err / pow)).toBeLessThan(t.name === "q2_K" ? 0.45 : 0.25);
      }
    });

    describe("goldens (llama.cpp's bytes, committed)", () => {
      goldenChecks({ golden, sets, typeId: t.id, builds: { simd: k, scalar }, rowDigests: (b, n) => rowDigests(t, b, n), sha256 });
    });

    describe("sources", () => {
      it("quantizes f16 and bf16 rows exactly as the f32 rows they widen to", () => {
        const rng = new Rng(99);
        const n = 1024;
        const rows = new Float32Array(8 * n).map(() => rng.normal() * 0.05);
        for (const srcType of [SRC_F16, SRC_BF16]) {
          const { src, rows: wide } = halfSource(toHalf(rows, srcType), srcType);
          for (const im of [undefined, importance(n)]) {
            expect(firstDiff(t, ours(src, srcType, n, im), oursF32(wide, n, im), n)).toBeNull();
          }
        }
      });

      it("widens f16 specials (subnormals, ±65504, ±inf, NaN payloads) bit for bit", () => {
        const specials = [0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe01, 0x8000, 0x3c00];
        const n = QK_K;
        const bits = new Uint16Array(specials.length * n);
        specials.forEach((h, r) => { for (let i = 0; i < n; i++) bits[r * n + i] = i % 3 === 0 ? h : f32ToF16(((i % 11) - 5) * 0.01); });
        const { src, rows } = halfSource(bits, SRC_F16);
        for (const im of [undefined, importance(n)]) expect(firstDiff(t, ours(src, SRC_F16, n, im), oursF32(rows, n, im), n)).toBeNull();
      });
    });
  });

  // ---- live differential against the reference library ----

  describe.runIf(oracle)(`${t.name} against llama.cpp, live`, () => {
    const ref = oracle!;
    const theirs = (rows: Float32Array, n: number, im?: Float32Array) => ref.quantize(t.id, rows, n, im);
    let compared = 0;

    it("the committed goldens are llama.cpp's current bytes", () => {
      for (const s of sets) {
        const g = golden.sets.find((x) => x.name === s.name)!;
        expect(sha256(theirs(s.rows, s.n, s.imatrix)), s.name).toBe(g.sha256);
      }
    });

    it("edge, sub-block and non-finite rows at every width, no/ordinary/extreme/zero/non-finite imatrix", () => {
      let rowsChecked = 0;
      for (const n of WIDTHS) {
        const { rows, names } = allRows(n);
        for (const im of [undefined, importance(n), extremeImportance(n), new Float32Array(n), nonFiniteImportance(n)]) {
          expect(firstDiff(t, oursF32(rows, n, im), theirs(rows, n, im), n, names), `n=${n} imatrix=${im ? "yes" : "no"}`).toBeNull();
          rowsChecked += names.length;
        }
      }
      expect(rowsChecked).toBeGreaterThan(3000);
      compared += rowsChecked;
    });

    it(`NaN-payload and NaN-start rows from every source, every imatrix kind, ${2 * ROUNDS} seeds each`, () => {
      const rng = new Rng(23 + SEED);
      for (let seed = 0; seed < 2 * ROUNDS; seed++) {
        for (const srcType of [SRC_F32, SRC_F16, SRC_BF16]) {
          for (const [kind, makeImatrix] of Object.entries(IMATRIX_KINDS)) {
            for (const make of [nanPayloadSource, nanStartSource]) {
              const n = WIDTHS[rng.int(6)];
              const { src, rows, names } = make(n, srcType, 8, rng.u32());
              const im = makeImatrix(n, rng);
              expect(firstDiff(t, ours(src, srcType, n, im), theirs(rows, n, im), n, names), `${make.name} src ${srcType} n=${n} imatrix=${kind}`).toBeNull();
              compared += names.length;
            }
          }
        }
      }
    });

    for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
      it(`random rows from ${label}, every imatrix kind, ${8 * ROUNDS} seeds each`, () => {
        let rowsChecked = 0;
        const draws = liveDraws({ id: t.id, salt: SEED * 7919, srcType, kinds: IMATRIX_KINDS, seeds: 8 * ROUNDS, widths: WIDTHS, budget: 32768, minRows: 2, wide: true, source: withSpecials });
        for (const { n, names, src, rows, imatrix: im, what } of draws) {
          const diff = firstDiff(t, ours(src, srcType, n, im), theirs(rows, n, im), n, names);
          expect(diff, what).toBeNull();
          rowsChecked += names.length;
        }
        expect(rowsChecked).toBeGreaterThan(1000 * ROUNDS);
        compared += rowsChecked;
      });
    }

    it("compared thousands of rows", () => {
      // a guard against the loops above silently shrinking
      expect(compared).toBeGreaterThan(4000 + 3500 * ROUNDS);
      console.log(`${t.name} live differential: ${compared} rows compared with llama.cpp`);
    });
  });
}
