// Transpose: y[j, i] = x[i, j], x rows x cols, y cols x rows, both row-major. The naive
// version reads or writes with a stride; go through a tile in workgroup memory so that both the
// reads and the writes are coalesced (and pad the tile to avoid bank conflicts).
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  // TODO
}
