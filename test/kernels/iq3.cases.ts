// The row sets of the iq3_xxs and iq3_s kernels, shared by scripts/make-iq3-goldens.ts (which hashes
// llama.cpp's bytes for them) and test/kernels/iq3.test.ts (which hashes ours): one definition, so
// the two can never drift apart.
//
// ggml_quantize_chunk runs one code path for both types with or without an imatrix (without one the
// weights are x²). llama.cpp aborts the process on some rows (GGML_ASSERT in the grid search: values
// or importances whose squares overflow, NaN, inf); the goldens mark those rows "abort" and the
// kernel must refuse exactly them. The sets reuse iq4's rows (edge, sub-block, non-finite, quirk
// rows of iq4 and q4_K) and add iq3's own corners.

import { Rng } from "../support/random.js";
import { importance } from "../support/rows.js";
import { concatRows, SRC_BF16, SRC_F16, SRC_F32, type RowSet } from "./q6_K.cases.js";
import { allRows as iq4AllRows, finiteRows as iq4FiniteRows, firstDiff, rowDigests, setAdders, sha256, type BlockType } from "./iq4.cases.js";

export { SRC_F32, SRC_F16, SRC_BF16, firstDiff, rowDigests, sha256 };

export interface Iq3Type extends BlockType {
  name: "iq3_xxs" | "iq3_s";
}

export const IQ3_XXS: Iq3Type = {
  name: "iq3_xxs", id: 18, blockSize: 256, blockBytes: 98, widths: [256, 512, 4096],
  field: (o) => (o < 2 ? `d byte ${o}` : o < 66 ? `qs[${o - 2}] (grid index)` : `scales_and_signs[${(o - 66) >> 2}] byte ${(o - 66) & 3}`),
};
export const IQ3_S: Iq3Type = {
  name: "iq3_s", id: 21, blockSize: 256, blockBytes: 110, widths: [256, 512, 4096],
  field: (o) => (o < 2 ? `d byte ${o}` : o < 66 ? `qs[${o - 2}]` : o < 74 ? `qh[${o - 66}]` : o < 106 ? `signs[${o - 74}]` : `scales[${o - 106}]`),
};
export const IQ3_TYPES: readonly Iq3Type[] = [IQ3_XXS, IQ3_S];

// ---- rows for iq3's own corners ----

/**
 * Rows (n a multiple of 256) aimed at iq3_xxs / iq3_s:
 * - zerosubs: every third 32-wide sub-block all zero (iq3_s: `continue` before qs and signs advance,
 *   so later sub-blocks land in the skipped slots);
 * - eps8: sub-block magnitudes 1e-9..1e-7, around iq3_xxs's GROUP_MAX_EPS_IQ3_XXS = 1e-8;
 * - sq0: magnitudes ~2e-8..6e-8, where sumqx² underflows to 0 without an imatrix (no trial accepted:
 *   iq3_xxs writes grid index 0);
 * - oddneg: an odd number of negatives in every 8, with equal |x| (the flip goes to the first least w·x²);
 * - levels: values on the grid levels 2l+1 times a power of two, and midway between them (ties of
 *   nearest_int);
 * - offgrid: one large value per 4-group next to small ones (level words that are off the grid:
 *   the neighbour search runs every trial);
 * - spiky: a 30x spike per sub-block over normal noise.
 */
export function iq3QuirkRows(n: number, seed = 47): { rows: Float32Array; names: string[] } {
  const names = ["zerosubs", "eps8", "sq0", "oddneg", "levels", "offgrid", "spiky"];
  const r = new Rng(seed);
  const rows = new Float32Array(names.length * n);
  const row = (k: number) => rows.subarray(k * n, (k + 1) * n);
  const sub = (i: number) => Math.floor(i / 32);
  row(0).forEach((_, i, a) => { a[i] = sub(i) % 3 === 1 ? 0 : r.normal() * 0.05; });
  row(1).forEach((_, i, a) => { a[i] = r.normal() * Math.pow(10, -9 + 2 * ((sub(i) * 0.37) % 1)); });
  row(2).forEach((_, i, a) => { a[i] = (r.uniform() + 0.5) * 2e-8 * (r.uniform() < 0.5 ? -1 : 1); });
  row(3).forEach((_, i, a) => { a[i] = (i % 8 === 2 || i % 8 === 5 || i % 8 === 7 ? -1 : 1) * 0.25; });
  row(4).forEach((_, i, a) => { const l = i % 8; a[i] = (i % 16 < 8 ? 2 * l + 1 : 2 * l + 2) * Math.pow(2, sub(i) % 5 - 6); });
  row(5).forEach((_, i, a) => { a[i] = i % 4 === sub(i) % 4 ? (r.uniform() < 0.5 ? -1 : 1) * (0.5 + r.uniform()) : r.normal() * 0.01; });
  row(6).forEach((_, i, a) => { a[i] = r.normal() * 0.02; });
  for (let s = 0; s < n / 32; s++) row(6)[32 * s + ((s * 7) % 32)] = (s % 2 ? -0.6 : 0.6);
  return { rows, names };
}


/** Finite rows at width n: iq4's finite rows and iq3's quirk rows. */
export const finiteRows = (n: number) => concatRows([iq4FiniteRows(n), iq3QuirkRows(n)]);
/** Every deterministic row kind at width n: iq4's (finite and non-finite) and iq3's quirk rows. */
export const allRows = (n: number) => concatRows([iq4AllRows(n), iq3QuirkRows(n)]);

/** An importance vector zero over every other 32-wide sub-block (iq3_xxs: no trial accepted there). */
export function halfZeroImportance(n: number): Float32Array {
  const w = importance(n, 29);
  for (let b = 0; b < n; b += 64) w.fill(0, b, b + 32);
  return w;
}

export const IMATRICES: Record<string, ((n: number) => Float32Array) | undefined> = {
  none: undefined,
  "importance(n)": (n) => importance(n),
  "halfZeroImportance(n)": (n) => halfZeroImportance(n),
  zeros: (n) => new Float32Array(n),
};

/**
 * f32 allRows at 256 and 4096 with no imatrix and importance(n), at 512 with the half-zero and
 * all-zero imatrices; f16 and bf16 sources: the finite rows converted, at 512, both paths.
 * (Negative, extreme and non-finite importances and NaN-payload rows make llama.cpp abort on most
 * rows: test/kernels/iq3.test.ts meets them live, where the oracle is.)
 */
export function goldenSets(_ty: Iq3Type): RowSet[] {
  const sets: RowSet[] = [];
  const add = setAdders(sets, allRows, finiteRows, IMATRICES);
  for (const n of [256, 4096]) for (const im of ["none", "importance(n)"]) add.f32(n, im);
  for (const im of ["halfZeroImportance(n)", "zeros"]) add.f32(512, im);
  add.halves(512, ["none", "importance(n)"]);
  return sets;
}
