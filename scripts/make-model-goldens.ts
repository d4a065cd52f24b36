// Makes test/fixtures/golden/models.json: for each case of test/support/model-cases.ts, the sha256 of
// the file llama.cpp writes. Needs the reference tools: `bash ../shared/ref/setup.sh` (REF_DIR
// defaults to ~/.cache/gguf-quantize-ref). Run: npx tsx scripts/make-model-goldens.ts
// Each case is run as `refquant IN OUT FTYPE 2 [options]` in a scratch folder holding model.gguf and
// imatrix.{dat,gguf}, so the imatrix path written into the output is the same relative name.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { parsePreset } from "../src/ftypes.js";
import { typeByName } from "../src/types.js";
import { writeGgufImatrix, writeLegacyImatrix } from "../src/imatrix.js";
import { generateImatrix, generateModel, writeImatrix, writeModel } from "../test/support/generate.js";
import { MODELS, modelCases } from "../test/support/model-cases.js";

const refDir = process.env.REF_DIR ?? join(homedir(), ".cache", "gguf-quantize-ref");
const refquant = join(refDir, "refquant");
const lib = join(refDir, "nlc", "bins", "linux-x64");

/** Our CLI options in refquant's spelling (ggml type names become ids). */
function refFlags(flags: string[], imatrix: string): string[] {
  const out: string[] = [];
  const id = (name: string) => String(typeByName(name)!.id);
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    if (f === "--pure") out.push("--pure");
    else if (f === "--leave-output-tensor") out.push("--leave-output");
    else if (f === "--output-tensor-type") out.push("--output-type", id(flags[++i]));
    else if (f === "--token-embedding-type") out.push("--embd-type", id(flags[++i]));
    else if (f === "--tensor-type") { const [p, t] = flags[++i].split("="); out.push("--tt", `${p.toLowerCase()}=${id(t)}`); }
    else if (f === "--include-weights" || f === "--exclude-weights") i++; // applied to the imatrix file below
    else throw new Error(`no refquant spelling for ${f}`);
  }
  if (imatrix) out.push("--imatrix", imatrix);
  return out;
}

const cases = modelCases();
const results: Record<string, string> = {};
for (const [name, spec] of Object.entries(MODELS)) {
  const dir = mkdtempSync(join(tmpdir(), `golden-${name}-`));
  await writeModel(join(dir, "model.gguf"), spec);
  const m = generateModel(spec);
  await writeImatrix(join(dir, "imatrix.gguf"), m, "gguf");
  await writeImatrix(join(dir, "imatrix.dat"), m, "dat");
  for (const c of cases.filter((c) => c.model === name)) {
    // refquant has no --include/--exclude-weights: it gets a filtered copy of the imatrix under the
    // same relative name, in a sub-folder (the name is written into the output)
    const imatrix = c.imatrix === "none" ? "" : `imatrix.${c.imatrix}`;
    let cwd = dir;
    const inc = c.flags.indexOf("--include-weights"), exc = c.flags.indexOf("--exclude-weights");
    if (inc >= 0 || exc >= 0) {
      const pat = c.flags[(inc >= 0 ? inc : exc) + 1];
      cwd = mkdtempSync(join(dir, "filtered-"));
      symlinkSync(join(dir, "model.gguf"), join(cwd, "model.gguf"));
      const { stats, meta } = generateImatrix(m);
      const kept = stats.filter((st) => st.name.includes(pat) === inc >= 0);
      writeFileSync(join(cwd, imatrix), c.imatrix === "gguf" ? writeGgufImatrix(kept, meta) : writeLegacyImatrix(kept, meta));
    }
    const ftype = parsePreset(c.preset)!.ftype;
    const args = ["model.gguf", "out.gguf", String(ftype), "2", ...refFlags(c.flags, imatrix)];
    try {
      execFileSync(refquant, args, { cwd, env: { ...process.env, LD_LIBRARY_PATH: lib }, stdio: ["ignore", "ignore", "pipe"] });
      results[c.id] = createHash("sha256").update(readFileSync(join(cwd, "out.gguf"))).digest("hex");
      rmSync(join(cwd, "out.gguf"));
    } catch {
      results[c.id] = "refused"; // llama.cpp refuses the case (e.g. Q2_K_S without an importance matrix)
    }
    process.stderr.write(`${c.id} ${results[c.id].slice(0, 16)}\n`);
  }
  rmSync(dir, { recursive: true });
}
const out = {
  made_by: "npx tsx scripts/make-model-goldens.ts — refquant (../shared/ref: llama_model_quantize of @node-llama-cpp/linux-x64@3.22.1, libllama.v0.5.0.so) run as `refquant model.gguf out.gguf FTYPE 2 [--imatrix imatrix.{dat,gguf}] [options]` in a folder holding the generated model and imatrices",
  cases: results,
};
writeFileSync(new URL("../test/fixtures/golden/models.json", import.meta.url), JSON.stringify(out, null, 1) + "\n");
