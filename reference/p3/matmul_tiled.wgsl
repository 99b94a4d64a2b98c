// Stage 3, tiling in workgroup memory: a TILE x TILE workgroup computes a TILE x TILE block of C.
// For each step along K it loads a TILE x TILE tile of A and one of B into workgroup memory
// (each thread one element of each, coalesced), synchronizes, and accumulates from there: every
// element loaded from global memory is used TILE times. Out-of-range elements load as 0.
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

override TILE: u32 = 16;

var<workgroup> As: array<f32, TILE * TILE>;
var<workgroup> Bs: array<f32, TILE * TILE>;

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = sizes.M;
  let N = sizes.N;
  let K = sizes.K;
  let row = wid.y * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  var acc = 0.0;
  for (var k0 = 0u; k0 < K; k0 += TILE) {
    let ka = k0 + lid.x;
    let kb = k0 + lid.y;
    var av = 0.0;
    if (row < M && ka < K) { av = a[row * K + ka]; }
    var bv = 0.0;
    if (kb < K && col < N) { bv = b[kb * N + col]; }
    As[lid.y * TILE + lid.x] = av;
    Bs[lid.y * TILE + lid.x] = bv;
    workgroupBarrier();
    for (var k = 0u; k < TILE; k++) {
      acc = fma(As[lid.y * TILE + k], Bs[k * TILE + lid.x], acc);
    }
    workgroupBarrier();
  }
  if (row < M && col < N) {
    c[row * N + col] = acc;
  }
}
