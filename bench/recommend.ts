// tsx bench/recommend.ts [--quick]: does `recommend` beat llama.cpp's presets at their own size?
// On generated models with imatrices, for budgets equal to the file sizes of Q2_K, Q3_K_M,
// Q4_K_M, IQ4_XS and Q5_K_M, compares the total imatrix-weighted error of the recommended recipe
// with the preset's (every row measured: no sampling, so both numbers are exact for these weights),
// checks that quantizing with the recipe through the CLI writes exactly the predicted bytes, and
// writes bench/RECOMMEND.md.
//
// The generated weights are random-ish, so the errors are only a proxy for model quality.

import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../src/cli.js";
import { parsePreset } from "../src/ftypes.js";
import { analyze, recommend, type Analysis } from "../src/recommend.js";
import { loadImatrixFile, openModel } from "../src/run.js";
import { typeName } from "../src/types.js";
import { generateModel, writeImatrix, writeModel, type ModelSpec } from "../test/support/generate.js";

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes("--quick");
const BUDGETS = ["Q2_K", "Q3_K_M", "Q4_K_M", "IQ4_XS", "Q5_K_M"];
const MODELS: { label: string; spec: ModelSpec }[] = [
  { label: "llama, 8 layers, GQA 4, 512 wide", spec: { arch: "llama", nLayer: 8, nEmbd: 512, nFf: 1024, nHead: 8, nHeadKv: 2, nVocab: 1024, dtype: "f16", seed: 11 } },
  { label: "qwen2moe, 4 layers, 4 experts", spec: { arch: "qwen2moe", nLayer: 4, nEmbd: 256, nFf: 512, nVocab: 512, dtype: "bf16", seed: 12 } },
];

const tally = (types: readonly number[]) => {
  const m = new Map<number, number>();
  for (const t of types) m.set(t, (m.get(t) ?? 0) + 1);
  return [...m].sort((a, b) => a[0] - b[0]).map(([t, n]) => `${typeName(t)} ${n}`).join(", ");
};

/** The types of the two tensors outside the blocks, where presets and the allocator differ most. */
const edges = (a: Analysis, preset: readonly number[], rec: readonly number[]) =>
  ["token_embd.weight", "output.weight"].map((n) => a.probe.tensors.findIndex((t) => t.name === n)).filter((i) => i >= 0)
    .map((i) => `${typeName(preset[i])} → ${typeName(rec[i])}`).join(", ");

async function analyzeModel(dir: string, spec: ModelSpec): Promise<Analysis> {
  const model = join(dir, "model.gguf"), imatrix = join(dir, "imatrix.gguf");
  await writeModel(model, spec);
  await writeImatrix(imatrix, generateModel(spec), "gguf");
  const im = (await loadImatrixFile(imatrix))!;
  const { sources, headers } = await openModel(model);
  try {
    return await analyze({ input: model, headers, sources, paths: [model], threads: availableParallelism(), imatrix: im, sampleRows: Number.MAX_SAFE_INTEGER });
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}

async function quantizedSize(dir: string, model: string, recipeText: string): Promise<number> {
  const recipe = join(dir, "r.recipe"), out = join(dir, "out.gguf");
  writeFileSync(recipe, recipeText);
  const err: string[] = [];
  const code = await runCli(["--quiet", "--recipe", recipe, model, out], { stdout: () => {}, stderr: (s) => err.push(s) });
  if (code !== 0) throw new Error(`quantize with the recipe failed (${code}): ${err.join("")}`);
  const size = statSync(out).size;
  rmSync(out);
  return size;
}

const md: string[] = [
  "# recommend vs llama.cpp presets",
  "",
  "Made by `tsx bench/recommend.ts`. For each generated model (with a generated GGUF imatrix) and each",
  "preset, the budget is the preset's output file size; `recommend --target-size` gets that budget. Error =",
  "Σ over quantizable tensors of Σ_rows Σ_j imatrix_j·(w − dequant(quant(w)))², every row measured with the",
  "real kernels (token_embd: per looked-up row). *Actual* = the size of the file the CLI wrote with",
  "`--recipe` (it must equal the prediction).",
  "",
  "**Caveat:** the generated weights are random-ish (heavy-tailed noise with per-channel scales) and the",
  "imatrix is synthetic, so the weighted error is only a proxy for model quality (perplexity/KLD on a real",
  "model is the real test). The comparison shows the allocator spends bytes better *by this measure*.",
  "token_embd.weight and output.weight have no imatrix entry (llama-imatrix skips them by default), so their",
  "error is unweighted, and the free run moves bytes from them to the blocks; llama.cpp's presets protect",
  "output.weight (q6_K) from experience with real models, which this proxy cannot see. The *pinned* run",
  "keeps both at the preset's types and reallocates only the blocks (`recommend --pin`); its last columns",
  "(base preset, type tally) are for that run.",
  "",
];
let failures = 0;
for (const { label, spec } of quick ? MODELS.slice(0, 1) : MODELS) {
  const dir = mkdtempSync(join(tmpdir(), "gq-recommend-"));
  try {
    const t0 = performance.now();
    const a = await analyzeModel(dir, spec);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    md.push(`## ${label}`, "", `${a.items.length} quantizable tensors, candidates ${a.candidates.length} types, measured in ${secs} s.`, "",
      "| budget = preset | preset bytes | BPW | preset error | recommended bytes = actual | error vs preset | token_embd, output | same with token_embd, output pinned: bytes = actual | error vs preset | base | types chosen (tensors) |",
      "|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|");
    // token_embd and output.weight: no imatrix entry, so their error is weighed differently from the
    // blocks'; the pinned run leaves them at the preset's types and reallocates only the blocks
    const outside = new Map<number, number>();
    for (const name of BUDGETS) {
      const p = a.presets.find((x) => x.preset.ftype === parsePreset(name)!.ftype);
      if (!p || p.error === undefined) { md.push(`| ${name} | n/a (no kernel for a type it uses) ||||||||||`); continue; }
      const cells: string[] = [];
      let ok = true;
      outside.clear();
      a.items.forEach((i, k) => { if (!a.probe.tensors[i].name.startsWith("blk.")) outside.set(k, p.types[i]); });
      let last;
      for (const pins of [new Map<number, number>(), outside]) {
        const r = recommend(a, { bytes: p.bytes }, undefined, pins);
        const actual = await quantizedSize(dir, a.input, r.recipe);
        const good = r.bytes <= p.bytes && r.error < p.error && actual === r.bytes;
        ok &&= good;
        cells.push(`${r.bytes}${actual === r.bytes ? "" : ` (actual ${actual}!)`}`, `${(100 * (r.error / p.error - 1)).toFixed(1)}%${good ? "" : " **FAIL**"}`);
        if (pins.size === 0) cells.push(edges(a, p.types, r.plan.tensors.map((t) => t.dstType)));
        console.error(`${label}: ${name}${pins.size ? " (pinned)" : ""}: preset ${p.bytes} B err ${p.error.toPrecision(5)} -> recommended ${r.bytes} B (actual ${actual}) err ${r.error.toPrecision(5)}`);
        last = r;
      }
      if (!ok) failures++;
      md.push(`| ${name} | ${p.bytes} | ${p.bpw.toFixed(4)} | ${p.error.toPrecision(5)} | ${cells.join(" | ")} | ${last!.base.name} | ${tally(last!.types)} |`);
    }
    md.push("");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const text = md.join("\n") + "\n";
if (!quick) writeFileSync(join(here, "RECOMMEND.md"), text);
process.stdout.write(text);
if (failures > 0) { console.error(`${failures} budget(s) not beaten`); process.exit(1); }
