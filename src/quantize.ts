// Plan -> output files. The headers are final before any weight is touched (the plan knows every
// size), so they are written first, with the zero padding after each tensor; then the plan's jobs
// (row chunks, src/jobs.ts) run, on this thread or on a worker pool, each reading straight into
// kernel memory and writing at its fixed offset. Memory stays at one chunk per worker whatever the
// model size, and the bytes never depend on the chunk size, the worker count or the order.

import { QuantizeError } from "./errors.js";
import type { ByteSink, ByteSource } from "./io/types.js";
import { planJobs, runJob, write, type Job } from "./jobs.js";
import { Kernels } from "./kernels.js";
import type { Plan, PlannedTensor } from "./plan.js";
import { typeName } from "./types.js";

/** Source bytes per job: big enough to amortise calls, small enough to bound memory. */
export const CHUNK_BYTES = 4 << 20;

export interface ExecuteOptions {
  /** called once per tensor when it is complete, in plan order */
  onTensor?(index: number, t: PlannedTensor): void;
  /** called after every job with the source bytes done so far and in all */
  onProgress?(done: number, total: number, job: Job): void;
  signal?: AbortSignal;
  chunkBytes?: number;
}

/** Something that runs jobs: this thread (runJobsInline) or a worker pool (src/pool.ts). */
export type JobRunner = (jobs: Iterable<Job>, onDone: (job: Job) => void, signal?: AbortSignal) => Promise<void>;

/** Runs jobs one after another on this thread. */
export function inlineRunner(sources: readonly ByteSource[], sinks: readonly ByteSink[], kernels = new Kernels()): JobRunner {
  return async (jobs, onDone, signal) => {
    for (const job of jobs) {
      if (signal?.aborted) throw new QuantizeError("CANCELLED", "cancelled");
      await runJob(kernels, sources[job.shard], sinks[job.file], job);
      onDone(job);
    }
  };
}

/** Refuses, before anything is written, a plan that needs a kernel or a source conversion the
 *  module does not have (such a plan can still be shown: --dry-run, the browser's plan table). */
export function checkRunnable(plan: Plan, kernels: Kernels): void {
  for (const t of plan.tensors) {
    if (t.copy) continue;
    if (!kernels.has(t.dstType)) throw new QuantizeError("REFUSED", `${t.name}: quantizing to ${typeName(t.dstType)} is not implemented yet (only --dry-run can plan it)`);
    if (!kernels.canRead(t.srcType)) throw new QuantizeError("REFUSED", `${t.name}: requantizing from ${typeName(t.srcType)} is not implemented yet`);
  }
}

/** Writes every output file of `plan` (sinks[f] is file f); the caller commits or aborts the sinks. */
export async function execute(plan: Plan, sinks: readonly ByteSink[], runner: JobRunner, opts: ExecuteOptions = {}): Promise<void> {
  const chunk = opts.chunkBytes ?? CHUNK_BYTES;
  for (let f = 0; f < plan.files.length; f++) {
    const file = plan.files[f];
    await write(sinks[f], file.header, 0);
    // zero padding after every tensor, the last one of each file included
    for (let j = 0; j < file.tensors.length; j++) {
      const t = plan.tensors[file.tensors[j]];
      const end = j + 1 < file.tensors.length ? plan.tensors[file.tensors[j + 1]].dstOffset : file.fileSize;
      const tail = end - (t.dstOffset + t.dstBytes);
      if (tail > 0) await write(sinks[f], new Uint8Array(tail), t.dstOffset + t.dstBytes);
    }
  }
  // per-tensor completion, reported in plan order as soon as every earlier tensor is complete
  const remaining = plan.tensors.map((t) => t.srcBytes);
  let reported = 0, done = 0;
  const total = plan.sizeIn;
  const report = () => {
    while (reported < plan.tensors.length && remaining[reported] === 0) {
      opts.onTensor?.(reported, plan.tensors[reported]);
      reported++;
    }
  };
  report(); // empty tensors
  await runner(planJobs(plan, chunk), (job) => {
    remaining[job.tensor] -= job.srcBytes;
    done += job.srcBytes;
    opts.onProgress?.(done, total, job);
    report();
  }, opts.signal);
  if (reported !== plan.tensors.length) throw new Error("internal: some tensors were not completed");
}
