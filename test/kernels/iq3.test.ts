// iq3_xxs and iq3_s (quantize_iq3_xxs / quantize_iq3_s, with or without an imatrix) against llama.cpp:
// - goldens: sha256 of llama.cpp's bytes committed in test/fixtures/golden/kernels-iq3_{xxs,s}.json
//   (scripts/make-iq3-goldens.ts), with the rows on which llama.cpp aborts the process marked
//   "abort": our kernel must refuse exactly those rows (KernelAbort) and match every other byte;
// - live: the reference library itself (test/support/oracle.ts) on the golden rows, on thousands of
//   random rows from f32, f16 and bf16 sources with several kinds of imatrix (rows our kernel
//   refuses are left out of the oracle's call, which would abort this process), and in child
//   processes on a sample of the refused rows, which must die on a GGML_ASSERT.
//   IQ3_ROUNDS=N scales the random part (N times the seeds).
// The kernels run a vector search by default (assembly/iq3.ts); its scalar reference must write the
// same bytes (checked here without llama.cpp; the goldens check the vector path).
// Dequantization of both types is covered by test/kernels/dequant.test.ts.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KernelAbort, Kernels, quantizeRows } from "../../src/kernels.js";
import { oracle } from "../support/oracle.js";
import { quantizeRowsIsolated } from "../support/oracle-isolated.js";
import { Rng } from "../support/random.js";
import { importance } from "../support/rows.js";
import { bytesOf } from "./q6_K.cases.js";
import { goldenChecks, keptBytes, quantizeByRow, type KernelGolden } from "./golden-checks.js";
import { IMATRIX_KINDS, liveDraws, randomRows, randomSource } from "./random-sources.js";
import { IQ3_TYPES, SRC_BF16, SRC_F16, SRC_F32, firstDiff, goldenSets, rowDigests, sha256, type Iq3Type } from "./iq3.cases.js";


const ROUNDS = Number(process.env.IQ3_ROUNDS ?? 1);
const WIDTHS = [256, 512, 768, 1024, 1536, 2048, 3072, 4096, 5120];

/** The rows (f32, n each) at the given indices. */
const pick = (rows: Float32Array, n: number, idx: number[]) => {
  const out = new Float32Array(idx.length * n);
  idx.forEach((r, i) => out.set(rows.subarray(r * n, (r + 1) * n), i * n));
  return out;
};

/**
 * A row on which llama.cpp aborts because of neighbour searches that the vector search runs one
 * trial at a time: the group of huge values 0..3 (every neighbour distance overflows to inf) has a
 * level word off the grid only in the trials where the word changes, and no 4 consecutive trials
 * of a batch share such a word (so the batch search, one lane per trial, never sees it). The
 * values were found by searching for rows that a build without that path's abort accepts.
 */
function perTrialAbortRow(ty: Iq3Type): Float32Array {
  const row = new Float32Array(256).map((_, i) => 0.01 * Math.sin(0.7 * i));
  row.set(ty.name === "iq3_xxs" ? [1e18, 0.45e18, 0.325e18] : [1e18, 0.6e18, 0]);
  return row;
}

function iq3Suite(ty: Iq3Type): void {
  const golden: KernelGolden = JSON.parse(readFileSync(new URL(`../fixtures/golden/kernels-${ty.name}.json`, import.meta.url), "utf8"));
  const sets = goldenSets(ty);
  const k = new Kernels();
  const scalar = new Kernels();
  (scalar as unknown as { exports: { set_scalar_kernels(on: number): void } }).exports.set_scalar_kernels(1);
  const oursF32 = (rows: Float32Array, n: number, imatrix?: Float32Array) => quantizeRows(k, ty.id, bytesOf(rows), SRC_F32, n, imatrix);

  describe(`${ty.name} kernel`, () => {
    it(`writes ${ty.blockBytes} bytes per 256 values and takes only whole blocks`, () => {
      const rows = new Float32Array(3 * 512).map((_, i) => Math.sin(i));
      expect(oursF32(rows, 512).length).toBe(3 * 2 * ty.blockBytes);
      expect(oursF32(rows, 512, importance(512)).length).toBe(3 * 2 * ty.blockBytes);
      expect(() => oursF32(new Float32Array(2 * 272), 272)).toThrow(RangeError);
    });

    it("quantizes an all-zero block to all-zero bytes (d = 0)", () => {
      expect(Array.from(oursF32(new Float32Array(256), 256))).toEqual(new Array(ty.blockBytes).fill(0));
    });

    it("refuses the row on which llama.cpp aborts, naming it", () => {
      const rows = new Float32Array(3 * 256).map((_, i) => Math.cos(i) * 0.1);
      rows.fill(3e19, 256 + 40, 256 + 41); // its square overflows: every neighbour distance is inf
      rows[256 + 41] = 0.5;
      expect(() => oursF32(rows, 256)).toThrow(KernelAbort);
      try { oursF32(rows, 256); } catch (e) { expect((e as KernelAbort).row).toBe(1); }
    });

    it("refuses a row whose only failing neighbour searches run one trial at a time, as the scalar reference does", () => {
      const row = perTrialAbortRow(ty);
      expect(() => oursF32(row, 256)).toThrow(KernelAbort);
      expect(() => quantizeRows(scalar, ty.id, bytesOf(row), SRC_F32, 256)).toThrow(KernelAbort);
    });

    it("ggml_validate_row_data checks only the fp16 d: every value of its high byte, random other bytes", () => {
      const rng = new Rng(ty.id * 31);
      for (let v = 0; v < 256; v++) {
        const block = new Uint8Array(ty.blockBytes).map(() => rng.int(256));
        block[1] = v;
        const r = k.reserve(0, block.length, 0);
        k.bytes(r.src, block.length).set(block);
        const expected = (v & 0x7c) === 0x7c ? 0 : 1; // inf or NaN d
        expect(k.validate(ty.id, r.src, block.length), `d high byte 0x${v.toString(16)}`).toBe(expected);
        if (oracle) expect(oracle.validate(ty.id, block) ? 1 : 0, `llama.cpp, d high byte 0x${v.toString(16)}`).toBe(expected);
      }
    });

    it("the vector search writes the bytes of the scalar reference (set_scalar_kernels), golden and random rows", () => {
      const same = (src: Uint8Array, srcType: number, n: number, imatrix: Float32Array | undefined, what: string) => {
        const a = quantizeByRow(k, ty.id, src, srcType, n, imatrix), b = quantizeByRow(scalar, ty.id, src, srcType, n, imatrix);
        expect(a.map((r) => r === "abort"), what).toEqual(b.map((r) => r === "abort"));
        expect(firstDiff(ty, keptBytes(a), keptBytes(b), n), what).toBeNull();
        return a.length;
      };
      let rows = 0;
      for (const s of sets) rows += same(s.src, s.srcType, s.n, s.imatrix, s.name);
      Object.entries(IMATRIX_KINDS).forEach(([kind, makeImatrix], kindIndex) => {
        const rng = new Rng(ty.id * 7919 + kindIndex);
        const n = WIDTHS[rng.int(WIDTHS.length)];
        const { rows: x } = randomRows(rng, n, Math.max(4, Math.floor(8192 / n)));
        const srcType = [SRC_F32, SRC_F16, SRC_BF16][kindIndex % 3];
        rows += same(randomSource(rng, x, n, srcType).src, srcType, n, makeImatrix(n, rng), `random ${kind}`);
      });
      expect(rows).toBeGreaterThan(700);
    }, 120_000);

    describe("goldens (llama.cpp's bytes, committed)", () => {
      goldenChecks({ golden, sets, typeId: ty.id, typeName: ty.name, builds: { simd: k, scalar }, rowDigests: (b, n) => rowDigests(ty, b, n), sha256, aborts: true });
    });
  });

  describe.runIf(oracle)(`${ty.name} against llama.cpp, live`, () => {
    const ref = oracle!;

    it("the committed goldens are llama.cpp's current bytes (the rows it does not abort on)", () => {
      for (const s of sets) {
        const g = golden.sets.find((x) => x.name === s.name)!;
        const live = g.rows.flatMap(([, d], i) => (d === "abort" ? [] : [i]));
        expect(sha256(ref.quantize(ty.id, pick(s.rows, s.n, live), s.n, s.imatrix)), s.name).toBe(g.sha256);
      }
    });

    it("llama.cpp aborts on the rows marked so (a sample, each in a child process)", () => {
      let checked = 0;
      for (const s of sets.filter((x) => x.srcType === SRC_F32)) {
        const g = golden.sets.find((x) => x.name === s.name)!;
        const idx = g.rows.flatMap(([, d], i) => (d === "abort" ? [i] : [])).slice(0, 2);
        if (!idx.length) continue;
        const res = quantizeRowsIsolated(ty.id, pick(s.rows, s.n, idx), s.n, s.imatrix);
        expect([...res.aborts.keys()], s.name).toEqual(idx.map((_, i) => i));
        for (const why of res.aborts.values()) expect(why).toMatch(/SIGABRT: .*GGML_ASSERT\((grid_index >= 0|scale >= 0)\) failed/);
        checked += idx.length;
        if (checked >= 6) break;
      }
      expect(checked).toBeGreaterThanOrEqual(4);
    }, 60_000);

    it("llama.cpp aborts on the row whose only failing neighbour searches run one trial at a time (child process)", () => {
      const res = quantizeRowsIsolated(ty.id, perTrialAbortRow(ty), 256);
      expect([...res.aborts.keys()]).toEqual([0]);
      expect(res.aborts.get(0)).toMatch(/SIGABRT: .*GGML_ASSERT\(grid_index >= 0\) failed/);
    }, 30_000);

    for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
      it(`random rows from ${label}, every imatrix kind, ${2 * ROUNDS} seeds each`, () => {
        let rowsChecked = 0;
        for (const { n, names, src, rows, imatrix: im, what } of liveDraws({ id: ty.id, srcType, kinds: IMATRIX_KINDS, seeds: 2 * ROUNDS, widths: WIDTHS, budget: 32768, minRows: 8 })) {
          const mine = quantizeByRow(k, ty.id, src, srcType, n, im);
          const live = mine.flatMap((r, i) => (r === "abort" ? [] : [i]));
          const diff = firstDiff(ty, keptBytes(mine), ref.quantize(ty.id, pick(rows, n, live), n, im), n, live.map((i) => names[i]));
          expect(diff, what).toBeNull();
          rowsChecked += live.length;
        }
        expect(rowsChecked).toBeGreaterThan(150 * ROUNDS);
      }, 120_000);
    }
  });
}

for (const ty of IQ3_TYPES) iq3Suite(ty);
