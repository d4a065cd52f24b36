// Room for tables that kernels build at run time (the IQ grids' maps and neighbour lists): it lies
// between the module's static data (__heap_base) and the first byte the host may use (heap_base()),
// so the .wasm carries no zero-filled data segments for them. Allocation is a bump pointer, once
// per instance; ARENA_BYTES is the sum of what the builders ask for (a request beyond it traps).

import { IQ3_TABLE_BYTES } from "./iq3_tables";

export const ARENA_BYTES: usize = IQ3_TABLE_BYTES;

let top: usize = 0;

/** `bytes` of arena memory, 16-byte aligned. */
export function arena_alloc(bytes: usize): usize {
  if (top == 0) top = (__heap_base + 15) & ~(<usize>15);
  const p = top;
  top = (top + bytes + 15) & ~(<usize>15);
  if (top > __heap_base + 15 + ARENA_BYTES) unreachable();
  return p;
}
