// The plan as the page shows it, from planJson (the same JSON as `--dry-run --json`): a table of
// every tensor, and a chart of bits per weight by layer and tensor kind. Plain functions returning
// markup, so they can be tested without a browser.

import type { PlanJson } from "../src/index.js";

type PlanTensor = PlanJson["tensors"][number];

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
export const mib = (bytes: number) => (bytes / 1048576).toFixed(2);

/** Where a tensor goes in the chart: its block (or null outside blocks) and its kind. */
export function layerKind(name: string): { layer: number | null; kind: string } {
  const m = /^blk\.(\d+)\.(.+?)(\.weight)?$/.exec(name);
  if (m) return { layer: Number(m[1]), kind: m[2] };
  return { layer: null, kind: name.replace(/\.weight$/, "") };
}

function decidedBy(t: PlanTensor): string {
  const d = t.decidedBy as { kind: string; rule?: string; source?: string; fallback?: { from: string; to: string } };
  const what = d.rule ? `${d.kind} ${d.rule}` : d.kind;
  return d.fallback ? `${what}; fallback ${d.fallback.from} → ${d.fallback.to}` : what;
}

export function planTable(plan: PlanJson): string {
  const rows = plan.tensors.map((t, i) => `<tr class="${t.type === t.sourceType ? "kept" : "quantized"}">` +
    `<td>${i + 1}</td><td class="name">${escapeHtml(t.name)}</td><td>${t.shape.join(" × ")}</td>` +
    `<td>${t.sourceType}</td><td class="type">${t.type}</td><td>${t.bpw.toFixed(2)}</td><td>${mib(t.bytes)}</td>` +
    `<td>${escapeHtml(decidedBy(t))}</td></tr>`);
  return `<table id="plan-table"><thead><tr><th>#</th><th>tensor</th><th>shape</th><th>from</th><th>to</th><th>bpw</th><th>MiB</th><th>decided by</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`;
}

/** A colour for a bits-per-weight value: red for few bits through yellow, green (4-5) and blue to
 *  violet for 16 and more, on a log scale so that q4_K, q6_K and q8_0 stand apart. */
export function bpwColour(bpw: number): string {
  const x = Math.min(1, Math.max(0, (Math.log2(Math.max(bpw, 1)) - Math.log2(1.5)) / (4 - Math.log2(1.5))));
  return `hsl(${Math.round(x * 260)} 70% 62%)`;
}

/**
 * Bits per weight of every matrix (tensors of two or more dimensions: norms and biases are kept as
 * f32 and would only flatten the scale), one row per tensor kind and one column per layer, with
 * the tensors outside blocks (embeddings, output) in their own columns at the ends.
 */
export function bpwChart(plan: PlanJson): string {
  const matrices = plan.tensors.filter((t) => t.shape.length >= 2);
  const cells = matrices.map((t) => ({ t, ...layerKind(t.name) }));
  const layers = [...new Set(cells.filter((c) => c.layer !== null).map((c) => c.layer!))].sort((a, b) => a - b);
  const head = [...new Set(cells.filter((c) => c.layer === null && /embd|embed/.test(c.kind)).map((c) => c.kind))];
  const tail = [...new Set(cells.filter((c) => c.layer === null && !head.includes(c.kind)).map((c) => c.kind))];
  const columns: { key: string; label: string }[] = [
    ...head.map((k) => ({ key: `x:${k}`, label: k })),
    ...layers.map((l) => ({ key: `b:${l}`, label: String(l) })),
    ...tail.map((k) => ({ key: `x:${k}`, label: k })),
  ];
  const kinds = [...new Set(cells.filter((c) => c.layer !== null).map((c) => c.kind))];
  const rows = [...kinds, ...(head.length + tail.length > 0 ? ["(outside blocks)"] : [])];
  const cw = Math.max(22, Math.min(48, Math.floor(760 / Math.max(1, columns.length)))), ch = 22, left = 150, top = 70;
  const width = left + columns.length * cw + 10, height = top + rows.length * ch + 50;
  const out: string[] = [`<svg id="bpw-chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="11">`];
  columns.forEach((c, i) => {
    const x = left + i * cw + cw / 2;
    out.push(`<text x="${x}" y="${top - 6}" text-anchor="start" transform="rotate(-50 ${x} ${top - 6})">${escapeHtml(c.label)}</text>`);
  });
  rows.forEach((r, j) => out.push(`<text x="${left - 6}" y="${top + j * ch + ch / 2 + 4}" text-anchor="end">${escapeHtml(r)}</text>`));
  for (const c of cells) {
    const col = columns.findIndex((k) => k.key === (c.layer !== null ? `b:${c.layer}` : `x:${c.kind}`));
    const row = c.layer !== null ? kinds.indexOf(c.kind) : rows.length - 1;
    const x = left + col * cw, y = top + row * ch;
    out.push(`<g><title>${escapeHtml(c.t.name)}: ${c.t.type}, ${c.t.bpw.toFixed(2)} bpw</title>` +
      `<rect x="${x + 1}" y="${y + 1}" width="${cw - 2}" height="${ch - 2}" rx="2" fill="${bpwColour(c.t.bpw)}"/>` +
      (cw >= 34 ? `<text x="${x + cw / 2}" y="${y + ch / 2 + 4}" text-anchor="middle" font-size="9">${c.t.type}</text>` : "") + `</g>`);
  }
  const ly = top + rows.length * ch + 22;
  out.push(`<text x="${left}" y="${ly + 4}" text-anchor="end" dx="-6">bits per weight</text>`);
  [1.5, 2, 3, 4, 5, 6, 8, 16, 32].forEach((b, i) => {
    out.push(`<rect x="${left + i * 44}" y="${ly - 8}" width="40" height="16" rx="2" fill="${bpwColour(b)}"/><text x="${left + i * 44 + 20}" y="${ly + 4}" text-anchor="middle">${b}</text>`);
  });
  out.push("</svg>");
  return out.join("");
}

/** One line: tensors, sizes in and out, bits per weight. */
export function totalsLine(plan: PlanJson): string {
  const t = plan.totals;
  const changed = plan.tensors.filter((x) => x.type !== x.sourceType).length;
  return `${plan.tensors.length} tensors (${changed} converted) · ${mib(t.bytesIn)} MiB → ${mib(t.bytes)} MiB · ${t.bpwIn.toFixed(2)} → ${t.bpw.toFixed(2)} bits per weight` +
    (t.fallbacks > 0 ? ` · ${t.fallbacks} fallback(s)` : "") + (t.needsImatrix ? " · needs an importance matrix to run" : "");
}
