import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { readGgufHeader, pad } from "../src/gguf/read.js";
import { serializeGguf, ggufBytes, writeGgufFile, setKv, removeKvs, copyKvs, tensorNbytes } from "../src/gguf/write.js";
import { ValueType, kv, encodeString, decodeString, truncateBytes, type GgufKv } from "../src/gguf/values.js";
import { T } from "../src/types.js";
import type { ByteSink } from "../src/io/types.js";
import { memorySource } from "./support/bytes.js";
import { generateModel, modelBytes, type ModelSpec } from "./support/generate.js";

const read = (b: Uint8Array) => readGgufHeader(memorySource(b, "x.gguf"));
const tiny = JSON.parse(readFileSync("test/fixtures/gguf/tiny.json", "utf8")) as { spec: ModelSpec; input_sha256: string };
const tinyQ8 = new Uint8Array(readFileSync("test/fixtures/gguf/tiny.q8_0.gguf"));

describe("serializeGguf layout", () => {
  it("writes the llama.cpp layout: header padded, offsets = sum of padded sizes, last tensor padded", () => {
    const tensors = [
      { name: "a", ne: [3], type: T.F32 },              // 12 bytes -> 32
      { name: "b", ne: [32, 2], type: T.Q8_0 },         // 68 -> 96
      { name: "c", ne: [64, 1, 1], type: T.F16 },       // 128, n_dims 1
      { name: "d", ne: [256, 1, 2], type: T.Q4_K },     // 288 -> 288, n_dims 3
    ];
    const s = serializeGguf([kv.u32("k", 1)], tensors);
    expect(s.nbytes).toEqual([12, 68, 128, 288]);
    expect(s.offsets).toEqual([0, 32, 128, 256]);
    expect(s.dataOffset % 32).toBe(0);
    expect(s.header.length).toBe(s.dataOffset);
    expect(s.fileSize).toBe(s.dataOffset + 32 + 96 + 128 + 288);
    const v = new DataView(s.header.buffer);
    expect(new TextDecoder().decode(s.header.subarray(0, 4))).toBe("GGUF");
    expect(v.getUint32(4, true)).toBe(3);
    expect(v.getBigInt64(8, true)).toBe(4n);
    expect(v.getBigInt64(16, true)).toBe(1n);
  });

  it("pads with zeros: after the infos and after every tensor, the last one included", async () => {
    const tensors = [{ name: "a", ne: [3], type: T.F32, data: new Uint8Array(12).fill(0xaa) }, { name: "b", ne: [5], type: T.F32, data: new Uint8Array(20).fill(0xbb) }];
    const bytes = ggufBytes([kv.str("k", "abc")], tensors);
    const h = await read(bytes);
    expect(h.dataOffset).toBeGreaterThan(h.headerBytes);
    expect([...bytes.subarray(h.headerBytes, h.dataOffset)].every((x) => x === 0)).toBe(true);
    expect(bytes.length).toBe(h.dataOffset + 32 + 32);
    expect([...bytes.subarray(h.dataOffset + 12, h.dataOffset + 32)].every((x) => x === 0)).toBe(true);
    expect([...bytes.subarray(h.dataOffset + 52)].every((x) => x === 0)).toBe(true);
    expect(bytes[h.dataOffset + 51]).toBe(0xbb);
  });

  it("writes n_dims = ggml_n_dims (trailing 1s dropped)", async () => {
    const tensors = [
      { name: "a", ne: [8, 1, 1, 1], type: T.F32, data: new Uint8Array(32) },
      { name: "b", ne: [8, 1, 2], type: T.F32, data: new Uint8Array(64) },
      { name: "c", ne: [1, 1], type: T.F32, data: new Uint8Array(4) },
    ];
    const h = await read(ggufBytes([], tensors));
    expect(h.tensors.map((t) => t.ne)).toEqual([[8], [8, 1, 2], [1]]);
  });

  it("honours another alignment for the layout", async () => {
    const t = [{ name: "a", ne: [3], type: T.F32, data: new Uint8Array(12) }, { name: "b", ne: [3], type: T.F32, data: new Uint8Array(12) }];
    const kvs = [kv.u32("general.alignment", 64)];
    const s = serializeGguf(kvs, t, 64);
    expect(s.offsets).toEqual([0, 64]);
    expect(s.dataOffset % 64).toBe(0);
    const h = await read(ggufBytes(kvs, t, 64));
    expect(h.alignment).toBe(64);
  });

  it("copying general.alignment = 64 while laying out with 32, as llama-quantize does, gives a file nobody reads back", async () => {
    // REFERENCE §6, and checked with refquant on a generated model with alignment 64
    const t = [{ name: "a", ne: [3], type: T.F32, data: new Uint8Array(12) }, { name: "b", ne: [3], type: T.F32, data: new Uint8Array(12) }];
    await expect(read(ggufBytes([kv.u32("general.alignment", 64)], t, 32))).rejects.toThrow(/"b" has data offset 32, expected 64/);
  });

  it("writes a file through a ByteSink exactly as ggufBytes lays it out", async () => {
    const m = generateModel({ nLayer: 1, nEmbd: 32, nHead: 2, nFf: 64, nVocab: 32 });
    const out = new Uint8Array(serializeGguf(m.kvs, m.tensors).fileSize);
    const sink: ByteSink = { name: "s", write: async (d, p) => { out.set(d, p); }, commit: async () => {}, abort: async () => {} };
    await writeGgufFile(sink, m.kvs, m.tensors);
    expect(out).toEqual(modelBytes(m));
  });

  it("refuses what llama.cpp would refuse or abort on", () => {
    const ok = { name: "a", ne: [32], type: T.F32 };
    expect(() => serializeGguf([kv.u32("k", 1), kv.u32("k", 2)], [])).toThrow(/duplicate metadata key "k"/);
    expect(() => serializeGguf([], [ok, ok])).toThrow(/duplicate tensor name "a"/);
    expect(() => serializeGguf([], [{ ...ok, name: "n".repeat(64) }])).toThrow(/64 bytes, the limit is 63/);
    expect(() => serializeGguf([], [{ ...ok, name: "a\0b" }])).toThrow(/NUL/);
    expect(() => serializeGguf([], [{ name: "q", ne: [48], type: T.Q4_0 }])).toThrow(/not a multiple of q4_0's block size 32/);
    expect(() => serializeGguf([], [{ name: "q", ne: [32], type: 4 }])).toThrow(/invalid ggml type 4/);
    expect(() => serializeGguf([], [{ name: "q", ne: [1, 1, 1, 1, 1], type: T.F32 }])).toThrow(/5 dimensions/);
    expect(() => serializeGguf([kv.u64("general.alignment", 32n)], [])).toThrow(/must be of type u32/);
    expect(() => serializeGguf([kv.u32("general.alignment", 48)], [])).toThrow(/power of 2/);
    expect(() => serializeGguf([], [], 48)).toThrow(/power of 2/);
    expect(() => serializeGguf([{ key: "x", type: ValueType.UINT8, value: 256 }], [])).toThrow(/not a valid value/);
    expect(() => serializeGguf([{ key: "", type: ValueType.UINT8, value: 1 }], [])).toThrow(/empty/);
    expect(() => kv.u32("x", -1)).toThrow(RangeError);
    expect(() => kv.i64("x", 1n << 63n)).toThrow(RangeError);
  });
});

describe("round trip", () => {
  const kvs: GgufKv[] = [
    kv.str("general.architecture", "llama"), kv.u8("u8", 1), kv.i8("i8", -1), kv.u16("u16", 2), kv.i16("i16", -2),
    kv.u32("u32", 3), kv.i32("i32", -3), kv.f32("f32", 0.1), kv.bool("bool", true), kv.str("str", "\udcff\0é"),
    kv.u64("u64", 1n << 62n), kv.i64("i64", -(1n << 62n)), kv.f64("f64", 0.1),
    kv.arr("strs", ValueType.STRING, ["a", "", "\udc80"]), kv.arr("f32s", ValueType.FLOAT32, Float32Array.of(1, NaN, -0)),
    kv.arr("bools", ValueType.BOOL, [false, true]), kv.arr("u64s", ValueType.UINT64, BigUint64Array.of(0n, 1n)),
  ];
  const tensors = [
    { name: "token_embd.weight", ne: [64, 4], type: T.F16, data: new Uint8Array(512).map((_, i) => i) },
    { name: "blk.0.ffn_down_exps.weight", ne: [256, 2, 3], type: T.Q4_K, data: new Uint8Array(144 * 6).fill(7) },
    { name: "blk.0.attn_norm.weight", ne: [64], type: T.F32, data: new Uint8Array(256).fill(1) },
  ];

  it("read(write(x)) == x, and writing again gives the same bytes", async () => {
    const bytes = ggufBytes(kvs, tensors);
    const h = await read(bytes);
    expect(h.kvs).toEqual(kvs);
    expect(h.tensors.map((t) => ({ name: t.name, ne: t.ne, type: t.type }))).toEqual(tensors.map(({ name, ne, type }) => ({ name, ne, type })));
    const again = serializeGguf(h.kvs, h.tensors);
    expect(again.header).toEqual(bytes.subarray(0, h.dataOffset));
    expect(again.fileSize).toBe(bytes.length);
    h.tensors.forEach((t, i) => expect(bytes.subarray(h.dataOffset + t.offset, h.dataOffset + t.offset + t.nbytes)).toEqual(tensors[i].data));
  });

  it("strings with invalid UTF-8 keep their bytes (surrogateescape)", () => {
    const raw = [Uint8Array.of(0xff, 0x41), Uint8Array.of(0xc3), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xf0, 0x9f, 0x99), Uint8Array.of(0xef, 0xbb, 0xbf, 0x41),
      Uint8Array.of(0xc0, 0xaf), Uint8Array.of(0xf4, 0x90, 0x80, 0x80), Uint8Array.of(0xe2, 0x82, 0x41), new TextEncoder().encode("ok ✓ 🙂")];
    for (const b of raw) expect(encodeString(decodeString(b))).toEqual(b);
    expect(decodeString(Uint8Array.of(0xef, 0xbb, 0xbf))).toBe("\ufeff"); // a BOM is kept, not eaten
    expect(decodeString(Uint8Array.of(0xff))).toBe("\udcff");
    expect(truncateBytes("aé", 2)).toBe("a\udcc3");
  });

  it("reproduces byte for byte the header llama.cpp wrote (tiny model quantized to Q8_0 by refquant)", async () => {
    const h = await read(tinyQ8);
    const s = serializeGguf(h.kvs, h.tensors);
    expect(s.header).toEqual(tinyQ8.subarray(0, h.dataOffset));
    expect(s.fileSize).toBe(tinyQ8.length);
    expect(s.offsets).toEqual(h.tensors.map((t) => t.offset));
  });

  it("reproduces llama.cpp's output header from the input's KVs: copyKvs, then the two gguf_set_val_u32", async () => {
    const m = generateModel(tiny.spec);
    expect(createHash("sha256").update(modelBytes(m)).digest("hex")).toBe(tiny.input_sha256); // the generator still makes the fixture's input
    const out = await read(tinyQ8);
    let kvs = copyKvs(m.kvs);
    kvs = setKv(kvs, kv.u32("general.quantization_version", 2));
    kvs = setKv(kvs, kv.u32("general.file_type", 7));
    kvs = removeKvs(kvs, "split.no", "split.count", "split.tensors.count");
    expect(serializeGguf(kvs, out.tensors).header).toEqual(tinyQ8.subarray(0, out.dataOffset));
    // the hostile vocabulary really exercised the NUL cut: without copyKvs the bytes differ
    const naive = setKv(setKv(m.kvs, kv.u32("general.quantization_version", 2)), kv.u32("general.file_type", 7));
    expect(serializeGguf(naive, out.tensors).header).not.toEqual(tinyQ8.subarray(0, out.dataOffset));
    const tokens = out.kvs.find((k) => k.key === "tokenizer.ggml.tokens")!.value as { items: string[] };
    expect(tokens.items).toContain("a");          // was "a\0b"
    expect(tokens.items).toContain("bad\udcff\udcfeutf8"); // invalid UTF-8 kept as is
  });
});

describe("KV edits", () => {
  const base = [kv.u32("a", 1), kv.str("b", "x"), kv.u32("c", 3)];

  it("setKv replaces by removing and appending (gguf_set_*)", () => {
    expect(setKv(base, kv.u32("a", 9)).map((k) => [k.key, k.value])).toEqual([["b", "x"], ["c", 3], ["a", 9]]);
    expect(setKv(base, kv.u32("d", 4)).map((k) => k.key)).toEqual(["a", "b", "c", "d"]);
    expect(base.map((k) => k.key)).toEqual(["a", "b", "c"]); // input untouched
    expect(() => setKv(base, kv.str("general.alignment", "32"))).toThrow(/u32/);
  });

  it("removeKvs drops keys, ignoring absent ones", () => {
    expect(removeKvs(base, "b", "zz").map((k) => k.key)).toEqual(["a", "c"]);
  });

  it("copyKvs cuts keys, strings and string elements at NUL, and a cut key replaces an earlier one", () => {
    const out = copyKvs([kv.str("s", "a\0b"), kv.u32("k", 1), kv.arr("t", ValueType.STRING, ["x\0y", "z"]), kv.u32("k\0tail", 2), kv.f32("f", 1)]);
    expect(out).toEqual([kv.str("s", "a"), kv.arr("t", ValueType.STRING, ["x", "z"]), kv.u32("k", 2), kv.f32("f", 1)]);
    expect(() => copyKvs([kv.u32("\0x", 1)])).toThrow(/empty as a C string/);
  });
});

describe("sizes", () => {
  it("tensorNbytes follows the type table", () => {
    expect(tensorNbytes(T.Q4_K, [512, 3])).toBe(2 * 144 * 3);
    expect(tensorNbytes(T.BF16, [7, 5, 2])).toBe(7 * 5 * 2 * 2);
    expect(pad(33, 32)).toBe(64);
  });
});
