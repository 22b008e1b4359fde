/*
 * queue.c: a Michael-Scott queue of non-negative int64 values per id.
 *
 * Head and tail words: pointer("queues/rnd/<id>") with sort keys "head" and
 * "tail", each holding a 64-byte node pointer. The head points at a dummy
 * node; the values are in the nodes after it.
 * Node word: pointer("queue-nodes/rnd/<unique id>"), empty sort key, holding
 * {value: int64 LE, next: 64-byte pointer, null for none} (72 bytes).
 *
 * The first enqueue creates the dummy: cas head from absent to a new node
 * (the losers load the winner's), then cas tail from absent to the head.
 * Until the tail exists nobody links a node nor moves the head, so the head
 * is still that dummy then, and a dequeue that finds no tail returns empty
 * (linearizing at that load) without making anything.
 *
 * A node's next goes from null to a node once and never changes again, and
 * nodes are never reused, so the cas on a node or on head/tail cannot be
 * fooled by ABA. enqueue linearizes at the cas that links its node after the
 * last node; dequeue at its cas on the head or, when empty, at the load of
 * the head node's null next (the head is re-checked unchanged after it).
 * Dequeued nodes are left in place: a concurrent operation may still load
 * them.
 */
#include "examples_support.h"

#define QUEUE_PREFIX "queues/rnd/"
#define NODE_PREFIX "queue-nodes/rnd/"
#define NODE_BYTES (8 + TESSERA_POINTER_BYTES)
#define NODE_NEXT 8

static const uint8_t HEAD[4] = {'h', 'e', 'a', 'd'};
static const uint8_t TAIL[4] = {'t', 'a', 'i', 'l'};

/* Loads the head or tail word (sort key end) into out. */
static void load_end(const uint8_t *queue, const uint8_t *end, uint8_t *out) {
    if (tessera_load(queue, end, 4, out, TESSERA_POINTER_BYTES) != TESSERA_POINTER_BYTES) {
        fail("queue: the head or tail word is missing or not a pointer");
    }
}

/* 1 if the head or tail word still holds ptr. */
static int end_is(const uint8_t *queue, const uint8_t *end, const uint8_t *ptr) {
    return tessera_compare(queue, end, 4, ptr, TESSERA_POINTER_BYTES);
}

static int swing_end(const uint8_t *queue, const uint8_t *end, const uint8_t *from, const uint8_t *to) {
    return tessera_cas(queue, end, 4, from, TESSERA_POINTER_BYTES, to, TESSERA_POINTER_BYTES);
}

static void load_node(const uint8_t *ptr, uint8_t *node) {
    if (tessera_load(ptr, NO_SORT_KEY, 0, node, NODE_BYTES) != NODE_BYTES) {
        fail("queue: a node word is missing or malformed");
    }
}

/* Makes a new node {v, null} and writes its pointer to out. */
static void new_node(uint8_t *out, int64_t v) {
    pointer_for(out, NODE_PREFIX, tessera_unique_id());
    uint8_t node[NODE_BYTES];
    put_i64(node, v);
    memset(node + NODE_NEXT, 0, TESSERA_POINTER_BYTES);
    tessera_write(out, NO_SORT_KEY, 0, node, NODE_BYTES);
}

/* Makes sure the head and tail words exist (see the top of the file). */
static void ensure_queue(const uint8_t *queue) {
    uint8_t ptr[TESSERA_POINTER_BYTES];
    if (tessera_load(queue, TAIL, 4, ptr, TESSERA_POINTER_BYTES) != TESSERA_ABSENT) return;
    if (tessera_load(queue, HEAD, 4, ptr, TESSERA_POINTER_BYTES) == TESSERA_ABSENT) {
        uint8_t dummy[TESSERA_POINTER_BYTES];
        new_node(dummy, 0);
        if (tessera_cas(queue, HEAD, 4, NULL, TESSERA_ABSENT, dummy, TESSERA_POINTER_BYTES)) {
            memcpy(ptr, dummy, TESSERA_POINTER_BYTES);
        } else {
            tessera_write(dummy, NO_SORT_KEY, 0, NULL, TESSERA_ABSENT); /* nobody saw it */
            load_end(queue, HEAD, ptr);
        }
    }
    tessera_cas(queue, TAIL, 4, NULL, TESSERA_ABSENT, ptr, TESSERA_POINTER_BYTES);
}

__attribute__((export_name("enqueue")))
int64_t enqueue(int64_t queue_id, int64_t v) {
    if (v < 0) fail("enqueue: the value must be >= 0 (-1 means empty)");
    uint8_t queue[TESSERA_POINTER_BYTES];
    pointer_for(queue, QUEUE_PREFIX, queue_id);
    ensure_queue(queue);
    uint8_t mine[TESSERA_POINTER_BYTES];
    new_node(mine, v);
    for (;;) {
        uint8_t tail[TESSERA_POINTER_BYTES], last[NODE_BYTES];
        load_end(queue, TAIL, tail);
        load_node(tail, last);
        if (!end_is(queue, TAIL, tail)) continue;
        const uint8_t *next = last + NODE_NEXT;
        if (is_null(next)) {
            /* Link after the last node: same value, next = mine. */
            uint8_t linked[NODE_BYTES];
            memcpy(linked, last, NODE_BYTES);
            memcpy(linked + NODE_NEXT, mine, TESSERA_POINTER_BYTES);
            if (tessera_cas(tail, NO_SORT_KEY, 0, last, NODE_BYTES, linked, NODE_BYTES)) {
                swing_end(queue, TAIL, tail, mine); /* others help if this fails */
                return 0;
            }
        } else {
            swing_end(queue, TAIL, tail, next); /* help a lagging tail */
        }
    }
}

__attribute__((export_name("dequeue")))
int64_t dequeue(int64_t queue_id) {
    uint8_t queue[TESSERA_POINTER_BYTES];
    pointer_for(queue, QUEUE_PREFIX, queue_id);
    /* No tail yet: no enqueue has linked a node, so the queue is empty. */
    uint8_t probe[TESSERA_POINTER_BYTES];
    if (tessera_load(queue, TAIL, 4, probe, TESSERA_POINTER_BYTES) == TESSERA_ABSENT) return -1;
    for (;;) {
        uint8_t head[TESSERA_POINTER_BYTES], tail[TESSERA_POINTER_BYTES], first[NODE_BYTES];
        load_end(queue, HEAD, head);
        load_end(queue, TAIL, tail);
        load_node(head, first);
        if (!end_is(queue, HEAD, head)) continue;
        const uint8_t *next = first + NODE_NEXT;
        if (same_pointer(head, tail)) {
            if (is_null(next)) return -1;
            swing_end(queue, TAIL, tail, next); /* help a lagging tail */
        } else if (!is_null(next)) {
            uint8_t second[NODE_BYTES];
            load_node(next, second);
            /* next becomes the new dummy; its value is what we dequeue. */
            if (swing_end(queue, HEAD, head, next)) return get_i64(second);
        }
    }
}
