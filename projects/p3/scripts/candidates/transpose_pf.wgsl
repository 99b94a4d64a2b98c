// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): transpose_multi.wgsl (TPW tiles of 32 x 32 a workgroup, one below the other) with
// the next tile's loads issued before the current tile is stored. In the reference a workgroup
// loads its tile, waits at a barrier, then stores it: while it stores, it has no load in flight,
// so an SM keeps about half the bytes in flight that its eight resident workgroups could. By
// Little's law an H100 needs some 18 KB in flight per SM (3.35 TB/s x ~700 ns over 132 SMs), and
// the reference's 16-32 KB is at the edge of that; transpose reaches 69% of copy there. Here each
// thread holds the next tile's four elements in registers while it stores the current one.
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const T = 32u;
override TPW: u32 = 4u; // tiles per workgroup, one below the other
var<workgroup> tile: array<f32, T * (T + 1u)>;

// The four elements thread (lid.x, lid.y) reads of the tile whose top-left corner is (r0, c0).
fn load4(r0: u32, c0: u32, lid: vec3u, rows: u32, cols: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  let c = c0 + lid.x;
  for (var q = 0u; q < 4u; q++) {
    let r = r0 + lid.y + 8u * q;
    if (r < rows && c < cols) { v[q] = x[r * cols + c]; }
  }
  return v;
}

@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = sizes.rows;
  let cols = sizes.cols;
  // The reference's diagonal order over groups of TPW tiles (nwg.y groups of tile rows).
  let bid = wid.x + nwg.x * wid.y;
  let gy = bid % nwg.y;
  let bx = (bid / nwg.y + gy) % nwg.x;
  let c0 = bx * T;
  let first = gy * TPW * T;
  var next = load4(first, c0, lid, rows, cols);
  for (var k = 0u; k < TPW; k++) {
    let r0 = first + k * T;
    if (r0 >= rows) { break; } // uniform: the same for the whole workgroup
    for (var q = 0u; q < 4u; q++) { tile[(lid.y + 8u * q) * (T + 1u) + lid.x] = next[q]; }
    workgroupBarrier();
    // The next tile's loads go out before this tile's stores.
    if (k + 1u < TPW && r0 + T < rows) { next = load4(r0 + T, c0, lid, rows, cols); }
    for (var i = lid.y; i < T; i += 8u) {
      let c = c0 + i;      // a row of y
      let r = r0 + lid.x;  // a column of y
      if (c < cols && r < rows) { y[c * rows + r] = tile[lid.x * (T + 1u) + i]; }
    }
    workgroupBarrier(); // the tile is read before the next one is written
  }
}
