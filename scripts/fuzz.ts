// Long fuzz runs: npm run fuzz -- --minutes N [--target NAME[,NAME]] [--seed S] [--no-save]
//
// Splits N minutes between the targets of test/fuzz/targets.ts, in 30-second turns, mutating
// their seeds with test/fuzz/mutate.ts. Each new kind of failure is saved as a regression input,
// test/fixtures/fuzz/<target>/<sha256 prefix>.bin with the problem beside it (.txt); the test suite
// replays every saved input (test/fuzz/fuzz.test.ts). A watchdog thread catches synchronous hangs
// (a loop that never yields): after 60 s without progress it saves the input in flight and kills
// the process. Run it niced on a shared machine: nice -n 10 npm run fuzz -- --minutes 10.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { allTargets, outcomes, type Target } from "../test/fuzz/targets.js";
import { fixtureDir, fixtureName, fuzz, type Failure } from "../test/fuzz/loop.js";

function args(argv: string[]) {
  const o = { minutes: 1, targets: [] as string[], seed: Date.now() % 1e9, save: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--minutes") o.minutes = Number(argv[++i]);
    else if (a === "--target") o.targets.push(...argv[++i].split(","));
    else if (a === "--seed") o.seed = Number(argv[++i]);
    else if (a === "--no-save") o.save = false;
    else throw new Error(`unknown argument ${a} (use --minutes N, --target NAME, --seed S, --no-save)`);
  }
  if (!(o.minutes > 0)) throw new Error("--minutes must be a positive number");
  return o;
}

function save(f: Failure): string {
  const dir = fixtureDir(f.target);
  mkdirSync(dir, { recursive: true });
  const name = fixtureName(f.input);
  writeFileSync(join(dir, name), f.input);
  writeFileSync(join(dir, name.replace(/\.bin$/, ".txt")), `${f.problem}\nfound by scripts/fuzz.ts from ${f.origin}\n`);
  return join(dir, name);
}

/** A thread that kills the process (after saving the input) when the fuzz loop stops making progress. */
function watchdog(limitMs: number, names: readonly string[]): { beat(target: number, input: Uint8Array): void; stop(): void } {
  const MAX = 16 << 20;
  const shared = new SharedArrayBuffer(16 + MAX);
  const header = new Int32Array(shared, 0, 4); // [beats, input length, target index]
  const data = new Uint8Array(shared, 16);
  const code = `
    const { workerData } = require("node:worker_threads");
    const fs = require("node:fs"), path = require("node:path"), crypto = require("node:crypto");
    const h = new Int32Array(workerData.shared, 0, 4), d = new Uint8Array(workerData.shared, 16);
    let last = -1, since = Date.now();
    setInterval(() => {
      const beats = Atomics.load(h, 0);
      if (beats !== last) { last = beats; since = Date.now(); return; }
      if (Date.now() - since < workerData.limitMs) return;
      const input = d.slice(0, Atomics.load(h, 1));
      const target = workerData.names[Atomics.load(h, 2)];
      const dir = path.join(workerData.root, target);
      fs.mkdirSync(dir, { recursive: true });
      const name = crypto.createHash("sha256").update(input).digest("hex").slice(0, 16);
      fs.writeFileSync(path.join(dir, name + ".bin"), input);
      fs.writeFileSync(path.join(dir, name + ".txt"), "hang: no progress for " + workerData.limitMs + " ms\\nfound by scripts/fuzz.ts (watchdog)\\n");
      process.stderr.write("fuzz: " + target + ": HANG, input saved as " + name + ".bin\\n");
      process.kill(process.pid, "SIGKILL");
    }, 1000);`;
  let worker: Worker | undefined;
  return {
    beat(target, input) {
      if (!worker) {
        worker = new Worker(code, { eval: true, workerData: { shared, limitMs, names, root: fixtureDir("x").replace(/x\/$/, "") } });
        worker.unref();
      }
      const n = Math.min(input.length, MAX);
      data.set(input.subarray(0, n));
      Atomics.store(header, 1, n);
      Atomics.store(header, 2, target);
      Atomics.add(header, 0, 1);
    },
    stop() { void worker?.terminate(); },
  };
}

async function main() {
  const o = args(process.argv.slice(2));
  const all = allTargets();
  const chosen: Target[] = o.targets.length === 0 ? all : o.targets.map((n) => {
    const t = all.find((x) => x.name === n);
    if (!t) throw new Error(`unknown target ${n} (one of: ${all.map((x) => x.name).join(", ")})`);
    return t;
  });
  const dog = watchdog(60_000, chosen.map((t) => t.name));
  const end = Date.now() + o.minutes * 60_000;
  const perTarget = (o.minutes * 60_000) / chosen.length;
  const stats = new Map(chosen.map((t) => [t.name, { cases: 0, ms: 0, failures: 0 }]));
  let seed = o.seed;
  let peakRss = 0;
  console.log(`fuzz: ${chosen.map((t) => t.name).join(", ")} for ${o.minutes} min (seed ${o.seed})`);
  while (Date.now() < end) {
    for (const [ti, t] of chosen.entries()) {
      const s = stats.get(t.name)!;
      if (s.ms >= perTarget || Date.now() >= end) continue;
      const turn = Math.min(30_000, perTarget - s.ms, end - Date.now());
      const r = await fuzz(t, {
        until: Date.now() + turn, seed, timeoutMs: 30_000,
        beforeCase: (input) => dog.beat(ti, input),
      });
      seed += r.cases;
      s.cases += r.cases;
      s.ms += r.ms;
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      for (const f of r.failures) {
        s.failures++;
        const where = o.save ? save(f) : "(not saved)";
        console.log(`fuzz: ${t.name}: ${f.problem}\n      from ${f.origin} -> ${where}`);
      }
    }
    if ([...stats.values()].every((s) => s.ms >= perTarget)) break;
  }
  dog.stop();
  for (const t of chosen) t.close?.();
  console.log("\n| target | cases | seconds | cases/s | new failures |\n|---|---:|---:|---:|---:|");
  for (const [name, s] of stats) console.log(`| ${name} | ${s.cases} | ${(s.ms / 1000).toFixed(0)} | ${(s.cases / Math.max(s.ms / 1000, 1e-3)).toFixed(0)} | ${s.failures} |`);
  console.log("\nhow cases ended:");
  for (const [name, m] of outcomes) console.log(`  ${name}: ${[...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  console.log(`\npeak RSS ${(peakRss / 1048576).toFixed(0)} MiB; seeds ${o.seed}..${seed - 1}`);
  process.exitCode = [...stats.values()].some((s) => s.failures > 0) ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exit(2); });
