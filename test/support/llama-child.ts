// Child side of quantizeIsolated (test/support/llama.ts): reads one request as JSON on stdin, calls
// llama_model_quantize, and prints each log line as `log <json string>` as soon as it is logged
// (so that the lines before an abort survive), then `status <n>`.

import { readFileSync, writeSync } from "node:fs";
import { llama, type LlamaQuantizeParams } from "./llama.js";

const req = JSON.parse(readFileSync(0, "utf8"), (_k, v) => (v && typeof v === "object" && typeof v.bigint === "string" ? BigInt(v.bigint) : v)) as {
  input: string; output: string; params: Omit<LlamaQuantizeParams, "imatrix"> & { imatrix?: [string, number[]][] };
};
if (!llama) {
  writeSync(2, "llama.cpp library not available\n");
  process.exit(2);
}
const params: LlamaQuantizeParams = { ...req.params, imatrix: req.params.imatrix ? new Map(req.params.imatrix.map(([k, v]) => [k, Float32Array.from(v)])) : undefined };
const lines: string[] = new Proxy([], {
  get(target: string[], prop, receiver) {
    if (prop === "push") return (...items: string[]) => { for (const l of items) writeSync(1, `log ${JSON.stringify(l)}\n`); return target.push(...items); };
    return Reflect.get(target, prop, receiver);
  },
});
const status = llama.quantize(req.input, req.output, params, lines);
writeSync(1, `status ${status}\n`);
