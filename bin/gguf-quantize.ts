#!/usr/bin/env node
// gguf-quantize [options] model-in.gguf [model-out.gguf] type [nthreads]
// llama-quantize's command line: a script written for it works by changing the program name.

import { runCli } from "../src/cli.js";

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
