// The whole-file conformance cases: generated models × presets × imatrix kinds × options.
// scripts/make-model-goldens.ts runs each through llama.cpp (refquant) and records the sha256 of
// its output; test/e2e.test.ts runs each through our quantizer and compares.

import type { ModelSpec } from "./generate.js";

export const MODELS: Record<string, ModelSpec> = {
  // dense llama, f16, 8 layers (so the n/8 rules hit layer 0)
  dense: { nLayer: 8, nEmbd: 256, nFf: 512, nHead: 4, nVocab: 1024, dtype: "f16", seed: 1 },
  // GQA, bf16, rows of 576 (a multiple of 32 but not of 256)
  bf16: { nLayer: 3, nEmbd: 576, nFf: 1536, nHead: 9, nHeadKv: 3, nVocab: 1024, dtype: "bf16", seed: 2 },
  // llama MoE with 8 experts (3-D expert tensors, per-expert importance)
  moe: { nLayer: 2, nEmbd: 256, nFf: 256, nExpert: 8, nVocab: 1024, dtype: "f16", seed: 3 },
  // f32 source
  f32: { nLayer: 2, nEmbd: 256, nFf: 512, nHead: 4, nHeadKv: 2, nVocab: 1024, dtype: "f32", seed: 4 },
  // tied embeddings (no output.weight), GQA
  tied: { nLayer: 2, nEmbd: 256, nFf: 512, nHead: 8, nHeadKv: 2, nVocab: 1024, tied: true, dtype: "f16", seed: 5 },
  // qwen2 MoE with 4 experts and a shared expert
  moe4sh: { arch: "qwen2moe", nLayer: 2, nEmbd: 256, nFf: 256, nExpert: 4, nFfShexp: 512, nHead: 4, nVocab: 512, dtype: "bf16", seed: 6 },
  // llama MoE with 16 experts, GQA
  moe16: { nLayer: 2, nEmbd: 256, nFf: 256, nExpert: 16, nHead: 8, nHeadKv: 2, nVocab: 512, dtype: "f16", seed: 7 },
  // 70B-shaped: 80 layers with GQA (llama.cpp's LLM_TYPE_70B rules), kept narrow
  llama70b: { nLayer: 80, nEmbd: 256, nFf: 256, nHead: 8, nHeadKv: 1, nVocab: 256, dtype: "f16", seed: 8 },
  // phi3: fused attn_qkv (the attn_v rules apply to it) and fused gate+up, GQA
  phi3: { arch: "phi3", nLayer: 4, nEmbd: 256, nFf: 512, nHead: 4, headDim: 64, nHeadKv: 2, nVocab: 512, dtype: "f16", seed: 9 },
};

export const PRESETS = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"];
export const K_PRESETS = ["Q2_K", "Q2_K_S", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"];
export const IQ_PRESETS = ["IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M"];
export const IMATRIX_KINDS = ["none", "dat", "gguf"] as const;

export interface ModelCase {
  id: string;
  model: keyof typeof MODELS;
  preset: string;
  imatrix: (typeof IMATRIX_KINDS)[number];
  /** llama-quantize options (our CLI's spelling) */
  flags: string[];
}

/** Every preset × {dense, bf16-576, moe, f32} × {no imatrix, .dat, GGUF}, plus option cases. */
export function modelCases(): ModelCase[] {
  const out: ModelCase[] = [];
  for (const model of ["dense", "bf16", "moe", "f32"] as const)
    for (const preset of PRESETS)
      for (const imatrix of IMATRIX_KINDS)
        out.push({ id: `${model}-${preset}-${imatrix}`, model, preset, imatrix, flags: [] });
  const extra: Omit<ModelCase, "id">[] = [
    { model: "dense", preset: "Q4_0", imatrix: "gguf", flags: ["--pure"] },
    { model: "dense", preset: "Q8_0", imatrix: "none", flags: ["--leave-output-tensor"] },
    { model: "dense", preset: "Q5_1", imatrix: "dat", flags: ["--leave-output-tensor", "--pure"] },
    { model: "tied", preset: "Q4_0", imatrix: "none", flags: [] },
    { model: "tied", preset: "Q5_0", imatrix: "gguf", flags: [] },
    { model: "tied", preset: "Q8_0", imatrix: "none", flags: ["--pure"] },
    { model: "dense", preset: "Q4_1", imatrix: "gguf", flags: ["--include-weights", "ffn_down"] },
    { model: "moe", preset: "Q5_0", imatrix: "dat", flags: ["--exclude-weights", "exps"] },
    { model: "dense", preset: "Q4_0", imatrix: "none", flags: ["--tensor-type", "attn_v=q8_0", "--tensor-type", "ffn_down=q6_k"] },
    { model: "bf16", preset: "Q5_0", imatrix: "gguf", flags: ["--tensor-type", "ffn=q6_K"] },
    { model: "dense", preset: "Q8_0", imatrix: "none", flags: ["--output-tensor-type", "f16", "--token-embedding-type", "q4_0"] },
    { model: "dense", preset: "F16", imatrix: "gguf", flags: ["--tensor-type", "attn=q8_0"] },
  ];
  // the K presets: every one × dense/bf16-576/MoE-8 × every imatrix kind, f32 without, and the other
  // model kinds (tied, qwen2 MoE + shared expert, 16 experts, phi3's fused QKV) likewise (Q2_K_S
  // without an imatrix is refused, by llama.cpp too)
  for (const model of ["dense", "bf16", "moe"] as const)
    for (const preset of K_PRESETS)
      for (const imatrix of IMATRIX_KINDS) extra.push({ model, preset, imatrix, flags: [] });
  for (const preset of K_PRESETS) extra.push({ model: "f32", preset, imatrix: "none", flags: [] });
  for (const model of ["tied", "moe4sh", "moe16", "phi3"] as const)
    for (const preset of K_PRESETS)
      for (const imatrix of IMATRIX_KINDS) extra.push({ model, preset, imatrix, flags: [] });
  for (const preset of ["Q3_K_M", "Q4_K_M", "Q2_K"]) extra.push({ model: "llama70b", preset, imatrix: "none", flags: [] });
  for (const preset of ["Q3_K", "Q4_K", "Q5_K"]) extra.push({ model: "dense", preset, imatrix: "gguf", flags: [] });
  extra.push({ model: "dense", preset: "Q4_K_M", imatrix: "gguf", flags: ["--pure"] });
  // the presets of the remaining kernels that need no grids (IQ4, ternary, FP4, Q1_0/Q2_0)
  for (const model of ["dense", "bf16", "moe"] as const)
    for (const preset of ["IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4_MOE", "Q1_0", "Q2_0"])
      for (const imatrix of ["none", "gguf"] as const) extra.push({ model, preset, imatrix, flags: [] });
  // the grid I-quant presets: every one × dense/bf16-576/MoE-8 with a GGUF imatrix and without (most
  // are refused without one, by llama.cpp too), the legacy .dat on the dense model, and the model
  // kinds whose rules differ (phi3's fused QKV, 16 experts, tied, a shared expert)
  for (const model of ["dense", "bf16", "moe"] as const)
    for (const preset of IQ_PRESETS)
      for (const imatrix of ["none", "gguf"] as const) extra.push({ model, preset, imatrix, flags: [] });
  for (const preset of IQ_PRESETS) extra.push({ model: "dense", preset, imatrix: "dat", flags: [] });
  for (const [model, preset] of [["phi3", "IQ2_M"], ["phi3", "IQ3_XS"], ["moe16", "IQ1_M"], ["moe16", "IQ3_M"], ["tied", "IQ2_XXS"], ["moe4sh", "IQ2_S"], ["moe4sh", "IQ3_XXS"]] as const)
    extra.push({ model, preset, imatrix: "gguf", flags: [] });
  extra.push({ model: "bf16", preset: "Q3_K_M", imatrix: "none", flags: ["--tensor-type", "ffn_down=q6_k", "--tensor-type", "attn=q4_k"] });
  for (const c of extra) out.push({ ...c, id: `${c.model}-${c.preset}-${c.imatrix}${c.flags.map((f) => f.replace(/^--/, "+")).join("")}` });
  return out;
}
