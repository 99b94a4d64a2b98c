// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): reference/p3/transpose.wgsl with 64 x 64 tiles and 64 x 4 threads, each moving 16
// elements (more bytes in flight per workgroup; 256-byte rows of each read and write).
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const T = 64u;
const TY = 4u;
var<workgroup> tile: array<f32, T * (T + 1u)>;

@compute @workgroup_size(64, 4)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = sizes.rows;
  let cols = sizes.cols;
  let bid = wid.x + nwg.x * wid.y;
  let by = bid % nwg.y;
  let bx = (bid / nwg.y + by) % nwg.x;
  let c0 = bx * T;
  let r0 = by * T;
  for (var i = lid.y; i < T; i += TY) {
    let r = r0 + i;
    let c = c0 + lid.x;
    if (r < rows && c < cols) { tile[i * (T + 1u) + lid.x] = x[r * cols + c]; }
  }
  workgroupBarrier();
  for (var i = lid.y; i < T; i += TY) {
    let c = c0 + i;
    let r = r0 + lid.x;
    if (c < cols && r < rows) { y[c * rows + r] = tile[lid.x * (T + 1u) + i]; }
  }
}
