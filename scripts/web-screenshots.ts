// The README's pictures of the browser page: docs/web-plan.png (the plan of a generated model with a
// preset, an imatrix and two rules) and docs/web-progress.png (a run under way).
//   npx tsx scripts/web-screenshots.ts        (needs /usr/bin/chromium)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { build, preview } from "vite";
import { generateModel, writeImatrix, writeModel } from "../test/support/generate.js";
import { MODELS } from "../test/support/model-cases.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const config = join(root, "web/vite.config.ts");
const dir = mkdtempSync(join(tmpdir(), "shots-"));
try {
  await writeModel(join(dir, "model.gguf"), MODELS.dense);
  await writeImatrix(join(dir, "imatrix.gguf"), generateModel(MODELS.dense), "gguf");
  await build({ configFile: config, logLevel: "error" });
  const server = await preview({ configFile: config, preview: { port: 0, host: "127.0.0.1" }, logLevel: "error" });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1150, height: 1000 } });
    await page.goto(server.resolvedUrls!.local[0]);
    await page.setInputFiles("#model", join(dir, "model.gguf"));
    await page.setInputFiles("#imatrix", join(dir, "imatrix.gguf"));
    await page.selectOption("#preset", "Q4_K_M");
    await page.fill("#rules", "# sharper attention values and early FFN outputs\nattn_v=q8_0\nblk\\.[0-1]\\.ffn_down=q6_K");
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>("#start")!.disabled);
    await page.screenshot({ path: join(root, "docs/web-plan.png") });
    await page.fill("#threads", "1");
    await page.click("#start");
    await page.waitForFunction(() => document.querySelector<HTMLProgressElement>("#progress")!.value > 0.3);
    await page.evaluate(() => window.scrollTo(0, 420));
    await page.screenshot({ path: join(root, "docs/web-progress.png") });
    await page.waitForSelector("#save", { timeout: 120_000 });
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
