// Importance matrices: both file formats in, the per-tensor importance vectors llama-quantize
// passes to the kernels out; plus --include/--exclude-weights, the quantize.imatrix.* output keys,
// and writers for both formats (used by the test-model generator and the tests).
//
// Sources (REFERENCE §5): common/imatrix-loader.cpp (common_imatrix_load, the variant with
// has_metadata that the reference build exports), tools/quantize/quantize.cpp (load_imatrix,
// prepare_imatrix, the kv overrides), tools/imatrix/imatrix.cpp (save_imatrix, save_imatrix_legacy).
// All arithmetic on values is float32 as in C (Math.fround after each operation).

import { QuantizeError, ioError } from "./errors.js";
import type { ByteSource } from "./io/types.js";
import { Cursor } from "./gguf/cursor.js";
import { readGgufHeader, getKv, pad } from "./gguf/read.js";
import { ggufBytes } from "./gguf/write.js";
import { ValueType, kv, cString, decodeString, encodeString, truncateBytes, quote, describeType, type GgufKv } from "./gguf/values.js";
import { T } from "./types.js";

export interface Imatrix {
  /** the source's name */
  fileName: string;
  /**
   * weight name -> the values llama-quantize hands to quantize for it: ne0 values per matrix
   * (ne0 * n_expert for MoE tensors). Legacy: sums / ncall (sums as is when ncall <= 0);
   * GGUF: in_sum2 / count per matrix, 1.0 for a matrix whose count is 0. Ordered by name
   * (bytewise, as the loader's std::map).
   */
  entries: Map<string, Float32Array>;
  /** dataset names (legacy: at most one) */
  datasets: string[];
  /** chunks the matrix was computed on (legacy trailer / imatrix.chunk_count, as int32) */
  chunkCount: number;
  /** tokens per chunk (imatrix.chunk_size; 0 for legacy files) */
  chunkSize: number;
  isLegacy: boolean;
  /** GGUF file with all three imatrix.* keys (llama-quantize refuses a GGUF imatrix without them) */
  hasMetadata: boolean;
  /** with `raw: true`: what llama-imatrix itself holds per entry (for `stats`), same order as entries */
  raw?: Map<string, RawImatrixEntry>;
}

/**
 * An entry as llama-imatrix's loader (IMatrixCollector::load_imatrix) holds it: Σx² per column and
 * matrix, tokens per matrix, and Σx when the GGUF file has ".in_sum". A legacy .dat entry becomes
 * its stored values with one count of ncall: llama-imatrix scales both by the same chunk size, so
 * every ratio it computes is the same.
 */
export interface RawImatrixEntry {
  values: Float32Array;
  counts: number[];
  activations?: Float32Array;
}

export interface LoadImatrixOptions {
  /** refuse a GGUF imatrix without its metadata keys, as llama-quantize does (default true) */
  requireMetadata?: boolean;
  /** also return the raw sums and counts (Imatrix.raw) */
  raw?: boolean;
}

const IMATRIX_DATASETS = "imatrix.datasets";
const IMATRIX_CHUNK_COUNT = "imatrix.chunk_count";
const IMATRIX_CHUNK_SIZE = "imatrix.chunk_size";

const f = Math.fround;

function badImatrix(src: ByteSource | string, what: string): QuantizeError {
  return new QuantizeError("BAD_IMATRIX", `${typeof src === "string" ? src : src.name}: ${what}`);
}

/** Bytewise order of the UTF-8 encodings (std::map<std::string> order). */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const x = encodeString(a), y = encodeString(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function sortedMap<V>(m: Map<string, V>): Map<string, V> {
  return new Map([...m.entries()].sort((p, q) => compareBytes(p[0], q[0])));
}

/** C's lround on a float: half away from zero; NaN, inf and out-of-range give LONG_MIN (x86-64 glibc). */
export function lround(x: number): number {
  if (!Number.isFinite(x) || Math.abs(x) >= 2 ** 63) return -(2 ** 63);
  return Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
}

/**
 * Loads an importance matrix, GGUF or legacy .dat, detected as common_imatrix_load does (a file
 * that starts with "GGUF" is read as GGUF; llama.cpp would retry it as .dat, which cannot succeed
 * on any file under 18 GB that starts with those bytes).
 */
export async function loadImatrix(src: ByteSource, options: LoadImatrixOptions = {}): Promise<Imatrix> {
  let isGguf = false;
  if (src.size >= 4) {
    const magic = new Uint8Array(4);
    await src.readInto(magic, 0).catch((e: unknown) => { throw ioError(e, src.name, "read"); });
    isGguf = String.fromCharCode(...magic) === "GGUF";
  }
  let m: Awaited<ReturnType<typeof loadGguf>>;
  try {
    m = isGguf ? await loadGguf(src, !!options.raw) : await loadLegacy(src, !!options.raw);
  } catch (e) {
    if (e instanceof RangeError) throw new QuantizeError("BAD_IMATRIX", `${src.name}: an entry is too large to hold in memory (${e.message})`, { cause: e });
    throw e;
  }
  if (isGguf && !m.hasMetadata && (options.requireMetadata ?? true)) {
    const missing = [IMATRIX_DATASETS, IMATRIX_CHUNK_COUNT, IMATRIX_CHUNK_SIZE].filter((k) => !m.present.has(k));
    throw badImatrix(src, `missing imatrix metadata (${missing.join(", ")}): not an imatrix written by llama-imatrix?`);
  }
  const { present: _present, ...out } = m;
  return out;
}

async function loadGguf(src: ByteSource, keepRaw: boolean): Promise<Imatrix & { present: Set<string> }> {
  const h = await readGgufHeader(src).catch((e: unknown) => {
    if (e instanceof QuantizeError) throw new QuantizeError("BAD_IMATRIX", e.message, { cause: e });
    throw e;
  });
  // gguf_init_from_file with no_alloc = false reads the whole data section, padding included
  const dataEnd = h.dataOffset + h.tensors.reduce((s, t) => s + pad(t.nbytes, h.alignment), 0);
  if (dataEnd > h.fileSize) throw badImatrix(src, `truncated: tensor data ends at byte ${dataEnd} (with padding), the file at ${h.fileSize}`);
  if (h.tensors.length < 1) throw badImatrix(src, "no data: the GGUF file has no tensors");

  const present = new Set(h.kvs.map((k) => k.key));
  const datasets: string[] = [];
  const ds = getKv(h, IMATRIX_DATASETS);
  if (ds && ds.type === ValueType.ARRAY && ds.value.itemType === ValueType.STRING) {
    for (const s of ds.value.items) datasets.push(cString(s));
  }
  const u32 = (key: string): number => {
    const k = getKv(h, key);
    if (k === undefined) return 0;
    if (k.type !== ValueType.UINT32) throw badImatrix(src, `${key} must be of type u32 but is ${describeType(k)}`);
    return k.value | 0; // stored in an int32_t
  };
  const chunkCount = u32(IMATRIX_CHUNK_COUNT);
  const chunkSize = u32(IMATRIX_CHUNK_SIZE);

  type Pair = { sums?: (typeof h.tensors)[number]; counts?: (typeof h.tensors)[number]; activations?: (typeof h.tensors)[number] };
  const pairs = new Map<string, Pair>();
  for (const t of h.tensors) {
    if (t.name.length === 0) continue;
    let base: string, part: keyof Pair;
    if (t.name.endsWith(".in_sum2")) { base = t.name.slice(0, -".in_sum2".length); part = "sums"; }
    else if (t.name.endsWith(".counts")) { base = t.name.slice(0, -".counts".length); part = "counts"; }
    else if (keepRaw && t.name.endsWith(".in_sum")) { base = t.name.slice(0, -".in_sum".length); part = "activations"; }
    else continue; // ".in_sum" of newer writers: only llama-imatrix reads it (raw)
    const p = pairs.get(base) ?? {};
    p[part] = t;
    pairs.set(base, p);
  }

  const entries = new Map<string, Float32Array>();
  const raw = new Map<string, RawImatrixEntry>();
  for (const [name, p] of sortedMap(pairs)) {
    if (!p.sums && !p.counts) continue; // ".in_sum" alone: llama-imatrix refuses it, llama-quantize never sees it
    if (!p.sums || !p.counts) throw badImatrix(src, `mismatched sums and counts for ${quote(name)} (${p.sums ? ".counts" : ".in_sum2"} is missing)`);
    if (p.sums.type !== T.F32 || p.counts.type !== T.F32) throw badImatrix(src, `sums and counts for ${quote(name)} must be f32`);
    const sums = await readF32(src, h.dataOffset + p.sums.offset, p.sums.nbytes);
    const countsF = await readF32(src, h.dataOffset + p.counts.offset, p.counts.nbytes);
    const nc = countsF.length;
    if (nc === 0) throw badImatrix(src, `${quote(name + ".counts")} has no elements`); // llama.cpp divides by zero here
    const ne0 = Math.floor(sums.length / nc);
    const v = new Float32Array(sums.length); // elements past nc*ne0 stay 0, as in load_imatrix
    for (let j = 0; j < nc; j++) {
      const c = f(lround(countsF[j])); // (float) of the int64 count
      for (let i = 0; i < ne0; i++) v[j * ne0 + i] = c > 0 ? f(sums[j * ne0 + i] / c) : 1;
    }
    entries.set(name, v);
    if (keepRaw) {
      let activations: Float32Array | undefined;
      if (p.activations) {
        if (p.activations.type !== T.F32 || p.activations.nbytes !== p.sums.nbytes) throw badImatrix(src, `mismatched sums and counts for ${quote(name)} (".in_sum" does not match ".in_sum2")`);
        activations = await readF32(src, h.dataOffset + p.activations.offset, p.activations.nbytes);
      }
      raw.set(name, { values: sums, counts: [...countsF].map(lround), activations });
    }
  }
  const hasMetadata = present.has(IMATRIX_DATASETS) && present.has(IMATRIX_CHUNK_COUNT) && present.has(IMATRIX_CHUNK_SIZE);
  return { fileName: src.name, entries, datasets, chunkCount, chunkSize, isLegacy: false, hasMetadata, present, ...(keepRaw ? { raw } : {}) };
}

async function readF32(src: ByteSource, position: number, nbytes: number): Promise<Float32Array> {
  const b = new Uint8Array(nbytes);
  if (nbytes > 0) await src.readInto(b, position).catch((e: unknown) => { throw ioError(e, src.name, "read"); });
  return new Float32Array(b.buffer, 0, nbytes / 4);
}

async function loadLegacy(src: ByteSource, keepRaw: boolean): Promise<Imatrix & { present: Set<string> }> {
  const r = new Cursor(src, 1 << 20, "BAD_IMATRIX", "truncated");
  if (src.size < 4) throw badImatrix(src, `not an imatrix: neither GGUF nor legacy .dat (${src.size} bytes)`);
  await r.fill(4, "entry count");
  const nEntries = r.i32();
  // smallest entry: name length + ncall + nval + one value
  if (nEntries < 1) throw badImatrix(src, `no data: legacy imatrix entry count is ${nEntries} (or not an imatrix file)`);
  if (nEntries * 16 > r.remaining()) {
    throw badImatrix(src, `legacy imatrix claims ${nEntries} entries, more than its ${r.remaining()} remaining bytes can hold (or not an imatrix file)`);
  }
  const raw = new Map<string, { sums: Float32Array; ncall: number }>();
  for (let i = 0; i < nEntries; i++) {
    await r.fill(4, `name length of entry ${i + 1}`);
    const len = r.i32();
    if (len < 0 || len > r.remaining()) throw badImatrix(src, `entry ${i + 1}: name length ${len} is invalid (${r.remaining()} bytes left)`);
    await r.fill(len, `name of entry ${i + 1}`);
    const name = cString(decodeString(r.bytes(len)));
    await r.fill(8, `counts of entry ${i + 1} (${quote(name)})`);
    const ncall = r.i32();
    const nval = r.i32();
    if (nval < 1) throw badImatrix(src, `entry ${i + 1} (${quote(name)}) has ${nval} values`);
    if (nval * 4 > r.remaining()) throw badImatrix(src, `entry ${i + 1} (${quote(name)}): ${nval} values need ${nval * 4} bytes, only ${r.remaining()} are left`);
    await r.fill(nval * 4, `values of entry ${i + 1} (${quote(name)})`);
    const sums = new Float32Array(r.copy(nval * 4).buffer);
    raw.set(name, { sums, ncall }); // a repeated name replaces the earlier entry, as std::map's operator[]
  }

  // the trailer (chunk count, dataset name) is optional and read leniently, as the C++ does
  let chunkCount = 0;
  const datasets: string[] = [];
  const left = r.remaining();
  if (left > 0) {
    const k = Math.min(left, 4);
    await r.fill(k, "chunk count");
    const b = r.bytes(k);
    chunkCount = (b[0] | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) | 0;
    if (k === 4 && r.remaining() >= 4) {
      await r.fill(4, "dataset name length");
      const len = r.i32();
      if (len > 0 && len <= r.remaining()) {
        await r.fill(len, "dataset name");
        datasets.push(cString(decodeString(r.bytes(len))));
      }
    }
  }

  const entries = new Map<string, Float32Array>();
  const rawOut = new Map<string, RawImatrixEntry>();
  for (const [name, { sums, ncall }] of sortedMap(raw)) {
    if (keepRaw) rawOut.set(name, { values: sums, counts: [ncall] });
    const v = new Float32Array(sums.length);
    if (ncall > 0) {
      const n = f(ncall);
      for (let i = 0; i < sums.length; i++) v[i] = f(sums[i] / n);
    } else v.set(sums);
    entries.set(name, v);
  }
  return { fileName: src.name, entries, datasets, chunkCount, chunkSize: 0, isLegacy: true, hasMetadata: false, present: new Set(), ...(keepRaw ? { raw: rawOut } : {}) };
}

export interface ImatrixFilter {
  /** --include-weights: keep only entries whose name contains one of these */
  include?: readonly string[];
  /** --exclude-weights: drop entries whose name contains one of these */
  exclude?: readonly string[];
}

/** prepare_imatrix's filtering (substring match; include and exclude cannot be combined). */
export function filterImatrix(m: Imatrix, filter: ImatrixFilter): Imatrix {
  const include = filter.include ?? [];
  const exclude = filter.exclude ?? [];
  if (include.length > 0 && exclude.length > 0) {
    throw new QuantizeError("USAGE", "--include-weights and --exclude-weights cannot be used together");
  }
  const keep = (name: string) =>
    (exclude.length === 0 || !exclude.some((s) => name.includes(s))) && (include.length === 0 || include.some((s) => name.includes(s)));
  return { ...m, entries: new Map([...m.entries].filter(([name]) => keep(name))) };
}

export const QUANTIZE_IMATRIX_FILE = "quantize.imatrix.file";
export const QUANTIZE_IMATRIX_DATASET = "quantize.imatrix.dataset";
export const QUANTIZE_IMATRIX_N_ENTRIES = "quantize.imatrix.entries_count";
export const QUANTIZE_IMATRIX_N_CHUNKS = "quantize.imatrix.chunks_count";

/**
 * The quantize.imatrix.* KVs llama-quantize appends (as kv overrides, after the user's) when the
 * filtered imatrix is not empty: the path as given on the command line cut to 127 bytes, the first
 * dataset cut to 127 bytes (if any), the entry count after filtering, and the chunk count if > 0.
 * Integer overrides are written as u32 of |value| (PR #14182). Empty list when entriesCount is 0
 * (llama-quantize then passes no imatrix at all).
 */
export function imatrixKvs(m: Pick<Imatrix, "datasets" | "chunkCount">, fileName: string, entriesCount: number): GgufKv[] {
  if (entriesCount === 0) return [];
  const str127 = (s: string) => truncateBytes(cString(s), 127);
  const u32abs = (n: number) => Number(BigInt.asUintN(32, BigInt(Math.abs(n))));
  const out: GgufKv[] = [kv.str(QUANTIZE_IMATRIX_FILE, str127(fileName))];
  if (m.datasets.length > 0) out.push(kv.str(QUANTIZE_IMATRIX_DATASET, str127(m.datasets[0])));
  out.push(kv.u32(QUANTIZE_IMATRIX_N_ENTRIES, u32abs(entriesCount)));
  if (m.chunkCount > 0) out.push(kv.u32(QUANTIZE_IMATRIX_N_CHUNKS, u32abs(m.chunkCount)));
  return out;
}

// ---- writers (llama-imatrix's two output formats) ----

/** What llama-imatrix collects for one weight (its `Stats`). */
export interface ImatrixStat {
  /** the weight's name, e.g. "blk.0.ffn_down_exps.weight" */
  name: string;
  /** Σx² per input column, matrix after matrix: ne0 * counts.length values */
  values: Float32Array;
  /** tokens seen per matrix (per expert for MoE; one for dense weights) */
  counts: readonly number[];
  /** Σx per input column (written only to GGUF, as ".in_sum", by newer llama-imatrix) */
  activations?: Float32Array;
}

export interface ImatrixMeta {
  /** GGUF: imatrix.datasets; legacy: the last one is written as the dataset name */
  datasets: readonly string[];
  /** chunks processed (m_last_chunk) */
  chunkCount: number;
  /** tokens per chunk (n_ctx / n_parallel) */
  chunkSize: number;
}

/** save_imatrix: a GGUF imatrix, byte for byte as llama-imatrix writes it. */
export function writeGgufImatrix(stats: readonly ImatrixStat[], meta: ImatrixMeta): Uint8Array {
  const kvs: GgufKv[] = [
    kv.str("general.type", "imatrix"),
    kv.arr(IMATRIX_DATASETS, ValueType.STRING, [...meta.datasets]),
    kv.u32(IMATRIX_CHUNK_COUNT, meta.chunkCount),
    kv.u32(IMATRIX_CHUNK_SIZE, meta.chunkSize),
  ];
  const tensors: { name: string; ne: number[]; type: number; data: Uint8Array }[] = [];
  const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (const s of [...stats].sort((a, b) => compareBytes(a.name, b.name))) {
    const nval = s.values.length, nmat = s.counts.length;
    if (nval === 0 || nmat === 0) continue;
    tensors.push({ name: `${s.name}.in_sum2`, ne: [Math.trunc(nval / nmat), nmat], type: T.F32, data: bytesOf(s.values) });
    tensors.push({ name: `${s.name}.counts`, ne: [1, nmat], type: T.F32, data: bytesOf(Float32Array.from(s.counts)) });
    if (s.activations && s.activations.length > 0) {
      tensors.push({ name: `${s.name}.in_sum`, ne: [Math.trunc(s.activations.length / nmat), nmat], type: T.F32, data: bytesOf(s.activations) });
    }
  }
  return ggufBytes(kvs, tensors);
}

/** save_imatrix_legacy: a .dat imatrix, byte for byte as llama-imatrix --output-format dat writes it. */
export function writeLegacyImatrix(stats: readonly ImatrixStat[], meta: ImatrixMeta): Uint8Array {
  const stored = stats.filter((s) => s.counts.length > 0 && s.counts.some((c) => c !== 0)).sort((a, b) => compareBytes(a.name, b.name));
  const parts: Uint8Array[] = [];
  const i32 = (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, v, true); parts.push(b); };
  i32(stored.length);
  for (const s of stored) {
    const name = encodeString(s.name);
    i32(name.length);
    parts.push(name);
    const maxCount = Math.max(...s.counts);
    const ncall = Math.trunc((maxCount + (meta.chunkSize - 1)) / meta.chunkSize); // ceiling division in C integers
    i32(ncall);
    const nval = s.values.length, nmat = s.counts.length;
    i32(nval);
    if (nval > 0 && nmat > 0) {
      const tmp = new Float32Array(nval);
      const per = Math.trunc(nval / nmat);
      if (per === 0) throw new RangeError(`imatrix entry ${quote(s.name)}: ${nval} values for ${nmat} matrices`);
      for (let i = 0; i < nval; i++) {
        let count = f(s.counts[Math.trunc(i / per)]);
        let value = s.values[i];
        if (count === 0) { value = 1; count = 1; }
        tmp[i] = f(f(value / count) * f(ncall));
      }
      parts.push(new Uint8Array(tmp.buffer));
    }
  }
  i32(meta.chunkCount);
  const dataset = encodeString(meta.datasets.length > 0 ? meta.datasets[meta.datasets.length - 1] : "");
  i32(dataset.length);
  parts.push(dataset);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
