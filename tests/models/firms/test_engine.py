"""The labour engines on one rank: serial reference vs parallel sub-step engine, invariants."""
import numpy as np
import pytest

from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.kernels import labour
from hpcabm.models.firms import Model


def run(engine="parallel", K=10, N=1500, months=24, seed=3, extra=""):
    cfg = load_config(text=f"model: firms\nagents: {N}\nmonths: {months}\nseed: {seed}\n"
                           f"firms: {{engine: {engine}, substeps: {K}{extra}}}\n")
    m = Model(cfg, Comm())
    m.initialize()
    for _ in range(months):
        m.step()
        check_invariants(m)
    return m


def check_invariants(m):
    fs = m.firms
    live = np.nonzero(fs.id >= 0)[0]
    # every agent's firm is alive, and member counts and total effort agree exactly
    slots = fs.slots_of(m.firm)
    assert (slots >= 0).all()
    assert np.array_equal(fs.slots_of(fs.id[live]), live)        # the founder index finds every firm
    assert np.array_equal(np.bincount(slots, minlength=fs.capacity)[live], fs.n[live])
    efx_sum = np.zeros(fs.capacity, dtype=np.int64)
    np.add.at(efx_sum, slots, m.efx)
    assert np.array_equal(efx_sum[live], fs.efx[live])
    assert (fs.n[live] >= 1).all()
    assert np.unique(fs.id[live]).size == live.size
    assert fs.n_live == live.size
    free, s = 0, int(fs.free_head[0])                              # the free list holds the rest
    while s >= 0:
        assert fs.id[s] == -1
        free, s = free + 1, int(fs.next[s])
    assert free == fs.capacity - live.size
    assert m.series["firms"][-1] == live.size


def test_parallel_engine_with_one_agent_per_substep_is_the_serial_reference_bitwise():
    a = run("serial", 1)
    b = run("parallel", 10**7)
    assert a.series == b.series
    assert np.array_equal(a.efx, b.efx) and np.array_equal(a.firm, b.firm)
    assert np.array_equal(a.join_month, b.join_month)


def test_substeps_change_the_path_but_not_the_distribution_much():
    a = run("serial", 1, N=4000, months=60)
    b = run("parallel", 4, N=4000, months=60)
    assert a.series != b.series               # coarse sub-steps are a different schedule ...
    sa, sb = np.mean(a.series["mean_size"][-12:]), np.mean(b.series["mean_size"][-12:])
    assert abs(sa - sb) / sa < 0.25           # ... of the same economy


def test_job_changes_entries_exits_are_consistent():
    m = run(months=36)
    s = m.series
    firms = np.array(s["firms"])
    assert np.array_equal(np.diff(firms), np.array(s["entries"][1:]) - np.array(s["exits"][1:]))
    assert firms[0] == m.N - s["exits"][0] + s["entries"][0]
    assert all(e <= j for e, j in zip(s["entries"], s["job_changes"]))
    rate = np.mean(s["job_changes"][12:]) / m.N
    assert 0.005 < rate < 0.04            # at most the 4 % activated


def test_no_startups_and_zero_activation():
    m = run(extra=", startups: false", months=12)
    assert sum(m.series["entries"]) == 0
    m0 = run(extra=", activation: 0.0", months=3)
    assert m0.series["firms"] == [m0.N] * 3 and sum(m0.series["job_changes"]) == 0


def test_singleton_initial_state_uses_best_effort_alone():
    cfg = load_config(text="model: firms\nagents: 200\nmonths: 1\n")
    m = Model(cfg, Comm())
    m.initialize()
    a, b, beta = labour.technology(m.seed, m.agent_ids(), m.tech)
    e = labour.best_effort(m.theta_of(), np.zeros(200), a, b, beta)
    assert np.max(np.abs(m.efx / labour.EFX_SCALE - e)) <= 2.0 ** -40


def test_serial_engine_refuses_several_ranks():
    class Fake:
        size, rank = 2, 0
    cfg = load_config(text="model: firms\nagents: 20\nfirms: {engine: serial}\n")
    with pytest.raises(ValueError, match="one rank"):
        Model(cfg, Fake())


def test_pruning_never_changes_a_decision():
    r = np.random.default_rng(21)
    n, nf = 4000, 300
    s_id = np.arange(nf, dtype=np.int64)
    s_a = r.random(nf) * 0.5
    s_b = 0.75 + 0.5 * r.random(nf)
    s_beta = 1.5 + 0.5 * r.random(nf)
    s_n = r.integers(1, 200, nf).astype(np.int64)
    s_efx = (s_n * r.random(nf) * 0.4 * labour.EFX_SCALE).astype(np.int64)
    own = r.integers(0, nf, n).astype(np.int64)
    theta = r.random(n)
    efx = np.minimum((r.random(n) * 0.4 * labour.EFX_SCALE).astype(np.int64), s_efx[own])
    ptr = np.concatenate([[0], np.cumsum(r.integers(2, 7, n))]).astype(np.int64)
    cand = r.integers(0, nf, ptr[-1]).astype(np.int64)
    st = [r.random(n) * 0.5, 0.75 + 0.5 * r.random(n), 1.5 + 0.5 * r.random(n)]
    args = (theta, efx, own, ptr, cand, s_id, s_a, s_b, s_beta, s_n, s_efx, *st, 1.0, True)
    with_prune = labour.choose_batch(*args, prune=True)
    without = labour.choose_batch(*args, prune=False)
    assert np.array_equal(with_prune, without)
    assert len(set(with_prune.tolist())) > 10      # the test exercises real choices
