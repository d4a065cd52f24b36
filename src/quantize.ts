// Plan -> output file. The header is final before any weight is touched (the plan knows every
// size), so it is written first; then each tensor is either copied or cut into row chunks that are
// read straight into kernel memory, quantized, validated as llama.cpp validates them, and written
// at their fixed offsets. Memory stays at one chunk whatever the model size.

import { QuantizeError } from "./errors.js";
import type { ByteSink, ByteSource } from "./io/types.js";
import { Kernels } from "./kernels.js";
import type { Plan, PlannedTensor } from "./plan.js";
import { TYPES, rowBytes, typeName } from "./types.js";

/** Source bytes per chunk: big enough to amortise calls, small enough to bound memory. */
export const CHUNK_BYTES = 4 << 20;

export interface ProgressEvent {
  readonly index: number;
  readonly tensor: PlannedTensor;
  /** bytes of this tensor's source done so far */
  readonly done: number;
}

export interface ExecuteOptions {
  /** called after each tensor is complete, with llama.cpp's per-tensor log line */
  onTensor?(index: number, t: PlannedTensor): void;
  onProgress?(e: ProgressEvent): void;
  signal?: AbortSignal;
  chunkBytes?: number;
}

const checkAbort = (signal?: AbortSignal) => {
  if (signal?.aborted) throw new QuantizeError("CANCELLED", "cancelled");
};

/** ggml_validate_row_data over bytes in kernel memory; llama.cpp aborts the run when it fails. */
function validate(k: Kernels, type: number, offset: number, nbytes: number): boolean {
  const r = k.validate(type, offset, nbytes);
  if (r < 0) throw new Error(`no validator for type ${typeName(type)}`);
  return r === 1;
}

async function copyTensor(k: Kernels, src: ByteSource, sink: ByteSink, t: PlannedTensor, chunk: number, opts: ExecuteOptions) {
  // Copied through kernel memory so it can be validated as llama.cpp's loader does (check_tensors).
  // Validation works on whole blocks: cut chunks on block boundaries.
  const ty = TYPES[t.srcType];
  const unit = ty.typeSize;
  const step = Math.max(unit, Math.floor(chunk / unit) * unit);
  const r = k.reserve(0, Math.min(step, t.srcBytes), 0);
  for (let done = 0; done < t.srcBytes; done += step) {
    checkAbort(opts.signal);
    const n = Math.min(step, t.srcBytes - done);
    await src.readInto(k.bytes(r.src, n), t.srcOffset + done);
    if (!validate(k, t.srcType, r.src, n)) throw new QuantizeError("BAD_FILE", `${src.name}: tensor '${t.name}' has invalid data`);
    await sink.write(k.bytes(r.src, n), t.dstOffset + done);
    opts.onProgress?.({ index: -1, tensor: t, done: done + n });
  }
}

async function quantizeTensor(k: Kernels, src: ByteSource, sink: ByteSink, t: PlannedTensor, chunk: number, opts: ExecuteOptions) {
  const n = t.ne[0];
  const rowsPerMatrix = t.ne[1] ?? 1;
  const nMatrices = t.srcBytes / (rowBytes(t.srcType, n) * rowsPerMatrix);
  const srcRow = rowBytes(t.srcType, n);
  const dstRow = rowBytes(t.dstType, n);
  const rowsPerChunk = Math.max(1, Math.min(rowsPerMatrix, Math.floor(chunk / srcRow)));
  const r = k.reserve(n, rowsPerChunk * srcRow, rowsPerChunk * dstRow, t.imatrix ? n : 0);
  let done = 0;
  // experts are quantized separately: each has its own importance slice
  for (let e = 0; e < nMatrices; e++) {
    if (t.imatrix) {
      const slice = t.imatrix.subarray(e * n, (e + 1) * n);
      k.bytes(r.imatrix, n * 4).set(new Uint8Array(slice.buffer, slice.byteOffset, n * 4));
    }
    for (let row = 0; row < rowsPerMatrix; row += rowsPerChunk) {
      checkAbort(opts.signal);
      const rows = Math.min(rowsPerChunk, rowsPerMatrix - row);
      const first = e * rowsPerMatrix + row;
      await src.readInto(k.bytes(r.src, rows * srcRow), t.srcOffset + first * srcRow);
      if (!validate(k, t.srcType, r.src, rows * srcRow)) throw new QuantizeError("BAD_FILE", `${src.name}: tensor '${t.name}' has invalid data`);
      const written = k.quantize(t.dstType, r, t.srcType, rows, n, t.imatrix !== undefined);
      if (!validate(k, t.dstType, r.dst, written)) throw new QuantizeError("REFUSED", `${t.name}: quantized data validation failed (a ${typeName(t.dstType)} scale is not finite)`);
      await sink.write(k.bytes(r.dst, written), t.dstOffset + first * dstRow);
      done += rows * srcRow;
      opts.onProgress?.({ index: -1, tensor: t, done });
    }
  }
}

/**
 * Writes every output file of `plan`: sources[i] is input shard i, sinks[f] is output file f. The
 * caller commits or aborts the sinks. Tensors are processed in plan order (the log order).
 */
export async function execute(plan: Plan, sources: readonly ByteSource[], sinks: readonly ByteSink[], opts: ExecuteOptions = {}, kernels = new Kernels()): Promise<void> {
  const chunk = opts.chunkBytes ?? CHUNK_BYTES;
  for (let f = 0; f < plan.files.length; f++) await sinks[f].write(plan.files[f].header, 0);
  for (let i = 0; i < plan.tensors.length; i++) {
    const t = plan.tensors[i];
    const src = sources[t.shard], sink = sinks[t.file];
    if (t.copy) await copyTensor(kernels, src, sink, t, chunk, opts);
    else await quantizeTensor(kernels, src, sink, t, chunk, opts);
    // zero padding after every tensor, the last one of each file included
    const file = plan.files[t.file];
    const at = file.tensors.indexOf(i);
    const padded = at + 1 < file.tensors.length ? plan.tensors[file.tensors[at + 1]].dstOffset : file.fileSize;
    const tail = padded - (t.dstOffset + t.dstBytes);
    if (tail > 0) await sink.write(new Uint8Array(tail), t.dstOffset + t.dstBytes);
    opts.onTensor?.(i, t);
  }
}
