// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): transpose_unroll.wgsl with a workgroup of 32 x 4 threads, each moving eight
// elements of the 32 x 32 tile, all eight loads written out before the tile stores: twice the
// bytes in flight a thread (32 B), and half the threads a tile.
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const T = 32u;
var<workgroup> tile: array<f32, T * (T + 1u)>;

fn ld(r: u32, c: u32, rows: u32, cols: u32) -> f32 {
  if (r < rows && c < cols) { return x[r * cols + c]; }
  return 0.0;
}

fn st(c: u32, r: u32, rows: u32, cols: u32, v: f32) {
  if (c < cols && r < rows) { y[c * rows + r] = v; }
}

@compute @workgroup_size(32, 4)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = sizes.rows;
  let cols = sizes.cols;
  let bid = wid.x + nwg.x * wid.y;
  let by = bid % nwg.y;
  let bx = (bid / nwg.y + by) % nwg.x;
  let c0 = bx * T;
  let r0 = by * T;
  let c = c0 + lid.x;
  var a: array<f32, 8>;
  // A loop with constant bounds, unrolled by the compiler; a is indexed by constants after that.
  for (var q = 0u; q < 8u; q++) { a[q] = ld(r0 + lid.y + 4u * q, c, rows, cols); }
  for (var q = 0u; q < 8u; q++) { tile[(lid.y + 4u * q) * (T + 1u) + lid.x] = a[q]; }
  workgroupBarrier();
  let r = r0 + lid.x; // a column of y
  for (var q = 0u; q < 8u; q++) { a[q] = tile[lid.x * (T + 1u) + lid.y + 4u * q]; }
  for (var q = 0u; q < 8u; q++) { st(c0 + lid.y + 4u * q, r, rows, cols, a[q]); }
}
