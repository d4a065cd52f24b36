// Whole files: every case of test/support/model-cases.ts through our command line, compared with the
// sha256 of llama.cpp's output for the same input and arguments (test/fixtures/golden/models.json,
// made by scripts/make-model-goldens.ts with the reference build).

import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { generateModel, writeImatrix, writeModel } from "./support/generate.js";
import { MODELS, modelCases } from "./support/model-cases.js";

const golden = JSON.parse(readFileSync(new URL("./fixtures/golden/models.json", import.meta.url), "utf8")) as { cases: Record<string, string> };
const dirs: Record<string, string> = {};
const cwd = process.cwd();

beforeAll(async () => {
  for (const [name, spec] of Object.entries(MODELS)) {
    const dir = mkdtempSync(join(tmpdir(), `e2e-${name}-`));
    await writeModel(join(dir, "model.gguf"), spec);
    const m = generateModel(spec);
    await writeImatrix(join(dir, "imatrix.gguf"), m, "gguf");
    await writeImatrix(join(dir, "imatrix.dat"), m, "dat");
    dirs[name] = dir;
  }
});

afterAll(() => {
  process.chdir(cwd);
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
});

async function cli(dir: string, args: string[]): Promise<{ code: number; err: string }> {
  let err = "";
  process.chdir(dir); // the imatrix path is written into the output as given: keep it relative, as refquant's was
  try {
    const code = await runCli(args, { stdout: () => {}, stderr: (s) => { err += s; } });
    return { code, err };
  } finally {
    process.chdir(cwd);
  }
}

describe("output files are byte-identical to llama.cpp's", () => {
  const cases = modelCases();
  it("has a golden for every case", () => {
    expect(Object.keys(golden.cases).sort()).toEqual(cases.map((c) => c.id).sort());
  });
  it.each(cases.map((c) => [c.id, c] as const))("%s", async (_id, c) => {
    const dir = dirs[c.model];
    // one thread: the worker pool has its own test (test/pool.test.ts); llama.cpp ran with 2
    const args = [...c.flags, ...(c.imatrix === "none" ? [] : ["--imatrix", `imatrix.${c.imatrix}`]), "model.gguf", "out.gguf", c.preset, "1"];
    const { code, err } = await cli(dir, args);
    if (golden.cases[c.id] === "refused") {
      // llama.cpp refuses this case (before writing anything): so must we
      expect(code, err).not.toBe(0);
      expect(existsSync(join(dir, "out.gguf"))).toBe(false);
      return;
    }
    expect(code, err).toBe(0);
    const sha = createHash("sha256").update(readFileSync(join(dir, "out.gguf"))).digest("hex");
    rmSync(join(dir, "out.gguf"));
    expect(sha).toBe(golden.cases[c.id]);
  });
});

describe("the command line", () => {
  it("writes ggml-model-<TYPE>.gguf beside the input when the second argument is a preset", async () => {
    const dir = dirs.f32;
    const { code } = await cli(dir, ["model.gguf", "q8_0"]);
    expect(code).toBe(0);
    const sha = createHash("sha256").update(readFileSync(join(dir, "ggml-model-Q8_0.gguf"))).digest("hex");
    rmSync(join(dir, "ggml-model-Q8_0.gguf"));
    expect(sha).toBe(golden.cases["f32-Q8_0-none"]);
  });
  it("takes presets by llama_ftype number, and gives the same bytes for any thread count", async () => {
    const dir = dirs.f32;
    for (const threads of ["1", "3"]) {
      const { code, err } = await cli(dir, ["model.gguf", "out.gguf", "7", threads]);
      expect(code, err).toBe(0);
      const sha = createHash("sha256").update(readFileSync(join(dir, "out.gguf"))).digest("hex");
      expect(sha).toBe(golden.cases["f32-Q8_0-none"]);
    }
    rmSync(join(dir, "out.gguf"));
  });
  it("--dry-run prints the plan and writes nothing", async () => {
    const dir = dirs.dense;
    const { code, err } = await cli(dir, ["--dry-run", "model.gguf", "out.gguf", "Q4_0"]);
    expect(code).toBe(0);
    expect(existsSync(join(dir, "out.gguf"))).toBe(false);
    expect(err).toMatch(/blk\.0\.attn_q\.weight\s+- \[\s+256,\s+256,\s+1,\s+1\], type =    f16, size =\s+0\.12 MiB ->\s+0\.04 MiB \(q4_0\)/);
    expect(err).toMatch(/output\.weight .* \(q6_K\)/);
    expect(err).toMatch(/quant size  = .* BPW\)/);
  });
});
