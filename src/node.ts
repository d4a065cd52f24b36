// The library for Node: src/index.ts plus files (positional reads and writes on file handles,
// output renamed into place when complete), the worker_threads pool, and the command line.

import { openSource } from "./io/node.js";
import { openModel, type Model } from "./index.js";

export * from "./index.js";
export { openSource as fileSource, createSink as fileSink } from "./io/node.js";
export { workerRunner } from "./pool.js";
export { quantizeFile, type RunOptions } from "./run.js";
export { runCli } from "./cli.js";

/** Opens a model file by path (a split model by its first shard; the others are found beside it). */
export async function openModelFile(path: string): Promise<Model> {
  return openModel(await openSource(path), openSource);
}
