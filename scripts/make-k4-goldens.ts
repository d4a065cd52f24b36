// Writes test/fixtures/golden/kernels-q4_K.json and kernels-q5_K.json from llama.cpp (see
// kernel-golden-writer.ts).   npx tsx scripts/make-k4-goldens.ts [q4_K] [q5_K]   (no argument: both)
import { K4_TYPES, goldenSets, rowDigests, sha256 } from "../test/kernels/k4.cases.js";
import { writeKernelGoldens } from "./kernel-golden-writer.js";

writeKernelGoldens({ script: "make-k4-goldens.ts", casesFile: "test/kernels/k4.cases.ts", types: K4_TYPES, sets: () => goldenSets(), rowDigests, sha256 }, process.argv.slice(2));
