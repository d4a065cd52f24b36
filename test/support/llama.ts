// The reference quantizer itself, in-process: llama_model_quantize from the libllama that the npm
// package @node-llama-cpp/linux-x64@3.22.1 ships, called through koffi. Only on x86-64 Linux where
// that package installs; tests using it are skipped elsewhere (committed goldens cover the rest).
// Importance data is passed as llama-quantize would pass it (name -> values), so a test can give
// both quantizers the same values and compare whole output files.
//
// Checked against refquant (../shared/ref, the same library driven from C++): identical output
// files with imatrix data, kv overrides (the union: int, float, bool, 127-byte strings),
// tensor-type overrides and pruned layers (an int32 list ended by -1 in this build, not the
// std::vector<int> * of older ones); test/live-models.test.ts has a test of each. Keep nthread at
// 1 unless needed: the log callback is a JS function and must only be called on this thread.
// Beware: llama.cpp aborts or corrupts its heap on some inputs (q8_1/q8_K targets, an
// --output-tensor-type whose block does not divide the row, GGML_ASSERTs of the model loader such
// as an expert count below the used-expert count), which takes this process with it:
// quantizeIsolated runs one call in a child process instead (test/support/llama-child.ts).

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

/** A kv override as llama_model_kv_override holds it (int: i64, float: f64, bool, str of <= 127 bytes). */
export interface KvOverride { key: string; kind: "int" | "float" | "bool" | "str"; value: number | bigint | boolean | string }

export interface LlamaQuantizeParams {
  ftype: number;
  nthread?: number;
  outputTensorType?: number;
  tokenEmbeddingType?: number;
  allowRequantize?: boolean;
  leaveOutputTensor?: boolean;
  onlyCopy?: boolean;
  pure?: boolean;
  /** one output per input shard, named `<output>-%05d-of-%05d.gguf` (output without .gguf, as llama-quantize passes it) */
  keepSplit?: boolean;
  dryRun?: boolean;
  imatrix?: Map<string, Float32Array>;
  kvOverrides?: KvOverride[];
  tensorTypes?: { pattern: string; type: number }[];
  pruneLayers?: number[];
}

export interface LlamaOracle {
  /** Returns llama_model_quantize's status (0 = success); log lines are collected in `log`. */
  quantize(input: string, output: string, p: LlamaQuantizeParams, log?: string[]): number;
}

function load(): LlamaOracle | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return undefined;
  let dir: string, koffi: typeof import("koffi");
  try {
    dir = join(dirname(require.resolve("@node-llama-cpp/linux-x64")), "..", "bins", "linux-x64");
    koffi = require("koffi");
  } catch {
    return undefined;
  }
  const path = join(dir, "libllama.v0.5.0.so");
  if (!existsSync(path)) return undefined;
  const lib = koffi.load(path);

  const ImatrixData = koffi.struct("llama_model_imatrix_data", { name: "void *", data: "void *", size: "size_t" });
  const TensorOverride = koffi.struct("llama_model_tensor_override", { pattern: "void *", type: "int" });
  const KvOverrideT = koffi.struct("llama_model_kv_override", {
    tag: "int", key: koffi.array("char", 128, "String"),
    value: koffi.union("llama_kv_override_value", { val_i64: "int64_t", val_f64: "double", val_bool: "bool", val_str: koffi.array("char", 128, "String") }),
  });
  const Params = koffi.struct("llama_model_quantize_params", {
    nthread: "int32_t", ftype: "int", output_tensor_type: "int", token_embedding_type: "int",
    allow_requantize: "bool", quantize_output_tensor: "bool", only_copy: "bool", pure: "bool", keep_split: "bool", dry_run: "bool",
    imatrix: "void *", kv_overrides: "void *", tt_overrides: "void *", prune_layers: "void *",
    max_buf_size: "size_t",
  });
  if (koffi.sizeof(Params) !== 0x40) throw new Error("llama_model_quantize_params layout mismatch");
  const defaults = lib.func("llama_model_quantize_params llama_model_quantize_default_params(void)");
  const quantize = lib.func("uint32_t llama_model_quantize(const char *, const char *, const llama_model_quantize_params *)");
  const backendInit = lib.func("void llama_backend_init(void)");
  const LogCb = koffi.proto("void llama_log_cb(int level, const char *text, void *ud)");
  const logSet = lib.func("void llama_log_set(llama_log_cb *cb, void *ud)");
  backendInit();

  let sink: string[] | undefined;
  let partial = "";
  const cb = koffi.register((_level: number, text: string) => {
    if (!sink) return;
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    sink.push(...lines);
  }, koffi.pointer(LogCb));
  logSet(cb, null);

  // everything the parameters point to is allocated here and freed after the call
  const keep: unknown[] = [];
  const arrayOf = (type: unknown, items: unknown[]) => {
    const mem = koffi.alloc(type as never, Math.max(1, items.length));
    koffi.encode(mem, koffi.array(type as never, items.length), items);
    keep.push(mem);
    return mem;
  };
  const cstr = (s: string) => arrayOf("uint8_t", [...Buffer.from(s + "\0")]);
  const floats = (a: Float32Array) => arrayOf("float", Array.from(a));

  return {
    quantize(input, output, p, log) {
      const params = defaults() as Record<string, unknown>;
      params.ftype = p.ftype;
      params.nthread = p.nthread ?? 1;
      if (p.outputTensorType !== undefined) params.output_tensor_type = p.outputTensorType;
      if (p.tokenEmbeddingType !== undefined) params.token_embedding_type = p.tokenEmbeddingType;
      params.allow_requantize = !!p.allowRequantize;
      params.quantize_output_tensor = !p.leaveOutputTensor;
      params.only_copy = !!p.onlyCopy;
      params.pure = !!p.pure;
      params.keep_split = !!p.keepSplit;
      params.dry_run = !!p.dryRun;
      if (p.imatrix && p.imatrix.size > 0) {
        const items = [...p.imatrix].map(([name, data]) => ({ name: cstr(name), data: floats(data), size: data.length }));
        params.imatrix = arrayOf(ImatrixData, [...items, { name: null, data: null, size: 0 }]);
      }
      if (p.kvOverrides?.length) {
        const tags = { int: 0, float: 1, bool: 2, str: 3 };
        const items = p.kvOverrides.map((o) => ({
          tag: tags[o.kind], key: o.key,
          value: o.kind === "int" ? { val_i64: o.value } : o.kind === "float" ? { val_f64: o.value } : o.kind === "bool" ? { val_bool: o.value } : { val_str: o.value },
        }));
        params.kv_overrides = arrayOf(KvOverrideT, [...items, { tag: 0, key: "", value: { val_i64: 0 } }]);
      }
      if (p.tensorTypes?.length) {
        params.tt_overrides = arrayOf(TensorOverride, [...p.tensorTypes.map((t) => ({ pattern: cstr(t.pattern), type: t.type })), { pattern: null, type: 0 }]);
      }
      if (p.pruneLayers?.length) params.prune_layers = arrayOf("int32_t", [...p.pruneLayers, -1]);
      sink = log;
      try {
        return quantize(input, output, params) as number;
      } finally {
        sink = undefined;
        partial = "";
        for (const mem of keep) koffi.free(mem as never);
        keep.length = 0;
      }
    },
  };
}

export const llama: LlamaOracle | undefined = load();

export interface IsolatedResult {
  /** llama_model_quantize's status; undefined when the child died */
  status?: number;
  /** the log lines the child saw before it ended */
  lines: string[];
  /** the signal that ended the child (SIGABRT for a GGML_ASSERT), and what it printed on stderr */
  signal?: string;
  stderr: string;
}

/**
 * One llama_model_quantize call in a child process (about half a second of start-up), for inputs on
 * which llama.cpp may abort: a crash is reported instead of taking the test process with it.
 */
export function quantizeIsolated(input: string, output: string, p: LlamaQuantizeParams): IsolatedResult {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const request = JSON.stringify({
    input, output, params: { ...p, imatrix: p.imatrix ? [...p.imatrix].map(([k, v]) => [k, Array.from(v)]) : undefined },
  }, (_k, v) => (typeof v === "bigint" ? { bigint: String(v) } : v));
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "test", "support", "llama-child.ts")], {
    cwd: root, input: request, encoding: "utf8", maxBuffer: 256 << 20,
    env: { ...process.env, GGML_NO_BACKTRACE: "1" }, // ggml_abort would otherwise attach gdb for a backtrace
  });
  const lines: string[] = [];
  let status: number | undefined;
  for (const l of r.stdout.split("\n")) {
    if (l.startsWith("log ")) lines.push(JSON.parse(l.slice(4)) as string);
    else if (l.startsWith("status ")) status = Number(l.slice(7));
  }
  return { status, lines, signal: r.signal ?? undefined, stderr: r.stderr };
}
