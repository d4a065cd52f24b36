// The one writer behind scripts/make-{k4,q23k,iq4,iqgrid,iq3}-goldens.ts: for each type, llama.cpp's
// bytes (ggml_quantize_chunk in the reference build, called live through test/support/oracle.ts) for
// a row-set list, as per-set and per-row digests in test/fixtures/golden/kernels-<type>.json.
// Types whose kernels can abort (the lattice quants) pass mayAbort: the rows it flags are quantized
// in child processes (test/support/oracle-isolated.ts), and a row llama.cpp aborts on is recorded as
// "abort" (the set's sha256 then covers the other rows' bytes, in order).

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
  /** rows of a set on which llama.cpp may abort (each is then run in a child process,
   *  test/support/oracle-isolated.ts) */
  mayAbort?(ty: T, set: GoldenSet): boolean[];
}

/** llama.cpp's bytes for a set, row by row; "abort" where it aborts (only among the flagged rows). */
function quantizeSet(type: number, s: GoldenSet, flagged: boolean[]): (Uint8Array | "abort")[] {
  const n = s.n;
  const out: (Uint8Array | "abort")[] = new Array(s.names.length);
  const pick = (want: boolean) => s.names.map((_, i) => i).filter((i) => flagged[i] === want);
  const gather = (idx: number[]) => { const r = new Float32Array(idx.length * n); idx.forEach((i, k) => r.set(s.rows.subarray(i * n, (i + 1) * n), k * n)); return r; };
  const safe = pick(false), risky = pick(true);
  if (safe.length) {
    const bytes = oracle!.quantize(type, gather(safe), n, s.imatrix);
    const rb = bytes.length / safe.length;
    safe.forEach((i, k) => { out[i] = bytes.slice(k * rb, (k + 1) * rb); });
  }
  if (risky.length) quantizeRowsIsolated(type, gather(risky), n, s.imatrix).rows.forEach((b, k) => { out[risky[k]] = b ?? "abort"; });
  return out;
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
      if (spec.mayAbort) {
        const perRow = quantizeSet(ty.id, s, spec.mayAbort(ty, s));
        const kept = perRow.filter((b): b is Uint8Array => b !== "abort");
        const all = new Uint8Array(kept.reduce((t, b) => t + b.length, 0));
        kept.reduce((o, b) => (all.set(b, o), o + b.length), 0);
        return {
          name: s.name, n: s.n, srcType: s.srcType, imatrix: s.imatrixName, nrows: s.names.length,
          sha256: spec.sha256(all),
          rows: s.names.map((name, i) => [name, perRow[i] === "abort" ? "abort" : spec.rowDigests(ty, perRow[i] as Uint8Array, s.n)[0]]),
        };
      }
      const bytes = oracle!.quantize(ty.id, s.rows, s.n, s.imatrix);
      const digests = spec.rowDigests(ty, bytes, s.n);
      return {
        name: s.name, n: s.n, srcType: s.srcType, imatrix: s.imatrixName, nrows: s.names.length,
        sha256: spec.sha256(bytes),
        rows: s.names.map((name, i) => [name, digests[i]]),
      };
    });
    const golden = {
      made_by: `npx tsx scripts/${spec.script} ${ty.name}: ggml_quantize_chunk(GGML_TYPE_${ty.name.toUpperCase()}) from libggml-base.so of ${pkg.name}@${pkg.version} (sha256 ${libSha}; llama.cpp ggml-quants.c @ 36491e40), called through koffi`,
      type: ty.name,
      rows: `${spec.casesFile} goldenSets(); row digests are the first 16 hex digits of each row's sha256${spec.mayAbort ? ', "abort" where llama.cpp aborts on the row (the set sha256 covers the other rows)' : ""}`,
      sets,
    };
    const out = join(dir, `kernels-${ty.name}.json`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(out, JSON.stringify(golden, null, 1).replace(/\[\n\s+("[^"]*"),\n\s+("[^"]*")\n\s+\]/g, "[$1, $2]") + "\n");
    console.log(`wrote ${out}: ${sets.length} sets, ${sets.reduce((s, x) => s + x.nrows, 0)} rows`);
  }
}
