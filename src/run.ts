// The whole job on files in Node: open, plan, write to a temporary name, rename when complete.
// The CLI is a thin layer over this; tests call it directly.

import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { QuantizeError } from "./errors.js";
import { readGgufHeader } from "./gguf/read.js";
import { filterImatrix, loadImatrix } from "./imatrix.js";
import { createSink, openSource } from "./io/node.js";
import { makePlan, type Plan, type PlanOptions } from "./plan.js";
import { execute } from "./quantize.js";
import { summaryLines, tensorLine } from "./format.js";
import { Kernels } from "./kernels.js";
import { typeName } from "./types.js";

export interface RunOptions extends Omit<PlanOptions, "imatrix"> {
  readonly input: string;
  /** ignored (may be empty) with dryRun */
  readonly output: string;
  readonly imatrixPath?: string;
  readonly includeWeights?: readonly string[];
  readonly excludeWeights?: readonly string[];
  /** where llama.cpp-style log lines go (default: nowhere) */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
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

export async function quantizeFile(opts: RunOptions): Promise<Plan> {
  const log = opts.log ?? (() => {});
  if (!opts.dryRun && (await sameFile(opts.input, opts.output))) {
    throw new QuantizeError("IO", `input and output files are the same: '${opts.input}'`);
  }
  let imatrix: PlanOptions["imatrix"];
  if (opts.imatrixPath) {
    const src = await openSource(opts.imatrixPath);
    try {
      const loaded = filterImatrix(await loadImatrix(src), { include: opts.includeWeights, exclude: opts.excludeWeights });
      // llama-quantize passes no imatrix at all when filtering leaves it empty
      if (loaded.entries.size > 0) imatrix = { data: loaded, path: opts.imatrixPath };
    } finally {
      await src.close();
    }
  }
  const src = await openSource(opts.input);
  try {
    const header = await readGgufHeader(src);
    const plan = makePlan(header, opts.input, { ...opts, imatrix });
    for (const line of plan.log) log(line);
    if (opts.dryRun) {
      plan.tensors.forEach((t, i) => log(tensorLine(i, plan.tensors.length, t, true)));
      for (const line of summaryLines(plan)) log(line);
      return plan;
    }
    const kernels = new Kernels();
    for (const t of plan.tensors) {
      if (!t.copy && !kernels.has(t.dstType)) {
        throw new QuantizeError("REFUSED", `${t.name}: quantizing to ${typeName(t.dstType)} is not implemented yet (only --dry-run can plan it)`);
      }
    }
    const sink = await createSink(opts.output);
    try {
      await execute(plan, src, sink, {
        signal: opts.signal,
        onTensor: (i, t) => log(tensorLine(i, plan.tensors.length, t)),
      }, kernels);
      await sink.commit();
    } catch (e) {
      await sink.abort();
      throw e;
    }
    for (const line of summaryLines(plan)) log(line);
    return plan;
  } finally {
    await src.close();
  }
}
