// The SIMD kernels of assembly/legacy_simd.ts, float.ts and the driver's f16/bf16 widening against
// their scalar references (set_scalar_kernels(1)), byte for byte: q4_0 q4_1 q5_0 q5_1 q8_0 (plain
// and imatrix), f16 and bf16, from f32, f16 and bf16 sources, over every width class a group of
// four blocks can leave as a tail (1-3 padded blocks) and over rows built to sit on each guard of
// the vector paths (±amax ties, ±0 min/max, subnormal d, overflowing max-min, NaN/inf anywhere).
// No native library needed: the scalar kernels are tested against llama.cpp in legacy.test.ts and
// float.test.ts (which now run the SIMD kernels too).

import { describe, expect, it } from "vitest";
import { Kernels, quantizeRows } from "../../src/kernels.js";
import { typeByName } from "../../src/types.js";
import { randomImportance, randomRows, randomBitRows, specialValueRows } from "../support/rows.js";
import { Rng } from "../support/random.js";
import { bytesOf } from "../support/floats.js";
import { SRC, type SrcName } from "../support/golden.js";
import { firstDiff } from "../support/compare.js";
import { diff, hostileImportance, rowSets, scalar, simd } from "../support/simd.js";

const QUANTS = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0"].map((name) => typeByName(name)!);
const FLOATS = ["f16", "bf16", "f32"].map((name) => typeByName(name)!);
/** widths: 1..3 padded blocks after 0, 1 or more full groups of four */
const WIDTHS = [32, 64, 96, 128, 160, 192, 224, 256, 288, 576, 4096];

describe("legacy SIMD kernels equal the scalar ones", () => {
  for (const ty of QUANTS) {
    describe(ty.name, () => {
      it.each(["f32", "f16", "bf16"] as SrcName[])("plain, %s source, every width class and guard", (src) => {
        let compared = 0;
        for (const n of WIDTHS) {
          for (const [name, rows] of rowSets(n, n + 1)) {
            expect(diff(ty, rows, n, src), `${name}, n=${n}`).toBeUndefined();
            compared += rows.length / n;
          }
        }
        expect(compared).toBeGreaterThan(500);
      });

      it.each(["f32", "f16", "bf16"] as SrcName[])("imatrix, %s source", (src) => {
        for (const n of WIDTHS) {
          for (const [name, rows] of rowSets(n, 3 * n + 5)) {
            // row sets are small for the slow scalar searches: cut to at most 64k values
            const cut = rows.subarray(0, Math.max(n, Math.min(rows.length, 65536 - (65536 % n))));
            for (const [iname, im] of [["random", randomImportance(n, n)], ["hostile", hostileImportance(n, n + 7)]] as const) {
              expect(diff(ty, cut, n, src, im), `${name}, ${iname} imatrix, n=${n}`).toBeUndefined();
            }
          }
        }
      });

      it("imatrix: tight clusters with far outliers under zero importance (the searches' fits run away)", () => {
        // make_qkx3_quants can accept a min above every x (all x negative): iscale turns negative and
        // the outlier's (x - min)*iscale leaves nearest_int's exact range; this is where that happens
        const n = 128;
        for (let seed = 1; seed <= 4; seed++) {
          const rng = new Rng(seed);
          const w = new Float32Array(n);
          for (let i = 0; i < n; i++) w[i] = rng.uniform() < 0.1 ? 0 : Math.pow(10, rng.uniform() * 8 - 4);
          const count = 400;
          const rows = new Float32Array(n * count);
          for (let r = 0; r < count; r++) for (let b = 0; b < n; b += 32) {
            const a = rng.normal(), s = Math.pow(10, -rng.uniform() * 8);
            for (let i = 0; i < 32; i++) rows[r * n + b + i] = a + rng.normal() * s;
            for (let i = 0; i < 32; i++) if (w[b + i] === 0 && rng.uniform() < 0.5) rows[r * n + b + i] = a - Math.pow(10, rng.uniform() * 6) * s;
          }
          expect(diff(ty, rows, n, "f32", w), `seed ${seed}`).toBeUndefined();
        }
      });

      it("one row, two rows, three rows (the driver's row loop)", () => {
        for (const count of [1, 2, 3, 5]) {
          const { rows } = randomRows(96, count, count);
          expect(diff(ty, rows, 96, "f32")).toBeUndefined();
          expect(diff(ty, rows, 96, "bf16", randomImportance(96, count))).toBeUndefined();
        }
      });
    });
  }

  it("the vector paths carry the load (a guard that falls back everywhere would hide them)", () => {
    // heavy-tailed rows: the scalar fallback is reached only by ±amax ties, so the SIMD build must be
    // several times faster than the scalar one on them
    const n = 4096;
    const { rows } = randomRows(n, 1, 1);
    const heavy = new Float32Array(n * 32);
    const rng = new Rng(5);
    for (let i = 0; i < heavy.length; i++) heavy[i] = rng.studentT(5) * 0.02;
    const bytes = bytesOf(heavy);
    const time = (k: Kernels, t: number) => {
      let best = Infinity;
      for (let r = 0; r < 5; r++) { const t0 = performance.now(); quantizeRows(k, t, bytes, SRC.f32, n); best = Math.min(best, performance.now() - t0); }
      return best;
    };
    for (const ty of QUANTS) expect(time(scalar, ty.id) / time(simd, ty.id), ty.name).toBeGreaterThan(1.5);
    expect(rows.length).toBe(n);
  });
});

describe("f16/bf16 SIMD conversions equal the scalar ones", () => {
  it.each(FLOATS.map((t) => [t.name, t] as const))("f32 -> %s over special values, random bits and every width tail", (_, ty) => {
    for (const n of [1, 3, 7, 8, 9, 15, 16, 17, 33, 64, 100, 4096]) {
      const sets = [specialValueRows(n, 3), randomBitRows(n, 4, n), randomRows(32 * Math.ceil(n / 32), 2, n).rows.subarray(0, 2 * n)];
      for (const rows of sets) for (const src of ["f32", "f16", "bf16"] as SrcName[]) {
        expect(diff(ty, rows, n, src), `n=${n}, ${src}`).toBeUndefined();
      }
    }
  });

  it("f16 and bf16 sources: all 65536 patterns widen the same (through the f32 target)", () => {
    const h = Uint16Array.from({ length: 65536 + 5 }, (_, i) => i & 0xffff);
    for (const src of [SRC.f16, SRC.bf16]) {
      for (const n of [65541, 8, 13]) {
        const bytes = bytesOf(h.subarray(0, n * Math.floor(h.length / n)));
        const a = quantizeRows(simd, 0, bytes, src, n);
        const b = quantizeRows(scalar, 0, bytes, src, n);
        expect(firstDiff(a, b, n * 4), `src ${src}, n=${n}`).toBeUndefined();
      }
    }
  });
});
