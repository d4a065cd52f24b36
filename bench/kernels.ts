// Kernel-only benchmark for noisy machines: our SIMD kernels, our scalar references
// (set_scalar_kernels(1)) and native llama.cpp (qbench) on the same rows, interleaved over several
// rounds, best time of each; a native timing counts only when its bytes equal ours.
//
//   npx tsx bench/kernels.ts [--types q8_0,q4_K|all] [--rounds 5] [--rows 64] [--no-scalar] [--src f32|f16|bf16] [--json FILE]
//
// Pin it to one CPU (taskset -c 1) when the machine is shared. bench/run.ts (npm run bench) runs it
// that way for its kernel table (--json: the rows as JSON), then times whole files.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { Kernels } from "../src/kernels.js";
import { TYPES, rowBytes, typeByName } from "../src/types.js";
import { Rng } from "../test/support/random.js";
import { bytesOf, toBf16, toF16, widenBf16, widenF16 } from "../test/support/floats.js";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const typeList = opt("--types", "q8_0,q4_0,q4_1,q5_0,q5_1,q2_K,q3_K,q4_K,q5_K,q6_K,iq4_nl,iq4_xs,f16,bf16");
/** all: every type with a kernel except f32, whose "kernel" is a copy on both sides (not a quantization) */
const types = typeList === "all" ? TYPES.filter((t) => t.kernel && t.name !== "f32").map((t) => t.name) : typeList.split(",");
const jsonOut = args.includes("--json") ? opt("--json", "") : undefined;
const rounds = Number(opt("--rounds", "5"));
const nrows = Number(opt("--rows", "64"));
const src = opt("--src", "f32") as "f32" | "f16" | "bf16";
const withScalar = !args.includes("--no-scalar");
const n = 4096;
/** kernels that never read an importance vector (a second row would repeat the first) */
const IGNORES_IMATRIX = new Set(["f32", "f16", "bf16", "q8_0", "tq1_0", "tq2_0", "mxfp4", "nvfp4", "q1_0", "q2_0"]);

const refDir = process.env.REF_DIR ?? join(homedir(), ".cache", "gguf-quantize-ref");
const lib = join(refDir, "nlc", "bins", "linux-x64", "libggml-base.so");
const qbench = join(refDir, "qbench");
const native = existsSync(qbench) && existsSync(lib);

// realistic rows: Student-t(5), per-column scale spread, a few outlier columns
const rng = new Rng(42);
const col = Float32Array.from({ length: n }, () => 0.5 + 1.5 * rng.uniform());
for (let i = 0; i < n; i += 256) col[(i + 17) % n] *= 6;
let rows: Float32Array = new Float32Array(n * nrows);
for (let r = 0; r < nrows; r++) for (let i = 0; i < n; i++) rows[r * n + i] = rng.studentT(5) * 0.02 * col[i];
const imatrix = Float32Array.from(col, (c) => c * c * (0.5 + rng.uniform()));
let srcBytes = bytesOf(rows);
if (src === "f16") { const h = toF16(rows); srcBytes = bytesOf(h); rows = widenF16(h); }
if (src === "bf16") { const h = toBf16(rows); srcBytes = bytesOf(h); rows = widenBf16(h); }
const srcType = { f32: 0, f16: 1, bf16: 30 }[src];

const dir = mkdtempSync(join(tmpdir(), "bench-k-"));
writeFileSync(join(dir, "rows.f32"), new Uint8Array(rows.buffer));
writeFileSync(join(dir, "imatrix.f32"), new Uint8Array(imatrix.buffer));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const simd = new Kernels();
const scalar = new Kernels();
(scalar as unknown as { exports: { set_scalar_kernels(on: number): void } }).exports.set_scalar_kernels(1);

function ours(k: Kernels, t: number, im: boolean): { mws: number; bytes: Uint8Array } {
  const dst = rowBytes(t, n) * nrows;
  const r = k.reserve(n, srcBytes.byteLength, dst, n);
  k.bytes(r.src, srcBytes.byteLength).set(srcBytes);
  k.bytes(r.imatrix, n * 4).set(new Uint8Array(imatrix.buffer));
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    k.quantize(t, r, srcType, nrows, n, im);
    best = Math.min(best, performance.now() - t0);
  }
  return { mws: (n * nrows) / best / 1e3, bytes: k.bytes(r.dst, dst).slice() };
}

function nat(t: number, im: boolean): { mws: number; sha: string } | undefined {
  if (!native) return undefined;
  const res = spawnSync(qbench, [lib, String(t), String(n), join(dir, "rows.f32"), join(dir, "out.bin"), im ? join(dir, "imatrix.f32") : "-", "3"], { encoding: "utf8" });
  const m = /([\d.]+) Mweights\/s/.exec(res.stdout ?? "");
  return m ? { mws: Number(m[1]), sha: sha(readFileSync(join(dir, "out.bin"))) } : undefined;
}

export interface KernelRow { name: string; simd: number; scalar: number; native: number; same: boolean; scalarSame: boolean }
type Row = KernelRow;
const table = new Map<string, Row>();
for (let round = 0; round < rounds; round++) {
  for (const name of types) {
    const ty = typeByName(name)!;
    for (const im of [false, true]) {
      if (im && IGNORES_IMATRIX.has(name)) continue;
      if (!im && ty.needsImatrix) continue; // ggml_quantize_chunk asserts one
      const key = `${name}${im ? "+imatrix" : ""}`;
      const row = table.get(key) ?? { name: key, simd: 0, scalar: 0, native: 0, same: true, scalarSame: true };
      const a = ours(simd, ty.id, im);
      row.simd = Math.max(row.simd, a.mws);
      if (withScalar && (round < 2 || !im)) {
        const b = ours(scalar, ty.id, im);
        row.scalar = Math.max(row.scalar, b.mws);
        row.scalarSame &&= sha(b.bytes) === sha(a.bytes);
      }
      const c = nat(ty.id, im);
      if (c) { row.native = Math.max(row.native, c.mws); row.same &&= c.sha === sha(a.bytes); }
      table.set(key, row);
    }
  }
  process.stderr.write(`round ${round + 1}/${rounds}\n`);
}
rmSync(dir, { recursive: true, force: true });

const f = (x: number, d = 1) => (x > 0 ? x.toFixed(d) : "–");
const lines = [
  `| kernel (${src} source) | SIMD Mw/s | scalar Mw/s | native Mw/s | SIMD/native | SIMD/scalar | bytes |`,
  `|---|---:|---:|---:|---:|---:|---|`,
];
const ratios: number[] = [];
for (const r of table.values()) {
  if (r.native && r.same) ratios.push(r.simd / r.native);
  lines.push(`| ${r.name} | ${f(r.simd)} | ${f(r.scalar)} | ${f(r.native)} | ${r.native ? f(r.simd / r.native, 2) + "×" : "–"} | ${r.scalar ? f(r.simd / r.scalar, 2) + "×" : "–"} | ${!r.native ? "–" : r.same && r.scalarSame ? "identical" : "**differ**"} |`);
}
if (ratios.length) lines.push("", `Geometric mean SIMD/native: ${f(Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length), 2)}× over ${ratios.length} kernels.`);
console.log(lines.join("\n"));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify([...table.values()]));
