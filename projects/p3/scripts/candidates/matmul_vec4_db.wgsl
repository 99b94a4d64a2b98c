// Candidate for the reference's stage 5 (measured against matmul_vec4.wgsl on a GPU node):
// the same 128 x 128 block per workgroup of 256 threads and 8 x 8 outputs per thread, plus
//  - double-buffered workgroup memory with the next tile prefetched into registers while the
//    current one is multiplied: one barrier per BK step instead of three;
//  - A written transposed straight into the vec4 tile (a component at a time), no staging copy;
//  - loads without per-element bounds checks when the whole tile is inside A and B.
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const BM = 128u;
const BN = 128u;
override BK: u32 = 8; // 8 or 16

// Two buffers each: As[buf * BK * 32 + k * 32 + m / 4][m % 4] = A[bm + m, k0 + k].
var<workgroup> As: array<vec4<f32>, 2u * BK * BM / 4u>;
var<workgroup> Bs: array<vec4<f32>, 2u * BK * BN / 4u>;

fn loadA(row: u32, k: u32) -> f32 {
  if (row < sizes.M && k < sizes.K) {
    let i = row * sizes.K + k;
    return a[i >> 2u][i & 3u];
  }
  return 0.0;
}

fn loadB(k: u32, col: u32) -> f32 {
  if (k < sizes.K && col < sizes.N) {
    let i = k * sizes.N + col;
    return b[i >> 2u][i & 3u];
  }
  return 0.0;
}

// The global tile at k0 into registers: BK/8 vec4 of A and BK/8 vec4 of B per thread.
fn fetchA(t: u32, bm: u32, k0: u32, inside: bool, l: u32) -> vec4<f32> {
  let e = t + l * 256u;
  let m = e / (BK / 4u);
  let kq = (e % (BK / 4u)) * 4u;
  let row = bm + m;
  let k = k0 + kq;
  if (inside) { return a[(row * sizes.K + k) >> 2u]; }
  if ((sizes.K & 3u) == 0u) {
    if (row < sizes.M && k < sizes.K) { return a[(row * sizes.K + k) >> 2u]; }
    return vec4<f32>(0.0);
  }
  return vec4<f32>(loadA(row, k), loadA(row, k + 1u), loadA(row, k + 2u), loadA(row, k + 3u));
}

fn fetchB(t: u32, bn: u32, k0: u32, inside: bool, l: u32) -> vec4<f32> {
  let e = t + l * 256u;
  let k = k0 + e / 32u;
  let col = bn + (e % 32u) * 4u;
  if (inside) { return b[(k * sizes.N + col) >> 2u]; }
  if ((sizes.N & 3u) == 0u) {
    if (k < sizes.K && col < sizes.N) { return b[(k * sizes.N + col) >> 2u]; }
    return vec4<f32>(0.0);
  }
  return vec4<f32>(loadB(k, col), loadB(k, col + 1u), loadB(k, col + 2u), loadB(k, col + 3u));
}

fn storeTile(t: u32, buf: u32, ra: array<vec4<f32>, 2>, rb: array<vec4<f32>, 2>) {
  let base = buf * BK * 32u;
  for (var l = 0u; l < BK / 8u; l++) {
    let e = t + l * 256u;
    let m = e / (BK / 4u);
    let kq = (e % (BK / 4u)) * 4u;
    let q = m >> 2u;
    let s = m & 3u;
    As[base + (kq + 0u) * 32u + q][s] = ra[l].x;
    As[base + (kq + 1u) * 32u + q][s] = ra[l].y;
    As[base + (kq + 2u) * 32u + q][s] = ra[l].z;
    As[base + (kq + 3u) * 32u + q][s] = ra[l].w;
    Bs[base + e] = rb[l];
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let M = sizes.M;
  let N = sizes.N;
  let K = sizes.K;
  let bm = wid.y * BM;
  let bn = wid.x * BN;
  let tx = t % 16u;
  let ty = t / 16u;
  // Rows and columns of the block all inside, and rows of A and B start on vec4 boundaries:
  // then only the K extent of a tile needs checking.
  let aligned = (K & 3u) == 0u && (N & 3u) == 0u && bm + BM <= M && bn + BN <= N;
  var acc: array<vec4<f32>, 16>; // acc[2r + h]: row r of the thread's 8, columns h*64 + tx*4 .. + 3
  var ra: array<vec4<f32>, 2>;
  var rb: array<vec4<f32>, 2>;

  for (var l = 0u; l < BK / 8u; l++) {
    let inside = aligned && BK <= K;
    ra[l] = fetchA(t, bm, 0u, inside, l);
    rb[l] = fetchB(t, bn, 0u, inside, l);
  }
  storeTile(t, 0u, ra, rb);
  workgroupBarrier();

  var cur = 0u;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    let next = k0 + BK;
    let more = next < K;
    if (more) {
      let inside = aligned && next + BK <= K;
      for (var l = 0u; l < BK / 8u; l++) {
        ra[l] = fetchA(t, bm, next, inside, l);
        rb[l] = fetchB(t, bn, next, inside, l);
      }
    }
    let base = cur * BK * 32u;
    for (var k = 0u; k < BK; k++) {
      let a0 = As[base + k * 32u + ty];
      let a1 = As[base + k * 32u + 16u + ty];
      let b0 = Bs[base + k * 32u + tx];
      let b1 = Bs[base + k * 32u + 16u + tx];
      for (var r = 0u; r < 4u; r++) {
        acc[2u * r] = fma(vec4<f32>(a0[r]), b0, acc[2u * r]);
        acc[2u * r + 1u] = fma(vec4<f32>(a0[r]), b1, acc[2u * r + 1u]);
        acc[8u + 2u * r] = fma(vec4<f32>(a1[r]), b0, acc[8u + 2u * r]);
        acc[9u + 2u * r] = fma(vec4<f32>(a1[r]), b1, acc[9u + 2u * r]);
      }
    }
    if (more) { storeTile(t, 1u - cur, ra, rb); }
    workgroupBarrier();
    cur = 1u - cur;
  }

  for (var r = 0u; r < 8u; r++) {
    let row = bm + select(64u + ty * 4u + r - 4u, ty * 4u + r, r < 4u);
    if (row >= M) { continue; }
    for (var h = 0u; h < 2u; h++) {
      let col = bn + h * 64u + tx * 4u;
      let v = acc[2u * r + h];
      let base = row * N + col;
      if (col + 3u < N) {
        c[base] = v.x;
        c[base + 1u] = v.y;
        c[base + 2u] = v.z;
        c[base + 3u] = v.w;
      } else {
        for (var i = 0u; i < 4u; i++) {
          if (col + i < N) { c[base + i] = v[i]; }
        }
      }
    }
  }
}
