// THE type table: every ggml_type of the reference build (llama.cpp as shipped in
// @node-llama-cpp/linux-x64@3.22.1, GGML_TYPE_COUNT = 43). Ids are ggml's enum values and never
// change; removed ids are tombstones (blockSize 0). Sizes are written the way the block structs in
// ggml-common.h lay them out; test/types.test.ts checks each against ggml_type_size/ggml_blck_size.
// Everything else (CLI names, plan sizes, the dry-run bpw column, kernel dispatch) reads this table.

export interface GgmlType {
  /** ggml_type enum value */
  readonly id: number;
  /** ggml_type_name */
  readonly name: string;
  /** values per block (ggml_blck_size); 0 for removed ids */
  readonly blockSize: number;
  /** bytes per block (ggml_type_size) */
  readonly typeSize: number;
  /** ggml_is_quantized */
  readonly quantized: boolean;
  /** ggml_quantize_requires_imatrix */
  readonly needsImatrix: boolean;
  /** the wasm export that quantizes to this type, if we have it yet */
  readonly kernel?: string;
}

const QK = 256; // QK_K, the super-block of the K and I quants

function t(id: number, name: string, blockSize: number, typeSize: number, quantized: boolean, extra: Partial<GgmlType> = {}): GgmlType {
  return { id, name, blockSize, typeSize, quantized, needsImatrix: false, ...extra };
}
function removed(id: number, name: string): GgmlType {
  return { id, name, blockSize: 0, typeSize: 0, quantized: false, needsImatrix: false };
}

export const TYPES: readonly GgmlType[] = [
  t(0, "f32", 1, 4, false, { kernel: "quantize_f32" }),
  t(1, "f16", 1, 2, false, { kernel: "quantize_f16" }),
  t(2, "q4_0", 32, 2 + 32 / 2, true, { kernel: "quantize_q4_0" }),
  t(3, "q4_1", 32, 2 + 2 + 32 / 2, true, { kernel: "quantize_q4_1" }),
  removed(4, "q4_2"),
  removed(5, "q4_3"),
  t(6, "q5_0", 32, 2 + 4 + 32 / 2, true, { kernel: "quantize_q5_0" }),
  t(7, "q5_1", 32, 2 + 2 + 4 + 32 / 2, true, { kernel: "quantize_q5_1" }),
  t(8, "q8_0", 32, 2 + 32, true, { kernel: "quantize_q8_0" }),
  t(9, "q8_1", 32, 2 + 2 + 32, true),
  t(10, "q2_K", QK, QK / 16 + QK / 4 + 2 + 2, true, { kernel: "quantize_q2_K" }),
  t(11, "q3_K", QK, QK / 8 + QK / 4 + 12 + 2, true, { kernel: "quantize_q3_K" }),
  t(12, "q4_K", QK, 2 + 2 + 12 + QK / 2, true, { kernel: "quantize_q4_K" }),
  t(13, "q5_K", QK, 2 + 2 + 12 + QK / 8 + QK / 2, true, { kernel: "quantize_q5_K" }),
  t(14, "q6_K", QK, QK / 2 + QK / 4 + QK / 16 + 2, true, { kernel: "quantize_q6_K" }),
  t(15, "q8_K", QK, 4 + QK + (QK / 16) * 2, true),
  t(16, "iq2_xxs", QK, 2 + (QK / 8) * 2, true, { needsImatrix: true, kernel: "quantize_iq2_xxs" }),
  t(17, "iq2_xs", QK, 2 + (QK / 8) * 2 + QK / 32, true, { needsImatrix: true, kernel: "quantize_iq2_xs" }),
  t(18, "iq3_xxs", QK, 2 + (3 * QK) / 8, true, { kernel: "quantize_iq3_xxs" }),
  t(19, "iq1_s", QK, 2 + QK / 8 + QK / 16, true, { needsImatrix: true, kernel: "quantize_iq1_s" }),
  t(20, "iq4_nl", 32, 2 + 32 / 2, true, { kernel: "quantize_iq4_nl" }),
  t(21, "iq3_s", QK, 2 + QK / 4 + QK / 8 + QK / 32 + 4, true, { kernel: "quantize_iq3_s" }),
  t(22, "iq2_s", QK, 2 + QK / 4 + QK / 16, true, { kernel: "quantize_iq2_s" }),
  t(23, "iq4_xs", QK, 2 + 2 + QK / 64 + QK / 2, true, { kernel: "quantize_iq4_xs" }),
  t(24, "i8", 1, 1, false),
  t(25, "i16", 1, 2, false),
  t(26, "i32", 1, 4, false),
  t(27, "i64", 1, 8, false),
  t(28, "f64", 1, 8, false),
  t(29, "iq1_m", QK, QK / 8 + QK / 16 + QK / 32, true, { kernel: "quantize_iq1_m" }),
  t(30, "bf16", 1, 2, false, { kernel: "quantize_bf16" }),
  removed(31, "q4_0_4_4"),
  removed(32, "q4_0_4_8"),
  removed(33, "q4_0_8_8"),
  t(34, "tq1_0", QK, (QK - (4 * QK) / 64) / 5 + QK / 64 + 2, true, { kernel: "quantize_tq1_0" }),
  t(35, "tq2_0", QK, 2 + QK / 4, true, { kernel: "quantize_tq2_0" }),
  removed(36, "iq4_nl_4_4"),
  removed(37, "iq4_nl_4_8"),
  removed(38, "iq4_nl_8_8"),
  t(39, "mxfp4", 32, 1 + 32 / 2, true, { kernel: "quantize_mxfp4" }),
  t(40, "nvfp4", 64, 64 / 16 + 64 / 2, true, { kernel: "quantize_nvfp4" }),
  t(41, "q1_0", 128, 2 + 128 / 8, true, { kernel: "quantize_q1_0" }),
  t(42, "q2_0", 64, 2 + 64 / 4, true, { kernel: "quantize_q2_0" }),
];

export const GGML_TYPE_COUNT = TYPES.length;

export const enum T {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
}

export function typeInfo(id: number): GgmlType {
  const ty = TYPES[id];
  if (!ty || ty.blockSize === 0) throw new RangeError(`unknown ggml type id ${id}`);
  return ty;
}

/** A type name as ggml prints it, or `type(ID)` for ids it does not know. */
export function typeName(id: number): string {
  const ty = TYPES[id];
  return ty && ty.blockSize !== 0 ? ty.name : `type(${id})`;
}

/** Case-insensitive lookup by ggml name (as llama-quantize's parse_ggml_type does). */
export function typeByName(name: string): GgmlType | undefined {
  const lower = name.toLowerCase();
  return TYPES.find((ty) => ty.blockSize !== 0 && ty.name.toLowerCase() === lower);
}

/** ggml_row_size: bytes of one row of n values. n must be a multiple of the block size. */
export function rowBytes(id: number, n: number): number {
  const ty = typeInfo(id);
  return (ty.typeSize * n) / ty.blockSize;
}

/** ggml_nbytes for a contiguous tensor of shape ne. */
export function tensorBytes(id: number, ne: readonly number[]): number {
  let rows = 1;
  for (let i = 1; i < ne.length; i++) rows *= ne[i];
  return rowBytes(id, ne[0]) * rows;
}

/** Bits per weight of a type. */
export function bitsPerWeight(id: number): number {
  const ty = typeInfo(id);
  return (ty.typeSize * 8) / ty.blockSize;
}
