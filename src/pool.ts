// A worker pool for Node and Deno (worker_threads): N workers, each with its own kernel instance
// (compiled once here, the WebAssembly.Module posted to each) and its own handles on the input
// shards and the temporary outputs. Jobs are handed out as workers free up (src/schedule.ts). Every
// job writes at its own fixed offset: order never matters.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Job } from "./jobs.js";
import { kernelsModule } from "./kernels.js";
import type { JobPipeline } from "./pipeline.js";
import type { JobRunner } from "./quantize.js";
import { fromFailure, runOnPorts, type JobFailure, type JobPort } from "./schedule.js";

/** How to start a worker: the compiled <name>.js next to this file; or, running from TypeScript
 *  sources (as the tests do), a bootstrap that registers tsx's loader and imports <name>.ts. */
export function workerScript(name = "worker"): { script: URL | string; eval: boolean } {
  const js = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js, eval: false };
  // Deno runs TypeScript itself
  if ("Deno" in globalThis) return { script: new URL("./worker.ts", import.meta.url), eval: false };
  const tsxDir = dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const api = pathToFileURL(join(tsxDir, "dist", "esm", "api", "index.mjs")).href;
  const ts = new URL(`./${name}.ts`, import.meta.url).href;
  return { script: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`, eval: true };
}

export interface PoolFiles {
  /** input shard paths, in shard order */
  readonly sources: readonly string[];
  /** where each output file is being written (its temporary path) */
  readonly sinks: readonly string[];
}

/** A worker_threads worker as a JobPort: jobs in flight matched by id. */
function nodePort(w: Worker): JobPort & { close(): Promise<void> } {
  let nextId = 0;
  const pending = new Map<number, { resolve(): void; reject(e: unknown): void }>();
  let started!: () => void;
  // a worker that fails to start settles this too: its first job then fails and stops the run
  const ready = new Promise<void>((resolve) => { started = resolve; });
  const fail = (e: unknown) => { started(); const all = [...pending.values()]; pending.clear(); for (const p of all) p.reject(e); };
  w.on("message", (msg: { id?: number; error?: JobFailure; ready?: true }) => {
    if (msg.ready) started();
    const p = msg.id === undefined ? undefined : pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id!);
    if (msg.error) p.reject(fromFailure(msg.error));
    else p.resolve();
  });
  w.on("error", fail);
  w.on("exit", (code) => { if (code !== 0) fail(new Error(`worker exited with code ${code}`)); });
  return {
    ready,
    run: (job) => new Promise<void>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      w.postMessage({ id, job });
    }),
    // let the worker flush and close its handles before the main thread commits
    close: () => new Promise<void>((resolve) => {
      w.on("message", (msg: { closed?: true }) => { if (msg.closed) resolve(); });
      w.postMessage({ close: true });
    }),
  };
}

/** A JobRunner over `threads` workers, ended when the jobs are done or one failed; `local`, when
 *  given, takes jobs too, on this thread (a pipeline over the caller's own kernels and handles:
 *  this thread is otherwise idle, and it spares a worker's start-up). */
export function workerRunner(threads: number, files: PoolFiles, local?: JobPipeline): JobRunner {
  return async (jobs, onDone, signal) => {
    const script = workerScript();
    const module = kernelsModule();
    const workers = Array.from({ length: threads }, () => new Worker(script.script, {
      workerData: { module, sources: files.sources, sinks: files.sinks },
      eval: script.eval,
    }));
    try {
      const ports = workers.map(nodePort);
      await runOnPorts(local ? [local, ...ports] : ports, jobs, onDone, signal, 3);
      await Promise.all(ports.map((p) => p.close()));
    } finally {
      await local?.idle();
      await Promise.all(workers.map((w) => w.terminate()));
    }
  };
}

export type { Job };
