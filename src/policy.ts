// llama.cpp's per-tensor type selection (src/llama-quant.cpp of the reference build:
// tensor_allows_quantization, tensor_get_category, llama_tensor_get_type(_impl),
// tensor_type_fallback, tensor_requires_imatrix), restated over plain values. The whole plan is
// decided before any weight is read, in output order, because the mixture rules keep counters.

import { F, defaultType } from "./ftypes.js";
import type { Rule } from "./rules.js";
import { T, TYPES, typeName } from "./types.js";
import { encodeString } from "./gguf/values.js";

export interface TensorDesc {
  readonly name: string;
  /** dimensions as stored (n_dims entries) */
  readonly ne: readonly number[];
  /** current ggml type */
  readonly type: number;
}

/** What the rules need to know about the model (llama_hparams and llm_type). */
export interface ModelFacts {
  readonly arch: string;
  /** {arch}.block_count (n_layer_all) */
  readonly nLayer: number;
  /** {arch}.expert_count, 0 when absent */
  readonly nExpert: number;
  /** n_head / n_head_kv of layer 0 (0 when n_head_kv is 0) */
  readonly nGqa: number;
  /** llm_type == LLM_TYPE_70B */
  readonly is70B: boolean;
}


export interface PolicyOptions {
  readonly ftype: number;
  readonly pure?: boolean;
  /** false with --leave-output-tensor */
  readonly quantizeOutputTensor?: boolean;
  /** the COPY pseudo-preset */
  readonly onlyCopy?: boolean;
  readonly outputTensorType?: number;
  readonly tokenEmbeddingType?: number;
  /** an importance matrix was given (whatever it matches) */
  readonly hasImatrix?: boolean;
  /** user rules in command-line order: --tensor-type kind first-match before the mixture rules,
   *  custom-q kind (--custom-q, recipes) first-match after them (see src/rules.ts) */
  readonly rules?: readonly Rule[];
}

export type Category = "token_embd" | "attn_q" | "attn_v" | "attn_k" | "attn_qkv" | "attn_kv_b" | "attn_output"
  | "ffn_up" | "ffn_gate" | "ffn_down" | "output" | "other";

/** Why a tensor got its type: what --dry-run and the plan show. */
export type Reason =
  | { kind: "kept" }                       // not quantizable: copied as it is
  | { kind: "default" }                    // the preset's default type
  | { kind: "mixture" }                    // the preset's mixture rules
  | { kind: "rule"; rule: Rule }           // a --tensor-type, --custom-q or recipe rule
  | { kind: "output-type" }                // --output-tensor-type
  | { kind: "token-embedding-type" };      // --token-embedding-type

export interface Decision {
  readonly name: string;
  readonly category: Category;
  readonly allowsQuantization: boolean;
  /** the type the tensor is written as */
  readonly target: number;
  readonly reason: Reason;
  /** set when the shape forced another type: the type asked for, and what was used */
  readonly fallback?: { readonly from: number; readonly to: number };
  readonly requiresImatrix: boolean;
  /** llama.cpp's log lines for this tensor in the planning pass (overrides, fallbacks) */
  readonly log: readonly string[];
}

export class PolicyError extends Error {}

/** ggml_n_dims: dimensions after dropping trailing 1s, at least 1. */
export function nDims(ne: readonly number[]): number {
  let n = ne.length;
  while (n > 1 && ne[n - 1] === 1) n--;
  return Math.max(n, 1);
}

/** The UTF-8 bytes of s as a binary string, so that positions and comparisons are C++'s. Names read
 *  from a file may hold invalid UTF-8 (kept as escaped bytes, see gguf/values.ts): encodeString gives
 *  those bytes back where encodeURIComponent would throw. */
export function byteString(s: string): string {
  if (/^[\x00-\x7f]*$/.test(s)) return s;
  let out = "";
  for (const c of encodeString(s)) out += String.fromCharCode(c);
  return out;
}

/** sscanf(name, "blk.%d.", &layer) == 1 ? layer : undefined */
export function parseBlk(name: string): number | undefined {
  const m = /^blk\.[ \t\n\v\f\r]*([+-]?\d+)/.exec(name);
  return m ? Number(m[1]) | 0 : undefined;
}

/** llama_model_loader's weight_name_comparer: (layer or -1, name bytes). */
export function compareTensorNames(a: string, b: string): number {
  const la = parseBlk(a) ?? -1;
  const lb = parseBlk(b) ?? -1;
  if (la !== lb) return la < lb ? -1 : 1;
  const ba = byteString(a), bb = byteString(b);
  return ba < bb ? -1 : ba > bb ? 1 : 0;
}

const NEVER_QUANTIZED = [
  "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
  "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
  "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
  "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
  "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
  "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
  "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos",
  ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
];

/** tensor_allows_quantization */
export function allowsQuantization(t: TensorDesc, opts: PolicyOptions): boolean {
  if (opts.onlyCopy) return false;
  if (nDims(t.ne) < 2) return false;
  const name = byteString(t.name);
  // name.rfind("weight") == name.size() - 6, with size_t arithmetic: a 5-byte name passes too
  const at = name.lastIndexOf("weight");
  if (at < 0 ? name.length !== 5 : at !== name.length - 6) return false;
  if (opts.quantizeOutputTensor === false && name === "output.weight") return false;
  if (NEVER_QUANTIZED.some((s) => name.includes(s))) return false;
  if (name === "position_embd.weight" || name === "token_types.weight") return false;
  return true;
}

/** tensor_get_category */
export function categoryOf(name: string): Category {
  if (name === "output.weight") return "output";
  if (name === "token_embd.weight" || name === "per_layer_token_embd.weight") return "token_embd";
  if (name.includes("attn_qkv.weight")) return "attn_qkv";
  if (name.includes("attn_kv_b.weight")) return "attn_kv_b";
  if (name.includes("attn_v.weight")) return "attn_v";
  if (name.includes("attn_k.weight")) return "attn_k";
  if (name.includes("attn_q.weight")) return "attn_q";
  if (name.includes("attn_output.weight")) return "attn_output";
  if (name.includes("ffn_up")) return "ffn_up";
  if (name.includes("ffn_gate")) return "ffn_gate";
  if (name.includes("ffn_down")) return "ffn_down";
  return "other";
}

const isAttnV = (c: Category) => c === "attn_v" || c === "attn_qkv" || c === "attn_kv_b";

/** tensor_requires_imatrix */
export function requiresImatrix(name: string, type: number, ftype: number): boolean {
  if (name === "token_embd.weight" || name === "per_layer_token_embd.weight" || name === "output.weight") return false;
  switch (type) {
    case T.IQ3_XXS: case T.IQ2_XXS: case T.IQ2_XS: case T.IQ2_S: case T.IQ1_M: case T.IQ1_S: return true;
    case T.Q2_K: return ftype === F.Q2_K_S;
    default: return false;
  }
}

/** printf's %-*s: the width counts bytes, so a name with non-ASCII characters gets fewer spaces */
const pad = (s: string, w: number) => { const n = byteString(s).length; return n >= w ? s : s + " ".repeat(w - n); };
const padl = (s: string, w: number) => (s.length >= w ? s : " ".repeat(w - s.length) + s);

/** Per-run state of llama.cpp's quantize_state_impl. */
class State {
  nAttnV = 0; iAttnV = 0; iFfnDown = 0; iFfnGate = 0; iFfnUp = 0;
  nFallback = 0;
  tied = true;
  constructor(readonly model: ModelFacts, readonly opts: PolicyOptions) {}
}

const useMoreBits = (i: number, n: number) =>
  i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;

/** layer_info: the parsed layer for MoE models, else the running counter; n is n_layer. */
function layerInfo(s: State, counter: number, name: string): [number, number] {
  const n = s.model.nLayer;
  if (Math.max(1, s.model.nExpert) > 1) {
    const i = parseBlk(name);
    if (i === undefined) throw new PolicyError(`Failed to determine layer for tensor ${name}`);
    if (i < 0 || i >= n) throw new PolicyError(`Bad layer ${i} for tensor ${name}. Must be in [0, ${n})`);
    return [i, n];
  }
  return [counter, n];
}

/** llama_tensor_get_type_impl: the preset's mixture rules. */
function mixtureType(s: State, newType: number, t: TensorDesc, cat: Category): number {
  const ftype = s.opts.ftype;
  const { arch, nExpert, nGqa } = s.model;
  const falcon = arch === "falcon";
  const div = (a: number, b: number) => Math.trunc(a / b);
  const ftIn = (...fs: number[]) => fs.includes(ftype);
  const hasImatrix = !!s.opts.hasImatrix;

  if (cat === "output" || (s.tied && cat === "token_embd")) {
    if (s.opts.outputTensorType !== undefined) return s.opts.outputTensorType;
    const qk = TYPES[newType].blockSize;
    if (ftype === F.MXFP4_MOE) return T.Q8_0;
    if (falcon || t.ne[0] % qk !== 0) return T.Q8_0;
    if (ftIn(F.IQ2_XXS, F.IQ2_XS, F.IQ3_XXS, F.IQ1_S, F.IQ2_S, F.IQ2_M, F.IQ1_M)) return T.Q5_K;
    if (newType !== T.Q8_0) return T.Q6_K;
    return newType;
  }
  if (ftype === F.MXFP4_MOE) {
    const isBailingExpert = arch === "bailingmoe3" && (cat === "ffn_up" || cat === "ffn_gate" || cat === "ffn_down");
    return (t.ne[2] ?? 1) > 1 && (arch !== "bailingmoe3" || isBailingExpert) ? T.MXFP4 : T.Q8_0;
  }
  if (cat === "token_embd") {
    if (s.opts.tokenEmbeddingType !== undefined) return s.opts.tokenEmbeddingType;
    if (ftIn(F.IQ2_XXS, F.IQ2_XS, F.IQ1_S, F.IQ1_M)) return T.Q2_K;
    if (ftIn(F.IQ2_S, F.IQ2_M)) return T.IQ3_S;
    if (ftype === F.IQ3_XXS) return T.IQ3_S;
    if (ftIn(F.TQ1_0, F.TQ2_0, F.Q2_0)) return T.Q4_K;
    return newType;
  }
  if (ftIn(F.IQ2_XXS, F.IQ2_XS, F.IQ1_S, F.IQ2_S, F.IQ2_M, F.IQ1_M)) {
    const sOrM = ftIn(F.IQ2_S, F.IQ2_M);
    if (isAttnV(cat)) {
      newType = nGqa >= 4 || nExpert >= 4 ? T.Q4_K : sOrM ? T.IQ3_S : T.Q2_K;
      s.iAttnV++;
    } else if (nExpert === 8 && cat === "attn_k") {
      newType = T.Q4_K;
    } else if (cat === "ffn_down") {
      if (s.iFfnDown < div(s.model.nLayer, 8)) newType = sOrM ? T.IQ3_S : T.Q2_K;
      s.iFfnDown++;
    } else if (cat === "attn_output") {
      if (nExpert === 8) newType = T.Q5_K;
      else if (ftIn(F.IQ1_S, F.IQ1_M)) newType = T.IQ2_XXS;
      else if (sOrM) newType = T.IQ3_S;
    }
    return newType;
  }
  if (isAttnV(cat)) {
    if (ftype === F.Q2_K) newType = nGqa >= 4 ? T.Q4_K : T.Q3_K;
    else if (ftype === F.Q2_K_S && nGqa >= 4) newType = T.Q4_K;
    else if (ftype === F.IQ3_XXS) newType = nGqa >= 4 ? T.Q4_K : !hasImatrix ? T.IQ3_S : T.IQ3_XXS;
    else if (ftIn(F.IQ3_XS, F.IQ3_S) && nGqa >= 4) newType = T.Q4_K;
    else if (ftype === F.IQ3_M) newType = T.Q4_K;
    else if (ftype === F.Q3_K_M) newType = s.iAttnV < 2 ? T.Q5_K : T.Q4_K;
    else if (ftype === F.Q3_K_L) newType = T.Q5_K;
    else if (ftIn(F.IQ4_NL, F.IQ4_XS) && nGqa >= 4) newType = T.Q5_K;
    else if (ftIn(F.Q4_K_M, F.Q5_K_M) && useMoreBits(s.iAttnV, s.nAttnV)) newType = T.Q6_K;
    else if (ftype === F.Q4_K_S && s.iAttnV < 4) newType = T.Q5_K;
    if (s.model.is70B && (newType === T.Q3_K || newType === T.Q4_K)) newType = T.Q5_K;
    if (nExpert === 8) newType = T.Q8_0;
    s.iAttnV++;
    return newType;
  }
  if (cat === "attn_k") {
    if (nExpert === 8) newType = T.Q8_0;
    else if (ftype === F.IQ3_XS) newType = T.IQ3_XXS;
    else if (ftype === F.IQ3_XXS) newType = T.IQ2_S;
    return newType;
  }
  if (cat === "attn_q") {
    if (ftype === F.IQ3_XS) newType = T.IQ3_XXS;
    else if (ftype === F.IQ3_XXS) newType = T.IQ2_S;
    return newType;
  }
  if (cat === "ffn_down") {
    const [i, n] = layerInfo(s, s.iFfnDown, t.name);
    if (ftype === F.Q2_K) newType = T.Q3_K;
    else if (ftype === F.Q2_K_S) { if (i < div(n, 8)) newType = T.Q4_K; }
    else if (ftype === F.IQ3_XXS && !hasImatrix) newType = i < div(n, 8) ? T.Q4_K : T.Q3_K;
    else if (ftype === F.Q3_K_M) newType = i < div(n, 16) ? T.Q5_K : !falcon || useMoreBits(i, n) ? T.Q4_K : T.Q3_K;
    else if (ftype === F.IQ3_M && (i < div(n, 8) || (nExpert === 8 && useMoreBits(i, n)))) newType = T.Q4_K;
    else if (ftype === F.Q3_K_L) newType = falcon ? T.Q4_K : T.Q5_K;
    else if (ftype === F.Q4_K_M) {
      if (falcon) newType = i < div(n, 16) ? T.Q6_K : useMoreBits(i, n) ? T.Q5_K : T.Q4_K;
      else if (useMoreBits(i, n)) newType = T.Q6_K;
    }
    else if (i < div(n, 8) && ftIn(F.IQ4_NL, F.IQ4_XS) && !hasImatrix) newType = T.Q5_K;
    else if (ftype === F.Q5_K_M && useMoreBits(i, n)) newType = T.Q6_K;
    else if (ftype === F.Q4_K_S && !falcon && i < div(n, 8)) newType = T.Q5_K;
    else if (ftIn(F.Q4_0, F.Q5_0) && hasImatrix && i < div(n, 8)) newType = ftype === F.Q4_0 ? T.Q4_1 : T.Q5_1;
    s.iFfnDown++;
    return newType;
  }
  if (cat === "attn_output") {
    if (!falcon) {
      if (nExpert === 8) {
        if (ftIn(F.Q2_K, F.IQ3_XS, F.IQ3_XXS, F.Q3_K_S, F.Q3_K_M, F.IQ4_NL, F.Q4_K_S, F.Q4_K_M, F.IQ3_S, F.IQ3_M, F.IQ4_XS)) newType = T.Q5_K;
      } else {
        if (ftype === F.Q2_K) newType = T.Q3_K;
        else if (ftype === F.IQ3_XXS) newType = T.IQ3_S;
        else if (ftype === F.Q3_K_M) newType = T.Q4_K;
        else if (ftype === F.Q3_K_L) newType = T.Q5_K;
        else if (ftype === F.IQ3_M) newType = T.Q4_K;
      }
    } else if (ftype === F.Q3_K_L) newType = T.Q4_K;
    return newType;
  }
  // (the source's separate attn_qkv branch is unreachable: attn_qkv is V-like above)
  if (cat === "ffn_gate" || cat === "ffn_up") {
    const [i, n] = layerInfo(s, cat === "ffn_gate" ? s.iFfnGate : s.iFfnUp, t.name);
    if (ftype === F.IQ3_XS && i >= div(n, 8) && i < div(7 * n, 8)) newType = T.IQ3_XXS;
    if (cat === "ffn_gate") s.iFfnGate++; else s.iFfnUp++;
    return newType;
  }
  return newType;
}

/** Block-32 types have no smaller fallback in the reference build: they go to F16. */
const FALLBACK: Partial<Record<number, number>> = {
  [T.IQ1_S]: T.IQ4_NL, [T.IQ1_M]: T.IQ4_NL, [T.IQ2_XXS]: T.IQ4_NL, [T.IQ2_XS]: T.IQ4_NL, [T.IQ2_S]: T.IQ4_NL,
  [T.IQ3_XXS]: T.IQ4_NL, [T.IQ3_S]: T.IQ4_NL, [T.IQ4_XS]: T.IQ4_NL,
  [T.Q2_0]: T.Q4_0, [T.Q2_K]: T.Q4_0, [T.Q3_K]: T.Q4_0, [T.TQ1_0]: T.Q4_0, [T.TQ2_0]: T.Q4_0,
  [T.Q4_K]: T.Q5_0, [T.Q5_K]: T.Q5_1, [T.Q6_K]: T.Q8_0,
  [T.Q4_0]: T.Q4_0, [T.Q4_1]: T.Q4_1, [T.Q5_0]: T.Q5_0, [T.Q5_1]: T.Q5_1, [T.Q8_0]: T.Q8_0,
  [T.IQ4_NL]: T.IQ4_NL, [T.MXFP4]: T.MXFP4,
};

/** tensor_type_fallback: a type whose block does not divide the row falls back; logs as llama.cpp does. */
function fallbackType(s: State, t: TensorDesc, target: number, log: string[]): number {
  const ncols = t.ne[0];
  const qk = TYPES[target].blockSize;
  if (ncols % qk === 0) return target;
  let line = `warning: ${pad(t.name, 36)} - ncols ${padl(String(ncols), 6)} not divisible by ${padl(String(qk), 3)} (required for type ${padl(typeName(target), 7)}) `;
  s.nFallback++;
  let ret = FALLBACK[target];
  if (ret === undefined) throw new PolicyError(`no tensor type fallback is defined for type ${typeName(target)}`);
  if (ncols % TYPES[ret].blockSize !== 0) {
    line += "(WARNING: must use F16 due to unusual shape) ";
    ret = T.F16;
  }
  log.push(line + `-> falling back to ${padl(typeName(ret), 7)}`);
  return ret;
}

export interface PolicyResult {
  readonly decisions: Decision[];
  /** n_fallback: tensors whose shape forced another type */
  readonly nFallback: number;
  /** the model has no output.weight: token_embd follows the output rules */
  readonly tiedEmbeddings: boolean;
}

/**
 * Decides every tensor's type, in the order given (which must be the output order).
 * Throws PolicyError with llama.cpp's message where it refuses (invalid ftype, no fallback, bad layer).
 */
export function decideTypes(tensors: readonly TensorDesc[], model: ModelFacts, opts: PolicyOptions): PolicyResult {
  const def = defaultType(opts.ftype);
  if (def === undefined) throw new PolicyError(`invalid output file type ${opts.ftype}`);
  const s = new State(model, opts);
  const cats = tensors.map((t) => categoryOf(t.name));
  for (const c of cats) {
    if (isAttnV(c)) s.nAttnV++;
    if (c === "output") s.tied = false;
  }
  const defQuantized = TYPES[def].quantized;
  const ttRules = (opts.rules ?? []).filter((r) => r.kind === "tensor-type");
  const customRules = (opts.rules ?? []).filter((r) => r.kind === "custom-q");
  const decisions = tensors.map((t, i): Decision => {
    const category = cats[i];
    const log: string[] = [];
    const allows = allowsQuantization(t, opts);
    let target = t.type;
    let reason: Reason = { kind: "kept" };
    let fallback: Decision["fallback"];
    if (allows) {
      // the reference build takes --token-embedding-type at once for token_embd.weight, but for
      // per_layer_token_embd.weight only when no --tensor-type pattern matches it (a matching pattern
      // wins, or, under an unquantized preset, leaves the preset's type)
      const direct = category === "token_embd"
        && (t.name === "token_embd.weight" || !ttRules.some((r) => r.regex.test(t.name)));
      if (opts.tokenEmbeddingType !== undefined && direct) {
        target = opts.tokenEmbeddingType; reason = { kind: "token-embedding-type" };
      } else if (opts.outputTensorType !== undefined && category === "output") {
        target = opts.outputTensorType; reason = { kind: "output-type" };
      } else {
        target = def; reason = { kind: "default" };
        if (defQuantized) {
          let manual = false;
          const tt = ttRules.find((r) => r.regex.test(t.name));
          if (tt) {
            if (tt.type !== target) {
              log.push(`llama_tensor_get_type: ${pad(t.name, 36)} - applying manual override: ${typeName(target)} -> ${typeName(tt.type)}`);
              target = tt.type;
            }
            manual = true;
            reason = { kind: "rule", rule: tt };
          }
          if (!manual && !opts.pure) {
            const mixed = mixtureType(s, target, t, category);
            if (mixed !== target) reason = { kind: "mixture" };
            target = mixed;
          }
          if (!opts.pure) {
            const cq = customRules.find((r) => r.regex.test(t.name));
            if (cq) {
              target = cq.type;
              reason = { kind: "rule", rule: cq };
            }
          }
          const fb = fallbackType(s, t, target, log);
          if (fb !== target) fallback = { from: target, to: fb };
          target = fb;
        }
      }
    }
    return {
      name: t.name, category, allowsQuantization: allows, target, reason, fallback, log,
      requiresImatrix: requiresImatrix(t.name, target, opts.ftype),
    };
  });
  return { decisions, nFallback: s.nFallback, tiedEmbeddings: s.tied };
}
