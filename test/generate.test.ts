import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateModel, modelBytes, writeModel, generateImatrix, writeImatrix, resolveSpec, type ModelSpec, type GeneratedTensor } from "./support/generate.js";
import { f32ToF16, f32ToBf16, f16ToF32, bf16ToF32 } from "./support/halves.js";
import { readGgufHeader, getU32, getString } from "../src/gguf/read.js";
import { loadImatrix, writeGgufImatrix } from "../src/imatrix.js";
import { T } from "../src/types.js";
import { memorySource } from "./support/bytes.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const SMALL: ModelSpec = { nLayer: 1, nEmbd: 64, nHead: 2, nFf: 128, nVocab: 64 };

function floats(t: GeneratedTensor): Float32Array {
  if (t.type === T.F32) return new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
  const h = new Uint16Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
  return Float32Array.from(h, t.type === T.F16 ? f16ToF32 : bf16ToF32);
}

describe("generateModel", () => {
  it("is deterministic, and these digests pin its output across runs and JS engines", () => {
    // made by this generator; if a change is intended, update them together with test/fixtures (make-fixtures.ts)
    const digests: [ModelSpec, string][] = [
      [{ ...SMALL }, "055beef0f0685706428b03a69fa1975db1398c3deec3753e3047d7d5721f5ac3"],
      [{ ...SMALL, arch: "qwen3moe", nExpert: 4, nFfExp: 32, headDim: 32, dtype: "bf16" }, "634792c246e9d02726ed7f40ed315e4d4c6ec53e55cfe95d6b589dee654c2b99"],
      [{ ...SMALL, arch: "qwen2", dtype: "f16", tied: true, tokenizer: "hostile" }, "55123512ab9aa78512fbb30989c181aa171cff4a95dab378c46b132248d2729a"],
    ];
    for (const [spec, digest] of digests) {
      const a = modelBytes(generateModel(spec));
      expect(modelBytes(generateModel(spec))).toEqual(a);
      expect(sha(a)).toBe(digest);
    }
    expect(sha(modelBytes(generateModel({ ...SMALL, seed: 2 })))).not.toBe(sha(modelBytes(generateModel(SMALL))));
  });

  it("uses llama.cpp's tensor names and shapes for each architecture", () => {
    const names = (s: ModelSpec) => generateModel({ ...SMALL, ...s }).tensors.map((t) => t.name);
    const dense = names({ arch: "llama" });
    expect(dense).toEqual([
      "token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight",
      "blk.0.attn_output.weight", "blk.0.ffn_norm.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight",
      "output_norm.weight", "output.weight",
    ]);
    expect(names({ arch: "qwen2" })).toContain("blk.0.attn_q.bias");
    expect(names({ arch: "qwen3moe", nExpert: 4, nFfExp: 32, headDim: 32 })).toEqual(expect.arrayContaining([
      "blk.0.attn_q_norm.weight", "blk.0.attn_k_norm.weight", "blk.0.ffn_gate_inp.weight", "blk.0.ffn_gate_exps.weight", "blk.0.ffn_up_exps.weight", "blk.0.ffn_down_exps.weight",
    ]));
    expect(names({ arch: "qwen2moe", nExpert: 4, nFfExp: 32 })).toEqual(expect.arrayContaining([
      "blk.0.ffn_gate_inp_shexp.weight", "blk.0.ffn_gate_shexp.weight", "blk.0.ffn_up_shexp.weight", "blk.0.ffn_down_shexp.weight",
    ]));
    expect(names({ tied: true })).not.toContain("output.weight");
  });

  it("shapes follow GQA, experts and head sizes", () => {
    const m = generateModel({ nLayer: 1, nEmbd: 576, nHead: 9, nHeadKv: 3, nFf: 96, nVocab: 32, nExpert: 8, nFfExp: 64, dtype: "f16" });
    const ne = (n: string) => m.tensors.find((t) => t.name === n)!.ne;
    expect(ne("blk.0.attn_q.weight")).toEqual([576, 576]);
    expect(ne("blk.0.attn_k.weight")).toEqual([576, 192]);
    expect(ne("blk.0.attn_output.weight")).toEqual([576, 576]);
    expect(ne("blk.0.ffn_gate_exps.weight")).toEqual([576, 64, 8]);
    expect(ne("blk.0.ffn_down_exps.weight")).toEqual([64, 576, 8]);
    expect(ne("blk.0.ffn_gate_inp.weight")).toEqual([576, 8]);
    expect(m.tensors.find((t) => t.name === "blk.0.ffn_gate_inp.weight")!.type).toBe(T.F32);
    expect(m.tensors.find((t) => t.name === "blk.0.attn_norm.weight")!.type).toBe(T.F32);
    expect(m.tensors.find((t) => t.name === "blk.0.attn_q.weight")!.type).toBe(T.F16);
  });

  it("writes metadata the model loader needs, and a file our reader accepts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gen-"));
    try {
      const path = join(dir, "m.gguf");
      const tensors = await writeModel(path, { ...SMALL, arch: "qwen3moe", nExpert: 4, nFfExp: 32, headDim: 32, dtype: "bf16" });
      const h = await readGgufHeader(memorySource(new Uint8Array(readFileSync(path))));
      expect(h.tensors.map(({ name, ne, type }) => ({ name, ne, type }))).toEqual(tensors);
      expect(getString(h, "general.architecture")).toBe("qwen3moe");
      for (const k of ["block_count", "context_length", "embedding_length", "feed_forward_length", "attention.head_count", "attention.head_count_kv", "expert_count", "expert_used_count", "expert_feed_forward_length"]) {
        expect(getU32(h, `qwen3moe.${k}`), k).toBeGreaterThan(0);
      }
      expect(getU32(h, "general.file_type")).toBe(32);
    } finally { rmSync(dir, { recursive: true }); }
  });

  it("weights look trained: heavy tails, outlier input channels, spread of scales, all finite", () => {
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      const m = generateModel({ nLayer: 1, nEmbd: 256, nHead: 4, nFf: 512, nVocab: 32, dtype });
      const t = m.tensors.find((x) => x.name === "blk.0.ffn_up.weight")!;
      const w = floats(t);
      const cols = t.ne[0], rows = t.ne[1];
      expect(w.every(Number.isFinite)).toBe(true);
      let m2 = 0, m4 = 0;
      for (const x of w) { m2 += x * x; m4 += x ** 4; }
      m2 /= w.length; m4 /= w.length;
      expect(m4 / (m2 * m2)).toBeGreaterThan(4); // kurtosis: a normal has 3
      const colRms = Array.from({ length: cols }, (_, c) => { let s = 0; for (let r = 0; r < rows; r++) s += w[r * cols + c] ** 2; return Math.sqrt(s / rows); });
      const sorted = [...colRms].sort((a, b) => a - b);
      const median = sorted[cols >> 1];
      expect(sorted[cols - 1] / median).toBeGreaterThan(4); // outlier channels
      expect(sorted[Math.floor(cols * 0.9)] / sorted[Math.floor(cols * 0.1)]).toBeGreaterThan(2.5); // per-channel spread
    }
  });

  it("rejects inconsistent specs", () => {
    expect(() => resolveSpec({ nEmbd: 100, nHead: 3 })).toThrow(/headDim/);
    expect(() => resolveSpec({ nHead: 4, nHeadKv: 3 })).toThrow(/multiple/);
    expect(() => resolveSpec({ arch: "qwen3moe", nExpert: 0 })).toThrow(/experts/);
    expect(() => resolveSpec({ nExpert: 4, nExpertUsed: 5 })).toThrow(/nExpertUsed/);
  });
});

describe("generateImatrix", () => {
  it("has one entry per block matmul weight, shared inputs share values, experts get their own counts", async () => {
    const m = generateModel({ ...SMALL, arch: "qwen2moe", nExpert: 4, nFfExp: 32, nFfShexp: 64 });
    const im = generateImatrix(m, { zeroExperts: 1, chunkSize: 16, chunks: 4 });
    const names = im.stats.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["blk.0.attn_q.weight", "blk.0.ffn_gate_inp.weight", "blk.0.ffn_down_exps.weight", "blk.0.ffn_up_shexp.weight"]));
    expect(names.some((n) => n.includes("norm") || n.endsWith(".bias") || n === "token_embd.weight" || n === "output.weight")).toBe(false);
    const get = (n: string) => im.stats.find((s) => s.name === n)!;
    expect(get("blk.0.attn_q.weight").counts).toEqual([64]);
    const exps = get("blk.0.ffn_up_exps.weight");
    expect(exps.counts.length).toBe(4);
    expect(exps.counts.filter((c) => c === 0).length).toBe(1);
    expect(exps.values.length).toBe(64 * 4);
    expect(exps.counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(64 * 2);
    // the same input: q and k see the same activations, so the same importance up to noise
    const q = get("blk.0.attn_q.weight").values, k = get("blk.0.attn_k.weight").values;
    let corr = 0, nq = 0, nk = 0;
    for (let i = 0; i < q.length; i++) { corr += q[i] * k[i]; nq += q[i] * q[i]; nk += k[i] * k[i]; }
    expect(corr / Math.sqrt(nq * nk)).toBeGreaterThan(0.95);
    expect(im.stats.every((s) => s.values.every((v) => Number.isFinite(v) && v >= 0))).toBe(true);

    const loaded = await loadImatrix(memorySource(writeGgufImatrix(im.stats, im.meta)));
    const zeroExpert = exps.counts.indexOf(0);
    expect([...loaded.entries.get("blk.0.ffn_up_exps.weight")!.subarray(zeroExpert * 64, zeroExpert * 64 + 64)].every((v) => v === 1)).toBe(true);
  });

  it("processOutput adds output.weight; writeImatrix writes both formats", async () => {
    const m = generateModel(SMALL);
    expect(generateImatrix(m, { processOutput: true }).stats.map((s) => s.name)).toContain("output.weight");
    const dir = mkdtempSync(join(tmpdir(), "gen-"));
    try {
      for (const fmt of ["gguf", "dat"] as const) {
        const path = join(dir, `im.${fmt}`);
        await writeImatrix(path, m, fmt);
        const loaded = await loadImatrix(memorySource(new Uint8Array(readFileSync(path)), path));
        expect(loaded.isLegacy).toBe(fmt === "dat");
        expect(loaded.entries.size).toBe(7);
      }
    } finally { rmSync(dir, { recursive: true }); }
  });
});

describe("half-precision helpers", () => {
  it("round to nearest even and keep subnormals", () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(2 ** -24)).toBe(1);
    expect(f32ToF16(2 ** -25)).toBe(0);
    expect(f32ToF16(Math.fround(2 ** -25 * 1.0001))).toBe(1);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie to even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f16ToF32(0x3555)).toBe(Math.fround(0.333251953125));
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(Math.fround(1 + 2 ** -8))).toBe(0x3f80); // tie to even
    expect(f32ToBf16(Math.fround(1 + 3 * 2 ** -8))).toBe(0x3f82);
    expect(f32ToBf16(NaN) & 0x7fc0).toBe(0x7fc0);
    expect(bf16ToF32(0xbf80)).toBe(-1);
  });
});
