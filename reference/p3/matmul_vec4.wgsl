// Stage 5, the reference's best matmul: a 128 x 128 block of C per workgroup of 256 threads,
// 8 x 8 outputs per thread in registers (as 16 vec4 accumulators), BK steps of K per pass
// through workgroup memory, and vectorized (vec4, 16-byte) loads from global memory.
//
// A and B are read as array<vec4<f32>>. With K a multiple of 4 a row of A starts on a vec4
// boundary and 4 consecutive k load as one vec4; likewise B with N a multiple of 4. Otherwise
// (sizes that are not multiples of 4) the same elements are loaded one by one, a[i / 4][i % 4].
// Out-of-range elements load as 0 and out-of-range outputs are not stored.
//
// A thread's rows are 4 consecutive ones in each half of the block (ty*4.. and 64+ty*4..), and
// its columns likewise with tx: its 8 values of A for one k are two aligned 16-byte reads of
// workgroup memory shared by the 16 threads of a row, and its 8 values of B two vec4 reads
// that neighbouring threads take from neighbouring addresses.
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const BM = 128u;
const BN = 128u;
override BK: u32 = 8; // 8 or 16 (a multiple of 8)

var<workgroup> As: array<vec4<f32>, BK * BM / 4u>; // As[k * 32 + m / 4][m % 4] = A[bm + m, k0 + k]
var<workgroup> Bs: array<vec4<f32>, BK * BN / 4u>; // Bs[k * 32 + n / 4] = B[k0 + k, bn + n .. + 3]
var<workgroup> At: array<f32, BK * BM>; // staging for the transposed A tile

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

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let M = sizes.M;
  let N = sizes.N;
  let K = sizes.K;
  let bm = wid.y * BM;
  let bn = wid.x * BN;
  let tx = t % 16u;
  let ty = t / 16u;
  let aVec = (K & 3u) == 0u;
  let bVec = (N & 3u) == 0u;
  var acc: array<vec4<f32>, 16>; // acc[2r + h]: row r of the thread's 8, columns h*64 + tx*4 .. + 3

  for (var k0 = 0u; k0 < K; k0 += BK) {
    // The A tile, BM x BK: BK/8 vec4 per thread, 4 consecutive k of one row each.
    for (var l = 0u; l < BK / 8u; l++) {
      let e = t + l * 256u;
      let m = e / (BK / 4u);
      let kq = (e % (BK / 4u)) * 4u;
      let row = bm + m;
      let k = k0 + kq;
      var v = vec4<f32>(0.0);
      if (aVec) {
        if (row < M && k < K) { v = a[(row * K + k) >> 2u]; }
      } else {
        v = vec4<f32>(loadA(row, k), loadA(row, k + 1u), loadA(row, k + 2u), loadA(row, k + 3u));
      }
      At[(kq + 0u) * BM + m] = v.x;
      At[(kq + 1u) * BM + m] = v.y;
      At[(kq + 2u) * BM + m] = v.z;
      At[(kq + 3u) * BM + m] = v.w;
    }
    // The B tile, BK x BN: BK/8 vec4 per thread, 4 consecutive columns of one row each.
    for (var l = 0u; l < BK / 8u; l++) {
      let e = t + l * 256u;
      let kr = e / 32u;
      let nq = (e % 32u) * 4u;
      let k = k0 + kr;
      let col = bn + nq;
      var v = vec4<f32>(0.0);
      if (bVec) {
        if (k < K && col < N) { v = b[(k * N + col) >> 2u]; }
      } else {
        v = vec4<f32>(loadB(k, col), loadB(k, col + 1u), loadB(k, col + 2u), loadB(k, col + 3u));
      }
      Bs[e] = v;
    }
    workgroupBarrier();
    // Repack the transposed A tile as vec4 (each thread BK/8 of them).
    for (var l = 0u; l < BK / 8u; l++) {
      let e = t + l * 256u;
      As[e] = vec4<f32>(At[e * 4u], At[e * 4u + 1u], At[e * 4u + 2u], At[e * 4u + 3u]);
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let a0 = As[k * 32u + ty];
      let a1 = As[k * 32u + 16u + ty];
      let b0 = Bs[k * 32u + tx];
      let b1 = Bs[k * 32u + 16u + tx];
      for (var r = 0u; r < 4u; r++) {
        acc[2u * r] = fma(vec4<f32>(a0[r]), b0, acc[2u * r]);
        acc[2u * r + 1u] = fma(vec4<f32>(a0[r]), b1, acc[2u * r + 1u]);
        acc[8u + 2u * r] = fma(vec4<f32>(a1[r]), b0, acc[8u + 2u * r]);
        acc[9u + 2u * r] = fma(vec4<f32>(a1[r]), b1, acc[9u + 2u * r]);
      }
    }
    workgroupBarrier();
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
