/* Open-addressing hash map int64 id -> int64 slot (linear probing, tombstones).
 * keys[] holds HP_MAP_EMPTY, HP_MAP_TOMB or an id >= 0; the table size is a power of two. */
#ifndef HP_MAP_H
#define HP_MAP_H
#include <stdint.h>
#include "hp_rng.h"
#define HP_MAP_EMPTY (-1LL)
#define HP_MAP_TOMB (-2LL)

static inline int64_t hp_map_get(const int64_t *keys, const int64_t *vals, int64_t mask, int64_t id) {
    int64_t p = (int64_t)(hp_mix64((uint64_t)id) & (uint64_t)mask);
    for (;;) {
        int64_t k = keys[p];
        if (k == id) return vals[p];
        if (k == HP_MAP_EMPTY) return -1;
        p = (p + 1) & mask;
    }
}

/* Insert (id must be absent); returns 1 if a fresh EMPTY cell was used, 0 if a tombstone. */
static inline int hp_map_put(int64_t *keys, int64_t *vals, int64_t mask, int64_t id, int64_t v) {
    int64_t p = (int64_t)(hp_mix64((uint64_t)id) & (uint64_t)mask);
    for (;;) {
        int64_t k = keys[p];
        if (k == HP_MAP_EMPTY || k == HP_MAP_TOMB) {
            keys[p] = id; vals[p] = v;
            return k == HP_MAP_EMPTY;
        }
        p = (p + 1) & mask;
    }
}

static inline int hp_map_del(int64_t *keys, int64_t mask, int64_t id) {
    int64_t p = (int64_t)(hp_mix64((uint64_t)id) & (uint64_t)mask);
    for (;;) {
        int64_t k = keys[p];
        if (k == id) { keys[p] = HP_MAP_TOMB; return 1; }
        if (k == HP_MAP_EMPTY) return 0;
        p = (p + 1) & mask;
    }
}
#endif
