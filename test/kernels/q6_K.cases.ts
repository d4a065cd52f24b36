// The q6_K row sets that scripts/make-q6k-goldens.ts hashes with llama.cpp and test/kernels/q6_K.test.ts
// hashes with our kernel: one definition, so the two can never drift apart. Also the exact half-float
// widening the oracle side needs (llama.cpp only takes f32 rows through ggml_quantize_chunk).

import { createHash } from "node:crypto";
import { edgeRows, importance, nonFiniteRows, nonFiniteRowsMore, subBlockRows } from "../support/rows.js";
import { Rng } from "../support/random.js";

export const Q6_K = 14;
export const QK_K = 256;
export const BLOCK_BYTES = 210;
export const SRC_F32 = 0;
export const SRC_F16 = 1;
export const SRC_BF16 = 30;

// ---- half floats, bit exact ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f32 -> f16 bits, round to nearest even (only has to be deterministic: both sides read its output). */
export function f32ToF16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const e = (b >>> 23) & 0xff;
  let m = b & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 | (m >>> 13) : 0);
  const he = e - 127 + 15;
  if (he >= 0x1f) return sign | 0x7c00;
  if (he <= 0) {
    if (he < -10) return sign;
    m |= 0x800000;
    const shift = 14 - he;
    let hm = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && hm & 1)) hm++;
    return sign | hm;
  }
  let h = sign | (he << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return h;
}

/** f16 bits -> f32 bits, exactly as ggml_compute_fp16_to_fp32 on x86 (NaNs come out quiet, payload kept). */
export function f16ToF32Bits(h: number): number {
  const s = (h & 0x8000) << 16;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return (s | 0x7f800000 | (m << 13) | (m ? 0x400000 : 0)) >>> 0;
  if (e === 0) {
    if (m === 0) return s >>> 0;
    let ee = 127 - 15 + 1;
    let mm = m;
    while (!(mm & 0x400)) { mm <<= 1; ee--; }
    return (s | (ee << 23) | ((mm & 0x3ff) << 13)) >>> 0;
  }
  return (s | ((e + 112) << 23) | (m << 13)) >>> 0;
}

/** f32 -> bf16 bits (ggml_compute_fp32_to_bf16: RNE, NaN made quiet). */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}

/** Half-float source bytes and the f32 rows llama.cpp would widen them to. */
export function halfSource(bits: Uint16Array, srcType: number): { src: Uint8Array; rows: Float32Array } {
  const wide = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) wide[i] = srcType === SRC_F16 ? f16ToF32Bits(bits[i]) : (bits[i] << 16) >>> 0;
  return { src: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), rows: new Float32Array(wide.buffer) };
}

export function toHalf(rows: Float32Array, srcType: number): Uint16Array {
  const out = new Uint16Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = srcType === SRC_F16 ? f32ToF16(rows[i]) : f32ToBf16(rows[i]);
  return out;
}

export const bytesOf = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

// ---- importance vectors beyond rows.ts's importance() ----

/** Zeros (every 5th weight, one whole 16-wide sub-block, the whole second super-block) and extremes
 *  (1e30, 3e38, 1e-30, subnormals) mixed into ordinary positive weights. */
export function extremeImportance(n: number, seed = 11): Float32Array {
  const r = new Rng(seed);
  const w = new Float32Array(n);
  const extremes = [0, 1e30, 3e38, 1e-30, 1e-40, 1.4e-45, 1e20, 1e-20, 65504];
  for (let i = 0; i < n; i++) w[i] = r.uniform() < 0.25 ? extremes[r.int(extremes.length)] : r.uniform() * 2 + 0.01;
  for (let i = 0; i < n; i += 5) w[i] = 0;
  w.fill(0, 32, 48);
  if (n >= 512) w.fill(0, 256, 512);
  return w;
}

/** Ordinary positive weights with NaNs (several payloads, quiet and signalling) and infinities. */
export function nonFiniteImportance(n: number, seed = 13): Float32Array {
  const r = new Rng(seed);
  const w = new Float32Array(n).map(() => r.uniform() + 0.01);
  const bits = new Uint32Array(w.buffer);
  const specials = [0x7fc00000, 0xffc00000, 0x7f800001, 0x7fc12345, 0xffe00001, 0x7f800000, 0xff800000];
  for (let c = n >> 4; c > 0; c--) bits[r.int(n)] = specials[r.int(specials.length)];
  return w;
}

// ---- NaNs with payloads ----

/** Special bit patterns per source type: NaNs with and without payloads (quiet and signalling, both
 *  signs), infinities, the largest finite values, the smallest subnormals, -0. */
export const SPECIALS: Record<number, number[]> = {
  [SRC_F32]: [0x7fc00000, 0xffc00000, 0x7f800001, 0x7fc12345, 0xffa00000, 0x7f800000, 0xff800000, 0x7f7fffff, 0x00000001, 0x80000001, 0x80000000],
  [SRC_F16]: [0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe00, 0x0001, 0x8001, 0x03ff, 0x7bff, 0xfbff, 0x8000],
  [SRC_BF16]: [0x7f80, 0xff80, 0x7fc0, 0x7f81, 0xffc0, 0x0001, 0x8001, 0x007f, 0x7f7f, 0xff7f, 0x8000],
};

/**
 * Rows where NaNs of different payloads (and inf*0's default NaN) meet inside one 16-wide sub-block,
 * where the result depends on which NaN an op keeps. Row r: ordinary values of size 0.02 (even r) or
 * 1e24 (odd r: x*x overflows, so inf*0 NaNs appear; 6e4 for f16), and 2-5 specials in each of a few
 * sub-blocks. Returns source bits (u32 for f32, u16 for f16/bf16) and the f32 rows llama.cpp sees.
 */
export function nanPayloadSource(n: number, srcType: number, nrows = 8, seed = 17): { src: Uint8Array; rows: Float32Array; names: string[] } {
  const r = new Rng(seed);
  const vals = new Float32Array(n * nrows);
  for (let row = 0; row < nrows; row++) {
    const big = row % 2 ? (srcType === SRC_F16 ? 6e4 : 1e24) : 0.02;
    for (let i = 0; i < n; i++) vals[row * n + i] = r.normal() * big;
  }
  const bits = srcType === SRC_F32 ? new Uint32Array(vals.buffer) : toHalf(vals, srcType);
  const sp = SPECIALS[srcType];
  for (let row = 0; row < nrows; row++) {
    for (let k = 1 + r.int(n / 32); k > 0; k--) {
      const base = row * n + 16 * r.int(n / 16);
      for (let c = 2 + r.int(4); c > 0; c--) bits[base + r.int(16)] = sp[r.int(sp.length)];
    }
  }
  const names = Array.from({ length: nrows }, (_, row) => `nanpayload${row % 2 ? "-big" : ""}`);
  if (srcType === SRC_F32) return { src: bytesOf(vals), rows: vals, names };
  return { ...halfSource(bits as Uint16Array, srcType), names };
}

// ---- the golden sets ----

export interface RowSet {
  /** unique key in the golden file */
  name: string;
  n: number;
  /** one name per row (the case it exercises) */
  names: string[];
  /** source bytes handed to our kernel, as srcType */
  src: Uint8Array;
  srcType: number;
  /** the same rows as the f32 values llama.cpp quantizes */
  rows: Float32Array;
  imatrix?: Float32Array;
  /** how imatrix was made, for the golden file */
  imatrixName: string;
}

/** Row sets one after the other, names too. */
export function concatRows(parts: { rows: Float32Array; names: string[] }[]): { rows: Float32Array; names: string[] } {
  const rows = new Float32Array(parts.reduce((s, p) => s + p.rows.length, 0));
  let o = 0;
  for (const p of parts) { rows.set(p.rows, o); o += p.rows.length; }
  return { rows, names: parts.flatMap((p) => p.names) };
}

function finiteRows(n: number) {
  return concatRows([edgeRows(n), subBlockRows(n)]);
}

/** The golden sets' f32 rows at any width: edge, sub-block and non-finite cases. */
export function allRows(n: number) {
  const nf = nonFiniteRows(n);
  return concatRows([finiteRows(n), { rows: nf, names: ["nf-inf", "nf-nan", "nf-3e38"] }, nonFiniteRowsMore(n)]);
}

const IMATRICES: Record<string, ((n: number) => Float32Array) | undefined> = {
  none: undefined,
  "importance(n)": (n) => importance(n),
  "extremeImportance(n)": (n) => extremeImportance(n),
  "nonFiniteImportance(n)": (n) => nonFiniteImportance(n),
};

/**
 * f32 rows: edgeRows(n) (26 cases + 4 heavy-tailed rows), subBlockRows(n), nonFiniteRows(n) and
 * nonFiniteRowsMore(n), at n = 256, 512, 4096, with no imatrix and with importance(n); the extreme
 * imatrix at 512. f16 and bf16 sources: the finite rows converted, at 512, both paths. Then
 * nanPayloadSource rows from all three source types at 512, without an imatrix, with importance(n)
 * and with nonFiniteImportance(n).
 */
export function goldenSets(): RowSet[] {
  const sets: RowSet[] = [];
  const f32Set = (n: number, im: string) => {
    const { rows, names } = allRows(n);
    const imatrix = IMATRICES[im]?.(n);
    sets.push({ name: `f32-${n}-${im}`, n, names, src: bytesOf(rows), srcType: SRC_F32, rows, imatrix, imatrixName: im });
  };
  for (const n of [256, 512, 4096]) for (const im of ["none", "importance(n)"]) f32Set(n, im);
  f32Set(512, "extremeImportance(n)");
  for (const [label, srcType] of [["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
    for (const im of ["none", "importance(n)"]) {
      const n = 512;
      const fin = finiteRows(n);
      const { src, rows } = halfSource(toHalf(fin.rows, srcType), srcType);
      sets.push({ name: `${label}-${n}-${im}`, n, names: fin.names, src, srcType, rows, imatrix: IMATRICES[im]?.(n), imatrixName: im });
    }
  }
  for (const [label, srcType] of [["f32", SRC_F32], ["f16", SRC_F16], ["bf16", SRC_BF16]] as const) {
    for (const im of ["none", "importance(n)", "nonFiniteImportance(n)"]) {
      const n = 512;
      const { src, rows, names } = nanPayloadSource(n, srcType);
      sets.push({ name: `${label}-${n}-nanpayload-${im}`, n, names, src, srcType, rows, imatrix: IMATRICES[im]?.(n), imatrixName: im });
    }
  }
  return sets;
}

// ---- digests and diffs ----

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** First 16 hex digits of each row's sha256. */
export function rowDigests(bytes: Uint8Array, n: number): string[] {
  const rb = (n / QK_K) * BLOCK_BYTES;
  const out: string[] = [];
  for (let o = 0; o < bytes.length; o += rb) out.push(sha256(bytes.subarray(o, o + rb)).slice(0, 16));
  return out;
}

const field = (o: number) => (o < 128 ? `ql[${o}]` : o < 192 ? `qh[${o - 128}]` : o < 208 ? `scales[${o - 192}]` : `d byte ${o - 208}`);

/** null when equal, else where the first difference is: row, block, field, both bytes. */
export function firstDiff(ours: Uint8Array, ref: Uint8Array, n: number, names?: string[]): string | null {
  if (ours.length !== ref.length) return `length ${ours.length} != ${ref.length}`;
  const rb = (n / QK_K) * BLOCK_BYTES;
  for (let i = 0; i < ours.length; i++) {
    if (ours[i] !== ref[i]) {
      const row = Math.floor(i / rb), inRow = i % rb, block = Math.floor(inRow / BLOCK_BYTES);
      let count = 0;
      for (let j = row * rb; j < (row + 1) * rb; j++) if (ours[j] !== ref[j]) count++;
      const hex = (v: number) => "0x" + v.toString(16).padStart(2, "0");
      return `row ${row}${names ? ` (${names[row]})` : ""} block ${block} byte ${inRow} (${field(inRow % BLOCK_BYTES)}): ours ${hex(ours[i])}, llama.cpp ${hex(ref[i])}; ${count} bytes differ in that row`;
    }
  }
  return null;
}
