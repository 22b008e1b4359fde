;; counter.wat: counter.c's increment and value, written by hand in the
;; WebAssembly text format, for deploying without clang (assemble with
;; wat2wasm, or give the text to a host that reads it).
;;
;; Word: pointer("counters/rnd/<id in decimal>"), empty sort key, holding the
;; count as 8 bytes little-endian (wasm's own byte order); absent counts as 0.
;; increment is a cas loop and linearizes at its successful cas; value at its
;; load.
(module
  (import "tessera" "pointer" (func $pointer (param i32 i32 i32) (result i32)))
  (import "tessera" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
  (import "tessera" "cas" (func $cas (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "tessera" "log" (func $log (param i32 i32)))

  ;; One 64 KiB page, initial = maximum. Layout:
  ;;   0..64     the key text: "counters/rnd/" then the id's digits
  ;;   64..128   the counter's pointer
  ;;   128..136  the count as loaded
  ;;   136..144  the count to swap in
  ;;   144..     the message logged for a malformed word
  (memory (export "memory") 1 1)
  (data (i32.const 0) "counters/rnd/")
  (data (i32.const 144) "counter: the word is not an 8-byte count")

  (global $prefix_len i32 (i32.const 13))
  (global $ptr i32 (i32.const 64))
  (global $seen i32 (i32.const 128))
  (global $next i32 (i32.const 136))

  ;; Writes the id in decimal after the prefix; returns the key's length.
  (func $format_key (param $id i64) (result i32)
    (local $start i32) (local $end i32) (local $magnitude i64) (local $rest i64)
    (local.set $start (global.get $prefix_len))
    (local.set $magnitude (local.get $id))
    (if (i64.lt_s (local.get $id) (i64.const 0))
      (then
        (i32.store8 (local.get $start) (i32.const 45)) ;; '-'
        (local.set $start (i32.add (local.get $start) (i32.const 1)))
        ;; 0 - id as unsigned: right for INT64_MIN too
        (local.set $magnitude (i64.sub (i64.const 0) (local.get $id)))))
    ;; Count the digits to find the end.
    (local.set $end (local.get $start))
    (local.set $rest (local.get $magnitude))
    (loop $count
      (local.set $end (i32.add (local.get $end) (i32.const 1)))
      (local.set $rest (i64.div_u (local.get $rest) (i64.const 10)))
      (br_if $count (i64.ne (local.get $rest) (i64.const 0))))
    ;; Write them from the last one back.
    (local.set $start (local.get $end))
    (local.set $rest (local.get $magnitude))
    (loop $digit
      (local.set $start (i32.sub (local.get $start) (i32.const 1)))
      (i32.store8 (local.get $start)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $rest) (i64.const 10)))))
      (local.set $rest (i64.div_u (local.get $rest) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $rest) (i64.const 0))))
    (local.get $end))

  ;; Sets the counter's pointer from the id.
  (func $pointer_for (param $id i64)
    (drop (call $pointer (i32.const 0) (call $format_key (local.get $id)) (global.get $ptr))))

  ;; Loads the count into $seen; returns the load's length (-1 or 8).
  (func $read (result i32)
    (local $len i32)
    (local.set $len
      (call $load (global.get $ptr) (i32.const 0) (i32.const 0) (global.get $seen) (i32.const 8)))
    (if (i32.eqz (i32.or (i32.eq (local.get $len) (i32.const -1))
                         (i32.eq (local.get $len) (i32.const 8))))
      (then
        (call $log (i32.const 144) (i32.const 40))
        (unreachable)))
    (local.get $len))

  (func (export "increment") (param $id i64) (result i64)
    (local $len i32) (local $new i64)
    (call $pointer_for (local.get $id))
    (loop $retry
      (local.set $len (call $read))
      (local.set $new
        (if (result i64) (i32.eq (local.get $len) (i32.const -1))
          (then (i64.const 1))
          (else (i64.add (i64.load (global.get $seen)) (i64.const 1)))))
      (i64.store (global.get $next) (local.get $new))
      ;; expected: the bytes loaded, or absent (-1) when there were none
      (br_if $retry (i32.eqz
        (call $cas (global.get $ptr) (i32.const 0) (i32.const 0)
                   (global.get $seen) (local.get $len)
                   (global.get $next) (i32.const 8)))))
    (local.get $new))

  (func (export "value") (param $id i64) (result i64)
    (call $pointer_for (local.get $id))
    (if (result i64) (i32.eq (call $read) (i32.const -1))
      (then (i64.const 0))
      (else (i64.load (global.get $seen))))))
