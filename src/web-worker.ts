// A Web Worker that runs jobs for webWorkerRunner (src/web-pool.ts): it owns one kernel instance,
// reads its chunk of the picked file(s) with Blob.slice straight into kernel memory, and posts the
// output bytes back (transferred) for the owner of the sink to write.
//   in:  { init: { module, sources: Blob[] } }, then { id, job }
//   out: { id, data, position } or { id, error }

import { blobSource } from "./io/blob.js";
import type { ByteSink, ByteSource } from "./io/types.js";
import { runJob, type Job } from "./jobs.js";
import { Kernels } from "./kernels.js";
import { toFailure } from "./schedule.js";

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as Scope;

let kernels: Kernels | undefined;
let sources: ByteSource[] = [];

scope.onmessage = async (e: MessageEvent<{ init: { module: WebAssembly.Module; sources: Blob[] } } | { id: number; job: Job }>) => {
  const msg = e.data;
  if ("init" in msg) {
    kernels = new Kernels(msg.init.module);
    sources = msg.init.sources.map((b) => blobSource(b));
    return;
  }
  try {
    let out: { data: Uint8Array; position: number } | undefined;
    // runJob writes each job's output once; keep a copy (the view is kernel memory)
    const capture: ByteSink = {
      name: "worker",
      write: async (data, position) => { out = { data: data.slice(), position }; },
      commit: async () => {},
      abort: async () => {},
    };
    await runJob(kernels!, sources[msg.job.shard], capture, msg.job);
    scope.postMessage({ id: msg.id, data: out!.data, position: out!.position }, [out!.data.buffer]);
  } catch (err) {
    scope.postMessage({ id: msg.id, error: toFailure(err) });
  }
};
