// The row sets of the q4_K and q5_K kernels (32-wide sub-blocks with a 6-bit scale and min each, two
// fp16 super-scales d and dmin), shared by scripts/make-kquant-goldens.ts, which hashes llama.cpp's
// bytes for them, and by test/kernels/q4_K.test.ts and q5_K.test.ts, which hash ours: one
// definition, so the two can never drift apart.
//
// The sets are q6_K's (test/kernels/q6_K.cases.ts goldenSets: edge, sub-block and non-finite rows
// at 256, 512 and 4096, f16/bf16 sources, NaN payloads) plus rows aimed at what q4_K and q5_K do
// that q6_K does not (quirkRows below), and an importance vector with negative entries (an
// imatrix file whose counts are negative gives one; llama-quantize accepts it).

import { createHash } from "node:crypto";
import { Rng } from "../support/random.js";
import { importance } from "../support/rows.js";
import { SRC_F32, SRC_F16, SRC_BF16, bytesOf, extremeImportance, goldenSets as q6GoldenSets, halfSource, toHalf, type RowSet } from "./q6_K.cases.js";

export { SRC_F32, SRC_F16, SRC_BF16 };
export const QK_K = 256;

export interface K4Type {
  name: "q4_K" | "q5_K";
  /** ggml_type */
  id: number;
  /** sizeof(block_q4_K) = 144, sizeof(block_q5_K) = 176 */
  blockBytes: number;
  /** the block's fields by byte offset, for messages */
  field(offset: number): string;
}

export const Q4_K: K4Type = {
  name: "q4_K", id: 12, blockBytes: 144,
  field: (o) => (o < 2 ? `d byte ${o}` : o < 4 ? `dmin byte ${o - 2}` : o < 16 ? `scales[${o - 4}]` : `qs[${o - 16}]`),
};
export const Q5_K: K4Type = {
  name: "q5_K", id: 13, blockBytes: 176,
  field: (o) => (o < 2 ? `d byte ${o}` : o < 4 ? `dmin byte ${o - 2}` : o < 16 ? `scales[${o - 4}]` : o < 48 ? `qh[${o - 16}]` : `qs[${o - 48}]`),
};
export const K4_TYPES: readonly K4Type[] = [Q4_K, Q5_K];

// ---- importance vectors ----

/** Importance with negative entries: a third of the weights negated, one sub-block all negative,
 *  one all zero. (ggml's searches then meet negative weight sums, D and errors.) */
export function negativeImportance(n: number, seed = 23): Float32Array {
  const r = new Rng(seed);
  const w = importance(n, seed);
  for (let i = 0; i < n; i++) if (r.uniform() < 0.33) w[i] = -w[i];
  for (let i = 64; i < 96; i++) w[i] = -Math.abs(w[i]) - 0.01;
  w.fill(0, 96, 128);
  return w;
}

// ---- rows for q4_K / q5_K's own corners ----

/**
 * Rows (n a multiple of 256) aimed at q4_K / q5_K:
 * - loudquiet: one sub-block per super-block 1e6 times louder than the others, whose 6-bit scales
 *   then round to 0 (d == 0): those sub-blocks keep make_qkx2/qkx3's levels, not recomputed;
 * - loudquietmin: the same with the quiet sub-blocks shifted (mins, not scales, matter);
 * - x0nan: every sub-block starts with a NaN (so min, max and the scale are that NaN) and holds
 *   other NaNs of other payloads: which NaN the level products keep decides the bytes;
 * - x0nantrunc: the same with payloads above 255 whose low byte is below 63, so `uint8_t ls =
 *   nearest_int(NaN)` truncating before MIN(63, ls) shows;
 * - infnantail: +inf and -inf in sub-block 0 (d and dmin overflow fp16, so d = 0 * inf is NaN for
 *   every sub-block and dm too) and NaNs in the last 8 values of the other sub-blocks, where the
 *   build's requantization keeps dm's NaN (x + dm vs dm + x);
 * - infonly: +inf alone in one sub-block (d overflows, dmin does not);
 * - negscale: sub-blocks falling while their neighbours rise, mixed signs and offsets, for negative
 *   or odd scale fits;
 * - ramp32 / steps32: exact ladders over 32 values, ties for nearest_int at every level.
 */
export function quirkRows(n: number, seed = 41): { rows: Float32Array; names: string[] } {
  const names = ["loudquiet", "loudquietmin", "x0nan", "x0nantrunc", "infnantail", "infonly", "negscale", "ramp32", "steps32"];
  const r = new Rng(seed);
  const rows = new Float32Array(names.length * n);
  const row = (k: number) => rows.subarray(k * n, (k + 1) * n);
  const bits = new Uint32Array(rows.buffer);
  const b = (k: number, i: number) => k * n + i;

  row(0).forEach((_, i, a) => { a[i] = r.normal() * (i % 256 < 32 ? 1000 : 1e-3); });
  row(1).forEach((_, i, a) => { a[i] = i % 256 >= 224 ? r.normal() * 1000 : 0.5 + r.uniform() * 1e-3; });
  row(2).forEach((_, i, a) => { a[i] = r.normal() * 0.02; });
  for (let s = 0; s < n / 32; s++) {
    bits[b(2, 32 * s)] = (0x7fc00000 | ((s * 0x1357) & 0x3fffff) | (s & 1 ? 0x80000000 : 0)) >>> 0;
    for (let c = 0; c < 3; c++) bits[b(2, 32 * s + 1 + r.int(31))] = (0x7f800000 | (1 + r.int(0x7fffff))) >>> 0;
  }
  row(3).forEach((_, i, a) => { a[i] = r.normal() * 0.05; });
  for (let s = 0; s < n / 32; s++) {
    bits[b(3, 32 * s)] = (0x7fc00000 | (0x100 * (1 + (s % 7)) + (s % 60))) >>> 0;
    bits[b(3, 32 * s + 5 + (s % 20))] = 0x7fc00000 | (0x200 + s);
  }
  row(4).forEach((_, i, a) => { a[i] = ((i % 11) - 5) * 0.1; });
  for (let blk = 0; blk < n; blk += 256) {
    row(4)[blk + 3] = Infinity; row(4)[blk + 9] = -Infinity;
    for (let s = 1; s < 8; s++) for (let i = 24; i < 32; i++) if ((i + s) % 2) bits[b(4, blk + 32 * s + i)] = (0x7fc00000 | (s << 8) | i) >>> 0;
    bits[b(4, blk + 32 * 5 + 2)] = 0x7fc00077;
  }
  row(5).forEach((_, i, a) => { a[i] = r.normal() * 0.3; });
  for (let blk = 0; blk < n; blk += 256) row(5)[blk + 70] = Infinity;
  row(6).forEach((_, i, a) => {
    const s = Math.floor(i / 32), j = i % 32;
    a[i] = (s % 2 ? -(j - 16) : (j - 16) * 0.01) + (s % 3 - 1) * 4 + r.normal() * 0.01;
  });
  row(7).forEach((_, i, a) => { a[i] = (i % 32) / 2; });
  row(8).forEach((_, i, a) => { a[i] = Math.floor((i % 32) / 2) * 0.25 - 1.5 + 0.125; });
  // (as f16/bf16 sources the NaN payloads shrink to what those formats hold; the goldens of those
  // sets are made from the widened values)
  return { rows, names };
}

const IMATRICES: Record<string, ((n: number) => Float32Array) | undefined> = {
  none: undefined,
  "importance(n)": (n) => importance(n),
  "extremeImportance(n)": (n) => extremeImportance(n),
  "negativeImportance(n)": (n) => negativeImportance(n),
};

/**
 * q6_K's golden sets, then quirkRows at 256 and 512 with no imatrix, importance(n),
 * extremeImportance(n) and negativeImportance(n), and quirkRows from f16 and bf16 sources at 512;
 * then the f32 edge rows of q6_K's sets with negativeImportance(512).
 */
export function goldenSets(): RowSet[] {
  const sets = q6GoldenSets();
  for (const n of [256, 512]) {
    for (const im of Object.keys(IMATRICES)) {
      const { rows, names } = quirkRows(n);
      sets.push({ name: `quirks-f32-${n}-${im}`, n, names, src: bytesOf(rows), srcType: SRC_F32, rows, imatrix: IMATRICES[im]?.(n), imatrixName: im });
    }
  }
  for (const [label, srcType] of [["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
    for (const im of ["none", "importance(n)"]) {
      const n = 512;
      const q = quirkRows(n);
      const { src, rows } = halfSource(toHalf(q.rows, srcType), srcType);
      sets.push({ name: `quirks-${label}-${n}-${im}`, n, names: q.names, src, srcType, rows, imatrix: IMATRICES[im]?.(n), imatrixName: im });
    }
  }
  const base = sets.find((s) => s.name === "f32-512-none")!;
  sets.push({ ...base, name: "f32-512-negativeImportance(n)", imatrix: negativeImportance(512), imatrixName: "negativeImportance(n)" });
  return sets;
}

// ---- digests and diffs ----

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** First 16 hex digits of each row's sha256. */
export function rowDigests(ty: K4Type, bytes: Uint8Array, n: number): string[] {
  const rb = (n / QK_K) * ty.blockBytes;
  const out: string[] = [];
  for (let o = 0; o < bytes.length; o += rb) out.push(sha256(bytes.subarray(o, o + rb)).slice(0, 16));
  return out;
}

/** null when equal, else where the first difference is: row (and its name), block, field, both bytes,
 *  and how many bytes of that row and how many rows differ. */
export function firstDiff(ty: K4Type, ours: Uint8Array, ref: Uint8Array, n: number, names?: readonly string[]): string | null {
  if (ours.length !== ref.length) return `length ${ours.length} != ${ref.length}`;
  const rb = (n / QK_K) * ty.blockBytes;
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
