// The whole job on files in Node: open (every shard of a split model), plan, write each output to a
// temporary name, rename when complete. The CLI is a thin layer over this; tests call it directly.

import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { QuantizeError } from "./errors.js";
import { summaryLines, tensorLine } from "./format.js";
import { createSink, openSource, type NodeSink } from "./io/node.js";
import { workerRunner } from "./pool.js";
import { Kernels } from "./kernels.js";
import { openImatrix, openShards, outputNames, splitPath, type OpenedModel } from "./open.js";
import { JobPipeline } from "./pipeline.js";
import { makePlan, type Plan, type PlanOptions } from "./plan.js";
import { checkRunnable, execute, inlineRunner } from "./quantize.js";

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
  /** source bytes done and in all, after every job */
  readonly onProgress?: (done: number, total: number) => void;
  /** worker threads (1: everything on this thread); the output never depends on it */
  readonly threads?: number;
}

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
async function openModel(input: string): Promise<OpenedModel> {
  return openShards(await openSource(input), openSource);
}

export async function quantizeFile(opts: RunOptions): Promise<Plan> {
  const log = opts.log ?? (() => {});
  let imatrix: PlanOptions["imatrix"];
  if (opts.imatrixPath) {
    imatrix = await openImatrix(await openSource(opts.imatrixPath), { include: opts.includeWeights, exclude: opts.excludeWeights });
  }
  if (!opts.dryRun && !opts.keepSplit && (await sameFile(opts.input, opts.output))) {
    throw new QuantizeError("IO", `input and output files are the same: '${opts.input}'`);
  }
  const { sources, headers } = await openModel(opts.input);
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
    try {
      for (const out of paths) sinks.push(await createSink(out));
      const threads = opts.threads ?? 1;
      // this thread is one of the `threads`: it runs jobs between the workers' messages
      const runner = threads > 1
        ? workerRunner(threads - 1, { sources: sources.map((s) => s.name), sinks: sinks.map((s) => s.tempPath) }, new JobPipeline(kernels, sources, sinks))
        : inlineRunner(sources, sinks, kernels);
      await execute(plan, sinks, runner, {
        signal: opts.signal,
        onTensor: (i, t) => log(tensorLine(i, plan.nTensorsIn, t)),
        onProgress: opts.onProgress,
      });
      for (const sink of sinks) await sink.commit();
    } catch (e) {
      await Promise.all(sinks.map((s) => s.abort()));
      throw e;
    }
    for (const line of summaryLines(plan)) log(line);
    return plan;
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}
