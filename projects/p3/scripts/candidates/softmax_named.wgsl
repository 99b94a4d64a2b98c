// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): softmax by rows for wide rows. One workgroup of WG threads per row; a thread's
// elements (up to 8 vec4: rows up to WG * 32 floats, 16-byte aligned) are held in eight named
// vec4 values, not in an array, so that the compiler can keep them in registers. (The earlier
// register-resident candidates, slower than the streaming reference on an H100, indexed an array
// in a loop; such an array may be placed in local memory. That is the hypothesis this tests.)
// The row is read from memory once: 2 passes of memory traffic instead of the reference's 3 when
// the row does not stay in the cache between its reads (rows of 128 KiB). Max and sum are two
// workgroup tree reductions. Other rows (not a multiple of 4, or wider): three sweeps, scalar.
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 1024; // a power of two
const NEG = -3.4e38;

var<workgroup> red: array<f32, WG>;

fn vmax(v: vec4<f32>) -> f32 { return max(max(v.x, v.y), max(v.z, v.w)); }
fn vsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }
fn ld4(b4: u32, j: u32, n4: u32) -> vec4<f32> {
  if (j < n4) { return x[b4 + j]; }
  return vec4<f32>(NEG);
}
fn st4(b4: u32, j: u32, n4: u32, v: vec4<f32>) {
  if (j < n4) { y[b4 + j] = v; }
}
fn ld(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }

fn wg_max(t: u32, v: f32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) { red[t] = max(red[t], red[t + w]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // everyone has read red[0] before it is written again
  return r;
}

fn wg_sum(t: u32, v: f32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) { red[t] = red[t] + red[t + w]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= sizes.rows) { return; }
  let cols = sizes.cols;
  if ((cols & 3u) == 0u && cols <= WG * 32u) {
    let n4 = cols / 4u;
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
    return;
  }
  let base = row * cols;
  var m = NEG;
  for (var j = t; j < cols; j += WG) { m = max(m, ld(base + j)); }
  let M = wg_max(t, m);
  var s = 0.0;
  for (var j = t; j < cols; j += WG) { s += exp(ld(base + j) - M); }
  let inv = 1.0 / wg_sum(t, s);
  for (var j = t; j < cols; j += WG) {
    let i = base + j;
    y[i >> 2u][i & 3u] = exp(ld(i) - M) * inv;
  }
}
