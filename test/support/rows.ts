// Rows that exercise every corner of a kernel: the edge cases that random data would never hit
// (KERNELS.md: random data alone hid 3 of 7 measured deviations), then realistic heavy-tailed rows.
// edgeRows(n) returns nrows*n floats; each row is one case, cycling through CASES.

import { Rng } from "./random.js";

const f = Math.fround;
const sub = 1.17e-38; // a little below FLT_MIN: subnormal territory

/** Each case fills one row of n values (n is a multiple of 32). */
export const CASES: Record<string, (x: Float32Array, rng: Rng) => void> = {
  zeros: (x) => x.fill(0),
  negzeros: (x) => x.fill(-0),
  mixedzeros: (x) => { for (let i = 0; i < x.length; i++) x[i] = i % 3 === 0 ? -0 : 0; },
  constpos: (x) => x.fill(0.125),
  constneg: (x) => x.fill(-3.5),
  constodd: (x) => x.fill(f(0.3)),
  outlier: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.normal() * 0.01; x[7] = 1e4; x[x.length - 3] = -3e5; },
  huge: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.normal() * 0.01; x[5] = 1e30; x[40 % x.length] = -2e30; },
  subnormal: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * sub; },
  mixedsub: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = i % 2 ? (r.uniform() - 0.5) * sub : r.normal() * 0.02; },
  tiny37: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 2e-37; },
  tiny30: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 2e-30; },
  big7: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 2e7; },
  fp16over: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 1.4e5; },
  allpos: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.uniform() * 0.05 + 0.001; },
  allneg: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = -(r.uniform() * 0.05 + 0.001); },
  ties: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.int(33) - 16) * 0.5 * 0.0625; },
  halfsteps: (x) => { for (let i = 0; i < x.length; i++) x[i] = ((i % 32) - 16) + 0.5; },
  twovalued: (x) => { for (let i = 0; i < x.length; i++) x[i] = i % 2 ? 1 : -1; },
  ladder: (x) => { for (let i = 0; i < x.length; i++) x[i] = (i % 32) / 31; },
  ladderneg: (x) => { for (let i = 0; i < x.length; i++) x[i] = -((i % 16) - 8) / 7; },
  onespike: (x) => { x.fill(0); x[x.length >> 1] = -0.75; },
  sparse: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.uniform() < 0.1 ? r.normal() : 0; },
  blockmodes: (x, r) => {
    // each 32-wide block takes its own mode, so vector lanes mix early exits with normal work
    const modes = [
      () => 0, () => 0.5, () => r.normal() * 1e-20, () => r.normal() * 1e20, () => r.normal() * 0.02,
      () => (r.uniform() - 0.5) * sub, () => (r.int(9) - 4) * 0.25,
    ];
    for (let b = 0; b < x.length; b += 32) {
      const m = modes[r.int(modes.length)];
      for (let i = b; i < b + 32; i++) x[i] = m();
      if (r.uniform() < 0.2) x[b + r.int(32)] = r.normal() * 100;
    }
  },
  heavy: (x, r) => {
    // trained-weight-like: Student-t(5) with per-column scale and a few outlier columns
    for (let i = 0; i < x.length; i++) {
      const colScale = 1 + ((i * 2654435761) % 97) / 97;
      x[i] = r.studentT(5) * 0.02 * colScale * (i % 256 === 17 ? 6 : 1);
    }
  },
  normal: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.normal() * 0.03; },
};

export const CASE_NAMES = Object.keys(CASES);

/** Rows for kernel tests: every edge case once, then `extra` heavy-tailed rows. n must be a multiple of 32. */
export function edgeRows(n: number, seed = 1, extra = 4): { rows: Float32Array; nrows: number; names: string[] } {
  const names = [...CASE_NAMES, ...Array.from({ length: extra }, () => "heavy")];
  const rows = new Float32Array(names.length * n);
  const rng = new Rng(seed);
  names.forEach((name, r) => CASES[name](rows.subarray(r * n, (r + 1) * n), rng));
  return { rows, nrows: names.length, names };
}

/** Rows with non-finite values (llama.cpp rejects such tensors before quantizing, but the kernels
 *  still see them when called directly; kept separate because some types abort on them). */
export function nonFiniteRows(n: number): Float32Array {
  const rows = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) rows[i] = (i % 7) - 3;
  rows[3] = Infinity;
  for (let i = 0; i < n; i++) rows[n + i] = (i % 5) * 0.1;
  rows[n + 9] = NaN;
  for (let i = 0; i < n; i++) rows[2 * n + i] = i % 2 ? 3e38 : -3e38;
  return rows;
}

/** An importance vector: positive, heavy-tailed, with some exact zeros and one tiny entry. */
export function importance(n: number, seed = 7): Float32Array {
  const rng = new Rng(seed);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = Math.abs(rng.studentT(3)) * 0.5 + 0.01;
  for (let i = 0; i < n; i += 97) w[i] = 0;
  if (n > 50) w[50] = 1e-30;
  return w;
}
