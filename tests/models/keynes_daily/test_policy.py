"""Central bank of keynes_daily: the Taylor rule with the zero lower bound and ceiling, 30-day
annualised inflation, and the one-sided HP filter (Kalman form) against the two-sided HP trend."""
import math

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import spsolve

from hpcabm.models.keynes_daily.policy import OneSidedHP, inflation_30d, taylor


def test_taylor_rule_and_bounds():
    assert taylor(0.02, 0.0) == pytest.approx(0.02)                       # at target: r_bar
    assert taylor(0.04, 0.01) == pytest.approx(0.02 + 1.5 * 0.02 + 0.5 * 0.01)
    assert taylor(-0.15, 0.0) == 0.0                                       # deflation: the ZLB binds
    assert taylor(-0.005, -0.02) == 0.0
    assert taylor(0.5, 0.0) == 0.15                                        # ceiling
    assert taylor(-0.15, 0.0, floor=-0.01) == -0.01                        # the floor is the bound used
    # just above the bound the rule is linear again
    pi0 = 0.02 - 0.02 / 1.5
    assert taylor(pi0 + 0.001, 0.0) == pytest.approx(0.0015)


def test_inflation_30d():
    assert inflation_30d(1.0, 1.0) == 0.0
    assert inflation_30d(1.1, 1.0) == pytest.approx(1.1 ** (365 / 30) - 1)
    assert inflation_30d(0.99, 1.0) < 0


def hp_two_sided(y, lam):
    n = y.size
    D = sparse.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(n - 2, n))
    return spsolve((sparse.identity(n) + lam * D.T @ D).tocsc(), y)


def test_one_sided_hp_equals_end_point_of_two_sided_hp():
    """The Kalman filter of the HP state space gives, at each t, the last point of the two-sided HP
    trend of y[:t+1] (exact with a diffuse start; ours starts informed, so compare after burn-in)."""
    rg = np.random.default_rng(0)
    lam = 50.0
    y = np.cumsum(rg.normal(0.01, 0.05, 400)) + 0.3 * np.sin(np.arange(400) / 9)
    f = OneSidedHP(lam)
    trend = []
    for v in y:
        f.update(v)
        trend.append(f.trend)
    for t in (150, 250, 399):
        assert trend[t] == pytest.approx(hp_two_sided(y[: t + 1], lam)[-1], abs=1e-6)


def test_one_sided_hp_gap_of_a_trend_is_zero_and_state_round_trips():
    f = OneSidedHP(4.3e5)
    gaps = [f.update(0.001 * t) for t in range(3000)]
    assert abs(gaps[-1]) < 1e-4                                            # a linear trend has no gap
    g = OneSidedHP(4.3e5, list(f.s))
    assert g.update(3.1) == f.update(3.1)
    assert math.isnan(OneSidedHP(10).trend)
