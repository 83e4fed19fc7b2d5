;; Pillow's two resampling passes (libImaging/Resample.c, 8 bits a channel) for interleaved RGB, in
;; WebAssembly SIMD: the same 22-bit fixed-point weights (computed in pilResize.ts), the same wrapping
;; 32-bit sums starting from half a unit, the same clipping to a byte, so the bytes out are Pillow's.
;; Shifting right by 22 and then narrowing with saturation (i32 to i16 signed, i16 to u8) is Pillow's
;; clip8. Each buffer needs 16 bytes of slack after it: rows are read and written in whole vectors.
;; Compiled by scripts/build-wasm.js.
(module
  (memory (export "memory") 1)
  ;; ImagingResampleHorizontal_8bpc: one i32 lane per channel (the 4th holds the next pixel's red,
  ;; summed and thrown away); each output pixel stores 4 bytes, the 4th overwritten by the next.
  (func (export "horizontal")
    (param $src i32) (param $width i32) (param $height i32) (param $out i32) (param $outWidth i32)
    (param $bounds i32) (param $weights i32) (param $ksize i32)
    (local $y i32) (local $row i32) (local $o i32) (local $xx i32) (local $p i32) (local $k i32)
    (local $taps i32) (local $acc v128) (local $v v128)
    (local.set $o (local.get $out))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $height)))
        (local.set $row (i32.add (local.get $src) (i32.mul (local.get $y) (i32.mul (local.get $width) (i32.const 3)))))
        (local.set $xx (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $xx) (local.get $outWidth)))
            (local.set $p (i32.add (local.get $row)
              (i32.mul (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $xx) (i32.const 3)))) (i32.const 3))))
            (local.set $taps (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $xx) (i32.const 3)))))
            (local.set $k (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $xx) (local.get $ksize)) (i32.const 2))))
            (local.set $acc (i32x4.splat (i32.const 2097152)))
            (block $taps_done
              (loop $tap
                (br_if $taps_done (i32.eqz (local.get $taps)))
                (local.set $acc (i32x4.add (local.get $acc)
                  (i32x4.mul
                    (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $p))))
                    (i32x4.splat (i32.load (local.get $k))))))
                (local.set $p (i32.add (local.get $p) (i32.const 3)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (local.set $taps (i32.sub (local.get $taps) (i32.const 1)))
                (br $tap)))
            (local.set $v (i16x8.narrow_i32x4_s (i32x4.shr_s (local.get $acc) (i32.const 22)) (local.get $acc)))
            (v128.store32_lane 0 (local.get $o) (i8x16.narrow_i16x8_u (local.get $v) (local.get $v)))
            (local.set $o (i32.add (local.get $o) (i32.const 3)))
            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
            (br $cols)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))

  ;; ImagingResampleVertical_8bpc: 16 bytes of a row at a time, four i32x4 accumulators; a row's
  ;; last vector spills into the next output row, which is written after it.
  (func (export "vertical")
    (param $src i32) (param $stride i32) (param $outHeight i32) (param $out i32)
    (param $bounds i32) (param $weights i32) (param $ksize i32)
    (local $yy i32) (local $x i32) (local $first i32) (local $taps i32) (local $k0 i32) (local $o i32)
    (local $p i32) (local $k i32) (local $t i32) (local $w v128) (local $v v128) (local $lo v128) (local $hi v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $yy) (local.get $outHeight)))
        (local.set $first (i32.add (local.get $src)
          (i32.mul (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))) (local.get $stride))))
        (local.set $taps (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))))
        (local.set $k0 (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $yy) (local.get $ksize)) (i32.const 2))))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $yy) (local.get $stride))))
        (local.set $x (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $x) (local.get $stride)))
            (local.set $a0 (i32x4.splat (i32.const 2097152)))
            (local.set $a1 (local.get $a0))
            (local.set $a2 (local.get $a0))
            (local.set $a3 (local.get $a0))
            (local.set $p (i32.add (local.get $first) (local.get $x)))
            (local.set $k (local.get $k0))
            (local.set $t (local.get $taps))
            (block $taps_done
              (loop $tap
                (br_if $taps_done (i32.eqz (local.get $t)))
                (local.set $w (i32x4.splat (i32.load (local.get $k))))
                (local.set $v (v128.load (local.get $p)))
                (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
                (local.set $a0 (i32x4.add (local.get $a0) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $lo)) (local.get $w))))
                (local.set $a1 (i32x4.add (local.get $a1) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $lo)) (local.get $w))))
                (local.set $a2 (i32x4.add (local.get $a2) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $hi)) (local.get $w))))
                (local.set $a3 (i32x4.add (local.get $a3) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $hi)) (local.get $w))))
                (local.set $p (i32.add (local.get $p) (local.get $stride)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (local.set $t (i32.sub (local.get $t) (i32.const 1)))
                (br $tap)))
            (v128.store (i32.add (local.get $o) (local.get $x))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s (i32x4.shr_s (local.get $a0) (i32.const 22)) (i32x4.shr_s (local.get $a1) (i32.const 22)))
                (i16x8.narrow_i32x4_s (i32x4.shr_s (local.get $a2) (i32.const 22)) (i32x4.shr_s (local.get $a3) (i32.const 22)))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $cols)))
        (local.set $yy (i32.add (local.get $yy) (i32.const 1)))
        (br $rows)))))
