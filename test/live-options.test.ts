// Live differential tests of the options added since test/live-models.test.ts was written, against
// llama.cpp's own llama_model_quantize (test/support/llama.ts), on fixed cases:
//   --prune-layers (first, last, all but one, all, beyond the model; with imatrix, looked up by the
//     original names), --override-kv of every value type and of keys the loader reads (the policy
//     changes, wrong types are ignored, out-of-range values make llama.cpp abort: run in a child
//     process, and we must refuse), split inputs (2 and 3 shards, --no-tensor-first-split) with and
//     without --keep-split, --allow-requantize from every type we can dequantize to every preset we
//     can run, worker threads 1/2/4, and the deepseek2 (MLA) and phi3 (fused QKV) shapes under every
//     preset (a real run where we have the kernels, a dry run otherwise).
// Then regressions for what these found, which run without llama.cpp.
// test/options-golden.test.ts checks the fixed cases again without the library (committed digests).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { readGgufHeader } from "../src/gguf/read.js";
import { openSource } from "../src/io/node.js";
import { VALUE_TYPE_NAMES, kv as kvOf, type GgufKv } from "../src/gguf/values.js";
import { ggufBytes } from "../src/gguf/write.js";
import { overrideKv, parseKvOverride } from "../src/overrides.js";
import { generateModel, modelBytes, modelShards, shardName, tensorShapes, type GeneratedModel, type ModelSpec } from "./support/generate.js";
import { llama, quantizeIsolated } from "./support/llama.js";
import {
  DEQUANT_TYPES, FTYPES, RUNNABLE_PRESETS, compareCase, describeCase, executable, prepare,
  type CompareOptions, type Edits, type LiveCase, type Outcome,
} from "./support/live.js";

let root = "";
const scratch = () => process.env.LIVE_TMP ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
beforeAll(() => { root = mkdtempSync(join(scratch(), "live-opt-")); });
afterAll(() => { if (root) rmSync(root, { recursive: true, force: true }); });

let n = 0;
const one = (model: ModelSpec, preset: string, extra: Partial<LiveCase> = {}): LiveCase => ({ model, preset, imatrix: "none", flags: [], dryRun: false, ...extra });

/**
 * Runs cases that share one input (model, shards, source, imatrix: those of the first) and expects
 * no mismatch; a real run whose plan needs a type without kernel is compared as a dry run.
 * Returns each outcome with the case as run.
 */
async function agree(cases: LiveCase[], opts: CompareOptions & { edits?: Edits } = {}): Promise<(Outcome & { c: LiveCase })[]> {
  const dir = join(root, `c${n++}`);
  mkdirSync(dir, { recursive: true });
  try {
    const p = await prepare(cases[0], dir, opts.edits, llama);
    const out: (Outcome & { c: LiveCase })[] = [];
    for (let c of cases) {
      if (!c.dryRun && !(await executable(c, p.files))) c = { ...c, dryRun: true };
      const o = await compareCase(llama!, c, p, opts);
      expect(o.mismatch, `${o.mismatch}\n${describeCase(c)}`).toBeUndefined();
      out.push({ ...o, c });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const succeeded = (os: (Outcome & { c: LiveCase })[]) => os.forEach((o) => expect(o.refused, `${JSON.stringify(o.refused)}\n${describeCase(o.c)}`).toBeUndefined());
const realRuns = (os: (Outcome & { c: LiveCase })[]) => os.filter((o) => !o.c.dryRun && !o.refused).length;

/** Moves output_norm and output.weight to the front of the file (as some converters write them), so
 *  that the last shard can hold nothing but the last block. */
const outputFirst: Edits = { model: (m: GeneratedModel) => { m.tensors.sort((a, b) => Number(!a.name.startsWith("output")) - Number(!b.name.startsWith("output"))); } };
const count = (spec: ModelSpec) => tensorShapes(spec).length;

/** Split files that bend gguf-split's layout, and what llama.cpp's loader says of each (undefined: accepted). */
function splitVariants(): { name: string; shards: Uint8Array[]; error?: RegExp }[] {
  const m = generateModel(TINY);
  const [a, b] = [m.tensors.slice(0, 10), m.tensors.slice(10)];
  const n = m.tensors.length;
  const first = (...keys: GgufKv[]) => ggufBytes([...m.kvs, ...keys], a);
  const second = (...keys: GgufKv[]) => ggufBytes(keys, b);
  const [no0, no1, count2, total] = [kvOf.u16("split.no", 0), kvOf.u16("split.no", 1), kvOf.u16("split.count", 2), kvOf.i32("split.tensors.count", n)];
  return [
    { name: "later shards with split.no alone", shards: [first(no0, count2, total), second(no1)] },
    { name: "later shards with all the metadata", shards: [first(no0, count2, total), second(...m.kvs, no1, count2, total)] },
    { name: "split keys first in shard 0", shards: [ggufBytes([no0, count2, total, ...m.kvs], a), second(no1, count2, total)] },
    { name: "a later shard without split.no", shards: [first(no0, count2, total), second(count2, total)], error: /missing key split\.no in GGUF split/ },
    { name: "shard 0 without split.no", shards: [first(count2, total), second(no1)], error: /key not found in model: split\.no/ },
    { name: "shard 0 without split.tensors.count", shards: [first(no0, count2), second(no1)], error: /key not found in model: split\.tensors\.count/ },
    { name: "a wrong tensor count", shards: [first(no0, count2, kvOf.i32("split.tensors.count", n - 1)), second(no1)], error: /corrupted model: 20 tensors expected but 21 found/ },
    { name: "split.count as u32", shards: [first(no0, kvOf.u32("split.count", 2), total), second(no1)], error: /split\.count/ },
    { name: "split.tensors.count as u32", shards: [first(no0, count2, kvOf.u32("split.tensors.count", n)), second(no1)], error: /split\.tensors\.count/ },
    { name: "shards out of order", shards: [first(no0, count2, total), second(kvOf.u16("split.no", 0))], error: /invalid split file idx: 0/ },
  ];
}

// Small on purpose (k-quants with an imatrix take ~4 M weights/s on either side): rows of 256 so
// that k-quants fit where ne0 = n_embd, narrow heads and FFNs (whose k-quants fall back, as wide
// rows of 64 must). DENSE has 8 layers so that the n/8 rules reach layer 0, and GQA.
const DENSE: ModelSpec = { nLayer: 8, nEmbd: 256, nFf: 64, nHead: 2, headDim: 32, nHeadKv: 1, nVocab: 32, dtype: "f16", seed: 11 };
const MOE: ModelSpec = { arch: "qwen2moe", nLayer: 4, nEmbd: 256, nFf: 64, nHead: 2, headDim: 32, nVocab: 32, nExpert: 4, nFfExp: 32, nFfShexp: 64, dtype: "bf16", seed: 12 };
const SMALL: ModelSpec = { nLayer: 1, nEmbd: 256, nFf: 64, nHead: 2, headDim: 32, nVocab: 32, dtype: "f16", seed: 13 };
const TINY: ModelSpec = { nLayer: 2, nEmbd: 64, nFf: 64, nHead: 2, nVocab: 32, dtype: "f16", seed: 16 };

describe.runIf(llama)("live: --prune-layers", () => {
  const sets = ["0", "7", "0,1,2,4,5,6,7", "5,1,3,1", "0,1,2,3,4,5,6,7", "2,9"];
  it.each(sets)("dense, prune %s (Q4_K_M + GGUF imatrix, Q5_0 + imatrix, Q8_0; real and dry runs)", async (layers) => {
    const flags = ["--prune-layers", layers];
    const os = await agree([
      one(DENSE, "Q4_K_M", { imatrix: "gguf", flags }), one(DENSE, "Q5_0", { imatrix: "gguf", flags: [...flags, "--pure"] }),
      one(DENSE, "Q3_K_M", { imatrix: "gguf", flags, dryRun: true }),
    ]);
    succeeded(os);
    expect(realRuns(os)).toBe(2);
  });
  it.each(["0", "1,2"])("MoE, prune %s (per-layer rules read the renumbered names; .dat imatrix)", async (layers) => {
    const os = await agree([
      one(MOE, "Q4_K_M", { imatrix: "dat", flags: ["--prune-layers", layers] }),
      one(MOE, "Q5_1", { imatrix: "dat", flags: ["--prune-layers", layers, "--tensor-type", "blk\\.0\\.ffn_down=q8_0"] }),
      one(MOE, "IQ3_XS", { imatrix: "dat", flags: ["--prune-layers", layers], dryRun: true }),
    ]);
    succeeded(os);
  });
});

describe.runIf(llama)("live: --override-kv", () => {
  it("writes every value type as llama.cpp does (int as u32 of |value|, float as f32; a repeated key keeps its last value)", async () => {
    const kv = [
      "test.int=int:-7", "test.big=int:8589934591", "test.wrap=int:-4294967297", "test.max=int:99999999999999999999", "test.min=int:-99999999999999999999", "test.junk=int:12abc",
      "test.float=float:0.1", "test.inf=float:1e40", "test.hex=float:0x1p-3", "test.tiny=float:1e-46", "test.nan=float:nan",
      "test.bool=bool:false", "test.str=str:é中🙂", "test.long=str:" + "x".repeat(127), "test.empty=str:",
      "general.name=str:renamed", "general.file_type=int:2", "general.alignment=int:32", "test.int=int:5",
    ].flatMap((a) => ["--override-kv", a]);
    const os = await agree([one(SMALL, "Q8_0", { flags: kv }), one(SMALL, "Q4_K_M", { imatrix: "gguf", flags: kv })]);
    succeeded(os);
    expect(realRuns(os)).toBe(2);
  });

  it("changes the type policy through the values the loader reads", async () => {
    const moe8: ModelSpec = { nLayer: 2, nEmbd: 256, nFf: 32, nHead: 2, headDim: 32, nVocab: 32, nExpert: 4, nFfExp: 32, dtype: "f16", seed: 14 };
    const cases = [
      // 8 experts: attn_v and attn_k to q8_0, attn_output q5_K
      ...["Q4_K_M", "Q5_K_S"].map((p) => one(moe8, p, { flags: ["--override-kv", "llama.expert_count=int:8"] })),
      // 80 layers with GQA is LLM_TYPE_70B: attn_v q4_K -> q5_K; and use_more_bits over 16 layers
      one({ ...DENSE, nLayer: 2 }, "Q4_K_S", { flags: ["--override-kv", "llama.block_count=int:80"] }),
      one(DENSE, "Q4_K_M", { flags: ["--override-kv", "llama.block_count=int:16"] }),
      one(DENSE, "Q5_K_M", { imatrix: "gguf", flags: ["--override-kv", "llama.attention.head_count_kv=int:1"] }),
    ];
    succeeded(await agree(cases.slice(0, 2)));
    for (const c of cases.slice(2)) succeeded(await agree([c, ...["Q2_K", "Q3_K_M", "IQ3_XS", "IQ4_NL", "IQ2_M"].map((p) => ({ ...c, preset: p, dryRun: true }))]));
  });

  it("ignores an override of the wrong type for a key the loader reads (and still writes it)", async () => {
    const moe: ModelSpec = { nLayer: 2, nEmbd: 256, nFf: 32, nHead: 2, headDim: 32, nVocab: 32, nExpert: 8, nFfExp: 32, dtype: "f16", seed: 15 };
    const kvs = ["llama.block_count=str:1", "llama.block_count=float:1", "llama.expert_count=float:4", "general.architecture=int:3", "llama.attention.head_count_kv=bool:true"];
    succeeded(await agree(kvs.flatMap((kv) => [one(moe, "Q4_K_M", { flags: ["--override-kv", kv] }), one(moe, "Q2_K", { flags: ["--override-kv", kv], dryRun: true })])));
  });

  it("refuses what llama.cpp's loader refuses: a missing key, a bad rope dimension, layers outside a MoE's block count", async () => {
    for (const [kv, err] of [
      ["general.architecture=str:qwen2", /key not found in model: qwen2\.context_length/],
      ["llama.attention.head_count=int:8", /invalid n_rot: 32, expected 8/],
      ["llama.block_count=int:1", /Bad layer 1 for tensor blk\.1\.ffn_down_exps\.weight/],
    ] as const) {
      const os = await agree([one({ ...TINY, nExpert: 4 }, "Q8_0", { flags: ["--override-kv", kv] })]);
      expect(os[0].refused?.llama).toMatch(err);
    }
  });

  it("refuses where llama.cpp aborts (GGML_ASSERT in load_hparams; llama.cpp in a child process)", async () => {
    // (each child costs ~1 s; the regressions below try more values on our side)
    const moe: ModelSpec = { ...TINY, nExpert: 4, nExpertUsed: 2 };
    for (const [model, kv] of [[TINY, "llama.block_count=int:513"], [moe, "llama.expert_count=int:1"], [TINY, "llama.expert_count=int:8"]] as const) {
      const os = await agree([one(model, "Q8_0", { flags: ["--override-kv", kv] })], { isolate: quantizeIsolated });
      expect(os[0].refused?.llama, kv).toMatch(/aborted \(SIGABRT\).*GGML_ASSERT/);
    }
    // and just inside the limits, both quantize
    succeeded(await agree([one(moe, "Q8_0", { flags: ["--override-kv", "llama.block_count=int:512", "--override-kv", "llama.expert_count=int:1024"] })], { isolate: quantizeIsolated }));
  });
});

describe.runIf(llama)("live: split inputs and --keep-split", () => {
  // tensors in file order: token_embd, 9 per block, output_norm, output (DENSE: 8 blocks = 75)
  it.each([
    ["2 shards", [30, 45]], ["3 shards", [25, 25, 25]], ["3 shards, no tensor in the first (gguf-split --no-tensor-first-split)", [0, 40, 35]],
  ] as const)("dense, %s: one output, and one per shard with --keep-split", async (_name, split) => {
    const s = { split: [...split] };
    const os = await agree([
      one(DENSE, "Q4_K_M", { ...s, imatrix: "gguf" }), one(DENSE, "Q4_K_M", { ...s, imatrix: "gguf", flags: ["--keep-split"] }),
      one(DENSE, "Q8_0", { ...s, imatrix: "gguf", flags: ["--keep-split", "--prune-layers", "0,7"] }),
      one(DENSE, "IQ2_M", { ...s, imatrix: "gguf", flags: ["--keep-split"], dryRun: true }),
    ]);
    succeeded(os);
    expect(realRuns(os)).toBe(3);
  });
  it("MoE in 3 shards, --keep-split with requantization, and a pruned layer that empties the last shard", async () => {
    // output_norm, output, token_embd, 4 blocks of 17: the last shard is block 3 alone
    const split = [3 + 17, 34, 17];
    expect(count(MOE)).toBe(71);
    const os = await agree([
      one(MOE, "Q5_K_M", { split, imatrix: "dat", flags: ["--keep-split"] }),
      one(MOE, "Q4_0", { split, imatrix: "dat", flags: ["--keep-split", "--prune-layers", "3"] }),
      one(MOE, "Q4_K_S", { split, imatrix: "dat", flags: ["--keep-split", "--prune-layers", "0"] }),
    ], { edits: outputFirst });
    succeeded(os);
    succeeded(await agree([one(MOE, "Q6_K", { split: [20, 39], source: { preset: "Q8_0", flags: [] }, flags: ["--keep-split", "--allow-requantize"] })]));
  });
  it("--keep-split on a single file writes <out>-00001-of-00001.gguf", async () => {
    const os = await agree([one(SMALL, "Q5_1", { flags: ["--keep-split"] })]);
    succeeded(os);
  });
  it("refuses a pruned layer that empties a middle shard (llama.cpp crashes: no output context for it)", async () => {
    // token_embd + 3 x 9 + 2 = 30 tensors; the middle shard holds exactly block 1
    expect(count({ ...TINY, nLayer: 3 })).toBe(30);
    const os = await agree([one({ ...TINY, nLayer: 3 }, "Q8_0", { split: [10, 9, 11], flags: ["--keep-split", "--prune-layers", "1"] })], { isolate: quantizeIsolated });
    expect(os[0].refused?.llama).toMatch(/aborted \(SIGSEGV\)/);
    expect(os[0].refused?.ours).toMatch(/--keep-split: output shard 2 of 3 would have no tensors after --prune-layers/);
  });
  it("accepts and refuses the same split layouts as llama.cpp's loader", async () => {
    const dir = join(root, `c${n++}`);
    mkdirSync(dir, { recursive: true });
    for (const v of splitVariants()) {
      v.shards.forEach((b, i) => writeBytes(join(dir, shardName("model", i, 2)), b));
      const log: string[] = [];
      const status = llama!.quantize(join(dir, shardName("model", 0, 2)), join(dir, "theirs.gguf"), { ftype: 7 }, log);
      const ours = await cli([join(dir, shardName("model", 0, 2)), join(dir, "ours.gguf"), "Q8_0", "1"]);
      if (v.error) {
        expect(status, v.name).not.toBe(0);
        expect(log.find((l) => l.includes("failed to quantize")), v.name).toMatch(v.error);
        expect(ours.code, `${v.name}: we must refuse too`).toBe(2);
        expect(ours.err, v.name).toMatch(v.error);
      } else {
        expect(status, `${v.name}: ${log.slice(-2).join(" | ")}`).toBe(0);
        expect(ours.code, `${v.name}: ${ours.err}`).toBe(0);
        expect(readFileSync(join(dir, "ours.gguf")).equals(readFileSync(join(dir, "theirs.gguf"))), v.name).toBe(true);
      }
      for (const f of ["ours.gguf", "theirs.gguf"]) rmSync(join(dir, f), { force: true });
    }
  });

  it("refuses a split model given by another shard than the first, and a missing shard", async () => {
    const dir = join(root, `c${n++}`);
    mkdirSync(dir, { recursive: true });
    const shards = modelShards(generateModel(TINY), [10, 11]);
    shards.forEach((b, i) => writeBytes(join(dir, shardName("model", i, 2)), b));
    const cases: [string, RegExp][] = [[shardName("model", 1, 2), /illegal split file idx: 1/]];
    for (const [input, err] of cases) {
      const log: string[] = [];
      expect(llama!.quantize(join(dir, input), join(dir, "theirs.gguf"), { ftype: 7 }, log)).not.toBe(0);
      expect(log.join("\n")).toMatch(err);
      const ours = await cli([join(dir, input), join(dir, "ours.gguf"), "Q8_0"]);
      expect(ours.code).not.toBe(0);
      expect(ours.err).toMatch(/illegal split file idx: 1/);
    }
    rmSync(join(dir, shardName("model", 1, 2)));
    const log: string[] = [];
    expect(llama!.quantize(join(dir, shardName("model", 0, 2)), join(dir, "theirs.gguf"), { ftype: 7 }, log)).not.toBe(0);
    expect(log.join("\n")).toMatch(/failed to quantize/);
    expect((await cli([join(dir, shardName("model", 0, 2)), join(dir, "ours.gguf"), "Q8_0"])).code).not.toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith("ours"))).toEqual([]);
  });
});

describe.runIf(llama)("live: --allow-requantize (llama.cpp dequantizes with to_float, then quantizes)", () => {
  const SOURCE_PRESET: Record<string, string> = { q4_0: "Q4_0", q4_1: "Q4_1", q5_0: "Q5_0", q5_1: "Q5_1", q8_0: "Q8_0", q6_K: "Q6_K" };
  // (the K, IQ4, ternary and FP4 sources are dequantized exactly too — test/kernels/dequant.test.ts —
  // but have no whole-file requantization case here yet)
  it("requantizes only from types we can dequantize", () => expect([...DEQUANT_TYPES]).toEqual(expect.arrayContaining(Object.keys(SOURCE_PRESET))));
  it.each(Object.keys(SOURCE_PRESET))("from %s to every preset we can run", async (type) => {
    const source = { preset: SOURCE_PRESET[type], flags: ["--pure"] };
    // with an imatrix throughout: Q2_K_S, now runnable, refuses without one (llama.cpp too)
    const imatrix = "gguf";
    // Q1_0 has no fallback for SMALL's rows (both refuse: the random draws cover that agreement)
    const presets = RUNNABLE_PRESETS.filter((p) => p !== "Q1_0");
    const os = await agree(presets.map((p) => one(SMALL, p, { source, imatrix, flags: ["--allow-requantize"] })));
    succeeded(os);
    expect(realRuns(os)).toBe(presets.length);
  });
  it("refuses without --allow-requantize, unless the type does not change", async () => {
    const os = await agree([one(SMALL, "Q4_0", { source: { preset: "Q8_0", flags: [] } }), one(SMALL, "Q8_0", { source: { preset: "Q8_0", flags: [] } })]);
    expect(os[0].refused?.llama).toMatch(/requantizing from type q8_0 is disabled/);
    expect(os[1].refused).toBeUndefined();
  });
});

describe.runIf(llama)("live: worker threads", () => {
  it("2 and 4 threads write the same bytes as llama.cpp (3 shards kept, imatrix, requantized source, k-quants)", async () => {
    const c = one(MOE, "Q4_K_M", { split: [17, 28, 14], imatrix: "gguf", source: { preset: "Q8_0", flags: [] }, flags: ["--keep-split", "--allow-requantize"] });
    succeeded(await agree([2, 4].map((threads) => ({ ...c, threads }))));
  });
});

describe.runIf(llama)("live: deepseek2 (MLA) and phi3 (fused QKV), every preset", () => {
  const models: [string, ModelSpec][] = [
    ["deepseek2, attn_k_b/attn_v_b", { arch: "deepseek2", nLayer: 3, nLayerDense: 1, nEmbd: 256, nFf: 64, nHead: 2, nVocab: 32, nExpert: 4, nFfExp: 32, qLoraRank: 64, kvLoraRank: 256, qkNopeDim: 32, vHeadDim: 32, dtype: "bf16", seed: 21 }],
    ["deepseek2, legacy attn_kv_b, 8 experts", { arch: "deepseek2", mla: "kv_b", nLayer: 3, nLayerDense: 1, nEmbd: 256, nFf: 32, nHead: 2, nVocab: 32, nExpert: 8, nFfExp: 32, nExpertShared: 2, dtype: "f16", seed: 22 }],
    ["phi3", { arch: "phi3", nLayer: 3, nEmbd: 256, nFf: 64, nHead: 2, headDim: 32, nHeadKv: 1, nVocab: 32, dtype: "f16", seed: 23 }],
  ];
  const REAL = ["Q4_K_M", "Q6_K", "Q5_0"]; // the random draws run the others on these shapes
  it.each(models)("%s: real runs of some, dry runs of every preset", async (_name, model) => {
    const os = await agree([
      ...REAL.map((p) => one(model, p, { imatrix: "gguf" })),
      ...Object.keys(FTYPES).map((p) => one(model, p, { imatrix: "gguf", dryRun: true })),
    ]);
    succeeded(os.filter((o) => !o.c.dryRun));
    expect(realRuns(os)).toBe(REAL.length);
  });
});

// ---- regressions for what these tests found (no llama.cpp needed) ----

const writeBytes = (path: string, b: Uint8Array) => writeFileSync(path, b);

async function cli(args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = "", out = "";
  const code = await runCli(args, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, err, out };
}

describe("the model loader's checks and overrides (found by the live option tests)", () => {
  let dir = "";
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "live-opt-regress-")); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const model = (spec: ModelSpec, name = "m.gguf") => { const p = join(dir, name); writeBytes(p, modelBytes(generateModel(spec))); return p; };
  const plan = async (input: string, ...flags: string[]) => {
    const r = await cli(["--dry-run", "--json", ...flags, input, join(dir, "out.gguf"), "Q4_K_M"]);
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out) as { tensors: { name: string; type: string }[] };
  };

  it("--override-kv int: atol saturates at LONG_MAX/LONG_MIN, then |value| is written as u32 (it wrapped 99999999999999999999 to 1661992959)", () => {
    const u32 = (arg: string) => overrideKv(parseKvOverride(`k=int:${arg}`));
    expect(u32("99999999999999999999")).toEqual(kvOf.u32("k", 0xffffffff));
    expect(u32("-99999999999999999999")).toEqual(kvOf.u32("k", 0)); // |LONG_MIN| wraps to LONG_MIN: low 32 bits 0
    expect(u32("8589934591")).toEqual(kvOf.u32("k", 0xffffffff));
    expect(u32("-4294967297")).toEqual(kvOf.u32("k", 1));
    expect(u32("12abc")).toEqual(kvOf.u32("k", 12));
  });

  it("an override of the wrong type leaves the loader's value (it read block_count 'str:5' as 0 layers: Bad layer)", async () => {
    const m = model({ nLayer: 2, nEmbd: 256, nFf: 256, nVocab: 32, nExpert: 4 });
    const want = await plan(m);
    for (const kv of ["llama.block_count=str:5", "llama.block_count=float:5", "general.architecture=int:3", "llama.expert_count=bool:true"]) {
      expect(await plan(m, "--override-kv", kv), kv).toEqual(want);
    }
    // the right type does change the plan (8 experts: attn_v to q8_0)
    const eight = await plan(m, "--override-kv", "llama.expert_count=int:8");
    expect(eight.tensors.find((t) => t.name === "blk.0.attn_v.weight")!.type).toBe("q8_0");
  });

  it("refuses, with the assertion, the hparams on which llama.cpp aborts (and the missing keys and bad n_rot it refuses)", async () => {
    const dense = model({ nLayer: 2, nEmbd: 256, nFf: 256, nVocab: 32 }, "d.gguf");
    const moe = model({ nLayer: 2, nEmbd: 256, nFf: 256, nVocab: 32, nExpert: 4, nExpertUsed: 2 }, "e.gguf");
    for (const [input, kv, msg] of [
      [dense, "llama.block_count=int:513", /block_count = 513 .*n_layer_all <= LLAMA_MAX_LAYERS/],
      [dense, "llama.block_count=int:-2", /block_count = 4294967294 /],
      [dense, "llama.block_count=int:0", /block_count = 0 /],
      [moe, "llama.expert_count=int:1025", /n_expert <= LLAMA_MAX_EXPERTS/],
      [moe, "llama.expert_count=int:1", /n_expert_used_max <= hparams\.n_expert/],
      [moe, "llama.expert_count=int:0", /n_expert_used_max <= hparams\.n_expert/],
      [dense, "llama.expert_count=int:8", /n_expert_used_max > 0/],
      [dense, "general.architecture=str:qwen2", /key not found in model: qwen2\.context_length/],
      [dense, "llama.attention.head_count=int:8", /invalid n_rot: 64, expected 32/],
    ] as const) {
      const r = await cli(["--override-kv", kv, input, join(dir, "out.gguf"), "Q8_0"]);
      expect(r.code, kv).toBe(4);
      expect(r.err, kv).toMatch(msg);
      expect(existsSync(join(dir, "out.gguf"))).toBe(false);
    }
    expect((await cli(["--override-kv", "llama.block_count=int:512", "--dry-run", dense, join(dir, "out.gguf"), "Q8_0"])).code).toBe(0);
  });

  it("requires split.no and split.tensors.count (i32) in a split model's first file, as llama.cpp's loader does (we took them as optional)", async () => {
    for (const v of splitVariants()) {
      v.shards.forEach((b, i) => writeBytes(join(dir, shardName("v", i, 2)), b));
      const r = await cli(["--dry-run", join(dir, shardName("v", 0, 2)), join(dir, "o.gguf"), "Q8_0"]);
      expect(r.code, `${v.name}: ${r.err}`).toBe(v.error ? 2 : 0);
      if (v.error) expect(r.err, v.name).toMatch(v.error);
    }
  });

  it("refuses --keep-split when pruning empties a later shard (llama.cpp crashes), not when it empties the last", async () => {
    const m = generateModel({ nLayer: 3, nEmbd: 64, nFf: 64, nHead: 2, nVocab: 32 });
    outputFirst.model!(m);
    const shards = modelShards(m, [12, 9, 9]); // output_norm output token_embd blk.0 | blk.1 | blk.2
    shards.forEach((b, i) => writeBytes(join(dir, shardName("s", i, 3)), b));
    const r = await cli(["--keep-split", "--prune-layers", "1", join(dir, shardName("s", 0, 3)), join(dir, "o.gguf"), "Q8_0"]);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/output shard 2 of 3 would have no tensors after --prune-layers/);
    expect(readdirSync(dir).filter((f) => f.startsWith("o-"))).toEqual([]);
    const last = await cli(["--keep-split", "--prune-layers", "2", join(dir, shardName("s", 0, 3)), join(dir, "o.gguf"), "Q8_0"]);
    expect(last.code, last.err).toBe(0);
    // block 2 was the whole last shard: two outputs remain, named "of 00002"
    expect(readdirSync(dir).filter((f) => f.startsWith("o-")).sort()).toEqual(["o-00001-of-00002.gguf", "o-00002-of-00002.gguf"]);
    const src = await openSource(join(dir, "o-00002-of-00002.gguf"));
    const h = await readGgufHeader(src);
    await src.close();
    expect(h.kvs.map((k) => [k.key, VALUE_TYPE_NAMES[k.type], k.value])).toEqual([["split.no", "u16", 1], ["split.count", "u16", 2], ["split.tensors.count", "i32", 21]]);
  });
});
