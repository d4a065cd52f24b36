// The fuzz loop shared by the bounded run in the test suite and the long run of scripts/fuzz.ts:
// case i of a run with seed S mutates seed file (i mod seeds) with Rng(S + i), so any case can be
// reproduced; failures come back with the input bytes, to be saved as regression fixtures.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../support/random.js";
import { mutate } from "./mutate.js";
import type { Target } from "./targets.js";

export interface Failure {
  target: string;
  /** which seed and rng seed made it */
  origin: string;
  problem: string;
  input: Uint8Array;
}

export interface LoopOptions {
  /** run this many cases ... */
  cases?: number;
  /** ... or until this time (Date.now()) */
  until?: number;
  /** first Rng seed */
  seed?: number;
  /** ms a case may take before it counts as a hang (asynchronous hangs only; scripts/fuzz.ts watches for synchronous ones) */
  timeoutMs?: number;
  /** called before each case (the long run's watchdog keeps a copy of the input) */
  beforeCase?(input: Uint8Array): void;
  /** stop after this many failures (default: go on) */
  maxFailures?: number;
}

export interface LoopResult { cases: number; failures: Failure[]; ms: number }

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<"timeout">((resolve) => { timer = setTimeout(() => resolve("timeout"), ms); })]).finally(() => clearTimeout(timer));
}

export async function fuzz(target: Target, opts: LoopOptions): Promise<LoopResult> {
  const seeds = target.seeds();
  const failures: Failure[] = [];
  const seen = new Set<string>();
  const t0 = Date.now();
  const base = opts.seed ?? 1;
  let i = 0;
  for (; opts.cases !== undefined ? i < opts.cases : Date.now() < (opts.until ?? 0); i++) {
    const seed = seeds[i % seeds.length];
    // every 16th case runs a seed unchanged: valid files must pass
    const input = i % 16 === 0 ? seed.bytes : mutate(new Rng(base + i), seed, seeds);
    opts.beforeCase?.(input);
    let problem: string | undefined;
    try {
      const r = await withTimeout(target.run(input), opts.timeoutMs ?? 20_000);
      problem = r === "timeout" ? `hang: no answer after ${opts.timeoutMs ?? 20_000} ms` : r;
    } catch (e) {
      problem = `the harness threw: ${(e as Error)?.stack ?? e}`;
    }
    if (problem === undefined) continue;
    // one fixture per kind of problem (messages without numbers and quoted names)
    const kind = problem.replace(/"[^"]*"|'[^']*'|\d+/g, "#").slice(0, 160);
    if (seen.has(kind)) continue;
    seen.add(kind);
    failures.push({ target: target.name, origin: `${seed.name} rng ${base + i}`, problem, input });
    if (opts.maxFailures !== undefined && failures.length >= opts.maxFailures) { i++; break; }
  }
  return { cases: i, failures, ms: Date.now() - t0 };
}

/** Where the saved inputs of a target live. */
export const fixtureDir = (target: string) => new URL(`../fixtures/fuzz/${target}/`, import.meta.url).pathname;

export const fixtureName = (input: Uint8Array) => createHash("sha256").update(input).digest("hex").slice(0, 16) + ".bin";

/** The saved inputs of a target: [file name, bytes]. */
export function savedInputs(target: string): [string, Uint8Array][] {
  const d = fixtureDir(target);
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((f) => f.endsWith(".bin")).sort().map((f) => [f, new Uint8Array(readFileSync(join(d, f)))]);
}
