// Deno runs the same code on the same WASM module and writes the same bytes as Node (and so as
// llama.cpp): the command line (Node compatibility, 1 and 2 worker threads) and the library on Deno
// files (deno/quantize.ts), for several presets, against Node's output and the llama.cpp goldens.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { findDeno } from "./support/deno.js";
import { generateModel, writeImatrix, writeModel } from "./support/generate.js";
import { MODELS } from "./support/model-cases.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const golden = JSON.parse(readFileSync(new URL("./fixtures/golden/models.json", import.meta.url), "utf8")) as { cases: Record<string, string> };
const deno = findDeno();
if ("missing" in deno) console.warn(`SKIPPING the Deno tests: ${deno.missing}`);

let dir: string;
beforeAll(async () => {
  if ("missing" in deno) return;
  dir = mkdtempSync(join(tmpdir(), "deno-"));
  await writeModel(join(dir, "model.gguf"), MODELS.dense);
  await writeImatrix(join(dir, "imatrix.gguf"), generateModel(MODELS.dense), "gguf");
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

async function denoRun(script: string, args: string[]): Promise<void> {
  if ("missing" in deno) throw new Error(deno.missing);
  // the project's deno.json (sloppy imports, node_modules) is found from the script's folder
  await promisify(execFile)(deno.path, ["run", "-A", join(root, script), ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
}

async function nodeRun(args: string[]): Promise<void> {
  let err = "";
  const cwd = process.cwd();
  process.chdir(dir); // the imatrix path is written into the output as given
  try {
    const code = await runCli(args, { stdout: () => {}, stderr: (s) => { err += s; } });
    expect(code, err).toBe(0);
  } finally {
    process.chdir(cwd);
  }
}

const CASES = [
  { id: "dense-Q8_0-none", preset: "Q8_0", flags: [] as string[], threads: "1" },
  { id: "dense-Q4_K_M-gguf", preset: "Q4_K_M", flags: ["--imatrix", "imatrix.gguf"], threads: "2" },
  { id: "dense-Q6_K-none", preset: "Q6_K", flags: [], threads: "2" },
  { id: "dense-Q4_0-none+tensor-typeattn_v=q8_0+tensor-typeffn_down=q6_k", preset: "Q4_0", flags: ["--tensor-type", "attn_v=q8_0", "--tensor-type", "ffn_down=q6_k"], threads: "1" },
];

describe.skipIf("missing" in deno)("Deno writes the bytes Node writes", () => {
  it.each(CASES.map((c) => [c.id, c] as const))("command line: %s", async (_id, c) => {
    await nodeRun([...c.flags, "model.gguf", "node.gguf", c.preset, c.threads]);
    await denoRun("bin/gguf-quantize.ts", ["--quiet", ...c.flags, "model.gguf", "deno.gguf", c.preset, c.threads]);
    const node = sha(join(dir, "node.gguf"));
    expect(node).toBe(golden.cases[c.id]);
    expect(sha(join(dir, "deno.gguf"))).toBe(node);
  });

  it.each(CASES.map((c) => [c.id, c] as const))("library on Deno files: %s", async (_id, c) => {
    await denoRun("deno/quantize.ts", ["model.gguf", "deno-lib.gguf", c.preset, ...c.flags]);
    expect(sha(join(dir, "deno-lib.gguf"))).toBe(golden.cases[c.id]);
  });

  it("reports a missing input on Deno files as the CLI does: one line, exit status 5, no output", async () => {
    const run = denoRun("deno/quantize.ts", ["missing.gguf", "never.gguf", "Q8_0"]);
    await expect(run).rejects.toMatchObject({ code: 5, stderr: expect.stringMatching(/^gguf-quantize: missing\.gguf: cannot open: NotFound\n$/) });
    expect(existsSync(join(dir, "never.gguf"))).toBe(false);
  });
});
