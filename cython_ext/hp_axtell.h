/* Team production and best-response effort of Axtell's endogenous-firms model.
 *
 * Output of a team with total effort E:        O(E) = a E + b E^beta                  (Axtell 1999 eq. 1)
 * Utility of member i of a team of n members:  U_i = (O(E)/n)^theta_i (omega - e_i)^(1 - theta_i)
 *                                                                                  (Axtell 1999 eq. 2)
 * Best response of i to the others' effort Eo: e* = argmax_{e in [0, omega]} U_i(e; Eo).
 *
 * log U is strictly concave in e (log O is concave for 1 < beta < 3, log(omega - e) is concave), so
 * e* is unique and sign(dlogU/de) = sign(h(e)) with
 *     h(e) = theta O'(Eo + e) (omega - e) - (1 - theta) O(Eo + e),
 * h(omega) < 0.  For beta = 2 the root has the closed form of Axtell 1999 eq. 5; otherwise we solve
 * h = 0 by Newton's method started at the beta = 2 formula, safeguarded by bisection on a bracket
 * [lo, hi] with h(lo) > 0 > h(hi). n does not enter e* (it scales U by a constant).
 */
#ifndef HP_AXTELL_H
#define HP_AXTELL_H
#include <math.h>
#include <stdint.h>

/* Effort is held in fixed point (units of 2^-40) so that team totals are exact integer sums,
 * independent of the order in which members join and leave. */
#define HP_EFX_SCALE 1099511627776.0      /* 2^40 */
#define HP_EFX_INV (1.0 / 1099511627776.0)

static inline double hp_output(double a, double b, double beta, double E) {
    return E > 0.0 ? a * E + b * pow(E, beta) : 0.0;
}

static inline double hp_utility(double theta, double omega, double e, double a, double b,
                                double beta, double Eo, double n) {
    double O = hp_output(a, b, beta, Eo + e);
    return pow(O / n, theta) * pow(omega - e, 1.0 - theta);
}

/* Axtell 1999 eq. 5 (beta = 2): e* = max{0, [-a - 2b(Eo - theta omega)
 *     + sqrt(a^2 + 4 b theta^2 (omega + Eo)(a + b(omega + Eo)))] / [2b(1 + theta)]}. */
static inline double hp_best_effort_beta2(double theta, double Eo, double a, double b, double omega) {
    double W = omega + Eo;
    double disc = a * a + 4.0 * b * theta * theta * W * (a + b * W);
    double e = (-a - 2.0 * b * (Eo - theta * omega) + sqrt(disc)) / (2.0 * b * (1.0 + theta));
    if (e < 0.0) e = 0.0;
    if (e > omega) e = omega;
    return e;
}

static inline double hp_h(double theta, double Eo, double a, double b, double beta, double omega,
                          double e) {
    double x = Eo + e;
    double O = hp_output(a, b, beta, x);
    double dO = a + (x > 0.0 ? b * beta * pow(x, beta - 1.0) : 0.0);
    return theta * dO * (omega - e) - (1.0 - theta) * O;
}

/* Newton iterations stop when the step is below 1e-12 (1 + e): convergence is quadratic, so the
 * returned iterate is accurate to well below the 2^-40 (9.1e-13) grid efforts are held on. */
static inline double hp_best_effort(double theta, double Eo, double a, double b, double beta,
                                    double omega) {
    if (beta == 2.0) return hp_best_effort_beta2(theta, Eo, a, b, omega);
    if (theta <= 0.0) return 0.0;
    if (theta >= 1.0) return omega;
    /* corner: dU/de <= 0 at e = 0 (only possible when the team already produces) */
    if (Eo > 0.0 && hp_h(theta, Eo, a, b, beta, omega, 0.0) <= 0.0) return 0.0;
    double lo = 0.0, hi = omega;
    double e = hp_best_effort_beta2(theta, Eo, a, b, omega);
    if (!(e > lo && e < hi)) e = 0.5 * (lo + hi);
    for (int it = 0; it < 100; ++it) {
        double x = Eo + e;
        double xb1 = exp((beta - 1.0) * log(x));        /* x^(beta-1) */
        double O = a * x + b * xb1 * x;
        double dO = a + b * beta * xb1;
        double d2O = b * beta * (beta - 1.0) * xb1 / x;
        double h = theta * dO * (omega - e) - (1.0 - theta) * O;
        if (h > 0.0) lo = e; else if (h < 0.0) hi = e; else return e;
        double dh = theta * d2O * (omega - e) - dO;
        double en = (dh < 0.0) ? e - h / dh : 0.5 * (lo + hi);
        if (!(en > lo && en < hi)) en = 0.5 * (lo + hi);
        if (fabs(en - e) <= 1e-12 * (1.0 + e) || hi - lo <= 1e-15) return en;
        e = en;
    }
    return e;
}

/* log U = theta log(O(Eo + e)/n) + (1 - theta) log(omega - e): decisions compare log-utilities. */
static inline double hp_log_utility(double theta, double omega, double e, double a, double b,
                                    double beta, double Eo, double n) {
    double O = hp_output(a, b, beta, Eo + e);
    return theta * log(O / n) + (1.0 - theta) * log(omega - e);
}

/* An upper bound on max_e log U(e; Eo, n) from the tangent of the concave log U at a cheap guess
 * e0 (the beta = 2 formula): log U(e) <= log U(e0) + (e - e0) dlogU/de(e0) on [0, omega].
 * Lets a decision skip the Newton solve of options that cannot beat the best one so far. */
static inline double hp_log_utility_bound(double theta, double omega, double a, double b,
                                          double beta, double Eo, double n) {
    double e0 = hp_best_effort_beta2(theta, Eo, a, b, omega);
    if (e0 >= omega) e0 = 0.5 * omega;
    double x = Eo + e0;
    if (!(x > 0.0)) return INFINITY;
    double xb1 = exp((beta - 1.0) * log(x));
    double O = a * x + b * xb1 * x;
    double dO = a + b * beta * xb1;
    double f = theta * log(O / n) + (1.0 - theta) * log(omega - e0);
    double df = theta * dO / O - (1.0 - theta) / (omega - e0);
    return f + (df > 0.0 ? df * (omega - e0) : -df * e0);
}

/* Quantise an effort to the fixed-point grid (units 2^-40). */
static inline int64_t hp_effort_fx(double e) {
    return (int64_t)llround(e * HP_EFX_SCALE);
}
#endif
