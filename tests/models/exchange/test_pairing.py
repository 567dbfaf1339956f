"""The deterministic pairing: the Feistel permutation (kernel = NumPy twin), partners, colour
classes for interdependent agents, and the sweep loop on one rank = the distributed path."""
import numpy as np
import pytest
from mpi4py import MPI

from hpcabm.core.comm import Comm
from hpcabm.kernels import exchange as kx
from hpcabm.models.exchange import reference as ref
from hpcabm.models.exchange.agents import parse_agent_types
from hpcabm.models.exchange.economy import Economy


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 17, 1000, 4099])
def test_permutation_is_a_bijection_and_equals_twin(n):
    key = kx.perm_key(9, 4, 1)
    x = np.arange(n, dtype=np.int64)
    y = kx.perm(key, n, x)
    assert np.array_equal(np.sort(y), x)
    assert np.array_equal(kx.perm(key, n, y, True), x)
    for v in x[:: max(1, n // 50)]:
        assert ref.perm(key, n, int(v)) == y[v]
        assert ref.perm(key, n, int(y[v]), inverse=True) == v


@pytest.mark.parametrize("N,q", [(10, 1), (11, 1), (1000, 2), (1001, 2), (1000, 3), (999, 3), (7, 3)])
def test_partners_form_a_matching_within_colour_classes(N, q):
    ids = np.arange(N, dtype=np.int64)
    for c in range(q):
        p = kx.partners(5, 3, q, c, N, ids)
        has = p >= 0
        assert np.array_equal(p[p[has]], ids[has])            # symmetric
        assert np.all(ids[has] % q == c) and np.all(p[has] % q == c)
        assert (~has & (ids % q == c)).sum() <= 2              # odd class / wrap-excluded agent
        pairs = sorted(tuple(sorted((i, j))) for i, j in zip(ids[has], p[has]) if i < j)
        assert pairs == sorted(ref.matching(kx.perm_key(5, 3, c), N, q, c))
        if q >= 2:   # no agent of a sub-step is a circle neighbour of another one
            act = np.sort(ids[has])
            gaps = np.diff(np.concatenate([act, [act[0] + N]]))
            assert gaps.min() >= 2


SPECS = [("cd 150 eta=3 a1=3 a2=3; cd rest eta=2 a1=2 a2=2", 2),
         ("sub 100; comp 100; cd rest", 2),
         ("sat rest", 2),
         ("inter_tanh rest", 1),
         ("price_sum 100 mu1=0.5 mu2=1.5; price_sum rest mu1=0.9 mu2=1.1", 1)]


@pytest.mark.parametrize("spec,goods", SPECS)
def test_c_sweep_loop_equals_distributed_path_on_one_rank(spec, goods):
    comm = Comm(MPI.COMM_SELF)
    groups = parse_agent_types(spec, 301, goods)
    out = []
    for dist in (False, True):
        e = Economy(comm, groups, goods, 17, n_meter=50, force_distributed=dist)
        e.init_random(300.0, 250.0, 400.0)
        s = e.sweeps(12)
        out.append((s, e.m.copy(), e.g1.copy(), e.g2.copy(), e.mm.copy(), e.global_counters()[:2]))
    for a, b in zip(*out):
        assert np.array_equal(a, b)
    e_tot = Economy(comm, groups, goods, 17, n_meter=0)
    e_tot.init_random(300.0, 250.0, 400.0)
    e_tot.sweeps(5)
    M, G1, G2 = e_tot.totals()
    assert M == pytest.approx(300.0, rel=1e-12) and G1 == pytest.approx(250.0, rel=1e-12)
    assert G2 == pytest.approx(400.0 if goods == 2 else 0.0, rel=1e-12, abs=1e-12)


def test_cd_meter_reads_the_known_temperature_and_values():
    """CD economy, eqs. 3 and 10: beta = sum(eta_i)/M, nu_j = sum(a_j,i)/G_j (up to O(1/N))."""
    from hpcabm.models.exchange.economy import readings
    comm = Comm(MPI.COMM_SELF)
    groups = parse_agent_types("cd 200 eta=3 a1=3 a2=3; cd rest eta=2 a1=2 a2=2", 400, 2)
    e = Economy(comm, groups, 2, 3, n_meter=400)
    e.init_random(500.0, 800.0, 300.0)
    e.sweeps(100)
    val, err = readings(e.sweeps(600), 400, e.meter, 10)
    exact = np.array([1000 / 500.0, 1000 / 800.0, 1000 / 300.0])
    assert np.all(np.abs(val - exact) < 5 * err + 3e-3 * exact), (val, exact, err)
