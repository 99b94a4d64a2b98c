// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): reference/p3/softmax.wgsl with four independent vec4 loads per loop iteration in
// both sweeps of a 16-byte-aligned row. In the reference each iteration's running maximum and sum
// depend on the last, one vec4 at a time, so a thread may have a single load in flight; rows of
// 32k floats (32 iterations a thread) reach a third of the copy bandwidth. This tests whether
// more loads in flight per thread is what they lack. Other rows: the reference's scalar loop.
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 256; // a power of two

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;

fn ld(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }
fn vmax(v: vec4<f32>) -> f32 { return max(max(v.x, v.y), max(v.z, v.w)); }
fn vsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }

fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
  let m = max(m1, m2);
  return vec2<f32>(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= sizes.rows) { return; }
  let cols = sizes.cols;
  let base = row * cols;
  let vec = (cols & 3u) == 0u;
  var m = -3.4e38;
  var s = 0.0;
  if (vec) {
    let b4 = base >> 2u;
    let n4 = cols / 4u;
    var j = t;
    for (; j + 3u * WG < n4; j += 4u * WG) {
      let a = x[b4 + j];
      let b = x[b4 + j + WG];
      let c = x[b4 + j + 2u * WG];
      let d = x[b4 + j + 3u * WG];
      let mn = max(m, max(max(vmax(a), vmax(b)), max(vmax(c), vmax(d))));
      let k = vec4<f32>(mn);
      s = s * exp(m - mn) + ((vsum(exp(a - k)) + vsum(exp(b - k))) + (vsum(exp(c - k)) + vsum(exp(d - k))));
      m = mn;
    }
    for (; j < n4; j += WG) {
      let v = x[b4 + j];
      let mn = max(m, vmax(v));
      s = s * exp(m - mn) + vsum(exp(v - vec4<f32>(mn)));
      m = mn;
    }
  } else {
    for (var j = t; j < cols; j += WG) {
      let v = ld(base + j);
      let mn = max(m, v);
      s = s * exp(m - mn) + exp(v - mn);
      m = mn;
    }
  }
  red_m[t] = m;
  red_s[t] = s;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) {
      let r = merge(red_m[t], red_s[t], red_m[t + w], red_s[t + w]);
      red_m[t] = r.x;
      red_s[t] = r.y;
    }
    workgroupBarrier();
  }
  let M = vec4<f32>(red_m[0]);
  let inv = 1.0 / red_s[0];
  if (vec) {
    let b4 = base >> 2u;
    let n4 = cols / 4u;
    var j = t;
    for (; j + 3u * WG < n4; j += 4u * WG) {
      let a = x[b4 + j];
      let b = x[b4 + j + WG];
      let c = x[b4 + j + 2u * WG];
      let d = x[b4 + j + 3u * WG];
      y[b4 + j] = exp(a - M) * inv;
      y[b4 + j + WG] = exp(b - M) * inv;
      y[b4 + j + 2u * WG] = exp(c - M) * inv;
      y[b4 + j + 3u * WG] = exp(d - M) * inv;
    }
    for (; j < n4; j += WG) { y[b4 + j] = exp(x[b4 + j] - M) * inv; }
  } else {
    for (var j = t; j < cols; j += WG) {
      let i = base + j;
      y[i >> 2u][i & 3u] = exp(ld(i) - M.x) * inv;
    }
  }
}
