;; One Adam update of a float32 weight, in one pass, four lanes at a time (WebAssembly SIMD),
;; on the tfjs wasm backend's own heap (the memory is imported from it: nothing is copied).
;; Source of stages/nn/adam-wasm.ts (npm run gen:wasm; a test checks the two agree).
;;
;; Every operation is tfjs' AdamOptimizer's, in its order and in float32 (IEEE: the same bits
;; as the backend's one-op-at-a-time kernels):
;;   m' = m*b1 + g*c1             c1 = float32(1 - b1)
;;   v' = v*b2 + (g*g)*c2         c2 = float32(1 - b2)
;;   w' = ((m'/a1) / (sqrt(v'/a2) + eps)) * nlr + w
;;                                a1 = 1 - b1^t, a2 = 1 - b2^t, nlr = -lr
;; Pointers are byte offsets into the memory; n is the number of elements.
(module
  (import "env" "memory" (memory 1))
  (func (export "adam")
    (param $w i32) (param $m i32) (param $v i32) (param $g i32)
    (param $wo i32) (param $mo i32) (param $vo i32) (param $n i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32)
    (param $a1 f32) (param $a2 f32) (param $eps f32) (param $nlr f32)
    (local $i i32) (local $end i32) (local $gi v128) (local $m1 v128) (local $v1 v128)
    (local $sg f32) (local $sm f32) (local $sv f32)
    ;; bytes covered by whole vectors of four
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gi (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $m1
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (f32x4.splat (local.get $b1)))
            (f32x4.mul (local.get $gi) (f32x4.splat (local.get $c1)))))
        (local.set $v1
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (f32x4.splat (local.get $b2)))
            (f32x4.mul (f32x4.mul (local.get $gi) (local.get $gi)) (f32x4.splat (local.get $c2)))))
        (v128.store (i32.add (local.get $mo) (local.get $i)) (local.get $m1))
        (v128.store (i32.add (local.get $vo) (local.get $i)) (local.get $v1))
        (v128.store (i32.add (local.get $wo) (local.get $i))
          (f32x4.add
            (f32x4.mul
              (f32x4.div
                (f32x4.div (local.get $m1) (f32x4.splat (local.get $a1)))
                (f32x4.add
                  (f32x4.sqrt (f32x4.div (local.get $v1) (f32x4.splat (local.get $a2))))
                  (f32x4.splat (local.get $eps))))
              (f32x4.splat (local.get $nlr)))
            (v128.load (i32.add (local.get $w) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vloop)))
    ;; the last n mod 4 elements, one at a time
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $sg (f32.load (i32.add (local.get $g) (local.get $i))))
        (local.set $sm
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $i))) (local.get $b1))
            (f32.mul (local.get $sg) (local.get $c1))))
        (local.set $sv
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $b2))
            (f32.mul (f32.mul (local.get $sg) (local.get $sg)) (local.get $c2))))
        (f32.store (i32.add (local.get $mo) (local.get $i)) (local.get $sm))
        (f32.store (i32.add (local.get $vo) (local.get $i)) (local.get $sv))
        (f32.store (i32.add (local.get $wo) (local.get $i))
          (f32.add
            (f32.mul
              (f32.div
                (f32.div (local.get $sm) (local.get $a1))
                (f32.add (f32.sqrt (f32.div (local.get $sv) (local.get $a2))) (local.get $eps)))
              (local.get $nlr))
            (f32.load (i32.add (local.get $w) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $sloop)))))
