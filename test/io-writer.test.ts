// src/io/node.ts's Writer: the output is flushed to the disk in the background as it grows, one
// flush at a time, and a failed background flush fails the commit instead of vanishing.

import type { FileHandle } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { Writer } from "../src/io/node.js";

const MiB = 1048576;

/** A file handle that records calls; datasync settles when the test says so. */
function fakeHandle(datasyncFails = false) {
  const calls: string[] = [];
  const flushes: Array<() => void> = [];
  const fh = {
    async write(_data: Uint8Array, _off: number, length: number) { calls.push("write"); return { bytesWritten: length }; },
    datasync() {
      calls.push("datasync");
      return new Promise<void>((resolve, reject) => flushes.push(() => (datasyncFails ? reject(Object.assign(new Error("EIO: i/o error"), { code: "EIO" })) : resolve())));
    },
    async sync() { calls.push("sync"); },
  };
  return { fh: fh as unknown as FileHandle, calls, flushes };
}

describe("Writer", () => {
  const chunk = new Uint8Array(16 * MiB);

  it("starts a flush every 64 MiB written, never two at once, and syncs at the end", async () => {
    const { fh, calls, flushes } = fakeHandle();
    const w = new Writer(fh, "out.gguf");
    for (let i = 0; i < 4; i++) await w.write(chunk, i * chunk.length);
    expect(calls.filter((c) => c === "datasync")).toHaveLength(1);
    // 64 MiB more while the first flush is still running: no second flush
    for (let i = 4; i < 8; i++) await w.write(chunk, i * chunk.length);
    expect(calls.filter((c) => c === "datasync")).toHaveLength(1);
    flushes[0]();
    await new Promise((r) => setTimeout(r, 0));
    await w.write(chunk, 8 * chunk.length);
    expect(calls.filter((c) => c === "datasync")).toHaveLength(2);
    const done = w.sync();
    flushes[1]();
    await done;
    expect(calls.at(-1)).toBe("sync");
  });

  it("a background flush that failed fails the final sync", async () => {
    const { fh, calls, flushes } = fakeHandle(true);
    const w = new Writer(fh, "out.gguf");
    for (let i = 0; i < 4; i++) await w.write(chunk, i * chunk.length);
    flushes[0]();
    await expect(w.sync()).rejects.toThrow(/EIO/);
    expect(calls).not.toContain("sync");
  });

  it("short writes are continued at the right position", async () => {
    const seen: Array<[number, number, number]> = [];
    const fh = {
      async write(_d: Uint8Array, off: number, length: number, position: number) { seen.push([off, length, position]); return { bytesWritten: Math.min(length, 3) }; },
      datasync: async () => {},
      sync: async () => {},
    } as unknown as FileHandle;
    await new Writer(fh, "out.gguf").write(new Uint8Array(7), 100);
    expect(seen).toEqual([[0, 7, 100], [3, 4, 103], [6, 1, 106]]);
  });
});
