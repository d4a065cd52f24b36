// The SIMD kernels of assembly/small_simd.ts (tq1_0 tq2_0 mxfp4 nvfp4 q2_0) against their scalar
// references (set_scalar_kernels(1)), byte for byte, from f32, f16 and bf16 sources, over the row
// sets built for the vector guards (NaN/inf anywhere, subnormal amax with 1/d = inf, ±0, ties),
// the tie rows and the probes next to every power of two. The goldens of small.test.ts run both
// builds against llama.cpp's bytes.

import { describe, expect, it } from "vitest";
import { quantizeRows } from "../../src/kernels.js";
import { typeByName } from "../../src/types.js";
import { Rng } from "../support/random.js";
import { bytesOf } from "../support/floats.js";
import { SRC, type SrcName } from "../support/golden.js";
import { EXTRA_CASES, nearPowersOfTwo, probeRows } from "../support/small-rows.js";
import { diff, rowSets, scalar, simd } from "../support/simd.js";

const TYPES = ["tq1_0", "tq2_0", "mxfp4", "nvfp4", "q2_0"].map((name) => typeByName(name)!);
const WIDTHS = [256, 512, 1280, 4096];

describe("small SIMD kernels equal the scalar ones", () => {
  for (const ty of TYPES) {
    describe(ty.name, () => {
      it.each(["f32", "f16", "bf16"] as SrcName[])("%s source, every guard", (src) => {
        let compared = 0;
        for (const n of WIDTHS) {
          for (const [name, rows] of rowSets(n, n + 3)) {
            expect(diff(ty, rows, n, src), `${name}, n=${n}`).toBeUndefined();
            compared += rows.length / n;
          }
        }
        expect(compared).toBeGreaterThan(100);
      });

      it("ties and power-of-two probes", () => {
        for (const c of Object.keys(EXTRA_CASES)) {
          const { rows, n } = EXTRA_CASES[c](ty.name);
          expect(diff(ty, rows, n, "f32"), c).toBeUndefined();
        }
        const values = nearPowersOfTwo(64);
        for (const sign of [1, -1]) expect(diff(ty, probeRows(values, 256, 3).map((v) => sign * v), 256, "f32")).toBeUndefined();
      });

      it("amax whose mantissa sits at mxfp4's fast floor(log2) bound (0x7F0000) or near 2^k", () => {
        const n = 256, rows = new Float32Array(n * 64), bits = new Uint32Array(rows.buffer), rng = new Rng(11);
        for (let r = 0; r < 64; r++) for (let o = 0; o < n; o += 32) {
          for (let i = 0; i < 32; i++) rows[r * n + o + i] = rng.normal() * 0.01;
          const m = [0x7effff, 0x7f0000, 0x7f0001, 0x7fffff, 0, 1][rng.int(6)];
          bits[r * n + o + rng.int(32)] = ((rng.int(254) + 1) << 23) | m | (rng.int(2) << 31);
        }
        expect(diff(ty, rows, n, "f32")).toBeUndefined();
      });

      it("one NaN in an otherwise ordinary block, anywhere (tq*: the block goes back to the scalar code)", () => {
        const n = 256, rng = new Rng(9);
        const rows = new Float32Array(n * 64);
        for (let r = 0; r < 64; r++) {
          for (let i = 0; i < n; i++) rows[r * n + i] = rng.normal() * 10 ** (rng.int(9) - 4);
          rows[r * n + rng.int(n)] = NaN;
          if (r % 2) rows[r * n + rng.int(n)] = (rng.uniform() < 0.5 ? -1 : 1) * Infinity;
        }
        expect(diff(ty, rows, n, "f32")).toBeUndefined();
      });
    });
  }

  it("the vector paths carry the load", () => {
    const n = 4096, rng = new Rng(5);
    const heavy = new Float32Array(n * 16);
    for (let i = 0; i < heavy.length; i++) heavy[i] = rng.studentT(5) * 0.02;
    const bytes = bytesOf(heavy);
    const time = (k: typeof simd, t: number) => {
      let best = Infinity;
      for (let r = 0; r < 5; r++) { const t0 = performance.now(); quantizeRows(k, t, bytes, SRC.f32, n); best = Math.min(best, performance.now() - t0); }
      return best;
    };
    for (const ty of TYPES) expect(time(scalar, ty.id) / time(simd, ty.id), ty.name).toBeGreaterThan(1.5);
  });
});
