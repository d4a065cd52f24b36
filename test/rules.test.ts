import { describe, expect, it } from "vitest";
import { QuantizeError } from "../src/errors.js";
import { F } from "../src/ftypes.js";
import { decideTypes, type ModelFacts, type TensorDesc } from "../src/policy.js";
import { asciiLower, compileRegex, parseCustomQ, parseRecipe, parseTensorType, parseTensorTypeFile, parseTypeName } from "../src/rules.js";
import { T, typeName } from "../src/types.js";

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(QuantizeError);
    expect((e as QuantizeError).code).toBe("USAGE");
    expect((e as Error).message).not.toContain("\n");
    return (e as Error).message;
  }
  throw new Error("expected a usage error");
};

describe("type names", () => {
  it("accepts ggml names in any case", () => {
    expect(parseTypeName("Q4_K", "x")).toBe(T.Q4_K);
    expect(parseTypeName("iq4_XS", "x")).toBe(T.IQ4_XS);
    expect(parseTypeName("BF16", "x")).toBe(T.BF16);
  });
  it("says when a type exists only in ik_llama.cpp, with the nearest mainline type", () => {
    expect(usage(() => parseTypeName("iq4_k", "--custom-q"))).toMatch(/exists only in ik_llama\.cpp; the nearest llama\.cpp type is iq4_xs/);
    expect(usage(() => parseTypeName("q6_0", "r"))).toMatch(/ik_llama\.cpp.*q8_0/);
    expect(usage(() => parseTypeName("q4_K_r4", "r"))).toMatch(/row-interleaved.*q4_K/);
    expect(usage(() => parseTypeName("iq4_ks_r4", "r"))).toMatch(/row-interleaved.*iq4_xs/);
    expect(usage(() => parseTypeName("q9_9", "r"))).toMatch(/invalid ggml_type 'q9_9'/);
  });
});

describe("regular expressions as std::regex sees them", () => {
  it("refuses what std::regex does not have", () => {
    expect(usage(() => compileRegex("(?<=blk\\.)0", "r"))).toMatch(/lookbehind is not supported by std::regex/);
    expect(usage(() => compileRegex("(?<n>attn)", "r"))).toMatch(/named group/);
    expect(usage(() => compileRegex("\\p{L}", "r"))).toMatch(/Unicode property/);
    expect(usage(() => compileRegex("blk\\.(\\d+.ffn", "r"))).toMatch(/invalid regex/);
  });
  it("translates POSIX bracket classes, which std::regex has and JS does not", () => {
    const re = compileRegex("blk\\.[[:digit:]]+\\.ffn", "r");
    expect(re.test("blk.12.ffn_up.weight")).toBe(true);
    expect(re.test("blk.x.ffn_up.weight")).toBe(false);
  });
  it("lowercases --tensor-type patterns byte by byte, escapes included (as llama-quantize does)", () => {
    expect(asciiLower("Blk\\.\\D")).toBe("blk\\.\\d");
    const r = parseTensorType("ATTN_V=Q8_0");
    expect(r.text).toBe("attn_v");
    expect(r.type).toBe(T.Q8_0);
  });
  it("keeps --custom-q patterns as given", () => {
    const [r] = parseCustomQ("ATTN_V=q8_0");
    expect(r.text).toBe("ATTN_V");
    expect(r.regex.test("blk.0.attn_v.weight")).toBe(false);
  });
});

describe("rule syntax", () => {
  it("--tensor-type needs NAME=TYPE", () => {
    expect(usage(() => parseTensorType("attn_v"))).toMatch(/malformed/);
    expect(usage(() => parseTensorType("=q8_0"))).toMatch(/missing tensor name/);
    expect(usage(() => parseTensorType("attn_v="))).toMatch(/missing quantization type/);
  });
  it("--tensor-type-file takes whitespace-separated tokens across lines", () => {
    const rules = parseTensorTypeFile("attn_v=q8_0  ffn_down=q6_K\n\tattn_q=q4_0\n", "types.txt");
    expect(rules.map((r) => [r.text, typeName(r.type), r.source])).toEqual([
      ["attn_v", "q8_0", "types.txt:1"], ["ffn_down", "q6_K", "types.txt:1"], ["attn_q", "q4_0", "types.txt:2"],
    ]);
  });
  it("--custom-q splits on commas and at the first '='", () => {
    const rules = parseCustomQ("blk\\.[0-2]\\..*=q8_0,ffn_down_exps=q4_K,a=b=q5_0".replace("a=b=q5_0", "x=q5_0"));
    expect(rules.map((r) => [r.text, typeName(r.type)])).toEqual([["blk\\.[0-2]\\..*", "q8_0"], ["ffn_down_exps", "q4_K"], ["x", "q5_0"]]);
  });
  it("recipes: comments, blank lines, comma lists, settings", () => {
    const r = parseRecipe([
      "# DeepSeek-style recipe",
      "@preset Q4_K_M",
      "@output-tensor-type q8_0",
      "",
      "token_embd\\.weight=q8_0   # trailing comment",
      "blk\\.[0-2]\\.attn_k_b.*=q8_0,blk\\.[0-2]\\.attn_v_b.*=q8_0",
      "  ",
      "blk\\..*\\.ffn_down_exps\\.weight=iq4_xs",
    ].join("\n"), "r.txt");
    expect(r.options).toEqual({ preset: "Q4_K_M", outputTensorType: T.Q8_0 });
    expect(r.rules.map((x) => [x.text, typeName(x.type), x.source])).toEqual([
      ["token_embd\\.weight", "q8_0", "r.txt:5"],
      ["blk\\.[0-2]\\.attn_k_b.*", "q8_0", "r.txt:6"],
      ["blk\\.[0-2]\\.attn_v_b.*", "q8_0", "r.txt:6"],
      ["blk\\..*\\.ffn_down_exps\\.weight", "iq4_xs", "r.txt:8"],
    ]);
    expect(usage(() => parseRecipe("@frobnicate 1", "r.txt"))).toMatch(/r\.txt:1: unknown recipe setting/);
    expect(usage(() => parseRecipe("attn_v", "r.txt"))).toMatch(/r\.txt:1: expected REGEX=TYPE/);
    expect(usage(() => parseRecipe("attn_v=iq5_k", "r.txt"))).toMatch(/r\.txt:1: .*ik_llama\.cpp/);
  });
});

/** A small dense llama in loader order. */
function model(nLayer: number): TensorDesc[] {
  const out: TensorDesc[] = [{ name: "output.weight", ne: [256, 512], type: T.F16 }, { name: "token_embd.weight", ne: [256, 512], type: T.F16 }];
  for (let i = 0; i < nLayer; i++) {
    for (const n of ["attn_k", "attn_output", "attn_q", "attn_v", "ffn_down", "ffn_gate", "ffn_up"]) {
      out.push({ name: `blk.${i}.${n}.weight`, ne: [256, 256], type: T.F16 });
    }
  }
  return out;
}
const facts: ModelFacts = { arch: "llama", nLayer: 8, nExpert: 0, nGqa: 1, is70B: false };
const types = (ftype: number, rules: ReturnType<typeof parseCustomQ>, extra = {}) =>
  Object.fromEntries(decideTypes(model(8), facts, { ftype, rules, ...extra }).decisions.map((d) => [d.name, typeName(d.target)]));

describe("rule precedence", () => {
  it("--tensor-type: first match wins", () => {
    const t = types(F.Q4_0, [parseTensorType("attn=q8_0"), parseTensorType("attn_v=q6_K")]);
    expect(t["blk.0.attn_v.weight"]).toBe("q8_0");
  });
  it("--custom-q: first match wins, comma lists across several flags keep their order", () => {
    const rules = [...parseCustomQ("blk\\.0\\.=q8_0,attn=q5_0"), ...parseCustomQ("attn_v=q6_K")];
    const t = types(F.Q4_0, rules);
    expect(t["blk.0.attn_v.weight"]).toBe("q8_0");
    expect(t["blk.1.attn_v.weight"]).toBe("q5_0");
    expect(t["blk.1.ffn_up.weight"]).toBe("q4_0");
  });
  it("--custom-q wins over --tensor-type and over the preset's mixture; the shape fallback still applies", () => {
    const rules = [parseTensorType("attn_v=q8_0"), ...parseCustomQ("blk\\.1\\.attn_v=q5_1,ffn_down=q6_K")];
    const t = types(F.Q4_K_M, rules);
    expect(t["blk.0.attn_v.weight"]).toBe("q8_0");
    expect(t["blk.1.attn_v.weight"]).toBe("q5_1");
    expect(t["blk.0.ffn_down.weight"]).toBe("q6_K");
    const narrow = decideTypes([{ name: "blk.0.ffn_down.weight", ne: [576, 64], type: T.F16 }], facts, { ftype: F.Q4_0, rules: parseCustomQ("ffn_down=q6_K") });
    expect(typeName(narrow.decisions[0].target)).toBe("q8_0");
    expect(narrow.decisions[0].fallback).toEqual({ from: T.Q6_K, to: T.Q8_0 });
  });
  it("--custom-q is not applied with --pure or to float presets (as ik_llama.cpp)", () => {
    expect(types(F.Q4_0, parseCustomQ("attn_v=q8_0"), { pure: true })["blk.0.attn_v.weight"]).toBe("q4_0");
    expect(types(F.F16, parseCustomQ("attn_v=q8_0"))["blk.0.attn_v.weight"]).toBe("f16");
  });
  it("--tensor-type and --custom-q agree where their semantics do (no mixture in play)", () => {
    const a = types(F.Q8_0, [parseTensorType("ffn_(up|gate)=q4_1"), parseTensorType("attn=q5_0")]);
    const b = types(F.Q8_0, parseCustomQ("ffn_(up|gate)=q4_1,attn=q5_0"));
    expect(b).toEqual(a);
  });
  it("--token-embedding-type and --output-tensor-type win over every rule", () => {
    const t = types(F.Q4_0, parseCustomQ("weight=q8_0"), { outputTensorType: T.F16, tokenEmbeddingType: T.Q5_0 });
    expect(t["output.weight"]).toBe("f16");
    expect(t["token_embd.weight"]).toBe("q5_0");
    expect(t["blk.0.attn_q.weight"]).toBe("q8_0");
  });
});
