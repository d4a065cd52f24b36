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
import { generateModel, writeImatrix, writeModel } from "../test/support/generate.js";
import type { KernelRow } from "./kernels.js";

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

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");

/** The kernel table: bench/kernels.ts (ours and qbench interleaved over rounds, best of each, bytes
 *  compared), pinned to one CPU when taskset is there so the two sides get the same core. */
function kernelBench(types: string): KernelRow[] {
  const dir = mkdtempSync(join(tmpdir(), "bench-"));
  const json = join(dir, "kernels.json");
  const script = [join(here, "..", "node_modules", "tsx", "dist", "cli.mjs"), join(here, "kernels.ts"), "--types", types,
    "--rounds", quick ? "2" : "3", "--rows", quick ? "16" : "64", "--no-scalar", "--json", json];
  const pin = cpus().length > 1 && existsSync("/usr/bin/taskset") ? ["/usr/bin/taskset", "-c", String(cpus().length - 1)] : [];
  const argv = [...pin, process.execPath, ...script];
  const res = spawnSync(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, REF_DIR: refDir } });
  if (res.status !== 0) throw new Error(`bench/kernels.ts failed (${res.status})`);
  const rows = JSON.parse(readFileSync(json, "utf8")) as KernelRow[];
  rmSync(dir, { recursive: true, force: true });
  return rows;
}

interface E2eRow {
  preset: string; imatrix: boolean; threads: number; ours: number; oursCpu: number; oursRss: number;
  native?: number; nativeCpu?: number; nativeRss?: number;
  /** native's wall time plus the `sync` of its output that follows: the time until its output is on the disk, as ours is when it ends */
  nativeSynced?: number;
  same?: boolean;
}

/** Wall time, CPU time (user + system) and peak RSS of a command, through /usr/bin/time when present. */
function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv, cwd: string): { ms: number; cpuMs: number; rssMiB: number; ok: boolean } {
  const useTime = existsSync("/usr/bin/time");
  const t0 = performance.now();
  const res = useTime
    ? spawnSync("/usr/bin/time", ["-f", "%U %S %M", cmd, ...argv], { env, cwd, encoding: "utf8" })
    : spawnSync(cmd, argv, { env, cwd, encoding: "utf8" });
  const ms = performance.now() - t0;
  const m = useTime ? /([\d.]+) ([\d.]+) (\d+)\s*$/.exec(res.stderr ?? "") : null;
  return { ms, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN, rssMiB: m ? Number(m[3]) / 1024 : NaN, ok: res.status === 0 };
}

/** Before each timed run: no output left from the last one and nothing of it still waiting for the
 *  disk (llama.cpp does not sync its output, we do: its write-back would otherwise land in our run). */
function settle(dir: string): void {
  rmSync(join(dir, "ours.gguf"), { force: true });
  rmSync(join(dir, "ref.gguf"), { force: true });
  spawnSync("sync");
}

/** The issue's end-to-end presets (Q8_0, Q4_K_M ± imatrix, IQ4_XS, Q2_K) and Q4_0 (legacy kernels),
 *  at 1 thread and all cores; ours and native alternate, best of `reps` (one for runs over 20 s). */
async function e2e(): Promise<E2eRow[] & { modelMiB?: number }> {
  const spec = quick
    ? { nLayer: 4, nEmbd: 1024, nFf: 2816, nHead: 16, nHeadKv: 4, nVocab: 8000, dtype: "bf16" as const, seed: 7 }
    : { nLayer: 8, nEmbd: 2048, nFf: 5632, nHead: 16, nHeadKv: 4, nVocab: 16000, dtype: "bf16" as const, seed: 7 };
  const dir = mkdtempSync(join(tmpdir(), "bench-e2e-"));
  const cli = join(here, "..", "dist", "bin", "gguf-quantize.js");
  await writeModel(join(dir, "model.gguf"), spec);
  await writeImatrix(join(dir, "imatrix.gguf"), generateModel(spec), "gguf");
  const rows: E2eRow[] & { modelMiB?: number } = [];
  const threadCounts = [1, cpus().length].filter((v, i, a) => a.indexOf(v) === i);
  const reps = quick ? 1 : 2;
  for (const [preset, ftype] of [["Q8_0", 7], ["Q4_0", 2], ["Q4_K_M", 15], ["IQ4_XS", 30], ["Q2_K", 10]] as const) {
    for (const im of [false, true]) {
      if (im && preset !== "Q4_K_M" && preset !== "IQ4_XS") continue;
      for (const threads of threadCounts) {
        const imArgs = im ? ["--imatrix", "imatrix.gguf"] : [];
        const row: E2eRow = { preset, imatrix: im, threads, ours: Infinity, oursCpu: NaN, oursRss: NaN };
        for (let rep = 0; rep < reps; rep++) {
          settle(dir);
          const ours = timed(process.execPath, [cli, "--quiet", ...imArgs, "model.gguf", "ours.gguf", preset, String(threads)], process.env, dir);
          if (ours.ms < row.ours) Object.assign(row, { ours: ours.ms, oursCpu: ours.cpuMs, oursRss: ours.rssMiB });
          if (native && existsSync(native.refquant)) {
            spawnSync("sync");
            const ref = timed(native.refquant, ["model.gguf", "ref.gguf", String(ftype), String(threads), ...imArgs], { ...process.env, LD_LIBRARY_PATH: native.lib }, dir);
            if (ref.ms < (row.native ?? Infinity)) Object.assign(row, { native: ref.ms, nativeCpu: ref.cpuMs, nativeRss: ref.rssMiB });
            const t0 = performance.now();
            spawnSync("sync", [join(dir, "ref.gguf")]);
            row.nativeSynced = Math.min(row.nativeSynced ?? Infinity, ref.ms + performance.now() - t0);
            const same = ours.ok && ref.ok && sha(readFileSync(join(dir, "ours.gguf"))) === sha(readFileSync(join(dir, "ref.gguf")));
            row.same = (row.same ?? true) && same;
            if (ref.ms > 20000) break;
          }
        }
        rows.push(row);
        process.stderr.write(`${preset}${im ? "+imatrix" : ""} x${threads}: ours ${fmt(row.ours, 0)} ms${row.native ? `, native ${fmt(row.native, 0)} ms` : ""}\n`);
      }
    }
  }
  rows.modelMiB = readFileSync(join(dir, "model.gguf")).byteLength / 1048576;
  rmSync(dir, { recursive: true, force: true });
  return rows;
}

const loadBefore = loadavg()[0];
const krows = kernelBench(typeArg && !typeArg.startsWith("--") ? typeArg : "all");
const erows = await e2e();
const loadAfter = loadavg()[0];

const geo = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const counted = krows.filter((r) => r.native && r.same);
const ratios = counted.map((r) => r.simd / r.native);
const slowKernels = counted.filter((r) => r.simd / r.native < 1.5).map((r) => `${r.name} ${fmt(r.simd / r.native, 2)}×`);
const differ = krows.filter((r) => r.native && !r.same).map((r) => r.name);
const target = ["Q8_0", "Q4_K_M", "IQ4_XS", "Q2_K"];
const slowRuns = erows.filter((r) => r.native && target.includes(r.preset) && r.native / r.ours < 2)
  .map((r) => `${r.preset}${r.imatrix ? "+imatrix" : ""} ×${r.threads} ${fmt(r.native! / r.ours, 2)}× (${fmt(r.nativeSynced! / r.ours, 2)}× against native + sync)`);
const maxThreads = Math.max(...erows.map((r) => r.threads));
const scaling = maxThreads > 1 ? erows.filter((r) => r.threads === 1).map((one) => {
  const all = erows.find((r) => r.preset === one.preset && r.imatrix === one.imatrix && r.threads === maxThreads)!;
  return `| ${one.preset} | ${one.imatrix ? "yes" : "no"} | ${fmt(one.ours / all.ours, 2)}× | ${one.native && all.native ? fmt(one.native / all.native, 2) + "×" : "–"} |`;
}) : [];
const lines = [
  `# Benchmarks`,
  ``,
  `Machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  `Mode: ${quick ? "--quick (16 kernel rows, 2 rounds; the small model, one run each)" : "full (64 kernel rows, 3 rounds; the large model, best of two runs under 20 s)"}; 1-minute load average ${fmt(loadBefore, 1)} at the start, ${fmt(loadAfter, 1)} at the end (the machine's other processes share its cores: the ratios of one run are what to read).`,
  `Native: llama.cpp's prebuilt libggml-base.so / libllama from @node-llama-cpp/linux-x64@3.22.1 (baseline x86-64)${native ? "" : " — not available in this run"}.`,
  ``,
  `## Kernels, one thread (million weights per second; 4096-wide rows of Student-t weights)`,
  ``,
  `\`bench/kernels.ts\` pinned to one CPU: ours and llama.cpp's (\`ggml_quantize_chunk\` in qbench) alternate over the rounds, best of each; a native time counts only when its bytes equal ours. Types that require an importance matrix have no row without one; types that never read one have one row. f32 is not in the table: both sides copy.`,
  ``,
  `| kernel | ours Mw/s | native Mw/s | ratio | bytes |`,
  `|---|---:|---:|---:|---|`,
  ...krows.map((r) => `| ${r.name} | ${fmt(r.simd)} | ${r.native ? fmt(r.native) : "–"} | ${r.native ? fmt(r.simd / r.native, 2) + "×" : "–"} | ${!r.native ? "–" : r.same ? "identical" : "**differ**"} |`),
  ``,
  ratios.length ? `Geometric mean ratio: ${fmt(geo(ratios), 2)}× over ${ratios.length} kernels with identical bytes; lowest ${fmt(Math.min(...ratios), 2)}×.` : ``,
  ``,
  `## End to end (a ${fmt(erows.modelMiB ?? NaN, 0)} MiB bf16 model; wall and CPU time, peak RSS)`,
  ``,
  `Our CLI (\`--quiet\`) and llama.cpp's \`llama_model_quantize\` (refquant) on the same model, alternating; outputs removed and the disk synced before each run. Ours fsyncs its output before renaming it into place (its time is until the output is on the disk); llama.cpp does not sync, so "native + sync" adds the \`sync\` of its output that follows the run.`,
  ``,
  `| preset | imatrix | threads | ours ms | native ms | speed-up | native + sync ms | speed-up | ours CPU ms | native CPU ms | ours RSS MiB | native RSS MiB | bytes |`,
  `|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|`,
  ...erows.map((r) => `| ${r.preset} | ${r.imatrix ? "yes" : "no"} | ${r.threads} | ${fmt(r.ours, 0)} | ${fmt(r.native ?? NaN, 0)} | ${r.native ? fmt(r.native / r.ours, 2) + "×" : "–"} | ${fmt(r.nativeSynced ?? NaN, 0)} | ${r.nativeSynced ? fmt(r.nativeSynced / r.ours, 2) + "×" : "–"} | ${fmt(r.oursCpu, 0)} | ${fmt(r.nativeCpu ?? NaN, 0)} | ${fmt(r.oursRss, 0)} | ${fmt(r.nativeRss ?? NaN, 0)} | ${r.same === undefined ? "–" : r.same ? "identical" : "**differ**"} |`),
  ``,
  ...(scaling.length ? [
    `### Thread scaling (wall time at 1 thread / at ${maxThreads})`,
    ``,
    `| preset | imatrix | ours | native |`,
    `|---|---|---:|---:|`,
    ...scaling,
    ``,
    `Where the kernels are a small part of the run (Q8_0, Q4_0: compare the CPU and wall columns) a second thread has little to take: the run waits on reading the model and on the disk taking the output, which ours syncs before it ends.`,
    ``,
  ] : []),
  `## Against the targets (issue 7)`,
  ``,
  `- Kernels: geometric mean ${ratios.length ? fmt(geo(ratios), 2) + "×" : "–"} (target ≥ 2.5×); below 1.5×: ${slowKernels.length ? slowKernels.join(", ") : "none"}${differ.length ? `; **bytes differ**: ${differ.join(", ")}` : ""}.`,
  `- End to end ≥ 2× (Q8_0, Q4_K_M ± imatrix, IQ4_XS, Q2_K): ${slowRuns.length ? "below: " + slowRuns.join(", ") : "all there"}.`,
  `- Peak RSS: ours at most ${fmt(Math.max(...erows.map((r) => r.oursRss)), 0)} MiB here; for a model with a 4.4 GiB (as f32) tensor see bench/MEMORY.md (\`npm run bench:memory\`).`,
  ``,
];
const md = lines.join("\n");
process.stdout.write(md);
writeFileSync(join(here, "RESULTS.md"), md);
