// Stage 5, vectorized loads: stage 4 with global memory read 16 bytes at a time. A and B are
// declared as array<vec4<f32>> here: a[i] is the 4 floats from element 4i. With K a multiple of
// 4 a row of A starts on a vec4; when it is not, read single elements as a[i / 4][i % 4].
// (Buffers are padded with zeros to a multiple of 16 bytes.)
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;  // A, M x K, row-major
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;  // B, K x N, row-major
@group(0) @binding(3) var<storage, read_write> c: array<f32>;  // C = A·B, M x N, row-major

override BK: u32 = 8;

var<workgroup> As: array<f32, 128 * BK>;
var<workgroup> Bs: array<vec4<f32>, BK * 32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  // TODO
}
