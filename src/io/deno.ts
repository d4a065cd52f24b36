// ByteSource / ByteSink over Deno files (Deno.FsFile), with the Node sink's temp-then-rename
// behaviour: output goes to `<final>.tmp-<pid>` and is renamed into place by commit().
// A Deno file has one cursor (seek, then read or write), so the operations on one file are
// queued one after another.

import { QuantizeError } from "../errors.js";
import type { ByteSink, ByteSource } from "./types.js";

/** The few members of Deno's API used here (the project is type-checked without Deno's types). */
interface DenoFile {
  seek(offset: number | bigint, whence: number): Promise<number>;
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  syncData(): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): void;
}
interface DenoApi {
  open(path: string, options: { read?: boolean; write?: boolean; create?: boolean; truncate?: boolean }): Promise<DenoFile>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  readonly pid: number;
  readonly SeekMode: { Start: number };
}

function deno(): DenoApi {
  const d = (globalThis as { Deno?: DenoApi }).Deno;
  if (!d) throw new Error("src/io/deno.ts needs the Deno runtime");
  return d;
}

const reason = (e: unknown) => (e as Error)?.name && (e as Error).name !== "Error" ? (e as Error).name : (e as Error)?.message ?? String(e);

/** Runs file operations one at a time, in call order. */
function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(op: () => Promise<T>): Promise<T> => {
    const run = tail.then(op, op);
    tail = run.catch(() => {});
    return run;
  };
}

export async function denoSource(path: string): Promise<ByteSource> {
  const D = deno();
  let f: DenoFile;
  try {
    f = await D.open(path, { read: true });
  } catch (e) {
    throw new QuantizeError("IO", `${path}: cannot open: ${reason(e)}`);
  }
  const { size } = await f.stat();
  const queue = serial();
  return {
    name: path,
    size,
    readInto: (dst, position) => queue(async () => {
      await f.seek(position, D.SeekMode.Start);
      let done = 0;
      while (done < dst.byteLength) {
        const n = await f.read(dst.subarray(done));
        if (n === null || n === 0) throw new QuantizeError("BAD_FILE", `${path}: unexpected end of file at byte ${position + done} (needed ${dst.byteLength - done} more bytes)`);
        done += n;
      }
    }),
    close: async () => f.close(),
  };
}

export async function denoSink(path: string): Promise<ByteSink> {
  const D = deno();
  const tmp = `${path}.tmp-${D.pid}`;
  let f: DenoFile;
  try {
    f = await D.open(tmp, { write: true, create: true, truncate: true });
  } catch (e) {
    throw new QuantizeError("IO", `${path}: cannot create output: ${reason(e)}`);
  }
  const queue = serial();
  let closed = false;
  return {
    name: path,
    write: (data, position) => queue(async () => {
      try {
        await f.seek(position, D.SeekMode.Start);
        let done = 0;
        while (done < data.byteLength) done += await f.write(data.subarray(done));
      } catch (e) {
        throw new QuantizeError("IO", `${path}: write failed: ${reason(e)}`, { cause: e });
      }
    }),
    commit: () => queue(async () => {
      try {
        await f.syncData();
        f.close();
        closed = true;
        await D.rename(tmp, path);
      } catch (e) {
        throw new QuantizeError("IO", `${path}: write failed: ${reason(e)}`, { cause: e });
      }
    }),
    abort: () => queue(async () => {
      if (!closed) { closed = true; try { f.close(); } catch { /* already closed */ } }
      await D.remove(tmp).catch(() => {});
    }),
  };
}
