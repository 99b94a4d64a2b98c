// Sum by rows (a vector is one row), in two passes:
//  partial: G workgroups per row (G from the row's length, see groups()); each thread sums its
//           elements (vec4 loads when rows are 16-byte aligned), the workgroup reduces in a
//           tree, and writes one partial sum to scratch[row * G + g];
//  finish:  one workgroup per row sums its G partials into y[row].
// G grows with the row so that a long vector is spread over the whole GPU; it is capped so that
// the second pass stays small. Rows short enough for one workgroup (G = 1) are written to y by
// the first pass, and the second pass is then a single workgroup that does nothing.
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
  for (var w = WG / 2u; w > 0u; w >>= 1u) {
    if (t < w) { red[t] += red[t + w]; }
    workgroupBarrier();
  }
  return red[0];
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
    for (var j = g * WG + t; j < cols / 4u; j += G * WG) {
      let v = x[b4 + j];
      s += (v.x + v.y) + (v.z + v.w);
    }
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
