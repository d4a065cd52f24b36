// Where the numeric fields of a valid file are, so the mutator can aim at them: every count, string
// length, value type, array header, dimension count, dimension, tensor type and offset of a GGUF
// header, and every count and length of a legacy imatrix. Walks files the writers made (valid by
// construction); it is not a parser and checks nothing.

import type { Field } from "./mutate.js";
import { VALUE_TYPE_SIZES, ValueType } from "../../src/gguf/values.js";

export function ggufFields(b: Uint8Array): { fields: Field[]; headerEnd: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fields: Field[] = [{ pos: 0, width: 4 }, { pos: 4, width: 4 }, { pos: 8, width: 8 }, { pos: 16, width: 8 }];
  let p = 24;
  const u64 = () => { fields.push({ pos: p, width: 8 }); const x = Number(v.getBigUint64(p, true)); p += 8; return x; };
  const u32 = () => { fields.push({ pos: p, width: 4 }); const x = v.getUint32(p, true); p += 4; return x; };
  const str = () => { const n = u64(); p += n; };
  const nTensors = Number(v.getBigUint64(8, true)), nKv = Number(v.getBigUint64(16, true));
  for (let i = 0; i < nKv; i++) {
    str();
    const type = u32();
    if (type === ValueType.ARRAY) {
      const item = u32();
      const n = u64();
      if (item === ValueType.STRING) for (let j = 0; j < n; j++) str();
      else {
        // the first few elements of numeric arrays (values the loader reads per layer)
        for (let j = 0; j < Math.min(n, 4); j++) fields.push({ pos: p + j * VALUE_TYPE_SIZES[item], width: VALUE_TYPE_SIZES[item] as Field["width"] });
        p += n * VALUE_TYPE_SIZES[item];
      }
    } else if (type === ValueType.STRING) str();
    else { fields.push({ pos: p, width: VALUE_TYPE_SIZES[type] as Field["width"] }); p += VALUE_TYPE_SIZES[type]; }
  }
  for (let i = 0; i < nTensors; i++) {
    str();
    const nd = u32();
    for (let j = 0; j < nd; j++) u64();
    u32(); // type
    u64(); // offset
  }
  return { fields, headerEnd: p };
}

export function datFields(b: Uint8Array): { fields: Field[]; headerEnd: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fields: Field[] = [{ pos: 0, width: 4 }];
  const n = v.getInt32(0, true);
  let p = 4;
  for (let i = 0; i < n; i++) {
    fields.push({ pos: p, width: 4 });
    p += 4 + v.getInt32(p, true);
    fields.push({ pos: p, width: 4 }, { pos: p + 4, width: 4 });
    p += 8 + 4 * v.getInt32(p + 4, true);
  }
  // the trailer: chunk count and dataset name length
  if (p + 4 <= b.length) fields.push({ pos: p, width: 4 });
  if (p + 8 <= b.length) fields.push({ pos: p + 4, width: 4 });
  return { fields, headerEnd: b.length };
}
