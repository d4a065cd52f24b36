// A small seeded mutator (AFL's havoc stage, without coverage feedback): it stacks a few random
// edits on a valid seed. Edits that matter most for a parser are aimed at the seed's fields: each
// seed comes with a map of where its counts, lengths, types, dimensions and offsets are, and those
// get overwritten with the values that break parsers (0, -1, 2^31, 2^63, the file size ± 1 ...).
// Everything is a function of the Rng, so a case is reproduced from (target, seed index, rng seed);
// crashing inputs are saved as bytes anyway (scripts/fuzz.ts).

import { Rng } from "../support/random.js";

/** A numeric field of a seed: byte position and width (1, 2, 4 or 8). */
export interface Field { pos: number; width: 1 | 2 | 4 | 8 }

export interface Seed {
  /** for messages and fixture names */
  name: string;
  bytes: Uint8Array;
  /** where the structure is (edits prefer these) */
  fields?: readonly Field[];
  /** bytes before this position are structure (header), after it bulk data */
  hotEnd?: number;
  /** byte strings worth splicing in (keys, type names, regex syntax) */
  tokens?: readonly Uint8Array[];
}

/** Values that break parsers, as unsigned 64-bit patterns (cut to the field's width). */
function interesting(rng: Rng, size: number): bigint {
  const picks: bigint[] = [
    0n, 1n, 2n, 3n, 4n, 7n, 8n, 16n, 31n, 32n, 63n, 64n, 255n, 256n, 1023n, 1024n, 4096n, 65535n, 65536n,
    (1n << 31n) - 1n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, (1n << 53n) + 1n, (1n << 62n), (1n << 63n) - 1n, 1n << 63n,
    (1n << 64n) - 1n, (1n << 64n) - 2n, (1n << 30n) + 1n,
    BigInt(size), BigInt(size + 1), BigInt(Math.max(size - 1, 0)), BigInt(size * 2), BigInt(rng.int(size + 1)),
  ];
  const v = picks[rng.int(picks.length)];
  // sometimes a small delta around it
  return rng.int(4) === 0 ? BigInt.asUintN(64, v + BigInt(rng.int(9) - 4)) : v;
}

function writeUint(b: Uint8Array, pos: number, width: number, v: bigint): void {
  for (let i = 0; i < width && pos + i < b.length; i++) b[pos + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** A position, in the structure part 85% of the time when the seed says where that ends. */
function position(rng: Rng, length: number, hotEnd?: number): number {
  if (length === 0) return 0;
  if (hotEnd !== undefined && hotEnd > 0 && rng.int(100) < 85) return rng.int(Math.min(hotEnd, length));
  return rng.int(length);
}

/** One edit; returns a new array (the input is never modified). */
function editOnce(rng: Rng, input: Uint8Array, seed: Seed, others: readonly Seed[]): Uint8Array {
  const b = input.slice();
  const n = b.length;
  const pos = () => position(rng, n, seed.hotEnd);
  switch (rng.int(12)) {
    case 0: case 1: { // a field set to an interesting value (fields of the seed stay put unless an edit moved them)
      const f = seed.fields && seed.fields.length > 0 ? seed.fields[rng.int(seed.fields.length)] : { pos: pos(), width: ([1, 2, 4, 8] as const)[rng.int(4)] };
      writeUint(b, f.pos, f.width, interesting(rng, n));
      return b;
    }
    case 2: { // a field nudged by a small amount (off-by-one lengths, counts, offsets)
      if (!seed.fields || seed.fields.length === 0) { if (n) b[pos()] ^= 1 << rng.int(8); return b; }
      const f = seed.fields[rng.int(seed.fields.length)];
      let v = 0n;
      for (let i = f.width - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[f.pos + i] ?? 0);
      writeUint(b, f.pos, f.width, BigInt.asUintN(64, v + BigInt(rng.int(33) - 16)));
      return b;
    }
    case 3: if (n) b[pos()] ^= 1 << rng.int(8); return b; // bit flip
    case 4: if (n) b[pos()] = [0, 1, 0x7f, 0x80, 0xff, rng.int(256)][rng.int(6)]; return b;
    case 5: { // an interesting value at any position and width
      if (n) writeUint(b, pos(), ([1, 2, 4, 8] as const)[rng.int(4)], interesting(rng, n));
      return b;
    }
    case 6: return b.subarray(0, pos()).slice(); // truncation
    case 7: { // delete a range
      const p = pos(), len = 1 + rng.int(Math.min(64, Math.max(1, n - p)));
      return concat(b.subarray(0, p), b.subarray(Math.min(n, p + len)));
    }
    case 8: { // duplicate a range somewhere (repeated keys, names, whole records)
      const p = pos(), len = 1 + rng.int(Math.min(256, Math.max(1, n - p)));
      const at = pos();
      return concat(b.subarray(0, at), b.subarray(p, Math.min(n, p + len)), b.subarray(at));
    }
    case 9: { // splice in a token, replacing or inserting
      const tokens = seed.tokens ?? [];
      const tok = tokens.length > 0 ? tokens[rng.int(tokens.length)] : Uint8Array.of(rng.int(256));
      const at = pos();
      return rng.int(2) === 0 ? concat(b.subarray(0, at), tok, b.subarray(at)) : concat(b.subarray(0, at), tok, b.subarray(Math.min(n, at + tok.length)));
    }
    case 10: { // crossover with another seed of the same target
      const o = others.length > 0 ? others[rng.int(others.length)].bytes : b;
      const at = pos(), from = rng.int(o.length + 1), len = rng.int(Math.min(512, o.length - from) + 1);
      return concat(b.subarray(0, at), o.subarray(from, from + len), b.subarray(Math.min(n, at + len)));
    }
    default: { // random bytes appended or inserted
      const extra = new Uint8Array(1 + rng.int(32));
      for (let i = 0; i < extra.length; i++) extra[i] = rng.int(256);
      const at = rng.int(2) === 0 ? n : pos();
      return concat(b.subarray(0, at), extra, b.subarray(at));
    }
  }
}

/** 1..8 stacked edits of one seed (fewer more often: most parsers stop at the first problem). */
export function mutate(rng: Rng, seed: Seed, others: readonly Seed[] = []): Uint8Array {
  let b = seed.bytes;
  const edits = 1 + Math.min(rng.int(8), rng.int(8));
  for (let i = 0; i < edits; i++) b = editOnce(rng, b, seed, others);
  return b;
}

export const utf8 = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array) => new TextDecoder().decode(b);
