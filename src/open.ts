// Opening a model through any ByteSource: one file, or every shard of a split model when given its
// first shard (the others are opened by name with the caller's opener: a path in Node and Deno, a
// picked File's name in a browser). The checks are llama_model_loader's, in its order.

import { QuantizeError } from "./errors.js";
import { getI32, getU16, readGgufHeader, type GgufHeader } from "./gguf/read.js";
import { filterImatrix, loadImatrix, type ImatrixFilter } from "./imatrix.js";
import type { ByteSource } from "./io/types.js";
import type { Plan, PlanOptions } from "./plan.js";

/** Opens a file by name (a path, or the name of a picked file). */
export type Opener = (name: string) => Promise<ByteSource>;

export interface OpenedModel {
  /** one per shard, in shard order */
  readonly sources: ByteSource[];
  readonly headers: GgufHeader[];
}

/** llama_split_path: `<prefix>-%05d-of-%05d.gguf` with a 1-based shard number. */
export function splitPath(prefix: string, index: number, count: number): string {
  return `${prefix}-${String(index + 1).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.gguf`;
}

/** The output names of a plan: `output`, or with --keep-split one shard name per file. */
export function outputNames(plan: Plan, output: string): string[] {
  return plan.files.map((_, f) => (plan.split ? splitPath(output, f, plan.files.length) : output));
}

/** Reads the header of `first` and, for a split model, opens and checks every other shard. On
 *  failure every source opened here is closed (`first` included). */
export async function openShards(first: ByteSource, open: Opener): Promise<OpenedModel> {
  const input = first.name;
  const sources: ByteSource[] = [first];
  const headers: GgufHeader[] = [];
  try {
    headers.push(await readGgufHeader(first));
    const count = getU16(headers[0], "split.count") ?? 0;
    if (count > 1) {
      // llama_model_loader's get_key: both keys are required in a split model's first file
      const no = getU16(headers[0], "split.no");
      if (no === undefined) throw new QuantizeError("BAD_FILE", `${input}: key not found in model: split.no`);
      if (no !== 0) throw new QuantizeError("BAD_FILE", `${input}: illegal split file idx: ${no}, the model must be given by its first split`);
      const m = /^(.*)-00001-of-(\d{5})\.gguf$/.exec(input);
      if (!m || Number(m[2]) !== count) throw new QuantizeError("BAD_FILE", `${input}: a model split in ${count} files must be named <prefix>-00001-of-${String(count).padStart(5, "0")}.gguf`);
      for (let i = 1; i < count; i++) {
        const path = splitPath(m[1], i, count);
        const src = await open(path);
        sources.push(src);
        const h = await readGgufHeader(src);
        const idx = getU16(h, "split.no");
        if (idx === undefined) throw new QuantizeError("BAD_FILE", `${path}: missing key split.no in GGUF split`);
        if (idx !== i) throw new QuantizeError("BAD_FILE", `${path}: invalid split file idx: ${idx}, expected ${i}`);
        headers.push(h);
      }
      const expected = getI32(headers[0], "split.tensors.count");
      if (expected === undefined) throw new QuantizeError("BAD_FILE", `${input}: key not found in model: split.tensors.count`);
      const found = headers.reduce((a, h) => a + h.tensors.length, 0);
      if (expected !== found) throw new QuantizeError("BAD_FILE", `${input}: corrupted model: ${expected} tensors expected but ${found} found`);
    }
    return { sources, headers };
  } catch (e) {
    await Promise.all(sources.map((s) => s.close()));
    throw e;
  }
}

/** Loads an importance matrix and applies --include-weights / --exclude-weights; undefined when
 *  filtering leaves nothing (llama-quantize then passes no imatrix at all). Closes `src`. */
export async function openImatrix(src: ByteSource, filter: ImatrixFilter = {}): Promise<PlanOptions["imatrix"]> {
  try {
    const loaded = filterImatrix(await loadImatrix(src), filter);
    return loaded.entries.size > 0 ? { data: loaded, path: src.name } : undefined;
  } finally {
    await src.close();
  }
}
