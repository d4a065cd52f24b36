// The row sets of the lattice ("grid") quants iq2_xxs, iq2_xs, iq2_s, iq1_s and iq1_m, shared by
// scripts/make-iqgrid-goldens.ts (which hashes llama.cpp's bytes for them) and
// test/kernels/iqgrid.test.ts (which hashes ours): one definition, so the two cannot drift apart.
//
// These kernels abort the process on some data (GGML_ASSERT on NaN scales, on points they cannot
// place, without the imatrix iq2_xxs/iq2_xs/iq1_s require). A golden row is then "abort": the
// writer quantizes the rows our kernel refuses in child processes (test/support/oracle-isolated.ts)
// and records what llama.cpp does, bytes or abort; every other row goes through the in-process
// oracle, where an abort would stop the writer (so an abort we fail to predict cannot go unnoticed).

import { Rng } from "../support/random.js";
import { edgeRows, importance, nonFiniteRows, nonFiniteRowsMore, subBlockRows } from "../support/rows.js";
import { negativeImportance } from "./k4.cases.js";
import type { BlockType } from "./iq4.cases.js";
import { concatRows, SRC_BF16, SRC_F16, SRC_F32, bytesOf, extremeImportance, halfSource, nonFiniteImportance, toHalf, type RowSet } from "./q6_K.cases.js";

export { SRC_F32, SRC_F16, SRC_BF16 };

export interface GridType extends BlockType {
  name: "iq2_xxs" | "iq2_xs" | "iq2_s" | "iq1_s" | "iq1_m";
  /** ggml_quantize_chunk asserts an imatrix (ggml_quantize_requires_imatrix) */
  needsImatrix: boolean;
}

export const IQ2_XXS: GridType = { blockSize: 256, widths: [256, 512], name: "iq2_xxs", id: 16, blockBytes: 66, needsImatrix: true, field: (o) => (o < 2 ? `d byte ${o}` : `qs byte ${o - 2} (sub-block ${(o - 2) >> 3})`) };
export const IQ2_XS: GridType = { blockSize: 256, widths: [256, 512], name: "iq2_xs", id: 17, blockBytes: 74, needsImatrix: true, field: (o) => (o < 2 ? `d byte ${o}` : o < 66 ? `qs[${(o - 2) >> 1}]` : `scales[${o - 66}]`) };
export const IQ2_S: GridType = { blockSize: 256, widths: [256, 512], name: "iq2_s", id: 22, blockBytes: 82, needsImatrix: false, field: (o) => (o < 2 ? `d byte ${o}` : o < 34 ? `qs[${o - 2}]` : o < 66 ? `signs[${o - 34}]` : o < 74 ? `qh[${o - 66}]` : `scales[${o - 74}]`) };
export const IQ1_S: GridType = { blockSize: 256, widths: [256, 512], name: "iq1_s", id: 19, blockBytes: 50, needsImatrix: true, field: (o) => (o < 2 ? `d byte ${o}` : o < 34 ? `qs[${o - 2}]` : `qh[${(o - 34) >> 1}]`) };
export const IQ1_M: GridType = { blockSize: 256, widths: [256, 512], name: "iq1_m", id: 29, blockBytes: 56, needsImatrix: false, field: (o) => (o < 32 ? `qs[${o}]` : o < 48 ? `qh[${o - 32}]` : `scales byte ${o - 48}`) };
export const GRID_TYPES: readonly GridType[] = [IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M];

// ---- rows for the lattice quants' own corners ----

/**
 * Rows (n a multiple of 256) aimed at the grid searches:
 * - oddties: every 8-group has an odd number of negatives of equal magnitude (the parity flip's
 *   `ax < min` keeps the first of equals);
 * - ongrid: each group a grid-like vector of 1, 3, 5 times a per-sub-block step (levels exact);
 * - midlevels: values at 2, 4 times a step (nearest_int ties between levels);
 * - onegroup: one non-zero 8-group per 32 values (most groups the zero point, the search on one);
 * - ramp: a slow ramp with a sign change per group (off-grid vectors, neighbour searches);
 * - spread: each sub-block a different power of ten, 1e-6..1e3 (sub-block scales across the 4-bit
 *   and 3-bit ranges, many rounding to 0).
 */
export function gridQuirkRows(n: number, seed = 47): { rows: Float32Array; names: string[] } {
  const names = ["oddties", "ongrid", "midlevels", "onegroup", "ramp", "spread"];
  const r = new Rng(seed);
  const rows = new Float32Array(names.length * n);
  const row = (k: number) => rows.subarray(k * n, (k + 1) * n);
  row(0).forEach((_, i, a) => { const j = i % 8; a[i] = (j < 2 * (Math.floor(i / 8) % 4) + 1 ? -1 : 1) * 0.05; });
  row(1).forEach((_, i, a) => { a[i] = [1, 3, 5][r.int(3)] * 0.01 * (1 + (Math.floor(i / 32) % 4)) * (r.uniform() < 0.3 ? -1 : 1); });
  row(2).forEach((_, i, a) => { a[i] = [2, 4, 0][r.int(3)] * 0.02 * (r.uniform() < 0.5 ? -1 : 1); });
  row(3).forEach((_, i, a) => { a[i] = Math.floor(i / 8) % 4 === Math.floor(i / 32) % 4 ? r.normal() * 0.1 : 0; });
  row(4).forEach((_, i, a) => { a[i] = ((i % 8) - 3.5) * 0.01 + (i / n) * 0.02; });
  row(5).forEach((_, i, a) => { a[i] = r.normal() * Math.pow(10, (Math.floor(i / 16) % 10) - 6); });
  return { rows, names };
}


/** Finite rows at width n: edge, sub-block and the grid quirk rows. */
export function finiteRows(n: number) {
  return concatRows([edgeRows(n), subBlockRows(n), gridQuirkRows(n)]);
}

/** Every deterministic row kind at width n: finiteRows plus non-finite rows (most of which abort). */
export function allRows(n: number) {
  return concatRows([finiteRows(n), { rows: nonFiniteRows(n), names: ["nf-inf", "nf-nan", "nf-3e38"] }, nonFiniteRowsMore(n)]);
}

export const IMATRICES: Record<string, ((n: number) => Float32Array) | undefined> = {
  none: undefined,
  "importance(n)": (n) => importance(n),
  "extremeImportance(n)": (n) => extremeImportance(n),
  "negativeImportance(n)": (n) => negativeImportance(n),
  "nonFiniteImportance(n)": (n) => nonFiniteImportance(n),
  zeros: (n) => new Float32Array(n),
  ones: (n) => new Float32Array(n).fill(1),
};

/**
 * f32 rows with importance(n): every row kind (allRows) at 256, the finite rows at 512; the finite
 * rows at 256 and 512 without an imatrix (types that take none) and at 256 with all-zero and
 * all-one imatrices. Types that require an imatrix get a three-row set without one (all abort).
 * f16 and bf16 sources: the finite rows converted, at 512, with importance(n). Each row llama.cpp
 * aborts on costs the writer a child process of several seconds (the iq1 lattice alone takes
 * seconds to build), so the abort-heavy imatrices (extreme, negative, non-finite) are left to the
 * live test, which checks every row of them in process and a few refused ones in children.
 */
export function goldenSets(ty: GridType): RowSet[] {
  const sets: RowSet[] = [];
  const f32Set = (n: number, im: string, make: (n: number) => { rows: Float32Array; names: string[] } = finiteRows) => {
    const { rows, names } = make(n);
    sets.push({ name: `f32-${n}-${im}`, n, names, src: bytesOf(rows), srcType: SRC_F32, rows, imatrix: IMATRICES[im]?.(n), imatrixName: im });
  };
  f32Set(256, "importance(n)", allRows);
  f32Set(512, "importance(n)");
  if (!ty.needsImatrix) for (const n of [256, 512]) f32Set(n, "none");
  for (const im of ["zeros", "ones"]) f32Set(256, im);
  if (ty.needsImatrix) {
    const e = edgeRows(256, 1, 0);
    const pick = [3, 23, 25]; // constpos, blockmodes, normal
    const rows = new Float32Array(pick.length * 256);
    pick.forEach((r, i) => rows.set(e.rows.subarray(r * 256, (r + 1) * 256), i * 256));
    sets.push({ name: "f32-256-none", n: 256, names: pick.map((r) => e.names[r]), src: bytesOf(rows), srcType: SRC_F32, rows, imatrixName: "none" });
  }
  for (const [label, srcType] of [["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
    const n = 512;
    const fin = finiteRows(n);
    const { src, rows } = halfSource(toHalf(fin.rows, srcType), srcType);
    sets.push({ name: `${label}-${n}-importance(n)`, n, names: fin.names, src, srcType, rows, imatrix: importance(n), imatrixName: "importance(n)" });
  }
  return sets;
}

// ---- digests and diffs: iq4.cases' (the layout of a row is all they need) ----

export { firstDiff, rowDigests, sha256 } from "./iq4.cases.js";
