// The command line: llama-quantize's arguments over the WASM quantizer.
//   gguf-quantize [options] model-in.gguf [model-out.gguf] type [nthreads]
// A script written for llama-quantize works by changing the program name.

import { Command, Option } from "commander";
import { availableParallelism } from "node:os";
import { ERRORS, QuantizeError } from "./errors.js";
import { PRESETS, parsePreset, type Preset } from "./ftypes.js";
import { quantizeFile } from "./run.js";
import { typeByName, TYPES } from "./types.js";
import type { TypeRule } from "./policy.js";

const collect = (v: string, acc: string[]) => [...acc, v];

function presetList(): string {
  const lines = PRESETS.map((p) => (p.name !== "COPY" ? `  ${String(p.ftype).padStart(2)}  or  ` : "          ") + `${p.name.padEnd(7)} : ${p.desc}`);
  return ["", "allowed quantization types:", ...lines, ""].join("\n");
}

function usageError(msg: string): never {
  throw new QuantizeError("USAGE", msg);
}

/** parse_ggml_type: a ggml type name, case-insensitive */
function ggmlType(s: string, what: string): number {
  const ty = typeByName(s);
  if (!ty) {
    const names = TYPES.filter((t) => t.blockSize > 0).map((t) => t.name);
    usageError(`${what}: invalid ggml_type '${s}' (one of: ${names.join(", ")})`);
  }
  return ty.id;
}

/** --tensor-type NAME=TYPE: the name lowercased, compiled as an ECMAScript regex searched anywhere. */
function tensorRule(arg: string): TypeRule {
  const eq = arg.indexOf("=");
  if (eq < 0) usageError(`--tensor-type: malformed tensor type '${arg}' (expected PATTERN=TYPE)`);
  if (eq === 0) usageError(`--tensor-type '${arg}': missing tensor name`);
  if (eq === arg.length - 1) usageError(`--tensor-type '${arg}': missing quantization type`);
  const text = arg.slice(0, eq).toLowerCase();
  let regex: RegExp;
  try {
    regex = new RegExp(text);
  } catch (e) {
    usageError(`--tensor-type "${text}": invalid regex: ${(e as Error).message}`);
  }
  return { text, regex, type: ggmlType(arg.slice(eq + 1), `--tensor-type '${arg}'`) };
}

/** std::stoi */
function stoi(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 2147483647 || n < -2147483648 ? undefined : n;
}

export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
}

const processIo: CliIo = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) };

async function main(argv: string[], io: CliIo): Promise<number> {
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
    .option("--tensor-type <name=ggml_type>", "quantize tensors matching this regex to this ggml_type; first matching rule wins (repeatable)", collect, [])
    .option("--dry-run", "calculate and show the final quantization size without performing quantization")
    .addOption(new Option("--verbose", "show stack traces on errors").hideHelp())
    .addHelpText("after", presetList())
    .exitOverride()
    .configureOutput({ writeErr: (s) => io.stderr(s), writeOut: (s) => io.stdout(s) });
  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode ?? 1;
    return (e as { code?: string }).code === "commander.helpDisplayed" ? 0 : code === 0 ? 0 : ERRORS.USAGE;
  }
  const o = program.opts();
  const args = program.args;
  if (args.length < 2) usageError("bad arguments: expected model-in.gguf [model-out.gguf] type [nthreads]");
  if (o.includeWeights.length && o.excludeWeights.length) usageError("--include-weights and --exclude-weights cannot be used together");

  const input = args[0];
  let output = "";
  let preset: Preset | undefined = parsePreset(args[1]);
  let rest: string[];
  if (preset) {
    // <input> <type>: the output goes beside the input as ggml-model-<TYPE>.gguf
    const slash = Math.max(input.lastIndexOf("/"), input.lastIndexOf("\\"));
    output = `${slash >= 0 ? input.slice(0, slash + 1) : ""}ggml-model-${preset.name}.gguf`;
    rest = args.slice(2);
  } else {
    output = args[1];
    if (args.length < 3) usageError("missing ftype");
    preset = parsePreset(args[2]);
    if (!preset) usageError(`invalid ftype '${args[2]}' (see --help for the list)`);
    rest = args.slice(3);
  }
  let nthread = 0;
  if (rest.length > 0) {
    const n = stoi(rest[0]);
    if (n === undefined) usageError(`invalid nthread '${rest[0]}'`);
    nthread = n;
  }
  if (rest.length > 1) usageError(`unexpected argument '${rest[1]}'`);
  const threads = nthread > 0 ? nthread : availableParallelism();

  const say = (line: string) => io.stderr(line + "\n");
  say(o.dryRun
    ? `main: calculating quantization size for '${input}' as ${preset.name}${nthread > 0 ? ` using ${nthread} threads` : ""}`
    : `main: quantizing '${input}' to '${output}' as ${preset.name}${nthread > 0 ? ` using ${nthread} threads` : ""}`);
  const t0 = performance.now();
  await quantizeFile({
    input, output,
    ftype: preset.ftype,
    onlyCopy: preset.name === "COPY",
    pure: !!o.pure,
    leaveOutputTensor: !!o.leaveOutputTensor,
    allowRequantize: !!o.allowRequantize,
    outputTensorType: o.outputTensorType !== undefined ? ggmlType(o.outputTensorType, "--output-tensor-type") : undefined,
    tokenEmbeddingType: o.tokenEmbeddingType !== undefined ? ggmlType(o.tokenEmbeddingType, "--token-embedding-type") : undefined,
    tensorTypes: (o.tensorType as string[]).map(tensorRule),
    imatrixPath: o.imatrix,
    includeWeights: o.includeWeights,
    excludeWeights: o.excludeWeights,
    dryRun: !!o.dryRun,
    log: say,
  });
  void threads; // single-threaded for now: output never depends on the thread count
  if (!o.dryRun) {
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
