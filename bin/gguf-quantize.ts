#!/usr/bin/env node
// gguf-quantize [options] model-in.gguf [model-out.gguf] type [nthreads]
// llama-quantize's command line: a script written for it works by changing the program name.

import { runCli } from "../src/cli.js";

// Ctrl-C / kill: stop after the jobs in flight, remove the temporary outputs, exit 130 (a second
// signal exits at once; the temporary file then stays, never the final name)
const controller = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  });
}

runCli(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  isTTY: process.stderr.isTTY,
  signal: controller.signal,
}).then((code) => {
  process.exitCode = code;
});
