// The SIMD kernels of assembly/legacy_simd.ts, float.ts and the driver's f16/bf16 widening against
// their scalar references (set_scalar_kernels(1)), byte for byte: q4_0 q4_1 q5_0 q5_1 q8_0 (plain
// and imatrix), f16 and bf16, from f32, f16 and bf16 sources, over every width class a group of
// four blocks can leave as a tail (1-3 padded blocks) and over rows built to sit on each guard of
// the vector paths (±amax ties, ±0 min/max, subnormal d, overflowing max-min, NaN/inf anywhere).
// No native library needed: the scalar kernels are tested against llama.cpp in legacy.test.ts and
// float.test.ts (which now run the SIMD kernels too).

import { describe, expect, it } from "vitest";
import { Kernels, quantizeRows } from "../../src/kernels.js";
import { rowBytes, typeByName, type GgmlType } from "../../src/types.js";
import {
  edgeRows, importance, moreNonFiniteRows, nonFiniteRows, nonFiniteRowsMore, randomBitRows, randomImportance, randomRows,
  specialValueRows, subBlockRows,
} from "../support/rows.js";
import { Rng } from "../support/random.js";
import { bytesOf, toBf16, toF16 } from "../support/floats.js";
import { SRC, type SrcName } from "../support/golden.js";
import { firstDiff } from "../support/compare.js";

const simd = new Kernels();
const scalar = new Kernels();
(scalar as unknown as { exports: { set_scalar_kernels(on: number): void } }).exports.set_scalar_kernels(1);

const QUANTS = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0"].map((name) => typeByName(name)!);
const FLOATS = ["f16", "bf16", "f32"].map((name) => typeByName(name)!);
/** widths: 1..3 padded blocks after 0, 1 or more full groups of four */
const WIDTHS = [32, 64, 96, 128, 160, 192, 224, 256, 288, 576, 4096];

function source(rows: Float32Array, src: SrcName): Uint8Array {
  return src === "f16" ? bytesOf(toF16(rows)) : src === "bf16" ? bytesOf(toBf16(rows)) : bytesOf(rows);
}

/** Undefined when the SIMD and scalar kernels write the same bytes. */
function diff(ty: GgmlType, rows: Float32Array, n: number, src: SrcName, imatrix?: Float32Array, names?: readonly string[]): string | undefined {
  const bytes = source(rows, src);
  const a = quantizeRows(simd, ty.id, bytes, SRC[src], n, imatrix);
  const b = quantizeRows(scalar, ty.id, bytes, SRC[src], n, imatrix);
  return firstDiff(a, b, rowBytes(ty.id, n), names, ty.typeSize);
}

/**
 * Rows whose 32-wide blocks each sit on one guard of the vector kernels, in random order so that a
 * group of four mixes blocks that stay on the vector path with blocks that fall back.
 */
function guardRows(n: number, count: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const rows = new Float32Array(n * count);
  const bits = new Uint32Array(rows.buffer);
  const sgnzero = () => (rng.uniform() < 0.5 ? 0 : -0);
  const modes: ((x: Float32Array, o: number) => void)[] = [
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = rng.normal() * 0.02; }, // ordinary
    (x, o) => { // +a and -a both largest, either first
      for (let i = 0; i < 32; i++) x[o + i] = rng.normal() * 0.02;
      const a = 0.1 + rng.uniform();
      const i = rng.int(32); let j = rng.int(32); if (j === i) j = (i + 1) % 32;
      x[o + i] = a; x[o + j] = -a;
    },
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = rng.uniform() < 0.3 ? sgnzero() : rng.uniform() * 0.05; }, // min ±0
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = rng.uniform() < 0.3 ? sgnzero() : -rng.uniform() * 0.05; }, // max ±0
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = sgnzero(); }, // all ±0
    (x, o) => { const v = rng.normal(); for (let i = 0; i < 32; i++) x[o + i] = v; }, // constant: d = 0
    (x, o) => { const s = Math.pow(10, -39 + 4 * rng.uniform()); for (let i = 0; i < 32; i++) x[o + i] = rng.normal() * s; }, // d subnormal, 1/d inf
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = (rng.uniform() < 0.5 ? -1 : 1) * 3.4e38 * rng.uniform(); }, // max - min overflows
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = (rng.int(33) - 16) * 0.25; }, // exact half steps: rounding ties
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = ((i % 17) - 8) / 8; }, // ladder with a ±amax tie
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = rng.normal() * 1e5; }, // fp16 d overflows
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = rng.normal() * 1e-20; },
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = rng.normal() * 1e20; }, // x^2 overflows: sigma2 inf
    (x, o) => { // one non-finite value, any kind
      for (let i = 0; i < 32; i++) x[o + i] = rng.normal() * 0.02;
      const k = rng.int(4), at = o + rng.int(32);
      if (k === 0) x[at] = Infinity; else if (k === 1) x[at] = -Infinity; else if (k === 2) x[at] = NaN;
      else bits[(x.byteOffset >> 2) + at] = (rng.u32() & 0x807fffff) | 0x7f800001;
    },
    (x, o) => { for (let i = 0; i < 32; i++) x[o + i] = i % 2 ? rng.uniform() * 1e-38 : -rng.uniform() * 1e-38; }, // subnormal values
    // d = 1 exactly for one type each (q8_0: amax 127; q4_0: max -8; q5_0: max -16; q4_1: [-1, 14];
    // q5_1: [-1, 30]), other values on half-integers and their float neighbours: every rounding tie
    (x, o) => unitScale(x, o, 127, -127, 127),
    (x, o) => unitScale(x, o, -8, -7.5, 7.5),
    (x, o) => unitScale(x, o, -16, -15.5, 15.5),
    (x, o) => unitScale(x, o, 14, -1, 14),
    (x, o) => unitScale(x, o, 30, -1, 30),
  ];
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const nudge = (v: number, k: number) => { f32[0] = v; if (v !== 0) u32[0] += k; return f32[0]; };
  function unitScale(x: Float32Array, o: number, pin: number, lo: number, hi: number): void {
    for (let i = 0; i < 32; i++) {
      const v = Math.max(lo, Math.min(hi, Math.floor(lo + rng.uniform() * (hi - lo + 1)) + 0.5 * rng.int(2)));
      x[o + i] = nudge(v, rng.int(5) - 2); // -2..2 ulps away
    }
    x[o + rng.int(32)] = lo; x[o + rng.int(32)] = hi;
    x[o + rng.int(32)] = 0.49999997; x[o + rng.int(32)] = -0.49999997;
    x[o + rng.int(32)] = pin;
  }
  for (let r = 0; r < count; r++) {
    const x = rows.subarray(r * n, (r + 1) * n);
    for (let o = 0; o < n; o += 32) modes[rng.int(modes.length)](x, o);
  }
  return rows;
}

/** Importance vectors that push the weights off the vector path too: zeros, huge, tiny, negative,
 *  inf and NaN entries. */
function hostileImportance(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const w = importance(n, seed);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    if (u < 0.01) w[i] = Infinity; else if (u < 0.02) w[i] = NaN; else if (u < 0.05) w[i] = -w[i];
    else if (u < 0.08) w[i] = 1e30; else if (u < 0.1) w[i] = 1e-30; else if (u < 0.15) w[i] = 0;
  }
  return w;
}

/** All the row sets for one width, with names for the failure message. */
function rowSets(n: number, seed: number): [string, Float32Array][] {
  const sets: [string, Float32Array][] = [
    ["edge", edgeRows(n, seed, 4).rows],
    ["random", randomRows(n, Math.max(4, Math.floor(8192 / n)), seed).rows],
    ["guard", guardRows(n, Math.max(8, Math.floor(16384 / n)), seed)],
    ["nonfinite", nonFiniteRows(n)],
    ["nonfinite2", nonFiniteRowsMore(n).rows],
    ["specials", specialValueRows(n, 2)],
    ["bits", randomBitRows(n, 2, seed)],
    ["subblock", subBlockRows(n, seed).rows],
  ];
  if (n >= 64) sets.push(["nonfinite3", moreNonFiniteRows(n, seed)]);
  return sets;
}

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
