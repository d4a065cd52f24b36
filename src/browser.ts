// The library for browsers: src/index.ts plus OPFS output (written in a worker) and a Web Worker
// pool. Inputs are picked files: blobSource(file) (exported by src/index.ts).

export * from "./index.js";
export { opfsRoot, opfsSink, PART, type OpfsSink } from "./io/opfs.js";
export { webWorkerRunner, type SpawnWorker } from "./web-pool.js";
