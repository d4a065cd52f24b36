// npm run bench: our kernels and quantizer against native llama.cpp in the same run, on the same
// rows and models; a timing counts only when the bytes match. Prints markdown tables and writes
// bench/RESULTS.md. The native side is ../shared/ref (qbench, refquant), built on demand by its
// setup.sh when present; without it only our numbers are shown.
//
//   npm run bench [-- --quick] [-- --types q4_0,q6_K]

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, homedir, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kernels } from "../src/kernels.js";
import { TYPES, rowBytes, typeByName } from "../src/types.js";
import { generateModel, writeImatrix, writeModel } from "../test/support/generate.js";
import { Rng } from "../test/support/random.js";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const typeArg = args[args.indexOf("--types") + 1];

// ---- the native reference ----
const refDir = process.env.REF_DIR ?? join(homedir(), ".cache", "gguf-quantize-ref");
function setupNative(): { qbench: string; refquant: string; lib: string } | undefined {
  const setup = join(here, "..", "..", "shared", "ref", "setup.sh");
  if (!existsSync(join(refDir, "qbench")) && existsSync(setup)) {
    try { execFileSync("bash", [setup], { stdio: "ignore", env: { ...process.env, REF: refDir } }); } catch { /* no native side */ }
  }
  const lib = join(refDir, "nlc", "bins", "linux-x64");
  if (!existsSync(join(refDir, "qbench")) || !existsSync(join(lib, "libggml-base.so"))) return undefined;
  return { qbench: join(refDir, "qbench"), refquant: join(refDir, "refquant"), lib };
}
const native = setupNative();

// ---- realistic rows: Student-t(5), per-column scale spread, a few outlier columns ----
function benchRows(n: number, nrows: number, seed: number): { rows: Float32Array; imatrix: Float32Array } {
  const rng = new Rng(seed);
  const col = Float32Array.from({ length: n }, () => 0.5 + 1.5 * rng.uniform());
  for (let i = 0; i < n; i += 256) col[(i + 17) % n] *= 6;
  const rows = new Float32Array(n * nrows);
  for (let r = 0; r < nrows; r++) for (let i = 0; i < n; i++) rows[r * n + i] = rng.studentT(5) * 0.02 * col[i];
  const imatrix = Float32Array.from(col, (c) => c * c * (0.5 + rng.uniform()));
  return { rows, imatrix };
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");

/** Types whose kernels never read an importance vector (a second row would repeat the first). */
const IGNORES_IMATRIX = new Set(["f32", "f16", "bf16", "q8_0", "tq1_0", "tq2_0", "mxfp4", "nvfp4", "q1_0", "q2_0"]);

interface KernelRow { type: string; imatrix: boolean; ours: number; native?: number; same?: boolean }

function kernelBench(types: string[]): KernelRow[] {
  const n = 4096, nrows = quick ? 64 : 256, repeat = quick ? 2 : 4;
  const { rows, imatrix } = benchRows(n, nrows, 42);
  const dir = mkdtempSync(join(tmpdir(), "bench-"));
  writeFileSync(join(dir, "rows.f32"), new Uint8Array(rows.buffer));
  writeFileSync(join(dir, "imatrix.f32"), new Uint8Array(imatrix.buffer));
  const k = new Kernels();
  const out: KernelRow[] = [];
  for (const name of types) {
    const ty = typeByName(name)!;
    for (const useIm of [false, true]) {
      if (useIm && IGNORES_IMATRIX.has(ty.name)) continue;
      const dst = rowBytes(ty.id, n) * nrows;
      const r = k.reserve(n, rows.byteLength, dst, n);
      k.bytes(r.src, rows.byteLength).set(new Uint8Array(rows.buffer));
      k.bytes(r.imatrix, n * 4).set(new Uint8Array(imatrix.buffer));
      k.quantize(ty.id, r, 0, nrows, n, useIm); // untimed: lets V8 tier the kernel up from its baseline code
      let best = Infinity;
      for (let i = 0; i < repeat; i++) {
        const t0 = performance.now();
        k.quantize(ty.id, r, 0, nrows, n, useIm);
        best = Math.min(best, performance.now() - t0);
      }
      const ours = k.bytes(r.dst, dst).slice();
      const row: KernelRow = { type: ty.name, imatrix: useIm, ours: (n * nrows) / best / 1e3 };
      if (native) {
        const res = spawnSync(native.qbench, [join(native.lib, "libggml-base.so"), String(ty.id), String(n), join(dir, "rows.f32"), join(dir, "out.bin"), useIm ? join(dir, "imatrix.f32") : "-", String(repeat)], { encoding: "utf8" });
        const m = /([\d.]+) Mweights\/s/.exec(res.stdout ?? "");
        if (m) {
          row.same = sha(readFileSync(join(dir, "out.bin"))) === sha(ours);
          row.native = Number(m[1]);
        }
      }
      out.push(row);
      process.stderr.write(`${ty.name}${useIm ? "+imatrix" : ""}: ours ${fmt(row.ours)} Mw/s${row.native ? `, native ${fmt(row.native)} Mw/s${row.same ? "" : " (BYTES DIFFER)"}` : ""}\n`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return out;
}

interface E2eRow { preset: string; imatrix: boolean; threads: number; ours: number; oursRss: number; native?: number; nativeRss?: number; same?: boolean }

/** Wall time and peak RSS of a command, through /usr/bin/time when present. */
function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv, cwd: string): { ms: number; rssMiB: number; ok: boolean } {
  const t0 = performance.now();
  const useTime = existsSync("/usr/bin/time");
  const res = useTime
    ? spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...argv], { env, cwd, encoding: "utf8" })
    : spawnSync(cmd, argv, { env, cwd, encoding: "utf8" });
  const ms = performance.now() - t0;
  const rss = useTime ? Number(/(\d+)\s*$/.exec(res.stderr ?? "")?.[1] ?? NaN) / 1024 : NaN;
  return { ms, rssMiB: rss, ok: res.status === 0 };
}

async function e2e(): Promise<E2eRow[]> {
  const spec = quick
    ? { nLayer: 4, nEmbd: 1024, nFf: 2816, nHead: 16, nHeadKv: 4, nVocab: 8000, dtype: "bf16" as const, seed: 7 }
    : { nLayer: 8, nEmbd: 2048, nFf: 5632, nHead: 16, nHeadKv: 4, nVocab: 16000, dtype: "bf16" as const, seed: 7 };
  const dir = mkdtempSync(join(tmpdir(), "bench-e2e-"));
  const cli = join(here, "..", "dist", "bin", "gguf-quantize.js");
  await writeModel(join(dir, "model.gguf"), spec);
  await writeImatrix(join(dir, "imatrix.gguf"), generateModel(spec), "gguf");
  const rows: E2eRow[] = [];
  const threadCounts = [1, cpus().length].filter((v, i, a) => a.indexOf(v) === i);
  // the issue's end-to-end targets (Q8_0, Q4_K_M ± imatrix, Q2_K), plus Q4_0 (legacy kernels)
  for (const [preset, ftype] of [["Q8_0", 7], ["Q4_0", 2], ["Q4_K_M", 15], ["Q2_K", 10]] as const) {
    for (const im of [false, true]) {
      if (im && preset !== "Q4_K_M") continue;
      for (const threads of threadCounts) {
        const imArgs = im ? ["--imatrix", "imatrix.gguf"] : [];
        const ours = timed(process.execPath, [cli, ...imArgs, "model.gguf", "ours.gguf", preset, String(threads)], process.env, dir);
        const row: E2eRow = { preset, imatrix: im, threads, ours: ours.ms, oursRss: ours.rssMiB };
        if (native && existsSync(native.refquant)) {
          const ref = timed(native.refquant, ["model.gguf", "ref.gguf", String(ftype), String(threads), ...imArgs], { ...process.env, LD_LIBRARY_PATH: native.lib }, dir);
          row.native = ref.ms; row.nativeRss = ref.rssMiB;
          row.same = ours.ok && ref.ok && sha(readFileSync(join(dir, "ours.gguf"))) === sha(readFileSync(join(dir, "ref.gguf")));
        }
        rows.push(row);
        process.stderr.write(`${preset}${im ? "+imatrix" : ""} x${threads}: ours ${fmt(row.ours, 0)} ms${row.native ? `, native ${fmt(row.native, 0)} ms` : ""}\n`);
      }
    }
  }
  const modelMiB = readFileSync(join(dir, "model.gguf")).byteLength / 1048576;
  rmSync(dir, { recursive: true, force: true });
  (rows as E2eRow[] & { modelMiB?: number }).modelMiB = modelMiB;
  return rows;
}

const loadBefore = loadavg()[0];
const kernelTypes = typeArg && !typeArg.startsWith("--") ? typeArg.split(",") : TYPES.filter((t) => t.kernel).map((t) => t.name);
const krows = kernelBench(kernelTypes);
const erows = await e2e();
const loadAfter = loadavg()[0];

const geo = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const ratios = krows.filter((r) => r.native && r.same).map((r) => r.ours / r.native!);
const lines = [
  `# Benchmarks`,
  ``,
  `Machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  `Mode: ${quick ? "--quick (64 kernel rows, the small model)" : "full"}; 1-minute load average ${fmt(loadBefore, 1)} at the start, ${fmt(loadAfter, 1)} at the end (other processes share the cores: ratios of the same run matter, absolute numbers less).`,
  `Native: llama.cpp's prebuilt libggml-base.so / libllama from @node-llama-cpp/linux-x64@3.22.1 (baseline x86-64)${native ? "" : " — not available in this run"}.`,
  ``,
  `## Kernels, one thread (million weights per second; 4096-wide rows of Student-t weights)`,
  ``,
  `| type | imatrix | ours | native | ratio | bytes |`,
  `|---|---|---:|---:|---:|---|`,
  ...krows.map((r) => `| ${r.type} | ${r.imatrix ? "yes" : "no"} | ${fmt(r.ours)} | ${fmt(r.native ?? NaN)} | ${r.native ? fmt(r.ours / r.native, 2) + "×" : "–"} | ${r.same === undefined ? "–" : r.same ? "identical" : "**differ**"} |`),
  ``,
  ratios.length ? `Geometric mean ratio: ${fmt(geo(ratios), 2)}× over ${ratios.length} kernels with identical bytes.` : ``,
  ``,
  `## End to end (a ${fmt((erows as E2eRow[] & { modelMiB?: number }).modelMiB ?? NaN, 0)} MiB bf16 model; wall time, peak RSS)`,
  ``,
  `| preset | imatrix | threads | ours ms | native ms | speed-up | ours RSS MiB | native RSS MiB | bytes |`,
  `|---|---|---:|---:|---:|---:|---:|---:|---|`,
  ...erows.map((r) => `| ${r.preset} | ${r.imatrix ? "yes" : "no"} | ${r.threads} | ${fmt(r.ours, 0)} | ${fmt(r.native ?? NaN, 0)} | ${r.native ? fmt(r.native / r.ours, 2) + "×" : "–"} | ${fmt(r.oursRss, 0)} | ${fmt(r.nativeRss ?? NaN, 0)} | ${r.same === undefined ? "–" : r.same ? "identical" : "**differ**"} |`),
  ``,
];
const md = lines.join("\n");
process.stdout.write(md);
writeFileSync(join(here, "RESULTS.md"), md);
