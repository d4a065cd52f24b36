// to_float: our dequantization equals llama.cpp's bit for bit (it feeds --allow-requantize), on
// blocks made by quantizing edge rows and on random block bytes (any scale bits, any quants).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KernelAbort, Kernels, quantizeRows } from "../../src/kernels.js";
import { TYPES } from "../../src/types.js";
import { oracle } from "../support/oracle.js";
import { randomBlocks } from "../support/blocks.js";
import { edgeRows, importance } from "../support/rows.js";

const k = new Kernels();
const readable = TYPES.filter((t) => t.quantized && k.canRead(t.id));
const golden = JSON.parse(readFileSync(new URL("../fixtures/golden/dequant.json", import.meta.url), "utf8")) as { digests: Record<string, string> };

/** Bit-equal, except that any NaN equals any NaN: a NaN comes only from a NaN scale, and llama.cpp
 *  rejects such blocks (ggml_validate_row_data) before it ever dequantizes them. */
const sameBits = (a: Float32Array, b: Float32Array) => {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return `value ${i}: ${a[i]} (0x${ua[i].toString(16)}) vs ${b[i]} (0x${ub[i].toString(16)})`;
  }
  return "";
};

/** The rows our kernel quantizes (it refuses, as KernelAbort, exactly the rows on which llama.cpp
 *  aborts the process: the IQ grid searches' GGML_ASSERTs), so that the oracle never meets those. */
function rowsLlamaQuantizes(id: number, rows: Float32Array, n: number, imatrix?: Float32Array): Float32Array {
  const keep: Float32Array[] = [];
  for (let r = 0; r * n < rows.length; r++) {
    const row = rows.subarray(r * n, (r + 1) * n);
    try {
      quantizeRows(k, id, new Uint8Array(row.buffer, row.byteOffset, row.byteLength), 0, n, imatrix);
      keep.push(row);
    } catch (e) {
      if (!(e instanceof KernelAbort)) throw e;
    }
  }
  const out = new Float32Array(keep.length * n);
  keep.forEach((row, i) => out.set(row, i * n));
  return out;
}

describe("dequantization", () => {
  it("covers the legacy types, q6_K, the small types and the grid quants", () => {
    expect(readable.map((t) => t.name)).toEqual(expect.arrayContaining(["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q6_K", "tq1_0", "tq2_0", "mxfp4", "nvfp4", "q1_0", "q2_0", "iq2_xxs", "iq2_xs", "iq2_s", "iq1_s", "iq1_m", "iq3_xxs", "iq3_s"]));
  });

  it.each(readable.map((t) => [t.name, t.id] as const))("%s matches the digest of llama.cpp's to_float on random block bytes", (name, id) => {
    const { bytes, values } = randomBlocks(id);
    const out = k.dequantize(id, bytes, values);
    expect(createHash("sha256").update(new Uint8Array(out.buffer)).digest("hex")).toBe(golden.digests[name]);
  });

  describe.runIf(oracle)("equals llama.cpp's to_float", () => {
    it.each(readable.map((t) => [t.name, t.id] as const))("%s on quantized edge rows", (_name, id) => {
      const n = 512;
      // the types that require an imatrix get one; rows on which llama.cpp aborts (our kernel
      // refuses exactly those, test/kernels/iqgrid.test.ts and iq3.test.ts) are left out
      const imatrix = TYPES[id].needsImatrix ? importance(n) : undefined;
      const rows = k.has(id) ? rowsLlamaQuantizes(id, edgeRows(n, 6, 8).rows, n, imatrix) : edgeRows(n, 6, 8).rows;
      const q = oracle!.quantize(id, rows, n, imatrix);
      expect(sameBits(k.dequantize(id, q, rows.length), oracle!.dequantize(id, q, rows.length))).toBe("");
    });
    it.each(readable.map((t) => [t.name, t.id] as const))("%s on random block bytes", (_name, id) => {
      const { bytes, values } = randomBlocks(id);
      expect(sameBits(k.dequantize(id, bytes, values), oracle!.dequantize(id, bytes, values))).toBe("");
    });
    it("the committed digests are llama.cpp's", () => {
      for (const t of readable) {
        const { bytes, values } = randomBlocks(t.id);
        const out = oracle!.dequantize(t.id, bytes, values);
        expect(createHash("sha256").update(new Uint8Array(out.buffer)).digest("hex"), t.name).toBe(golden.digests[t.name]);
      }
    });
  });
});
