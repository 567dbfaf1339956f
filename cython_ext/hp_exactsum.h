/* Exact (order- and partition-independent) float summation into int64 buckets.
 * A double v = M 2^(E-53), |M| < 2^53, is split into a high and a low 26/27-bit half added, with
 * its sign, to bucket E + HP_EXP_OFFSET. Integer adds are exact and associative. Safe for up to
 * 2^35 values per bucket array. Finalised in Python (hpcabm.kernels.core.exact_sum_finalize). */
#ifndef HP_EXACTSUM_H
#define HP_EXACTSUM_H
#include <math.h>
#include <stdint.h>
#include <string.h>
#define HP_EXP_OFFSET 1100
#define HP_N_BUCKETS 2200

static inline void hp_acc_add(int64_t *acc, double v) {
    uint64_t u;
    int e;
    int64_t M, s;
    memcpy(&u, &v, sizeof u);
    int eb = (int)((u >> 52) & 0x7FF);
    if (eb != 0 && eb != 0x7FF) {
        /* normal numbers, read from the bits: |v| = (2^52 + F) 2^(eb - 1075), the M and E of
         * frexp (m = M 2^-53 in [0.5, 1), e = eb - 1022) without the two libm calls */
        M = (int64_t)((u & 0xFFFFFFFFFFFFFULL) | (1ULL << 52));
        e = eb - 1022;
        s = (u >> 63) ? -1 : 1;
    } else {                                /* zero, subnormal, inf, nan: through frexp */
        if (v == 0.0) return;
        double m = frexp(v, &e);
        M = (int64_t)ldexp(m, 53);
        s = 1;
        if (M < 0) { M = -M; s = -1; }
    }
    acc[2 * (e + HP_EXP_OFFSET)] += s * (M >> 26);
    acc[2 * (e + HP_EXP_OFFSET) + 1] += s * (M & 0x3FFFFFF);
}
#endif
