"""The CLI under mpiexec (launched from the serial test session): results.h5 bitwise identical on
1, 2 and 3 ranks, restart on another rank count, corrupt checkpoints, the SLURM pre-timeout signal,
and one rank's exception aborting the whole job."""
import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from tests.conftest import PY, ROOT, clean_env, hpcabm

CFG = """model: firms
agents: 3001
months: 30
seed: 4
checkpoint: {every: 10, keep: 5}
progress: {every: 0}
firms: {substeps: 6}
"""


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        attrs = dict(f.attrs)
    return out, attrs


def assert_same_datasets(p, q):
    a, _ = datasets(p)
    b, _ = datasets(q)
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    cfg = d / "cfg.yaml"
    cfg.write_text(CFG)
    out = {}
    for n in (1, 2, 3):
        p = hpcabm(["run", str(cfg), "--out", str(d / f"r{n}")], ranks=n)
        assert p.returncode == 0, p.stderr
        out[n] = d / f"r{n}"
    return d, cfg, out


def test_results_identical_on_1_2_3_ranks(runs):
    _, _, out = runs
    for n in (2, 3):
        assert_same_datasets(out[1] / "results.h5", out[n] / "results.h5")
    data, attrs = datasets(out[3] / "results.h5")
    assert attrs["ranks"] == 3 and attrs["seed"] == 4 and "substeps: 6" in attrs["config"]
    assert attrs["version"] and attrs["wall_time"] > 0
    for name in ("firms", "entries", "exits", "mean_size", "largest_firm", "output", "effort",
                 "utility", "job_changes"):
        assert data[f"series/{name}"].shape == (30,)
    nf = data["series/firms"][-1]
    for name in ("firm_size", "firm_age", "firm_output", "firm_growth", "firm_id"):
        assert data[f"final/{name}"].shape == (nf,)
    assert data["final/firm_size"].sum() == 3001
    assert data["final/tenure"].shape == (3001,)
    g = data["final/firm_growth"]
    old = data["final/firm_age"] > 12     # alive at the end of month 18 = 30 - 12
    assert np.isfinite(g[old]).all() and np.isnan(g[~old]).all()
    assert (open(out[3] / "STATUS").read().strip() == "complete")


def test_restart_on_other_rank_counts_is_bitwise_identical(runs, tmp_path):
    d, cfg, out = runs
    for src, dst in ((1, 3), (3, 2)):
        ck = out[src] / "checkpoints" / "ckpt_m0000010.h5"
        p = hpcabm(["run", str(cfg), "--out", str(tmp_path / f"x{src}{dst}"), "--restart", str(ck)],
                   ranks=dst)
        assert p.returncode == 0, p.stderr
        assert f"restarted from {ck} at month 10 on {dst} rank(s)" in p.stdout
        assert_same_datasets(out[1] / "results.h5", tmp_path / f"x{src}{dst}" / "results.h5")


def test_corrupt_newest_checkpoint_falls_back_to_previous(runs, tmp_path):
    d, cfg, out = runs
    ckdir = tmp_path / "ck"
    ckdir.mkdir()
    for m in (10, 20):
        src = out[2] / "checkpoints" / f"ckpt_m00000{m}.h5"
        (ckdir / src.name).write_bytes(src.read_bytes())
    newest = ckdir / "ckpt_m0000020.h5"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 3])     # truncated
    p = hpcabm(["run", str(cfg), "--out", str(tmp_path / "fb"), "--restart", str(ckdir)], ranks=2)
    assert p.returncode == 0, p.stderr
    assert "ckpt_m0000020.h5 is not usable" in p.stdout and "truncated" in p.stdout
    assert "restarted from" in p.stdout and "ckpt_m0000010.h5 at month 10" in p.stdout
    assert_same_datasets(out[1] / "results.h5", tmp_path / "fb" / "results.h5")
    # nothing valid at all: a clear error, non-zero exit
    (ckdir / "ckpt_m0000010.h5").write_bytes(b"not hdf5")
    p = hpcabm(["run", str(cfg), "--out", str(tmp_path / "fb2"), "--restart", str(ckdir)], ranks=2)
    assert p.returncode != 0 and "checkpoint error: no valid checkpoint" in p.stderr


def test_bad_config_under_mpiexec_is_one_line_and_nonzero(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model: firms\nfirms: {substeps: 0}\n")
    p = hpcabm(["run", str(cfg), "--out", str(tmp_path / "o")], ranks=2, timeout=60)
    assert p.returncode != 0
    lines = [l for l in p.stderr.splitlines() if "config error" in l]
    assert lines == ["config error: firms.substeps: must be an integer in [1, 10000000], got 0"]
    assert "Traceback" not in p.stderr


def test_exception_on_one_rank_aborts_the_job(runs, tmp_path):
    _, cfg, _ = runs
    t0 = time.time()
    p = hpcabm(["run", str(cfg), "--out", str(tmp_path / "f")], ranks=3, timeout=120,
               env={"HPCABM_FAULT": "1:5"})
    assert p.returncode != 0
    assert "injected fault on rank 1 at month 5" in p.stderr
    assert time.time() - t0 < 100


def test_sigusr1_writes_checkpoint_and_restart_completes(tmp_path):
    cfg = tmp_path / "long.yaml"
    cfg.write_text("model: firms\nagents: 4000\nmonths: 3000\nseed: 8\ncheckpoint: {every: 0}\n"
                   "progress: {every: 1}\nfirms: {substeps: 2}\n")
    out = tmp_path / "sig"
    proc = subprocess.Popen(["mpiexec", "--oversubscribe", "-n", "2", PY, "-m", "hpcabm", "run",
                             str(cfg), "--out", str(out)], cwd=ROOT, env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until it is stepping, then send what SLURM sends before the time limit
    deadline = time.time() + 60
    while time.time() < deadline and "month 3/" not in (proc.stdout.readline() or ""):
        pass
    proc.send_signal(signal.SIGUSR1)       # mpiexec forwards SIGUSR1 to the ranks
    so, se = proc.communicate(timeout=120)
    assert proc.returncode == 3, (proc.returncode, se)   # EXIT_INTERRUPTED, passed on by mpiexec
    assert "stop signal received" in so, so + se
    assert open(out / "STATUS").read().startswith("interrupted month")
    ck = sorted(os.listdir(out / "checkpoints"))
    assert len(ck) == 1 and not (out / "results.h5").exists()
    m = int(ck[0][6:13])
    assert 3 <= m < 3000
    p = hpcabm(["run", str(cfg), "--out", str(out), "--restart", str(out), "--set", f"months={m + 2}"],
               ranks=2)
    assert p.returncode == 0, p.stderr
    with h5py.File(out / "results.h5") as f:
        assert f["series/firms"].shape == (m + 2,)
