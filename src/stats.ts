// `gguf-quantize stats`: the importance-matrix statistics llama-imatrix --show-statistics prints
// (tools/imatrix/imatrix.cpp @ 006e7ef: compute_vector_statistics, compute_tensor_statistics,
// compute_layer_statistics, show_statistics), per tensor and per layer, as a table, JSON or an SVG
// chart. Arithmetic follows the C++: double where it uses double, float (Math.fround) where it
// accumulates in float, so the numbers print the same.
//
// Like llama-imatrix, the statistics are over E[x²] per input column for files without Σx
// ("legacy mode": .dat files and GGUF files without ".in_sum"), and over E[x] otherwise.
// One addition: the share of active columns (|value| > 1e-5), which earlier llama-imatrix releases
// printed as "% Active" and the issue asks for.

import type { RawImatrixEntry } from "./imatrix.js";

const f = Math.fround;

/** Threshold under which a column counts as inactive (earlier llama-imatrix: 1e-5). */
export const ACTIVE_THRESHOLD = 1e-5;

export interface TensorStats {
  /** the imatrix entry's name, e.g. "blk.3.ffn_down.weight" */
  name: string;
  /** process_tensor_name: the block number as written ("-" outside blocks) and the short name */
  layer: string;
  tensor: string;
  /** Σ of the per-column values (Σ E[x²] in legacy mode, Σ E[x] otherwise) */
  sum: number;
  min: number;
  max: number;
  mean: number;
  /** sample standard deviation (n - 1) */
  stdDev: number;
  /** columns with data (matrices with a zero count are left out) */
  elements: number;
  /** share of columns whose value is above ACTIVE_THRESHOLD in magnitude */
  active: number;
  /** Shannon entropy (bits) of the columns' share of Σ E[x²] */
  entropy: number;
  /** entropy / log2(elements), in % (llama-imatrix's "H Norm") */
  entropyNorm: number;
  /** share of columns more than one standard deviation from the mean */
  zd: number;
  /** cosine similarity with the same tensor in the previous block (0 when there is none) */
  cosSim: number;
  /** Euclidean distance to the same tensor in the previous block (0 when there is none) */
  l2Dist: number;
  /** Euclidean-cosine score, in % (llama-imatrix's "ECS") */
  ecs: number;
}

export interface LayerStats {
  layer: number;
  /** Σ of the layer's tensors' sums (float, in table order) */
  sum: number;
  /** share of the layer's columns that are ZD outliers */
  zd: number;
  /** cosine similarity of the layer's concatenated per-column values with the previous layer's */
  cosSim: number;
  l2Dist: number;
  ecs: number;
}

export interface ImatrixStatistics {
  /** true when no entry has Σx: values are E[x²] */
  legacy: boolean;
  /** in llama-imatrix's table order: by short name, then Σ (legacy) or cosine similarity, descending */
  tensors: TensorStats[];
  layers: LayerStats[];
  /** entries without statistics (no counts, inconsistent sizes, or no matrix with data), with why */
  skipped: { name: string; why: string }[];
}

/** process_tensor_name: "blk.N...." gives layer N; the component before "weight" is the tensor. */
export function splitTensorName(name: string): { layer: string; tensor: string } {
  const parts = name.split(".");
  const b = parts.findIndex((p, i) => p === "blk" && i + 1 < parts.length);
  const w = parts.findIndex((p, i) => p === "weight" && i > 0);
  return { layer: b >= 0 ? parts[b + 1] : "-", tensor: w > 0 ? parts[w - 1] : name };
}

/** compute_tensor_averages: per column E[x] (with Σx) or E[x²], zeros for matrices without data. */
export function columnAverages(e: RawImatrixEntry): Float32Array | undefined {
  const nMat = e.counts.length;
  const src = e.activations ?? e.values;
  if (nMat === 0 || src.length === 0 || src.length % nMat !== 0) return undefined;
  const row = src.length / nMat;
  const out = new Float32Array(src.length);
  for (let m = 0; m < nMat; m++) {
    const c = f(e.counts[m]);
    if (c <= 0) continue;
    for (let j = 0; j < row; j++) out[m * row + j] = f(src[m * row + j] / c);
  }
  return out;
}

const ecsOf = (l2: number, cs: number) => f(f(100 * Math.exp(f(-0.01 * l2))) * f(Math.pow(Math.abs(cs), 10)));

/** compute_vector_statistics for one entry; a string says why there are none. */
function vectorStats(name: string, e: RawImatrixEntry): TensorStats | string {
  const nMat = e.counts.length;
  const legacy = e.activations === undefined;
  const len = legacy ? e.values.length : e.activations!.length;
  if (nMat === 0) return "no activations";
  if (len === 0 || len % nMat !== 0) return `activation size mismatch (len=${len}, counts=${nMat})`;
  if (!legacy && e.values.length !== len) return `activations/values size mismatch (act=${len}, val=${e.values.length})`;
  const row = len / nMat;
  // one pass per quantity, each visiting the matrices with data in order, as the C++ does
  const each = (fn: (energy: number, avg: number) => void) => {
    for (let i = 0; i < nMat; i++) {
      const c = f(e.counts[i]);
      if (c <= 0) continue;
      for (let j = 0; j < row; j++) {
        const k = i * row + j;
        fn(e.values[k] / c, legacy ? 0 : e.activations![k] / c);
      }
    }
  };
  let mean = 0, m2 = 0, sum = 0, energySum = 0, n = 0, active = 0;
  let vmin = Infinity, vmax = -Infinity;
  each((energy, avg) => {
    const v = legacy ? energy : avg;
    n++;
    sum += v;
    vmin = Math.min(vmin, f(v));
    vmax = Math.max(vmax, f(v));
    const delta = v - mean;
    mean += delta / n;
    m2 += delta * (v - mean);
    energySum += Math.max(0, energy);
    if (Math.abs(f(v)) > ACTIVE_THRESHOLD) active++;
  });
  if (n === 0) return "no activations";
  const variance = Math.max(n > 1 ? m2 / (n - 1) : 0, 0);
  const stdDev = f(Math.sqrt(f(variance)));
  let entropy = 0;
  if (energySum > 0) {
    each((energy) => {
      const p = Math.max(0, energy) / energySum;
      if (p > 0) entropy = f(entropy - f(p * Math.log2(p)));
    });
  }
  let zdCount = 0;
  if (stdDev > 0) {
    const meanF = f(mean);
    each((energy, avg) => {
      const z = f(f(f(legacy ? energy : avg) - meanF) / stdDev);
      if (Math.abs(z) > 1) zdCount++;
    });
  }
  const { layer, tensor } = splitTensorName(name);
  return {
    name, layer, tensor, sum: f(sum), min: vmin, max: vmax, mean: f(mean), stdDev, elements: n, active: active / n,
    entropy, entropyNorm: n > 1 ? f(f(100 * f(entropy / f(Math.log2(f(n))))) ) : 0,
    zd: f(zdCount / n), cosSim: 0, l2Dist: 0, ecs: 0,
  };
}

/** The name of the same tensor one block earlier (the first "blk.N." in the name), if N > 0. */
function previousBlockName(name: string): { blk: number; prev: string } | undefined {
  const m = /blk\.(\d+)\./.exec(name);
  if (!m) return undefined;
  const blk = Number(m[1]);
  if (!(blk > 0)) return undefined;
  const at = m.index + 4;
  return { blk, prev: name.slice(0, at) + String(blk - 1) + name.slice(at + m[1].length) };
}

/** The statistics of every entry, and of every block, as llama-imatrix --show-statistics computes them. */
export function imatrixStatistics(raw: ReadonlyMap<string, RawImatrixEntry>): ImatrixStatistics {
  const tensors: TensorStats[] = [];
  const skipped: { name: string; why: string }[] = [];
  let legacy = true;
  for (const [name, e] of raw) {
    const s = vectorStats(name, e);
    if (typeof s === "string") skipped.push({ name, why: s });
    else tensors.push(s);
    // the mode follows the entries with statistics (llama-imatrix's error return, false, also
    // reads as "not legacy", so one broken entry switches its whole table to E[x]; not here)
    if (typeof s !== "string") legacy &&= e.activations === undefined;
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));

  // compute_tensor_statistics: against the previous block, in float
  for (const ts of tensors) {
    const p = previousBlockName(ts.name);
    if (!p || !byName.has(p.prev)) continue;
    const curr = columnAverages(raw.get(ts.name)!), prev = columnAverages(raw.get(p.prev)!);
    if (!curr || !prev || curr.length !== prev.length) continue;
    let dot = 0, n1 = 0, n2 = 0, l2 = 0;
    for (let i = 0; i < curr.length; i++) {
      dot = f(dot + f(curr[i] * prev[i]));
      n1 = f(n1 + f(curr[i] * curr[i]));
      n2 = f(n2 + f(prev[i] * prev[i]));
      const d = f(curr[i] - prev[i]);
      l2 = f(l2 + f(d * d));
    }
    let cs = 0;
    if (n1 > 0 && n2 > 0) cs = Math.max(Math.min(f(dot / f(f(Math.sqrt(n1)) * f(Math.sqrt(n2)))), 1), -1);
    else if (n1 === 0 && n2 === 0) cs = 1;
    ts.cosSim = cs;
    ts.l2Dist = f(Math.sqrt(l2));
  }
  for (const ts of tensors) ts.ecs = ecsOf(ts.l2Dist, ts.cosSim);

  // the table order; std::sort is not stable, so ties are broken by name to stay deterministic
  tensors.sort((a, b) => (a.tensor < b.tensor ? -1 : a.tensor > b.tensor ? 1 : 0)
    || (legacy ? b.sum - a.sum : b.cosSim - a.cosSim)
    || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // show_statistics' per-layer sums (float), in table order
  const acc = new Map<number, { sum: number; zd: number; n: number }>();
  for (const ts of tensors) {
    const blk = /^[+-]?\d+/.test(ts.layer) ? parseInt(ts.layer, 10) : -1;
    const zd = f(ts.elements * ts.zd);
    const a = acc.get(blk);
    if (a) { a.sum = f(a.sum + ts.sum); a.zd = f(a.zd + zd); a.n += ts.elements; }
    else acc.set(blk, { sum: ts.sum, zd, n: ts.elements });
  }
  // compute_layer_statistics: concatenated averages, in double
  const agg = new Map<number, { curr: number[]; prev: number[] }>();
  for (const ts of tensors) {
    const p = previousBlockName(ts.name);
    if (!p || !byName.has(p.prev)) continue;
    const curr = columnAverages(raw.get(ts.name)!), prev = columnAverages(raw.get(p.prev)!);
    if (!curr || !prev || curr.length !== prev.length) continue;
    const g = agg.get(p.blk) ?? { curr: [], prev: [] };
    for (let i = 0; i < curr.length; i++) { g.curr.push(curr[i]); g.prev.push(prev[i]); }
    agg.set(p.blk, g);
  }
  const layers: LayerStats[] = [];
  for (const [layer, a] of [...acc].sort((x, y) => x[0] - y[0])) {
    if (layer < 0 || a.n === 0) continue;
    let cs = 0, l2 = 0;
    const g = agg.get(layer);
    if (g && g.curr.length > 0) {
      let dot = 0, n1 = 0, n2 = 0, d2 = 0;
      for (let i = 0; i < g.curr.length; i++) {
        const c = g.curr[i], p = g.prev[i];
        dot += c * p; n1 += c * c; n2 += p * p; d2 += (c - p) * (c - p);
      }
      if (n1 > 0 && n2 > 0) cs = Math.max(Math.min(f(dot / (Math.sqrt(n1) * Math.sqrt(n2))), 1), -1);
      else if (n1 === 0 && n2 === 0) cs = 1;
      l2 = f(Math.sqrt(d2));
    }
    layers.push({ layer, sum: a.sum, zd: a.zd / a.n, cosSim: cs, l2Dist: l2, ecs: ecsOf(l2, cs) });
  }
  return { legacy, tensors, layers, skipped };
}

// ---- output ----

const fx = (x: number, d: number, w: number) => x.toFixed(d).padStart(w);

/** The two tables, with llama-imatrix's columns (plus "Active") and tab-separated like its output. */
export function statsTable(s: ImatrixStatistics, fileName: string): string {
  const first = s.legacy ? "Σ E[Act²]" : "L₂ Dist";
  const lines = [
    `Computing tensor statistics for ${fileName} (${s.tensors.length} tensors)`,
    "",
    ["Layer", "Tensor".padEnd(20), first.padStart(11), "Min".padStart(10), "Max".padStart(10), "μ".padStart(8), "σ".padStart(8), "Active".padStart(7), "N".padStart(7), "H Norm".padStart(11), (s.legacy ? "H" : "ECS").padStart(10), "ZD".padStart(7), "CosSim".padStart(10)].join("\t"),
  ];
  for (const t of s.tensors) {
    lines.push([
      t.layer.padStart(5), t.tensor.padEnd(20), fx(s.legacy ? t.sum : t.l2Dist, 4, 11), fx(t.min, 4, 10), fx(t.max, 4, 10),
      fx(t.mean, 4, 8), fx(t.stdDev, 4, 8), fx(100 * t.active, 2, 6) + "%", String(t.elements).padStart(7),
      fx(t.entropyNorm, 2, 10) + "%", fx(s.legacy ? t.entropy : t.ecs, 4, 10), fx(100 * t.zd, 2, 6) + "%", fx(t.cosSim, 4, 10),
    ].join("\t"));
  }
  lines.push("", `Computing layer statistics (${s.layers.length} layers)`, "",
    ["Layer", first.padStart(11), "ZD".padStart(7), "CosSim".padStart(10), ...(s.legacy ? [] : ["ECS".padStart(8)])].join("\t"));
  for (const l of s.layers) {
    lines.push([String(l.layer).padStart(5), fx(s.legacy ? l.sum : l.l2Dist, 4, 11), fx(100 * l.zd, 2, 6) + "%", fx(l.cosSim, 4, 10),
      ...(s.legacy ? [] : [fx(l.ecs, 4, 8)])].join("\t"));
  }
  for (const k of s.skipped) lines.push(`warning: ${k.name}: ${k.why}; no statistics`);
  return lines.join("\n") + "\n";
}

export function statsJson(s: ImatrixStatistics, fileName: string, extra: Record<string, unknown> = {}) {
  return { file: fileName, mode: s.legacy ? "E[x^2]" : "E[x]", ...extra, tensors: s.tensors, layers: s.layers, skipped: s.skipped };
}

const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * A chart by layer, one panel per measure (Σ or L₂ distance, ZD share, cosine similarity), plus one
 * line per tensor kind for Σ / L₂ (log scale), as a standalone SVG.
 */
export function statsSvg(s: ImatrixStatistics, title: string): string {
  const W = 760, PH = 170, M = { l: 64, r: 150, t: 36, b: 28 };
  const layerIds = s.layers.map((l) => l.layer);
  const blocks = [...new Set(s.tensors.filter((t) => /^\d+$/.test(t.layer)).map((t) => Number(t.layer)))].sort((a, b) => a - b);
  const xs = blocks.length > 0 ? blocks : layerIds;
  const x0 = Math.min(...xs, 0), x1 = Math.max(...xs, 1);
  const px = (l: number) => M.l + ((l - x0) / Math.max(1, x1 - x0)) * (W - M.l - M.r);
  const kinds = [...new Set(s.tensors.map((t) => t.tensor))].sort();
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const out: string[] = [];
  let y = M.t;
  const panel = (label: string, series: { name: string; color: string; pts: [number, number][] }[], log: boolean) => {
    const vals = series.flatMap((se) => se.pts.map((p) => p[1])).filter((v) => Number.isFinite(v) && (!log || v > 0));
    let lo = vals.length ? Math.min(...vals) : 0, hi = vals.length ? Math.max(...vals) : 1;
    if (log) { lo = Math.log10(lo); hi = Math.log10(hi); }
    if (hi === lo) { hi += 0.5; lo -= 0.5; }
    const py = (v: number) => y + PH - 10 - (((log ? Math.log10(v) : v) - lo) / (hi - lo)) * (PH - 20);
    out.push(`<rect x="${M.l}" y="${y}" width="${W - M.l - M.r}" height="${PH}" fill="none" stroke="#ccc"/>`);
    out.push(`<text x="${M.l}" y="${y - 6}" font-size="12" font-weight="bold">${esc(label)}${log ? " (log scale)" : ""}</text>`);
    const fmt = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toFixed(2));
    out.push(`<text x="${M.l - 4}" y="${y + 14}" font-size="10" text-anchor="end">${fmt(log ? 10 ** hi : hi)}</text>`);
    out.push(`<text x="${M.l - 4}" y="${y + PH - 4}" font-size="10" text-anchor="end">${fmt(log ? 10 ** lo : lo)}</text>`);
    series.forEach((se, i) => {
      const pts = se.pts.filter((p) => Number.isFinite(p[1]) && (!log || p[1] > 0));
      if (pts.length === 0) return;
      out.push(`<polyline fill="none" stroke="${se.color}" stroke-width="1.5" points="${pts.map(([l, v]) => `${px(l).toFixed(1)},${py(v).toFixed(1)}`).join(" ")}"><title>${esc(se.name)}</title></polyline>`);
      if (series.length > 1) out.push(`<text x="${W - M.r + 8}" y="${y + 12 + i * 12}" font-size="10" fill="${se.color}">${esc(se.name)}</text>`);
    });
    y += PH + M.t;
  };
  // cosine similarity and L₂ distance need a previous block: the first has none
  const perKind = (pick: (t: TensorStats) => number, fromSecond: boolean) => kinds.map((k, i) => ({
    name: k, color: palette[i % palette.length],
    pts: s.tensors.filter((t) => t.tensor === k && /^\d+$/.test(t.layer) && (!fromSecond || Number(t.layer) > xs[0]))
      .map((t) => [Number(t.layer), pick(t)] as [number, number]).sort((a, b) => a[0] - b[0]),
  }));
  panel(s.legacy ? "Σ E[act²] per tensor" : "L₂ distance to the previous layer, per tensor", perKind((t) => (s.legacy ? t.sum : t.l2Dist), !s.legacy), true);
  panel("ZD share per layer (%)", [{ name: "ZD", color: "#d62728", pts: s.layers.map((l) => [l.layer, 100 * l.zd]) }], false);
  panel("cosine similarity with the previous layer", [{ name: "layer", color: "#000", pts: s.layers.filter((l) => l.layer > xs[0]).map((l) => [l.layer, l.cosSim]) }, ...perKind((t) => t.cosSim, true)], false);
  const axis = xs.map((l) => `<text x="${px(l).toFixed(1)}" y="${y - M.t + 14}" font-size="9" text-anchor="middle">${l}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">`,
    `<text x="${M.l}" y="16" font-size="14">${esc(title)}</text>`,
    ...out, ...axis, `<text x="${(W - M.r + M.l) / 2}" y="${y - 4}" font-size="10" text-anchor="middle">layer</text>`, "</svg>", "",
  ].join("\n");
}
