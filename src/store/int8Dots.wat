;; Dot products of int8 rows with an int16 query in WebAssembly SIMD: the embedded store scores a filter's
;; points with its int8 vectors (quantizedVectors.ts) 16 bytes at a time, where JavaScript multiplied one
;; byte at a time. Rows are `stride` bytes (a multiple of 16; past the vector's length the query is zero,
;; so whatever the padding holds adds nothing); the query's int16 values are small enough that no sum of
;; a row can overflow 32 bits.
;; Compiled by scripts/build-wasm.js.
(module
  (memory (export "memory") 1)
  ;; out[i] = Σ codes[rows[i] * stride + d] * query[d] over d < stride, for i < count.
  (func (export "dots")
    (param $codes i32) (param $stride i32) (param $query i32) (param $rows i32) (param $count i32) (param $out i32)
    (local $i i32) (local $p i32) (local $end i32) (local $q i32) (local $c v128) (local $acc v128)
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $p (i32.add (local.get $codes)
          (i32.mul (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))) (local.get $stride))))
        (local.set $end (i32.add (local.get $p) (local.get $stride)))
        (local.set $q (local.get $query))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (loop $chunk
          (local.set $c (v128.load (local.get $p)))
          (local.set $acc (i32x4.add (local.get $acc)
            (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $c)) (v128.load (local.get $q)))))
          (local.set $acc (i32x4.add (local.get $acc)
            (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $c)) (v128.load offset=16 (local.get $q)))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br_if $chunk (i32.lt_u (local.get $p) (local.get $end))))
        (i32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
            (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row)))))
