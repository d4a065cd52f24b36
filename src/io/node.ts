// ByteSource / ByteSink over Node file handles. Output goes to `<final>.tmp-<pid>` beside the
// target and is renamed into place by commit(), so a crash never leaves a half file under the
// final name.

import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { QuantizeError } from "../errors.js";
import type { ByteSink, ByteSource } from "./types.js";

export async function openSource(path: string): Promise<ByteSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new QuantizeError("IO", `${path}: cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { size } = await fh.stat();
  return {
    name: path,
    size,
    async readInto(dst, position) {
      let done = 0;
      while (done < dst.byteLength) {
        const { bytesRead } = await fh.read(dst, done, dst.byteLength - done, position + done);
        if (bytesRead === 0) throw new QuantizeError("BAD_FILE", `${path}: unexpected end of file at byte ${position + done} (needed ${dst.byteLength - done} more bytes)`);
        done += bytesRead;
      }
    },
    close: () => fh.close(),
  };
}

/** A sink on a temporary file that other threads may open too (openSink) before it is committed. */
export interface NodeSink extends ByteSink {
  readonly tempPath: string;
}

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Writes all of data at position (positional writes may be short). */
async function writeAll(fh: FileHandle, name: string, data: Uint8Array, position: number): Promise<void> {
  try {
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await fh.write(data, done, data.byteLength - done, position + done);
      done += bytesWritten;
    }
  } catch (e) {
    throw new QuantizeError("IO", `${name}: write failed: ${errCode(e)}`, { cause: e });
  }
}

export async function createSink(path: string): Promise<NodeSink> {
  const tmp = `${path}.tmp-${process.pid}`;
  let fh: FileHandle;
  try {
    fh = await open(tmp, "w");
  } catch (e) {
    throw new QuantizeError("IO", `${path}: cannot create output: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let closed = false;
  return {
    name: path,
    tempPath: tmp,
    write: (data, position) => writeAll(fh, path, data, position),
    async commit() {
      try {
        await fh.sync();
        await fh.close();
        closed = true;
        await rename(tmp, path);
      } catch (e) {
        throw new QuantizeError("IO", `${path}: write failed: ${errCode(e)}`, { cause: e });
      }
    },
    async abort() {
      if (!closed) { closed = true; await fh.close().catch(() => {}); }
      await unlink(tmp).catch(() => {});
    },
  };
}

/** Opens a file that another thread created (createSink's tempPath) to write parts of it; commit()
 *  flushes and closes (the creator renames), abort() only closes. */
export async function openSink(path: string): Promise<ByteSink> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r+");
  } catch (e) {
    throw new QuantizeError("IO", `${path}: cannot open output: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return {
    name: path,
    write: (data, position) => writeAll(fh, path, data, position),
    async commit() {
      await fh.sync();
      await fh.close();
    },
    async abort() {
      await fh.close().catch(() => {});
    },
  };
}
