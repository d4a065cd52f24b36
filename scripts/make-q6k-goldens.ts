// Writes test/fixtures/golden/kernels-q6_K.json: sha256 of llama.cpp's q6_K bytes for the row sets of
// test/kernels/q6_K.cases.ts, from ggml_quantize_chunk in the reference build, called live
// (test/support/oracle.ts). Run: npx tsx scripts/make-q6k-goldens.ts
// (To be folded into the generic scripts/make-kernel-goldens.ts.)

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { oracle } from "../test/support/oracle.js";
import { Q6_K, goldenSets, rowDigests, sha256 } from "../test/kernels/q6_K.cases.js";

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures", "golden", "kernels-q6_K.json");

if (!oracle) {
  console.error("make-q6k-goldens: the reference library (@node-llama-cpp/linux-x64, x86-64 Linux) is not available");
  process.exit(1);
}

const sets = goldenSets().map((s) => {
  const bytes = oracle!.quantize(Q6_K, s.rows, s.n, s.imatrix);
  const digests = rowDigests(bytes, s.n);
  return {
    name: s.name,
    n: s.n,
    srcType: s.srcType,
    imatrix: s.imatrixName,
    nrows: s.names.length,
    sha256: sha256(bytes),
    rows: s.names.map((name, i) => [name, digests[i]]),
  };
});

const golden = {
  made_by: "npx tsx scripts/make-q6k-goldens.ts: ggml_quantize_chunk(GGML_TYPE_Q6_K) from libggml-base.so of @node-llama-cpp/linux-x64@3.22.1 (llama.cpp ggml-quants.c @ 36491e40), called through koffi",
  type: "q6_K",
  rows: "test/kernels/q6_K.cases.ts goldenSets(); row digests are the first 16 hex digits of each row's sha256",
  sets,
};

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(golden, null, 1).replace(/\[\n\s+("[^"]*"),\n\s+("[^"]*")\n\s+\]/g, "[$1, $2]") + "\n");
console.log(`wrote ${out}: ${sets.length} sets, ${sets.reduce((s, x) => s + x.nrows, 0)} rows`);
