/* K+S model helpers shared by cython_ext/ks.pyx. */
#ifndef HP_KS_H
#define HP_KS_H
#include <stdint.h>
#include "hp_rng.h"

/* Beta(a, b) for integer a, b >= 1: the a-th smallest of a+b-1 independent uniforms
 * (order statistic), using draws j0 .. j0+a+b-2 of the stream `key`. Exact, no rejection. */
static inline double hp_ks_beta_int(uint64_t key, uint64_t j0, int a, int b) {
    double u[32];
    int n = a + b - 1, i, k;
    if (n > 32) n = 32;
    for (i = 0; i < n; i++) {
        double x = hp_u01(hp_draw(key, j0 + (uint64_t)i));
        k = i - 1;
        while (k >= 0 && u[k] > x) { u[k + 1] = u[k]; k--; }
        u[k + 1] = x;
    }
    return u[a - 1];
}
#endif
