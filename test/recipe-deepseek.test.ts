// The DeepSeek-V3 recipe of the seeds (ik_llama.cpp --custom-q semantics, with mainline types)
// applied with `--dry-run --json --recipe FILE` to generated deepseek2 models: the plan must be what
// the rules say, tensor by tensor. The expectation is computed here from the recipe text alone (first
// matching regex, searched anywhere in the name; the shape fallback written out below), not from
// src/policy.ts. iq4_xs and iq3_s have no kernels yet: the dry run still plans them.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { generateModel, modelBytes, writeImatrix, type ModelSpec } from "./support/generate.js";

const RECIPE = String.raw`# Token embedding and output tensors (GPU)
token_embd\.weight=q8_0
output\.weight=q8_0
# First 3 dense layers (0-2) (GPU)
blk\.[0-2]\.attn_k_b.*=q8_0
blk\.[0-2]\.attn_v_b.*=q8_0
blk\.[0-2]\.attn_kv_a_mqa.*=q8_0
blk\.[0-2]\.attn_kv_b.*=q8_0
blk\.[0-2]\.attn_q_a.*=q8_0
blk\.[0-2]\.attn_q_b.*=q8_0
blk\.[0-2]\.attn_output.*=q8_0
blk\.[0-2]\.ffn_down.*=q6_K
blk\.[0-2]\.(ffn_gate|ffn_up).*=q5_K
# Shared experts and attention of the MoE layers (GPU)
blk\.[3-9]\.attn_.*=q8_0
blk\.[1-9][0-9]\.attn_.*=q8_0
blk\..*\.ffn_down_shexp\.weight=q6_K
blk\..*\.ffn_(gate|up)_shexp\.weight=q5_K
# Routed experts (CPU)
blk\..*\.ffn_down_exps\.weight=iq4_xs
blk\..*\.ffn_(gate|up)_exps\.weight=iq3_s
`;

interface PlanJson {
  preset: string;
  tensors: { name: string; shape: number[]; sourceType: string; type: string; decidedBy: { kind: string; rule?: string; source?: string; fallback?: { from: string; to: string } } }[];
  totals: { needsImatrix: boolean; fallbacks: number };
}

/** The recipe's rules as (regex, type, line number), in file order. */
function recipeRules(text: string): { re: RegExp; type: string; line: number }[] {
  return text.split("\n").flatMap((l, i) => {
    const m = /^([^#\s][^=]*)=(\S+)$/.exec(l.trim());
    return m ? [{ re: new RegExp(m[1]), type: m[2], line: i + 1 }] : [];
  });
}

/** Block sizes and llama.cpp's shape fallback for the types the recipe names (REFERENCE §4.6). */
const BLOCK: Record<string, number> = { q8_0: 32, q6_K: 256, q5_K: 256, iq4_xs: 256, iq3_s: 256, iq3_xxs: 256, iq4_nl: 32, q5_1: 32, f16: 1 };
const FALLBACK: Record<string, string> = { q8_0: "f16", q6_K: "q8_0", q5_K: "q5_1", iq4_xs: "iq4_nl", iq3_s: "iq4_nl", iq3_xxs: "iq4_nl" };
function fitted(type: string, ne0: number): string {
  if (ne0 % BLOCK[type] === 0) return type;
  const fb = FALLBACK[type];
  return ne0 % BLOCK[fb] === 0 ? fb : "f16";
}

/** Not quantized by llama.cpp: 1-D tensors (norms, exp_probs_b.bias), *_norm.weight, the router. */
const kept = (name: string, shape: number[]) => shape.length < 2 || name.includes("_norm.weight") || name.includes("ffn_gate_inp.weight");

let dir = "";
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "recipe-ds-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function dryRun(spec: ModelSpec, recipe: string, preset = "Q4_K_M"): Promise<{ plan: PlanJson; err: string }> {
  const model = join(dir, "model.gguf"), file = join(dir, "recipe.txt");
  writeFileSync(model, modelBytes(generateModel(spec)));
  writeFileSync(file, recipe);
  let out = "", err = "";
  const code = await runCli(["--dry-run", "--json", "--recipe", file, model, join(dir, "out.gguf"), preset], { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  expect(code, err).toBe(0);
  return { plan: JSON.parse(out) as PlanJson, err };
}

// DeepSeek-V3's layout, scaled down: 3 leading dense blocks, then MoE blocks up to blk.11 (so that
// both blk\.[3-9]\. and blk\.[1-9][0-9]\. match). Rows of 256 where the recipe's 256-block types go;
// the second model has 160-wide experts, so that the routed and shared down projections fall back.
const V3: ModelSpec = {
  arch: "deepseek2", nLayer: 12, nLayerDense: 3, nEmbd: 256, nFf: 256, nHead: 2, nVocab: 32, nExpert: 2, nExpertUsed: 1,
  nFfExp: 256, qLoraRank: 64, kvLoraRank: 64, qkNopeDim: 32, qkRopeDim: 16, vHeadDim: 32, dtype: "bf16", seed: 41,
};
const MODELS: [string, ModelSpec][] = [
  ["attn_k_b/attn_v_b, rows that fit", V3],
  ["legacy attn_kv_b, 160-wide experts (fallbacks)", { ...V3, mla: "kv_b", nFfExp: 160, nFf: 160 }],
];

describe("the DeepSeek-V3 recipe (--recipe, --dry-run --json) on a generated deepseek2 model", () => {
  it.each(MODELS)("%s: every tensor gets the first matching rule's type, then the shape fallback", async (_name, spec) => {
    const { plan, err } = await dryRun(spec, RECIPE);
    const rules = recipeRules(RECIPE);
    expect(rules).toHaveLength(17);
    expect(plan.tensors.length).toBeGreaterThan(12 * 10);
    for (const t of plan.tensors) {
      if (kept(t.name, t.shape)) {
        expect(t.type, t.name).toBe(t.sourceType);
        expect(t.decidedBy.kind, t.name).toBe("kept");
        continue;
      }
      const rule = rules.find((r) => r.re.test(t.name));
      expect(rule, `${t.name}: the recipe covers every quantized tensor`).toBeDefined();
      expect(t.decidedBy.kind, t.name).toBe("custom-q");
      expect(t.decidedBy.source, t.name).toBe(`${join(dir, "recipe.txt")}:${rule!.line}`);
      expect(t.type, t.name).toBe(fitted(rule!.type, t.shape[0]));
      if (t.type !== rule!.type) expect(t.decidedBy.fallback, t.name).toEqual({ from: rule!.type, to: t.type });
    }
    expect(plan.totals.fallbacks > 0).toBe(spec.nFfExp === 160);
    // neither iq4_xs nor iq3_s needs an importance matrix in llama.cpp (only iq1/iq2 types and iq3_xxs do)
    expect(plan.totals.needsImatrix).toBe(false);
    expect(err).not.toMatch(/will require an imatrix/);
    // the rules for the other MLA layout match nothing, and say so
    const unused = spec.mla === "kv_b" ? ["attn_k_b", "attn_v_b"] : ["attn_kv_b"];
    for (const u of unused) expect(err).toMatch(new RegExp(`warning: rule blk\\\\\\.\\[0-2\\]\\\\\\.${u}\\.\\*=q8_0 \\(.*recipe\\.txt:\\d+\\) matched no tensor`));
  });

  it("types per tensor kind and layer, as the recipe's comments describe them", async () => {
    const { plan } = await dryRun(V3, RECIPE);
    const type = (name: string) => plan.tensors.find((t) => t.name === name)?.type;
    const expected: Record<string, string> = {
      "token_embd.weight": "q8_0", "output.weight": "q8_0", "output_norm.weight": "f32",
      // dense layers 0-2: attention q8_0 (attn_k_b: 32 wide, still fits q8_0), ffn_down q6_K, gate/up q5_K
      "blk.0.attn_q_a.weight": "q8_0", "blk.0.attn_q_b.weight": "q8_0", "blk.0.attn_kv_a_mqa.weight": "q8_0", "blk.0.attn_k_b.weight": "q8_0",
      "blk.0.attn_v_b.weight": "q8_0", "blk.2.attn_output.weight": "q8_0", "blk.1.ffn_down.weight": "q6_K", "blk.2.ffn_gate.weight": "q5_K", "blk.0.ffn_up.weight": "q5_K",
      "blk.0.attn_norm.weight": "f32", "blk.0.attn_q_a_norm.weight": "f32", "blk.0.attn_kv_a_norm.weight": "f32",
      // MoE layers: attention q8_0 (blk.3-9 and blk.10-11), shared experts q6_K/q5_K, routed iq4_xs/iq3_s; router and bias kept
      "blk.3.attn_q_b.weight": "q8_0", "blk.9.attn_output.weight": "q8_0", "blk.10.attn_kv_a_mqa.weight": "q8_0", "blk.11.attn_v_b.weight": "q8_0",
      "blk.3.ffn_down_shexp.weight": "q6_K", "blk.11.ffn_gate_shexp.weight": "q5_K", "blk.7.ffn_up_shexp.weight": "q5_K",
      "blk.3.ffn_down_exps.weight": "iq4_xs", "blk.10.ffn_gate_exps.weight": "iq3_s", "blk.11.ffn_up_exps.weight": "iq3_s",
      "blk.4.ffn_gate_inp.weight": "f32", "blk.4.exp_probs_b.bias": "f32",
    };
    for (const [name, t] of Object.entries(expected)) expect(type(name), name).toBe(t);
    // and without the recipe, Q4_K_M's own rules give other types (the recipe is what decides)
    let out = "";
    expect(await runCli(["--dry-run", "--json", join(dir, "model.gguf"), join(dir, "out.gguf"), "Q4_K_M"], { stdout: (s) => { out += s; }, stderr: () => {} })).toBe(0);
    const own = JSON.parse(out) as PlanJson;
    expect(own.tensors.find((t) => t.name === "blk.3.ffn_down_exps.weight")!.type).not.toBe("iq4_xs");
    expect(own.tensors.find((t) => t.name === "token_embd.weight")!.type).not.toBe("q8_0");
  });

  it("plans an imatrix requirement when a rule asks for a type that needs one (iq3_xxs), and none with an imatrix", async () => {
    const recipe = RECIPE.replace("ffn_(gate|up)_exps\\.weight=iq3_s", "ffn_(gate|up)_exps\\.weight=iq3_xxs");
    const { plan, err } = await dryRun(V3, recipe);
    expect(plan.tensors.find((t) => t.name === "blk.5.ffn_up_exps.weight")!.type).toBe("iq3_xxs");
    expect(plan.totals.needsImatrix).toBe(true);
    expect(err).toMatch(/WARNING: dry run completed successfully, but actually completing this quantization will require an imatrix!/);
    // a real run refuses before writing anything (the kernels aside, for want of the imatrix)
    let realErr = "";
    const real = await runCli(["--recipe", join(dir, "recipe.txt"), join(dir, "model.gguf"), join(dir, "out.gguf"), "Q4_K_M"], { stdout: () => {}, stderr: (s) => { realErr += s; } });
    expect(real).toBe(4);
    expect(realErr).toMatch(/requires an importance matrix: tensor blk\.3\.ffn_gate_exps\.weight would be iq3_xxs/);
    // with an imatrix, nothing is missing
    await writeImatrix(join(dir, "imatrix.gguf"), generateModel(V3), "gguf");
    let out = "";
    expect(await runCli(["--dry-run", "--json", "--imatrix", join(dir, "imatrix.gguf"), "--recipe", join(dir, "recipe.txt"), join(dir, "model.gguf"), join(dir, "out.gguf"), "Q4_K_M"], { stdout: (s) => { out += s; }, stderr: () => {} })).toBe(0);
    expect((JSON.parse(out) as PlanJson).totals.needsImatrix).toBe(false);
  });
});
