// The SIMD K-quant kernels (assembly/kquants_simd.ts, search_simd.ts: q2_K, q3_K, q4_K, q5_K, q6_K) and
// iq4_nl / iq4_xs (iquants_simd.ts, the same lane-per-sub-block scheme) against their scalar references
// (set_scalar_kernels(1)), byte for byte, plain and imatrix, from f32, f16 and bf16 sources, over
// rows built to sit on each guard of the vector paths (NaN/inf anywhere, overflowing x², subnormal
// and overflowing scales, constant and ±0 sub-blocks, ties) mixed inside one super-block, so that a
// group of four sub-blocks holds lanes that stay on the vector path next to lanes handed back.
// No native library needed: the goldens of each type's suite (k4.suite.ts, q23_K.suite.ts, q6_K.test.ts,
// iq4.test.ts) run both builds
// against llama.cpp's bytes, and the live suites run the SIMD build against llama.cpp itself.

import { describe, expect, it } from "vitest";
import { quantizeRows } from "../../src/kernels.js";
import { typeByName } from "../../src/types.js";
import { randomImportance, randomRows } from "../support/rows.js";
import { Rng } from "../support/random.js";
import { bytesOf } from "../support/floats.js";
import { SRC, type SrcName } from "../support/golden.js";
import { diff, hostileImportance, rowSets, scalar, simd } from "../support/simd.js";

const TYPES = ["q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs"].map((name) => typeByName(name)!);
/** whole super-blocks; iq4_nl (blocks of 32, four to a group) also every tail of 1-3 padded blocks */
const widths = (blockSize: number) => (blockSize === 32 ? [32, 64, 96, 160, 224, 256, 288, 1280, 4096] : [256, 512, 768, 1280, 4096]);

/** At most ~64k values of a row set (the scalar searches are slow). */
const cut = (rows: Float32Array, n: number) => rows.subarray(0, Math.max(n, Math.min(rows.length, 65536 - (65536 % n))));

describe("K-quant SIMD kernels equal the scalar ones", () => {
  for (const ty of TYPES) {
    describe(ty.name, () => {
      it.each(["f32", "f16", "bf16"] as SrcName[])("plain, %s source, every guard", (src) => {
        let compared = 0;
        for (const n of widths(ty.blockSize)) {
          for (const [name, rows] of rowSets(n, n + 1)) {
            expect(diff(ty, cut(rows, n), n, src), `${name}, n=${n}`).toBeUndefined();
            compared += cut(rows, n).length / n;
          }
        }
        expect(compared).toBeGreaterThan(200);
      });

      it.each(["f32", "f16", "bf16"] as SrcName[])("imatrix, %s source", (src) => {
        for (const n of widths(ty.blockSize)) {
          for (const [name, rows] of rowSets(n, 3 * n + 5)) {
            for (const [iname, im] of [["random", randomImportance(n, n)], ["hostile", hostileImportance(n, n + 7)]] as const) {
              expect(diff(ty, cut(rows, n), n, src, im), `${name}, ${iname} imatrix, n=${n}`).toBeUndefined();
            }
          }
        }
      });

      it("imatrix: tight clusters with far outliers under zero importance (the searches' fits run away)", () => {
        // make_qkx3_quants can accept a min above every x (all x negative): iscale turns negative and
        // an outlier's (x - min)*iscale leaves nearest_int's exact range
        const n = 256;
        for (let seed = 1; seed <= 3; seed++) {
          const rng = new Rng(seed);
          const w = new Float32Array(n);
          for (let i = 0; i < n; i++) w[i] = rng.uniform() < 0.1 ? 0 : Math.pow(10, rng.uniform() * 8 - 4);
          const count = 100;
          const rows = new Float32Array(n * count);
          for (let r = 0; r < count; r++) for (let b = 0; b < n; b += 16) {
            const a = rng.normal(), s = Math.pow(10, -rng.uniform() * 8);
            for (let i = 0; i < 16; i++) rows[r * n + b + i] = a + rng.normal() * s;
            for (let i = 0; i < 16; i++) if (w[b + i] === 0 && rng.uniform() < 0.5) rows[r * n + b + i] = a - Math.pow(10, rng.uniform() * 6) * s;
          }
          expect(diff(ty, rows, n, "f32", w), `seed ${seed}`).toBeUndefined();
          expect(diff(ty, rows, n, "f32"), `seed ${seed}, plain`).toBeUndefined();
        }
      });

      it("one row, two rows, three rows (the driver's row loop)", () => {
        for (const count of [1, 2, 3]) {
          const { rows } = randomRows(512, count, count);
          expect(diff(ty, rows, 512, "f32")).toBeUndefined();
          expect(diff(ty, rows, 512, "bf16", randomImportance(512, count))).toBeUndefined();
        }
      });
    });
  }

  it("the vector paths carry the load (a guard that falls back everywhere would hide them)", () => {
    const n = 4096;
    const rng = new Rng(5);
    const heavy = new Float32Array(n * 8);
    for (let i = 0; i < heavy.length; i++) heavy[i] = rng.studentT(5) * 0.02;
    const bytes = bytesOf(heavy);
    const im = randomImportance(n, 3);
    const time = (k: typeof simd, t: number, imatrix?: Float32Array) => {
      let best = Infinity;
      for (let r = 0; r < 3; r++) { const t0 = performance.now(); quantizeRows(k, t, bytes, SRC.f32, n, imatrix); best = Math.min(best, performance.now() - t0); }
      return best;
    };
    // measured 2.5x (q3_K plain) to 12x: 1.5x leaves room for a loaded machine
    for (const ty of TYPES) {
      expect(time(scalar, ty.id) / time(simd, ty.id), ty.name).toBeGreaterThan(1.5);
      expect(time(scalar, ty.id, im) / time(simd, ty.id, im), `${ty.name} imatrix`).toBeGreaterThan(1.5);
    }
  });
});
