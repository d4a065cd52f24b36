// port of iq2xs_init_impl (ggml-quants.c @ 36491e40), which ggml_quantize_init runs for iq2_xxs,
// iq2_xs, iq2_s, iq1_s and iq1_m: per lattice, the grid points as 8 int8 coordinates 2l + 1, a map
// from every packed level vector u = Σ l_i << 2i (l_i in 0..3, so u < 43692) to its grid index, and,
// for each u off the grid, the list of grid points at the nwant smallest squared distances.
//
// The lists are in qsort order with iq2_compare_func, which compares (distance, index): a total
// order, so the unstable qsort has no ties to break and the order is "by distance, then by grid
// index" whatever the libc. We write them straight in that order instead of sorting: the distances
// of one vector to 16 grid points per v128 (as bytes: at most 128), then for each of the nwant
// smallest distances present its points in index order (bitmasks of equal bytes).
//
// The quantizers only look up vectors whose levels are all 0..2 (they clamp to kMaxQ - 1 = 2, and
// iq1 uses 3 levels), so we build lists for those 3^8 vectors only; llama.cpp also builds lists for
// vectors holding a level 3, which nothing reads. The map stores -(offset + 1) for an off-grid
// vector, as C does (the offsets differ from C's, which count those unused lists too).
//
// Storage: about 2.1 MB in all, built once per instance on first use of a type. It lies between
// the module's static data and the first byte the host may use (index.ts heap_base), because
// zero-filled static data would be written out in the .wasm.

import { KGRID_2BIT_256, KGRID_2BIT_512, KGRID_1BIT_2048, KGRID_2BIT_1024 } from "./grids";
import { __transpose4_store } from "./simd";

/** iq2_data_index: 0 iq2_xxs, 1 iq2_xs, 2 iq1_s and iq1_m, 3 iq2_s */
export const LATTICE_IQ2XXS: i32 = 0;
export const LATTICE_IQ2XS: i32 = 1;
export const LATTICE_IQ1: i32 = 2;
export const LATTICE_IQ2S: i32 = 3;

const KMAP_SIZE: i32 = 43692;

// per lattice: grid size, nwant, and the exact neighbour-list length (Σ over the 3^8 - size
// off-grid vectors of 1 + their neighbour count), which init checks
// @ts-ignore: decorator
@inline function grid_size(g: i32): i32 { return g == 0 ? 256 : g == 1 ? 512 : g == 2 ? 2048 : 1024; }
// @ts-ignore: decorator
@inline function nwant(g: i32): i32 { return g == 2 ? 3 : g == 3 ? 1 : 2; }
// @ts-ignore: decorator
@inline function list_capacity(g: i32): i32 { return g == 0 ? 119462 : g == 1 ? 187770 : g == 2 ? 332234 : 50253; }
// @ts-ignore: decorator
@inline function kgrid(g: i32): usize { return g == 0 ? KGRID_2BIT_256 : g == 1 ? KGRID_2BIT_512 : g == 2 ? KGRID_1BIT_2048 : KGRID_2BIT_1024; }

// @ts-ignore: decorator
@inline function align16(p: usize): usize { return (p + 15) & ~<usize>15; }
// @ts-ignore: decorator
@inline function lattice_bytes(g: i32): usize {
  // the lists get 3 spare words: nearest_listed reads up to 3 past a list's end
  return align16(<usize>grid_size(g) * 8) + align16(<usize>KMAP_SIZE * 4) + align16(<usize>(list_capacity(g) + 3) * 2);
}

const BASE: usize = align16(__heap_base);
const OFFSET_1: usize = BASE + lattice_bytes(0);
const OFFSET_2: usize = OFFSET_1 + lattice_bytes(1);
const OFFSET_3: usize = OFFSET_2 + lattice_bytes(2);
/** The end of the lattices' storage: the host's memory starts here. */
export const LATTICE_END: usize = align16(OFFSET_3 + lattice_bytes(3));

// @ts-ignore: decorator
@inline function lattice_base(g: i32): usize { return g == 0 ? BASE : g == 1 ? OFFSET_1 : g == 2 ? OFFSET_2 : OFFSET_3; }

/** kgrid_q2xs: grid point i as 8 int8 coordinates 2l + 1 at lattice_grid(g) + 8i. */
// @ts-ignore: decorator
@inline export function lattice_grid(g: i32): usize { return lattice_base(g); }
/** kmap_q2xs: i32 per packed vector u; >= 0 a grid index, else -(offset of u's list + 1). */
// @ts-ignore: decorator
@inline export function lattice_map(g: i32): usize { return lattice_base(g) + align16(<usize>grid_size(g) * 8); }
/** kneighbors_q2xs: lists of u16, each a count then that many grid indices. */
// @ts-ignore: decorator
@inline export function lattice_lists(g: i32): usize { return lattice_map(g) + align16(<usize>KMAP_SIZE * 4); }

/** kmap_q2xs[u] */
// @ts-ignore: decorator
@inline export function kmap(g: i32, u: i32): i32 { return load<i32>(lattice_map(g) + (<usize>u << 2)); }
/** The neighbour list of off-grid u (kneighbors_q2xs - kmap_q2xs[u] - 1): count, then indices. */
// @ts-ignore: decorator
@inline export function neighbours_of(g: i32, m: i32): usize { return lattice_lists(g) + (<usize>(-m - 1) << 1); }

let built: i32 = 0; // bit g: lattice g is built
/** Init scratch: the grid transposed (8 rows of up to 2048 bytes), one word's distances as bytes,
 *  and the squares of |difference| 0..4 for i8x16.swizzle. */
const GT: usize = memory.data(8 * 2048, 16);
const DIST8: usize = memory.data(2048, 16);
const SQUARES: v128 = i8x16(0, 1, 4, 9, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

/** The least of 16 unsigned bytes. */
// @ts-ignore: decorator
@inline function hmin_u8(v: v128): i32 {
  let m = i8x16.min_u(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  m = i8x16.min_u(m, i8x16.shuffle(m, m, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  m = i8x16.min_u(m, i8x16.shuffle(m, m, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  m = i8x16.min_u(m, i8x16.shuffle(m, m, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
  return <i32>i8x16.extract_lane_u(m, 0);
}

/** Builds lattice g (iq2xs_init_impl) unless this instance already has. Memory up to LATTICE_END
 *  must exist (the host reserves it before any kernel runs). */
export function lattice_init(g: i32): void {
  if (built & (1 << g)) return;
  const size = grid_size(g);
  const want = nwant(g);
  const src = kgrid(g);
  const grid = lattice_grid(g);
  const map = lattice_map(g);
  const lists = lattice_lists(g);
  for (let k = 0; k < size; ++k) {
    const packed = <i32>load<u16>(src + (<usize>k << 1));
    for (let i = 0; i < 8; ++i) store<i8>(grid + (<usize>k << 3) + <usize>i, <i8>(2 * ((packed >> (2 * i)) & 3) + 1));
  }
  for (let u = 0; u < KMAP_SIZE; ++u) store<i32>(map + (<usize>u << 2), -1);
  for (let k = 0; k < size; ++k) store<i32>(map + (<usize>load<u16>(src + (<usize>k << 1)) << 2), k);

  // the grid transposed (GT + size·i + j: coordinate i of point j), for 16 points per v128
  for (let j = 0; j < size; ++j) for (let i = 0; i < 8; ++i) store<u8>(GT + <usize>(size * i + j), load<u8>(grid + (<usize>j << 3) + <usize>i));

  let counter = 0;
  for (let u = 0; u < KMAP_SIZE; ++u) {
    if (load<i32>(map + (<usize>u << 2)) >= 0) continue;
    let usable = true;
    for (let k = 0; k < 8; ++k) if (((u >> (2 * k)) & 3) == 3) usable = false;
    if (!usable) continue;
    // squared distances to every point, as bytes (at most 8·4² = 128 between coordinates 1, 3, 5:
    // |difference| 0, 2 or 4, squared by a swizzle), and the least of them
    let least = i8x16.splat(-1);
    for (let j = 0; j < size; j += 16) {
      let d2 = i8x16.splat(0);
      for (let i = 0; i < 8; ++i) {
        const diff = i8x16.abs(i8x16.sub(v128.load(GT + <usize>(size * i + j)), i8x16.splat(<i8>(2 * ((u >> (2 * i)) & 3) + 1))));
        d2 = i8x16.add(d2, i8x16.swizzle(SQUARES, diff));
      }
      v128.store(DIST8 + <usize>j, d2);
      least = i8x16.min_u(least, d2);
    }
    store<i32>(map + (<usize>u << 2), -(counter + 1));
    const start = counter++;
    let n = 0;
    // the nwant smallest distances present, each with its points in index order
    let d = hmin_u8(least);
    for (let have = 0; have < want && d != 255; ++have) {
      const dv = i8x16.splat(<i8>d);
      let next = i8x16.splat(-1);
      for (let j = 0; j < size; j += 16) {
        const v = v128.load(DIST8 + <usize>j);
        let bits = i8x16.bitmask(i8x16.eq(v, dv));
        while (bits) {
          store<u16>(lists + (<usize>counter << 1), <u16>(j + ctz(bits)));
          ++counter;
          ++n;
          bits &= bits - 1;
        }
        next = i8x16.min_u(next, v128.or(v, i8x16.le_u(v, dv)));
      }
      d = hmin_u8(next);
    }
    store<u16>(lists + (<usize>start << 1), <u16>n);
  }
  if (counter != list_capacity(g)) unreachable(); // the grids changed: the capacities above must follow
  built |= 1 << g;
}

// ---- the vector neighbour search (default; the quantizers keep their direct loops as the scalar
// reference, set_scalar_kernels(1)). A grid coordinate takes only 3 values (bytes 1, 3, 5), so for one
// group at one scale the distance term w_i·(scale·q - x_i)² of coordinate i has 3 possible values:
// computed once per group (lane-wise f32, the same operations as the direct loop). 4 neighbours per
// v128, one per lane: each lane sums its neighbour's 8 terms (looked up with i8x16.swizzle) in
// coordinate order from 0, the very sum of the direct loop; each lane keeps its first strict minimum,
// and the lanes' minima combine as min value, then least list position: the direct loop's pick
// (its first d2 below every earlier one, NaN never below).

/** TERMS + 16i: the terms of coordinate i for levels 0, 1, 2 (lanes 0..2; lane 3 unused). */
const TERMS: usize = memory.data(8 * 16, 16);
const FLT_MAX: f32 = reinterpret<f32>(0x7f7fffff);

/**
 * The terms w_i·d·d, d = scale·q_l - x_i (C's operand order), of one group: q_l for the levels l =
 * 0, 1, 2 (iq2: 1, 3, 5; iq1: its shifted values), x and w 8 floats each.
 */
export function group_terms(q0: f32, q1: f32, q2: f32, x: usize, w: usize, scale: f32): void {
  const s = f32x4.splat(scale);
  const xa = v128.load(x), xb = v128.load(x, 16), wa = v128.load(w), wb = v128.load(w, 16);
  const s0 = f32x4.mul(s, f32x4.splat(q0)), s1 = f32x4.mul(s, f32x4.splat(q1)), s2 = f32x4.mul(s, f32x4.splat(q2));
  let d = f32x4.sub(s0, xa);
  const a0 = f32x4.mul(f32x4.mul(wa, d), d);
  d = f32x4.sub(s1, xa);
  const a1 = f32x4.mul(f32x4.mul(wa, d), d);
  d = f32x4.sub(s2, xa);
  const a2 = f32x4.mul(f32x4.mul(wa, d), d);
  d = f32x4.sub(s0, xb);
  const b0 = f32x4.mul(f32x4.mul(wb, d), d);
  d = f32x4.sub(s1, xb);
  const b1 = f32x4.mul(f32x4.mul(wb, d), d);
  d = f32x4.sub(s2, xb);
  const b2 = f32x4.mul(f32x4.mul(wb, d), d);
  __transpose4_store(a0, a1, a2, a0, TERMS);
  __transpose4_store(b0, b1, b2, b0, TERMS + 64);
}

/** Lane k: the terms of coordinate i of the neighbour whose grid bytes b (1, 3, 5) are doubled in
 *  lane k of w2 (byte i & 3), looked up at bytes 2b - 2 + {0,1,2,3}. */
// @ts-ignore: decorator
@inline function term4(w2: v128, i: i32): v128 {
  const at = i & 3;
  const spread = i32x4.add(i32x4.splat(at * 0x01010101), i32x4(0, 0x04040404, 0x08080808, 0x0c0c0c0c));
  const idx = i8x16.add(i8x16.swizzle(w2, spread),
    i8x16(-2, -1, 0, 1, -2, -1, 0, 1, -2, -1, 0, 1, -2, -1, 0, 1));
  return i8x16.swizzle(v128.load(TERMS + (<usize>i << 4)), idx);
}

/** Of the neighbours listed for off-grid m (kmap value), the first with the least distance by the
 *  current terms (group_terms) below FLT_MAX, or -1 (NaN or overflow everywhere). */
export function nearest_listed(g: i32, m: i32): i32 {
  const nb = neighbours_of(g, m);
  const num = <i32>load<u16>(nb);
  const grid = lattice_grid(g);
  const mask = <u16>(grid_size(g) - 1);
  let best = f32x4.splat(FLT_MAX);
  let bestPos = i32x4.splat(-1);
  let pos = i32x4(1, 2, 3, 4);
  for (let j = 1; j <= num; j += 4) {
    // neighbours j..j+3; past the end of the list the lanes read the next list's words (or the
    // spare ones), kept to a grid index by the mask, and are masked out below
    const at = nb + (<usize>j << 1);
    const p0 = grid + (<usize>(load<u16>(at) & mask) << 3);
    const p1 = grid + (<usize>(load<u16>(at, 2) & mask) << 3);
    const p2 = grid + (<usize>(load<u16>(at, 4) & mask) << 3);
    const p3 = grid + (<usize>(load<u16>(at, 6) & mask) << 3);
    let lo = v128.load32_zero(p0), hi = v128.load32_zero(p0, 4);
    lo = v128.load32_lane(p1, lo, 1); hi = v128.load32_lane(p1 + 4, hi, 1);
    lo = v128.load32_lane(p2, lo, 2); hi = v128.load32_lane(p2 + 4, hi, 2);
    lo = v128.load32_lane(p3, lo, 3); hi = v128.load32_lane(p3 + 4, hi, 3);
    lo = i8x16.add(lo, lo);
    hi = i8x16.add(hi, hi);
    let d2 = f32x4.splat(0);
    d2 = f32x4.add(d2, term4(lo, 0));
    d2 = f32x4.add(d2, term4(lo, 1));
    d2 = f32x4.add(d2, term4(lo, 2));
    d2 = f32x4.add(d2, term4(lo, 3));
    d2 = f32x4.add(d2, term4(hi, 4));
    d2 = f32x4.add(d2, term4(hi, 5));
    d2 = f32x4.add(d2, term4(hi, 6));
    d2 = f32x4.add(d2, term4(hi, 7));
    const better = v128.and(f32x4.lt(d2, best), i32x4.le_s(pos, i32x4.splat(num)));
    best = v128.bitselect(d2, best, better);
    bestPos = v128.bitselect(pos, bestPos, better);
    pos = i32x4.add(pos, i32x4.splat(4));
  }
  // the least value, then the least position among the lanes holding it (no lane found: -1)
  const b1 = f32x4.min(best, i32x4.shuffle(best, best, 1, 0, 3, 2));
  const bmin = f32x4.min(b1, i32x4.shuffle(b1, b1, 2, 3, 0, 1));
  const cand = v128.bitselect(bestPos, i32x4.splat(0x7fffffff), v128.and(f32x4.eq(best, bmin), i32x4.ge_s(bestPos, i32x4.splat(0))));
  const c1 = i32x4.min_s(cand, i32x4.shuffle(cand, cand, 1, 0, 3, 2));
  const first = i32x4.extract_lane(i32x4.min_s(c1, i32x4.shuffle(c1, c1, 2, 3, 0, 1)), 0);
  return first == 0x7fffffff ? -1 : <i32>load<u16>(nb + (<usize>first << 1));
}
