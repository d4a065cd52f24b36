// The model facts llama.cpp's loader derives from metadata (llama_hparams::n_gqa, n_layer_all,
// n_expert, and llm_type 70B) that the type policy reads.

import type { ModelFacts } from "./policy.js";

/** Reads a metadata value by key; arrays come back as their items. */
export type KvLookup = (key: string) => unknown;

function firstNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v) && v.length > 0) return firstNumber(v[0]);
  if (v && typeof v === "object" && "items" in v) return firstNumber((v as { items: unknown[] }).items);
  return undefined;
}

export function modelFacts(kv: KvLookup): ModelFacts {
  const arch = String(kv("general.architecture") ?? "");
  const nLayer = firstNumber(kv(`${arch}.block_count`)) ?? 0;
  const nExpert = firstNumber(kv(`${arch}.expert_count`)) ?? 0;
  const nHead = firstNumber(kv(`${arch}.attention.head_count`)) ?? 0;
  const nHeadKv = firstNumber(kv(`${arch}.attention.head_count_kv`)) ?? nHead;
  const nGqa = nHeadKv === 0 ? 0 : Math.trunc(nHead / nHeadKv);
  // llm_type as the arch's load_hparams sets it; only LLM_TYPE_70B matters to the policy
  let is70B = false;
  if (arch === "llama") is70B = nExpert !== 8 && nLayer === 80 && nHead !== nHeadKv;
  else if (arch === "qwen2") is70B = nLayer === 80;
  return { arch, nLayer, nExpert, nGqa, is70B };
}
