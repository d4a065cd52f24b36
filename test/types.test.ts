import { describe, expect, it } from "vitest";
import { TYPES, rowBytes, typeByName } from "../src/types.js";
import { Kernels } from "../src/kernels.js";
import { oracle } from "./support/oracle.js";

// What ggml_type_name / ggml_blck_size / ggml_type_size return in the reference build
// (node tn.mjs over ids 0..42 against @node-llama-cpp/linux-x64@3.22.1's libggml-base.so).
const REFERENCE: [number, string, number, number][] = [
  [0, "f32", 1, 4], [1, "f16", 1, 2], [2, "q4_0", 32, 18], [3, "q4_1", 32, 20], [6, "q5_0", 32, 22],
  [7, "q5_1", 32, 24], [8, "q8_0", 32, 34], [9, "q8_1", 32, 36], [10, "q2_K", 256, 84],
  [11, "q3_K", 256, 110], [12, "q4_K", 256, 144], [13, "q5_K", 256, 176], [14, "q6_K", 256, 210],
  [15, "q8_K", 256, 292], [16, "iq2_xxs", 256, 66], [17, "iq2_xs", 256, 74], [18, "iq3_xxs", 256, 98],
  [19, "iq1_s", 256, 50], [20, "iq4_nl", 32, 18], [21, "iq3_s", 256, 110], [22, "iq2_s", 256, 82],
  [23, "iq4_xs", 256, 136], [24, "i8", 1, 1], [25, "i16", 1, 2], [26, "i32", 1, 4], [27, "i64", 1, 8],
  [28, "f64", 1, 8], [29, "iq1_m", 256, 56], [30, "bf16", 1, 2], [34, "tq1_0", 256, 54],
  [35, "tq2_0", 256, 66], [39, "mxfp4", 32, 17], [40, "nvfp4", 64, 36], [41, "q1_0", 128, 18],
  [42, "q2_0", 64, 18],
];

describe("type table", () => {
  it("has every id of the reference build in place", () => {
    expect(TYPES.length).toBe(43);
    TYPES.forEach((ty, i) => expect(ty.id).toBe(i));
  });

  it.each(REFERENCE)("id %i is %s with %i values in %i bytes", (id, name, block, size) => {
    expect(TYPES[id].name).toBe(name);
    expect(TYPES[id].blockSize).toBe(block);
    expect(TYPES[id].typeSize).toBe(size);
  });

  it("marks removed ids with no block", () => {
    const live = new Set(REFERENCE.map((r) => r[0]));
    for (const ty of TYPES) if (!live.has(ty.id)) expect(ty.blockSize).toBe(0);
  });

  it("finds names case-insensitively and computes row sizes", () => {
    expect(typeByName("Q6_k")?.id).toBe(14);
    expect(typeByName("q4_2")).toBeUndefined();
    expect(rowBytes(14, 512)).toBe(420);
    expect(rowBytes(8, 576)).toBe(612);
  });

  it("names a kernel that the wasm module exports, for every type that claims one", () => {
    const k = new Kernels();
    const claimed = TYPES.filter((ty) => ty.kernel);
    expect(claimed.length).toBeGreaterThanOrEqual(9);
    for (const ty of claimed) expect(k.has(ty.id), ty.name).toBe(true);
  });

  it("agrees with the kernels' own block layout (assembly/layout.ts)", () => {
    const k = new Kernels();
    let known = 0;
    for (const ty of TYPES) {
      const l = k.blockLayout(ty.id);
      if (l.values === 0) continue;
      known++;
      expect([ty.name, l.values, l.bytes]).toEqual([ty.name, ty.blockSize, ty.typeSize]);
    }
    expect(known).toBe(28); // every quantizable type but q8_1 and q8_K, plus f32, f16, bf16
  });

  it.runIf(oracle)("agrees with the library loaded live", () => {
    for (const ty of TYPES) {
      if (ty.blockSize === 0) continue;
      expect(oracle!.typeName(ty.id)).toBe(ty.name);
      expect(oracle!.blockSize(ty.id)).toBe(ty.blockSize);
      expect(oracle!.typeSize(ty.id)).toBe(ty.typeSize);
    }
  });
});
