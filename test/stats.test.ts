// `stats`: llama-imatrix --show-statistics' numbers on tiny imatrices, checked against values
// worked out by hand (in the comments), through both file formats and the raw loader.

import { describe, expect, it } from "vitest";
import { loadImatrix, writeGgufImatrix, writeLegacyImatrix, type ImatrixStat, type RawImatrixEntry } from "../src/imatrix.js";
import { columnAverages, imatrixStatistics, splitTensorName, statsJson, statsSvg, statsTable, type TensorStats } from "../src/stats.js";
import { memorySource } from "./support/bytes.js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../src/cli.js";
import { generateModel, writeImatrix, writeModel } from "./support/generate.js";

const meta = { datasets: ["calib.txt"], chunkCount: 1, chunkSize: 512 };
const stat = (name: string, values: number[], counts: number[], activations?: number[]): ImatrixStat =>
  ({ name, values: Float32Array.from(values), counts, activations: activations && Float32Array.from(activations) });

async function rawOf(bytes: Uint8Array): Promise<Map<string, RawImatrixEntry>> {
  const m = await loadImatrix(memorySource(bytes, "t.imatrix"), { raw: true });
  return m.raw!;
}
const byName = (ts: TensorStats[], name: string) => ts.find((t) => t.name === name)!;

// blk.0.attn_q: Σx² [1,2,3,4] over 2 tokens -> E[x²] = [0.5, 1, 1.5, 2]
// blk.1.attn_q: Σx² [2,4,6,8] over 2 tokens -> E[x²] = [1, 2, 3, 4] (parallel to block 0's)
// blk.1.ffn_up_exps: 2 columns x 3 experts, counts [1, 0, 2]: expert 1 saw nothing and is left out;
//   E[x²] = [1, 1] and [2, 0]
const DENSE = [stat("blk.0.attn_q.weight", [1, 2, 3, 4], [2]), stat("blk.1.attn_q.weight", [2, 4, 6, 8], [2])];
const MOE = stat("blk.1.ffn_up_exps.weight", [1, 1, 9, 9, 4, 0], [1, 0, 2]);

describe("imatrixStatistics (E[x²], no Σx in the file)", () => {
  it("per tensor: Σ, min, max, mean, σ, active share, entropy, ZD", async () => {
    const s = imatrixStatistics(await rawOf(writeGgufImatrix([...DENSE, MOE], meta)));
    expect(s.legacy).toBe(true);
    const q0 = byName(s.tensors, "blk.0.attn_q.weight");
    expect(q0).toMatchObject({ layer: "0", tensor: "attn_q", sum: 5, min: 0.5, max: 2, mean: 1.25, elements: 4, active: 1 });
    // sample variance: (0.75² + 0.25² + 0.25² + 0.75²) / 3 = 1.25 / 3
    expect(q0.stdDev).toBeCloseTo(Math.sqrt(1.25 / 3), 6);
    // shares 0.1 0.2 0.3 0.4: H = -Σ p log2 p = 1.846439...; normalised by log2(4) = 2
    expect(q0.entropy).toBeCloseTo(1.8464393, 6);
    expect(q0.entropyNorm).toBeCloseTo(92.321965, 4);
    // z = ±1.162, ±0.387: two of four beyond one σ
    expect(q0.zd).toBe(0.5);
    expect(q0.cosSim).toBe(0); // no block before 0

    const moe = byName(s.tensors, "blk.1.ffn_up_exps.weight");
    // the 4 columns with data: [1, 1, 2, 0]
    expect(moe).toMatchObject({ sum: 4, min: 0, max: 2, mean: 1, elements: 4, active: 0.75, zd: 0.5 });
    expect(moe.stdDev).toBeCloseTo(Math.sqrt(2 / 3), 6);
    expect(moe.entropy).toBeCloseTo(1.5, 6); // shares 1/4 1/4 1/2 0
  });

  it("cosine similarity and L2 distance with the same tensor one block earlier", async () => {
    const s = imatrixStatistics(await rawOf(writeGgufImatrix([...DENSE, MOE], meta)));
    const q1 = byName(s.tensors, "blk.1.attn_q.weight");
    expect(q1.cosSim).toBeCloseTo(1, 6);
    expect(q1.l2Dist).toBeCloseTo(Math.sqrt(0.25 + 1 + 2.25 + 4), 5);
    expect(byName(s.tensors, "blk.1.ffn_up_exps.weight").cosSim).toBe(0); // no blk.0.ffn_up_exps
  });

  it("per layer: Σ of the tensors' sums, ZD share, cosine similarity of the concatenated columns", async () => {
    const s = imatrixStatistics(await rawOf(writeGgufImatrix([...DENSE, MOE], meta)));
    expect(s.layers.map((l) => l.layer)).toEqual([0, 1]);
    expect(s.layers[0]).toMatchObject({ sum: 5, zd: 0.5, cosSim: 0 });
    expect(s.layers[1].sum).toBe(10 + 4);
    expect(s.layers[1].zd).toBe(0.5); // (4·0.5 + 4·0.5) / 8
    expect(s.layers[1].cosSim).toBeCloseTo(1, 6); // only attn_q has a predecessor
  });

  it("orders the table by tensor name, then Σ descending", async () => {
    const s = imatrixStatistics(await rawOf(writeGgufImatrix([...DENSE, MOE], meta)));
    expect(s.tensors.map((t) => t.name)).toEqual(["blk.1.attn_q.weight", "blk.0.attn_q.weight", "blk.1.ffn_up_exps.weight"]);
  });

  it("reads a legacy .dat file to the same numbers (values / ncall)", async () => {
    const a = imatrixStatistics(await rawOf(writeGgufImatrix(DENSE, meta)));
    const b = imatrixStatistics(await rawOf(writeLegacyImatrix(DENSE, meta)));
    expect(b.tensors).toEqual(a.tensors);
    expect(b.layers).toEqual(a.layers);
  });

  it("counts a column as active only above 1e-5", () => {
    const raw = new Map<string, RawImatrixEntry>([["blk.0.ffn_down.weight", { values: Float32Array.from([0, 1e-6, 2e-5, 1]), counts: [1] }]]);
    expect(imatrixStatistics(raw).tensors[0].active).toBe(0.5);
  });

  it("skips entries without data and says why", () => {
    const raw = new Map<string, RawImatrixEntry>([
      ["blk.0.a.weight", { values: Float32Array.from([1, 2]), counts: [0] }],
      ["blk.0.b.weight", { values: Float32Array.from([1, 2, 3]), counts: [1, 1] }],
    ]);
    const s = imatrixStatistics(raw);
    expect(s.tensors).toEqual([]);
    expect(s.skipped.map((k) => k.name)).toEqual(["blk.0.a.weight", "blk.0.b.weight"]);
    expect(s.skipped[1].why).toMatch(/size mismatch/);
  });
});

describe("imatrixStatistics with Σx (newer llama-imatrix GGUF files)", () => {
  // Σx² [4, 4], Σx [2, -2] over 4 tokens: E[x] = [0.5, -0.5], E[x²] = [1, 1]
  const ACT = [stat("blk.0.ffn_down.weight", [4, 4], [4], [2, -2]), stat("blk.1.ffn_down.weight", [4, 4], [4], [-2, 2])];

  it("statistics are over E[x]; entropy stays over E[x²]", async () => {
    const s = imatrixStatistics(await rawOf(writeGgufImatrix(ACT, meta)));
    expect(s.legacy).toBe(false);
    const d0 = byName(s.tensors, "blk.0.ffn_down.weight");
    expect(d0).toMatchObject({ sum: 0, min: -0.5, max: 0.5, mean: 0, elements: 2, zd: 0, entropy: 1, entropyNorm: 100 });
    expect(d0.stdDev).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it("compares blocks on E[x]: opposite vectors have cosine -1, distance √2, ECS ~0", async () => {
    const s = imatrixStatistics(await rawOf(writeGgufImatrix(ACT, meta)));
    const d1 = byName(s.tensors, "blk.1.ffn_down.weight");
    expect(d1.cosSim).toBeCloseTo(-1, 6);
    expect(d1.l2Dist).toBeCloseTo(Math.SQRT2, 6);
    // 100 · exp(-0.01 · √2) · |-1|^10
    expect(d1.ecs).toBeCloseTo(100 * Math.exp(-0.01 * Math.SQRT2), 3);
    expect(s.layers[1].cosSim).toBeCloseTo(-1, 6);
  });
});

describe("helpers and output", () => {
  it("splitTensorName as process_tensor_name", () => {
    expect(splitTensorName("blk.12.ffn_down_exps.weight")).toEqual({ layer: "12", tensor: "ffn_down_exps" });
    expect(splitTensorName("output.weight")).toEqual({ layer: "-", tensor: "output" });
    expect(splitTensorName("odd")).toEqual({ layer: "-", tensor: "odd" });
  });

  it("columnAverages zero-fills matrices without tokens", () => {
    expect([...columnAverages({ values: Float32Array.from([1, 1, 9, 9, 4, 0]), counts: [1, 0, 2] })!]).toEqual([1, 1, 0, 0, 2, 0]);
  });

  it("table, JSON and SVG carry the numbers", async () => {
    const s = imatrixStatistics(await rawOf(writeGgufImatrix([...DENSE, MOE], meta)));
    const table = statsTable(s, "t.imatrix");
    expect(table).toMatch(/Computing tensor statistics for t\.imatrix \(3 tensors\)/);
    expect(table).toMatch(/\s0\tattn_q\s+\t\s+5\.0000\t\s+0\.5000\t\s+2\.0000\t\s+1\.2500\t\s+0\.6455\t100\.00%\t\s+4\t\s+92\.32%/);
    expect(table).toMatch(/Computing layer statistics \(2 layers\)/);
    const json = JSON.parse(JSON.stringify(statsJson(s, "t.imatrix")));
    expect(json.mode).toBe("E[x^2]");
    expect(json.layers[1].sum).toBe(14);
    const svg = statsSvg(s, "t");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toMatch(/ffn_up_exps/);
    expect((svg.match(/<polyline/g) ?? []).length).toBeGreaterThanOrEqual(3);
  });
});

describe("gguf-quantize stats", () => {
  it("prints the tables, lists the model's weights without an entry, writes an HTML chart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gq-stats-"));
    try {
      const spec = { nLayer: 3, nEmbd: 64, nFf: 128, nVocab: 64, seed: 4 };
      await writeModel(join(dir, "m.gguf"), spec);
      await writeImatrix(join(dir, "i.gguf"), generateModel(spec), "gguf", { activations: true });
      let out = "", err = "";
      const code = await runCli(["stats", "--imatrix", join(dir, "i.gguf"), join(dir, "m.gguf"), "--chart", join(dir, "c.html")],
        { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
      expect(err).toMatch(/wrote the chart/);
      expect(code).toBe(0);
      expect(out).toMatch(/Computing tensor statistics for .*i\.gguf \(21 tensors\)/);
      expect(out).toMatch(/L₂ Dist/); // the file has Σx
      expect(out).toMatch(/Computing layer statistics \(3 layers\)/);
      expect(out).toMatch(/no imatrix entry for token_embd\.weight/);
      const html = readFileSync(join(dir, "c.html"), "utf8");
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toMatch(/<svg /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("needs --imatrix", async () => {
    let err = "";
    const code = await runCli(["stats"], { stdout: () => {}, stderr: (s) => { err += s; } });
    expect(code).not.toBe(0);
    expect(err).toMatch(/--imatrix/);
  });
});
