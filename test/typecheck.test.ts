// The whole project type-checks: src and bin (which the build compiles) and also the tests,
// benchmarks, scripts and the web page, which tsx and vite run without checking types.

import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

it.each(["tsconfig.check.json", "web/tsconfig.json"])("tsc -p %s reports no error", (project) => {
  const res = spawnSync(process.execPath, [tsc, "-p", project], { cwd: root, encoding: "utf8" });
  expect(res.stdout + res.stderr).toBe("");
  expect(res.status).toBe(0);
}, 180_000);
