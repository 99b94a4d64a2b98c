// Candidate for the reference's reduce_sum (measured against reduce_sum.wgsl on a GPU node): the
// same two passes and grid, but each thread keeps four independent sums over an unrolled loop
// (four 16-byte loads in flight instead of one), and the workgroup's tree stops at 32 partial
// sums, which thread 0 adds up: 3 barriers fewer.
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> scratch: array<f32>;

const WG = 256u;
override CHUNK: u32 = 8192; // elements per workgroup, at least
override MAXG: u32 = 1024;  // workgroups per row, at most

var<workgroup> red: array<f32, WG>;

fn groups(cols: u32) -> u32 { return clamp((cols + CHUNK - 1u) / CHUNK, 1u, MAXG); }

fn tree(t: u32, v: f32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w >= 32u; w >>= 1u) {
    if (t < w) { red[t] += red[t + w]; }
    workgroupBarrier();
  }
  var s = 0.0;
  if (t == 0u) {
    for (var i = 0u; i < 32u; i++) { s += red[i]; }
  }
  return s;
}

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.y;
  let g = wid.x;
  let cols = sizes.cols;
  let G = groups(cols);
  let base = row * cols;
  var s = 0.0;
  if ((base & 3u) == 0u && (cols & 3u) == 0u) {
    let b4 = base >> 2u;
    let n4 = cols / 4u;
    let step = G * WG;
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    var j = g * WG + t;
    for (; j + 3u * step < n4; j += 4u * step) {
      s0 += x[b4 + j];
      s1 += x[b4 + j + step];
      s2 += x[b4 + j + 2u * step];
      s3 += x[b4 + j + 3u * step];
    }
    for (; j < n4; j += step) { s0 += x[b4 + j]; }
    let v = (s0 + s1) + (s2 + s3);
    s = (v.x + v.y) + (v.z + v.w);
  } else {
    for (var j = g * WG + t; j < cols; j += G * WG) {
      let i = base + j;
      s += x[i >> 2u][i & 3u];
    }
  }
  let total = tree(t, s);
  if (t == 0u) {
    if (G == 1u) { y[row] = total; } else { scratch[row * G + g] = total; }
  }
}

@compute @workgroup_size(WG)
fn finish(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x;
  let G = groups(sizes.cols);
  if (G == 1u) { return; }
  var s = 0.0;
  for (var g = t; g < G; g += WG) { s += scratch[row * G + g]; }
  let total = tree(t, s);
  if (t == 0u) { y[row] = total; }
}
