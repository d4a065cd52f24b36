// The fixed option cases (test/support/option-cases.ts: --prune-layers, --override-kv of every type
// and of values the loader reads, a 3-shard model with and without --keep-split, requantization from
// every quantized type a preset makes, those that need an imatrix included) through our command line, compared with the sha256 of llama.cpp's outputs in
// test/fixtures/golden/options.json (made by scripts/make-option-goldens.ts). Needs no llama.cpp: a
// requantization source is made by our own quantizer, and its digest must equal that of the one
// llama.cpp made. A few cases run again on 2 and 4 worker threads.

import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { cliArgs, outputsOf, prepare, type SourceMaker } from "./support/live.js";
import { asLiveCase, optionCases } from "./support/option-cases.js";

const golden = JSON.parse(readFileSync(new URL("./fixtures/golden/options.json", import.meta.url), "utf8")) as {
  made_by: string;
  cases: Record<string, { inputs: Record<string, string>; outputs: Record<string, string> }>;
};
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const quiet = { stdout: () => {}, stderr: () => {} };
const cwd = process.cwd();

/** Our quantizer makes the requantization source, as llama.cpp made it for the digests. */
const oursSource: SourceMaker = async (input, output, source, imatrix) => {
  let err = "";
  const code = await runCli([...source.flags, ...(imatrix ? ["--imatrix", imatrix.path] : []), input, output, source.preset, "1"], { stdout: () => {}, stderr: (s) => { err += s; } });
  if (code !== 0) throw new Error(`our ${source.preset} source: ${err}`);
};

let dir = "";
afterEach(() => {
  process.chdir(cwd);
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = "";
});

/** Runs one case in a scratch folder (relative names, as the digests were made) and returns digests. */
async function run(id: string, threads = 1): Promise<{ inputs: Record<string, string>; outputs: Record<string, string>; err: string }> {
  const c = optionCases().find((x) => x.id === id)!;
  dir = mkdtempSync(join(tmpdir(), "options-golden-"));
  process.chdir(dir); // the imatrix path is written into the output as given
  const lc = { ...asLiveCase(c), threads };
  const p = await prepare(lc, ".", {}, oursSource);
  const inputs = Object.fromEntries(readdirSync(".").filter((n) => n.startsWith("model")).sort().map((n) => [n, sha(readFileSync(n))]));
  let err = "";
  const code = await runCli(cliArgs(lc, p.files), { ...quiet, stderr: (s) => { err += s; } });
  expect(code, err).toBe(0);
  const outputs = Object.fromEntries(outputsOf(".", "ours").map((o) => [o.name.slice("ours".length), sha(o.bytes)]));
  return { inputs, outputs, err };
}

describe("option cases are byte-identical to llama.cpp's (committed digests)", () => {
  const cases = optionCases();
  it("has a digest for every case, made by llama.cpp", () => {
    expect(Object.keys(golden.cases).sort()).toEqual(cases.map((c) => c.id).sort());
    expect(golden.made_by).toMatch(/llama_model_quantize of @node-llama-cpp\/linux-x64@3\.22\.1/);
  });
  it.each(cases.map((c) => c.id))("%s", async (id) => {
    const { inputs, outputs } = await run(id);
    expect(inputs, "the input (a requantization source is made by our quantizer)").toEqual(golden.cases[id].inputs);
    expect(outputs).toEqual(golden.cases[id].outputs);
  });
  it.each([
    ["split3-keep-Q4_K_M-gguf", 4],
    ["requant-q6_K-Q5_K_M-gguf", 2],
  ] as const)("%s on %i worker threads", async (id, threads) => {
    expect((await run(id, threads)).outputs).toEqual(golden.cases[id].outputs);
  });
});
