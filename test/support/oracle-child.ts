// Child side of quantizeRowsIsolated (test/support/oracle-isolated.ts): reads one request as JSON on
// stdin ({type, n, rows, imatrix?}, float arrays as base64 of their bytes) and quantizes the rows one
// at a time with ggml_quantize_chunk (test/support/oracle.ts), printing each row's bytes as a line
// `row <base64>` as soon as it has them, so that the rows before an abort survive it. (The prefix
// matters: llama.cpp printf()s to stdout before some aborts, e.g. "Oops: found point 4096 not on grid".)

import { readFileSync, writeSync } from "node:fs";
import { oracle } from "./oracle.js";

const req = JSON.parse(readFileSync(0, "utf8")) as { type: number; n: number; rows: string; imatrix?: string };
if (!oracle) {
  writeSync(2, "llama.cpp library not available\n");
  process.exit(2);
}
const floats = (b64: string) => { const b = Buffer.from(b64, "base64"); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
const rows = floats(req.rows);
const imatrix = req.imatrix ? floats(req.imatrix) : undefined;
for (let r = 0; r * req.n < rows.length; r++) {
  const out = oracle.quantize(req.type, rows.subarray(r * req.n, (r + 1) * req.n), req.n, imatrix);
  writeSync(1, "row " + Buffer.from(out).toString("base64") + "\n");
}
