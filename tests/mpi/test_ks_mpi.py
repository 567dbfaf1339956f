"""K+S under MPI: a member computed redundantly by all ranks of a group equals the one-rank run
bitwise, and a ks ensemble gives the same members in groups of 1 rank and in one group of all."""
import os
import shutil
import tempfile

import pytest

from hpcabm.core.comm import Comm
from hpcabm.core.ensemble import load_ensemble, plan, run_ensemble
from hpcabm.models.ks import Model
from tests.mpi.replicated import assert_replicated_member_equals_one_rank

pytestmark = pytest.mark.mpi(min_size=2)
CFG = "model: ks\nmonths: 40\nseed: 12\ncheckpoint: {every: 0}\nks: {variant: mark2}\n"


def test_replicated_member_equals_one_rank():
    assert_replicated_member_equals_one_rank(Model, CFG, 40)


def test_ks_ensemble_grouping_invariance():
    world = Comm()
    d = world.bcast(tempfile.mkdtemp(prefix="ks_ens_") if world.is_root else None)
    try:
        cfg = os.path.join(d, "cfg.yaml")
        if world.is_root:
            with open(cfg, "w") as f:
                f.write(CFG)
        world.barrier()
        base, keys, members = plan(cfg, 2, [], ["ks.variant=mark1,mark3"])
        quiet = lambda *a, **k: None
        assert run_ensemble(world, os.path.join(d, "g1"), base, keys, members, 1, log=quiet) == 0
        assert run_ensemble(world, os.path.join(d, "ga"), base, keys, members, world.size, log=quiet) == 0
        if world.is_root:
            e1, ea = load_ensemble(os.path.join(d, "g1")), load_ensemble(os.path.join(d, "ga"))
            assert e1["series"]["gdp"].shape == (4, 40)
            for n in e1["series"]:
                assert e1["series"][n].tobytes() == ea["series"][n].tobytes(), n
            for n in e1["final"]:
                for i in range(4):
                    assert e1["final"][n][i].tobytes() == ea["final"][n][i].tobytes(), n
            assert list(e1["members"]["sweep"]["ks.variant"]) == [b"mark1"] * 2 + [b"mark3"] * 2
    finally:
        world.barrier()
        if world.is_root:
            shutil.rmtree(d, ignore_errors=True)
