"""`hpcabm report` on small runs of the firms and massmacro models, and the fit helpers."""
import os

import numpy as np
import pytest

from hpcabm.analysis import stats
from hpcabm.analysis.report import report
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.core.runner import run


@pytest.mark.parametrize("text,figs", [
    ("model: firms\nagents: 2000\nmonths: 30\nburn_in: 6\n", ["series.png", "cross_sections.png"]),
    ("model: massmacro\nagents: 1500\nmonths: 30\nburn_in: 6\nfirms: {substeps: 3}\n",
     ["fig1_aggregates.png", "fig2_cross_sections.png", "fig3_macro.png"]),
])
def test_report_writes_table_and_figures(tmp_path, capsys, text, figs):
    cfg = load_config(text=text + "progress: {every: 0}\ncheckpoint: {every: 0}\n")
    out = str(tmp_path / "run")
    assert run(cfg, Comm(), out, log=lambda *a, **k: None) == 0
    assert report(out) == 0
    printed = capsys.readouterr().out
    assert "Zipf tail exponent" in printed
    if cfg.model == "massmacro":
        assert "money total first vs last month" in printed and "equal (exact)  [pass]" in printed
        assert "unemployment rate, mean" in printed
    for f in figs + ["facts.txt"]:
        p = os.path.join(out, "report", f)
        assert os.path.getsize(p) > 1000 or f == "facts.txt"


def test_zipf_mle_recovers_a_known_exponent():
    r = np.random.default_rng(3)
    for alpha in (1.0, 1.5):
        # discrete power law Pr(S >= s) ~ s^-alpha, s >= 1: inverse transform of a Pareto
        s = np.floor((1 - r.random(200_000)) ** (-1 / alpha) + 0.5).astype(int)
        a, xmin, n, se = stats.zipf_tail_mle(s, xmin=10)
        assert abs(a - alpha) < 0.05, (a, alpha)


def test_laplace_and_exponential_fits():
    r = np.random.default_rng(4)
    mu, b, kurt = stats.laplace_fit(r.laplace(0.1, 0.3, 100_000))
    assert abs(mu - 0.1) < 0.01 and abs(b - 0.3) < 0.01 and abs(kurt - 3) < 0.3
    rate, cv = stats.exponential_rate(r.exponential(30, 100_000))
    assert abs(1 / rate - 30) < 0.5 and abs(cv - 1) < 0.02
