"""Central bank of the daily Keynesian economy: the Taylor rule with its bounds (PDF eq. 16; seed) and
the one-sided Hodrick-Prescott trend of daily log GDP that defines its output gap.

Pure functions and a small state object, so the rule is tested on its own
(tests/models/keynes_daily/test_policy.py)."""
import math


def taylor(pi, gap, r_bar=0.02, pi_star=0.02, psi_pi=1.5, psi_y=0.5, floor=0.0, ceiling=0.15):
    """i_t = clip(r_bar + psi_pi (pi_t - pi*) + psi_y gap_t, floor, ceiling). The seed writes
    "pi_t =" on the left-hand side: a typo for the policy rate. floor = 0 is the zero lower bound."""
    r = r_bar + psi_pi * (pi - pi_star) + psi_y * gap
    return min(max(r, floor), ceiling)


def inflation_30d(cpi_now, cpi_30_ago):
    """Annualised 30-day CPI inflation (CPI_t / CPI_{t-30})^(365/30) - 1."""
    return (cpi_now / cpi_30_ago) ** (365.0 / 30.0) - 1.0


class OneSidedHP:
    """One-sided HP filter as the Kalman filter of its state-space form: y_t = tau_t + e_t,
    tau_t = 2 tau_{t-1} - tau_{t-2} + u_t with var(e)/var(u) = lambda (Harvey & Jaeger 1993; the
    filtered trend equals the last point of the two-sided HP trend of the data up to t). O(1) per
    day. The state (trend, previous trend, covariance) is a flat list of 7 floats for checkpoints.
    Initialisation (P): both trend states at the first observation with variance var(e), i.e. a
    flat trend known to within one noise s.d."""

    def __init__(self, lam, state=None):
        self.q = 1.0 / lam
        self.s = list(state) if state is not None else []

    def update(self, y):
        """Filter observation y; returns the gap y - trend_t."""
        if not self.s:
            self.s = [y, y, 1.0, 0.0, 0.0, 1.0, 1.0]
            return 0.0
        a, b, p00, p01, p10, p11, _ = self.s
        # predict: x = F x, F = [[2, -1], [1, 0]]; P = F P F' + diag(q, 0)
        xa, xb = 2 * a - b, a
        f00 = 2 * p00 - p10
        f01 = 2 * p01 - p11
        q00 = 2 * f00 - f01 + self.q
        q01 = f00
        q10 = 2 * p00 - p01
        q11 = p00
        # update with observation variance 1
        S = q00 + 1.0
        k0, k1 = q00 / S, q10 / S
        v = y - xa
        a, b = xa + k0 * v, xb + k1 * v
        p00, p01 = q00 - k0 * q00, q01 - k0 * q01
        p10, p11 = q10 - k1 * q00, q11 - k1 * q01
        self.s = [a, b, p00, p01, p10, p11, 1.0]
        return y - a

    @property
    def trend(self):
        return self.s[0] if self.s else math.nan
