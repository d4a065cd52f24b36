// The bytes never depend on how the work is cut or shared: 1, 2, 3 and 8 workers, and chunk sizes
// from one row up, all give llama.cpp's output.

import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filterImatrix, loadImatrix } from "../src/imatrix.js";
import { readGgufHeader } from "../src/gguf/read.js";
import { createSink, openSource } from "../src/io/node.js";
import { makePlan } from "../src/plan.js";
import { planJobs } from "../src/jobs.js";
import { JobPipeline } from "../src/pipeline.js";
import { Kernels } from "../src/kernels.js";
import { workerRunner } from "../src/pool.js";
import { execute, inlineRunner } from "../src/quantize.js";
import { generateModel, writeImatrix, writeModel } from "./support/generate.js";
import { MODELS } from "./support/model-cases.js";

const golden = JSON.parse(readFileSync(new URL("./fixtures/golden/models.json", import.meta.url), "utf8")) as { cases: Record<string, string> };
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pool-"));
  await writeModel(join(dir, "model.gguf"), MODELS.moe);
  await writeImatrix(join(dir, "imatrix.gguf"), generateModel(MODELS.moe), "gguf");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mixed: this thread takes jobs too (as the CLI runs), its reads slowed so that the workers, once
 *  started, get some; how many jobs this thread ran, and how many there were, come back in it */
async function quantize(preset: { ftype: number; id: string }, threads: number, chunkBytes: number, mixed?: { local: number; total: number }): Promise<string> {
  const src = await openSource(join(dir, "model.gguf"));
  const im = await openSource(join(dir, "imatrix.gguf"));
  const imatrix = filterImatrix(await loadImatrix(im), {});
  await im.close();
  const plan = makePlan([await readGgufHeader(src)], "model.gguf", { ftype: preset.ftype, imatrix: { data: imatrix, path: "imatrix.gguf" } });
  const out = join(dir, `out-${threads}-${chunkBytes}.gguf`);
  const sink = await createSink(out);
  let local: JobPipeline | undefined;
  if (mixed) {
    mixed.total = [...planJobs(plan, chunkBytes)].length;
    const slow = { ...src, readInto: async (dst: Uint8Array, pos: number) => { await new Promise((r) => setTimeout(r, 20)); return src.readInto(dst, pos); } };
    local = new JobPipeline(new Kernels(), [slow], [sink]);
    const run = local.run.bind(local);
    local.run = (job) => { mixed.local++; return run(job); };
  }
  const runner = threads > 1 ? workerRunner(threads, { sources: [src.name], sinks: [sink.tempPath] }, local) : inlineRunner([src], [sink]);
  await execute(plan, [sink], runner, { chunkBytes });
  await sink.commit();
  await src.close();
  const sha = createHash("sha256").update(readFileSync(out)).digest("hex");
  rmSync(out);
  return sha;
}

describe("the same bytes for any worker count and chunk size", () => {
  const q5_1 = { ftype: 9, id: "moe-Q5_1-gguf" };
  it.each([
    [1, 1], [1, 4096], [1, 1 << 22],
    [2, 1], [2, 20000], [2, 1 << 22],
    [3, 12345], [3, 1 << 20],
    [8, 1], [8, 65536],
  ])("%i worker(s), %i-byte chunks", async (threads, chunk) => {
    expect(await quantize(q5_1, threads, chunk)).toBe(golden.cases[q5_1.id]);
  });
});

describe("this thread and the workers together (the CLI's way)", () => {
  it("both take jobs, once the workers are up, and the bytes are the same", async () => {
    const q5_1 = { ftype: 9, id: "moe-Q5_1-gguf" };
    const mixed = { local: 0, total: 0 };
    expect(await quantize(q5_1, 2, 20000, mixed)).toBe(golden.cases[q5_1.id]);
    // this thread ran some jobs, but not all: the workers ran the rest
    expect(mixed.local).toBeGreaterThan(0);
    expect(mixed.local).toBeLessThan(mixed.total);
  });
});
