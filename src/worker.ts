// A pool worker (worker_threads, in Node or Deno): owns one kernel instance and its own file handles, and runs
// the jobs it is sent. See src/pool.ts for the protocol.

import { parentPort, workerData } from "node:worker_threads";
import { openSink, openSource } from "./io/node.js";
import type { ByteSink, ByteSource } from "./io/types.js";
import { runJob, type Job } from "./jobs.js";
import { Kernels } from "./kernels.js";
import { toFailure } from "./schedule.js";

interface Init { module: WebAssembly.Module; sources: string[]; sinks: string[] }

const init = workerData as Init;
const kernels = new Kernels(init.module);
let files: Promise<{ sources: ByteSource[]; sinks: ByteSink[] }> | undefined;
const open = () => (files ??= (async () => ({
  sources: await Promise.all(init.sources.map((p) => openSource(p))),
  sinks: await Promise.all(init.sinks.map((p) => openSink(p))),
}))());

parentPort!.on("message", async (msg: { id: number; job: Job } | { close: true }) => {
  if ("close" in msg) {
    if (files) {
      const f = await files;
      await Promise.all([...f.sources.map((s) => s.close()), ...f.sinks.map((s) => s.commit())]);
    }
    parentPort!.postMessage({ closed: true });
    return;
  }
  try {
    const f = await open();
    await runJob(kernels, f.sources[msg.job.shard], f.sinks[msg.job.file], msg.job);
    parentPort!.postMessage({ id: msg.id });
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: toFailure(e) });
  }
});
