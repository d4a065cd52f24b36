// The whole job on files in Node: open (every shard of a split model), plan, write each output to a
// temporary name, rename when complete. The CLI is a thin layer over this; tests call it directly.

import { stat, unlink } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { QuantizeError, ioError } from "./errors.js";
import { summaryLines, tensorLine } from "./format.js";
import { createSink, openSource, type NodeSink } from "./io/node.js";
import { workerRunner } from "./pool.js";
import { Kernels } from "./kernels.js";
import { openImatrix, openShards, outputNames, splitPath, type OpenedModel } from "./open.js";
import { JobPipeline } from "./pipeline.js";
import { makePlan, type Plan, type PlanOptions } from "./plan.js";
import { CHUNK_BYTES, checkRunnable, execute, inlineRunner } from "./quantize.js";
import { planJobs } from "./jobs.js";
import type { ByteSource } from "./io/types.js";

export { splitPath };

export interface RunOptions extends Omit<PlanOptions, "imatrix"> {
  readonly input: string;
  /** ignored with dryRun; with keepSplit, the prefix of the shard names */
  readonly output: string;
  readonly imatrixPath?: string;
  readonly includeWeights?: readonly string[];
  readonly excludeWeights?: readonly string[];
  /** where llama.cpp-style log lines go (default: nowhere) */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** source bytes done and in all, after every job, and the name of that job's tensor */
  readonly onProgress?: (done: number, total: number, tensor: string) => void;
  /** worker threads (1: everything on this thread); the output never depends on it */
  readonly threads?: number;
  /** how files are opened (default: Node files); worker threads (threads > 1) open the paths themselves */
  readonly io?: FileIo;
}

/** The file operations of a run, replaceable so that tests can inject faults. */
export interface FileIo {
  openSource(path: string): Promise<ByteSource>;
  createSink(path: string): Promise<NodeSink>;
}

const nodeIo: FileIo = { openSource, createSink };

/** The most worker threads a run starts, whatever it is asked for. */
export const MAX_WORKERS = Math.max(8, 4 * availableParallelism());

/** std::filesystem::equivalent: the same file, through any path, link or hard link. */
async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  try {
    const [sa, sb] = await Promise.all([stat(a), stat(b)]);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** Opens a model: one file, or every shard of a split model when given its first shard. */
export async function openModel(input: string, io: FileIo = nodeIo): Promise<OpenedModel> {
  return openShards(await io.openSource(input), (path) => io.openSource(path));
}

/** Loads and filters an importance matrix file as llama-quantize does (see openImatrix). */
export async function loadImatrixFile(path: string, filter: { includeWeights?: readonly string[]; excludeWeights?: readonly string[] } = {}, io: FileIo = nodeIo): Promise<PlanOptions["imatrix"]> {
  return openImatrix(await io.openSource(path), { include: filter.includeWeights, exclude: filter.excludeWeights });
}

export async function quantizeFile(opts: RunOptions): Promise<Plan> {
  const log = opts.log ?? (() => {});
  const io = opts.io ?? nodeIo;
  const imatrix = opts.imatrixPath ? await loadImatrixFile(opts.imatrixPath, opts, io) : undefined;
  if (!opts.dryRun && !opts.keepSplit && (await sameFile(opts.input, opts.output))) {
    throw new QuantizeError("IO", `input and output files are the same: '${opts.input}'`);
  }
  const { sources, headers } = await openModel(opts.input, io);
  try {
    const plan = makePlan(headers, opts.input, { ...opts, imatrix });
    for (const line of plan.log) log(line);
    if (opts.dryRun) {
      plan.tensors.forEach((t, i) => log(tensorLine(i, plan.nTensorsIn, t, true)));
      for (const line of summaryLines(plan)) log(line);
      return plan;
    }
    const kernels = new Kernels();
    checkRunnable(plan, kernels);
    const paths = outputNames(plan, opts.output);
    for (const out of paths) {
      for (let s = 0; s < sources.length; s++) {
        if (await sameFile(sources[s].name, out)) throw new QuantizeError("IO", `input and output files are the same: '${sources[s].name}'`);
      }
    }
    const sinks: NodeSink[] = [];
    const committed: string[] = [];
    try {
      for (const out of paths) sinks.push(await io.createSink(out));
      // a worker per job at most, and not many more than cores (each costs an isolate and its
      // memory; `... Q8_0 100000` must not start 100000 of them): the bytes do not depend on it
      let jobs = 0;
      for (const _ of planJobs(plan, CHUNK_BYTES)) if (++jobs >= MAX_WORKERS) break;
      const threads = Math.max(1, Math.min(opts.threads ?? 1, jobs, MAX_WORKERS));
      // this thread is one of the `threads`: it runs jobs between the workers' messages
      const runner = threads > 1
        ? workerRunner(threads - 1, { sources: sources.map((s) => s.name), sinks: sinks.map((s) => s.tempPath) }, new JobPipeline(kernels, sources, sinks))
        : inlineRunner(sources, sinks, kernels);
      await execute(plan, sinks, runner, {
        signal: opts.signal,
        onTensor: (i, t) => log(tensorLine(i, plan.nTensorsIn, t)),
        onProgress: opts.onProgress && ((done, total, job) => opts.onProgress!(done, total, job.name)),
      });
      for (const sink of sinks) {
        await sink.commit().catch((e: unknown) => { throw ioError(e, sink.name, "write"); });
        committed.push(sink.name);
      }
    } catch (e) {
      await Promise.all(sinks.map((s) => s.abort()));
      // a shard that failed to commit after others did: remove those too, so no partial set is left
      await Promise.all(committed.map((p) => unlink(p).catch(() => {})));
      throw e;
    }
    for (const line of summaryLines(plan)) log(line);
    return plan;
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}
