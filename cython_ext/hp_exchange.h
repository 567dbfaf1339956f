/* Exchange economies (Luo, MacKay & Chater 2026; seed 003): the pair-encounter rule shared by the
 * serial sweep loop and the distributed path of cython_ext/exchange.pyx.
 *
 * On an encounter two agents pool money m and goods g1, g2 and redistribute them with probability
 * density proportional to the product of their utilities for the outcome (paper §2). Exact
 * samplers where the density factorises into Beta splits (Cobb-Douglas money and goods, eq. 1);
 * for price-sensitive agents (eqs. 19, 21) an exact draw from the unconstrained outcome density,
 * refused if the implied price is outside the band of either agent (their outcome depends on the current holdings,
 * so an MCMC move would change the process); otherwise a univariate slice
 * sampler (Neal 2003, shrinkage from the whole feasible interval) on each pooled good, which leaves
 * the pair's conditional density invariant.
 *
 * Every random number comes from a counter stream (hp_rng.h) keyed by the pair, so an encounter
 * gives the same bits on whatever rank computes it. The pair is always evaluated with the agent of
 * lower id first. hpcabm/models/exchange/reference.py is the NumPy twin of the utilities and of the
 * pairing permutation.
 */
#ifndef HP_EXCHANGE_H
#define HP_EXCHANGE_H
#include <math.h>
#include <stdint.h>
#include "hp_rng.h"

/* Agent kinds (keep in sync with hpcabm/models/exchange/agents.py) */
enum {
    HX_CD = 0,          /* eq. 1   m^(eta-1) g1^(a1-1) g2^(a2-1)                                  */
    HX_SUB = 1,         /* eq. 12  m^(eta-1) (g1+g2)^(a1-1)                                       */
    HX_COMP = 2,        /* eq. 13  m^(eta-1) min(g1,g2)^(a1-1)                                    */
    HX_SAT = 3,         /* eq. 18  m^(eta-1) g2^(a2-1) exp(-g1^2/(k(g1-c))), 0 for g1 <= c;
                                   p0 = c, p1 = k                                                 */
    HX_PRICE = 4,       /* eq. 19  g'^(a1-1) m'^(eta-1) if the implied price is acceptable;
                                   p0 = mu1, p1 = mu2: the band of acceptable prices        */
    HX_PRICE_SUM = 5,   /* eq. 21  (g+g')^(a1-1) (m+m')^(eta-1), same price rule                  */
    HX_INTER_EXP = 6,   /* eq. 22  m^(eta-1) g^(a1-1) exp(g - gn)                                 */
    HX_INTER_TANH = 7,  /* eqs. 22, 26  m^(eta-1) g^(a1-1) U(g - gn),
                                   U(x) = (p0 e^x + p1 e^-x)/(e^x + e^-x)                         */
    HX_NKINDS = 8
};

/* compartment, contact: economies put in contact (hpcabm/analysis/entropy_contact.py) are
 * compartments of one economy; a pair from two compartments exchanges only what both agents'
 * contact masks allow (HX_CONTACT_MONEY | HX_CONTACT_GOODS). The meter has compartment -1. */
typedef struct { int kind; double eta, a1, a2, p0, p1; int compartment, contact; } hx_type;
#define HX_CONTACT_MONEY 1
#define HX_CONTACT_GOODS 2
typedef struct { double m, g1, g2, gn; } hx_hold;

#define HX_MAX_TRIES 1000000
#define HX_SLICE_MAX 200

/* ---- counter stream ------------------------------------------------------------------------ */
typedef struct { uint64_t key; uint64_t j; } hx_stream;

static inline double hx_u(hx_stream *s) { return hp_u01(hp_draw(s->key, s->j++)); }
/* uniform in (0, 1] */
static inline double hx_upos(hx_stream *s) { return 1.0 - hx_u(s); }

static inline double hx_normal(hx_stream *s) {
    double u1 = hx_upos(s), u2 = hx_u(s);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Gamma(a, 1): Marsaglia & Tsang (2000); a < 1 by the boost G(a) = G(a+1) U^(1/a). */
static double hx_gamma(hx_stream *s, double a) {
    double d, c, x, v, u;
    if (a < 1.0) {
        double g = hx_gamma(s, a + 1.0);
        return g * pow(hx_upos(s), 1.0 / a);
    }
    d = a - 1.0 / 3.0;
    c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        do { x = hx_normal(s); v = 1.0 + c * x; } while (v <= 0.0);
        v = v * v * v;
        u = hx_upos(s);
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

/* Beta(a, b) as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b). */
static inline double hx_beta(hx_stream *s, double a, double b) {
    double x = hx_gamma(s, a), y = hx_gamma(s, b);
    return x / (x + y);
}

/* ---- utilities ----------------------------------------------------------------------------- */
/* e * log(x) with 0 * log(0) = 0 (an exponent of 1 means the good does not enter). */
static inline double hx_plog(double e, double x) {
    if (e == 0.0) return 0.0;
    return e * log(x);
}

static inline double hx_log_u26(double a, double b, double x) {
    /* (a e^x + b e^-x) / (e^x + e^-x) = b + (a - b) / (1 + e^(-2x)) */
    return log(b + (a - b) / (1.0 + exp(-2.0 * x)));
}

static inline int hx_is_price(int kind) { return kind == HX_PRICE || kind == HX_PRICE_SUM; }

/* log of the goods factor of the utility (money enters as m^(eta-1) for all non-price kinds). */
static inline double hx_lgoods(const hx_type *t, double g1, double g2, double gn, int ngoods) {
    double r;
    switch (t->kind) {
    case HX_CD:
        r = hx_plog(t->a1 - 1.0, g1);
        if (ngoods == 2) r += hx_plog(t->a2 - 1.0, g2);
        return r;
    case HX_SUB:
        return hx_plog(t->a1 - 1.0, g1 + g2);
    case HX_COMP:
        return hx_plog(t->a1 - 1.0, g1 < g2 ? g1 : g2);
    case HX_SAT:
        if (g1 <= t->p0) return -INFINITY;
        r = -g1 * g1 / (t->p1 * (g1 - t->p0));
        if (ngoods == 2) r += hx_plog(t->a2 - 1.0, g2);
        return r;
    case HX_INTER_EXP:
        return hx_plog(t->a1 - 1.0, g1) + (g1 - gn);
    case HX_INTER_TANH:
        return hx_plog(t->a1 - 1.0, g1) + hx_log_u26(t->p0, t->p1, g1 - gn);
    }
    return -INFINITY;
}

/* log of the pair's goods density when the first agent holds (x1, x2) of the pooled (G1, G2). */
static inline double hx_pair_lgoods(const hx_type *ti, const hx_type *tj, double gni, double gnj,
                                    double G1, double G2, double x1, double x2, int ngoods) {
    return hx_lgoods(ti, x1, x2, gni, ngoods) + hx_lgoods(tj, G1 - x1, G2 - x2, gnj, ngoods);
}

/* One slice-sampling update of coordinate `c` (0: good 1, 1: good 2) of the first agent's share,
 * from the current value; the interval starts as the whole [0, G] and shrinks towards the current
 * point (Neal 2003, fig. 8 with w = G), which is exact for a bounded support. */
static double hx_slice(hx_stream *s, const hx_type *ti, const hx_type *tj, double gni, double gnj,
                       double G1, double G2, double *x, int c, double lf0, int ngoods) {
    double G = c == 0 ? G1 : G2, cur = x[c], L = 0.0, R = G, y, lf;
    int it;
    y = lf0 + log(hx_upos(s));
    for (it = 0; it < HX_SLICE_MAX; it++) {
        x[c] = L + hx_u(s) * (R - L);
        lf = hx_pair_lgoods(ti, tj, gni, gnj, G1, G2, x[0], x[1], ngoods);
        if (lf > y) return lf;
        if (x[c] < cur) L = x[c]; else R = x[c];
    }
    x[c] = cur;
    return lf0;
}

/* max over 0 <= x <= S of a log x + b log(S - x), for a, b >= 0 */
static inline double hx_lbound(double a, double b, double S) {
    double r = 0.0;
    if (a > 0.0) r += a * log(a);
    if (b > 0.0) r += b * log(b);
    if (a + b > 0.0) r += (a + b) * (log(S) - log(a + b));
    return r;
}

/* Share x in [0, T] of a pooled amount T for the first agent when the pair's density is
 * (si + x)^(a-1) (sj + T - x)^(b-1) (si = sj = 0: a Beta split; eq. 21 shifts by the current
 * holdings): y = (si + x)/S with S = si + sj + T is Beta(a, b) truncated to [si/S, (si+T)/S],
 * sampled by drawing Beta(a, b) until it falls in the window. Returns -1 if that fails. */
static double hx_shifted_split(hx_stream *s, double a, double b, double si, double sj, double T,
                               int64_t *tries) {
    double S = si + sj + T, lo, hi, y;
    int k;
    if (si == 0.0 && sj == 0.0) { *tries += 1; return T * hx_beta(s, a, b); }
    lo = si / S;
    hi = (si + T) / S;
    for (k = 1; k <= HX_MAX_TRIES; k++) {
        y = hx_beta(s, a, b);
        if (y >= lo && y <= hi) {
            *tries += k;
            return fmin(fmax(y * S - si, 0.0), T);
        }
    }
    *tries += HX_MAX_TRIES;
    return -1.0;
}

/* Price-sensitive encounter (one good; paper §4.2). Eqs. 19 and 21 give each price-sensitive
 * agent a utility that is 0 unless mu1 <= (m'-m)/(g-g') <= mu2, its own band, whether it buys or
 * sells; the implied price p = dm/dg is the same for both agents of the pair, so the product of
 * the two utilities is non-zero only when p lies in the band of every price-sensitive agent of the
 * pair (the intersection of the bands; a CD partner such as the meter has no band). The outcome is
 * proposed from the product of the utilities without the price condition (eq. 19: CD; eq. 21:
 * shifted by the current holdings) on the whole pair simplex, and the pair keeps its holdings if p
 * is outside the allowed band. The condition is symmetric (the reverse trade has the same p), so
 * with eq. 19 every encounter is reversible with respect to the product of the CD utilities on the
 * simplex (the proposal's normaliser does not depend on the current split), as the paper says;
 * with eq. 21 a lone pair is reversible with respect to the proposal's normaliser. An earlier
 * reading (the seller refuses p < its mu1, the buyer p > its mu2; §4.2's example of classes whose
 * bands do not overlap) made trades between nested classes irreversible: the wider class sold
 * cheap and bought dear and lost its wealth to the narrower one without end (tests/models/exchange/
 * test_samplers.py, docs/models/exchange.md). */
static int hx_price_encounter(hx_stream *s, const hx_type *ti, const hx_type *tj,
                              const hx_hold *hi, const hx_hold *hj, hx_hold *oi, hx_hold *oj,
                              int64_t *tries) {
    double M = hi->m + hj->m, G = hi->g1 + hj->g1, xm, xg, dm, dg, p, lo, hi_;
    int pi = hx_is_price(ti->kind), pj = hx_is_price(tj->kind);
    double smi = ti->kind == HX_PRICE_SUM ? hi->m : 0.0, smj = tj->kind == HX_PRICE_SUM ? hj->m : 0.0;
    double sgi = ti->kind == HX_PRICE_SUM ? hi->g1 : 0.0, sgj = tj->kind == HX_PRICE_SUM ? hj->g1 : 0.0;
    *oi = *hi;
    *oj = *hj;
    xm = hx_shifted_split(s, ti->eta, tj->eta, smi, smj, M, tries);
    xg = hx_shifted_split(s, ti->a1, tj->a1, sgi, sgj, G, tries);
    if (xm < 0.0 || xg < 0.0) return -1;
    dm = xm - hi->m;
    dg = hi->g1 - xg;
    if (dg == 0.0) return 0;
    p = dm / dg;
    lo = 0.0;
    hi_ = INFINITY;
    if (pi) { lo = ti->p0; hi_ = ti->p1; }
    if (pj) { lo = fmax(lo, tj->p0); hi_ = fmin(hi_, tj->p1); }
    if (!(p >= lo && p <= hi_)) return 0;
    oi->m = xm; oj->m = M - xm;
    oi->g1 = xg; oj->g1 = G - xg;
    return 1;
}

static int hx_encounter_full(uint64_t key, const hx_type *ti, const hx_type *tj, const hx_hold *hi,
                             const hx_hold *hj, hx_hold *oi, hx_hold *oj, int ngoods, int inner,
                             int64_t *tries);

/* One encounter of agents i (lower id) and j. Returns 1 on a trade, 0 if no outcome is feasible
 * (or the price is refused), -1 if a rejection sampler gave up. `inner` = slice-sampling rounds
 * for the goods without an exact sampler. */
static int hx_encounter(uint64_t key, const hx_type *ti, const hx_type *tj, const hx_hold *hi,
                        const hx_hold *hj, hx_hold *oi, hx_hold *oj, int ngoods, int inner,
                        int64_t *tries) {
    int r = hx_encounter_full(key, ti, tj, hi, hj, oi, oj, ngoods, inner, tries);
    if (ti->compartment != tj->compartment && ti->compartment >= 0 && tj->compartment >= 0) {
        /* Contact between two economies: money enters every non-price utility as a separate
         * factor m^(eta-1), so keeping the holdings of what may not cross from the full draw is
         * an exact draw of what may cross (price agents are excluded from contact). */
        int mask = ti->contact & tj->contact;
        if (!(mask & HX_CONTACT_MONEY)) { oi->m = hi->m; oj->m = hj->m; }
        if (!(mask & HX_CONTACT_GOODS)) { oi->g1 = hi->g1; oj->g1 = hj->g1; oi->g2 = hi->g2; oj->g2 = hj->g2; }
        if (!mask) return 0;
    }
    return r;
}

static int hx_encounter_full(uint64_t key, const hx_type *ti, const hx_type *tj, const hx_hold *hi,
                             const hx_hold *hj, hx_hold *oi, hx_hold *oj, int ngoods, int inner,
                             int64_t *tries) {
    hx_stream s = {key, 0};
    double M, G1, G2, x[2], lf;
    int r, c, exact1 = 0, exact2 = 0;
    if (hx_is_price(ti->kind) || hx_is_price(tj->kind))
        return hx_price_encounter(&s, ti, tj, hi, hj, oi, oj, tries);
    *oi = *hi;
    *oj = *hj;
    M = hi->m + hj->m;
    oi->m = M * hx_beta(&s, ti->eta, tj->eta);
    oj->m = M - oi->m;
    G1 = hi->g1 + hj->g1;
    G2 = ngoods == 2 ? hi->g2 + hj->g2 : 0.0;
    if (ti->kind == HX_CD && tj->kind == HX_CD) {
        exact1 = 1;
        exact2 = 1;
    } else if (ti->kind == HX_INTER_EXP && tj->kind == HX_INTER_EXP) {
        exact1 = 1;   /* e^(g_i) e^(g_j) = e^(G) is constant on the pair's simplex */
    } else if (ti->kind == HX_SAT && tj->kind == HX_SAT) {
        exact2 = 1;
    }
    if (exact1) { oi->g1 = G1 * hx_beta(&s, ti->a1, tj->a1); oj->g1 = G1 - oi->g1; }
    if (ngoods == 2 && exact2) { oi->g2 = G2 * hx_beta(&s, ti->a2, tj->a2); oj->g2 = G2 - oi->g2; }
    if (exact1 && (ngoods == 1 || exact2)) return 1;
    x[0] = oi->g1;
    x[1] = ngoods == 2 ? oi->g2 : 0.0;
    lf = hx_pair_lgoods(ti, tj, hi->gn, hj->gn, G1, G2, x[0], x[1], ngoods);
    if (!(lf > -INFINITY)) {
        /* infeasible current split (e.g. a satiable agent below c): look for a feasible one */
        for (r = 0; r < HX_SLICE_MAX && !(lf > -INFINITY); r++) {
            if (!exact1) x[0] = G1 * hx_u(&s);
            if (ngoods == 2 && !exact2) x[1] = G2 * hx_u(&s);
            lf = hx_pair_lgoods(ti, tj, hi->gn, hj->gn, G1, G2, x[0], x[1], ngoods);
        }
        if (!(lf > -INFINITY)) return 0;
    }
    for (r = 0; r < inner; r++)
        for (c = 0; c < ngoods; c++)
            if (!(c == 0 ? exact1 : exact2) && (c == 0 ? G1 : G2) > 0.0)
                lf = hx_slice(&s, ti, tj, hi->gn, hj->gn, G1, G2, x, c, lf, ngoods);
    oi->g1 = x[0]; oj->g1 = G1 - x[0];
    if (ngoods == 2) { oi->g2 = x[1]; oj->g2 = G2 - x[1]; }
    return 1;
}

/* ---- pairing ------------------------------------------------------------------------------- */
/* A pseudo-random permutation of [0, n): a 4-round balanced Feistel network on 2h bits with
 * 2^(2h) >= n, restricted to [0, n) by cycle walking (Black & Rogaway 2002). Both directions are
 * O(1) per element, so each rank finds its agents' partners without building the permutation. */
static inline int hx_half_bits(uint64_t n) {
    int b = 1;
    while (((uint64_t)1 << (2 * b)) < n) b++;
    return b;
}

static inline uint64_t hx_feistel(uint64_t key, int h, uint64_t x, int inverse) {
    uint64_t mask = ((uint64_t)1 << h) - 1, L = x >> h, R = x & mask, T;
    int r;
    if (!inverse) {
        for (r = 0; r < 4; r++) {
            T = L ^ (hp_mix64(key ^ ((uint64_t)(r + 1) * HP_GOLDEN) ^ R) & mask);
            L = R; R = T;
        }
    } else {
        for (r = 3; r >= 0; r--) {
            T = R ^ (hp_mix64(key ^ ((uint64_t)(r + 1) * HP_GOLDEN) ^ L) & mask);
            R = L; L = T;
        }
    }
    return (L << h) | R;
}

static inline uint64_t hx_perm(uint64_t key, uint64_t n, uint64_t x, int inverse) {
    int h = hx_half_bits(n);
    do { x = hx_feistel(key, h, x, inverse); } while (x >= n);
    return x;
}

/* Number of agents in colour class c of modulus q among 0..N-1. With q >= 2 (interdependent
 * agents on a circle) the class must not contain two circle neighbours: agent N-1 is left out of
 * class 0 when (N-1) % q == 0, because agent 0 is its neighbour. */
static inline int64_t hx_class_size(int64_t N, int q, int c) {
    int64_t n = c < N ? (N - 1 - c) / q + 1 : 0;
    if (q >= 2 && c == 0 && (N - 1) % q == 0 && N > 1) n -= 1;
    return n;
}

/* Partner of agent i in sub-step (class c, modulus q) whose permutation key is pkey, or -1. */
static inline int64_t hx_partner(uint64_t pkey, int64_t N, int q, int c, int64_t i) {
    int64_t n, k, pos;
    if (((i % q) + q) % q != c) return -1;
    n = hx_class_size(N, q, c);
    k = (i - c) / q;
    if (k >= n) return -1;
    pos = (int64_t)hx_perm(pkey, (uint64_t)n, (uint64_t)k, 1);
    pos ^= 1;
    if (pos >= n) return -1;
    return c + q * (int64_t)hx_perm(pkey, (uint64_t)n, (uint64_t)pos, 0);
}
#endif
