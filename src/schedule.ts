// Hands jobs to a set of workers, whatever kind they are (Node worker_threads, Web Workers): each
// worker takes the next job as soon as it is free, with at most `depth` in flight, so memory stays
// at a chunk or two per worker. The first failure (or the signal) stops the hand-out; jobs already running
// finish or fail on their own, and the caller ends the workers.

import { QuantizeError, type ErrorCode } from "./errors.js";
import type { Job } from "./jobs.js";

/** One worker as the scheduler sees it: runs a job, resolves when its output is written. */
export interface JobPort {
  run(job: Job): Promise<void>;
  /** settles when the worker can start a job at once; until then it takes none, so a worker still
   *  booting does not hold jobs that a ready one could be running (short runs end before it is up) */
  readonly ready?: Promise<unknown>;
}

/** What a worker posts back for a job that failed (errors do not survive postMessage as classes). */
export interface JobFailure {
  readonly message: string;
  readonly code?: ErrorCode;
}

export function toFailure(e: unknown): JobFailure {
  return { message: (e as Error)?.message ?? String(e), code: e instanceof QuantizeError ? e.code : undefined };
}

export function fromFailure(f: JobFailure): Error {
  return f.code ? new QuantizeError(f.code, f.message) : new Error(f.message);
}

/** depth: jobs in flight per worker (a worker that pipelines its I/O, src/pipeline.ts, wants 2-3;
 *  more only delays the hand-out to a faster worker). */
export async function runOnPorts(ports: readonly JobPort[], jobs: Iterable<Job>, onDone: (job: Job) => void, signal?: AbortSignal, depth = 1): Promise<void> {
  const iterator = jobs[Symbol.iterator]();
  let stopped = false;
  await Promise.all(ports.flatMap((port) => Array.from({ length: depth }, () => port)).map(async (port) => {
    await port.ready;
    for (;;) {
      if (stopped) return;
      if (signal?.aborted) {
        stopped = true;
        throw new QuantizeError("CANCELLED", "cancelled");
      }
      const next = iterator.next();
      if (next.done) return;
      try {
        await port.run(next.value);
      } catch (e) {
        stopped = true;
        throw e;
      }
      onDone(next.value);
    }
  }));
}
