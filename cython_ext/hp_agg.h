/* Growing aggregation table: distinct int64 keys in order of first appearance with an int64 sum
 * per key (open addressing over hp_map.h, doubled when half full). Used to sum a rank's orders
 * per seller without per-order temporaries (shared/notes/MASS_MACRO.md sec. 5). */
#ifndef HP_AGG_H
#define HP_AGG_H
#include <stdint.h>
#include <stdlib.h>
#include "hp_map.h"

typedef struct {
    int64_t *keys, *vals;      /* hash table: key -> index into uniq/tot */
    int64_t mask;
    int64_t *uniq, *tot;       /* distinct keys and their sums, first-appearance order */
    int64_t count, cap;
} hp_agg;

static int hp_agg_init(hp_agg *a, int64_t size) {
    int64_t i, s = 64;
    while (s < size) s *= 2;
    a->keys = (int64_t *)malloc(s * sizeof(int64_t));
    a->vals = (int64_t *)malloc(s * sizeof(int64_t));
    a->cap = s / 2;
    a->uniq = (int64_t *)malloc(a->cap * sizeof(int64_t));
    a->tot = (int64_t *)malloc(a->cap * sizeof(int64_t));
    a->mask = s - 1;
    a->count = 0;
    if (!a->keys || !a->vals || !a->uniq || !a->tot) return -1;
    for (i = 0; i < s; i++) a->keys[i] = HP_MAP_EMPTY;
    return 0;
}

static void hp_agg_free(hp_agg *a) {
    free(a->keys); free(a->vals); free(a->uniq); free(a->tot);
    a->keys = a->vals = a->uniq = a->tot = NULL;
}

static int hp_agg_grow(hp_agg *a) {
    int64_t i, s = 2 * (a->mask + 1);
    int64_t *k = (int64_t *)malloc(s * sizeof(int64_t));
    int64_t *v = (int64_t *)malloc(s * sizeof(int64_t));
    int64_t *u = (int64_t *)realloc(a->uniq, (s / 2) * sizeof(int64_t));
    if (u) a->uniq = u;
    int64_t *t = (int64_t *)realloc(a->tot, (s / 2) * sizeof(int64_t));
    if (t) a->tot = t;
    if (!k || !v || !u || !t) { free(k); free(v); return -1; }
    for (i = 0; i < s; i++) k[i] = HP_MAP_EMPTY;
    for (i = 0; i < a->count; i++) hp_map_put(k, v, s - 1, a->uniq[i], i);
    free(a->keys); free(a->vals);
    a->keys = k; a->vals = v; a->mask = s - 1; a->cap = s / 2;
    return 0;
}

/* Add amount to key's sum; returns the key's index, or -1 if memory ran out. */
static inline int64_t hp_agg_add(hp_agg *a, int64_t key, int64_t amount) {
    int64_t j = hp_map_get(a->keys, a->vals, a->mask, key);
    if (j < 0) {
        if (a->count >= a->cap && hp_agg_grow(a) < 0) return -1;
        j = a->count++;
        hp_map_put(a->keys, a->vals, a->mask, key, j);
        a->uniq[j] = key;
        a->tot[j] = 0;
    }
    a->tot[j] += amount;
    return j;
}
#endif
