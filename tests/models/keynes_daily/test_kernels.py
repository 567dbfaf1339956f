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


# -- fused day steps (cython_ext/keynes.pyx) against the NumPy forms the model used before -------------

def _same(a, b):
    for x, y in zip(a, b):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


def test_pairwise_sum_is_numpy_sum():
    rg = np.random.default_rng(0)
    for n in list(range(0, 140)) + [1000, 8191, 8193, 10000, 100003]:
        x = rg.lognormal(0, 3, n) * rg.choice([-1.0, 1.0], n)
        assert K.pairwise_sum(x) == x.sum(), n
    for w in (1, 7, 8, 30, 129, 365):                                    # dring means, any window
        d = rg.lognormal(0, 2, (50, w))
        outs = [np.empty(50), np.empty(50)]
        K.row_means(d, outs[0])
        R.row_means(d, outs[1])
        _same(*[[o] for o in outs])


def test_household_steps_match_twins():
    rg = np.random.default_rng(5)
    n, nf = 700, 40
    emp = rg.integers(-1, nf, n).astype(np.int64)
    dep = rg.uniform(-5, 100, n)
    dep[::13] = 0.0
    inc, c = rg.uniform(0, 3, n), rg.uniform(0, 4, n)
    res = []
    for M in (K, R):
        d, i_, c_ = dep.copy(), inc.copy(), c.copy()
        nu = M.transfers(emp, d, i_, 0.7, 0.3, 0.75)
        L = np.zeros(nf, dtype=np.int64)
        s = M.employment(emp, L)
        M.budgets(c_, i_, 0.7, 1 - 0.7, 0.94)
        res.append((nu, d, i_, c_, L, s))
    _same(*res)
    assert res[0][0] == (emp < 0).sum() and (res[0][2] == 0).all()
    alive = rg.uniform(size=nf) < 0.8
    vac = rg.integers(0, 4, nf).astype(np.int64)
    sl = [M.vacancy_slots(alive.view(np.uint8) if M is K else alive, vac) for M in (K, R)]
    _same([sl[0]], [sl[1]])
    tt = [np.empty(nf, dtype=np.uint8), np.empty(nf, dtype=bool)]
    K.still_open(sl[0], 5, tt[0])
    R.still_open(sl[0], 5, tt[1])
    assert np.array_equal(tt[0].view(bool), tt[1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fire_workers_matches_twin(seed):
    rg = np.random.default_rng(seed)
    n, nf = 600, 30
    emp = rg.integers(-1, nf, n).astype(np.int64)
    fire = np.where(rg.uniform(size=nf) < 0.4, rg.integers(0, 12, nf), 0).astype(np.int64)
    if seed == 3:
        fire[:] = 0
    wage = rg.uniform(1500, 1800, nf)
    resw = rg.uniform(1400, 1700, n)
    res = []
    for M in (K, R):
        e, f, r = emp.copy(), fire.copy(), resw.copy()
        k = M.fire_workers(11, 302, 7, e, f, wage, r)
        res.append((k, e, f, r))
    _same(*res)
    if seed != 3:
        assert res[0][0] > 0 and (res[0][2] == 0).all()


def test_goods_day_matches_twin():
    budget, alive, price, cap = goods_inputs(6, tight=True)
    rg = np.random.default_rng(6)
    c = budget * 1.1
    dep = rg.uniform(-1, 12, budget.size)
    res = []
    for M in (K, R):
        d, b, sp = dep.copy(), np.empty(c.size), np.zeros(c.size)
        rev, sold, dem, sums = np.zeros(price.size), np.zeros(price.size), np.zeros(price.size), np.empty(2)
        u = M.goods_day(9, 4, c, 0.7, d, b, alive, price, cap.copy(), 8, sp, rev, sold, dem, sums)
        res.append((u, d, b, sp, rev, sold, dem, sums))
    _same(*res)


@pytest.mark.parametrize("premium,frozen", [(1, False), (0, True)])
def test_firm_accounts_credit_exit_recap_match_twins(premium, frozen):
    rg = np.random.default_rng(premium + 10)
    n, nb = 200, 4
    alive = rg.uniform(size=n) < 0.85
    fb = rg.integers(0, nb, n).astype(np.int64)
    rev, W, L = rg.uniform(0, 50, n), rg.uniform(1500, 1800, n), rg.integers(0, 20, n).astype(np.int64)
    debt = np.where(rg.uniform(size=n) < 0.6, rg.uniform(0, 300, n), 0.0)
    cash, Kc, profit = rg.uniform(-40, 200, n), rg.uniform(0.5, 20, n), rg.uniform(-10, 10, n)
    cash[::17] = 0.0
    eq = rg.uniform(5, 40, nb)
    fz = (rg.uniform(size=nb) < 0.5).astype(np.int64) if frozen else np.zeros(nb, dtype=np.int64)
    res = []
    for M in (K, R):
        al = alive.view(np.uint8) if M is K else alive
        ca, kc, pr, de = cash.copy(), Kc.copy(), profit.copy(), debt.copy()
        outs = [np.empty(n) for _ in range(6)] + [np.zeros(nb) for _ in range(3)] + [np.empty(7)]
        M.firm_accounts(rev, L, W, de, ca, kc, pr, al, fb, 1.3, 912.5, 0.02, 0.5, premium, 0.02, 0.21, 0.4,
                        premium, 0.1, 1 - 0.05 / 365, 1.2, *outs)
        cr = [np.empty(n) for _ in range(5)] + [np.empty(n, dtype=np.uint8 if M is K else bool)]
        M.credit(al, fb, fz, ca, de, kc, outs[0], eq, 1.3, 912.5, 0.7, 0.08, 0.8, 10.0, *cr)
        e, dead = np.empty(n), np.empty(n, dtype=np.uint8 if M is K else bool)
        cnt = M.exit_scan(ca, kc, de, al, cr[5], 1.2, 912.5, -0.5, e, dead)
        eq2, bd, fr = eq.copy(), np.array([-1, 3, -1, 2], dtype=np.int64), fz.copy()
        inj = M.recapitalise(fb, de * 3, eq2, bd, fr, 0.08, 9, 5 if frozen else 0, int(frozen))
        win = M.innovators(4, 303, 9, al, 0.3)
        res.append(outs + [ca, kc, pr, de] + cr[:5] + [cr[5].view(bool), cnt, e, dead.view(bool), inj, eq2, bd, fr, win])
    _same(*res)
    assert res[0][-5] > 0                                                   # some bank was recapitalised
