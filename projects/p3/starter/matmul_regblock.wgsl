// Stage 4, 2-D register blocking: each thread computes a small block of C (e.g. 4 x 4) held in
// registers, so every value it reads from workgroup memory is used several times. Choose the
// block of C per workgroup (e.g. 64 x 64), the step along K (BK), and how the threads load the
// tiles; launch the matching grid from index.ts.
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<f32>;       // A, M x K, row-major
@group(0) @binding(2) var<storage, read> b: array<f32>;       // B, K x N, row-major
@group(0) @binding(3) var<storage, read_write> c: array<f32>; // C = A·B, M x N, row-major

override BK: u32 = 8;

var<workgroup> As: array<f32, 64 * BK>;
var<workgroup> Bs: array<f32, BK * 64>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  // TODO
}
