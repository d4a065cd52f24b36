// Writes kernel goldens: sha256 of the bytes the reference library (ggml_quantize_chunk in the
// libggml-base.so of @node-llama-cpp/linux-x64, loaded live through koffi by test/support/oracle.ts)
// produces for every case of test/support/golden.ts. Kernel tests regenerate the same rows and
// compare our digests with these, so they need no native library.
//
//   npx tsx scripts/make-kernel-goldens.ts [--out FILE] [--sets edge,inf,nan,...] [--widths 32,64,...] TYPE...
//   npx tsx scripts/make-kernel-goldens.ts --out test/fixtures/golden/kernels-legacy.json q4_0 q4_1 q5_0 q5_1 q8_0 f32 f16 bf16
//
// TYPE is a ggml type name (case-insensitive). Without --out the JSON goes to stdout.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { typeByName, type GgmlType } from "../src/types.js";
import { oracle } from "../test/support/oracle.js";
import { GOLDEN_WIDTHS, SETS, casesFor, inputDigest, sha256, type GoldenFile, type SetName } from "../test/support/golden.js";

function usage(msg: string): never {
  process.stderr.write(`make-kernel-goldens: ${msg}\nusage: npx tsx scripts/make-kernel-goldens.ts [--out FILE] [--sets ${SETS.join(",")}] [--widths ${GOLDEN_WIDTHS.join(",")}] TYPE...\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let out: string | undefined;
let sets: SetName[] | undefined;
let widths: number[] | undefined;
const types: GgmlType[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--out") out = args[++i] ?? usage("--out needs a file");
  else if (a === "--sets") {
    sets = (args[++i] ?? usage("--sets needs a list")).split(",") as SetName[];
    for (const s of sets) if (!(SETS as readonly string[]).includes(s)) usage(`unknown set "${s}"`);
  } else if (a === "--widths") {
    widths = (args[++i] ?? usage("--widths needs a list")).split(",").map(Number);
    if (widths.some((w) => !Number.isInteger(w) || w <= 0)) usage("bad --widths");
  } else if (a.startsWith("-")) usage(`unknown option ${a}`);
  else {
    const ty = typeByName(a);
    if (!ty) usage(`unknown type "${a}"`);
    types.push(ty);
  }
}
if (types.length === 0) usage("no types given");
if (!oracle) usage("the reference library is not available here (needs x86-64 Linux and @node-llama-cpp/linux-x64)");

// oracle.libDir is <package>/bins/linux-x64 (the package exports no package.json subpath)
const pkg = JSON.parse(readFileSync(join(oracle.libDir, "..", "..", "package.json"), "utf8")) as { name: string; version: string };
const libBytes = readFileSync(join(oracle.libDir, "libggml-base.so"));

const file: GoldenFile = {
  made_by: `npx tsx scripts/make-kernel-goldens.ts ${process.argv.slice(2).join(" ")} (ggml_quantize_chunk from ${pkg.name}@${pkg.version} libggml-base.so)`,
  reference: `ggml_quantize_chunk in libggml-base.so of ${pkg.name}@${pkg.version} (sha256 ${sha256(libBytes)}; its quantizers match ggml-quants.c@36491e40), called through koffi by test/support/oracle.ts`,
  generator: "test/support/golden.ts (rows from test/support/rows.ts and test/support/floats.ts); input = sha256 of the source bytes then the imatrix",
  cases: {},
};

let nrows = 0;
for (const ty of types) {
  for (const c of casesFor(ty, sets, widths)) {
    const bytes = oracle.quantize(ty.id, c.oracleRows, c.n, c.imatrix);
    file.cases[c.key] = { rows: c.nrows, input: inputDigest(c), output: sha256(bytes) };
    nrows += c.nrows;
  }
}

const json = JSON.stringify(file, null, 1) + "\n";
if (out) {
  writeFileSync(out, json);
  process.stderr.write(`wrote ${Object.keys(file.cases).length} cases (${nrows} rows) to ${out}\n`);
} else process.stdout.write(json);
