// Every parser of outside input, fuzzed: a bounded, deterministic run of each target (a few seconds
// each; `npm run fuzz -- --minutes N` runs the same targets for as long as asked, from random
// seeds), and every input a long run ever caught (test/fixtures/fuzz/<target>/*.bin), replayed.
// See test/fuzz/targets.ts for what counts as a failure.

import { afterAll, describe, expect, it } from "vitest";
import { allTargets } from "./targets.js";
import { fuzz, savedInputs } from "./loop.js";

const targets = allTargets();
afterAll(() => { for (const t of targets) t.close?.(); });

/** Cases per target in the bounded run: about 1-3 s each on one core. */
const CASES: Record<string, number> = {
  "gguf": 400, "imatrix-gguf": 2000, "imatrix-dat": 2000, "rules": 5000, "recipe": 5000, "override-kv": 5000,
  "cli-model": 200, "cli-imatrix": 150, "cli-split": 150, "cli-args": 150,
};

describe("fuzz: saved inputs (crashes found by long runs) stay fixed", () => {
  for (const t of targets) {
    const saved = savedInputs(t.name);
    if (saved.length === 0) continue;
    it.each(saved)(`${t.name}: %s`, async (_name, input) => {
      expect(await t.run(input)).toBeUndefined();
    });
  }
});

describe("fuzz: bounded run, fixed seed", () => {
  it.each(targets.map((t) => [t.name, t] as const))("%s", async (name, t) => {
    const r = await fuzz(t, { cases: CASES[name] ?? 500, seed: 0x5eed, timeoutMs: 20_000, maxFailures: 5 });
    expect(r.failures.map((f) => `${f.problem} (from ${f.origin})`)).toEqual([]);
    expect(r.cases).toBe(CASES[name] ?? 500);
  });
});
