// The q2_K and q3_K row sets that scripts/make-q23k-goldens.ts hashes with llama.cpp and
// test/kernels/q2_K.test.ts / q3_K.test.ts hash with our kernels: one definition, so the two can
// never drift apart. The rows are q6_K's (the same 16-wide sub-block family, test/kernels/q6_K.cases.ts)
// plus sets aimed at the imatrix paths of these two types (all-zero, extreme and non-finite weights
// over every edge row).

import { Rng } from "../support/random.js";
import { importance } from "../support/rows.js";
import { imatrixKinds } from "./random-sources.js";
import {
  QK_K, SPECIALS, SRC_BF16, SRC_F16, SRC_F32, allRows, bytesOf, extremeImportance, goldenSets as q6kGoldenSets, halfSource,
  nonFiniteImportance, sha256, toHalf, type RowSet,
} from "./q6_K.cases.js";

export { QK_K, SRC_F32, sha256 };

/** What a test needs to know about one of the two types' blocks (ggml-common.h). */
export interface KType {
  name: "q2_K" | "q3_K";
  /** ggml_type id */
  id: number;
  /** sizeof(block) */
  blockBytes: number;
  /** byte offsets of the fp16 fields that ggml_validate_row_data checks */
  fp16Fields: number[];
  /** field name of a byte offset inside a block, for messages */
  field(o: number): string;
}

export const Q2_K: KType = {
  name: "q2_K", id: 10, blockBytes: 84, fp16Fields: [80, 82],
  field: (o) => (o < 16 ? `scales[${o}]` : o < 80 ? `qs[${o - 16}]` : o < 82 ? `d byte ${o - 80}` : `dmin byte ${o - 82}`),
};

export const Q3_K: KType = {
  name: "q3_K", id: 11, blockBytes: 110, fp16Fields: [108],
  field: (o) => (o < 32 ? `hmask[${o}]` : o < 96 ? `qs[${o - 32}]` : o < 108 ? `scales[${o - 96}]` : `d byte ${o - 108}`),
};

/**
 * The golden sets: q6_K.cases.ts's goldenSets() (edge, sub-block and non-finite rows at 256, 512 and
 * 4096 with and without importance(n); the extreme imatrix at 512; f16 and bf16 sources at 512, both
 * paths; NaN-payload rows from all three sources with no, ordinary and non-finite imatrices), then
 * allRows(n) at 512 with an all-zero imatrix, at 4096 and 8192 with extremeImportance(n), and at 512
 * and 4096 with nonFiniteImportance(n); last nanStartSource rows from all three sources at 512 with
 * no, ordinary and non-finite imatrices.
 */
export function goldenSets(): RowSet[] {
  const sets = q6kGoldenSets();
  const extra: [number, string, (n: number) => Float32Array][] = [
    [512, "zeros", (n) => new Float32Array(n)],
    [4096, "extremeImportance(n)", (n) => extremeImportance(n)],
    // q2_K: the "allneg" row's block 13 gets a negative sub-block scale, so make_qp_quants stores a
    // negative level through uint8_t (0xfd in scales[8])
    [8192, "extremeImportance(n)", (n) => extremeImportance(n)],
    [512, "nonFiniteImportance(n)", (n) => nonFiniteImportance(n)],
    // q3_K: the "blockmodes" row's block 3 has two NaN weights in one sub-block; the build's order
    // of the weight sum decides the sign of its NaN d
    [4096, "nonFiniteImportance(n)", (n) => nonFiniteImportance(n)],
  ];
  for (const [n, im, make] of extra) {
    const { rows, names } = allRows(n);
    sets.push({ name: `f32-${n}-${im}`, n, names, src: bytesOf(rows), srcType: SRC_F32, rows, imatrix: make(n), imatrixName: im });
  }
  for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
    for (const [im, make] of [["none", undefined], ["importance(n)", importance], ["nonFiniteImportance(n)", nonFiniteImportance]] as const) {
      const n = 512;
      const { src, rows, names } = nanStartSource(n, srcType);
      sets.push({ name: `${label}-${n}-nanstart-${im}`, n, names, src, srcType, rows, imatrix: make?.(n), imatrixName: im });
    }
  }
  return sets;
}

// ---- digests and diffs ----

/** First 16 hex digits of each row's sha256. */
export function rowDigests(t: KType, bytes: Uint8Array, n: number): string[] {
  const rb = (n / QK_K) * t.blockBytes;
  const out: string[] = [];
  for (let o = 0; o < bytes.length; o += rb) out.push(sha256(bytes.subarray(o, o + rb)).slice(0, 16));
  return out;
}

/** null when equal, else where the first difference is: row, block, field, both bytes, and how many
 *  bytes of that row and how many rows differ. */
export function firstDiff(t: KType, ours: Uint8Array, ref: Uint8Array, n: number, names?: string[]): string | null {
  if (ours.length !== ref.length) return `length ${ours.length} != ${ref.length}`;
  const rb = (n / QK_K) * t.blockBytes;
  let first: string | null = null;
  let rows = 0;
  for (let r = 0; r * rb < ours.length; r++) {
    let count = 0;
    let at = -1;
    for (let j = r * rb; j < (r + 1) * rb; j++) if (ours[j] !== ref[j]) { count++; if (at < 0) at = j; }
    if (count === 0) continue;
    rows++;
    if (first) continue;
    const inRow = at % rb;
    const hex = (v: number) => "0x" + v.toString(16).padStart(2, "0");
    first = `row ${r}${names ? ` (${names[r]})` : ""} block ${Math.floor(inRow / t.blockBytes)} byte ${inRow} (${t.field(inRow % t.blockBytes)}): ours ${hex(ours[at])}, llama.cpp ${hex(ref[at])}; ${count} bytes differ in that row`;
  }
  return first && `${first}; ${rows} row(s) differ`;
}

// ---- random rows for the live tests ----

/** Importance vectors of every kind the live tests use. */
export const IMATRIX_KINDS = imatrixKinds("none", "importance", "uniform", "extreme", "halfzero", "allzero", "subnormal", "huge", "nonfinite");

/** Source bytes of srcType for f32 rows, and the f32 rows llama.cpp sees for them; a fifth of the rows
 *  get 1-8 special values (NaNs with payloads, infinities, extremes), anywhere, packed into one
 *  16-wide sub-block (where two different NaNs meet in its sums), or as the first values of
 *  sub-blocks (see nanStartSource). */
export function withSpecials(rng: Rng, rows: Float32Array, n: number, srcType: number): { src: Uint8Array; rows: Float32Array } {
  const bits = srcType === SRC_F32 ? new Uint32Array(rows.buffer, rows.byteOffset, rows.length) : toHalf(rows, srcType);
  const sp = SPECIALS[srcType];
  for (let r = 0; r < rows.length / n; r++) {
    if (rng.uniform() >= 0.2) continue;
    const mode = rng.int(3);
    const base = r * n + 16 * rng.int(n / 16);
    for (let c = 1 + rng.int(8); c > 0; c--) {
      const i = mode === 0 ? r * n + rng.int(n) : mode === 1 ? base + rng.int(16) : r * n + 16 * rng.int(n / 16);
      bits[i] = sp[rng.int(sp.length)];
    }
  }
  if (srcType === SRC_F32) return { src: bytesOf(rows), rows };
  return halfSource(bits as Uint16Array, srcType);
}

/**
 * Rows whose sub-blocks start with NaNs of different payloads (quiet and signalling, both signs), the
 * last sub-block of every super-block among them. A NaN first value becomes the sub-block's min and
 * max in make_qkx2/qkx3_quants, so its scale and min are NaN, and make_qp_quants, whose max is then
 * the last sub-block's NaN, multiplies two NaNs: the reference build's operand order decides which
 * payload becomes the level. Ordinary values around them: 0.02 (even rows) or 1e24 (odd rows; 6e4
 * for f16). Returns source bits and the f32 rows llama.cpp sees.
 */
export function nanStartSource(n: number, srcType: number, nrows = 8, seed = 29): { src: Uint8Array; rows: Float32Array; names: string[] } {
  const r = new Rng(seed);
  const vals = new Float32Array(n * nrows);
  for (let row = 0; row < nrows; row++) {
    const big = row % 2 ? (srcType === SRC_F16 ? 6e4 : 1e24) : 0.02;
    for (let i = 0; i < n; i++) vals[row * n + i] = r.normal() * big;
  }
  const bits = srcType === SRC_F32 ? new Uint32Array(vals.buffer) : toHalf(vals, srcType);
  const nans = SPECIALS[srcType].filter((b) => (srcType === SRC_F32 ? (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0 : srcType === SRC_F16 ? (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0 : (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0));
  for (let row = 0; row < nrows; row++) {
    for (let sb = 0; sb < n; sb += QK_K) {
      bits[row * n + sb + 240] = nans[r.int(nans.length)];
      for (let j = 0; j < 15; j++) if (r.uniform() < 0.4) bits[row * n + sb + 16 * j] = nans[r.int(nans.length)];
    }
  }
  const names = Array.from({ length: nrows }, (_, row) => `nanstart${row % 2 ? "-big" : ""}`);
  if (srcType === SRC_F32) return { src: bytesOf(vals), rows: vals, names };
  return { ...halfSource(bits as Uint16Array, srcType), names };
}
