// --override-kv KEY=TYPE:VALUE (llama.cpp's string_parse_kv_override): the model loader reads the
// overridden values (so they can change the type policy, e.g. an expert count), and the quantizer
// writes them into the output, ints as u32 of |value| (llama.cpp PR #14182), floats as f32.

import { QuantizeError } from "./errors.js";
import { kv, type GgufKv } from "./gguf/values.js";

export type KvOverride =
  | { key: string; kind: "int"; value: bigint }
  | { key: string; kind: "float"; value: number }
  | { key: string; kind: "bool"; value: boolean }
  | { key: string; kind: "str"; value: string };

const usage = (msg: string): never => {
  throw new QuantizeError("USAGE", msg);
};

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** C atol (glibc: strtol): leading whitespace, sign, digits; anything else stops; no digits gives 0;
 *  out of range saturates at LONG_MIN / LONG_MAX (not wraps). */
function atol(s: string): bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  if (!m) return 0n;
  const v = BigInt(m[1]);
  return v > LONG_MAX ? LONG_MAX : v < LONG_MIN ? LONG_MIN : v;
}

/** C atof (strtod prefix): a decimal or hex float, inf, nan; nothing parsable gives 0. */
function atof(s: string): number {
  const t = s.replace(/^[ \t\n\v\f\r]+/, "");
  const m = /^[+-]?(inf(inity)?|nan)/i.exec(t);
  if (m) return /nan/i.test(m[0]) ? NaN : m[0].startsWith("-") ? -Infinity : Infinity;
  const hex = /^([+-]?)0x([0-9a-f]*)(\.([0-9a-f]*))?(p([+-]?\d+))?/i.exec(t);
  if (hex && (hex[2] || hex[4])) {
    const mant = parseInt((hex[2] || "0") + (hex[4] ?? ""), 16) / Math.pow(16, (hex[4] ?? "").length);
    const v = mant * Math.pow(2, hex[6] ? Number(hex[6]) : 0);
    return hex[1] === "-" ? -v : v;
  }
  const d = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(t);
  return d ? Number(d[0]) : 0;
}

export function parseKvOverride(arg: string): KvOverride {
  const eq = arg.indexOf("=");
  if (eq < 0 || eq >= 128) usage(`--override-kv: malformed KV override '${arg}' (expected KEY=TYPE:VALUE, key under 128 bytes)`);
  const key = arg.slice(0, eq);
  // llama.cpp takes an empty key and writes a file no GGUF reader accepts ("empty key"): refuse it
  if (key.length === 0) usage(`--override-kv: malformed KV override '${arg}' (empty key)`);
  const rest = arg.slice(eq + 1);
  // llama.cpp writes the value yet lays the data out at 32 bytes: any other value makes a file that
  // does not load, so only 32 (its layout, and then ours: plan.ts) is taken
  if (key === "general.alignment" && !/^int:\+?0*32$/.test(rest)) usage(`--override-kv: '${arg}': general.alignment can only be overridden to int:32 (the data is laid out at 32 bytes)`);
  if (rest.startsWith("int:")) return { key, kind: "int", value: atol(rest.slice(4)) };
  if (rest.startsWith("float:")) return { key, kind: "float", value: atof(rest.slice(6)) };
  if (rest.startsWith("bool:")) {
    const v = rest.slice(5);
    if (v !== "true" && v !== "false") usage(`--override-kv: invalid boolean value for KV override '${arg}'`);
    return { key, kind: "bool", value: v === "true" };
  }
  if (rest.startsWith("str:")) {
    const v = rest.slice(4);
    if (new TextEncoder().encode(v).length > 127) usage(`--override-kv: malformed KV override '${arg}', value cannot exceed 127 chars`);
    return { key, kind: "str", value: v };
  }
  return usage(`--override-kv: invalid type for KV override '${arg}' (expected int:, float:, bool: or str:)`);
}

/** The metadata entry llama_model_quantize writes for an override. */
export function overrideKv(o: KvOverride): GgufKv {
  switch (o.kind) {
    case "int": return kv.u32(o.key, Number(BigInt.asUintN(32, o.value < 0n ? -o.value : o.value)));
    case "float": return kv.f32(o.key, o.value);
    case "bool": return kv.bool(o.key, o.value);
    case "str": return kv.str(o.key, o.value);
  }
}

/** The value the model loader sees for a key: the override's when there is one. */
export function overriddenValue(o: KvOverride): unknown {
  return o.kind === "int" ? Number(o.value) : o.value;
}
