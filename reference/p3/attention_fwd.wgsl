// Fused attention forward, FlashAttention-2 style: a workgroup takes BQ queries of one
// (batch, head) and walks the keys in tiles of BK, keeping for each query row the running
// maximum m, the running softmax denominator l and the unnormalized output in registers; the
// scores never leave the workgroup. Per tile:
//   1. the K tile goes to workgroup memory (16-byte loads);
//   2. S = Q·Kᵀ: each thread computes RS rows x KS keys of it (Q is scaled by 1/√D when loaded),
//      masked scores are -1e30, and each thread's row maxima go to `redm`;
//   3. the tile's row maximum gives the new m; p = exp(s − m) goes to `Ps`, partial sums to `reds`;
//      the V tile replaces the K tile in workgroup memory (one buffer for both halves the space);
//   4. each thread owns RO rows x VO vec4 columns of O: it rescales them by exp(m_old − m_new),
//      updates l, and adds P·V for the tile.
// Causal masking keeps key j ≤ i + Sk − Sq for query i; tiles past the block's last visible key
// are skipped. Head dim, tile sizes and thread layout are override constants (see index.ts).
struct Sizes { B: u32, H: u32, Sq: u32, Sk: u32, D: u32, causal: u32, scale: f32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<f32>>;

const WG = 128u;
override HD: u32 = 64;  // head dim (sizes.D)
override BQ: u32 = 32;  // queries per workgroup
override BK: u32 = 32;  // keys per tile
override RS: u32 = 2;   // score rows per thread
override KS: u32 = 4;   // score keys per thread
override RO: u32 = 2;   // output rows per thread
override VO: u32 = 2;   // output vec4 columns per thread
override D4: u32 = HD / 4u;
override QS: u32 = HD / 4u + 1u;   // padded row stride of Qs and of the K tile, in vec4
override KG: u32 = BK / KS;        // key groups (threads per row in step 2)
override CG: u32 = HD / 4u / VO;   // column groups (threads per row in step 4)

var<workgroup> Qs: array<vec4<f32>, BQ * QS>;
var<workgroup> KV: array<vec4<f32>, BK * QS>; // the K tile (row stride QS), then the V tile (row stride D4)
var<workgroup> Ps: array<f32, BQ * (BK + 1u)>;
var<workgroup> redm: array<f32, BQ * KG>;
var<workgroup> reds: array<f32, BQ * KG>;

const NEG = -1.0e30;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let Sq = sizes.Sq;
  let Sk = sizes.Sk;
  let bh = wid.y;
  let q0 = wid.x * BQ;
  let causal = sizes.causal != 0u;
  let shift = i32(Sk) - i32(Sq); // query i sees keys j <= i + shift

  // Q block, scaled.
  for (var e = t; e < BQ * D4; e += WG) {
    let r = e / D4;
    let c = e % D4;
    var x = vec4<f32>(0.0);
    if (q0 + r < Sq) { x = q[(bh * Sq + q0 + r) * D4 + c] * sizes.scale; }
    Qs[r * QS + c] = x;
  }

  // Step-2 layout: rows sr + (BQ/RS)*i, keys kg + KG*jj. Step-4 layout: rows orow + (BQ/RO)*i,
  // vec4 columns oc + CG*jj.
  let kg = t % KG;
  let sr = t / KG;
  let oc = t % CG;
  let orow = t / CG;
  var ms: array<f32, 8>;   // m for the step-2 rows
  var mo: array<f32, 8>;   // m for the step-4 rows
  var lo: array<f32, 8>;   // l for the step-4 rows
  var acc: array<vec4<f32>, 16>;
  for (var i = 0u; i < 8u; i++) { ms[i] = NEG; mo[i] = NEG; lo[i] = 0.0; }

  var kend = Sk;
  if (causal) { kend = u32(clamp(i32(min(q0 + BQ, Sq)) - 1 + shift + 1, 0, i32(Sk))); }
  let tiles = (kend + BK - 1u) / BK;
  for (var kt = 0u; kt < tiles; kt++) {
    let k0 = kt * BK;
    for (var e = t; e < BK * D4; e += WG) {
      let j = e / D4;
      let c = e % D4;
      var kx = vec4<f32>(0.0);
      if (k0 + j < Sk) { kx = k[(bh * Sk + k0 + j) * D4 + c]; }
      KV[j * QS + c] = kx;
    }
    workgroupBarrier();

    // 2. Scores for RS rows x KS keys, and each row's partial maximum.
    var s: array<f32, 16>;
    for (var i = 0u; i < RS; i++) {
      for (var jj = 0u; jj < KS; jj++) { s[i * KS + jj] = 0.0; }
    }
    for (var c = 0u; c < D4; c++) {
      var kv: array<vec4<f32>, 8>;
      for (var jj = 0u; jj < KS; jj++) { kv[jj] = KV[(kg + KG * jj) * QS + c]; }
      for (var i = 0u; i < RS; i++) {
        let qv = Qs[(sr + (BQ / RS) * i) * QS + c];
        for (var jj = 0u; jj < KS; jj++) { s[i * KS + jj] += dot(qv, kv[jj]); }
      }
    }
    for (var i = 0u; i < RS; i++) {
      let r = sr + (BQ / RS) * i;
      var mx = NEG;
      for (var jj = 0u; jj < KS; jj++) {
        let j = k0 + kg + KG * jj;
        let ok = j < Sk && (!causal || i32(j) <= i32(q0 + r) + shift);
        if (!ok) { s[i * KS + jj] = NEG; }
        mx = max(mx, s[i * KS + jj]);
      }
      redm[r * KG + kg] = mx;
    }
    workgroupBarrier();

    // 3. Probabilities with the new maximum, and each row's partial sum.
    for (var i = 0u; i < RS; i++) {
      let r = sr + (BQ / RS) * i;
      var mt = NEG;
      for (var g = 0u; g < KG; g++) { mt = max(mt, redm[r * KG + g]); }
      let mn = max(ms[i], mt);
      ms[i] = mn;
      var sum = 0.0;
      for (var jj = 0u; jj < KS; jj++) {
        let x = s[i * KS + jj];
        let p = select(0.0, exp(x - mn), x > NEG);
        Ps[r * (BK + 1u) + kg + KG * jj] = p;
        sum += p;
      }
      reds[r * KG + kg] = sum;
    }
    for (var e = t; e < BK * D4; e += WG) {
      let j = e / D4;
      var vx = vec4<f32>(0.0);
      if (k0 + j < Sk) { vx = v[(bh * Sk + k0 + j) * D4 + e % D4]; }
      KV[e] = vx;
    }
    workgroupBarrier();

    // 4. Rescale and accumulate P·V for RO rows x VO vec4 columns.
    for (var i = 0u; i < RO; i++) {
      let r = orow + (BQ / RO) * i;
      var mt = NEG;
      var sum = 0.0;
      for (var g = 0u; g < KG; g++) {
        mt = max(mt, redm[r * KG + g]);
        sum += reds[r * KG + g];
      }
      let mn = max(mo[i], mt);
      let alpha = exp(mo[i] - mn);
      mo[i] = mn;
      lo[i] = lo[i] * alpha + sum;
      for (var jj = 0u; jj < VO; jj++) { acc[i * VO + jj] *= alpha; }
    }
    for (var j = 0u; j < BK; j++) {
      var vv: array<vec4<f32>, 8>;
      for (var jj = 0u; jj < VO; jj++) { vv[jj] = KV[j * D4 + oc + CG * jj]; }
      for (var i = 0u; i < RO; i++) {
        let p = Ps[(orow + (BQ / RO) * i) * (BK + 1u) + j];
        for (var jj = 0u; jj < VO; jj++) { acc[i * VO + jj] = fma(vec4<f32>(p), vv[jj], acc[i * VO + jj]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < RO; i++) {
    let r = orow + (BQ / RO) * i;
    if (q0 + r >= Sq) { continue; }
    let inv = select(0.0, 1.0 / lo[i], lo[i] > 0.0);
    for (var jj = 0u; jj < VO; jj++) {
      o[(bh * Sq + q0 + r) * D4 + oc + CG * jj] = acc[i * VO + jj] * inv;
    }
  }
}
