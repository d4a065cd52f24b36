// The library for Deno: src/index.ts plus Deno files (src/io/deno.ts), under the same names as
// the Node entry's, so a script written for one runs in the other. (The command line runs in Deno
// too: `deno run -A bin/gguf-quantize.ts`, through Deno's Node compatibility.)

import { denoSource } from "./io/deno.js";
import { openModel, type Model } from "./index.js";

export * from "./index.js";
export { denoSource as fileSource, denoSink as fileSink } from "./io/deno.js";

/** Opens a model file by path (a split model by its first shard; the others are found beside it). */
export async function openModelFile(path: string): Promise<Model> {
  return openModel(await denoSource(path), denoSource);
}
