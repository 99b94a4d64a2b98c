// Stage 1, naive: one thread per output element, c[row, col] = Σ_k a[row, k] · b[k, col].
// Thread x walks rows: neighbouring threads read rows of A K floats apart and write C N floats
// apart, so no access of a warp is coalesced (stage 2 swaps the roles).
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

override WG_X: u32 = 16;
override WG_Y: u32 = 16;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.x;
  let col = gid.y;
  if (row >= sizes.M || col >= sizes.N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < sizes.K; k++) {
    acc += a[row * sizes.K + k] * b[k * sizes.N + col];
  }
  c[row * sizes.N + col] = acc;
}
