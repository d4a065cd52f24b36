// ggml_quantize_chunk row by row in child processes, for rows on which llama.cpp may abort (the
// iq2/iq1 quantizers GGML_ASSERT on data their searches cannot place): a row that kills the child is
// reported as "abort", and a new child carries on with the next row. Slow (a process per abort);
// for a few dozen chosen rows, not for soaks.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type IsolatedRow = Uint8Array | "abort";

export function quantizeRowsIsolated(type: number, rows: Float32Array, n: number, imatrix?: Float32Array): IsolatedRow[] {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
  const nrows = rows.length / n;
  const out: IsolatedRow[] = [];
  while (out.length < nrows) {
    const r = spawnSync(process.execPath, [join(root, "test", "support", "oracle-child.mjs")], {
      cwd: root, input: JSON.stringify({ type, n, from: out.length, rows: b64(rows), imatrix: imatrix && b64(imatrix) }),
      encoding: "utf8", maxBuffer: 256 << 20,
      env: { ...process.env, GGML_NO_BACKTRACE: "1" }, // ggml_abort would otherwise attach gdb for a backtrace
    });
    const before = out.length;
    for (const l of r.stdout.split("\n")) {
      const m = /^row (\d+) ([0-9a-f]*)$/.exec(l);
      if (m && Number(m[1]) === out.length) out.push(Uint8Array.from(Buffer.from(m[2], "hex")));
    }
    if (out.length < nrows) {
      if (r.status === 0 || (r.status === 2 && out.length === before)) throw new Error(`oracle child: ${r.stderr || `exit ${r.status}`}`);
      out.push("abort");
    }
  }
  return out;
}
