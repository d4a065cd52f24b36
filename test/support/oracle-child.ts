// Child side of quantizeChunkIsolated (test/support/oracle-isolated.ts): reads one request as JSON on
// stdin ({type, n, rows, imatrix?}, float arrays as base64 of their bytes), calls ggml_quantize_chunk
// through test/support/oracle.ts, and prints the output bytes as base64, or dies the way llama.cpp does.

import { readFileSync, writeSync } from "node:fs";
import { oracle } from "./oracle.js";

const req = JSON.parse(readFileSync(0, "utf8")) as { type: number; n: number; rows: string; imatrix?: string };
if (!oracle) {
  writeSync(2, "llama.cpp library not available\n");
  process.exit(2);
}
const floats = (b64: string) => { const b = Buffer.from(b64, "base64"); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
const out = oracle.quantize(req.type, floats(req.rows), req.n, req.imatrix ? floats(req.imatrix) : undefined);
writeSync(1, Buffer.from(out).toString("base64") + "\n");
