// The browser page, driven in Debian's Chromium (playwright-core, no browser download): it plans a
// generated model with a preset, a rule and an imatrix (the table agrees with the library's plan),
// quantizes it offline in Web Workers into OPFS, and the saved file has Node's bytes (a split model
// too, from its picked shards); a cancelled run leaves nothing in OPFS and offers nothing to save.
// .ci/run installs chromium when missing; elsewhere, without /usr/bin/chromium, these tests are
// skipped with a warning.

import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { build, preview, type PreviewServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";
import { fileSource, openModelFile, planModel, typeName, type Plan } from "../src/node.js";
import { generateModel, modelShards, shardName, writeImatrix, writeModel } from "./support/generate.js";
import { MODELS } from "./support/model-cases.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const msg = `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does this)`;
  if (process.env.CI) throw new Error(`the browser test cannot run: ${msg}`);
  console.warn(`SKIPPING the browser tests: ${msg}`);
}

const config = fileURLToPath(new URL("../web/vite.config.ts", import.meta.url));
const RULE = "attn_v=q8_0";
let dir: string, server: PreviewServer, browser: Browser, url: string;
let nodeSha: string, plan: Plan;

beforeAll(async () => {
  if (!haveChromium) return;
  dir = mkdtempSync(join(tmpdir(), "web-"));
  await writeModel(join(dir, "model.gguf"), MODELS.dense);
  await writeImatrix(join(dir, "imatrix.gguf"), generateModel(MODELS.dense), "gguf");
  // Node's output for the same choices (the page's rules box is a recipe: --custom-q semantics)
  nodeSha = await nodeQuantize(["--imatrix", "imatrix.gguf", "--custom-q", RULE, "model.gguf", "node.gguf", "Q4_K_M", "1"]);
  const model = await openModelFile(join(dir, "model.gguf"));
  plan = (await planModel(model, { preset: "Q4_K_M", customQ: [RULE], imatrix: await fileSource(join(dir, "imatrix.gguf")) })).plan;
  await model.close();

  await build({ configFile: config, logLevel: "error" });
  server = await preview({ configFile: config, preview: { port: 0, host: "127.0.0.1" }, logLevel: "error" });
  url = server.resolvedUrls!.local[0];
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

/** Runs the Node CLI in the test folder (relative paths, as the page's file names); the output's sha256. */
async function nodeQuantize(args: string[]): Promise<string> {
  const cwd = process.cwd();
  process.chdir(dir);
  let err = "";
  try {
    const code = await runCli(args, { stdout: () => {}, stderr: (s) => { err += s; } });
    expect(code, err).toBe(0);
  } finally {
    process.chdir(cwd);
  }
  return createHash("sha256").update(readFileSync(join(dir, args.at(-3)!))).digest("hex");
}

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await page.setInputFiles("#model", join(dir, "model.gguf"));
  await page.setInputFiles("#imatrix", join(dir, "imatrix.gguf"));
  await page.selectOption("#preset", "Q4_K_M");
  await page.fill("#rules", RULE);
  // the plan follows the last change
  await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Q4_K_M:") && !document.querySelector<HTMLButtonElement>("#start")!.disabled);
  expect(errors).toEqual([]);
  return { context, page };
}

const opfsEntries = (page: Page) => page.evaluate(async () => {
  const names: string[] = [];
  for await (const name of (await navigator.storage.getDirectory() as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
  return names;
});

describe.skipIf(!haveChromium)("the browser page", () => {
  it("shows the plan: every tensor with the library's type, the rule's tensors, totals and the chart", async () => {
    const { context, page } = await openPage();
    const rows = await page.$$eval("#plan-table tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(rows.map((r) => [r[1], r[4]])).toEqual(plan.tensors.map((t) => [t.name, typeName(t.dstType)]));
    const ruled = rows.filter((r) => r[7] === `custom-q ${RULE}`).map((r) => r[1]);
    expect(ruled).toEqual(plan.tensors.filter((t) => t.name.includes("attn_v")).map((t) => t.name));
    expect(await page.textContent("#totals")).toContain(`${(plan.sizeOut / 1048576).toFixed(2)} MiB`);
    expect(await page.$$eval("#bpw-chart rect", (r) => r.length)).toBeGreaterThan(8 * 7);
    await context.close();
  });

  it("quantizes offline in workers, into OPFS, and saves Node's bytes", async () => {
    const { context, page } = await openPage();
    await context.setOffline(true); // everything it needs is loaded
    await page.fill("#threads", "2");
    await page.click("#start");
    await page.waitForSelector("#save", { timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
    expect(download.suggestedFilename()).toBe("model-Q4_K_M.gguf");
    const saved = readFileSync((await download.path())!);
    expect(createHash("sha256").update(saved).digest("hex")).toBe(nodeSha);
    expect(await page.$eval("#progress", (p) => (p as HTMLProgressElement).value)).toBe(1);
    expect(await opfsEntries(page)).toEqual(["model-Q4_K_M.gguf"]);
    await context.close();
  });

  it("quantizes a split model from its picked shards", async () => {
    const m = generateModel(MODELS.f32);
    const shards = modelShards(m, [20, m.tensors.length - 20]);
    const names = shards.map((_, i) => shardName("split", i, shards.length));
    shards.forEach((b, i) => writeFileSync(join(dir, names[i]), b));
    const ref = await nodeQuantize([names[0], "split-node.gguf", "Q8_0", "1"]);
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(url);
    await page.setInputFiles("#model", names.map((n) => join(dir, n)).reverse());
    await page.selectOption("#preset", "Q8_0");
    await page.waitForFunction(() => document.querySelector("#status")?.textContent?.startsWith("Q8_0:") && !document.querySelector<HTMLButtonElement>("#start")!.disabled);
    await page.click("#start");
    await page.waitForSelector("#save", { timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
    expect(download.suggestedFilename()).toBe("split-Q8_0.gguf");
    expect(createHash("sha256").update(readFileSync((await download.path())!)).digest("hex")).toBe(ref);
    await context.close();
  });

  it("cancel stops the run and leaves no output", async () => {
    const { context, page } = await openPage();
    await page.fill("#threads", "1");
    await page.click("#start");
    await page.waitForFunction(() => document.querySelector<HTMLProgressElement>("#progress")!.value > 0);
    await page.click("#cancel");
    await page.waitForFunction(() => document.querySelector("#result")?.textContent?.startsWith("Cancelled"));
    expect(await page.$("#save")).toBeNull();
    expect(await opfsEntries(page)).toEqual([]);
    await context.close();
  });
});
