// Random rows, importance vectors and f32/f16/bf16 sources for the live differential tests of the
// I-quant kernels (test/kernels/iq4.test.ts, iq3.test.ts): each test draws from these with its own
// seeds and compares our bytes with llama.cpp's.

import { Rng } from "../support/random.js";
import { CASES, SUBBLOCK_CASES, importance } from "../support/rows.js";
import { SPECIALS, SRC_F32, bytesOf, extremeImportance, halfSource, nonFiniteImportance, toHalf } from "./q6_K.cases.js";
import { negativeImportance } from "./k4.cases.js";

const ALL_CASES = { ...CASES, ...SUBBLOCK_CASES };
const ALL_NAMES = Object.keys(ALL_CASES);

/** Random rows: each a random case (edge or sub-block), a third scaled by 10^U(-8, 8). */
export function randomRows(rng: Rng, n: number, nrows: number): { rows: Float32Array; names: string[] } {
  const rows = new Float32Array(n * nrows);
  const names: string[] = [];
  for (let r = 0; r < nrows; r++) {
    const name = ALL_NAMES[rng.int(ALL_NAMES.length)];
    const row = rows.subarray(r * n, (r + 1) * n);
    ALL_CASES[name](row, rng);
    if (rng.uniform() < 0.33) {
      const s = Math.pow(10, -8 + 16 * rng.uniform());
      for (let i = 0; i < n; i++) row[i] *= s;
      names.push(`${name}*${s.toExponential(1)}`);
    } else names.push(name);
  }
  return { rows, names };
}

export const IMATRIX_KINDS: Record<string, (n: number, rng: Rng) => Float32Array | undefined> = {
  none: () => undefined,
  importance: (n, rng) => importance(n, rng.u32()),
  uniform: (n, rng) => new Float32Array(n).map(() => rng.uniform() * 3 + 1e-3),
  extreme: (n, rng) => extremeImportance(n, rng.u32()),
  negative: (n, rng) => negativeImportance(n, rng.u32()),
  halfzero: (n, rng) => new Float32Array(n).map(() => (rng.uniform() < 0.5 ? 0 : rng.uniform())),
  blockzero: (n, rng) => { const w = importance(n, rng.u32()); for (let b = 0; b < n; b += 32) if (rng.uniform() < 0.3) w.fill(0, b, b + 32); return w; },
  allzero: (n) => new Float32Array(n),
  subnormal: (n, rng) => new Float32Array(n).map(() => rng.uniform() * 1e-39),
  nonfinite: (n, rng) => nonFiniteImportance(n, rng.u32()),
};

/** Source bytes of srcType and the f32 rows llama.cpp sees for them; a fifth of the rows get a few
 *  special values (NaNs with payloads, infinities, extremes), anywhere or packed in one sub-block;
 *  with `nanFirst`, a packed sub-block starts with a NaN or inf half the time (min, max and the
 *  scale of the K-quants' searches are then that value). */
export function randomSource(rng: Rng, rows: Float32Array, n: number, srcType: number, nanFirst = false): { src: Uint8Array; rows: Float32Array } {
  const bits = srcType === SRC_F32 ? new Uint32Array(rows.buffer, rows.byteOffset, rows.length) : toHalf(rows, srcType);
  const sp = SPECIALS[srcType];
  for (let r = 0; r < rows.length / n; r++) {
    if (rng.uniform() >= 0.2) continue;
    const packed = rng.uniform() < 0.5;
    const base = r * n + 32 * rng.int(n / 32);
    if (nanFirst && packed && rng.uniform() < 0.5) bits[base] = sp[rng.int(5)];
    for (let c = 1 + rng.int(8); c > 0; c--) {
      const i = packed ? base + rng.int(32) : r * n + rng.int(n);
      if (srcType === SRC_F32 && rng.uniform() < 0.3) bits[i] = ((rng.u32() & 0x807fffff) | 0x7f800001) >>> 0;
      else bits[i] = sp[rng.int(sp.length)];
    }
  }
  if (srcType === SRC_F32) return { src: bytesOf(rows), rows };
  return halfSource(bits as Uint16Array, srcType);
}
