// Positional byte I/O, the only way the quantizer touches files, so Node files, Deno files and
// browser File/OPFS can all sit behind it.

export interface ByteSource {
  /** what error messages call it (usually the path) */
  readonly name: string;
  /** total bytes */
  readonly size: number;
  /** Fills dst entirely from `position`; throws when the source ends early. */
  readInto(dst: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
}

export interface ByteSink {
  readonly name: string;
  /** Writes all of data at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Flushes and makes the output visible under its final name. */
  commit(): Promise<void>;
  /** Removes everything written; the final name is left untouched. */
  abort(): Promise<void>;
}
