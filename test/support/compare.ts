// Byte comparison of quantized rows, reporting where the first difference is.

/** Undefined when equal; else the first differing row (with its name), byte and both values,
 *  plus how many rows differ. */
export function firstDiff(ours: Uint8Array, ref: Uint8Array, rowBytes: number, names?: readonly string[], blockBytes?: number): string | undefined {
  if (ours.length !== ref.length) return `length ${ours.length} != reference ${ref.length}`;
  let first: string | undefined;
  let rows = 0;
  for (let r = 0; r * rowBytes < ours.length; r++) {
    for (let b = r * rowBytes; b < (r + 1) * rowBytes; b++) {
      if (ours[b] === ref[b]) continue;
      rows++;
      if (!first) {
        const o = b - r * rowBytes;
        const where = blockBytes ? ` (block ${Math.floor(o / blockBytes)}, offset ${o % blockBytes})` : "";
        const hex = (v: number) => "0x" + v.toString(16).padStart(2, "0");
        first = `row ${r}${names?.[r] ? ` "${names[r]}"` : ""}, byte ${o}${where}: ours ${hex(ours[b])}, llama.cpp ${hex(ref[b])}`;
      }
      break;
    }
  }
  return first && `${first} (${rows} row${rows > 1 ? "s" : ""} differ)`;
}

const isNanF16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x03ff) !== 0;

/**
 * Like firstDiff, block by block, but a block whose reference has a NaN in one of its fp16 scale
 * fields (byte offsets `scaleFields` within the block) only needs NaN in the same fields: such a
 * block fails ggml_validate_row_data, so llama-quantize rejects the tensor and its other bytes
 * never reach a file. Every other block must be identical.
 */
export function firstDiffNanScales(ours: Uint8Array, ref: Uint8Array, blockBytes: number, scaleFields: readonly number[], rowBytes: number, names?: readonly string[]): string | undefined {
  if (ours.length !== ref.length) return `length ${ours.length} != reference ${ref.length}`;
  const f16 = (a: Uint8Array, o: number) => a[o] | (a[o + 1] << 8);
  for (let b = 0; b < ref.length; b += blockBytes) {
    if (scaleFields.some((f) => isNanF16(f16(ref, b + f)))) {
      for (const f of scaleFields) {
        if (isNanF16(f16(ref, b + f)) !== isNanF16(f16(ours, b + f))) {
          const r = Math.floor(b / rowBytes);
          return `row ${r}${names?.[r] ? ` "${names[r]}"` : ""}, block ${(b % rowBytes) / blockBytes}, scale at +${f}: ours 0x${f16(ours, b + f).toString(16)}, llama.cpp 0x${f16(ref, b + f).toString(16)} (NaN in one only)`;
        }
      }
      continue;
    }
    for (let i = b; i < b + blockBytes; i++) {
      if (ours[i] !== ref[i]) {
        const r = Math.floor(b / rowBytes);
        return `row ${r}${names?.[r] ? ` "${names[r]}"` : ""}, block ${(b % rowBytes) / blockBytes}, offset ${i - b}: ours 0x${ours[i].toString(16)}, llama.cpp 0x${ref[i].toString(16)}`;
      }
    }
  }
  return undefined;
}
