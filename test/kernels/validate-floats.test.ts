// ggml_validate_row_data on float sources (f32, f16, bf16: no inf, no NaN), whose bulk pass is
// vectorised (assembly/validate.ts): the SIMD pass and the scalar one (set_scalar_kernels(1)) give
// the verdict computed here value by value, for every length class and every position of one bad
// value, including the values just below the bound (the largest finite ones).

import { describe, expect, it } from "vitest";
import { Rng } from "../support/random.js";
import { scalar, simd } from "../support/simd.js";

const CASES = [
  { type: 0, name: "f32", bytes: 4, bad: [0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffffffff], good: [0x7f7fffff, 0xff7fffff, 0x80000000, 0x00000001] },
  { type: 1, name: "f16", bytes: 2, bad: [0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xffff], good: [0x7bff, 0xfbff, 0x8000, 0x0001] },
  { type: 30, name: "bf16", bytes: 2, bad: [0x7f80, 0xff80, 0x7fc0, 0x7f81, 0xffff], good: [0x7f7f, 0xff7f, 0x8000, 0x0001] },
] as const;

function verdict(k: typeof simd, type: number, data: Uint8Array): number {
  const r = k.reserve(0, data.byteLength, 0);
  k.bytes(r.src, data.byteLength).set(data);
  return k.validate(type, r.src, data.byteLength);
}

describe("validate_row_data on float sources", () => {
  it.each(CASES)("$name: one bad value anywhere, or none", ({ type, bytes, bad, good }) => {
    const rng = new Rng(type + 3);
    let checked = 0;
    for (const count of [1, 7, 8, 9, 63, 64, 65, 127, 128, 129, 200, 1000, 4096]) {
      for (let trial = 0; trial < 12; trial++) {
        const data = new Uint8Array(count * bytes);
        const view = new DataView(data.buffer);
        const put = (i: number, v: number) => (bytes === 4 ? view.setUint32(i * 4, v, true) : view.setUint16(i * 2, v, true));
        for (let i = 0; i < count; i++) put(i, rng.uniform() < 0.1 ? good[rng.int(good.length)] : rng.u32() & (bytes === 4 ? 0x3fffffff : 0x3fff));
        const withBad = trial % 3 !== 0;
        if (withBad) put(trial === 1 ? count - 1 : trial === 2 ? 0 : rng.int(count), bad[rng.int(bad.length)]);
        const want = withBad ? 0 : 1;
        expect(verdict(simd, type, data), `${count} values, trial ${trial}`).toBe(want);
        expect(verdict(scalar, type, data), `${count} values, trial ${trial}, scalar`).toBe(want);
        checked++;
      }
    }
    expect(checked).toBe(13 * 12);
  });
});
