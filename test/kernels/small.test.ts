// The small types (tq1_0 tq2_0 mxfp4 nvfp4 q1_0 q2_0, assembly/small.ts) against llama.cpp:
// committed goldens everywhere, the reference library itself where it loads. None of them reads an
// importance vector; all are exact on every input, NaN and inf included. The goldens hold for the
// SIMD kernels (small_simd.ts) and for their scalar references alike.
//
// Targeted quirks: mxfp4's exponent floorf(log2f(amax)) next to every power of two (the float-rounded
// log2f makes amax a few ulps below 2^k give k), ties of lroundf (tq*) and roundf (q2_0) at ±0.5·amax,
// q1_0's f32 running sum, nvfp4's UE4M3 scale rounding and saturation, subnormal amax (1/d = inf).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Kernels, quantizeRows } from "../../src/kernels.js";
import { rowBytes, typeByName, type GgmlType } from "../../src/types.js";
import { oracle } from "../support/oracle.js";
import { edgeRows, randomRows } from "../support/rows.js";
import { Rng } from "../support/random.js";
import { bytesOf, toBf16, toF16, widenBf16, widenF16 } from "../support/floats.js";
import { EXTRA_CASES, nearPowersOfTwo, probeRows, tieRows } from "../support/small-rows.js";
import { SRC, infRows, inputDigest, makeCase, nanRows, parseKey, sha256, type GoldenFile, type SrcName } from "../support/golden.js";
import { firstDiff } from "../support/compare.js";
import { scalar } from "../support/simd.js";

const NAMES = ["tq1_0", "tq2_0", "mxfp4", "nvfp4", "q1_0", "q2_0"];
const SMALL = NAMES.map((name) => typeByName(name)!);
export const SMALL_WIDTHS = [256, 512, 1024, 4096];
const golden = JSON.parse(readFileSync(new URL("../fixtures/golden/kernels-small.json", import.meta.url), "utf8")) as GoldenFile;
const extra = JSON.parse(readFileSync(new URL("../fixtures/golden/kernels-small-extra.json", import.meta.url), "utf8")) as { made_by: string; cases: Record<string, string> };
const k = new Kernels();

function both(ty: GgmlType, rows: Float32Array, n: number, src: SrcName): { ours: Uint8Array; ref: Uint8Array } {
  let srcBytes: Uint8Array;
  let oracleRows: Float32Array;
  if (src === "f16") { const h = toF16(rows); srcBytes = bytesOf(h); oracleRows = widenF16(h); }
  else if (src === "bf16") { const h = toBf16(rows); srcBytes = bytesOf(h); oracleRows = widenBf16(h); }
  else { srcBytes = bytesOf(rows); oracleRows = rows; }
  return { ours: quantizeRows(k, ty.id, srcBytes, SRC[src], n), ref: oracle!.quantize(ty.id, oracleRows, n) };
}

function exact(ty: GgmlType, rows: Float32Array, n: number, src: SrcName = "f32", names?: readonly string[]): string | undefined {
  const r = both(ty, rows, n, src);
  return firstDiff(r.ours, r.ref, rowBytes(ty.id, n), names, ty.typeSize);
}

describe("small kernels: goldens (no native library needed)", () => {
  const keys = Object.keys(golden.cases);

  it("cover every type, set and width", () => {
    for (const ty of SMALL) for (const n of SMALL_WIDTHS) {
      for (const set of ["edge", "edge-f16", "edge-bf16", "inf", "nan"]) expect(golden.cases[`${ty.name}/${set}/plain/${n}`], `${ty.name}/${set}/${n}`).toBeDefined();
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
    expect(sha256(quantizeRows(scalar, type.id, c.srcBytes, SRC[c.src], n, c.imatrix)), "scalar reference").toBe(entry.output);
    const where = digest !== entry.output && oracle ? firstDiff(ours, oracle.quantize(type.id, c.oracleRows, n), rowBytes(type.id, n), undefined, type.typeSize) : undefined;
    expect(digest, where).toBe(entry.output);
  });

  it.each(SMALL.flatMap((ty) => Object.keys(EXTRA_CASES).map((c) => [ty.name, c] as const)))("%s: %s (ties, probes next to powers of two)", (name, c) => {
    const ty = typeByName(name)!;
    const { rows, n } = EXTRA_CASES[c](ty.name);
    expect(extra.made_by).toContain("libggml-base.so");
    expect(sha256(quantizeRows(k, ty.id, bytesOf(rows), 0, n))).toBe(extra.cases[`${name}/${c}`]);
    expect(sha256(quantizeRows(scalar, ty.id, bytesOf(rows), 0, n)), "scalar reference").toBe(extra.cases[`${name}/${c}`]);
  });

  it("the importance vector changes nothing", () => {
    for (const ty of SMALL) {
      const c = makeCase(ty, "edge", false, 1024);
      const w = new Float32Array(1024).map((_, i) => 1 + (i % 7));
      expect(sha256(quantizeRows(k, ty.id, c.srcBytes, 0, 1024, w))).toBe(sha256(quantizeRows(k, ty.id, c.srcBytes, 0, 1024)));
    }
  });
});

describe.runIf(oracle)("small kernels vs llama.cpp, live", () => {
  const WIDTHS = [256, 512, 768, 2048, 4096, 11008 + 256 - (11008 % 256)];
  const SRCS: SrcName[] = ["f32", "f16", "bf16"];

  describe.each(SMALL.map((ty) => [ty.name, ty] as const))("%s", (_, ty) => {
    it.each(SRCS)("edge rows, %s source", (src) => {
      for (const n of WIDTHS) {
        const { rows, names } = edgeRows(n, n + 17, 6);
        expect(exact(ty, rows, n, src, names), `n=${n}`).toBeUndefined();
      }
    });

    it.each(SRCS)("random rows, %s source, 4 seeds", (src) => {
      for (let seed = 1; seed <= 4; seed++) for (const n of WIDTHS) {
        const count = Math.max(4, Math.floor(8192 / n));
        const { rows, names } = randomRows(n, count, seed * 7919 + n);
        expect(exact(ty, rows, n, src, names), `seed ${seed}, n=${n}`).toBeUndefined();
      }
    });

    it("ties of the rounding", () => {
      for (let seed = 1; seed <= 4; seed++) expect(exact(ty, tieRows(1024, 64, seed), 1024), `seed ${seed}`).toBeUndefined();
    });

    it("rows with ±inf, NaN and overflow", () => {
      for (const n of [256, 512, 4096]) {
        expect(exact(ty, infRows(n), n), `inf n=${n}`).toBeUndefined();
        expect(exact(ty, nanRows(n), n), `nan n=${n}`).toBeUndefined();
      }
    });

    it("single values next to every power of two (amax and scale boundaries)", () => {
      // mxfp4 (its log2f) gets ±64 ulps around every 2^k, the others ±3 in one 256-wide block
      const n = ty.name === "mxfp4" ? 32 : ty.name === "nvfp4" ? 64 : 256;
      const values = nearPowersOfTwo(ty.name === "mxfp4" || ty.name === "nvfp4" ? 64 : 3);
      const rows = probeRows(values, n, 3);
      expect(exact(ty, rows, n)).toBeUndefined();
      const neg = rows.map((v) => -v);
      expect(exact(ty, neg, n)).toBeUndefined();
    });
  });

  it("ggml_validate_row_data: every value of each scale byte, one block at a time", () => {
    // the scale bytes: fp16 d (tq1_0 at 52, tq2_0 at 64, q1_0/q2_0 at 0), mxfp4's E8M0 byte, nvfp4's 4 UE4M3 bytes
    const SCALE: Record<string, number[]> = { tq1_0: [52, 53], tq2_0: [64, 65], mxfp4: [0], nvfp4: [0, 1, 2, 3], q1_0: [0, 1], q2_0: [0, 1] };
    const rng = new Rng(41);
    for (const ty of SMALL) for (const at of SCALE[ty.name]) for (let v = 0; v < 256; v++) {
      const block = new Uint8Array(ty.typeSize).map(() => rng.int(256));
      block[at] = v;
      const r = k.reserve(0, block.length, 0);
      k.bytes(r.src, block.length).set(block);
      expect(k.validate(ty.id, r.src, block.length), `${ty.name} byte ${at} = 0x${v.toString(16)}`).toBe(oracle!.validate(ty.id, block) ? 1 : 0);
    }
  });

  it("mxfp4's exponent byte: the values of REFERENCE.md", () => {
    const mx = typeByName("mxfp4")!;
    for (const [amax, e] of [[255.99998, 133], [0.0039062498, 117], [0.24999999, 123]] as const) {
      const row = new Float32Array(32);
      row[5] = amax;
      expect(quantizeRows(k, mx.id, bytesOf(row), 0, 32)[0], `amax ${amax}`).toBe(e);
      expect(oracle!.quantize(mx.id, row, 32)[0]).toBe(e);
    }
  });
});
