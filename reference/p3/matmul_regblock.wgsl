// Stage 4, 2-D register blocking: a workgroup of 256 threads computes a 64 x 64 block of C, each
// thread a 4 x 4 sub-block held in registers. Per step of BK along K, the A tile (stored
// transposed, k-major) and the B tile go to workgroup memory; each thread then reads 4 values of
// A and 4 of B per k and does 16 multiply-adds with them, instead of 1 per 2 loads in stage 3.
// A thread's rows are ty, ty+16, ty+32, ty+48 (and its columns likewise with tx): neighbouring
// threads read neighbouring words of workgroup memory, and write neighbouring elements of C.
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const BM = 64u;
const BN = 64u;
override BK: u32 = 16;

var<workgroup> As: array<f32, BK * BM>; // As[k * BM + m] = A[bm + m, k0 + k]
var<workgroup> Bs: array<f32, BK * BN>; // Bs[k * BN + n] = B[k0 + k, bn + n]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let M = sizes.M;
  let N = sizes.N;
  let K = sizes.K;
  let bm = wid.y * BM;
  let bn = wid.x * BN;
  let tx = t % 16u;
  let ty = t / 16u;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    // Each thread loads BK/4 elements of each tile; consecutive threads read consecutive k of
    // a row of A and consecutive n of a row of B.
    for (var l = 0u; l < BK / 4u; l++) {
      let e = t + l * 256u;
      let m = e / BK;
      let ka = e % BK;
      var av = 0.0;
      if (bm + m < M && k0 + ka < K) { av = a[(bm + m) * K + k0 + ka]; }
      As[ka * BM + m] = av;
      let kb = e / BN;
      let n = e % BN;
      var bv = 0.0;
      if (k0 + kb < K && bn + n < N) { bv = b[(k0 + kb) * N + bn + n]; }
      Bs[kb * BN + n] = bv;
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var ar: array<f32, 4>;
      var br: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        ar[i] = As[k * BM + ty + 16u * i];
        br[i] = Bs[k * BN + tx + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] = fma(ar[i], br[j], acc[i * 4u + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = bm + ty + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let col = bn + tx + 16u * j;
      if (row < M && col < N) { c[row * N + col] = acc[i * 4u + j]; }
    }
  }
}
