"""`hpcabm entropy` and `hpcabm run` for the exchange model under mpiexec (launched from the serial
session): entropy.h5 with its attributes and plots, config errors, and results.h5 of a run bitwise
identical on 1 and 3 ranks, also after a restart on 2."""
import pathlib

import h5py
import numpy as np
import pytest

from tests.conftest import hpcabm

ENTROPY = """model: exchange
agents: 120
seed: 8
exchange: {agent_types: "cd 60 eta=3 a1=3 a2=3; cd rest eta=2 a1=2 a2=2", meter: {agents: 120}}
entropy: {points: 4, burn_in: 30, sweeps: 150, x: [600, 1400], y: [600, 1400]}
"""
RUN = """model: exchange
agents: 301
months: 6
seed: 4
checkpoint: {every: 3, keep: 5}
progress: {every: 0}
exchange: {agent_types: "inter_tanh 150; inter_exp rest", goods: 1, sweeps_per_step: 4, meter: {agents: 50}}
"""


def test_entropy_cli_writes_h5_and_plots(tmp_path):
    """The CLI's measured values are those of the library on one rank (the 2- and 3-rank farm is
    compared with one rank in tests/mpi/test_exchange_mpi.py)."""
    from mpi4py import MPI

    from hpcabm.analysis.entropy import measure_grid
    from hpcabm.core.comm import Comm
    from hpcabm.core.config import load_config
    cfg = tmp_path / "e.yaml"
    cfg.write_text(ENTROPY)
    out = tmp_path / "e1"
    p = hpcabm(["entropy", str(cfg), "--out", str(out)], ranks=1)
    assert p.returncode == 0, p.stderr
    assert (out / "entropy.png").stat().st_size > 1000
    assert (out / "values.png").stat().st_size > 1000
    vals, errs, _, extra = measure_grid(load_config(text=ENTROPY), Comm(MPI.COMM_SELF))
    with h5py.File(out / "entropy.h5") as a:
        assert a["measured/beta"][()].tobytes() == vals[..., 0].tobytes()
        assert a["measured/nu2_err"][()].tobytes() == errs[..., 2].tobytes()
        assert a["measured/beta"].shape == (4, 4)
        assert a["measured/tau_beta"][()].tobytes() == extra["tau"][..., 0].tobytes()
        assert np.all(a["measured/tau_nu1"][()] >= 0.5) and a["measured/nu1_err_batch"].shape == (4, 4)
        assert a.attrs["tau_max"] >= 0.5 and "Sokal" in a.attrs["error_method"]
        at = dict(a.attrs)
        assert at["analytic"] == "cd" and bool(at["concave"])
        assert 0 < at["goodness_of_fit"] < 1e-3
        assert 0 < at["goodness_of_agreement"] < 1e-2
        assert at["agreement_measurement_only"] < at["goodness_of_agreement"] + at["agreement_trapezoid_floor"] * 3
        # heterogeneous CD (eq. 10): beta = sum(eta_i)/M = 300/1000
        assert np.allclose(a["measured/beta"][()], 0.3, rtol=0.03)
        assert a["analytic/S"].shape == (4, 4)
        # the error-bar checks: RSS against what the error bars predict, pulls against eq. 10
        assert at["rss_expected"] > 0 and at["rss_ratio"] == pytest.approx(at["rss"] / at["rss_expected"])
        assert 0 < at["pull_rms"] < 10
    # the docs' results table reads the same file
    import contextlib
    import io
    import runpy
    table = runpy.run_path(str(pathlib.Path(__file__).resolve().parents[3] / "validation" / "entropy_table.py"))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        table["main"]([str(tmp_path)])
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3 and lines[2].startswith("| `e1`") and f"{at['goodness_of_fit']:.3g}" in lines[2]
    assert f"| {at['rss_ratio']:.2f} | {at['pull_rms']:.2f} |" in lines[2]


def test_entropy_cli_config_error_names_the_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model: exchange\nagents: 10\nexchange: {agent_types: 'cd 5; sub 4'}\n")
    p = hpcabm(["entropy", str(cfg), "--out", str(tmp_path / "x")])
    assert p.returncode == 2 and "exchange.agent_types" in p.stderr


def _datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def test_run_identical_on_1_and_3_ranks_and_after_restart(tmp_path):
    cfg = tmp_path / "r.yaml"
    cfg.write_text(RUN)
    for n in (1, 3):
        p = hpcabm(["run", str(cfg), "--out", str(tmp_path / f"r{n}")], ranks=n)
        assert p.returncode == 0, p.stderr
    p = hpcabm(["run", str(cfg), "--out", str(tmp_path / "rr"), "--restart",
                str(tmp_path / "r3" / "checkpoints" / "ckpt_m0000003.h5")], ranks=2)
    assert p.returncode == 0, p.stderr
    a = _datasets(tmp_path / "r1" / "results.h5")
    assert a["series/beta"].shape == (6,) and a["final/m"].shape == (301,)
    assert a["final/meter_m"].shape == (50,)
    for other in ("r3", "rr"):
        b = _datasets(tmp_path / other / "results.h5")
        assert sorted(a) == sorted(b)
        for k in a:
            assert a[k].tobytes() == b[k].tobytes(), (other, k)
