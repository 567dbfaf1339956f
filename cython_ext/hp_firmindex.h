/* Firm index without hashing. A firm id encodes its founder agent (id mod N) and firms live on the
 * founder's home rank, so the firms homed on a rank can be found from their founder:
 *   head[j]  first slot of the live firms founded by local agent lo + j (-1: none),
 *   next[s]  next slot with the same founder (-1: end); for free slots, the next free slot.
 * An agent has usually founded zero or one live firm, so a lookup reads one or two slots.
 * Memory: 4 bytes per local agent + 4 bytes per firm slot (free list threaded through next). */
#ifndef HP_FIRMINDEX_H
#define HP_FIRMINDEX_H
#include <stdint.h>
#include "hp_divmod.h"

static inline int32_t hp_fi_find(const int32_t *head, const int32_t *next, const int64_t *fid,
                                 int64_t lo, int64_t N, int64_t id) {
    int32_t s = head[id % N - lo];
    while (s >= 0 && fid[s] != id) s = next[s];
    return s;
}

/* Slots of n firm ids at once (-1 for ids < 0, ids founded off this rank [lo, hi), or absent),
 * in three sequential passes over out[] so that the random reads of each pass (head[], then
 * fid[]) are prefetched HP_FI_AHEAD ids ahead and overlap: founder index, first slot, chain walk.
 * The same slots as hp_fi_find one by one. */
#define HP_FI_AHEAD 16
static inline void hp_fi_find_batch(const int32_t *head, const int32_t *next, const int64_t *fid,
                                    int64_t lo, int64_t hi, int64_t N, const int64_t *ids,
                                    int64_t n, int32_t *out) {
    int64_t i, f, j;
    double inv = 1.0 / (double)N;
    for (i = 0; i < n; i++) {                       /* local founder index, or -1 */
        f = ids[i];
        j = f >= 0 ? hp_mod(f, N, inv) : -1;
        out[i] = (j >= lo && j < hi) ? (int32_t)(j - lo) : -1;
    }
    for (i = 0; i < n; i++) {                       /* first slot of the founder */
        if (i + HP_FI_AHEAD < n && out[i + HP_FI_AHEAD] >= 0)
            __builtin_prefetch(&head[out[i + HP_FI_AHEAD]], 0, 3);
        if (out[i] >= 0) out[i] = head[out[i]];
    }
    for (i = 0; i < n; i++) {                       /* walk the founder's chain */
        int32_t s;
        if (i + HP_FI_AHEAD < n && out[i + HP_FI_AHEAD] >= 0)
            __builtin_prefetch(&fid[out[i + HP_FI_AHEAD]], 0, 3);
        s = out[i];
        while (s >= 0 && fid[s] != ids[i]) s = next[s];
        out[i] = s;
    }
}

/* An agent's firm share for the monthly statistics sweeps: for firm id f (-1: no firm) with slot
 * `slot` from hp_fi_find_batch, returns 1 and sets *share (share_by_slot[slot], 0 without a firm)
 * when the firm is homed on this rank (founder in [lo, hi)), 0 when it lives elsewhere (its share
 * must be fetched). inv = 1.0 / N (hp_mod). */
static inline int hp_homed_here(int64_t f, int64_t lo, int64_t hi, int64_t N, double inv) {
    /* firm id f >= 0 founded by an agent of [lo, hi), i.e. homed on this rank */
    int64_t founder = hp_mod(f, N, inv);
    return founder >= lo && founder < hi;
}

static inline int hp_home_share(int64_t f, int32_t slot, int64_t lo, int64_t hi, int64_t N,
                                double inv, const double *share_by_slot, double *share) {
    if (f < 0) { *share = 0.0; return 1; }
    if (!hp_homed_here(f, lo, hi, N, inv)) return 0;
    *share = share_by_slot[slot];
    return 1;
}

/* Pop a free slot (caller guarantees one exists). */
static inline int32_t hp_fi_alloc(int32_t *next, int64_t *free_head) {
    int32_t s = (int32_t)(*free_head);
    *free_head = next[s];
    return s;
}

static inline void hp_fi_link(int32_t *head, int32_t *next, int64_t lo, int64_t N, int64_t id, int32_t s) {
    int64_t j = id % N - lo;
    next[s] = head[j];
    head[j] = s;
}

static inline void hp_fi_unlink(int32_t *head, int32_t *next, const int64_t *fid, int64_t lo,
                                int64_t N, int32_t s) {
    int64_t j = fid[s] % N - lo;
    if (head[j] == s) { head[j] = next[s]; return; }
    int32_t p = head[j];
    while (next[p] != s) p = next[p];
    next[p] = next[s];
}

static inline void hp_fi_free(int32_t *next, int64_t *free_head, int32_t s) {
    next[s] = (int32_t)(*free_head);
    *free_head = s;
}
#endif
