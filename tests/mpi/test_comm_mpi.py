"""The communication layer under 2 and 3 ranks (run by `make test` with mpiexec -n 2 and -n 3)."""
import math
import os
import tempfile

import h5py
import numpy as np
import pytest

from hpcabm.core.comm import BlockPartition, Comm
from hpcabm.core.h5io import open_parallel, verify_file, write_table

pytestmark = pytest.mark.mpi(min_size=2)


def shared_tmpdir(comm):
    d = tempfile.mkdtemp(prefix="hpcabm-mpi-") if comm.is_root else None
    return comm.bcast(d)


def test_exchange_and_fetch_route_every_record():
    comm = Comm()
    r = np.random.default_rng(comm.rank)
    n = 1000 + 17 * comm.rank
    dest = r.integers(0, comm.size, n)
    dt = np.dtype([("src", "i8"), ("k", "i8"), ("x", "f8")])
    rec = np.zeros(n, dt)
    rec["src"] = comm.rank
    rec["k"] = np.arange(n)
    rec["x"] = r.random(n)
    got, route = comm.exchange(dest, rec)
    assert np.all(got["src"] == route.source_ranks)
    for s in range(comm.size):                       # each source's records keep their order
        assert np.all(np.diff(got["k"][got["src"] == s]) > 0)
    assert comm.sum_int(got.size) == comm.sum_int(n)
    back = comm.fetch(dest, rec, lambda q: q["x"] * 2 + comm.rank)
    assert np.array_equal(back, rec["x"] * 2 + dest)


def test_exchange_with_empty_sends():
    comm = Comm()
    n = 5 if comm.rank == 0 else 0
    rec = np.arange(n, dtype=np.int64)
    got, route = comm.exchange(np.full(n, comm.size - 1, np.int64), rec)
    assert got.size == (5 if comm.rank == comm.size - 1 else 0)
    assert comm.reply(route, got * 3).tolist() == (rec * 3).tolist()


def test_exact_sum_same_for_any_split():
    comm = Comm()
    r = np.random.default_rng(99)
    v = r.standard_normal(30_001) * np.exp(r.standard_normal(30_001) * 15)
    part = BlockPartition(v.size, comm.size, comm.rank)
    assert comm.exact_sum(v[part.lo:part.hi]) == math.fsum(v)
    # an uneven, shuffled split gives the same bits
    idx = np.random.default_rng(5).permutation(v.size)
    chunks = np.array_split(idx, [100, 101][: comm.size - 1])
    assert comm.exact_sum(v[chunks[comm.rank]]) == math.fsum(v)


def test_collective_write_with_zero_rows_on_some_ranks_does_not_hang():
    comm = Comm()
    d = shared_tmpdir(comm)
    path = os.path.join(d, "t.h5")
    local = np.arange(10, dtype=np.float64) + 100 * comm.rank if comm.rank == 1 else np.zeros(0)
    offset, total = comm.exscan_int(local.size)
    with open_parallel(path, "w", comm) as f:
        assert f.driver == "mpio"
        write_table(comm, f, "x", local, offset, total)
        write_table(comm, f, "empty", np.zeros(0, np.int32), 0, 0)
        f.attrs["complete"] = 1
    assert verify_file(path, comm) is None
    comm.barrier()
    if comm.is_root:
        with h5py.File(path, "r") as f:
            assert f["x"][:].tolist() == (np.arange(10) + 100).tolist()
            assert f["empty"].shape == (0,)
