// PLACEHOLDER being replaced by the q6_K work.
export function quantize_row_q6_K(x: usize, y: usize, n: i32, qw: usize): usize { unreachable(); return 0; }
