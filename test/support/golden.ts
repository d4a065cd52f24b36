// Kernel goldens: the deterministic cases that scripts/make-kernel-goldens.ts hashes through the
// reference library and that the kernel tests regenerate and hash through our kernels.
//
// A case is (type, set, imatrix, width). Its key reads "q4_0/edge/imatrix/576". The set decides
// the rows and how they are stored for the kernel (f32, or f16/bf16 that the driver widens);
// `oracleRows` are the same values as f32, widened exactly as llama.cpp would.

import { createHash } from "node:crypto";
import { typeByName, type GgmlType } from "../../src/types.js";
import { edgeRows, importance, moreNonFiniteRows, nonFiniteRows, randomBitRows, specialValueRows } from "./rows.js";
import { bytesOf, toBf16, toF16, widenBf16, widenF16 } from "./floats.js";

/** ggml_type ids of the source layouts (assembly/rows.ts). */
export const SRC = { f32: 0, f16: 1, bf16: 30 } as const;
export type SrcName = keyof typeof SRC;

export const GOLDEN_WIDTHS = [32, 64, 576, 4096] as const;

/**
 * The sets of rows:
 * - edge:      every edge case of rows.ts plus 8 heavy-tailed rows, f32 source
 * - edge-f16:  the same rows rounded to f16, stored as f16 (the driver widens them)
 * - edge-bf16: the same rows rounded to bf16, stored as bf16
 * - inf:       rows with ±inf and values whose squares or differences overflow, but no NaN
 * - nan:       rows with NaNs (signs, payloads, at block starts, whole NaN blocks)
 * - specials:  the special binary32 values alone (fp16/bf16 rounding boundaries, NaN payloads)
 * - bits:      random binary32 bit patterns
 *
 * The nan set has no imatrix cases (NAN_PLAIN_ONLY): with NaN inputs, the imatrix searches meet two
 * different NaNs in one operation, and which one x86 or V8 keeps depends on each compiler's operand
 * order (assembly/search.ts). Only blocks that llama-quantize rejects (NaN scale) are affected; the
 * live tests check those with a validity-aware comparison instead of a digest.
 */
export const SETS = ["edge", "edge-f16", "edge-bf16", "inf", "nan", "specials", "bits"] as const;
export type SetName = (typeof SETS)[number];

/** Types whose quantize function ignores the importance vector (ggml_quantize_chunk passes it on,
 *  but quantize_q8_0 & co. drop it), so an imatrix case would only repeat the plain one. */
const IGNORES_IMATRIX = new Set(["f32", "f16", "bf16", "q8_0", "q8_1", "tq1_0", "tq2_0", "mxfp4", "nvfp4", "q1_0", "q2_0"]);

export function usesImatrix(ty: GgmlType): boolean { return !IGNORES_IMATRIX.has(ty.name); }

/** The default sets for a type: float targets get the bit-level sets, quantized types the edge rows. */
export function defaultSets(ty: GgmlType): SetName[] {
  return ty.quantized ? ["edge", "edge-f16", "edge-bf16", "inf", "nan"] : ["edge", "edge-f16", "edge-bf16", "specials", "bits"];
}

export interface GoldenCase {
  key: string;
  type: GgmlType;
  set: SetName;
  imatrix?: Float32Array;
  n: number;
  nrows: number;
  src: SrcName;
  /** what our kernel reads (srcType = SRC[src]) */
  srcBytes: Uint8Array;
  /** the same values as f32, as the reference library reads them */
  oracleRows: Float32Array;
}

export function caseKey(type: string, set: string, imatrix: boolean, n: number): string {
  return `${type}/${set}/${imatrix ? "imatrix" : "plain"}/${n}`;
}

export function parseKey(key: string): { type: GgmlType; set: SetName; imatrix: boolean; n: number } {
  const [t, set, im, n] = key.split("/");
  const type = typeByName(t);
  if (!type || !(SETS as readonly string[]).includes(set) || (im !== "plain" && im !== "imatrix")) throw new Error(`bad golden key ${key}`);
  return { type, set: set as SetName, imatrix: im === "imatrix", n: Number(n) };
}

function rowsOf(set: SetName, n: number): { rows: Float32Array; src: SrcName } {
  switch (set) {
    case "edge": return { rows: edgeRows(n, 1, 8).rows, src: "f32" };
    case "edge-f16": return { rows: edgeRows(n, 2, 8).rows, src: "f16" };
    case "edge-bf16": return { rows: edgeRows(n, 3, 8).rows, src: "bf16" };
    case "inf": return { rows: infRows(n), src: "f32" };
    case "nan": return { rows: nanRows(n), src: "f32" };
    case "specials": return { rows: specialValueRows(n, 2), src: "f32" };
    case "bits": return { rows: randomBitRows(n, 4), src: "f32" };
  }
}

/** Splits the non-finite rows of rows.ts by whether they hold a NaN. */
function nonFiniteParts(n: number): { inf: Float32Array[]; nan: Float32Array[] } {
  const all = [nonFiniteRows(n), ...(n >= 64 ? [moreNonFiniteRows(n)] : []), specialValueRows(n, 2)];
  const out = { inf: [] as Float32Array[], nan: [] as Float32Array[] };
  for (const rows of all) for (let r = 0; r * n < rows.length; r++) {
    const row = rows.subarray(r * n, (r + 1) * n);
    (row.some(Number.isNaN) ? out.nan : out.inf).push(row);
  }
  // the special values again with every NaN replaced by an infinity of its sign: an inf-only row
  const specials = specialValueRows(n, 1);
  const bits = new Uint32Array(specials.buffer);
  for (let i = 0; i < bits.length; i++) if (Number.isNaN(specials[i])) bits[i] = (bits[i] & 0x80000000) | 0x7f800000;
  out.inf.push(specials);
  return out;
}

function concat(parts: Float32Array[]): Float32Array {
  const rows = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { rows.set(p, o); o += p.length; } // same-type set copies bits: NaN payloads survive
  return rows;
}

/** Rows with ±inf and overflowing values but no NaN (exact on both paths). */
export function infRows(n: number): Float32Array { return concat(nonFiniteParts(n).inf); }
/** Rows holding NaNs. */
export function nanRows(n: number): Float32Array { return concat(nonFiniteParts(n).nan); }

/** Sets whose imatrix cases are not made (see SETS). */
const NAN_PLAIN_ONLY: ReadonlySet<SetName> = new Set<SetName>(["nan", "specials", "bits"]);

/** Builds one case: the rows, how our kernel reads them and what the oracle reads. */
export function makeCase(type: GgmlType, set: SetName, imatrix: boolean, n: number): GoldenCase {
  const { rows, src } = rowsOf(set, n);
  let srcBytes: Uint8Array;
  let oracleRows: Float32Array;
  if (src === "f16") { const h = toF16(rows); srcBytes = bytesOf(h); oracleRows = widenF16(h); }
  else if (src === "bf16") { const h = toBf16(rows); srcBytes = bytesOf(h); oracleRows = widenBf16(h); }
  else { srcBytes = bytesOf(rows); oracleRows = rows; }
  return {
    key: caseKey(type.name, set, imatrix, n), type, set, n, nrows: rows.length / n, src, srcBytes, oracleRows,
    imatrix: imatrix ? importance(n) : undefined,
  };
}

/** Every case of a type (sets default to defaultSets). */
export function casesFor(type: GgmlType, sets: readonly SetName[] = defaultSets(type), widths: readonly number[] = GOLDEN_WIDTHS): GoldenCase[] {
  const out: GoldenCase[] = [];
  for (const set of sets) for (const imatrix of usesImatrix(type) && !NAN_PLAIN_ONLY.has(set) ? [false, true] : [false]) for (const n of widths) {
    if (n % type.blockSize !== 0) continue;
    out.push(makeCase(type, set, imatrix, n));
  }
  return out;
}

export function sha256(...parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** Digest of a case's inputs: the source bytes as the kernel reads them, then the imatrix. */
export function inputDigest(c: GoldenCase): string {
  return c.imatrix ? sha256(c.srcBytes, bytesOf(c.imatrix)) : sha256(c.srcBytes);
}

export interface GoldenEntry { rows: number; input: string; output: string }
export interface GoldenFile {
  made_by: string;
  reference: string;
  generator: string;
  cases: Record<string, GoldenEntry>;
}
