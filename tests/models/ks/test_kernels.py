"""Cython kernels of the K+S model against their NumPy twins (hpcabm/models/ks/reference.py) on
random inputs, and the exactness of the counter-based Beta draws."""
import numpy as np
import pytest

from hpcabm.kernels import ks as K
from hpcabm.models.ks import reference as R


def vintages(rng, n2=40, V=12):
    vA = rng.uniform(0.5, 3.0, (n2, V))
    vA[:, 3] = vA[:, 1]                                    # ties in productivity
    vn = rng.integers(1, 6, (n2, V)).astype(np.int64)
    vt = -rng.integers(0, 25, (n2, V)).astype(np.int64)
    nv = rng.integers(0, V - 1, n2).astype(np.int64)
    return vA, vn, vt, nv


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_labour_and_plan_match_twin(seed):
    rng = np.random.default_rng(seed)
    vA, vn, vt, nv = vintages(rng)
    n2 = nv.size
    Q = rng.uniform(0, 300, n2)
    assert np.allclose(K.labour_for(vA, vn, nv, Q, 40.0), R.labour_for(vA, vn, nv, Q, 40.0), rtol=1e-13)
    De, N = rng.uniform(0, 400, n2), rng.uniform(0, 50, n2)
    pstar, Astar = rng.uniform(20, 60, n2), rng.uniform(1, 4, n2)
    args = (vA, vn, vt, nv, 3, 20, De, N, pstar, Astar, 1.3, 3.0, 40.0, 0.1, 0.75, 0.5)
    got, want = K.plan(*args), R.plan(*args)
    for g, w_ in zip(got, want):
        assert np.allclose(g, w_, rtol=1e-13), (g, w_)
    assert (got[4] > 0).any() and (got[3] > 0).any() and (got[5] > 0).any() and (got[6] > 0).any()


@pytest.mark.parametrize("seed", [4, 5])
def test_deliver_matches_twin(seed):
    rng = np.random.default_rng(seed)
    vA, vn, vt, nv = vintages(rng)
    n2 = nv.size
    new = rng.integers(0, 4, n2).astype(np.int64)
    Anew = rng.uniform(1, 4, n2)
    SI = np.minimum(rng.integers(0, 8, n2), new).astype(np.int64)
    a = [x.copy() for x in (vA, vn, vt, nv)]
    scr = K.deliver(a[0], a[1], a[2], a[3], 5, 20, new, Anew, SI)
    rA, rn, rt, rnv, rscr = R.deliver(vA, vn, vt, nv, 5, 20, new, Anew, SI)
    assert np.array_equal(a[3], rnv) and np.array_equal(scr, rscr)
    for j in range(n2):
        s = slice(0, rnv[j])
        assert np.array_equal(a[0][j, s], rA[j, s]) and np.array_equal(a[1][j, s], rn[j, s])
        assert np.array_equal(a[2][j, s], rt[j, s])
    # machines are conserved: before - scrapped + delivered = after
    before = np.array([vn[j, :nv[j]].sum() for j in range(n2)])
    after = np.array([a[1][j, :a[3][j]].sum() for j in range(n2)])
    assert np.array_equal(before - scr + new, after)


@pytest.mark.parametrize("seed", [6, 7])
def test_allocate_matches_twin_and_conserves_money(seed):
    rng = np.random.default_rng(seed)
    n = 200
    f = rng.dirichlet(np.ones(n))
    p = rng.uniform(1, 2, n)
    stock = rng.uniform(0, 900, n)
    C = 0.8 * float(np.dot(stock, p))
    sold, l, left = K.allocate(C, f, p, stock, 1e-9 * C, 200)
    rs, rl, rleft = R.allocate(C, f, p, stock, 1e-9 * C, 200)
    assert np.allclose(sold, rs, rtol=1e-12, atol=1e-9) and np.allclose(l, rl, rtol=1e-12, atol=1e-9)
    assert (sold <= stock * (1 + 1e-12)).all()
    assert abs(np.dot(sold, p) + left - C) < 1e-9 * C and left < 1e-6 * C     # all money spent
    # more money than stock: everything sold, the rest left over
    sold, l, left = K.allocate(3 * C, f, p, stock, 1e-9, 200)
    assert np.allclose(sold, stock) and abs(left - (3 * C - np.dot(stock, p))) < 1e-6 * C


def test_beta_order_statistics():
    ids = np.arange(200000, dtype=np.int64)
    b33 = K.beta_int(9, K.P_INNOV, ids, 1, 0, 3, 3)
    b24 = K.beta_int(9, K.P_ENTRY, ids, 1, 0, 2, 4)
    assert abs(b33.mean() - 0.5) < 0.003 and abs(b33.var() - 1 / 28) < 0.001
    assert abs(b24.mean() - 1 / 3) < 0.003 and abs(b24.var() - 8 / 252) < 0.001
    assert np.array_equal(b33, K.beta_int(9, K.P_INNOV, ids, 1, 0, 3, 3))


def test_suppliers_choose_cheapest_brochure():
    n1, n2 = 10, 60
    rng = np.random.default_rng(3)
    cost = rng.uniform(1, 2, n1)
    A = rng.uniform(1, 2, n1)
    sup = (np.arange(n2) % n1).astype(np.int64)
    sup[:5] = -1                                           # their supplier exited
    old = sup.copy()
    nnew = np.zeros(n1, dtype=np.int64)
    K.choose_suppliers(11, 4, sup, cost, A, 0.5, nnew)
    assert (sup >= 0).all() and (nnew >= 1).all()
    # nobody switches to a dearer supplier than the one it had
    keep = old >= 0
    assert (cost[sup[keep]] <= cost[old[keep]]).all()
    assert (sup[keep] != old[keep]).any()
