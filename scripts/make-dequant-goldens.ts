// Makes test/fixtures/golden/dequant.json: sha256 of llama.cpp's to_float (type_traits of the
// reference libggml-base.so, @node-llama-cpp/linux-x64@3.22.1, through koffi) over the random
// blocks of test/support/blocks.ts. Run: npx tsx scripts/make-dequant-goldens.ts TYPE...
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { typeByName } from "../src/types.js";
import { randomBlocks } from "../test/support/blocks.js";
import { oracle } from "../test/support/oracle.js";

if (!oracle) throw new Error("the reference library is not available on this machine");
const path = new URL("../test/fixtures/golden/dequant.json", import.meta.url);
const prev = existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : { digests: {} };
const digests: Record<string, string> = { ...prev.digests };
for (const name of process.argv.slice(2)) {
  const id = typeByName(name)!.id;
  const { bytes, values } = randomBlocks(id);
  digests[name] = createHash("sha256").update(new Uint8Array(oracle.dequantize(id, bytes, values).buffer)).digest("hex");
}
writeFileSync(path, JSON.stringify({ made_by: "npx tsx scripts/make-dequant-goldens.ts " + Object.keys(digests).join(" ") + " (to_float of @node-llama-cpp/linux-x64@3.22.1 libggml-base.so)", digests }, null, 1) + "\n");
