// Live differential test against llama.cpp itself: llama_model_quantize in-process (through
// test/support/llama.ts), on random models × presets × options drawn by test/support/live.ts.
// A draw is a model (llama, qwen2, qwen2moe, qwen3moe, deepseek2 with MLA, phi3 with fused QKV),
// a preset and options: imatrix (.dat/GGUF, include/exclude), --pure, output/token-embedding types,
// --tensor-type, --prune-layers, --override-kv (every value type, keys the loader reads, wrong types),
// an input split into gguf-split shards with or without --keep-split, an input llama.cpp quantized
// first (--allow-requantize), and now and then 2 or 4 worker threads on our side. For every draw:
//   - a real run with a preset whose plan only needs types we have kernels for (the Kernels class
//     says; the others are compared as dry runs): both write byte-identical files, every shard of
//     them (and the same per-tensor log lines), or both refuse (we with a non-zero exit, one line,
//     and no file left behind);
//   - the same as a dry run, and a dry run of any preset (K, IQ, TQ, MXFP4, Q1_0, Q2_0, with and
//     without an imatrix) with any ggml type in the overrides: the same per-tensor plan lines,
//     overrides, fallback warnings, summary and imatrix warning, or both refuse.
// One divergence is deliberate and counted, not failed: an --output-tensor-type or
// --token-embedding-type whose block does not divide the row (no shape fallback applies to them).
// llama.cpp's dry run lists it with a truncated size and its real run corrupts its heap; we refuse
// at once, dry run included.
// Then fixed cases (invalid weights, overflowing scales, imatrix entries of the wrong length, every
// ggml type as input), and regressions for what this test found (which run without llama.cpp).
// test/live-options.test.ts has the fixed cases of the newer options.
// Skipped where the reference library does not install (test/e2e.test.ts covers the rest).
//
//   LIVE_CASES=500 npx vitest run test/live-models.test.ts   # soak (default 60 draws, ~25 s of CPU)
//   LIVE_SEED=7 ...                                         # another sequence
//   LIVE_CASE='{"model":...}' ...                           # rerun one reported case
//   LIVE_VERBOSE=1                                          # print the tally of refusals

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { llama, quantizeIsolated } from "./support/llama.js";
import { runCli } from "../src/cli.js";
import { readGgufHeader } from "../src/gguf/read.js";
import { VALUE_TYPE_NAMES, kv as kvOf } from "../src/gguf/values.js";
import { openSource } from "../src/io/node.js";
import { Kernels } from "../src/kernels.js";
import { T, TYPES, tensorBytes } from "../src/types.js";
import { FTYPES, compareCase, describeCase, executable, prepare, randomCase, shrink, type CompareOptions, type Edits, type ImatrixKind, type LiveCase, type Outcome } from "./support/live.js";
import { resolveSpec, type ModelSpec } from "./support/generate.js";
import { Rng } from "./support/random.js";

const N = Number(process.env.LIVE_CASES ?? 60);
const SEED = Number(process.env.LIVE_SEED ?? 1);

let root = "";
const refusals = new Map<string, number>();
const known = new Map<string, number>();
let compared = 0;

// many small files, each fsync'ed by our writer: a RAM disk where there is one
const scratch = () => process.env.LIVE_TMP ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
beforeAll(() => { root = mkdtempSync(join(scratch(), "live-")); });
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  if (process.env.LIVE_CASES || process.env.LIVE_VERBOSE) {
    console.log(`live: ${compared} comparisons`);
    for (const [k, n] of [...refusals].sort((a, b) => b[1] - a[1])) console.log(`  both refused ×${n}: ${k}`);
    for (const [k, n] of known) console.log(`  known divergence ×${n}: ${k}`);
    for (const [k, n] of [...coverage].sort()) console.log(`  ${k}: ${n}`);
  }
});

/** The i-th draw: a real run (compared again as a dry run, on the same files) and a dry run of any preset. */
function casesAt(i: number): LiveCase[][] {
  const r = new Rng((SEED * 1_000_003 + i * 7919) >>> 0);
  const full = randomCase(r, false);
  return [[full, { ...full, dryRun: true }], [randomCase(r, true)]];
}

/** What the draws covered (printed with LIVE_VERBOSE): real runs by preset and option, plans only. */
const coverage = new Map<string, number>();
const count = (k: string) => coverage.set(k, (coverage.get(k) ?? 0) + 1);
function cover(c: LiveCase) {
  if (c.dryRun) { count("dry runs"); return; }
  count(`real ${c.preset}`);
  for (const f of ["--prune-layers", "--override-kv", "--keep-split", "--allow-requantize"]) if (c.flags.includes(f)) count(`real with ${f}`);
  if (c.split) count(`real from ${c.split.length} shards`);
  if (c.source) count(`real from ${c.source.preset}${c.source.flags.join("")}`);
  if ((c.threads ?? 1) > 1) count(`real on ${c.threads} threads`);
  count(`real ${resolveSpec(c.model).arch}`);
}

/**
 * Runs cases that share one model and imatrix (they differ only in --dry-run) in a fresh folder.
 * A real run whose plan needs a type we have no kernel for is compared as a dry run.
 */
async function check(cases: LiveCase[], dir: string, edits?: Edits, opts?: CompareOptions): Promise<(Outcome & { c: LiveCase })[]> {
  mkdirSync(dir, { recursive: true });
  try {
    const p = await prepare(cases[0], dir, edits, llama);
    const out: (Outcome & { c: LiveCase })[] = [];
    const done = new Set<string>();
    for (let c of cases) {
      if (!c.dryRun && !(await executable(c, p.files))) {
        c = { ...c, dryRun: true };
        count("real runs planned only (a type without kernel)");
      }
      if (done.has(JSON.stringify(c))) continue;
      done.add(JSON.stringify(c));
      cover(c);
      // --keep-split with pruned layers can leave a middle shard empty, on which llama.cpp crashes
      const risky = !c.dryRun && !!c.split && c.flags.includes("--keep-split") && c.flags.includes("--prune-layers");
      out.push({ ...(await compareCase(llama!, c, p, risky ? { isolate: quantizeIsolated, ...opts } : opts)), c });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function tally(o: Outcome) {
  compared++;
  if (o.refused) {
    const key = `llama.cpp: ${o.refused.llama.replace(/\d+/g, "N")} / ours: ${o.refused.ours.replace(/\S*\//g, "").replace(/\d+/g, "N")}`;
    refusals.set(key, (refusals.get(key) ?? 0) + 1);
  }
  if (o.known) known.set(o.known, (known.get(o.known) ?? 0) + 1);
}

/** Fails with the case, and a shrunk version of it, when the two quantizers disagree. */
async function expectAgreement(cases: LiveCase[], dir: string) {
  const outcomes = await check(cases, dir);
  outcomes.forEach(tally);
  const bad = outcomes.findIndex((o) => o.mismatch);
  if (bad < 0) return;
  const c = outcomes[bad].c;
  const small = await shrink(c, async (d) => (await check([d], dir + "-shrink"))[0].mismatch);
  const report = [`mismatch: ${outcomes[bad].mismatch}`, describeCase(c)];
  if (small && JSON.stringify(small.c) !== JSON.stringify(c)) report.push(`shrunk to: ${small.why}`, describeCase(small.c));
  expect.fail(report.join("\n"));
}

describe.runIf(llama)("live: random models against llama.cpp's llama_model_quantize", () => {
  if (process.env.LIVE_CASE) {
    it("the given case", async () => expectAgreement([JSON.parse(process.env.LIVE_CASE!) as LiveCase], join(root, "case")));
    return;
  }
  it.each([...Array(N).keys()])("case %i", async (i) => {
    const [real, plan] = casesAt(i);
    await expectAgreement(real, join(root, `c${i}`));
    await expectAgreement(plan, join(root, `p${i}`));
  });
});

// ---- fixed cases: invalid weights, overflowing scales, importance matrices that do not fit ----

const BASE: ModelSpec = { nLayer: 2, nEmbd: 96, nFf: 160, nHead: 3, nVocab: 64, seed: 5 };
const one = (model: ModelSpec, preset: string, extra: Partial<LiveCase> = {}): LiveCase => ({ model, preset, imatrix: "none", flags: [], dryRun: false, ...extra });

/** Sets one value of a generated tensor (index in elements; f32, or raw f16/bf16 bits). */
function poke(name: string, index: number, value: number, bits = false): Edits {
  return {
    model: (m) => {
      const t = m.tensors.find((x) => x.name === name)!;
      const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      if (bits) dv.setUint16(index * 2, value, true); else dv.setFloat32(index * 4, value, true);
    },
  };
}
const resize = (name: string, length: number): Edits => ({
  imatrix: (stats) => stats.map((s) => (s.name !== name ? s : { ...s, values: new Float32Array(length).fill(3), counts: [s.counts[0]], activations: undefined })),
});

let fixed = 0;
async function outcome(c: LiveCase, edits: Edits): Promise<Outcome> {
  return (await check([c], join(root, `fixed${fixed++}`), edits))[0];
}
async function bothRefuse(c: LiveCase, edits: Edits, llamaError: RegExp) {
  const o = await outcome(c, edits);
  expect(o.mismatch, describeCase(c)).toBeUndefined();
  expect(o.refused, "both must refuse").toBeDefined();
  expect(o.refused!.llama).toMatch(llamaError);
}
async function bothAgree(c: LiveCase, edits: Edits) {
  const o = await outcome(c, edits);
  expect(o.mismatch, describeCase(c)).toBeUndefined();
  expect(o.refused, `both must succeed: ${JSON.stringify(o.refused)}`).toBeUndefined();
}

describe.runIf(llama)("live: fixed cases against llama.cpp", () => {
  it("refuses weights with NaN or inf, like llama.cpp's loader (\"tensor ... has invalid data\")", async () => {
    const invalid = /tensor '.*' has invalid data/;
    await bothRefuse(one({ ...BASE, dtype: "f32" }, "Q8_0"), poke("blk.0.attn_q.weight", 100, NaN), invalid);
    await bothRefuse(one({ ...BASE, dtype: "f16" }, "Q4_0"), poke("blk.1.ffn_down.weight", 7, 0x7c00, true), invalid);
    await bothRefuse(one({ ...BASE, dtype: "bf16" }, "F16"), poke("token_embd.weight", 7, 0x7fc0, true), invalid);
    await bothRefuse(one({ ...BASE, dtype: "f32" }, "Q5_1"), poke("output.weight", 0, -Infinity), invalid);
    // a tensor that is only copied is checked too
    await bothRefuse(one({ ...BASE, dtype: "f16" }, "Q4_0"), poke("blk.0.attn_norm.weight", 3, NaN), invalid);
    // a dry run reads no data: both plan it
    await bothAgree(one({ ...BASE, dtype: "f32" }, "Q8_0", { dryRun: true }), poke("blk.0.attn_q.weight", 100, NaN));
  });

  it("refuses when a scale overflows fp16 (\"quantized data validation failed\"), and only then", async () => {
    const overflow = /quantized data validation failed/;
    const f32 = { ...BASE, dtype: "f32" as const };
    await bothRefuse(one(f32, "Q4_0"), poke("blk.0.attn_k.weight", 40, 1e6), overflow);  // d = max / -8 > 65504
    await bothAgree(one(f32, "Q8_0"), poke("blk.0.attn_k.weight", 40, 1e6));              // d = amax / 127 fits
    await bothRefuse(one(f32, "Q8_0"), poke("blk.0.attn_k.weight", 40, 1e7), overflow);
    await bothRefuse(one(f32, "Q4_1"), poke("blk.1.ffn_up.weight", 5, -1e7), overflow);
    await bothRefuse(one(f32, "Q5_1", { imatrix: "gguf" }), poke("blk.0.attn_k.weight", 40, 1e7), overflow);
    await bothRefuse(one(f32, "F16"), poke("blk.0.attn_k.weight", 40, 1e7), overflow);    // f16 itself overflows
    await bothAgree(one(f32, "BF16"), poke("blk.0.attn_k.weight", 40, 1e7));
    await bothRefuse(one({ ...f32, nEmbd: 256, nHead: 4 }, "Q8_0", { flags: ["--tensor-type", "attn_k=q6_K"] }), poke("blk.0.attn_k.weight", 40, 3e9), overflow);
  });

  it("refuses where llama.cpp's IQ3 grid search aborts the process (GGML_ASSERT; llama.cpp run in a child)", async () => {
    const f32 = { ...BASE, nEmbd: 256, nHead: 4, dtype: "f32" as const };
    const huge: Edits = { model: (m) => { poke("blk.0.attn_k.weight", 40, 3e19).model!(m); poke("blk.0.attn_k.weight", 41, 0.5).model!(m); } };
    for (const type of ["iq3_xxs", "iq3_s"]) {
      const c = one(f32, "Q8_0", { imatrix: "gguf", flags: ["--tensor-type", `attn_k=${type}`] }); // iq3_xxs needs one
      const [o] = await check([c], join(root, `fixed${fixed++}`), huge, { isolate: quantizeIsolated });
      expect(o.mismatch, describeCase(c)).toBeUndefined();
      expect(o.refused?.llama, type).toMatch(/aborted \(SIGABRT\).*GGML_ASSERT\(grid_index >= 0\) failed/);
      expect(o.refused?.ours, type).toMatch(/blk\.0\.attn_k\.weight: llama\.cpp's iq3_\w+ quantizer aborts/);
    }
  });

  it("refuses an imatrix entry of the wrong length, except for token_embd (and a dry run does not look)", async () => {
    const size = /imatrix size \d+ is different from tensor size \d+ for blk\.1\.ffn_down\.weight/;
    const f16 = { ...BASE, dtype: "f16" as const };
    for (const imatrix of ["gguf", "dat"] as const) {
      await bothRefuse(one(f16, "Q4_0", { imatrix }), resize("blk.1.ffn_down.weight", 192), size);
      await bothAgree(one(f16, "Q4_0", { imatrix, dryRun: true }), resize("blk.1.ffn_down.weight", 192));
      const tokenEmbd: Edits = { imatrix: (stats) => [...stats, { name: "token_embd.weight", values: new Float32Array(50).fill(2), counts: [10] }] };
      await bothAgree(one(f16, "Q5_0", { imatrix }), tokenEmbd);
    }
    // one vector for all experts where one per expert is expected
    await bothRefuse(one({ ...f16, nExpert: 4 }, "Q5_0", { imatrix: "gguf" }), {
      imatrix: (stats) => stats.map((s) => (!s.name.includes("_exps") ? s : { ...s, values: s.values.slice(0, s.values.length / 4), counts: [s.counts[0]], activations: undefined })),
    }, /imatrix size \d+ is different from tensor size \d+ for blk\.0\.ffn_down_exps\.weight/);
  });

  it("agrees on tensors larger than one read chunk (4 MiB): rows and experts split across chunks", async () => {
    // output.weight of 4099 rows of 576 f32 (9.4 MB) with an imatrix entry; experts of 4.8 MB each
    await bothAgree(one({ nLayer: 1, nEmbd: 576, nFf: 32, nHead: 9, nVocab: 4099, dtype: "f32" }, "Q4_1", { imatrix: "gguf", imatrixSpec: { processOutput: true } }), {});
    await bothAgree(one({ nLayer: 1, nEmbd: 576, nFf: 32, nHead: 9, nVocab: 32, dtype: "f32", nExpert: 2, nExpertUsed: 1, nFfExp: 2080 }, "Q5_0", { imatrix: "gguf" }), {});
  });

  it("refuses an imatrix with a non-finite value, in a dry run too", async () => {
    const nan: Edits = { imatrix: (stats) => stats.map((s, i) => (i !== 2 ? s : { ...s, values: s.values.map((v, j) => (j === 5 ? NaN : v)) })) };
    for (const dryRun of [false, true]) await bothRefuse(one({ ...BASE, dtype: "f16" }, "Q4_0", { imatrix: "gguf", dryRun }), nan, /imatrix contains non-finite value/);
  });

  it("plans a dry run of an already quantized model as llama.cpp does (no requantization check)", async () => {
    const dir = join(root, "requant");
    mkdirSync(dir, { recursive: true });
    const c = one({ ...BASE, dtype: "f16" }, "Q4_0", { dryRun: true });
    const p = await prepare(c, dir);
    expect(await runCli([p.files.model, join(dir, "q8.gguf"), "Q8_0"], { stdout: () => {}, stderr: () => {} })).toBe(0);
    copyFileSync(join(dir, "q8.gguf"), p.files.model);
    const o = await compareCase(llama!, c, p);
    expect(o.mismatch).toBeUndefined();
    expect(o.refused).toBeUndefined();
    const real = await compareCase(llama!, { ...c, dryRun: false }, p);
    expect(real.refused?.llama).toMatch(/requantizing from type q8_0 is disabled/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe.runIf(llama)("live: models stored in every ggml type, through COPY", () => {
  const model: ModelSpec = { nLayer: 1, nEmbd: 256, nFf: 256, nHead: 2, nVocab: 32, dtype: "f16" };
  /** every weight retyped to `type` with zero data, and no general.file_type (so the loader guesses it) */
  const retype = (type: number, edit?: (name: string, data: Uint8Array) => void): Edits => ({
    model: (m) => {
      m.kvs = m.kvs.filter((k) => k.key !== "general.file_type");
      for (const t of m.tensors) {
        if (t.ne.length < 2) continue;
        t.type = type;
        t.data = new Uint8Array(tensorBytes(type, t.ne));
        edit?.(t.name, t.data);
      }
    },
  });

  it("guesses the file type and validates every type's blocks as llama.cpp does", async () => {
    let refused = 0;
    for (const ty of TYPES.filter((t) => t.blockSize > 0)) {
      // zeros, then one block of 0xff (NaN scales) and of 0x7c (inf fp16 scales) in one tensor
      for (const fill of [undefined, 0xff, 0x7c]) {
        const edits = retype(ty.id, (name, data) => { if (fill !== undefined && name === "blk.0.ffn_up.weight") data.fill(fill, 0, ty.typeSize); });
        const o = await outcome(one(model, "COPY"), edits);
        expect(o.mismatch, `${ty.name}, first block of blk.0.ffn_up.weight filled with ${fill}`).toBeUndefined();
        if (o.refused) refused++;
      }
    }
    expect(refused).toBeGreaterThan(40); // most types have scales that 0xff and 0x7c break
  });

  it("takes the type that first reaches the highest count, in the loader's order, on a tie", async () => {
    // 9 f16 weights and 3 f32 norms; six f32 extras make it 9:9. Named a*, they sort first and f32
    // reaches 9 first (ALL_F32); named blk.0.z*, f16 does (F16). Either way "guessed" (| 1024).
    for (const prefix of ["a", "blk.0.z"]) {
      const extras = [1, 2, 3, 4, 5, 6].map((i) => ({ name: `${prefix}${i}.weight`, ne: [64, 4] }));
      const c = one({ ...model, nEmbd: 64, nFf: 64, dtype: "f16" }, "COPY", { extras });
      const f32Extras: Edits = { model: (m) => {
        m.kvs = m.kvs.filter((k) => k.key !== "general.file_type");
        for (const t of m.tensors) if (t.name.startsWith(prefix) && /\d\.weight$/.test(t.name) && t.ne[1] === 4) { t.type = 0; t.data = new Uint8Array(64 * 4 * 4); }
      } };
      await bothAgree(c, f32Extras);
    }
  });

  it("checks f64 values as llama.cpp does: as floats (a finite double beyond FLT_MAX is invalid)", async () => {
    const edge = 2 ** 128 - 2 ** 103; // the first double that rounds to inf in f32
    for (const [value, valid] of [[3.4028234663852886e38, true], [edge - 2 ** 75, true], [edge, false], [-edge, false], [1e300, false], [NaN, false]] as const) {
      const edits = retype(28, (name, data) => { if (name === "blk.0.attn_q.weight") new DataView(data.buffer).setFloat64(8, value, true); });
      const o = await outcome(one(model, "COPY"), edits);
      expect(o.mismatch, String(value)).toBeUndefined();
      expect(o.refused === undefined, String(value)).toBe(valid);
    }
  });
});

describe.runIf(llama)("live: rules that depend on the architecture, every preset as a dry run", () => {
  const falcon: Edits = {
    model: (m) => {
      m.kvs = m.kvs.map((k) => (k.key === "general.architecture" ? kvOf.str(k.key, "falcon") : k.key.startsWith("llama.") ? { ...k, key: "falcon" + k.key.slice(5) } : k))
        .filter((k) => k.key !== "falcon.attention.layer_norm_rms_epsilon");
      m.kvs.push(kvOf.f32("falcon.attention.layer_norm_epsilon", 1e-5));
    },
  };
  // narrow heads keep the 80-layer models small: only attn_v's rows (ne0 = nEmbd) matter to the rule
  const models: [string, ModelSpec, Edits, ImatrixKind][] = [
    // LLM_TYPE_70B: llama with 80 layers and GQA, qwen2 with 80 layers (attn_v Q3_K/Q4_K -> Q5_K)
    ["llama 80 layers GQA", { nLayer: 80, nEmbd: 256, nFf: 32, nHead: 4, headDim: 16, nHeadKv: 1, nVocab: 32, dtype: "f16" }, {}, "none"],
    ["qwen2 80 layers", { arch: "qwen2", nLayer: 80, nEmbd: 256, nFf: 32, nHead: 4, headDim: 16, nVocab: 32, dtype: "f16" }, {}, "none"],
    ["falcon", { nLayer: 16, nEmbd: 256, nFf: 256, nHead: 4, nVocab: 32, dtype: "f16" }, falcon, "none"],
    ["falcon, imatrix", { nLayer: 16, nEmbd: 256, nFf: 256, nHead: 4, nVocab: 32, dtype: "f16" }, falcon, "gguf"],
  ];
  it.each(models)("%s", async (_name, model, edits, imatrix) => {
    // one model, every preset (the cases share the files, so they share the imatrix too)
    const cases = Object.keys(FTYPES).map((preset) => one(model, preset, { imatrix, dryRun: true }));
    const outcomes = await check(cases, join(root, `arch${fixed++}`), edits);
    outcomes.forEach((o) => expect(o.mismatch, describeCase(o.c)).toBeUndefined());
  });
});

describe.runIf(llama)("live: per_layer_token_embd.weight, --token-embedding-type and --tensor-type", () => {
  // token_embd.weight takes --token-embedding-type before any pattern; per_layer_token_embd.weight
  // (the same category) only when no pattern matches it, and then without the shape fallback
  const flagSets: [string, string[], boolean?][] = [
    ["F16", ["--token-embedding-type", "f32"]],
    ["F16", ["--token-embedding-type", "f32", "--tensor-type", ".*=q6_K"]],
    ["F16", ["--token-embedding-type", "q8_0", "--tensor-type", "ffn=q6_K"]],
    ["F16", ["--pure", "--token-embedding-type", "f32", "--tensor-type", "per_layer=q6_K"]],
    ["Q8_0", ["--token-embedding-type", "q4_0", "--tensor-type", ".*=q6_K"]],
    ["Q8_0", ["--token-embedding-type", "q4_0", "--tensor-type", "per_layer=q8_0"]],
    ["Q8_0", ["--pure", "--token-embedding-type", "q4_0", "--tensor-type", "embd=q6_K"]],
    ["Q8_0", ["--token-embedding-type", "q4_0", "--tensor-type", "nomatch=q8_0"]],
    ["Q4_K_M", ["--token-embedding-type", "q6_K"]],
    ["Q8_0", ["--output-tensor-type", "q4_0", "--tensor-type", "per_layer=q5_0"], true],
    ["Q8_0", ["--output-tensor-type", "q4_0", "--tensor-type", "embd=q6_K"], true],
  ];
  it.each(flagSets.map(([preset, flags, tied]) => [`${preset} ${flags.join(" ")}${tied ? " (tied)" : ""}`, preset, flags, !!tied] as const))("%s", async (_name, preset, flags, tied) => {
    for (const nEmbd of [256, 96]) {
      const c = one({ nLayer: 1, nEmbd, nFf: 256, nHead: 2, nVocab: 32, dtype: "f16", tied }, preset, { flags, dryRun: true, extras: [{ name: "per_layer_token_embd.weight", ne: [nEmbd, 32] }] });
      const o = await outcome(c, {});
      expect(o.mismatch, describeCase(c)).toBeUndefined();
    }
  });
});

describe.runIf(llama)("live: the llama_model_quantize binding", () => {
  it("passes kv overrides of every kind, tensor-type overrides and pruned layers, and collects the log", async () => {
    const dir = join(root, "binding");
    mkdirSync(dir, { recursive: true });
    const { files } = await prepare(one({ nLayer: 3, nEmbd: 64, nFf: 64, nHead: 2, nVocab: 32 }, "Q8_0"), dir);
    const log: string[] = [];
    const status = llama!.quantize(files.model, files.theirs, {
      ftype: 7, nthread: 1, pruneLayers: [1],
      kvOverrides: [
        { key: "test.int", kind: "int", value: -7 }, { key: "test.float", kind: "float", value: 0.5 },
        { key: "test.bool", kind: "bool", value: true }, { key: "test.str", kind: "str", value: "x".repeat(127) },
      ],
      tensorTypes: [{ pattern: "attn_v", type: 2 }],
    }, log);
    expect(status).toBe(0);
    expect(log).toContain("llama_model_quantize_impl: pruning tensor blk.1.ffn_up.weight");
    expect(log.some((l) => l.includes("blk.0.attn_v.weight") && l.includes("applying manual override: q8_0 -> q4_0"))).toBe(true);
    const src = await openSource(files.theirs);
    const h = await readGgufHeader(src);
    await src.close();
    const kvs = Object.fromEntries(h.kvs.map((k) => [k.key, [VALUE_TYPE_NAMES[k.type], k.value]]));
    expect(kvs["llama.block_count"]).toEqual(["u32", 2]);
    expect(kvs["test.int"]).toEqual(["u32", 7]); // |value| as u32, as llama.cpp writes int overrides
    expect(kvs["test.float"]).toEqual(["f32", 0.5]);
    expect(kvs["test.bool"]).toEqual(["bool", true]);
    expect(kvs["test.str"]).toEqual(["str", "x".repeat(127)]);
    const types = Object.fromEntries(h.tensors.map((t) => [t.name, t.type]));
    expect(Object.keys(types).filter((n) => n.startsWith("blk.2."))).toEqual([]);
    expect(types["blk.1.attn_v.weight"]).toBe(2);
    expect(types["blk.1.attn_q.weight"]).toBe(8);
    rmSync(dir, { recursive: true, force: true });
  });
});

// ---- regressions for what the live test found (no llama.cpp needed) ----

describe("dry runs and logs as llama.cpp's (found by the live test)", () => {
  let dir = "";
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "live-regress-")); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = async (args: string[]) => {
    let err = "";
    const code = await runCli(args, { stdout: () => {}, stderr: (s) => { err += s; } });
    return { code, err };
  };

  it("a dry run ignores an imatrix entry of the wrong length (the real run refuses)", async () => {
    const c = one({ ...BASE, dtype: "f16" }, "Q4_0", { imatrix: "gguf" });
    const { files } = await prepare(c, dir, resize("blk.1.ffn_down.weight", 192));
    expect((await cli(["--dry-run", "--imatrix", files.imatrix!, files.model, files.ours, "Q4_0"])).code).toBe(0);
    const real = await cli(["--imatrix", files.imatrix!, files.model, files.ours, "Q4_0"]);
    expect(real.code).toBe(3);
    expect(real.err).toMatch(/imatrix size 192 is different from tensor size 160 for blk\.1\.ffn_down\.weight/);
    expect(existsSync(files.ours)).toBe(false);
  });

  it("a dry run of a quantized model needs no --allow-requantize (the real run does)", async () => {
    const { files } = await prepare(one({ ...BASE, dtype: "f16" }, "Q8_0"), dir);
    const q8 = join(dir, "q8.gguf");
    expect((await cli([files.model, q8, "Q8_0"])).code).toBe(0);
    expect((await cli(["--dry-run", q8, files.ours, "Q4_0"])).code).toBe(0);
    const real = await cli([q8, files.ours, "Q4_0"]);
    expect(real.code).toBe(4);
    expect(real.err).toMatch(/requantizing from type q8_0 is disabled/);
  });

  it("COPY of a model without general.file_type writes the guessed type (it refused: invalid output file type 1025)", async () => {
    const { files } = await prepare(one({ ...BASE, dtype: "f16" }, "COPY"), dir, { model: (m) => { m.kvs = m.kvs.filter((k) => k.key !== "general.file_type"); } });
    expect((await cli([files.model, files.ours, "COPY"])).code).toBe(0);
    const src = await openSource(files.ours);
    const h = await readGgufHeader(src);
    await src.close();
    expect(h.kvs.find((k) => k.key === "general.file_type")?.value).toBe(1 | 1024); // F16, guessed
    rmSync(files.ours);
  });

  it("validates q2_0 blocks, f64 values as floats, and refuses q8_1 as ggml_validate_row_data does", () => {
    const k = new Kernels();
    const check = (type: number, bytes: Uint8Array) => {
      const r = k.reserve(0, bytes.length, 0);
      k.bytes(r.src, bytes.length).set(bytes);
      return k.validate(type, r.src, bytes.length);
    };
    const q2 = new Uint8Array(18);
    expect(check(T.Q2_0, q2)).toBe(1);
    q2[1] = 0x7c; // d = inf
    expect(check(T.Q2_0, q2)).toBe(0);
    expect(check(T.Q8_1, new Uint8Array(36))).toBe(0);
    const f64 = (x: number) => new Uint8Array(new Float64Array([x]).buffer);
    expect(check(T.F64, f64(3.4028234663852886e38))).toBe(1);
    expect(check(T.F64, f64(2 ** 128 - 2 ** 103 - 2 ** 75))).toBe(1);
    expect(check(T.F64, f64(2 ** 128 - 2 ** 103))).toBe(0);
    expect(check(T.F64, f64(-1e300))).toBe(0);
  });

  it("per_layer_token_embd.weight takes --token-embedding-type only when no --tensor-type pattern matches it", async () => {
    const c = one({ ...BASE, dtype: "f16" }, "Q8_0", { extras: [{ name: "per_layer_token_embd.weight", ne: [96, 64] }] });
    const { files } = await prepare(c, dir);
    const plan = async (...flags: string[]) => {
      const { code, err } = await cli(["--dry-run", ...flags, files.model, files.ours, "Q8_0"]);
      expect(code).toBe(0);
      return (name: string) => err.split("\n").find((l) => l.includes(`] ${name} `))!.replace(/^.*\(|\)$/g, "");
    };
    let type = await plan("--token-embedding-type", "q4_0");
    expect([type("token_embd.weight"), type("per_layer_token_embd.weight")]).toEqual(["q4_0", "q4_0"]);
    type = await plan("--token-embedding-type", "q4_0", "--tensor-type", "embd=q5_0");
    expect([type("token_embd.weight"), type("per_layer_token_embd.weight")]).toEqual(["q4_0", "q5_0"]);
  });

  it("pads tensor names to 36 bytes, not characters, as printf does", async () => {
    const c = one({ ...BASE, dtype: "f16" }, "Q4_K_M", { extras: [{ name: "blk.0.\u00e9t\u00e9.weight", ne: [96, 32] }], dryRun: true });
    const { files } = await prepare(c, dir);
    const { code, err } = await cli(["--dry-run", "--tensor-type", "t\u00e9=q6_K", files.model, files.ours, "Q4_K_M"]);
    expect(code).toBe(0);
    const name = "blk.0.\u00e9t\u00e9.weight"; // 16 characters, 18 bytes
    expect(err).toContain(`] ${name}${" ".repeat(18)} - [`);
    expect(err).toContain(`llama_tensor_get_type: ${name}${" ".repeat(18)} - applying manual override: q4_K -> q6_K`);
    expect(err).toContain(`warning: ${name}${" ".repeat(18)} - ncols     96 not divisible by 256`);
  });
});
