// The iq2 vector trial search (assembly/iq2.ts: trials in lanes, 4 per v128) against its scalar
// reference (set_scalar_kernels(1)) where the two take different roads to an abort: the vector
// search runs a group's neighbour searches once for a batch of 4 trials when they share an off-grid
// word (one lane per trial), else one trial at a time, and either must refuse the row when a search
// finds no neighbour below FLT_MAX (llama.cpp: GGML_ASSERT(grid_index >= 0)). The goldens, the live
// oracle rows and the random and tie-heavy fast-vs-scalar rows are in iqgrid.test.ts.

import { describe, expect, it } from "vitest";
import type { Kernels } from "../../src/kernels.js";
import { quantizeByRow } from "./golden-checks.js";
import { typeByName } from "../../src/types.js";
import { oracle } from "../support/oracle.js";
import { quantizeRowsIsolated } from "../support/oracle-isolated.js";
import { scalar, simd } from "../support/simd.js";
import { Rng } from "../support/random.js";
import { bytesOf } from "./q6_K.cases.js";

const SRC_F32 = 0;

/**
 * A 256-value row of small values whose first group holds huge ones (× 1e18): every neighbour
 * distance of that group overflows to inf, so a trial whose word for it is off the grid aborts.
 * Which trials those are depends on the values; the ones below were found by searching for rows
 * that a build without one path's abort accepts (or crashes on) while the scalar reference refuses
 * them: "per-trial" rows abort only in batches whose trials have different words, "shared" rows only
 * in batches that share the word.
 */
function hugeGroupRow(huge: number[]): Float32Array {
  const row = new Float32Array(256).map((_, i) => 0.01 * Math.sin(0.7 * i));
  row.set(huge.map((v) => v * 1e18));
  return row;
}

const CASES: { type: string; imatrix: boolean; perTrial: number[]; shared: number[] }[] = [
  { type: "iq2_s", imatrix: false, perTrial: [1, 0.575, 0.475], shared: [1, 0.225, 0.5] },
  { type: "iq2_xs", imatrix: true, perTrial: [1, 0.7, 0.5], shared: [1, 0.225, 0.675] },
  { type: "iq2_xxs", imatrix: true, perTrial: [1, 0, 0, 0, 0.575, 0.6, 0, 0], shared: [1, 0.825, 0.45] },
];

const ONES = new Float32Array(256).fill(1);

/** "abort" when the kernel refuses the row, else its bytes. */
const run = (k: Kernels, typeId: number, row: Float32Array, imatrix?: Float32Array) => quantizeByRow(k, typeId, bytesOf(row), SRC_F32, 256, imatrix)[0];

for (const c of CASES) {
  const id = typeByName(c.type)!.id;
  const im = c.imatrix ? ONES : undefined;
  describe(`${c.type} vector trial search`, () => {
    for (const [path, huge] of [["one trial at a time", c.perTrial], ["one search for the 4 trials of a batch", c.shared]] as const) {
      it(`refuses a row whose only failing neighbour searches run ${path}, as the scalar reference does`, () => {
        const row = hugeGroupRow(huge);
        expect(run(scalar, id, row, im)).toBe("abort");
        expect(run(simd, id, row, im)).toBe("abort");
      });

      it.runIf(oracle)(`llama.cpp aborts on that row (${path}; child process)`, () => {
        const res = quantizeRowsIsolated(id, hugeGroupRow(huge), 256, im);
        expect([...res.aborts.keys()]).toEqual([0]);
        expect(res.aborts.get(0)).toMatch(/SIGABRT: .*GGML_ASSERT\(grid_index >= 0\) failed/);
      }, 30_000);
    }

    it("writes the scalar reference's bytes on rows near the abort rows (huge groups that do not abort, and scaled-down ones)", () => {
      const rng = new Rng(id);
      let compared = 0;
      for (let r = 0; r < 200; r++) {
        const huge = [1, ...Array.from({ length: 7 }, () => (rng.uniform() < 0.5 ? 0 : Math.round(rng.uniform() * 40) / 40))];
        const row = hugeGroupRow(huge);
        if (r % 2) for (let i = 0; i < 8; i++) row[i] *= 1e-18 * (1 + rng.uniform());
        const a = run(simd, id, row, im), b = run(scalar, id, row, im);
        expect(a, `row ${r}: ${JSON.stringify(huge)}`).toEqual(b);
        if (a !== "abort") compared++;
      }
      expect(compared).toBeGreaterThan(50);
    });
  });
}
