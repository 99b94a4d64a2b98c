// Layer normalization by rows, one workgroup per row, in one pass for the statistics:
// each thread accumulates the sum and the sum of squares of (x - x0) over its elements, x0 being
// the thread's first element (a shift that keeps the sums small when the mean is far from 0),
// turns them into its count, mean and M2 (sum of squared deviations), and the workgroup merges
// these triples in a tree with Chan's formula, which loses no precision to cancellation. A second
// sweep writes (x - mean) / sqrt(var + eps) * gamma + beta.
// A thread keeps its first R vec4 in registers, so a row of up to WG * 4 * R elements is read
// from memory once (longer rows read their tail again), and the output is written as vec4 when
// the row is 16-byte aligned (on an H100 this took 16384 x 4096 from 0.63 to 0.46 ms).
// Bytes in flight: the R loads are issued in a loop of their own, before the loop that sums them.
// When each load was summed in the iteration that issued it, a thread waited for each load before
// it issued the next; 16384 x 4096 ran at 74% of the copy bandwidth on an H200 (89% on an H100,
// whose lower bandwidth needs fewer bytes in flight), and at 97% with the loads first (H200,
// 2026-11-27, docs/gpu-results.md).
struct Sizes { rows: u32, cols: u32, eps: f32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gamma: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> beta: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 256; // a power of two
const R = 8u;

var<workgroup> red_n: array<f32, WG>;
var<workgroup> red_mean: array<f32, WG>;
var<workgroup> red_m2: array<f32, WG>;

fn ld(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= sizes.rows) { return; }
  let cols = sizes.cols;
  let base = row * cols;
  let vec = (cols & 3u) == 0u;
  var n = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var x0 = 0.0;
  var keep: array<vec4<f32>, R>;
  if (vec) {
    let b4 = base >> 2u;
    // Every load first (all in flight together), then the sums over what was loaded.
    for (var r = 0u; r < R; r++) {
      let j = t + r * WG;
      if (j < cols / 4u) { keep[r] = x[b4 + j]; }
    }
    if (t < cols / 4u) { x0 = keep[0].x; }
    for (var r = 0u; r < R; r++) {
      let j = t + r * WG;
      if (j < cols / 4u) {
        let d = keep[r] - vec4<f32>(x0);
        s1 += (d.x + d.y) + (d.z + d.w);
        s2 += dot(d, d);
        n += 4.0;
      }
    }
    for (var j = t + R * WG; j < cols / 4u; j += WG) {
      let d = x[b4 + j] - vec4<f32>(x0);
      s1 += (d.x + d.y) + (d.z + d.w);
      s2 += dot(d, d);
      n += 4.0;
    }
  } else {
    if (t < cols) { x0 = ld(base + t); }
    for (var j = t; j < cols; j += WG) {
      let d = ld(base + j) - x0;
      s1 += d;
      s2 += d * d;
      n += 1.0;
    }
  }
  var mean = 0.0;
  var m2 = 0.0;
  if (n > 0.0) {
    mean = x0 + s1 / n;
    m2 = max(s2 - s1 * s1 / n, 0.0);
  }
  red_n[t] = n;
  red_mean[t] = mean;
  red_m2[t] = m2;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) {
      let na = red_n[t];
      let nb = red_n[t + w];
      let nn = na + nb;
      if (nb > 0.0) {
        let delta = red_mean[t + w] - red_mean[t];
        red_mean[t] = red_mean[t] + delta * (nb / nn);
        red_m2[t] = red_m2[t] + red_m2[t + w] + delta * delta * (na * nb / nn);
        red_n[t] = nn;
      }
    }
    workgroupBarrier();
  }
  let mu = red_mean[0];
  let rstd = inverseSqrt(red_m2[0] / f32(cols) + sizes.eps);
  if (vec) {
    let b4 = base >> 2u;
    for (var r = 0u; r < R; r++) {
      let j = t + r * WG;
      if (j < cols / 4u) { y[b4 + j] = (keep[r] - vec4<f32>(mu)) * rstd * gamma[j] + beta[j]; }
    }
    for (var j = t + R * WG; j < cols / 4u; j += WG) {
      y[b4 + j] = (x[b4 + j] - vec4<f32>(mu)) * rstd * gamma[j] + beta[j];
    }
  } else {
    for (var j = t; j < cols; j += WG) {
      let i = base + j;
      y[i >> 2u][i & 3u] = (ld(i) - mu) * rstd * gamma[j >> 2u][j & 3u] + beta[j >> 2u][j & 3u];
    }
  }
}
