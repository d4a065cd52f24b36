// The whole job on files in Node: open (every shard of a split model), plan, write each output to a
// temporary name, rename when complete. The CLI is a thin layer over this; tests call it directly.

import { stat, unlink } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { QuantizeError, ioError } from "./errors.js";
import { summaryLines, tensorLine } from "./format.js";
import { getI32, getU16, readGgufHeader, type GgufHeader } from "./gguf/read.js";
import { filterImatrix, loadImatrix } from "./imatrix.js";
import { createSink, openSource, type NodeSink } from "./io/node.js";
import type { ByteSource } from "./io/types.js";
import { workerRunner } from "./pool.js";
import { Kernels } from "./kernels.js";
import { makePlan, type Plan, type PlanOptions } from "./plan.js";
import { CHUNK_BYTES, execute, inlineRunner } from "./quantize.js";
import { planJobs } from "./jobs.js";
import { typeName } from "./types.js";

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

/** llama_split_path: `<prefix>-%05d-of-%05d.gguf` with a 1-based shard number. */
export function splitPath(prefix: string, index: number, count: number): string {
  return `${prefix}-${String(index + 1).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.gguf`;
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
async function openModel(input: string, io: FileIo): Promise<{ sources: ByteSource[]; headers: GgufHeader[] }> {
  const sources: ByteSource[] = [];
  const headers: GgufHeader[] = [];
  try {
    sources.push(await io.openSource(input));
    headers.push(await readGgufHeader(sources[0]));
    const count = getU16(headers[0], "split.count") ?? 0;
    if (count > 1) {
      // llama_model_loader's get_key: both keys are required in a split model's first file
      const no = getU16(headers[0], "split.no");
      if (no === undefined) throw new QuantizeError("BAD_FILE", `${input}: key not found in model: split.no`);
      if (no !== 0) throw new QuantizeError("BAD_FILE", `${input}: illegal split file idx: ${no}, the model must be given by its first split`);
      const m = /^(.*)-00001-of-(\d{5})\.gguf$/.exec(input);
      if (!m || Number(m[2]) !== count) throw new QuantizeError("BAD_FILE", `${input}: a model split in ${count} files must be named <prefix>-00001-of-${String(count).padStart(5, "0")}.gguf`);
      for (let i = 1; i < count; i++) {
        const path = splitPath(m[1], i, count);
        const src = await io.openSource(path);
        sources.push(src);
        const h = await readGgufHeader(src);
        const idx = getU16(h, "split.no");
        if (idx === undefined) throw new QuantizeError("BAD_FILE", `${path}: missing key split.no in GGUF split`);
        if (idx !== i) throw new QuantizeError("BAD_FILE", `${path}: invalid split file idx: ${idx}, expected ${i}`);
        headers.push(h);
      }
      const expected = getI32(headers[0], "split.tensors.count");
      if (expected === undefined) throw new QuantizeError("BAD_FILE", `${input}: key not found in model: split.tensors.count`);
      const found = headers.reduce((a, h) => a + h.tensors.length, 0);
      if (expected !== found) throw new QuantizeError("BAD_FILE", `${input}: corrupted model: ${expected} tensors expected but ${found} found`);
    }
    return { sources, headers };
  } catch (e) {
    await Promise.all(sources.map((s) => s.close()));
    throw e;
  }
}

/** The output paths of a plan. */
export function outputPaths(plan: Plan, output: string): string[] {
  return plan.files.map((_, f) => (plan.split ? splitPath(output, f, plan.files.length) : output));
}

export async function quantizeFile(opts: RunOptions): Promise<Plan> {
  const log = opts.log ?? (() => {});
  const io = opts.io ?? nodeIo;
  let imatrix: PlanOptions["imatrix"];
  if (opts.imatrixPath) {
    const src = await io.openSource(opts.imatrixPath);
    try {
      const loaded = filterImatrix(await loadImatrix(src), { include: opts.includeWeights, exclude: opts.excludeWeights });
      // llama-quantize passes no imatrix at all when filtering leaves it empty
      if (loaded.entries.size > 0) imatrix = { data: loaded, path: opts.imatrixPath };
    } finally {
      await src.close();
    }
  }
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
    for (const t of plan.tensors) {
      if (t.copy) continue;
      if (!kernels.has(t.dstType)) throw new QuantizeError("REFUSED", `${t.name}: quantizing to ${typeName(t.dstType)} is not implemented yet (only --dry-run can plan it)`);
      if (!kernels.canRead(t.srcType)) throw new QuantizeError("REFUSED", `${t.name}: requantizing from ${typeName(t.srcType)} is not implemented yet`);
    }
    const paths = outputPaths(plan, opts.output);
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
      const runner = threads > 1
        ? workerRunner(threads, { sources: sources.map((s) => s.name), sinks: sinks.map((s) => s.tempPath) })
        : inlineRunner(sources, sinks, kernels);
      await execute(plan, sinks, runner, {
        signal: opts.signal,
        onTensor: (i, t) => log(tensorLine(i, plan.nTensorsIn, t)),
        onProgress: opts.onProgress,
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
