// Writes test/fixtures/golden/kernels-small-extra.json: sha256 of the bytes the reference library
// (ggml_quantize_chunk of @node-llama-cpp/linux-x64's libggml-base.so, through koffi) produces for the
// extra rows of test/support/small-rows.ts (ties, values next to powers of two), per small type.
//
//   npx tsx scripts/make-small-goldens.ts

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { typeByName } from "../src/types.js";
import { oracle } from "../test/support/oracle.js";
import { sha256 } from "../test/support/golden.js";
import { EXTRA_CASES } from "../test/support/small-rows.js";

if (!oracle) throw new Error("the reference library is not available here (needs x86-64 Linux and @node-llama-cpp/linux-x64)");
const pkg = JSON.parse(readFileSync(join(oracle.libDir, "..", "..", "package.json"), "utf8")) as { name: string; version: string };
const cases: Record<string, string> = {};
for (const name of ["tq1_0", "tq2_0", "mxfp4", "nvfp4", "q1_0", "q2_0"]) {
  const id = typeByName(name)!.id;
  for (const [c, make] of Object.entries(EXTRA_CASES)) {
    const { rows, n } = make(name);
    cases[`${name}/${c}`] = sha256(oracle.quantize(id, rows, n));
  }
}
const out = new URL("../test/fixtures/golden/kernels-small-extra.json", import.meta.url);
writeFileSync(out, JSON.stringify({ made_by: `npx tsx scripts/make-small-goldens.ts (ggml_quantize_chunk from ${pkg.name}@${pkg.version} libggml-base.so)`, cases }, null, 1) + "\n");
process.stderr.write(`wrote ${Object.keys(cases).length} digests\n`);
