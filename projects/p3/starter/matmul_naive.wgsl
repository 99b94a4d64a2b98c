// Stage 1, naive: one thread per element of C, c[row, col] = Σ_k a[row, k] · b[k, col].
// Map one invocation to one (row, col), check the bounds (M and N need not be multiples of the
// workgroup size), loop over k.
struct Sizes { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> a: array<f32>;       // A, M x K, row-major
@group(0) @binding(2) var<storage, read> b: array<f32>;       // B, K x N, row-major
@group(0) @binding(3) var<storage, read_write> c: array<f32>; // C = A·B, M x N, row-major

override WG_X: u32 = 16;
override WG_Y: u32 = 16;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // TODO: compute one element of c. Until then c keeps the NaN the harness fills it with.
}
