/// Small programs in the text format, each exercising one part of the host.
enum WatPrograms {
    static let imports = """
      (import "tessera" "pointer" (func $pointer (param i32 i32 i32) (result i32)))
      (import "tessera" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
      (import "tessera" "write" (func $write (param i32 i32 i32 i32 i32) (result i32)))
      (import "tessera" "cas" (func $cas (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "tessera" "unique_id" (func $unique_id (result i64)))
      (import "tessera" "log" (func $log (param i32 i32)))
    """

    /// increment() → the new value of word counters/rnd/c: a CAS loop.
    /// Memory: 0 key text, 64 pointer, 128 old value, 136 new value.
    static let counter = """
    (module
      \(imports)
      (memory (export "memory") 1 1)
      (data (i32.const 0) "counters/rnd/c")
      (func (export "increment") (result i64)
        (local $len i32) (local $old i64)
        (drop (call $pointer (i32.const 0) (i32.const 14) (i32.const 64)))
        (loop $retry
          (local.set $len (call $load (i32.const 64) (i32.const 0) (i32.const 0) (i32.const 128) (i32.const 8)))
          (if (i32.eq (local.get $len) (i32.const -1))
            (then (local.set $old (i64.const 0)))
            (else (local.set $old (i64.load (i32.const 128)))))
          (i64.store (i32.const 136) (i64.add (local.get $old) (i64.const 1)))
          (br_if $retry (i32.eqz (call $cas (i32.const 64) (i32.const 0) (i32.const 0)
            (i32.const 128) (select (i32.const -1) (i32.const 8) (i32.eq (local.get $len) (i32.const -1)))
            (i32.const 136) (i32.const 8)))))
        (i64.load (i32.const 136)))
      (func (export "add") (param $a i32) (param $b i64) (result i64)
        (i64.add (i64.extend_i32_s (local.get $a)) (local.get $b)))
      (func (export "spin") (loop $forever (br $forever)))
      (func (export "crash") (unreachable))
      (func (export "ids") (loop $forever (drop (call $unique_id)) (br $forever)))
      (func (export "loads")
        (drop (call $pointer (i32.const 0) (i32.const 14) (i32.const 64)))
        (loop $forever
        (drop (call $load (i32.const 64) (i32.const 0) (i32.const 0) (i32.const 128) (i32.const 8)))
        (br $forever)))
      (func (export "hello") (call $log (i32.const 0) (i32.const 8)))
      (func (export "half") (result f64) (f64.const 0.5))
      ;; The guest hands the host a pointer 8 bytes before the end of its memory.
      (func (export "out_of_bounds") (result i32)
        (call $load (i32.const 65530) (i32.const 0) (i32.const 0) (i32.const 128) (i32.const 8)))
      ;; A pointer the program made up: 64 bytes of 0x41 at 512.
      (func (export "made_up") (result i32)
        (memory.fill (i32.const 512) (i32.const 0x41) (i32.const 64))
        (call $load (i32.const 512) (i32.const 0) (i32.const 0) (i32.const 128) (i32.const 8)))
    )
    """

    /// write_at_stored() writes 7 to the word at `pointer`, which the module
    /// holds in its data as if it had loaded it from a word.
    static func writing(at pointer: [UInt8]) -> String {
        let escaped = pointer.map { "\\" + String($0, radix: 16).leftPadded(to: 2) }.joined()
        return """
        (module
          \(imports)
          (memory (export "memory") 1 1)
          (data (i32.const 1024) "\(escaped)")
          (func (export "write_at_stored") (result i32)
            (i64.store (i32.const 136) (i64.const 7))
            (call $write (i32.const 1024) (i32.const 0) (i32.const 0) (i32.const 136) (i32.const 8)))
        )
        """
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
