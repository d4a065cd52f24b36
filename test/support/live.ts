// Randomized whole-file differential testing against llama.cpp itself (test/support/llama.ts):
// random models, presets and options; both quantizers run on the same files, and either both
// write byte-identical files or both refuse. Dry runs are compared line by line (per-tensor types
// and sizes, overrides, fallbacks, summary) for every preset, including those we cannot execute yet.
//
// The llama.cpp side is driven as llama-quantize drives llama_model_quantize, computed here
// independently of src/ (the importance values a loader would produce, the --include/--exclude
// filtering, the quantize.imatrix.* kv overrides, the lowercased --tensor-type patterns), so that
// a bug in our CLI or imatrix loader shows up as a difference instead of being mirrored.

import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../src/cli.js";
import { readGgufHeader } from "../../src/gguf/read.js";
import { openSource } from "../../src/io/node.js";
import { writeGgufImatrix, writeLegacyImatrix, type ImatrixStat, type ImatrixMeta } from "../../src/imatrix.js";
import { TYPES } from "../../src/types.js";
import { generateImatrix, generateModel, modelBytes, resolveSpec, type GeneratedModel, type GeneratedTensor, type ImatrixSpec, type ModelSpec } from "./generate.js";
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

/** Presets we can execute (and COPY: every tensor copied, the file type taken from the input). */
export const RUNNABLE_PRESETS = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"];
/** Presets whose plan we can compute but not yet execute. */
export const PLAN_ONLY_PRESETS = Object.keys(FTYPES).filter((p) => !RUNNABLE_PRESETS.includes(p));

/** Target types we have kernels for (safe for real runs on both sides). */
export const KERNEL_TYPES = ["f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q6_K"];
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

/** Rough weight count, to keep every case small enough for a quick run. */
export function modelParams(spec: ModelSpec): number {
  const s = resolveSpec(spec);
  const q = s.nHead * s.headDim, kv = s.nHeadKv * s.headDim, E = s.nEmbd;
  const ffn = s.nExpert === 0 ? 3 * E * s.nFf : s.nExpert * (3 * E * s.nFfExp + E) + 3 * E * s.nFfShexp;
  return E * s.nVocab * (s.tied ? 1 : 2) + s.nLayer * (2 * E * q + 2 * E * kv + ffn);
}

function randomModel(r: Rng, budget: number): ModelSpec {
  for (;;) {
    const arch = pick(r, ["llama", "llama", "qwen2", "qwen2moe", "qwen3moe"] as const);
    const nEmbd = pick(r, EMBD);
    const headDim = pick(r, [16, 32, 64].filter((d) => nEmbd % d === 0));
    const nHead = nEmbd / headDim;
    const kvChoices = [...Array(nHead).keys()].map((i) => i + 1).filter((k) => nHead % k === 0);
    const nHeadKv = chance(r, 0.5) ? nHead : pick(r, kvChoices);
    const ff = () => (chance(r, 0.06) ? pick(r, ODD_FF) : pick(r, FF));
    const moe = arch === "qwen2moe" || arch === "qwen3moe" || (arch === "llama" && chance(r, 0.3));
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
    // fit the budget by dropping layers, then experts, rather than by redrawing (which favours narrow models)
    while (modelParams(spec) > budget && spec.nLayer! > 1) spec.nLayer!--;
    while (modelParams(spec) > budget && (spec.nExpert ?? 0) > 2) {
      spec.nExpert = spec.nExpert! - 1;
      spec.nExpertUsed = Math.min(spec.nExpertUsed!, spec.nExpert);
    }
    if (modelParams(spec) <= budget) return spec;
  }
}

/** A random case; `plan` cases are dry runs over any preset and any type. */
export function randomCase(r: Rng, plan: boolean, budget = 1_000_000): LiveCase {
  const model = randomModel(r, budget);
  const types = plan ? ANY_TYPES : KERNEL_TYPES;
  const spelled = (t: string) => (chance(r, 0.2) ? t.toUpperCase() : t);
  for (;;) {
    const c: LiveCase = {
      model,
      preset: chance(r, 0.04) ? "COPY" : plan ? pick(r, chance(r, 0.8) ? PLAN_ONLY_PRESETS : RUNNABLE_PRESETS) : pick(r, RUNNABLE_PRESETS),
      imatrix: pick(r, ["none", "none", "dat", "gguf", "gguf"] as const),
      flags: [],
      dryRun: plan,
    };
    if (chance(r, 0.25)) {
      const s = resolveSpec(model);
      const extras = new Map<string, ExtraTensor>();
      for (let n = 1 + r.int(3); n > 0; n--) {
        const x = pick(r, EXTRAS)(s, r.int(s.nLayer));
        if (!(s.nExpert > 0 && x.name.endsWith("ffn_up_exps.weight"))) extras.set(x.name, x); // the model has its own
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
    } else throw new Error(`flag ${f}`);
  }
  return p;
}

interface ImatrixForLlama { entries: Map<string, Float32Array>; datasets: string[]; chunkCount: number }

/** What common_imatrix_load + llama-quantize's load_imatrix give for a GGUF imatrix written from `stats`. */
function ggufValues(stats: readonly ImatrixStat[], meta: ImatrixMeta): ImatrixForLlama {
  const entries = new Map<string, Float32Array>();
  for (const s of stats) {
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

export interface Files { dir: string; model: string; imatrix?: string; ours: string; theirs: string }

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

/** Writes the model (and imatrix) of a case into dir. */
export function prepare(c: LiveCase, dir: string, edits: Edits = {}): Prepared {
  const m = generateModel(c.model);
  for (const x of c.extras ?? []) m.tensors.push(extraTensor(x, m.spec.dtype));
  edits.model?.(m);
  const files: Files = { dir, model: join(dir, "model.gguf"), ours: join(dir, "ours.gguf"), theirs: join(dir, "theirs.gguf") };
  writeFileSync(files.model, modelBytes(m));
  let li: ReturnType<typeof llamaImatrix> = { kvs: [] };
  if (c.imatrix !== "none") {
    files.imatrix = join(dir, `imatrix.${c.imatrix}`);
    const im = generateImatrix(m, c.imatrixSpec);
    const stats = edits.imatrix ? edits.imatrix(im.stats) : im.stats;
    const bytes = c.imatrix === "gguf" ? writeGgufImatrix(stats, im.meta) : writeLegacyImatrix(stats, im.meta);
    writeFileSync(files.imatrix, bytes);
    const values = c.imatrix === "gguf" ? ggufValues(stats.filter((s) => s.values.length > 0 && s.counts.length > 0), im.meta) : datValues(bytes);
    li = llamaImatrix(values, files.imatrix, c.include, c.exclude);
  }
  return { files, llamaImatrix: li };
}

export interface OursResult { code: number; lines: string[]; bytes?: Buffer; leftovers: string[] }
export interface LlamaResult { status: number; lines: string[]; bytes?: Buffer; error?: string }

export function cliArgs(c: LiveCase, f: Files): string[] {
  return [
    ...c.flags,
    ...(f.imatrix ? ["--imatrix", f.imatrix] : []),
    ...(c.include ?? []).flatMap((s) => ["--include-weights", s]),
    ...(c.exclude ?? []).flatMap((s) => ["--exclude-weights", s]),
    ...(c.dryRun ? ["--dry-run"] : []),
    f.model, f.ours, c.preset, "1",
  ];
}

export async function runOurs(c: LiveCase, f: Files): Promise<OursResult> {
  let err = "";
  const code = await runCli(cliArgs(c, f), { stdout: () => {}, stderr: (s) => { err += s; } });
  const lines = err.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const bytes = existsSync(f.ours) ? readFileSync(f.ours) : undefined;
  const leftovers = readdirSync(f.dir).filter((n) => n.startsWith("ours.gguf") && n !== "ours.gguf");
  return { code, lines, bytes, leftovers };
}

export function runLlama(llama: LlamaOracle, c: LiveCase, p: Prepared): LlamaResult {
  const lines: string[] = [];
  const status = llama.quantize(p.files.model, p.files.theirs, {
    ...params(c), nthread: 1, dryRun: c.dryRun, imatrix: p.llamaImatrix.imatrix, kvOverrides: p.llamaImatrix.kvs,
  }, lines);
  const bytes = status === 0 && !c.dryRun ? readFileSync(p.files.theirs) : undefined;
  const error = lines.find((l) => l.includes("failed to quantize"))?.replace(/^.*failed to quantize: /, "");
  return { status, lines: lines.filter((l) => !l.startsWith("llama_model_loader: ")), bytes, error };
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
async function describeDiff(f: Files, ours: Buffer, theirs: Buffer): Promise<string> {
  let i = 0;
  const n = Math.min(ours.length, theirs.length);
  while (i < n && ours[i] === theirs[i]) i++;
  const head = `files differ: sizes ${ours.length} (ours) vs ${theirs.length} (llama.cpp), first difference at byte ${i}`;
  const header = async (path: string) => {
    const src = await openSource(path);
    try { return await readGgufHeader(src); } finally { await src.close(); }
  };
  let a, b;
  try { [a, b] = [await header(f.ours), await header(f.theirs)]; } catch (e) { return `${head} (${(e as Error).message})`; }
  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : ArrayBuffer.isView(x) ? `[${(x as unknown as ArrayLike<number>).length} items]` : x));
  for (let k = 0; k < Math.max(a.kvs.length, b.kvs.length); k++) {
    const x = a.kvs[k], y = b.kvs[k];
    if (x?.key !== y?.key || x?.type !== y?.type || show(x?.value) !== show(y?.value)) {
      return `${head}: metadata #${k}: ours ${x ? `${x.key} = ${show(x.value)}` : "(none)"}, llama.cpp ${y ? `${y.key} = ${show(y.value)}` : "(none)"}`;
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
 * Known, deliberate divergence: --output-tensor-type / --token-embedding-type naming a type whose
 * block does not divide the row. llama.cpp's dry run lists it (with a truncated size) and its real
 * run fails validation and then corrupts its heap; we refuse already in the dry run.
 */
function knownDivergence(c: LiveCase, ours: OursResult, theirs: LlamaResult): string | undefined {
  if (!c.dryRun || theirs.status !== 0 || ours.code === 0 || runnable(c)) return undefined;
  const msg = ours.lines[ours.lines.length - 1] ?? "";
  return /quantized data validation failed/.test(msg) ? "direct output/token-embedding type that does not fit the row: we refuse in the dry run" : undefined;
}

/** Runs a prepared case on both sides and compares. */
export async function compareCase(llama: LlamaOracle, c: LiveCase, p: Prepared): Promise<Outcome> {
  for (const f of [p.files.ours, p.files.theirs]) rmSync(f, { force: true });
  const theirs = runLlama(llama, c, p);
  const ours = await runOurs(c, p.files);
  try {
    const known = knownDivergence(c, ours, theirs);
    if (known) return { known };
    const ourMsg = ours.lines[ours.lines.length - 1] ?? "";
    if (theirs.status !== 0 || ours.code !== 0) {
      if (theirs.status === 0) return { mismatch: `we refused (exit ${ours.code}: ${ourMsg}), llama.cpp succeeded` };
      if (ours.code === 0) return { mismatch: `llama.cpp refused (${theirs.error ?? theirs.lines.slice(-3).join(" | ")}), we succeeded` };
      if (!ourMsg.startsWith("gguf-quantize: ")) return { mismatch: `both refused, but our last line is not our one-line message: ${ourMsg}` };
      if (ours.bytes || ours.leftovers.length) return { mismatch: `we refused but left files behind: ${[ours.bytes ? "ours.gguf" : "", ...ours.leftovers].join(" ")}` };
      return { refused: { llama: theirs.error ?? "(no error line)", ours: ourMsg.slice("gguf-quantize: ".length) } };
    }
    if (ours.leftovers.length) return { mismatch: `left files behind: ${ours.leftovers.join(" ")}` };
    if (c.dryRun) {
      if (ours.bytes) return { mismatch: "our dry run wrote a file" };
      const a = planLines(ours.lines), b = planLines(theirs.lines);
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (a[i] !== b[i]) return { mismatch: `dry-run line ${i + 1} differs:\n  ours:      ${a[i] ?? "(none)"}\n  llama.cpp: ${b[i] ?? "(none)"}` };
      }
      return {};
    }
    if (!ours.bytes) return { mismatch: "we exited 0 without an output file" };
    if (!ours.bytes.equals(theirs.bytes!)) return { mismatch: await describeDiff(p.files, ours.bytes, theirs.bytes!) };
    const a = planLines(ours.lines), b = planLines(joinTensorLines(theirs.lines));
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) return { mismatch: `identical files, but log line ${i + 1} differs:\n  ours:      ${a[i] ?? "(none)"}\n  llama.cpp: ${b[i] ?? "(none)"}` };
    }
    return {};
  } finally {
    for (const f of [p.files.ours, p.files.theirs]) rmSync(f, { force: true });
  }
}

// ---- reporting and shrinking ----

/** A case as one line of JSON: LIVE_CASE='<this>' reruns exactly it. */
export function caseJson(c: LiveCase): string {
  return JSON.stringify(c);
}

/** The command lines that reproduce a case by hand (paths relative to the case's folder). */
export function describeCase(c: LiveCase): string {
  const f: Files = { dir: ".", model: "model.gguf", imatrix: c.imatrix === "none" ? undefined : `imatrix.${c.imatrix}`, ours: "out.gguf", theirs: "" };
  return [
    `model:   ${JSON.stringify(c.model)}`,
    c.imatrix !== "none" ? `imatrix: ${c.imatrix} ${JSON.stringify(c.imatrixSpec)}` : "imatrix: none",
    `command: gguf-quantize ${cliArgs(c, f).join(" ")}`,
    `rerun:   LIVE_CASE='${caseJson(c)}' npx vitest run test/live-models.test.ts`,
  ].join("\n");
}

/** Smaller or simpler variants of a case, most aggressive first. */
function* simpler(c: LiveCase): Generator<LiveCase> {
  const s = resolveSpec(c.model);
  const withModel = (m: Partial<ModelSpec>): LiveCase => ({ ...c, model: { ...c.model, ...m } });
  // drop flags (a flag and its value together)
  for (let i = 0; i < c.flags.length; i++) {
    const takesValue = c.flags[i] !== "--pure" && c.flags[i] !== "--leave-output-tensor";
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
