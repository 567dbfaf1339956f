"""keynes_daily report: moments on synthetic series with known values, the design-B generator, and
`hpcabm report` on a tiny paired ensemble (shocked and baseline points, Halton seeds)."""
import numpy as np
import pytest

from hpcabm.analysis import keynes_report as KR
from hpcabm.models.keynes_daily.designs import RANGES, design_b, implied_growth, to_yaml


def test_moment_definitions_on_known_series():
    T = 3650
    g = np.array([0.05, 0.03, 0.06, 0.02, 0.05, 0.04, 0.01, 0.05, 0.04])
    level = np.concatenate([[100.0], 100.0 * np.cumprod(1 + g)])       # GDP on the last day of each year
    gdp = np.repeat(level, 365)
    s = {"gdp": gdp, "wages": 0.7 * gdp, "unemployment": np.full(T, 0.01), "zlb": (np.arange(T) % 4 == 0),
         "cpi": np.repeat(0.9 ** np.arange(10), 365), "firms": np.full(T, 1000.0),
         "exits": np.where(np.arange(T) % 365 == 0, 3.0, 0.0), "unmet": np.zeros(T), "loans": 0.29 * 365 * gdp}
    m = KR.moments(s, np.array([1.0, 1.0, 1.0, 1.0]), {"keynes": {"crisis": "none", "demand_day": 0}})
    assert m["cagr"] == pytest.approx((level[-1] / level[0]) ** (1 / 9) - 1)
    assert m["vol"] == pytest.approx(np.std(g, ddof=1)) and m["skew"] == pytest.approx(KR.skewness(g))
    assert m["ac1"] == pytest.approx(KR.autocorr1(g))
    assert m["wage_share"] == pytest.approx(0.7) and m["unemployment"] == pytest.approx(0.01)
    assert m["gini"] == 0.0 and m["zlb"] == pytest.approx(913 / 3650)
    assert m["infl_6_10"] == pytest.approx(-0.1) and m["bankrupt"] == pytest.approx(0.003)
    assert KR.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert KR.skewness([1, 2, 3]) == pytest.approx(0.0)


def test_design_b_points_are_in_range_and_the_file_is_current():
    import os
    pts = design_b(50)
    assert len(pts) == 50 and len({p["seed"] for p in pts}) == 50
    for k, lo, hi in RANGES:
        v = np.array([p[k] for p in pts])
        assert v.min() >= lo and v.max() <= hi and v.max() - v.min() > 0.8 * (hi - lo)   # space-filling
    assert implied_growth(0.02, 0.1, 0.3) == pytest.approx(0.0874, abs=1e-3)         # note sec. 4.2
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    with open(os.path.join(root, "jobs", "keynes_daily_designB.yaml")) as f:
        assert f.read() == to_yaml(pts, 50, 2026)


def test_report_table_of_a_paired_ensemble(tmp_path):
    """Paired shocked/baseline members (Halton seeds); the table only (figures are slow to draw)."""
    from hpcabm.analysis.report import print_table
    from hpcabm.core.comm import Comm
    from hpcabm.core.ensemble import load_ensemble, plan, run_ensemble
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: keynes_daily\nagents: 400\nmonths: 80\nseed: 3\ncheckpoint: {every: 0}\n"
                   "keynes: {firms: 40, banks: 2, money0: 40000.0, crisis_day: 60}\n")
    d = tmp_path / "pairs.yaml"
    d.write_text("- {keynes.demand_day: 50, keynes.crisis: equity+npl}\n- {keynes.demand_day: 0, keynes.crisis: none}\n")
    base, keys, members = plan(str(cfg), 1, [], design=str(d), seeds="halton")
    assert run_ensemble(Comm(), str(tmp_path / "e"), base, keys, members, 1, log=lambda *a, **k: None) == 0
    res = load_ensemble(str(tmp_path / "e"))
    res["attrs"]["config"] = res["attrs"]["base_config"]
    rows = KR.keynes_facts(res)
    text = print_table(rows, "t")
    assert "share of days at the ZLB" in text and "paired demand shock" in text and "paired crisis" in text
    paired = KR.paired_responses(res)
    assert -0.06 < paired["paired_demand_trough"][0] < -0.03           # x 0.7 for 1 day, 7-day mean
    assert paired["paired_credit_drop"][0] < -0.05                        # NPL write-off
