// llama.cpp's log lines, reproduced so that our logs diff cleanly against llama-quantize's.

import type { Plan, PlannedTensor } from "./plan.js";
import type { Rule } from "./rules.js";
import { typeName } from "./types.js";

const MiB = 1024 * 1024;

/** printf("%.<digits>f", x) as glibc does it: the exact binary value, ties to even
 *  (Number.prototype.toFixed rounds ties up, e.g. 0.125 -> "0.13" where C prints "0.12"). */
export function cFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  const neg = x < 0 || Object.is(x, -0);
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const bits = buf.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  let e2 = exp === 0 ? -1074 : exp - 1075;
  if (exp !== 0) mant |= 1n << 52n;
  // value = mant * 2^e2; scaled = value * 10^digits, rounded half-even to an integer
  let num = mant * 10n ** BigInt(digits), den = 1n;
  if (e2 >= 0) num <<= BigInt(e2); else den <<= BigInt(-e2);
  let q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q += 1n;
  let s = q.toString().padStart(digits + 1, "0");
  if (digits > 0) s = s.slice(0, s.length - digits) + "." + s.slice(s.length - digits);
  return (neg ? "-" : "") + s;
}
const padl = (s: string, w: number) => (s.length >= w ? s : " ".repeat(w - s.length) + s);
/** printf's %-*s: the width counts bytes (UTF-8), not characters */
const padr = (s: string, w: number) => { const n = utf8Length(s); return n >= w ? s : s + " ".repeat(w - n); };
const utf8Length = (s: string) => (/^[\x00-\x7f]*$/.test(s) ? s.length : new TextEncoder().encode(s).length);

/** llama_format_tensor_shape: "%6d" then ", %6d" up to four dimensions (as the build prints) */
export function formatShape(ne: readonly number[]): string {
  const dims = [0, 1, 2, 3].map((i) => padl(String(ne[i] ?? 1), 6));
  return dims.join(", ");
}

/** The per-tensor line of llama_model_quantize_impl ("[   1/ 291] name - [shape], type = ..."). */
export function tensorLine(index: number, count: number, t: PlannedTensor, dryRun = false): string {
  const head = `[${padl(String(index + 1), 4)}/${padl(String(count), 4)}] ${padr(t.name, 36)} - [${formatShape(t.ne)}], type = ${padl(typeName(t.srcType), 6)}, `;
  if (t.copy) return head + `size = ${cFixed(t.srcBytes / MiB, 3).padStart(8)} MiB`;
  const sizes = `size = ${cFixed(t.srcBytes / MiB, 2).padStart(8)} MiB -> ${cFixed(t.dstBytes / MiB, 2).padStart(8)} MiB`;
  return dryRun ? head + `${sizes} (${typeName(t.dstType)})` : head + `converting to ${typeName(t.dstType)} .. ${sizes}`;
}

/** The summary lines: model size, quant size, and the fallback tally. */
export function summaryLines(plan: Plan): string[] {
  const bpw = (bytes: number) => cFixed((bytes * 8) / plan.nElements, 2);
  const lines = [
    `llama_model_quantize_impl: model size  = ${cFixed(plan.sizeIn / MiB, 2).padStart(8)} MiB (${bpw(plan.sizeIn)} BPW)`,
    `llama_model_quantize_impl: quant size  = ${cFixed(plan.sizeOut / MiB, 2).padStart(8)} MiB (${bpw(plan.sizeOut)} BPW)`,
  ];
  if (plan.needsImatrix) lines.push("llama_model_quantize_impl: WARNING: dry run completed successfully, but actually completing this quantization will require an imatrix!");
  if (plan.nFallback > 0) lines.push(`llama_model_quantize_impl: WARNING: ${plan.nFallback} of ${plan.nTensorsIn} tensor(s) required fallback quantization`);
  return lines;
}

/** Per-rule tallies after planning, and a warning for each rule that decided no tensor. */
export function ruleLines(rules: readonly Rule[], counts: readonly number[]): string[] {
  return rules.map((r, i) =>
    counts[i] === 0
      ? `warning: rule ${r.text}=${typeName(r.type)} (${r.source}) matched no tensor`
      : `main: rule ${r.text}=${typeName(r.type)} (${r.source}) decided ${counts[i]} tensor(s)`);
}

function reasonJson(d: PlannedTensor["decision"]) {
  const r = d.reason;
  const base = r.kind === "rule" ? { kind: r.rule.kind, rule: `${r.rule.text}=${typeName(r.rule.type)}`, source: r.rule.source } : { kind: r.kind };
  return d.fallback ? { ...base, fallback: { from: typeName(d.fallback.from), to: typeName(d.fallback.to) } } : base;
}

/** The plan as plain JSON for scripts and the browser page (--dry-run --json). */
export function planJson(plan: Plan, preset: string) {
  const bpw = (bytes: number, elements: number) => (elements > 0 ? (bytes * 8) / elements : 0);
  return {
    preset,
    ftype: plan.ftype,
    files: plan.files.length,
    tensors: plan.tensors.map((t) => {
      const elements = t.ne.reduce((a, b) => a * b, 1);
      return {
        name: t.name,
        ...(t.sourceName !== t.name ? { sourceName: t.sourceName } : {}),
        shape: [...t.ne],
        sourceType: typeName(t.srcType),
        type: typeName(t.dstType),
        bytesIn: t.srcBytes,
        bytes: t.dstBytes,
        bpw: bpw(t.dstBytes, elements),
        imatrix: t.imatrix !== undefined,
        decidedBy: reasonJson(t.decision),
      };
    }),
    totals: {
      bytesIn: plan.sizeIn,
      bytes: plan.sizeOut,
      elements: plan.nElements,
      bpwIn: bpw(plan.sizeIn, plan.nElements),
      bpw: bpw(plan.sizeOut, plan.nElements),
      fallbacks: plan.nFallback,
      needsImatrix: plan.needsImatrix,
    },
  };
}
