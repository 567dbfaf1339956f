/* MASs Macro labour decision (shared/notes/MASS_MACRO.md sec. 3.3, 3.9): Axtell's rule with the
 * goods-market value of a firm's output. Decision utility of agent i in firm f at effort e:
 *     U = (r_f O_f(E~ + e) / n)^theta (omega - e)^(1 - theta),
 * r_f = the firm's smoothed net revenue per unit of team output. r_f rescales income only, so the
 * best effort is Axtell's e* (hp_best_effort) and log U = theta log r_f + Axtell's log U.
 * Candidate firms must be open; an unemployed agent accepts an option only if its expected income
 * r O(E~ + e*)/n reaches its reservation wage; a start-up needs liquidity (can_start). */
#ifndef HP_MASSMACRO_H
#define HP_MASSMACRO_H
#include "hp_labour.h"

static inline int hp_choose_market(double theta, double omega, int employed, int64_t efx_i,
                                   double a_f, double b_f, double beta_f, int64_t n_f,
                                   int64_t efx_f, double r_f, int64_t own_id,
                                   int nc, const int64_t *cid, const double *ca, const double *cb,
                                   const double *cbeta, const int64_t *cn, const int64_t *cefx,
                                   const double *cr, const int8_t *copen, double wres,
                                   int can_start, double s_a, double s_b, double s_beta,
                                   double r_new) {
    const double margin = 1e-9;
    double best = -INFINITY;
    int choice = HP_CHOICE_STAY;
    if (employed) {
        double Eo = (double)(efx_f - efx_i) * HP_EFX_INV;
        double e = hp_best_effort(theta, Eo, a_f, b_f, beta_f, omega);
        best = theta * log(r_f) + hp_log_utility(theta, omega, e, a_f, b_f, beta_f, Eo, (double)n_f);
    }
    for (int c = 0; c < nc; ++c) {
        if (cid[c] < 0 || cid[c] == own_id || !copen[c]) continue;
        int dup = 0;
        for (int d = 0; d < c; ++d) if (cid[d] == cid[c]) { dup = 1; break; }
        if (dup) continue;
        double Eg = (double)cefx[c] * HP_EFX_INV;
        double ng = (double)(cn[c] + 1);
        /* an unemployed agent's income there is at most r O(E~ + omega)/n (O grows with effort):
         * below the reservation wage (with a relative margin far above rounding), the option
         * fails the test below whatever the effort, so its effort need not be solved */
        if (!employed && cr[c] * hp_output(ca[c], cb[c], cbeta[c], Eg + omega) / ng * (1.0 + 1e-12) < wres)
            continue;
        double lr = theta * log(cr[c]);
        /* an option whose utility bound is below the best so far cannot be chosen */
        if (best > -INFINITY && lr + hp_log_utility_bound(theta, omega, ca[c], cb[c], cbeta[c], Eg, ng) < best - margin)
            continue;
        double eg = hp_best_effort(theta, Eg, ca[c], cb[c], cbeta[c], omega);
        if (!employed && cr[c] * hp_output(ca[c], cb[c], cbeta[c], Eg + eg) / ng < wres) continue;
        double ug = lr + hp_log_utility(theta, omega, eg, ca[c], cb[c], cbeta[c], Eg, ng);
        if (ug > best) { best = ug; choice = c; }
    }
    if (can_start && (!employed || n_f > 1)) {
        double es = hp_best_effort(theta, 0.0, s_a, s_b, s_beta, omega);
        double inc = r_new * hp_output(s_a, s_b, s_beta, es);
        if (employed || inc >= wres) {
            double us = theta * log(r_new) + hp_log_utility(theta, omega, es, s_a, s_b, s_beta, 0.0, 1.0);
            if (us > best) { best = us; choice = HP_CHOICE_STARTUP; }
        }
    }
    return choice;
}
#endif
