// ggml_quantize_chunk in a child process (test/support/oracle-child.ts), for rows on which llama.cpp
// aborts the process (the IQ grid searches' GGML_ASSERTs): the test process survives, learns which
// rows abort, and gets the bytes of the others. The child quantizes row by row and is restarted
// after each abort, so this suits kernels whose rows are independent (every kernel of ggml_quantize_chunk).

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface IsolatedRows {
  /** each row's bytes, or undefined where llama.cpp aborted */
  rows: (Uint8Array | undefined)[];
  /** per aborted row: the signal and the GGML_ASSERT / GGML_ABORT line */
  aborts: Map<number, string>;
}

const base64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

export function quantizeRowsIsolated(type: number, rows: Float32Array, n: number, imatrix?: Float32Array): IsolatedRows {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const nrows = rows.length / n;
  const out: IsolatedRows = { rows: [], aborts: new Map() };
  while (out.rows.length < nrows) {
    const first = out.rows.length;
    const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "test", "support", "oracle-child.ts")], {
      cwd: root, encoding: "utf8", maxBuffer: 1 << 30,
      input: JSON.stringify({ type, n, rows: base64(rows.subarray(first * n)), imatrix: imatrix && base64(imatrix) }),
      env: { ...process.env, GGML_NO_BACKTRACE: "1" }, // ggml_abort would otherwise attach gdb for a backtrace
    });
    // only the child's own lines: llama.cpp printf()s to stdout before some aborts ("Oops: ...")
    for (const line of r.stdout.split("\n")) if (line.startsWith("row ")) out.rows.push(new Uint8Array(Buffer.from(line.slice(4), "base64")));
    if (r.status === 0) continue;
    if (!r.signal) throw new Error(`oracle child failed (status ${r.status}): ${r.stderr}`);
    const why = r.stderr.split("\n").find((l) => /GGML_ASSERT|GGML_ABORT|error/.test(l)) ?? "";
    out.aborts.set(out.rows.length, `${r.signal}: ${why.replace(/^.*ggml\/src\//, "")}`);
    out.rows.push(undefined);
  }
  return out;
}
