;; One FGP iteration of the TV prox (fgp.ts, kind 0, mode 0) on a slab of z slices, in WebAssembly SIMD:
;; four voxels (x .. x + 3) per f32x4 vector, float32 arithmetic (each operation rounded to float32, as
;; the JavaScript kernel's Math.fround after every operation: fgpPrimalSlice / fgpDualSlice), so both give
;; the same bits (fgp-wasm.test.ts). Boundary terms are masked to +0 instead of skipped: the divergence
;; starts at +0 and only adds and subtracts, so it is never -0 and d + (+0) = d - (+0) = d; a forward
;; difference masked to +0 is the JavaScript kernel's literal 0. Needs nx a multiple of 4 (fgp.ts keeps
;; the JavaScript kernel otherwise).
;;
;; Memory (fgp-wasm.ts lays it out, shared between worker threads): byte offsets of element 0's arrays,
;; element e's at + e n 4 (w) or + e 3 n 4 (the duals, rows [z | y | x] of n float32 each); the ring
;; holds two slices of the primal per element (float32, slot z & 1); reads outside a boundary stay
;; inside memory (the layout keeps at least a slice before R and after the ring) and are masked.
;; `npm run build:wasm` assembles it (wabt) into fgp-wasm-binary.ts; fgp-wasm.test.ts checks the copy.
(module
  (import "env" "mem" (memory 1 65536 shared))
  (global $nz (mut i32) (i32.const 0))
  (global $ny (mut i32) (i32.const 0))
  (global $nx (mut i32) (i32.const 0))
  (global $nE (mut i32) (i32.const 0))
  (global $plane4 (mut i32) (i32.const 0))
  (global $n4 (mut i32) (i32.const 0))
  (global $w (mut i32) (i32.const 0))
  (global $R (mut i32) (i32.const 0))
  (global $P (mut i32) (i32.const 0))
  (global $Pn (mut i32) (i32.const 0))
  (global $Rn (mut i32) (i32.const 0))
  (global $ring (mut i32) (i32.const 0))
  (global $t (mut f32) (f32.const 0))
  (global $step (mut f32) (f32.const 0))
  (global $mom (mut f32) (f32.const 0))

  ;; all ones where c, else all zeros
  (func $mask (param $c i32) (result v128)
    (select (result v128) (v128.const i32x4 -1 -1 -1 -1) (v128.const i32x4 0 0 0 0) (local.get $c)))

  ;; Slice z of the primal v = w + t div R (Neumann boundary), float32, into the ring; with $clip, v < 0 set
  ;; to 0 (pmax: -0 stays -0, as the JavaScript `v < 0 ? 0 : v`); with $uo != 0 v also into the output
  ;; volumes at byte offset $uo (element e's at + e n 4).
  (func $primal (param $z i32) (param $clip i32) (param $uo i32)
    (local $e i32) (local $y i32) (local $x i32) (local $i4 i32) (local $a i32) (local $nx4 i32)
    (local $wE i32) (local $qE i32) (local $rE i32) (local $last i32)
    (local $mzp v128) (local $mzm v128) (local $myp v128) (local $mym v128) (local $mxp v128) (local $mxm v128)
    (local $d v128) (local $tv v128) (local $lo v128) (local $uE i32)
    (local.set $nx4 (i32.shl (global.get $nx) (i32.const 2)))
    (local.set $last (i32.sub (global.get $nx) (i32.const 4)))
    (local.set $tv (f32x4.splat (global.get $t)))
    ;; the clip's floor: 0, or -infinity (pmax leaves every v, -0 and NaN included)
    (local.set $lo (select (result v128) (v128.const f32x4 0 0 0 0) (v128.const f32x4 -inf -inf -inf -inf) (local.get $clip)))
    (local.set $mzp (call $mask (i32.lt_s (local.get $z) (i32.sub (global.get $nz) (i32.const 1)))))
    (local.set $mzm (call $mask (i32.gt_s (local.get $z) (i32.const 0))))
    (local.set $e (i32.const 0))
    (loop $elements
      (local.set $wE (i32.add (global.get $w) (i32.mul (local.get $e) (global.get $n4))))
      (local.set $qE (i32.add (global.get $R) (i32.mul (i32.mul (local.get $e) (i32.const 3)) (global.get $n4))))
      (local.set $rE (i32.add (global.get $ring)
        (i32.mul (i32.add (i32.shl (local.get $e) (i32.const 1)) (i32.and (local.get $z) (i32.const 1))) (global.get $plane4))))
      (local.set $uE (i32.add (local.get $uo) (i32.mul (local.get $e) (global.get $n4))))
      (local.set $y (i32.const 0))
      (loop $rows
        (local.set $myp (call $mask (i32.lt_s (local.get $y) (i32.sub (global.get $ny) (i32.const 1)))))
        (local.set $mym (call $mask (i32.gt_s (local.get $y) (i32.const 0))))
        (local.set $x (i32.const 0))
        (loop $quads
          ;; lanes x .. x + 3: no +x term at nx - 1 (lane 3 of the last quad), no -x term at 0 (lane 0 of the first)
          (local.set $mxp (select (result v128) (v128.const i32x4 -1 -1 -1 0) (v128.const i32x4 -1 -1 -1 -1) (i32.eq (local.get $x) (local.get $last))))
          (local.set $mxm (select (result v128) (v128.const i32x4 0 -1 -1 -1) (v128.const i32x4 -1 -1 -1 -1) (i32.eqz (local.get $x))))
          (local.set $i4 (i32.add (i32.mul (local.get $z) (global.get $plane4))
            (i32.shl (i32.add (i32.mul (local.get $y) (global.get $nx)) (local.get $x)) (i32.const 2))))
          (local.set $a (i32.add (local.get $qE) (local.get $i4)))
          (local.set $d (f32x4.add (f32x4.splat (f32.const 0)) (v128.and (v128.load (local.get $a)) (local.get $mzp))))
          (local.set $d (f32x4.sub (local.get $d) (v128.and (v128.load (i32.sub (local.get $a) (global.get $plane4))) (local.get $mzm))))
          (local.set $a (i32.add (local.get $a) (global.get $n4)))
          (local.set $d (f32x4.add (local.get $d) (v128.and (v128.load (local.get $a)) (local.get $myp))))
          (local.set $d (f32x4.sub (local.get $d) (v128.and (v128.load (i32.sub (local.get $a) (local.get $nx4))) (local.get $mym))))
          (local.set $a (i32.add (local.get $a) (global.get $n4)))
          (local.set $d (f32x4.add (local.get $d) (v128.and (v128.load (local.get $a)) (local.get $mxp))))
          (local.set $d (f32x4.sub (local.get $d) (v128.and (v128.load (i32.sub (local.get $a) (i32.const 4))) (local.get $mxm))))
          ;; v = w + t d (clipped: pmax(v, lo) = v < lo ? lo : v)
          (local.set $d (f32x4.pmax (f32x4.add (v128.load (i32.add (local.get $wE) (local.get $i4))) (f32x4.mul (local.get $tv) (local.get $d))) (local.get $lo)))
          (v128.store (i32.add (local.get $rE) (i32.sub (local.get $i4) (i32.mul (local.get $z) (global.get $plane4)))) (local.get $d))
          (if (local.get $uo) (then (v128.store (i32.add (local.get $uE) (local.get $i4)) (local.get $d))))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (br_if $quads (i32.lt_s (local.get $x) (global.get $nx))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $y) (global.get $ny))))
      (local.set $e (i32.add (local.get $e) (i32.const 1)))
      (br_if $elements (i32.lt_s (local.get $e) (global.get $nE)))))

  ;; The dual step on slice z: g = forward differences of the ring's v, p' = Proj(R + step g) (unit l2
  ;; ball per voxel), Pn = p', Rn = p' + mom (p' - P), all float32.
  (func $dual (param $z i32)
    (local $e i32) (local $y i32) (local $x i32) (local $yx4 i32) (local $i4 i32) (local $k0 i32) (local $b i32)
    (local $nx4 i32) (local $last i32) (local $s0 i32) (local $s1 i32) (local $dE i32)
    (local $mzp v128) (local $myp v128) (local $mxp v128)
    (local $v v128) (local $gz v128) (local $gy v128) (local $gx v128)
    (local $p0 v128) (local $p1 v128) (local $p2 v128) (local $f v128) (local $q v128)
    (local $stepv v128) (local $momv v128) (local $one v128)
    (local.set $nx4 (i32.shl (global.get $nx) (i32.const 2)))
    (local.set $last (i32.sub (global.get $nx) (i32.const 4)))
    (local.set $stepv (f32x4.splat (global.get $step)))
    (local.set $momv (f32x4.splat (global.get $mom)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $mzp (call $mask (i32.lt_s (local.get $z) (i32.sub (global.get $nz) (i32.const 1)))))
    (local.set $s0 (i32.mul (i32.and (local.get $z) (i32.const 1)) (global.get $plane4)))
    (local.set $s1 (i32.mul (i32.and (i32.add (local.get $z) (i32.const 1)) (i32.const 1)) (global.get $plane4)))
    (local.set $e (i32.const 0))
    (loop $elements
      (local.set $b (i32.add (global.get $ring) (i32.mul (i32.shl (local.get $e) (i32.const 1)) (global.get $plane4))))
      (local.set $dE (i32.mul (i32.mul (local.get $e) (i32.const 3)) (global.get $n4)))
      (local.set $y (i32.const 0))
      (loop $rows
        (local.set $myp (call $mask (i32.lt_s (local.get $y) (i32.sub (global.get $ny) (i32.const 1)))))
        (local.set $x (i32.const 0))
        (loop $quads
          (local.set $mxp (select (result v128) (v128.const i32x4 -1 -1 -1 0) (v128.const i32x4 -1 -1 -1 -1) (i32.eq (local.get $x) (local.get $last))))
          (local.set $yx4 (i32.shl (i32.add (i32.mul (local.get $y) (global.get $nx)) (local.get $x)) (i32.const 2)))
          (local.set $i4 (i32.add (local.get $dE) (i32.add (i32.mul (local.get $z) (global.get $plane4)) (local.get $yx4))))
          (local.set $k0 (i32.add (i32.add (local.get $b) (local.get $s0)) (local.get $yx4)))
          (local.set $v (v128.load (local.get $k0)))
          (local.set $gz (v128.and (local.get $mzp) (f32x4.sub (v128.load (i32.add (i32.add (local.get $b) (local.get $s1)) (local.get $yx4))) (local.get $v))))
          (local.set $gy (v128.and (local.get $myp) (f32x4.sub (v128.load (i32.add (local.get $k0) (local.get $nx4))) (local.get $v))))
          (local.set $gx (v128.and (local.get $mxp) (f32x4.sub (v128.load (i32.add (local.get $k0) (i32.const 4))) (local.get $v))))
          (local.set $p0 (f32x4.add (v128.load (i32.add (global.get $R) (local.get $i4))) (f32x4.mul (local.get $stepv) (local.get $gz))))
          (local.set $p1 (f32x4.add (v128.load (i32.add (i32.add (global.get $R) (global.get $n4)) (local.get $i4))) (f32x4.mul (local.get $stepv) (local.get $gy))))
          (local.set $p2 (f32x4.add (v128.load (i32.add (i32.add (global.get $R) (i32.shl (global.get $n4) (i32.const 1))) (local.get $i4))) (f32x4.mul (local.get $stepv) (local.get $gx))))
          ;; f = |p| > 1 ? 1 / |p| : 1, |p| = sqrt((p0^2 + p1^2) + p2^2)
          (local.set $f (f32x4.sqrt (f32x4.add (f32x4.add (f32x4.mul (local.get $p0) (local.get $p0)) (f32x4.mul (local.get $p1) (local.get $p1)))
            (f32x4.mul (local.get $p2) (local.get $p2)))))
          (local.set $f (v128.bitselect (f32x4.div (local.get $one) (local.get $f)) (local.get $one) (f32x4.gt (local.get $f) (local.get $one))))
          ;; row z
          (local.set $q (f32x4.mul (local.get $p0) (local.get $f)))
          (v128.store (i32.add (global.get $Pn) (local.get $i4)) (local.get $q))
          (v128.store (i32.add (global.get $Rn) (local.get $i4))
            (f32x4.add (local.get $q) (f32x4.mul (local.get $momv) (f32x4.sub (local.get $q) (v128.load (i32.add (global.get $P) (local.get $i4)))))))
          ;; row y
          (local.set $i4 (i32.add (local.get $i4) (global.get $n4)))
          (local.set $q (f32x4.mul (local.get $p1) (local.get $f)))
          (v128.store (i32.add (global.get $Pn) (local.get $i4)) (local.get $q))
          (v128.store (i32.add (global.get $Rn) (local.get $i4))
            (f32x4.add (local.get $q) (f32x4.mul (local.get $momv) (f32x4.sub (local.get $q) (v128.load (i32.add (global.get $P) (local.get $i4)))))))
          ;; row x
          (local.set $i4 (i32.add (local.get $i4) (global.get $n4)))
          (local.set $q (f32x4.mul (local.get $p2) (local.get $f)))
          (v128.store (i32.add (global.get $Pn) (local.get $i4)) (local.get $q))
          (v128.store (i32.add (global.get $Rn) (local.get $i4))
            (f32x4.add (local.get $q) (f32x4.mul (local.get $momv) (f32x4.sub (local.get $q) (v128.load (i32.add (global.get $P) (local.get $i4)))))))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (br_if $quads (i32.lt_s (local.get $x) (global.get $nx))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $y) (global.get $ny))))
      (local.set $e (i32.add (local.get $e) (i32.const 1)))
      (br_if $elements (i32.lt_s (local.get $e) (global.get $nE)))))

  (func $setShape (param $nz i32) (param $ny i32) (param $nx i32) (param $nE i32)
    (global.set $nz (local.get $nz)) (global.set $ny (local.get $ny)) (global.set $nx (local.get $nx)) (global.set $nE (local.get $nE))
    (global.set $plane4 (i32.shl (i32.mul (local.get $ny) (local.get $nx)) (i32.const 2)))
    (global.set $n4 (i32.mul (local.get $nz) (global.get $plane4))))

  ;; One FGP iteration on slices [z0, z1): the primal of R rolled through the ring, then each slice's dual
  ;; step. t, step and mom arrive as float64 and are rounded to float32 here (the JavaScript kernel's fround).
  (func (export "fgpTvSlab")
    (param $nz i32) (param $ny i32) (param $nx i32) (param $nE i32) (param $z0 i32) (param $z1 i32)
    (param $w i32) (param $R i32) (param $P i32) (param $Pn i32) (param $Rn i32) (param $ring i32)
    (param $t f64) (param $step f64) (param $mom f64)
    (local $z i32)
    (call $setShape (local.get $nz) (local.get $ny) (local.get $nx) (local.get $nE))
    (global.set $w (local.get $w)) (global.set $R (local.get $R)) (global.set $P (local.get $P))
    (global.set $Pn (local.get $Pn)) (global.set $Rn (local.get $Rn)) (global.set $ring (local.get $ring))
    (global.set $t (f32.demote_f64 (local.get $t))) (global.set $step (f32.demote_f64 (local.get $step))) (global.set $mom (f32.demote_f64 (local.get $mom)))
    (call $primal (local.get $z0) (i32.const 0) (i32.const 0))
    (local.set $z (local.get $z0))
    (block $done
      (loop $slices
        (br_if $done (i32.ge_s (local.get $z) (local.get $z1)))
        (if (i32.lt_s (i32.add (local.get $z) (i32.const 1)) (local.get $nz))
          (then (call $primal (i32.add (local.get $z) (i32.const 1)) (i32.const 0) (i32.const 0))))
        (call $dual (local.get $z))
        (local.set $z (i32.add (local.get $z) (i32.const 1)))
        (br $slices))))

  ;; The prox's result on slice z: max(0, w + t div P) into the ring (slot z & 1) and, where $uo != 0,
  ;; into the output volumes at $uo (fgp.ts mode 1; the regulariser's value is then summed from the ring).
  (func (export "fgpTvResultSlice")
    (param $nz i32) (param $ny i32) (param $nx i32) (param $nE i32) (param $z i32)
    (param $w i32) (param $P i32) (param $ring i32) (param $uo i32) (param $t f64)
    (call $setShape (local.get $nz) (local.get $ny) (local.get $nx) (local.get $nE))
    (global.set $w (local.get $w)) (global.set $R (local.get $P)) (global.set $ring (local.get $ring))
    (global.set $t (f32.demote_f64 (local.get $t)))
    (call $primal (local.get $z) (i32.const 1) (local.get $uo)))
)
