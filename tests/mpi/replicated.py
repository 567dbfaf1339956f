"""Shared check for models whose member is replicated on every rank of its communicator (small
models run as ensemble members): the same config on all ranks and on one rank gives the same series."""
import numpy as np
from mpi4py import MPI

from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config


def run_series(model_cls, cfg_text, steps, comm):
    m = model_cls(load_config(text=cfg_text), comm)
    m.initialize()
    for _ in range(steps):
        m.step()
    return {k: np.asarray(v) for k, v in m.series.items()}


def assert_replicated_member_equals_one_rank(model_cls, cfg_text, steps):
    world = Comm()
    a = run_series(model_cls, cfg_text, steps, world)
    b = run_series(model_cls, cfg_text, steps, Comm(MPI.COMM_SELF))
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), k
    gathered = world.allgather(a["gdp"].tobytes())
    assert all(g == gathered[0] for g in gathered)
