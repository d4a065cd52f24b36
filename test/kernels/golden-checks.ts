// The committed-golden tests every kernel suite runs: the golden file covers exactly the suite's row
// sets and was made by the reference build, and each set's bytes, row by row and as a whole, equal
// llama.cpp's — on the SIMD kernels (what runs) and on their scalar references (set_scalar_kernels(1)).
// Types on which llama.cpp aborts the process for some rows (the lattice I-quants) record those rows
// as "abort"; with `aborts` the rows are quantized one by one and must be refused exactly there.

import { expect, it } from "vitest";
import { KernelAbort, quantizeRows, type Kernels } from "../../src/kernels.js";

/** Our bytes of each row of src, or "abort" where the kernel refuses the row (llama.cpp aborts there). */
export function quantizeByRow(k: Kernels, typeId: number, src: Uint8Array, srcType: number, n: number, imatrix?: Float32Array): (Uint8Array | "abort")[] {
  const rb = srcType === 0 ? n * 4 : n * 2; // f32, or f16/bf16
  const out: (Uint8Array | "abort")[] = [];
  for (let o = 0; o < src.length; o += rb) {
    try {
      out.push(quantizeRows(k, typeId, src.subarray(o, o + rb), srcType, n, imatrix));
    } catch (e) {
      if (!(e instanceof KernelAbort)) throw e;
      out.push("abort");
    }
  }
  return out;
}

/** The rows that were not refused, one after the other. */
export function keptBytes(rows: readonly (Uint8Array | "abort")[]): Uint8Array {
  const kept = rows.filter((r): r is Uint8Array => r !== "abort");
  const out = new Uint8Array(kept.reduce((s, p) => s + p.length, 0));
  kept.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
}

export interface KernelGolden {
  made_by: string;
  type?: string;
  sets: { name: string; sha256: string; rows: [string, string][] }[];
}

export interface GoldenRows {
  name: string;
  names: string[];
  src: Uint8Array;
  srcType: number;
  n: number;
  imatrix?: Float32Array;
}

export interface GoldenChecks {
  golden: KernelGolden;
  sets: readonly GoldenRows[];
  typeId: number;
  /** when given, the golden must name this type */
  typeName?: string;
  builds: { simd: Kernels; scalar: Kernels };
  rowDigests(bytes: Uint8Array, n: number): string[];
  sha256(bytes: Uint8Array): string;
  /** llama.cpp aborts on some rows: quantize row by row, "abort" rows must be refused, the set's
   *  sha256 is that of the other rows */
  aborts?: boolean;
}

/** Registers the golden tests (call inside a describe). */
export function goldenChecks(o: GoldenChecks): void {
  const { golden, sets } = o;
  it("cover every row set, made by the reference build", () => {
    if (o.typeName !== undefined) expect(golden.type).toBe(o.typeName);
    expect(golden.made_by).toContain("@node-llama-cpp/linux-x64@3.22.1");
    expect(golden.made_by).toContain("libggml-base.so");
    expect(golden.sets.map((s) => s.name)).toEqual(sets.map((s) => s.name));
    for (const s of sets) expect(golden.sets.find((g) => g.name === s.name)!.rows.map((r) => r[0])).toEqual(s.names);
  });

  it.each(sets.flatMap((s) => [[s.name, "SIMD", s] as const, [s.name, "scalar", s] as const]))("%s (%s)", (_, build, s) => {
    const g = golden.sets.find((x) => x.name === s.name)!;
    const k = build === "SIMD" ? o.builds.simd : o.builds.scalar;
    let bytes: Uint8Array, mine: string[];
    if (o.aborts) {
      const rows = quantizeByRow(k, o.typeId, s.src, s.srcType, s.n, s.imatrix);
      mine = rows.map((r) => (r === "abort" ? r : o.rowDigests(r, s.n)[0]));
      bytes = keptBytes(rows);
    } else {
      bytes = quantizeRows(k, o.typeId, s.src, s.srcType, s.n, s.imatrix);
      mine = o.rowDigests(bytes, s.n);
    }
    const bad = g.rows.flatMap(([name, d], i) => (mine[i] === d ? [] : [`row ${i} (${name}): ${mine[i]} vs llama.cpp ${d}`]));
    expect(bad).toEqual([]);
    expect(o.sha256(bytes)).toBe(g.sha256);
  });
}
