// Child side of quantizeRowsIsolated (test/support/oracle-isolated.ts): reads a request on stdin
// (type, n, first row, then the f32 rows and the optional imatrix as base64), quantizes the rows one
// at a time with the reference library, and prints `row <i> <hex>` as soon as each is done, so that
// the rows before an abort survive it.

import { readFileSync, writeSync } from "node:fs";
import { oracle } from "./oracle.js";

const req = JSON.parse(readFileSync(0, "utf8")) as { type: number; n: number; from: number; rows: string; imatrix?: string };
if (!oracle) {
  writeSync(2, "reference library not available\n");
  process.exit(2);
}
const f32 = (b64: string) => { const b = Buffer.from(b64, "base64"); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
const rows = f32(req.rows);
const imatrix = req.imatrix === undefined ? undefined : f32(req.imatrix);
for (let r = req.from; r < rows.length / req.n; r++) {
  const out = oracle.quantize(req.type, rows.slice(r * req.n, (r + 1) * req.n), req.n, imatrix);
  writeSync(1, `row ${r} ${Buffer.from(out).toString("hex")}\n`);
}
