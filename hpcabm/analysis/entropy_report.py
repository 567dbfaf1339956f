"""`hpcabm report DIR` for an exchange-model run: the meter's readings (paper §2) over the window
after burn_in with errors from the integrated autocorrelation time (hpcabm.analysis.autocorr), against the CD prediction (eqs. 3, 10) when it applies."""
import os

import numpy as np


def exchange_facts(res):
    import yaml
    from hpcabm.analysis.autocorr import mean_error
    from hpcabm.analysis.entropy_fit import analytic_kind
    from hpcabm.models.exchange.agents import parse_agent_types
    cfg = yaml.safe_load(res["attrs"]["config"])
    ex = cfg["exchange"]
    s = res["series"]
    n = len(s["beta"])
    burn = min(int(cfg.get("burn_in", 0)), n - 1)
    groups = parse_agent_types(ex["agent_types"], cfg["agents"], ex["goods"])
    kind = analytic_kind(groups)
    N = cfg["agents"]
    rows = [("steps in window (sweeps each)", f"{burn}..{n} ({ex['sweeps_per_step']})", "", ""),
            ("agents", " + ".join(g.describe() for g in groups), "", ""),
            ("totals M, G1, G2", f"{ex['money']:g}, {ex['good1']:g}, {ex['good2'] if ex['goods'] == 2 else 0:g}", "", "")]
    tot = {"beta": ex["money"], "nu1": ex["good1"], "nu2": ex["good2"]}
    key = {"beta": "eta", "nu1": "a1", "nu2": "a2"}
    for name in ("beta", "nu1", "nu2"):
        if name == "nu2" and ex["goods"] == 1:
            continue
        v = np.asarray(s[name], float)[burn:]
        err, tau, _, reliable = mean_error(v) if v.size >= 2 else (float("nan"), float("nan"), 0, False)
        ref = ""
        if kind in ("cd", "cd_price"):
            ref = f"{sum(g.count * g.params[key[name]] for g in groups) / tot[name]:.5g}"
        elif kind == "inter_exp" and name != "beta":
            ref = f"{1 + sum(g.count * g.params['a1'] for g in groups) / tot[name]:.5g}"
        elif kind == "inter_exp":
            ref = f"{sum(g.count * g.params['eta'] for g in groups) / tot[name]:.5g}"
        flag = "" if reliable else ", fewer than 50 tau: error unreliable"
        rows.append((f"meter {name} (time average)",
                     f"{v.mean():.5g} +/- {err:.2g} (tau = {tau:.3g} steps{flag})", ref,
                     "eqs. 3, 10, 25" if ref else ""))
    tr = np.asarray(s["trades"], float)[burn:]
    rf = np.asarray(s["refused"], float)[burn:]
    rows.append(("trades per agent per sweep", f"{tr.mean() * 2 / N / ex['sweeps_per_step']:.4f}", "", ""))
    if rf.sum():
        rows.append(("refused / encounters", f"{rf.sum() / (rf.sum() + tr.sum()):.4f}", "", ""))
    return rows


def exchange_figures(res, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = res["series"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name in ("beta", "nu1", "nu2"):
        v = np.asarray(s[name], float)
        if np.any(v > 0):
            ax.plot(v, label=name)
    ax.set_xlabel("step")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "meter.png"), dpi=100)
    plt.close(fig)
    return ["meter.png"]
