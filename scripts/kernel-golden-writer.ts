// The one writer behind scripts/make-{k4,q23k,iq4}-goldens.ts: for each type, llama.cpp's bytes
// (ggml_quantize_chunk in the reference build, called live through test/support/oracle.ts) for a
// row-set list, as per-set and per-row digests in test/fixtures/golden/kernels-<type>.json.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { oracle } from "../test/support/oracle.js";
import { quantizeRowsIsolated } from "../test/support/oracle-isolated.js";

interface KernelType { id: number; name: string }
interface GoldenSet { name: string; n: number; srcType: unknown; imatrixName: unknown; names: string[]; rows: Float32Array; imatrix?: Float32Array }

export interface GoldenSpec<T extends KernelType> {
  /** the script's file name, as written into made_by */
  script: string;
  /** the cases module, as written into the golden's `rows` note */
  casesFile: string;
  types: readonly T[];
  sets(ty: T): GoldenSet[];
  rowDigests(ty: T, bytes: Uint8Array, n: number): string[];
  sha256(b: Uint8Array): string;
  /** Rows on which llama.cpp may abort the process (the IQ grid searches): quantize them in child
   *  processes (test/support/oracle-isolated.ts); an aborted row's digest is "abort", and the set's
   *  sha256 covers the other rows' bytes, in order. */
  isolated?: boolean;
}

/** The row digests and set digest of one set, with "abort" for rows on which llama.cpp aborts. */
function quantizeSet<T extends KernelType>(spec: GoldenSpec<T>, ty: T, s: GoldenSet): { sha256: string; digests: string[] } {
  if (!spec.isolated) {
    const bytes = oracle!.quantize(ty.id, s.rows, s.n, s.imatrix);
    return { sha256: spec.sha256(bytes), digests: spec.rowDigests(ty, bytes, s.n) };
  }
  const { rows } = quantizeRowsIsolated(ty.id, s.rows, s.n, s.imatrix);
  const kept = rows.filter((r): r is Uint8Array => r !== undefined);
  const bytes = new Uint8Array(kept.reduce((a, r) => a + r.length, 0));
  kept.reduce((o, r) => (bytes.set(r, o), o + r.length), 0);
  return { sha256: spec.sha256(bytes), digests: rows.map((r) => (r ? spec.rowDigests(ty, r, s.n)[0] : "abort")) };
}

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures", "golden");

/** Writes the goldens of the types named on the command line (all when none is). */
export function writeKernelGoldens<T extends KernelType>(spec: GoldenSpec<T>, args: string[]): void {
  const tag = spec.script.replace(/\.ts$/, "");
  if (!oracle) {
    console.error(`${tag}: the reference library (@node-llama-cpp/linux-x64, x86-64 Linux) is not available`);
    process.exit(1);
  }
  const types = args.length
    ? args.map((a) => spec.types.find((t) => t.name.toLowerCase() === a.toLowerCase()) ?? (console.error(`${tag}: not one of ${spec.types.map((t) => t.name).join(", ")}: ${a}`), process.exit(2)))
    : spec.types;
  // oracle.libDir is <package>/bins/linux-x64
  const pkg = JSON.parse(readFileSync(join(oracle.libDir, "..", "..", "package.json"), "utf8")) as { name: string; version: string };
  const libSha = spec.sha256(readFileSync(join(oracle.libDir, "libggml-base.so")));
  for (const ty of types) {
    const sets = spec.sets(ty).map((s) => {
      const { sha256, digests } = quantizeSet(spec, ty, s);
      return {
        name: s.name, n: s.n, srcType: s.srcType, imatrix: s.imatrixName, nrows: s.names.length,
        sha256,
        rows: s.names.map((name, i) => [name, digests[i]]),
      };
    });
    const golden = {
      made_by: `npx tsx scripts/${spec.script} ${ty.name}: ggml_quantize_chunk(GGML_TYPE_${ty.name.toUpperCase()}) from libggml-base.so of ${pkg.name}@${pkg.version} (sha256 ${libSha}; llama.cpp ggml-quants.c @ 36491e40), called through koffi`,
      type: ty.name,
      rows: `${spec.casesFile} goldenSets(); row digests are the first 16 hex digits of each row's sha256${spec.isolated ? ' ("abort": llama.cpp aborts the process on that row; the set\'s sha256 covers the other rows)' : ""}`,
      sets,
    };
    const out = join(dir, `kernels-${ty.name}.json`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(out, JSON.stringify(golden, null, 1).replace(/\[\n\s+("[^"]*"),\n\s+("[^"]*")\n\s+\]/g, "[$1, $2]") + "\n");
    console.log(`wrote ${out}: ${sets.length} sets, ${sets.reduce((s, x) => s + x.nrows, 0)} rows`);
  }
}
