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
