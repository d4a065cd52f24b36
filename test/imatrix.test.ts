import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { QuantizeError } from "../src/errors.js";
import {
  loadImatrix, filterImatrix, imatrixKvs, writeGgufImatrix, writeLegacyImatrix, lround, type Imatrix, type ImatrixStat,
} from "../src/imatrix.js";
import { readGgufHeader } from "../src/gguf/read.js";
import { ggufBytes } from "../src/gguf/write.js";
import { ValueType, VALUE_TYPE_NAMES, kv, encodeString, decodeString } from "../src/gguf/values.js";
import { T } from "../src/types.js";
import { memorySource, concat, le } from "./support/bytes.js";
import { generateModel, generateImatrix, type ModelSpec } from "./support/generate.js";

const DIR = "test/fixtures/imatrix/";
const fixture = (name: string) => new Uint8Array(readFileSync(DIR + name));
const load = (b: Uint8Array, name = "calib.imatrix", requireMetadata?: boolean) => loadImatrix(memorySource(b, name), { requireMetadata });
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const f = Math.fround;

async function rejects(b: Uint8Array, pattern?: RegExp, name = "im.dat"): Promise<string> {
  let err: unknown;
  try { await load(b, name); } catch (e) { err = e; }
  expect(err, "should have been rejected").toBeInstanceOf(QuantizeError);
  const q = err as QuantizeError;
  expect(q.code).toBe("BAD_IMATRIX");
  expect(q.message.startsWith(`${name}: `)).toBe(true);
  expect(q.message).not.toMatch(/[\n\r]/);
  if (pattern) expect(q.message).toMatch(pattern);
  return q.message;
}

/** The same text imdump.cpp prints for llama.cpp's loader. */
function dump(m: Imatrix): string[] {
  const out = [`legacy ${+m.isLegacy} meta ${+m.hasMetadata} chunk_count ${m.chunkCount} chunk_size ${m.chunkSize}`];
  for (const d of m.datasets) { const b = encodeString(d); out.push(`dataset ${b.length} ${hex(b)}`); }
  for (const [name, v] of m.entries) {
    const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
    out.push(`entry ${hex(encodeString(name))} ${v.length}${[...bits].map((x) => " " + x.toString(16).padStart(8, "0")).join("")}`);
  }
  return out;
}

describe("loadImatrix equals llama.cpp's loader (c-dumps.json, made with imdump.cpp)", () => {
  const { dumps } = JSON.parse(readFileSync(DIR + "c-dumps.json", "utf8")) as { dumps: Record<string, string[]> };
  it("covers generated, edge and malformed files", () => {
    expect(Object.keys(dumps).length).toBeGreaterThanOrEqual(20);
    expect(Object.values(dumps).filter((d) => d[0] === "FAIL").length).toBeGreaterThanOrEqual(5);
  });
  for (const [name, expected] of Object.entries(dumps)) {
    it(name, async () => {
      const bytes = fixture(name);
      if (expected[0] === "FAIL") {
        await rejects(bytes, undefined, name);
      } else {
        expect(dump(await load(bytes, name, false))).toEqual(expected);
      }
    });
  }
});

describe("values, computed in float32 as C does", () => {
  it("GGUF: in_sum2 / count per matrix, 1.0 for a zero count, lround on counts", async () => {
    const sums = Float32Array.of(2, 4, 6, 8, 1, 1, 1, 1, 3, 3, 3, 3, 1, 2, 5, 7);
    const bytes = ggufBytes(
      [kv.str("general.type", "imatrix"), kv.arr("imatrix.datasets", ValueType.STRING, ["d"]), kv.u32("imatrix.chunk_count", 2), kv.u32("imatrix.chunk_size", 8)],
      [
        { name: "w.in_sum2", ne: [4, 4], type: T.F32, data: new Uint8Array(sums.buffer) },
        { name: "w.counts", ne: [1, 4], type: T.F32, data: new Uint8Array(Float32Array.of(2, 0, 3, 2.5).buffer) },
      ],
    );
    const m = await load(bytes);
    expect(m.isLegacy).toBe(false);
    expect(m.hasMetadata).toBe(true);
    expect([...m.entries.get("w")!]).toEqual([1, 2, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, f(1 / 3), f(2 / 3), f(5 / 3), f(7 / 3)]);
    expect(m).toMatchObject({ datasets: ["d"], chunkCount: 2, chunkSize: 8 });
  });

  it("legacy: sums / ncall when ncall > 0, else the sums as they are", async () => {
    const e = (name: string, ncall: number, vals: number[]) =>
      concat(le.i32(name.length), new TextEncoder().encode(name), le.i32(ncall), le.i32(vals.length), new Uint8Array(Float32Array.from(vals).buffer));
    const bytes = concat(le.i32(3), e("a", 4, [4, 8, 1]), e("b", 0, [5, 6]), e("c", 3, [1, 2]), le.i32(12), le.i32(4), new TextEncoder().encode("wiki"));
    const m = await load(bytes);
    expect(m.isLegacy).toBe(true);
    expect([...m.entries.get("a")!]).toEqual([1, 2, 0.25]);
    expect([...m.entries.get("b")!]).toEqual([5, 6]);
    expect([...m.entries.get("c")!]).toEqual([f(1 / 3), f(2 / 3)]);
    expect(m).toMatchObject({ datasets: ["wiki"], chunkCount: 12, chunkSize: 0, hasMetadata: false });
  });

  it("lround is C's: half away from zero, LONG_MIN for NaN, inf and out of range", () => {
    expect([0.5, 1.5, 2.5, -0.5, -2.5, 1.4999999].map(lround)).toEqual([1, 2, 3, -1, -3, 1]);
    expect(lround(NaN)).toBe(-(2 ** 63));
    expect(lround(Infinity)).toBe(-(2 ** 63));
    expect(lround(1e20)).toBe(-(2 ** 63));
  });

  it("both formats of one collection give the same values (up to the legacy format's extra rounding)", async () => {
    const m = generateModel({ arch: "llama", nExpert: 4, nFf: 64, nEmbd: 64, nHead: 2, nLayer: 1, nVocab: 32 });
    const im = generateImatrix(m, { zeroExperts: 1, chunkSize: 100, chunks: 7 });
    const g = await load(writeGgufImatrix(im.stats, im.meta));
    const d = await load(writeLegacyImatrix(im.stats, im.meta));
    expect([...g.entries.keys()]).toEqual([...d.entries.keys()]);
    let zeros = 0;
    for (const [name, v] of g.entries) {
      const w = d.entries.get(name)!;
      expect(w.length).toBe(v.length);
      for (let i = 0; i < v.length; i++) {
        expect(Math.abs(w[i] - v[i])).toBeLessThanOrEqual(Math.abs(v[i]) * 1e-6);
        if (v[i] === 1 && w[i] === 1) zeros++;
      }
    }
    expect(zeros).toBeGreaterThanOrEqual(64); // the expert without tokens is all 1.0 in both
    const stat = im.stats.find((s) => s.name === "blk.0.ffn_up_exps.weight")!;
    const c0 = stat.counts[0];
    if (c0 > 0) expect(g.entries.get(stat.name)![0]).toBe(f(stat.values[0] / c0));
  });

  it("entries are ordered by name bytewise, as std::map", async () => {
    const stats: ImatrixStat[] = ["b", "a", "é", "Z", "blk.10.x", "blk.2.x"].map((name) => ({ name, values: Float32Array.of(1), counts: [1] }));
    const m = await load(writeLegacyImatrix(stats, { datasets: [], chunkCount: 1, chunkSize: 1 }));
    expect([...m.entries.keys()]).toEqual(["Z", "a", "b", "blk.10.x", "blk.2.x", "é"]);
  });
});

describe("hostile and malformed imatrix files", () => {
  const tiny = fixture("tiny.imatrix.dat");
  const tinyG = fixture("tiny.imatrix.gguf");

  it("legacy: truncation anywhere in the entries is refused; the trailer is optional", async () => {
    const m = await load(tiny);
    const entriesEnd = tiny.length - 8 - encodeString(m.datasets[0]).length;
    for (let n = 0; n < entriesEnd; n++) await rejects(tiny.subarray(0, n));
    for (let n = entriesEnd; n <= tiny.length; n++) {
      const t = await load(tiny.subarray(0, n));
      expect(t.entries).toEqual(m.entries);
    }
  });

  it("GGUF: truncation anywhere is refused (llama.cpp reads the padded data section)", async () => {
    const step = Math.max(1, Math.floor(tinyG.length / 300));
    for (let n = 0; n < tinyG.length; n += step) await rejects(tinyG.subarray(0, n), undefined, "im.gguf");
    await rejects(tinyG.subarray(0, tinyG.length - 1), /truncated/, "im.gguf");
  });

  it("huge counts and lengths are refused before allocating", async () => {
    await rejects(concat(le.i32(0x7fffffff), le.i32(1)), /claims 2147483647 entries/);
    await rejects(concat(le.i32(1), le.i32(0x7ffffff0), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), /name length 2147483632 is invalid/);
    await rejects(concat(le.i32(1), le.i32(-5), new Uint8Array(16)), /name length -5/);
    await rejects(concat(le.i32(1), le.i32(1), [0x61], le.i32(1), le.i32(0x40000000), new Uint8Array(8)), /1073741824 values need/);
    await rejects(concat(le.i32(1), le.i32(1), [0x61], le.i32(1), le.i32(-3), new Uint8Array(8)), /has -3 values/);
  });

  it("GGUF imatrix without its metadata is refused unless asked otherwise", async () => {
    const b = fixture("edge-no-meta.gguf");
    await rejects(b, /missing imatrix metadata \(imatrix.chunk_count\)/, "x.gguf");
    expect((await load(b, "x.gguf", false)).hasMetadata).toBe(false);
  });

  it("a GGUF imatrix with bad header errors as BAD_IMATRIX, not BAD_FILE", async () => {
    const b = tinyG.slice();
    new DataView(b.buffer).setUint32(4, 1, true);
    await rejects(b, /version 1/, "x.gguf");
  });
});

describe("filterImatrix (--include-weights / --exclude-weights)", () => {
  const m: Imatrix = {
    fileName: "x", datasets: [], chunkCount: 0, chunkSize: 0, isLegacy: true, hasMetadata: false,
    entries: new Map(["blk.0.attn_q.weight", "blk.0.ffn_up.weight", "blk.1.attn_q.weight", "output.weight"].map((n) => [n, Float32Array.of(1)])),
  };
  it("include keeps entries containing any of the strings", () => {
    expect([...filterImatrix(m, { include: ["attn_q", "output"] }).entries.keys()]).toEqual(["blk.0.attn_q.weight", "blk.1.attn_q.weight", "output.weight"]);
    expect([...filterImatrix(m, { include: ["blk.0.", "attn"] }).entries.keys()]).toEqual(["blk.0.attn_q.weight", "blk.0.ffn_up.weight", "blk.1.attn_q.weight"]);
  });
  it("exclude drops entries containing any of the strings", () => {
    expect([...filterImatrix(m, { exclude: ["blk.0", "output"] }).entries.keys()]).toEqual(["blk.1.attn_q.weight"]);
    expect(filterImatrix(m, {}).entries.size).toBe(4);
    expect(m.entries.size).toBe(4);
  });
  it("include and exclude together are a usage error", () => {
    try { filterImatrix(m, { include: ["a"], exclude: ["b"] }); expect.unreachable(); } catch (e) {
      expect((e as QuantizeError).code).toBe("USAGE");
    }
  });
});

describe("quantize.imatrix.* KVs", () => {
  const ref = JSON.parse(readFileSync(DIR + "refquant-kvs.json", "utf8")) as {
    longPath: string; cases: { imatrix: string; kvs: { key: string; type: string; value: string | number }[] }[];
  };
  for (const c of ref.cases) {
    it(`as refquant wrote them for ${c.imatrix}`, async () => {
      const path = c.imatrix === "<longPath>" ? decodeString(Buffer.from(ref.longPath, "hex")) : c.imatrix;
      const file = c.imatrix === "<longPath>" ? DIR + "tiny.imatrix.dat" : c.imatrix; // the long path held a copy of it
      const m = await load(new Uint8Array(readFileSync(file)), path, false);
      const got = imatrixKvs(m, path, m.entries.size).map((k) => ({
        key: k.key, type: VALUE_TYPE_NAMES[k.type], value: k.type === ValueType.STRING ? hex(encodeString(k.value)) : k.value,
      }));
      expect(got).toEqual(c.kvs);
    });
  }

  it("cuts path and dataset to 127 bytes (even inside a character), dataset also at NUL", () => {
    const kvs = imatrixKvs({ datasets: ["ds\0rest", "other"], chunkCount: 0 }, "/p" + "é".repeat(70), 3);
    expect(kvs.map((k) => k.key)).toEqual(["quantize.imatrix.file", "quantize.imatrix.dataset", "quantize.imatrix.entries_count"]);
    const file = encodeString(kvs[0].value as string);
    expect(file.length).toBe(127);
    expect(file[126]).toBe(0xc3);
    expect(kvs[1].value).toBe("ds");
    expect(kvs[2]).toEqual(kv.u32("quantize.imatrix.entries_count", 3));
  });

  it("nothing for an empty (filtered) imatrix; no dataset key without datasets; chunks only when > 0", () => {
    expect(imatrixKvs({ datasets: ["d"], chunkCount: 5 }, "f", 0)).toEqual([]);
    expect(imatrixKvs({ datasets: [], chunkCount: -3 }, "f", 2).map((k) => k.key)).toEqual(["quantize.imatrix.file", "quantize.imatrix.entries_count"]);
    expect(imatrixKvs({ datasets: [], chunkCount: 9 }, "f", 2).at(-1)).toEqual(kv.u32("quantize.imatrix.chunks_count", 9));
  });
});

describe("writers", () => {
  const stats: ImatrixStat[] = [
    { name: "blk.0.ffn_up_exps.weight", values: Float32Array.of(1, 2, 3, 4, 5, 6), counts: [4, 0, 2], activations: Float32Array.of(0, 0, 0, 0, 0, 0) },
    { name: "blk.0.attn_q.weight", values: Float32Array.of(8, 16), counts: [8] },
    { name: "blk.0.unused.weight", values: Float32Array.of(1), counts: [0] },
  ];
  const meta = { datasets: ["first.txt", "last.txt"], chunkCount: 3, chunkSize: 4 };

  it("GGUF: llama-imatrix's KVs and tensors, sorted by name", async () => {
    const b = writeGgufImatrix(stats, meta);
    const h = await readGgufHeader(memorySource(b));
    expect(h.kvs).toEqual([
      kv.str("general.type", "imatrix"), kv.arr("imatrix.datasets", ValueType.STRING, ["first.txt", "last.txt"]),
      kv.u32("imatrix.chunk_count", 3), kv.u32("imatrix.chunk_size", 4),
    ]);
    expect(h.tensors.map((t) => [t.name, t.ne])).toEqual([
      ["blk.0.attn_q.weight.in_sum2", [2]], ["blk.0.attn_q.weight.counts", [1]],
      ["blk.0.ffn_up_exps.weight.in_sum2", [2, 3]], ["blk.0.ffn_up_exps.weight.counts", [1, 3]], ["blk.0.ffn_up_exps.weight.in_sum", [2, 3]],
      ["blk.0.unused.weight.in_sum2", [1]], ["blk.0.unused.weight.counts", [1]],
    ]);
    const m = await load(b);
    expect([...m.entries.get("blk.0.ffn_up_exps.weight")!]).toEqual([0.25, 0.5, 1, 1, 2.5, 3]);
  });

  it("legacy: entries without data skipped, ncall = ceil(max count / chunk size), values scaled by ncall", async () => {
    const b = writeLegacyImatrix(stats, meta);
    const v = new DataView(b.buffer);
    expect(v.getInt32(0, true)).toBe(2);
    const m = await load(b);
    expect([...m.entries.keys()]).toEqual(["blk.0.attn_q.weight", "blk.0.ffn_up_exps.weight"]);
    expect([...m.entries.get("blk.0.attn_q.weight")!]).toEqual([1, 2]);
    expect([...m.entries.get("blk.0.ffn_up_exps.weight")!]).toEqual([0.25, 0.5, 1, 1, 2.5, 3]);
    expect(m.datasets).toEqual(["last.txt"]);
    expect(m.chunkCount).toBe(3);
    // ncall for ffn_up_exps: ceil(4 / 4) = 1; for attn_q: ceil(8 / 4) = 2
    const qOffset = 4 + 4 + "blk.0.attn_q.weight".length;
    expect(v.getInt32(qOffset, true)).toBe(2);
  });

  it("the committed fixtures are what the generator and writers make today", () => {
    const tiny = JSON.parse(readFileSync("test/fixtures/gguf/tiny.json", "utf8")) as { spec: ModelSpec };
    const im = generateImatrix(generateModel(tiny.spec), { chunkSize: 64, chunks: 3, datasets: ["calib/wiki.train.raw", "second.txt"] });
    expect(writeGgufImatrix(im.stats, im.meta)).toEqual(fixture("tiny.imatrix.gguf"));
    expect(writeLegacyImatrix(im.stats, im.meta)).toEqual(fixture("tiny.imatrix.dat"));
  });
});
