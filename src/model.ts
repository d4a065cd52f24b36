// The model facts llama.cpp's loader derives from metadata (llama_hparams::n_gqa, n_layer_all,
// n_expert, and llm_type 70B) that the type policy reads, and the checks its load_hparams makes on
// them before anything is quantized (some are GGML_ASSERTs that abort llama-quantize).

import type { ModelFacts } from "./policy.js";

/**
 * Reads a metadata value by key as the model loader would: `kind` is the override type the loader
 * accepts for the key (an --override-kv of another type is ignored), `orArray` marks keys read with
 * get_key_or_arr (per-layer arrays allowed; overrides apply only to a scalar key present in the file).
 */
export type KvLookup = (key: string, kind?: "int" | "str", orArray?: boolean) => unknown;

function firstNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v) && v.length > 0) return firstNumber(v[0]);
  if (v && typeof v === "object" && "items" in v) return firstNumber((v as { items: unknown[] }).items);
  return undefined;
}

export function modelFacts(kv: KvLookup): ModelFacts {
  const arch = String(kv("general.architecture", "str") ?? "");
  const nLayer = firstNumber(kv(`${arch}.block_count`, "int")) ?? 0;
  const nExpert = firstNumber(kv(`${arch}.expert_count`, "int")) ?? 0;
  const nHead = firstNumber(kv(`${arch}.attention.head_count`, "int", true)) ?? 0;
  const nHeadKv = firstNumber(kv(`${arch}.attention.head_count_kv`, "int", true)) ?? nHead;
  const nGqa = nHeadKv === 0 ? 0 : Math.trunc(nHead / nHeadKv);
  // llm_type as the arch's load_hparams sets it; only LLM_TYPE_70B matters to the policy
  let is70B = false;
  if (arch === "llama") is70B = nExpert !== 8 && nLayer === 80 && nHead !== nHeadKv;
  else if (arch === "qwen2") is70B = nLayer === 80;
  return { arch, nLayer, nExpert, nGqa, is70B };
}

/** LLAMA_MAX_LAYERS and LLAMA_MAX_EXPERTS of the reference build. */
export const MAX_LAYERS = 512;
export const MAX_EXPERTS = 1024;

/**
 * What llama_model::load_hparams refuses, in its order, for the keys every architecture reads; the
 * message, or undefined. ("key not found" throws; the range checks are GGML_ASSERTs, which abort
 * llama-quantize without a message of its own: we refuse with the assertion instead.)
 */
export function checkHparams(kv: KvLookup): string | undefined {
  const arch = String(kv("general.architecture", "str") ?? "");
  for (const k of ["context_length", "embedding_length", "block_count"]) {
    if (kv(`${arch}.${k}`, "int") === undefined) return `key not found in model: ${arch}.${k}`;
  }
  const nLayer = firstNumber(kv(`${arch}.block_count`, "int")) ?? 0;
  if (nLayer < 1 || nLayer > MAX_LAYERS) return `invalid model: ${arch}.block_count = ${nLayer} (llama.cpp aborts: GGML_ASSERT(hparams.n_layer_all > 0 && hparams.n_layer_all <= LLAMA_MAX_LAYERS), LLAMA_MAX_LAYERS = ${MAX_LAYERS})`;
  const nExpert = firstNumber(kv(`${arch}.expert_count`, "int")) ?? 0;
  if (nExpert > MAX_EXPERTS) return `invalid model: ${arch}.expert_count = ${nExpert} (llama.cpp aborts: GGML_ASSERT(hparams.n_expert <= LLAMA_MAX_EXPERTS), LLAMA_MAX_EXPERTS = ${MAX_EXPERTS})`;
  const used = kv(`${arch}.expert_used_count`, "int", true);
  const usedMax = used && typeof used === "object" && "items" in used
    ? Math.max(0, ...Array.from((used as { items: ArrayLike<number | bigint> }).items, Number))
    : firstNumber(used) ?? 0;
  const assert = usedMax > nExpert ? "n_expert_used_max <= hparams.n_expert"
    : nExpert > 0 && usedMax === 0 ? "n_expert_used_max > 0" : undefined;
  if (assert) return `invalid model: ${arch}.expert_count = ${nExpert}, ${arch}.expert_used_count = ${usedMax} (llama.cpp aborts: GGML_ASSERT(${assert}))`;
  // the rotary dimension must be the head size for these architectures
  if (arch === "llama" || arch === "deci" || arch === "falcon") {
    const nHead = firstNumber(kv(`${arch}.attention.head_count`, "int", true)) ?? 0;
    if (nHead > 0) {
      const nEmbd = firstNumber(kv(`${arch}.embedding_length`, "int")) ?? 0;
      const headK = firstNumber(kv(`${arch}.attention.key_length`, "int")) ?? Math.trunc(nEmbd / nHead);
      const nRot = firstNumber(kv(`${arch}.rope.dimension_count`, "int")) ?? headK;
      if (nRot !== headK) return `invalid n_rot: ${nRot}, expected ${headK}`;
    }
  }
  return undefined;
}
