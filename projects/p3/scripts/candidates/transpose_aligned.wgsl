// CANDIDATE (measured beside the reference by gpu-measure.ts --fresh; not graded, not the
// reference): a transpose whose stores are 128-byte aligned when y's rows are not.
// y = x^T has rows of `rows` floats. When `rows` is not a multiple of 32, a row of y starts part
// way into a 128-byte line, so the reference's stores (32 consecutive floats from a multiple of
// 32 in r) straddle two lines each: on an H200, 8193 x 8192 ran at 56% of the copy bandwidth and
// 8192 x 8193 (x's rows unaligned, y's aligned) at 84% (2026-11-27). Here, for each row c of y, a
// warp stores the 32 floats of one aligned line: r from 32*tt + a - 32 to 32*tt + a, where a is
// where the row's next line starts. Those r span two tiles of x (tt - 1 and tt), so a workgroup
// keeps two 32 x 32 tiles in workgroup memory and walks TPW tiles down its column block, each
// tile loaded once; the tile above the first is loaded again by the workgroup before (TPW + 1
// loads for TPW tiles). A workgroup is 32 x 4 threads, each loading eight elements of a tile (all
// eight before it stores any in the tile, as the reference) and storing eight.
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const T = 32u;
const R = 4u;
const SLOT = T * (T + 1u); // one tile, 33 columns (bank-conflict free column reads)
override TPW: u32 = 4u; // tiles a workgroup walks down
var<workgroup> tile: array<f32, 2u * SLOT>;

// Tile tt of the column block at c0 (x's rows 32 tt to 32 tt + 31) into slot tt % 2.
fn load_tile(tt: u32, c0: u32, lid: vec3u, rows: u32, cols: u32) {
  var v: array<f32, T / R>;
  let c = c0 + lid.x;
  for (var q = 0u; q < T / R; q++) {
    let r = tt * T + lid.y + R * q;
    v[q] = 0.0;
    if (r < rows && c < cols) { v[q] = x[r * cols + c]; }
  }
  let s = (tt & 1u) * SLOT;
  for (var q = 0u; q < T / R; q++) { tile[s + (lid.y + R * q) * (T + 1u) + lid.x] = v[q]; }
}

@compute @workgroup_size(32, 4)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = sizes.rows;
  let cols = sizes.cols;
  let ntiles = (rows + T - 1u) / T;
  // The reference's diagonal order over (column block, group of TPW tiles).
  let bid = wid.x + nwg.x * wid.y;
  let by = bid % nwg.y;
  let bx = (bid / nwg.y + by) % nwg.x;
  let c0 = bx * T;
  let first = by * TPW;
  if (first > ntiles) { return; } // uniform: the whole workgroup
  if (first > 0u) { load_tile(first - 1u, c0, lid, rows, cols); }
  for (var k = 0u; k < TPW; k++) {
    let tt = first + k;
    if (tt > ntiles) { break; } // uniform; tile index ntiles holds the last window, no rows of its own
    if (tt < ntiles) { load_tile(tt, c0, lid, rows, cols); }
    workgroupBarrier();
    var v: array<f32, T / R>;
    for (var q = 0u; q < T / R; q++) {
      let i = lid.y + R * q; // y's row c0 + i, x's column
      let c = c0 + i;
      let a = (T - ((c * rows) & (T - 1u))) & (T - 1u); // r where the row's next aligned line starts, mod 32
      let rr = tt * T + a + lid.x; // r + 32
      v[q] = 0.0;
      if (rr >= T && c < cols) {
        let r = rr - T;
        if (r < rows) { v[q] = tile[((r / T) & 1u) * SLOT + (r & (T - 1u)) * (T + 1u) + i]; }
      }
    }
    for (var q = 0u; q < T / R; q++) {
      let c = c0 + lid.y + R * q;
      let a = (T - ((c * rows) & (T - 1u))) & (T - 1u);
      let rr = tt * T + a + lid.x;
      if (rr >= T && c < cols && rr - T < rows) { y[c * rows + rr - T] = v[q]; }
    }
    workgroupBarrier(); // the tile above is read before the next load overwrites its slot
  }
}
