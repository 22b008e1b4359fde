/*
 * tessera.h: the host calls a Tessera WebAssembly program can make
 * (import module "tessera").
 *
 * Every pointer and length is an i32 offset into the program's own linear
 * memory, which the program must export as "memory".
 *
 * The global memory is made of words. A word is named by a 64-byte pointer
 * (the SHA-512 of a key, handed out by tessera_pointer) and a sort key of
 * 0-1024 bytes (empty: no sort key); it holds 0-4096 bytes, or is absent.
 *
 * Each call is linearizable on its own. There are no transactions: calls
 * already made stand if the invocation fails later. Bad input (a pointer or
 * length outside memory, a malformed key, a pointer of another account)
 * aborts the invocation with an error, so programs need not check for it.
 * A pointer may be stored in a word and used again later, by this or any
 * other invocation of the same account.
 *
 * By convention of the examples the all-zero pointer means "null".
 */
#ifndef TESSERA_H
#define TESSERA_H

#include <stdint.h>

#define TESSERA_POINTER_BYTES 64
#define TESSERA_WORD_BYTES_MAX 4096
#define TESSERA_ABSENT (-1)

#define TESSERA_IMPORT(name) __attribute__((import_module("tessera"), import_name(name)))

/* Writes to out64 the pointer of key, the text "resource/type/primaryKey"
 * (e.g. "counters/rnd/7") in the caller's account: no account part and no
 * sort key. Returns 0. */
TESSERA_IMPORT("pointer")
int32_t tessera_pointer(const char *key, int32_t key_len, uint8_t *out64);

/* Reads the word (ptr64, sort). Returns TESSERA_ABSENT if it is absent, else
 * the word's full length; copies min(length, out_cap) bytes to out. */
TESSERA_IMPORT("load")
int32_t tessera_load(const uint8_t *ptr64, const uint8_t *sort, int32_t sort_len,
                     uint8_t *out, int32_t out_cap);

/* Returns 1 if the word (ptr64, sort) holds exactly value[0..value_len),
 * else 0. value_len TESSERA_ABSENT asks whether the word is absent. */
TESSERA_IMPORT("compare")
int32_t tessera_compare(const uint8_t *ptr64, const uint8_t *sort, int32_t sort_len,
                        const uint8_t *value, int32_t value_len);

/* Sets the word (ptr64, sort) to value[0..value_len); value_len
 * TESSERA_ABSENT deletes it. Returns 0. */
TESSERA_IMPORT("write")
int32_t tessera_write(const uint8_t *ptr64, const uint8_t *sort, int32_t sort_len,
                      const uint8_t *value, int32_t value_len);

/* If the word (ptr64, sort) holds exactly expected (expected_len
 * TESSERA_ABSENT: is absent), sets it to desired (desired_len
 * TESSERA_ABSENT: deletes it) and returns 1; otherwise changes nothing and
 * returns 0. */
TESSERA_IMPORT("cas")
int32_t tessera_cas(const uint8_t *ptr64, const uint8_t *sort, int32_t sort_len,
                    const uint8_t *expected, int32_t expected_len,
                    const uint8_t *desired, int32_t desired_len);

/* Returns a random non-negative 63-bit id from the node's system generator:
 * unique across the cluster with overwhelming probability (two equal ids
 * among a billion have a chance of about 1 in 10^10). For naming new words. */
TESSERA_IMPORT("unique_id")
int64_t tessera_unique_id(void);

/* Adds text[0..len) as a log line to what the invoker gets back. */
TESSERA_IMPORT("log")
void tessera_log(const char *text, int32_t len);

#undef TESSERA_IMPORT

#endif /* TESSERA_H */
