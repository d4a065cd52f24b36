// The page is built into web/dist: one HTML file, one CSS file and one script with both workers
// (and the WASM module) inlined, so once loaded it needs no server. `npm run web` builds and serves it.

import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  worker: { format: "es" },
  preview: { port: 4173, strictPort: false },
  server: { fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] } },
});
