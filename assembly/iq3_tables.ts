// Sizes of the tables iq3xs_init_impl builds for iq3_xxs (grid of 256) and iq3_s (grid of 512), as
// the algorithm yields them for these grids (assembly/iq3.ts checks each as it builds), and the
// arena room they take (assembly/arena.ts).

export const KMAP_SIZE: i32 = 4096;
/** Neighbour-list slots (one count per off-grid word plus its neighbours): 3840 + 18985 and 3584 + 24733. */
export const NEIGHBOUR_SLOTS_256: i32 = 22825;
export const NEIGHBOUR_SLOTS_512: i32 = 28317;
/** Chunks of 4 neighbours (Σ ceil(count/4) over the lists) of the vector search's float lists. */
export const NBT_CHUNKS_256: i32 = 6038;
export const NBT_CHUNKS_512: i32 = 7427;

// @ts-ignore: decorator
@inline function up16(b: i32): usize { return (<usize>b + 15) & ~(<usize>15); }

/** Bytes of one grid's tables: grid words, grid floats, map, neighbour lists, float lists and their offsets. */
// @ts-ignore: decorator
@inline function grid_bytes(size: i32, slots: i32, chunks: i32): usize {
  return up16(size << 2) + up16(size << 4) + up16(KMAP_SIZE << 2) + up16(slots << 1) + up16(chunks << 6) + up16(KMAP_SIZE << 2);
}

export const IQ3_TABLE_BYTES: usize = grid_bytes(256, NEIGHBOUR_SLOTS_256, NBT_CHUNKS_256) + grid_bytes(512, NEIGHBOUR_SLOTS_512, NBT_CHUNKS_512);
