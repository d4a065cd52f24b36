// The plan as the command line shows it: --dry-run --json, --write-recipe round trips, rule
// tallies, and recipes as settings.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { generateModel, writeImatrix, writeModel } from "./support/generate.js";

const spec = { nLayer: 8, nEmbd: 256, nFf: 512, nHead: 8, nHeadKv: 2, nVocab: 512, dtype: "f16" as const, seed: 21 };
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cli-plan-"));
  await writeModel(join(dir, "model.gguf"), spec);
  await writeImatrix(join(dir, "imatrix.gguf"), generateModel(spec), "gguf");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]) {
  let err = "", out = "";
  const code = await runCli(args, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, err, out };
}

type PlanJson = { tensors: { name: string; type: string; bytes: number; decidedBy: { kind: string; source?: string } }[]; totals: { bytes: number; bpw: number } };
const typesOf = (p: PlanJson) => Object.fromEntries(p.tensors.map((t) => [t.name, t.type]));

describe("--dry-run --json", () => {
  it("lists every tensor with its type, size and the rule that decided it", async () => {
    const { code, out, err } = await run(["--dry-run", "--json", "--tensor-type", "attn_v=q8_0", "--custom-q", "blk\\.7\\.ffn_down=q6_K,nothing_matches=q4_0",
      join(dir, "model.gguf"), "Q4_K_M"]);
    expect(code, err).toBe(0);
    const plan = JSON.parse(out) as PlanJson;
    const byName = Object.fromEntries(plan.tensors.map((t) => [t.name, t]));
    expect(byName["blk.0.attn_v.weight"]).toMatchObject({ type: "q8_0", decidedBy: { kind: "tensor-type", source: "--tensor-type attn_v=q8_0" } });
    expect(byName["blk.7.ffn_down.weight"]).toMatchObject({ type: "q6_K", decidedBy: { kind: "custom-q" } });
    expect(byName["blk.3.ffn_down.weight"]).toMatchObject({ type: "q6_K", decidedBy: { kind: "mixture" } });
    expect(byName["blk.2.ffn_down.weight"]).toMatchObject({ type: "q4_K", decidedBy: { kind: "default" } });
    expect(byName["output_norm.weight"]).toMatchObject({ type: "f32", decidedBy: { kind: "kept" } });
    expect(plan.totals.bytes).toBe(plan.tensors.reduce((a, t) => a + t.bytes, 0));
    expect(err).toContain("rule attn_v=q8_0 (--tensor-type attn_v=q8_0) decided 8 tensor(s)");
    expect(err).toContain("warning: rule nothing_matches=q4_0 (--custom-q nothing_matches=q4_0) matched no tensor");
  });
});

describe("--write-recipe", () => {
  it("writes a recipe that reproduces every planned type on its own", async () => {
    const recipe = join(dir, "effective.recipe");
    const a = await run(["--dry-run", "--json", "--write-recipe", recipe, "--imatrix", join(dir, "imatrix.gguf"),
      "--tensor-type", "attn_k=q5_0", "--custom-q", "blk\\.[0-2]\\.ffn_up=q8_0", join(dir, "model.gguf"), "Q4_K_M"]);
    expect(a.code, a.err).toBe(0);
    const text = readFileSync(recipe, "utf8");
    expect(text).toMatch(/^@preset Q4_K_M$/m);
    expect(text).toMatch(/^\^blk\\\.\(0\|1\|2\)\\\.ffn_up\\\.weight\$=q8_0$/m);
    const b = await run(["--dry-run", "--json", "--recipe", recipe, join(dir, "model.gguf")]);
    expect(b.code, b.err).toBe(0);
    expect(typesOf(JSON.parse(b.out))).toEqual(typesOf(JSON.parse(a.out)));
  });

  it("recipes set the preset and the output type; the command line wins", async () => {
    const recipe = join(dir, "settings.recipe");
    writeFileSync(recipe, "# settings\n@preset Q5_1\n@output-tensor-type q8_0\nffn_up=q4_0 # rule\n");
    const a = JSON.parse((await run(["--dry-run", "--json", "--recipe", recipe, join(dir, "model.gguf")])).out) as PlanJson;
    expect(typesOf(a)["output.weight"]).toBe("q8_0");
    expect(typesOf(a)["blk.0.attn_q.weight"]).toBe("q5_1");
    expect(typesOf(a)["blk.0.ffn_up.weight"]).toBe("q4_0");
    const b = JSON.parse((await run(["--dry-run", "--json", "--recipe", recipe, "--output-tensor-type", "f16", join(dir, "model.gguf"), "Q8_0"])).out) as PlanJson;
    expect(typesOf(b)["output.weight"]).toBe("f16");
    expect(typesOf(b)["blk.0.attn_q.weight"]).toBe("q8_0");
  });

  it("refuses a recipe with a broken line, naming the file and line", async () => {
    const recipe = join(dir, "broken.recipe");
    writeFileSync(recipe, "attn_v=q8_0\nffn_(up=q4_0\n");
    const { code, err } = await run(["--dry-run", "--recipe", recipe, join(dir, "model.gguf"), "Q4_0"]);
    expect(code).toBe(1);
    expect(err.trim().split("\n").pop()).toMatch(/^gguf-quantize: .*broken\.recipe:2: "ffn_\(up": invalid regex/);
  });
});

describe("progress and quiet", () => {
  it("shows a progress line on a terminal and clears it; --quiet prints nothing", async () => {
    let err = "";
    const code = await runCli([join(dir, "model.gguf"), join(dir, "p.gguf"), "Q8_0", "1"], { stdout: () => {}, stderr: (s) => { err += s; }, isTTY: true });
    expect(code).toBe(0);
    expect(err).toMatch(/\r\x1b\[2K100\.0%\s+[\d.]+ MiB\/s\s+ETA 0 s  [\w.]+\.weight/);
    expect(err).toMatch(/converting to q8_0/);
    const quiet = await run(["--quiet", join(dir, "model.gguf"), join(dir, "p.gguf"), "Q8_0", "1"]);
    expect(quiet.code).toBe(0);
    expect(quiet.err + quiet.out).toBe("");
    rmSync(join(dir, "p.gguf"));
  });
});
