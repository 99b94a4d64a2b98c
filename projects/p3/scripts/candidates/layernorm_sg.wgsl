// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): layer normalization by rows, one workgroup per row, the thread's first R vec4 of
// the row kept in registers (as the reference), but the statistics in two passes over the
// registers (the mean, then the sum of squared deviations from it: exact without Chan's merge)
// with each sum taken by subgroup operations: two workgroup barriers instead of a tree of
// log2(WG) levels over three arrays. Longer rows read their tail again for each pass.
// Subgroups are assumed to be runs of consecutive local_invocation_index (as on NVIDIA).
// Measured on an H100 (2026-11-27, one fresh process per case, twice): 16384 x 4096 in 0.194 ms
// against the reference's 0.213 (98% and 89% of the copy bandwidth). Not adopted yet: the reference
// needs a path for devices without subgroups, and the assumption above is not WebGPU's guarantee.
enable subgroups;
struct Sizes { rows: u32, cols: u32, eps: f32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gamma: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> beta: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 256;
const R = 8u;

var<workgroup> part_1: array<f32, WG>;
var<workgroup> part_2: array<f32, WG>;

fn ld(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= sizes.rows) { return; }
  let cols = sizes.cols;
  let base = row * cols;
  let b4 = base >> 2u;
  let n4 = cols / 4u;
  let vec = (cols & 3u) == 0u;
  let nsg = (WG + sgs - 1u) / sgs;
  let sg = t / sgs;
  var keep: array<vec4<f32>, R>;
  var s1 = 0.0;
  if (vec) {
    for (var r = 0u; r < R; r++) {
      let j = t + r * WG;
      if (j < n4) {
        keep[r] = x[b4 + j];
        s1 += (keep[r].x + keep[r].y) + (keep[r].z + keep[r].w);
      }
    }
    for (var j = t + R * WG; j < n4; j += WG) {
      let v = x[b4 + j];
      s1 += (v.x + v.y) + (v.z + v.w);
    }
  } else {
    for (var j = t; j < cols; j += WG) { s1 += ld(base + j); }
  }
  let g1 = subgroupAdd(s1);
  if (lane == 0u) { part_1[sg] = g1; }
  workgroupBarrier();
  var sum = 0.0;
  for (var k = 0u; k < nsg; k++) { sum += part_1[k]; }
  let mu = sum / f32(cols);
  var s2 = 0.0;
  if (vec) {
    for (var r = 0u; r < R; r++) {
      let j = t + r * WG;
      if (j < n4) {
        let d = keep[r] - vec4<f32>(mu);
        s2 += dot(d, d);
      }
    }
    for (var j = t + R * WG; j < n4; j += WG) {
      let d = x[b4 + j] - vec4<f32>(mu);
      s2 += dot(d, d);
    }
  } else {
    for (var j = t; j < cols; j += WG) {
      let d = ld(base + j) - mu;
      s2 += d * d;
    }
  }
  let g2 = subgroupAdd(s2);
  if (lane == 0u) { part_2[sg] = g2; }
  workgroupBarrier();
  var m2 = 0.0;
  for (var k = 0u; k < nsg; k++) { m2 += part_2[k]; }
  let rstd = inverseSqrt(m2 / f32(cols) + sizes.eps);
  if (vec) {
    for (var r = 0u; r < R; r++) {
      let j = t + r * WG;
      if (j < n4) { y[b4 + j] = (keep[r] - vec4<f32>(mu)) * rstd * gamma[j] + beta[j]; }
    }
    for (var j = t + R * WG; j < n4; j += WG) {
      y[b4 + j] = (x[b4 + j] - vec4<f32>(mu)) * rstd * gamma[j] + beta[j];
    }
  } else {
    for (var j = t; j < cols; j += WG) {
      let i = base + j;
      y[i >> 2u][i & 3u] = (ld(i) - mu) * rstd * gamma[j >> 2u][j & 3u] + beta[j >> 2u][j & 3u];
    }
  }
}
