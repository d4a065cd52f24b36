// A `recommend` worker (Node worker_threads): measures the tensors it is sent on its own kernel
// instance and file handles, and posts back the errors. See measureAll in src/recommend.ts.

import { parentPort, workerData } from "node:worker_threads";
import { openSource } from "./io/node.js";
import { Kernels } from "./kernels.js";
import { measureTensor, type MeasureJob } from "./recommend.js";

const init = workerData as { module: WebAssembly.Module; sources: string[] };
const kernels = new Kernels(init.module);
const sources = Promise.all(init.sources.map((p) => openSource(p)));

parentPort!.on("message", async (msg: { id: number; job: MeasureJob } | { close: true }) => {
  if ("close" in msg) {
    await Promise.all((await sources).map((s) => s.close()));
    parentPort!.postMessage({ closed: true });
    return;
  }
  try {
    const { tensor, types, maxRows, perRow } = msg.job;
    const errors = await measureTensor(kernels, (await sources)[tensor.shard], tensor, types, maxRows, perRow);
    parentPort!.postMessage({ id: msg.id, errors: [...errors] });
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: (e as Error)?.message ?? String(e) });
  }
});
