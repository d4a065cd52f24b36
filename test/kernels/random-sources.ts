// Random rows, importance vectors and f32/f16/bf16 sources for the live differential tests of the
// kernels (the K-quant suites, iq4, iq3, iqgrid): each test draws from these with its own seeds and
// compares our bytes with llama.cpp's.

import { Rng } from "../support/random.js";
import { CASES, SUBBLOCK_CASES, importance } from "../support/rows.js";
import { SPECIALS, SRC_BF16, SRC_F16, SRC_F32, bytesOf, extremeImportance, halfSource, nonFiniteImportance, toHalf } from "./q6_K.cases.js";
import { negativeImportance } from "./k4.cases.js";

const ALL_CASES = { ...CASES, ...SUBBLOCK_CASES };
const ALL_NAMES = Object.keys(ALL_CASES);

/** Random rows: each a random case (edge or sub-block), a third scaled by 10^U(-8, 8); with `wide`,
 *  one in twenty more by 10^U(-40, 35) (subnormal d, overflowing x² and fp16 d). */
export function randomRows(rng: Rng, n: number, nrows: number, wide = false): { rows: Float32Array; names: string[] } {
  const rows = new Float32Array(n * nrows);
  const names: string[] = [];
  for (let r = 0; r < nrows; r++) {
    const name = ALL_NAMES[rng.int(ALL_NAMES.length)];
    const row = rows.subarray(r * n, (r + 1) * n);
    ALL_CASES[name](row, rng);
    const p = rng.uniform();
    const e = p < 0.33 ? -8 + 16 * rng.uniform() : wide && p < 0.38 ? -40 + 75 * rng.uniform() : undefined;
    if (e !== undefined) {
      const s = Math.pow(10, e);
      for (let i = 0; i < n; i++) row[i] *= s;
      names.push(`${name}*1e${e.toFixed(1)}`);
    } else names.push(name);
  }
  return { rows, names };
}

/** Every kind of importance vector the live tests draw (the RNG they get is the test's own). */
const IMATRIX_MAKERS = {
  none: () => undefined,
  importance: (n, rng) => importance(n, rng.u32()),
  uniform: (n, rng) => new Float32Array(n).map(() => rng.uniform() * 3 + 1e-3),
  extreme: (n, rng) => extremeImportance(n, rng.u32()),
  negative: (n, rng) => negativeImportance(n, rng.u32()),
  halfzero: (n, rng) => new Float32Array(n).map(() => (rng.uniform() < 0.5 ? 0 : rng.uniform())),
  blockzero: (n, rng) => { const w = importance(n, rng.u32()); for (let b = 0; b < n; b += 32) if (rng.uniform() < 0.3) w.fill(0, b, b + 32); return w; },
  allzero: (n) => new Float32Array(n),
  subnormal: (n, rng) => new Float32Array(n).map(() => rng.uniform() * 1e-39),
  huge: (n, rng) => new Float32Array(n).map(() => (rng.uniform() + 0.5) * 1e30),
  nonfinite: (n, rng) => nonFiniteImportance(n, rng.u32()),
} satisfies Record<string, ImatrixMaker>;

export type ImatrixMaker = (n: number, rng: Rng) => Float32Array | undefined;

/** The named kinds, in the order given (a test's draws depend on the order it walks them in). */
export function imatrixKinds(...names: (keyof typeof IMATRIX_MAKERS)[]): Record<string, ImatrixMaker> {
  return Object.fromEntries(names.map((k) => [k, IMATRIX_MAKERS[k]]));
}

/** The kinds of the I-quant and K-quant live tests. */
export const IMATRIX_KINDS = imatrixKinds("none", "importance", "uniform", "extreme", "negative", "halfzero", "blockzero", "allzero", "subnormal", "nonfinite");

export interface SourceOptions {
  /** a packed sub-block starts with a NaN or inf half the time (min, max and the scale of the
   *  K-quants' searches are then that value) */
  nanFirst?: boolean;
  /** width of the sub-block the packed specials go into (default 32) */
  subBlock?: number;
  /** f32 sources: 3 in 10 specials are random NaN bit patterns (default true) */
  nanBits?: boolean;
}

/** Source bytes of srcType and the f32 rows llama.cpp sees for them; a fifth of the rows get 1-8
 *  special values (NaNs with payloads, infinities, extremes), anywhere or packed in one sub-block
 *  (where two different NaNs meet in its sums). */
export function randomSource(rng: Rng, rows: Float32Array, n: number, srcType: number, opts: SourceOptions = {}): { src: Uint8Array; rows: Float32Array } {
  const { nanFirst = false, subBlock = 32, nanBits = true } = opts;
  const bits = srcType === SRC_F32 ? new Uint32Array(rows.buffer, rows.byteOffset, rows.length) : toHalf(rows, srcType);
  const sp = SPECIALS[srcType];
  for (let r = 0; r < rows.length / n; r++) {
    if (rng.uniform() >= 0.2) continue;
    const packed = rng.uniform() < 0.5;
    const base = r * n + subBlock * rng.int(n / subBlock);
    if (nanFirst && packed && rng.uniform() < 0.5) bits[base] = sp[rng.int(5)];
    for (let c = 1 + rng.int(8); c > 0; c--) {
      const i = packed ? base + rng.int(subBlock) : r * n + rng.int(n);
      if (nanBits && srcType === SRC_F32 && rng.uniform() < 0.3) bits[i] = ((rng.u32() & 0x807fffff) | 0x7f800001) >>> 0;
      else bits[i] = sp[rng.int(sp.length)];
    }
  }
  if (srcType === SRC_F32) return { src: bytesOf(rows), rows };
  return halfSource(bits as Uint16Array, srcType);
}

export interface LiveDrawSpec {
  /** the kernel's type id (0 for a test of one type), and a per-test salt, both in the RNG's seed */
  id: number;
  salt?: number;
  srcType: number;
  kinds: Record<string, ImatrixMaker>;
  /** seeds per imatrix kind */
  seeds: number;
  widths: readonly number[];
  /** rows per draw: max(minRows, floor(budget / n)) */
  budget: number;
  minRows: number;
  /** randomRows' wide scales */
  wide?: boolean;
  /** the source maker (default randomSource) */
  source?: (rng: Rng, rows: Float32Array, n: number, srcType: number) => { src: Uint8Array; rows: Float32Array };
}

export interface LiveDraw {
  n: number;
  names: string[];
  /** source bytes, and the f32 rows llama.cpp sees for them */
  src: Uint8Array;
  rows: Float32Array;
  imatrix?: Float32Array;
  /** "f16 seed 3 n=512 imatrix=extreme": what an assertion names */
  what: string;
}

const SRC_NAMES: Record<number, string> = { [SRC_F32]: "f32", [SRC_F16]: "f16", [SRC_BF16]: "bf16" };

/** The live differential tests' draws: for every imatrix kind and seed, one RNG seeded by (id,
 *  source type, kind, salt, seed) draws a width, random rows, their source and the importance vector. */
export function* liveDraws(spec: LiveDrawSpec): Generator<LiveDraw> {
  const { id, salt = 0, srcType, kinds, seeds, widths, budget, minRows, wide = false, source = randomSource } = spec;
  const kindList = Object.entries(kinds);
  for (let kindIndex = 0; kindIndex < kindList.length; kindIndex++) {
    const [kind, makeImatrix] = kindList[kindIndex];
    for (let seed = 0; seed < seeds; seed++) {
      const rng = new Rng(((id * 64 + srcType * 16 + kindIndex) * 1_000_003 + salt + seed) >>> 0);
      const n = widths[rng.int(widths.length)];
      const { rows, names } = randomRows(rng, n, Math.max(minRows, Math.floor(budget / n)), wide);
      const src = source(rng, rows, n, srcType);
      const imatrix = makeImatrix(n, rng);
      yield { n, names, src: src.src, rows: src.rows, imatrix, what: `${SRC_NAMES[srcType]} seed ${seed} n=${n} imatrix=${kind}` };
    }
  }
}
