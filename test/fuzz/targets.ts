// The fuzz targets: every parser of outside input, and the whole CLI on mutated files. Each target
// has valid seeds (generated models and imatrices, the committed fixtures, hand-written rule text)
// and a runner that returns what went wrong, or undefined. "Wrong" means: an exception that is not a
// QuantizeError (a TypeError, RangeError, a failed assertion), a message of more than one line or
// one that does not name the file or option, an error code the target cannot give, an allocation
// the input does not justify ("too large to hold in memory" on a file of kilobytes), a result that
// contradicts itself (a header that reads differently in other chunk sizes, a recipe that does not
// read back, an output file we cannot read), or a file left behind.
//
// Used by test/fuzz/fuzz.test.ts (a bounded run and the saved crashes) and scripts/fuzz.ts (long runs).

import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli.js";
import { ERRORS, QuantizeError, type ErrorCode } from "../../src/errors.js";
import { readGgufHeader, type GgufHeader } from "../../src/gguf/read.js";
import { ggufBytes } from "../../src/gguf/write.js";
import { kv, ValueType } from "../../src/gguf/values.js";
import { loadImatrix, writeGgufImatrix, writeLegacyImatrix } from "../../src/imatrix.js";
import { openSource } from "../../src/io/node.js";
import { overrideKv, parseKvOverride } from "../../src/overrides.js";
import { makePlan } from "../../src/plan.js";
import { formatRecipe, parseCustomQ, parseRecipe, parseTensorType, parseTensorTypeFile } from "../../src/rules.js";
import { T } from "../../src/types.js";
import { memorySource, le } from "../support/bytes.js";
import { generateImatrix, generateModel, modelBytes, modelShards, shardName, type ModelSpec } from "../support/generate.js";
import { datFields, ggufFields } from "./fields.js";
import { text, utf8, type Seed } from "./mutate.js";

export interface Target {
  readonly name: string;
  readonly description: string;
  /** valid inputs to mutate (made once per process) */
  seeds(): Seed[];
  /** runs one input; what went wrong, or undefined */
  run(input: Uint8Array): Promise<string | undefined>;
  /** frees what run() set up (temporary directories) */
  close?(): void;
}

const fixture = (path: string) => new Uint8Array(readFileSync(new URL(`../fixtures/${path}`, import.meta.url)));

// ---- the oracle ----

/** How cases ended, per target: "ok", or the error code (for the long run's summary). */
export const outcomes = new Map<string, Map<string, number>>();
function tally(target: string, e: unknown): void {
  const m = outcomes.get(target) ?? new Map<string, number>();
  outcomes.set(target, m);
  const label = e === undefined ? "ok" : e instanceof QuantizeError ? e.code : "crash";
  m.set(label, (m.get(label) ?? 0) + 1);
}

interface Expect {
  /** the codes this input may fail with */
  codes: readonly ErrorCode[];
  /** messages must start with this (the file or the option) */
  prefix?: string;
}

/** What is wrong with how a call ended (e: what it threw, undefined when it returned). */
export function judge(e: unknown, want: Expect): string | undefined {
  if (e === undefined) return undefined;
  if (!(e instanceof QuantizeError)) {
    const err = e as Error;
    const frame = err?.stack?.split("\n").find((l) => l.includes("/src/"))?.trim() ?? "";
    return `crash: ${err?.name ?? typeof e}: ${err?.message ?? String(e)} ${frame}`;
  }
  if (/[\r\n]/.test(e.message)) return `multi-line message: ${JSON.stringify(e.message)}`;
  if (!want.codes.includes(e.code)) return `unexpected code ${e.code}: ${e.message}`;
  if (want.prefix !== undefined && !e.message.startsWith(want.prefix)) return `message does not name ${want.prefix}: ${e.message}`;
  if (/too large to hold in memory/.test(e.message)) return `allocation larger than the input justifies: ${e.message}`;
  return undefined;
}

async function outcome(f: () => unknown): Promise<unknown> {
  try { await f(); return undefined; } catch (e) { return e ?? new Error("threw undefined"); }
}

// ---- seeds ----

/** Small models of every generated architecture (headers of a few KB, data of tens of KB). */
const MODEL_SPECS: ModelSpec[] = [
  { nLayer: 1, nEmbd: 64, nFf: 128, nHead: 2, nVocab: 64, dtype: "f16", seed: 1 },
  { nLayer: 2, nEmbd: 64, nFf: 64, nHead: 4, nHeadKv: 2, nVocab: 32, dtype: "bf16", tied: true, tokenizer: "hostile", seed: 2 },
  { nLayer: 1, nEmbd: 64, nFf: 64, nExpert: 4, nExpertUsed: 2, nHead: 2, nVocab: 32, dtype: "f32", tokenizer: "none", seed: 3 },
  { arch: "qwen2moe", nLayer: 1, nEmbd: 64, nFf: 64, nExpert: 4, nHead: 2, nVocab: 32, dtype: "f16", tokenizer: "none", seed: 4 },
  { arch: "deepseek2", nLayer: 2, nEmbd: 64, nFf: 64, nExpert: 4, nHead: 2, nVocab: 32, qLoraRank: 32, kvLoraRank: 32, dtype: "bf16", tokenizer: "none", seed: 5 },
  { arch: "phi3", nLayer: 1, nEmbd: 64, nFf: 64, nHead: 2, nVocab: 32, dtype: "f16", tokenizer: "none", seed: 6 },
];

const GGUF_TOKENS = [
  "general.alignment", "general.architecture", "llama.block_count", "llama.expert_count", "llama.expert_used_count",
  "llama.attention.head_count", "llama.embedding_length", "split.count", "split.no", "tokenizer.ggml.tokens",
  "imatrix.chunk_count", "imatrix.datasets", "output.weight", "blk.0.ffn_down.weight", "token_embd.weight",
].map((s) => Uint8Array.from(le.str(s))).concat(
  [ValueType.ARRAY, ValueType.STRING, ValueType.UINT64, 13, T.Q4_K, T.F16, 4, 39].map((t) => Uint8Array.from(le.u32(t))),
);

function ggufSeed(name: string, bytes: Uint8Array): Seed {
  const { fields, headerEnd } = ggufFields(bytes);
  return { name, bytes, fields, hotEnd: headerEnd, tokens: GGUF_TOKENS };
}

let modelSeedCache: Seed[] | undefined;
function modelSeeds(): Seed[] {
  return (modelSeedCache ??= [
    ...MODEL_SPECS.map((s, i) => ggufSeed(`model-${i}-${s.arch ?? "llama"}`, modelBytes(generateModel(s)))),
    ggufSeed("tiny.q8_0.gguf", fixture("gguf/tiny.q8_0.gguf")),
  ]);
}

/** Every value type, arrays of each, alignment 64, a 4-dim tensor: the header's whole grammar. */
function grammarSeeds(): Seed[] {
  const kvs = [
    kv.str("general.architecture", "llama"), kv.u8("a.u8", 1), kv.i8("a.i8", -1), kv.u16("a.u16", 2), kv.i16("a.i16", -2),
    kv.u32("a.u32", 3), kv.i32("a.i32", -3), kv.f32("a.f32", 0.5), kv.bool("a.bool", true), kv.u64("a.u64", 5n),
    kv.i64("a.i64", -5n), kv.f64("a.f64", 0.25), kv.arr("a.strs", ValueType.STRING, ["xy", "", "z\u00e9"]),
    kv.arr("a.f32s", ValueType.FLOAT32, Float32Array.of(1, 2)), kv.arr("a.bools", ValueType.BOOL, [true, false]),
    kv.arr("a.u64s", ValueType.UINT64, BigUint64Array.of(1n, 2n)), kv.u32("general.alignment", 64),
  ];
  const tensors = [
    { name: "a.weight", ne: [32, 2], type: T.Q8_0, data: new Uint8Array(68) },
    { name: "b", ne: [3], type: T.F32, data: new Uint8Array(12) },
    { name: "c", ne: [1, 1, 1, 1], type: T.F32, data: new Uint8Array(4) },
  ];
  const v2 = ggufBytes([kv.str("k", "v")], [{ name: "w", ne: [8], type: T.F16, data: new Uint8Array(16) }]);
  new DataView(v2.buffer).setUint32(4, 2, true);
  return [
    ggufSeed("grammar", ggufBytes(kvs, tensors)),
    ggufSeed("version-2", v2),
    ggufSeed("no-tensors", ggufBytes(kvs.slice(0, 5), [])),
  ];
}

function imatrixSeeds(format: "gguf" | "dat"): Seed[] {
  const files = format === "gguf"
    ? ["tiny.imatrix.gguf", "tiny-moe.imatrix.gguf", "edge-counts.gguf", "edge-ds-str.gguf", "edge-no-meta.gguf", "edge-cc-big.gguf"]
    : ["tiny.imatrix.dat", "tiny-moe.imatrix.dat", "edge-dup.dat", "edge-names.dat", "edge-trailer-3.dat", "edge-trailer-len-big.dat", "edge-trailer-nul.dat"];
  const seeds: Seed[] = files.map((f) => ({ name: f, bytes: fixture(`imatrix/${f}`) }));
  // the matrices of the CLI target's model, so that mutated ones also reach the fit-to-model checks
  const im = generateImatrix(generateModel(MODEL_SPECS[0]), { datasets: ["calibration.txt"] });
  seeds.push({ name: `model-0.${format}`, bytes: format === "gguf" ? writeGgufImatrix(im.stats, im.meta) : writeLegacyImatrix(im.stats, im.meta) });
  const tokens = [".in_sum2", ".counts", "blk.0.ffn_down.weight", "imatrix.datasets"].map(utf8);
  return seeds.map((s) => {
    const { fields, headerEnd } = format === "gguf" ? ggufFields(s.bytes) : datFields(s.bytes);
    return { ...s, fields, hotEnd: headerEnd, tokens: format === "gguf" ? [...tokens, ...GGUF_TOKENS] : tokens };
  });
}

const textSeeds = (lines: string[], tokens: string[]): Seed[] => lines.map((l, i) => ({ name: `text-${i}`, bytes: utf8(l), tokens: tokens.map(utf8) }));

const REGEX_TOKENS = [
  "(", ")", "[", "]", "{", "}", "{2,}", "{99999999999}", "*", "+", "?", "*?", "|", "^", "$", "\\", "\\d", "\\b", "\\1", "\\k<a>", "\\p{L}",
  "(?:", "(?=", "(?!", "(?<=", "(?<n>", "[[:digit:]]", "[[:nope:]]", "[:alpha:]", "[^", "-", ".", "=", ",", "#", " #", "@", "\n", "\t", " ",
  "q4_K", "Q8_0", "iq2_xxs", "f16", "q4_0_r8", "iq4_k", "q9_0", "blk\\.\\d+\\.", "attn_v", "ffn_down", "output", "token_embd", "\u00e9", "\u0000",
];

// ---- targets ----

/** A header read in small chunks must give exactly what one big read gives. */
function describeHeader(h: GgufHeader): string {
  return JSON.stringify({ ...h, kvs: h.kvs.map((k) => [k.key, k.type, String(k.type === ValueType.ARRAY ? [k.value.itemType, ...k.value.items] : k.value)]) });
}

const gguf: Target = {
  name: "gguf",
  description: "GGUF header reader, then the model loader's checks (makePlan --dry-run) on what it accepts",
  seeds: () => [...modelSeeds(), ...grammarSeeds(), ggufSeed("tiny.imatrix.gguf", fixture("imatrix/tiny.imatrix.gguf"))],
  async run(input) {
    const name = "fuzz.gguf";
    let h: GgufHeader | undefined;
    const src = memorySource(input, name);
    const e1 = await outcome(async () => { h = await readGgufHeader(src); });
    // bounded by the file: no byte is fetched twice, none past the end
    if (src.bytesRead() > input.length) return `fetched ${src.bytesRead()} bytes of a ${input.length}-byte file`;
    const bad = judge(e1, { codes: ["BAD_FILE"], prefix: `${name}: ` });
    if (e1 !== undefined) tally("gguf", e1);
    if (bad) return bad;
    // the same answer when read 16..100 bytes at a time
    const chunkSize = 16 + (input.length % 85);
    let h2: GgufHeader | undefined;
    const e2 = await outcome(async () => { h2 = await readGgufHeader(memorySource(input, name), { chunkSize }); });
    if ((e1 as Error | undefined)?.message !== (e2 as Error | undefined)?.message) return `chunk size ${chunkSize} changes the outcome: ${(e2 as Error)?.message}`;
    if (!h || !h2) return undefined;
    if (describeHeader(h) !== describeHeader(h2)) return `chunk size ${chunkSize} changes the header read`;
    for (const t of h.tensors) {
      if (h.dataOffset + t.offset + t.nbytes > input.length) return `accepted tensor ${t.name} outside the file`;
    }
    for (const ftype of [7, 15]) {
      const e = await outcome(() => makePlan([h!], name, { ftype, dryRun: true }));
      if (ftype === 7) tally("gguf", e);
      const why = judge(e, { codes: ["BAD_FILE", "REFUSED"] });
      if (why) return `makePlan: ${why}`;
      if (e instanceof QuantizeError && e.code === "BAD_FILE" && !e.message.startsWith(`${name}: `)) return `makePlan: message does not name the file: ${e.message}`;
    }
    return undefined;
  },
};

/** The header of the model the imatrix targets fit: mutated imatrices also meet the plan's checks. */
let imatrixModel: GgufHeader | undefined;
function imatrixTarget(format: "gguf" | "dat"): Target {
  return {
    name: `imatrix-${format}`,
    description: `imatrix loader, ${format === "gguf" ? "GGUF" : "legacy .dat"} format, then the plan's fit-to-model checks`,
    seeds: () => imatrixSeeds(format),
    async run(input) {
      const name = `fuzz.imatrix.${format}`;
      let loaded: Awaited<ReturnType<typeof loadImatrix>> | undefined;
      const e = await outcome(async () => { loaded = await loadImatrix(memorySource(input, name)); });
      const bad = judge(e, { codes: ["BAD_IMATRIX"], prefix: `${name}: ` });
      if (e !== undefined) tally(`imatrix-${format}`, e);
      if (bad || !loaded) return bad;
      imatrixModel ??= await readGgufHeader(memorySource(modelBytes(generateModel(MODEL_SPECS[0])), "model.gguf"));
      for (const ftype of [15, 19]) {
        const pe = await outcome(() => makePlan([imatrixModel!], "model.gguf", { ftype, imatrix: { data: loaded!, path: name } }));
        if (ftype === 15) tally(`imatrix-${format}`, pe);
        const why = judge(pe, { codes: ["BAD_IMATRIX", "REFUSED"] });
        if (why) return `makePlan: ${why}`;
      }
      return undefined;
    },
  };
}

const rules: Target = {
  name: "rules",
  description: "--tensor-type, --tensor-type-file and --custom-q rule strings",
  seeds: () => textSeeds([
    "attn_v=q8_0", "blk\\.(0|1)\\.ffn_down=Q6_K", "ffn_[[:alpha:]]+=q4_k", "^output\\.weight$=f16", "a=q4_0,b=q5_1,c=iq4_xs",
    "token_embd=q4_0_r8", "exps=iq4_k", "(?:attn|ffn)_(q|k)=bf16", "x{2,3}=q2_K\nffn=q3_K  attn=q4_K",
  ], REGEX_TOKENS),
  async run(input) {
    const s = text(input);
    const names = ["blk.0.attn_v.weight", "output.weight", "blk.12.ffn_down_exps.weight"];
    const use = (rs: { regex: RegExp; type: number }[]) => { for (const r of rs) for (const n of names) r.regex.test(n); };
    const calls: [string, () => unknown][] = [
      ["--tensor-type", () => use([parseTensorType(s)])],
      ["fuzz.txt:", () => use(parseTensorTypeFile(s, "fuzz.txt"))],
      ["--custom-q", () => use(parseCustomQ(s))],
    ];
    for (const [prefix, f] of calls) {
      const e = await outcome(f);
      tally("rules", e);
      const why = judge(e, { codes: ["USAGE"], prefix });
      if (why) return why;
    }
    return undefined;
  },
};

const recipe: Target = {
  name: "recipe",
  description: "recipe files (rules, comments, @settings); what reads must write back and read the same",
  seeds: () => textSeeds([
    "# a recipe\n@preset Q4_K_M\n@output-tensor-type q8_0\nblk\\.\\d+\\.attn_v=q6_K\nffn_down=q5_K # comment\n",
    "@token-embedding-type q4_0\n@imatrix im.dat\n\n  exps=iq4_xs, shexp=q8_0\n",
    "custom=x\n^output\\.weight$=Q6_K\n@preset IQ2_XXS\n",
  ], [...REGEX_TOKENS, "@preset ", "@imatrix ", "@output-tensor-type ", "@token-embedding-type ", "@nope ", "Q4_K_M", "COPY", "# "]),
  async run(input) {
    const name = "fuzz.recipe";
    let r: ReturnType<typeof parseRecipe> | undefined;
    const re = await outcome(() => { r = parseRecipe(text(input), name); });
    tally("recipe", re);
    const why = judge(re, { codes: ["USAGE"], prefix: `${name}:` });
    if (why || !r) return why;
    let back: ReturnType<typeof parseRecipe> | undefined;
    const e = await outcome(() => { back = parseRecipe(formatRecipe(r!.rules, r!.options), "written"); });
    if (e) return `formatRecipe wrote a recipe that does not read back: ${(e as Error).message}`;
    const same = (x: typeof r) => JSON.stringify([x!.rules.map((q) => [q.text, q.type]), Object.entries(x!.options).sort()]);
    if (same(back) !== same(r)) return `formatRecipe changed the recipe: ${same(r)} -> ${same(back)}`;
    return undefined;
  },
};

const overrideKvTarget: Target = {
  name: "override-kv",
  description: "--override-kv KEY=TYPE:VALUE; what parses must also be writable as GGUF metadata that reads back",
  seeds: () => textSeeds([
    "llama.expert_used_count=int:2", "general.name=str:hello", "a.b=float:0x1.8p3", "x=bool:true", "k=float:-inf", "k=int:-99999999999999999999",
  ], ["=", "int:", "float:", "bool:", "str:", "true", "false", "0x", "p-3", "e+40", "nan", "inf", "-", " ", "\u00e9", "x".repeat(130)]),
  async run(input) {
    // argv strings cannot hold NUL
    const s = text(input).replace(/\0/g, "");
    let o: ReturnType<typeof parseKvOverride> | undefined;
    const pe = await outcome(() => { o = parseKvOverride(s); });
    tally("override-kv", pe);
    const why = judge(pe, { codes: ["USAGE"], prefix: "--override-kv" });
    if (why || !o) return why;
    let bytes: Uint8Array | undefined;
    const e = await outcome(() => { bytes = ggufBytes([kv.str("general.architecture", "llama"), overrideKv(o!)], []); });
    if (e) return `an accepted override cannot be written: ${(e as Error)?.name}: ${(e as Error)?.message}`;
    const re = await outcome(() => readGgufHeader(memorySource(bytes!, "out.gguf")));
    if (re && !(re instanceof QuantizeError && /duplicate metadata key "general.architecture"/.test(re.message))) {
      return `an accepted override writes metadata that does not read back: ${(re as Error).message}`;
    }
    return undefined;
  },
};

/** A 3-shard split of the CLI targets' model; the split target's input is [shard index, ...shard bytes]. */
const SPLIT = 3;
let splitCache: Uint8Array[] | undefined;
const splitShards = () => (splitCache ??= (() => {
  const m = generateModel(MODEL_SPECS[0]);
  const n = m.tensors.length;
  return modelShards(m, [Math.floor(n / 3), Math.floor(n / 3), n - 2 * Math.floor(n / 3)]);
})());

function splitSeeds(): Seed[] {
  return splitShards().map((bytes, i) => {
    const { fields, headerEnd } = ggufFields(bytes);
    return {
      name: `shard-${i + 1}`, bytes: Uint8Array.of(i, ...bytes), hotEnd: headerEnd + 1, tokens: GGUF_TOKENS,
      fields: fields.map((f) => ({ ...f, pos: f.pos + 1 })),
    };
  });
}

type CliKind = "model" | "imatrix" | "split";

const CLI: Record<CliKind, { presets: string[]; description: string; seeds: () => Seed[] }> = {
  model: { presets: ["Q8_0", "Q4_0", "Q4_K_M", "Q6_K", "IQ4_XS", "F16", "COPY", "Q5_1"], description: "the whole CLI (1 thread) on a mutated model", seeds: () => modelSeeds().slice(0, 4) },
  imatrix: { presets: ["Q4_K_M", "IQ4_XS", "Q2_K", "Q4_0", "IQ2_XXS"], description: "the whole CLI with --imatrix, on a mutated importance matrix (GGUF or .dat)", seeds: () => [...imatrixSeeds("gguf").slice(-1), ...imatrixSeeds("dat").slice(-1)] },
  split: { presets: ["Q8_0", "Q4_K_M", "Q5_0", "COPY"], description: "the whole CLI on a 3-shard model with one shard mutated (with and without --keep-split)", seeds: splitSeeds },
};

/** Whole-CLI runs in a temporary directory; the flags depend on the input's hash so a saved case replays the same way. */
function cliTarget(kind: CliKind): Target {
  let dir: string | undefined;
  const name = `cli-${kind}`;
  const { presets, description, seeds } = CLI[kind];
  return {
    name, description, seeds,
    async run(input) {
      const d = (dir ??= mkdtempSync(join(tmpdir(), `fuzz-${name}-`)));
      const h = createHash("sha256").update(input).digest();
      const preset = presets[h[0] % presets.length];
      const dryRun = h[1] % 4 === 0;
      const keepSplit = kind === "split" && h[2] % 2 === 0;
      // the files of this case (all written afresh, and checked unmodified afterwards)
      let files: [string, Uint8Array][];
      let inputPath: string;
      if (kind === "split") {
        const shards = splitShards().slice();
        if (input.length > 0) shards[input[0] % SPLIT] = input.subarray(1);
        files = shards.map((b, i) => [join(d, shardName("m", i, SPLIT)), b]);
        inputPath = files[0][0];
      } else {
        inputPath = join(d, kind === "model" ? "in.gguf" : "model.gguf");
        files = kind === "model" ? [[inputPath, input]] : [[inputPath, modelBytes(generateModel(MODEL_SPECS[0]))], [join(d, "fuzz.imatrix"), input]];
      }
      for (const [p, b] of files) writeFileSync(p, b);
      const args = [
        ...(kind === "imatrix" ? ["--imatrix", join(d, "fuzz.imatrix")] : []),
        ...(dryRun ? ["--dry-run"] : []), ...(keepSplit ? ["--keep-split"] : []),
        inputPath, join(d, "out.gguf"), preset, "1",
      ];
      let err = "";
      const code = await runCli(args, { stdout: () => {}, stderr: (s) => { err += s; } });
      const m = outcomes.get(name) ?? new Map<string, number>();
      outcomes.set(name, m);
      const label = `exit ${code}${dryRun ? " (dry run)" : ""}`;
      m.set(label, (m.get(label) ?? 0) + 1);
      const left = readdirSync(d).filter((f) => f.startsWith("out"));
      const what = `${preset}${dryRun ? " --dry-run" : ""}${keepSplit ? " --keep-split" : ""}`;
      try {
        for (const [p, b] of files) if (!Buffer.from(readFileSync(p)).equals(Buffer.from(b))) return `${p} was modified`;
        const known = Object.values(ERRORS) as number[];
        if (!known.includes(code) && code !== 0) return `exit ${code} (${what}): ${err.trim().split("\n").pop()}`;
        if (code !== 0) {
          const last = err.trimEnd().split("\n").pop() ?? "";
          if (!last.startsWith("gguf-quantize: ")) return `no error line: ${JSON.stringify(err.slice(-200))}`;
          if (code === ERRORS.BAD_FILE && !files.some(([p]) => last.includes(p))) return `BAD_FILE message does not name the file (${what}): ${last}`;
          if (code === ERRORS.BAD_IMATRIX && kind === "imatrix" && !last.includes("fuzz.imatrix") && !/Missing importance matrix/.test(last)) return `BAD_IMATRIX message does not name the imatrix: ${last}`;
          if (left.length > 0) return `left behind after exit ${code} (${what}): ${left.join(", ")}`;
          return undefined;
        }
        if (dryRun) return left.length > 0 ? `--dry-run wrote ${left.join(", ")}` : undefined;
        if (left.length === 0 || left.some((f) => f.includes(".tmp-"))) return `after success (${what}): ${left.join(", ") || "no output"}`;
        // what we write must read back
        for (const f of left) {
          const src = await openSource(join(d, f));
          try {
            const e = await outcome(() => readGgufHeader(src));
            if (e) return `the output ${f} does not read back (${what}): ${(e as Error).message}`;
          } finally { await src.close(); }
        }
        return undefined;
      } finally {
        for (const f of left) rmSync(join(d, f));
      }
    },
    close() { if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true }); dir = undefined; },
  };
}

/**
 * The command line itself: option lists (one argument a line) before a fixed model, output and type.
 * Runs with the working directory in a temporary directory, arguments with a path separator cut
 * down to their last part, so a mutated argument can only name files in there.
 */
function cliArgsTarget(): Target {
  let dir: string | undefined;
  const seeds = [
    "--pure\n--tensor-type\nattn=q8_0", "--prune-layers\n0", "--override-kv\nllama.block_count=int:1\n--override-kv\ngeneral.name=str:x",
    "--keep-split\n--leave-output-tensor", "--output-tensor-type\nq4_0\n--token-embedding-type\nf16", "--allow-requantize\n--quiet",
    "--include-weights\nffn\n--imatrix\nim.gguf", "--exclude-weights\nattn\n--imatrix\nim.dat", "--custom-q\nffn=q4_K,attn=q8_0",
    "--dry-run\n--json\n--write-recipe\nr.txt", "--recipe\nrecipe.txt", "--tensor-type-file\ntt.txt", "--verbose\n--help",
  ];
  const tokens = ["--pure", "--dry-run", "--keep-split", "--imatrix", "--prune-layers", "--override-kv", "--tensor-type", "--custom-q",
    "--recipe", "--output-tensor-type", "--include-weights", "-1", "0", "2147483648", "1,1,0", "Q4_K_M", "q4_0_r8", "COPY", "", "\n", "=", "x=int:"];
  return {
    name: "cli-args",
    description: "the CLI's options (one argument a line), before a fixed model, output and type",
    seeds: () => textSeeds(seeds, tokens),
    async run(input) {
      const d = (dir ??= (() => {
        const t = mkdtempSync(join(tmpdir(), "fuzz-cli-args-"));
        const m = generateModel(MODEL_SPECS[0]);
        writeFileSync(join(t, "model.gguf"), modelBytes(m));
        const im = generateImatrix(m);
        writeFileSync(join(t, "im.gguf"), writeGgufImatrix(im.stats, im.meta));
        writeFileSync(join(t, "im.dat"), writeLegacyImatrix(im.stats, im.meta));
        writeFileSync(join(t, "recipe.txt"), "@preset Q4_K_M\nffn_down=q6_K\n");
        writeFileSync(join(t, "tt.txt"), "attn_v=q8_0 ffn=q5_0\n");
        return t;
      })());
      const keep = new Set(readdirSync(d));
      const args = text(input).replace(/\0/g, "").split("\n").map((a) => a.split(/[\\/]/).pop()!);
      const h = createHash("sha256").update(input).digest();
      args.push("model.gguf", "out.gguf", ["Q8_0", "Q4_K_M", "Q4_0", "IQ4_XS"][h[0] % 4], "1");
      const cwd = process.cwd();
      process.chdir(d);
      let err = "", code: number;
      try {
        code = await runCli(args, { stdout: () => {}, stderr: (s) => { err += s; } });
      } finally { process.chdir(cwd); }
      const m = outcomes.get("cli-args") ?? new Map<string, number>();
      outcomes.set("cli-args", m);
      m.set(`exit ${code}`, (m.get(`exit ${code}`) ?? 0) + 1);
      const made = readdirSync(d).filter((f) => !keep.has(f));
      try {
        if (code === 0 || code === ERRORS.USAGE && /Usage|--help/.test(err)) return undefined;
        if (!(Object.values(ERRORS) as number[]).includes(code)) return `exit ${code} for ${JSON.stringify(args)}: ${err.trim().split("\n").pop()}`;
        const last = err.trimEnd().split("\n").pop() ?? "";
        if (!last.startsWith("gguf-quantize: ") && code !== ERRORS.USAGE) return `no error line for ${JSON.stringify(args)}: ${JSON.stringify(err.slice(-200))}`;
        const stray = made.filter((f) => f.startsWith("out") || f.includes(".tmp-"));
        if (stray.length > 0) return `left behind after exit ${code} for ${JSON.stringify(args)}: ${stray.join(", ")}`;
        return undefined;
      } finally {
        for (const f of made) rmSync(join(d, f), { recursive: true, force: true });
      }
    },
    close() { if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true }); dir = undefined; },
  };
}

export function allTargets(): Target[] {
  return [gguf, imatrixTarget("gguf"), imatrixTarget("dat"), rules, recipe, overrideKvTarget, cliTarget("model"), cliTarget("imatrix"), cliTarget("split"), cliArgsTarget()];
}
