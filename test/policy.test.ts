import { describe, expect, it } from "vitest";
import { F } from "../src/ftypes.js";
import { allowsQuantization, compareTensorNames, decideTypes, nDims, type ModelFacts, type TensorDesc } from "../src/policy.js";
import { parseTensorType } from "../src/rules.js";
import { T, typeName } from "../src/types.js";

/** A llama-shaped tensor list in loader order. */
function llama(nLayer: number, opts: { n?: number; tied?: boolean; experts?: number; type?: number } = {}): TensorDesc[] {
  const n = opts.n ?? 256, ty = opts.type ?? T.F16;
  const out: TensorDesc[] = [];
  if (!opts.tied) out.push({ name: "output.weight", ne: [n, 1000], type: ty });
  out.push({ name: "output_norm.weight", ne: [n], type: T.F32 });
  out.push({ name: "token_embd.weight", ne: [n, 1000], type: ty });
  for (let i = 0; i < nLayer; i++) {
    const blk = (s: string, ne: number[], type = ty) => out.push({ name: `blk.${i}.${s}`, ne, type });
    blk("attn_k.weight", [n, n / 4]);
    blk("attn_norm.weight", [n], T.F32);
    blk("attn_output.weight", [n, n]);
    blk("attn_q.weight", [n, n]);
    blk("attn_v.weight", [n, n / 4]);
    if (opts.experts) {
      blk("ffn_down_exps.weight", [2 * n, n, opts.experts]);
      blk("ffn_gate_exps.weight", [n, 2 * n, opts.experts]);
      blk("ffn_gate_inp.weight", [n, opts.experts], T.F32);
      blk("ffn_up_exps.weight", [n, 2 * n, opts.experts]);
    } else {
      blk("ffn_down.weight", [2 * n, n]);
      blk("ffn_gate.weight", [n, 2 * n]);
      blk("ffn_up.weight", [n, 2 * n]);
    }
    blk("ffn_norm.weight", [n], T.F32);
  }
  return out;
}

const dense = (nLayer: number, gqa = 4): ModelFacts => ({ arch: "llama", nLayer, nExpert: 0, nGqa: gqa, is70B: false });

function typesOf(tensors: TensorDesc[], model: ModelFacts, ftype: number, extra = {}) {
  const r = decideTypes(tensors, model, { ftype, ...extra });
  return Object.fromEntries(r.decisions.map((d) => [d.name, typeName(d.target)]));
}

describe("tensor order", () => {
  it("puts non-block tensors first, then blocks by number, names bytewise", () => {
    const names = ["blk.10.a.weight", "token_embd.weight", "blk.2.b.weight", "blk.2.a.weight", "output.weight", "output_norm.weight"];
    expect(names.sort(compareTensorNames)).toEqual([
      "output.weight", "output_norm.weight", "token_embd.weight", "blk.2.a.weight", "blk.2.b.weight", "blk.10.a.weight",
    ]);
  });
});

describe("what is never quantized", () => {
  const q = (name: string, ne = [64, 64]) => allowsQuantization({ name, ne, type: T.F16 }, { ftype: F.Q8_0 });
  it("skips 1-D tensors, trailing-1 shapes, norms, gates and names not ending in weight", () => {
    expect(q("blk.0.attn_q.weight")).toBe(true);
    expect(q("blk.0.attn_q.weight", [64, 1, 1])).toBe(false);
    expect(nDims([64, 1, 1])).toBe(1);
    expect(q("blk.0.attn_norm.weight")).toBe(false);
    expect(q("blk.0.ffn_gate_inp.weight")).toBe(false);
    expect(q("blk.0.attn_q.bias")).toBe(false);
    expect(q("position_embd.weight")).toBe(false);
    expect(q("abcde")).toBe(true); // size_t arithmetic in llama.cpp's ends-with check
    expect(q("abcd")).toBe(false);
  });
  it("honours --leave-output-tensor only for output.weight", () => {
    const o = { ftype: F.Q8_0, quantizeOutputTensor: false };
    expect(allowsQuantization({ name: "output.weight", ne: [64, 64], type: T.F16 }, o)).toBe(false);
    expect(allowsQuantization({ name: "blk.0.output.weight", ne: [64, 64], type: T.F16 }, o)).toBe(true);
  });
});

describe("legacy presets", () => {
  it("Q8_0 puts everything in q8_0, output included", () => {
    const t = typesOf(llama(2), dense(2), F.Q8_0);
    expect(t["output.weight"]).toBe("q8_0");
    expect(t["token_embd.weight"]).toBe("q8_0");
    expect(t["blk.1.ffn_down.weight"]).toBe("q8_0");
    expect(t["blk.1.attn_norm.weight"]).toBe("f32");
  });
  it("Q4_0 sends the output tensor to q6_K, or q8_0 when its rows do not fit 256", () => {
    expect(typesOf(llama(2), dense(2), F.Q4_0)["output.weight"]).toBe("q6_K");
    // 576 fits q4_0's block, so the rule asks for q6_K; the shape fallback then makes it q8_0
    expect(typesOf(llama(2, { n: 576 }), dense(2), F.Q4_0)["output.weight"]).toBe("q8_0");
    expect(typesOf(llama(2, { n: 96 }), dense(2), F.Q4_0)["output.weight"]).toBe("q8_0");
  });
  it("ties token_embd to the output rules when there is no output.weight", () => {
    expect(typesOf(llama(2, { tied: true }), dense(2), F.Q5_1)["token_embd.weight"]).toBe("q6_K");
    expect(typesOf(llama(2), dense(2), F.Q5_1)["token_embd.weight"]).toBe("q5_1");
  });
  it("Q4_0 / Q5_0 with an imatrix bump the first n/8 ffn_down layers", () => {
    const t = typesOf(llama(16), dense(16), F.Q4_0, { hasImatrix: true });
    expect(t["blk.0.ffn_down.weight"]).toBe("q4_1");
    expect(t["blk.1.ffn_down.weight"]).toBe("q4_1");
    expect(t["blk.2.ffn_down.weight"]).toBe("q4_0");
    expect(typesOf(llama(16), dense(16), F.Q5_0, { hasImatrix: true })["blk.1.ffn_down.weight"]).toBe("q5_1");
    expect(typesOf(llama(16), dense(16), F.Q4_0)["blk.0.ffn_down.weight"]).toBe("q4_0");
  });
  it("--pure keeps the default type, except where the shape forces a fallback", () => {
    const t = typesOf(llama(16), dense(16), F.Q4_0, { hasImatrix: true, pure: true });
    expect(t["blk.0.ffn_down.weight"]).toBe("q4_0");
    expect(t["output.weight"]).toBe("q4_0");
  });
  it("falls back to f16 for block-32 types on rows that are not multiples of 32", () => {
    const r = decideTypes([{ name: "blk.0.attn_q.weight", ne: [48, 64], type: T.F32 }], dense(1), { ftype: F.Q8_0 });
    expect(typeName(r.decisions[0].target)).toBe("f16");
    expect(r.nFallback).toBe(1);
    expect(r.decisions[0].log[0]).toBe(
      "warning: blk.0.attn_q.weight                  - ncols     48 not divisible by  32 (required for type    q8_0) (WARNING: must use F16 due to unusual shape) -> falling back to     f16");
  });
  it("float presets ignore --tensor-type rules", () => {
    const rules = [parseTensorType("attn=q8_0")];
    expect(typesOf(llama(1), dense(1), F.F16, { rules })["blk.0.attn_q.weight"]).toBe("f16");
    expect(typesOf(llama(1), dense(1), F.Q4_0, { rules })["blk.0.attn_q.weight"]).toBe("q8_0");
  });
});

describe("K mixtures and their counters", () => {
  it("Q4_K_M on 16 layers puts attn_v and ffn_down in q6_K on layers 0,1,4,7,10,13,14,15", () => {
    const t = typesOf(llama(16), dense(16), F.Q4_K_M);
    const six = [0, 1, 4, 7, 10, 13, 14, 15];
    for (let i = 0; i < 16; i++) {
      const want = six.includes(i) ? "q6_K" : "q4_K";
      expect(t[`blk.${i}.attn_v.weight`], `attn_v ${i}`).toBe(want);
      expect(t[`blk.${i}.ffn_down.weight`], `ffn_down ${i}`).toBe(want);
    }
    expect(t["output.weight"]).toBe("q6_K");
    expect(t["token_embd.weight"]).toBe("q4_K");
  });
  it("an 8-expert model gets q8_0 attn_k/attn_v and q5_K attn_output under Q4_K_M", () => {
    const t = typesOf(llama(4, { experts: 8 }), { ...dense(4), nExpert: 8 }, F.Q4_K_M);
    expect(t["blk.0.attn_k.weight"]).toBe("q8_0");
    expect(t["blk.0.attn_v.weight"]).toBe("q8_0");
    expect(t["blk.0.attn_output.weight"]).toBe("q5_K");
  });
  it("a manual rule does not advance the attn_v counter", () => {
    const rules = [parseTensorType("blk\\.0\\.attn_v=q8_0")];
    const t = typesOf(llama(16), dense(16), F.Q4_K_M, { rules });
    expect(t["blk.0.attn_v.weight"]).toBe("q8_0");
    // the counter now lags one layer behind: layer 1 is counted as 0, layer 2 as 1 (both more bits), layer 5 as 4
    expect(t["blk.2.attn_v.weight"]).toBe("q6_K");
    expect(t["blk.5.attn_v.weight"]).toBe("q6_K");
    expect(t["blk.4.attn_v.weight"]).toBe("q4_K");
  });
});
