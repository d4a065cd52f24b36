// A kill or Ctrl-C in the middle of a run: exit status 130, nothing under the output name, no
// temporary left behind, the input untouched.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateModel, writeImatrix, writeModel } from "./support/generate.js";

const bin = new URL("../bin/gguf-quantize.ts", import.meta.url).pathname;
const tsx = createRequire(import.meta.url).resolve("tsx");
const spec = { nLayer: 4, nEmbd: 576, nFf: 1536, nHead: 9, nHeadKv: 3, nVocab: 2048, dtype: "bf16" as const, seed: 31 };
let dir: string;
let modelSha: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "signals-"));
  await writeModel(join(dir, "model.gguf"), spec);
  await writeImatrix(join(dir, "imatrix.gguf"), generateModel(spec), "gguf");
  modelSha = inputSha();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a slow run (q5_1 with an imatrix), sends `sig` once it has written its first tensor line
 *  (`times` signals in a row: the second one exits at once). */
function interrupted(sig: NodeJS.Signals, threads: string, times = 1): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", tsx, bin, "--imatrix", "imatrix.gguf", "model.gguf", "out.gguf", "Q5_1", threads], { cwd: dir });
    let err = "", sent = false;
    p.stderr.on("data", (d) => {
      err += d;
      if (!sent && /converting to/.test(err)) { sent = true; for (let i = 0; i < times; i++) p.kill(sig); }
    });
    p.on("close", (code) => resolve({ code, err }));
  });
}

const inputSha = () => createHash("sha256").update(readFileSync(join(dir, "model.gguf"))).digest("hex");

describe("interrupted runs leave nothing behind", () => {
  it.each([["SIGINT", "1"], ["SIGTERM", "1"], ["SIGINT", "2"], ["SIGTERM", "3"]] as const)("%s with %s thread(s)", async (sig, threads) => {
    const { code, err } = await interrupted(sig, threads);
    expect(code, err).toBe(130);
    expect(err.trim().split("\n").pop()).toBe("gguf-quantize: cancelled");
    expect(readdirSync(dir).sort()).toEqual(["imatrix.gguf", "model.gguf"]);
    expect(inputSha()).toBe(modelSha);
  });

  it("an older file under the output name is left as it was", async () => {
    writeFileSync(join(dir, "out.gguf"), "an older model");
    const { code, err } = await interrupted("SIGINT", "2");
    expect(code, err).toBe(130);
    expect(readFileSync(join(dir, "out.gguf"), "utf8")).toBe("an older model");
    expect(readdirSync(dir).sort()).toEqual(["imatrix.gguf", "model.gguf", "out.gguf"]);
    rmSync(join(dir, "out.gguf"));
  });

  it("a second signal exits at once: status 130, never a file under the output name", async () => {
    const { code, err } = await interrupted("SIGINT", "1", 2);
    expect(code, err).toBe(130);
    // the temporary file may stay (no time to remove it); the final name never appears
    const left = readdirSync(dir).filter((f) => f.startsWith("out.gguf"));
    expect(left.every((f) => /^out\.gguf\.tmp-\d+$/.test(f)), left.join(", ")).toBe(true);
    for (const f of left) rmSync(join(dir, f));
    expect(inputSha()).toBe(modelSha);
  });
});
