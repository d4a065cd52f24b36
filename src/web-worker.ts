// A Web Worker that runs jobs for webWorkerRunner (src/web-pool.ts): it owns one kernel instance,
// reads its chunk of the picked file(s) with Blob.slice straight into kernel memory, and posts the
// output bytes back (transferred) for the owner of the sink to write. Jobs go through a
// JobPipeline, as on a Node worker: the pool keeps a few in flight, so the next job's read
// overlaps this one's kernel.
//   in:  { init: { module, sources: Blob[] } }, then { id, job }
//   out: { ready: true } once, then { id, data, position } or { id, error } per job

import { blobSource } from "./io/blob.js";
import type { ByteSink } from "./io/types.js";
import type { Job } from "./jobs.js";
import { Kernels } from "./kernels.js";
import { JobPipeline } from "./pipeline.js";
import { toFailure } from "./schedule.js";

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as Scope;

let pipeline: JobPipeline | undefined;
/** the id of the job whose output goes to (file, offset): each job writes once, at its own offset */
const ids = new Map<string, number>();

/** A sink per output file that posts what is written (a copy: the view is kernel memory, reused). */
function postingSink(file: number): ByteSink {
  return {
    name: "worker",
    async write(data, position) {
      const key = `${file}:${position}`;
      const copy = data.slice();
      scope.postMessage({ id: ids.get(key), data: copy, position }, [copy.buffer]);
      ids.delete(key);
    },
    commit: async () => {},
    abort: async () => {},
  };
}

scope.onmessage = async (e: MessageEvent<{ init: { module: WebAssembly.Module; sources: Blob[]; files: number } } | { id: number; job: Job }>) => {
  const msg = e.data;
  if ("init" in msg) {
    const sinks = Array.from({ length: msg.init.files }, (_, f) => postingSink(f));
    pipeline = new JobPipeline(new Kernels(msg.init.module), msg.init.sources.map((b) => blobSource(b)), sinks);
    scope.postMessage({ ready: true });
    return;
  }
  const key = `${msg.job.file}:${msg.job.dstOffset}`;
  ids.set(key, msg.id);
  try {
    await pipeline!.run(msg.job);
  } catch (err) {
    ids.delete(key);
    scope.postMessage({ id: msg.id, error: toFailure(err) });
  }
};
