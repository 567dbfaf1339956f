/* Agent-level rules of Axtell's endogenous-firms model shared by the parallel engine and the
 * serial exact-asynchronous reference engine: the two call the same code, so with one activated
 * agent per sub-step they are bitwise identical (tested). */
#ifndef HP_LABOUR_H
#define HP_LABOUR_H
#include "hp_rng.h"
#include "hp_axtell.h"

#define HP_MAX_FRIENDS 64
#define HP_CHOICE_STAY (-1)
#define HP_CHOICE_STARTUP (-2)

/* Friends of agent i: nu_i ~ U{nu_min..nu_max} ids drawn uniformly from the other N-1 agents
 * (a directed Erdos-Renyi-type graph fixed for the run, regenerated on demand: no memory). */
static inline int hp_friends(uint64_t seed, int64_t i, int64_t N, int nu_min, int nu_max, int64_t *out) {
    if (N <= 1) return 0;
    uint64_t key = hp_key(seed, HP_P_FRIENDS, (uint64_t)i, 0);
    int span = nu_max - nu_min + 1;
    int nu = nu_min + (int)(hp_u01(hp_draw(key, 0)) * span);
    if (nu > HP_MAX_FRIENDS) nu = HP_MAX_FRIENDS;
    uint64_t j = 1;
    for (int f = 0; f < nu; ++f) {
        int64_t x;
        do { x = (int64_t)(hp_u01(hp_draw(key, j++)) * (double)N); } while (x == i);
        out[f] = x;
    }
    return nu;
}

/* Technology of firm `fid`: a ~ U[a_lo,a_hi], b ~ U[b_lo,b_hi], beta ~ U[beta_lo,beta_hi]. */
typedef struct { double a_lo, a_hi, b_lo, b_hi, beta_lo, beta_hi; } hp_techspec;

static inline void hp_technology(uint64_t seed, int64_t fid, const hp_techspec *ts,
                                 double *a, double *b, double *beta) {
    uint64_t key = hp_key(seed, HP_P_TECH, (uint64_t)fid, 0);
    *a = ts->a_lo + (ts->a_hi - ts->a_lo) * hp_u01(hp_draw(key, 0));
    *b = ts->b_lo + (ts->b_hi - ts->b_lo) * hp_u01(hp_draw(key, 1));
    *beta = ts->beta_lo + (ts->beta_hi - ts->beta_lo) * hp_u01(hp_draw(key, 2));
}

/* One activated agent's decision (Axtell 2013 sec. 2; 2018 Table 1): compare
 *   stay   : best effort in own firm f against the others' effort E_f - e_i, n = N_f;
 *   join g : best effort in each distinct friend's firm g != f, against E_g, n = N_g + 1;
 *   start  : a new firm alone (only if not already alone), n = 1, technology of the new firm id;
 * and return the best (ties: stay, then friends in friend order, then start-up).
 * Candidates c = 0..nc-1 carry (a, b, beta, n, efx) of each friend's firm as seen now. */
static inline int hp_choose(double theta, double omega, int64_t efx_i,
                            double a_f, double b_f, double beta_f, int64_t n_f, int64_t efx_f,
                            int nc, const int64_t *cid, const double *ca, const double *cb,
                            const double *cbeta, const int64_t *cn, const int64_t *cefx,
                            int64_t own_id, int allow_start, double s_a, double s_b, double s_beta,
                            int prune, double *best_u_out) {
    /* Options are compared by log-utility. An option whose tangent bound (hp_log_utility_bound)
     * is below the best so far by more than HP_PRUNE_MARGIN cannot win and is not solved; the
     * margin makes pruning exact up to rounding of the utilities themselves. */
    const double HP_PRUNE_MARGIN = 1e-9;
    double Eo = (double)(efx_f - efx_i) * HP_EFX_INV;
    double e = hp_best_effort(theta, Eo, a_f, b_f, beta_f, omega);
    double best = hp_log_utility(theta, omega, e, a_f, b_f, beta_f, Eo, (double)n_f);
    int choice = HP_CHOICE_STAY;
    for (int c = 0; c < nc; ++c) {
        if (cid[c] == own_id) continue;
        int dup = 0;
        for (int d = 0; d < c; ++d) if (cid[d] == cid[c]) { dup = 1; break; }
        if (dup) continue;
        double Eg = (double)cefx[c] * HP_EFX_INV;
        double ng = (double)(cn[c] + 1);
        if (prune && hp_log_utility_bound(theta, omega, ca[c], cb[c], cbeta[c], Eg, ng) < best - HP_PRUNE_MARGIN)
            continue;
        double eg = hp_best_effort(theta, Eg, ca[c], cb[c], cbeta[c], omega);
        double ug = hp_log_utility(theta, omega, eg, ca[c], cb[c], cbeta[c], Eg, ng);
        if (ug > best) { best = ug; choice = c; }
    }
    if (allow_start && n_f > 1 &&
        (!prune || hp_log_utility_bound(theta, omega, s_a, s_b, s_beta, 0.0, 1.0) >= best - HP_PRUNE_MARGIN)) {
        double es = hp_best_effort(theta, 0.0, s_a, s_b, s_beta, omega);
        double us = hp_log_utility(theta, omega, es, s_a, s_b, s_beta, 0.0, 1.0);
        if (us > best) { best = us; choice = HP_CHOICE_STARTUP; }
    }
    *best_u_out = best;
    return choice;
}

/* Commit events at a firm, one at a time in priority order (Gauss-Seidel best responses):
 *   STAY : re-optimise against the firm's current total minus own effort;
 *   LEAVE: remove own effort and membership;
 *   JOIN : add membership and best effort against the current total.
 * Returns the new effort (fixed point) for STAY/JOIN, -1 for LEAVE. */
enum { HP_EV_STAY = 0, HP_EV_LEAVE = 1, HP_EV_JOIN = 2 };
static inline int64_t hp_commit_event(int kind, double theta, int64_t efx_old, double omega,
                                      double a, double b, double beta, int32_t *n, int64_t *efx) {
    if (kind == HP_EV_LEAVE) { *efx -= efx_old; *n -= 1; return -1; }
    int64_t others = *efx;
    if (kind == HP_EV_STAY) others -= efx_old; else *n += 1;
    double e = hp_best_effort(theta, (double)others * HP_EFX_INV, a, b, beta, omega);
    int64_t e_fx = hp_effort_fx(e);
    *efx = others + e_fx;
    return e_fx;
}
#endif
