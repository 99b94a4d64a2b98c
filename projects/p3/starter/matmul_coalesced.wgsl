// Stage 2, coalesced: the same computation as stage 1, with the thread index mapped so that the
// 32 threads of a warp (neighbours along x) read neighbouring addresses of B and write
// neighbouring addresses of C. Time both stages with `mlsys bench p3` and compare.
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<f32>;       // A, M x K, row-major
@group(0) @binding(2) var<storage, read> b: array<f32>;       // B, K x N, row-major
@group(0) @binding(3) var<storage, read_write> c: array<f32>; // C = A·B, M x N, row-major

override WG_X: u32 = 32;
override WG_Y: u32 = 8;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // TODO
}
