// Runs jobs (src/jobs.ts) on one kernel instance with their I/O overlapped with the kernels: while
// job i is quantized, job i+1's source is already being read into the other of two slots of kernel
// memory, and job i-1's output is still being written from it. Reads and writes run on the
// runtime's I/O threads (libuv in Node), so a whole run no longer waits for the disk between
// chunks. Each job still reads, validates, quantizes, validates and writes exactly as runJob does,
// so the bytes are the same; only the waiting moves.
//
// Memory: two source and two destination regions of the largest job seen so far. Kernel memory
// grows (which detaches every view of it) only after all pending I/O has finished.

import { QuantizeError } from "./errors.js";
import type { ByteSink, ByteSource } from "./io/types.js";
import { computeJob, jobBytes, read, write, type Job } from "./jobs.js";
import type { Kernels, Regions } from "./kernels.js";

interface Entry {
  readonly job: Job;
  resolve(): void;
  reject(e: unknown): void;
  slot?: number;
  read?: Promise<void>;
}

const align = (x: number) => Math.ceil(x / 64) * 64;

export class JobPipeline {
  private readonly queue: Entry[] = [];
  private running: Promise<void> | undefined;
  /** per slot: settles when the last write from that slot is done */
  private readonly slotFree: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
  private nextSlot = 0;
  private cap = { n: 0, src: 0, dst: 0 };
  private base = 0;
  private imatrix = 0;

  constructor(private readonly k: Kernels, private readonly sources: readonly ByteSource[], private readonly sinks: readonly ByteSink[]) {}

  /** Queues a job; resolves when its output is written (jobs are processed in the order given). */
  run(job: Job): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.running ??= this.loop().finally(() => { this.running = undefined; });
    });
  }

  /** Settles when every queued job and every pending write is done (failed or not). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
    await Promise.allSettled(this.slotFree);
  }

  private async loop(): Promise<void> {
    for (let e = this.queue.shift(); e; e = this.queue.shift()) {
      try {
        await this.process(e);
      } catch (err) {
        e.reject(err);
      }
    }
  }

  private fits(job: Job): boolean {
    const { src, dst } = jobBytes(job);
    return job.n <= this.cap.n && src <= this.cap.src && dst <= this.cap.dst;
  }

  /** Lays the two slots out again for at least `job`, once nothing is in flight. */
  private async grow(job: Job): Promise<void> {
    await Promise.allSettled(this.slotFree);
    const { src, dst } = jobBytes(job);
    this.cap = { n: Math.max(this.cap.n, job.n), src: align(Math.max(this.cap.src, src)), dst: align(Math.max(this.cap.dst, dst)) };
    const r = this.k.reserve(this.cap.n, 2 * this.cap.src + 2 * this.cap.dst, 0, this.cap.n);
    this.base = r.src;
    this.imatrix = r.imatrix;
  }

  private regions(slot: number): Regions {
    return { src: this.base + slot * this.cap.src, dst: this.base + 2 * this.cap.src + slot * this.cap.dst, imatrix: this.imatrix };
  }

  /** Starts reading e's source into the next slot, once that slot's last write is done. */
  private startRead(e: Entry): void {
    const slot = this.nextSlot;
    this.nextSlot ^= 1;
    e.slot = slot;
    const free = this.slotFree[slot];
    const { src } = jobBytes(e.job);
    e.read = free.then(() => read(this.sources[e.job.shard], this.k.bytes(this.regions(slot).src, src), e.job.srcOffset));
    e.read.catch(() => {}); // awaited (and reported) by process()
  }

  private async process(e: Entry): Promise<void> {
    const job = e.job;
    if (!e.read) {
      if (!this.fits(job)) await this.grow(job);
      this.startRead(e);
    }
    await e.read;
    const r = this.regions(e.slot!);
    const next = this.queue[0];
    if (next && !next.read && this.fits(next.job)) this.startRead(next);
    const o = computeJob(this.k, job, r, this.sources[job.shard].name);
    const out = this.k.bytes(o.offset, o.bytes);
    const written = write(this.sinks[job.file], out, job.dstOffset);
    this.slotFree[e.slot!] = written.catch(() => {});
    written.then(e.resolve, e.reject);
  }
}

/** Runs jobs through a pipeline with a few in flight, so the next one's read is always queued;
 *  onDone when each is written. The first failure stops the hand-out, after the rest has settled. */
export async function runPipelined(p: JobPipeline, jobs: Iterable<Job>, onDone: (job: Job) => void, signal?: AbortSignal): Promise<void> {
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for (const job of jobs) {
    if (failure) break;
    if (signal?.aborted) { failure = { error: new QuantizeError("CANCELLED", "cancelled") }; break; }
    const done: Promise<void> = p.run(job).then(() => onDone(job), (error) => { failure ??= { error }; }).finally(() => inflight.delete(done));
    inflight.add(done);
    if (inflight.size >= 3) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await p.idle();
  if (failure) throw failure.error;
}
