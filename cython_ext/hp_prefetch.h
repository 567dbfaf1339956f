/* Cache hints for kernels that gather from large arrays at addresses known a few iterations
   ahead (seller-book rows, firm slots). A hint never changes a result. */
#ifndef HP_PREFETCH_H
#define HP_PREFETCH_H

static inline void hp_prefetch_w(const void *p) { __builtin_prefetch(p, 1, 3); }
static inline void hp_prefetch_r(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
