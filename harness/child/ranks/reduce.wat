;; Element-wise accumulation for the ranks' transport (comm.ts: recvReduce): dst += src over
;; one rank's arena, 64 bytes per step in SIMD, the rest one element at a time. The memory is the
;; rank's arena (a shared WebAssembly memory). Integer addition wraps, as (a + b) | 0 does in
;; JavaScript; float32 addition rounds once, as a Float32Array's `+=` does.
;; Compiled into reduce-wasm.ts (tests/harness/child/ranks/reduce-wasm.test.ts checks they agree).
(module
  (import "env" "mem" (memory 1 65536 shared))

  ;; add_f32(dst, src, n): dst[i] += src[i] for i < n; dst and src are byte offsets in the memory.
  (func (export "add_f32") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $end64 i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end64 (i32.add (local.get $dst) (i32.and (i32.shl (local.get $n) (i32.const 2)) (i32.const -64))))
    (block $done64 (loop $by64
      (br_if $done64 (i32.ge_u (local.get $dst) (local.get $end64)))
      (v128.store offset=0 (local.get $dst) (f32x4.add (v128.load offset=0 (local.get $dst)) (v128.load offset=0 (local.get $src))))
      (v128.store offset=16 (local.get $dst) (f32x4.add (v128.load offset=16 (local.get $dst)) (v128.load offset=16 (local.get $src))))
      (v128.store offset=32 (local.get $dst) (f32x4.add (v128.load offset=32 (local.get $dst)) (v128.load offset=32 (local.get $src))))
      (v128.store offset=48 (local.get $dst) (f32x4.add (v128.load offset=48 (local.get $dst)) (v128.load offset=48 (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
      (local.set $src (i32.add (local.get $src) (i32.const 64)))
      (br $by64)))
    (block $done (loop $by1
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (br $by1))))

  ;; add_f64(dst, src, n): dst[i] += src[i] for i < n; dst and src are byte offsets in the memory.
  (func (export "add_f64") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $end64 i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $end64 (i32.add (local.get $dst) (i32.and (i32.shl (local.get $n) (i32.const 3)) (i32.const -64))))
    (block $done64 (loop $by64
      (br_if $done64 (i32.ge_u (local.get $dst) (local.get $end64)))
      (v128.store offset=0 (local.get $dst) (f64x2.add (v128.load offset=0 (local.get $dst)) (v128.load offset=0 (local.get $src))))
      (v128.store offset=16 (local.get $dst) (f64x2.add (v128.load offset=16 (local.get $dst)) (v128.load offset=16 (local.get $src))))
      (v128.store offset=32 (local.get $dst) (f64x2.add (v128.load offset=32 (local.get $dst)) (v128.load offset=32 (local.get $src))))
      (v128.store offset=48 (local.get $dst) (f64x2.add (v128.load offset=48 (local.get $dst)) (v128.load offset=48 (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
      (local.set $src (i32.add (local.get $src) (i32.const 64)))
      (br $by64)))
    (block $done (loop $by1
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (f64.store (local.get $dst) (f64.add (f64.load (local.get $dst)) (f64.load (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
      (local.set $src (i32.add (local.get $src) (i32.const 8)))
      (br $by1))))

  ;; add_i32(dst, src, n): dst[i] += src[i] for i < n; dst and src are byte offsets in the memory.
  (func (export "add_i32") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $end64 i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end64 (i32.add (local.get $dst) (i32.and (i32.shl (local.get $n) (i32.const 2)) (i32.const -64))))
    (block $done64 (loop $by64
      (br_if $done64 (i32.ge_u (local.get $dst) (local.get $end64)))
      (v128.store offset=0 (local.get $dst) (i32x4.add (v128.load offset=0 (local.get $dst)) (v128.load offset=0 (local.get $src))))
      (v128.store offset=16 (local.get $dst) (i32x4.add (v128.load offset=16 (local.get $dst)) (v128.load offset=16 (local.get $src))))
      (v128.store offset=32 (local.get $dst) (i32x4.add (v128.load offset=32 (local.get $dst)) (v128.load offset=32 (local.get $src))))
      (v128.store offset=48 (local.get $dst) (i32x4.add (v128.load offset=48 (local.get $dst)) (v128.load offset=48 (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
      (local.set $src (i32.add (local.get $src) (i32.const 64)))
      (br $by64)))
    (block $done (loop $by1
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (i32.store (local.get $dst) (i32.add (i32.load (local.get $dst)) (i32.load (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (br $by1))))
)
