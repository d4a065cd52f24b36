// The fixed cases of the option tests (--prune-layers, --override-kv, split inputs and --keep-split,
// --allow-requantize) whose outputs are pinned by digests: scripts/make-option-goldens.ts runs each
// through llama.cpp's llama_model_quantize (test/support/llama.ts) and records the sha256 of its
// input files and of every output file; test/options-golden.test.ts runs each through our command
// line, without llama.cpp, and compares.

import type { LiveCase } from "./live.js";
import type { ModelSpec } from "./generate.js";

export const OPTION_MODELS = {
  // 8 layers (the n/8 rules reach layer 0), GQA, rows of 256 where ne0 = n_embd
  dense: { nLayer: 8, nEmbd: 256, nFf: 64, nHead: 2, headDim: 32, nHeadKv: 1, nVocab: 32, dtype: "f16", seed: 31 },
  // MoE with a shared expert (per-layer rules read the layer from the name)
  moe: { arch: "qwen2moe", nLayer: 4, nEmbd: 256, nFf: 64, nHead: 2, headDim: 32, nVocab: 32, nExpert: 4, nFfExp: 32, nFfShexp: 64, dtype: "bf16", seed: 32 },
  // one block, for requantization
  small: { nLayer: 1, nEmbd: 256, nFf: 256, nHead: 2, headDim: 32, nVocab: 32, dtype: "f16", seed: 33 },
} satisfies Record<string, ModelSpec>;

export type OptionModel = keyof typeof OPTION_MODELS;

export interface OptionCase {
  id: string;
  model: OptionModel;
  preset: string;
  imatrix: LiveCase["imatrix"];
  /** llama-quantize options (our CLI's spelling) */
  flags: string[];
  /** tensors per input shard (exact counts), as gguf-split writes them */
  split?: number[];
  /** the input is the generated model quantized first with this preset and flags */
  source?: { preset: string; flags: string[] };
}

const ALL_KINDS = [
  "test.int=int:-7", "test.big=int:8589934591", "test.wrap=int:-4294967297", "test.max=int:99999999999999999999",
  "test.min=int:-99999999999999999999", "test.junk=int:12abc", "test.float=float:0.1", "test.inf=float:1e40",
  "test.hex=float:0x1p-3", "test.tiny=float:1e-46", "test.bool=bool:true", "test.false=bool:false", "test.str=str:é中🙂",
  "test.long=str:" + "x".repeat(127), "test.empty=str:", "general.name=str:renamed", "general.file_type=int:2", "test.int=int:5",
].flatMap((a) => ["--override-kv", a]);

export function optionCases(): OptionCase[] {
  return [
    // --prune-layers: first, last, a set, with and without an imatrix (looked up by the original names)
    { id: "prune-first-Q4_K_M-gguf", model: "dense", preset: "Q4_K_M", imatrix: "gguf", flags: ["--prune-layers", "0"] },
    { id: "prune-last-Q5_0-dat", model: "dense", preset: "Q5_0", imatrix: "dat", flags: ["--prune-layers", "7"] },
    { id: "prune-set-Q8_0", model: "dense", preset: "Q8_0", imatrix: "none", flags: ["--prune-layers", "5,1,3"] },
    { id: "prune-moe-Q4_K_S-gguf", model: "moe", preset: "Q4_K_S", imatrix: "gguf", flags: ["--prune-layers", "1"] },
    // --override-kv: every value type; values the loader reads (the policy changes); a wrong type (ignored)
    { id: "kv-every-type-Q8_0", model: "small", preset: "Q8_0", imatrix: "none", flags: ALL_KINDS },
    { id: "kv-expert_count-8-Q4_K_M", model: "moe", preset: "Q4_K_M", imatrix: "none", flags: ["--override-kv", "qwen2moe.expert_count=int:8"] },
    { id: "kv-block_count-80-Q4_K_S", model: "dense", preset: "Q4_K_S", imatrix: "none", flags: ["--override-kv", "llama.block_count=int:80"] },
    { id: "kv-block_count-str-Q5_K_M", model: "moe", preset: "Q5_K_M", imatrix: "none", flags: ["--override-kv", "qwen2moe.block_count=str:1"] },
    // a model in 3 shards (token_embd + 9 per block + 2 = 75 tensors): one output, one per shard, no tensor in the first
    { id: "split3-Q4_K_M-gguf", model: "dense", preset: "Q4_K_M", imatrix: "gguf", flags: [], split: [25, 25, 25] },
    { id: "split3-keep-Q4_K_M-gguf", model: "dense", preset: "Q4_K_M", imatrix: "gguf", flags: ["--keep-split"], split: [25, 25, 25] },
    { id: "split3-keep-no-first-prune-Q5_1", model: "dense", preset: "Q5_1", imatrix: "none", flags: ["--keep-split", "--prune-layers", "0"], split: [0, 40, 35] },
    // --allow-requantize from q8_0 and q6_K (every tensor of that type: made with --pure)
    ...["F16", "Q4_0", "Q4_K_M", "Q6_K"].map((preset): OptionCase => ({ id: `requant-q8_0-${preset}`, model: "small", preset, imatrix: "none", flags: ["--allow-requantize"], source: { preset: "Q8_0", flags: ["--pure"] } })),
    ...["Q8_0", "Q5_K_M", "Q4_1"].map((preset): OptionCase => ({ id: `requant-q6_K-${preset}-gguf`, model: "small", preset, imatrix: "gguf", flags: ["--allow-requantize"], source: { preset: "Q6_K", flags: ["--pure"] } })),
  ];
}

/** An option case as a live-test case (its model spec written out). */
export function asLiveCase(c: OptionCase): LiveCase {
  return { model: OPTION_MODELS[c.model], preset: c.preset, imatrix: c.imatrix, flags: c.flags, dryRun: false, split: c.split, source: c.source };
}
