// Bad input on the command line: each case must end in one clear line naming the problem, a
// non-zero exit code from src/errors.ts, no file under the output name and no temporary left behind,
// and an untouched input.

import { createHash } from "node:crypto";
import { linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { ERRORS } from "../src/errors.js";
import { generateModel, modelBytes, writeImatrix } from "./support/generate.js";

const spec = { nLayer: 1, nEmbd: 64, nFf: 128, nHead: 2, nVocab: 64, dtype: "f16" as const, seed: 9 };
let dir: string;
let model: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cli-errors-"));
  const m = generateModel(spec);
  model = modelBytes(m);
  writeFileSync(join(dir, "model.gguf"), model);
  // an imatrix made for a model twice as wide: every entry has the wrong length
  await writeImatrix(join(dir, "wide.imatrix.gguf"), generateModel({ ...spec, nEmbd: 128 }), "gguf");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]) {
  let err = "", out = "";
  const code = await runCli(args, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, err, out };
}

/** The last line of stderr is the error; it must be a single line starting with the program name. */
function errorLine(err: string): string {
  const lines = err.trimEnd().split("\n");
  const last = lines[lines.length - 1];
  expect(last.startsWith("gguf-quantize: "), err).toBe(true);
  return last;
}

function noOutput(name: string) {
  const left = readdirSync(dir).filter((f) => f === name || f.startsWith(`${name}.tmp-`));
  expect(left).toEqual([]);
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("refuses bad input with one line and a non-zero exit", () => {
  it("a file that is not GGUF", async () => {
    writeFileSync(join(dir, "notgguf.gguf"), "this is not a model\n".repeat(10));
    const { code, err } = await run([join(dir, "notgguf.gguf"), join(dir, "o1.gguf"), "Q8_0"]);
    expect(code).toBe(ERRORS.BAD_FILE);
    expect(errorLine(err)).toMatch(/notgguf\.gguf: .*magic/i);
    noOutput("o1.gguf");
  });

  it("a truncated file (tensor data cut short)", async () => {
    writeFileSync(join(dir, "cut.gguf"), model.subarray(0, model.length - 1000));
    const { code, err } = await run([join(dir, "cut.gguf"), join(dir, "o2.gguf"), "Q4_0"]);
    expect(code).toBe(ERRORS.BAD_FILE);
    expect(errorLine(err)).toMatch(/cut\.gguf/);
    noOutput("o2.gguf");
  });

  it("a header cut in the middle", async () => {
    writeFileSync(join(dir, "head.gguf"), model.subarray(0, 200));
    const { code, err } = await run([join(dir, "head.gguf"), join(dir, "o3.gguf"), "Q4_0"]);
    expect(code).toBe(ERRORS.BAD_FILE);
    expect(errorLine(err)).toMatch(/head\.gguf/);
    noOutput("o3.gguf");
  });

  it("a hostile tensor count", async () => {
    const bad = model.slice();
    new DataView(bad.buffer).setBigInt64(8, 1n << 40n, true); // n_tensors
    writeFileSync(join(dir, "hostile.gguf"), bad);
    const { code, err } = await run([join(dir, "hostile.gguf"), join(dir, "o4.gguf"), "Q4_0"]);
    expect(code).toBe(ERRORS.BAD_FILE);
    expect(errorLine(err)).toMatch(/hostile\.gguf/);
    noOutput("o4.gguf");
  });

  it("weights that are not finite (llama.cpp: tensor has invalid data)", async () => {
    const m = generateModel(spec);
    const t = m.tensors.find((x) => x.name === "blk.0.ffn_up.weight")!;
    t.data[10] = 0x00; t.data[11] = 0x7c; // an f16 +inf
    writeFileSync(join(dir, "inf.gguf"), modelBytes(m));
    const { code, err } = await run([join(dir, "inf.gguf"), join(dir, "o5.gguf"), "Q8_0"]);
    expect(code).toBe(ERRORS.BAD_FILE);
    expect(errorLine(err)).toMatch(/tensor 'blk\.0\.ffn_up\.weight' has invalid data/);
    noOutput("o5.gguf");
  });

  it("an unknown preset, with the list pointed to", async () => {
    const { code, err } = await run([join(dir, "model.gguf"), join(dir, "o6.gguf"), "Q4_KM"]);
    expect(code).toBe(ERRORS.USAGE);
    expect(errorLine(err)).toMatch(/invalid ftype 'Q4_KM'/);
    noOutput("o6.gguf");
  });

  it("an unknown ggml type and a broken regex in --tensor-type", async () => {
    let r = await run(["--tensor-type", "attn=q9_0", join(dir, "model.gguf"), join(dir, "o7.gguf"), "Q8_0"]);
    expect(r.code).toBe(ERRORS.USAGE);
    expect(errorLine(r.err)).toMatch(/invalid ggml_type 'q9_0'/);
    r = await run(["--tensor-type", "blk\\.(\\d+.ffn=q8_0", join(dir, "model.gguf"), join(dir, "o7.gguf"), "Q8_0"]);
    expect(r.code).toBe(ERRORS.USAGE);
    expect(errorLine(r.err)).toMatch(/invalid regex/);
    noOutput("o7.gguf");
  });

  it("an --override-kv of general.alignment other than 32 (llama.cpp would write a file nobody reads)", async () => {
    const r = await run(["--override-kv", "general.alignment=int:64", join(dir, "model.gguf"), join(dir, "o7a.gguf"), "Q8_0"]);
    expect(r.code).toBe(ERRORS.USAGE);
    expect(errorLine(r.err)).toMatch(/general\.alignment can only be overridden to int:32/);
    noOutput("o7a.gguf");
    expect((await run(["--override-kv", "general.alignment=int:32", join(dir, "model.gguf"), join(dir, "o7a.gguf"), "Q8_0"])).code).toBe(0);
  });

  it("an unknown option", async () => {
    const { code } = await run(["--frobnicate", join(dir, "model.gguf"), join(dir, "o8.gguf"), "Q8_0"]);
    expect(code).toBe(ERRORS.USAGE);
    noOutput("o8.gguf");
  });

  it("an importance matrix of the wrong shape", async () => {
    const { code, err } = await run(["--imatrix", join(dir, "wide.imatrix.gguf"), join(dir, "model.gguf"), join(dir, "o9.gguf"), "Q4_0"]);
    expect(code).toBe(ERRORS.BAD_IMATRIX);
    expect(errorLine(err)).toMatch(/imatrix size 128 is different from tensor size 64 for blk\.0\./);
    noOutput("o9.gguf");
  });

  it("an importance matrix that is not one", async () => {
    const { code, err } = await run(["--imatrix", join(dir, "model.gguf"), join(dir, "model.gguf"), join(dir, "o10.gguf"), "Q4_0"]);
    expect(code).toBe(ERRORS.BAD_IMATRIX);
    expect(errorLine(err)).toMatch(/model\.gguf/);
    noOutput("o10.gguf");
  });

  it("output equal to input: same path, through a symlink, through a hard link", async () => {
    symlinkSync(join(dir, "model.gguf"), join(dir, "sym.gguf"));
    linkSync(join(dir, "model.gguf"), join(dir, "hard.gguf"));
    for (const out of ["model.gguf", "sym.gguf", "hard.gguf"]) {
      const { code, err } = await run([join(dir, "model.gguf"), join(dir, out), "Q8_0"]);
      expect(code).toBe(ERRORS.IO);
      expect(errorLine(err)).toMatch(/input and output files are the same/);
    }
    expect(sha(readFileSync(join(dir, "model.gguf")))).toBe(sha(model));
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("an output that cannot be written", async () => {
    const { code, err } = await run([join(dir, "model.gguf"), join(dir, "no", "such", "dir", "o11.gguf"), "Q8_0"]);
    expect(code).toBe(ERRORS.IO);
    expect(errorLine(err)).toMatch(/cannot create output/);
  });

  it("a recipe that cannot be written (--write-recipe into a missing directory)", async () => {
    const { code, err } = await run(["--dry-run", "--write-recipe", join(dir, "no", "such", "r.txt"), join(dir, "model.gguf"), "Q8_0"]);
    expect(code).toBe(ERRORS.IO);
    expect(errorLine(err)).toMatch(/--write-recipe .*r\.txt: cannot write: ENOENT/);
  });

  it("a quantized input without --allow-requantize", async () => {
    const r1 = await run([join(dir, "model.gguf"), join(dir, "q8.gguf"), "Q8_0"]);
    expect(r1.code, r1.err).toBe(0);
    const { code, err } = await run([join(dir, "q8.gguf"), join(dir, "o12.gguf"), "Q4_0"]);
    expect(code).toBe(ERRORS.REFUSED);
    expect(errorLine(err)).toMatch(/requantizing from type q8_0 is disabled/);
    noOutput("o12.gguf");
  });

  it("--help lists the presets as llama-quantize does", async () => {
    const { code, out } = await run(["--help"]);
    expect(code).toBe(0);
    expect(out).toContain("   2  or  Q4_0    :  4.34G, +0.4685 ppl @ Llama-3-8B");
    expect(out).toContain("          COPY    : only copy tensors, no quantizing");
  });
});
