// The legacy block-32 kernels (q4_0 q4_1 q5_0 q5_1 q8_0), plain and imatrix paths, against
// llama.cpp: committed goldens everywhere, the reference library itself where it loads.
//
// Non-finite input: ggml_quantize_chunk never aborts on it for these types (no asserts on these
// paths in the release build). llama-quantize then runs ggml_validate_row_data on the result and
// fails the whole run ("quantized data validation failed") if any block's fp16 d (or m) is inf or
// NaN. Rows with ±inf (and no NaN) must be byte-identical on both paths. Rows with NaN must be
// byte-identical on the plain path; on the imatrix path, NaN reaches the scale search, where two
// different NaNs can meet in one operation and the one kept depends on compiler operand order
// (assembly/search.ts), so there only blocks that llama-quantize would accept must be identical,
// and the others must have NaN in the same scale fields.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Kernels, quantizeRows } from "../../src/kernels.js";
import { rowBytes, typeByName, type GgmlType } from "../../src/types.js";
import { oracle } from "../support/oracle.js";
import { edgeRows, randomImportance, randomRows } from "../support/rows.js";
import { Rng } from "../support/random.js";
import { bytesOf, toBf16, toF16, widenBf16, widenF16 } from "../support/floats.js";
import { GOLDEN_WIDTHS, SRC, infRows, inputDigest, makeCase, nanRows, parseKey, sha256, type GoldenFile, type SrcName } from "../support/golden.js";
import { firstDiff, firstDiffNanScales } from "../support/compare.js";

const LEGACY = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0"].map((name) => typeByName(name)!);
/** byte offsets of the fp16 scale fields in each block (ggml-common.h) */
const SCALES: Record<string, number[]> = { q4_0: [0], q4_1: [0, 2], q5_0: [0], q5_1: [0, 2], q8_0: [0] };
const golden = JSON.parse(readFileSync(new URL("../fixtures/golden/kernels-legacy.json", import.meta.url), "utf8")) as GoldenFile;
const k = new Kernels();

interface Run { ours: Uint8Array; ref: Uint8Array; rowBytes: number }

/** Quantizes f32 `rows` with our kernels after storing them as `src`, and with llama.cpp on the
 *  exactly widened values. */
function both(ty: GgmlType, rows: Float32Array, n: number, src: SrcName, imatrix?: Float32Array): Run {
  let srcBytes: Uint8Array;
  let oracleRows: Float32Array;
  if (src === "f16") { const h = toF16(rows); srcBytes = bytesOf(h); oracleRows = widenF16(h); }
  else if (src === "bf16") { const h = toBf16(rows); srcBytes = bytesOf(h); oracleRows = widenBf16(h); }
  else { srcBytes = bytesOf(rows); oracleRows = rows; }
  const ours = quantizeRows(k, ty.id, srcBytes, SRC[src], n, imatrix);
  const ref = oracle!.quantize(ty.id, oracleRows, n, imatrix);
  return { ours, ref, rowBytes: rowBytes(ty.id, n) };
}

function exact(ty: GgmlType, rows: Float32Array, n: number, src: SrcName, imatrix?: Float32Array, names?: readonly string[]): string | undefined {
  const r = both(ty, rows, n, src, imatrix);
  return firstDiff(r.ours, r.ref, r.rowBytes, names, ty.typeSize);
}

/** For rows with NaN: exact without imatrix, validity-aware with one (see the top of this file). */
function nanAware(ty: GgmlType, rows: Float32Array, n: number, imatrix?: Float32Array, names?: readonly string[]): string | undefined {
  const r = both(ty, rows, n, "f32", imatrix);
  return imatrix
    ? firstDiffNanScales(r.ours, r.ref, ty.typeSize, SCALES[ty.name], r.rowBytes, names)
    : firstDiff(r.ours, r.ref, r.rowBytes, names, ty.typeSize);
}

/** Random rows with NaNs (random sign and payload, quiet and signalling), infinities, and NaN
 *  or inf as the first value of a block, over random data. */
function nanStormRows(n: number, count: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const { rows } = randomRows(n, count, seed);
  const bits = new Uint32Array(rows.buffer);
  for (let r = 0; r < count; r++) {
    const hits = 1 + rng.int(4);
    for (let h = 0; h < hits; h++) {
      const i = r * n + (rng.uniform() < 0.3 ? 32 * rng.int(n / 32) : rng.int(n));
      const kind = rng.int(4);
      if (kind === 0) { // a NaN of any sign and payload, quiet or signalling
        bits[i] = (rng.u32() & 0x807fffff) | 0x7f800000;
        if ((bits[i] & 0x7fffff) === 0) bits[i] |= 1;
      } else if (kind === 1) bits[i] = 0xffc00000; // x86's default NaN
      else if (kind === 2) bits[i] = (rng.u32() & 0x80000000) | 0x7f800000; // ±inf
      else bits[i] = 0x7fc00000; // JS's NaN
    }
  }
  return rows;
}

describe("legacy kernels: goldens (no native library needed)", () => {
  const keys = Object.keys(golden.cases).filter((key) => LEGACY.some((ty) => key.startsWith(`${ty.name}/`)));

  it("cover every type, both paths (q8_0: plain only) and every width", () => {
    for (const ty of LEGACY) for (const n of GOLDEN_WIDTHS) {
      for (const im of ty.name === "q8_0" ? ["plain"] : ["plain", "imatrix"]) {
        for (const set of ["edge", "edge-f16", "edge-bf16", "inf"]) expect(golden.cases[`${ty.name}/${set}/${im}/${n}`], `${ty.name}/${set}/${im}/${n}`).toBeDefined();
      }
      expect(golden.cases[`${ty.name}/nan/plain/${n}`]).toBeDefined();
    }
    expect(golden.made_by).toContain("libggml-base.so");
  });

  it.each(keys)("%s", (key) => {
    const { type, set, imatrix, n } = parseKey(key);
    const c = makeCase(type, set, imatrix, n);
    const entry = golden.cases[key];
    expect(c.nrows).toBe(entry.rows);
    expect(inputDigest(c), "the row generator no longer makes the rows the golden was made from").toBe(entry.input);
    const ours = quantizeRows(k, type.id, c.srcBytes, SRC[c.src], n, c.imatrix);
    const digest = sha256(ours);
    const where = digest !== entry.output && oracle ? firstDiff(ours, oracle.quantize(type.id, c.oracleRows, n, c.imatrix), rowBytes(type.id, n), undefined, type.typeSize) : undefined;
    expect(digest, where).toBe(entry.output);
  });
});

describe.runIf(oracle)("legacy kernels vs llama.cpp, live", () => {
  const WIDTHS = [32, 96, 160, 576, 1024, 4096, 11008];
  const SRCS: SrcName[] = ["f32", "f16", "bf16"];
  let compared = 0;

  describe.each(LEGACY.map((ty) => [ty.name, ty] as const))("%s", (_, ty) => {
    // q8_0 ignores the imatrix: run it anyway, to check that it does
    for (const im of [false, true]) {
      const mode = im ? "imatrix" : "plain";

      it.each(SRCS)(`edge rows, ${mode}, %s source, widths ${WIDTHS.join(" ")}`, (src) => {
        for (const n of WIDTHS) {
          const { rows, names } = edgeRows(n, n + 17, 6);
          expect(exact(ty, rows, n, src, im ? randomImportance(n, n) : undefined, names), `n=${n}`).toBeUndefined();
          compared += names.length;
        }
      });

      it.each(SRCS)(`random rows, ${mode}, %s source, 12 seeds x 7 widths`, (src) => {
        for (let seed = 1; seed <= 12; seed++) {
          for (const n of WIDTHS) {
            const count = Math.max(4, Math.floor(16384 / n));
            const s = seed * 7919 + n + (im ? 1 : 0);
            const { rows, names } = randomRows(n, count, s);
            expect(exact(ty, rows, n, src, im ? randomImportance(n, s) : undefined, names), `seed ${s}, n=${n}`).toBeUndefined();
            compared += count;
          }
        }
      });

      it(`rows with ±inf and overflow, ${mode}: identical`, () => {
        for (const n of [32, 64, 96, 576, 4096]) {
          const rows = infRows(n);
          expect(exact(ty, rows, n, "f32", im ? randomImportance(n, 5) : undefined), `n=${n}`).toBeUndefined();
          compared += rows.length / n;
        }
      });

      it(`rows with NaN, ${mode}: ${im ? "identical wherever llama-quantize accepts the block" : "identical"}`, () => {
        for (const n of [32, 64, 96, 576, 4096]) {
          const rows = nanRows(n);
          expect(nanAware(ty, rows, n, im ? randomImportance(n, 5) : undefined), `n=${n}`).toBeUndefined();
          compared += rows.length / n;
        }
        for (let seed = 1; seed <= 8; seed++) {
          for (const n of [32, 96, 576, 4096]) {
            const count = Math.max(4, Math.floor(8192 / n));
            const rows = nanStormRows(n, count, seed * 31 + n);
            expect(nanAware(ty, rows, n, im ? randomImportance(n, seed) : undefined), `storm seed ${seed}, n=${n}`).toBeUndefined();
            compared += count;
          }
        }
      });
    }
  });

  it("compared thousands of rows", () => {
    // a guard against the loops above silently shrinking
    expect(compared).toBeGreaterThan(5 * 2 * 3 * 12 * 7 * 4);
    console.log(`legacy live differential: ${compared} rows compared with llama.cpp`);
  });
});

describe("legacy kernels: driver", () => {
  it("rejects a width that is not a multiple of 32", () => {
    expect(() => quantizeRows(k, LEGACY[0].id, new Uint8Array(48 * 4), SRC.f32, 48)).toThrow(RangeError);
  });
});
