// ByteSink on the origin private file system (OPFS), for browsers: written through a synchronous
// access handle, which only a dedicated worker may hold, so this runs in a worker (web/run-worker.ts).
// As with files, the output goes to `<name>.part` and is renamed when complete; abort() removes it,
// so a cancelled run leaves nothing behind.

import { QuantizeError } from "../errors.js";
import type { ByteSink } from "./types.js";

/** FileSystemSyncAccessHandle (typed here: the DOM library types it for workers only). */
interface SyncAccessHandle {
  write(data: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}
interface OpfsFileHandle extends FileSystemFileHandle {
  createSyncAccessHandle(): Promise<SyncAccessHandle>;
  move?(name: string): Promise<void>;
}

/** The OPFS root directory of this origin. */
export function opfsRoot(): Promise<FileSystemDirectoryHandle> {
  return navigator.storage.getDirectory();
}

/** Suffix of an output being written. */
export const PART = ".part";

export interface OpfsSink extends ByteSink {
  /** the completed output (after commit) */
  file(): Promise<File>;
}

export async function opfsSink(name: string): Promise<OpfsSink> {
  const root = await opfsRoot();
  const part = name + PART;
  let handle: SyncAccessHandle;
  let fh: OpfsFileHandle;
  try {
    fh = (await root.getFileHandle(part, { create: true })) as OpfsFileHandle;
    handle = await fh.createSyncAccessHandle();
    handle.truncate(0);
  } catch (e) {
    throw new QuantizeError("IO", `${name}: cannot create output in the browser's storage: ${(e as Error)?.message ?? e}`, { cause: e });
  }
  let open = true;
  const close = () => { if (open) { open = false; handle.close(); } };
  return {
    name,
    async write(data, position) {
      let done = 0;
      try {
        while (done < data.byteLength) done += handle.write(data.subarray(done), { at: position + done });
      } catch (e) {
        // QuotaExceededError when the origin's storage is full
        throw new QuantizeError("IO", `${name}: write failed: ${(e as Error)?.name ?? e}: ${(e as Error)?.message ?? ""}`, { cause: e });
      }
    },
    async commit() {
      handle.flush();
      close();
      await root.removeEntry(name).catch(() => {});
      if (fh.move) await fh.move(name);
      else {
        // no move(): copy through a stream (older browsers)
        const out = await (await root.getFileHandle(name, { create: true })).createWritable();
        await (await fh.getFile()).stream().pipeTo(out);
        await root.removeEntry(part);
      }
    },
    async abort() {
      close();
      await root.removeEntry(part).catch(() => {});
    },
    async file() {
      return (await root.getFileHandle(name)).getFile();
    },
  };
}
