// Writes test/fixtures/golden/kernels-{iq2_xxs,iq2_xs,iq2_s,iq1_s,iq1_m}.json from llama.cpp (see
// kernel-golden-writer.ts).   npx tsx scripts/make-iqgrid-goldens.ts [TYPE...]   (no argument: all)
// Our own kernel only predicts which rows may abort: those run in child processes, so llama.cpp
// decides every row either way (and an abort we do not predict stops this script).
import { Kernels, KernelAbort, quantizeRows } from "../src/kernels.js";
import { GRID_TYPES, goldenSets, rowDigests, sha256 } from "../test/kernels/iqgrid.cases.js";
import { writeKernelGoldens } from "./kernel-golden-writer.js";

const k = new Kernels();
writeKernelGoldens({
  script: "make-iqgrid-goldens.ts", casesFile: "test/kernels/iqgrid.cases.ts", types: GRID_TYPES, sets: goldenSets, rowDigests, sha256,
  mayAbort: (ty, s) => s.names.map((_, i) => {
    try { quantizeRows(k, ty.id, new Uint8Array(s.rows.slice(i * s.n, (i + 1) * s.n).buffer), 0, s.n, s.imatrix); return false; }
    catch (e) { if (e instanceof KernelAbort) return true; throw e; }
  }),
}, process.argv.slice(2));
