// ggml_quantize_chunk in a child process (test/support/oracle-child.ts), for rows on which llama.cpp
// aborts the process (the IQ grid searches' GGML_ASSERTs): the test process survives and sees how
// the child ended.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface ChunkResult {
  /** the bytes, when the call returned */
  bytes?: Uint8Array;
  /** the signal that ended the child (SIGABRT for a failed GGML_ASSERT) */
  signal?: string;
  stderr: string;
}

const base64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

export function quantizeChunkIsolated(type: number, rows: Float32Array, n: number, imatrix?: Float32Array): ChunkResult {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "test", "support", "oracle-child.ts")], {
    cwd: root, input: JSON.stringify({ type, n, rows: base64(rows), imatrix: imatrix && base64(imatrix) }), encoding: "utf8", maxBuffer: 256 << 20,
    env: { ...process.env, GGML_NO_BACKTRACE: "1" }, // ggml_abort would otherwise attach gdb for a backtrace
  });
  const line = r.stdout.trim();
  return { bytes: r.status === 0 && line ? new Uint8Array(Buffer.from(line, "base64")) : undefined, signal: r.signal ?? undefined, stderr: r.stderr };
}
