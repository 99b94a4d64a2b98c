// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): reference/p3/transpose.wgsl with the tiles in row-major order instead of diagonal
// order. Tests whether the diagonal order is what slows the odd shapes (8193 x 8192 at 56% of
// copy on an H200, 8192 x 8192 at 87%).
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const T = 32u;
const R = 4u; // rows of threads: each thread moves T / R elements
var<workgroup> tile: array<f32, T * (T + 1u)>;

fn load(r: u32, c: u32, rows: u32, cols: u32) -> f32 {
  if (r < rows && c < cols) { return x[r * cols + c]; }
  return 0.0;
}

// Element (c, r) of y, which is x's (r, c).
fn store(c: u32, r: u32, rows: u32, cols: u32, v: f32) {
  if (c < cols && r < rows) { y[c * rows + r] = v; }
}

@compute @workgroup_size(32, 4)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = sizes.rows;
  let cols = sizes.cols;
  let bx = wid.x; // row-major tile order: consecutive workgroups take tiles side by side in x
  let by = wid.y;
  let c0 = bx * T;
  let r0 = by * T;
  var v: array<f32, T / R>;
  // Every load first (all in flight together), then the tile stores.
  for (var q = 0u; q < T / R; q++) { v[q] = load(r0 + lid.y + R * q, c0 + lid.x, rows, cols); }
  for (var q = 0u; q < T / R; q++) { tile[(lid.y + R * q) * (T + 1u) + lid.x] = v[q]; }
  workgroupBarrier();
  for (var q = 0u; q < T / R; q++) { v[q] = tile[lid.x * (T + 1u) + lid.y + R * q]; }
  for (var q = 0u; q < T / R; q++) { store(c0 + lid.y + R * q, r0 + lid.x, rows, cols, v[q]); }
}
