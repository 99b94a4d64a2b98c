// Sum by rows: y[r] = Σ_j x[r, j]. A vector is one row (up to 64M elements): spread a long row
// over many workgroups, writing partial sums to `scratch` (size it with scratch() in index.ts),
// and add them up in a second pass (a second entry point, a second element of `passes`).
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;              // rows x cols
@group(0) @binding(2) var<storage, read_write> y: array<f32>;        // rows
@group(0) @binding(3) var<storage, read_write> scratch: array<f32>;  // yours: contents start as NaN

@compute @workgroup_size(256)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  // TODO: each workgroup sums a part of a row into scratch
}

@compute @workgroup_size(256)
fn finish(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  // TODO: one workgroup per row adds up its partial sums into y
}
