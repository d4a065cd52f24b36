// GGUF header reader: metadata and tensor infos, never the tensor data. It reads the source in
// bounded chunks and checks every count, length and dimension against what is left of the file
// before allocating anything for it, so a hostile header costs at most about the file's size.
//
// Validation mirrors gguf_init_from_reader (ggml/src/gguf.cpp @067d44f6) and the tensor-bounds check
// of llama_model_loader (llama_tensor_weight): a file this reader accepts is one llama.cpp loads for
// quantization, and the reverse. Where llama.cpp is looser we say so:
//   - a dimension above 2^53-1 is refused (llama.cpp accepts it only in zero-element tensors);
//   - a tensor name holding a NUL byte is cut there, as ggml_set_name(name.c_str()) does.
// Every failure is QuantizeError("BAD_FILE", "<file>: <what is wrong, with the value>"), one line.

import { QuantizeError } from "../errors.js";
import { Cursor } from "./cursor.js";
import type { ByteSource } from "../io/types.js";
import { TYPES, GGML_TYPE_COUNT, typeName } from "../types.js";
import {
  ValueType, VALUE_TYPE_NAMES, VALUE_TYPE_SIZES, decodeString, quote, describeType,
  type GgufKv, type GgufArray, type ScalarType, type ScalarValues,
} from "./values.js";

export const GGUF_MAGIC = "GGUF";
/** highest version read and the one written */
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_KEY_GENERAL_ALIGNMENT = "general.alignment";
/** GGML_MAX_NAME: a tensor name has at most 63 bytes */
export const GGML_MAX_NAME = 64;
/** GGML_MAX_DIMS */
export const GGML_MAX_DIMS = 4;
/** gguf.cpp's caps on one string's bytes and one array's elements */
export const GGUF_MAX_STRING_LENGTH = 1024 * 1024 * 1024;
export const GGUF_MAX_ARRAY_ELEMENTS = 1024 * 1024 * 1024;

export interface GgufTensorInfo {
  name: string;
  /** the dimensions stored in the file (n_dims of them; a 0-dim tensor reads as [1]) */
  ne: number[];
  /** ggml type id (src/types.ts) */
  type: number;
  /** byte offset of the data, relative to dataOffset */
  offset: number;
  /** ggml_nbytes: data bytes without padding */
  nbytes: number;
}

export interface GgufHeader {
  /** the ByteSource's name, for messages */
  fileName: string;
  /** 2 or 3 */
  version: number;
  /** in file order */
  kvs: GgufKv[];
  /** in file order */
  tensors: GgufTensorInfo[];
  /** general.alignment, or 32 */
  alignment: number;
  /** where tensor data starts: PAD(headerBytes, alignment) when there are tensors, else headerBytes */
  dataOffset: number;
  fileSize: number;
  /** bytes of magic, counts, KVs and tensor infos (before the padding) */
  headerBytes: number;
}

export interface ReadOptions {
  /** bytes fetched per read (default 1 MiB; larger values are only used when one item needs them) */
  chunkSize?: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** GGML_PAD */
export function pad(x: number, n: number): number {
  return Math.ceil(x / n) * n;
}

/** ggml_n_dims: dimensions without the trailing 1s (at least 1). */
export function nDims(ne: readonly number[]): number {
  let n = ne.length;
  while (n > 1 && ne[n - 1] === 1) n--;
  return Math.max(n, 1);
}

function bad(src: ByteSource | string, what: string): QuantizeError {
  const name = typeof src === "string" ? src : src.name;
  return new QuantizeError("BAD_FILE", `${name}: ${what}`);
}

/**
 * Reads a GGUF file's header: version, metadata and tensor infos, with every check llama.cpp makes
 * before it will quantize the file (including that each tensor's data lies inside the file).
 */
export async function readGgufHeader(src: ByteSource, options: ReadOptions = {}): Promise<GgufHeader> {
  try {
    return await parseHeader(src, options);
  } catch (e) {
    // a legal but enormous item (a string near gguf.cpp's 1 GiB cap, a multi-GB array) that this
    // JS engine cannot hold: report it as a bad file rather than crash
    if (e instanceof RangeError) throw new QuantizeError("BAD_FILE", `${src.name}: a header value is too large to hold in memory (${e.message})`, { cause: e });
    throw e;
  }
}

async function parseHeader(src: ByteSource, options: ReadOptions): Promise<GgufHeader> {
  if (!LITTLE_ENDIAN) throw new QuantizeError("IO", "gguf-quantize needs a little-endian host");
  const r = new Cursor(src, options.chunkSize, "BAD_FILE", "truncated header");
  const fail = (what: string) => bad(src, what);

  // magic and version
  if (src.size < 4) throw fail(`not a GGUF file: only ${src.size} bytes`);
  await r.fill(4, "magic");
  const magic = r.bytes(4);
  const magicText = String.fromCharCode(...magic);
  if (magicText !== GGUF_MAGIC) {
    const shown = [...magic].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "?")).join("");
    throw fail(`not a GGUF file: magic is ${JSON.stringify(shown)}, expected "GGUF"`);
  }
  await r.fill(4 + 8 + 8, "version and counts");
  const version = r.u32();
  if (version === 0) throw fail("bad GGUF version 0");
  if ((version & 0xffff) === 0) {
    throw fail(`GGUF version ${version} (0x${version.toString(16)}) looks byte-swapped: a big-endian file? only little-endian GGUF is supported`);
  }
  if (version === 1) throw fail("GGUF version 1 is no longer supported (llama.cpp reads versions 2 and 3)");
  if (version > GGUF_VERSION) throw fail(`GGUF version ${version} is newer than the supported versions 2 and 3`);

  const nTensorsBig = r.i64();
  const nKvBig = r.i64();
  // smallest possible records: a KV = key length + 1-byte key + type + 1-byte value;
  // a tensor info = name length + n_dims + type + offset (an empty name and no dims)
  const MIN_KV = 8 + 1 + 4 + 1;
  const MIN_TENSOR = 8 + 4 + 4 + 8;
  if (nTensorsBig < 0n) throw fail(`number of tensors is ${nTensorsBig}, must not be negative`);
  if (nKvBig < 0n) throw fail(`number of metadata entries is ${nKvBig}, must not be negative`);
  if (nKvBig * BigInt(MIN_KV) + nTensorsBig * BigInt(MIN_TENSOR) > BigInt(r.remaining())) {
    throw fail(`header claims ${nKvBig} metadata entries and ${nTensorsBig} tensors, more than the remaining ${r.remaining()} bytes can hold`);
  }
  const nTensors = Number(nTensorsBig);
  const nKv = Number(nKvBig);

  // ---- metadata ----
  const readString = async (what: string): Promise<{ s: string; bytes: number }> => {
    if (!r.has(8)) await r.fill(8, `${what} length`);
    const len = r.u64();
    if (len > BigInt(GGUF_MAX_STRING_LENGTH)) throw fail(`${what} at byte ${r.pos - 8}: length ${len} exceeds the maximum ${GGUF_MAX_STRING_LENGTH}`);
    if (len > BigInt(r.remaining())) throw fail(`${what} at byte ${r.pos - 8}: length ${len} exceeds the remaining ${r.remaining()} bytes of the file`);
    const n = Number(len);
    if (!r.has(n)) await r.fill(n, what);
    return { s: decodeString(r.bytes(n)), bytes: n };
  };

  const kvs: GgufKv[] = [];
  const seenKeys = new Set<string>();
  for (let i = 0; i < nKv; i++) {
    const { s: key } = await readString(`key of metadata entry ${i}`);
    if (key.length === 0) throw fail(`metadata entry ${i} has an empty key`);
    if (seenKeys.has(key)) throw fail(`duplicate metadata key ${quote(key)} (entry ${i})`);
    seenKeys.add(key);

    if (!r.has(4)) await r.fill(4, `type of ${quote(key)}`);
    const type = r.i32();
    if (type === ValueType.ARRAY) {
      if (!r.has(12)) await r.fill(12, `array header of ${quote(key)}`);
      const itemType = r.i32();
      const nBig = r.u64();
      if (!isScalarType(itemType)) {
        throw fail(`metadata ${quote(key)}: invalid array element type ${itemType}${itemType === ValueType.ARRAY ? " (nested arrays are not allowed)" : ""}`);
      }
      const minSize = itemType === ValueType.STRING ? 8 : VALUE_TYPE_SIZES[itemType];
      if (nBig > BigInt(GGUF_MAX_ARRAY_ELEMENTS)) throw fail(`metadata ${quote(key)}: array of ${nBig} elements exceeds the maximum ${GGUF_MAX_ARRAY_ELEMENTS}`);
      if (nBig * BigInt(minSize) > BigInt(r.remaining())) {
        throw fail(`metadata ${quote(key)}: array of ${nBig} ${VALUE_TYPE_NAMES[itemType]} cannot fit in the remaining ${r.remaining()} bytes`);
      }
      const n = Number(nBig);
      let value: GgufArray;
      if (itemType === ValueType.STRING) {
        const items: string[] = new Array(n);
        for (let j = 0; j < n; j++) items[j] = (await readString(`element ${j} of ${quote(key)}`)).s;
        value = { itemType, items };
      } else if (itemType === ValueType.BOOL) {
        if (!r.has(n)) await r.fill(n, `elements of ${quote(key)}`);
        const items: boolean[] = new Array(n);
        for (let j = 0; j < n; j++) items[j] = r.u8() !== 0;
        value = { itemType, items };
      } else {
        const nbytes = n * VALUE_TYPE_SIZES[itemType];
        if (!r.has(nbytes)) await r.fill(nbytes, `elements of ${quote(key)}`);
        value = numericArray(itemType, r.copy(nbytes), n);
      }
      kvs.push({ key, type: ValueType.ARRAY, value });
    } else {
      if (!isScalarType(type)) throw fail(`metadata ${quote(key)} has invalid value type ${type}`);
      if (type === ValueType.STRING) {
        kvs.push({ key, type, value: (await readString(`value of ${quote(key)}`)).s });
      } else {
        const size = VALUE_TYPE_SIZES[type];
        if (!r.has(size)) await r.fill(size, `value of ${quote(key)}`);
        kvs.push(readScalar(r, key, type));
      }
    }
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignKv = kvs.find((k) => k.key === GGUF_KEY_GENERAL_ALIGNMENT);
  if (alignKv) {
    if (alignKv.type !== ValueType.UINT32) throw fail(`${GGUF_KEY_GENERAL_ALIGNMENT} must be of type u32 but is ${describeType(alignKv)}`);
    alignment = alignKv.value;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw fail(`${GGUF_KEY_GENERAL_ALIGNMENT} is ${alignment}, not a power of 2`);
  }

  // ---- tensor infos ----
  interface RawInfo { name: string; ne: bigint[]; type: number; offset: bigint }
  const raw: RawInfo[] = [];
  const seenNames = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const { s: fullName, bytes } = await readString(`name of tensor ${i}`);
    if (bytes >= GGML_MAX_NAME) throw fail(`name of tensor ${i} is ${bytes} bytes long, the limit is ${GGML_MAX_NAME - 1}: ${quote(fullName)}`);
    const name = cutAtNul(fullName);
    if (seenNames.has(name)) throw fail(`duplicate tensor name ${quote(name)} (tensor ${i})`);
    seenNames.add(name);

    if (!r.has(4)) await r.fill(4, `n_dims of tensor ${quote(name)}`);
    const nd = r.u32();
    if (nd > GGML_MAX_DIMS) throw fail(`tensor ${quote(name)} has ${nd} dimensions, at most ${GGML_MAX_DIMS} are allowed`);
    if (!r.has(8 * nd)) await r.fill(8 * nd, `dimensions of tensor ${quote(name)}`);
    const ne: bigint[] = [];
    for (let j = 0; j < nd; j++) {
      const d = r.i64();
      if (d < 0n) throw fail(`tensor ${quote(name)} dimension ${j} is ${d}, must not be negative`);
      if (d > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`tensor ${quote(name)} dimension ${j} is ${d}, too large`);
      ne.push(d);
    }
    const ne4 = [...ne, 1n, 1n, 1n, 1n].slice(0, 4);
    const nel = ne4[0] * ne4[1] * ne4[2] * ne4[3];
    const I64_MAX = (1n << 63n) - 1n;
    if (nel > 0n && (I64_MAX / ne4[1] <= ne4[0] || I64_MAX / ne4[2] <= ne4[0] * ne4[1] || I64_MAX / ne4[3] <= ne4[0] * ne4[1] * ne4[2])) {
      throw fail(`tensor ${quote(name)} with shape [${ne.join(", ")}] has too many elements`);
    }

    if (!r.has(4 + 8)) await r.fill(4 + 8, `type and offset of tensor ${quote(name)}`);
    const type = r.i32();
    const ty = TYPES[type];
    if (type < 0 || type >= GGML_TYPE_COUNT || !ty || ty.blockSize === 0) {
      throw fail(`tensor ${quote(name)} has invalid ggml type ${type}${ty ? ` (${ty.name} was removed from ggml)` : ""}`);
    }
    if (ne4[0] % BigInt(ty.blockSize) !== 0n) {
      throw fail(`tensor ${quote(name)} of type ${ty.name} has ${ne4[0]} values per row, not a multiple of the block size ${ty.blockSize}`);
    }
    const offset = r.u64();
    raw.push({ name, ne: nd === 0 ? [1n] : ne, type, offset });
  }

  const headerBytes = r.pos;
  const dataOffset = nTensors > 0 ? pad(headerBytes, alignment) : headerBytes;
  if (dataOffset > src.size) throw fail(`tensor data would start at byte ${dataOffset}, past the end of the file (${src.size} bytes)`);

  // ---- offsets: in order, gap-free, each tensor padded to the alignment; data inside the file ----
  const tensors: GgufTensorInfo[] = [];
  let expected = 0n;
  const fileSize = BigInt(src.size);
  for (const t of raw) {
    if (t.offset !== expected) {
      throw fail(`tensor ${quote(t.name)} has data offset ${t.offset}, expected ${expected} (tensor data must follow the infos' order, each padded to ${alignment} bytes)`);
    }
    const ty = TYPES[t.type];
    let nel = 1n;
    for (const d of t.ne) nel *= d;
    const nbytes = (nel / BigInt(ty.blockSize)) * BigInt(ty.typeSize);
    const start = BigInt(dataOffset) + t.offset;
    if (start + nbytes > fileSize) {
      throw fail(`tensor ${quote(t.name)} data (${nbytes} bytes of ${typeName(t.type)} at byte ${start}) is not within the file, which ends at ${fileSize}: truncated or corrupt`);
    }
    tensors.push({ name: t.name, ne: t.ne.map(Number), type: t.type, offset: Number(t.offset), nbytes: Number(nbytes) });
    expected += (nbytes + BigInt(alignment) - 1n) / BigInt(alignment) * BigInt(alignment);
  }

  return { fileName: src.name, version, kvs, tensors, alignment, dataOffset, fileSize: src.size, headerBytes };
}

function isScalarType(t: number): t is ScalarType {
  return Number.isInteger(t) && t >= 0 && t <= ValueType.FLOAT64 && t !== ValueType.ARRAY;
}

function cutAtNul(s: string): string {
  const z = s.indexOf("\0");
  return z < 0 ? s : s.slice(0, z);
}

function readScalar(r: Cursor, key: string, type: Exclude<ScalarType, ValueType.STRING>): GgufKv {
  switch (type) {
    case ValueType.UINT8: return { key, type, value: r.u8() };
    case ValueType.INT8: return { key, type, value: r.i8() };
    case ValueType.UINT16: return { key, type, value: r.u16() };
    case ValueType.INT16: return { key, type, value: r.i16() };
    case ValueType.UINT32: return { key, type, value: r.u32() };
    case ValueType.INT32: return { key, type, value: r.i32() };
    case ValueType.FLOAT32: return { key, type, value: r.f32() };
    case ValueType.BOOL: return { key, type, value: r.u8() !== 0 };
    case ValueType.UINT64: return { key, type, value: r.u64() };
    case ValueType.INT64: return { key, type, value: r.i64() };
    case ValueType.FLOAT64: return { key, type, value: r.f64() };
  }
}

function numericArray(itemType: ScalarType, b: Uint8Array, n: number): GgufArray {
  const buf = b.buffer;
  switch (itemType) {
    case ValueType.UINT8: return { itemType, items: new Uint8Array(buf, 0, n) };
    case ValueType.INT8: return { itemType, items: new Int8Array(buf, 0, n) };
    case ValueType.UINT16: return { itemType, items: new Uint16Array(buf, 0, n) };
    case ValueType.INT16: return { itemType, items: new Int16Array(buf, 0, n) };
    case ValueType.UINT32: return { itemType, items: new Uint32Array(buf, 0, n) };
    case ValueType.INT32: return { itemType, items: new Int32Array(buf, 0, n) };
    case ValueType.FLOAT32: return { itemType, items: new Float32Array(buf, 0, n) };
    case ValueType.UINT64: return { itemType, items: new BigUint64Array(buf, 0, n) };
    case ValueType.INT64: return { itemType, items: new BigInt64Array(buf, 0, n) };
    case ValueType.FLOAT64: return { itemType, items: new Float64Array(buf, 0, n) };
    default: throw new Error(`not a numeric type: ${itemType}`);
  }
}

// ---- lookups ----

type KvHolder = GgufHeader | { fileName?: string; kvs: readonly GgufKv[] };

/** The KV with this key, or undefined. */
export function getKv(h: KvHolder, key: string): GgufKv | undefined {
  return h.kvs.find((k) => k.key === key);
}

function typed<T extends ScalarType>(h: KvHolder, key: string, type: T): { key: string; type: T; value: ScalarValues[T] } | undefined {
  const k = getKv(h, key);
  if (k === undefined) return undefined;
  if (k.type !== type) {
    throw bad(h.fileName ?? "metadata", `key ${quote(key)} has type ${describeType(k)}, expected ${VALUE_TYPE_NAMES[type]}`);
  }
  return k as { key: string; type: T; value: ScalarValues[T] };
}

// Typed getters: undefined when the key is absent, BAD_FILE when it has another type (as
// llama_model_loader::get_key refuses a key of the wrong type).
export const getU8 = (h: KvHolder, key: string) => typed(h, key, ValueType.UINT8)?.value;
export const getI8 = (h: KvHolder, key: string) => typed(h, key, ValueType.INT8)?.value;
export const getU16 = (h: KvHolder, key: string) => typed(h, key, ValueType.UINT16)?.value;
export const getI16 = (h: KvHolder, key: string) => typed(h, key, ValueType.INT16)?.value;
export const getU32 = (h: KvHolder, key: string) => typed(h, key, ValueType.UINT32)?.value;
export const getI32 = (h: KvHolder, key: string) => typed(h, key, ValueType.INT32)?.value;
export const getF32 = (h: KvHolder, key: string) => typed(h, key, ValueType.FLOAT32)?.value;
export const getF64 = (h: KvHolder, key: string) => typed(h, key, ValueType.FLOAT64)?.value;
export const getBool = (h: KvHolder, key: string) => typed(h, key, ValueType.BOOL)?.value;
export const getString = (h: KvHolder, key: string) => typed(h, key, ValueType.STRING)?.value;
export const getU64 = (h: KvHolder, key: string) => typed(h, key, ValueType.UINT64)?.value;
export const getI64 = (h: KvHolder, key: string) => typed(h, key, ValueType.INT64)?.value;

/** An array KV's value, optionally requiring an element type. */
export function getArray(h: KvHolder, key: string, itemType?: ScalarType): GgufArray | undefined {
  const k = getKv(h, key);
  if (k === undefined) return undefined;
  if (k.type !== ValueType.ARRAY || (itemType !== undefined && k.value.itemType !== itemType)) {
    const want = itemType === undefined ? "an array" : `arr[${VALUE_TYPE_NAMES[itemType]}]`;
    throw bad(h.fileName ?? "metadata", `key ${quote(key)} has type ${describeType(k)}, expected ${want}`);
  }
  return k.value;
}

/** general.architecture (BAD_FILE when missing: llama.cpp cannot load a model without it). */
export function getArchitecture(h: GgufHeader): string {
  const a = getString(h, "general.architecture");
  if (a === undefined) throw bad(h.fileName, `metadata has no "general.architecture"`);
  return a;
}
