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
    assert np.array_equal(np.bincount(slots, minlength=fs.capacity)[live], fs.n[live])
    efx_sum = np.zeros(fs.capacity, dtype=np.int64)
    np.add.at(efx_sum, slots, m.efx)
    assert np.array_equal(efx_sum[live], fs.efx[live])
    assert (fs.n[live] >= 1).all()
    assert np.unique(fs.id[live]).size == live.size
    assert len(fs.map) == live.size
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
    a, b, beta = labour.technology(m.seed, m.ids, m.tech)
    e = labour.best_effort(m.theta, np.zeros(200), a, b, beta)
    assert np.max(np.abs(m.efx / labour.EFX_SCALE - e)) <= 2.0 ** -40


def test_serial_engine_refuses_several_ranks():
    class Fake:
        size, rank = 2, 0
    cfg = load_config(text="model: firms\nagents: 20\nfirms: {engine: serial}\n")
    with pytest.raises(ValueError, match="one rank"):
        Model(cfg, Fake())
