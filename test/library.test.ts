// The library API (src/index.ts) on in-memory and Blob I/O, as a browser uses it: the same bytes
// as the command line (llama.cpp's goldens), progress that ends at the total, cancellation that
// aborts the sinks, and split models opened through an opener.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { blobSource, memorySink, memorySource, openModel, planJson, planModel, quantize, QuantizeError, type ByteSink } from "../src/index.js";
import { openModelFile } from "../src/node.js";
import { generateImatrix, generateModel, modelBytes, modelShards, shardName } from "./support/generate.js";
import { writeGgufImatrix } from "../src/imatrix.js";
import { MODELS } from "./support/model-cases.js";

const golden = JSON.parse(readFileSync(new URL("./fixtures/golden/models.json", import.meta.url), "utf8")) as { cases: Record<string, string> };
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

let model: Uint8Array;
let imatrix: Uint8Array;
beforeAll(() => {
  const m = generateModel(MODELS.dense);
  model = modelBytes(m);
  const im = generateImatrix(m);
  imatrix = writeGgufImatrix(im.stats, im.meta);
});

describe("the library API", () => {
  it("quantizes a Blob into memory with the command line's bytes (preset, imatrix, rules)", async () => {
    const m = await openModel(blobSource(new Blob([model as BlobPart]), "model.gguf"));
    const { plan, preset, rules } = await planModel(m, { preset: "Q4_0", tensorTypes: ["attn_v=q8_0", "ffn_down=q6_k"] });
    expect(preset.name).toBe("Q4_0");
    expect(plan.ruleCounts).toEqual([8, 8]);
    expect(rules.map((r) => r.source)).toEqual(["--tensor-type attn_v=q8_0", "--tensor-type ffn_down=q6_k"]);
    const sink = memorySink("out.gguf");
    const seen: number[] = [];
    await quantize(m, plan, sink, { onProgress: (done, total) => { seen.push(done); expect(total).toBe(plan.sizeIn); } });
    expect(sink.committed).toBe(true);
    expect(sha(sink.bytes())).toBe(golden.cases["dense-Q4_0-none+tensor-typeattn_v=q8_0+tensor-typeffn_down=q6_k"]);
    expect(seen.at(-1)).toBe(plan.sizeIn);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it("takes the imatrix as a source (its name goes into the output) and a recipe's @preset", async () => {
    const m = await openModel(memorySource(model, "model.gguf"));
    const { plan, preset } = await planModel(m, { recipe: "# a recipe\n@preset Q4_K_M\n", imatrix: memorySource(imatrix, "imatrix.gguf") });
    expect(preset.name).toBe("Q4_K_M");
    const sink = memorySink();
    await quantize(m, plan, [sink]);
    expect(sha(sink.bytes())).toBe(golden.cases["dense-Q4_K_M-gguf"]);
    expect(planJson(plan, preset.name).totals.bytes).toBe(plan.sizeOut);
  });

  it("stops on an aborted signal, aborts the sink and rejects with CANCELLED", async () => {
    const m = await openModel(memorySource(model, "model.gguf"));
    const { plan } = await planModel(m, { preset: "Q8_0" });
    const controller = new AbortController();
    let aborted = false, committed = false, writes = 0;
    const sink: ByteSink = { name: "out", write: async () => { writes++; }, commit: async () => { committed = true; }, abort: async () => { aborted = true; } };
    const run = quantize(m, plan, sink, { chunkBytes: 4096, onProgress: () => controller.abort(), signal: controller.signal });
    await expect(run).rejects.toMatchObject({ code: "CANCELLED" });
    expect(aborted).toBe(true);
    expect(committed).toBe(false);
    expect(writes).toBeLessThan(plan.tensors.length);
  });

  it("refuses a wrong number of sinks, an unknown preset and a bad rule with the error codes of the CLI", async () => {
    const m = await openModel(memorySource(model, "model.gguf"));
    const { plan } = await planModel(m, { preset: "Q8_0" });
    await expect(quantize(m, plan, [])).rejects.toMatchObject({ code: "USAGE" });
    await expect(planModel(m, { preset: "Q4_KM" })).rejects.toBeInstanceOf(QuantizeError);
    await expect(planModel(m, {})).rejects.toMatchObject({ code: "USAGE" });
    await expect(planModel(m, { preset: "Q4_0", tensorTypes: ["attn(=q8_0"] })).rejects.toMatchObject({ code: "USAGE" });
  });

  it("opens a split model's other shards through the opener, and refuses without one", async () => {
    const m = generateModel(MODELS.dense);
    const shards = modelShards(m, [10, m.tensors.length - 10]);
    const files = new Map(shards.map((b, i) => [shardName("model", i, shards.length), b]));
    const first = shardName("model", 0, shards.length);
    await expect(openModel(memorySource(files.get(first)!, first))).rejects.toMatchObject({ code: "IO" });
    const split = await openModel(memorySource(files.get(first)!, first), async (name) => memorySource(files.get(name)!, name));
    expect(split.sources.length).toBe(2);
    const { plan } = await planModel(split, { preset: "Q8_0" });
    const sink = memorySink();
    await quantize(split, plan, sink);
    // one output holds every tensor: the same as from the unsplit model, except the split keys
    await split.close();
    const whole = await openModel(memorySource(model, "model.gguf"));
    const { plan: wholePlan } = await planModel(whole, { preset: "Q8_0" });
    expect(plan.sizeOut).toBe(wholePlan.sizeOut);
  });

  it("reads files by path in Node (openModelFile) to the same plan", async () => {
    const model = await openModelFile(new URL("./fixtures/gguf/tiny.q8_0.gguf", import.meta.url).pathname);
    const { plan } = await planModel(model, { preset: "COPY" });
    await model.close();
    expect(plan.tensors.every((t) => t.copy)).toBe(true);
  });
});
