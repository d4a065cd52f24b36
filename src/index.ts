// The library: open a model, plan it (a preset, rules, a recipe, an importance matrix), look at the
// plan, then quantize it with progress and cancellation. Everything here goes through ByteSource
// and ByteSink (src/io/types.ts) and the one embedded WASM module, so the same code runs in Node,
// Deno and browsers; the runtime entries (src/node.ts, src/deno.ts, src/browser.ts) add their file
// I/O and worker pools. The command line (src/cli.ts) is one user of the same pieces.
//
//   const model = await openModel(source);
//   const { plan } = await planModel(model, { preset: "Q4_K_M", tensorTypes: ["attn_v=q8_0"] });
//   await quantize(model, plan, sink, { onProgress: (done, total) => ..., signal });
//   await model.close();

import { QuantizeError } from "./errors.js";
import { parsePreset, type Preset } from "./ftypes.js";
import { planJson } from "./format.js";
import type { GgufHeader } from "./gguf/read.js";
import type { ByteSink, ByteSource } from "./io/types.js";
import { Kernels } from "./kernels.js";
import { openImatrix, openShards, type Opener } from "./open.js";
import { parseKvOverride } from "./overrides.js";
import { makePlan, type Plan, type PlanOptions, type PlannedTensor } from "./plan.js";
import { CHUNK_BYTES, checkRunnable, execute, inlineRunner, type JobRunner } from "./quantize.js";
import { parseCustomQ, parseRecipe, parseTensorType, parseTypeName, type Rule } from "./rules.js";

export interface Model {
  /** the first (or only) file's name */
  readonly name: string;
  /** one per shard, in shard order */
  readonly sources: readonly ByteSource[];
  readonly headers: readonly GgufHeader[];
  close(): Promise<void>;
}

/**
 * Opens a model from its first (or only) file; reads only headers. A split model's other shards
 * are opened by name (`<prefix>-0000N-of-0000M.gguf`) with `open`.
 */
export async function openModel(first: ByteSource, open: Opener = noOpener): Promise<Model> {
  const { sources, headers } = await openShards(first, open);
  return { name: first.name, sources, headers, close: async () => { await Promise.all(sources.map((s) => s.close())); } };
}

async function noOpener(name: string): Promise<ByteSource> {
  throw new QuantizeError("IO", `${name}: this split model's other shards were not given`);
}

/** What llama-quantize's options say, as values. Rules apply in this order: `rules`, then
 *  `tensorTypes`, `customQ`, and the recipe's (see src/rules.ts for precedence between kinds). */
export interface PlanSettings extends Pick<PlanOptions, "pure" | "leaveOutputTensor" | "allowRequantize" | "pruneLayers" | "keepSplit" | "dryRun"> {
  /** a preset name (Q4_K_M) or llama_ftype number; may be left to the recipe's @preset */
  readonly preset?: string | number;
  /** a recipe's text (REGEX=TYPE lines, # comments, @preset / @output-tensor-type / @token-embedding-type) */
  readonly recipe?: string;
  /** what messages call the recipe (default "recipe") */
  readonly recipeName?: string;
  /** --tensor-type values: `PATTERN=TYPE` */
  readonly tensorTypes?: readonly string[];
  /** --custom-q values: `REGEX=TYPE,REGEX=TYPE` */
  readonly customQ?: readonly string[];
  /** rules already parsed (src/rules.ts) */
  readonly rules?: readonly Rule[];
  /** --imatrix: a legacy .dat or GGUF importance matrix; its name is written into the output */
  readonly imatrix?: ByteSource;
  readonly includeWeights?: readonly string[];
  readonly excludeWeights?: readonly string[];
  /** type names, as --output-tensor-type / --token-embedding-type */
  readonly outputTensorType?: string;
  readonly tokenEmbeddingType?: string;
  /** --override-kv values: `KEY=TYPE:VALUE` */
  readonly overrides?: readonly string[];
}

export interface ModelPlan {
  readonly plan: Plan;
  readonly preset: Preset;
  /** every user rule, in the order they apply (plan.ruleCounts follows it) */
  readonly rules: readonly Rule[];
}

/** Plans a model: every tensor's type, the reason, its size and the output layout. Throws
 *  QuantizeError where llama-quantize refuses. */
export async function planModel(model: Model, settings: PlanSettings): Promise<ModelPlan> {
  const recipe = settings.recipe !== undefined ? parseRecipe(settings.recipe, settings.recipeName ?? "recipe") : undefined;
  const presetArg = settings.preset !== undefined ? String(settings.preset) : recipe?.options.preset;
  if (presetArg === undefined) throw new QuantizeError("USAGE", "no preset given (and no @preset in the recipe)");
  const preset = parsePreset(presetArg);
  if (!preset) throw new QuantizeError("USAGE", `invalid ftype '${presetArg}'`);
  const rules = [
    ...(settings.rules ?? []),
    ...(settings.tensorTypes ?? []).map((t) => parseTensorType(t)),
    ...(settings.customQ ?? []).flatMap((q) => parseCustomQ(q)),
    ...(recipe?.rules ?? []),
  ];
  const imatrix = settings.imatrix
    ? await openImatrix(settings.imatrix, { include: settings.includeWeights, exclude: settings.excludeWeights })
    : undefined;
  const typeOption = (name: string | undefined, option: string, fromRecipe: number | undefined) =>
    name !== undefined ? parseTypeName(name, option) : fromRecipe;
  const plan = makePlan(model.headers, model.name, {
    ftype: preset.ftype,
    onlyCopy: preset.name === "COPY",
    pure: !!settings.pure,
    leaveOutputTensor: !!settings.leaveOutputTensor,
    allowRequantize: !!settings.allowRequantize,
    outputTensorType: typeOption(settings.outputTensorType, "--output-tensor-type", recipe?.options.outputTensorType),
    tokenEmbeddingType: typeOption(settings.tokenEmbeddingType, "--token-embedding-type", recipe?.options.tokenEmbeddingType),
    rules,
    pruneLayers: settings.pruneLayers ? [...new Set(settings.pruneLayers)].sort((a, b) => a - b) : undefined,
    overrides: (settings.overrides ?? []).map(parseKvOverride),
    keepSplit: !!settings.keepSplit,
    imatrix,
    dryRun: !!settings.dryRun,
  });
  return { plan, preset, rules };
}

export interface QuantizeProgress {
  /** source bytes done and in all, after every job */
  onProgress?(done: number, total: number): void;
  /** each tensor when complete, in plan order */
  onTensor?(index: number, tensor: PlannedTensor): void;
  /** stops after the jobs in flight; the sinks are aborted and the promise rejects (code CANCELLED) */
  signal?: AbortSignal;
  /** who runs the jobs (default: this thread); see workerRunner (Node, Deno) and webWorkerRunner (browsers) */
  runner?: JobRunner;
  /** source bytes per job (default 4 MiB); the bytes never depend on it */
  chunkBytes?: number;
}

/**
 * Writes the plan's output(s) into `sinks` (one per plan.files entry) and commits them; on failure
 * or cancellation every sink is aborted, so nothing is left under a final name.
 */
export async function quantize(model: Model, plan: Plan, sinks: ByteSink | readonly ByteSink[], opts: QuantizeProgress = {}): Promise<void> {
  const all = Array.isArray(sinks) ? (sinks as readonly ByteSink[]) : [sinks as ByteSink];
  try {
    if (all.length !== plan.files.length) throw new QuantizeError("USAGE", `the plan writes ${plan.files.length} file(s), ${all.length} sink(s) given`);
    const kernels = new Kernels();
    checkRunnable(plan, kernels);
    await execute(plan, all, opts.runner ?? inlineRunner(model.sources, all, kernels), {
      signal: opts.signal, chunkBytes: opts.chunkBytes ?? CHUNK_BYTES,
      onProgress: opts.onProgress && ((done, total) => opts.onProgress!(done, total)),
      onTensor: opts.onTensor,
    });
    if (opts.signal?.aborted) throw new QuantizeError("CANCELLED", "cancelled");
    for (const sink of all) await sink.commit();
  } catch (e) {
    await Promise.all(all.map((s) => s.abort()));
    throw e;
  }
}

export { ERRORS, QuantizeError, type ErrorCode } from "./errors.js";
export { PRESETS, parsePreset, ftypeName, type Preset } from "./ftypes.js";
export { planJson, summaryLines, tensorLine, ruleLines } from "./format.js";
export type { GgufHeader, GgufTensorInfo } from "./gguf/read.js";
export { blobSource } from "./io/blob.js";
export { memorySink, memorySource, type MemorySink } from "./io/memory.js";
export type { ByteSink, ByteSource } from "./io/types.js";
export { Kernels, kernelsModule } from "./kernels.js";
export { outputNames, splitPath, type Opener } from "./open.js";
export type { Plan, PlannedFile, PlannedTensor } from "./plan.js";
export { inlineRunner, type JobRunner } from "./quantize.js";
export { effectiveRecipe, formatRecipe, parseCustomQ, parseRecipe, parseTensorType, type Rule } from "./rules.js";
export { TYPES, bitsPerWeight, typeName, type GgmlType } from "./types.js";
export type PlanJson = ReturnType<typeof planJson>;
