// Writes test/fixtures/golden/kernels-q2_K.json and kernels-q3_K.json from llama.cpp (see
// kernel-golden-writer.ts).   npx tsx scripts/make-q23k-goldens.ts [q2_K] [q3_K]   (no argument: both)
import { Q2_K, Q3_K, goldenSets, rowDigests, sha256 } from "../test/kernels/q23_K.cases.js";
import { writeKernelGoldens } from "./kernel-golden-writer.js";

writeKernelGoldens({ script: "make-q23k-goldens.ts", casesFile: "test/kernels/q23_K.cases.ts", types: [Q2_K, Q3_K], sets: () => goldenSets(), rowDigests, sha256 }, process.argv.slice(2));
