// Softmax by rows, one workgroup per row, numerically stable. Two ways, chosen by the launch
// (index.ts) through the override REGS:
// - REGS = 0, the streaming way (rows up to 8k or over 32k floats, or not a multiple of 4): one pass
//   over the input in which each thread keeps a running maximum m and a running sum s of
//   exp(x - m) over its elements (rescaling s when m grows: the online softmax), the workgroup
//   combines the threads' (m, s) pairs in a tree, and a second sweep writes exp(x - m) / s. For
//   rows of 4k floats the second read of the row hits the cache: 89-90% of the copy bandwidth on
//   an H200. Rows whose length is a multiple of 4 are read and written as vec4 (one 16-byte store
//   per thread instead of four 4-byte ones: on an H100, 2048 x 32768 went from 0.66 to 0.56 ms).
// - REGS = 1, the row in registers (rows of 8k to 32k floats, a multiple of 4, WG = 1024): each
//   thread loads its up to eight vec4 of the row into eight named values at once, the workgroup
//   reduces their maximum, then the sum of exp(x - max), and each thread writes its values out.
//   The row is read from memory once. Streaming, a row of 128 KiB is read twice, and with many
//   rows in flight the second read misses the cache: 2048 x 32768 ran at 64% of the copy
//   bandwidth streaming (68% with 1024 threads a workgroup), 84-85% this way (H200, 2026-11-27,
//   docs/gpu-results.md). Named values, not an array indexed in a loop: an earlier version with
//   an array ran at 22% on an H100, likely because the array was placed in local memory.
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 256; // a power of two
override REGS: u32 = 0; // 1: the row in registers (cols a multiple of 4, at most WG * 32)
const NEG = -3.4e38;

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;

fn ld(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }
fn vmax(v: vec4<f32>) -> f32 { return max(max(v.x, v.y), max(v.z, v.w)); }
fn vsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }
// Vector j of the row that starts at vector b4 (n4 of them); past its end, a value that adds
// nothing to the maximum and, after exp, nothing to the sum.
fn ld4(b4: u32, j: u32, n4: u32) -> vec4<f32> {
  if (j < n4) { return x[b4 + j]; }
  return vec4<f32>(NEG);
}
fn st4(b4: u32, j: u32, n4: u32, v: vec4<f32>) {
  if (j < n4) { y[b4 + j] = v; }
}

// The pair (m, s) of two partial softmax denominators merged.
fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
  let m = max(m1, m2);
  return vec2<f32>(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

// The workgroup's maximum (in red_m) and sum (in red_s) of the threads' v: one tree each.
fn wg_max(t: u32, v: f32) -> f32 {
  red_m[t] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) { red_m[t] = max(red_m[t], red_m[t + w]); }
    workgroupBarrier();
  }
  return red_m[0];
}
fn wg_sum(t: u32, v: f32) -> f32 {
  red_s[t] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) { red_s[t] = red_s[t] + red_s[t + w]; }
    workgroupBarrier();
  }
  return red_s[0];
}

// REGS = 1: the row read once, into eight named vec4 values a thread.
fn row_in_registers(row: u32, t: u32) {
  let n4 = sizes.cols / 4u;
  let b4 = row * n4;
  let v0 = ld4(b4, t, n4);
  let v1 = ld4(b4, t + WG, n4);
  let v2 = ld4(b4, t + 2u * WG, n4);
  let v3 = ld4(b4, t + 3u * WG, n4);
  let v4 = ld4(b4, t + 4u * WG, n4);
  let v5 = ld4(b4, t + 5u * WG, n4);
  let v6 = ld4(b4, t + 6u * WG, n4);
  let v7 = ld4(b4, t + 7u * WG, n4);
  let m = max(max(max(vmax(v0), vmax(v1)), max(vmax(v2), vmax(v3))), max(max(vmax(v4), vmax(v5)), max(vmax(v6), vmax(v7))));
  let M = vec4<f32>(wg_max(t, m));
  let e0 = exp(v0 - M);
  let e1 = exp(v1 - M);
  let e2 = exp(v2 - M);
  let e3 = exp(v3 - M);
  let e4 = exp(v4 - M);
  let e5 = exp(v5 - M);
  let e6 = exp(v6 - M);
  let e7 = exp(v7 - M);
  let s = ((vsum(e0) + vsum(e1)) + (vsum(e2) + vsum(e3))) + ((vsum(e4) + vsum(e5)) + (vsum(e6) + vsum(e7)));
  let inv = 1.0 / wg_sum(t, s);
  st4(b4, t, n4, e0 * inv);
  st4(b4, t + WG, n4, e1 * inv);
  st4(b4, t + 2u * WG, n4, e2 * inv);
  st4(b4, t + 3u * WG, n4, e3 * inv);
  st4(b4, t + 4u * WG, n4, e4 * inv);
  st4(b4, t + 5u * WG, n4, e5 * inv);
  st4(b4, t + 6u * WG, n4, e6 * inv);
  st4(b4, t + 7u * WG, n4, e7 * inv);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= sizes.rows) { return; }
  if (REGS == 1u) {
    row_in_registers(row, t);
    return;
  }
  let cols = sizes.cols;
  let base = row * cols;
  let vec = (cols & 3u) == 0u;
  var m = NEG;
  var s = 0.0;
  if (vec) {
    let b4 = base >> 2u;
    for (var j = t; j < cols / 4u; j += WG) {
      let v = x[b4 + j];
      let mv = vmax(v);
      let mn = max(m, mv);
      let e = exp(v - vec4<f32>(mn));
      s = s * exp(m - mn) + (e.x + e.y) + (e.z + e.w);
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
  let M = red_m[0];
  let inv = 1.0 / red_s[0];
  if (vec) {
    let b4 = base >> 2u;
    for (var j = t; j < cols / 4u; j += WG) {
      y[b4 + j] = exp(x[b4 + j] - vec4<f32>(M)) * inv;
    }
  } else {
    for (var j = t; j < cols; j += WG) {
      let i = base + j;
      y[i >> 2u][i & 3u] = exp(ld(i) - M) * inv;
    }
  }
}
