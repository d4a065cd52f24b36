// The reference build itself, called directly: ggml_quantize_chunk from the libggml-base.so that
// the npm package @node-llama-cpp/linux-x64@3.22.1 ships, through koffi. Available only where that
// package installs (x86-64 Linux); tests that use it are skipped elsewhere, and goldens committed
// under test/fixtures cover the same ground everywhere.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

export interface Oracle {
  /** ggml_quantize_chunk(type, src, dst, 0, nrows, n, imatrix) */
  quantize(type: number, rows: Float32Array, n: number, imatrix?: Float32Array): Uint8Array;
  /** type_traits[type].to_float over k values */
  dequantize(type: number, bytes: Uint8Array, k: number): Float32Array;
  /** ggml_validate_row_data(type, data, nbytes) (it logs the first bad block to stderr) */
  validate(type: number, bytes: Uint8Array): boolean;
  rowSize(type: number, n: number): number;
  typeSize(type: number): number;
  blockSize(type: number): number;
  typeName(type: number): string;
  libDir: string;
}

function load(): Oracle | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return undefined;
  let libDir: string;
  let koffi: typeof import("koffi");
  try {
    // the package exports only dist/index.js; its libraries sit in bins/ beside dist/
    libDir = join(dirname(require.resolve("@node-llama-cpp/linux-x64")), "..", "bins", "linux-x64");
    koffi = require("koffi");
  } catch {
    return undefined;
  }
  const path = join(libDir, "libggml-base.so");
  if (!existsSync(path)) return undefined;
  const lib = koffi.load(path);
  const chunk = lib.func("size_t ggml_quantize_chunk(int, const float *, _Out_ uint8_t *, int64_t, int64_t, int64_t, const float *)");
  const init = lib.func("void ggml_quantize_init(int)");
  const rowSize = lib.func("size_t ggml_row_size(int, int64_t)");
  const validateRow = lib.func("bool ggml_validate_row_data(int, const uint8_t *, size_t)");
  const typeSize = lib.func("size_t ggml_type_size(int)");
  const blockSize = lib.func("int64_t ggml_blck_size(int)");
  const typeName = lib.func("const char * ggml_type_name(int)");
  const Traits = koffi.struct("ggml_type_traits", {
    type_name: "const char *", blck_size: "int64_t", blck_size_interleave: "int64_t", type_size: "size_t",
    is_quantized: "bool", to_float: "void *", from_float_ref: "void *",
  });
  const getTraits = lib.func("const ggml_type_traits * ggml_get_type_traits(int)");
  const ToFloat = koffi.proto("void ggml_to_float_t(const void *x, _Out_ float *y, int64_t k)");
  return {
    libDir,
    quantize(type, rows, n, imatrix) {
      const nrows = rows.length / n;
      const out = new Uint8Array(Number(rowSize(type, n)) * nrows);
      init(type);
      chunk(type, rows, out, 0, nrows, n, imatrix ?? null);
      return out;
    },
    dequantize(type, bytes, k) {
      const traits = koffi.decode(getTraits(type), Traits) as { to_float: unknown };
      if (!traits.to_float) throw new Error(`type ${type} has no to_float`);
      const out = new Float32Array(k);
      koffi.call(traits.to_float as never, ToFloat, bytes, out, k);
      return out;
    },
    validate: (type, bytes) => validateRow(type, bytes, bytes.length) as boolean,
    rowSize: (type, n) => Number(rowSize(type, n)),
    typeSize: (type) => Number(typeSize(type)),
    blockSize: (type) => Number(blockSize(type)),
    typeName: (type) => typeName(type) as string,
  };
}

export const oracle: Oracle | undefined = load();
