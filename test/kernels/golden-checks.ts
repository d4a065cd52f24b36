// The committed-golden tests every kernel suite runs: the golden file covers exactly the suite's row
// sets and was made by the reference build, and each set's bytes, row by row and as a whole, equal
// llama.cpp's — on the SIMD kernels (what runs) and on their scalar references (set_scalar_kernels(1)).

import { expect, it } from "vitest";
import { quantizeRows, type Kernels } from "../../src/kernels.js";

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
    const bytes = quantizeRows(build === "SIMD" ? o.builds.simd : o.builds.scalar, o.typeId, s.src, s.srcType, s.n, s.imatrix);
    const mine = o.rowDigests(bytes, s.n);
    const bad = g.rows.flatMap(([name, d], i) => (mine[i] === d ? [] : [`row ${i} (${name})`]));
    expect(bad).toEqual([]);
    expect(o.sha256(bytes)).toBe(g.sha256);
  });
}
