// User rules that choose types per tensor, from every source: llama.cpp's --tensor-type and
// --tensor-type-file, ik_llama.cpp's --custom-q, and recipe files. Each rule remembers where it came
// from, so the plan can say which rule decided a tensor and warn about rules that matched nothing.
//
// Precedence, as the two programs define it:
//   1. --token-embedding-type / --output-tensor-type for those two tensors;
//   2. --tensor-type rules (llama.cpp): first match wins, skips the preset's mixture rules;
//   3. the preset's mixture rules (unless --pure);
//   4. --custom-q and recipe rules (ik_llama.cpp): first match wins, override 2 and 3; not with --pure;
//   5. the shape fallback (a type whose block does not divide the row).

import { QuantizeError } from "./errors.js";
import { parsePreset } from "./ftypes.js";
import type { Plan } from "./plan.js";
import { typeByName, typeName, TYPES } from "./types.js";

export type RuleKind = "tensor-type" | "custom-q";

export interface Rule {
  readonly kind: RuleKind;
  /** the pattern as it is matched (lowercased for --tensor-type, as llama-quantize does) */
  readonly text: string;
  readonly regex: RegExp;
  readonly type: number;
  /** where it came from, for messages: `--tensor-type attn=q8_0`, `recipe.txt:12` */
  readonly source: string;
}

const usage = (msg: string): never => {
  throw new QuantizeError("USAGE", msg);
};

// ---- type names ----

/** Types only ik_llama.cpp has, with the nearest mainline type to suggest. */
const IK_ONLY: Record<string, string> = {
  q6_0: "q8_0", q8_kv: "q8_0", q1_0_g128: "q1_0", i2_s: "tq2_0",
  iq1_bn: "tq1_0", iq2_bn: "tq2_0", iq1_kt: "iq1_m", iq2_kt: "iq2_xxs", iq3_kt: "iq3_xxs", iq4_kt: "iq4_xs",
  iq2_k: "iq2_s", iq2_ks: "iq2_xs", iq2_kl: "iq2_s", iq3_k: "iq3_s", iq3_ks: "iq3_s", iq4_k: "iq4_xs",
  iq4_ks: "iq4_xs", iq4_kss: "iq4_xs", iq5_k: "q5_K", iq5_ks: "q5_K", iq6_k: "q6_K",
};

/** parse_ggml_type: a ggml type name, case-insensitive; ik-only names get a pointed message. */
export function parseTypeName(name: string, where: string): number {
  const ty = typeByName(name);
  if (ty) return ty.id;
  const lower = name.toLowerCase();
  const repacked = /^(.*)_r(4|8|16)$/.exec(lower);
  if (repacked && (typeByName(repacked[1]) || IK_ONLY[repacked[1]])) {
    usage(`${where}: type '${name}' is an ik_llama.cpp row-interleaved (repacked) type; llama.cpp files use the plain type: ${typeByName(repacked[1])?.name ?? IK_ONLY[repacked[1]]}`);
  }
  if (IK_ONLY[lower]) usage(`${where}: type '${name}' exists only in ik_llama.cpp; the nearest llama.cpp type is ${IK_ONLY[lower]}`);
  const names = TYPES.filter((t) => t.blockSize > 0).map((t) => t.name);
  return usage(`${where}: invalid ggml_type '${name}' (one of: ${names.join(", ")})`);
}

// ---- regular expressions: std::regex's ECMAScript grammar, checked and mapped onto JS RegExp ----

const POSIX_CLASSES: Record<string, string> = {
  alpha: "A-Za-z", digit: "0-9", alnum: "A-Za-z0-9", upper: "A-Z", lower: "a-z", xdigit: "0-9A-Fa-f",
  space: " \\t\\n\\v\\f\\r", blank: " \\t", punct: "!-\\/:-@\\[-`{-~", w: "A-Za-z0-9_", d: "0-9", s: " \\t\\n\\v\\f\\r",
  cntrl: "\\x00-\\x1f\\x7f", print: " -~", graph: "!-~",
};

/**
 * Compiles a pattern as std::regex (ECMAScript grammar) would: features JS has but std::regex lacks
 * (lookbehind, named groups, \p{..}) are refused with a clear message; POSIX bracket classes
 * ([[:digit:]]), which std::regex has and JS lacks, are translated.
 */
export function compileRegex(pattern: string, where: string): RegExp {
  const refuse = (what: string): never => usage(`${where}: "${pattern}": ${what} is not supported by std::regex (llama.cpp's regex engine)`);
  if (/\(\?<[=!]/.test(pattern)) refuse("lookbehind");
  if (/\(\?<[A-Za-z_$]/.test(pattern) || /\\k</.test(pattern)) refuse("a named group");
  if (/\\[pP]\{/.test(pattern)) refuse("a Unicode property escape");
  const translated = pattern.replace(/\[:([a-z]+):\]/g, (m, name: string) => {
    const cls = POSIX_CLASSES[name];
    if (!cls) usage(`${where}: "${pattern}": unknown character class [:${name}:]`);
    return cls;
  });
  try {
    return new RegExp(translated);
  } catch (e) {
    return usage(`${where}: "${pattern}": invalid regex: ${(e as Error).message.replace(/^Invalid regular expression: /, "")}`);
  }
}

/** ASCII-only tolower, byte by byte, as llama-quantize's std::transform(::tolower) in the C locale
 *  (it lowercases escapes too: \D becomes \d). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// ---- --tensor-type, --tensor-type-file ----

/** parse_tensor_type: NAME=TYPE at the first '=', the name lowercased. */
export function parseTensorType(arg: string, source = `--tensor-type ${arg}`): Rule {
  const eq = arg.indexOf("=");
  if (eq < 0) usage(`${source}: malformed tensor type '${arg}' (expected PATTERN=TYPE)`);
  if (eq === 0) usage(`${source}: missing tensor name`);
  if (eq === arg.length - 1) usage(`${source}: missing quantization type`);
  const text = asciiLower(arg.slice(0, eq));
  return { kind: "tensor-type", text, regex: compileRegex(text, source), type: parseTypeName(arg.slice(eq + 1), source), source };
}

/** parse_tensor_type_file: whitespace-separated NAME=TYPE tokens (no comments in llama.cpp's format). */
export function parseTensorTypeFile(content: string, fileName: string): Rule[] {
  const rules: Rule[] = [];
  const lines = content.split("\n");
  lines.forEach((line, i) => {
    for (const token of line.split(/[ \t\v\f\r]+/).filter((t) => t.length > 0)) {
      rules.push(parseTensorType(token, `${fileName}:${i + 1}`));
    }
  });
  return rules;
}

// ---- --custom-q and recipes ----

/** ik_llama.cpp's --custom-q: comma-separated re=type (split at the first '='), not lowercased. */
export function parseCustomQ(arg: string, source = "--custom-q"): Rule[] {
  return arg.split(",").filter((s) => s.length > 0).map((item) => customRule(item, `${source} ${item}`));
}

function customRule(item: string, source: string): Rule {
  const eq = item.indexOf("=");
  if (eq <= 0) usage(`${source}: expected REGEX=TYPE`);
  const text = item.slice(0, eq);
  return { kind: "custom-q", text, regex: compileRegex(text, source), type: parseTypeName(item.slice(eq + 1).trim(), source), source };
}

/** Options a recipe may set besides its rules. */
export interface RecipeOptions {
  preset?: string;
  outputTensorType?: number;
  tokenEmbeddingType?: number;
  imatrix?: string;
}

export interface Recipe {
  rules: Rule[];
  options: RecipeOptions;
}

const RECIPE_KEYS = ["preset", "output-tensor-type", "token-embedding-type", "imatrix"] as const;

/**
 * A recipe file: one REGEX=TYPE rule per line (ik_llama.cpp --custom-q semantics: first match wins,
 * after the preset's rules), `#` comments (whole line, or after whitespace), blank lines; lines may
 * also hold several comma-separated rules, so the body of an ik_llama.cpp `custom="..."` recipe
 * pastes in verbatim. Lines `@preset Q4_K_M`, `@output-tensor-type q8_0`, `@token-embedding-type
 * q8_0`, `@imatrix file` set the matching options (the command line still wins).
 */
export function parseRecipe(content: string, fileName: string): Recipe {
  const rules: Rule[] = [];
  const options: RecipeOptions = {};
  content.split("\n").forEach((raw, i) => {
    const where = `${fileName}:${i + 1}`;
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line.length === 0) return;
    if (line.startsWith("@")) {
      const m = /^@([a-z-]+)\s+(\S.*)$/.exec(line);
      const key = m?.[1] as (typeof RECIPE_KEYS)[number] | undefined;
      if (!m || !key || !RECIPE_KEYS.includes(key)) usage(`${where}: unknown recipe setting '${line}' (one of: ${RECIPE_KEYS.map((k) => "@" + k).join(", ")})`);
      const value = m![2].trim();
      if (key === "preset") {
        if (!parsePreset(value)) usage(`${where}: unknown preset '${value}'`);
        options.preset = value;
      } else if (key === "output-tensor-type") options.outputTensorType = parseTypeName(value, where);
      else if (key === "token-embedding-type") options.tokenEmbeddingType = parseTypeName(value, where);
      else options.imatrix = value;
      return;
    }
    for (const item of line.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) rules.push(customRule(item, where));
  });
  return { rules, options };
}

/** Writes rules (and options) back as a recipe that parseRecipe reads to the same effect. */
export function formatRecipe(rules: readonly Rule[], options: RecipeOptions, header: string[] = []): string {
  const out = header.map((h) => `# ${h}`);
  if (options.preset) out.push(`@preset ${options.preset}`);
  if (options.outputTensorType !== undefined) out.push(`@output-tensor-type ${TYPES[options.outputTensorType].name}`);
  if (options.tokenEmbeddingType !== undefined) out.push(`@token-embedding-type ${TYPES[options.tokenEmbeddingType].name}`);
  if (options.imatrix) out.push(`@imatrix ${options.imatrix}`);
  // a rule that starts with '@' or '#' (possible after a comma) would read back as a setting or a
  // comment on a line of its own: a leading comma keeps it a rule
  for (const r of rules) out.push(`${/^[@#]/.test(r.text) ? "," : ""}${r.text}=${TYPES[r.type].name}`);
  return out.join("\n") + "\n";
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The effective recipe of a plan: its preset plus one rule per tensor kind and type, anchored, so
 * that `--recipe` with it reproduces every planned type whatever the preset's rules would say
 * (recipe rules come last, and the planned types already fit their rows). Blocks that share a type
 * are folded into one rule: ^blk\.(0|1|4)\.attn_v\.weight$=q6_K.
 */
export function effectiveRecipe(plan: Plan, preset: string, info: { imatrix?: string; input?: string; header?: readonly string[] } = {}): string {
  const groups = new Map<string, { kind: string; type: number; layers: string[] }>();
  const kinds = new Map<string, Set<number>>();
  for (const t of plan.tensors) {
    if (!t.decision.allowsQuantization) continue;
    const m = /^blk\.(\d+)\.(.*)$/.exec(t.name);
    const kind = m ? `blk.*.${m[2]}` : t.name;
    const key = `${kind}\u0000${t.dstType}`;
    const g = groups.get(key) ?? { kind, type: t.dstType, layers: [] };
    if (m) g.layers.push(m[1]);
    groups.set(key, g);
    kinds.set(kind, (kinds.get(kind) ?? new Set()).add(t.dstType));
  }
  const lines = [
    ...(info.header ?? [`effective recipe written by gguf-quantize --dry-run${info.input ? ` for ${info.input}` : ""}`]).map((h) => `# ${h}`),
    `# ${plan.tensors.length} tensors, ${(plan.sizeOut / 1048576).toFixed(2)} MiB, ${((plan.sizeOut * 8) / plan.nElements).toFixed(2)} BPW`,
    `@preset ${preset}`,
  ];
  if (info.imatrix) lines.push(`@imatrix ${info.imatrix}`);
  for (const g of groups.values()) {
    const rest = escapeRegex(g.kind.replace(/^blk\.\*\./, ""));
    let pattern: string;
    if (!g.kind.startsWith("blk.*.")) pattern = `^${escapeRegex(g.kind)}$`;
    else if (kinds.get(g.kind)!.size === 1) pattern = `^blk\\.\\d+\\.${rest}$`;
    else pattern = `^blk\\.(${g.layers.join("|")})\\.${rest}$`;
    lines.push(`${pattern}=${typeName(g.type)}`);
  }
  return lines.join("\n") + "\n";
}
