// The command line: llama-quantize's arguments over the WASM quantizer, plus ik_llama.cpp's
// --custom-q, recipe files and a JSON plan.
//   gguf-quantize [options] model-in.gguf [model-out.gguf] type [nthreads]
// A script written for llama-quantize works by changing the program name.

import { Command, Option } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { ERRORS, QuantizeError } from "./errors.js";
import { PRESETS, parsePreset, type Preset } from "./ftypes.js";
import { planJson, ruleLines } from "./format.js";
import { parseKvOverride, type KvOverride } from "./overrides.js";
import { quantizeFile } from "./run.js";
import { SUBCOMMANDS, runSubcommand } from "./commands.js";
import { effectiveRecipe, parseCustomQ, parseRecipe, parseTensorType, parseTensorTypeFile, parseTypeName, type RecipeOptions, type Rule } from "./rules.js";

function presetList(): string {
  const lines = PRESETS.map((p) => (p.name !== "COPY" ? `  ${String(p.ftype).padStart(2)}  or  ` : "          ") + `${p.name.padEnd(7)} : ${p.desc}`);
  return ["", "allowed quantization types:", ...lines, ""].join("\n");
}

const RULES_HELP = `
rule precedence (per tensor, first that applies):
  1. --token-embedding-type / --output-tensor-type, for those tensors
  2. --tensor-type / --tensor-type-file rules (llama.cpp): first match wins; the preset's mixture is skipped
  3. the preset's mixture rules (not with --pure)
  4. --custom-q / --recipe rules (ik_llama.cpp): first match wins, over 2 and 3 (not with --pure)
  5. the shape fallback, when a type's block does not divide the row`;

function usageError(msg: string): never {
  throw new QuantizeError("USAGE", msg);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    return usageError(`${what} ${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** std::stoi */
function stoi(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 2147483647 || n < -2147483648 ? undefined : n;
}

/** parse_layer_prune: comma-separated non-negative ints (stoi), sorted and deduplicated. */
function parsePrune(arg: string): number[] {
  const ids = arg.split(",").map((s) => {
    const n = stoi(s);
    if (n === undefined || n < 0) usageError(`--prune-layers: invalid layer id '${s}'`);
    return n;
  });
  return [...new Set(ids)].sort((a, b) => a - b);
}

export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  /** stderr is a terminal: show a live progress line */
  isTTY?: boolean;
  /** aborts the run (SIGINT/SIGTERM): outputs are removed, the exit status is 130 */
  signal?: AbortSignal;
}

const processIo: CliIo = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  isTTY: process.stderr.isTTY,
};

/** One `\r`-rewritten line on a terminal: percent, MB/s of source, ETA and the tensor of the job
 *  that finished last (several are in flight on several threads: one of them). */
class Progress {
  private shown = false;
  private last = 0;
  private readonly t0 = performance.now();
  constructor(private readonly io: CliIo, private readonly enabled: boolean) {}
  print(line: string) {
    this.clear();
    this.io.stderr(line + "\n");
  }
  update(done: number, total: number, tensor: string) {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 200 && done < total) return;
    this.last = now;
    const s = (now - this.t0) / 1000;
    const rate = done / 1048576 / Math.max(s, 1e-3);
    const eta = done > 0 ? (s * (total - done)) / done : 0;
    const pct = total > 0 ? (100 * done) / total : 100;
    this.io.stderr(`\r\x1b[2K${pct.toFixed(1).padStart(5)}%  ${rate.toFixed(1)} MiB/s  ETA ${Math.round(eta)} s  ${tensor}`);
    this.shown = true;
  }
  clear() {
    if (this.shown) this.io.stderr("\r\x1b[2K");
    this.shown = false;
  }
}

/** Index in argv of the first positional argument, skipping options and their values. */
export function firstPositional(argv: readonly string[], program: Command): number | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") return i + 1 < argv.length ? i + 1 : undefined;
    if (!a.startsWith("-") || a === "-") return i;
    if (!a.includes("=") && takesValue.has(a)) i++;
  }
  return undefined;
}

async function main(argv: string[], io: CliIo): Promise<number> {
  // every rule source feeds one list, so rules keep their command-line order across options
  const rules: Rule[] = [];
  const recipe: RecipeOptions = {};
  const collect = (v: string, acc: string[]) => [...acc, v];
  const program = new Command("gguf-quantize")
    .usage("[options] model-in.gguf [model-out.gguf] type [nthreads]")
    .description("Quantize a GGUF model exactly as llama.cpp's llama-quantize does (same options, same bytes).")
    .argument("<args...>", "model-in.gguf [model-out.gguf] type [nthreads]")
    .option("--allow-requantize", "allow requantizing tensors that have already been quantized")
    .option("--leave-output-tensor", "leave output.weight un(re)quantized")
    .option("--pure", "disable k-quant mixtures and quantize all tensors to the same type")
    .option("--imatrix <file>", "use data in file as importance matrix for quant optimizations (legacy .dat or GGUF)")
    .option("--include-weights <name>", "use importance matrix for this/these tensor(s) (repeatable)", collect, [])
    .option("--exclude-weights <name>", "do not use importance matrix for this/these tensor(s) (repeatable)", collect, [])
    .option("--output-tensor-type <ggml_type>", "use this ggml_type for the output.weight tensor")
    .option("--token-embedding-type <ggml_type>", "use this ggml_type for the token embeddings tensor")
    .option("--tensor-type <regex=ggml_type>", "quantize tensors matching this regex (lowercased) to this type (repeatable)",
      (v: string) => { rules.push(parseTensorType(v)); })
    .option("--tensor-type-file <file>", "--tensor-type rules from a file, separated by spaces or newlines",
      (v: string) => { rules.push(...parseTensorTypeFile(readText(v, "--tensor-type-file"), v)); })
    .option("--custom-q <regex=type,...>", "ik_llama.cpp rules: comma-separated, first match wins, after the preset's rules (repeatable)",
      (v: string) => { rules.push(...parseCustomQ(v)); })
    .option("--recipe <file>", "rules (REGEX=TYPE per line, # comments) and @preset/@imatrix/@output-tensor-type/@token-embedding-type settings",
      (v: string) => { const r = parseRecipe(readText(v, "--recipe"), v); rules.push(...r.rules); Object.assign(recipe, r.options); })
    .option("--prune-layers <L0,L1,...>", "comma-separated list of layer numbers to prune from the model")
    .option("--keep-split", "generate quantized model in the same shards as input")
    .option("--override-kv <KEY=TYPE:VALUE>", "override model metadata by key in the quantized model (TYPE: int, float, bool, str; repeatable)", collect, [])
    .option("--dry-run", "calculate and show the final quantization size without performing quantization")
    .option("--quiet", "print only errors")
    .option("--json", "with --dry-run: print the plan as JSON on stdout")
    .option("--write-recipe <file>", "with --dry-run: write the effective recipe (preset and one rule per tensor kind)")
    .addOption(new Option("--verbose", "show stack traces on errors").hideHelp())
    .addHelpText("after", RULES_HELP + "\n" + presetList())
    .exitOverride()
    .configureOutput({ writeErr: (s) => io.stderr(s), writeOut: (s) => io.stdout(s) });
  // `stats` / `recommend` only as the literal first positional: a model file named so stays
  // reachable as ./stats, and options may come before the subcommand's name
  const sub = firstPositional(argv, program);
  if (sub !== undefined && SUBCOMMANDS.includes(argv[sub])) {
    return runSubcommand(argv[sub], [...argv.slice(0, sub), ...argv.slice(sub + 1)], io);
  }
  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof QuantizeError) throw e;
    const code = (e as { exitCode?: number }).exitCode ?? 1;
    return (e as { code?: string }).code === "commander.helpDisplayed" || code === 0 ? 0 : ERRORS.USAGE;
  }
  const o = program.opts();
  const args = program.args;
  if (o.includeWeights.length && o.excludeWeights.length) usageError("--include-weights and --exclude-weights cannot be used together");
  if ((o.json || o.writeRecipe) && !o.dryRun) usageError("--json and --write-recipe go with --dry-run");

  // input [output] type [nthreads]; with a recipe that sets @preset, the type may be left out
  if (args.length < 1 || (args.length < 2 && !recipe.preset)) usageError("bad arguments: expected model-in.gguf [model-out.gguf] type [nthreads]");
  const input = args[0];
  const defaultOutput = (p: Preset) => {
    const slash = Math.max(input.lastIndexOf("/"), input.lastIndexOf("\\"));
    return `${slash >= 0 ? input.slice(0, slash + 1) : ""}ggml-model-${p.name}${o.keepSplit ? "" : ".gguf"}`;
  };
  let output = "";
  let preset: Preset | undefined = args.length > 1 ? parsePreset(args[1]) : undefined;
  let rest: string[];
  if (preset) {
    // <input> <type>: the output goes beside the input as ggml-model-<TYPE>.gguf
    output = defaultOutput(preset);
    rest = args.slice(2);
  } else if (args.length < 2) {
    preset = parsePreset(recipe.preset!)!;
    output = defaultOutput(preset);
    rest = [];
  } else {
    output = args[1];
    if (o.keepSplit && output.endsWith(".gguf")) output = output.slice(0, -5);
    if (args.length < 3 && recipe.preset) {
      preset = parsePreset(recipe.preset)!;
      rest = [];
    } else {
      if (args.length < 3) usageError("missing ftype");
      preset = parsePreset(args[2]);
      if (!preset) usageError(`invalid ftype '${args[2]}' (see --help for the list)`);
      rest = args.slice(3);
    }
  }
  let nthread = 0;
  if (rest.length > 0) {
    const n = stoi(rest[0]);
    if (n === undefined) usageError(`invalid nthread '${rest[0]}'`);
    nthread = n;
  }
  if (rest.length > 1) usageError(`unexpected argument '${rest[1]}'`);
  const threads = nthread > 0 ? nthread : availableParallelism();

  const overrides: KvOverride[] = (o.overrideKv as string[]).map(parseKvOverride);
  const outputTensorType = o.outputTensorType !== undefined ? parseTypeName(o.outputTensorType, "--output-tensor-type") : recipe.outputTensorType;
  const tokenEmbeddingType = o.tokenEmbeddingType !== undefined ? parseTypeName(o.tokenEmbeddingType, "--token-embedding-type") : recipe.tokenEmbeddingType;
  const imatrixPath: string | undefined = o.imatrix ?? recipe.imatrix;

  // llama-quantize's lines on stderr; on a terminal, a progress line kept below them
  const progress = new Progress(io, !o.quiet && !o.dryRun && !!io.isTTY);
  const say = o.quiet ? () => {} : (line: string) => progress.print(line);
  say(o.dryRun
    ? `main: calculating quantization size for '${input}' as ${preset.name}${nthread > 0 ? ` using ${nthread} threads` : ""}`
    : `main: quantizing '${input}' to '${output}' as ${preset.name}${nthread > 0 ? ` using ${nthread} threads` : ""}`);
  const t0 = performance.now();
  const plan = await quantizeFile({
    input, output,
    ftype: preset.ftype,
    onlyCopy: preset.name === "COPY",
    pure: !!o.pure,
    leaveOutputTensor: !!o.leaveOutputTensor,
    allowRequantize: !!o.allowRequantize,
    outputTensorType, tokenEmbeddingType,
    rules,
    pruneLayers: o.pruneLayers !== undefined ? parsePrune(o.pruneLayers) : undefined,
    overrides,
    keepSplit: !!o.keepSplit,
    imatrixPath,
    includeWeights: o.includeWeights,
    excludeWeights: o.excludeWeights,
    dryRun: !!o.dryRun,
    threads,
    signal: io.signal,
    log: say,
    onProgress: (done, total, tensor) => progress.update(done, total, tensor),
  });
  progress.clear();
  for (const line of ruleLines(rules, plan.ruleCounts)) say(line);
  if (o.dryRun) {
    if (o.json) io.stdout(JSON.stringify(planJson(plan, preset.name), null, 1) + "\n");
    if (o.writeRecipe) {
      try {
        writeFileSync(o.writeRecipe, effectiveRecipe(plan, preset.name, { imatrix: imatrixPath, input }));
      } catch (e) {
        throw new QuantizeError("IO", `--write-recipe ${o.writeRecipe}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      say(`main: wrote the effective recipe to ${o.writeRecipe}`);
    }
  } else if (!o.quiet) {
    const ms = performance.now() - t0;
    io.stdout(`\nmain: quantize time = ${ms.toFixed(2).padStart(8)} ms\nmain:    total time = ${ms.toFixed(2).padStart(8)} ms\n`);
  }
  return 0;
}

/** Runs the command line; returns the exit status (errors are printed as one line, never thrown). */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const verbose = argv.includes("--verbose");
  try {
    return await main(argv, io);
  } catch (e) {
    if (e instanceof QuantizeError) {
      io.stderr(`gguf-quantize: ${e.message}\n`);
      if (verbose) io.stderr(`${e.stack}\n`);
      return e.exitCode;
    }
    io.stderr(`gguf-quantize: internal error: ${(e as Error)?.message ?? e}\n`);
    if (verbose) io.stderr(`${(e as Error)?.stack}\n`);
    return 70;
  }
}
