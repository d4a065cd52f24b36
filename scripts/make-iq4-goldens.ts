// Writes test/fixtures/golden/kernels-iq4_nl.json and kernels-iq4_xs.json from llama.cpp (see
// kernel-golden-writer.ts).   npx tsx scripts/make-iq4-goldens.ts [iq4_nl] [iq4_xs]   (no argument: both)
import { IQ4_TYPES, goldenSets, rowDigests, sha256, type Iq4Type } from "../test/kernels/iq4.cases.js";
import { writeKernelGoldens } from "./kernel-golden-writer.js";

writeKernelGoldens<Iq4Type>({ script: "make-iq4-goldens.ts", casesFile: "test/kernels/iq4.cases.ts", types: IQ4_TYPES, sets: (ty) => goldenSets(ty), rowDigests, sha256 }, process.argv.slice(2));
