// q4_K: quantize_row_q4_K_ref (no imatrix) and quantize_row_q4_K_impl (imatrix) against llama.cpp, by the
// shared suite of test/kernels/k4.suite.ts (goldens in test/fixtures/golden/kernels-q4_K.json, made by
// scripts/make-k4-goldens.ts; live differential tests where the reference library loads).

import { k4Suite } from "./k4.suite.js";
import { Q4_K } from "./k4.cases.js";

k4Suite(Q4_K);
