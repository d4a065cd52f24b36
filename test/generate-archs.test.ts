// The generator's deepseek2 (MLA) and phi3 (fused QKV) models and its gguf-split shards: names,
// shapes and metadata as llama.cpp's converters and gguf-split write them (their acceptance by
// llama.cpp's loader is checked live in test/live-options.test.ts and the random draws).

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { getU16, getI32, getU32, readGgufHeader } from "../src/gguf/read.js";
import { generateImatrix, generateModel, modelBytes, modelShards, resolveSpec, shardName, tensorShapes, type ModelSpec } from "./support/generate.js";
import { memorySource } from "./support/bytes.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const DS: ModelSpec = { arch: "deepseek2", nLayer: 3, nLayerDense: 1, nEmbd: 64, nFf: 96, nHead: 2, nVocab: 32, nExpert: 4, nFfExp: 32 };

describe("deepseek2", () => {
  it("has MLA attention, leading dense blocks, then routed and shared experts with a selection bias", () => {
    const ne = Object.fromEntries(tensorShapes(DS).map((t) => [t.name, t.ne]));
    // defaults: q rank 64, kv rank 64, nope 32, rope 16, v 32, one shared expert
    expect(ne["blk.0.attn_q_a.weight"]).toEqual([64, 64]);
    expect(ne["blk.0.attn_q_a_norm.weight"]).toEqual([64]);
    expect(ne["blk.0.attn_q_b.weight"]).toEqual([64, 2 * (32 + 16)]);
    expect(ne["blk.0.attn_kv_a_mqa.weight"]).toEqual([64, 64 + 16]);
    expect(ne["blk.0.attn_kv_a_norm.weight"]).toEqual([64]);
    expect(ne["blk.0.attn_k_b.weight"]).toEqual([32, 64, 2]);
    expect(ne["blk.0.attn_v_b.weight"]).toEqual([64, 32, 2]);
    expect(ne["blk.0.attn_output.weight"]).toEqual([2 * 32, 64]);
    expect(ne["blk.0.ffn_down.weight"]).toEqual([96, 64]);
    expect(ne["blk.0.ffn_gate_exps.weight"]).toBeUndefined();
    expect(ne["blk.1.ffn_gate.weight"]).toBeUndefined();
    expect(ne["blk.1.ffn_gate_inp.weight"]).toEqual([64, 4]);
    expect(ne["blk.1.exp_probs_b.bias"]).toEqual([4]);
    expect(ne["blk.2.ffn_down_exps.weight"]).toEqual([32, 64, 4]);
    expect(ne["blk.2.ffn_up_shexp.weight"]).toEqual([64, 32]);
    expect(ne["blk.2.attn_kv_b.weight"]).toBeUndefined();
    const legacy = Object.fromEntries(tensorShapes({ ...DS, mla: "kv_b", nExpertShared: 2 }).map((t) => [t.name, t.ne]));
    expect(legacy["blk.0.attn_kv_b.weight"]).toEqual([64, 2 * (32 + 32)]);
    expect(legacy["blk.0.attn_k_b.weight"]).toBeUndefined();
    expect(legacy["blk.1.ffn_down_shexp.weight"]).toEqual([64, 64]);
  });

  it("writes the hparams the deepseek2 loader reads (MQA-style heads for split MLA, MHA for kv_b)", async () => {
    for (const [spec, kvHeads, keyLen, valLen] of [[DS, 1, 64 + 16, 64], [{ ...DS, mla: "kv_b" as const }, 2, 32 + 16, 32]] as const) {
      const h = await readGgufHeader(memorySource(modelBytes(generateModel(spec))));
      const u = (k: string) => getU32(h, `deepseek2.${k}`);
      expect([u("attention.head_count_kv"), u("attention.key_length"), u("attention.value_length")]).toEqual([kvHeads, keyLen, valLen]);
      expect([u("leading_dense_block_count"), u("attention.q_lora_rank"), u("attention.kv_lora_rank"), u("expert_count"), u("expert_shared_count"), u("expert_feed_forward_length"), u("rope.dimension_count")])
        .toEqual([1, 64, 64, 4, 1, 32, 16]);
      expect(u("attention.key_length_mla")).toBe(spec.mla === "kv_b" ? undefined : 48);
    }
  });

  it("has one imatrix entry per matrix, per head for attn_k_b/attn_v_b (every token), per expert for the routed ones", () => {
    const m = generateModel(DS);
    const im = generateImatrix(m, { zeroExperts: 1 });
    const kb = im.stats.find((s) => s.name === "blk.0.attn_k_b.weight")!;
    expect(kb.values.length).toBe(32 * 2);
    expect(kb.counts).toEqual([5120, 5120]);
    const exps = im.stats.find((s) => s.name === "blk.1.ffn_up_exps.weight")!;
    expect(exps.counts.filter((c) => c === 0)).toHaveLength(1);
    expect(im.stats.some((s) => s.name.includes("exp_probs_b"))).toBe(false);
  });

  it("checks its parameters", () => {
    expect(() => resolveSpec({ ...DS, nLayerDense: 4 })).toThrow(/nLayerDense/);
    expect(() => resolveSpec({ ...DS, nFfShexp: 7 })).toThrow(/shared experts/);
  });
});

describe("phi3", () => {
  it("has a fused attn_qkv and an ffn_up holding gate and up", () => {
    const ne = Object.fromEntries(tensorShapes({ arch: "phi3", nLayer: 1, nEmbd: 64, nFf: 96, nHead: 4, nHeadKv: 2 }).map((t) => [t.name, t.ne]));
    expect(ne["blk.0.attn_qkv.weight"]).toEqual([64, 64 + 2 * 32]);
    expect(ne["blk.0.ffn_up.weight"]).toEqual([64, 2 * 96]);
    expect(ne["blk.0.ffn_down.weight"]).toEqual([96, 64]);
    expect(ne["blk.0.ffn_gate.weight"]).toBeUndefined();
    expect(ne["blk.0.attn_q.weight"]).toBeUndefined();
  });
});

describe("digests of the new shapes (the same bytes in every run and JS engine)", () => {
  it.each([
    // made by this generator; if a change is intended, update them (no committed fixture depends on these shapes)
    [DS, "0793d750d3e2694333d033c3c076fdcc3e9d99180edc4f0b86432fc23830bbcd"],
    [{ ...DS, mla: "kv_b", dtype: "bf16" } as ModelSpec, "36247d423619febb1a3dd7b273b6bd346992befac091c32b00cdc337e4f01e60"],
    [{ arch: "phi3", nLayer: 1, nEmbd: 64, nFf: 96, nHead: 4, nHeadKv: 2, dtype: "f16" } as ModelSpec, "3da6c880c6813833990b640e1cf524e4b81eed69307adf20f3e62b98c33efca7"],
  ])("%j", (spec, digest) => {
    const a = modelBytes(generateModel(spec));
    expect(sha(modelBytes(generateModel(spec)))).toBe(sha(a));
    expect(sha(a)).toBe(digest);
  });
});

describe("modelShards", () => {
  it("writes gguf-split's layout: all metadata in the first shard, split keys (u16, u16, i32) in every shard", async () => {
    const m = generateModel({ nLayer: 2, nEmbd: 32, nFf: 32, nHead: 2, nVocab: 32 });
    const shards = modelShards(m, [0, 12, 9]);
    expect(shards).toHaveLength(3);
    const hs = await Promise.all(shards.map((b) => readGgufHeader(memorySource(b))));
    expect(hs.map((h) => h.tensors.length)).toEqual([0, 12, 9]);
    expect(hs[0].kvs.slice(0, -3)).toEqual(m.kvs);
    for (const [i, h] of hs.entries()) {
      expect([getU16(h, "split.no"), getU16(h, "split.count"), getI32(h, "split.tensors.count")]).toEqual([i, 3, 21]);
      if (i > 0) expect(h.kvs.map((k) => k.key)).toEqual(["split.no", "split.count", "split.tensors.count"]);
    }
    expect(hs.flatMap((h) => h.tensors.map((t) => t.name))).toEqual(m.tensors.map((t) => t.name));
    expect(() => modelShards(m, [10, 10])).toThrow(/do not add up/);
    expect(shardName("dir/model", 1, 3)).toBe("dir/model-00002-of-00003.gguf");
  });
});
