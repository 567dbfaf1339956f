"""keynes_daily kernels (cython_ext/keynes.pyx) against their Python twins (reference.py), bit for
bit on random inputs, and the money exactness of the goods market."""
import numpy as np
import pytest

from hpcabm.kernels import keynes as K
from hpcabm.models.keynes_daily import reference as R


def test_permutation_matches_twin():
    for t in (0, 7):
        a = K.permutation(5, K.P_GOODS, t, 300)
        assert np.array_equal(a, R.permutation(5, K.P_GOODS, t, 300))
        assert np.array_equal(np.sort(a), np.arange(300))
    assert not np.array_equal(K.permutation(5, K.P_GOODS, 0, 300), K.permutation(5, K.P_GOODS, 1, 300))


def goods_inputs(seed, nh=400, nf=60, tight=False):
    rg = np.random.default_rng(seed)
    budget = rg.uniform(0, 10, nh)
    budget[::17] = 0.0
    alive = np.sort(rg.choice(nf + 10, nf, replace=False)).astype(np.int64)   # dead slots between
    price = rg.uniform(4, 6, nf + 10)
    price[alive[:6]] = price[alive[6]]                                          # ties in price
    cap = np.zeros(nf + 10)
    cap[alive] = rg.uniform(0, 8 if tight else 500, nf)
    cap[alive[::9]] = 0.0
    return budget, alive, price, cap


@pytest.mark.parametrize("seed,kG,tight", [(1, 8, False), (2, 8, True), (3, 3, True), (4, 70, True)])
def test_goods_market_matches_twin_and_conserves_money(seed, kG, tight):
    budget, alive, price, cap = goods_inputs(seed, tight=tight)
    kG = min(kG, 64)
    outs = []
    for impl in (K.goods_market, R.goods_market):
        c = cap.copy()
        sp, rev, sold, dem = np.zeros(budget.size), np.zeros(price.size), np.zeros(price.size), np.zeros(price.size)
        unmet = impl(9, 3, budget, alive, price, c, kG, sp, rev, sold, dem)
        outs.append((unmet, c, sp, rev, sold, dem))
    for a, b in zip(outs[0], outs[1]):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    unmet, c, sp, rev, sold, dem = outs[0]
    assert abs(sp.sum() - rev.sum()) <= 1e-12 * rev.sum()                 # paid = received
    assert abs(sp.sum() + unmet - budget.sum()) <= 1e-10 * budget.sum()   # budget = spent + unmet
    assert np.all(sp <= budget * (1 + 1e-15)) and np.all(c >= -1e-9)
    assert np.allclose(sold + c, cap) and np.all(dem >= sold - 1e-9)      # capacity respected
    dead = np.setdiff1d(np.arange(price.size), alive)
    assert rev[dead].sum() == 0 and dem[dead].sum() == 0
    assert np.allclose(rev, sold * price, rtol=1e-12, atol=1e-9)
    if tight:
        assert unmet > 0 and (dem > sold + 1e-9).any()                   # rationing exercised


def test_goods_market_buys_cheapest_first():
    """One household, ample capacity: it buys only from the cheapest of its sample."""
    price = np.linspace(6, 4, 20)
    alive = np.arange(20, dtype=np.int64)
    sp, rev, sold, dem = np.zeros(1), np.zeros(20), np.zeros(20), np.zeros(20)
    K.goods_market(1, 0, np.array([5.0]), alive, price, np.full(20, 1e9), 20, sp, rev, sold, dem)
    assert rev[19] == 5.0 and rev[:19].sum() == 0                        # k = n: the global cheapest


@pytest.mark.parametrize("seed,nvac,kL", [(1, 30, 5), (2, 4, 5), (3, 0, 5), (4, 200, 3)])
def test_labour_market_matches_twin(seed, nvac, kL):
    rg = np.random.default_rng(seed)
    nh, nf = 300, 40
    searchers = np.sort(rg.choice(nh, 80, replace=False)).astype(np.int64)
    wage = rg.uniform(1500, 1800, nf)
    wage[3] = wage[4]
    resw = rg.uniform(1400, 1750, nh)
    slots = np.sort(rg.integers(0, nf, nvac)).astype(np.int64)
    res = []
    for impl in (K.labour_market, R.labour_market):
        e = np.full(nh, -1, dtype=np.int64)
        rw, sl, hired = resw.copy(), slots.copy(), np.zeros(nf, dtype=np.int64)
        nopen = impl(7, 11, searchers, rw, sl, wage, kL, 0.1, 0.05 / 365, e, hired)
        res.append((nopen, rw, sl, hired, e))
    for a, b in zip(res[0], res[1]):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    nopen, rw, sl, hired, e = res[0]
    assert hired.sum() == nvac - nopen == (e >= 0).sum()
    assert np.array_equal(np.bincount(sl[nopen:], minlength=nf), hired)   # filled vacancies
    h = e >= 0
    assert np.all(wage[e[h]] >= resw[h]) and np.array_equal(rw[h], wage[e[h]])
    off = np.setdiff1d(searchers, np.flatnonzero(h))
    assert np.allclose(rw[off], resw[off] * (1 - 0.05 / 365))             # decay when not hired
    if nvac > 10:
        assert h.any() and (~h[searchers]).any()


def test_household_income_matches_twin():
    rg = np.random.default_rng(3)
    n, nf, nb = 500, 30, 4
    emp = rg.integers(-1, nf, n).astype(np.int64)
    wage = rg.uniform(1500, 1800, nf)
    bank = rg.integers(0, nb, n).astype(np.int64)
    dep = rg.uniform(-5, 100, n)
    out = []
    for impl in (K.household_income, R.household_income):
        d, inc, bi, o = dep.copy(), np.zeros(n), np.zeros(nb), np.zeros(5)
        impl(emp, wage, bank, d, inc, 0.3, 55.0, float(np.maximum(dep, 0).sum()), 0.0001, 0.25, bi, o)
        out.append((d, inc, bi, o))
    for a, b in zip(out[0], out[1]):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-13)
    d, inc, bi, o = out[0]
    assert abs(o[3] - 55.0) < 1e-9                                        # dividends paid in full
    assert abs((d - dep).sum() - (o[0] + o[1] - o[2])) < 1e-9             # net = gross - tax
    assert abs(bi.sum() - o[4]) < 1e-12


@pytest.mark.parametrize("seed", [1, 2])
def test_firm_rules_match_twins(seed):
    """Capacity, vacancies/firings and mark-up/wage/price updates: kernels equal the NumPy forms bit
    for bit (dead slots, zero capacity with and without demand, bounded and unbounded prices)."""
    rg = np.random.default_rng(seed)
    n = 300
    A = rg.lognormal(0, 0.3, n)
    L = rg.integers(0, 30, n).astype(np.int64)
    Kc = rg.uniform(0.5, 30, n)
    alive = rg.uniform(size=n) < 0.85
    Kc[~alive & (np.arange(n) % 2 == 0)] = 0.0                            # exited firms' capital is scrapped
    D = rg.uniform(0, 60, n)
    D[::11] = 0.0
    caps = [np.empty(n), np.empty(n)]
    K.capacity(A, L, Kc, alive.view(np.uint8), 0.6, 0.4, caps[0])
    R.capacity(A, L, Kc, alive, 0.6, 0.4, caps[1])
    assert caps[0].tobytes() == caps[1].tobytes() and (caps[0][~alive] == 0).all()
    cap = caps[0]
    outs = []
    for impl, al in ((K.plan_firms, alive.view(np.uint8)), (R.plan_firms, alive)):
        ratio, vac, fire = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        impl(D, cap, A, Kc, L, al, 0.6, 0.4, 0.9, 0.5, 0.1, ratio, vac, fire)
        outs.append((ratio, vac, fire))
    for a, b in zip(*outs):
        assert a.tobytes() == b.tobytes()
    ratio, vac, fire = outs[0]
    assert (vac > 0).any() and (fire > 0).any() and np.isinf(ratio).any()
    tight = alive & (rg.uniform(size=n) < 0.4)
    for bounded in (1, 0):
        mu0, W0, P0 = rg.uniform(0, 2, n), rg.uniform(1500, 1800, n), rg.uniform(3, 8, n)
        res = []
        for impl, al, ti in ((K.update_prices, alive.view(np.uint8), tight.view(np.uint8)), (R.update_prices, alive, tight)):
            mu, W, P = mu0.copy(), W0.copy(), P0.copy()
            impl(ratio, al, ti, mu, W, P, A, 0.9, 0.5, 0.02, 0.33, 0.2, np.exp(-0.02), np.exp(0.02), bounded)
            res.append((mu, W, P))
        for a, b in zip(*res):
            assert a.tobytes() == b.tobytes()
        mu, W, P = res[0]
        assert (P[~alive] == P0[~alive]).all() and (mu >= 0).all()
        if bounded:
            assert np.all(np.abs(np.log(P / P0)) <= 0.02 + 1e-12)
