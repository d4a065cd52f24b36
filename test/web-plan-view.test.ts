// The page's plan drawing (web/plan-view.ts), without a browser: which cell each tensor lands in,
// the table's rows, and colours that keep the common types apart.

import { describe, expect, it } from "vitest";
import { bpwChart, bpwColour, layerKind, planTable, totalsLine } from "../web/plan-view.js";
import { memorySource, openModel, planJson, planModel } from "../src/index.js";
import { generateModel, modelBytes } from "./support/generate.js";

describe("the page's plan view", () => {
  it("puts block tensors in their layer and kind, the others outside blocks", () => {
    expect(layerKind("blk.12.ffn_down_exps.weight")).toEqual({ layer: 12, kind: "ffn_down_exps" });
    expect(layerKind("blk.0.attn_q.bias")).toEqual({ layer: 0, kind: "attn_q.bias" });
    expect(layerKind("token_embd.weight")).toEqual({ layer: null, kind: "token_embd" });
    expect(layerKind("output.weight")).toEqual({ layer: null, kind: "output" });
  });

  it("draws one cell per matrix and one row per tensor, escaping names", async () => {
    const m = generateModel({ nLayer: 3, nEmbd: 256, nFf: 512, nVocab: 256, dtype: "f16" });
    const model = await openModel(memorySource(modelBytes(m), "m.gguf"));
    const { plan, preset } = await planModel(model, { preset: "Q4_K_M", tensorTypes: ["attn_v=q8_0"] });
    const json = planJson(plan, preset.name);
    const svg = bpwChart(json);
    const matrices = json.tensors.filter((t) => t.shape.length >= 2).length;
    expect(svg.match(/<g><title>/g)!.length).toBe(matrices);
    expect(svg).toContain("blk.2.attn_v.weight: q8_0, 8.50 bpw");
    const table = planTable(json);
    expect(table.match(/<tr class=/g)!.length).toBe(json.tensors.length);
    expect(table).toContain("tensor-type attn_v=q8_0");
    expect(totalsLine(json)).toContain(`${json.tensors.length} tensors`);
    expect(planTable({ ...json, tensors: [{ ...json.tensors[0], name: "<b>&" }] })).toContain("&#60;b&#62;&#38;");
  });

  it("gives q4_K, q6_K and q8_0 different colours, and clamps the ends", () => {
    const hues = [4.5, 6.5625, 8.5].map((b) => bpwColour(b));
    expect(new Set(hues).size).toBe(3);
    expect(bpwColour(0.5)).toBe(bpwColour(1));
    expect(bpwColour(32)).toBe(bpwColour(64));
  });
});
