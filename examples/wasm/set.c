/*
 * set.c: a set of int64 keys per id, as a Harris-style sorted linked list.
 *
 * Head word: pointer("sets/rnd/<id>"), empty sort key, holding the pointer
 * of a sentinel node (key INT64_MIN, never compared nor removed), made by
 * the first user with a cas from absent.
 * Node word: pointer("set-nodes/rnd/<unique id>"), empty sort key, holding
 * {key: int64 LE, marked: 1 byte (0 or 1), next: 64-byte pointer, null for
 * none} (73 bytes). Keys after the sentinel ascend, as signed int64.
 *
 * A cas covers a whole word, so a node's key, mark and next change together:
 * - remove marks its node: cas {k, 0, next} -> {k, 1, next}. A marked node
 *   never changes again; the set is the keys of the unmarked nodes.
 * - a marked node is unlinked from its predecessor (by remove, or by any
 *   search that passes it): cas {pk, 0, curr} -> {pk, 0, succ}.
 * - insert links a new node: cas {pk, 0, succ} -> {pk, 0, new}.
 * Both cas on the predecessor expect it unmarked and pointing at the node
 * seen, so nothing is linked after a removed node nor lost. Nodes are never
 * reused, so no ABA.
 *
 * Linearization: insert at its linking cas, remove at its marking cas; an
 * insert that finds k at the load of k's unmarked node; a remove that finds
 * none at the load of the predecessor that pointed past k (an unmarked node
 * is in the list, and the list is sorted) or of an absent head word (only
 * insert makes the set). contains walks without helping, making only loads:
 * it returns 1 at the load of k's unmarked node, and 0 at a moment of its
 * walk when no unmarked node of k was in the list (the textbook argument for
 * this wait-free contains: the first node of key >= k it reached was in the
 * list at some point of the walk, and was then either past k or marked). Unlinked nodes are left in place: a concurrent
 * search may still load them.
 */
#include "examples_support.h"

#define SET_PREFIX "sets/rnd/"
#define NODE_PREFIX "set-nodes/rnd/"
#define NODE_KEY 0
#define NODE_MARK 8
#define NODE_NEXT 9
#define NODE_BYTES (9 + TESSERA_POINTER_BYTES)
#define SENTINEL_KEY INT64_MIN

/* A node: its pointer and the bytes it held when loaded. */
typedef struct {
    uint8_t ptr[TESSERA_POINTER_BYTES];
    uint8_t bytes[NODE_BYTES];
} Node;

static void make_node(uint8_t *bytes, int64_t key, uint8_t mark, const uint8_t *next) {
    put_i64(bytes + NODE_KEY, key);
    bytes[NODE_MARK] = mark;
    if (next == NULL) {
        memset(bytes + NODE_NEXT, 0, TESSERA_POINTER_BYTES);
    } else {
        memcpy(bytes + NODE_NEXT, next, TESSERA_POINTER_BYTES);
    }
}

static void load_node(Node *node) {
    if (tessera_load(node->ptr, NO_SORT_KEY, 0, node->bytes, NODE_BYTES) != NODE_BYTES) {
        fail("set: a node word is missing or malformed");
    }
}

static int64_t key_of(const Node *node) { return get_i64(node->bytes + NODE_KEY); }
static int is_marked(const Node *node) { return node->bytes[NODE_MARK] != 0; }
static const uint8_t *next_of(const Node *node) { return node->bytes + NODE_NEXT; }

/* cas node's word from node->bytes to desired; on success node->bytes = desired. */
static int cas_node(Node *node, const uint8_t *desired) {
    if (!tessera_cas(node->ptr, NO_SORT_KEY, 0, node->bytes, NODE_BYTES, desired, NODE_BYTES)) {
        return 0;
    }
    memcpy(node->bytes, desired, NODE_BYTES);
    return 1;
}

/* Writes the sentinel's pointer to out and returns 1. When the set was never
 * used, makes it if create, else returns 0 (the set is empty). */
static int sentinel_of(int64_t set_id, int create, uint8_t *out) {
    uint8_t head[TESSERA_POINTER_BYTES];
    pointer_for(head, SET_PREFIX, set_id);
    int32_t len = tessera_load(head, NO_SORT_KEY, 0, out, TESSERA_POINTER_BYTES);
    if (len == TESSERA_POINTER_BYTES) return 1;
    if (len != TESSERA_ABSENT) fail("set: the head word is not a pointer");
    if (!create) return 0;
    uint8_t sentinel[TESSERA_POINTER_BYTES], bytes[NODE_BYTES];
    pointer_for(sentinel, NODE_PREFIX, tessera_unique_id());
    make_node(bytes, SENTINEL_KEY, 0, NULL);
    tessera_write(sentinel, NO_SORT_KEY, 0, bytes, NODE_BYTES);
    if (tessera_cas(head, NO_SORT_KEY, 0, NULL, TESSERA_ABSENT, sentinel, TESSERA_POINTER_BYTES)) {
        memcpy(out, sentinel, TESSERA_POINTER_BYTES);
        return 1;
    }
    tessera_write(sentinel, NO_SORT_KEY, 0, NULL, TESSERA_ABSENT); /* nobody saw it */
    if (tessera_load(head, NO_SORT_KEY, 0, out, TESSERA_POINTER_BYTES) != TESSERA_POINTER_BYTES) {
        fail("set: the head word is not a pointer");
    }
    return 1;
}

/*
 * Finds the first unmarked node with key >= k and its predecessor, unlinking
 * the marked nodes on the way. On return pred is an unmarked node (bytes as
 * loaded, or as this search last swapped in) whose next was curr, and
 * *found says whether there is a curr (else pred was the last node); curr,
 * when found, was unmarked when loaded and has key >= k.
 */
static void search(const uint8_t *sentinel, int64_t k, Node *pred, Node *curr, int *found) {
retry:
    memcpy(pred->ptr, sentinel, TESSERA_POINTER_BYTES);
    load_node(pred);
    for (;;) {
        if (is_null(next_of(pred))) {
            *found = 0;
            return;
        }
        memcpy(curr->ptr, next_of(pred), TESSERA_POINTER_BYTES);
        load_node(curr);
        if (is_marked(curr)) {
            /* Help: unlink curr; if pred changed meanwhile, start over. */
            uint8_t unlinked[NODE_BYTES];
            make_node(unlinked, key_of(pred), 0, next_of(curr));
            if (!cas_node(pred, unlinked)) goto retry;
            continue;
        }
        if (key_of(curr) >= k) {
            *found = 1;
            return;
        }
        *pred = *curr;
    }
}

__attribute__((export_name("insert")))
int64_t set_insert(int64_t set_id, int64_t k) {
    uint8_t sentinel[TESSERA_POINTER_BYTES];
    sentinel_of(set_id, 1, sentinel);
    uint8_t mine[TESSERA_POINTER_BYTES];
    int have_node = 0;
    for (;;) {
        Node pred, curr;
        int found;
        search(sentinel, k, &pred, &curr, &found);
        if (found && key_of(&curr) == k) {
            if (have_node) tessera_write(mine, NO_SORT_KEY, 0, NULL, TESSERA_ABSENT); /* never linked */
            return 0;
        }
        if (!have_node) {
            pointer_for(mine, NODE_PREFIX, tessera_unique_id());
            have_node = 1;
        }
        /* Not yet reachable, so rewriting it on a retry is safe. */
        uint8_t node[NODE_BYTES];
        make_node(node, k, 0, found ? curr.ptr : NULL);
        tessera_write(mine, NO_SORT_KEY, 0, node, NODE_BYTES);
        uint8_t linked[NODE_BYTES];
        make_node(linked, key_of(&pred), 0, mine);
        if (cas_node(&pred, linked)) return 1;
    }
}

__attribute__((export_name("remove")))
int64_t set_remove(int64_t set_id, int64_t k) {
    uint8_t sentinel[TESSERA_POINTER_BYTES];
    if (!sentinel_of(set_id, 0, sentinel)) return 0;
    for (;;) {
        Node pred, curr;
        int found;
        search(sentinel, k, &pred, &curr, &found);
        if (!found || key_of(&curr) != k) return 0;
        uint8_t marked[NODE_BYTES];
        make_node(marked, k, 1, next_of(&curr));
        if (!cas_node(&curr, marked)) continue; /* curr changed: look again */
        /* Removed. Unlink now if pred is as we saw it; else a later search will. */
        uint8_t unlinked[NODE_BYTES];
        make_node(unlinked, key_of(&pred), 0, next_of(&curr));
        cas_node(&pred, unlinked);
        return 1;
    }
}

/* Walks by key without helping (Herlihy and Shavit's wait-free contains),
 * so it only loads and a caller that may only read can use it. */
__attribute__((export_name("contains")))
int64_t contains(int64_t set_id, int64_t k) {
    Node node;
    if (!sentinel_of(set_id, 0, node.ptr)) return 0;
    load_node(&node);
    for (;;) {
        if (is_null(next_of(&node))) return 0;
        memcpy(node.ptr, next_of(&node), TESSERA_POINTER_BYTES);
        load_node(&node);
        if (key_of(&node) >= k) return key_of(&node) == k && !is_marked(&node);
    }
}
