import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { QuantizeError } from "../src/errors.js";
import {
  readGgufHeader, getKv, getU32, getString, getArray, getF32, getBool, getU64, getArchitecture, nDims, pad,
  type GgufHeader,
} from "../src/gguf/read.js";
import { serializeGguf, ggufBytes } from "../src/gguf/write.js";
import { ValueType, kv, type GgufKv } from "../src/gguf/values.js";
import { T, TYPES } from "../src/types.js";
import { memorySource, le, concat } from "./support/bytes.js";
import { generateModel, modelBytes } from "./support/generate.js";

const NAME = "models/in.gguf";
const read = (b: Uint8Array, chunkSize?: number) => readGgufHeader(memorySource(b, NAME), { chunkSize });

/** Expects BAD_FILE with a one-line message naming the file; returns the message. */
async function rejects(b: Uint8Array, pattern?: RegExp): Promise<string> {
  let err: unknown;
  try { await read(b); } catch (e) { err = e; }
  expect(err, "should have been rejected").toBeInstanceOf(QuantizeError);
  const q = err as QuantizeError;
  expect(q.code).toBe("BAD_FILE");
  expect(q.message.startsWith(`${NAME}: `)).toBe(true);
  expect(q.message).not.toMatch(/[\n\r]/);
  if (pattern) expect(q.message).toMatch(pattern);
  return q.message;
}

/** A file with one small f32 tensor, built by hand: [magic, version, n_tensors, n_kv, ...kvs, ...infos] + data. */
function handmade(opts: { version?: number; nTensors?: bigint | number; nKv?: bigint | number; kvs?: number[][]; infos?: number[][]; data?: number; align?: number } = {}): Uint8Array {
  const infos = opts.infos ?? [[...le.str("w"), ...le.u32(1), ...le.i64(8), ...le.i32(T.F32), ...le.u64(0)]];
  const kvs = opts.kvs ?? [];
  const head = concat(
    [0x47, 0x47, 0x55, 0x46], le.u32(opts.version ?? 3), le.i64(opts.nTensors ?? infos.length), le.i64(opts.nKv ?? kvs.length),
    ...kvs, ...infos,
  );
  const dataOffset = infos.length > 0 ? pad(head.length, opts.align ?? 32) : head.length;
  return concat(head, new Uint8Array(dataOffset - head.length + (opts.data ?? 32)));
}

const kvU32 = (key: string, v: number) => [...le.str(key), ...le.i32(ValueType.UINT32), ...le.u32(v)];

describe("readGgufHeader on generated models", () => {
  const cases = {
    llama: { arch: "llama" as const, dtype: "f16" as const },
    gqaTied: { arch: "llama" as const, nHead: 8, nHeadKv: 2, tied: true, dtype: "bf16" as const },
    moe: { arch: "qwen3moe" as const, nExpert: 4, nFfExp: 128, nLayer: 1, nHead: 4, nHeadKv: 2, headDim: 64 },
    qwen2moe: { arch: "qwen2moe" as const, nExpert: 4, nFfExp: 128, nFfShexp: 256, nLayer: 1, tokenizer: "hostile" as const },
  };
  for (const [label, spec] of Object.entries(cases)) {
    it(`${label}: metadata and tensor infos as written`, async () => {
      const m = generateModel(spec);
      const bytes = modelBytes(m);
      const h = await read(bytes);
      expect(h.version).toBe(3);
      expect(h.kvs).toEqual(m.kvs);
      expect(h.tensors.map((t) => [t.name, t.ne, t.type])).toEqual(m.tensors.map((t) => [t.name, t.ne, t.type]));
      expect(h.alignment).toBe(32);
      expect(h.dataOffset).toBe(pad(h.headerBytes, 32));
      expect(h.fileSize).toBe(bytes.length);
      let off = 0;
      for (const t of h.tensors) {
        expect(t.offset).toBe(off);
        expect(t.nbytes).toBe(m.tensors.find((g) => g.name === t.name)!.data.length);
        off += pad(t.nbytes, 32);
      }
      expect(h.dataOffset + off).toBe(bytes.length);
      expect(getArchitecture(h)).toBe(spec.arch);
    });
  }

  it("reads only the header, in bounded chunks", async () => {
    const bytes = modelBytes(generateModel({ nVocab: 4096, nEmbd: 64, nHead: 2, nFf: 128, nLayer: 1, dtype: "f16" }));
    const src = memorySource(bytes, NAME);
    const h = await readGgufHeader(src, { chunkSize: 4096 });
    expect(bytes.length).toBeGreaterThan(h.dataOffset + 100_000);
    // chunks of 4 KiB, except that one item (here the 16 KiB scores array) is fetched whole
    for (const [, len] of src.reads) expect(len).toBeLessThanOrEqual(4096 * 4);
    expect(src.reads.filter(([, len]) => len > 4096).length).toBeLessThanOrEqual(2);
    for (const [pos, len] of src.reads) expect(pos + len).toBeLessThanOrEqual(h.headerBytes + 4096);
    expect(src.bytesRead()).toBeLessThanOrEqual(h.headerBytes + 4096);
    expect(src.reads.length).toBeGreaterThan(5);
  });

  it("gives the same result for any chunk size", async () => {
    const bytes = modelBytes(generateModel({ nLayer: 1, nEmbd: 64, nHead: 2, nFf: 64, nVocab: 300, tokenizer: "hostile" }));
    const ref = await read(bytes);
    for (const chunk of [16, 17, 100, 1 << 20]) expect(await read(bytes, chunk)).toEqual(ref);
  });

  it("reads the tiny Q8_0 file llama.cpp wrote", async () => {
    const h = await read(new Uint8Array(readFileSync("test/fixtures/gguf/tiny.q8_0.gguf")));
    expect(getU32(h, "general.file_type")).toBe(7);
    expect(getU32(h, "general.quantization_version")).toBe(2);
    expect(h.tensors.filter((t) => t.type === T.Q8_0).length).toBe(9); // every 2-D weight, output and token_embd included
    // llama.cpp's output order: non-block tensors, then blk.0.* alphabetically
    expect(h.tensors.map((t) => t.name)).toEqual([
      "output.weight", "output_norm.weight", "token_embd.weight", "blk.0.attn_k.weight", "blk.0.attn_norm.weight",
      "blk.0.attn_output.weight", "blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.0.ffn_down.weight",
      "blk.0.ffn_gate.weight", "blk.0.ffn_norm.weight", "blk.0.ffn_up.weight",
    ]);
  });
});

describe("metadata values", () => {
  const all: GgufKv[] = [
    kv.u8("t.u8", 255), kv.i8("t.i8", -128), kv.u16("t.u16", 65535), kv.i16("t.i16", -32768),
    kv.u32("t.u32", 0xffffffff), kv.i32("t.i32", -0x80000000), kv.f32("t.f32", -0), kv.f32("t.f32sub", 1e-40),
    kv.f32("t.f32inf", -Infinity), kv.f32("t.f32nan", NaN), kv.bool("t.bool", true), kv.bool("t.false", false),
    kv.str("t.str", "héllo 中文 🙂\n\ttabs"), kv.str("t.empty", ""), kv.str("t.bad", "ab\udcff\udcc3"),
    kv.u64("t.u64", 0xffffffffffffffffn), kv.i64("t.i64", -0x8000000000000000n), kv.f64("t.f64", 5e-324),
    kv.arr("a.u8", ValueType.UINT8, Uint8Array.of(0, 255)), kv.arr("a.i8", ValueType.INT8, Int8Array.of(-1, 1)),
    kv.arr("a.u16", ValueType.UINT16, Uint16Array.of(1, 65535)), kv.arr("a.i16", ValueType.INT16, Int16Array.of(-2)),
    kv.arr("a.u32", ValueType.UINT32, Uint32Array.of(7)), kv.arr("a.i32", ValueType.INT32, Int32Array.of(-7, 0, 7)),
    kv.arr("a.f32", ValueType.FLOAT32, Float32Array.of(1.5, -0, NaN)), kv.arr("a.bool", ValueType.BOOL, [true, false, true]),
    kv.arr("a.str", ValueType.STRING, ["", "x", "\0", "\udcff"]), kv.arr("a.u64", ValueType.UINT64, BigUint64Array.of(1n << 63n)),
    kv.arr("a.i64", ValueType.INT64, BigInt64Array.of(-1n)), kv.arr("a.f64", ValueType.FLOAT64, Float64Array.of(Math.PI)),
    kv.arr("a.empty", ValueType.FLOAT32, new Float32Array(0)),
  ];

  it("reads every value type, scalars and arrays", async () => {
    const h = await read(ggufBytes(all, []));
    expect(h.kvs).toEqual(all);
    expect(h.tensors).toEqual([]);
    expect(Object.is((getKv(h, "t.f32")!.value as number), -0)).toBe(true);
    expect(getF32(h, "t.f32sub")).toBe(Math.fround(1e-40));
    expect(getU64(h, "t.u64")).toBe(0xffffffffffffffffn);
    expect(getString(h, "t.bad")).toBe("ab\udcff\udcc3");
    expect(getBool(h, "t.bool")).toBe(true);
    expect(getArray(h, "a.str", ValueType.STRING)!.items).toEqual(["", "x", "\0", "\udcff"]);
  });

  it("keeps f32 and f64 bits exactly", async () => {
    const bits = [0x00000001, 0x007fffff, 0x80000000, 0x7f7fffff, 0xff800000, 0x3f800001];
    const f = new Float32Array(new Uint32Array(bits).buffer);
    const kvs = [...f].map((x, i) => kv.f32(`f.${i}`, x));
    const h = await read(ggufBytes(kvs, []));
    const back = new Uint32Array(Float32Array.from(h.kvs.map((k) => k.value as number)).buffer);
    expect([...back]).toEqual(bits);
  });

  it("reads any non-zero bool byte as true", async () => {
    const b = handmade({ kvs: [[...le.str("b"), ...le.i32(ValueType.BOOL), 7], [...le.str("a"), ...le.i32(ValueType.ARRAY), ...le.i32(ValueType.BOOL), ...le.u64(3), 0, 2, 255]], infos: [] });
    const h = await read(b);
    expect(h.kvs[0].value).toBe(true);
    expect((h.kvs[1].value as { items: boolean[] }).items).toEqual([false, true, true]);
  });

  it("typed getters refuse a key of another type and give undefined when absent", async () => {
    const h = await read(ggufBytes([kv.u16("x", 3)], []));
    expect(getU32(h, "missing")).toBeUndefined();
    expect(() => getU32(h, "x")).toThrow(/"x" has type u16, expected u32/);
    expect(() => getArray(h, "x")).toThrow(QuantizeError);
  });

  it("accepts version 2 and places data at PAD(header) only when there are tensors", async () => {
    const v2 = await read(handmade({ version: 2 }));
    expect(v2.version).toBe(2);
    expect(v2.dataOffset).toBe(pad(v2.headerBytes, 32));
    const none = handmade({ infos: [], kvs: [kvU32("k", 1)], data: 0 });
    const h = await read(none);
    expect(h.dataOffset).toBe(h.headerBytes);
    expect(h.dataOffset).toBe(none.length);
  });

  it("honours general.alignment", async () => {
    const b = handmade({ kvs: [kvU32("general.alignment", 64)], align: 64, data: 64 });
    const h = await read(b);
    expect(h.alignment).toBe(64);
    expect(h.dataOffset % 64).toBe(0);
    expect(h.dataOffset).toBe(pad(h.headerBytes, 64));
  });

  it("cuts a tensor name at a NUL byte, as ggml_set_name(c_str) does", async () => {
    const infos = [[...le.str(Uint8Array.of(0x61, 0, 0x62)), ...le.u32(1), ...le.i64(8), ...le.i32(T.F32), ...le.u64(0)]];
    const h = await read(handmade({ infos }));
    expect(h.tensors[0].name).toBe("a");
  });

  it("reads a 0-dimensional tensor as [1]", async () => {
    const infos = [[...le.str("s"), ...le.u32(0), ...le.i32(T.F32), ...le.u64(0)]];
    const h = await read(handmade({ infos }));
    expect(h.tensors[0]).toEqual({ name: "s", ne: [1], type: T.F32, offset: 0, nbytes: 4 });
    expect(nDims([8, 1, 1])).toBe(1);
    expect(nDims([8, 1, 3])).toBe(3);
    expect(nDims([1, 1])).toBe(1);
  });
});

describe("hostile headers", () => {
  const small = ggufBytes(
    [kv.str("general.architecture", "llama"), kv.arr("a", ValueType.STRING, ["xy", "z"]), kv.arr("f", ValueType.FLOAT32, Float32Array.of(1, 2)), kv.u64("n", 5n)],
    [{ name: "a.weight", ne: [32, 2], type: T.Q8_0, data: new Uint8Array(68) }, { name: "b", ne: [3], type: T.F32, data: new Uint8Array(12) }],
  );

  it("a valid small file is accepted (the base of the mutations below)", async () => {
    const h = await read(small);
    expect(h.tensors.length).toBe(2);
  });

  it("truncation at every position of the header and data is refused", async () => {
    const h = await read(small);
    const cuts = new Set<number>();
    for (let n = 0; n < h.dataOffset; n++) cuts.add(n);
    for (const t of h.tensors) { cuts.add(h.dataOffset + t.offset + t.nbytes - 1); cuts.add(h.dataOffset + t.offset); }
    for (const n of cuts) {
      if (n >= h.dataOffset + h.tensors[1].offset + h.tensors[1].nbytes) continue;
      await rejects(small.subarray(0, n));
    }
    // the padding after the last tensor is not needed (llama.cpp only checks ggml_nbytes)
    const last = h.tensors[1];
    await expect(read(small.subarray(0, h.dataOffset + last.offset + last.nbytes))).resolves.toBeDefined();
  });

  it("bad magic and versions", async () => {
    await rejects(Uint8Array.from([0x47, 0x47, 0x4d, 0x4c, 3, 0, 0, 0]), /not a GGUF file: magic is "GGML"/);
    await rejects(Uint8Array.from([1, 2]), /only 2 bytes/);
    const withVersion = (v: number) => { const b = small.slice(); new DataView(b.buffer).setUint32(4, v, true); return b; };
    await rejects(withVersion(0), /bad GGUF version 0/);
    await rejects(withVersion(1), /version 1 is no longer supported/);
    await rejects(withVersion(4), /version 4 is newer/);
    await rejects(withVersion(0x03000000), /byte-swapped/);
    await rejects(withVersion(0x00020000), /byte-swapped/);
  });

  it("huge or negative counts are refused before anything is allocated", async () => {
    await rejects(handmade({ nKv: -1n }), /metadata entries is -1/);
    await rejects(handmade({ nTensors: -5n }), /number of tensors is -5/);
    await rejects(handmade({ nKv: 0x7fffffffffffffffn }), /more than the remaining/);
    await rejects(handmade({ nTensors: 1n << 40n }), /more than the remaining/);
    await rejects(handmade({ kvs: [[...le.u64(0xffffffffffffffffn), 0x41]], infos: [] }), /length 18446744073709551615 exceeds the maximum/);
    await rejects(handmade({ kvs: [[...le.u64(1000), 0x41]], infos: [] }), /length 1000 exceeds the remaining/);
    const arr = (itemType: number, n: bigint) => [...le.str("arr"), ...le.i32(ValueType.ARRAY), ...le.i32(itemType), ...le.u64(n)];
    await rejects(handmade({ kvs: [arr(ValueType.UINT8, 1n << 31n)], infos: [] }), /exceeds the maximum/);
    await rejects(handmade({ kvs: [arr(ValueType.UINT64, 100n)], infos: [] }), /cannot fit in the remaining/);
    await rejects(handmade({ kvs: [arr(ValueType.STRING, 10n)], infos: [] }), /cannot fit in the remaining/);
    const dims = [...le.str("w"), ...le.u32(2), ...le.i64(8), ...le.i64(1n << 60n), ...le.i32(T.F32), ...le.u64(0)];
    await rejects(handmade({ infos: [dims] }), /too large|too many elements|not within the file/);
    const dims2 = [...le.str("w"), ...le.u32(4), ...le.i64(1n << 20n), ...le.i64(1n << 20n), ...le.i64(1n << 20n), ...le.i64(1n << 10n), ...le.i32(T.F32), ...le.u64(0)];
    await rejects(handmade({ infos: [dims2] }), /too many elements/);
  });

  it("invalid value types, nested arrays, empty and duplicate keys", async () => {
    const k = (key: string, type: number, ...rest: number[]) => [...le.str(key), ...le.i32(type), ...rest];
    await rejects(handmade({ kvs: [k("x", 13, 0)], infos: [] }), /"x" has invalid value type 13/);
    await rejects(handmade({ kvs: [k("x", -1, 0)], infos: [] }), /invalid value type -1/);
    await rejects(handmade({ kvs: [k("x", ValueType.ARRAY, ...le.i32(ValueType.ARRAY), ...le.u64(0))], infos: [] }), /nested arrays/);
    await rejects(handmade({ kvs: [k("", ValueType.UINT8, 1)], infos: [] }), /empty key/);
    await rejects(handmade({ kvs: [kvU32("dup", 1), kvU32("dup", 2)], infos: [] }), /duplicate metadata key "dup"/);
  });

  it("bad tensor infos", async () => {
    const info = (name: string | Uint8Array, dims: (number | bigint)[], type: number, offset: number | bigint = 0) =>
      [...le.str(name), ...le.u32(dims.length), ...dims.flatMap((d) => le.i64(d)), ...le.i32(type), ...le.u64(offset)];
    await rejects(handmade({ infos: [info("x".repeat(64), [8], T.F32)] }), /64 bytes long, the limit is 63/);
    await expect(read(handmade({ infos: [info("x".repeat(63), [8], T.F32)] }))).resolves.toBeDefined();
    await rejects(handmade({ infos: [info("w", [8, 1, 1, 1, 1], T.F32)] }), /5 dimensions, at most 4/);
    await rejects(handmade({ infos: [info("w", [8, -1], T.F32)] }), /dimension 1 is -1/);
    await rejects(handmade({ infos: [info("w", [8], 43)] }), /invalid ggml type 43/);
    await rejects(handmade({ infos: [info("w", [8], -1)] }), /invalid ggml type -1/);
    await rejects(handmade({ infos: [info("w", [32], 4)] }), /invalid ggml type 4 \(q4_2 was removed/);
    await rejects(handmade({ infos: [info("w", [48], T.Q4_0)], data: 64 }), /48 values per row, not a multiple of the block size 32/);
    await rejects(handmade({ infos: [info("w", [8], T.F32), info("w", [8], T.F32, 32)], data: 64 }), /duplicate tensor name "w"/);
  });

  it("offsets must be exactly the padded running sum, and data inside the file", async () => {
    const info = (name: string, n: number, offset: number) => [...le.str(name), ...le.u32(1), ...le.i64(n), ...le.i32(T.F32), ...le.u64(offset)];
    await expect(read(handmade({ infos: [info("a", 8, 0), info("b", 8, 32)], data: 64 }))).resolves.toBeDefined();
    await rejects(handmade({ infos: [info("a", 8, 32)], data: 64 }), /"a" has data offset 32, expected 0/);
    await rejects(handmade({ infos: [info("a", 8, 0), info("b", 8, 64)], data: 96 }), /"b" has data offset 64, expected 32/); // gap
    await rejects(handmade({ infos: [info("a", 8, 0), info("b", 8, 16)], data: 64 }), /"b" has data offset 16, expected 32/); // overlap
    await rejects(handmade({ infos: [info("a", 8, 0), info("b", 8, 0)], data: 64 }), /expected 32/);
    await rejects(handmade({ infos: [info("a", 8, 0), info("b", 16, 32)], data: 63 }), /"b" data \(64 bytes of f32 at byte \d+\) is not within the file/);
    await rejects(handmade({ infos: [info("a", 8, 0)], data: 0 }), /past the end of the file|not within the file/);
  });

  it("general.alignment must be a u32 power of two", async () => {
    await rejects(handmade({ kvs: [kvU32("general.alignment", 0)] }), /general.alignment is 0, not a power of 2/);
    await rejects(handmade({ kvs: [kvU32("general.alignment", 48)] }), /is 48, not a power of 2/);
    const u64 = [...le.str("general.alignment"), ...le.i32(ValueType.UINT64), ...le.u64(32)];
    await rejects(handmade({ kvs: [u64] }), /must be of type u32 but is u64/);
    const arr = [...le.str("general.alignment"), ...le.i32(ValueType.ARRAY), ...le.i32(ValueType.UINT32), ...le.u64(1), ...le.u32(32)];
    await rejects(handmade({ kvs: [arr] }), /must be of type u32 but is arr\[u32,1\]/);
  });

  it("names in messages are quoted, so a hostile name cannot break the line", async () => {
    const msg = await rejects(handmade({ kvs: [kvU32("evil\nkey", 1), kvU32("evil\nkey", 1)], infos: [] }));
    expect(msg).toContain('"evil\\nkey"');
  });
});

describe("type table use", () => {
  it("accepts every live ggml type with a block-multiple row and computes nbytes from the table", async () => {
    const live = TYPES.filter((t) => t.blockSize > 0);
    const tensors = live.map((t) => ({ name: `t${t.id}`, ne: [t.blockSize * 2, 3], type: t.id, data: new Uint8Array(t.typeSize * 6) }));
    const h: GgufHeader = await read(ggufBytes([], tensors));
    h.tensors.forEach((t, i) => expect(t.nbytes).toBe(live[i].typeSize * 6));
    expect(serializeGguf([], tensors).fileSize).toBe(h.fileSize);
  });
});
