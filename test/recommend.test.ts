// `recommend`: the allocator on hand-made cases, the error measurement against a direct
// computation, and the whole path through the CLI: the recipe it writes quantizes to exactly the
// predicted bytes and types, with less weighted error than the preset of the same size.

import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { parseSize } from "../src/commands.js";
import { readGgufHeader } from "../src/gguf/read.js";
import { openSource } from "../src/io/node.js";
import { Kernels, quantizeRows } from "../src/kernels.js";
import { allocate, defaultCandidates, measureTensor, sampleRows, type Option } from "../src/recommend.js";
import { T, typeByName, typeName } from "../src/types.js";
import { generateModel, writeImatrix, writeModel, type ModelSpec } from "./support/generate.js";

const opt = (type: number, cost: number, error: number): Option => ({ type, cost, error });
const total = (o: Option[]) => o.reduce((s, x) => s + x.error, 0);
const spent = (o: Option[]) => o.reduce((s, x) => s + x.cost, 0);

describe("allocate", () => {
  const A = [opt(1, 1, 10), opt(2, 2, 4), opt(3, 3, 3)];
  const B = [opt(1, 1, 8), opt(2, 2, 1)];

  it("takes the steps that save the most error per byte first", () => {
    expect(allocate([A, B], 3)!.map((o) => o.type)).toEqual([1, 2]); // B saves 7 per byte, A 6
    expect(allocate([A, B], 4)!.map((o) => o.type)).toEqual([2, 2]);
    expect(allocate([A, B], 5)!.map((o) => o.type)).toEqual([3, 2]);
    expect(allocate([A, B], 100)!.map((o) => o.type)).toEqual([3, 2]);
  });

  it("is undefined when even the cheapest choice is over budget", () => {
    expect(allocate([A, B], 1)).toBeUndefined();
  });

  it("jumps over an option below the convex hull", () => {
    // cost 2 saves 1, cost 3 saves 10: the hull goes 1 -> 3
    const C = [opt(1, 1, 10), opt(2, 2, 9), opt(3, 3, 0)];
    const D = [opt(1, 1, 5), opt(2, 2, 4)];
    expect(allocate([C, D], 4)!.map((o) => o.type)).toEqual([3, 1]);
  });

  it("ignores dominated options (dearer and no better)", () => {
    const E = [opt(1, 1, 5), opt(2, 2, 6), opt(3, 2, 5)];
    expect(allocate([E], 10)!.map((o) => o.type)).toEqual([1]);
  });

  it("on random instances: within budget, no cheaper choice is better, and no single upgrade still fits", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 200; trial++) {
      const items = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () =>
        Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, t) => opt(t, 1 + Math.floor(rnd() * 9), Math.floor(rnd() * 100))));
      const minCost = items.reduce((s, o) => s + Math.min(...o.map((x) => x.cost)), 0);
      const budget = minCost + Math.floor(rnd() * 12);
      const got = allocate(items, budget)!;
      expect(spent(got)).toBeLessThanOrEqual(budget);
      // brute force: the optimum is never worse than ours, and ours is never worse than the
      // cheapest-per-item choice
      let best = Infinity;
      const walk = (i: number, cost: number, err: number) => {
        if (cost > budget) return;
        if (i === items.length) { best = Math.min(best, err); return; }
        for (const o of items[i]) walk(i + 1, cost + o.cost, err + o.error);
      };
      walk(0, 0, 0);
      expect(total(got)).toBeGreaterThanOrEqual(best);
      const left = budget - spent(got);
      items.forEach((o, i) => {
        for (const x of o) if (x.error < got[i].error) expect(x.cost - got[i].cost).toBeGreaterThan(left);
      });
    }
  });
});

describe("measurement", () => {
  it("samples evenly and deterministically", () => {
    expect(sampleRows(5, 8)).toEqual([0, 1, 2, 3, 4]);
    expect(sampleRows(10, 4)).toEqual([1, 3, 6, 8]);
  });

  it("default candidates are kernel types presets use, without the binary/ternary formats", () => {
    const names = defaultCandidates().map(typeName);
    for (const n of ["q4_0", "q8_0", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs"]) expect(names).toContain(n);
    for (const n of ["tq1_0", "tq2_0", "q1_0", "q2_0", "f16", "nvfp4"]) expect(names).not.toContain(n);
  });

  it("equals Σ w·(x − dequant(quant(x)))² computed directly, per expert slice", async () => {
    const k = new Kernels();
    const n = 256, rowsPerExpert = 3, experts = 2;
    const x = new Float32Array(n * rowsPerExpert * experts).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
    const w = new Float32Array(n * experts).map((_, i) => 0.1 + ((i * 13) % 17));
    const bytes = new Uint8Array(x.buffer);
    const t = { ne: [n, rowsPerExpert, experts], srcType: T.F32, srcOffset: 0, imatrix: w } as never;
    const source = { readInto: async (dst: Uint8Array, pos: number) => { dst.set(bytes.subarray(pos, pos + dst.length)); } };
    const types = [T.Q4_K, T.IQ4_XS, T.Q8_0, T.F32];
    const got = await measureTensor(k, source, t, types, 100);
    for (const type of [T.Q4_K, T.IQ4_XS, T.Q8_0]) {
      let want = 0;
      for (let e = 0; e < experts; e++) {
        const xe = x.subarray(e * n * rowsPerExpert, (e + 1) * n * rowsPerExpert);
        const we = w.subarray(e * n, (e + 1) * n);
        const y = k.dequantize(type, quantizeRows(k, type, new Uint8Array(xe.slice().buffer), T.F32, n, we), xe.length);
        for (let i = 0; i < xe.length; i++) want += we[i % n] * (xe[i] - y[i]) ** 2;
      }
      expect(got.get(type)).toBeCloseTo(want, 6);
      expect(want).toBeGreaterThan(0);
    }
    expect(got.get(T.F32)).toBe(0); // the source's own type: copied
    // sampling 2 of 6 rows: rows 1 and 4, scaled by 3
    const sampled = await measureTensor(k, source, t, [T.Q4_K], 2);
    expect(sampled.get(T.Q4_K)).toBeGreaterThan(0);
  });
});

describe("parseSize", () => {
  it("bytes, binary and decimal units, preset names", () => {
    expect(parseSize("1234")).toBe(1234);
    expect(parseSize("1.5K")).toBe(1536);
    expect(parseSize("2MiB")).toBe(2 * 1048576);
    expect(parseSize("2MB")).toBe(2000000);
    expect(parseSize("1G")).toBe(1073741824);
    expect(parseSize("q4_k_m")).toEqual({ preset: "Q4_K_M" });
    expect(() => parseSize("big")).toThrow(/not a size/);
  });
});

describe("recommend through the CLI", () => {
  let dir = "";
  const spec: ModelSpec = { arch: "llama", nLayer: 2, nEmbd: 256, nFf: 512, nHead: 4, nHeadKv: 1, nVocab: 256, dtype: "f16", seed: 5 };
  const run = async (args: string[]) => {
    let out = "", err = "";
    const code = await runCli(args, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
    return { code, out, err };
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "gq-recommend-test-"));
    await writeModel(join(dir, "model.gguf"), spec);
    await writeImatrix(join(dir, "imatrix.gguf"), generateModel(spec), "gguf");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a recipe that quantizes to exactly the predicted bytes and types, beating the preset of that size", async () => {
    const recipe = join(dir, "q4.recipe");
    const r = await run(["recommend", join(dir, "model.gguf"), "--imatrix", join(dir, "imatrix.gguf"), "--target-size", "Q4_K_M", "-o", recipe, "--json", "--quiet"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    const preset = res.presets.find((p: { name: string }) => p.name === "Q4_K_M");
    expect(res.target.bytes).toBe(preset.bytes);
    expect(res.recommended.bytes).toBeLessThanOrEqual(preset.bytes);
    expect(res.recommended.error).toBeLessThan(preset.error);
    const text = readFileSync(recipe, "utf8");
    expect(text).toMatch(/^@preset \w+$/m);
    expect(text).toMatch(/^@imatrix .*imatrix\.gguf$/m);
    // anchored rules, one per tensor kind and type: blocks sharing a type fold into one rule
    const rules = text.split("\n").filter((l) => l && !l.startsWith("#") && !l.startsWith("@"));
    for (const l of rules) expect(l).toMatch(/^\^.*\$=\w+$/);
    expect(rules.length).toBeLessThan(res.recommended.tensors.length);

    const out = join(dir, "out.gguf");
    const q = await run(["--quiet", "--recipe", recipe, join(dir, "model.gguf"), out]);
    expect(q.err).toBe("");
    expect(q.code).toBe(0);
    expect(statSync(out).size).toBe(res.recommended.bytes);
    const src = await openSource(out);
    const h = await readGgufHeader(src);
    await src.close();
    for (const t of res.recommended.tensors) expect(typeName(h.tensors.find((x) => x.name === t.name)!.type), t.name).toBe(t.type);
  });

  it("meets a BPW target, deterministically, whatever the thread count", async () => {
    const args = (o: string, threads: string) => ["recommend", join(dir, "model.gguf"), "--imatrix", join(dir, "imatrix.gguf"), "--target-bpw", "3.5",
      "--types", "q2_K,q3_K,q4_K,q6_K,q8_0", "--sample-rows", "16", "-t", threads, "-o", o, "--json", "--quiet"];
    const a = await run(args(join(dir, "a.recipe"), "1")), b = await run(args(join(dir, "b.recipe"), "2"));
    expect(b.err).toBe("");
    expect(a.code).toBe(0);
    const res = JSON.parse(a.out);
    expect(res.recommended.bpw).toBeLessThanOrEqual(3.5);
    expect(res.recommended.bpw).toBeGreaterThan(3.2);
    for (const t of res.recommended.tensors) expect(["q2_K", "q3_K", "q4_K", "q6_K", "q8_0"]).toContain(t.type);
    expect(readFileSync(join(dir, "a.recipe"), "utf8")).toBe(readFileSync(join(dir, "b.recipe"), "utf8"));
    expect({ ...JSON.parse(b.out), recipe: "" }).toEqual({ ...res, recipe: "" });
    expect(res.recommended.base).toMatch(/^Q[234]_K/); // a preset whose base type holds most weights
  });

  it("--pin keeps tensors at a type, and refuses a type that cannot fit", async () => {
    const base = ["recommend", join(dir, "model.gguf"), "--imatrix", join(dir, "imatrix.gguf"), "--target-bpw", "6", "--sample-rows", "8", "-t", "1", "--json", "--quiet"];
    const r = await run([...base, "--pin", "^(token_embd|output)\\.weight$=q6_K", "--pin", "ffn_down=q8_0", "-o", join(dir, "pin.recipe")]);
    expect(r.err).toBe("");
    const types = Object.fromEntries(JSON.parse(r.out).recommended.tensors.map((t: { name: string; type: string }) => [t.name, t.type]));
    expect(types["token_embd.weight"]).toBe("q6_K");
    expect(types["output.weight"]).toBe("q6_K");
    expect(types["blk.1.ffn_down.weight"]).toBe("q8_0");
    // token_embd has no importance slice, which iq2_xxs requires (the first matching rule counts)
    const bad = await run([...base, "--pin", "token_embd=iq2_xxs,token_embd=q4_K", "-o", join(dir, "bad.recipe")]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--pin token_embd=iq2_xxs: token_embd\.weight cannot be iq2_xxs \(rows of 256 values, no importance slice/);
  });

  it("respects shapes: rows of 96 values get only block-32 types", async () => {
    const odd: ModelSpec = { arch: "llama", nLayer: 1, nEmbd: 96, nFf: 256, nHead: 2, nVocab: 64, dtype: "f32", seed: 9 };
    await writeModel(join(dir, "odd.gguf"), odd);
    await writeImatrix(join(dir, "odd.imatrix"), generateModel(odd), "dat");
    const recipe = join(dir, "odd.recipe");
    const r = await run(["recommend", join(dir, "odd.gguf"), "--imatrix", join(dir, "odd.imatrix"), "--target-bpw", "4.5", "-o", recipe, "--json", "--quiet"]);
    expect(r.err).toBe("");
    const res = JSON.parse(r.out);
    for (const t of res.recommended.tensors) {
      const ne0 = t.name === "blk.0.ffn_down.weight" ? 256 : 96;
      expect(ne0 % typeByName(t.type)!.blockSize, `${t.name} ${t.type}`).toBe(0);
    }
    const q = await run(["--quiet", "--recipe", recipe, join(dir, "odd.gguf"), join(dir, "odd-out.gguf")]);
    expect(q.code).toBe(0);
    expect(statSync(join(dir, "odd-out.gguf")).size).toBe(res.recommended.bytes);
  });

  it("refuses a target below the smallest choice, and bad arguments", async () => {
    const base = ["recommend", join(dir, "model.gguf"), "--imatrix", join(dir, "imatrix.gguf"), "-o", join(dir, "x.recipe"), "--quiet", "--sample-rows", "4", "-t", "1"];
    const small = await run([...base.filter((x) => x !== "--quiet"), "--target-bpw", "0.5"]);
    expect(small.code).not.toBe(0);
    expect(small.err).toMatch(/target 0\.5 BPW is below the smallest the candidate types allow \(\d+\.\d{4} BPW\)/);
    expect(small.err).not.toMatch(/measured/); // refused before measuring
    const both = await run([...base, "--target-bpw", "4", "--target-size", "1M"]);
    expect(both.err).toMatch(/one of --target-bpw and --target-size/);
    const f16 = await run([...base, "--target-bpw", "4", "--base", "F16"]);
    expect(f16.err).toMatch(/--base F16: recipe rules apply only under a preset with a quantized base type/);
    const badType = await run([...base, "--target-bpw", "4", "--types", "q4_K,bogus"]);
    expect(badType.err).toMatch(/invalid ggml_type 'bogus'/);
  });
});

describe("subcommand dispatch keeps llama-quantize's command line", () => {
  it("a model file named stats is reachable as ./stats; an option value 'stats' is not a subcommand", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gq-stats-name-"));
    const cwd = process.cwd();
    try {
      await writeModel(join(dir, "stats"), { nLayer: 1, nEmbd: 64, nFf: 128, nVocab: 64 });
      process.chdir(dir);
      let out = "", err = "";
      const code = await runCli(["--dry-run", "--json", "./stats", "Q8_0"], { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
      expect(err).toMatch(/calculating quantization size for '\.\/stats' as Q8_0/);
      expect(code).toBe(0);
      expect(JSON.parse(out).preset).toBe("Q8_0");
      // "stats" as the value of --output-tensor-type is no subcommand (and no valid type)
      let err2 = "";
      const code2 = await runCli(["--dry-run", "--output-tensor-type", "stats", "./stats", "Q8_0"], { stdout: () => {}, stderr: (s) => { err2 += s; } });
      expect(code2).not.toBe(0);
      expect(err2).toMatch(/invalid ggml_type 'stats'/);
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("options may come before the subcommand's name", async () => {
    let out = "";
    const dir = mkdtempSync(join(tmpdir(), "gq-stats-opt-"));
    try {
      const m = generateModel({ nLayer: 2, nEmbd: 64, nFf: 128, nVocab: 64 });
      await writeImatrix(join(dir, "i.dat"), m, "dat");
      const code = await runCli(["--imatrix", join(dir, "i.dat"), "stats", "--json"], { stdout: (s) => { out += s; }, stderr: () => {} });
      expect(code).toBe(0);
      expect(JSON.parse(out).layers.length).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("typeByName is unaffected", () => expect(typeByName("Q4_K")?.id).toBe(T.Q4_K));
});
