// Makes the GGUF/imatrix fixtures under test/fixtures/ with llama.cpp's reference build, and checks
// the generator against it. Needs ../shared/ref (not needed by npm test, which only reads what this
// wrote). Run from the worktree root:
//
//   npx tsx test/support/make-fixtures.ts            # writes the fixtures
//   npx tsx test/support/make-fixtures.ts --check    # only the refquant matrix, writes nothing
//
// What it does:
//  1. the refquant acceptance matrix: every generator kind (dense, GQA, MoE 8 experts, shared expert,
//     tied, 576/320-wide rows, f32/f16/bf16, qwen2/qwen2moe/qwen3moe) quantized to Q8_0 (ftype 7),
//     with and without generated imatrices in both formats (Q4_K_M, IQ2_XXS); each output's header
//     must re-serialize byte for byte, and its quantize.imatrix.* KVs must equal imatrixKvs();
//  2. test/fixtures/gguf/: a tiny model's Q8_0 output written by llama.cpp (its input is regenerated
//     by the test from TINY_SPEC and checked against the recorded sha256);
//  3. test/fixtures/imatrix/: small imatrix files (generated and hand-made edge cases), what
//     llama.cpp's own loader makes of each (c-dumps.json, via imdump.cpp), and the
//     quantize.imatrix.* KVs refquant writes for several of them (refquant-kvs.json).

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync, copyFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { generateModel, modelBytes, generateImatrix, type ModelSpec } from "./generate.js";
import { concat, le } from "./bytes.js";
import { openSource } from "../../src/io/node.js";
import { readGgufHeader } from "../../src/gguf/read.js";
import { serializeGguf, ggufBytes } from "../../src/gguf/write.js";
import { kv, ValueType, VALUE_TYPE_NAMES, encodeString, type GgufKv } from "../../src/gguf/values.js";
import { loadImatrix, imatrixKvs, writeGgufImatrix, writeLegacyImatrix } from "../../src/imatrix.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIX = join(ROOT, "test", "fixtures");
const TMP = "/tmp/gguf-fixtures";
const check = process.argv.includes("--check");

// ---- reference build ----
const setup = execFileSync("bash", [join(ROOT, "..", "shared", "ref", "setup.sh")], { encoding: "utf8" });
const libDir = /LD_LIBRARY_PATH=(\S+)/.exec(setup)![1];
const refquant = /refquant: (\S+)/.exec(setup)![1];
const env = { ...process.env, LD_LIBRARY_PATH: libDir };
mkdirSync(TMP, { recursive: true });
const imdump = join(TMP, "imdump");
if (!existsSync(imdump)) {
  execFileSync("g++", ["-std=c++17", "-O2", "-o", imdump, join(FIX, "imatrix", "imdump.cpp"), `-L${libDir}`, "-l:libllama-common.so", `-Wl,-rpath,${libDir}`]);
}

function run(args: string[], cwd = ROOT): { ok: boolean; log: string } {
  const r = spawnSync(refquant, args, { env, cwd, encoding: "utf8" });
  return { ok: r.status === 0, log: (r.stdout ?? "") + (r.stderr ?? "") };
}

async function header(path: string) {
  const s = await openSource(path);
  try { return await readGgufHeader(s); } finally { await s.close(); }
}

async function loadIm(path: string) {
  const s = await openSource(path);
  try { return await loadImatrix(s, { requireMetadata: false }); } finally { await s.close(); }
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Output header == our serialization of its KVs and tensors; and the imatrix KVs match. */
async function verifyOutput(out: string, imatrixArg?: string, imatrixFile?: string): Promise<string[]> {
  const problems: string[] = [];
  const h = await header(out);
  const s = serializeGguf(h.kvs, h.tensors);
  const file = readFileSync(out);
  if (Buffer.compare(Buffer.from(s.header), file.subarray(0, h.dataOffset)) !== 0 || s.fileSize !== file.length) problems.push("header not reproduced");
  if (imatrixArg) {
    const m = await loadIm(imatrixFile ?? join(ROOT, imatrixArg));
    const want = JSON.stringify(imatrixKvs(m, imatrixArg, m.entries.size));
    const got = JSON.stringify(h.kvs.filter((k) => k.key.startsWith("quantize.imatrix.")));
    if (want !== got) problems.push(`imatrix KVs ${got} != ${want}`);
  }
  return problems;
}

// ---- 1. acceptance matrix ----
const MATRIX: Record<string, ModelSpec> = {
  "llama-f32": { arch: "llama" },
  "llama-f16": { arch: "llama", dtype: "f16" },
  "llama-bf16": { arch: "llama", dtype: "bf16" },
  "gqa": { arch: "llama", nHead: 8, nHeadKv: 2, dtype: "f16" },
  "tied": { arch: "llama", tied: true, dtype: "bf16" },
  "w576": { arch: "llama", nEmbd: 576, nHead: 9, nHeadKv: 3, nFf: 768, nLayer: 1, dtype: "f16" },
  "w320": { arch: "llama", nEmbd: 320, nHead: 5, nFf: 864, nLayer: 1, dtype: "bf16" },
  "moe8": { arch: "llama", nExpert: 8, nExpertUsed: 2, nFf: 256, dtype: "f16" },
  "qwen2": { arch: "qwen2", nHead: 4, nHeadKv: 2, dtype: "bf16", tied: true },
  "qwen2moe": { arch: "qwen2moe", nExpert: 4, nFfExp: 256, nFfShexp: 512, dtype: "bf16" },
  "qwen3moe": { arch: "qwen3moe", nExpert: 8, nFfExp: 256, nHead: 8, nHeadKv: 4, headDim: 64, dtype: "f16" },
  "hostile": { arch: "llama", tokenizer: "hostile", nLayer: 1 },
  "notok": { arch: "llama", tokenizer: "none", nLayer: 1 },
};

let failures = 0;
for (const [kind, spec] of Object.entries(MATRIX)) {
  const m = generateModel(spec);
  const inp = join(TMP, `${kind}.gguf`);
  writeFileSync(inp, modelBytes(m));
  const runs: [string, string[], string?][] = [["q8_0", ["7", "2"]]];
  for (const fmt of ["gguf", "dat"] as const) {
    const im = generateImatrix(m, { zeroExperts: 1 });
    const imPath = join(TMP, `${kind}.imatrix.${fmt}`);
    writeFileSync(imPath, fmt === "gguf" ? writeGgufImatrix(im.stats, im.meta) : writeLegacyImatrix(im.stats, im.meta));
    runs.push([`q4_k_m+${fmt}`, ["15", "2", "--imatrix", imPath], imPath], [`iq2_xxs+${fmt}`, ["19", "2", "--imatrix", imPath], imPath]);
  }
  const results: string[] = [];
  for (const [label, args, imPath] of runs) {
    const out = join(TMP, `${kind}.${label}.gguf`);
    const r = run([inp, out, ...args]);
    if (!r.ok) { failures++; results.push(`${label}: REFUSED ${r.log.split("\n").filter((l) => /error|fail/i.test(l)).slice(-2).join(" | ")}`); continue; }
    const problems = await verifyOutput(out, imPath, imPath);
    if (problems.length) failures++;
    results.push(`${label}: ${problems.length ? problems.join("; ") : "ok"}`);
    rmSync(out);
  }
  console.log(`${kind.padEnd(9)} ${(modelBytes(m).length / 1e6).toFixed(2)} MB  ${results.join("  ")}`);
}
if (check) process.exit(failures ? 1 : 0);

// ---- 2. tiny model, Q8_0 by llama.cpp ----
const TINY_SPEC: ModelSpec = { arch: "llama", nLayer: 1, nEmbd: 32, nHead: 2, nFf: 64, nVocab: 48, tokenizer: "hostile", dtype: "f16", seed: 7 };
const TINY_MOE_SPEC: ModelSpec = { arch: "qwen3moe", nLayer: 1, nEmbd: 32, nHead: 2, nHeadKv: 1, nFfExp: 32, nExpert: 4, nVocab: 48, headDim: 16, dtype: "bf16", seed: 8 };
mkdirSync(join(FIX, "gguf"), { recursive: true });
mkdirSync(join(FIX, "imatrix"), { recursive: true });
const tiny = generateModel(TINY_SPEC);
const tinyPath = join(TMP, "tiny.gguf");
writeFileSync(tinyPath, modelBytes(tiny));
const tinyOut = join(FIX, "gguf", "tiny.q8_0.gguf");
if (!run([tinyPath, tinyOut, "7", "1"]).ok) throw new Error("refquant refused the tiny model");
const tinyMoe = generateModel(TINY_MOE_SPEC);
const tinyMoePath = join(TMP, "tiny-moe.gguf");
writeFileSync(tinyMoePath, modelBytes(tinyMoe));

// ---- 3. imatrix fixtures ----
const IM = join(FIX, "imatrix");
const rel = (name: string) => `test/fixtures/imatrix/${name}`;
const dense = generateImatrix(tiny, { chunkSize: 64, chunks: 3, datasets: ["calib/wiki.train.raw", "second.txt"] });
const moe = generateImatrix(tinyMoe, { chunkSize: 32, chunks: 5, zeroExperts: 1, activations: true });
const files: Record<string, Uint8Array> = {
  "tiny.imatrix.gguf": writeGgufImatrix(dense.stats, dense.meta),
  "tiny.imatrix.dat": writeLegacyImatrix(dense.stats, dense.meta),
  "tiny-moe.imatrix.gguf": writeGgufImatrix(moe.stats, moe.meta),
  "tiny-moe.imatrix.dat": writeLegacyImatrix(moe.stats, moe.meta),
};

// hand-made edge cases: odd counts, lenient legacy trailers, malformed files
const f32b = (a: number[]) => new Uint8Array(Float32Array.from(a).buffer);
const sums = (n: number, k = 1) => Array.from({ length: n }, (_, i) => (i + 1) * 0.37 * k);
const meta = (o: { ds?: GgufKv | null; cc?: GgufKv | null; cs?: GgufKv | null } = {}): GgufKv[] => [
  kv.str("general.type", "imatrix"),
  ...(o.ds === null ? [] : [o.ds ?? kv.arr("imatrix.datasets", ValueType.STRING, ["a\0b", "second"])]),
  ...(o.cc === null ? [] : [o.cc ?? kv.u32("imatrix.chunk_count", 7)]),
  ...(o.cs === null ? [] : [o.cs ?? kv.u32("imatrix.chunk_size", 512)]),
];
const t = (name: string, ne: number[], data: number[], type = 0) => ({ name, ne, type, data: type === 0 ? f32b(data) : new Uint8Array(data.length * 2) });
const simple = () => [t("blk.0.attn_q.weight.in_sum2", [32], sums(32)), t("blk.0.attn_q.weight.counts", [1], [4])];
files["edge-counts.gguf"] = ggufBytes(meta(), [
  t("w.in_sum2", [4, 6], sums(24)), t("w.counts", [1, 6], [NaN, Infinity, -1, 0.5, 2.5, 1e20]),
  t("x.in_sum2", [5, 1], sums(5)), t("x.counts", [1], [16777217]),
  t("y.in_sum2", [7], sums(7)), t("y.counts", [1, 2], [3, 0]),
  t("z.in_sum2", [4, 2], sums(8)), t("z.counts", [1, 2], [-0.5, 1.4999999]), t("z.in_sum", [4, 2], sums(8)),
  t("junk", [4], sums(4)), t(".in_sum2", [4], sums(4)), t(".counts", [1], [3]),
]);
files["edge-no-meta.gguf"] = ggufBytes(meta({ cc: null }), simple());
files["edge-ds-str.gguf"] = ggufBytes(meta({ ds: kv.str("imatrix.datasets", "x") }), simple());
files["edge-cc-big.gguf"] = ggufBytes(meta({ cc: kv.u32("imatrix.chunk_count", 0xfffffff0) }), simple());
files["bad-missing-counts.gguf"] = ggufBytes(meta(), [t("w.in_sum2", [4], sums(4))]);
files["bad-f16-counts.gguf"] = ggufBytes(meta(), [t("w.in_sum2", [4], sums(4)), t("w.counts", [2], [0, 0], 1)]);
files["bad-no-tensors.gguf"] = ggufBytes(meta(), []);
files["bad-cc-i32.gguf"] = ggufBytes(meta({ cc: kv.i32("imatrix.chunk_count", 7) }), simple());
{ const b = ggufBytes(meta(), simple()); files["bad-no-padding.gguf"] = b.subarray(0, b.length - 4); }
type LegacyEntry = { name: Uint8Array | string; ncall: number; vals: number[] };
const legacy = (entries: LegacyEntry[], trailer: number[] = [], nEntries = entries.length) => concat(le.i32(nEntries),
  ...entries.map((e) => { const nb = typeof e.name === "string" ? new TextEncoder().encode(e.name) : e.name; return concat(le.i32(nb.length), nb, le.i32(e.ncall), le.i32(e.vals.length), f32b(e.vals)); }),
  trailer);
const E: LegacyEntry[] = [{ name: "b", ncall: 3, vals: sums(4) }, { name: "a", ncall: -2, vals: sums(3) }, { name: "c", ncall: 0, vals: sums(2) }, { name: "big", ncall: 16777217, vals: sums(3, 1e7) }];
files["edge-dup.dat"] = legacy([...E, { name: "b", ncall: 5, vals: sums(2) }]);
files["edge-names.dat"] = legacy([{ name: Uint8Array.from([0x61, 0, 0x62]), ncall: 2, vals: sums(2) }, { name: Uint8Array.from([0xff, 0xfe, 0x41]), ncall: 2, vals: sums(2) }, { name: "", ncall: 1, vals: [1, 2] }]);
files["edge-trailer-none.dat"] = legacy(E);
files["edge-trailer-3.dat"] = legacy(E, [5, 1, 2]);
files["edge-trailer-5.dat"] = legacy(E, [...le.i32(9), 3]);
files["edge-trailer-len-big.dat"] = legacy(E, [...le.i32(9), ...le.i32(100), 0x41, 0x42]);
files["edge-trailer-nul.dat"] = legacy(E, [...le.i32(-9), ...le.i32(5), ...new TextEncoder().encode("ab\0cd"), 7, 7, 7]);
files["edge-trailer-len0.dat"] = legacy(E, [...le.i32(9), ...le.i32(0)]);
files["bad-zero-entries.dat"] = legacy([], [], 0);
files["bad-truncated.dat"] = legacy(E, [], 6);
files["bad-nval0.dat"] = legacy([{ name: "a", ncall: 1, vals: [] }]);
files["bad-tiny.dat"] = Uint8Array.from([1, 0]);

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const dumps: Record<string, string[]> = {};
for (const [name, bytes] of Object.entries(files)) {
  writeFileSync(join(IM, name), bytes);
  const r = spawnSync(imdump, [join(IM, name)], { env, encoding: "utf8" });
  dumps[name] = r.status === 0 ? r.stdout.trimEnd().split("\n") : ["FAIL"];
}
writeFileSync(join(IM, "c-dumps.json"), JSON.stringify({
  made_by: "npx tsx test/support/make-fixtures.ts (imdump.cpp: common_imatrix_load + llama-quantize's load_imatrix normalization, libllama-common.so of @node-llama-cpp/linux-x64@3.22.1)",
  format: "line 1: legacy meta chunk_count chunk_size; 'dataset <len> <hex>'; 'entry <hex name> <n> <f32 bits in hex>...'; FAIL = loader returned false",
  dumps,
}, null, 1) + "\n");

// quantize.imatrix.* KVs written by llama.cpp, for several imatrix files and paths
const longDir = join(TMP, "x" + "ä".repeat(60) + "-imatrix-path-longer-than-127-bytes"); // cut at 127 bytes inside an ä
mkdirSync(longDir, { recursive: true });
const longPath = join(longDir, "tiny.imatrix.dat");
copyFileSync(join(IM, "tiny.imatrix.dat"), longPath);
const kvCases: { imatrix: string; model: string; ftype: number }[] = [
  { imatrix: rel("tiny.imatrix.gguf"), model: tinyPath, ftype: 2 },
  { imatrix: rel("tiny.imatrix.dat"), model: tinyPath, ftype: 2 },
  { imatrix: longPath, model: tinyPath, ftype: 2 },
  { imatrix: rel("tiny-moe.imatrix.gguf"), model: tinyMoePath, ftype: 15 },
  { imatrix: rel("tiny-moe.imatrix.dat"), model: tinyMoePath, ftype: 15 },
  { imatrix: rel("edge-cc-big.gguf"), model: tinyPath, ftype: 2 },
  { imatrix: rel("edge-trailer-len0.dat"), model: tinyPath, ftype: 2 },
  { imatrix: rel("edge-trailer-nul.dat"), model: tinyPath, ftype: 2 },
];
const showKv = (k: GgufKv) => ({ key: k.key, type: VALUE_TYPE_NAMES[k.type], value: k.type === ValueType.STRING ? hex(encodeString(k.value)) : k.value });
const kvResults = [];
for (const c of kvCases) {
  const out = join(TMP, "kv-case.gguf");
  const r = run([c.model, out, String(c.ftype), "1", "--imatrix", c.imatrix]);
  if (!r.ok) throw new Error(`refquant failed for ${c.imatrix}: ${r.log.slice(-300)}`);
  const h = await header(out);
  const problems = await verifyOutput(out, c.imatrix, c.imatrix.startsWith("/") ? c.imatrix : join(ROOT, c.imatrix));
  if (problems.length) throw new Error(`${c.imatrix}: ${problems.join("; ")}`);
  kvResults.push({ imatrix: c.imatrix === longPath ? "<longPath>" : c.imatrix, kvs: h.kvs.filter((k) => k.key.startsWith("quantize.imatrix.")).map(showKv) });
}
writeFileSync(join(IM, "refquant-kvs.json"), JSON.stringify({
  made_by: "npx tsx test/support/make-fixtures.ts: refquant MODEL OUT FTYPE 1 --imatrix PATH, run from the worktree root (llama.cpp of @node-llama-cpp/linux-x64@3.22.1)",
  longPath: hex(new TextEncoder().encode(longPath)),
  note: "string values are the hex of their bytes",
  cases: kvResults,
}, null, 1) + "\n");

writeFileSync(join(FIX, "gguf", "tiny.json"), JSON.stringify({
  made_by: "npx tsx test/support/make-fixtures.ts: refquant tiny.gguf tiny.q8_0.gguf 7 1 (llama.cpp of @node-llama-cpp/linux-x64@3.22.1)",
  spec: TINY_SPEC,
  input_sha256: sha256(modelBytes(tiny)),
  moe_spec: TINY_MOE_SPEC,
  moe_input_sha256: sha256(modelBytes(tinyMoe)),
}, null, 1) + "\n");
console.log(failures ? `${failures} failures` : "fixtures written");
process.exit(failures ? 1 : 0);
