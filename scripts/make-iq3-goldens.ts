// Writes test/fixtures/golden/kernels-iq3_xxs.json and kernels-iq3_s.json from llama.cpp (see
// kernel-golden-writer.ts; rows run in child processes, since llama.cpp aborts on some of them).
//   npx tsx scripts/make-iq3-goldens.ts [iq3_xxs] [iq3_s]   (no argument: both)
import { IQ3_TYPES, goldenSets, rowDigests, sha256, type Iq3Type } from "../test/kernels/iq3.cases.js";
import { writeKernelGoldens } from "./kernel-golden-writer.js";

writeKernelGoldens<Iq3Type>({ script: "make-iq3-goldens.ts", casesFile: "test/kernels/iq3.cases.ts", types: IQ3_TYPES, sets: (ty) => goldenSets(ty), rowDigests, sha256, mayAbort: (_ty, s) => s.names.map(() => true) }, process.argv.slice(2));
