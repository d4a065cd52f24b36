// npm run bench:memory: peak RSS on a model whose largest tensor is over 4 GiB as f32.
//
// The model is a generated one-block llama with tied embeddings whose token_embd is widened to
// 4096 × VOCAB (bf16 on disk: VOCAB = 288,000 makes 1.18 G weights, 4.4 GiB as f32, 2.2 GiB of
// file). Its rows repeat a block of 64 realistic rows, written once per 64 rows, so the file is
// real data (not holes) without generating 2 GiB of random numbers. We quantize it with our CLI and
// with native llama.cpp (refquant, ../shared/ref) at the same thread count, compare the bytes, and
// print wall time and peak RSS (/usr/bin/time %M) as a markdown table, also written to
// bench/MEMORY.md.
//
//   npm run bench:memory [-- --vocab N] [-- --presets Q8_0,Q4_0] [-- --threads N] [-- --keep DIR]

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { cpus, homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serializeGguf } from "../src/gguf/write.js";
import { parsePreset } from "../src/ftypes.js";
import { generateModel } from "../test/support/generate.js";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const VOCAB = Number(arg("--vocab", "288000"));
const presets = arg("--presets", "Q8_0,Q4_0").split(",");
const threads = Number(arg("--threads", String(cpus().length)));
const NEMBD = 4096;

const refDir = process.env.REF_DIR ?? join(homedir(), ".cache", "gguf-quantize-ref");
const refquant = join(refDir, "refquant");
const lib = join(refDir, "nlc", "bins", "linux-x64");

/** Writes the model: the small generated one, token_embd widened and filled with a repeated block. */
async function writeBigModel(path: string): Promise<{ bytes: number; largestF32: number }> {
  const m = generateModel({ nLayer: 1, nEmbd: NEMBD, nFf: 1024, nHead: 32, nHeadKv: 8, nVocab: 64, tied: true, dtype: "bf16", seed: 11 });
  const te = m.tensors.find((t) => t.name === "token_embd.weight")!;
  if (te.ne[0] !== NEMBD || te.ne[1] !== 64) throw new Error("unexpected token_embd shape");
  const block = te.data; // 64 rows of bf16
  const tensors = m.tensors.map((t) => (t === te ? { ...t, ne: [NEMBD, VOCAB] } : t));
  const s = serializeGguf(m.kvs, tensors);
  const f = await open(path, "w");
  try {
    await f.write(s.header, 0, s.header.length, 0);
    for (let i = 0; i < tensors.length; i++) {
      const at = s.dataOffset + s.offsets[i];
      if (tensors[i].name !== te.name) { await f.write(tensors[i].data, 0, tensors[i].data.length, at); continue; }
      const rows = VOCAB;
      const chunk = Buffer.alloc(block.length * 16);
      for (let k = 0; k < 16; k++) chunk.set(block, k * block.length);
      for (let r = 0; r < rows; r += 64 * 16) {
        const n = Math.min(64 * 16, rows - r) * NEMBD * 2;
        await f.write(chunk, 0, n, at + r * NEMBD * 2);
      }
    }
    await f.truncate(s.fileSize);
  } finally {
    await f.close();
  }
  return { bytes: s.fileSize, largestF32: NEMBD * VOCAB * 4 };
}

function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv, cwd: string): { s: number; rssMiB: number; ok: boolean; err: string } {
  const t0 = performance.now();
  const res = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...argv], { env, cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  const s = (performance.now() - t0) / 1000;
  const rss = Number(/(\d+)\s*$/.exec(res.stderr ?? "")?.[1] ?? NaN) / 1024;
  return { s, rssMiB: rss, ok: res.status === 0, err: (res.stderr ?? "").trim().split("\n").slice(-3).join(" | ") };
}

function sha(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path).on("data", (d) => h.update(d)).on("end", () => resolve(h.digest("hex"))).on("error", reject);
  });
}

if (!existsSync("/usr/bin/time")) throw new Error("bench:memory needs /usr/bin/time (Debian package 'time') for peak RSS");
const keep = args.includes("--keep") ? arg("--keep", "") : "";
const dir = keep || mkdtempSync(join(tmpdir(), "bench-mem-"));
const model = join(dir, "big.gguf");
process.stderr.write(`writing ${model} ...\n`);
const { bytes, largestF32 } = await writeBigModel(model);
const cli = join(here, "..", "dist", "bin", "gguf-quantize.js");
const native = existsSync(refquant) && existsSync(join(lib, "libggml-base.so"));
const lines: string[] = [];
for (const preset of presets) {
  const ours = timed(process.execPath, [cli, "--quiet", model, join(dir, "ours.gguf"), preset, String(threads)], process.env, dir);
  if (!ours.ok) throw new Error(`ours ${preset}: ${ours.err}`);
  let row = `| ${preset} | ${threads} | ${ours.s.toFixed(1)} | ${ours.rssMiB.toFixed(0)} |`;
  if (native) {
    const ref = timed(refquant, [model, join(dir, "ref.gguf"), String(parsePreset(preset)!.ftype), String(threads)], { ...process.env, LD_LIBRARY_PATH: lib }, dir);
    const same = ref.ok && (await sha(join(dir, "ours.gguf"))) === (await sha(join(dir, "ref.gguf")));
    row += ` ${ref.s.toFixed(1)} | ${ref.rssMiB.toFixed(0)} | ${same ? "yes" : "NO"} |`;
    rmSync(join(dir, "ref.gguf"), { force: true });
  } else row += " – | – | – |";
  rmSync(join(dir, "ours.gguf"), { force: true });
  lines.push(row);
  process.stderr.write(row + "\n");
}
if (!keep) rmSync(dir, { recursive: true, force: true });

const table = [
  `# Peak memory on a model with a ${(largestF32 / 2 ** 30).toFixed(1)} GiB (as f32) tensor`,
  "",
  `Model: generated one-block llama, tied embeddings, token_embd ${NEMBD} × ${VOCAB} bf16; file ${(bytes / 2 ** 30).toFixed(2)} GiB.`,
  `Machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. Made by \`npm run bench:memory\`.`,
  "",
  "| preset | threads | ours s | ours peak RSS MiB | llama.cpp s | llama.cpp peak RSS MiB | same bytes |",
  "|---|---|---|---|---|---|---|",
  ...lines,
  "",
];
writeFileSync(join(here, "MEMORY.md"), table.join("\n"));
console.log(table.join("\n"));
