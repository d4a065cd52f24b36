// Work must grow with the file, not faster: a hostile header with tens of thousands of entries (a
// file of a megabyte or so) has to be read and planned in about the time a real one of that size
// takes. Mutation fuzzing of small seeds never reaches these counts, so they are built here.
// (Found by review: copyKvs re-filtered the whole list for every key that a NUL byte cut down to
// one already seen, and 40 000 such keys took three minutes to plan.)

import { describe, expect, it } from "vitest";
import { readGgufHeader } from "../../src/gguf/read.js";
import { kv, type GgufKv } from "../../src/gguf/values.js";
import { ggufBytes } from "../../src/gguf/write.js";
import { makePlan } from "../../src/plan.js";
import { T } from "../../src/types.js";
import { memorySource } from "../support/bytes.js";
import { generateModel } from "../support/generate.js";

const base = generateModel({ nLayer: 1, nEmbd: 64, nFf: 128, nHead: 2, nVocab: 64, dtype: "f16", seed: 1, tokenizer: "none" });

async function timePlan(kvs: GgufKv[], tensors = base.tensors, ftype = 7): Promise<number> {
  const bytes = ggufBytes([...base.kvs, ...kvs], tensors);
  const t0 = performance.now();
  const h = await readGgufHeader(memorySource(bytes, "big.gguf"));
  makePlan([h], "big.gguf", { ftype, dryRun: true });
  return performance.now() - t0;
}

describe("hostile counts cost time in proportion to the file", () => {
  it("20 000 keys, and 20 000 more that a NUL byte cuts down to the same C strings", async () => {
    const extra: GgufKv[] = [];
    for (let i = 0; i < 20000; i++) extra.push(kv.u8(`k${i}`, 1));
    for (let i = 0; i < 20000; i++) extra.push(kv.u8(`k${i}\0dup`, 2));
    expect(await timePlan(extra)).toBeLessThan(10_000);
  });

  it("20 000 tensors", async () => {
    const tensors = [...base.tensors];
    for (let i = 0; i < 20000; i++) tensors.push({ name: `blk.0.t${i}.weight`, ne: [32, 2], type: T.F16, data: new Uint8Array(128) });
    expect(await timePlan([], tensors, 15)).toBeLessThan(10_000);
  });
});
