// Faults in the middle of a run, injected through the I/O interfaces (src/io/types.ts, RunOptions.io)
// and, where the system offers them, for real (/dev/full, a file cut short while it is read):
// a read error or truncation inside a tensor, a full disk at any byte of the output, a failed flush.
// Every one must end with a QuantizeError of the right code naming the file, nothing under the output
// name (an older file there stays as it was), no temporary file, and the input unmodified.

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli.js";
import { ERRORS, QuantizeError, type ErrorCode } from "../../src/errors.js";
import { readGgufHeader } from "../../src/gguf/read.js";
import { createSink, openSource, type NodeSink } from "../../src/io/node.js";
import type { ByteSource } from "../../src/io/types.js";
import { quantizeFile, type FileIo, type RunOptions } from "../../src/run.js";
import { generateModel, modelBytes, modelShards, shardName } from "../support/generate.js";

const spec = { nLayer: 2, nEmbd: 256, nFf: 512, nHead: 4, nVocab: 256, dtype: "f16" as const, seed: 41 };
let dir: string;
let model: Uint8Array;
let modelSha: string;
/** absolute data ranges of the input's tensors, to aim faults at the middle of one */
let ranges: { name: string; start: number; end: number }[];
let outSize: number;

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "io-faults-"));
  model = modelBytes(generateModel(spec));
  modelSha = sha(model);
  writeFileSync(join(dir, "model.gguf"), model);
  const src = await openSource(join(dir, "model.gguf"));
  const h = await readGgufHeader(src);
  await src.close();
  ranges = h.tensors.map((t) => ({ name: t.name, start: h.dataOffset + t.offset, end: h.dataOffset + t.offset + t.nbytes }));
  // a clean run: the size of the output, and the reference for "nothing changed"
  await quantizeFile(opts("clean.gguf"));
  outSize = readFileSync(join(dir, "clean.gguf")).length;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function opts(output: string, extra: Partial<RunOptions> = {}): RunOptions {
  return { input: join(dir, "model.gguf"), output: join(dir, output), ftype: 7 /* Q8_0 */, threads: 1, ...extra };
}

/** A source that fails like the OS would once a read reaches byte `at`. */
function failingRead(at: number, code = "EIO"): FileIo {
  return {
    async openSource(path) {
      const src = await openSource(path);
      const wrapped: ByteSource = {
        name: src.name, size: src.size, close: () => src.close(),
        async readInto(dst, position) {
          if (position + dst.length > at) throw errno(code);
          return src.readInto(dst, position);
        },
      };
      return wrapped;
    },
    createSink,
  };
}

/** A sink on a real temporary file that runs out of space at byte `at` (what was before it is written);
 *  `failCommit`: its flush fails instead (for the sinks whose path matches, if given a RegExp). */
function diskFullAt(at: number, failCommit: boolean | RegExp = false): FileIo {
  return {
    openSource,
    async createSink(path) {
      const commitFails = failCommit instanceof RegExp ? failCommit.test(path) : failCommit;
      const sink = await createSink(path);
      const wrapped: NodeSink = {
        name: sink.name, tempPath: sink.tempPath, abort: () => sink.abort(),
        async write(data, position) {
          if (position + data.length > at) {
            if (at > position) await sink.write(data.subarray(0, at - position), position);
            throw errno("ENOSPC");
          }
          return sink.write(data, position);
        },
        async commit() {
          if (commitFails) throw errno("EIO");
          return sink.commit();
        },
      };
      return wrapped;
    },
  };
}

/** Runs, expects a QuantizeError with this code naming `file`, and checks what is on disk. */
async function expectFault(output: string, extra: Partial<RunOptions>, code: ErrorCode, file: string, pattern: RegExp): Promise<QuantizeError> {
  let err: unknown;
  try { await quantizeFile(opts(output, extra)); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(QuantizeError);
  const q = err as QuantizeError;
  expect(q.code, q.message).toBe(code);
  expect(q.exitCode).toBe(ERRORS[code]);
  expect(q.message).toContain(file);
  expect(q.message).toMatch(pattern);
  expect(q.message).not.toMatch(/[\r\n]/);
  expect(readdirSync(dir).filter((f) => f.startsWith(output))).toEqual(output === "keep.gguf" ? ["keep.gguf"] : []);
  expect(sha(readFileSync(join(dir, "model.gguf")))).toBe(modelSha);
  return q;
}

describe("a read that fails in the middle of a tensor", () => {
  it.each(["EIO", "ESTALE"])("%s: IO error naming the input, nothing written", async (code) => {
    for (const t of [ranges[0], ranges[Math.floor(ranges.length / 2)], ranges[ranges.length - 1]]) {
      const at = Math.floor((t.start + t.end) / 2);
      await expectFault("r.gguf", { io: failingRead(at, code) }, "IO", join(dir, "model.gguf"), new RegExp(`read failed: ${code}`));
    }
  });

  it("in the header: the same", async () => {
    await expectFault("r.gguf", { io: failingRead(100) }, "IO", join(dir, "model.gguf"), /read failed: EIO/);
  });

  it("a file cut short while it is being read (the header was whole): BAD_FILE, unexpected end", async () => {
    const t = ranges[Math.floor(ranges.length / 2)];
    for (const threads of [1, 2]) {
      copyFileSync(join(dir, "model.gguf"), join(dir, "cut.gguf"));
      // the header is read, then the file shrinks under the run
      const io: FileIo = {
        async openSource(path) {
          const src = await openSource(path);
          if (path.endsWith("cut.gguf")) truncateSync(path, Math.floor((t.start + t.end) / 2));
          return src;
        },
        createSink,
      };
      let err: unknown;
      try { await quantizeFile({ ...opts("t.gguf"), input: join(dir, "cut.gguf"), io, threads }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(QuantizeError);
      expect((err as QuantizeError).code).toBe("BAD_FILE");
      expect((err as QuantizeError).message).toMatch(/cut\.gguf: unexpected end of file/);
      expect(readdirSync(dir).filter((f) => f.startsWith("t.gguf"))).toEqual([]);
    }
    rmSync(join(dir, "cut.gguf"));
  });
});

describe("a disk that fills up", () => {
  it("at the header, inside a tensor, at the last byte: IO ENOSPC naming the output, no temporary left", async () => {
    for (const at of [0, 10, Math.floor(outSize / 3), Math.floor(outSize / 2) + 7, outSize - 1]) {
      await expectFault("w.gguf", { io: diskFullAt(at) }, "IO", join(dir, "w.gguf"), /write failed: ENOSPC/);
    }
  });

  it("a failed flush at the end (commit): nothing under the output name", async () => {
    await expectFault("c.gguf", { io: diskFullAt(Infinity, true) }, "IO", join(dir, "c.gguf"), /write failed: EIO/);
  });

  it("--keep-split: a shard whose flush fails after others were renamed takes them all away", async () => {
    const m = generateModel(spec);
    const third = Math.floor(m.tensors.length / 3);
    modelShards(m, [third, third, m.tensors.length - 2 * third]).forEach((b, i) => writeFileSync(join(dir, shardName("split", i, 3)), b));
    let err: unknown;
    const io = diskFullAt(Infinity, /ks-00002-of-00003/);
    try { await quantizeFile({ ...opts("ks"), input: join(dir, shardName("split", 0, 3)), keepSplit: true, io }); } catch (e) { err = e; }
    expect((err as QuantizeError).code).toBe("IO");
    expect((err as QuantizeError).message).toMatch(/ks-00002-of-00003\.gguf: write failed: EIO/);
    expect(readdirSync(dir).filter((f) => f.startsWith("ks"))).toEqual([]);
    // and the same run without the fault writes all three
    await quantizeFile({ ...opts("ks"), input: join(dir, shardName("split", 0, 3)), keepSplit: true });
    expect(readdirSync(dir).filter((f) => f.startsWith("ks")).sort()).toEqual([0, 1, 2].map((i) => shardName("ks", i, 3)));
  });

  it("an older file under the output name stays as it was", async () => {
    writeFileSync(join(dir, "keep.gguf"), "an older model");
    await expectFault("keep.gguf", { io: diskFullAt(Math.floor(outSize / 2)) }, "IO", join(dir, "keep.gguf"), /ENOSPC/);
    expect(readFileSync(join(dir, "keep.gguf"), "utf8")).toBe("an older model");
    rmSync(join(dir, "keep.gguf"));
  });

  it.each(["1", "2"])("for real (/dev/full), through the CLI with %s thread(s): exit 5 and one line", async (threads) => {
    if (!existsSync("/dev/full")) return;
    // the temporary output is a link to /dev/full, so every write gets ENOSPC from the kernel
    symlinkSync("/dev/full", join(dir, `full.gguf.tmp-${process.pid}`));
    let err = "";
    const code = await runCli([join(dir, "model.gguf"), join(dir, "full.gguf"), "Q8_0", threads], { stdout: () => {}, stderr: (s) => { err += s; } });
    expect(code).toBe(ERRORS.IO);
    expect(err.trimEnd().split("\n").pop()).toMatch(/^gguf-quantize: .*full\.gguf: write failed: ENOSPC$/);
    expect(readdirSync(dir).filter((f) => f.startsWith("full.gguf"))).toEqual([]);
    expect(sha(readFileSync(join(dir, "model.gguf")))).toBe(modelSha);
  });
});

describe("clean runs after all that", () => {
  it("give the same bytes as before", async () => {
    await quantizeFile(opts("again.gguf"));
    expect(sha(readFileSync(join(dir, "again.gguf")))).toBe(sha(readFileSync(join(dir, "clean.gguf"))));
  });

  it("an absurd thread count starts no more workers than jobs and cores justify (same bytes)", async () => {
    await quantizeFile(opts("many.gguf", { threads: 100000 }));
    expect(sha(readFileSync(join(dir, "many.gguf")))).toBe(sha(readFileSync(join(dir, "clean.gguf"))));
  });
});
