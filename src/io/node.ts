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

/** Bytes written between two background flushes (see Writer). */
const FLUSH_EVERY = 64 * 1048576;

/** Positional writes to one file handle, with the file's data flushed to the disk in the
 *  background as it grows. The output is fsync'ed before it is renamed into place (a crash must not
 *  leave a file with holes under the final name); done only at the end, that sync finds the whole
 *  output still in the page cache and the run waits for the disk to take all of it (0.45 s of a
 *  1.2 s Q8_0 run on 850 MB). Flushing every FLUSH_EVERY bytes on an I/O thread lets the disk work
 *  while the kernels do, and keeps the dirty pages of a huge output bounded too. */
export class Writer {
  private pending = 0;
  private flushing: Promise<void> | undefined;
  private failure: unknown;

  constructor(private readonly fh: FileHandle, private readonly name: string) {}

  /** Writes all of data at position (positional writes may be short). */
  async write(data: Uint8Array, position: number): Promise<void> {
    try {
      let done = 0;
      while (done < data.byteLength) {
        const { bytesWritten } = await this.fh.write(data, done, data.byteLength - done, position + done);
        done += bytesWritten;
      }
    } catch (e) {
      throw new QuantizeError("IO", `${this.name}: write failed: ${errCode(e)}`, { cause: e });
    }
    this.pending += data.byteLength;
    if (this.pending >= FLUSH_EVERY && !this.flushing) {
      this.pending = 0;
      this.flushing = this.fh.datasync().catch((e) => { this.failure ??= e; }).finally(() => { this.flushing = undefined; });
    }
  }

  /** Waits for the background flush, then syncs what is left; a background failure is reported here. */
  async sync(): Promise<void> {
    await this.flushing;
    if (this.failure) throw this.failure;
    await this.fh.sync();
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
  const out = new Writer(fh, path);
  return {
    name: path,
    tempPath: tmp,
    write: (data, position) => out.write(data, position),
    async commit() {
      try {
        await out.sync();
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
  const out = new Writer(fh, path);
  return {
    name: path,
    write: (data, position) => out.write(data, position),
    async commit() {
      await out.sync();
      await fh.close();
    },
    async abort() {
      await fh.close().catch(() => {}); // waits for a background flush in flight
    },
  };
}
