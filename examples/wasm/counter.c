/*
 * counter.c: a shared counter per id.
 *
 * Word: pointer("counters/rnd/<id>"), empty sort key, holding the count as
 * 8 bytes little-endian; an absent word counts as 0.
 *
 * increment is a compare-and-swap loop: it reads the count and swaps in
 * count + 1 only if the word still holds what it read, so it linearizes at
 * its successful cas; value linearizes at its load.
 */
#include "examples_support.h"

#define COUNTER_PREFIX "counters/rnd/"

/* Reads the counter into bytes[0..8); returns the load's length
 * (TESSERA_ABSENT or 8) and the count in *count. */
static int32_t read_counter(const uint8_t *ptr, uint8_t bytes[8], int64_t *count) {
    int32_t len = tessera_load(ptr, NO_SORT_KEY, 0, bytes, 8);
    if (len == TESSERA_ABSENT) {
        *count = 0;
    } else if (len == 8) {
        *count = get_i64(bytes);
    } else {
        fail("counter: the word is not an 8-byte count");
    }
    return len;
}

__attribute__((export_name("increment")))
int64_t increment(int64_t id) {
    uint8_t ptr[TESSERA_POINTER_BYTES];
    pointer_for(ptr, COUNTER_PREFIX, id);
    for (;;) {
        uint8_t seen[8], next[8];
        int64_t count;
        int32_t seen_len = read_counter(ptr, seen, &count);
        int64_t incremented = (int64_t)((uint64_t)count + 1); /* wraps, no UB */
        put_i64(next, incremented);
        if (tessera_cas(ptr, NO_SORT_KEY, 0, seen, seen_len, next, 8)) return incremented;
    }
}

__attribute__((export_name("value")))
int64_t value(int64_t id) {
    uint8_t ptr[TESSERA_POINTER_BYTES];
    pointer_for(ptr, COUNTER_PREFIX, id);
    uint8_t bytes[8];
    int64_t count;
    read_counter(ptr, bytes, &count);
    return count;
}
