/*
 * examples_support.h: the little the examples need without a libc.
 *
 * Include it from exactly one .c file per program (each example is one file):
 * it defines memcpy, memmove and memset, which clang may call for struct
 * copies and clears even when the source never names them. Build with
 * -ffreestanding so that clang does not turn the loops here back into calls
 * to libc (memcpy into itself, text_length into strlen).
 */
#ifndef EXAMPLES_SUPPORT_H
#define EXAMPLES_SUPPORT_H

#if __STDC_HOSTED__
/* Hosted, clang would turn the loops below into calls to memcpy, memset and
 * strlen, which a module without libc cannot import. */
#error "build the examples with -ffreestanding (see ./build)"
#endif

#include <stddef.h>
#include <stdint.h>
#include "tessera.h"

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n--) *d++ = *s++;
    } else {
        while (n--) d[n] = s[n];
    }
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

/* 1 if the n bytes at a and b are equal, else 0. */
static inline int bytes_equal(const uint8_t *a, const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) return 0;
    }
    return 1;
}

/* Little-endian int64, as every example stores numbers. */
static inline void put_i64(uint8_t *out, int64_t v) {
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(u >> (8 * i));
}

static inline int64_t get_i64(const uint8_t *in) {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u |= (uint64_t)in[i] << (8 * i);
    return (int64_t)u;
}

/* Pointers: 64 bytes, all zero meaning null. */
static inline int is_null(const uint8_t *ptr64) {
    for (int i = 0; i < TESSERA_POINTER_BYTES; i++) {
        if (ptr64[i] != 0) return 0;
    }
    return 1;
}

static inline int same_pointer(const uint8_t *a, const uint8_t *b) {
    return bytes_equal(a, b, TESSERA_POINTER_BYTES);
}

/* Room for the longest key the examples make: a resource name of under 40
 * characters, "/rnd/" and an int64 in decimal (at most 20 characters). */
#define KEY_BYTES_MAX 80

/* Writes prefix followed by v in decimal (with '-' when negative) to out, a
 * buffer of KEY_BYTES_MAX bytes; returns the length. No terminating NUL. */
static inline int32_t format_key(char *out, const char *prefix, int64_t v) {
    int32_t n = 0;
    while (prefix[n] != 0) {
        out[n] = prefix[n];
        n++;
    }
    uint64_t magnitude = (uint64_t)v;
    if (v < 0) {
        out[n++] = '-';
        magnitude = 0 - magnitude; /* well defined for INT64_MIN too */
    }
    char digits[20];
    int count = 0;
    do {
        digits[count++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    while (count > 0) out[n++] = digits[--count];
    return n;
}

/* out64 = pointer("<prefix><v>"), e.g. pointer_for(p, "counters/rnd/", 7). */
static inline void pointer_for(uint8_t *out64, const char *prefix, int64_t v) {
    char key[KEY_BYTES_MAX];
    int32_t len = format_key(key, prefix, v);
    tessera_pointer(key, len, out64);
}

static inline int32_t text_length(const char *text) {
    int32_t n = 0;
    while (text[n] != 0) n++;
    return n;
}

/* Logs text, then aborts the invocation (the host sees a trap). Calls made
 * before stand. */
__attribute__((noreturn)) static inline void fail(const char *text) {
    tessera_log(text, text_length(text));
    __builtin_trap();
}

/* The empty sort key: a valid address with length 0. */
static const uint8_t NO_SORT_KEY[1] = {0};

#endif /* EXAMPLES_SUPPORT_H */
