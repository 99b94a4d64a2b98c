// Transpose through workgroup memory: a 32 x 32 tile is read with rows along x (coalesced),
// stored in workgroup memory, and written back with the roles of rows and columns swapped, so
// the writes are coalesced too. The tile has 33 columns so that reading a column of it touches
// 32 different banks. A workgroup is 32 x 4 threads, each moving 8 elements.
// Bytes in flight: each thread issues its eight loads one after the other, into eight values,
// before it stores any of them in the tile. The first version looped `for (i = lid.y; i < 32;
// i += 8)`, loading and storing one element an iteration; its trip count starts at lid.y, so the
// compiler kept it a loop, and a thread had one 4-byte load in flight at a time, about 8 KiB an
// SM, short of the ~18 KiB an H100 needs to cover memory latency at full bandwidth (Little's
// law). With the loads written out (a loop with constant bounds, unrolled), 8192 x 8192 went
// from 0.243 to 0.156 ms on an H200, 56% to 87% of the copy bandwidth (docs/gpu-results.md).
// Tile order, chosen by the launch (index.ts) through COLUMN_ORDER:
// - rows a multiple of 32 (COLUMN_ORDER = 0): diagonal order (workgroup (x, y) takes tile
//   ((x + y) mod gx, ...), the usual remapping for non-square grids too), so the workgroups in
//   flight at any moment write to many column ranges of y instead of one: with power-of-two sizes
//   a row-by-row order sends all their writes to the same few memory partitions (on an H100,
//   8192 x 8192 went from 0.54 to 0.35 ms).
// - other rows (COLUMN_ORDER = 1): column-major order, workgroup k + 1 taking the tile below
//   workgroup k's. y's rows then start part way into a 128-byte line, so each line of y is written
//   by the workgroups of two tiles, one below the other; in this order they run at the same time.
//   On an H200, 8191 x 8193 went from 54% to 64% of the copy bandwidth, 8193 x 8192 from 56% to
//   67% (row-major order: 56%, 58%), where 8192 x 8192 runs at 87% (docs/gpu-results.md).
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const T = 32u;
const R = 4u; // rows of threads: each thread moves T / R elements
override COLUMN_ORDER: u32 = 0; // 1: tiles in column-major order (see above)
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
  let bid = wid.x + nwg.x * wid.y;
  let by = bid % nwg.y;
  var bx = bid / nwg.y;
  if (COLUMN_ORDER == 0u) { bx = (bx + by) % nwg.x; } // diagonal
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
