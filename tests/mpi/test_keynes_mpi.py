"""keynes_daily under MPI: a member computed redundantly by every rank of a group equals the
one-rank run bitwise, and a Halton-seeded ensemble's members equal serial runs of their seeds."""
import os
import shutil
import tempfile

import numpy as np
import pytest
from mpi4py import MPI

from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.core.ensemble import halton_seeds, load_ensemble, plan, run_ensemble
from hpcabm.models.keynes_daily import Model

pytestmark = pytest.mark.mpi(min_size=2)
CFG = ("model: keynes_daily\nagents: 400\nmonths: 40\nseed: 4\ncheckpoint: {every: 0}\n"
       "keynes: {firms: 40, banks: 3, money0: 40000.0, demand_day: 32, crisis_day: 36, crisis: equity+npl}\n")


def series(comm):
    m = Model(load_config(text=CFG), comm)
    m.initialize()
    for _ in range(40):
        m.step()
    return {k: np.asarray(v) for k, v in m.series.items()}


def test_replicated_member_equals_one_rank():
    world = Comm()
    a = series(world)
    b = series(Comm(MPI.COMM_SELF))
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), k
    gathered = world.allgather(a["gdp"].tobytes())
    assert all(g == gathered[0] for g in gathered)


def test_halton_ensemble_members_equal_serial_runs():
    """Two Halton-seeded members run in groups of one rank: each equals an in-process run of its seed."""
    world = Comm()
    d = world.bcast(tempfile.mkdtemp(prefix="kd_ens_") if world.is_root else None)
    try:
        cfg = os.path.join(d, "cfg.yaml")
        if world.is_root:
            with open(cfg, "w") as f:
                f.write(CFG)
        world.barrier()
        base, keys, members = plan(cfg, 2, [], seeds="halton")
        quiet = lambda *a, **k: None
        assert run_ensemble(world, os.path.join(d, "g1"), base, keys, members, 1, log=quiet) == 0
        if world.is_root:
            e = load_ensemble(os.path.join(d, "g1"))
            assert list(e["members"]["seed"]) == halton_seeds(2)
            for i, sd in enumerate(halton_seeds(2)):
                m = Model(load_config(text=CFG, overrides=[f"seed={sd}"]), Comm(MPI.COMM_SELF))
                m.initialize()
                for _ in range(40):
                    m.step()
                for n, v in m.series.items():
                    assert e["series"][n][i].tobytes() == np.asarray(v).tobytes(), n
    finally:
        world.barrier()
        if world.is_root:
            shutil.rmtree(d, ignore_errors=True)
