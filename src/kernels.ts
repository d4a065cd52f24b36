// The host side of the WASM boundary. This module alone owns the instance and the layout of its
// memory: callers ask for regions with reserve() and never compute offsets themselves.
// Each instance has its own (non-shared) memory, so a worker pool runs one instance per worker.

import { WASM_BASE64 } from "./wasm-binary.js";
import { TYPES, typeInfo, rowBytes } from "./types.js";

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: wasm32's limit

function decodeBase64(b64: string): Uint8Array {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } };
  if (g.Buffer) return new Uint8Array(g.Buffer.from(b64, "base64"));
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let cachedModule: WebAssembly.Module | undefined;

/** The compiled kernels module (compiled once per thread; can be posted to workers). */
export function kernelsModule(): WebAssembly.Module {
  cachedModule ??= new WebAssembly.Module(decodeBase64(WASM_BASE64) as BufferSource);
  return cachedModule;
}

type KernelFn = (src: number, srcType: number, dst: number, nrows: number, n: number, imatrix: number) => number;

interface Exports {
  heap_base(): number;
  set_scratch(p: number): void;
  validate_row_data(type: number, p: number, nbytes: number, typeSize: number): number;
  dequantize(type: number, x: number, y: number, k: number): number;
  block_values(type: number): number;
  block_bytes(type: number): number;
  kernel_failure(): number;
  [kernel: string]: unknown;
}

export interface Regions {
  /** where the source rows go */
  readonly src: number;
  /** where the quantized rows are written */
  readonly dst: number;
  /** where the importance vector goes (0 when none was asked for) */
  readonly imatrix: number;
}

const align = (x: number, a: number) => Math.ceil(x / a) * a;

/** The checks at which llama.cpp's kernels stop the process (assembly/rows.ts FAIL_*), by code. */
const KERNEL_FAILURES: Record<number, string> = {
  1: "GGML_ASSERT(quant_weights && \"missing quantization weights\")",
  2: "GGML_ASSERT(grid_index >= 0) (no neighbour on the grid compares finite)",
  3: "GGML_ABORT (\"Oops: found point not on grid\")",
  4: "GGML_ASSERT(scale >= 0) (a NaN scale)",
  6: "an out-of-bounds read (a level vector past kmap_q2xs, or iq1 neighbour fallback past the row)",
  7: "GGML_ASSERT/GGML_ABORT in its grid search (no neighbour at a finite distance, a NaN scale, or a group off the grid)",
};

/** A row on which llama.cpp's kernel aborts the process (a failed GGML_ASSERT/GGML_ABORT: `code`
 *  names the check): we refuse where it cannot write anything. */
export class KernelAbort extends Error {
  readonly check: string;
  constructor(readonly typeName: string, readonly row: number, readonly code: number) {
    const check = KERNEL_FAILURES[code] ?? `check ${code}`;
    super(`llama.cpp's ${typeName} quantizer aborts on row ${row}: ${check}`);
    this.check = check;
    this.name = "KernelAbort";
  }
}

export class Kernels {
  readonly memory: WebAssembly.Memory;
  private readonly exports: Exports;
  private readonly heapBase: number;

  constructor(module: WebAssembly.Module = kernelsModule()) {
    this.memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory, abort: () => { throw new Error("kernel abort"); } } });
    this.exports = instance.exports as unknown as Exports;
    this.heapBase = align(this.exports.heap_base(), 64);
  }

  /** A fresh view of memory: views detach whenever memory grows, so never keep one across reserve(). */
  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }

  /** Lays out scratch (one widened row), source, destination and imatrix regions, growing memory as needed. */
  reserve(nPerRow: number, srcBytes: number, dstBytes: number, imatrixFloats = 0): Regions {
    const scratch = this.heapBase;
    const src = align(scratch + nPerRow * 4, 64);
    const dst = align(src + srcBytes, 64);
    const imatrix = imatrixFloats > 0 ? align(dst + dstBytes, 64) : 0;
    const end = imatrix > 0 ? imatrix + imatrixFloats * 4 : dst + dstBytes;
    const need = Math.ceil(end / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > MAX_PAGES) throw new RangeError(`kernel memory of ${end} bytes exceeds wasm32's 4 GiB`);
    if (need > have) this.memory.grow(need - have);
    this.exports.set_scratch(scratch);
    return { src, dst, imatrix };
  }

  /** ggml_validate_row_data on nbytes of `typeId` at offset: 1 valid, 0 invalid, -1 type unknown to the validator. */
  validate(typeId: number, offset: number, nbytes: number): number {
    return this.exports.validate_row_data(typeId, offset, nbytes, typeInfo(typeId).typeSize);
  }

  /** Whether rows of this type can be a kernel's source: f32, f16, bf16, or a type it can dequantize. */
  canRead(typeId: number): boolean {
    return typeId === 0 || typeId === 1 || typeId === 30 || this.exports.dequantize(typeId, 0, 0, 0) === 1;
  }

  /** The module's own idea of a type's block (assembly/layout.ts), for the table test. */
  blockLayout(typeId: number): { values: number; bytes: number } {
    return { values: this.exports.block_values(typeId), bytes: this.exports.block_bytes(typeId) };
  }

  /** to_float of k values (test helper: copies through JS). */
  dequantize(typeId: number, bytes: Uint8Array, k: number): Float32Array {
    const r = this.reserve(0, bytes.byteLength, k * 4);
    this.bytes(r.src, bytes.byteLength).set(bytes);
    if (this.exports.dequantize(typeId, r.src, r.dst, k) !== 1) throw new Error(`cannot dequantize type ${typeInfo(typeId).name}`);
    return new Float32Array(this.memory.buffer.slice(r.dst, r.dst + k * 4));
  }

  /** Whether the module has a kernel for this ggml type. */
  has(typeId: number): boolean {
    const k = TYPES[typeId]?.kernel;
    return k !== undefined && typeof this.exports[k] === "function";
  }

  /**
   * Quantizes nrows rows of n values from regions.src (stored as srcType: f32, f16 or bf16) into
   * regions.dst as typeId, with regions.imatrix as importance when `useImatrix`. Returns bytes written.
   */
  quantize(typeId: number, regions: Regions, srcType: number, nrows: number, n: number, useImatrix: boolean): number {
    const ty = typeInfo(typeId);
    const fn = ty.kernel ? (this.exports[ty.kernel] as KernelFn | undefined) : undefined;
    if (!fn) throw new Error(`no kernel for type ${ty.name}`);
    if (n % ty.blockSize !== 0) throw new RangeError(`row of ${n} values is not a multiple of ${ty.name}'s block size ${ty.blockSize}`);
    const written = fn(regions.src, srcType, regions.dst, nrows, n, useImatrix ? regions.imatrix : 0);
    if (written <= -2) throw new KernelAbort(ty.name, -2 - written, this.exports.kernel_failure());
    if (written < 0) throw new Error(`kernel ${ty.kernel} cannot read source type ${srcType}`);
    const expected = rowBytes(typeId, n) * nrows;
    if (written !== expected) throw new Error(`kernel ${ty.kernel} wrote ${written} bytes, expected ${expected}`);
    return written;
  }
}

/**
 * Convenience for tests and small jobs: quantizes f32/f16/bf16 rows held in JS memory.
 * (The quantizer itself reads files straight into kernel memory instead.)
 */
export function quantizeRows(k: Kernels, typeId: number, src: Uint8Array, srcType: number, n: number, imatrix?: Float32Array): Uint8Array {
  const srcRowBytes = srcType === 0 ? n * 4 : n * 2;
  const nrows = src.byteLength / srcRowBytes;
  if (!Number.isInteger(nrows)) throw new RangeError("source is not a whole number of rows");
  const dstBytes = rowBytes(typeId, n) * nrows;
  const r = k.reserve(n, src.byteLength, dstBytes, imatrix ? n : 0);
  k.bytes(r.src, src.byteLength).set(src);
  if (imatrix) k.bytes(r.imatrix, n * 4).set(new Uint8Array(imatrix.buffer, imatrix.byteOffset, n * 4));
  const written = k.quantize(typeId, r, srcType, nrows, n, imatrix !== undefined);
  return k.bytes(r.dst, written).slice();
}
