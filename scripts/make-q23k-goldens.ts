// Writes test/fixtures/golden/kernels-q2_K.json and kernels-q3_K.json: sha256 of llama.cpp's q2_K and
// q3_K bytes for the row sets of test/kernels/q23_K.cases.ts, from ggml_quantize_chunk in the reference
// build, called live (test/support/oracle.ts).
// Run: npx tsx scripts/make-q23k-goldens.ts [q2_K] [q3_K]   (both when no type is named)

import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { oracle } from "../test/support/oracle.js";
import { Q2_K, Q3_K, goldenSets, rowDigests, sha256, type KType } from "../test/kernels/q23_K.cases.js";

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures", "golden");

if (!oracle) {
  console.error("make-q23k-goldens: the reference library (@node-llama-cpp/linux-x64, x86-64 Linux) is not available");
  process.exit(1);
}

const byName: Record<string, KType> = { q2_K: Q2_K, q3_K: Q3_K };
const names = process.argv.slice(2);
for (const a of names) if (!byName[a]) { console.error(`make-q23k-goldens: unknown type "${a}" (q2_K or q3_K)`); process.exit(2); }

const pkg = JSON.parse(readFileSync(join(oracle.libDir, "..", "..", "package.json"), "utf8")) as { name: string; version: string };
const libSha = sha256(readFileSync(join(oracle.libDir, "libggml-base.so")));

for (const t of (names.length ? names : ["q2_K", "q3_K"]).map((a) => byName[a])) {
  const sets = goldenSets().map((s) => {
    const bytes = oracle!.quantize(t.id, s.rows, s.n, s.imatrix);
    const digests = rowDigests(t, bytes, s.n);
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
    made_by: `npx tsx scripts/make-q23k-goldens.ts ${t.name}: ggml_quantize_chunk(GGML_TYPE_${t.name.toUpperCase()}) from libggml-base.so of ${pkg.name}@${pkg.version} (sha256 ${libSha}; llama.cpp ggml-quants.c @ 36491e40), called through koffi`,
    type: t.name,
    rows: "test/kernels/q23_K.cases.ts goldenSets(); row digests are the first 16 hex digits of each row's sha256",
    sets,
  };
  const out = join(goldenDir, `kernels-${t.name}.json`);
  mkdirSync(goldenDir, { recursive: true });
  writeFileSync(out, JSON.stringify(golden, null, 1).replace(/\[\n\s+("[^"]*"),\n\s+("[^"]*")\n\s+\]/g, "[$1, $2]") + "\n");
  console.log(`wrote ${out}: ${sets.length} sets, ${sets.reduce((s, x) => s + x.nrows, 0)} rows`);
}
