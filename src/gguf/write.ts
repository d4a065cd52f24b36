// GGUF writer: the exact bytes gguf_write_out (ggml/src/gguf.cpp @067d44f6) produces for a context
// made with gguf_init_empty, i.e. what llama-quantize writes:
//   "GGUF", u32 version 3, i64 n_tensors, i64 n_kv, the KVs in the order given, the tensor infos
//   (name, u32 n_dims = ggml_n_dims, i64 ne[n_dims], i32 type, u64 offset), zero padding up to the
//   alignment; then each tensor's data zero-padded to the alignment, the last one included.
// The header is final before any data exists, so the quantizer can write data at fixed offsets.
//
// Also the KV edits the quantizer needs, with gguf.cpp's semantics (gguf_set_*, gguf_remove_key,
// gguf_set_kv). They return new arrays and leave their input alone.

import type { ByteSink } from "../io/types.js";
import { TYPES, GGML_TYPE_COUNT } from "../types.js";
import { GGUF_VERSION, GGUF_DEFAULT_ALIGNMENT, GGUF_KEY_GENERAL_ALIGNMENT, GGML_MAX_NAME, GGML_MAX_DIMS, nDims, pad } from "./read.js";
import { ValueType, VALUE_TYPE_SIZES, encodeString, cString, quote, describeType, type GgufKv, type GgufArray } from "./values.js";

export interface TensorDesc {
  name: string;
  /** dimensions, innermost first (1 to 4 of them; trailing 1s are not written, as ggml_n_dims) */
  ne: readonly number[];
  /** ggml type id */
  type: number;
}

export interface SerializedGguf {
  /** magic .. tensor infos, zero-padded to the alignment: the file's first dataOffset bytes */
  header: Uint8Array;
  /** each tensor's data offset relative to dataOffset */
  offsets: number[];
  /** each tensor's data size without padding (ggml_nbytes) */
  nbytes: number[];
  /** = header.length */
  dataOffset: number;
  /** dataOffset + the sum of PAD(nbytes, alignment) */
  fileSize: number;
}

/** A growable little-endian byte buffer. */
class Bytes {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  i8(v: number) { this.reserve(1); this.view.setInt8(this.length, v); this.length += 1; }
  u16(v: number) { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number) { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number) { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number) { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number) { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number) { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: bigint) { this.reserve(8); this.view.setBigUint64(this.length, v, true); this.length += 8; }
  i64(v: bigint) { this.reserve(8); this.view.setBigInt64(this.length, v, true); this.length += 8; }
  raw(b: Uint8Array) { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  str(s: string) { const b = encodeString(s); this.u64(BigInt(b.length)); this.raw(b); }
  padTo(alignment: number) { const n = pad(this.length, alignment) - this.length; this.reserve(n); this.length += n; } // buffer is zeroed
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

const INT_RANGES: Partial<Record<ValueType, [number, number]>> = {
  [ValueType.UINT8]: [0, 0xff], [ValueType.INT8]: [-0x80, 0x7f],
  [ValueType.UINT16]: [0, 0xffff], [ValueType.INT16]: [-0x8000, 0x7fff],
  [ValueType.UINT32]: [0, 0xffffffff], [ValueType.INT32]: [-0x80000000, 0x7fffffff],
};

function writeScalar(b: Bytes, key: string, type: ValueType, v: unknown): void {
  const range = INT_RANGES[type];
  if (range && (typeof v !== "number" || !Number.isInteger(v) || v < range[0] || v > range[1])) {
    throw new RangeError(`metadata ${quote(key)}: ${String(v)} is not a valid value of its type`);
  }
  switch (type) {
    case ValueType.UINT8: return b.u8(v as number);
    case ValueType.INT8: return b.i8(v as number);
    case ValueType.UINT16: return b.u16(v as number);
    case ValueType.INT16: return b.i16(v as number);
    case ValueType.UINT32: return b.u32(v as number);
    case ValueType.INT32: return b.i32(v as number);
    case ValueType.FLOAT32: return b.f32(v as number);
    case ValueType.FLOAT64: return b.f64(v as number);
    case ValueType.BOOL: return b.u8(v ? 1 : 0);
    case ValueType.STRING: return b.str(v as string);
    case ValueType.UINT64:
      if (typeof v !== "bigint" || BigInt.asUintN(64, v) !== v) throw new RangeError(`metadata ${quote(key)}: ${String(v)} is not a u64`);
      return b.u64(v);
    case ValueType.INT64:
      if (typeof v !== "bigint" || BigInt.asIntN(64, v) !== v) throw new RangeError(`metadata ${quote(key)}: ${String(v)} is not an i64`);
      return b.i64(v);
    default:
      throw new RangeError(`metadata ${quote(key)}: invalid value type ${type as number}`);
  }
}

function writeArray(b: Bytes, key: string, a: GgufArray): void {
  b.i32(a.itemType);
  b.u64(BigInt(a.items.length));
  if (a.itemType === ValueType.STRING || a.itemType === ValueType.BOOL) {
    for (const x of a.items) writeScalar(b, key, a.itemType, x);
    return;
  }
  if (VALUE_TYPE_SIZES[a.itemType] === undefined || VALUE_TYPE_SIZES[a.itemType] === 0) {
    throw new RangeError(`metadata ${quote(key)}: invalid array element type ${a.itemType as number}`);
  }
  const items = a.items as ArrayBufferView & { length: number; BYTES_PER_ELEMENT: number };
  if (items.BYTES_PER_ELEMENT !== VALUE_TYPE_SIZES[a.itemType]) {
    throw new TypeError(`metadata ${quote(key)}: elements of type ${a.itemType} must be held in a ${VALUE_TYPE_SIZES[a.itemType]}-byte typed array`);
  }
  b.raw(new Uint8Array(items.buffer, items.byteOffset, items.byteLength));
}

function writeKv(b: Bytes, kv: GgufKv): void {
  b.str(kv.key);
  b.i32(kv.type);
  if (kv.type === ValueType.ARRAY) writeArray(b, kv.key, kv.value);
  else writeScalar(b, kv.key, kv.type, kv.value);
}

/** ggml_nbytes of a contiguous tensor. */
export function tensorNbytes(type: number, ne: readonly number[]): number {
  const ty = TYPES[type];
  let n = 1;
  for (const d of ne) n *= d;
  return (n / ty.blockSize) * ty.typeSize;
}

function checkTensor(t: TensorDesc): void {
  const name = encodeString(t.name);
  if (name.length >= GGML_MAX_NAME) throw new RangeError(`tensor name ${quote(t.name)} is ${name.length} bytes, the limit is ${GGML_MAX_NAME - 1}`);
  if (name.includes(0)) throw new RangeError(`tensor name ${quote(t.name)} contains a NUL byte`);
  if (t.ne.length < 1 || t.ne.length > GGML_MAX_DIMS) throw new RangeError(`tensor ${quote(t.name)} has ${t.ne.length} dimensions; 1 to ${GGML_MAX_DIMS} are allowed`);
  for (const d of t.ne) if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`tensor ${quote(t.name)} has an invalid dimension ${d}`);
  const ty = TYPES[t.type];
  if (!Number.isInteger(t.type) || t.type < 0 || t.type >= GGML_TYPE_COUNT || !ty || ty.blockSize === 0) {
    throw new RangeError(`tensor ${quote(t.name)} has invalid ggml type ${t.type}`);
  }
  if (t.ne[0] % ty.blockSize !== 0) throw new RangeError(`tensor ${quote(t.name)}: ${t.ne[0]} values per row is not a multiple of ${ty.name}'s block size ${ty.blockSize}`);
}

/** The general.alignment rules of gguf_check_reserved_keys. */
function checkReserved(kv: GgufKv): void {
  if (kv.key !== GGUF_KEY_GENERAL_ALIGNMENT) return;
  if (kv.type !== ValueType.UINT32) throw new TypeError(`${GGUF_KEY_GENERAL_ALIGNMENT} must be of type u32, not ${describeType(kv)}`);
  const a = kv.value;
  if (!(a > 0 && (a & (a - 1)) === 0)) throw new RangeError(`${GGUF_KEY_GENERAL_ALIGNMENT} must be a power of 2, not ${a}`);
}

/**
 * Serializes a GGUF header exactly as llama.cpp writes it. `alignment` is the layout's alignment
 * (llama-quantize always uses 32, whatever general.alignment the KVs carry - see REFERENCE §6);
 * KVs are written in the order given, tensors in the order given.
 */
export function serializeGguf(kvs: readonly GgufKv[], tensors: readonly TensorDesc[], alignment = GGUF_DEFAULT_ALIGNMENT): SerializedGguf {
  if (!(Number.isInteger(alignment) && alignment > 0 && (alignment & (alignment - 1)) === 0)) {
    throw new RangeError(`alignment must be a power of 2, not ${alignment}`);
  }
  const b = new Bytes();
  b.raw(new TextEncoder().encode("GGUF"));
  b.u32(GGUF_VERSION);
  b.i64(BigInt(tensors.length));
  b.i64(BigInt(kvs.length));

  const keys = new Set<string>();
  for (const kv of kvs) {
    if (kv.key.length === 0) throw new RangeError("metadata key must not be empty");
    if (keys.has(kv.key)) throw new RangeError(`duplicate metadata key ${quote(kv.key)}`);
    keys.add(kv.key);
    checkReserved(kv);
    writeKv(b, kv);
  }

  const names = new Set<string>();
  const offsets: number[] = [];
  const nbytes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    checkTensor(t);
    if (names.has(t.name)) throw new RangeError(`duplicate tensor name ${quote(t.name)}`);
    names.add(t.name);
    const nd = nDims(t.ne);
    b.str(t.name);
    b.u32(nd);
    for (let j = 0; j < nd; j++) b.i64(BigInt(t.ne[j]));
    b.i32(t.type);
    b.u64(BigInt(offset));
    const n = tensorNbytes(t.type, t.ne);
    offsets.push(offset);
    nbytes.push(n);
    offset += pad(n, alignment);
  }
  b.padTo(alignment);
  const header = b.result();
  return { header, offsets, nbytes, dataOffset: header.length, fileSize: header.length + offset };
}

/**
 * Writes a whole GGUF file (header and data) to a sink; for small files such as test models and
 * imatrix files. data[i] must hold exactly tensors[i]'s ggml_nbytes.
 */
export async function writeGgufFile(sink: ByteSink, kvs: readonly GgufKv[], tensors: readonly (TensorDesc & { data: Uint8Array })[], alignment = GGUF_DEFAULT_ALIGNMENT): Promise<SerializedGguf> {
  const s = serializeGguf(kvs, tensors, alignment);
  await sink.write(s.header, 0);
  for (let i = 0; i < tensors.length; i++) {
    const d = tensors[i].data;
    if (d.length !== s.nbytes[i]) throw new RangeError(`tensor ${quote(tensors[i].name)}: ${d.length} bytes of data, expected ${s.nbytes[i]}`);
    await sink.write(d, s.dataOffset + s.offsets[i]);
    const padBytes = pad(d.length, alignment) - d.length;
    if (padBytes > 0) await sink.write(new Uint8Array(padBytes), s.dataOffset + s.offsets[i] + d.length);
  }
  return s;
}

/** The whole file in memory (header, data, padding). */
export function ggufBytes(kvs: readonly GgufKv[], tensors: readonly (TensorDesc & { data: Uint8Array })[], alignment = GGUF_DEFAULT_ALIGNMENT): Uint8Array {
  const s = serializeGguf(kvs, tensors, alignment);
  const out = new Uint8Array(s.fileSize);
  out.set(s.header, 0);
  tensors.forEach((t, i) => {
    if (t.data.length !== s.nbytes[i]) throw new RangeError(`tensor ${quote(t.name)}: ${t.data.length} bytes of data, expected ${s.nbytes[i]}`);
    out.set(t.data, s.dataOffset + s.offsets[i]);
  });
  return out;
}

// ---- KV edits with gguf.cpp semantics ----

/** gguf_set_val_* / gguf_set_arr_*: drops an existing entry with the key, appends the new one at the end. */
export function setKv(kvs: readonly GgufKv[], kv: GgufKv): GgufKv[] {
  if (kv.key.length === 0) throw new RangeError("metadata key must not be empty");
  checkReserved(kv);
  return [...kvs.filter((k) => k.key !== kv.key), kv];
}

/** gguf_remove_key for each key (absent keys are ignored). */
export function removeKvs(kvs: readonly GgufKv[], ...keys: string[]): GgufKv[] {
  const drop = new Set(keys);
  return kvs.filter((k) => !drop.has(k.key));
}

/**
 * gguf_set_kv(ctx_out, src) as llama-quantize uses it to copy the input's metadata: every entry is
 * re-set in order through C strings, so keys, string values and string elements end at their first
 * NUL byte (and a key cut short replaces an earlier entry with the same key, as gguf_set_* does).
 */
export function copyKvs(kvs: readonly GgufKv[]): GgufKv[] {
  // a Map keeps insertion order, and delete + set moves a key to the end: gguf_set_*'s semantics in
  // constant time per entry (a hostile file can cut thousands of keys to the same C string)
  const out = new Map<string, GgufKv>();
  for (const k of kvs) {
    const key = cString(k.key);
    if (key.length === 0) throw new RangeError(`metadata key ${quote(k.key)} is empty as a C string`);
    let copy: GgufKv;
    if (k.type === ValueType.STRING) copy = { key, type: k.type, value: cString(k.value) };
    else if (k.type === ValueType.ARRAY && k.value.itemType === ValueType.STRING) {
      copy = { key, type: k.type, value: { itemType: ValueType.STRING, items: k.value.items.map(cString) } };
    } else copy = { ...k, key } as GgufKv;
    out.delete(key);
    out.set(key, copy);
  }
  return [...out.values()];
}
