"""slurm/*.sbatch logic, with srun replaced by mpiexec and sbatch by a recorder."""
import os
import subprocess
import sys

import h5py

from tests.conftest import ROOT, clean_env

HPCABM = os.path.join(os.path.dirname(sys.executable), "hpcabm")
CFG = "model: firms\nagents: 1500\nmonths: 12\nseed: 6\ncheckpoint: {every: 0}\nprogress: {every: 0}\n"


def sbatch(script, env, tmp_path):
    return subprocess.run(["bash", os.path.join(ROOT, "slurm", script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_run_sbatch_checkpoints_on_signal_resubmits_and_finishes(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CFG)
    rec = tmp_path / "sbatch_calls"
    recorder = tmp_path / "fake_sbatch"
    recorder.write_text(f"#!/bin/bash\necho \"$@\" >> {rec}\n")
    recorder.chmod(0o755)
    out = tmp_path / "run"
    env = clean_env(CONFIG=str(cfg), OUT=str(out), HPCABM=HPCABM, HPCABM_LAUNCH="mpiexec --oversubscribe -n 2",
                    HPCABM_SBATCH=str(recorder), HPCABM_SIGNAL_AT="5")
    p = sbatch("run.sbatch", env, tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "hpcabm exit 3, status: interrupted month 5" in p.stdout
    call = rec.read_text().strip()
    assert "HPCABM_RESUBMIT=1" in call and call.endswith("slurm/run.sbatch")
    assert not (out / "results.h5").exists()
    # the resubmitted job: restarts from the checkpoint on 3 ranks and completes
    env.pop("HPCABM_SIGNAL_AT")
    env.update(HPCABM_RESUBMIT="1", HPCABM_LAUNCH="mpiexec --oversubscribe -n 3")
    p = sbatch("run.sbatch", env, tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "restarted from" in p.stdout and "at month 5 on 3 rank(s)" in p.stdout
    assert "status: complete" in p.stdout
    assert len(rec.read_text().strip().splitlines()) == 1          # no further resubmission
    # identical to a straight run
    straight = tmp_path / "straight"
    env2 = clean_env(CONFIG=str(cfg), OUT=str(straight), HPCABM=HPCABM, HPCABM_LAUNCH="mpiexec -n 1",
                     HPCABM_SBATCH=str(recorder))
    assert sbatch("run.sbatch", env2, tmp_path).returncode == 0
    with h5py.File(out / "results.h5") as a, h5py.File(straight / "results.h5") as b:
        for k in a["series"]:
            assert a["series"][k][()].tobytes() == b["series"][k][()].tobytes()
        for k in a["final"]:
            assert a["final"][k][()].tobytes() == b["final"][k][()].tobytes()


def test_run_sbatch_gives_up_after_max_resubmits(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CFG)
    env = clean_env(CONFIG=str(cfg), OUT=str(tmp_path / "r"), HPCABM=HPCABM, HPCABM_LAUNCH="mpiexec -n 1",
                    HPCABM_SBATCH="false", HPCABM_SIGNAL_AT="3", HPCABM_RESUBMIT="2", MAX_RESUBMITS="2")
    p = sbatch("run.sbatch", env, tmp_path)
    assert p.returncode == 1 and "giving up after 2 resubmissions" in p.stderr


def test_scaling_array_and_table(tmp_path):
    prefix = str(tmp_path / "sc")
    for mode in ("strong", "weak"):
        for idx in (0, 1):
            env = clean_env(MODE=mode, AGENTS="2000", MONTHS="3", HPCABM=HPCABM, OUT_PREFIX=prefix,
                            HPCABM_LAUNCH="mpiexec --oversubscribe -n", SLURM_ARRAY_TASK_ID=str(idx))
            p = sbatch("scaling.sbatch", env, tmp_path)
            assert p.returncode == 0, p.stdout + p.stderr
    for mode, agents in (("strong", ["2000", "2000"]), ("weak", ["2000", "4000"])):
        png = tmp_path / f"{mode}.png"
        p = subprocess.run([sys.executable, "slurm/scaling_table.py", f"{prefix}-{mode}-P00001",
                            f"{prefix}-{mode}-P00002", "--png", str(png)], cwd=ROOT,
                           env=clean_env(), capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        assert lines[0] == f"{mode} scaling"
        rows = [l.split() for l in lines[2:4]]
        assert [r[0] for r in rows] == ["1", "2"] and [r[1] for r in rows] == agents
        assert float(rows[0][4]) == 1.0 and 0 < float(rows[1][4]) < 2
        assert png.exists()
