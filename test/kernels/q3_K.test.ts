// q3_K: quantize_row_q3_K_ref without an imatrix, quantize_row_q3_K_impl with one, against llama.cpp
// (goldens everywhere, the reference library live where it loads); the suite is shared with the
// other 16-wide sub-block K-quant of this pair, see q23_K.suite.ts.

import { defineSuite } from "./q23_K.suite.js";
import { Q3_K } from "./q23_K.cases.js";

defineSuite(Q3_K);
