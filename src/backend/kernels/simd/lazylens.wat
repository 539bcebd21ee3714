;; lazylens's elementwise kernels for the wasm backend, in WebAssembly SIMD.
;;
;; tfjs-backend-wasm runs the tanh GELU as six kernels and a layer norm as nine, each one pass
;; over memory. These functions make one pass (the norm: three over a row that stays in cache).
;; They work on tfjs's own heap: the module imports the backend's memory, and every pointer below
;; is a byte offset in it (tensors are float32, 4-byte aligned). `scripts/build-wasm.ts` compiles
;; this file twice, for the single-thread build's memory and for the threaded build's shared one.

(module
  (import "env" "memory" (memory 1))

;; out = act(x + bias) over rows × cols, or with $up the gated act(x)·up + bias. $bias (cols
  ;; floats, repeated on every row) and $up (rows × cols) are 0 when absent. $kind 0 is GPT-2's
  ;; tanh GELU, as v·sigmoid(2u) with 2u = v·(2√(2/π) + 2√(2/π)·0.044715·v²) (0.5·(1 + tanh u) is
  ;; sigmoid(2u)), multiplied in the order lazylens's tfjs composition uses; $kind 1 is SiLU,
  ;; v·sigmoid(v). Everything is inline: V8 does not inline wasm calls here, and a call per vector
  ;; made this three times slower.
  ;;
  ;; sigmoid(z) goes through e = exp(-|z|) <= 1, so nothing overflows: 1/(1+e) for z >= 0, e/(1+e)
  ;; below. exp(t), t in [-87, 0]: t = n·ln2 + r with |r| <= ln2/2 (n rounded by adding 1.5·2^23,
  ;; whose low mantissa bits then hold n, so 2^n's bits come from the same sum), exp(r) by a
  ;; degree-7 series in minimax form (Cephes's expf coefficients; 1 + r + r²·P(r), P evaluated in
  ;; pairs, Estrin's way, which shortens the chain of dependent steps: the loop is bound by that
  ;; chain, and this ran it 1.3–1.6× faster than Horner's nesting), times 2^n. n >= -126, so the
  ;; biased exponent n + 127 is at least 1. Below e^-87 e is taken as 0 (1 + e is 1 in float32 from
  ;; e^-17 on). NaN stays NaN: every comparison that selects is false for it.
  (func (export "activation")
    (param $kind i32) (param $x i32) (param $bias i32) (param $up i32)
    (param $rows i32) (param $cols i32) (param $out i32)
    (local $r i32) (local $c i32) (local $at i32) (local $vecCols i32) (local $one i32)
    (local $v v128) (local $b v128) (local $z v128) (local $t v128) (local $shifted v128)
    (local $n v128) (local $p v128) (local $e v128) (local $s v128) (local $r2 v128)
    (local.set $vecCols (i32.and (local.get $cols) (i32.const -4)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $c) (local.get $cols)))
            ;; four lanes, or lane 0 alone past the last whole vector of the row
            (local.set $one (i32.ge_u (local.get $c) (local.get $vecCols)))
            (local.set $v (if (result v128) (local.get $one)
              (then (v128.load32_zero (i32.add (local.get $x) (local.get $at))))
              (else (v128.load (i32.add (local.get $x) (local.get $at))))))
            (if (local.get $bias)
              (then
                (local.set $b (if (result v128) (local.get $one)
                  (then (v128.load32_zero (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2)))))
                  (else (v128.load (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2)))))))
                (if (i32.eqz (local.get $up))
                  (then (local.set $v (f32x4.add (local.get $v) (local.get $b)))))))
            (local.set $z (if (result v128) (local.get $kind)
              (then (local.get $v))
              (else
                (f32x4.mul
                  (local.get $v)
                  (f32x4.add
                    (v128.const f32x4 1.59576917 1.59576917 1.59576917 1.59576917)
                    (f32x4.mul
                      (v128.const f32x4 0.0713548139 0.0713548139 0.0713548139 0.0713548139)
                      (f32x4.mul (local.get $v) (local.get $v))))))))
            ;; e = exp(max(-|z|, -87))
            (local.set $t (f32x4.pmax (f32x4.neg (f32x4.abs (local.get $z))) (v128.const f32x4 -87 -87 -87 -87)))
            (local.set $shifted
              (f32x4.add
                (f32x4.mul (local.get $t) (v128.const f32x4 1.44269502 1.44269502 1.44269502 1.44269502))
                (v128.const f32x4 12582912 12582912 12582912 12582912)))
            (local.set $n (f32x4.sub (local.get $shifted) (v128.const f32x4 12582912 12582912 12582912 12582912)))
            ;; r = t - n·ln2, ln2 in two parts so r keeps its low bits
            (local.set $t (f32x4.sub (local.get $t) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
            (local.set $t (f32x4.sub (local.get $t) (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
            (local.set $r2 (f32x4.mul (local.get $t) (local.get $t)))
            (local.set $p
              (f32x4.add
                (f32x4.add (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1) (f32x4.mul (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1) (local.get $t)))
                (f32x4.mul (local.get $r2)
                  (f32x4.add
                    (f32x4.add (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2) (f32x4.mul (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3) (local.get $t)))
                    (f32x4.mul (local.get $r2)
                      (f32x4.add (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3) (f32x4.mul (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4) (local.get $t))))))))
            (local.set $p
              (f32x4.add
                (f32x4.add (local.get $t) (v128.const f32x4 1 1 1 1))
                (f32x4.mul (local.get $p) (local.get $r2))))
            ;; 2^n's bits: (bits of the shifted sum) − (bits of 1.5·2^23) + 127, moved to the exponent
            (local.set $e
              (f32x4.mul
                (local.get $p)
                (i32x4.shl
                  (i32x4.sub (local.get $shifted) (v128.const i32x4 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81 0x4B3FFF81))
                  (i32.const 23))))
            ;; e below e^-87 (and not NaN) is 0
            (local.set $e
              (v128.andnot (local.get $e) (f32x4.lt (f32x4.neg (f32x4.abs (local.get $z))) (v128.const f32x4 -87 -87 -87 -87))))
            (local.set $s (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $e))))
            (local.set $v
              (f32x4.mul
                (local.get $v)
                (v128.bitselect
                  (local.get $s)
                  (f32x4.mul (local.get $e) (local.get $s))
                  (f32x4.ge (local.get $z) (v128.const f32x4 0 0 0 0)))))
            (if (local.get $up)
              (then
                (local.set $v (f32x4.mul (local.get $v)
                  (if (result v128) (local.get $one)
                    (then (v128.load32_zero (i32.add (local.get $up) (local.get $at))))
                    (else (v128.load (i32.add (local.get $up) (local.get $at)))))))
                (if (local.get $bias)
                  (then (local.set $v (f32x4.add (local.get $v) (local.get $b)))))))
            (if (local.get $one)
              (then
                (v128.store32_lane 0 (i32.add (local.get $out) (local.get $at)) (local.get $v))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (local.set $at (i32.add (local.get $at) (i32.const 4))))
              (else
                (v128.store (i32.add (local.get $out) (local.get $at)) (local.get $v))
                (local.set $c (i32.add (local.get $c) (i32.const 4)))
                (local.set $at (i32.add (local.get $at) (i32.const 16)))))
            (br $cols)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

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
