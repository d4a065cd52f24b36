// A pool worker (worker_threads, in Node or Deno): owns one kernel instance and its own file handles, and runs
// the jobs it is sent, in order, through a JobPipeline. See src/pool.ts for the protocol.

import { parentPort, workerData } from "node:worker_threads";
import { openSink, openSource } from "./io/node.js";
import type { ByteSink, ByteSource } from "./io/types.js";
import type { Job } from "./jobs.js";
import { Kernels } from "./kernels.js";
import { JobPipeline } from "./pipeline.js";
import { toFailure } from "./schedule.js";

interface Init { module: WebAssembly.Module; sources: string[]; sinks: string[] }

const init = workerData as Init;
const kernels = new Kernels(init.module);
let files: Promise<{ sources: ByteSource[]; sinks: ByteSink[] }> | undefined;
const open = () => (files ??= (async () => ({
  sources: await Promise.all(init.sources.map((p) => openSource(p))),
  sinks: await Promise.all(init.sinks.map((p) => openSink(p))),
}))());
// the pool keeps a few jobs in flight per worker, so the next job's read overlaps this one's kernel
let pipeline: Promise<JobPipeline> | undefined;
const jobs = () => (pipeline ??= open().then((f) => new JobPipeline(kernels, f.sources, f.sinks)));
// ready once the kernels are instantiated and the files open (a failure to open is reported by the first job)
jobs().then(() => parentPort!.postMessage({ ready: true }), () => parentPort!.postMessage({ ready: true }));

parentPort!.on("message", async (msg: { id: number; job: Job } | { close: true }) => {
  if ("close" in msg) {
    if (pipeline) await (await pipeline).idle();
    if (files) {
      const f = await files;
      await Promise.all([...f.sources.map((s) => s.close()), ...f.sinks.map((s) => s.commit())]);
    }
    parentPort!.postMessage({ closed: true });
    return;
  }
  try {
    await (await jobs()).run(msg.job);
    parentPort!.postMessage({ id: msg.id });
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: toFailure(e) });
  }
});
