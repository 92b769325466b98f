;; The fused ray-table SIRT kernel in WebAssembly SIMD (see wasm.ts for the arithmetic and memory layout).
;;
;; A template for W lanes (W even, V = W / 2 f64x2 vectors per voxel record): the lines between
;; ";; repeat k" and ";; end repeat" are written V times, k = 0 .. V-1, with {k} -> k, {off} -> 16 k
;; (byte offset of vector k of the iterate x), {offBP} -> 8 W + 16 k (vector k of A^T r, which follows
;; the W lanes of x in each voxel record), {rowBytes} -> 8 W (one ray's b lanes) and {recBytes} -> 16 W
;; (one voxel record). wasm.ts expands it (expandSirtKernel) and scripts/build-wasm.ts assembles it
;; with wabt into wasm-binaries.ts; wasm.test.ts checks the committed binaries equal this source.
(module
  (import "env" "mem" (memory 1))

  ;; A^T R (b - A x) into the records' second half, for rays 0 .. nRays-1.
  ;; rayPtr: i32 [nRays + 1] first step of each ray; stride: i32 [nRays] byte offset from a step's voxel
  ;; q to its second voxel p; steps: {i32 voxel byte offset, f32 w0, f32 w1}; R: f32 [nRays];
  ;; bi: f64 [ray][W] tilt-series lanes; rec: f64 [voxel][x W | A^T r W].
  (func $sweep (export "sweep")
    (param $nRays i32) (param $rayPtr i32) (param $stride i32) (param $steps i32)
    (param $R i32) (param $bi i32) (param $rec i32)
    (local $r i32) (local $ptr i32) (local $end i32) (local $d i32) (local $q i32) (local $p i32)
    (local $rr f32)
    (local $v0 v128) (local $v1 v128) (local $rrv v128)
    ;; repeat k
    (local $acc{k} v128)
    ;; end repeat
    block $done
      loop $rays
        ;; r >= nRays: done
        local.get $r
        local.get $nRays
        i32.ge_u
        br_if $done
        block $skip
          ;; ptr = steps + 12 rayPtr[r], end = steps + 12 rayPtr[r + 1]
          local.get $rayPtr
          local.get $r
          i32.const 2
          i32.shl
          i32.add
          i32.load
          i32.const 12
          i32.mul
          local.get $steps
          i32.add
          local.set $ptr
          local.get $rayPtr
          local.get $r
          i32.const 2
          i32.shl
          i32.add
          i32.load offset=4
          i32.const 12
          i32.mul
          local.get $steps
          i32.add
          local.set $end
          ;; skip the ray when R[r] == 0 or it has no steps
          local.get $R
          local.get $r
          i32.const 2
          i32.shl
          i32.add
          f32.load
          local.tee $rr
          f32.const 0
          f32.eq
          local.get $ptr
          local.get $end
          i32.eq
          i32.or
          br_if $skip
          ;; d = stride[r]
          local.get $stride
          local.get $r
          i32.const 2
          i32.shl
          i32.add
          i32.load
          local.set $d
          ;; repeat k
          v128.const i64x2 0 0
          local.set $acc{k}
          ;; end repeat
          ;; forward: acc = (acc + w0 x_q) + w1 x_p over the ray's steps, in float64
          loop $forward
            local.get $rec
            local.get $ptr
            i32.load
            i32.add
            local.tee $q
            local.get $d
            i32.add
            local.set $p
            local.get $ptr
            f32.load offset=4
            f64.promote_f32
            f64x2.splat
            local.set $v0
            local.get $ptr
            f32.load offset=8
            f64.promote_f32
            f64x2.splat
            local.set $v1
            ;; repeat k
            local.get $acc{k}
            local.get $v0
            local.get $q
            v128.load offset={off}
            f64x2.mul
            f64x2.add
            local.get $v1
            local.get $p
            v128.load offset={off}
            f64x2.mul
            f64x2.add
            local.set $acc{k}
            ;; end repeat
            local.get $ptr
            i32.const 12
            i32.add
            local.tee $ptr
            local.get $end
            i32.lt_u
            br_if $forward
          end
          ;; residual: acc = fround(R (b - acc)), per lane
          local.get $rr
          f64.promote_f32
          f64x2.splat
          local.set $rrv
          local.get $bi
          local.get $r
          i32.const {rowBytes}
          i32.mul
          i32.add
          local.set $q
          ;; repeat k
          local.get $q
          v128.load offset={off}
          local.get $acc{k}
          f64x2.sub
          local.get $rrv
          f64x2.mul
          f32x4.demote_f64x2_zero
          f64x2.promote_low_f32x4
          local.set $acc{k}
          ;; end repeat
          ;; back-projection: A^T r at q and p += w0 r, w1 r, over the ray's steps again
          local.get $rayPtr
          local.get $r
          i32.const 2
          i32.shl
          i32.add
          i32.load
          i32.const 12
          i32.mul
          local.get $steps
          i32.add
          local.set $ptr
          loop $back
            local.get $rec
            local.get $ptr
            i32.load
            i32.add
            local.tee $q
            local.get $d
            i32.add
            local.set $p
            local.get $ptr
            f32.load offset=4
            f64.promote_f32
            f64x2.splat
            local.set $v0
            local.get $ptr
            f32.load offset=8
            f64.promote_f32
            f64x2.splat
            local.set $v1
            ;; repeat k
            local.get $q
            local.get $q
            v128.load offset={offBP}
            local.get $v0
            local.get $acc{k}
            f64x2.mul
            f64x2.add
            v128.store offset={offBP}
            local.get $p
            local.get $p
            v128.load offset={offBP}
            local.get $v1
            local.get $acc{k}
            f64x2.mul
            f64x2.add
            v128.store offset={offBP}
            ;; end repeat
            local.get $ptr
            i32.const 12
            i32.add
            local.tee $ptr
            local.get $end
            i32.lt_u
            br_if $back
          end
        end
        local.get $r
        i32.const 1
        i32.add
        local.set $r
        br $rays
      end
    end
  )

  ;; x = fround(clamp(x + C fround(A^T r), lo, hi)) for voxels 0 .. nVox-1, and A^T r cleared.
  ;; pmax / pmin give exactly `if (v < lo) v = lo; else if (v > hi) v = hi` for lo <= hi.
  (func $update (export "update")
    (param $nVox i32) (param $C i32) (param $rec i32) (param $lo f64) (param $hi f64)
    (local $k i32) (local $a i32)
    (local $c v128) (local $lov v128) (local $hiv v128)
    local.get $lo
    f64x2.splat
    local.set $lov
    local.get $hi
    f64x2.splat
    local.set $hiv
    local.get $rec
    local.set $a
    block $done
      loop $voxels
        local.get $k
        local.get $nVox
        i32.ge_u
        br_if $done
        ;; c = C[k]
        local.get $C
        local.get $k
        i32.const 2
        i32.shl
        i32.add
        f32.load
        f64.promote_f32
        f64x2.splat
        local.set $c
        ;; repeat k
        local.get $a
        local.get $a
        v128.load offset={off}
        local.get $c
        local.get $a
        v128.load offset={offBP}
        f32x4.demote_f64x2_zero
        f64x2.promote_low_f32x4
        f64x2.mul
        f64x2.add
        local.get $lov
        f64x2.pmax
        local.get $hiv
        f64x2.pmin
        f32x4.demote_f64x2_zero
        f64x2.promote_low_f32x4
        v128.store offset={off}
        local.get $a
        v128.const i64x2 0 0
        v128.store offset={offBP}
        ;; end repeat
        local.get $a
        i32.const {recBytes}
        i32.add
        local.set $a
        local.get $k
        i32.const 1
        i32.add
        local.set $k
        br $voxels
      end
    end
  )

  ;; Forward projection alone (the joint methods' operator, ray-operator.ts): bi[r] = A x per lane, for
  ;; rays 0 .. nRays-1, acc = (acc + w0 x_q) + w1 x_p in float64 over the ray's steps, as in sweep.
  (func $project (export "project")
    (param $nRays i32) (param $rayPtr i32) (param $stride i32) (param $steps i32)
    (param $bi i32) (param $rec i32)
    (local $r i32) (local $ptr i32) (local $end i32) (local $d i32) (local $q i32) (local $p i32)
    (local $v0 v128) (local $v1 v128)
    ;; repeat k
    (local $acc{k} v128)
    ;; end repeat
    block $done
      loop $rays
        local.get $r
        local.get $nRays
        i32.ge_u
        br_if $done
        local.get $rayPtr
        local.get $r
        i32.const 2
        i32.shl
        i32.add
        i32.load
        i32.const 12
        i32.mul
        local.get $steps
        i32.add
        local.set $ptr
        local.get $rayPtr
        local.get $r
        i32.const 2
        i32.shl
        i32.add
        i32.load offset=4
        i32.const 12
        i32.mul
        local.get $steps
        i32.add
        local.set $end
        local.get $stride
        local.get $r
        i32.const 2
        i32.shl
        i32.add
        i32.load
        local.set $d
        ;; repeat k
        v128.const i64x2 0 0
        local.set $acc{k}
        ;; end repeat
        block $empty
          local.get $ptr
          local.get $end
          i32.ge_u
          br_if $empty
          loop $forward
            local.get $rec
            local.get $ptr
            i32.load
            i32.add
            local.tee $q
            local.get $d
            i32.add
            local.set $p
            local.get $ptr
            f32.load offset=4
            f64.promote_f32
            f64x2.splat
            local.set $v0
            local.get $ptr
            f32.load offset=8
            f64.promote_f32
            f64x2.splat
            local.set $v1
            ;; repeat k
            local.get $acc{k}
            local.get $v0
            local.get $q
            v128.load offset={off}
            f64x2.mul
            f64x2.add
            local.get $v1
            local.get $p
            v128.load offset={off}
            f64x2.mul
            f64x2.add
            local.set $acc{k}
            ;; end repeat
            local.get $ptr
            i32.const 12
            i32.add
            local.tee $ptr
            local.get $end
            i32.lt_u
            br_if $forward
          end
        end
        local.get $bi
        local.get $r
        i32.const {rowBytes}
        i32.mul
        i32.add
        local.set $q
        ;; repeat k
        local.get $q
        local.get $acc{k}
        v128.store offset={off}
        ;; end repeat
        local.get $r
        i32.const 1
        i32.add
        local.set $r
        br $rays
      end
    end
  )

  ;; Back projection alone (ray-operator.ts): the records' second half += w0 y, w1 y at q and p over
  ;; every ray's steps in ascending ray order (exact float64 products, float64 sums), as in sweep.
  (func $backproject (export "backproject")
    (param $nRays i32) (param $rayPtr i32) (param $stride i32) (param $steps i32)
    (param $bi i32) (param $rec i32)
    (local $r i32) (local $ptr i32) (local $end i32) (local $d i32) (local $q i32) (local $p i32)
    (local $v0 v128) (local $v1 v128)
    ;; repeat k
    (local $acc{k} v128)
    ;; end repeat
    block $done
      loop $rays
        local.get $r
        local.get $nRays
        i32.ge_u
        br_if $done
        local.get $rayPtr
        local.get $r
        i32.const 2
        i32.shl
        i32.add
        i32.load
        i32.const 12
        i32.mul
        local.get $steps
        i32.add
        local.set $ptr
        local.get $rayPtr
        local.get $r
        i32.const 2
        i32.shl
        i32.add
        i32.load offset=4
        i32.const 12
        i32.mul
        local.get $steps
        i32.add
        local.set $end
        block $empty
          local.get $ptr
          local.get $end
          i32.ge_u
          br_if $empty
          local.get $stride
          local.get $r
          i32.const 2
          i32.shl
          i32.add
          i32.load
          local.set $d
          local.get $bi
          local.get $r
          i32.const {rowBytes}
          i32.mul
          i32.add
          local.set $q
          ;; repeat k
          local.get $q
          v128.load offset={off}
          local.set $acc{k}
          ;; end repeat
          loop $back
            local.get $rec
            local.get $ptr
            i32.load
            i32.add
            local.tee $q
            local.get $d
            i32.add
            local.set $p
            local.get $ptr
            f32.load offset=4
            f64.promote_f32
            f64x2.splat
            local.set $v0
            local.get $ptr
            f32.load offset=8
            f64.promote_f32
            f64x2.splat
            local.set $v1
            ;; repeat k
            local.get $q
            local.get $q
            v128.load offset={offBP}
            local.get $v0
            local.get $acc{k}
            f64x2.mul
            f64x2.add
            v128.store offset={offBP}
            local.get $p
            local.get $p
            v128.load offset={offBP}
            local.get $v1
            local.get $acc{k}
            f64x2.mul
            f64x2.add
            v128.store offset={offBP}
            ;; end repeat
            local.get $ptr
            i32.const 12
            i32.add
            local.tee $ptr
            local.get $end
            i32.lt_u
            br_if $back
          end
        end
        local.get $r
        i32.const 1
        i32.add
        local.set $r
        br $rays
      end
    end
  )
)
