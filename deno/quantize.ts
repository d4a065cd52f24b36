// The library in Deno, on Deno files: `deno run -A deno/quantize.ts IN.gguf OUT.gguf PRESET
// [--imatrix FILE] [--tensor-type PATTERN=TYPE]... [--recipe FILE]`. A small example of
// src/deno.ts (the full command line runs in Deno too: `deno run -A bin/gguf-quantize.ts`).

import { fileSink, fileSource, openModelFile, planModel, quantize, summaryLines } from "../src/deno.ts";

declare const Deno: { args: string[]; readTextFile(path: string): Promise<string>; exit(code: number): never };

const positional: string[] = [];
const tensorTypes: string[] = [];
let imatrix: string | undefined;
let recipe: string | undefined;
for (let i = 0; i < Deno.args.length; i++) {
  const a = Deno.args[i];
  if (a === "--imatrix") imatrix = Deno.args[++i];
  else if (a === "--tensor-type") tensorTypes.push(Deno.args[++i]);
  else if (a === "--recipe") recipe = Deno.args[++i];
  else positional.push(a);
}
if (positional.length !== 3) {
  console.error("usage: deno run -A deno/quantize.ts IN.gguf OUT.gguf PRESET [--imatrix FILE] [--tensor-type P=T]... [--recipe FILE]");
  Deno.exit(1);
}
const [input, output, preset] = positional;
try {
  const model = await openModelFile(input);
  try {
    const { plan } = await planModel(model, {
      preset, tensorTypes,
      imatrix: imatrix ? await fileSource(imatrix) : undefined,
      recipe: recipe ? await Deno.readTextFile(recipe) : undefined, recipeName: recipe,
    });
    await quantize(model, plan, await fileSink(output));
    for (const line of summaryLines(plan)) console.error(line);
  } finally {
    await model.close();
  }
} catch (e) {
  console.error(`gguf-quantize: ${(e as Error).message}`);
  Deno.exit((e as { exitCode?: number }).exitCode ?? 70);
}
