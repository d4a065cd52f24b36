// Deterministic generator of tiny llama-like models (GGUF, through src/gguf/write.ts) and of
// matching importance matrices in both formats (through src/imatrix.ts).
//
// The models carry the metadata llama.cpp's loader needs to quantize them (checked with
// ../shared/ref's refquant for every architecture and kind below; see test/fixtures/README.md), use
// llama.cpp's tensor names and shapes (ne = [in, out(, experts)]), and weights that look trained:
// Student-t(4) tails, per-input-channel and per-row scales spread ~8x, and a few outlier input
// channels (the same channels in every layer, as activation outliers are). Norms and routers stay
// f32 as in converted models.
//
// Every value comes from Rng.uniform() through + - * / and sqrt only (Bailey's polar method for the
// t-distribution), so a spec gives the same bytes in every JS engine.

import { writeFile } from "node:fs/promises";
import { Rng } from "./random.js";
import { f32ToF16, f32ToBf16 } from "./halves.js";
import { ValueType, kv, type GgufKv } from "../../src/gguf/values.js";
import { ggufBytes, type TensorDesc } from "../../src/gguf/write.js";
import { writeGgufImatrix, writeLegacyImatrix, type ImatrixStat, type ImatrixMeta } from "../../src/imatrix.js";
import { T } from "../../src/types.js";

export type Arch = "llama" | "qwen2" | "qwen2moe" | "qwen3moe" | "deepseek2" | "phi3";
export type SourceDtype = "f32" | "f16" | "bf16";

export interface ModelSpec {
  /** llama (dense, or MoE like Mixtral), qwen2 (q/k/v biases), qwen2moe (MoE + shared expert), qwen3moe (q/k norms),
   *  deepseek2 (MLA attention, leading dense blocks, then routed + shared experts), phi3 (fused attn_qkv and gate+up) */
  arch?: Arch;
  nLayer?: number;
  nEmbd?: number;
  /** dense FFN width (llama MoE: also the expert width unless nFfExp) */
  nFf?: number;
  nHead?: number;
  /** < nHead for GQA (default nHead) */
  nHeadKv?: number;
  /** default nEmbd / nHead */
  headDim?: number;
  nVocab?: number;
  /** 0 = dense (default); qwen2moe/qwen3moe default to 4 */
  nExpert?: number;
  nExpertUsed?: number;
  /** per-expert FFN width (default nFf) */
  nFfExp?: number;
  /** shared-expert FFN width; 0 = none (qwen2moe defaults to nFfExp) */
  nFfShexp?: number;
  /** tied embeddings: no output.weight */
  tied?: boolean;
  /** storage of the 2-D/3-D weights; norms, biases and routers stay f32 */
  dtype?: SourceDtype;
  seed?: number;
  /** "plain" (default) vocabulary, "hostile" adds strings with NUL bytes, invalid UTF-8, an empty token; "none" */
  tokenizer?: "plain" | "hostile" | "none";
  /** appended after the generated metadata */
  extraKvs?: GgufKv[];
  name?: string;
  contextLength?: number;
  // ---- deepseek2 only (MLA: DeepSeek-V2/V3's multi-head latent attention) ----
  /** leading dense blocks (ffn_gate/up/down; default 1); the rest are MoE blocks */
  nLayerDense?: number;
  /** attn_q_a / attn_q_b rank (default 64) */
  qLoraRank?: number;
  /** attn_kv_a_mqa / attn_kv_b rank (default 64) */
  kvLoraRank?: number;
  /** per-head parts: q/k without rope (default 32), with rope (default 16), v (default 32) */
  qkNopeDim?: number;
  qkRopeDim?: number;
  vHeadDim?: number;
  /** shared experts (default 1): the _shexp tensors are nFfExp * nExpertShared wide */
  nExpertShared?: number;
  /** "split": attn_k_b + attn_v_b and head_count_kv 1, as current converters write (default);
   *  "kv_b": the legacy fused attn_kv_b and head_count_kv = head_count */
  mla?: "split" | "kv_b";
}

export type ResolvedSpec = Required<Omit<ModelSpec, "extraKvs" | "name">> & { extraKvs: GgufKv[]; name: string };

export interface GeneratedTensor extends TensorDesc {
  ne: number[];
  data: Uint8Array;
}

export interface GeneratedModel {
  spec: ResolvedSpec;
  kvs: GgufKv[];
  /** in file order (converter order: token_embd, blocks, output_norm, output) */
  tensors: GeneratedTensor[];
}

const FTYPE: Record<SourceDtype, number> = { f32: 0, f16: 1, bf16: 32 };
const DTYPE_TYPE: Record<SourceDtype, number> = { f32: T.F32, f16: T.F16, bf16: T.BF16 };

export function resolveSpec(s: ModelSpec = {}): ResolvedSpec {
  const arch = s.arch ?? "llama";
  const moeArch = arch === "qwen2moe" || arch === "qwen3moe" || arch === "deepseek2";
  const deepseek = arch === "deepseek2";
  const mla = s.mla ?? "split";
  const nEmbd = s.nEmbd ?? 256;
  const nHead = s.nHead ?? 4;
  const nFf = s.nFf ?? 512;
  const nExpert = s.nExpert ?? (moeArch ? 4 : 0);
  const nFfExp = s.nFfExp ?? nFf;
  const r: ResolvedSpec = {
    arch,
    nLayer: s.nLayer ?? 2,
    nEmbd,
    nFf,
    nHead,
    nHeadKv: s.nHeadKv ?? (deepseek && mla === "split" ? 1 : nHead),
    headDim: s.headDim ?? nEmbd / nHead,
    nVocab: s.nVocab ?? 256,
    nExpert,
    nExpertUsed: s.nExpertUsed ?? (nExpert > 0 ? Math.min(2, nExpert) : 0),
    nFfExp,
    nFfShexp: s.nFfShexp ?? (arch === "qwen2moe" ? nFfExp : deepseek ? nFfExp * (s.nExpertShared ?? 1) : 0),
    tied: s.tied ?? false,
    dtype: s.dtype ?? "f32",
    seed: s.seed ?? 1,
    tokenizer: s.tokenizer ?? "plain",
    extraKvs: s.extraKvs ?? [],
    name: s.name ?? `gen-${arch}`,
    contextLength: s.contextLength ?? 2048,
    nLayerDense: deepseek ? s.nLayerDense ?? 1 : 0,
    qLoraRank: deepseek ? s.qLoraRank ?? 64 : 0,
    kvLoraRank: deepseek ? s.kvLoraRank ?? 64 : 0,
    qkNopeDim: deepseek ? s.qkNopeDim ?? 32 : 0,
    qkRopeDim: deepseek ? s.qkRopeDim ?? 16 : 0,
    vHeadDim: deepseek ? s.vHeadDim ?? 32 : 0,
    nExpertShared: deepseek ? s.nExpertShared ?? 1 : 0,
    mla,
  };
  if (!Number.isInteger(r.headDim) || r.headDim <= 0) throw new RangeError(`headDim ${r.headDim} is not a positive integer (nEmbd / nHead?)`);
  if (r.nHead % r.nHeadKv !== 0) throw new RangeError(`nHead ${r.nHead} is not a multiple of nHeadKv ${r.nHeadKv}`);
  if (moeArch && r.nExpert === 0) throw new RangeError(`${arch} needs experts`);
  if (r.nExpert > 0 && (r.nExpertUsed < 1 || r.nExpertUsed > r.nExpert)) throw new RangeError(`nExpertUsed ${r.nExpertUsed} must be in [1, ${r.nExpert}]`);
  if (deepseek && (r.nLayerDense < 0 || r.nLayerDense > r.nLayer)) throw new RangeError(`nLayerDense ${r.nLayerDense} must be in [0, nLayer ${r.nLayer}]`);
  if (deepseek && r.nFfShexp !== r.nFfExp * r.nExpertShared) throw new RangeError("deepseek2: the shared experts are nFfExp * nExpertShared wide (leave nFfShexp out)");
  return r;
}

// ---- random values ----

/** FNV-1a of a string, for per-tensor seeds independent of generation order. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Student-t with 4 degrees of freedom, Bailey's polar method (only + - * / sqrt). */
function t4(r: Rng): number {
  for (;;) {
    const u = 2 * r.uniform() - 1;
    const v = 2 * r.uniform() - 1;
    const w = u * u + v * v;
    if (w > 1 || w === 0) continue;
    return u * Math.sqrt((4 * (1 / Math.sqrt(w) - 1)) / w);
  }
}

/** Input-channel scales shared by all weights reading the hidden state (outlier channels included). */
function channelScales(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  const s = new Float32Array(n);
  for (let i = 0; i < n; i++) { const u = r.uniform(); s[i] = 0.25 + 1.75 * u * u; }
  const nOut = Math.max(1, Math.floor(n / 96));
  for (let k = 0; k < nOut; k++) s[r.int(n)] *= 6 + 10 * r.uniform();
  return s;
}

/** rows x cols weights (row-major, cols = ne0), heavy-tailed with column and row scales. */
function weights(rows: number, cols: number, colScale: Float32Array, rng: Rng, gain = 1): Float32Array {
  const out = new Float32Array(rows * cols);
  const base = gain / Math.sqrt(cols);
  for (let r = 0; r < rows; r++) {
    const rowScale = 0.6 + 0.8 * rng.uniform();
    for (let c = 0; c < cols; c++) out[r * cols + c] = t4(rng) * base * colScale[c] * rowScale;
  }
  return out;
}

function encode(values: Float32Array, type: number): Uint8Array {
  if (type === T.F32) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const h = new Uint16Array(values.length);
  const conv = type === T.F16 ? f32ToF16 : f32ToBf16;
  for (let i = 0; i < values.length; i++) h[i] = conv(values[i]);
  return new Uint8Array(h.buffer);
}

// ---- tensors ----

interface Plan { name: string; ne: number[]; kind: "weight" | "norm" | "bias" | "router" }

function planTensors(s: ResolvedSpec): Plan[] {
  if (s.arch === "deepseek2") return planDeepseek2(s);
  if (s.arch === "phi3") return planPhi3(s);
  const E = s.nEmbd, hd = s.headDim, q = s.nHead * hd, kvw = s.nHeadKv * hd;
  const p: Plan[] = [{ name: "token_embd.weight", ne: [E, s.nVocab], kind: "weight" }];
  for (let i = 0; i < s.nLayer; i++) {
    const b = `blk.${i}.`;
    p.push({ name: b + "attn_norm.weight", ne: [E], kind: "norm" });
    p.push({ name: b + "attn_q.weight", ne: [E, q], kind: "weight" });
    p.push({ name: b + "attn_k.weight", ne: [E, kvw], kind: "weight" });
    p.push({ name: b + "attn_v.weight", ne: [E, kvw], kind: "weight" });
    if (s.arch === "qwen2" || s.arch === "qwen2moe") {
      p.push({ name: b + "attn_q.bias", ne: [q], kind: "bias" });
      p.push({ name: b + "attn_k.bias", ne: [kvw], kind: "bias" });
      p.push({ name: b + "attn_v.bias", ne: [kvw], kind: "bias" });
    }
    if (s.arch === "qwen3moe") {
      p.push({ name: b + "attn_q_norm.weight", ne: [hd], kind: "norm" });
      p.push({ name: b + "attn_k_norm.weight", ne: [hd], kind: "norm" });
    }
    p.push({ name: b + "attn_output.weight", ne: [q, E], kind: "weight" });
    p.push({ name: b + "ffn_norm.weight", ne: [E], kind: "norm" });
    if (s.nExpert === 0) {
      p.push({ name: b + "ffn_gate.weight", ne: [E, s.nFf], kind: "weight" });
      p.push({ name: b + "ffn_up.weight", ne: [E, s.nFf], kind: "weight" });
      p.push({ name: b + "ffn_down.weight", ne: [s.nFf, E], kind: "weight" });
    } else {
      const X = s.nExpert, F = s.nFfExp;
      p.push({ name: b + "ffn_gate_inp.weight", ne: [E, X], kind: "router" });
      p.push({ name: b + "ffn_gate_exps.weight", ne: [E, F, X], kind: "weight" });
      p.push({ name: b + "ffn_up_exps.weight", ne: [E, F, X], kind: "weight" });
      p.push({ name: b + "ffn_down_exps.weight", ne: [F, E, X], kind: "weight" });
      if (s.nFfShexp > 0) {
        const S = s.nFfShexp;
        p.push({ name: b + "ffn_gate_inp_shexp.weight", ne: [E], kind: "router" });
        p.push({ name: b + "ffn_gate_shexp.weight", ne: [E, S], kind: "weight" });
        p.push({ name: b + "ffn_up_shexp.weight", ne: [E, S], kind: "weight" });
        p.push({ name: b + "ffn_down_shexp.weight", ne: [S, E], kind: "weight" });
      }
    }
  }
  p.push({ name: "output_norm.weight", ne: [E], kind: "norm" });
  if (!s.tied) p.push({ name: "output.weight", ne: [E, s.nVocab], kind: "weight" });
  return p;
}

/** The expert tensors of one MoE block (router, routed experts, shared experts). */
function moeTensors(p: Plan[], b: string, s: ResolvedSpec, probsBias = false) {
  const E = s.nEmbd, X = s.nExpert, F = s.nFfExp;
  p.push({ name: b + "ffn_gate_inp.weight", ne: [E, X], kind: "router" });
  if (probsBias) p.push({ name: b + "exp_probs_b.bias", ne: [X], kind: "bias" });
  p.push({ name: b + "ffn_gate_exps.weight", ne: [E, F, X], kind: "weight" });
  p.push({ name: b + "ffn_up_exps.weight", ne: [E, F, X], kind: "weight" });
  p.push({ name: b + "ffn_down_exps.weight", ne: [F, E, X], kind: "weight" });
}

/**
 * DeepSeek-V2/V3 (convert_hf_to_gguf's DeepseekV2Model): MLA attention (q through a low-rank
 * attn_q_a/attn_q_b pair, k and v from one compressed attn_kv_a_mqa, decompressed per head by
 * attn_k_b [nope, kv_rank, heads] and attn_v_b [kv_rank, v, heads], or by the legacy attn_kv_b), the
 * first nLayerDense blocks dense, then routed experts with a selection bias and shared experts.
 */
function planDeepseek2(s: ResolvedSpec): Plan[] {
  const E = s.nEmbd, H = s.nHead, nope = s.qkNopeDim, rope = s.qkRopeDim;
  const p: Plan[] = [{ name: "token_embd.weight", ne: [E, s.nVocab], kind: "weight" }];
  for (let i = 0; i < s.nLayer; i++) {
    const b = `blk.${i}.`;
    p.push({ name: b + "attn_norm.weight", ne: [E], kind: "norm" });
    p.push({ name: b + "attn_q_a.weight", ne: [E, s.qLoraRank], kind: "weight" });
    p.push({ name: b + "attn_q_a_norm.weight", ne: [s.qLoraRank], kind: "norm" });
    p.push({ name: b + "attn_q_b.weight", ne: [s.qLoraRank, H * (nope + rope)], kind: "weight" });
    p.push({ name: b + "attn_kv_a_mqa.weight", ne: [E, s.kvLoraRank + rope], kind: "weight" });
    p.push({ name: b + "attn_kv_a_norm.weight", ne: [s.kvLoraRank], kind: "norm" });
    if (s.mla === "split") {
      p.push({ name: b + "attn_k_b.weight", ne: [nope, s.kvLoraRank, H], kind: "weight" });
      p.push({ name: b + "attn_v_b.weight", ne: [s.kvLoraRank, s.vHeadDim, H], kind: "weight" });
    } else {
      p.push({ name: b + "attn_kv_b.weight", ne: [s.kvLoraRank, H * (nope + s.vHeadDim)], kind: "weight" });
    }
    p.push({ name: b + "attn_output.weight", ne: [H * s.vHeadDim, E], kind: "weight" });
    p.push({ name: b + "ffn_norm.weight", ne: [E], kind: "norm" });
    if (i < s.nLayerDense) {
      p.push({ name: b + "ffn_gate.weight", ne: [E, s.nFf], kind: "weight" });
      p.push({ name: b + "ffn_up.weight", ne: [E, s.nFf], kind: "weight" });
      p.push({ name: b + "ffn_down.weight", ne: [s.nFf, E], kind: "weight" });
    } else {
      moeTensors(p, b, s, true);
      const S = s.nFfShexp;
      if (S > 0) {
        p.push({ name: b + "ffn_gate_shexp.weight", ne: [E, S], kind: "weight" });
        p.push({ name: b + "ffn_up_shexp.weight", ne: [E, S], kind: "weight" });
        p.push({ name: b + "ffn_down_shexp.weight", ne: [S, E], kind: "weight" });
      }
    }
  }
  p.push({ name: "output_norm.weight", ne: [E], kind: "norm" });
  if (!s.tied) p.push({ name: "output.weight", ne: [E, s.nVocab], kind: "weight" });
  return p;
}

/** Phi-3 (convert_hf_to_gguf's Phi3MiniModel): fused attn_qkv, and ffn_up holding gate and up (2 x nFf rows). */
function planPhi3(s: ResolvedSpec): Plan[] {
  const E = s.nEmbd, q = s.nHead * s.headDim, kvw = s.nHeadKv * s.headDim;
  const p: Plan[] = [{ name: "token_embd.weight", ne: [E, s.nVocab], kind: "weight" }];
  for (let i = 0; i < s.nLayer; i++) {
    const b = `blk.${i}.`;
    p.push({ name: b + "attn_norm.weight", ne: [E], kind: "norm" });
    p.push({ name: b + "attn_qkv.weight", ne: [E, q + 2 * kvw], kind: "weight" });
    p.push({ name: b + "attn_output.weight", ne: [q, E], kind: "weight" });
    p.push({ name: b + "ffn_norm.weight", ne: [E], kind: "norm" });
    p.push({ name: b + "ffn_up.weight", ne: [E, 2 * s.nFf], kind: "weight" });
    p.push({ name: b + "ffn_down.weight", ne: [s.nFf, E], kind: "weight" });
  }
  p.push({ name: "output_norm.weight", ne: [E], kind: "norm" });
  if (!s.tied) p.push({ name: "output.weight", ne: [E, s.nVocab], kind: "weight" });
  return p;
}

function makeTensor(pl: Plan, s: ResolvedSpec, hidden: Float32Array): GeneratedTensor {
  const rng = new Rng((hash(pl.name) ^ Math.imul(s.seed, 0x9e3779b1)) >>> 0);
  const cols = pl.ne[0];
  const rows = pl.ne.slice(1).reduce((a, b) => a * b, 1);
  let values: Float32Array;
  let type = T.F32;
  switch (pl.kind) {
    case "norm": {
      values = new Float32Array(cols);
      for (let i = 0; i < cols; i++) values[i] = (0.5 + rng.uniform()) * (cols === hidden.length ? Math.sqrt(hidden[i]) : 1);
      break;
    }
    case "bias": {
      values = new Float32Array(cols);
      for (let i = 0; i < cols; i++) values[i] = 0.05 * t4(rng);
      break;
    }
    case "router":
      values = weights(rows, cols, cols === hidden.length ? hidden : channelScales(cols, rng.u32()), rng);
      break;
    case "weight": {
      // inputs of width nEmbd read the hidden state (shared outlier channels); others get their own
      const colScale = cols === hidden.length ? hidden : channelScales(cols, rng.u32());
      values = weights(rows, cols, colScale, rng, pl.name === "token_embd.weight" ? 0.5 : 1);
      type = DTYPE_TYPE[s.dtype];
      break;
    }
  }
  return { name: pl.name, ne: pl.ne, type, data: encode(values, type) };
}

// ---- metadata ----

function tokenizerKvs(s: ResolvedSpec): GgufKv[] {
  if (s.tokenizer === "none") return [];
  const rng = new Rng(s.seed ^ 0x7f4a7c15);
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [2, 3, 3];
  for (let b = 0; b < 256 && tokens.length < s.nVocab / 2; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6);
  }
  const pieces = ["▁", "e", "t", "a", "o", "n", "th", "in", "er", "é", "ß", "中", "文", "🙂", "ing", "▁the", "Ġ", "ation"];
  const hostile = s.tokenizer === "hostile" ? ["", "a\0b", "\0", "bad\udcff\udcfeutf8", "\udcc3", "x".repeat(300), "line\nbreak", "\ud83d\ude42\udce2"] : [];
  const seen = new Set(tokens);
  for (const h of hostile) { if (tokens.length < s.nVocab) { tokens.push(h); types.push(1); seen.add(h); } }
  let k = 0;
  while (tokens.length < s.nVocab) {
    const n = 1 + rng.int(4);
    let t = "";
    for (let i = 0; i < n; i++) t += pieces[rng.int(pieces.length)];
    if (seen.has(t)) t += String(k++);
    if (seen.has(t)) continue;
    seen.add(t);
    tokens.push(t);
    types.push(1);
  }
  const scores = new Float32Array(s.nVocab);
  for (let i = 0; i < s.nVocab; i++) scores[i] = types[i] === 1 ? -i / 8 : 0;
  return [
    kv.str("tokenizer.ggml.model", "llama"),
    kv.str("tokenizer.ggml.pre", "default"),
    kv.arr("tokenizer.ggml.tokens", ValueType.STRING, tokens),
    kv.arr("tokenizer.ggml.scores", ValueType.FLOAT32, scores),
    kv.arr("tokenizer.ggml.token_type", ValueType.INT32, Int32Array.from(types)),
    kv.u32("tokenizer.ggml.bos_token_id", 1),
    kv.u32("tokenizer.ggml.eos_token_id", 2),
    kv.u32("tokenizer.ggml.unknown_token_id", 0),
    kv.bool("tokenizer.ggml.add_bos_token", true),
    kv.bool("tokenizer.ggml.add_eos_token", false),
    kv.str("tokenizer.chat_template", "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}</s>\n{% endfor %}"),
  ];
}

function modelKvs(s: ResolvedSpec): GgufKv[] {
  const a = s.arch;
  const out: GgufKv[] = [
    kv.str("general.architecture", a),
    kv.str("general.type", "model"),
    kv.str("general.name", s.name),
    kv.u32(`${a}.block_count`, s.nLayer),
    kv.u32(`${a}.context_length`, s.contextLength),
    kv.u32(`${a}.embedding_length`, s.nEmbd),
    kv.u32(`${a}.feed_forward_length`, s.nFf),
    kv.u32(`${a}.attention.head_count`, s.nHead),
    kv.u32(`${a}.attention.head_count_kv`, s.nHeadKv),
    kv.f32(`${a}.rope.freq_base`, a === "llama" ? 10000 : 1000000),
    kv.f32(`${a}.attention.layer_norm_rms_epsilon`, 1e-6),
  ];
  if (a === "llama") out.push(kv.u32(`${a}.rope.dimension_count`, s.headDim), kv.u32(`${a}.vocab_size`, s.nVocab));
  if (a === "phi3") out.push(kv.u32(`${a}.rope.dimension_count`, s.headDim));
  if (a === "deepseek2") {
    // DeepseekV2Model.set_gguf_parameters: MLA is stored as MQA with wide heads (split) or as MHA (legacy kv_b)
    const split = s.mla === "split";
    out.push(
      kv.u32(`${a}.vocab_size`, s.nVocab),
      kv.u32(`${a}.leading_dense_block_count`, s.nLayerDense),
      kv.u32(`${a}.attention.q_lora_rank`, s.qLoraRank),
      kv.u32(`${a}.attention.kv_lora_rank`, s.kvLoraRank),
      kv.u32(`${a}.attention.key_length`, split ? s.kvLoraRank + s.qkRopeDim : s.qkNopeDim + s.qkRopeDim),
      kv.u32(`${a}.attention.value_length`, split ? s.kvLoraRank : s.vHeadDim),
    );
    if (split) out.push(kv.u32(`${a}.attention.key_length_mla`, s.qkNopeDim + s.qkRopeDim), kv.u32(`${a}.attention.value_length_mla`, s.vHeadDim));
    out.push(
      kv.u32(`${a}.expert_feed_forward_length`, s.nFfExp),
      kv.u32(`${a}.expert_count`, s.nExpert),
      kv.u32(`${a}.expert_shared_count`, s.nExpertShared),
      kv.u32(`${a}.expert_used_count`, s.nExpertUsed),
      kv.f32(`${a}.expert_weights_scale`, 2.5),
      kv.bool(`${a}.expert_weights_norm`, true),
      kv.u32(`${a}.expert_gating_func`, 2), // sigmoid
      kv.u32(`${a}.rope.dimension_count`, s.qkRopeDim),
    );
  } else if (s.headDim !== s.nEmbd / s.nHead || a === "qwen3moe") {
    out.push(kv.u32(`${a}.attention.key_length`, s.headDim), kv.u32(`${a}.attention.value_length`, s.headDim));
  }
  if (s.nExpert > 0 && a !== "deepseek2") {
    out.push(kv.u32(`${a}.expert_count`, s.nExpert), kv.u32(`${a}.expert_used_count`, s.nExpertUsed));
    if (a !== "llama") out.push(kv.u32(`${a}.expert_feed_forward_length`, s.nFfExp));
    if (s.nFfShexp > 0) out.push(kv.u32(`${a}.expert_shared_feed_forward_length`, s.nFfShexp));
  }
  out.push(kv.u32("general.file_type", FTYPE[s.dtype]), kv.u32("general.quantization_version", 2));
  return [...out, ...tokenizerKvs(s), ...s.extraKvs];
}

/** A model as metadata plus tensors with their data; nothing is written. */
export function generateModel(spec: ModelSpec = {}): GeneratedModel {
  const s = resolveSpec(spec);
  const hidden = channelScales(s.nEmbd, (s.seed * 7919 + 17) >>> 0);
  return { spec: s, kvs: modelKvs(s), tensors: planTensors(s).map((p) => makeTensor(p, s, hidden)) };
}

/** Names and shapes of a spec's tensors, in file order, without generating any data. */
export function tensorShapes(spec: ModelSpec = {}): { name: string; ne: number[] }[] {
  return planTensors(resolveSpec(spec)).map(({ name, ne }) => ({ name, ne }));
}

/** The whole GGUF file. */
export function modelBytes(m: GeneratedModel): Uint8Array {
  return ggufBytes(m.kvs, m.tensors);
}

/** gguf-split's shard name (llama_split_path): `<prefix>-%05d-of-%05d.gguf`, index 0-based. */
export function shardName(prefix: string, index: number, count: number): string {
  return `${prefix}-${String(index + 1).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.gguf`;
}

/**
 * A model split as llama.cpp's gguf-split writes it: `sizes[i]` tensors (in file order) in shard i,
 * shard 0 with all the metadata, every shard with split.no (u16), split.count (u16) and
 * split.tensors.count (i32) after it. sizes[0] = 0 is gguf-split's --no-tensor-first-split.
 */
export function modelShards(m: { kvs: readonly GgufKv[]; tensors: readonly GeneratedTensor[] }, sizes: readonly number[]): Uint8Array[] {
  if (sizes.reduce((a, b) => a + b, 0) !== m.tensors.length) throw new RangeError(`shard sizes ${sizes.join("+")} do not add up to ${m.tensors.length} tensors`);
  let at = 0;
  return sizes.map((n, i) => {
    const kvs = [
      ...(i === 0 ? m.kvs : []),
      kv.u16("split.no", i), kv.u16("split.count", sizes.length), kv.i32("split.tensors.count", m.tensors.length),
    ];
    const tensors = m.tensors.slice(at, at + n);
    at += n;
    return ggufBytes(kvs, tensors);
  });
}

/** Generates a model, writes it to `path`, and returns its tensor list (file order). */
export async function writeModel(path: string, spec: ModelSpec = {}): Promise<TensorDesc[]> {
  const m = generateModel(spec);
  await writeFile(path, modelBytes(m));
  return m.tensors.map(({ name, ne, type }) => ({ name, ne, type }));
}

// ---- importance matrices ----

export interface ImatrixSpec {
  seed?: number;
  /** tokens per chunk (default 512) */
  chunkSize?: number;
  /** chunks processed (default 10) */
  chunks?: number;
  datasets?: string[];
  /** per MoE tensor, how many experts saw no token (default 0) */
  zeroExperts?: number;
  /** include output.weight, as llama-imatrix --process-output (default false) */
  processOutput?: boolean;
  /** also write Σx (".in_sum" tensors, as newer llama-imatrix does) in GGUF files */
  activations?: boolean;
}

/** What llama-imatrix would have collected on this model: one entry per matrix multiplication weight. */
export function generateImatrix(m: GeneratedModel, spec: ImatrixSpec = {}): { stats: ImatrixStat[]; meta: ImatrixMeta } {
  const chunkSize = spec.chunkSize ?? 512;
  const chunks = spec.chunks ?? 10;
  const nTokens = chunkSize * chunks;
  const seed = spec.seed ?? m.spec.seed;
  const groupCache = new Map<string, Float32Array>();
  const stats: ImatrixStat[] = [];

  // the mean square of each input channel; weights reading the same input share it (q/k/v; gate/up/router)
  const meanSquares = (group: string, n: number): Float32Array => {
    let g = groupCache.get(group);
    if (!g) {
      const r = new Rng((hash(group) ^ seed) >>> 0);
      const sc = channelScales(n, r.u32());
      g = new Float32Array(n);
      for (let i = 0; i < n; i++) { const t = t4(r); g[i] = (0.05 + t * t) * sc[i] * sc[i]; }
      groupCache.set(group, g);
    }
    return g;
  };

  for (const t of m.tensors) {
    const isBlockMatmul = t.name.startsWith("blk.") && t.name.endsWith(".weight") && !t.name.endsWith("_norm.weight");
    const isOutput = t.name === "output.weight" && spec.processOutput;
    if (!isBlockMatmul && !isOutput) continue;
    const layer = t.name.split(".")[1];
    const kind = t.name.split(".")[2];
    const group = /^attn_([qkv]|q_a|kv_a_mqa)$/.test(kind) ? `blk.${layer}.attn_in`
      : /^ffn_(gate|up)(_exps|_shexp)?$|^ffn_gate_inp(_shexp)?$/.test(kind) ? `blk.${layer}.ffn_in`
      : t.name;
    const ne0 = t.ne[0];
    const nMat = t.ne.length === 3 ? t.ne[2] : 1;
    const ms = meanSquares(group, ne0);
    const r = new Rng((hash(t.name) ^ seed ^ 0x5bd1e995) >>> 0);

    let counts: number[];
    if (nMat === 1) counts = [nTokens];
    else if (!t.name.includes("_exps")) counts = new Array<number>(nMat).fill(nTokens); // per-head matrices (MLA): every token
    else {
      const w = Array.from({ length: nMat }, () => 0.5 + r.uniform());
      const total = nTokens * m.spec.nExpertUsed;
      const sum = w.reduce((a, b) => a + b, 0);
      counts = w.map((x) => Math.floor((total * x) / sum));
      const zeros = Math.min(spec.zeroExperts ?? 0, nMat - 1);
      for (let k = 0, e = r.int(nMat); k < zeros; k++, e = (e + 1) % nMat) counts[e] = 0;
    }
    const values = new Float32Array(ne0 * nMat);
    const activations = spec.activations ? new Float32Array(ne0 * nMat) : undefined;
    for (let j = 0; j < nMat; j++) {
      for (let i = 0; i < ne0; i++) {
        values[j * ne0 + i] = counts[j] * ms[i] * (0.7 + 0.6 * r.uniform());
        if (activations) activations[j * ne0 + i] = counts[j] * Math.sqrt(ms[i]) * 0.1 * t4(r);
      }
    }
    stats.push({ name: t.name, values, counts, activations });
  }
  return { stats, meta: { datasets: spec.datasets ?? ["gen-calibration.txt"], chunkCount: chunks, chunkSize } };
}

/** Writes the model's imatrix in one format; returns what was collected. */
export async function writeImatrix(path: string, m: GeneratedModel, format: "gguf" | "dat", spec: ImatrixSpec = {}): Promise<{ stats: ImatrixStat[]; meta: ImatrixMeta }> {
  const im = generateImatrix(m, spec);
  await writeFile(path, format === "gguf" ? writeGgufImatrix(im.stats, im.meta) : writeLegacyImatrix(im.stats, im.meta));
  return im;
}
