// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): transpose_v4.wgsl with 64 x 64 tiles: 256 threads each read four vec4 of x and
// write four vec4 of y, so a thread has 64 bytes in flight each way instead of 16 (the question
// for an H100's or H200's memory: are 16 bytes a thread too few to keep it busy). 16.6 KB of
// workgroup memory. Other sizes (not multiples of 4): scalar, 16 elements a thread.
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

const T = 64u;
const P = 65u;
var<workgroup> tile: array<f32, T * P>;

fn ld(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }

@compute @workgroup_size(64, 4)
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
    // 16 threads on each 256-byte row; rows t / 16 + 16 k.
    let cc = (t % 16u) * 4u;
    var v: array<vec4<f32>, 4>;
    for (var k = 0u; k < 4u; k++) {
      let rr = t / 16u + 16u * k;
      if (r0 + rr < rows && c0 + cc < cols) { v[k] = x[((r0 + rr) * cols + c0 + cc) >> 2u]; }
    }
    for (var k = 0u; k < 4u; k++) {
      let rr = t / 16u + 16u * k;
      tile[rr * P + cc] = v[k].x;
      tile[rr * P + cc + 1u] = v[k].y;
      tile[rr * P + cc + 2u] = v[k].z;
      tile[rr * P + cc + 3u] = v[k].w;
    }
    workgroupBarrier();
    let yr = (t % 16u) * 4u;
    for (var k = 0u; k < 4u; k++) {
      let yc = t / 16u + 16u * k;
      if (c0 + yc < cols && r0 + yr < rows) {
        y[((c0 + yc) * rows + r0 + yr) >> 2u] = vec4<f32>(tile[yr * P + yc], tile[(yr + 1u) * P + yc], tile[(yr + 2u) * P + yc], tile[(yr + 3u) * P + yc]);
      }
    }
    return;
  }
  for (var i = lid.y; i < T; i += 4u) {
    let r = r0 + i;
    let c = c0 + lid.x;
    if (r < rows && c < cols) { tile[i * P + lid.x] = ld(r * cols + c); }
  }
  workgroupBarrier();
  for (var i = lid.y; i < T; i += 4u) {
    let c = c0 + i;
    let r = r0 + lid.x;
    if (c < cols && r < rows) {
      let o = c * rows + r;
      y[o >> 2u][o & 3u] = tile[lid.x * P + i];
    }
  }
}
