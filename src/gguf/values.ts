// GGUF metadata values: the 13 value types of gguf.h, how they are held in JS, and the string
// codec that keeps every byte. Layout and semantics follow ggml/src/gguf.cpp @067d44f6.
//
// Representation (chosen so that read -> write reproduces the input bytes exactly):
//   u8 i8 u16 i16 u32 i32      number
//   f32 f64                    number (f32 values are exact doubles; every non-NaN bit pattern,
//                              -0 and subnormals included, round-trips; NaN payloads are kept only as
//                              far as the JS engine keeps them - V8 does for quiet NaNs)
//   bool                       boolean (gguf.cpp reads any non-zero byte as true and writes 1)
//   string                     string, decoded from UTF-8 with "surrogateescape": a byte that is not
//                              part of valid UTF-8 becomes the lone surrogate U+DC80+byte, and the
//                              encoder turns it back into that byte. So invalid UTF-8 (tokenizer
//                              byte tokens, a path cut in the middle of a character) round-trips
//                              byte for byte, while valid text is an ordinary JS string.
//   u64 i64                    bigint (exact)
//   arrays                     typed arrays for numbers (Uint8Array ... Float64Array, BigInt64Array,
//                              BigUint64Array: bit-exact), boolean[] and string[]

export enum ValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** gguf_type_name */
export const VALUE_TYPE_NAMES: readonly string[] = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"];

/** gguf_type_size: bytes of one element; 0 for STRING and ARRAY (variable). */
export const VALUE_TYPE_SIZES: readonly number[] = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];

export type ScalarType = Exclude<ValueType, ValueType.ARRAY>;

export interface ScalarValues {
  [ValueType.UINT8]: number;
  [ValueType.INT8]: number;
  [ValueType.UINT16]: number;
  [ValueType.INT16]: number;
  [ValueType.UINT32]: number;
  [ValueType.INT32]: number;
  [ValueType.FLOAT32]: number;
  [ValueType.BOOL]: boolean;
  [ValueType.STRING]: string;
  [ValueType.UINT64]: bigint;
  [ValueType.INT64]: bigint;
  [ValueType.FLOAT64]: number;
}

export interface ArrayValues {
  [ValueType.UINT8]: Uint8Array;
  [ValueType.INT8]: Int8Array;
  [ValueType.UINT16]: Uint16Array;
  [ValueType.INT16]: Int16Array;
  [ValueType.UINT32]: Uint32Array;
  [ValueType.INT32]: Int32Array;
  [ValueType.FLOAT32]: Float32Array;
  [ValueType.BOOL]: boolean[];
  [ValueType.STRING]: string[];
  [ValueType.UINT64]: BigUint64Array;
  [ValueType.INT64]: BigInt64Array;
  [ValueType.FLOAT64]: Float64Array;
}

/** An array value: element type plus elements (gguf.cpp has no nested arrays). */
export type GgufArray = { [T in ScalarType]: { itemType: T; items: ArrayValues[T] } }[ScalarType];

/** One metadata key/value pair. `type` is the value's gguf_type; arrays have type ARRAY. */
export type GgufKv =
  | { [T in ScalarType]: { key: string; type: T; value: ScalarValues[T] } }[ScalarType]
  | { key: string; type: ValueType.ARRAY; value: GgufArray };

export type GgufValue = GgufKv["value"];

/** A value's type as gguf_dump prints it: `u32`, `str`, `arr[str,32000]`. */
export function describeType(kv: GgufKv): string {
  if (kv.type === ValueType.ARRAY) return `arr[${VALUE_TYPE_NAMES[kv.value.itemType]},${kv.value.items.length}]`;
  return VALUE_TYPE_NAMES[kv.type] ?? `type(${kv.type as number})`;
}

// ---- constructors (they check ranges, so a KV built here always serializes) ----

function checkInt(key: string, v: number, lo: number, hi: number, name: string): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${key}: ${v} is not a valid ${name}`);
  return v;
}

export const kv = {
  u8: (key: string, v: number): GgufKv => ({ key, type: ValueType.UINT8, value: checkInt(key, v, 0, 0xff, "u8") }),
  i8: (key: string, v: number): GgufKv => ({ key, type: ValueType.INT8, value: checkInt(key, v, -0x80, 0x7f, "i8") }),
  u16: (key: string, v: number): GgufKv => ({ key, type: ValueType.UINT16, value: checkInt(key, v, 0, 0xffff, "u16") }),
  i16: (key: string, v: number): GgufKv => ({ key, type: ValueType.INT16, value: checkInt(key, v, -0x8000, 0x7fff, "i16") }),
  u32: (key: string, v: number): GgufKv => ({ key, type: ValueType.UINT32, value: checkInt(key, v, 0, 0xffffffff, "u32") }),
  i32: (key: string, v: number): GgufKv => ({ key, type: ValueType.INT32, value: checkInt(key, v, -0x80000000, 0x7fffffff, "i32") }),
  f32: (key: string, v: number): GgufKv => ({ key, type: ValueType.FLOAT32, value: Math.fround(v) }),
  f64: (key: string, v: number): GgufKv => ({ key, type: ValueType.FLOAT64, value: v }),
  bool: (key: string, v: boolean): GgufKv => ({ key, type: ValueType.BOOL, value: v }),
  str: (key: string, v: string): GgufKv => ({ key, type: ValueType.STRING, value: v }),
  u64: (key: string, v: bigint): GgufKv => ({ key, type: ValueType.UINT64, value: BigInt.asUintN(64, v) === v ? v : badBig(key, v, "u64") }),
  i64: (key: string, v: bigint): GgufKv => ({ key, type: ValueType.INT64, value: BigInt.asIntN(64, v) === v ? v : badBig(key, v, "i64") }),
  arr: <T extends ScalarType>(key: string, itemType: T, items: ArrayValues[T]): GgufKv =>
    ({ key, type: ValueType.ARRAY, value: { itemType, items } as GgufArray }),
};

function badBig(key: string, v: bigint, name: string): never {
  throw new RangeError(`${key}: ${v} is not a valid ${name}`);
}

// ---- strings: UTF-8 with surrogateescape ----

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes bytes as UTF-8; bytes that are not valid UTF-8 become U+DC80..U+DCFF (see top of file). */
export function decodeString(bytes: Uint8Array): string {
  // short ASCII strings are the common case (keys, tensor names): skip TextDecoder's call overhead
  if (bytes.length <= 64) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) { ascii = false; break; }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return decodeEscaped(bytes);
  }
}

/** Length of the valid UTF-8 sequence starting at i (WHATWG rules: no overlongs, no surrogates, <= U+10FFFF), or 0. */
function utf8SeqLength(b: Uint8Array, i: number): number {
  const c = b[i];
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function decodeEscaped(b: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const n = utf8SeqLength(b, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + b[i]);
      i += 1;
    } else {
      out += strictDecoder.decode(b.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

const hasWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === "function";
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isWellFormed(s: string): boolean {
  return hasWellFormed ? (s as unknown as { isWellFormed(): boolean }).isWellFormed() : !LONE_SURROGATE.test(s);
}

/** Encodes a string to the exact bytes decodeString() read it from (U+DC80..U+DCFF alone -> one byte). */
export function encodeString(s: string): Uint8Array {
  if (isWellFormed(s)) return encoder.encode(s);
  const parts: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        for (const x of encoder.encode(s.slice(i, i + 2))) parts.push(x);
        i++;
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) { parts.push(c - 0xdc00); continue; }
    // any other lone surrogate: what TextEncoder does (U+FFFD)
    for (const x of encoder.encode(s[i])) parts.push(x);
  }
  return Uint8Array.from(parts);
}

/** Bytes of `s` as C would keep them: cut at the first NUL (std::string(c_str()), strncpy). */
export function cString(s: string): string {
  const z = s.indexOf("\0");
  return z < 0 ? s : s.slice(0, z);
}

/** The first `maxBytes` bytes of s's encoding, as a string (may end in escaped bytes if a character is cut). */
export function truncateBytes(s: string, maxBytes: number): string {
  const b = encodeString(s);
  return b.length <= maxBytes ? s : decodeString(b.subarray(0, maxBytes));
}

/** A string for an error message: quoted, control characters escaped, long ones shortened. */
export function quote(s: string, max = 80): string {
  return JSON.stringify(s.length > max ? s.slice(0, max) + "…" : s);
}
