"""K+S model: stock-flow consistency and market shares in every variant, stationarity without
innovation, growth with it, credit rationing in Mark II, Mark III policy, restart bitwise."""
import os

import h5py
import numpy as np
import pytest

from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.ks import Model


def run(months, *sets, seed=3):
    cfg = load_config(text=f"model: ks\nmonths: {months}\nseed: {seed}\n", overrides=list(sets))
    m = Model(cfg, Comm())
    m.initialize()
    for _ in range(months):
        m.step()
    return m, {k: np.asarray(v, dtype=float) for k, v in m.series.items()}


def recount(m):
    """Deposits, loans, bank equity and public debt recomputed from the state."""
    f1, f2 = m.f1, m.f2
    dep = np.maximum(f1["cash"], 0).sum() + np.maximum(f2["cash"], 0).sum() + m.macro["hh"]
    loans = f2["deb"].sum() + np.maximum(-f2["cash"], 0).sum() + np.maximum(-f1["cash"], 0).sum()
    return dep, loans, m.banks["equity"].sum(), m.macro["gov_debt"]


@pytest.mark.parametrize("variant", ["mark1", "mark2", "mark3"])
def test_stock_flow_and_shares(variant):
    extra = ["policy.taylor=dual", "policy.fiscal_rule=sgp"] if variant == "mark3" else []
    m, s = run(200, f"ks.variant={variant}", *extra)
    scale = s["deposits"]
    # loans + public debt = deposits + bank equity, every period, to rounding
    assert np.all(np.abs(s["sf_error"]) <= 1e-11 * scale), np.abs(s["sf_error"] / scale).max()
    dep, loans, eq, gd = recount(m)
    assert abs(dep - s["deposits"][-1]) <= 1e-12 * dep and abs(loans - s["loans"][-1]) <= 1e-9 * dep
    assert abs(loans + gd - dep - eq) <= 1e-11 * dep
    assert np.all(np.abs(s["share_sum"] - 1) < 1e-12) and abs(m.f2["f"].sum() - 1) < 1e-12
    assert (m.f2["f"] >= 0).all() and (s["unemployment"] >= -1e-12).all()
    assert s["exits2"].sum() > 0 and s["exits1"].sum() > 0          # entry/exit was exercised
    assert s["loans"].max() > 0                                      # credit was used


def test_no_innovation_is_stationary_and_innovation_grows():
    _, s0 = run(400, "ks.innovation=false")
    _, s1 = run(400)
    t = np.arange(150, 400)
    slope0 = np.polyfit(t, np.log(s0["gdp"][t]), 1)[0]
    slope1 = np.polyfit(t, np.log(s1["gdp"][t]), 1)[0]
    assert np.all(s0["A_frontier"] == 1.0) and np.all(s0["innovators"] == 0)
    assert abs(slope0) < 2e-4, slope0
    assert abs(s0["wage"][-1] / s0["wage"][150] - 1) < 0.05
    assert slope1 > 0.01, slope1


def test_mark2_rations_credit_and_mark3_policy_acts():
    _, s2 = run(250, "ks.variant=mark2", "bank.equity0=0.02")
    assert s2["credit_rationed"].sum() > 0
    assert (s2["credit_rationed"] <= s2["credit_demand"] + 1e-9).all()
    _, s3 = run(250, "ks.variant=mark3", "policy.taylor=dual", "policy.fiscal_rule=sgp",
                "bank.equity0=0.02")
    assert np.ptp(s3["r"]) > 0                                         # the Taylor rule moves r
    assert (s3["r"] >= 0).all()
    _, s1 = run(250)
    assert s1["credit_rationed"].sum() == 0 and np.ptp(s1["r"]) == 0


def test_mark3_banks_have_pareto_client_counts():
    m, _ = run(5, "ks.variant=mark3")
    clients = np.bincount(m.f2["bank"].astype(int), minlength=10)
    assert clients.sum() == 200 and (clients >= 1).all() and clients.max() > 2 * np.median(clients)


def test_restart_is_bitwise(tmp_path):
    from hpcabm.core.runner import run as run_cfg
    text = "model: ks\nmonths: 60\nseed: 8\ncheckpoint: {every: 25, keep: 5}\nprogress: {every: 0}\nks: {variant: mark3}\npolicy: {taylor: dual}\n"
    cfg = load_config(text=text)
    quiet = lambda *a, **k: None
    assert run_cfg(cfg, Comm(), str(tmp_path / "a"), log=quiet) == 0
    ck = tmp_path / "a" / "checkpoints" / "ckpt_m0000025.h5"
    assert ck.exists()
    assert run_cfg(cfg, Comm(), str(tmp_path / "b"), restart=str(ck), log=quiet) == 0
    with h5py.File(tmp_path / "a" / "results.h5", "r") as a, h5py.File(tmp_path / "b" / "results.h5", "r") as b:
        for g in ("series", "final"):
            for n in a[g]:
                assert a[g][n][...].tobytes() == b[g][n][...].tobytes(), n
        assert a["series/gdp"].shape == (60,)


def test_schema_bounds_are_numbers_and_overrides_validate():
    from hpcabm.models import model_schema
    sch = model_schema("ks")
    sets = []

    def walk(node, prefix):
        for k, v in node.items():
            if isinstance(v, dict) and "default" in v:
                for b in ("min", "max"):
                    if b in v:
                        assert isinstance(v[b], (int, float)), f"{prefix}{k}.{b} = {v[b]!r}"
                if v.get("type") == "float":
                    d = float(v["default"])            # YAML 1.1 floats need a dot: 1.0e-05
                    sets.append(f"{prefix}{k}={d:.6e}" if d and abs(d) < 1e-3 else f"{prefix}{k}={d!r}")
            elif isinstance(v, dict):
                walk(v, prefix + k + ".")
    walk(sch, "")
    assert len(sets) > 40
    cfg = load_config(text="model: ks\n", overrides=sets)      # every float key, given explicitly
    assert cfg.ks.labour_supply == 250000.0
