// Fused attention forward (FlashAttention-2 style): o[b, h, i, :] = Σ_j softmax_j(s_ij) v[b, h, j, :]
// with s_ij = scale · q[b, h, i, :]·k[b, h, j, :], scale = 1/√D, and when causal only keys
// j ≤ i + Sk − Sq. Never write the Sq x Sk scores to memory: walk the keys in tiles, keeping a
// running maximum and sum per query row (the online softmax) and rescaling the partial output.
// q is B x H x Sq x D, k and v are B x H x Sk x D, o is B x H x Sq x D, all row-major; D is 64
// or 128 (make it an override to size your arrays, see README.md).
struct Sizes { B: u32, H: u32, Sq: u32, Sk: u32, D: u32, causal: u32, scale: f32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;

override BQ: u32 = 32;

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  // TODO
}
