// Where the Deno binary is: the npm package `deno` (a devDependency) ships it in a per-platform
// package (@deno/linux-x64-glibc, ...), which needs no install script; a `deno` on PATH also does.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

function platformPackage(): string {
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  if (process.platform === "linux") return `@deno/linux-${arch}-glibc`;
  return `@deno/${process.platform}-${arch}`;
}

/** The path of a working deno binary, or why there is none. */
export function findDeno(): { path: string } | { missing: string } {
  const candidates: string[] = [];
  try {
    candidates.push(join(dirname(require.resolve(`${platformPackage()}/package.json`)), process.platform === "win32" ? "deno.exe" : "deno"));
  } catch { /* not installed for this platform */ }
  candidates.push("deno");
  for (const path of candidates) {
    if (path !== "deno" && !existsSync(path)) continue;
    try {
      execFileSync(path, ["--version"], { stdio: "ignore" });
      return { path };
    } catch { /* try the next */ }
  }
  return { missing: `no deno binary: neither ${platformPackage()} (installed with the devDependency "deno" by npm ci) nor a deno on PATH` };
}
