// Lookup tables of ggml-common.h that several kernels share.

/** kvalues_iq4nl: the 16 non-linear levels of iq4_nl and iq4_xs, as the floats C converts them to
 *  (int8 -127..113; the reference build's .rodata holds 81 98 ad bf cf dd ea f6 01 0d 19 26 35 45 59 71). */
export const KVALUES_IQ4NL_F: usize = memory.data<f32>([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]);

/** kvalues_iq4nl[i] as f32, i in 0..15. */
// @ts-ignore: decorator
@inline export function kvalue_iq4nl(i: i32): f32 { return load<f32>(KVALUES_IQ4NL_F + (<usize>i << 2)); }
