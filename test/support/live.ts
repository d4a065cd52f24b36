// Randomized whole-file differential testing against llama.cpp itself (test/support/llama.ts):
// random models, presets and options; both quantizers run on the same files, and either both
// write byte-identical files or both refuse. Dry runs are compared line by line (per-tensor types
// and sizes, overrides, fallbacks, summary) for every preset, including those we cannot execute yet.
//
// The llama.cpp side is driven as llama-quantize drives llama_model_quantize, computed here
// independently of src/ (the importance values a loader would produce, the --include/--exclude
// filtering, the quantize.imatrix.* kv overrides, the lowercased --tensor-type patterns), so that
// a bug in our CLI or imatrix loader shows up as a difference instead of being mirrored.
//
// Besides presets and type options, a case may prune layers, override metadata, split its input
// into gguf-split shards (and keep the split), start from a model llama.cpp already quantized
// (--allow-requantize), and run our side on several worker threads. Real runs are made for every
// preset whose plan only needs types we have kernels for (asked of the Kernels class); the others
// are compared as dry runs.

import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../src/cli.js";
import { defaultType } from "../../src/ftypes.js";
import { readGgufHeader } from "../../src/gguf/read.js";
import type { GgufKv } from "../../src/gguf/values.js";
import { openSource } from "../../src/io/node.js";
import { writeGgufImatrix, writeLegacyImatrix, type ImatrixStat, type ImatrixMeta } from "../../src/imatrix.js";
import { Kernels } from "../../src/kernels.js";
import { TYPES, typeByName } from "../../src/types.js";
import { memorySource } from "./bytes.js";
import { generateImatrix, generateModel, modelBytes, modelShards, resolveSpec, shardName, tensorShapes, type GeneratedModel, type GeneratedTensor, type ImatrixSpec, type ModelSpec } from "./generate.js";
import { f32ToBf16, f32ToF16 } from "./halves.js";
import type { KvOverride, LlamaOracle, LlamaQuantizeParams } from "./llama.js";
import { Rng } from "./random.js";

// ---- the cases ----

/** llama.h's llama_ftype of every preset llama-quantize offers (written out here, not taken from src/). */
export const FTYPES: Record<string, number> = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K_S: 11, Q3_K_M: 12, Q3_K_L: 13,
  Q4_K_S: 14, Q4_K_M: 15, Q5_K_S: 16, Q5_K_M: 17, Q6_K: 18, IQ2_XXS: 19, IQ2_XS: 20, Q2_K_S: 21, IQ3_XS: 22,
  IQ3_XXS: 23, IQ1_S: 24, IQ4_NL: 25, IQ3_S: 26, IQ3_M: 27, IQ2_S: 28, IQ2_M: 29, IQ4_XS: 30, IQ1_M: 31,
  BF16: 32, TQ1_0: 36, TQ2_0: 37, MXFP4_MOE: 38, Q1_0: 40, Q2_0: 41,
};

const kernels = new Kernels();

/** Target types we have kernels for (safe for real runs on both sides), as the Kernels class says. */
export const KERNEL_TYPES = TYPES.filter((t) => t.blockSize > 0 && kernels.has(t.id)).map((t) => t.name);
/** Presets whose default type has a kernel: drawn for real runs (a case whose plan needs another
 *  type is compared as a dry run instead; see executable()). COPY copies every tensor. */
export const RUNNABLE_PRESETS = Object.keys(FTYPES).filter((p) => kernels.has(defaultType(FTYPES[p])!));
/** Presets whose default type has no kernel yet: dry runs only. */
export const PLAN_ONLY_PRESETS = Object.keys(FTYPES).filter((p) => !RUNNABLE_PRESETS.includes(p));
/** Source types we can requantize from (assembly/dequant.ts). */
export const DEQUANT_TYPES = TYPES.filter((t) => t.quantized && kernels.canRead(t.id)).map((t) => t.name);
/** Every ggml type name a --tensor-type rule may name (dry runs only: llama.cpp aborts on some). */
export const ANY_TYPES = TYPES.filter((t) => t.blockSize > 0).map((t) => t.name);

export type ImatrixKind = "none" | "dat" | "gguf";

export interface ExtraTensor { name: string; ne: number[] }

export interface LiveCase {
  model: ModelSpec;
  preset: string;
  imatrix: ImatrixKind;
  imatrixSpec?: ImatrixSpec;
  /** --include-weights / --exclude-weights values */
  include?: string[];
  exclude?: string[];
  /** tensors appended to the generated ones (odd names and shapes: categories, never-quantized names, ordering) */
  extras?: ExtraTensor[];
  /** the other llama-quantize flags, as typed on the command line */
  flags: string[];
  /** compare --dry-run plans only */
  dryRun: boolean;
  /** the input split as gguf-split would (relative shard sizes; a leading 0 is --no-tensor-first-split) */
  split?: number[];
  /** the input is the generated model quantized first by llama.cpp with this preset and these flags
   *  (and with the model's generated GGUF imatrix: the I-quants below 3 bits refuse to run without one) */
  source?: { preset: string; flags: string[]; imatrix?: boolean };
  /** our nthreads argument (worker threads; llama.cpp runs on one) */
  threads?: number;
  /** text files written beside the model (e.g. a --tensor-type-file), by name */
  files?: Record<string, string>;
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.int(xs.length)];
const chance = (r: Rng, p: number) => r.uniform() < p;

const EMBD = [32, 64, 96, 128, 160, 192, 256, 320, 384, 512, 576];
const FF = [32, 64, 96, 128, 160, 192, 256, 320, 384, 512, 576, 640, 768, 1024];
/** widths that are not multiples of 32: block-32 types fall back to f16 ("unusual shape") */
const ODD_FF = [48, 80, 112, 272];
const PATTERNS = [
  "attn_v", "attn_k", "attn_q", "attn_output", "attn", "ffn_down", "ffn_up", "ffn_gate", "ffn_(up|gate)", "ffn",
  "exps", "shexp", "ffn_down_exps", "gate_inp", "blk\\.0\\.", "blk\\.[0-4]\\.", "blk\\.1\\d*\\.", "^blk\\.(2|3)\\.attn",
  "output", "output\\.weight", "token_embd", "embd", "norm", "weight", "bias", ".*", "nomatch", "BLK\\.0\\.FFN",
  "Attn_V", "_k\\.weight$", "\\.(1|3|5|7|9)\\.ffn_down", "up_exps|down_shexp", "qkv", "kv_b", "per_layer", "abcde", "extra",
];
/** Extra tensors: fused and other categories, names llama.cpp never quantizes, 1-D and [n, 1] shapes,
 *  a 5-byte name (which passes the "ends in weight" test), blk.12 (ordering; a bad layer for MoE
 *  rules), non-ASCII bytes (bytewise name order). L is a random layer of the model. */
const EXTRAS: ((s: ReturnType<typeof resolveSpec>, L: number) => ExtraTensor)[] = [
  (s) => ({ name: "per_layer_token_embd.weight", ne: [s.nEmbd, s.nVocab] }),
  (s, L) => ({ name: `blk.${L}.attn_qkv.weight`, ne: [s.nEmbd, 3 * s.nEmbd] }),
  (s, L) => ({ name: `blk.${L}.attn_kv_b.weight`, ne: [s.nEmbd, 64] }),
  (s) => ({ name: "position_embd.weight", ne: [s.nEmbd, 64] }),
  (s) => ({ name: "token_types.weight", ne: [s.nEmbd, 2] }),
  (s, L) => ({ name: `blk.${L}.ssm_conv1d.weight`, ne: [4, s.nEmbd] }),
  (s, L) => ({ name: `blk.${L}.other_proj.weight`, ne: [s.nEmbd, 64] }),
  (s) => ({ name: "abcde", ne: [s.nEmbd, 32] }),
  (s, L) => ({ name: `blk.${L}.attn_output.weight_scale`, ne: [s.nEmbd, 8] }),
  (s, L) => ({ name: `blk.${L}.ffn_gate_tid2eid.weight`, ne: [s.nEmbd, 16] }),
  (s) => ({ name: "rope_freqs.weight", ne: [16] }),
  (s, L) => ({ name: `blk.${L}.column.weight`, ne: [s.nEmbd, 1] }),
  (s) => ({ name: "blk.12.extra.weight", ne: [s.nEmbd, 32] }),
  (s, L) => ({ name: `blk.${L}.\u00e9t\u00e9.weight`, ne: [s.nEmbd, 32] }),
  (s, L) => ({ name: `blk.${L}.Zeta.weight`, ne: [s.nEmbd, 32] }),
  (s, L) => ({ name: `blk.${L}.ffn_up_exps.weight`, ne: [s.nEmbd, 64, 2] }),
  (s, L) => ({ name: `blk.${L}.ffn_down_extra.weight`, ne: [96, s.nEmbd] }),
  (s) => ({ name: `blk.${s.nLayer + 2}.ffn_gate.weight`, ne: [s.nEmbd, 64] }),
  (s) => ({ name: "mm.ffn_down.weight", ne: [64, s.nEmbd] }),
];

const IMATRIX_FILTERS = ["ffn_down", "attn_v", "attn", "exps", "blk.0.", "blk.1", "output", "nomatch", "ffn", "shexp", "weight", "_k."];

/** Weight count, to keep every case small enough for a quick run. */
export function modelParams(spec: ModelSpec): number {
  return tensorShapes(spec).reduce((n, t) => n + t.ne.reduce((a, b) => a * b, 1), 0);
}

function randomModel(r: Rng, budget: number): ModelSpec {
  for (;;) {
    const arch = pick(r, ["llama", "llama", "qwen2", "qwen2moe", "qwen3moe", "deepseek2", "phi3"] as const);
    const nEmbd = pick(r, EMBD);
    const headDim = pick(r, [16, 32, 64].filter((d) => nEmbd % d === 0));
    const nHead = nEmbd / headDim;
    const kvChoices = [...Array(nHead).keys()].map((i) => i + 1).filter((k) => nHead % k === 0);
    const nHeadKv = chance(r, 0.5) ? nHead : pick(r, kvChoices);
    const ff = () => (chance(r, 0.06) ? pick(r, ODD_FF) : pick(r, FF));
    const moe = arch === "qwen2moe" || arch === "qwen3moe" || arch === "deepseek2" || (arch === "llama" && chance(r, 0.3));
    const spec: ModelSpec = {
      arch, nLayer: 1 + r.int(10), nEmbd, nHead, nHeadKv, nFf: ff(),
      nVocab: pick(r, [32, 48, 64, 100, 128]),
      tied: chance(r, 0.3),
      dtype: pick(r, ["f32", "f16", "bf16"] as const),
      tokenizer: chance(r, 0.1) ? "hostile" : chance(r, 0.05) ? "none" : "plain",
      seed: r.u32(),
    };
    if (moe) {
      spec.nExpert = pick(r, [2, 3, 4, 4, 6, 8, 8, 8, 12, 16]);
      spec.nExpertUsed = 1 + r.int(Math.min(4, spec.nExpert));
      spec.nFfExp = ff();
      if (arch === "qwen2moe") spec.nFfShexp = chance(r, 0.5) ? spec.nFfExp : ff();
    }
    if (arch === "deepseek2") {
      delete spec.nHeadKv; // MLA: 1 (split) or head_count (kv_b)
      spec.mla = chance(r, 0.7) ? "split" : "kv_b";
      spec.nLayerDense = r.int(Math.min(3, spec.nLayer!) + 1);
      spec.qLoraRank = pick(r, [32, 64, 96, 128, 256]);
      spec.kvLoraRank = pick(r, [32, 64, 128, 256]);
      spec.qkNopeDim = pick(r, [16, 32, 64]);
      spec.qkRopeDim = pick(r, [8, 16, 32]);
      spec.vHeadDim = pick(r, [16, 32, 64]);
      spec.nExpertShared = pick(r, [1, 1, 2]);
    }
    // fit the budget by dropping layers, then experts, rather than by redrawing (which favours narrow models)
    while (modelParams(spec) > budget && spec.nLayer! > 1) {
      spec.nLayer!--;
      if (spec.nLayerDense !== undefined) spec.nLayerDense = Math.min(spec.nLayerDense, spec.nLayer!);
    }
    while (modelParams(spec) > budget && (spec.nExpert ?? 0) > 2) {
      spec.nExpert = spec.nExpert! - 1;
      spec.nExpertUsed = Math.min(spec.nExpertUsed!, spec.nExpert);
    }
    if (modelParams(spec) <= budget) return spec;
  }
}

/** --prune-layers lists: first, last, all but one, random subsets; unsorted, repeated, out of range. */
function randomPrune(r: Rng, nLayer: number): string {
  const all = [...Array(nLayer).keys()];
  let ids: number[];
  switch (r.int(6)) {
    case 0: ids = [0]; break;
    case 1: ids = [nLayer - 1]; break;
    case 2: { const keep = r.int(nLayer); ids = all.filter((i) => i !== keep); break; }
    case 3: ids = [0, nLayer - 1]; break;
    case 4: ids = [...all.filter(() => chance(r, 0.4)), nLayer + r.int(3)]; break; // one beyond the model
    default: ids = all.filter(() => chance(r, 0.5));
  }
  if (ids.length === 0) ids = [r.int(nLayer)];
  if (ids.length > 1 && chance(r, 0.3)) ids.reverse();
  if (chance(r, 0.2)) ids.push(ids[0]);
  return ids.join(",");
}

/** --override-kv arguments: new keys of every type (with atol/atof edge spellings), keys the model
 *  already has, and keys the loader reads (so that the type policy changes), also with the wrong type. */
function randomOverride(r: Rng, spec: ReturnType<typeof resolveSpec>): string {
  const a = spec.arch;
  const ints = ["-7", "0", "12", "4294967301", "-4294967297", "8589934591", " 42", "+9", "17abc", "", "9223372036854775807"];
  const floats = ["0.5", "-1e-3", "1e40", "-inf", "nan", "0x1p-3", "3.4028235e38", "1e-46", "2.5e", ".25", "abc"];
  const strs = ["", "renamed", "é中🙂", "x".repeat(127), "with space", "a=b:c"];
  // (not beyond LLAMA_MAX_LAYERS: llama.cpp aborts, test/live-options.test.ts runs that in a child process)
  const sizes = [spec.nLayer - 1, spec.nLayer + 1, spec.nLayer + 7, 80];
  const options: (() => string)[] = [
    () => `test.int=int:${pick(r, ints)}`,
    () => `test.float=float:${pick(r, floats)}`,
    () => `test.bool=bool:${pick(r, ["true", "false"])}`,
    () => `test.str=str:${pick(r, strs)}`,
    () => `general.name=str:${pick(r, strs)}`,
    () => `general.file_type=int:${pick(r, ["7", "2", "1025"])}`,
    () => `general.quantization_version=int:${pick(r, ["1", "3"])}`,
    () => `general.alignment=int:${pick(r, ["32", "64"])}`,
    () => `${a}.context_length=int:${pick(r, ["4096", "-1"])}`,
    // the type policy reads these: n_layer (use_more_bits, n/8, MoE layer checks), n_gqa, n_expert
    () => `${a}.block_count=int:${pick(r, sizes.filter((n) => n >= 1))}`,
    () => `${a}.block_count=${pick(r, ["str:5", "float:3", "bool:true"])}`,
    () => `${a}.attention.head_count_kv=int:${pick(r, [1, spec.nHeadKv, spec.nHead].map(String))}`,
    () => `general.architecture=int:${pick(r, ["3", "0"])}`,
    ...(spec.nExpert > 0 ? [
      () => `${a}.expert_count=int:${pick(r, [spec.nExpert, 8, 16].filter((n) => n >= spec.nExpertUsed).map(String))}`,
      () => `${a}.expert_count=float:8`,
    ] : []),
  ];
  return pick(r, options)();
}

/** A random case; `plan` cases are dry runs over any preset and any type. */
export function randomCase(r: Rng, plan: boolean, budget = 1_000_000): LiveCase {
  const model = randomModel(r, budget);
  const types = plan ? ANY_TYPES : KERNEL_TYPES;
  const spelled = (t: string) => (chance(r, 0.2) ? t.toUpperCase() : t);
  for (;;) {
    const c: LiveCase = {
      model,
      // (once every preset has its kernels, PLAN_ONLY_PRESETS is empty and dry runs draw from all)
      preset: chance(r, 0.04) ? "COPY" : plan && PLAN_ONLY_PRESETS.length > 0 && chance(r, 0.8) ? pick(r, PLAN_ONLY_PRESETS) : pick(r, RUNNABLE_PRESETS),
      imatrix: pick(r, ["none", "none", "dat", "gguf", "gguf"] as const),
      flags: [],
      dryRun: plan,
    };
    const s = resolveSpec(model);
    if (chance(r, 0.25)) {
      const extras = new Map<string, ExtraTensor>();
      const own = new Set(tensorShapes(model).map((t) => t.name));
      for (let n = 1 + r.int(3); n > 0; n--) {
        const x = pick(r, EXTRAS)(s, r.int(s.nLayer));
        if (!own.has(x.name)) extras.set(x.name, x); // (phi3 has its own attn_qkv, deepseek2 its attn_kv_b, MoE its experts)
      }
      c.extras = [...extras.values()];
    }
    if (c.imatrix !== "none") {
      c.imatrixSpec = {
        seed: r.u32(),
        chunkSize: pick(r, [64, 512]),
        chunks: 1 + r.int(20),
        datasets: pick(r, [[], ["calibration.txt"], ["wiki.train.raw", "extra.txt"]]),
        zeroExperts: r.int(3),
        processOutput: chance(r, 0.3),
        activations: chance(r, 0.3),
      };
      if (chance(r, 0.3)) {
        const list = [pick(r, IMATRIX_FILTERS), ...(chance(r, 0.3) ? [pick(r, IMATRIX_FILTERS)] : [])];
        if (chance(r, 0.5)) c.include = list; else c.exclude = list;
      }
    }
    if (chance(r, 0.2)) c.flags.push("--pure");
    if (chance(r, 0.15)) c.flags.push("--leave-output-tensor");
    if (chance(r, 0.15)) c.flags.push("--output-tensor-type", spelled(pick(r, types)));
    if (chance(r, 0.15)) c.flags.push("--token-embedding-type", spelled(pick(r, types)));
    if (chance(r, 0.35)) {
      for (let n = 1 + r.int(3); n > 0; n--) c.flags.push("--tensor-type", `${spelled(pick(r, PATTERNS))}=${spelled(pick(r, types))}`);
    }
    if (s.nLayer > 1 && chance(r, 0.15)) c.flags.push("--prune-layers", randomPrune(r, s.nLayer));
    if (chance(r, 0.2)) for (let n = 1 + r.int(3); n > 0; n--) c.flags.push("--override-kv", randomOverride(r, s));
    if (chance(r, 0.15)) {
      c.split = chance(r, 0.2) ? [0, 1 + r.int(3), 1 + r.int(3)] : Array.from({ length: 2 + r.int(2) }, () => 1 + r.int(4));
      if (chance(r, 0.6)) c.flags.push("--keep-split");
    } else if (chance(r, 0.03)) c.flags.push("--keep-split"); // one shard in, "-00001-of-00001" out
    if (chance(r, plan ? 0.06 : 0.12)) {
      const from = pick(r, ["Q8_0", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q6_K", "Q4_K_M"]);
      c.source = { preset: from, flags: chance(r, 0.7) ? ["--pure"] : [] };
      c.extras = undefined; // llama.cpp would refuse some of them already when making the source
      if (chance(r, 0.9)) c.flags.push("--allow-requantize");
    }
    if (!plan && chance(r, 0.04)) c.threads = pick(r, [2, 4]); // each pool start costs ~1 s under tsx: test/threads-live covers more
    if (plan || runnable(c)) return c;
  }
}

/**
 * Whether a real run is safe in-process: --output-tensor-type / --token-embedding-type skip the
 * shape fallback, and llama.cpp then quantizes rows its type cannot hold and corrupts its heap
 * ("ggml_validate_row_data: invalid size", then "free(): corrupted unsorted chunks").
 */
export function runnable(c: LiveCase): boolean {
  const s = resolveSpec(c.model);
  const o = params(c);
  const direct = (t: number | undefined) => t === undefined || s.nEmbd % TYPES[t].blockSize === 0;
  return direct(o.tokenEmbeddingType) && (s.tied || direct(o.outputTensorType));
}

// ---- the llama.cpp side, as llama-quantize would call it ----

/** ggml type id from a name, case-insensitive (parse_ggml_type) */
function typeId(name: string): number {
  const t = TYPES.find((x) => x.blockSize > 0 && x.name.toLowerCase() === name.toLowerCase());
  if (!t) throw new Error(`unknown type ${name}`);
  return t.id;
}

/** The flags as llama_model_quantize_params (imatrix aside). */
export function params(c: LiveCase): LlamaQuantizeParams {
  // COPY is llama-quantize's { "COPY", LLAMA_FTYPE_ALL_F32 } with only_copy set
  const p: LlamaQuantizeParams = c.preset === "COPY" ? { ftype: 0, onlyCopy: true, tensorTypes: [] } : { ftype: FTYPES[c.preset], tensorTypes: [] };
  for (let i = 0; i < c.flags.length; i++) {
    const f = c.flags[i];
    if (f === "--pure") p.pure = true;
    else if (f === "--leave-output-tensor") p.leaveOutputTensor = true;
    else if (f === "--output-tensor-type") p.outputTensorType = typeId(c.flags[++i]);
    else if (f === "--token-embedding-type") p.tokenEmbeddingType = typeId(c.flags[++i]);
    else if (f === "--tensor-type") {
      const a = c.flags[++i];
      const eq = a.indexOf("=");
      p.tensorTypes!.push({ pattern: a.slice(0, eq).toLowerCase(), type: typeId(a.slice(eq + 1)) });
    } else if (f === "--tensor-type-file") {
      // parse_tensor_type_file: `file >> token`, each token as --tensor-type
      const name = c.flags[++i];
      const text = c.files?.[name];
      if (text === undefined) throw new Error(`--tensor-type-file ${name}: not among the case's files`);
      for (const token of text.split(/[ \t\n\v\f\r]+/).filter((t) => t.length > 0)) {
        const eq = token.indexOf("=");
        p.tensorTypes!.push({ pattern: token.slice(0, eq).toLowerCase(), type: typeId(token.slice(eq + 1)) });
      }
    } else if (f === "--prune-layers") p.pruneLayers = parseLayerPrune(c.flags[++i]);
    else if (f === "--override-kv") (p.kvOverrides ??= []).push(parseKvOverride(c.flags[++i]));
    else if (f === "--keep-split") p.keepSplit = true;
    else if (f === "--allow-requantize") p.allowRequantize = true;
    else throw new Error(`flag ${f}`);
  }
  return p;
}

/** llama-quantize's parse_layer_prune: comma-separated std::stoi values >= 0, sorted, deduplicated. */
function parseLayerPrune(arg: string): number[] {
  const ids = arg.split(",").map((x) => {
    const m = /^\s*([+-]?\d+)/.exec(x);
    const id = m ? Number(m[1]) : -1;
    if (id < 0 || id > 2147483647) throw new Error(`invalid layer id '${x}'`);
    return id;
  });
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** common's string_parse_kv_override: int by atol (i64, saturating), float by atof, bool, str <= 127 bytes. */
function parseKvOverride(arg: string): KvOverride {
  const eq = arg.indexOf("=");
  if (eq < 0 || Buffer.byteLength(arg.slice(0, eq)) >= 128) throw new Error(`malformed KV override '${arg}'`);
  const key = arg.slice(0, eq), v = arg.slice(eq + 1);
  if (v.startsWith("int:")) {
    const m = /^\s*([+-]?\d+)/.exec(v.slice(4));
    const n = m ? BigInt(m[1]) : 0n;
    const max = (1n << 63n) - 1n;
    return { key, kind: "int", value: n > max ? max : n < -max - 1n ? -max - 1n : n };
  }
  if (v.startsWith("float:")) {
    const t = v.slice(6).trimStart();
    const special = /^([+-]?)(inf|nan)/i.exec(t);
    const hex = /^([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?/i.exec(t);
    const dec = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(t);
    let x = 0;
    if (special) x = special[2].toLowerCase() === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity;
    else if (hex && (hex[2] || hex[3])) {
      x = parseInt((hex[2] || "0") + (hex[3] ?? ""), 16) / 16 ** (hex[3] ?? "").length * 2 ** Number(hex[4] ?? 0);
      if (hex[1] === "-") x = -x;
    } else if (dec) x = Number(dec[0]);
    return { key, kind: "float", value: x };
  }
  if (v.startsWith("bool:")) {
    if (v.slice(5) !== "true" && v.slice(5) !== "false") throw new Error(`invalid boolean value for KV override '${arg}'`);
    return { key, kind: "bool", value: v.slice(5) === "true" };
  }
  if (v.startsWith("str:")) {
    if (Buffer.byteLength(v.slice(4)) > 127) throw new Error(`value cannot exceed 127 chars: '${arg}'`);
    return { key, kind: "str", value: v.slice(4) };
  }
  throw new Error(`invalid type for KV override '${arg}'`);
}

interface ImatrixForLlama { entries: Map<string, Float32Array>; datasets: string[]; chunkCount: number }

/** What common_imatrix_load + llama-quantize's load_imatrix give for a GGUF imatrix written from `stats`
 *  (writeGgufImatrix leaves out entries without values or counts). */
function ggufValues(stats: readonly ImatrixStat[], meta: ImatrixMeta): ImatrixForLlama {
  const entries = new Map<string, Float32Array>();
  for (const s of stats) {
    if (s.values.length === 0 || s.counts.length === 0) continue;
    const nmat = s.counts.length, ne0 = s.values.length / nmat;
    const v = new Float32Array(s.values.length);
    for (let j = 0; j < nmat; j++) {
      const c = Math.fround(Math.round(Math.fround(s.counts[j]))); // lround of the stored f32, as float
      for (let i = 0; i < ne0; i++) v[j * ne0 + i] = c > 0 ? Math.fround(s.values[j * ne0 + i] / c) : 1;
    }
    entries.set(s.name, v);
  }
  return { entries, datasets: [...meta.datasets], chunkCount: meta.chunkCount };
}

/** The same for a legacy .dat file, read from its bytes. */
function datValues(bytes: Uint8Array): ImatrixForLlama {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const i32 = () => { const v = dv.getInt32(o, true); o += 4; return v; };
  const entries = new Map<string, Float32Array>();
  const n = i32();
  for (let e = 0; e < n; e++) {
    const len = i32();
    const name = new TextDecoder().decode(bytes.subarray(o, o + len)); o += len;
    const ncall = i32(), nval = i32();
    const v = new Float32Array(nval);
    for (let i = 0; i < nval; i++, o += 4) {
      const x = dv.getFloat32(o, true);
      v[i] = ncall > 0 ? Math.fround(x / ncall) : x;
    }
    entries.set(name, v);
  }
  let chunkCount = 0;
  const datasets: string[] = [];
  if (o < bytes.length) {
    chunkCount = i32();
    const len = i32();
    if (len > 0) datasets.push(new TextDecoder().decode(bytes.subarray(o, o + len)));
  }
  return { entries, datasets, chunkCount };
}

/** prepare_imatrix's filters, then the quantize.imatrix.* kv overrides llama-quantize adds. */
function llamaImatrix(im: ImatrixForLlama, path: string, include: string[] = [], exclude: string[] = []): { imatrix?: Map<string, Float32Array>; kvs: KvOverride[] } {
  const entries = new Map([...im.entries].filter(([name]) =>
    !exclude.some((s) => name.includes(s)) && (include.length === 0 || include.some((s) => name.includes(s)))));
  if (entries.size === 0) return { kvs: [] };
  if (Buffer.byteLength(path) > 127) throw new Error("keep test paths under 127 bytes");
  const kvs: KvOverride[] = [{ key: "quantize.imatrix.file", kind: "str", value: path }];
  if (im.datasets.length > 0) kvs.push({ key: "quantize.imatrix.dataset", kind: "str", value: im.datasets[0] });
  kvs.push({ key: "quantize.imatrix.entries_count", kind: "int", value: entries.size });
  if (im.chunkCount > 0) kvs.push({ key: "quantize.imatrix.chunks_count", kind: "int", value: im.chunkCount });
  return { imatrix: entries, kvs };
}

// ---- running both ----

export interface Files {
  dir: string;
  /** the input (its first shard when split) */
  model: string;
  imatrix?: string;
  /** the output names given to each side (with --keep-split, shards `ours-00001-of-0000N.gguf`, ...) */
  ours: string;
  theirs: string;
}

export interface Prepared { files: Files; llamaImatrix: ReturnType<typeof llamaImatrix> }

/** Changes to a generated model or imatrix, for the fixed checks (invalid values, wrong lengths). */
export interface Edits {
  model?: (m: GeneratedModel) => void;
  imatrix?: (stats: ImatrixStat[]) => ImatrixStat[];
}

const DTYPE_IDS = { f32: 0, f16: 1, bf16: 30 } as const;

/** An extra tensor's data: small values from its name, stored as the model's weights are (1-D: f32). */
function extraTensor(x: ExtraTensor, dtype: keyof typeof DTYPE_IDS): GeneratedTensor {
  let seed = 0x811c9dc5;
  for (const ch of x.name) seed = Math.imul(seed ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const r = new Rng(seed);
  const n = x.ne.reduce((a, b) => a * b, 1);
  const type = x.ne.length > 1 ? DTYPE_IDS[dtype] : 0;
  const f = new Float32Array(n).map(() => Math.fround((r.uniform() - 0.5) * 0.2));
  if (type === 0) return { name: x.name, ne: x.ne, type, data: new Uint8Array(f.buffer) };
  const h = new Uint16Array(n).map((_, i) => (type === 1 ? f32ToF16 : f32ToBf16)(f[i]));
  return { name: x.name, ne: x.ne, type, data: new Uint8Array(h.buffer) };
}

export interface ModelFile { kvs: GgufKv[]; tensors: GeneratedTensor[] }

/** A GGUF file read back as metadata plus tensors with their data (to split or rewrite it). */
export async function readModelFile(path: string): Promise<ModelFile> {
  const bytes = new Uint8Array(readFileSync(path));
  const h = await readGgufHeader(memorySource(bytes, path));
  return {
    kvs: h.kvs,
    tensors: h.tensors.map((t) => ({ name: t.name, ne: t.ne, type: t.type, data: bytes.subarray(h.dataOffset + t.offset, h.dataOffset + t.offset + t.nbytes) })),
  };
}

/** Tensors per shard for relative sizes `weights` (a 0 stays an empty shard, the others get at least
 *  one); weights that add up to the tensor count are taken as the sizes. */
export function shardSizes(weights: readonly number[], n: number): number[] {
  if (weights.reduce((a, b) => a + b, 0) === n) return [...weights];
  const live = weights.filter((w) => w > 0).length;
  if (live === 0 || n < live) throw new RangeError(`cannot split ${n} tensors as ${weights.join(":")}`);
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => (w > 0 ? 1 + Math.floor(((n - live) * w) / total) : 0));
  sizes[sizes.length - 1] += n - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

/** The imatrix a source is made with: its file, and the same values as llama_model_quantize takes them. */
export interface SourceImatrix { path: string; llama: ReturnType<typeof llamaImatrix> }

/** Makes a case's quantized source: quantizes `input` into `output` as `source` says. */
export type SourceMaker = (input: string, output: string, source: NonNullable<LiveCase["source"]>, imatrix?: SourceImatrix) => void | Promise<void>;

/** llama.cpp makes the source (for the live tests). */
export function llamaSource(llama: LlamaOracle): SourceMaker {
  return (input, output, source, imatrix) => {
    const lines: string[] = [];
    const p = params({ model: {}, preset: source.preset, flags: source.flags, imatrix: "none", dryRun: false });
    if (imatrix) Object.assign(p, { imatrix: imatrix.llama.imatrix, kvOverrides: [...(p.kvOverrides ?? []), ...imatrix.llama.kvs] });
    const status = llama.quantize(input, output, p, lines);
    if (status !== 0) throw new Error(`llama.cpp did not make the ${source.preset} source: ${lines.slice(-2).join(" | ")}`);
  };
}

/**
 * Writes the model (its shards, its imatrix) of a case into dir. A case with a quantized source
 * needs `makeSource` (or llama.cpp, which then makes it) to quantize the generated model first.
 */
export async function prepare(c: LiveCase, dir: string, edits: Edits = {}, source?: LlamaOracle | SourceMaker): Promise<Prepared> {
  const m = generateModel(c.model);
  for (const x of c.extras ?? []) m.tensors.push(extraTensor(x, m.spec.dtype));
  edits.model?.(m);
  let input: ModelFile = m;
  if (c.source) {
    if (!source) throw new Error("a case with a quantized source needs something to make it");
    const make = typeof source === "function" ? source : llamaSource(source);
    const src = join(dir, "source.gguf"), q = join(dir, "source-q.gguf");
    writeFileSync(src, modelBytes(m));
    let imatrix: SourceImatrix | undefined;
    if (c.source.imatrix) {
      const im = generateImatrix(m);
      const path = join(dir, "source-imatrix.gguf");
      writeFileSync(path, writeGgufImatrix(im.stats, im.meta));
      imatrix = { path, llama: llamaImatrix(ggufValues(im.stats, im.meta), path) };
    }
    await make(src, q, c.source, imatrix);
    input = await readModelFile(q);
    rmSync(src);
    rmSync(q);
    if (imatrix) rmSync(imatrix.path);
  }
  const sizes = c.split ? shardSizes(c.split, input.tensors.length) : undefined;
  const files: Files = {
    dir, model: join(dir, sizes ? shardName("model", 0, sizes.length) : "model.gguf"),
    ours: join(dir, "ours.gguf"), theirs: join(dir, "theirs.gguf"),
  };
  for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(join(dir, name), text);
  if (sizes) modelShards(input, sizes).forEach((bytes, i) => writeFileSync(join(dir, shardName("model", i, sizes.length)), bytes));
  else writeFileSync(files.model, input === m ? modelBytes(m) : modelBytes({ ...m, kvs: input.kvs, tensors: input.tensors }));
  let li: ReturnType<typeof llamaImatrix> = { kvs: [] };
  if (c.imatrix !== "none") {
    files.imatrix = join(dir, `imatrix.${c.imatrix}`);
    const im = generateImatrix(m, c.imatrixSpec);
    const stats = edits.imatrix ? edits.imatrix(im.stats) : im.stats;
    const bytes = c.imatrix === "gguf" ? writeGgufImatrix(stats, im.meta) : writeLegacyImatrix(stats, im.meta);
    writeFileSync(files.imatrix, bytes);
    const values = c.imatrix === "gguf" ? ggufValues(stats, im.meta) : datValues(bytes);
    li = llamaImatrix(values, files.imatrix, c.include, c.exclude);
  }
  return { files, llamaImatrix: li };
}

export interface Output { name: string; bytes: Buffer }
export interface OursResult { code: number; lines: string[]; outputs: Output[]; leftovers: string[] }
export interface LlamaResult { status: number; lines: string[]; outputs: Output[]; error?: string }

/** The files a run wrote as `<prefix>.gguf` or `<prefix>-NNNNN-of-NNNNN.gguf`, in name order. */
export function outputsOf(dir: string, prefix: string): Output[] {
  const shard = new RegExp(`^${prefix}-\\d{5}-of-\\d{5}\\.gguf$`);
  return readdirSync(dir).filter((n) => n === `${prefix}.gguf` || shard.test(n)).sort().map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
}

function removeOutputs(dir: string) {
  for (const n of readdirSync(dir)) if (n.startsWith("ours") || n.startsWith("theirs")) rmSync(join(dir, n), { force: true });
}

export function cliArgs(c: LiveCase, f: Files): string[] {
  return [
    ...c.flags,
    ...(f.imatrix ? ["--imatrix", f.imatrix] : []),
    ...(c.include ?? []).flatMap((s) => ["--include-weights", s]),
    ...(c.exclude ?? []).flatMap((s) => ["--exclude-weights", s]),
    ...(c.dryRun ? ["--dry-run"] : []),
    f.model, f.ours, c.preset, String(c.threads ?? 1),
  ];
}

export async function runOurs(c: LiveCase, f: Files): Promise<OursResult> {
  let err = "";
  const code = await runCli(cliArgs(c, f), { stdout: () => {}, stderr: (s) => { err += s; } });
  const lines = err.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const outputs = outputsOf(f.dir, "ours");
  const leftovers = readdirSync(f.dir).filter((n) => n.startsWith("ours") && !outputs.some((o) => o.name === n));
  return { code, lines, outputs, leftovers };
}

/** llama.cpp's side; `isolate` runs it in a child process (for inputs it may abort on). */
export function runLlama(llama: LlamaOracle, c: LiveCase, p: Prepared, isolate?: quantizeIsolatedFn): LlamaResult {
  const o = params(c);
  // llama-quantize strips .gguf from the output name with --keep-split: it is the shards' prefix
  const out = o.keepSplit ? p.files.theirs.replace(/\.gguf$/, "") : p.files.theirs;
  const full: LlamaQuantizeParams = {
    ...o, nthread: 1, dryRun: c.dryRun, imatrix: p.llamaImatrix.imatrix, kvOverrides: [...(o.kvOverrides ?? []), ...p.llamaImatrix.kvs],
  };
  let lines: string[] = [];
  let status: number;
  if (isolate) {
    const r = isolate(p.files.model, out, full);
    lines = r.lines;
    status = r.status ?? -1;
    if (r.signal) lines.push(`failed to quantize: aborted (${r.signal}): ${r.stderr.trim().split("\n").filter((l: string) => /GGML_ASSERT|error|abort/i.test(l)).slice(0, 1).join("") || r.stderr.trim().split("\n").pop()}`);
  } else {
    status = llama.quantize(p.files.model, out, full, lines);
  }
  const outputs = status === 0 && !c.dryRun ? outputsOf(p.files.dir, "theirs") : [];
  const error = lines.find((l) => l.includes("failed to quantize"))?.replace(/^.*failed to quantize: /, "");
  return { status, lines: lines.filter((l) => !l.startsWith("llama_model_loader: ")), outputs, error };
}
type quantizeIsolatedFn = (input: string, output: string, p: LlamaQuantizeParams) => { status?: number; lines: string[]; signal?: string; stderr: string };

/**
 * Whether both sides can run a case for real: every tensor of our plan is copied, or needs a kernel
 * we have from a source type we can read. Otherwise the case is compared as a dry run.
 */
export async function executable(c: LiveCase, f: Files): Promise<boolean> {
  let out = "";
  const code = await runCli(["--json", ...cliArgs({ ...c, dryRun: true }, f)], { stdout: (s) => { out += s; }, stderr: () => {} });
  if (code !== 0) return true; // a refusal: compare it as it is
  const plan = JSON.parse(out) as { tensors: { type: string; sourceType: string }[] };
  return plan.tensors.every((t) => t.type === t.sourceType || (kernels.has(typeByName(t.type)!.id) && kernels.canRead(typeByName(t.sourceType)!.id)));
}

/**
 * llama.cpp's per-tensor line is printed in pieces, and an imatrix note ("====== ... did not find
 * weights for X") can land between them: put the pieces back together.
 */
export function joinTensorLines(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i];
    if (/^\[\s*\d+\/\s*\d+\] .*, $/.test(l)) {
      let j = i + 1;
      while (j < lines.length && (lines[j] === "" || lines[j].startsWith("======"))) j++;
      if (j < lines.length) { l += lines[j]; i = j; }
    }
    out.push(l);
  }
  return out;
}

/** The lines both print alike: per-tensor plan or progress, overrides, fallbacks, summary. */
export function planLines(lines: readonly string[]): string[] {
  return lines.filter((l) =>
    /^\[\s*\d+\/\s*\d+\] /.test(l) || /^warning: .* falling back to /.test(l) || / - applying manual override: /.test(l)
    || /^llama_model_quantize_impl: (model size|quant size|WARNING)/.test(l));
}

/** Where two output files first differ: which metadata key, which tensor's type, or which tensor's bytes. */
async function describeDiff(oursPath: string, theirsPath: string, ours: Buffer, theirs: Buffer): Promise<string> {
  let i = 0;
  const n = Math.min(ours.length, theirs.length);
  while (i < n && ours[i] === theirs[i]) i++;
  const head = `files differ: sizes ${ours.length} (ours) vs ${theirs.length} (llama.cpp), first difference at byte ${i}`;
  const header = async (path: string) => {
    const src = await openSource(path);
    try { return await readGgufHeader(src); } finally { await src.close(); }
  };
  let a, b;
  try { [a, b] = [await header(oursPath), await header(theirsPath)]; } catch (e) { return `${head} (${(e as Error).message})`; }
  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : ArrayBuffer.isView(x) ? `[${(x as unknown as ArrayLike<number>).length} items]` : x));
  for (let k = 0; k < Math.max(a.kvs.length, b.kvs.length); k++) {
    const x = a.kvs[k], y = b.kvs[k];
    if (x?.key !== y?.key || x?.type !== y?.type || show(x?.value) !== show(y?.value)) {
      return `${head}: metadata #${k}: ours ${x ? `${x.key} = ${show(x.value)} (type ${x.type})` : "(none)"}, llama.cpp ${y ? `${y.key} = ${show(y.value)} (type ${y.type})` : "(none)"}`;
    }
  }
  for (let k = 0; k < Math.max(a.tensors.length, b.tensors.length); k++) {
    const x = a.tensors[k], y = b.tensors[k];
    if (x?.name !== y?.name || x?.type !== y?.type) {
      return `${head}: tensor #${k}: ours ${x ? `${x.name} ${TYPES[x.type].name}` : "(none)"}, llama.cpp ${y ? `${y.name} ${TYPES[y.type].name}` : "(none)"}`;
    }
  }
  const t = b.tensors.find((t) => i >= b.dataOffset + t.offset && i < b.dataOffset + t.offset + t.nbytes);
  return `${head}${i < b.dataOffset ? " (metadata)" : t ? `: data of ${t.name} (${TYPES[t.type].name}), byte ${i - b.dataOffset - t.offset} of ${t.nbytes}` : " (padding)"}`;
}

export interface Outcome {
  /** undefined when both agree */
  mismatch?: string;
  /** both refused: llama.cpp's error and ours */
  refused?: { llama: string; ours: string };
  /** a documented divergence rather than a mismatch */
  known?: string;
}

/**
 * Known, deliberate divergences. --output-tensor-type / --token-embedding-type naming a type whose
 * block does not divide the row. llama.cpp's dry run lists it (with a truncated size) and its real
 * run fails validation and then corrupts its heap; we refuse already in the dry run.
 */
function knownDivergence(c: LiveCase, ours: OursResult, theirs: LlamaResult): string | undefined {
  // llama.cpp writes an overridden general.alignment other than 32 over data laid out at 32 bytes: a
  // file no reader loads; we refuse the override (src/overrides.ts)
  if (theirs.status === 0 && ours.code === 1 && c.flags.some((f, i) => c.flags[i - 1] === "--override-kv" && /^general\.alignment=(?!int:\+?0*32$)/.test(f))) {
    return "--override-kv general.alignment other than 32: llama.cpp writes an unreadable file, we refuse";
  }
  if (!c.dryRun || theirs.status !== 0 || ours.code === 0 || runnable(c)) return undefined;
  const msg = ours.lines[ours.lines.length - 1] ?? "";
  return /quantized data validation failed/.test(msg) ? "direct output/token-embedding type that does not fit the row: we refuse in the dry run" : undefined;
}

export interface CompareOptions {
  /** run llama.cpp in a child process (quantizeIsolated), for inputs it may abort on */
  isolate?: quantizeIsolatedFn;
}

/** Runs a prepared case on both sides and compares. */
export async function compareCase(llama: LlamaOracle, c: LiveCase, p: Prepared, opts: CompareOptions = {}): Promise<Outcome> {
  removeOutputs(p.files.dir);
  const theirs = runLlama(llama, c, p, opts.isolate);
  const ours = await runOurs(c, p.files);
  try {
    const known = knownDivergence(c, ours, theirs);
    if (known) return { known };
    const ourMsg = ours.lines[ours.lines.length - 1] ?? "";
    if (theirs.status !== 0 || ours.code !== 0) {
      if (theirs.status === 0) return { mismatch: `we refused (exit ${ours.code}: ${ourMsg}), llama.cpp succeeded` };
      if (ours.code === 0) return { mismatch: `llama.cpp refused (${theirs.error ?? theirs.lines.slice(-3).join(" | ")}), we succeeded` };
      if (!ourMsg.startsWith("gguf-quantize: ")) return { mismatch: `both refused, but our last line is not our one-line message: ${ourMsg}` };
      if (ours.outputs.length || ours.leftovers.length) return { mismatch: `we refused but left files behind: ${[...ours.outputs.map((o) => o.name), ...ours.leftovers].join(" ")}` };
      return { refused: { llama: theirs.error ?? "(no error line)", ours: ourMsg.slice("gguf-quantize: ".length) } };
    }
    if (ours.leftovers.length) return { mismatch: `left files behind: ${ours.leftovers.join(" ")}` };
    if (c.dryRun) {
      if (ours.outputs.length) return { mismatch: "our dry run wrote a file" };
      const a = planLines(ours.lines), b = planLines(theirs.lines);
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (a[i] !== b[i]) return { mismatch: `dry-run line ${i + 1} differs:\n  ours:      ${a[i] ?? "(none)"}\n  llama.cpp: ${b[i] ?? "(none)"}` };
      }
      return {};
    }
    const names = (os: Output[], prefix: string) => os.map((o) => o.name.slice(prefix.length)).join(" ");
    if (names(ours.outputs, "ours") !== names(theirs.outputs, "theirs")) {
      return { mismatch: `output files differ: ours ${ours.outputs.map((o) => o.name).join(" ") || "(none)"}, llama.cpp ${theirs.outputs.map((o) => o.name).join(" ") || "(none)"}` };
    }
    for (let k = 0; k < ours.outputs.length; k++) {
      const a = ours.outputs[k], b = theirs.outputs[k];
      if (!a.bytes.equals(b.bytes)) return { mismatch: `${a.name}: ${await describeDiff(join(p.files.dir, a.name), join(p.files.dir, b.name), a.bytes, b.bytes)}` };
    }
    const a = planLines(ours.lines), b = planLines(joinTensorLines(theirs.lines));
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) return { mismatch: `identical files, but log line ${i + 1} differs:\n  ours:      ${a[i] ?? "(none)"}\n  llama.cpp: ${b[i] ?? "(none)"}` };
    }
    return {};
  } finally {
    removeOutputs(p.files.dir);
  }
}

// ---- reporting and shrinking ----

/** A case as one line of JSON: LIVE_CASE='<this>' reruns exactly it. */
export function caseJson(c: LiveCase): string {
  return JSON.stringify(c);
}

/** The command lines that reproduce a case by hand (paths relative to the case's folder). */
export function describeCase(c: LiveCase): string {
  const model = c.split ? shardName("model", 0, c.split.length) : "model.gguf";
  const f: Files = { dir: ".", model, imatrix: c.imatrix === "none" ? undefined : `imatrix.${c.imatrix}`, ours: "out.gguf", theirs: "" };
  return [
    `model:   ${JSON.stringify(c.model)}${c.split ? ` split ${c.split.join(":")}` : ""}${c.source ? `, first quantized by llama.cpp as ${c.source.preset} ${c.source.flags.join(" ")}` : ""}`,
    c.imatrix !== "none" ? `imatrix: ${c.imatrix} ${JSON.stringify(c.imatrixSpec)}` : "imatrix: none",
    `command: gguf-quantize ${cliArgs(c, f).join(" ")}`,
    `rerun:   LIVE_CASE='${caseJson(c)}' npx vitest run test/live-models.test.ts`,
  ].join("\n");
}

/** Smaller or simpler variants of a case, most aggressive first. */
function* simpler(c: LiveCase): Generator<LiveCase> {
  const s = resolveSpec(c.model);
  const withModel = (m: Partial<ModelSpec>): LiveCase => ({ ...c, model: { ...c.model, ...m } });
  if (c.source) yield { ...c, source: undefined };
  if (c.split) yield { ...c, split: undefined };
  if ((c.threads ?? 1) > 1) yield { ...c, threads: 1 };
  // drop flags (a flag and its value together)
  const SWITCHES = ["--pure", "--leave-output-tensor", "--keep-split", "--allow-requantize"];
  for (let i = 0; i < c.flags.length; i++) {
    const takesValue = !SWITCHES.includes(c.flags[i]);
    yield { ...c, flags: [...c.flags.slice(0, i), ...c.flags.slice(i + (takesValue ? 2 : 1))] };
    if (takesValue) i++;
  }
  for (let i = 0; i < (c.extras?.length ?? 0); i++) yield { ...c, extras: c.extras!.filter((_, j) => j !== i) };
  if (c.imatrix !== "none") {
    yield { ...c, imatrix: "none", imatrixSpec: undefined, include: undefined, exclude: undefined };
    if (c.include || c.exclude) yield { ...c, include: undefined, exclude: undefined };
    if (c.imatrix === "dat") yield { ...c, imatrix: "gguf" };
  }
  if (s.nLayer > 1) { yield withModel({ nLayer: 1 }); yield withModel({ nLayer: s.nLayer - 1 }); }
  if (s.nExpert > 2) yield withModel({ nExpert: 2, nExpertUsed: Math.min(s.nExpertUsed, 2) });
  if (s.nVocab > 32) yield withModel({ nVocab: 32 });
  if (s.tokenizer !== "plain") yield withModel({ tokenizer: "plain" });
  if (s.dtype !== "f32") yield withModel({ dtype: "f32" });
  if (s.nHeadKv !== s.nHead) yield withModel({ nHeadKv: s.nHead });
  if (s.nFf > 32 && s.nExpert === 0) yield withModel({ nFf: 32 });
  if (s.arch === "deepseek2" && s.nLayerDense > 0) yield withModel({ nLayerDense: 0 });
}

/** Greedy shrinking: keeps any simpler variant that still fails, until none does (bounded). */
export async function shrink(c: LiveCase, fails: (c: LiveCase) => Promise<string | undefined>, budget = 60): Promise<{ c: LiveCase; why: string } | undefined> {
  let why = await fails(c);
  if (!why) return undefined;
  let tries = 0;
  outer: for (;;) {
    for (const d of simpler(c)) {
      if (++tries > budget) break outer;
      let w: string | undefined;
      try { w = await fails(d); } catch { w = undefined; } // a variant the generator cannot build
      if (w) { c = d; why = w; continue outer; }
    }
    break;
  }
  return { c, why: why! };
}
