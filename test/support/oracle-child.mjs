// Child side of quantizeRowsIsolated (test/support/oracle-isolated.ts): reads a request on stdin
// (type, n, first row, then the f32 rows and the optional imatrix as base64), quantizes the rows one
// at a time with ggml_quantize_chunk, and prints `row <i> <hex>` as soon as each is done, so that
// the rows before an abort survive it. Plain JavaScript with its own two koffi bindings (the same
// library and calls as test/support/oracle.ts): a child starts for every abort, and skipping the
// TypeScript loader makes that several times faster.

import { readFileSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const libDir = join(dirname(require.resolve("@node-llama-cpp/linux-x64")), "..", "bins", "linux-x64");
const lib = require("koffi").load(join(libDir, "libggml-base.so"));
const chunk = lib.func("size_t ggml_quantize_chunk(int, const float *, _Out_ uint8_t *, int64_t, int64_t, int64_t, const float *)");
const init = lib.func("void ggml_quantize_init(int)");
const rowSize = lib.func("size_t ggml_row_size(int, int64_t)");

const req = JSON.parse(readFileSync(0, "utf8"));
const f32 = (b64) => { const b = Buffer.from(b64, "base64"); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
const rows = f32(req.rows);
const imatrix = req.imatrix === undefined ? null : f32(req.imatrix);
init(req.type);
const out = new Uint8Array(Number(rowSize(req.type, req.n)));
for (let r = req.from; r < rows.length / req.n; r++) {
  chunk(req.type, rows.slice(r * req.n, (r + 1) * req.n), out, 0, 1, req.n, imatrix);
  writeSync(1, `row ${r} ${Buffer.from(out).toString("hex")}\n`);
}
