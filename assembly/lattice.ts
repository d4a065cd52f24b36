// port of iq2xs_init_impl (ggml-quants.c @ 36491e40), which ggml_quantize_init runs for iq2_xxs,
// iq2_xs, iq2_s, iq1_s and iq1_m: per lattice, the grid points as 8 int8 coordinates 2l + 1, a map
// from every packed level vector u = Σ l_i << 2i (l_i in 0..3, so u < 43692) to its grid index, and,
// for each u off the grid, the list of grid points at the nwant smallest squared distances.
//
// The lists are in qsort order with iq2_compare_func, which compares (distance, index): a total
// order, so the unstable qsort has no ties to break and the order is "by distance, then by grid
// index" whatever the libc. We write them straight in that order (a counting pass over the few
// distances, then the indices ascending) instead of sorting.
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
  return align16(<usize>grid_size(g) * 8) + align16(<usize>KMAP_SIZE * 4) + align16(<usize>list_capacity(g) * 2);
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
const DIST2: usize = memory.data(2048 << 2, 16);

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

  let counter = 0;
  for (let u = 0; u < KMAP_SIZE; ++u) {
    if (load<i32>(map + (<usize>u << 2)) >= 0) continue;
    let usable = true;
    for (let k = 0; k < 8; ++k) if (((u >> (2 * k)) & 3) == 3) usable = false;
    if (!usable) continue;
    // squared distances (at most 8 * 4^2 = 128 between points with coordinates 1, 3, 5) and
    // which of them occur
    let present_lo: u64 = 0, present_hi: u64 = 0, present_top: bool = false;
    for (let j = 0; j < size; ++j) {
      const pg = grid + (<usize>j << 3);
      let d2 = 0;
      for (let k = 0; k < 8; ++k) {
        const diff = <i32>load<i8>(pg + <usize>k) - (2 * ((u >> (2 * k)) & 3) + 1);
        d2 += diff * diff;
      }
      store<i32>(DIST2 + (<usize>j << 2), d2);
      if (d2 < 64) present_lo |= (<u64>1) << <u64>d2;
      else if (d2 < 128) present_hi |= (<u64>1) << <u64>(d2 - 64);
      else present_top = true;
    }
    store<i32>(map + (<usize>u << 2), -(counter + 1));
    const start = counter++;
    let n = 0;
    let have = 0;
    for (let d = 0; d <= 128 && have < want; ++d) {
      const present = d < 64 ? (present_lo >> <u64>d) & 1 : d < 128 ? (present_hi >> <u64>(d - 64)) & 1 : <u64>(present_top ? 1 : 0);
      if (!present) continue;
      ++have;
      for (let j = 0; j < size; ++j) {
        if (load<i32>(DIST2 + (<usize>j << 2)) != d) continue;
        store<u16>(lists + (<usize>counter << 1), <u16>j);
        ++counter;
        ++n;
      }
    }
    store<u16>(lists + (<usize>start << 1), <u16>n);
  }
  if (counter != list_capacity(g)) unreachable(); // the grids changed: the capacities above must follow
  built |= 1 << g;
}

// ---- the fast neighbour search (default; the quantizers keep their direct loops as the scalar
// reference, set_scalar_kernels(1)). A grid coordinate takes only 3 values (bytes 1, 3, 5), so for one
// group at one scale the distance term w_i·(scale·q - x_i)² of coordinate i has 3 possible values:
// computed once per group (lane-wise f32, the same operations as the direct loop), a neighbour's
// distance is then 8 table loads summed in coordinate order, the very sum the direct loop makes.

/** TERMS + 16·b + 4i: the term of coordinate i for grid byte b = 2l + 1 (b = 1, 3, 5; 32 bytes a level). */
const TERMS: usize = memory.data(16 + 3 * 32, 16);
const FLT_MAX: f32 = reinterpret<f32>(0x7f7fffff);

/**
 * The terms w_i·d·d, d = scale·q_l - x_i (C's operand order), of one group: q_l for the levels l =
 * 0, 1, 2 (iq2: 1, 3, 5; iq1: its shifted values), x and w 8 floats each.
 */
export function group_terms(q0: f32, q1: f32, q2: f32, x: usize, w: usize, scale: f32): void {
  const s = f32x4.splat(scale);
  const xa = v128.load(x), xb = v128.load(x, 16), wa = v128.load(w), wb = v128.load(w, 16);
  for (let l = 0; l < 3; ++l) {
    const qs = f32x4.mul(s, f32x4.splat(l == 0 ? q0 : l == 1 ? q1 : q2));
    const da = f32x4.sub(qs, xa), db = f32x4.sub(qs, xb);
    const at = TERMS + 16 + (<usize>l << 5);
    v128.store(at, f32x4.mul(f32x4.mul(wa, da), da));
    v128.store(at, f32x4.mul(f32x4.mul(wb, db), db), 16);
  }
}

/** Σ of the 8 terms of grid point index (coordinate order, from 0 as C's d2). */
// @ts-ignore: decorator
@inline export function point_distance(g: i32, index: i32): f32 {
  const p = lattice_grid(g) + (<usize>index << 3);
  const lo = load<u32>(p), hi = load<u32>(p, 4);
  let d2: f32 = 0;
  d2 += load<f32>(TERMS + <usize>((lo << 4) & 0xff0));
  d2 += load<f32>(TERMS + <usize>((lo >> 4) & 0xff0), 4);
  d2 += load<f32>(TERMS + <usize>((lo >> 12) & 0xff0), 8);
  d2 += load<f32>(TERMS + <usize>((lo >> 20) & 0xff0), 12);
  d2 += load<f32>(TERMS + <usize>((hi << 4) & 0xff0), 16);
  d2 += load<f32>(TERMS + <usize>((hi >> 4) & 0xff0), 20);
  d2 += load<f32>(TERMS + <usize>((hi >> 12) & 0xff0), 24);
  d2 += load<f32>(TERMS + <usize>((hi >> 20) & 0xff0), 28);
  return d2;
}

/** Of the neighbours listed for off-grid m (kmap value), the first with the least distance by the
 *  current terms below FLT_MAX, or -1 (NaN or overflow everywhere). */
export function nearest_listed(g: i32, m: i32): i32 {
  const nb = neighbours_of(g, m);
  const num = <i32>load<u16>(nb);
  let best: f32 = FLT_MAX;
  let grid_index = -1;
  for (let j = 1; j <= num; ++j) {
    const index = <i32>load<u16>(nb + (<usize>j << 1));
    const d2 = point_distance(g, index);
    if (d2 < best) { best = d2; grid_index = index; }
  }
  return grid_index;
}
