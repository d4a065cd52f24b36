// Header + options -> Plan: every tensor's target type and why, its imatrix slice, its bytes, and
// the final output layout (metadata in llama.cpp's order, offsets). The plan is a plain value:
// --dry-run prints it, tests assert on it, and the executor follows it without deciding anything.

import { QuantizeError } from "./errors.js";
import { F, FTYPE_GUESSED, defaultType } from "./ftypes.js";
import type { GgufHeader, GgufTensorInfo } from "./gguf/read.js";
import { kv as kvOf, type GgufKv } from "./gguf/values.js";
import { copyKvs, removeKvs, serializeGguf, setKv } from "./gguf/write.js";
import { imatrixKvs, type Imatrix } from "./imatrix.js";
import { modelFacts } from "./model.js";
import { PolicyError, compareTensorNames, decideTypes, type Decision, type TypeRule } from "./policy.js";
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
  readonly tensorTypes?: readonly TypeRule[];
  /** the filtered importance matrix, and the path it came from (written into the output) */
  readonly imatrix?: { readonly data: Imatrix; readonly path: string };
  /** true for --dry-run: as llama.cpp's, reads no data (no imatrix lookup, no requantization check),
   *  and a missing imatrix is a warning instead of an error */
  readonly dryRun?: boolean;
}

export interface PlannedTensor {
  readonly name: string;
  /** dimensions as stored in the input (n_dims entries) */
  readonly ne: readonly number[];
  readonly srcType: number;
  /** absolute offset of the tensor's data in the input file */
  readonly srcOffset: number;
  readonly srcBytes: number;
  readonly dstType: number;
  readonly dstBytes: number;
  /** absolute offset of the tensor's data in the output file */
  readonly dstOffset: number;
  /** true: bytes are copied as they are; false: rows go through a kernel */
  readonly copy: boolean;
  /** ne0 * ne2 importance values (per expert slice), when the imatrix has this tensor */
  readonly imatrix?: Float32Array;
  readonly decision: Decision;
}

export interface Plan {
  readonly ftype: number;
  readonly tensors: readonly PlannedTensor[];
  readonly kvs: readonly GgufKv[];
  /** the output's complete metadata section, padded */
  readonly header: Uint8Array;
  readonly fileSize: number;
  readonly alignment: number;
  /** Σ input tensor bytes and Σ output tensor bytes, and the element count (for BPW) */
  readonly sizeIn: number;
  readonly sizeOut: number;
  readonly nElements: number;
  readonly nFallback: number;
  /** lines llama.cpp logs while planning (overrides, fallbacks, imatrix notes), in order */
  readonly log: readonly string[];
  /** --dry-run only: a real run would refuse for want of an importance matrix */
  readonly needsImatrix: boolean;
}

const SPLIT_KEYS = ["split.no", "split.count", "split.tensors.count"];

function lookup(header: GgufHeader) {
  const map = new Map<string, unknown>(header.kvs.map((k) => [k.key, k.value]));
  return (key: string) => map.get(key);
}


/**
 * The loader's guess of a file type (llama_model_loader): the type that first reaches the highest
 * tensor count, counting in the loader's (sorted) tensor order, or general.file_type when present.
 */
function guessedFtype(header: GgufHeader, kv: (k: string) => unknown): number {
  const ft = kv("general.file_type");
  if (typeof ft === "number") return ft;
  const counts = new Map<number, number>();
  let best = T.F32, n = 0;
  for (const t of [...header.tensors].sort((a, b) => compareTensorNames(a.name, b.name))) {
    const c = (counts.get(t.type) ?? 0) + 1;
    counts.set(t.type, c);
    if (c > n) { best = t.type; n = c; }
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

/** Builds the plan; throws QuantizeError where llama.cpp refuses (before any byte is written). */
export function makePlan(header: GgufHeader, fileName: string, opts: PlanOptions): Plan {
  const kv = lookup(header);
  const model = modelFacts(kv);
  const imatrix = opts.imatrix?.data;
  const ftype = opts.onlyCopy ? guessedFtype(header, kv) : opts.ftype;
  if (!opts.onlyCopy && defaultType(opts.ftype) === undefined) throw new QuantizeError("REFUSED", `invalid output file type ${opts.ftype}`);

  if (imatrix) {
    for (const [name, values] of imatrix.entries) {
      for (const v of values) if (!Number.isFinite(v)) throw new QuantizeError("BAD_IMATRIX", `${opts.imatrix!.path}: imatrix contains non-finite value ${v} (entry ${name})`);
    }
  }

  const ordered: GgufTensorInfo[] = [...header.tensors].sort((a, b) => compareTensorNames(a.name, b.name));

  let policy;
  try {
    // the preset's ftype, not COPY's guessed one: llama.cpp takes the default type from it first
    policy = decideTypes(ordered, model, {
      ftype: opts.ftype, onlyCopy: opts.onlyCopy, pure: opts.pure, quantizeOutputTensor: !opts.leaveOutputTensor,
      outputTensorType: opts.outputTensorType, tokenEmbeddingType: opts.tokenEmbeddingType,
      hasImatrix: imatrix !== undefined, tensorTypes: opts.tensorTypes,
    });
  } catch (e) {
    if (e instanceof PolicyError) throw new QuantizeError("REFUSED", `${fileName}: ${e.message}`);
    throw e;
  }

  const log: string[] = [];
  let needsImatrix = false;
  const partial = ordered.map((t, i) => {
    const d = policy.decisions[i];
    log.push(...d.log);
    if (!imatrix && d.allowsQuantization && d.requiresImatrix) {
      if (!opts.dryRun) throw new QuantizeError("REFUSED", `this quantization requires an importance matrix: tensor ${t.name} would be ${typeName(d.target)} (use --imatrix)`);
      needsImatrix = true;
    }
    const copy = d.target === t.type;
    const srcBytes = t.nbytes;
    const dstTy = TYPES[d.target];
    if (!dstTy || dstTy.blockSize === 0) throw new QuantizeError("REFUSED", `${t.name}: unknown target type ${d.target}`);
    if (!copy && t.ne[0] % dstTy.blockSize !== 0) {
      // only --output-tensor-type / --token-embedding-type skip the fallback; llama.cpp fails at write time
      throw new QuantizeError("REFUSED", `${t.name}: row of ${t.ne[0]} values does not fit type ${dstTy.name} (block ${dstTy.blockSize}): quantized data validation failed`);
    }
    const dstBytes = copy ? srcBytes : tensorBytes(d.target, t.ne);
    let slice: Float32Array | undefined;
    // llama.cpp's dry run reads no data: it neither checks the source type nor looks up the imatrix
    if (!copy && !opts.dryRun) {
      const src = TYPES[t.type];
      if (src.quantized && !opts.allowRequantize) throw new QuantizeError("REFUSED", `requantizing from type ${src.name} is disabled (tensor ${t.name}; use --allow-requantize)`);
      if (![T.F32, T.F16, T.BF16].includes(t.type) && !src.quantized) throw new QuantizeError("REFUSED", `cannot dequantize/convert tensor type ${src.name} (tensor ${t.name})`);
      if (imatrix) {
        const values = imatrix.entries.get(t.name);
        const want = t.ne[0] * (t.ne[2] ?? 1);
        if (!values) {
          log.push(`====== llama_model_quantize_impl: did not find weights for ${t.name}`);
        } else if (values.length === want) {
          slice = values;
        } else {
          log.push(`====== llama_model_quantize_impl: imatrix size ${values.length} is different from tensor size ${want} for ${t.name}`);
          if (d.category !== "token_embd") throw new QuantizeError("BAD_IMATRIX", `${opts.imatrix!.path}: imatrix size ${values.length} is different from tensor size ${want} for ${t.name}`);
        }
      }
      if (!slice && d.requiresImatrix && imatrix) {
        throw new QuantizeError("BAD_IMATRIX", `Missing importance matrix for tensor ${t.name} in a very low-bit quantization`);
      }
    }
    return { t, d, copy, srcBytes, dstBytes, slice };
  });

  // metadata, in llama.cpp's order
  // gguf_set_kv copy of the input's metadata, then llama.cpp's own keys (each set moves to the end)
  let kvs: GgufKv[] = setKv(copyKvs(header.kvs), kvOf.u32("general.quantization_version", 2));
  kvs = setKv(kvs, kvOf.u32("general.file_type", ftype));
  kvs = removeKvs(kvs, ...SPLIT_KEYS);
  if (imatrix && opts.imatrix) for (const k of imatrixKvs(imatrix, opts.imatrix.path, imatrix.entries.size)) kvs = setKv(kvs, k);

  // llama.cpp writes 32-aligned data whatever the input says, yet copies general.alignment, so for a
  // non-32 input its output is unreadable; we keep the input's alignment (a valid file, and the same
  // bytes as llama.cpp for every 32-aligned input)
  const alignment = header.alignment;
  const layout = serializeGguf(kvs, partial.map(({ t, d }) => ({ name: t.name, ne: t.ne, type: d.target })), alignment);
  let nElements = 0, sizeIn = 0, sizeOut = 0;
  const tensors: PlannedTensor[] = partial.map(({ t, d, copy, srcBytes, dstBytes, slice }, i) => {
    nElements += t.ne.reduce((a, b) => a * b, 1);
    sizeIn += srcBytes;
    sizeOut += dstBytes;
    return {
      name: t.name, ne: t.ne, srcType: t.type, srcOffset: header.dataOffset + t.offset, srcBytes,
      dstType: d.target, dstBytes, dstOffset: layout.dataOffset + layout.offsets[i], copy, imatrix: slice, decision: d,
    };
  });
  return {
    ftype, tensors, kvs, header: layout.header, fileSize: layout.fileSize, alignment,
    sizeIn, sizeOut, nElements, nFallback: policy.nFallback, log, needsImatrix,
  };
}
