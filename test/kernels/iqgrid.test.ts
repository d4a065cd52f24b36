// The lattice quants iq2_xxs, iq2_xs, iq2_s, iq1_s, iq1_m against llama.cpp:
// - goldens: sha256 of llama.cpp's bytes committed in test/fixtures/golden/kernels-<type>.json
//   (scripts/make-iqgrid-goldens.ts), with "abort" for rows on which llama.cpp stops the process:
//   our kernel must refuse exactly those (KernelAbort) and match every other row;
// - live: the reference library itself (test/support/oracle.ts) on random rows from f32, f16 and
//   bf16 sources with many kinds of imatrix; rows our kernel refuses are checked in child processes
//   (llama.cpp must abort on them too), a few per run since each costs a process.
//   IQGRID_ROUNDS=N scales the random part (N times the seeds), IQGRID_ABORTS=M the aborts checked.
// - the vector paths (default) against the scalar references (set_scalar_kernels(1)): goldens on
//   both, random and tie-heavy rows compared byte for byte.
// Dequantization of the five types is covered by test/kernels/dequant.test.ts.

import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Kernels, KernelAbort, quantizeRows } from "../../src/kernels.js";
import { oracle } from "../support/oracle.js";
import { scalar, simd } from "../support/simd.js";
import { quantizeRowsIsolated } from "../support/oracle-isolated.js";
import { Rng } from "../support/random.js";
import { importance } from "../support/rows.js";
import { bytesOf, nonFiniteImportance } from "./q6_K.cases.js";
import { negativeImportance } from "./k4.cases.js";
import { goldenChecks, quantizeByRow, type KernelGolden } from "./golden-checks.js";
import { IMATRIX_KINDS, liveDraws, randomRows, randomSource } from "./random-sources.js";
import { GRID_TYPES, SRC_BF16, SRC_F16, SRC_F32, firstDiff, goldenSets, rowDigests, sha256, type GridType } from "./iqgrid.cases.js";


const ROUNDS = Number(process.env.IQGRID_ROUNDS ?? 1);
const ABORTS = Number(process.env.IQGRID_ABORTS ?? 1);
const WIDTHS = [256, 512, 768, 1024, 2048, 3072, 4096];

function gridSuite(ty: GridType): void {
  const k = simd;
  const goldenPath = new URL(`../fixtures/golden/kernels-${ty.name}.json`, import.meta.url);
  const ready = k.has(ty.id) && existsSync(goldenPath);
  const perRow = (src: Uint8Array, srcType: number, n: number, imatrix?: Float32Array, kernels: Kernels = k) => quantizeByRow(kernels, ty.id, src, srcType, n, imatrix);

  describe.runIf(ready)(`${ty.name} kernel`, () => {
    const golden: KernelGolden = ready ? JSON.parse(readFileSync(goldenPath, "utf8")) : { made_by: "", type: "", sets: [] };
    const sets = goldenSets(ty);
    const oursF32 = (rows: Float32Array, n: number, imatrix?: Float32Array) => quantizeRows(k, ty.id, bytesOf(rows), SRC_F32, n, imatrix);

    it(`writes ${ty.blockBytes} bytes per 256 values and takes only whole blocks`, () => {
      const rows = new Float32Array(3 * 512).map((_, i) => Math.sin(i));
      expect(oursF32(rows, 512, importance(512)).length).toBe(3 * 2 * ty.blockBytes);
      expect(() => oursF32(new Float32Array(2 * 272), 272, importance(272))).toThrow(RangeError);
    });

    it(ty.needsImatrix ? "refuses to run without an imatrix, as ggml_quantize_chunk asserts" : "runs without an imatrix", () => {
      const rows = new Float32Array(256).map((_, i) => Math.sin(i) * 0.1);
      if (ty.needsImatrix) {
        expect(() => oursF32(rows, 256)).toThrow(KernelAbort);
        expect(() => oursF32(rows, 256)).toThrow(/missing quantization weights/);
      } else expect(oursF32(rows, 256).length).toBe(ty.blockBytes);
    });

    it("quantizes an all-zero row to all-zero bytes (d = 0, every scale 0)", () => {
      expect(Array.from(oursF32(new Float32Array(512), 512, importance(512)))).toEqual(new Array(2 * ty.blockBytes).fill(0));
    });

    // both builds: the fast searches (what runs) and their scalar references (set_scalar_kernels(1))
    describe("goldens (llama.cpp's bytes, committed)", () => {
      goldenChecks({ golden, sets, typeId: ty.id, typeName: ty.name, builds: { simd: k, scalar }, rowDigests: (b, n) => rowDigests(ty, b, n), sha256, aborts: true });
    });
  });

  it.runIf(ready)("the fast searches write the bytes of the scalar reference on random rows of every imatrix kind", () => {
    let rowsChecked = 0;
    Object.entries(IMATRIX_KINDS).forEach(([kind, makeImatrix], kindIndex) => {
      for (const srcType of [SRC_F32, SRC_F16]) {
        const rng = new Rng(((ty.id * 64 + srcType * 16 + kindIndex) * 7919 + 5) >>> 0);
        const n = WIDTHS[rng.int(WIDTHS.length)];
        const nrows = Math.max(2, Math.floor(4096 / n));
        const { rows } = randomRows(rng, n, nrows);
        const src = randomSource(rng, rows, n, srcType);
        const im = makeImatrix(n, rng);
        if (!im && ty.needsImatrix) continue;
        const a = perRow(src.src, srcType, n, im), b = perRow(src.src, srcType, n, im, scalar);
        a.forEach((r, i) => expect(r === "abort" ? r : sha256(r), `${kind} row ${i}`).toBe(b[i] === "abort" ? "abort" : sha256(b[i] as Uint8Array)));
        rowsChecked += nrows;
      }
    });
    expect(rowsChecked).toBeGreaterThan(20);
    // ties everywhere (iq1's sort keeps equal values, -0 and +0 included, in input order)
    const rng = new Rng(ty.id);
    const levels = [-0, 0, 0.01, -0.01, 0.02, -0.02, 0.5];
    const ties = Float32Array.from({ length: 8 * 512 }, () => levels[rng.int(levels.length)]);
    const a = perRow(bytesOf(ties), SRC_F32, 512, importance(512)), b = perRow(bytesOf(ties), SRC_F32, 512, importance(512), scalar);
    a.forEach((r, i) => expect(r === "abort" ? r : sha256(r), `ties row ${i}`).toBe(b[i] === "abort" ? "abort" : sha256(b[i] as Uint8Array)));
  });

  // iq1's vector split search skips C's chain of acceptances to the greatest score of a hit (4 or,
  // iq1_m, 8 splits) when C surely accepts it, and runs C's tests in order otherwise (NaN scores,
  // near ties, no acceptable candidate): rows that take each of those branches, against the scalar
  // search that runs C's chain candidate by candidate.
  if (ty.name.startsWith("iq1")) it.runIf(ready)("the split search's shortcut writes the scalar search's bytes: exact ties, sign-mixed importance, non-finite values", () => {
    const n = 512;
    const rng = new Rng(ty.id * 31 + 7);
    const sets: [string, Float32Array, Float32Array | undefined][] = [];
    // exact ties of the scores: zeros weigh nothing without an imatrix (w = x²) or with a zero one,
    // so moving them between levels leaves the sums unchanged
    const sparse = Float32Array.from({ length: 8 * n }, () => (rng.uniform() < 0.6 ? 0 : rng.studentT(4)));
    sets.push(["sparse, no imatrix", sparse, undefined], ["sparse, zero-heavy imatrix", sparse, new Float32Array(n).map((_, i) => (i % 3 ? 0 : 1 + rng.uniform()))]);
    // few distinct values: many splits with near-equal scores
    const levels = [-0.3, -0.1, 0, 0.1, 0.3];
    const few = Float32Array.from({ length: 8 * n }, () => levels[rng.int(levels.length)] * (1 + 1e-7 * rng.int(3)));
    sets.push(["few values, no imatrix", few, undefined], ["few values, importance", few, importance(n, 5)]);
    // negative weights: Σ w·q² <= 0 for whole blocks of splits, scores of -inf
    const gauss = Float32Array.from({ length: 8 * n }, () => rng.studentT(5) * 0.02);
    for (let seed = 0; seed < 4; seed++) sets.push([`negative importance ${seed}`, gauss, negativeImportance(n, 100 + seed)]);
    // NaN and inf in the values and in the imatrix: NaN scores
    const specials = gauss.slice();
    for (let i = 0; i < specials.length; i += 37) specials[i] = [NaN, Infinity, -Infinity, 3e38][rng.int(4)];
    sets.push(["non-finite values", specials, importance(n, 9)], ["non-finite imatrix", gauss, nonFiniteImportance(n, 11)]);
    for (const [what, rows, im] of sets) {
      if (!im && ty.needsImatrix) continue;
      const a = perRow(bytesOf(rows), SRC_F32, n, im), b = perRow(bytesOf(rows), SRC_F32, n, im, scalar);
      a.forEach((r, i) => expect(r === "abort" ? r : sha256(r), `${what} row ${i}`).toBe(b[i] === "abort" ? "abort" : sha256(b[i] as Uint8Array)));
    }
  });

  describe.runIf(ready && oracle)(`${ty.name} against llama.cpp, live`, () => {
    const ref = oracle!;
    const golden: KernelGolden = ready ? JSON.parse(readFileSync(goldenPath, "utf8")) : { made_by: "", type: "", sets: [] };

    it("the committed goldens are llama.cpp's current bytes (rows that do not abort)", () => {
      for (const s of goldenSets(ty)) {
        const g = golden.sets.find((x) => x.name === s.name)!;
        const keep = g.rows.flatMap(([, d], i) => (d === "abort" ? [] : [i]));
        if (!keep.length) continue; // ggml_quantize_chunk asserts an imatrix even for no rows
        const rows = new Float32Array(keep.length * s.n);
        keep.forEach((r, i) => rows.set(s.rows.subarray(r * s.n, (r + 1) * s.n), i * s.n));
        expect(sha256(ref.quantize(ty.id, rows, s.n, s.imatrix)), s.name).toBe(g.sha256);
      }
    });

    const refused: { rows: Float32Array; n: number; imatrix?: Float32Array; what: string }[] = [];
    for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
      it(`random rows from ${label}, every imatrix kind, ${2 * ROUNDS} seeds each`, () => {
        let rowsChecked = 0;
        for (const { n, names, src, rows, imatrix: im, what } of liveDraws({ id: ty.id, srcType, kinds: IMATRIX_KINDS, seeds: 2 * ROUNDS, widths: WIDTHS, budget: 12288, minRows: 6 })) {
          if (!im && ty.needsImatrix) continue;
          const mine = perRow(src, srcType, n, im);
          const keep = mine.flatMap((m, i) => (m === "abort" ? [] : [i]));
          mine.forEach((m, i) => { if (m === "abort") refused.push({ rows: rows.slice(i * n, (i + 1) * n), n, imatrix: im, what: `${what} row ${i} (${names[i]})` }); });
          if (!keep.length) continue;
          const rowsKept = new Float32Array(keep.length * n);
          keep.forEach((r, i) => rowsKept.set(rows.subarray(r * n, (r + 1) * n), i * n));
          const ours = Buffer.concat(keep.map((i) => mine[i] as Uint8Array));
          const diff = firstDiff(ty, ours, ref.quantize(ty.id, rowsKept, n, im), n, keep.map((i) => names[i]));
          expect(diff, what).toBeNull();
          rowsChecked += keep.length;
        }
        expect(rowsChecked).toBeGreaterThan(150 * ROUNDS);
      });
    }

    it(`llama.cpp aborts on the rows we refuse (${ABORTS} of them, each in a child process)`, () => {
      // spread the picks over the refused rows (they cluster by imatrix kind)
      const picks = refused.filter((_, i) => i % Math.max(1, Math.floor(refused.length / ABORTS)) === 0).slice(0, ABORTS);
      for (const p of picks) expect(quantizeRowsIsolated(ty.id, p.rows, p.n, p.imatrix).rows[0], p.what).toBeUndefined();
    }, 120_000);
  });
}

for (const ty of GRID_TYPES) gridSuite(ty);
