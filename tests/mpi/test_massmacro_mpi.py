"""MASs Macro across ranks: bitwise-identical results on COMM_WORLD (2 or 3 ranks) and on one
rank, and a restart on another rank count continuing bitwise (all goods-market state included)."""
import tempfile

import numpy as np
import pytest
from mpi4py import MPI

from hpcabm.core.h5io import column
from hpcabm.core.checkpoint import find_restart, read_checkpoint, write_checkpoint
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.massmacro import Model

pytestmark = pytest.mark.mpi(min_size=2)
CFG = "model: massmacro\nagents: 1301\nmonths: 12\nseed: 5\nfirms: {substeps: 3}\n"


def run(comm, months, text=CFG):
    m = Model(load_config(text=text), comm)
    m.initialize()
    for _ in range(months):
        m.step()
    return m


def gathered(m):
    tables, _ = m.state_tables()
    return {f"{t}/{c}": m.comm.allgather_concat(np.ascontiguousarray(column(v))) for t, cols in tables.items()
            for c, v in cols.items()}


@pytest.mark.parametrize("text", [CFG, CFG + "massmacro: {markets_from: 7}\n"],
                         ids=["markets-from-0", "warm-start-checkpoint-before-markets"])
def test_world_equals_one_rank_and_restart_repartitions(text):
    world = Comm()
    d = world.bcast(tempfile.mkdtemp(prefix="hpcabm-mm-") if world.is_root else None)
    cfg = load_config(text=text)
    mw = run(world, 5, text)
    write_checkpoint(world, d, mw, cfg.yaml())
    for _ in range(7):
        mw.step()
    sw = gathered(mw)
    assert mw.market_on and mw.series["money_total"][-1] > 0
    if world.is_root:
        self_comm = Comm(MPI.COMM_SELF)
        ms = run(self_comm, 12, text)
        ss = gathered(ms)
        assert ms.series == mw.series
        for k in ss:
            assert ss[k].tobytes() == sw[k].tobytes(), k
        m1 = Model(cfg, self_comm)
        read_checkpoint(self_comm, find_restart(self_comm, d), m1)
        for _ in range(7):
            m1.step()
        assert m1.series == mw.series
        s1 = gathered(m1)
        for k in s1:
            assert s1[k].tobytes() == sw[k].tobytes(), k
    world.barrier()


def test_employer_sector_map_is_every_agents_employer_sector():
    """The replicated employer-sector map (gathered from every rank's cache; neighbour ranks may
    share a byte on 3 ranks) holds emp_sector + 1 of every agent, on every rank."""
    world = Comm()
    m = run(world, 4)
    emp = world.allgather_concat(m.emp_sector)
    with m._employer_sector_map():
        smap = m.sector_map.copy()
    assert m.sector_map is None
    g = np.arange(m.N)
    assert np.array_equal((smap[g // 4] >> (2 * (g % 4))) & 3, emp + 1)
