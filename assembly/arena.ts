// Room for tables that kernels build at run time (the iq3 grids' maps and neighbour lists): it lies
// after the module's static data and the iq2/iq1 lattices (lattice.ts, LATTICE_END) and before the
// first byte the host may use (heap_base() = ARENA_END), so the .wasm carries no zero-filled data
// segments for them. Allocation is a bump pointer, once per instance; ARENA_BYTES is the sum of
// what the builders ask for (a request beyond it traps).

import { IQ3_TABLE_BYTES } from "./iq3_tables";
import { LATTICE_END } from "./lattice";

export const ARENA_BYTES: usize = IQ3_TABLE_BYTES;
const ARENA_START: usize = (LATTICE_END + 15) & ~(<usize>15);
/** The arena's end: the host's memory starts here. */
export const ARENA_END: usize = ARENA_START + ((ARENA_BYTES + 15) & ~(<usize>15));

let top: usize = 0;

/** `bytes` of arena memory, 16-byte aligned. */
export function arena_alloc(bytes: usize): usize {
  if (top == 0) top = ARENA_START;
  const p = top;
  top = (top + bytes + 15) & ~(<usize>15);
  if (top > ARENA_END) unreachable();
  return p;
}
