// Writes test/fixtures/golden/kernels-iq4_nl.json and kernels-iq4_xs.json: sha256 of llama.cpp's
// bytes for the row sets of test/kernels/iq4.cases.ts, from ggml_quantize_chunk in the reference
// build, called live (test/support/oracle.ts).
//
//   npx tsx scripts/make-iq4-goldens.ts [iq4_nl] [iq4_xs]      (no argument: both)

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { oracle } from "../test/support/oracle.js";
import { IQ4_TYPES, goldenSets, rowDigests, sha256 } from "../test/kernels/iq4.cases.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures", "golden");

if (!oracle) {
  console.error("make-iq4-goldens: the reference library (@node-llama-cpp/linux-x64, x86-64 Linux) is not available");
  process.exit(1);
}
const args = process.argv.slice(2);
const types = args.length ? args.map((a) => IQ4_TYPES.find((t) => t.name === a.toLowerCase()) ?? (console.error(`make-iq4-goldens: not iq4_nl or iq4_xs: ${a}`), process.exit(2))) : IQ4_TYPES;

// oracle.libDir is <package>/bins/linux-x64
const pkg = JSON.parse(readFileSync(join(oracle.libDir, "..", "..", "package.json"), "utf8")) as { name: string; version: string };
const libSha = sha256(readFileSync(join(oracle.libDir, "libggml-base.so")));

for (const ty of types) {
  const sets = goldenSets(ty).map((s) => {
    const bytes = oracle!.quantize(ty.id, s.rows, s.n, s.imatrix);
    const digests = rowDigests(ty, bytes, s.n);
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
    made_by: `npx tsx scripts/make-iq4-goldens.ts ${ty.name}: ggml_quantize_chunk(GGML_TYPE_${ty.name.toUpperCase()}) from libggml-base.so of ${pkg.name}@${pkg.version} (sha256 ${libSha}; llama.cpp ggml-quants.c @ 36491e40), called through koffi`,
    type: ty.name,
    rows: "test/kernels/iq4.cases.ts goldenSets(); row digests are the first 16 hex digits of each row's sha256",
    sets,
  };
  const out = join(dir, `kernels-${ty.name}.json`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(out, JSON.stringify(golden, null, 1).replace(/\[\n\s+("[^"]*"),\n\s+("[^"]*")\n\s+\]/g, "[$1, $2]") + "\n");
  console.log(`wrote ${out}: ${sets.length} sets, ${sets.reduce((s, x) => s + x.nrows, 0)} rows`);
}
