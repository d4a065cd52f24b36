// The page's run worker: opens the picked files (read with File.slice, never whole), plans, and
// quantizes on a pool of job workers into OPFS, which only a worker can write synchronously. A
// cancelled or failed run removes its partial output. Both workers are inlined into the page's
// bundle, so once the page has loaded nothing more is fetched: it works offline.

import {
  QuantizeError, blobSource, openModel, planJson, planModel, quantize, ruleLines, summaryLines, type Model, type ModelPlan,
} from "../src/index.js";
import { opfsRoot, opfsSink } from "../src/io/opfs.js";
import { webWorkerRunner } from "../src/web-pool.js";
import JobWorker from "../src/web-worker.ts?worker&inline";
import { mib } from "./plan-view.js";
import type { FromWorker, Inputs, ToWorker } from "./protocol.js";

const post = (msg: FromWorker) => (self as unknown as Worker).postMessage(msg);
let current: AbortController | undefined;

/** The first shard (or the only file) opens the model; other shards are found among the picked files. */
async function open(files: File[]): Promise<Model> {
  const first = files.find((f) => /-00001-of-\d{5}\.gguf$/.test(f.name)) ?? files[0];
  return openModel(blobSource(first), async (name) => {
    const f = files.find((x) => x.name === name);
    if (!f) throw new QuantizeError("IO", `${name}: pick every shard of a split model (missing this one)`);
    return blobSource(f);
  });
}

async function plan(model: Model, inputs: Inputs, dryRun: boolean): Promise<ModelPlan> {
  return planModel(model, { ...inputs.settings, dryRun, imatrix: inputs.imatrix ? blobSource(inputs.imatrix) : undefined });
}

async function handle(msg: Exclude<ToWorker, { type: "cancel" }>): Promise<void> {
  const model = await open(msg.inputs.files);
  try {
    // the page shows the plan as --dry-run would; the run plans again, reading the imatrix in full
    const p = await plan(model, msg.inputs, msg.type === "plan");
    if (msg.type === "plan") {
      post({ type: "plan", id: msg.id, plan: planJson(p.plan, p.preset.name), summary: summaryLines(p.plan), rules: ruleLines(p.rules, p.plan.ruleCounts), log: [...p.plan.log] });
      return;
    }
    if (p.plan.files.length !== 1) throw new QuantizeError("USAGE", "the page writes one output file");
    const root = await opfsRoot();
    // earlier outputs stay until the next run: one model's worth of storage at most
    for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) await root.removeEntry(name).catch(() => {});
    const need = p.plan.files[0].fileSize;
    const { quota, usage } = await navigator.storage.estimate();
    if (quota !== undefined && quota - (usage ?? 0) < need) {
      throw new QuantizeError("IO", `${msg.output}: the browser's storage for this page has ${mib(quota - (usage ?? 0))} MiB free, the output needs ${mib(need)} MiB`);
    }
    const sink = await opfsSink(msg.output);
    const controller = new AbortController();
    current = controller;
    const t0 = performance.now();
    let last = 0;
    await quantize(model, p.plan, sink, {
      signal: controller.signal,
      runner: webWorkerRunner(msg.threads, model.sources.map((_, i) => shardFile(msg.inputs.files, model, i)), [sink], () => new JobWorker()),
      onProgress: (done, total) => {
        const now = performance.now();
        if (now - last > 50 || done === total) { last = now; post({ type: "progress", id: msg.id, done, total }); }
      },
    });
    post({ type: "done", id: msg.id, output: msg.output, bytes: p.plan.files[0].fileSize, ms: performance.now() - t0 });
  } finally {
    current = undefined;
    await model.close();
  }
}

/** The File behind shard i (sources are named after the files they read). */
function shardFile(files: File[], model: Model, i: number): File {
  return files.find((f) => f.name === model.sources[i].name)!;
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === "cancel") {
    current?.abort();
    return;
  }
  handle(msg).catch((err) => {
    if (err instanceof QuantizeError && err.code === "CANCELLED") post({ type: "cancelled", id: msg.id });
    else post({ type: "error", id: msg.id, error: { message: (err as Error)?.message ?? String(err), code: err instanceof QuantizeError ? err.code : undefined } });
  });
};
