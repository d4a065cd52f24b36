// Rows that exercise every corner of a kernel: the edge cases that random data would never hit
// (KERNELS.md: random data alone hid 3 of 7 measured deviations), then realistic heavy-tailed rows.
// edgeRows(n) returns nrows*n floats; each row is one case, cycling through CASES.

import { Rng } from "./random.js";

const f = Math.fround;
const sub = 1.17e-38; // a little below FLT_MIN: subnormal territory

/** Each case fills one row of n values (n is a multiple of 32). */
export const CASES: Record<string, (x: Float32Array, rng: Rng) => void> = {
  zeros: (x) => x.fill(0),
  negzeros: (x) => x.fill(-0),
  mixedzeros: (x) => { for (let i = 0; i < x.length; i++) x[i] = i % 3 === 0 ? -0 : 0; },
  constpos: (x) => x.fill(0.125),
  constneg: (x) => x.fill(-3.5),
  constodd: (x) => x.fill(f(0.3)),
  outlier: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.normal() * 0.01; x[7] = 1e4; x[x.length - 3] = -3e5; },
  huge: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.normal() * 0.01; x[5] = 1e30; x[40 % x.length] = -2e30; },
  subnormal: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * sub; },
  mixedsub: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = i % 2 ? (r.uniform() - 0.5) * sub : r.normal() * 0.02; },
  tiny37: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 2e-37; },
  tiny30: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 2e-30; },
  big7: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 2e7; },
  fp16over: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 1.4e5; },
  allpos: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.uniform() * 0.05 + 0.001; },
  allneg: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = -(r.uniform() * 0.05 + 0.001); },
  ties: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.int(33) - 16) * 0.5 * 0.0625; },
  halfsteps: (x) => { for (let i = 0; i < x.length; i++) x[i] = ((i % 32) - 16) + 0.5; },
  twovalued: (x) => { for (let i = 0; i < x.length; i++) x[i] = i % 2 ? 1 : -1; },
  ladder: (x) => { for (let i = 0; i < x.length; i++) x[i] = (i % 32) / 31; },
  ladderneg: (x) => { for (let i = 0; i < x.length; i++) x[i] = -((i % 16) - 8) / 7; },
  onespike: (x) => { x.fill(0); x[x.length >> 1] = -0.75; },
  sparse: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.uniform() < 0.1 ? r.normal() : 0; },
  blockmodes: (x, r) => {
    // each 32-wide block takes its own mode, so vector lanes mix early exits with normal work
    const modes = [
      () => 0, () => 0.5, () => r.normal() * 1e-20, () => r.normal() * 1e20, () => r.normal() * 0.02,
      () => (r.uniform() - 0.5) * sub, () => (r.int(9) - 4) * 0.25,
    ];
    for (let b = 0; b < x.length; b += 32) {
      const m = modes[r.int(modes.length)];
      for (let i = b; i < b + 32; i++) x[i] = m();
      if (r.uniform() < 0.2) x[b + r.int(32)] = r.normal() * 100;
    }
  },
  heavy: (x, r) => {
    // trained-weight-like: Student-t(5) with per-column scale and a few outlier columns
    for (let i = 0; i < x.length; i++) {
      const colScale = 1 + ((i * 2654435761) % 97) / 97;
      x[i] = r.studentT(5) * 0.02 * colScale * (i % 256 === 17 ? 6 : 1);
    }
  },
  normal: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.normal() * 0.03; },
};

export const CASE_NAMES = Object.keys(CASES);

/** Rows for kernel tests: every edge case once, then `extra` heavy-tailed rows. n must be a multiple of 32. */
export function edgeRows(n: number, seed = 1, extra = 4): { rows: Float32Array; nrows: number; names: string[] } {
  const names = [...CASE_NAMES, ...Array.from({ length: extra }, () => "heavy")];
  const rows = new Float32Array(names.length * n);
  const rng = new Rng(seed);
  names.forEach((name, r) => CASES[name](rows.subarray(r * n, (r + 1) * n), rng));
  return { rows, nrows: names.length, names };
}

/** Rows with non-finite values (llama.cpp rejects such tensors before quantizing, but the kernels
 *  still see them when called directly; kept separate because some types abort on them). */
export function nonFiniteRows(n: number): Float32Array {
  const rows = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) rows[i] = (i % 7) - 3;
  rows[3] = Infinity;
  for (let i = 0; i < n; i++) rows[n + i] = (i % 5) * 0.1;
  rows[n + 9] = NaN;
  for (let i = 0; i < n; i++) rows[2 * n + i] = i % 2 ? 3e38 : -3e38;
  return rows;
}

/** An importance vector: positive, heavy-tailed, with some exact zeros and one tiny entry. */
export function importance(n: number, seed = 7): Float32Array {
  const rng = new Rng(seed);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = Math.abs(rng.studentT(3)) * 0.5 + 0.01;
  for (let i = 0; i < n; i += 97) w[i] = 0;
  if (n > 50) w[50] = 1e-30;
  return w;
}

/** More non-finite rows (n >= 64): NaN as the first value of a block (C loops seeded with x[0]
 *  keep it), a block of only NaN, -inf, both infinities, NaNs with sign and payload bits, inf next
 *  to NaN, and a NaN in an otherwise all-zero block. */
export function moreNonFiniteRows(n: number, seed = 3): Float32Array {
  const rng = new Rng(seed);
  const rows = new Float32Array(6 * n);
  const bits = new Uint32Array(rows.buffer);
  const row = (r: number) => rows.subarray(r * n, (r + 1) * n);
  for (let r = 0; r < 6; r++) { const x = row(r); for (let i = 0; i < n; i++) x[i] = rng.normal() * 0.02; }
  row(0)[0] = NaN; row(0)[32] = NaN; row(0)[33] = 0.5;
  row(1).fill(NaN, 0, 32); row(1)[40] = -Infinity;
  row(2)[1] = Infinity; row(2)[2] = -Infinity; row(2)[35] = -Infinity;
  for (let i = 0; i < n; i += 11) bits[3 * n + i] = [0xffc00000, 0x7fc00001, 0x7f800001, 0xff812345, 0x7fffffff][(i / 11) % 5];
  row(4)[5] = Infinity; bits[4 * n + 6] = 0x7fa00000; row(4).fill(0, 32, 64); bits[4 * n + 50] = 0xffc00000;
  row(5).fill(-0, 0, 32); row(5)[7] = NaN; row(5)[33] = 3.4e38; row(5)[34] = -3.4e38;
  return rows;
}

/** Interesting binary32 values, repeated to fill `count` rows of n: signed zeros, infinities, NaNs
 *  with payloads (quiet and signalling), FLT_MAX/MIN, f32 subnormals, and the rounding boundaries
 *  of fp16 (overflow at 65520, subnormals down to 2^-25, ties to even) and bf16 (ties, overflow). */
export const SPECIAL_F32_BITS: readonly number[] = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001,
  0x7fc00001, 0x7fbfffff, 0x7fffffff, 0xffffffff, 0x7fa5a5a5, 0x7f7fffff, 0xff7fffff, 0x00800000,
  0x80800000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000,
  // fp16: 65504 (max), 65519.996 (-> 65504), 65520 (-> inf), 65536
  0x477fe000, 0x477fefff, 0x477ff000, 0x47800000, 0xc77ff000,
  // fp16 min normal 2^-14 and just below, min subnormal 2^-24, 2^-25 (tie -> 0), just above 2^-25, 1.5*2^-24 (tie -> 2^-23)
  0x38800000, 0x387fffff, 0x33800000, 0x33000000, 0x33000001, 0x33c00000, 0xb3000000, 0x32ffffff,
  // fp16 ties in the normal range: 1 + 2^-11 (-> 1), 1 + 3*2^-11 (-> 1 + 2^-9), and neighbours
  0x3f801000, 0x3f803000, 0x3f800fff, 0x3f801001, 0xbf801000, 0x3f7ff000, 0x477fd000, 0x38801000,
  // fp16 subnormal ties: 2^-24 * 2.5, 3.5
  0x34200000, 0x34600000, 0x34200001,
  // bf16 ties and overflow
  0x3f808000, 0x3f818000, 0x3f808001, 0x7f7f8000, 0x7f7f7fff, 0xbf808000, 0x00008000, 0x00018000,
  0x3f800000, 0xbf800000, 0x40490fdb, 0x3eaaaaab,
];

export function specialValueRows(n: number, count = 2): Float32Array {
  const bits = new Uint32Array(count * n);
  for (let i = 0; i < bits.length; i++) bits[i] = SPECIAL_F32_BITS[i % SPECIAL_F32_BITS.length];
  return new Float32Array(bits.buffer);
}

/** Rows of random binary32 bit patterns (every class: NaN payloads, subnormals, huge...). */
export function randomBitRows(n: number, count: number, seed = 11): Float32Array {
  const rng = new Rng(seed);
  const bits = new Uint32Array(count * n);
  for (let i = 0; i < bits.length; i++) bits[i] = rng.u32();
  return new Float32Array(bits.buffer);
}

/** Random rows for differential tests: each row is a CASES generator (heavy-tailed and normal
 *  rows weighted up) under a random seed, scaled by 10^u with u mostly in [-4, 2] and sometimes
 *  extreme ([-40, 35]: subnormal d, overflowing x^2 and fp16 d). */
export function randomRows(n: number, count: number, seed: number): { rows: Float32Array; names: string[] } {
  const rng = new Rng(seed);
  const pool = [...CASE_NAMES, "heavy", "heavy", "heavy", "normal", "normal", "blockmodes", "sparse"];
  const rows = new Float32Array(count * n);
  const names: string[] = [];
  for (let r = 0; r < count; r++) {
    const name = pool[rng.int(pool.length)];
    const x = rows.subarray(r * n, (r + 1) * n);
    CASES[name](x, rng);
    const p = rng.uniform();
    const e = p < 0.7 ? -4 + rng.uniform() * 6 : p < 0.85 ? 0 : -40 + rng.uniform() * 75;
    const s = Math.pow(10, e);
    if (e !== 0) for (let i = 0; i < n; i++) x[i] = x[i] * s;
    names.push(e === 0 ? name : `${name}*1e${e.toFixed(1)}`);
  }
  return { rows, names };
}

/** Random importance vectors: importance() under a seed, sometimes all ones, sometimes with whole
 *  zero blocks, huge (1e30) or tiny (1e-30) entries. */
export function randomImportance(n: number, seed: number): Float32Array {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const w = importance(n, seed);
  const mode = rng.int(5);
  if (mode === 1) w.fill(1);
  if (mode === 2) for (let b = 0; b < n; b += 32) if (rng.uniform() < 0.3) w.fill(0, b, b + 32);
  if (mode === 3) for (let i = 0; i < n; i++) if (rng.uniform() < 0.05) w[i] = rng.uniform() < 0.5 ? 1e30 : 1e-30;
  return w;
}

// ---- more cases for kernels with 16-wide sub-blocks and one fp16 super-block scale (q6_K, and the
// q2_K/q3_K family). Kept apart from CASES so that edgeRows, and the goldens made from it, stay as
// they are. Each aims at one branch of those kernels: the GROUP_MAX_EPS band of the sub-block
// scales, a super-block d that underflows, is subnormal or overflows in fp16, sub-blocks whose
// scale rounds to 0 (their levels then come from the search, not from the requantization), and
// scales of opposite sign and equal size (-128 -> clamped to 127).

/** Fills x[b..b+16) with one of the sub-block modes, chosen by r. */
function subBlockMode(x: Float32Array, b: number, r: Rng): void {
  const m = r.int(16);
  for (let i = b; i < b + 16; i++) {
    switch (m) {
      case 0: x[i] = 0; break;
      case 1: x[i] = -0; break;
      case 2: x[i] = 0.5; break;
      case 3: x[i] = (r.uniform() - 0.5) * 2e-14; break; // GROUP_MAX_EPS band
      case 4: x[i] = (r.uniform() - 0.5) * 2e-16; break; // below GROUP_MAX_EPS
      case 5: x[i] = r.normal() * 1e-9; break; // d underflows in fp16 if this block rules
      case 6: x[i] = r.normal() * 0.02; break;
      case 7: x[i] = r.normal() * 1e-20; break;
      case 8: x[i] = r.normal() * 1e20; break;
      case 9: x[i] = i === b + 5 ? -r.uniform() * 4 : 0; break; // one spike
      case 10: x[i] = ((i - b) - 8) / 8; break; // ladder
      case 11: x[i] = (r.int(33) - 16) * 0.5 * 0.0625; break; // ties
      case 12: x[i] = (i - b) % 2 ? 0.25 : -0.25; break;
      case 13: x[i] = (r.uniform() - 0.5) * sub; break;
      case 14: x[i] = -(r.uniform() * 0.05 + 0.001); break;
      default: x[i] = r.studentT(3) * 0.01; break;
    }
  }
}

export const SUBBLOCK_CASES: Record<string, (x: Float32Array, rng: Rng) => void> = {
  subblockmodes: (x, r) => { for (let b = 0; b < x.length; b += 16) subBlockMode(x, b, r); },
  subblockmodes2: (x, r) => { for (let b = 0; b < x.length; b += 16) subBlockMode(x, b, r); },
  epsband: (x, r) => {
    // sub-block magnitudes 1e-15..1e-13: scales fall on both sides of GROUP_MAX_EPS = 1e-15
    for (let b = 0; b < x.length; b += 16) {
      const s = Math.pow(10, -15 + 2 * r.uniform());
      for (let i = b; i < b + 16; i++) x[i] = r.normal() * s;
    }
  },
  epsflat: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 6e-14; },
  d16under: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.normal() * 1e-9; }, // d -> fp16 0
  d16edge: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.normal() * 4e-5; }, // d near fp16's smallest subnormal
  d16over: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = r.normal() * 1e8; }, // d near/over 65504
  bigspread: (x, r) => {
    // sub-block magnitudes over 16 decades: most scales round to 0 or to small integers
    for (let b = 0; b < x.length; b += 16) {
      const s = Math.pow(10, -8 + 16 * r.uniform());
      for (let i = b; i < b + 16; i++) x[i] = r.normal() * s;
    }
  },
  mirrored: (x, r) => {
    // sub-blocks in +/- pairs of one pattern: equal and opposite scales (+128 clamps to 127)
    const p = Array.from({ length: 16 }, () => r.normal() * 0.05);
    for (let b = 0; b < x.length; b += 16) for (let i = 0; i < 16; i++) x[b + i] = (b / 16) % 2 ? -p[i] : p[i];
  },
  mirroredint: (x) => { for (let i = 0; i < x.length; i++) x[i] = ((i >> 4) % 2 ? -1 : 1) * ((i % 16) - 7); },
  rampscale: (x, r) => {
    // sub-block scales from 1 down to 1/300 of the largest: requantized scales hit every int8 size
    for (let b = 0; b < x.length; b += 16) {
      const s = 1 / (1 + ((b / 16) * 37) % 300);
      for (let i = b; i < b + 16; i++) x[i] = r.normal() * s;
    }
  },
  x2overflow: (x, r) => { for (let i = 0; i < x.length; i++) x[i] = (r.uniform() - 0.5) * 4e19; }, // x*x*l overflows f32
};

export const SUBBLOCK_CASE_NAMES = Object.keys(SUBBLOCK_CASES);

/** Rows for kernels with 16-wide sub-blocks: every SUBBLOCK_CASES case once. n must be a multiple of 16. */
export function subBlockRows(n: number, seed = 3): { rows: Float32Array; nrows: number; names: string[] } {
  const names = SUBBLOCK_CASE_NAMES;
  const rows = new Float32Array(names.length * n);
  const rng = new Rng(seed);
  names.forEach((name, r) => SUBBLOCK_CASES[name](rows.subarray(r * n, (r + 1) * n), rng));
  return { rows, nrows: names.length, names: [...names] };
}

/** More non-finite rows than nonFiniteRows: -inf, NaN sub-blocks, all-NaN, inf next to huge values. */
export function nonFiniteRowsMore(n: number): { rows: Float32Array; nrows: number; names: string[] } {
  const names = ["neginf", "nanblock", "allnan", "allinf", "infhuge", "nanfirst", "infsub"];
  const rows = new Float32Array(names.length * n);
  const row = (k: number) => rows.subarray(k * n, (k + 1) * n);
  row(0).forEach((_, i, a) => { a[i] = Math.sin(i) * 0.1; }); row(0)[20] = -Infinity;
  row(1).forEach((_, i, a) => { a[i] = ((i * 7) % 13 - 6) * 0.01; }); row(1).fill(NaN, 32, 48);
  row(2).fill(NaN);
  row(3).fill(Infinity);
  row(4).forEach((_, i, a) => { a[i] = i % 3 ? 1e30 : -2e30; }); row(4)[100] = Infinity; row(4)[n - 1] = -Infinity;
  row(5).forEach((_, i, a) => { a[i] = ((i % 9) - 4) * 0.02; }); row(5)[0] = NaN;
  row(6).forEach((_, i, a) => { a[i] = i % 16 === 3 ? Infinity : ((i % 5) - 2) * 0.3; });
  return { rows, nrows: names.length, names };
}
