"""Ensemble member invariance across rank counts and groupings (in-process, under mpiexec -n 2/3):
the same ensemble run in groups of 1 rank, in one group of all ranks, and on rank 0 alone must give
bitwise identical member datasets (firms model, which partitions its agents over a group)."""
import os
import shutil
import tempfile

import pytest
from mpi4py import MPI

from hpcabm.core.comm import Comm
from hpcabm.core.ensemble import load_ensemble, plan, run_ensemble

pytestmark = pytest.mark.mpi(min_size=2)
CFG = "model: firms\nagents: 700\nmonths: 10\nseed: 5\ncheckpoint: {every: 5}\nfirms: {substeps: 3}\n"


def quiet(*a, **k):
    pass


def test_members_identical_for_any_grouping():
    world = Comm()
    d = world.bcast(tempfile.mkdtemp(prefix="ens_mpi_") if world.is_root else None)
    try:
        cfg = os.path.join(d, "cfg.yaml")
        if world.is_root:
            with open(cfg, "w") as f:
                f.write(CFG)
        world.barrier()
        base, keys, members = plan(cfg, 3, [], ["firms.activation=0.04,0.1"])
        assert run_ensemble(world, os.path.join(d, "g1"), base, keys, members, 1, log=quiet) == 0
        assert run_ensemble(world, os.path.join(d, "gall"), base, keys, members, world.size, log=quiet) == 0
        if world.is_root:
            assert run_ensemble(Comm(MPI.COMM_SELF), os.path.join(d, "self"), base, keys, members, 1,
                                log=quiet) == 0
        world.barrier()
        if world.is_root:
            e = {k: load_ensemble(os.path.join(d, k)) for k in ("g1", "gall", "self")}
            assert list(e["gall"]["members"]["ranks"]) == [world.size] * 6
            assert list(e["g1"]["members"]["ranks"]) == [1] * 6
            for k in ("g1", "gall"):
                assert e[k]["attrs"]["complete"] == 1
                for n, v in e["self"]["series"].items():
                    assert v.shape == (6, 10) and v.tobytes() == e[k]["series"][n].tobytes(), (k, n)
                for n, rows in e["self"]["final"].items():
                    for i in range(6):
                        assert rows[i].tobytes() == e[k]["final"][n][i].tobytes(), (k, n, i)
                assert e[k]["members"]["seed"].tobytes() == e["self"]["members"]["seed"].tobytes()
    finally:
        world.barrier()
        if world.is_root:
            shutil.rmtree(d, ignore_errors=True)


def test_ranks_per_member_must_divide():
    world = Comm()
    from hpcabm.core.config import ConfigError
    with pytest.raises(ConfigError, match="must divide"):
        run_ensemble(world, "/nonexistent", None, [], [], world.size + 1, log=quiet)
