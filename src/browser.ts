// The library for browsers: src/index.ts plus OPFS output (written in a worker) and a Web Worker
// pool. Inputs are picked files: blobSource(file) (exported by src/index.ts).

import type { ByteSink } from "./io/types.js";
import type { JobRunner } from "./quantize.js";
import { webWorkerRunner as runnerOn, type SpawnWorker } from "./web-pool.js";

export * from "./index.js";
export { opfsRoot, opfsSink, PART, type OpfsSink } from "./io/opfs.js";
export type { SpawnWorker };

/** The job worker shipped beside this file in the package. */
const packagedWorker: SpawnWorker = () => new Worker(new URL("./web-worker.js", import.meta.url), { type: "module" });

/** A JobRunner over `threads` Web Workers reading `sources` (one Blob per input shard) and writing
 *  through `sinks` on this thread (see src/web-pool.ts). */
export function webWorkerRunner(threads: number, sources: readonly Blob[], sinks: readonly ByteSink[], spawn: SpawnWorker = packagedWorker): JobRunner {
  return runnerOn(threads, sources, sinks, spawn);
}
