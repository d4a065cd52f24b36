// PLACEHOLDER being replaced by the legacy-kernel work (q4_0 q4_1 q5_0 q5_1 q8_0).
export function quantize_row_q4_0(x: usize, y: usize, n: i32, qw: usize): usize { unreachable(); return 0; }
export function quantize_row_q4_1(x: usize, y: usize, n: i32, qw: usize): usize { unreachable(); return 0; }
export function quantize_row_q5_0(x: usize, y: usize, n: i32, qw: usize): usize { unreachable(); return 0; }
export function quantize_row_q5_1(x: usize, y: usize, n: i32, qw: usize): usize { unreachable(); return 0; }
export function quantize_row_q8_0(x: usize, y: usize, n: i32, qw: usize): usize { unreachable(); return 0; }
