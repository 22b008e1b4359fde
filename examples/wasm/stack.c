/*
 * stack.c: a Treiber stack of non-negative int64 values per id.
 *
 * Head word: pointer("stacks/rnd/<id>"), empty sort key, holding the 64-byte
 * pointer of the top node; absent or the null pointer means empty.
 * Node word: pointer("stack-nodes/rnd/<unique id>"), empty sort key, holding
 * {value: int64 LE, next: 64-byte pointer} (72 bytes).
 *
 * A node is written before it is published and never changed after, and
 * every push makes a new node, so a head that a cas expects cannot have been
 * popped and pushed back with another next (no ABA). push linearizes at its
 * successful cas on the head, pop at its successful cas or, when empty, at
 * the load that saw no top node. Popped nodes are left in place: a
 * concurrent pop may still load them.
 *
 * pop_unsafe is the planted bug: it replaces the head with write instead of
 * cas, so two concurrent pops can both return the same value (and a push
 * between its load and write is lost).
 */
#include "examples_support.h"

#define HEAD_PREFIX "stacks/rnd/"
#define NODE_PREFIX "stack-nodes/rnd/"
#define NODE_BYTES (8 + TESSERA_POINTER_BYTES)
#define NODE_NEXT 8

/* Loads the head into top; returns its length (TESSERA_ABSENT or 64). */
static int32_t load_head(const uint8_t *head, uint8_t *top) {
    int32_t len = tessera_load(head, NO_SORT_KEY, 0, top, TESSERA_POINTER_BYTES);
    if (len != TESSERA_ABSENT && len != TESSERA_POINTER_BYTES) {
        fail("stack: the head word is not a pointer");
    }
    return len;
}

static void load_node(const uint8_t *ptr, uint8_t *node) {
    if (tessera_load(ptr, NO_SORT_KEY, 0, node, NODE_BYTES) != NODE_BYTES) {
        fail("stack: a node word is missing or malformed");
    }
}

__attribute__((export_name("push")))
int64_t push(int64_t stack_id, int64_t v) {
    if (v < 0) fail("push: the value must be >= 0 (-1 means empty)");
    uint8_t head[TESSERA_POINTER_BYTES], node_ptr[TESSERA_POINTER_BYTES];
    pointer_for(head, HEAD_PREFIX, stack_id);
    pointer_for(node_ptr, NODE_PREFIX, tessera_unique_id());
    for (;;) {
        uint8_t top[TESSERA_POINTER_BYTES];
        int32_t top_len = load_head(head, top);
        uint8_t node[NODE_BYTES];
        put_i64(node, v);
        if (top_len == TESSERA_ABSENT) {
            memset(node + NODE_NEXT, 0, TESSERA_POINTER_BYTES);
        } else {
            memcpy(node + NODE_NEXT, top, TESSERA_POINTER_BYTES);
        }
        /* The node is not yet reachable, so rewriting it on a retry is safe. */
        tessera_write(node_ptr, NO_SORT_KEY, 0, node, NODE_BYTES);
        if (tessera_cas(head, NO_SORT_KEY, 0, top, top_len, node_ptr, TESSERA_POINTER_BYTES)) {
            return 0;
        }
    }
}

static int64_t pop_with(int64_t stack_id, int use_cas) {
    uint8_t head[TESSERA_POINTER_BYTES];
    pointer_for(head, HEAD_PREFIX, stack_id);
    for (;;) {
        uint8_t top[TESSERA_POINTER_BYTES];
        int32_t top_len = load_head(head, top);
        if (top_len == TESSERA_ABSENT || is_null(top)) return -1;
        uint8_t node[NODE_BYTES];
        load_node(top, node);
        const uint8_t *next = node + NODE_NEXT;
        if (use_cas) {
            if (tessera_cas(head, NO_SORT_KEY, 0, top, TESSERA_POINTER_BYTES,
                            next, TESSERA_POINTER_BYTES)) {
                return get_i64(node);
            }
        } else {
            /* BUG (on purpose): nothing checks that top is still the head. */
            tessera_write(head, NO_SORT_KEY, 0, next, TESSERA_POINTER_BYTES);
            return get_i64(node);
        }
    }
}

__attribute__((export_name("pop")))
int64_t pop(int64_t stack_id) { return pop_with(stack_id, 1); }

__attribute__((export_name("pop_unsafe")))
int64_t pop_unsafe(int64_t stack_id) { return pop_with(stack_id, 0); }
