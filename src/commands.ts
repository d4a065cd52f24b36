// The subcommands beside llama-quantize's command line:
//   gguf-quantize stats --imatrix FILE [IN.gguf] [--json] [--chart FILE.svg|.html]
//   gguf-quantize recommend IN.gguf --imatrix FILE (--target-bpw B | --target-size SIZE) [--types LIST]
//                 [--pin REGEX=TYPE] [--base PRESET] [--sample-rows N] [-t N] -o RECIPE [--json]
// cli.ts dispatches here when the first positional argument is literally the subcommand's name.

import { Command, Option } from "commander";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { CliIo } from "./cli.js";
import { ERRORS, QuantizeError } from "./errors.js";
import { PRESETS, parsePreset } from "./ftypes.js";
import { openSource } from "./io/node.js";
import { loadImatrix } from "./imatrix.js";
import { allowsQuantization } from "./policy.js";
import { makePlan } from "./plan.js";
import { analyze, checkBase, fileBytes, recommend, reportLines, type Target } from "./recommend.js";
import { parseCustomQ, parseTypeName, type Rule } from "./rules.js";
import { loadImatrixFile, openModel } from "./run.js";
import { imatrixStatistics, statsJson, statsSvg, statsTable } from "./stats.js";
import { typeName } from "./types.js";

export const SUBCOMMANDS = ["stats", "recommend"];

const usage = (msg: string): never => {
  throw new QuantizeError("USAGE", msg);
};

function program(name: string, io: CliIo): Command {
  return new Command(`gguf-quantize ${name}`)
    .exitOverride()
    .configureOutput({ writeErr: (s) => io.stderr(s), writeOut: (s) => io.stdout(s) })
    .addOption(new Option("--verbose", "show stack traces on errors").hideHelp());
}

/** Parses; returns an exit status when commander handled it (help, usage error). */
function parse(p: Command, argv: string[]): number | undefined {
  try {
    p.parse(argv, { from: "user" });
    return undefined;
  } catch (e) {
    if (e instanceof QuantizeError) throw e;
    const code = (e as { exitCode?: number }).exitCode ?? 1;
    return (e as { code?: string }).code === "commander.helpDisplayed" || code === 0 ? 0 : ERRORS.USAGE;
  }
}

export async function runSubcommand(name: string, argv: string[], io: CliIo): Promise<number> {
  return name === "stats" ? stats(argv, io) : recommendCommand(argv, io);
}

// ---- stats ----

async function stats(argv: string[], io: CliIo): Promise<number> {
  const p = program("stats", io)
    .usage("--imatrix FILE [model.gguf] [--json] [--chart FILE]")
    .description("Importance-matrix statistics per tensor and per layer, as llama-imatrix --show-statistics prints them")
    .argument("[model]", "a model: also lists its weights the imatrix lacks, and entries for no weight")
    .requiredOption("--imatrix <file>", "the importance matrix (GGUF or legacy .dat)")
    .option("--json", "print JSON instead of the tables")
    .option("--chart <file>", "write a chart by layer: SVG, or HTML when the name ends in .html");
  const code = parse(p, argv);
  if (code !== undefined) return code;
  const o = p.opts();
  const src = await openSource(o.imatrix);
  let im;
  try {
    im = await loadImatrix(src, { raw: true, requireMetadata: false });
  } finally {
    await src.close();
  }
  const s = imatrixStatistics(im.raw!);
  const coverage = p.args[0] ? await modelCoverage(p.args[0], im.entries) : undefined;
  if (o.json) {
    io.stdout(JSON.stringify(statsJson(s, o.imatrix, coverage ? { model: coverage } : {}), null, 1) + "\n");
  } else {
    io.stdout(statsTable(s, o.imatrix));
    if (coverage) {
      for (const n of coverage.missing) io.stdout(`warning: ${p.args[0]}: no imatrix entry for ${n}\n`);
      for (const n of coverage.unused) io.stdout(`warning: imatrix entry ${n} matches no weight of ${p.args[0]}\n`);
      for (const m of coverage.mismatched) io.stdout(`warning: imatrix entry ${m.name} has ${m.values} values, the weight needs ${m.expected}\n`);
    }
  }
  if (o.chart) {
    const svg = statsSvg(s, `imatrix statistics: ${o.imatrix}`);
    writeFileSync(o.chart, /\.html?$/i.test(o.chart)
      ? `<!doctype html>\n<html><head><meta charset="utf-8"><title>imatrix statistics</title></head><body>\n${svg}</body></html>\n`
      : svg);
    if (!o.json) io.stderr(`stats: wrote the chart to ${o.chart}\n`);
  }
  return 0;
}

/** Which quantizable weights of a model the imatrix covers. */
async function modelCoverage(path: string, entries: ReadonlyMap<string, Float32Array>) {
  const { sources, headers } = await openModel(path);
  await Promise.all(sources.map((s) => s.close()));
  const weights = headers.flatMap((h) => h.tensors).filter((t) => allowsQuantization(t, { ftype: 0 }));
  const names = new Set(weights.map((t) => t.name));
  const missing: string[] = [], mismatched: { name: string; values: number; expected: number }[] = [];
  for (const t of weights) {
    const v = entries.get(t.name);
    const expected = t.ne[0] * (t.ne[2] ?? 1);
    if (!v) missing.push(t.name);
    else if (v.length !== expected) mismatched.push({ name: t.name, values: v.length, expected });
  }
  return { weights: weights.length, missing, unused: [...entries.keys()].filter((n) => !names.has(n)), mismatched };
}

// ---- recommend ----

/** A size: bytes, with K/M/G (KiB/MiB/GiB, powers of 1024) or KB/MB/GB (powers of 1000), or a preset name (its size). */
export function parseSize(s: string): number | { preset: string } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$/.exec(s);
  if (m) {
    const unit = m[2].toUpperCase();
    const base = m[3] && !/^i/i.test(m[3]) && unit ? 1000 : 1024;
    const n = Number(m[1]) * base ** " KMGT".indexOf(unit || " ");
    if (Number.isFinite(n) && n > 0) return Math.floor(n);
  }
  const preset = PRESETS.find((p) => p.name === s.toUpperCase());
  if (preset) return { preset: preset.name };
  return usage(`--target-size: '${s}' is not a size (bytes, 4.5G, 4700MB, 4.5GiB) or a preset name`);
}

async function recommendCommand(argv: string[], io: CliIo): Promise<number> {
  const p = program("recommend", io)
    .usage("model.gguf --imatrix FILE (--target-bpw B | --target-size SIZE) -o RECIPE [options]")
    .description("Choose per-tensor types that minimise the imatrix-weighted quantization error within a size, as a recipe for --recipe")
    .argument("<model>", "the model to quantize (f32/f16/bf16 weights)")
    .requiredOption("--imatrix <file>", "the importance matrix: weights the error and goes into the recipe (@imatrix)")
    .option("--target-bpw <bits>", "bits per weight, as llama-quantize reports them (tensor bytes * 8 / weights)")
    .option("--target-size <size>", "output file size: bytes, 4.5G (GiB), 4700MB, or a preset name for that preset's size")
    .option("--types <list>", "candidate types, comma-separated (default: every quantized type with a kernel that a preset uses)")
    .option("--pin <regex=type,...>", "keep the tensors a rule matches at its type (first match wins; repeatable)",
      (v: string, acc: Rule[] | undefined) => [...(acc ?? []), ...parseCustomQ(v, "--pin")])
    .option("--base <preset>", "the recipe's @preset (sets general.file_type; default: the preset nearest in size)")
    .option("--sample-rows <n>", "rows measured per tensor at most (evenly spaced; default 256)")
    .option("-o, --output <recipe>", "where to write the recipe")
    .option("-t, --threads <n>", "worker threads measuring tensors (default: one per core); the result never depends on it")
    .option("--json", "print the result as JSON")
    .option("--quiet", "no progress lines");
  const code = parse(p, argv);
  if (code !== undefined) return code;
  const o = p.opts();
  if (!o.output) usage("recommend: -o RECIPE is required");
  if ((o.targetBpw === undefined) === (o.targetSize === undefined)) usage("recommend: give one of --target-bpw and --target-size");
  const types = o.types !== undefined ? [...new Set((o.types as string).split(",").map((t) => t.trim()).filter((t) => t).map((t) => parseTypeName(t, "--types")))] : undefined;
  const base = o.base !== undefined ? parsePreset(o.base) ?? usage(`--base: unknown preset '${o.base}'`) : undefined;
  if (base) checkBase(base);
  const sampleRows = o.sampleRows !== undefined ? Number(o.sampleRows) : undefined;
  if (sampleRows !== undefined && !(Number.isInteger(sampleRows) && sampleRows > 0)) usage(`--sample-rows: '${o.sampleRows}' is not a positive integer`);
  let bpw: number | undefined;
  if (o.targetBpw !== undefined) {
    bpw = Number(o.targetBpw);
    if (!(Number.isFinite(bpw) && bpw > 0)) usage(`--target-bpw: '${o.targetBpw}' is not a positive number`);
  }
  const size = o.targetSize !== undefined ? parseSize(o.targetSize) : undefined;
  const threads = o.threads !== undefined ? Number(o.threads) : availableParallelism();
  if (!(Number.isInteger(threads) && threads > 0)) usage(`--threads: '${o.threads}' is not a positive integer`);

  const imatrix = await loadImatrixFile(o.imatrix);
  if (!imatrix) usage(`${o.imatrix}: the importance matrix has no entries`);
  const input = p.args[0];
  const { sources, headers } = await openModel(input);
  let a;
  let target: Target;
  try {
    if (bpw !== undefined) target = { bpw };
    else if (typeof size === "number") target = { bytes: size };
    else {
      const preset = parsePreset(size!.preset)!;
      try {
        target = { bytes: fileBytes(makePlan(headers, input, { ftype: preset.ftype, imatrix })) };
      } catch (e) {
        return usage(`--target-size ${preset.name}: that preset cannot be planned for ${input}: ${(e as Error).message}`);
      }
    }
    const progress = (done: number, total: number) => {
      if (o.quiet) return;
      if (io.isTTY) io.stderr(`\r\x1b[2Krecommend: measured ${done}/${total} tensors${done === total ? "\n" : ""}`);
      else if (done > 0) io.stderr(`recommend: measured ${done}/${total} tensors\n`);
    };
    a = await analyze({
      input, headers, sources, paths: sources.map((s) => s.name), threads, imatrix: imatrix!, types, sampleRows, pins: o.pin, target,
      onProgress: progress, log: o.quiet ? undefined : (l) => io.stderr(l + "\n"),
    });
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
  const r = recommend(a, target, base);
  writeFileSync(o.output, r.recipe);
  if (o.json) {
    io.stdout(JSON.stringify({
      model: input, imatrix: o.imatrix, target, recipe: o.output,
      recommended: {
        bytes: r.bytes, bpw: r.bpw, error: r.error, base: r.base.name,
        tensors: a.items.map((i, k) => ({ name: a.probe.tensors[i].name, type: typeName(r.types[k]), error: a.errors[k].get(r.types[k]) })),
      },
      presets: a.presets.map((pt) => ({ name: pt.preset.name, bytes: pt.bytes, bpw: pt.bpw, error: pt.error ?? null })),
    }, null, 1) + "\n");
  } else {
    io.stdout(reportLines(a, r).join("\n") + `\nrecommend: wrote ${o.output}\n`);
  }
  return 0;
}
