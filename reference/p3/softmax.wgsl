// Softmax by rows, one workgroup per row, numerically stable in one pass over the input:
// each thread keeps a running maximum m and a running sum s of exp(x - m) over its elements
// (rescaling s when m grows: the online softmax), the workgroup combines the threads' (m, s)
// pairs in a tree, and a second sweep writes exp(x - m) / s. For rows of 4k floats the second read
// of the row hits the cache, and the kernel runs at about 80% of the copy bandwidth (H100, H200);
// rows of 32k floats (128 KiB) reach about a third of it, which is not understood yet. Rows whose length is a multiple of 4 are read and written as vec4 (one 16-byte store per
// thread instead of four 4-byte ones: on an H100, 2048 x 32768 went from 0.66 to 0.56 ms, and
// 16384 x 4096 was unchanged; docs/gpu-results.md).
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

override WG: u32 = 256; // a power of two

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;

fn ld(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }

// The pair (m, s) of two partial softmax denominators merged.
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
    for (var j = t; j < cols / 4u; j += WG) {
      let v = x[b4 + j];
      let mv = max(max(v.x, v.y), max(v.z, v.w));
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
