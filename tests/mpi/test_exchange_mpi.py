"""Exchange economies across ranks, in-process: the same economy on COMM_WORLD (2 or 3 ranks) and
on COMM_SELF must agree bitwise (pairs within and across ranks, the interdependent agents' halo,
the replicated meter), checkpoints restart bitwise on another rank count, and the entropy grid
farmed over sub-communicators gives the same measured values as one rank."""
import os
import tempfile

import numpy as np
import pytest
from mpi4py import MPI

from hpcabm.core.h5io import column
from hpcabm.core.checkpoint import find_restart, read_checkpoint, write_checkpoint
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.exchange import Model

pytestmark = pytest.mark.mpi(min_size=2)

CFGS = [
    "model: exchange\nagents: 203\nseed: 5\nexchange: {agent_types: 'sub 60; comp 60; cd rest', "
    "sweeps_per_step: 3, meter: {agents: 41}}\n",
    "model: exchange\nagents: 200\nseed: 6\nexchange: {agent_types: 'inter_tanh 100; inter_exp rest', "
    "goods: 1, sweeps_per_step: 3, meter: {agents: 30}}\n",
    "model: exchange\nagents: 150\nseed: 7\nexchange: {agent_types: 'price_sum 75 mu1=0.5 mu2=1.5; "
    "price_sum rest', goods: 1, sweeps_per_step: 3, meter: {agents: 30}}\n",
]


def gathered(m):
    tables, attrs = m.state_tables()
    out = {}
    for t, cols in tables.items():
        for c, v in cols.items():
            v = np.ascontiguousarray(column(v))
            out[f"{t}/{c}"] = v if m.table_layout[t] == "replicated" else m.comm.allgather_concat(v)
    return out


def run(comm, text, months):
    m = Model(load_config(text=text), comm)
    m.initialize()
    for _ in range(months):
        m.step()
    return m


@pytest.mark.parametrize("text", CFGS)
def test_world_equals_one_rank(text):
    world = Comm()
    mw = run(world, text, 4)
    sw = gathered(mw)
    if world.is_root:
        ms = run(Comm(MPI.COMM_SELF), text, 4)
        ss = gathered(ms)
        assert mw.series == ms.series
        for k in ss:
            assert sw[k].tobytes() == ss[k].tobytes(), k


def test_restart_on_another_rank_count_is_bitwise():
    text = CFGS[1]
    world = Comm()
    d = world.bcast(tempfile.mkdtemp(prefix="hpcabm-ex-") if world.is_root else None)
    cfg = load_config(text=text)
    mw = run(world, text, 2)
    write_checkpoint(world, d, mw, cfg.yaml())
    for _ in range(3):
        mw.step()
    final = gathered(mw)
    if world.is_root:
        c1 = Comm(MPI.COMM_SELF)
        m1 = Model(cfg, c1)
        read_checkpoint(c1, find_restart(c1, d), m1)
        assert m1.month == 2 and m1.econ.t == 6
        for _ in range(3):
            m1.step()
        assert m1.series == mw.series
        s1 = gathered(m1)
        for k in s1:
            assert s1[k].tobytes() == final[k].tobytes(), k
        write_checkpoint(c1, os.path.join(d, "one"), m1, cfg.yaml())
    world.barrier()
    mp = Model(cfg, world)
    read_checkpoint(world, find_restart(world, os.path.join(d, "one")), mp)
    sp = gathered(mp)
    for k in sp:
        assert sp[k].tobytes() == final[k].tobytes(), k
    mp.step()
    mw.step()
    assert mp.series == mw.series


def test_entropy_grid_farmed_equals_one_rank():
    from hpcabm.analysis.entropy import measure_grid
    text = ("model: exchange\nagents: 60\nseed: 2\nexchange: {agent_types: 'sat rest', meter: {agents: 20}}\n"
            "entropy: {points: 3, burn_in: 5, sweeps: 20, ranks_per_point: RPP}\n")
    world = Comm()
    res = {}
    for rpp in (1, 2):
        res[rpp] = measure_grid(load_config(text=text.replace("RPP", str(rpp))), world)
    if world.is_root:
        one = measure_grid(load_config(text=text.replace("RPP", "1")), Comm(MPI.COMM_SELF))
        for rpp in (1, 2):
            assert res[rpp][0].tobytes() == one[0].tobytes()
            assert res[rpp][1].tobytes() == one[1].tobytes()
        assert np.isfinite(one[0]).all()


def test_entropy_replicas_farmed_equal_one_rank_and_extend_the_single_chain():
    """Three chains per point, farmed over the ranks: the same values, errors and per-chain
    readings as on one rank, and chain 0 of each point is the single-chain run's chain."""
    from hpcabm.analysis.entropy import measure_grid
    text = ("model: exchange\nagents: 40\nseed: 4\nexchange: {agent_types: 'cd rest', meter: {agents: 16}}\n"
            "entropy: {points: 2, burn_in: 5, sweeps: 30, replicas: REP}\n")
    world = Comm()
    many = measure_grid(load_config(text=text.replace("REP", "3")), world)
    if world.is_root:
        self_comm = Comm(MPI.COMM_SELF)
        one = measure_grid(load_config(text=text.replace("REP", "3")), self_comm)
        for a, b in zip(many[:2], one[:2]):
            assert a.tobytes() == b.tobytes()
        assert many[3]["replica_val"].tobytes() == one[3]["replica_val"].tobytes()
        single = measure_grid(load_config(text=text.replace("REP", "1")), self_comm)
        assert many[3]["replica_val"][..., 0, :].tobytes() == single[0].tobytes()
        assert not np.array_equal(many[0], single[0])
