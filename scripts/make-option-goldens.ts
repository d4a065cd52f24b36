// Makes test/fixtures/golden/options.json: for each case of test/support/option-cases.ts, the
// sha256 of the input files (the generated model, first quantized by llama.cpp for requantization
// cases, split as gguf-split would) and of every file llama.cpp's llama_model_quantize writes.
// Needs the reference library (npm @node-llama-cpp/linux-x64@3.22.1, through test/support/llama.ts),
// which `npm ci` installs on x86-64 Linux. Run: npx tsx scripts/make-option-goldens.ts
// Each case runs in a scratch folder with relative names (model.gguf or model-0000i-of-0000n.gguf,
// imatrix.{dat,gguf}), as llama-quantize would be run there: the imatrix path is written into the
// output, and llama.cpp gets exactly the parameters llama-quantize derives from the flags (see
// params() and llamaImatrix() in test/support/live.ts).

import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { llama } from "../test/support/llama.js";
import { prepare, runLlama } from "../test/support/live.js";
import { asLiveCase, optionCases } from "../test/support/option-cases.js";

if (!llama) throw new Error("llama.cpp's library is not available (npm @node-llama-cpp/linux-x64@3.22.1 on x86-64 Linux)");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const cwd = process.cwd();
const out = join(cwd, "test", "fixtures", "golden", "options.json");
const cases: Record<string, { inputs: Record<string, string>; outputs: Record<string, string> }> = {};

for (const c of optionCases()) {
  const dir = mkdtempSync(join(tmpdir(), "option-golden-"));
  process.chdir(dir);
  try {
    const lc = asLiveCase(c);
    const p = await prepare(lc, ".", {}, llama);
    const inputs = Object.fromEntries(readdirSync(".").filter((n) => n.startsWith("model")).sort().map((n) => [n, sha(readFileSync(n))]));
    const r = runLlama(llama, lc, p);
    if (r.status !== 0 || r.outputs.length === 0) throw new Error(`${c.id}: llama.cpp refused: ${r.error ?? r.lines.slice(-3).join(" | ")}`);
    cases[c.id] = { inputs, outputs: Object.fromEntries(r.outputs.map((o) => [o.name.slice("theirs".length), sha(o.bytes)])) };
    console.log(c.id, Object.keys(cases[c.id].outputs).join(" "));
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
}

writeFileSync(out, JSON.stringify({
  made_by: "npx tsx scripts/make-option-goldens.ts — llama_model_quantize of @node-llama-cpp/linux-x64@3.22.1 (libllama.v0.5.0.so) called in-process through test/support/llama.ts (koffi), nthread 1, with the parameters llama-quantize derives from each case's flags; requantization sources made by the same library",
  cases,
}, null, 1) + "\n");
console.log(`wrote ${Object.keys(cases).length} cases to ${out}`);
