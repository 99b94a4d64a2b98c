// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): reference/p3/transpose.wgsl (32 x 32 tiles in workgroup memory, diagonal tile
// order) with 16-byte global loads and stores when both sizes are multiples of 4: a thread reads
// one vec4 of a row of x and writes one vec4 of a row of y (four elements of a column of the
// tile), where the reference moves four scalars each way. Same bytes, a quarter of the memory
// instructions. With 8 threads on each 128-byte row, both workgroup-memory phases touch 32
// different banks per warp (rows 33 floats apart). Other sizes: the reference's scalar path.
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

const T = 32u;
const P = 33u; // padded row of the tile
var<workgroup> tile: array<f32, T * P>;

fn ld(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }

@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let rows = sizes.rows;
  let cols = sizes.cols;
  let bid = wid.x + nwg.x * wid.y;
  let by = bid % nwg.y;
  let bx = (bid / nwg.y + by) % nwg.x;
  let c0 = bx * T;
  let r0 = by * T;
  if ((rows & 3u) == 0u && (cols & 3u) == 0u) {
    // Read: thread t takes row t / 8 of the tile, its columns 4 (t % 8) .. + 3.
    let rr = t / 8u;
    let cc = (t % 8u) * 4u;
    if (r0 + rr < rows && c0 + cc < cols) {
      let v = x[((r0 + rr) * cols + c0 + cc) >> 2u];
      tile[rr * P + cc] = v.x;
      tile[rr * P + cc + 1u] = v.y;
      tile[rr * P + cc + 2u] = v.z;
      tile[rr * P + cc + 3u] = v.w;
    }
    workgroupBarrier();
    // Write: thread t takes row t / 8 of the tile of y (a column of x's tile), its elements
    // 4 (t % 8) .. + 3.
    let yc = t / 8u;       // a row of y: column c0 + yc of x
    let yr = (t % 8u) * 4u; // columns of y: rows r0 + yr .. + 3 of x
    if (c0 + yc < cols && r0 + yr < rows) {
      let v = vec4<f32>(tile[yr * P + yc], tile[(yr + 1u) * P + yc], tile[(yr + 2u) * P + yc], tile[(yr + 3u) * P + yc]);
      y[((c0 + yc) * rows + r0 + yr) >> 2u] = v;
    }
    return;
  }
  for (var i = lid.y; i < T; i += 8u) {
    let r = r0 + i;
    let c = c0 + lid.x;
    if (r < rows && c < cols) { tile[i * P + lid.x] = ld(r * cols + c); }
  }
  workgroupBarrier();
  for (var i = lid.y; i < T; i += 8u) {
    let c = c0 + i;
    let r = r0 + lid.x;
    if (c < cols && r < rows) {
      let o = c * rows + r;
      y[o >> 2u][o & 3u] = tile[lid.x * P + i];
    }
  }
}
