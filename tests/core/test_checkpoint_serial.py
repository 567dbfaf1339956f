"""Checkpoint writing, verification and fallback on one rank (the MPI tests repeat on 2 and 3)."""
import os

import h5py
import numpy as np

from hpcabm.core.checkpoint import find_restart, list_checkpoints, read_checkpoint, write_checkpoint
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.firms import Model


def _model(months=6):
    cfg = load_config(text=f"model: firms\nagents: 300\nmonths: {months}\nseed: 5\n")
    m = Model(cfg, Comm())
    m.initialize()
    return cfg, m


def test_roundtrip_and_pruning(tmp_path):
    cfg, m = _model()
    comm = Comm()
    for _ in range(3):
        m.step()
        write_checkpoint(comm, str(tmp_path), m, cfg.yaml(), keep=2)
    files = list_checkpoints(str(tmp_path))
    assert [os.path.basename(f) for f in files] == ["ckpt_m0000003.h5", "ckpt_m0000002.h5"]
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    _, m2 = _model()
    read_checkpoint(comm, files[0], m2)
    assert m2.month == 3 and m2.series == m.series
    for _ in range(3):
        m.step()
        m2.step()
    assert m2.series == m.series
    assert np.array_equal(m2.efx, m.efx) and np.array_equal(m2.firm, m.firm)


def test_corrupt_and_truncated_checkpoints_fall_back(tmp_path):
    cfg, m = _model()
    comm = Comm()
    for _ in range(3):
        m.step()
        write_checkpoint(comm, str(tmp_path), m, cfg.yaml(), keep=3)
    newest, middle, oldest = list_checkpoints(str(tmp_path))
    # flip bytes inside a dataset of the newest
    with h5py.File(newest, "r") as f:
        off = f["agents/efx"].id.get_offset()
    with open(newest, "r+b") as f:
        f.seek(off + 40)
        f.write(b"\xff" * 8)
    msgs = []
    assert find_restart(comm, str(tmp_path), log=msgs.append) == middle
    assert "checksum mismatch in /agents/efx" in msgs[0]
    # truncate the middle one: the oldest is used, also when the truncated file is named
    with open(middle, "r+b") as f:
        f.truncate(os.path.getsize(middle) // 2)
    msgs.clear()
    assert find_restart(comm, middle, log=msgs.append) == oldest
    assert "not usable" in msgs[0] and "truncated" in msgs[0]
    # an interrupted write (no 'complete' mark) is refused
    with h5py.File(oldest, "r+") as f:
        f.attrs["complete"] = 0
    try:
        find_restart(comm, str(tmp_path), log=msgs.append)
        raise AssertionError("expected CheckpointError")
    except RuntimeError as e:
        assert "no valid checkpoint" in str(e)


def test_deferred_columns_and_checksums_in_pieces(tmp_path, monkeypatch):
    """A deferred (callable) column is written like the array it makes; checksums taken and
    verified in small pieces equal the one-piece checksum (so a file verifies either way)."""
    from hpcabm.core import h5io
    comm = Comm()
    a = np.arange(1000, dtype=np.int32) * 7 - 3
    whole, at0 = h5io.block_checksum(a, 5), h5io.block_checksum(a, 0)
    monkeypatch.setattr(h5io, "CHECKSUM_ROWS", 37)
    monkeypatch.setattr(h5io, "READ_ROWS", 101)
    assert h5io.block_checksum(a, 5) == whole
    path = str(tmp_path / "t.h5")
    with h5io.atomic_parallel_file(path, comm) as f:
        g = f.create_group("t")
        h5io.write_columns(comm, g, {"x": lambda: a, "y": a.astype(np.float64), "z": lambda: a[:, None] * [1, 2]})
    assert h5io.verify_file(path, comm) is None
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["t/x"][:], a) and np.array_equal(f["t/z"][:, 1], 2 * a)
        assert int(f["t/x"].attrs["checksum"]) == at0 != whole
