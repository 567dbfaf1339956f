"""ks report: the band-pass filter, the Subbotin fit, and `hpcabm report` on a ks ensemble dir."""
import numpy as np

from hpcabm.analysis.ks_report import adf_t, bk_filter, subbotin_b, xcorr


def test_bk_filter_passes_business_cycles_only():
    t = np.arange(400, dtype=float)
    trend = 0.025 * t + 3.0
    cyc = np.sin(2 * np.pi * t / 12)
    slow = np.sin(2 * np.pi * t / 100)
    fast = np.sin(2 * np.pi * t / 3)
    f = bk_filter(trend + cyc + slow + fast)
    assert f.size == 400 - 24
    ref = cyc[12:-12]
    assert np.corrcoef(f, ref)[0, 1] > 0.98 and abs(f.std() / ref.std() - 1) < 0.1
    assert np.abs(bk_filter(trend)).max() < 1e-9
    assert bk_filter(slow).std() < 0.1 and bk_filter(fast).std() < 0.1


def test_xcorr_and_subbotin():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    x = np.roll(y, 2)                      # x_t = y_{t-2}: x follows y by 2 periods
    assert xcorr(x, y, 2) > 0.99 and abs(xcorr(x, y, 0)) < 0.2
    assert abs(subbotin_b(rng.normal(size=20000)) - 2) < 0.1
    assert abs(subbotin_b(rng.laplace(size=20000)) - 1) < 0.1


def test_adf_separates_random_walk_from_stationary():
    rng = np.random.default_rng(1)
    e = rng.normal(size=600)
    assert adf_t(np.cumsum(e) + 0.02 * np.arange(600)) > -2.86
    ar = np.zeros(600)
    for t in range(1, 600):
        ar[t] = 0.5 * ar[t - 1] + e[t]
    assert adf_t(ar) < -5


def test_report_on_ks_ensemble(tmp_path, capsys):
    from hpcabm.analysis.report import report
    from hpcabm.core.comm import Comm
    from hpcabm.core.ensemble import plan, run_ensemble
    cfg = tmp_path / "ks.yaml"
    cfg.write_text("model: ks\nmonths: 150\nseed: 4\nburn_in: 30\ncheckpoint: {every: 0}\n")
    base, keys, members = plan(str(cfg), 2)
    assert run_ensemble(Comm(), str(tmp_path / "e"), base, keys, members, 1, log=lambda *a, **k: None) == 0
    assert report(str(tmp_path / "e")) == 0
    out = capsys.readouterr().out
    assert "2/2 members" in out and "avg growth rate: output" in out and "Subbotin" in out
    assert (tmp_path / "e" / "report" / "ks_macro.png").exists()
    assert (tmp_path / "e" / "report" / "ks_distributions.png").exists()
