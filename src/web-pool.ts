// A worker pool of Web Workers (browsers, Deno): each worker runs jobs on its own kernel instance
// and reads the input Blobs itself; the output bytes come back here and are written to the sinks,
// so the sinks need not be shareable (an OPFS access handle belongs to one worker). Memory stays at
// a few chunks per worker (three jobs in flight, two kernel slots).

import { kernelsModule } from "./kernels.js";
import type { ByteSink } from "./io/types.js";
import type { JobRunner } from "./quantize.js";
import { fromFailure, runOnPorts, type JobFailure, type JobPort } from "./schedule.js";

/** Starts one job worker (src/web-worker.ts). Bundlers want to see the `new URL(...)` where the
 *  worker is made, so a page passes its own (src/browser.ts has the published package's). */
export type SpawnWorker = () => Worker;

function webPort(w: Worker, sinks: readonly ByteSink[]): JobPort {
  let nextId = 0;
  const pending = new Map<number, { file: number; resolve(): void; reject(e: unknown): void }>();
  let started!: () => void;
  const ready = new Promise<void>((resolve) => { started = resolve; });
  w.onmessage = (e: MessageEvent<{ id?: number; ready?: true; data?: Uint8Array; position?: number; error?: JobFailure }>) => {
    if (e.data.ready) return started();
    const p = e.data.id === undefined ? undefined : pending.get(e.data.id);
    if (!p) return;
    pending.delete(e.data.id!);
    if (e.data.error) return p.reject(fromFailure(e.data.error));
    sinks[p.file].write(e.data.data!, e.data.position!).then(p.resolve, p.reject);
  };
  w.onerror = (e) => {
    e.preventDefault();
    started();
    const all = [...pending.values()];
    pending.clear();
    for (const p of all) p.reject(new Error(`worker failed: ${e.message}`));
  };
  return {
    ready,
    run: (job) => new Promise<void>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { file: job.file, resolve, reject });
      w.postMessage({ id, job });
    }),
  };
}

/** A JobRunner over `threads` Web Workers reading `sources` (one Blob per input shard) and writing
 *  through `sinks` on this thread; the workers end with the run. */
export function webWorkerRunner(threads: number, sources: readonly Blob[], sinks: readonly ByteSink[], spawn: SpawnWorker): JobRunner {
  return async (jobs, onDone, signal) => {
    const module = kernelsModule();
    const workers = Array.from({ length: Math.max(1, threads) }, spawn);
    try {
      for (const w of workers) w.postMessage({ init: { module, sources, files: sinks.length } });
      // three jobs in flight per worker: its pipeline reads the next while it quantizes one
      await runOnPorts(workers.map((w) => webPort(w, sinks)), jobs, onDone, signal, 3);
    } finally {
      for (const w of workers) w.terminate();
    }
  };
}
