// The presets (llama_ftype) that llama-quantize offers, in its QUANT_OPTIONS order (which decides
// both the --help listing and name/number parsing), with the default ggml type of each as the
// reference build's llama_ftype_get_default_type returns it.

import { T } from "./types.js";

export const enum F {
  ALL_F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 7, Q5_0 = 8, Q5_1 = 9,
  Q2_K = 10, Q3_K_S = 11, Q3_K_M = 12, Q3_K_L = 13, Q4_K_S = 14, Q4_K_M = 15, Q5_K_S = 16, Q5_K_M = 17,
  Q6_K = 18, IQ2_XXS = 19, IQ2_XS = 20, Q2_K_S = 21, IQ3_XS = 22, IQ3_XXS = 23, IQ1_S = 24, IQ4_NL = 25,
  IQ3_S = 26, IQ3_M = 27, IQ2_S = 28, IQ2_M = 29, IQ4_XS = 30, IQ1_M = 31, BF16 = 32,
  TQ1_0 = 36, TQ2_0 = 37, MXFP4_MOE = 38, NVFP4 = 39, Q1_0 = 40, Q2_0 = 41,
}

/** llama.h's LLAMA_FTYPE_GUESSED: or-ed into the file type the loader guessed from tensor types. */
export const FTYPE_GUESSED = 1024;

export interface Preset {
  /** the name llama-quantize accepts and prints */
  readonly name: string;
  /** llama_ftype value written to general.file_type */
  readonly ftype: number;
  /** the line --help prints after the name */
  readonly desc: string;
}

export const PRESETS: readonly Preset[] = [
  { name: "Q1_0", ftype: F.Q1_0, desc: " 1.125 bpw quantization" },
  { name: "Q2_0", ftype: F.Q2_0, desc: " 2.25 bpw quantization (group 64)" },
  { name: "Q4_0", ftype: F.Q4_0, desc: " 4.34G, +0.4685 ppl @ Llama-3-8B" },
  { name: "Q4_1", ftype: F.Q4_1, desc: " 4.78G, +0.4511 ppl @ Llama-3-8B" },
  { name: "MXFP4_MOE", ftype: F.MXFP4_MOE, desc: " MXFP4 MoE" },
  { name: "Q5_0", ftype: F.Q5_0, desc: " 5.21G, +0.1316 ppl @ Llama-3-8B" },
  { name: "Q5_1", ftype: F.Q5_1, desc: " 5.65G, +0.1062 ppl @ Llama-3-8B" },
  { name: "IQ2_XXS", ftype: F.IQ2_XXS, desc: " 2.06 bpw quantization" },
  { name: "IQ2_XS", ftype: F.IQ2_XS, desc: " 2.31 bpw quantization" },
  { name: "IQ2_S", ftype: F.IQ2_S, desc: " 2.5  bpw quantization" },
  { name: "IQ2_M", ftype: F.IQ2_M, desc: " 2.7  bpw quantization" },
  { name: "IQ1_S", ftype: F.IQ1_S, desc: " 1.56 bpw quantization" },
  { name: "IQ1_M", ftype: F.IQ1_M, desc: " 1.75 bpw quantization" },
  { name: "TQ1_0", ftype: F.TQ1_0, desc: " 1.69 bpw ternarization" },
  { name: "TQ2_0", ftype: F.TQ2_0, desc: " 2.06 bpw ternarization" },
  { name: "Q2_K", ftype: F.Q2_K, desc: " 2.96G, +3.5199 ppl @ Llama-3-8B" },
  { name: "Q2_K_S", ftype: F.Q2_K_S, desc: " 2.96G, +3.1836 ppl @ Llama-3-8B" },
  { name: "IQ3_XXS", ftype: F.IQ3_XXS, desc: " 3.06 bpw quantization" },
  { name: "IQ3_S", ftype: F.IQ3_S, desc: " 3.44 bpw quantization" },
  { name: "IQ3_M", ftype: F.IQ3_M, desc: " 3.66 bpw quantization mix" },
  { name: "Q3_K", ftype: F.Q3_K_M, desc: "alias for Q3_K_M" },
  { name: "IQ3_XS", ftype: F.IQ3_XS, desc: " 3.3 bpw quantization" },
  { name: "Q3_K_S", ftype: F.Q3_K_S, desc: " 3.41G, +1.6321 ppl @ Llama-3-8B" },
  { name: "Q3_K_M", ftype: F.Q3_K_M, desc: " 3.74G, +0.6569 ppl @ Llama-3-8B" },
  { name: "Q3_K_L", ftype: F.Q3_K_L, desc: " 4.03G, +0.5562 ppl @ Llama-3-8B" },
  { name: "IQ4_NL", ftype: F.IQ4_NL, desc: " 4.50 bpw non-linear quantization" },
  { name: "IQ4_XS", ftype: F.IQ4_XS, desc: " 4.25 bpw non-linear quantization" },
  { name: "Q4_K", ftype: F.Q4_K_M, desc: "alias for Q4_K_M" },
  { name: "Q4_K_S", ftype: F.Q4_K_S, desc: " 4.37G, +0.2689 ppl @ Llama-3-8B" },
  { name: "Q4_K_M", ftype: F.Q4_K_M, desc: " 4.58G, +0.1754 ppl @ Llama-3-8B" },
  { name: "Q5_K", ftype: F.Q5_K_M, desc: "alias for Q5_K_M" },
  { name: "Q5_K_S", ftype: F.Q5_K_S, desc: " 5.21G, +0.1049 ppl @ Llama-3-8B" },
  { name: "Q5_K_M", ftype: F.Q5_K_M, desc: " 5.33G, +0.0569 ppl @ Llama-3-8B" },
  { name: "Q6_K", ftype: F.Q6_K, desc: " 6.14G, +0.0217 ppl @ Llama-3-8B" },
  { name: "Q8_0", ftype: F.Q8_0, desc: " 7.96G, +0.0026 ppl @ Llama-3-8B" },
  { name: "F16", ftype: F.F16, desc: "14.00G, +0.0020 ppl @ Mistral-7B" },
  { name: "BF16", ftype: F.BF16, desc: "14.00G, -0.0050 ppl @ Mistral-7B" },
  { name: "F32", ftype: F.ALL_F32, desc: "26.00G              @ 7B" },
  // after F32, so that "0" parses as F32
  { name: "COPY", ftype: F.ALL_F32, desc: "only copy tensors, no quantizing" },
];

/**
 * try_parse_ftype: a name (case-insensitive) from PRESETS, else an integer (std::stoi: leading
 * whitespace, a sign and digits, trailing junk ignored) matched to the first preset with that ftype.
 */
export function parsePreset(s: string): Preset | undefined {
  const upper = s.toUpperCase();
  const byName = PRESETS.find((p) => p.name === upper);
  if (byName) return byName;
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n) || n > 2147483647 || n < -2147483648) return undefined; // stoi throws out_of_range
  return PRESETS.find((p) => p.ftype === n);
}

/** llama_ftype_get_default_type of the reference build; undefined where it says GGML_TYPE_COUNT. */
export function defaultType(ftype: number): number | undefined {
  switch (ftype) {
    case F.Q4_0: return T.Q4_0;
    case F.Q4_1: return T.Q4_1;
    case F.Q5_0: return T.Q5_0;
    case F.Q5_1: return T.Q5_1;
    case F.Q8_0: return T.Q8_0;
    case F.F16: return T.F16;
    case F.BF16: return T.BF16;
    case F.ALL_F32: return T.F32;
    case F.Q1_0: return T.Q1_0;
    case F.Q2_0: return T.Q2_0;
    case F.MXFP4_MOE: return T.MXFP4;
    // F.NVFP4 maps to GGML_TYPE_COUNT in the build (its switch table lacks it): "invalid output file type 39"
    case F.Q2_K_S: case F.Q2_K: return T.Q2_K;
    case F.IQ3_XS: return T.IQ3_S;
    case F.Q3_K_S: case F.Q3_K_M: case F.Q3_K_L: return T.Q3_K;
    case F.Q4_K_S: case F.Q4_K_M: return T.Q4_K;
    case F.Q5_K_S: case F.Q5_K_M: return T.Q5_K;
    case F.Q6_K: return T.Q6_K;
    case F.TQ1_0: return T.TQ1_0;
    case F.TQ2_0: return T.TQ2_0;
    case F.IQ2_XXS: return T.IQ2_XXS;
    case F.IQ2_XS: return T.IQ2_XS;
    case F.IQ2_S: return T.IQ2_XS;
    case F.IQ2_M: return T.IQ2_S;
    case F.IQ3_XXS: return T.IQ3_XXS;
    case F.IQ1_S: return T.IQ1_S;
    case F.IQ1_M: return T.IQ1_M;
    case F.IQ4_NL: return T.IQ4_NL;
    case F.IQ4_XS: return T.IQ4_XS;
    case F.IQ3_S: case F.IQ3_M: return T.IQ3_S;
    default: return undefined;
  }
}

/** llama_ftype_name-like label for messages: the first preset name with this ftype. */
export function ftypeName(ftype: number): string {
  return PRESETS.find((p) => p.ftype === ftype && p.desc.indexOf("alias") < 0)?.name ?? `ftype ${ftype}`;
}
