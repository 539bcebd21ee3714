;; lazylens's elementwise kernels for the wasm backend, in WebAssembly SIMD.
;;
;; tfjs-backend-wasm runs the tanh GELU as six kernels and a layer norm as nine, each one pass
;; over memory. These functions make one pass (the norm: three over a row that stays in cache).
;; They work on tfjs's own heap: the module imports the backend's memory, and every pointer below
;; is a byte offset in it (tensors are float32, 4-byte aligned). `scripts/build-wasm.ts` compiles
;; this file twice, for the single-thread build's memory and for the threaded build's shared one.

(module
  (import "env" "memory" (memory 1))

  ;; out = gelu(x + bias) over rows × cols, or with $up the gated gelu(x)·up + bias. $bias (cols
  ;; floats, repeated on every row) and $up (rows × cols) are 0 when absent. gelu is GPT-2's tanh
  ;; GELU, as v·sigmoid(2u) with 2u = v·(2√(2/π) + 2√(2/π)·0.044715·v²) (0.5·(1 + tanh u) is
  ;; sigmoid(2u)), multiplied in the order lazylens's tfjs composition uses. (SiLU, v·sigmoid(v),
  ;; is left to tfjs: its sigmoid is fast enough that a first, one-vector form of this loop did
  ;; not beat its three kernels.)
  ;; The loop computes two vectors at a time, each step written out twice (A and B): the two
  ;; independent chains ran 1.4–1.7× faster than one a step. The arithmetic is inline (V8 does not
  ;; inline wasm calls here; a call per vector made it three times slower): only a row's last
  ;; 1–7 values go through the lane-by-lane load and store functions.
  ;;
  ;; sigmoid(z) goes through e = exp(-|z|) <= 1, so nothing overflows: 1/(1+e) for z >= 0, e/(1+e)
  ;; below. exp(t), t in [-87, 0]: t = n·ln2 + r with |r| <= ln2/2 (n rounded by adding 1.5·2^23,
  ;; whose low mantissa bits then hold n, so 2^n's bits come from the same sum), exp(r) by a
  ;; degree-7 series in minimax form (Cephes's expf coefficients; 1 + r + r²·P(r), P evaluated in
  ;; pairs, Estrin's way, which shortens the chain of dependent steps: the loop is bound by that
  ;; chain, and this ran it 1.2–1.6× faster than Horner's nesting), times 2^n. n >= -126, so the
  ;; biased exponent n + 127 is at least 1. Below e^-87 e is taken as 0 (1 + e is 1 in float32 from
  ;; e^-17 on). NaN stays NaN: every comparison that selects is false for it.
  (func (export "gelu")
    (param $x i32) (param $bias i32) (param $up i32)
    (param $rows i32) (param $cols i32) (param $out i32)
    (local $r i32) (local $c i32) (local $left i32) (local $row i32) (local $bc i32) (local $full i32)
    (local $bA v128) (local $bB v128)
    (local $vA v128) (local $zA v128) (local $tA v128) (local $shiftedA v128) (local $nA v128) (local $pA v128) (local $eA v128) (local $sA v128) (local $r2A v128) (local $vB v128) (local $zB v128) (local $tB v128) (local $shiftedB v128) (local $nB v128) (local $pB v128) (local $eB v128) (local $sB v128) (local $r2B v128)
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 2)))
        (local.set $c (i32.const 0))
        ;; Whole groups of eight without a gated input: no branch in the loop (a missing bias is
        ;; a zero vector).
        (if (i32.eqz (local.get $up))
          (then
            (block $fastDone
              (loop $fast
                (br_if $fastDone (i32.gt_s (i32.add (local.get $c) (i32.const 8)) (local.get $cols)))
                (local.set $bc (i32.shl (local.get $c) (i32.const 2)))
                (local.set $vA
                  (f32x4.add
                    (v128.load (i32.add (local.get $x) (i32.add (local.get $row) (local.get $bc))))
                    (select (v128.load (i32.add (local.get $bias) (local.get $bc))) (v128.const i32x4 0 0 0 0) (local.get $bias))))
                (local.set $vB
                  (f32x4.add
                    (v128.load offset=16 (i32.add (local.get $x) (i32.add (local.get $row) (local.get $bc))))
                    (select (v128.load offset=16 (i32.add (local.get $bias) (local.get $bc))) (v128.const i32x4 0 0 0 0) (local.get $bias))))
            (local.set $zA
              (f32x4.mul
                (local.get $vA)
                (f32x4.add
                  (v128.const f32x4 1.59576917 1.59576917 1.59576917 1.59576917)
                  (f32x4.mul
                    (v128.const f32x4 0.0713548139 0.0713548139 0.0713548139 0.0713548139)
                    (f32x4.mul (local.get $vA) (local.get $vA))))))
            ;; e = exp(max(-|z|, -87))
            (local.set $tA (f32x4.pmax (f32x4.neg (f32x4.abs (local.get $zA))) (v128.const f32x4 -87 -87 -87 -87)))
            (local.set $shiftedA
              (f32x4.add
                (f32x4.mul (local.get $tA) (v128.const f32x4 1.44269502 1.44269502 1.44269502 1.44269502))
                (v128.const f32x4 12582912 12582912 12582912 12582912)))
            (local.set $nA (f32x4.sub (local.get $shiftedA) (v128.const f32x4 12582912 12582912 12582912 12582912)))
            ;; r = t - n·ln2, ln2 in two parts so r keeps its low bits
            (local.set $tA (f32x4.sub (local.get $tA) (f32x4.mul (local.get $nA) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
            (local.set $tA (f32x4.sub (local.get $tA) (f32x4.mul (local.get $nA) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
            (local.set $r2A (f32x4.mul (local.get $tA) (local.get $tA)))
            (local.set $pA
              (f32x4.add
                (f32x4.add (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1) (f32x4.mul (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1) (local.get $tA)))
                (f32x4.mul (local.get $r2A)
                  (f32x4.add
                    (f32x4.add (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2) (f32x4.mul (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3) (local.get $tA)))
                    (f32x4.mul (local.get $r2A)
                      (f32x4.add (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3) (f32x4.mul (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4) (local.get $tA))))))))
            (local.set $pA
              (f32x4.add
                (f32x4.add (local.get $tA) (v128.const f32x4 1 1 1 1))
                (f32x4.mul (local.get $pA) (local.get $r2A))))
            ;; 2^n's bits: (bits of the shifted sum) − (bits of 1.5·2^23) + 127, moved to the exponent
            (local.set $eA
              (f32x4.mul
                (local.get $pA)
                (i32x4.shl
                  (i32x4.sub (local.get $shiftedA) (v128.const i32x4 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81))
                  (i32.const 23))))
            ;; e below e^-87 (and not NaN) is 0
            (local.set $eA
              (v128.andnot (local.get $eA) (f32x4.lt (f32x4.neg (f32x4.abs (local.get $zA))) (v128.const f32x4 -87 -87 -87 -87))))
            (local.set $sA (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $eA))))
            (local.set $vA
              (f32x4.mul
                (local.get $vA)
                (v128.bitselect
                  (local.get $sA)
                  (f32x4.mul (local.get $eA) (local.get $sA))
                  (f32x4.ge (local.get $zA) (v128.const f32x4 0 0 0 0)))))
            (local.set $zB
              (f32x4.mul
                (local.get $vB)
                (f32x4.add
                  (v128.const f32x4 1.59576917 1.59576917 1.59576917 1.59576917)
                  (f32x4.mul
                    (v128.const f32x4 0.0713548139 0.0713548139 0.0713548139 0.0713548139)
                    (f32x4.mul (local.get $vB) (local.get $vB))))))
            ;; e = exp(max(-|z|, -87))
            (local.set $tB (f32x4.pmax (f32x4.neg (f32x4.abs (local.get $zB))) (v128.const f32x4 -87 -87 -87 -87)))
            (local.set $shiftedB
              (f32x4.add
                (f32x4.mul (local.get $tB) (v128.const f32x4 1.44269502 1.44269502 1.44269502 1.44269502))
                (v128.const f32x4 12582912 12582912 12582912 12582912)))
            (local.set $nB (f32x4.sub (local.get $shiftedB) (v128.const f32x4 12582912 12582912 12582912 12582912)))
            ;; r = t - n·ln2, ln2 in two parts so r keeps its low bits
            (local.set $tB (f32x4.sub (local.get $tB) (f32x4.mul (local.get $nB) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
            (local.set $tB (f32x4.sub (local.get $tB) (f32x4.mul (local.get $nB) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
            (local.set $r2B (f32x4.mul (local.get $tB) (local.get $tB)))
            (local.set $pB
              (f32x4.add
                (f32x4.add (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1) (f32x4.mul (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1) (local.get $tB)))
                (f32x4.mul (local.get $r2B)
                  (f32x4.add
                    (f32x4.add (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2) (f32x4.mul (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3) (local.get $tB)))
                    (f32x4.mul (local.get $r2B)
                      (f32x4.add (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3) (f32x4.mul (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4) (local.get $tB))))))))
            (local.set $pB
              (f32x4.add
                (f32x4.add (local.get $tB) (v128.const f32x4 1 1 1 1))
                (f32x4.mul (local.get $pB) (local.get $r2B))))
            ;; 2^n's bits: (bits of the shifted sum) − (bits of 1.5·2^23) + 127, moved to the exponent
            (local.set $eB
              (f32x4.mul
                (local.get $pB)
                (i32x4.shl
                  (i32x4.sub (local.get $shiftedB) (v128.const i32x4 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81))
                  (i32.const 23))))
            ;; e below e^-87 (and not NaN) is 0
            (local.set $eB
              (v128.andnot (local.get $eB) (f32x4.lt (f32x4.neg (f32x4.abs (local.get $zB))) (v128.const f32x4 -87 -87 -87 -87))))
            (local.set $sB (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $eB))))
            (local.set $vB
              (f32x4.mul
                (local.get $vB)
                (v128.bitselect
                  (local.get $sB)
                  (f32x4.mul (local.get $eB) (local.get $sB))
                  (f32x4.ge (local.get $zB) (v128.const f32x4 0 0 0 0)))))
                (v128.store (i32.add (local.get $out) (i32.add (local.get $row) (local.get $bc))) (local.get $vA))
                (v128.store offset=16 (i32.add (local.get $out) (i32.add (local.get $row) (local.get $bc))) (local.get $vB))
                (local.set $c (i32.add (local.get $c) (i32.const 8)))
                (br $fast)))))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $c) (local.get $cols)))
            ;; eight values, or the row's last 1–7 ($left) through lane-by-lane loads and stores
            (local.set $left (i32.sub (local.get $cols) (local.get $c)))
            (local.set $full (i32.ge_s (local.get $left) (i32.const 8)))
            (local.set $bc (i32.shl (local.get $c) (i32.const 2)))
            (local.set $vA (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $x) (i32.add (local.get $row) (local.get $bc))))) (else (call $load (i32.add (local.get $x) (i32.add (local.get $row) (local.get $bc))) (local.get $left)))))
            (local.set $vB (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $x) (i32.add (local.get $row) (i32.add (local.get $bc) (i32.const 16)))))) (else (call $load (i32.add (local.get $x) (i32.add (local.get $row) (i32.add (local.get $bc) (i32.const 16)))) (i32.sub (local.get $left) (i32.const 4))))))
            (if (local.get $bias)
              (then
                (local.set $bA (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $bias) (local.get $bc)))) (else (call $load (i32.add (local.get $bias) (local.get $bc)) (local.get $left)))))
                (local.set $bB (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $bias) (i32.add (local.get $bc) (i32.const 16))))) (else (call $load (i32.add (local.get $bias) (i32.add (local.get $bc) (i32.const 16))) (i32.sub (local.get $left) (i32.const 4))))))
                (if (i32.eqz (local.get $up))
                  (then
                    (local.set $vA (f32x4.add (local.get $vA) (local.get $bA)))
                    (local.set $vB (f32x4.add (local.get $vB) (local.get $bB)))))))
            (local.set $zA
              (f32x4.mul
                (local.get $vA)
                (f32x4.add
                  (v128.const f32x4 1.59576917 1.59576917 1.59576917 1.59576917)
                  (f32x4.mul
                    (v128.const f32x4 0.0713548139 0.0713548139 0.0713548139 0.0713548139)
                    (f32x4.mul (local.get $vA) (local.get $vA))))))
            ;; e = exp(max(-|z|, -87))
            (local.set $tA (f32x4.pmax (f32x4.neg (f32x4.abs (local.get $zA))) (v128.const f32x4 -87 -87 -87 -87)))
            (local.set $shiftedA
              (f32x4.add
                (f32x4.mul (local.get $tA) (v128.const f32x4 1.44269502 1.44269502 1.44269502 1.44269502))
                (v128.const f32x4 12582912 12582912 12582912 12582912)))
            (local.set $nA (f32x4.sub (local.get $shiftedA) (v128.const f32x4 12582912 12582912 12582912 12582912)))
            ;; r = t - n·ln2, ln2 in two parts so r keeps its low bits
            (local.set $tA (f32x4.sub (local.get $tA) (f32x4.mul (local.get $nA) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
            (local.set $tA (f32x4.sub (local.get $tA) (f32x4.mul (local.get $nA) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
            (local.set $r2A (f32x4.mul (local.get $tA) (local.get $tA)))
            (local.set $pA
              (f32x4.add
                (f32x4.add (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1) (f32x4.mul (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1) (local.get $tA)))
                (f32x4.mul (local.get $r2A)
                  (f32x4.add
                    (f32x4.add (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2) (f32x4.mul (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3) (local.get $tA)))
                    (f32x4.mul (local.get $r2A)
                      (f32x4.add (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3) (f32x4.mul (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4) (local.get $tA))))))))
            (local.set $pA
              (f32x4.add
                (f32x4.add (local.get $tA) (v128.const f32x4 1 1 1 1))
                (f32x4.mul (local.get $pA) (local.get $r2A))))
            ;; 2^n's bits: (bits of the shifted sum) − (bits of 1.5·2^23) + 127, moved to the exponent
            (local.set $eA
              (f32x4.mul
                (local.get $pA)
                (i32x4.shl
                  (i32x4.sub (local.get $shiftedA) (v128.const i32x4 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81))
                  (i32.const 23))))
            ;; e below e^-87 (and not NaN) is 0
            (local.set $eA
              (v128.andnot (local.get $eA) (f32x4.lt (f32x4.neg (f32x4.abs (local.get $zA))) (v128.const f32x4 -87 -87 -87 -87))))
            (local.set $sA (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $eA))))
            (local.set $vA
              (f32x4.mul
                (local.get $vA)
                (v128.bitselect
                  (local.get $sA)
                  (f32x4.mul (local.get $eA) (local.get $sA))
                  (f32x4.ge (local.get $zA) (v128.const f32x4 0 0 0 0)))))
            (local.set $zB
              (f32x4.mul
                (local.get $vB)
                (f32x4.add
                  (v128.const f32x4 1.59576917 1.59576917 1.59576917 1.59576917)
                  (f32x4.mul
                    (v128.const f32x4 0.0713548139 0.0713548139 0.0713548139 0.0713548139)
                    (f32x4.mul (local.get $vB) (local.get $vB))))))
            ;; e = exp(max(-|z|, -87))
            (local.set $tB (f32x4.pmax (f32x4.neg (f32x4.abs (local.get $zB))) (v128.const f32x4 -87 -87 -87 -87)))
            (local.set $shiftedB
              (f32x4.add
                (f32x4.mul (local.get $tB) (v128.const f32x4 1.44269502 1.44269502 1.44269502 1.44269502))
                (v128.const f32x4 12582912 12582912 12582912 12582912)))
            (local.set $nB (f32x4.sub (local.get $shiftedB) (v128.const f32x4 12582912 12582912 12582912 12582912)))
            ;; r = t - n·ln2, ln2 in two parts so r keeps its low bits
            (local.set $tB (f32x4.sub (local.get $tB) (f32x4.mul (local.get $nB) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
            (local.set $tB (f32x4.sub (local.get $tB) (f32x4.mul (local.get $nB) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
            (local.set $r2B (f32x4.mul (local.get $tB) (local.get $tB)))
            (local.set $pB
              (f32x4.add
                (f32x4.add (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1) (f32x4.mul (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1) (local.get $tB)))
                (f32x4.mul (local.get $r2B)
                  (f32x4.add
                    (f32x4.add (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2) (f32x4.mul (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3) (local.get $tB)))
                    (f32x4.mul (local.get $r2B)
                      (f32x4.add (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3) (f32x4.mul (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4) (local.get $tB))))))))
            (local.set $pB
              (f32x4.add
                (f32x4.add (local.get $tB) (v128.const f32x4 1 1 1 1))
                (f32x4.mul (local.get $pB) (local.get $r2B))))
            ;; 2^n's bits: (bits of the shifted sum) − (bits of 1.5·2^23) + 127, moved to the exponent
            (local.set $eB
              (f32x4.mul
                (local.get $pB)
                (i32x4.shl
                  (i32x4.sub (local.get $shiftedB) (v128.const i32x4 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81))
                  (i32.const 23))))
            ;; e below e^-87 (and not NaN) is 0
            (local.set $eB
              (v128.andnot (local.get $eB) (f32x4.lt (f32x4.neg (f32x4.abs (local.get $zB))) (v128.const f32x4 -87 -87 -87 -87))))
            (local.set $sB (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $eB))))
            (local.set $vB
              (f32x4.mul
                (local.get $vB)
                (v128.bitselect
                  (local.get $sB)
                  (f32x4.mul (local.get $eB) (local.get $sB))
                  (f32x4.ge (local.get $zB) (v128.const f32x4 0 0 0 0)))))
            (if (local.get $up)
              (then
                (local.set $vA (f32x4.mul (local.get $vA)
                  (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $up) (i32.add (local.get $row) (local.get $bc))))) (else (call $load (i32.add (local.get $up) (i32.add (local.get $row) (local.get $bc))) (local.get $left))))))
                (local.set $vB (f32x4.mul (local.get $vB)
                  (if (result v128) (local.get $full) (then (v128.load (i32.add (local.get $up) (i32.add (local.get $row) (i32.add (local.get $bc) (i32.const 16)))))) (else (call $load (i32.add (local.get $up) (i32.add (local.get $row) (i32.add (local.get $bc) (i32.const 16)))) (i32.sub (local.get $left) (i32.const 4)))))))
                (if (local.get $bias)
                  (then
                    (local.set $vA (f32x4.add (local.get $vA) (local.get $bA)))
                    (local.set $vB (f32x4.add (local.get $vB) (local.get $bB)))))))
            (if (local.get $full) (then (v128.store (i32.add (local.get $out) (i32.add (local.get $row) (local.get $bc))) (local.get $vA))) (else (call $store (i32.add (local.get $out) (i32.add (local.get $row) (local.get $bc))) (local.get $vA) (local.get $left))))
            (if (local.get $full) (then (v128.store (i32.add (local.get $out) (i32.add (local.get $row) (i32.add (local.get $bc) (i32.const 16)))) (local.get $vB))) (else (call $store (i32.add (local.get $out) (i32.add (local.get $row) (i32.add (local.get $bc) (i32.const 16)))) (local.get $vB) (i32.sub (local.get $left) (i32.const 4)))))
            (local.set $c (i32.add (local.get $c) (i32.const 8)))
            (br $cols)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; The first $n (up to 4) floats at $at as a vector, the other lanes 0: one load when $n >= 4.
  (func $load (param $at i32) (param $n i32) (result v128)
    (local $v v128)
    (if (i32.ge_s (local.get $n) (i32.const 4)) (then (return (v128.load (local.get $at)))))
    (if (i32.ge_s (local.get $n) (i32.const 1))
      (then (local.set $v (f32x4.replace_lane 0 (local.get $v) (f32.load (local.get $at))))))
    (if (i32.ge_s (local.get $n) (i32.const 2))
      (then (local.set $v (f32x4.replace_lane 1 (local.get $v) (f32.load offset=4 (local.get $at))))))
    (if (i32.ge_s (local.get $n) (i32.const 3))
      (then (local.set $v (f32x4.replace_lane 2 (local.get $v) (f32.load offset=8 (local.get $at))))))
    (local.get $v))

  ;; Stores the first $n (up to 4) lanes of $v at $at: one store when $n >= 4.
  (func $store (param $at i32) (param $v v128) (param $n i32)
    (if (i32.ge_s (local.get $n) (i32.const 4)) (then (v128.store (local.get $at) (local.get $v)) (return)))
    (if (i32.ge_s (local.get $n) (i32.const 1)) (then (f32.store (local.get $at) (f32x4.extract_lane 0 (local.get $v)))))
    (if (i32.ge_s (local.get $n) (i32.const 2)) (then (f32.store offset=4 (local.get $at) (f32x4.extract_lane 1 (local.get $v)))))
    (if (i32.ge_s (local.get $n) (i32.const 3)) (then (f32.store offset=8 (local.get $at) (f32x4.extract_lane 2 (local.get $v))))))

  ;; The sum of a row's $d floats at $x, or of their squared differences from $centre.
  (func $rowSum (param $x i32) (param $d i32) (param $centre f32) (param $squares i32) (result f32)
    (local $c i32) (local $acc v128) (local $v v128) (local $vecEnd i32) (local $s f32) (local $w f32)
    (local.set $vecEnd (i32.and (local.get $d) (i32.const -4)))
    (block $done
      (loop $vec
        (br_if $done (i32.ge_u (local.get $c) (local.get $vecEnd)))
        (local.set $v (f32x4.sub (v128.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))) (f32x4.splat (local.get $centre))))
        (local.set $acc (f32x4.add (local.get $acc)
          (if (result v128) (local.get $squares)
            (then (f32x4.mul (local.get $v) (local.get $v)))
            (else (local.get $v)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $vec)))
    (local.set $s
      (f32.add
        (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
        (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $c) (local.get $d)))
        (local.set $w (f32.sub (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))) (local.get $centre)))
        (local.set $s (f32.add (local.get $s) (select (f32.mul (local.get $w) (local.get $w)) (local.get $w) (local.get $squares))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $tail)))
    (local.get $s))

  ;; Normalizes each of $rows rows of $d floats: with $centre, subtracts the row's mean first
  ;; (LayerNorm); scale = sqrt(mean of squares + eps), stored at $scaleOut (one float a row) when
  ;; it is not 0; out = value / scale, then · w and + b where those are not 0.
  (func (export "normalize")
    (param $x i32) (param $rows i32) (param $d i32) (param $eps f32) (param $centre i32)
    (param $scaleOut i32) (param $out i32) (param $w i32) (param $b i32)
    (local $r i32) (local $row i32) (local $mean f32) (local $scale f32) (local $c i32)
    (local $at i32) (local $v v128) (local $one i32) (local $rowBytes i32) (local $vecEnd i32)
    (local.set $rowBytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $d) (i32.const -4)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.mul (local.get $r) (local.get $rowBytes)))
        (local.set $mean
          (if (result f32) (local.get $centre)
            (then (f32.div (call $rowSum (i32.add (local.get $x) (local.get $row)) (local.get $d) (f32.const 0) (i32.const 0)) (f32.convert_i32_u (local.get $d))))
            (else (f32.const 0))))
        (local.set $scale
          (f32.sqrt
            (f32.add
              (f32.div
                (call $rowSum (i32.add (local.get $x) (local.get $row)) (local.get $d) (local.get $mean) (i32.const 1))
                (f32.convert_i32_u (local.get $d)))
              (local.get $eps))))
        (if (local.get $scaleOut)
          (then (f32.store (i32.add (local.get $scaleOut) (i32.shl (local.get $r) (i32.const 2))) (local.get $scale))))
        (local.set $c (i32.const 0))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $c) (local.get $d)))
            (local.set $one (i32.ge_u (local.get $c) (local.get $vecEnd)))
            (local.set $at (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))
            (local.set $v
              (f32x4.div
                (f32x4.sub
                  (if (result v128) (local.get $one)
                    (then (v128.load32_zero (i32.add (local.get $x) (local.get $at))))
                    (else (v128.load (i32.add (local.get $x) (local.get $at)))))
                  (f32x4.splat (local.get $mean)))
                (f32x4.splat (local.get $scale))))
            (if (local.get $w)
              (then
                (local.set $v (f32x4.mul (local.get $v)
                  (if (result v128) (local.get $one)
                    (then (v128.load32_zero (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 2)))))
                    (else (v128.load (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 2))))))))))
            (if (local.get $b)
              (then
                (local.set $v (f32x4.add (local.get $v)
                  (if (result v128) (local.get $one)
                    (then (v128.load32_zero (i32.add (local.get $b) (i32.shl (local.get $c) (i32.const 2)))))
                    (else (v128.load (i32.add (local.get $b) (i32.shl (local.get $c) (i32.const 2))))))))))
            (if (local.get $one)
              (then
                (v128.store32_lane 0 (i32.add (local.get $out) (local.get $at)) (local.get $v))
                (local.set $c (i32.add (local.get $c) (i32.const 1))))
              (else
                (v128.store (i32.add (local.get $out) (local.get $at)) (local.get $v))
                (local.set $c (i32.add (local.get $c) (i32.const 4)))))
            (br $cols)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))
)
