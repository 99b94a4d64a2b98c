// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): reference/p3/transpose.wgsl (32 x 32 tiles in workgroup memory, 32 x 8 threads,
// diagonal tile order) with each workgroup moving TPW tiles, one below the other, instead of one.
// A workgroup of the reference moves 4 KiB: WebGPU zero-fills its workgroup memory (the 33 x 32
// tile, about as many stores as the tile's own) and waits on a barrier before the kernel starts,
// and the workgroup's start and end cost about as much as its work. This tests whether that
// fixed cost per workgroup is what the reference lacks (gpu-measure.ts also times the reference
// on a device with the zero-fill turned off, which tests the same from the other side).
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const T = 32u;
override TPW: u32 = 4u; // tiles per workgroup, one below the other
var<workgroup> tile: array<f32, T * (T + 1u)>;

@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = sizes.rows;
  let cols = sizes.cols;
  // The reference's diagonal order over groups of TPW tiles (nwg.y groups of tile rows).
  let bid = wid.x + nwg.x * wid.y;
  let gy = bid % nwg.y;
  let bx = (bid / nwg.y + gy) % nwg.x;
  let c0 = bx * T;
  for (var k = 0u; k < TPW; k++) {
    let r0 = (gy * TPW + k) * T;
    if (r0 >= rows) { break; } // uniform: the same for the whole workgroup
    for (var i = lid.y; i < T; i += 8u) {
      let r = r0 + i;
      let c = c0 + lid.x;
      if (r < rows && c < cols) { tile[i * (T + 1u) + lid.x] = x[r * cols + c]; }
    }
    workgroupBarrier();
    for (var i = lid.y; i < T; i += 8u) {
      let c = c0 + i;      // a row of y
      let r = r0 + lid.x;  // a column of y
      if (c < cols && r < rows) { y[c * rows + r] = tile[lid.x * (T + 1u) + i]; }
    }
    workgroupBarrier(); // the tile is read before the next one is written
  }
}
