// The page: inputs -> a plan (asked of the run worker on every change, shown before anything runs)
// -> a run in workers with progress and cancel -> a saved file. All work happens in
// web/run-worker.ts; this thread only draws.

import { PRESETS } from "../src/ftypes.js";
import { bpwChart, mib, planTable, totalsLine } from "./plan-view.js";
import type { FromWorker, Inputs, ToWorker } from "./protocol.js";
import RunWorker from "./run-worker.ts?worker&inline";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelInput = $<HTMLInputElement>("model"), imatrixInput = $<HTMLInputElement>("imatrix");
const presetSelect = $<HTMLSelectElement>("preset"), rulesInput = $<HTMLTextAreaElement>("rules");
const pureInput = $<HTMLInputElement>("pure"), leaveOutput = $<HTMLInputElement>("leave-output");
const threadsInput = $<HTMLInputElement>("threads");
const status = $("status"), totals = $("totals"), messages = $("messages"), chart = $("chart"), table = $("table");
const planBox = $("plan");
const start = $<HTMLButtonElement>("start"), cancel = $<HTMLButtonElement>("cancel");
const progress = $<HTMLProgressElement>("progress"), rate = $("rate"), result = $("result");

for (const p of PRESETS) presetSelect.add(new Option(`${p.name} —${p.desc}`, p.name, p.name === "Q4_K_M", p.name === "Q4_K_M"));
threadsInput.value = String(Math.max(1, Math.min(8, (navigator.hardwareConcurrency || 2) - 1)));

// created now, so a run needs nothing more from the server
const worker = new RunWorker();
const send = (msg: ToWorker) => worker.postMessage(msg);
// one counter for both kinds of request; a reply is used only if it answers the latest plan request
// or the current run
let lastId = 0;
let planId = 0;
let planned: { preset: string; ok: boolean } | undefined;
let running: { id: number; t0: number } | undefined;
let savedUrl: string | undefined;

function inputs(): Inputs | undefined {
  const files = [...(modelInput.files ?? [])];
  if (files.length === 0) return undefined;
  return {
    files,
    imatrix: imatrixInput.files?.[0],
    settings: {
      preset: presetSelect.value,
      recipe: rulesInput.value.trim() ? rulesInput.value : undefined,
      recipeName: "rules",
      pure: pureInput.checked,
      leaveOutputTensor: leaveOutput.checked,
    },
  };
}

function outputName(preset: string): string {
  const first = [...(modelInput.files ?? [])].map((f) => f.name).sort()[0] ?? "model.gguf";
  return first.replace(/(-\d{5}-of-\d{5})?\.gguf$/i, "") + `-${preset}.gguf`;
}

function setStatus(text: string, error = false) {
  status.textContent = text;
  status.classList.toggle("error", error);
}

/** Until the plan of the current inputs is back, there is nothing to run. */
function planPending() {
  planId = 0; // a reply to an earlier request is stale now
  planned = undefined;
  planBox.classList.add("stale");
  start.disabled = true;
  setStatus("Planning…");
}

function requestPlan() {
  const inp = inputs();
  if (!inp) return;
  planPending();
  planId = ++lastId;
  send({ type: "plan", id: planId, inputs: inp });
}

let debounce: ReturnType<typeof setTimeout> | undefined;
const requestPlanSoon = () => {
  if (!modelInput.files?.length) return;
  planPending();
  clearTimeout(debounce);
  debounce = setTimeout(requestPlan, 250);
};
for (const el of [modelInput, imatrixInput, presetSelect, pureInput, leaveOutput]) el.addEventListener("change", requestPlan);
rulesInput.addEventListener("input", requestPlanSoon);

start.addEventListener("click", () => {
  const inp = inputs();
  if (!inp || !planned?.ok) return;
  const id = ++lastId;
  running = { id, t0: performance.now() };
  if (savedUrl) URL.revokeObjectURL(savedUrl);
  savedUrl = undefined;
  result.textContent = "";
  result.classList.remove("error");
  progress.value = 0;
  start.disabled = true;
  cancel.disabled = false;
  send({ type: "run", id, inputs: inp, threads: Math.max(1, Number(threadsInput.value) || 1), output: outputName(planned.preset) });
});

cancel.addEventListener("click", () => {
  cancel.disabled = true;
  rate.textContent = "cancelling…";
  send({ type: "cancel" });
});

function finishRun() {
  running = undefined;
  cancel.disabled = true;
  start.disabled = !planned?.ok;
}

async function showOutput(name: string, bytes: number, ms: number) {
  const root = await navigator.storage.getDirectory();
  const file = await (await root.getFileHandle(name)).getFile();
  savedUrl = URL.createObjectURL(file);
  result.innerHTML = "";
  const a = document.createElement("a");
  a.id = "save";
  a.href = savedUrl;
  a.download = name;
  a.textContent = `Save ${name} (${mib(bytes)} MiB)`;
  result.append(a, ` — quantized in ${(ms / 1000).toFixed(1)} s`);
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const msg = e.data;
  const forRun = running !== undefined && msg.id === running.id;
  if (!forRun && msg.id !== planId) return; // a reply to an older request
  switch (msg.type) {
    case "plan":
      planned = { preset: msg.plan.preset, ok: !msg.plan.totals.needsImatrix };
      planBox.classList.remove("stale");
      setStatus(`${msg.plan.preset}: the plan below is what a run writes (${outputName(msg.plan.preset)}).`);
      totals.textContent = totalsLine(msg.plan);
      messages.textContent = [...msg.log, ...msg.summary, ...msg.rules].join("\n");
      chart.innerHTML = bpwChart(msg.plan);
      table.innerHTML = planTable(msg.plan);
      start.disabled = !!running || !planned.ok;
      break;
    case "progress": {
      progress.value = msg.total > 0 ? msg.done / msg.total : 1;
      const s = (performance.now() - running!.t0) / 1000;
      rate.textContent = `${(100 * progress.value).toFixed(1)}% · ${(msg.done / 1048576 / Math.max(s, 1e-3)).toFixed(1)} MiB/s`;
      break;
    }
    case "done":
      progress.value = 1;
      rate.textContent = "100%";
      finishRun();
      void showOutput(msg.output, msg.bytes, msg.ms);
      break;
    case "cancelled":
      finishRun();
      progress.value = 0;
      rate.textContent = "";
      result.textContent = "Cancelled: the partial output was removed.";
      break;
    case "error":
      if (forRun) {
        finishRun();
        result.textContent = msg.error.message;
        result.classList.add("error");
      } else {
        planned = undefined;
        start.disabled = true;
        planBox.classList.remove("stale");
        for (const el of [totals, messages, chart, table]) el.textContent = "";
        setStatus(msg.error.message, true);
      }
      break;
  }
};
