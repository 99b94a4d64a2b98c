// Stage 3, tiling in workgroup memory: a TILE x TILE workgroup computes a TILE x TILE block of C.
// Step along K one tile at a time: each thread loads one element of the A tile and one of the B
// tile into workgroup memory (0 outside the matrices), workgroupBarrier(), accumulate TILE
// products from workgroup memory, workgroupBarrier() again before the next tile.
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<f32>;       // A, M x K, row-major
@group(0) @binding(2) var<storage, read> b: array<f32>;       // B, K x N, row-major
@group(0) @binding(3) var<storage, read_write> c: array<f32>; // C = A·B, M x N, row-major

override TILE: u32 = 16;

var<workgroup> As: array<f32, TILE * TILE>;
var<workgroup> Bs: array<f32, TILE * TILE>;

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  // TODO
}
