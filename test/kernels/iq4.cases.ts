// The row sets of the iq4_nl and iq4_xs kernels, shared by scripts/make-iq4-goldens.ts (which hashes
// llama.cpp's bytes for them) and test/kernels/iq4.test.ts (which hashes ours): one definition, so
// the two can never drift apart.
//
// ggml_quantize_chunk runs one code path for both types (quantize_iq4_nl / quantize_iq4_xs, ntry = 7)
// whether or not it gets an imatrix; without one the weights are x². The sets cover edge, sub-block,
// non-finite and quirk rows at 32 (iq4_nl only), 256, 512 and 4096, f16 and bf16 sources, NaN
// payloads, and importance vectors that are zero (sumq2 == 0: the build's `sumq2 > 0 ? ... : 0`),
// negative, extreme and non-finite.

import { createHash } from "node:crypto";
import { Rng } from "../support/random.js";
import { edgeRows, importance, nonFiniteRows, nonFiniteRowsMore, subBlockRows } from "../support/rows.js";
import { negativeImportance, quirkRows as k4QuirkRows } from "./k4.cases.js";
import { concatRows, SRC_BF16, SRC_F16, SRC_F32, bytesOf, extremeImportance, halfSource, nanPayloadSource, nonFiniteImportance, toHalf, type RowSet } from "./q6_K.cases.js";

export { SRC_F32, SRC_F16, SRC_BF16 };

/** A block type as the digest and diff helpers below need it (iq4 and iq3 cases share them). */
export interface BlockType {
  name: string;
  /** ggml_type */
  id: number;
  /** values per block (32: QK4_NL, 256: QK_K) */
  blockSize: number;
  /** sizeof(block_*) */
  blockBytes: number;
  /** row widths of the golden sets */
  widths: number[];
  /** the block's fields by byte offset, for messages */
  field(offset: number): string;
}

export interface Iq4Type extends BlockType {
  name: "iq4_nl" | "iq4_xs";
}

export const IQ4_NL: Iq4Type = {
  name: "iq4_nl", id: 20, blockSize: 32, blockBytes: 18, widths: [32, 256, 512, 4096],
  field: (o) => (o < 2 ? `d byte ${o}` : `qs[${o - 2}]`),
};
export const IQ4_XS: Iq4Type = {
  name: "iq4_xs", id: 23, blockSize: 256, blockBytes: 136, widths: [256, 512, 4096],
  field: (o) => (o < 2 ? `d byte ${o}` : o < 4 ? `scales_h byte ${o - 2}` : o < 8 ? `scales_l[${o - 4}]` : `qs[${o - 8}]`),
};
export const IQ4_TYPES: readonly Iq4Type[] = [IQ4_NL, IQ4_XS];

// ---- rows for iq4's own corners ----

/**
 * Rows (n a multiple of 32) aimed at iq4_nl / iq4_xs:
 * - tinynan: sub-blocks below GROUP_MAX_EPS holding NaNs (amax ignores NaN, so the scale is 0 and
 *   the NaN levels come from best_index_int8(NaN) = 15, the rest from best_index_int8(±0) = 8);
 * - oppmax: each pair of sub-blocks the negation of the other, one slightly louder (iq4_xs: the
 *   6-bit scale of the other is +32, clamped to 31);
 * - scaleladder: sub-block j scaled by 2^(j - 5) (iq4_xs: 6-bit scales near 0 and across the range);
 * - midpoints: values exactly at the midpoints of kvalues_iq4nl times a power of two, so
 *   best_index_int8's `x - val[mu-1] < val[mu] - x` tie goes up;
 * - hugeq: ±3e37 next to ordinary values (w*q and sumq2 overflow to inf);
 * - onebig: one value per sub-block, the rest 0 (sumq2 from one element).
 */
export function iq4QuirkRows(n: number, seed = 43): { rows: Float32Array; names: string[] } {
  const names = ["tinynan", "oppmax", "scaleladder", "midpoints", "hugeq", "onebig"];
  const r = new Rng(seed);
  const rows = new Float32Array(names.length * n);
  const row = (k: number) => rows.subarray(k * n, (k + 1) * n);
  const kv = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

  row(0).forEach((_, i, a) => { a[i] = Math.floor(i / 32) % 2 ? r.normal() * 1e-17 : r.normal() * 0.1; });
  for (let s = 1; s < n / 32; s += 2) { row(0)[32 * s + 3] = NaN; row(0)[32 * s + 17] = -NaN; }
  if (n === 32) { row(0).forEach((_, i, a) => { a[i] = r.normal() * 1e-17; }); row(0)[5] = NaN; }
  row(1).forEach((_, i, a) => {
    const s = Math.floor(i / 32), j = i % 32;
    const base = Math.sin(j * 1.7) * 0.2 + (j === 7 ? 0.9 : 0);
    a[i] = s % 2 ? -base * 1.05 : base;
  });
  row(2).forEach((_, i, a) => { a[i] = r.normal() * Math.pow(2, (Math.floor(i / 32) % 8) - 5); });
  row(3).forEach((_, i, a) => {
    const j = i % 32;
    a[i] = j === 0 ? -127 / 64 : ((kv[j % 15] + kv[(j % 15) + 1]) / 2) / 64;
  });
  row(4).forEach((_, i, a) => { a[i] = r.normal() * 0.5; });
  for (let s = 0; s < n / 32; s++) row(4)[32 * s + ((s * 5) % 32)] = s % 2 ? -3e37 : 3e37;
  row(5).forEach((_, i, a) => { a[i] = i % 32 === (Math.floor(i / 32) * 3) % 32 ? (Math.floor(i / 32) % 2 ? -0.7 : 0.3) : 0; });
  return { rows, names };
}


/** Finite rows at width n: edge, sub-block, q4_K's quirk rows (n ≥ 256) and iq4's. */
export function finiteRows(n: number) {
  const parts = [edgeRows(n), subBlockRows(n), iq4QuirkRows(n)];
  if (n % 256 === 0) parts.push(k4QuirkRows(n));
  return concatRows(parts);
}

/** Every deterministic row kind at width n: finiteRows plus non-finite rows. */
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
};

/**
 * f32 allRows at every width of the type with no imatrix and importance(n); at 512 (and 32 for
 * iq4_nl) also with the extreme, negative, non-finite and all-zero imatrices. f16 and bf16 sources:
 * the finite rows converted, at 512, both paths. Then nanPayloadSource rows from all three source
 * types at 512, without an imatrix and with importance(n).
 */
export function goldenSets(ty: Iq4Type): RowSet[] {
  const sets: RowSet[] = [];
  const add = setAdders(sets, allRows, finiteRows, IMATRICES);
  for (const n of ty.widths) for (const im of ["none", "importance(n)"]) add.f32(n, im);
  for (const n of ty.blockSize === 32 ? [32, 512] : [512]) {
    for (const im of ["extremeImportance(n)", "negativeImportance(n)", "nonFiniteImportance(n)", "zeros"]) add.f32(n, im);
  }
  add.halves(512, ["none", "importance(n)"]);
  for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
    for (const im of ["none", "importance(n)"]) {
      const n = 512;
      const { src, rows, names } = nanPayloadSource(n, srcType);
      sets.push({ name: `${label}-${n}-nanpayload-${im}`, n, names, src, srcType, rows, imatrix: IMATRICES[im]?.(n), imatrixName: im });
    }
  }
  return sets;
}

type Rows = (n: number) => { rows: Float32Array; names: string[] };

/** Adds named row sets to `sets`: f32(n, im) = every row kind (allRows) at width n as f32 with the
 *  named imatrix; halves(n, ims) = the finite rows converted to f16, then bf16, with each imatrix. */
export function setAdders(sets: RowSet[], allRows: Rows, finiteRows: Rows, imatrices: Record<string, ((n: number) => Float32Array) | undefined>) {
  return {
    f32(n: number, im: string): void {
      const { rows, names } = allRows(n);
      sets.push({ name: `f32-${n}-${im}`, n, names, src: bytesOf(rows), srcType: SRC_F32, rows, imatrix: imatrices[im]?.(n), imatrixName: im });
    },
    halves(n: number, ims: string[]): void {
      for (const [label, srcType] of [["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
        for (const im of ims) {
          const fin = finiteRows(n);
          const { src, rows } = halfSource(toHalf(fin.rows, srcType), srcType);
          sets.push({ name: `${label}-${n}-${im}`, n, names: fin.names, src, srcType, rows, imatrix: imatrices[im]?.(n), imatrixName: im });
        }
      }
    },
  };
}

// ---- digests and diffs ----

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** First 16 hex digits of each row's sha256. */
export function rowDigests(ty: BlockType, bytes: Uint8Array, n: number): string[] {
  const rb = (n / ty.blockSize) * ty.blockBytes;
  const out: string[] = [];
  for (let o = 0; o < bytes.length; o += rb) out.push(sha256(bytes.subarray(o, o + rb)).slice(0, 16));
  return out;
}

/** null when equal, else where the first difference is: row (and its name), block, field, both bytes,
 *  and how many bytes of that row and how many rows differ. */
export function firstDiff(ty: BlockType, ours: Uint8Array, ref: Uint8Array, n: number, names?: readonly string[]): string | null {
  if (ours.length !== ref.length) return `length ${ours.length} != ${ref.length}`;
  const rb = (n / ty.blockSize) * ty.blockBytes;
  let first: string | null = null;
  let rows = 0;
  for (let row = 0; row * rb < ours.length; row++) {
    let count = 0;
    let at = -1;
    for (let j = row * rb; j < (row + 1) * rb; j++) if (ours[j] !== ref[j]) { count++; if (at < 0) at = j; }
    if (!count) continue;
    rows++;
    if (first) continue;
    const inRow = at - row * rb;
    const hex = (v: number) => "0x" + v.toString(16).padStart(2, "0");
    first = `row ${row}${names ? ` (${names[row]})` : ""} block ${Math.floor(inRow / ty.blockBytes)} byte ${inRow} (${ty.field(inRow % ty.blockBytes)}): ours ${hex(ours[at])}, llama.cpp ${hex(ref[at])}; ${count} bytes differ in that row`;
  }
  return first && `${first}; ${rows} row${rows > 1 ? "s" : ""} differ`;
}
