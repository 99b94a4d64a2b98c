// Stage 2, coalesced: the same work as stage 1 with thread x walking columns, so a warp reads
// 32 neighbouring floats of a row of B, shares one element of A, and writes 32 neighbouring
// floats of C: each global access of a warp is one or two memory transactions.
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

override WG_X: u32 = 32;
override WG_Y: u32 = 8;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  let row = gid.y;
  if (row >= sizes.M || col >= sizes.N) { return; }
  var acc = 0.0;
  let arow = row * sizes.K;
  for (var k = 0u; k < sizes.K; k++) {
    acc += a[arow + k] * b[k * sizes.N + col];
  }
  c[row * sizes.N + col] = acc;
}
