// `gguf-quantize recommend`: per-tensor types chosen to minimise the total imatrix-weighted
// quantization error under a size budget, written as a recipe that --recipe reproduces.
//
// 1. measure: for every quantizable tensor and candidate type, quantize a deterministic sample of
//    rows with the real kernels (and the tensor's importance slice, as the quantizer would),
//    dequantize them, and sum Σ_j w_j (x_j - q_j)² (w = the imatrix column, or 1 without one);
//    scaled to the whole tensor. Rows are quantized independently, so a sampled row gets exactly
//    the bytes a full run would give it. For a matmul, this estimates E‖Δy‖² per token (assuming
//    uncorrelated inputs); for token_embd (a lookup, not a matmul) it is divided by the row count,
//    the error of one looked-up row.
// 2. allocate: a multiple-choice knapsack solved the Lagrangian way: every tensor starts at its
//    smallest type and the steps along each tensor's lower convex hull of (bytes, error) are taken
//    in order of error saved per byte while they fit; then the remaining budget is filled with
//    the best-ratio upgrades that still fit (also off the hull).
// 3. plan: the choice becomes one anchored rule per tensor (recipe rules win over the preset's
//    mixture), the real planner sizes the file, and the recipe is written compactly and checked
//    to plan the same types and bytes.
// Sizes come from the planner itself, so the prediction is the size the quantizer writes.

import { QuantizeError } from "./errors.js";
import { F, PRESETS, defaultType, parsePreset, type Preset } from "./ftypes.js";
import type { GgufHeader } from "./gguf/read.js";
import { pad } from "./gguf/read.js";
import { Kernels, kernelsModule, quantizeRows } from "./kernels.js";
import { makePlan, type Plan, type PlanOptions, type PlannedTensor } from "./plan.js";
import { requiresImatrix } from "./policy.js";
import { effectiveRecipe, parseRecipe, type Rule } from "./rules.js";
import { T, TYPES, rowBytes, tensorBytes, typeName } from "./types.js";

/** Formats made for models trained to them: ternary (TQ1_0, TQ2_0: {-1, 0, 1}·d), binary (Q1_0:
 *  ±d) and Q2_0 ({-1, 0, 1, 2}·d, no importance weighting). On ordinary weights they only look
 *  cheap; --types can still ask for them. */
const TRAINED_FOR = new Set<number>([T.TQ1_0, T.TQ2_0, T.Q1_0, T.Q2_0]);

/** Types whose kernels exist and that some llama.cpp preset uses as its base type, but TRAINED_FOR
 *  (iq1/iq2/iq3 join when their kernels do). */
export function defaultCandidates(kernels = new Kernels()): number[] {
  const presetTypes = new Set(PRESETS.map((p) => defaultType(p.ftype)).filter((t): t is number => t !== undefined));
  return TYPES.filter((t) => t.quantized && kernels.has(t.id) && presetTypes.has(t.id) && !TRAINED_FOR.has(t.id)).map((t) => t.id);
}

// ---- allocation (pure) ----

export interface Option {
  readonly type: number;
  /** bytes it adds to the budgeted size */
  readonly cost: number;
  /** weighted squared error */
  readonly error: number;
}

/** Options worth having: sorted by cost, each strictly better than every cheaper one. */
function pareto(options: readonly Option[]): Option[] {
  const sorted = [...options].sort((a, b) => a.cost - b.cost || a.error - b.error || a.type - b.type);
  const out: Option[] = [];
  for (const o of sorted) if (out.length === 0 || o.error < out[out.length - 1].error) out.push(o);
  return out;
}

/** The lower convex hull of a Pareto front (cost ascending): slopes of successive steps decrease. */
function hull(front: readonly Option[]): Option[] {
  const h: Option[] = [];
  for (const o of front) {
    while (h.length >= 2) {
      const a = h[h.length - 2], b = h[h.length - 1];
      // b lies on or above the segment a -> o: drop it
      if ((b.error - a.error) * (o.cost - a.cost) >= (o.error - a.error) * (b.cost - a.cost)) h.pop();
      else break;
    }
    h.push(o);
  }
  return h;
}

/**
 * Picks one option per item minimising Σ error with Σ cost ≤ budget (greedy on the convex hulls,
 * then a fill pass). Returns the chosen options, or undefined when even the cheapest choice is
 * over budget. Deterministic: ties go to the lower item index, then the cheaper option.
 */
export function allocate(items: readonly (readonly Option[])[], budget: number): Option[] | undefined {
  const fronts = items.map(pareto);
  if (fronts.some((f) => f.length === 0)) throw new RangeError("allocate: an item has no option");
  const hulls = fronts.map(hull);
  const pos = hulls.map(() => 0);
  const chosen: Option[] = hulls.map((h) => h[0]);
  let used = chosen.reduce((a, o) => a + o.cost, 0);
  if (used > budget) return undefined;

  // hull steps by error saved per byte; an item whose next step does not fit stops there
  const live = new Set(hulls.map((_, i) => i).filter((i) => hulls[i].length > 1));
  const slope = (i: number) => {
    const a = hulls[i][pos[i]], b = hulls[i][pos[i] + 1];
    return (a.error - b.error) / Math.max(b.cost - a.cost, 1e-300);
  };
  while (live.size > 0) {
    let best = -1, bestSlope = -Infinity;
    for (const i of live) {
      const s = slope(i);
      if (s > bestSlope) { best = i; bestSlope = s; }
    }
    const next = hulls[best][pos[best] + 1];
    const extra = next.cost - chosen[best].cost;
    if (used + extra > budget) { live.delete(best); continue; }
    used += extra;
    pos[best]++;
    chosen[best] = next;
    if (pos[best] + 1 >= hulls[best].length) live.delete(best);
  }

  // fill: any strictly better option that fits, best error saved per byte first
  for (;;) {
    let bi = -1, bo: Option | undefined, br = -Infinity;
    fronts.forEach((front, i) => {
      for (const o of front) {
        const extra = o.cost - chosen[i].cost;
        const saved = chosen[i].error - o.error;
        if (saved <= 0 || used + extra > budget) continue;
        const r = extra <= 0 ? Infinity : saved / extra;
        if (r > br) { bi = i; bo = o; br = r; }
      }
    });
    if (!bo) break;
    used += bo.cost - chosen[bi].cost;
    chosen[bi] = bo;
  }
  return chosen;
}

// ---- measurement ----

export interface MeasureOptions {
  /** rows sampled per tensor at most (default 256); rows are evenly spaced, so the choice is deterministic */
  readonly sampleRows?: number;
  readonly log?: (line: string) => void;
  /** tensors measured so far, and in all */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The rows measured: evenly spaced over all rows (experts included), at most `max`. */
export function sampleRows(nrows: number, max: number): number[] {
  if (nrows <= max) return Array.from({ length: nrows }, (_, i) => i);
  return Array.from({ length: max }, (_, i) => Math.floor(((i + 0.5) * nrows) / max));
}

interface Source {
  readInto(dst: Uint8Array, position: number): Promise<void>;
}

/** What measuring a tensor needs to know of it. */
export type MeasuredTensor = Pick<PlannedTensor, "ne" | "srcType" | "srcOffset" | "shard" | "imatrix">;

/** One tensor's measurement, as sent to a worker. */
export interface MeasureJob {
  readonly tensor: MeasuredTensor;
  readonly types: readonly number[];
  readonly maxRows: number;
  /** token_embd: the error of one looked-up row */
  readonly perRow: boolean;
}

/**
 * Measures every job, on this thread or on `threads` workers (each with its own kernel instance
 * and file handles, at most one tensor in flight each); the results never depend on the count.
 */
async function measureAll(jobs: readonly MeasureJob[], sources: readonly Source[], paths: readonly string[] | undefined, threads: number,
  onProgress: (done: number, total: number) => void): Promise<Map<number, number>[]> {
  const out: Map<number, number>[] = new Array(jobs.length);
  let done = 0;
  onProgress(0, jobs.length);
  if (threads <= 1 || !paths || jobs.length < 2) {
    const kernels = new Kernels();
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i];
      out[i] = await measureTensor(kernels, sources[j.tensor.shard], j.tensor, j.types, j.maxRows, j.perRow);
      onProgress(++done, jobs.length);
    }
    return out;
  }
  const { Worker } = await import("node:worker_threads");
  const { workerScript } = await import("./pool.js");
  const script = workerScript("measure-worker");
  const module = kernelsModule();
  const workers = Array.from({ length: Math.min(threads, jobs.length) }, () =>
    new Worker(script.script, { workerData: { module, sources: [...paths] }, eval: script.eval }));
  let next = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const feed = (w: InstanceType<typeof Worker>) => {
        if (failed) return;
        if (next >= jobs.length) { if (done === jobs.length) resolve(); return; }
        const id = next++;
        const onMessage = (msg: { id: number; errors?: [number, number][]; error?: string }) => {
          if (msg.id !== id) return;
          w.off("message", onMessage);
          if (msg.error !== undefined) { failed = true; reject(new Error(msg.error)); return; }
          out[id] = new Map(msg.errors);
          onProgress(++done, jobs.length);
          feed(w);
        };
        w.on("message", onMessage);
        w.postMessage({ id, job: jobs[id] });
      };
      for (const w of workers) {
        w.on("error", (e) => { failed = true; reject(e); });
        w.on("exit", (code) => { if (code !== 0) { failed = true; reject(new Error(`measuring worker exited with code ${code}`)); } });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}

/**
 * Weighted squared error of each type on one tensor (a map type -> error), estimated from at most
 * `maxRows` sampled rows read from its source (only those are held in memory) and scaled to all
 * rows, or (perRow) to one row.
 */
export async function measureTensor(kernels: Kernels, source: Source, t: MeasuredTensor, types: readonly number[], maxRows: number, perRow = false): Promise<Map<number, number>> {
  const n = t.ne[0];
  const rowsPerMatrix = t.ne[1] ?? 1;
  const nrows = t.ne.slice(1).reduce((a, b) => a * b, 1);
  const rows = sampleRows(nrows, maxRows);
  const srcRow = rowBytes(t.srcType, n);
  const raw = new Uint8Array(rows.length * srcRow);
  for (let i = 0; i < rows.length; i++) await source.readInto(raw.subarray(i * srcRow, (i + 1) * srcRow), t.srcOffset + rows[i] * srcRow);
  const x = t.srcType === T.F32 ? new Float32Array(raw.buffer, 0, rows.length * n) : new Float32Array(quantizeRows(kernels, T.F32, raw, t.srcType, n).buffer);
  // runs of sampled rows in the same matrix (expert): each is quantized with its own importance slice
  const runs: { first: number; count: number; w?: Float32Array }[] = [];
  for (let i = 0; i < rows.length; i++) {
    const e = Math.floor(rows[i] / rowsPerMatrix);
    const last = runs[runs.length - 1];
    if (last && Math.floor(rows[last.first] / rowsPerMatrix) === e) last.count++;
    else runs.push({ first: i, count: 1, w: t.imatrix?.subarray(e * n, (e + 1) * n) });
  }
  const scale = (perRow ? 1 : nrows) / rows.length;
  const out = new Map<number, number>();
  for (const type of types) {
    if (type === t.srcType) { out.set(type, 0); continue; }
    let err = 0;
    for (const run of runs) {
      const q = quantizeRows(kernels, type, raw.subarray(run.first * srcRow, (run.first + run.count) * srcRow), t.srcType, n, run.w);
      const y = toF32(kernels, type, q, run.count * n);
      for (let r = 0; r < run.count; r++) {
        const off = (run.first + r) * n;
        for (let j = 0; j < n; j++) {
          const d = x[off + j] - y[r * n + j];
          err += (run.w ? run.w[j] : 1) * d * d;
        }
      }
    }
    out.set(type, err * scale);
  }
  return out;
}

/** Values back as f32: to_float for quantized types, the row conversion for f16/bf16. */
function toF32(kernels: Kernels, type: number, bytes: Uint8Array, k: number): Float32Array {
  if (type === T.F32) return new Float32Array(bytes.buffer, bytes.byteOffset, k);
  if (type === T.F16 || type === T.BF16) return new Float32Array(quantizeRows(kernels, T.F32, bytes, type, k).buffer);
  return kernels.dequantize(type, bytes, k);
}

// ---- the whole analysis ----

export interface PresetPoint {
  readonly preset: Preset;
  /** per tensor (probe.tensors order): the type the preset writes it as */
  readonly types: readonly number[];
  /** output file size, and the tensor bytes alone (what BPW counts) */
  readonly bytes: number;
  readonly sizeOut: number;
  readonly bpw: number;
  /** Σ measured error; undefined when a type it uses has no kernel */
  readonly error?: number;
}

/** Everything `recommend` needs, measured once; allocation for any budget is then cheap. */
export interface Analysis {
  readonly input: string;
  readonly imatrixPath: string;
  readonly headers: readonly GgufHeader[];
  readonly imatrix: NonNullable<PlanOptions["imatrix"]>;
  /** the probe plan: which tensors are quantizable, their importance slices, the fixed bytes */
  readonly probe: Plan;
  /** indexes into probe.tensors of the tensors whose type is chosen */
  readonly items: readonly number[];
  /** per item: candidate type -> error */
  readonly errors: readonly Map<number, number>[];
  readonly candidates: readonly number[];
  readonly presets: readonly PresetPoint[];
  readonly sampleRows: number;
  /** per item: a type fixed by a --pin rule */
  readonly pinned: ReadonlyMap<number, number>;
}

export interface AnalyzeOptions extends MeasureOptions {
  readonly input: string;
  readonly headers: readonly GgufHeader[];
  readonly sources: readonly Source[];
  readonly imatrix: NonNullable<PlanOptions["imatrix"]>;
  /** candidate types (default: defaultCandidates()) */
  readonly types?: readonly number[];
  /** worker threads (needs `paths`); 1: measure on this thread */
  readonly threads?: number;
  /** the shards' paths, for workers to open */
  readonly paths?: readonly string[];
  /** --pin rules: a tensor the first of them matches keeps that type (it must fit its rows) */
  readonly pins?: readonly Rule[];
  /** when known: refuse a target below the smallest choice before measuring */
  readonly target?: Target;
}

const QUANTIZED_PRESETS = (): Preset[] => {
  const seen = new Set<number>();
  return PRESETS.filter((p) => {
    const d = defaultType(p.ftype);
    if (p.name === "COPY" || d === undefined || seen.has(p.ftype) || p.desc.startsWith("alias")) return false;
    seen.add(p.ftype);
    return true;
  });
};

/** Plans every preset, measures every tensor with every candidate type (and every type a preset would use). */
export async function analyze(opts: AnalyzeOptions): Promise<Analysis> {
  const log = opts.log ?? (() => {});
  const kernels = new Kernels();
  const candidates = [...(opts.types ?? defaultCandidates(kernels))];
  for (const c of candidates) if (!kernels.has(c)) throw new QuantizeError("USAGE", `--types: no kernel for ${typeName(c)} yet`);
  const planFor = (ftype: number, rules?: readonly Rule[]) => makePlan(opts.headers, opts.input, { ftype, imatrix: opts.imatrix, rules });
  const probe = planFor(parsePreset("Q8_0")!.ftype);
  const items = probe.tensors.map((t, i) => (t.decision.allowsQuantization ? i : -1)).filter((i) => i >= 0);

  // each preset's plan, kept as types and sizes only (a plan holds the whole metadata)
  const presets: Omit<PresetPoint, "error">[] = [];
  for (const preset of QUANTIZED_PRESETS()) {
    try {
      const plan = planFor(preset.ftype);
      presets.push({ preset, types: plan.tensors.map((t) => t.dstType), bytes: fileBytes(plan), sizeOut: plan.sizeOut, bpw: (plan.sizeOut * 8) / plan.nElements });
    } catch (e) {
      if (!(e instanceof QuantizeError)) throw e; // e.g. needs an imatrix entry the file lacks
    }
  }

  const pinned = new Map<number, number>();
  items.forEach((i, k) => {
    const t = probe.tensors[i];
    const rule = opts.pins?.find((r) => r.regex.test(t.name));
    if (!rule) return;
    if (!fits(t, rule.type) || !(kernels.has(rule.type) || rule.type === t.srcType)) {
      throw new QuantizeError("USAGE", `${rule.source}: ${t.name} cannot be ${typeName(rule.type)} (rows of ${t.ne[0]} values${t.imatrix ? "" : ", no importance slice"}${kernels.has(rule.type) ? "" : ", no kernel"})`);
    }
    pinned.set(k, rule.type);
  });
  // an impossible target fails now, not after measuring
  if (opts.target) {
    const { cost, fixed, budget, tooSmall } = budgetOf(probe, items, opts.target);
    const min = fixed + items.reduce((s, i, k) => s + Math.min(...choices(probe.tensors[i], pinned.get(k), candidates).map((type) => cost(probe.tensors[i], type))), 0);
    if (min > budget) throw tooSmall(min);
  }
  // what to measure: every choice of every pin (with or without), and every type a preset writes
  const needed = items.map((i, k) => {
    const t = probe.tensors[i];
    const set = new Set([...choices(t, undefined, candidates), ...(pinned.has(k) ? [pinned.get(k)!] : [])]);
    for (const p of presets) if (kernels.has(p.types[i]) || p.types[i] === t.srcType) set.add(p.types[i]);
    return [...set].sort((a, b) => a - b);
  });
  const maxRows = opts.sampleRows ?? 256;
  const jobs = items.map((i, k): MeasureJob => {
    const { ne, srcType, srcOffset, shard, imatrix } = probe.tensors[i];
    const perRow = probe.tensors[i].decision.category === "token_embd" && !isTiedOutput(probe);
    return { tensor: { ne, srcType, srcOffset, shard, imatrix }, types: needed[k], maxRows, perRow };
  });
  const errors = await measureAll(jobs, opts.sources, opts.paths, opts.threads ?? 1, opts.onProgress ?? (() => {}));
  log(`recommend: measured ${items.length} tensors x ${candidates.length} candidate types (at most ${maxRows} rows each)`);

  const presetPoints = presets.map((p): PresetPoint => {
    let error: number | undefined = 0;
    items.forEach((i, k) => {
      const e = errors[k].get(p.types[i]);
      error = e === undefined || error === undefined ? undefined : error + e;
    });
    return { ...p, error };
  });
  return { input: opts.input, imatrixPath: opts.imatrix.path, headers: opts.headers, imatrix: opts.imatrix, probe, items, errors, candidates, presets: presetPoints, sampleRows: maxRows, pinned };
}

/** A model without output.weight uses token_embd as its output matmul too. */
const isTiedOutput = (plan: Plan) => !plan.tensors.some((t) => t.name === "output.weight");

/** The type's block divides the row, and a type that needs an importance matrix (for the kernel,
 *  or by llama.cpp's tensor_requires_imatrix) has the tensor's slice. */
function fits(t: PlannedTensor, type: number): boolean {
  const ty = TYPES[type];
  const needs = ty.needsImatrix || requiresImatrix(t.name, type, F.Q8_0);
  return t.ne[0] % ty.blockSize === 0 && (!needs || t.imatrix !== undefined);
}

export const fileBytes = (plan: Plan) => plan.files.reduce((a, f) => a + f.fileSize, 0);

/** The types a tensor may get: its pin, else the candidates that fit, else F16 (llama.cpp's last fallback). */
function choices(t: PlannedTensor, pin: number | undefined, candidates: readonly number[]): number[] {
  if (pin !== undefined) return [pin];
  const c = candidates.filter((type) => fits(t, type));
  return c.length > 0 ? c : [T.F16];
}

/**
 * What a choice is budgeted in: the file's bytes (padded tensor data and headers) for a size
 * target, the tensor bytes for a BPW target; the bytes no choice changes; and the budget.
 */
function budgetOf(probe: Plan, items: readonly number[], target: Target) {
  const byFile = "bytes" in target;
  const cost = (t: PlannedTensor, type: number) => {
    const bytes = type === t.srcType ? t.srcBytes : tensorBytes(type, t.ne);
    return byFile ? pad(bytes, probe.alignment) : bytes;
  };
  const itemSet = new Set(items);
  let fixed = byFile ? probe.files.reduce((s, f) => s + f.header.length, 0) : 0;
  probe.tensors.forEach((t, i) => { if (!itemSet.has(i)) fixed += cost(t, t.dstType); });
  const budget = byFile ? target.bytes : Math.floor((target.bpw * probe.nElements) / 8);
  const tooSmall = (min: number) => new QuantizeError("USAGE", `target ${byFile ? `${target.bytes} bytes` : `${target.bpw} BPW`} is below the smallest `
    + `the candidate types allow (${byFile ? `${min} bytes` : `${((min * 8) / probe.nElements).toFixed(4)} BPW`})`);
  return { byFile, cost, fixed, budget, tooSmall };
}

// ---- recommendation ----

export type Target = { readonly bytes: number } | { readonly bpw: number };

export interface Recommendation {
  readonly plan: Plan;
  readonly base: Preset;
  /** per item (Analysis.items order): the chosen type */
  readonly types: readonly number[];
  readonly error: number;
  readonly bytes: number;
  readonly bpw: number;
  /** the recipe file's text */
  readonly recipe: string;
}

/** A recipe's @preset must have a quantized base type: llama.cpp applies no rule under F16/BF16/F32. */
export function checkBase(base: Preset): void {
  if (!TYPES[defaultType(base.ftype) ?? T.F32].quantized) {
    throw new QuantizeError("USAGE", `--base ${base.name}: recipe rules apply only under a preset with a quantized base type (llama.cpp skips them otherwise)`);
  }
}

/**
 * Chooses the types for a target (file bytes, or bits per weight as llama-quantize reports them:
 * tensor bytes * 8 / elements). `base` is the recipe's @preset (it sets general.file_type); by
 * default the evaluated preset nearest in size. `pinned` (item -> type; default: the --pin rules)
 * fixes some tensors' types; those types must have been measured.
 */
export function recommend(a: Analysis, target: Target, base?: Preset, pinned: ReadonlyMap<number, number> = a.pinned): Recommendation {
  if (base) checkBase(base);
  const { byFile, cost, fixed, budget, tooSmall } = budgetOf(a.probe, a.items, target);
  const options = a.items.map((i, k) => {
    const t = a.probe.tensors[i];
    return choices(t, pinned.get(k), a.candidates).filter((type) => a.errors[k].has(type))
      .map((type): Option => ({ type, cost: cost(t, type), error: a.errors[k].get(type)! }));
  });
  const chosen = allocate(options, budget - fixed);
  if (!chosen) throw tooSmall(fixed + options.reduce((s, o) => s + Math.min(...o.map((x) => x.cost)), 0));
  const types = chosen.map((o) => o.type);
  const error = chosen.reduce((s, o) => s + o.error, 0);
  const rules: Rule[] = a.items.map((i, k) => {
    const name = a.probe.tensors[i].name;
    const text = `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
    return { kind: "custom-q", text, regex: new RegExp(text), type: types[k], source: "recommend" };
  });

  // the base preset (general.file_type): the given one, else among the presets whose base type is
  // the type holding most weights, the nearest in size that plans cleanly (rules apply only under a
  // preset whose base type is quantized, as in llama.cpp)
  const predicted = fixed + chosen.reduce((s, o) => s + o.cost, 0);
  const weights = new Map<number, number>();
  a.items.forEach((i, k) => weights.set(types[k], (weights.get(types[k]) ?? 0) + a.probe.tensors[i].ne.reduce((x, y) => x * y, 1)));
  const dominant = [...weights].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0][0];
  const size = (p: PresetPoint) => (byFile ? p.bytes : p.sizeOut);
  const bySize = (x: PresetPoint, y: PresetPoint) => Math.abs(size(x) - predicted) - Math.abs(size(y) - predicted) || size(x) - size(y);
  const quantized = a.presets.filter((p) => TYPES[defaultType(p.preset.ftype)!].quantized);
  const near = [...quantized.filter((p) => defaultType(p.preset.ftype) === dominant).sort(bySize), ...[...quantized].sort(bySize)].map((p) => p.preset);
  let plan: Plan | undefined, chosenBase: Preset | undefined, lastError: unknown;
  for (const p of base ? [base] : [...near, parsePreset("Q8_0")!]) {
    try {
      plan = makePlan(a.headers, a.input, { ftype: p.ftype, imatrix: a.imatrix, rules });
      chosenBase = p;
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (!plan || !chosenBase) throw lastError;
  a.items.forEach((i, k) => {
    if (plan!.tensors[i].dstType !== types[k]) throw new Error(`recommend: ${plan!.tensors[i].name} planned as ${typeName(plan!.tensors[i].dstType)}, chose ${typeName(types[k])}`);
  });
  const bytes = fileBytes(plan);
  const bpw = (plan.sizeOut * 8) / plan.nElements;
  if (byFile && bytes !== predicted) throw new Error(`recommend: planned ${bytes} bytes, allocated ${predicted}`);

  const header = [
    `recipe written by gguf-quantize recommend for ${a.input}`,
    `target ${"bytes" in target ? `${target.bytes} bytes` : `${target.bpw} BPW`}; predicted ${bytes} bytes (${(bytes / 1048576).toFixed(2)} MiB), ${bpw.toFixed(4)} BPW, weighted error ${error.toPrecision(6)}`,
    `use: gguf-quantize --recipe THIS ${a.input} OUT.gguf  (the @imatrix below must be the file measured)`,
  ];
  const recipe = effectiveRecipe(plan, chosenBase.name, { imatrix: a.imatrixPath, header });
  // the recipe must plan exactly what was chosen
  const back = parseRecipe(recipe, "recommended recipe");
  const check = makePlan(a.headers, a.input, { ftype: parsePreset(back.options.preset!)!.ftype, imatrix: a.imatrix, rules: back.rules });
  if (fileBytes(check) !== bytes || a.items.some((i, k) => check.tensors[i].dstType !== types[k])) throw new Error("recommend: the written recipe does not reproduce the choice");
  return { plan, base: chosenBase, types, error, bytes, bpw, recipe };
}

/** The report: the recommendation next to the presets nearest in size. */
export function reportLines(a: Analysis, r: Recommendation, around = 2): string[] {
  const rows = [...a.presets].sort((x, y) => x.bytes - y.bytes || x.preset.name.localeCompare(y.preset.name));
  const below = rows.filter((p) => p.bytes <= r.bytes).slice(-around);
  const above = rows.filter((p) => p.bytes > r.bytes).slice(0, around);
  const line = (name: string, bytes: number, bpw: number, err?: number) =>
    `${name.padEnd(12)} ${String(bytes).padStart(14)} ${(bytes / 1048576).toFixed(2).padStart(10)} ${bpw.toFixed(4).padStart(8)} ${(err === undefined ? "n/a" : err.toPrecision(6)).padStart(14)}`;
  const tally = new Map<number, number>();
  for (const t of r.types) tally.set(t, (tally.get(t) ?? 0) + 1);
  return [
    `${"".padEnd(12)} ${"bytes".padStart(14)} ${"MiB".padStart(10)} ${"BPW".padStart(8)} ${"error".padStart(14)}`,
    ...below.map((p) => line(p.preset.name, p.bytes, p.bpw, p.error)),
    line("recommended", r.bytes, r.bpw, r.error),
    ...above.map((p) => line(p.preset.name, p.bytes, p.bpw, p.error)),
    `types: ${[...tally].sort((x, y) => x[0] - y[0]).map(([t, c]) => `${typeName(t)} x${c}`).join(", ")} (base preset ${r.base.name})`,
  ];
}
