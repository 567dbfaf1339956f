"""`hpcabm ensemble` under mpiexec (launched from the serial session): a config error exits 2;
one rank's exception aborts the whole job (no hang); the same command then resumes and finishes
with results bitwise equal to a clean run on another rank count."""
import h5py
import numpy as np

from tests.conftest import hpcabm

CFG = "model: firms\nagents: 600\nmonths: 8\nseed: 7\ncheckpoint: {every: 4}\nfirms: {substeps: 3}\n"


def test_cli_abort_resume_and_invariance(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CFG)
    p = hpcabm(["ensemble", str(cfg), "--runs", "2", "--out", str(tmp_path / "bad"),
                "--sweep", "firms.activation=0.1,2"], ranks=1)
    assert p.returncode == 2 and "firms.activation" in p.stderr
    out = tmp_path / "e"
    # one group of 2 ranks; rank 1 of the group raises before month 5 of its first member
    p = hpcabm(["ensemble", str(cfg), "--runs", "3", "--out", str(out), "--ranks-per-member", "2"],
               ranks=2, env={"HPCABM_FAULT": "1:5"}, timeout=120)
    assert p.returncode != 0 and "injected fault" in p.stderr
    assert not (out / "ensemble.h5").exists()
    assert (out / "members" / "p000_r00000" / "checkpoints" / "ckpt_m0000004.h5").exists()
    p = hpcabm(["ensemble", str(cfg), "--runs", "3", "--out", str(out)], ranks=2, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "resumed from ckpt_m0000004.h5" in p.stdout
    ref = tmp_path / "ref"
    p = hpcabm(["ensemble", str(cfg), "--runs", "3", "--out", str(ref)], ranks=1, timeout=120)
    assert p.returncode == 0, p.stderr
    with h5py.File(out / "ensemble.h5", "r") as a, h5py.File(ref / "ensemble.h5", "r") as b:
        assert a.attrs["complete"] == 1 and a.attrs["members"] == 3
        for n in b["series"]:
            assert a["series"][n][...].tobytes() == b["series"][n][...].tobytes(), n
        assert list(a["members/ranks"][...]) == [1, 1, 1]   # member 0: begun on 2 ranks, finished on 1
        assert np.array_equal(a["members/seed"][...], b["members/seed"][...])


def test_cli_signal_stops_groups_and_rerun_completes(tmp_path):
    """SLURM's pre-timeout SIGUSR1: members in flight write a checkpoint and stop, ensemble.h5 is
    written as incomplete, exit code 3; the same command then finishes the ensemble."""
    import os
    import signal
    import subprocess
    import time
    from tests.conftest import PY, ROOT, clean_env
    cfg = tmp_path / "ks.yaml"
    cfg.write_text("model: ks\nmonths: 150\nseed: 3\ncheckpoint: {every: 30}\n")
    out = tmp_path / "sig"
    proc = subprocess.Popen(["mpiexec", "--oversubscribe", "-n", "2", PY, "-m", "hpcabm", "ensemble",
                             str(cfg), "--runs", "8", "--out", str(out)], cwd=ROOT, env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while time.time() < deadline and "done in" not in (proc.stdout.readline() or ""):
        pass
    proc.send_signal(signal.SIGUSR1)
    so, se = proc.communicate(timeout=120)
    assert proc.returncode == 3, (proc.returncode, so, se)
    with h5py.File(out / "ensemble.h5", "r") as f:
        done = f["members/done"][...]
        assert f.attrs["complete"] == 0 and 1 <= done.sum() < 8
    p = hpcabm(["ensemble", str(cfg), "--runs", "8", "--out", str(out)], ranks=2, timeout=180)
    assert p.returncode == 0, p.stderr
    with h5py.File(out / "ensemble.h5", "r") as f:
        assert f.attrs["complete"] == 1 and f["series/gdp"].shape == (8, 150)
        assert np.isfinite(f["series/gdp"][...]).all()
