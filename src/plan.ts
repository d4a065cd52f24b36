// Header(s) + options -> Plan: every tensor's target type and why, its imatrix slice, its bytes,
// and the final output layout (metadata in llama.cpp's order, offsets; one file, or one per input
// shard with --keep-split). The plan is a plain value: --dry-run prints it, tests assert on it,
// and the executor follows it without deciding anything.

import { QuantizeError } from "./errors.js";
import { F, FTYPE_GUESSED, defaultType } from "./ftypes.js";
import type { GgufHeader, GgufTensorInfo } from "./gguf/read.js";
import { kv as kvOf, quote, type GgufKv } from "./gguf/values.js";
import { copyKvs, removeKvs, serializeGguf, setKv } from "./gguf/write.js";
import { imatrixKvs, type Imatrix } from "./imatrix.js";
import { checkHparams, modelFacts, type KvLookup } from "./model.js";
import { overriddenValue, overrideKv, type KvOverride } from "./overrides.js";
import { PolicyError, compareTensorNames, decideTypes, type Decision } from "./policy.js";
import type { Rule } from "./rules.js";
import { T, TYPES, tensorBytes, typeName } from "./types.js";

export interface PlanOptions {
  /** llama_ftype of the preset */
  readonly ftype: number;
  /** the COPY pseudo-preset: every tensor copied, file type taken from the input */
  readonly onlyCopy?: boolean;
  readonly pure?: boolean;
  readonly leaveOutputTensor?: boolean;
  readonly outputTensorType?: number;
  readonly tokenEmbeddingType?: number;
  readonly allowRequantize?: boolean;
  /** --tensor-type / --custom-q / recipe rules, in command-line order */
  readonly rules?: readonly Rule[];
  /** --prune-layers: block numbers to drop (sorted, unique) */
  readonly pruneLayers?: readonly number[];
  /** --override-kv, in order */
  readonly overrides?: readonly KvOverride[];
  /** --keep-split: one output per input shard */
  readonly keepSplit?: boolean;
  /** the filtered importance matrix, and the path it came from (written into the output) */
  readonly imatrix?: { readonly data: Imatrix; readonly path: string };
  /** true for --dry-run: as llama.cpp's, reads no data (no imatrix lookup, no requantization check),
   *  and a missing imatrix is a warning instead of an error */
  readonly dryRun?: boolean;
}

export interface PlannedTensor {
  /** the name in the output (after --prune-layers renumbering) */
  readonly name: string;
  /** the name in the input (what the imatrix is looked up by) */
  readonly sourceName: string;
  /** dimensions as stored in the input (n_dims entries) */
  readonly ne: readonly number[];
  readonly srcType: number;
  /** input shard holding the data, and its absolute offset there */
  readonly shard: number;
  readonly srcOffset: number;
  readonly srcBytes: number;
  readonly dstType: number;
  readonly dstBytes: number;
  /** output file (index into Plan.files) and the absolute offset there */
  readonly file: number;
  readonly dstOffset: number;
  /** true: bytes are copied as they are; false: rows go through a kernel */
  readonly copy: boolean;
  /** ne0 * ne2 importance values (per expert slice), when the imatrix has this tensor */
  readonly imatrix?: Float32Array;
  readonly decision: Decision;
}

export interface PlannedFile {
  readonly kvs: readonly GgufKv[];
  /** the complete metadata section, padded */
  readonly header: Uint8Array;
  readonly fileSize: number;
  /** indexes into Plan.tensors, in file order */
  readonly tensors: readonly number[];
}

export interface Plan {
  readonly ftype: number;
  /** in processing (and log) order */
  readonly tensors: readonly PlannedTensor[];
  /** one output, or one per input shard with --keep-split */
  readonly files: readonly PlannedFile[];
  /** --keep-split: outputs are named `<out>-%05d-of-%05d.gguf` */
  readonly split: boolean;
  readonly alignment: number;
  /** Σ input and Σ output bytes of the planned tensors */
  readonly sizeIn: number;
  readonly sizeOut: number;
  /** elements and tensors of the whole input model (pruned ones included, as llama.cpp counts) */
  readonly nElements: number;
  readonly nTensorsIn: number;
  readonly nFallback: number;
  /** lines llama.cpp logs while planning (overrides, fallbacks, imatrix notes), in order */
  readonly log: readonly string[];
  /** --dry-run only: a real run would refuse for want of an importance matrix */
  readonly needsImatrix: boolean;
  /** per user rule (same order as PlanOptions.rules): how many tensors it decided */
  readonly ruleCounts: readonly number[];
}

const SPLIT_KEYS = ["split.no", "split.count", "split.tensors.count"];

/**
 * The file type llama_model_loader reports (used by COPY): general.file_type when present, else the
 * type of the most common tensor type (the first to reach the top count, in loader order) mapped to
 * a preset, or-ed with LLAMA_FTYPE_GUESSED.
 */
function loaderFtype(ordered: readonly { type: number }[], kv: (k: string) => unknown): number {
  const ft = kv("general.file_type");
  if (typeof ft === "number") return ft;
  const counts = new Map<number, number>();
  let best = T.F32, top = 0;
  for (const t of ordered) {
    const c = (counts.get(t.type) ?? 0) + 1;
    counts.set(t.type, c);
    if (top < c) { top = c; best = t.type; }
  }
  const map: Record<number, number> = {
    [T.F32]: F.ALL_F32, [T.F16]: F.F16, [T.BF16]: F.BF16, [T.Q4_0]: F.Q4_0, [T.Q4_1]: F.Q4_1,
    [T.Q5_0]: F.Q5_0, [T.Q5_1]: F.Q5_1, [T.Q8_0]: F.Q8_0, [T.Q2_K]: F.Q2_K, [T.Q3_K]: F.Q3_K_M,
    [T.Q4_K]: F.Q4_K_M, [T.Q5_K]: F.Q5_K_M, [T.Q6_K]: F.Q6_K, [T.TQ1_0]: F.TQ1_0, [T.TQ2_0]: F.TQ2_0,
    [T.IQ2_XXS]: F.IQ2_XXS, [T.IQ2_XS]: F.IQ2_XS, [T.IQ2_S]: F.IQ2_S, [T.IQ3_XXS]: F.IQ3_XXS,
    [T.IQ1_S]: F.IQ1_S, [T.IQ1_M]: F.IQ1_M, [T.IQ4_NL]: F.IQ4_NL, [T.IQ4_XS]: F.IQ4_XS, [T.IQ3_S]: F.IQ3_S,
    [T.NVFP4]: F.NVFP4, [T.Q1_0]: F.Q1_0, [T.Q2_0]: F.Q2_0,
    // MXFP4 is not in the loader's switch: "unknown type mxfp4", guessed as ALL_F32
  };
  return (map[best] ?? F.ALL_F32) | FTYPE_GUESSED;
}

/**
 * remap_layer: with --prune-layers, blocks in the list are dropped and the rest renumbered in
 * order (a block below the first pruned one keeps its number). The first `blk.N.` anywhere in a
 * name is the block. Returns the new name, or "" for a pruned tensor; `state.next` ends as the new
 * block count.
 */
function remapLayer(name: string, prune: readonly number[], state: { mapped: Map<number, string>; next: number }): string {
  if (prune.length === 0) return name;
  const m = /blk\.(\d+)\./.exec(name);
  if (!m) return name;
  const blk = Number(m[1]) | 0;
  if (!state.mapped.has(blk)) {
    if (prune.includes(blk)) state.mapped.set(blk, "");
    else if (blk < prune[0]) { state.mapped.set(blk, String(blk)); state.next = blk + 1; }
    else state.mapped.set(blk, String(state.next++));
  }
  const to = state.mapped.get(blk)!;
  if (to === "") return "";
  const at = m.index + 4;
  return name.slice(0, at) + to + name.slice(at + m[1].length);
}

interface SourceTensor extends GgufTensorInfo {
  readonly shard: number;
  /** absolute offset of the data in its shard */
  readonly abs: number;
}

/**
 * Builds the plan from the input's header(s) (several for a split model, in shard order); throws
 * QuantizeError where llama.cpp refuses (before any byte is written).
 */
export function makePlan(shards: readonly GgufHeader[], fileName: string, opts: PlanOptions): Plan {
  const header = shards[0];
  const overrides = opts.overrides ?? [];
  const base = new Map<string, unknown>(header.kvs.map((k) => [k.key, k.value]));
  // the model loader's get_key: the first override of a key wins, but only when its type is the one
  // the loader reads the key as (else a "Bad metadata override type" warning and the file's value);
  // ints land in the loader's u32 fields truncated; get_key_or_arr ignores overrides of an array
  // key or of a key the file lacks
  const kv: KvLookup = (key, kind, orArray) => {
    const o = overrides.find((x) => x.key === key);
    const v = base.get(key);
    if (!o || (kind !== undefined && o.kind !== kind)) return v;
    if (orArray && (v === undefined || (typeof v === "object" && v !== null && "items" in v))) return v;
    return o.kind === "int" ? Number(BigInt.asUintN(32, o.value)) : overriddenValue(o);
  };
  const invalid = checkHparams(kv);
  if (invalid) throw new QuantizeError("REFUSED", `${fileName}: ${invalid}`);
  const model = modelFacts(kv);
  const imatrix = opts.imatrix?.data;
  if (!opts.onlyCopy && defaultType(opts.ftype) === undefined) throw new QuantizeError("REFUSED", `invalid output file type ${opts.ftype}`);
  if (imatrix) {
    for (const [name, values] of imatrix.entries) {
      for (const v of values) if (!Number.isFinite(v)) throw new QuantizeError("BAD_IMATRIX", `${opts.imatrix!.path}: imatrix contains non-finite value ${v} (entry ${name})`);
    }
  }

  // the loader's weights_map: every shard's tensors, ordered by (block, name)
  const all: SourceTensor[] = shards.flatMap((h, shard) => h.tensors.map((t) => ({ ...t, shard, abs: h.dataOffset + t.offset })));
  const seen = new Set<string>();
  for (const t of all) {
    if (seen.has(t.name)) throw new QuantizeError("BAD_FILE", `${fileName}: invalid model: tensor '${t.name}' is duplicated`);
    seen.add(t.name);
  }
  const ordered = [...all].sort((a, b) => compareTensorNames(a.name, b.name));
  const ftype = opts.onlyCopy ? loaderFtype(ordered, kv) : opts.ftype;

  // --prune-layers renames (and drops) tensors; the policy sees the new names
  const prune = opts.pruneLayers ?? [];
  const pstate = { mapped: new Map<number, string>(), next: 0 };
  let kept = ordered.map((t) => ({ t, name: remapLayer(t.name, prune, pstate) })).filter((x) => x.name !== "");
  // --keep-split writes tensors by (shard, offset)
  if (opts.keepSplit) kept = [...kept].sort((a, b) => a.t.shard - b.t.shard || a.t.abs - b.t.abs);

  let policy;
  try {
    // the preset's ftype, not COPY's guessed one: llama.cpp takes the default type from it first
    policy = decideTypes(kept.map(({ t, name }) => ({ name, ne: t.ne, type: t.type })), model, {
      ftype: opts.ftype, onlyCopy: opts.onlyCopy, pure: opts.pure, quantizeOutputTensor: !opts.leaveOutputTensor,
      outputTensorType: opts.outputTensorType, tokenEmbeddingType: opts.tokenEmbeddingType,
      hasImatrix: imatrix !== undefined, rules: opts.rules,
    });
  } catch (e) {
    if (e instanceof PolicyError) throw new QuantizeError("REFUSED", `${fileName}: ${e.message}`);
    throw e;
  }

  const log: string[] = [];
  let needsImatrix = false;
  const partial = kept.map(({ t, name }, i) => {
    const d = policy.decisions[i];
    log.push(...d.log);
    if (!imatrix && d.allowsQuantization && d.requiresImatrix) {
      if (!opts.dryRun) throw new QuantizeError("REFUSED", `this quantization requires an importance matrix: tensor ${name} would be ${typeName(d.target)} (use --imatrix)`);
      needsImatrix = true;
    }
    const copy = d.target === t.type;
    const dstTy = TYPES[d.target];
    if (!dstTy || dstTy.blockSize === 0) throw new QuantizeError("REFUSED", `${name}: unknown target type ${d.target}`);
    if (!copy && t.ne[0] % dstTy.blockSize !== 0) {
      // only --output-tensor-type / --token-embedding-type skip the fallback; llama.cpp fails at write time
      throw new QuantizeError("REFUSED", `${name}: row of ${t.ne[0]} values does not fit type ${dstTy.name} (block ${dstTy.blockSize}): quantized data validation failed`);
    }
    const dstBytes = copy ? t.nbytes : tensorBytes(d.target, t.ne);
    let slice: Float32Array | undefined;
    // llama.cpp's dry run reads no data: it neither checks the source type nor looks up the imatrix
    if (!copy && !opts.dryRun) {
      const src = TYPES[t.type];
      if (src.quantized && !opts.allowRequantize) throw new QuantizeError("REFUSED", `requantizing from type ${src.name} is disabled (tensor ${name}; use --allow-requantize)`);
      if (![T.F32, T.F16, T.BF16].includes(t.type) && !src.quantized) throw new QuantizeError("REFUSED", `cannot dequantize/convert tensor type ${src.name} (tensor ${name})`);
      if (imatrix) {
        const values = imatrix.entries.get(t.name); // looked up by the original (pre-prune) name
        const want = t.ne[0] * (t.ne[2] ?? 1);
        if (!values) {
          log.push(`====== llama_model_quantize_impl: did not find weights for ${name}`);
        } else if (values.length === want) {
          slice = values;
        } else {
          log.push(`====== llama_model_quantize_impl: imatrix size ${values.length} is different from tensor size ${want} for ${name}`);
          if (d.category !== "token_embd") throw new QuantizeError("BAD_IMATRIX", `${opts.imatrix!.path}: imatrix size ${values.length} is different from tensor size ${want} for ${name}`);
        }
      }
      if (!slice && d.requiresImatrix && imatrix) {
        throw new QuantizeError("BAD_IMATRIX", `Missing importance matrix for tensor ${name} in a very low-bit quantization`);
      }
    }
    return { t, name, d, copy, dstBytes, slice };
  });

  // metadata, in llama.cpp's order: the input's (copied as gguf_set_kv does), then its own keys,
  // each set moving to the end, then the overrides (the user's, then the imatrix's)
  // gguf_set_kv re-sets each key through c_str(): a key that starts with a NUL byte is empty there
  // (llama.cpp aborts: GGML_ASSERT(!key.empty()))
  const emptyKey = header.kvs.find((k) => k.key.startsWith("\0"));
  if (emptyKey) throw new QuantizeError("BAD_FILE", `${fileName}: metadata key ${quote(emptyKey.key)} is empty as a C string (llama.cpp aborts on it)`);
  // metadata the writer cannot write (gguf_check_reserved_keys and gguf_kv's asserts abort llama.cpp)
  const writable = <R>(f: () => R): R => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) throw new QuantizeError("BAD_FILE", `${fileName}: the output header cannot be written: ${e.message}`, { cause: e });
      throw e;
    }
  };
  let kvs: GgufKv[] = writable(() => setKv(copyKvs(header.kvs), kvOf.u32("general.quantization_version", 2)));
  kvs = setKv(kvs, kvOf.u32("general.file_type", ftype));
  kvs = removeKvs(kvs, ...SPLIT_KEYS);
  for (const o of overrides) kvs = setKv(kvs, overrideKv(o));
  if (imatrix && opts.imatrix) for (const k of imatrixKvs(imatrix, opts.imatrix.path, imatrix.entries.size)) kvs = setKv(kvs, k);
  if (prune.length > 0) kvs = setKv(kvs, kvOf.u32(`${model.arch}.block_count`, pstate.next));

  // outputs: one, or (--keep-split) one per input shard index present
  const nSplit = opts.keepSplit ? Math.max(1, ...partial.map((p) => p.t.shard + 1)) : 1;
  const fileOf = (p: (typeof partial)[number]) => (opts.keepSplit ? p.t.shard : 0);
  // llama.cpp has no output context for a later shard left without tensors and crashes (SIGSEGV)
  for (let f = 1; f < nSplit; f++) {
    if (!partial.some((p) => fileOf(p) === f)) throw new QuantizeError("REFUSED", `${fileName}: --keep-split: output shard ${f + 1} of ${nSplit} would have no tensors${prune.length > 0 ? " after --prune-layers" : ""} (llama.cpp crashes on this)`);
  }
  // llama.cpp writes 32-aligned data whatever the input says, yet copies general.alignment, so for a
  // non-32 input its output is unreadable; we keep the input's alignment (a valid file, and the same
  // bytes as llama.cpp for every 32-aligned input); --override-kv general.alignment=int:32 (the only
  // value overrides.ts takes) makes it 32, as llama.cpp writes it
  const alignment = overrides.some((o) => o.key === "general.alignment") ? 32 : header.alignment;
  const tensors: PlannedTensor[] = new Array(partial.length);
  const files: PlannedFile[] = [];
  for (let f = 0; f < nSplit; f++) {
    let fkvs = f === 0 ? kvs : [];
    if (nSplit > 1) {
      fkvs = setKv(fkvs, kvOf.u16("split.no", f));
      fkvs = setKv(fkvs, kvOf.u16("split.count", nSplit));
      fkvs = setKv(fkvs, kvOf.i32("split.tensors.count", partial.length));
    }
    const idx = partial.map((_, i) => i).filter((i) => fileOf(partial[i]) === f);
    const layout = writable(() => serializeGguf(fkvs, idx.map((i) => ({ name: partial[i].name, ne: partial[i].t.ne, type: partial[i].d.target })), alignment));
    idx.forEach((i, j) => {
      const { t, name, d, copy, dstBytes, slice } = partial[i];
      tensors[i] = {
        name, sourceName: t.name, ne: t.ne, srcType: t.type, shard: t.shard, srcOffset: t.abs, srcBytes: t.nbytes,
        dstType: d.target, dstBytes, file: f, dstOffset: layout.dataOffset + layout.offsets[j], copy, imatrix: slice, decision: d,
      };
    });
    files.push({ kvs: fkvs, header: layout.header, fileSize: layout.fileSize, tensors: idx });
  }

  const nElements = all.reduce((acc, t) => acc + t.ne.reduce((a, b) => a * b, 1), 0);
  const sizeIn = tensors.reduce((a, t) => a + t.srcBytes, 0);
  const sizeOut = tensors.reduce((a, t) => a + t.dstBytes, 0);
  const rules = opts.rules ?? [];
  const ruleCounts = rules.map((r) => tensors.filter((t) => t.decision.reason.kind === "rule" && t.decision.reason.rule === r).length);
  return {
    ftype, tensors, files, split: !!opts.keepSplit, alignment, sizeIn, sizeOut, nElements, nTensorsIn: all.length,
    nFallback: policy.nFallback, log, needsImatrix, ruleCounts,
  };
}
