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
  // one block whose rows are all multiples of 256 (q1_0 needs 128 and has no fallback)
  wide: { nLayer: 1, nEmbd: 256, nFf: 512, nHead: 2, headDim: 128, nVocab: 32, dtype: "f16", seed: 34 },
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
  /** the input is the generated model quantized first with this preset and flags (and imatrix) */
  source?: LiveCase["source"];
  /** text files written beside the model, by name */
  files?: Record<string, string>;
}

const ALL_KINDS = [
  "test.int=int:-7", "test.big=int:8589934591", "test.wrap=int:-4294967297", "test.max=int:99999999999999999999",
  "test.min=int:-99999999999999999999", "test.junk=int:12abc", "test.float=float:0.1", "test.inf=float:1e40",
  "test.hex=float:0x1p-3", "test.tiny=float:1e-46", "test.bool=bool:true", "test.false=bool:false", "test.str=str:é中🙂",
  "test.long=str:" + "x".repeat(127), "test.empty=str:", "general.name=str:renamed", "general.file_type=int:2", "test.int=int:5",
].flatMap((a) => ["--override-kv", a]);

/** [source preset, target preset]: every quantized type the presets reach, into a K and a legacy mix. */
const REQUANT_SOURCES: [string, string][] = [
  ["Q4_0", "Q4_K_M"], ["Q4_1", "Q8_0"], ["Q5_0", "Q4_K_M"], ["Q5_1", "Q8_0"], ["Q2_K", "Q4_K_M"], ["Q3_K_M", "Q8_0"],
  ["Q4_K_S", "Q4_K_M"], ["Q5_K_S", "Q4_0"], ["IQ4_NL", "Q4_K_M"], ["IQ4_XS", "Q8_0"], ["TQ1_0", "Q4_K_M"], ["TQ2_0", "Q5_1"],
  ["MXFP4_MOE", "Q4_K_M"], ["Q1_0", "Q6_K"], ["Q2_0", "Q4_K_M"], ["BF16", "Q3_K_M"],
  ["IQ3_S", "Q8_0"],
];

/** Sources that need an imatrix (iq1_s, iq1_m, iq2_xxs, iq2_xs, iq2_s, iq3_xxs tensors), each with a target. */
const IMATRIX_REQUANT_SOURCES: [string, string][] = [
  ["IQ1_S", "Q4_K_M"], ["IQ1_M", "Q8_0"], ["IQ2_XXS", "Q5_K_M"], ["IQ2_XS", "Q4_0"], ["IQ2_S", "Q6_K"], ["IQ2_M", "IQ4_XS"], ["IQ3_XXS", "Q4_K_M"],
];

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
    // --allow-requantize from every other quantized type (each source preset with --pure: one type throughout)
    ...REQUANT_SOURCES.map(([preset, target], i): OptionCase => ({
      id: `requant-${preset}-${target}${i % 2 ? "-gguf" : ""}`, model: "wide", preset: target, imatrix: i % 2 ? "gguf" : "none",
      flags: ["--allow-requantize"], source: { preset, flags: ["--pure"] },
    })),
    // --allow-requantize from the types llama.cpp makes only with an imatrix (the source made with one;
    // not --pure: token_embd has no imatrix entry and keeps the preset's own higher type)
    ...IMATRIX_REQUANT_SOURCES.map(([preset, target], i): OptionCase => ({
      id: `requant-${preset}-${target}${i % 2 ? "-gguf" : ""}`, model: "wide", preset: target, imatrix: i % 2 ? "gguf" : "none",
      flags: ["--allow-requantize"], source: { preset, flags: [], imatrix: true },
    })),
    // --tensor-type-file: tokens separated by spaces, tabs and newlines (CRLF too), overlapping patterns
    // (the first wins), one that forces a fallback, repeated with --tensor-type (file rules keep their place)
    {
      id: "tensor-type-file-Q4_K_M-gguf", model: "dense", preset: "Q4_K_M", imatrix: "gguf",
      flags: ["--tensor-type", "blk.1.ffn_down=iq4_xs", "--tensor-type-file", "rules.txt", "--tensor-type", "attn_output=q5_0"],
      files: { "rules.txt": "FFN_DOWN=q8_0 blk\\.[0-3]\\.attn_q=Q5_K\r\n\tattn_k=q4_0\n\nffn_down=q2_k  attn_v=tq2_0 token_embd=q6_K\n" },
    },
    { id: "tensor-type-file-moe-Q5_K_S", model: "moe", preset: "Q5_K_S", imatrix: "none", flags: ["--tensor-type-file", "moe.txt"], files: { "moe.txt": "ffn_.*_exps=iq4_nl\nffn_down_shexp=q4_1\nblk\\.[23]\\.=q8_0\n" } },
  ];
}

/** An option case as a live-test case (its model spec written out). */
export function asLiveCase(c: OptionCase): LiveCase {
  return { model: OPTION_MODELS[c.model], preset: c.preset, imatrix: c.imatrix, flags: c.flags, dryRun: false, split: c.split, source: c.source, files: c.files };
}
