// Extra rows for the small types (tq1_0 tq2_0 mxfp4 nvfp4 q1_0 q2_0): rounding ties, q1_0's sum
// order, and single values next to every power of two (mxfp4's log2f, nvfp4's UE4M3 scale).
// Shared by test/kernels/small.test.ts and scripts/make-small-goldens.ts.

import { Rng } from "./random.js";
import { bitsF32 } from "./floats.js";

/** Single-value probes: one row per value v, v at a random place of an otherwise small block. */
export function probeRows(values: readonly number[], n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const rows = new Float32Array(values.length * n);
  for (let r = 0; r < values.length; r++) {
    for (let i = 0; i < n; i++) rows[r * n + i] = (rng.uniform() - 0.5) * 1e-3 * Math.abs(values[r]);
    rows[r * n + rng.int(n)] = values[r];
  }
  return rows;
}

/** amax values next to powers of two: ±64 ulps around 2^k for every k of binary32 (subnormals too). */
export function nearPowersOfTwo(ulps: number): number[] {
  const out: number[] = [];
  for (let e = 1; e <= 254; e++) {
    const p = e << 23;
    for (let d = -ulps; d <= ulps; d++) out.push(bitsF32(p + d));
  }
  for (let sub = 1; sub < 0x800000; sub = sub * 2) for (let d = -3; d <= 3; d++) if (sub + d > 0) out.push(bitsF32(sub + d));
  return out;
}

/** Rows whose values sit on and next to the rounding ties of x·(1/amax) (±0.5 for tq1_0, tq2_0 and q2_0). */
export function tieRows(n: number, count: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const rows = new Float32Array(n * count);
  for (let r = 0; r < count; r++) {
    const amax = Math.fround(Math.pow(2, -20 + rng.uniform() * 40) * (rng.uniform() < 0.5 ? 1 : 1 + rng.uniform()));
    const x = rows.subarray(r * n, (r + 1) * n);
    for (let i = 0; i < n; i++) {
      const kind = rng.int(6);
      const half = Math.fround(amax * 0.5);
      const v = kind === 0 ? half : kind === 1 ? bitsF32(new Uint32Array(new Float32Array([half]).buffer)[0] + rng.int(5) - 2)
        : kind === 2 ? Math.fround(amax * (rng.int(13) - 6) / 4) : kind === 3 ? Math.fround(amax * 1.5) : (rng.uniform() * 2 - 1) * amax;
      x[i] = rng.uniform() < 0.5 ? -v : v;
    }
    for (let b = 0; b < n; b += 16) x[b + rng.int(16)] = rng.uniform() < 0.5 ? -amax : amax; // amax in every sub-block
  }
  return rows;
}

/** The extra golden cases: rows and width per type name. */
export const EXTRA_CASES: Record<string, (type: string) => { rows: Float32Array; n: number }> = {
  ties: () => ({ rows: tieRows(1024, 48, 11), n: 1024 }),
  powers: (type) => {
    const n = type === "mxfp4" ? 32 : type === "nvfp4" ? 64 : 256;
    return { rows: probeRows(nearPowersOfTwo(type === "mxfp4" || type === "nvfp4" ? 64 : 3), n, 5), n };
  },
};
