// The unit of work: a run of rows of one tensor (or a run of bytes to copy), small enough to bound
// memory, with everything needed to do it anywhere (main thread or a worker): where to read, what
// to run, where to write. Rows are independent, so any cut and any order give the same bytes.

import { QuantizeError, ioError } from "./errors.js";
import type { ByteSink, ByteSource } from "./io/types.js";
import { KernelAbort, type Kernels } from "./kernels.js";
import type { Plan } from "./plan.js";
import { TYPES, rowBytes, typeName } from "./types.js";

export interface Job {
  /** index into Plan.tensors */
  readonly tensor: number;
  readonly name: string;
  /** copy bytes as they are (validated), or quantize rows */
  readonly kind: "copy" | "quantize";
  /** input shard and output file */
  readonly shard: number;
  readonly file: number;
  readonly srcType: number;
  readonly dstType: number;
  /** values per row (quantize) */
  readonly n: number;
  /** rows in this job (quantize) */
  readonly rows: number;
  readonly srcOffset: number;
  readonly srcBytes: number;
  readonly dstOffset: number;
  /** the n importance values of this job's expert slice (quantize with an imatrix) */
  readonly imatrix?: Float32Array;
}

/** Cuts the plan into jobs of at most ~chunkBytes of source (at least one row or block). */
export function* planJobs(plan: Plan, chunkBytes: number): Generator<Job> {
  for (let ti = 0; ti < plan.tensors.length; ti++) {
    const t = plan.tensors[ti];
    const base = { tensor: ti, name: t.name, shard: t.shard, file: t.file, srcType: t.srcType, dstType: t.dstType };
    if (t.copy) {
      // whole blocks, so that validation sees complete blocks
      const unit = TYPES[t.srcType].typeSize;
      const step = Math.max(unit, Math.floor(chunkBytes / unit) * unit);
      for (let done = 0; done < t.srcBytes; done += step) {
        const bytes = Math.min(step, t.srcBytes - done);
        yield { ...base, kind: "copy", n: 0, rows: 0, srcOffset: t.srcOffset + done, srcBytes: bytes, dstOffset: t.dstOffset + done };
      }
      continue;
    }
    const n = t.ne[0];
    const srcRow = rowBytes(t.srcType, n), dstRow = rowBytes(t.dstType, n);
    const rowsPerMatrix = t.ne[1] ?? 1;
    const nMatrices = t.srcBytes / (srcRow * rowsPerMatrix);
    const rowsPerJob = Math.max(1, Math.min(rowsPerMatrix, Math.floor(chunkBytes / srcRow)));
    // experts are quantized separately, each with its own importance slice
    for (let e = 0; e < nMatrices; e++) {
      const imatrix = t.imatrix?.subarray(e * n, (e + 1) * n);
      for (let row = 0; row < rowsPerMatrix; row += rowsPerJob) {
        const rows = Math.min(rowsPerJob, rowsPerMatrix - row);
        const first = e * rowsPerMatrix + row;
        yield {
          ...base, kind: "quantize", n, rows, imatrix,
          srcOffset: t.srcOffset + first * srcRow, srcBytes: rows * srcRow, dstOffset: t.dstOffset + first * dstRow,
        };
      }
    }
  }
}

/** The largest job's needs, so a worker can size its kernel memory once. */
export function jobBytes(job: Job): { src: number; dst: number } {
  return { src: job.srcBytes, dst: job.kind === "copy" ? 0 : rowBytes(job.dstType, job.n) * job.rows };
}

/** ggml_validate_row_data over bytes in kernel memory; llama.cpp aborts the run when it fails. */
function valid(k: Kernels, type: number, offset: number, nbytes: number): boolean {
  const r = k.validate(type, offset, nbytes);
  if (r < 0) throw new Error(`no validator for type ${typeName(type)}`);
  return r === 1;
}

/** Does one job: read straight into kernel memory, validate, quantize (or not), validate, write. */
export async function runJob(k: Kernels, src: ByteSource, sink: ByteSink, job: Job): Promise<void> {
  const { src: srcBytes, dst: dstBytes } = jobBytes(job);
  const r = k.reserve(job.kind === "copy" ? 0 : job.n, srcBytes, dstBytes, job.imatrix ? job.n : 0);
  await src.readInto(k.bytes(r.src, srcBytes), job.srcOffset).catch((e: unknown) => { throw ioError(e, src.name, "read"); });
  // llama.cpp's loader checks every tensor it reads (check_tensors)
  if (!valid(k, job.srcType, r.src, srcBytes)) throw new QuantizeError("BAD_FILE", `${src.name}: tensor '${job.name}' has invalid data`);
  if (job.kind === "copy") {
    await write(sink, k.bytes(r.src, srcBytes), job.dstOffset);
    return;
  }
  if (job.imatrix) {
    const m = job.imatrix;
    k.bytes(r.imatrix, job.n * 4).set(new Uint8Array(m.buffer, m.byteOffset, job.n * 4));
  }
  let written: number;
  try {
    written = k.quantize(job.dstType, r, job.srcType, job.rows, job.n, job.imatrix !== undefined);
  } catch (e) {
    if (!(e instanceof KernelAbort)) throw e;
    throw new QuantizeError("REFUSED", `${job.name}: llama.cpp's ${e.typeName} quantizer aborts on this tensor: ${e.check}`, { cause: e });
  }
  if (!valid(k, job.dstType, r.dst, written)) {
    throw new QuantizeError("REFUSED", `${job.name}: quantized data validation failed (a ${typeName(job.dstType)} scale is not finite)`);
  }
  await write(sink, k.bytes(r.dst, written), job.dstOffset);
}

/** sink.write, with a failure that is not ours reported as an IO error naming the output. */
export function write(sink: ByteSink, data: Uint8Array, position: number): Promise<void> {
  return sink.write(data, position).catch((e: unknown) => { throw ioError(e, sink.name, "write"); });
}
