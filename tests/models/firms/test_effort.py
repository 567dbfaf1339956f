"""Best-response effort (Axtell 1999 eqs. 1, 2, 5) against brute force."""
import numpy as np
import pytest

from hpcabm.kernels import labour


def brute_force(theta, Eo, a, b, beta, omega=1.0, n=1.0):
    """Maximise U on a fine grid, then refine by golden-section search (U is unimodal)."""
    g = np.linspace(0, omega, 20001)
    U = ((a * (Eo + g) + b * (Eo + g) ** beta) / n) ** theta * (omega - g) ** (1 - theta)
    k = int(U.argmax())
    lo, hi = g[max(k - 1, 0)], g[min(k + 1, g.size - 1)]
    f = lambda e: ((a * (Eo + e) + b * (Eo + e) ** beta) / n) ** theta * (omega - e) ** (1 - theta)
    r = (np.sqrt(5) - 1) / 2
    for _ in range(200):
        c, d = hi - r * (hi - lo), lo + r * (hi - lo)
        if f(c) < f(d):
            lo = c
        else:
            hi = d
    return 0.5 * (lo + hi)


def _draws(n, seed, beta=None):
    r = np.random.default_rng(seed)
    theta = r.random(n)
    Eo = r.random(n) * r.choice([0.0, 0.3, 3.0, 50.0, 5000.0], n)
    a = r.random(n) * 0.5
    b = 0.75 + 0.5 * r.random(n)
    be = np.full(n, beta) if beta is not None else 1.5 + 0.5 * r.random(n)
    return theta, Eo, a, b, be


@pytest.mark.parametrize("beta", [None, 2.0, 1.5])
def test_best_effort_matches_brute_force(beta):
    theta, Eo, a, b, be = _draws(300, 11, beta)
    e = labour.best_effort(theta, Eo, a, b, be)
    for k in range(theta.size):
        eb = brute_force(theta[k], Eo[k], a[k], b[k], be[k])
        assert abs(e[k] - eb) < 1e-6, (k, e[k], eb)
        # and the solver's effort is at least as good as brute force's
        Uk = labour.utility(theta[k:k+1], e[k:k+1], a[k:k+1], b[k:k+1], be[k:k+1], Eo[k:k+1], np.ones(1))
        Ub = labour.utility(theta[k:k+1], np.array([eb]), a[k:k+1], b[k:k+1], be[k:k+1], Eo[k:k+1], np.ones(1))
        assert Uk[0] >= Ub[0] * (1 - 1e-12)


def test_beta2_closed_form_is_the_root_of_the_first_order_condition():
    theta, Eo, a, b, _ = _draws(2000, 12)
    e = labour.best_effort_beta2(theta, Eo, a, b)
    x = Eo + e
    h = theta * (a + 2 * b * x) * (1 - e) - (1 - theta) * (a * x + b * x * x)
    interior = e > 0
    assert np.all(np.abs(h[interior]) < 1e-9 * (1 + np.abs(a * x + b * x * x))[interior])
    assert np.all(h[~interior] <= 1e-12)    # corner: utility falls with effort at e = 0


def test_numerical_solver_agrees_with_closed_form_near_beta2():
    theta, Eo, a, b, _ = _draws(500, 13)
    e2 = labour.best_effort_beta2(theta, Eo, a, b)
    e_near = labour.best_effort(theta, Eo, a, b, np.full(500, 2.0 - 1e-12))
    assert np.max(np.abs(e2 - e_near)) < 1e-9


def test_free_riding_effort_falls_with_others_effort_and_team_size_does_not_matter():
    theta = np.full(50, 0.6)
    Eo = np.linspace(0, 100, 50)
    e = labour.best_effort(theta, Eo, np.full(50, 0.3), np.ones(50), np.full(50, 1.8))
    assert np.all(np.diff(e) <= 1e-15) and e[-1] < e[0]
    # n only scales U: the argmax is the same (the solver does not take n)
    for n in (1.0, 7.0, 1000.0):
        assert abs(brute_force(0.6, 5.0, 0.3, 1.0, 1.8, n=n) - brute_force(0.6, 5.0, 0.3, 1.0, 1.8)) < 1e-6
