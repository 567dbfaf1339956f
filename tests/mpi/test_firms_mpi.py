"""Determinism across rank counts, restart and repartition of the firms model, in-process:
the same model runs on COMM_WORLD (2 or 3 ranks) and on COMM_SELF (1 rank) and must agree bitwise."""
import os
import tempfile

import numpy as np
import pytest
from mpi4py import MPI

from hpcabm.core.h5io import column
from hpcabm.core.checkpoint import find_restart, read_checkpoint, write_checkpoint
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.firms import Model

pytestmark = pytest.mark.mpi(min_size=2)
CFG = "model: firms\nagents: 1201\nmonths: 20\nseed: 9\nfirms: {substeps: 5}\n"


def make(comm, text=CFG):
    m = Model(load_config(text=text), comm)
    return m


def gathered_state(m):
    tables, attrs = m.state_tables()
    out = {f"{t}/{c}": m.comm.allgather_concat(np.ascontiguousarray(column(v))) for t, cols in tables.items()
           for c, v in cols.items()}
    return out, attrs


def run(comm, months, text=CFG):
    m = make(comm, text)
    m.initialize()
    for _ in range(months):
        m.step()
    return m


def test_same_results_on_world_and_on_one_rank():
    world = Comm()
    mw = run(world, 20)
    sw, _ = gathered_state(mw)
    if world.is_root:
        ms = run(Comm(MPI.COMM_SELF), 20)
        ss, _ = gathered_state(ms)
        assert mw.series == ms.series
        for k in ss:
            assert sw[k].tobytes() == ss[k].tobytes(), k


def test_restart_on_another_rank_count_continues_bitwise():
    world = Comm()
    d = world.bcast(tempfile.mkdtemp(prefix="hpcabm-mpi-") if world.is_root else None)
    cfg = load_config(text=CFG)
    mw = run(world, 8)
    write_checkpoint(world, d, mw, cfg.yaml())          # written by P ranks
    for _ in range(12):
        mw.step()
    final_world, _ = gathered_state(mw)
    # 1 rank restarts from the P-rank checkpoint
    if world.is_root:
        self_comm = Comm(MPI.COMM_SELF)
        m1 = make(self_comm)
        read_checkpoint(self_comm, find_restart(self_comm, d), m1)
        assert m1.month == 8
        for _ in range(12):
            m1.step()
        s1, _ = gathered_state(m1)
        assert m1.series == mw.series
        for k in s1:
            assert s1[k].tobytes() == final_world[k].tobytes(), k
        # and writes a 1-rank checkpoint that the P ranks read back below
        write_checkpoint(self_comm, os.path.join(d, "one"), m1, cfg.yaml())
    world.barrier()
    mp = make(world)
    read_checkpoint(world, find_restart(world, os.path.join(d, "one")), mp)
    sp, _ = gathered_state(mp)
    assert mp.month == 20
    for k in sp:
        assert sp[k].tobytes() == final_world[k].tobytes(), k


def test_odd_split_substeps_and_more_ranks_than_firms_agree():
    text = "model: firms\nagents: 7\nmonths: 30\nseed: 2\nfirms: {substeps: 3, activation: 0.5}\n"
    world = Comm()
    mw = run(world, 30, text)
    if world.is_root:
        ms = run(Comm(MPI.COMM_SELF), 30, text)
        assert ms.series == mw.series


@pytest.mark.mpi(min_size=2)
def test_firm_rows_block_equals_one_value_at_a_time():
    """Several int64 values per firm fetched in one look-up (firm_rows_block, wages + payout +
    flags in MASs Macro) equal firm_values_block column by column, for firms homed here and
    elsewhere and agents without a firm."""
    m = make(Comm(MPI.COMM_WORLD))
    m.initialize()
    for _ in range(6):
        m.step()
    fs = m.firms
    live = np.nonzero(fs.id >= 0)[0]
    per_slot = np.zeros((fs.capacity, 3), dtype=np.int64)
    per_slot[live, 0] = fs.id[live] * 3 + 1
    per_slot[live, 1] = -fs.n[live].astype(np.int64)
    per_slot[live, 2] = fs.id[live] % 7
    for sl in m._slices(m.part.count, 97):
        rows = m.firm_rows_block(per_slot, sl)
        for k in range(3):
            col = np.ascontiguousarray(per_slot[:, k])
            assert np.array_equal(rows[:, k], m.firm_values_block(col, sl, 0))
        assert np.array_equal(rows[:, 0] > 0, m.firm[sl] >= 0)
