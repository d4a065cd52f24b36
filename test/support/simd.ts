// Shared by the SIMD-vs-scalar kernel tests (test/kernels/simd-*.test.ts): two kernel instances, one
// running the SIMD kernels and one their scalar references (set_scalar_kernels(1)), a byte diff of
// the two, and row sets built to sit on the vector paths' guards.

import { Kernels, quantizeRows } from "../../src/kernels.js";
import { rowBytes, type GgmlType } from "../../src/types.js";
import {
  edgeRows, importance, moreNonFiniteRows, nonFiniteRows, nonFiniteRowsMore, randomBitRows, randomRows,
  specialValueRows, subBlockRows,
} from "./rows.js";
import { Rng } from "./random.js";
import { bytesOf, toBf16, toF16 } from "./floats.js";
import { SRC, type SrcName } from "./golden.js";
import { firstDiff } from "./compare.js";

export const simd = new Kernels();
export const scalar = new Kernels();
(scalar as unknown as { exports: { set_scalar_kernels(on: number): void } }).exports.set_scalar_kernels(1);

export function source(rows: Float32Array, src: SrcName): Uint8Array {
  return src === "f16" ? bytesOf(toF16(rows)) : src === "bf16" ? bytesOf(toBf16(rows)) : bytesOf(rows);
}

/** Undefined when the SIMD and scalar kernels write the same bytes. */
export function diff(ty: GgmlType, rows: Float32Array, n: number, src: SrcName, imatrix?: Float32Array, names?: readonly string[]): string | undefined {
  const bytes = source(rows, src);
  const a = quantizeRows(simd, ty.id, bytes, SRC[src], n, imatrix);
  const b = quantizeRows(scalar, ty.id, bytes, SRC[src], n, imatrix);
  return firstDiff(a, b, rowBytes(ty.id, n), names, ty.typeSize);
}

/**
 * Rows whose 32-wide blocks each sit on one guard of the vector kernels, in random order so that a
 * group of four mixes blocks that stay on the vector path with blocks that fall back.
 */
export function guardRows(n: number, count: number, seed: number): Float32Array {
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
export function hostileImportance(n: number, seed: number): Float32Array {
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
export function rowSets(n: number, seed: number): [string, Float32Array][] {
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

