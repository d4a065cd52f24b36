// A worker pool for Node (worker_threads): N workers, each with its own kernel instance (compiled
// once here, the WebAssembly.Module posted to each) and its own handles on the input shards and the
// temporary outputs. Jobs are handed out as workers free up, at most one in flight per worker, so
// memory stays at N chunks. Every job writes at its own fixed offset: order never matters.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { QuantizeError, type ErrorCode } from "./errors.js";
import type { Job } from "./jobs.js";
import { kernelsModule } from "./kernels.js";
import type { JobRunner } from "./quantize.js";

/** How to start a worker: the compiled <name>.js next to this file; or, running from TypeScript
 *  sources (as the tests do), a bootstrap that registers tsx's loader and imports <name>.ts. */
export function workerScript(name = "worker"): { script: URL | string; eval: boolean } {
  const js = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js, eval: false };
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

/** A JobRunner over `threads` workers; `close()` ends them (also called on failure). */
export function workerRunner(threads: number, files: PoolFiles): JobRunner {
  return async (jobs, onDone, signal) => {
    const script = workerScript();
    const module = kernelsModule();
    const workers = Array.from({ length: threads }, () => new Worker(script.script, {
      workerData: { module, sources: files.sources, sinks: files.sinks },
      eval: script.eval,
    }));
    const iterator = jobs[Symbol.iterator]();
    let nextId = 0;
    let failure: unknown;
    try {
      await new Promise<void>((resolve, reject) => {
        let busy = 0;
        let finished = false;
        const fail = (e: unknown) => {
          if (finished) return;
          finished = true;
          reject(e);
        };
        const feed = (w: Worker) => {
          if (finished) return;
          if (signal?.aborted) return fail(new QuantizeError("CANCELLED", "cancelled"));
          const next = iterator.next();
          if (next.done) {
            if (busy === 0) { finished = true; resolve(); }
            return;
          }
          const id = nextId++;
          const job = next.value;
          busy++;
          const onMessage = (msg: { id: number; error?: { message: string; code?: ErrorCode } }) => {
            if (msg.id !== id) return;
            w.off("message", onMessage);
            busy--;
            if (msg.error) return fail(msg.error.code ? new QuantizeError(msg.error.code, msg.error.message) : new Error(msg.error.message));
            onDone(job);
            feed(w);
          };
          w.on("message", onMessage);
          w.postMessage({ id, job });
        };
        for (const w of workers) {
          w.on("error", fail);
          w.on("exit", (code) => { if (code !== 0) fail(new Error(`worker exited with code ${code}`)); });
          feed(w);
        }
      });
      // let each worker flush and close its handles before the main thread commits
      await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
        w.once("message", () => resolve());
        w.postMessage({ close: true });
      })));
    } catch (e) {
      failure = e;
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
    if (failure !== undefined) throw failure;
  };
}

export type { Job };
