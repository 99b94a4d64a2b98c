// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): reference/p3/transpose.wgsl with each thread's four loads written out one after
// the other into four values before any of them is stored in the tile (and the four tile reads
// before the four stores). The reference's loop starts at lid.y, so its trip count is not a
// constant the compiler can see: if it is not unrolled, each thread has one 4-byte load in
// flight at a time, 1 KiB a workgroup and about 8 KiB an SM, under the ~18 KiB an H100 needs by
// Little's law. Here the four loads are independent and can all be in flight. One tile a
// workgroup, as in the reference, so only that changes.
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

@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = sizes.rows;
  let cols = sizes.cols;
  let bid = wid.x + nwg.x * wid.y;
  let by = bid % nwg.y;
  let bx = (bid / nwg.y + by) % nwg.x;
  let c0 = bx * T;
  let r0 = by * T;
  let c = c0 + lid.x;
  let a0 = ld(r0 + lid.y, c, rows, cols);
  let a1 = ld(r0 + lid.y + 8u, c, rows, cols);
  let a2 = ld(r0 + lid.y + 16u, c, rows, cols);
  let a3 = ld(r0 + lid.y + 24u, c, rows, cols);
  tile[lid.y * (T + 1u) + lid.x] = a0;
  tile[(lid.y + 8u) * (T + 1u) + lid.x] = a1;
  tile[(lid.y + 16u) * (T + 1u) + lid.x] = a2;
  tile[(lid.y + 24u) * (T + 1u) + lid.x] = a3;
  workgroupBarrier();
  let r = r0 + lid.x; // a column of y
  let b0 = tile[lid.x * (T + 1u) + lid.y];
  let b1 = tile[lid.x * (T + 1u) + lid.y + 8u];
  let b2 = tile[lid.x * (T + 1u) + lid.y + 16u];
  let b3 = tile[lid.x * (T + 1u) + lid.y + 24u];
  st(c0 + lid.y, r, rows, cols, b0);
  st(c0 + lid.y + 8u, r, rows, cols, b1);
  st(c0 + lid.y + 16u, r, rows, cols, b2);
  st(c0 + lid.y + 24u, r, rows, cols, b3);
}
