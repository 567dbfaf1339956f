"""`hpcabm report DIR` for keynes_daily: the seed's validation targets (shared/notes/KEYNESIAN_DAILY.md
sec. 11, exact definitions) beside ours, for one run or an ensemble (median and 95 % interval over
members), and figures (GDP, CPI, policy rate, unemployment, credit; ZLB-share histogram).

An ensemble whose sweep pairs `keynes.demand_day` or `keynes.crisis` with a no-shock point (same
seeds: common random numbers) also gets the paired shock responses: shocked minus baseline."""
import os

import numpy as np
import yaml

Y = 365

# (key, label, seed value, PDF / note, how to format)
TARGETS = [
    ("cagr", "nominal GDP CAGR, yr1->yr10", "4.6 % (MC median 4.5 %)", "PDF 4.6 %; MC CI 3.8-9.6", "pct"),
    ("skew", "skewness of YoY growth (yrs 2-10)", "-0.59", "PDF -0.59", "num"),
    ("vol", "growth volatility (sd of the 9 YoY rates)", "0.12 %", "PDF 0.12 %", "pct"),
    ("ac1", "growth autocorrelation (lag 1, 9 values)", "-0.18", "PDF -0.18", "num"),
    ("wage_share", "wage share (sum wages / sum GDP)", "72.8 %", "PDF 72.8 % (sd 1.8)", "pct"),
    ("unemployment", "unemployment (mean, t > 365)", "0.24 %", "PDF ~0 % (MC 0.001 %)", "pct3"),
    ("gini", "wealth Gini (end of yr 10)", "0.15", "PDF 0.154 (yr 10)", "num"),
    ("zlb", "share of days at the ZLB", "93.7 % median, 95 % CI 6.0-96.1 %", "same; bimodal", "pct"),
    ("infl_1_5", "CPI inflation yrs 1-5 (mean YoY)", "deflation", "PDF -15 %/yr", "pct"),
    ("infl_6_10", "CPI inflation yrs 6-10 (mean YoY)", "deflation", "PDF -8 %/yr", "pct"),
    ("bankrupt", "bankruptcy rate before the crisis (%/yr of alive firms)", "0.27 %/yr", "PDF 0.32 % (MC 0.27)", "pct"),
    ("unmet", "unmet demand (mean share of budgets)", "-", "PDF ~2 %", "pct"),
    ("credit_gdp", "credit / annual GDP (mean)", "-", "PDF ~0.29", "num"),
    ("firms_end", "alive firms at the end", "-", "PDF 1,072 -> 1,877", "int"),
    ("demand_trough", "demand shock: trough of 7-d GDP vs 30-d pre-shock mean", "-8.2 %", "PDF -20 % (1 day)", "pct"),
    ("demand_recovery", "demand shock: days until back within 1 %", "<= 90 d", "PDF ~7 d", "int"),
    ("credit_drop", "banking crisis: credit peak-to-trough within 365 d", "-34 %", "PDF flat (frozen)", "pct"),
    ("bankrupt_crisis", "banking crisis: bankruptcy rate, 180 d after (%/yr)", "4.1 %/yr (from 0.27)", "PDF -", "pct"),
    ("gdp_crisis", "banking crisis: 30-d GDP trough vs pre-crisis trend", "-12.3 %", "PDF no fall", "pct"),
    ("crisis_recovery", "banking crisis: days until 30-d GDP within 1 % of trend", "<= 548 d (18 months)", "-", "int"),
]


def _f(s, k):
    return np.asarray(s[k], dtype=float)


def gini(w):
    w = np.sort(np.asarray(w, dtype=float))
    n = w.size
    if n == 0 or w.sum() == 0:
        return np.nan
    return float((2 * np.arange(1, n + 1) - n - 1).dot(w) / (n * w.sum()))


def skewness(x):
    x = np.asarray(x, dtype=float)
    d = x - x.mean()
    m2 = (d ** 2).mean()
    return float((d ** 3).mean() / m2 ** 1.5) if m2 > 0 else np.nan


def autocorr1(x):
    x = np.asarray(x, dtype=float)
    d = x - x.mean()
    den = (d ** 2).sum()
    return float((d[1:] * d[:-1]).sum() / den) if den > 0 else np.nan


def bootstrap_ac1(x, n=2000, seed=0):
    """95 % interval of the lag-1 autocorrelation by a moving-block bootstrap (blocks of 3)."""
    x = np.asarray(x, dtype=float)
    if x.size < 4:
        return (np.nan, np.nan)
    rg = np.random.default_rng(seed)
    b = 3
    starts = np.arange(x.size - b + 1)
    out = []
    for _ in range(n):
        idx = np.concatenate([np.arange(s, s + b) for s in rg.choice(starts, int(np.ceil(x.size / b)))])[: x.size]
        out.append(autocorr1(x[idx]))
    return tuple(np.nanpercentile(out, [2.5, 97.5]))


def yearly(gdp):
    """Daily GDP on the last day of each complete year (note sec. 11: GDP_yrk)."""
    n = len(gdp) // Y
    return np.asarray(gdp, dtype=float)[Y - 1: n * Y: Y]


def _ma(x, w):
    c = np.cumsum(np.insert(np.asarray(x, dtype=float), 0, 0.0))
    out = np.full(len(x), np.nan)
    out[w - 1:] = (c[w:] - c[:-w]) / w
    return out


def moments(s, final_wealth, cfg):
    """The sec. 11 moments of one run from its daily series (dict of arrays) and end wealth."""
    k = cfg.get("keynes", {})
    gdp = _f(s, "gdp")
    T = gdp.size
    out = {}
    gy = yearly(gdp)
    if gy.size >= 2:
        out["cagr"] = (gy[-1] / gy[0]) ** (1.0 / (gy.size - 1)) - 1
        g = gy[1:] / gy[:-1] - 1
        out["skew"], out["vol"], out["ac1"] = skewness(g), float(g.std(ddof=1)) if g.size > 1 else np.nan, autocorr1(g)
        out["growth"] = g
    out["wage_share"] = float(_f(s, "wages").sum() / gdp.sum())
    out["unemployment"] = float(_f(s, "unemployment")[Y:].mean()) if T > Y else float(_f(s, "unemployment").mean())
    out["gini"] = gini(np.maximum(final_wealth, 0.0)) if final_wealth is not None and len(final_wealth) else np.nan
    out["zlb"] = float(_f(s, "zlb").mean())
    cpi = _f(s, "cpi")
    cy = cpi[Y - 1: (T // Y) * Y: Y]
    infl = np.concatenate([[cy[0] / cpi[0] - 1], cy[1:] / cy[:-1] - 1]) if cy.size else np.array([])
    out["infl_1_5"] = float(infl[:5].mean()) if infl.size else np.nan
    out["infl_6_10"] = float(infl[5:10].mean()) if infl.size > 5 else np.nan
    firms = _f(s, "firms")
    exits = _f(s, "exits")
    cday = int(k.get("crisis_day", 0)) if k.get("crisis", "none") != "none" else 0
    pre = slice(0, cday - 1) if cday > 1 else slice(0, T)
    out["bankrupt"] = float(exits[pre].sum() / (exits[pre].size / Y) / firms[pre].mean())
    out["unmet"] = float(_f(s, "unmet").mean())
    out["credit_gdp"] = float((_f(s, "loans") / (_ma(gdp, Y) * Y))[Y:].mean()) if T > Y else np.nan
    out["firms_end"] = float(firms[-1])
    dday = int(k.get("demand_day", 0))
    if 30 < dday < T - 7:
        g7 = _ma(gdp, 7)
        base = gdp[dday - 31: dday - 1].mean()
        win = g7[dday - 1: min(dday + 90, T)]
        out["demand_trough"] = float(win.min() / base - 1)
        after = np.flatnonzero(g7[dday - 1 + int(np.argmin(win)):] >= 0.99 * base)
        out["demand_recovery"] = float(int(np.argmin(win)) + after[0]) if after.size else np.nan
    if cday > Y and cday < T - 30:
        loans = _f(s, "loans")
        w = loans[cday - 1: min(cday - 1 + Y, T)]
        out["credit_drop"] = float(w.min() / max(loans[cday - 2], 1e-300) - 1)
        e = exits[cday - 1: min(cday - 1 + 180, T)]
        out["bankrupt_crisis"] = float(e.sum() / (e.size / Y) / firms[cday - 1: cday - 1 + e.size].mean())
        g30 = _ma(gdp, 30)
        tt = np.arange(cday - 1 - Y, cday - 1)
        b1, b0 = np.polyfit(tt, np.log(gdp[tt]), 1)
        after = np.arange(cday - 1, min(cday - 1 + Y, T))
        dev = g30[after] / np.exp(b0 + b1 * after) - 1
        out["gdp_crisis"] = float(np.nanmin(dev))
        rec = np.flatnonzero(dev[int(np.nanargmin(dev)):] >= -0.01)
        out["crisis_recovery"] = float(int(np.nanargmin(dev)) + rec[0]) if rec.size else np.nan
    return out


def _fmt(v, how):
    if v is None or not np.isfinite(v):
        return "n/a"
    if how == "pct":
        return f"{100 * v:.2f} %"
    if how == "pct3":
        return f"{100 * v:.3f} %"
    if how == "int":
        return f"{v:.0f}"
    return f"{v:.3f}"


def _members(res):
    """Per finished member: (series dict, final wealth, config dict, point, sweep dict)."""
    if "members" not in res:       # a single run
        cfg = yaml.safe_load(res["attrs"]["config"])
        fw = res["final"].get("wealth")
        return [({k: np.asarray(v) for k, v in res["series"].items()}, fw, cfg, 0)]
    done = np.asarray(res["members"]["done"], bool)
    cfgs = [yaml.safe_load(c) for c in res["members"]["config"]]
    out = []
    for i in np.flatnonzero(done):
        s = {k: v[i] for k, v in res["series"].items()}
        fw = res["final"]["wealth"][i] if "wealth" in res["final"] else None
        out.append((s, fw, cfgs[i], int(res["members"]["point"][i])))
    return out


def _summary(vals, how):
    v = np.asarray([x for x in vals if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "n/a"
    if v.size == 1:
        return _fmt(v[0], how)
    lo, med, hi = np.percentile(v, [2.5, 50, 97.5])
    return f"{_fmt(med, how)} [{_fmt(lo, how)}, {_fmt(hi, how)}]"


def paired_responses(res):
    """Shock responses as shocked minus baseline of the same seed, for ensembles whose sweep has a
    no-shock point (keynes.demand_day = 0 or keynes.crisis = none). Returns {key: [values]}."""
    if "members" not in res:
        return {}
    mem = _members(res)
    runs = np.asarray(res["members"]["run"])[np.asarray(res["members"]["done"], bool)]
    by = {}
    for (s, fw, cfg, pt), r in zip(mem, runs):
        k = cfg["keynes"]
        shocked = (int(k.get("demand_day", 0)) > 0, k.get("crisis", "none") != "none")
        by.setdefault(int(r), {})[shocked] = (s, cfg)
    out = {}
    for r, d in by.items():
        base = d.get((False, False))
        if base is None:
            continue
        for key, (s, cfg) in d.items():
            if key == (False, False):
                continue
            k = cfg["keynes"]
            g, g0 = _f(s, "gdp"), _f(base[0], "gdp")
            if key[0]:
                day = int(k["demand_day"])
                rel = _ma(g, 7) / _ma(g0, 7) - 1
                w = rel[day - 1: day + 180]
                out.setdefault("paired_demand_trough", []).append(float(np.nanmin(w)))
                i0 = int(np.nanargmin(w))
                back = np.flatnonzero(np.abs(w[i0:]) <= 0.01)
                out.setdefault("paired_demand_recovery", []).append(float(i0 + back[0]) if back.size else np.nan)
            if key[1]:
                day = int(k["crisis_day"])
                l, l0 = _f(s, "loans"), _f(base[0], "loans")
                rel = (l / np.maximum(l0, 1e-300) - 1)[day - 1: day - 1 + Y]
                out.setdefault("paired_credit_drop", []).append(float(rel.min()))
                rg = _ma(g, 30) / _ma(g0, 30) - 1
                w = rg[day - 1: day - 1 + Y]
                out.setdefault("paired_gdp_crisis", []).append(float(np.nanmin(w)))
                i0 = int(np.nanargmin(w))
                back = np.flatnonzero(w[i0:] >= -0.01)
                out.setdefault("paired_crisis_recovery", []).append(float(i0 + back[0]) if back.size else np.nan)
                e = _f(s, "exits")[day - 1: day - 1 + 180]
                fm = _f(s, "firms")[day - 1: day - 1 + 180].mean()
                out.setdefault("paired_bankrupt_crisis", []).append(float(e.sum() / (e.size / Y) / fm))
    return out


PAIRED = [
    ("paired_demand_trough", "paired demand shock: min of 7-d GDP vs no-shock run", "-8.2 %", "pct"),
    ("paired_demand_recovery", "paired demand shock: days until within 1 % of no-shock run", "<= 90 d", "int"),
    ("paired_credit_drop", "paired crisis: min loans vs no-crisis run (365 d)", "-34 %", "pct"),
    ("paired_bankrupt_crisis", "paired crisis: bankruptcy rate 180 d after (%/yr)", "4.1 %/yr", "pct"),
    ("paired_gdp_crisis", "paired crisis: min 30-d GDP vs no-crisis run", "-12.3 %", "pct"),
    ("paired_crisis_recovery", "paired crisis: days until within 1 % of no-crisis run", "<= 548 d", "int"),
]


def all_moments(res):
    return [(moments(s, fw, cfg), cfg, pt) for s, fw, cfg, pt in _members(res)]


def implied_ga(cfg):
    """Mean annual TFP growth implied by the R&D ratchet: 365 zeta phi s_A / sqrt(2 pi)."""
    k = cfg.get("keynes", {})
    return 365.0 * k.get("zeta", 0.1) * k.get("phi", 0.02) * k.get("s_A", 0.3) / np.sqrt(2 * np.pi)


def _spearman(x, y):
    from scipy.stats import spearmanr
    ok = np.isfinite(x) & np.isfinite(y)
    return float(spearmanr(x[ok], y[ok])[0]) if ok.sum() > 3 else np.nan


def design_rows(res, ms):
    """Design B: Spearman rank correlation of the ZLB share, CAGR and unemployment with each swept
    parameter and with the implied TFP growth g_A (the PDF's Proposition 2 threshold g_A ~ 5.3 %)."""
    keys = [k for k in str(res["attrs"].get("sweep_keys", "")).split(",") if k and k != "seed"]
    if not keys or len(ms) < 5:
        return []
    z = np.array([m["zlb"] for m, _, _ in ms])
    c = np.array([m.get("cagr", np.nan) for m, _, _ in ms])
    u = np.array([m["unemployment"] for m, _, _ in ms])
    rows = [("design: Spearman rho of (ZLB share, CAGR, unemployment) with", "", "", "")]
    ga = np.array([implied_ga(cfg) for _, cfg, _ in ms])
    cols = [("implied g_A = 365 zeta phi s_A/sqrt(2 pi)", ga)]
    for k in keys:
        sec, name = k.split(".", 1) if "." in k else ("", k)
        vals = [cfg.get(sec, {}).get(name) if sec else cfg.get(name) for _, cfg, _ in ms]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals) and len(set(vals)) >= 5:
            cols.append((k, np.array(vals, dtype=float)))
    if len(cols) == 1 and np.ptp(ga) == 0:
        return []                    # not a parameter design (e.g. paired shock points)
    for name, x in cols:
        rows.append((f"  {name}", f"{_spearman(x, z):+.2f}, {_spearman(x, c):+.2f}, {_spearman(x, u):+.2f}", "", ""))
    hi = ga > 0.053
    if hi.any() and (~hi).any():
        rows.append(("median ZLB share: g_A > 5.3 % / g_A <= 5.3 %",
                     f"{100 * np.median(z[hi]):.1f} % ({hi.sum()}) / {100 * np.median(z[~hi]):.1f} % ({(~hi).sum()})",
                     "PDF Prop. 2: ZLB when g_A > 5.3 %", ""))
    return rows


def keynes_facts(res):
    """Rows (statistic, ours: median [2.5 %, 97.5 %] over members, seed, PDF/note)."""
    ms = all_moments(res)
    n = len(ms)
    rows = [("members (finished)", f"{n}", "50 (seed MC)", "")]
    pts = sorted(set(pt for _, _, pt in ms))
    for key, label, seed, pdf, how in TARGETS:
        vals = [m.get(key, np.nan) for m, _, _ in ms]
        rows.append((label, _summary(vals, how), f"seed {seed}", pdf))
    if len(pts) > 1:
        rows.append(("(points of the sweep/design pooled above)", f"{len(pts)}", "", ""))
    z = np.array([m["zlb"] for m, _, _ in ms])
    if z.size > 1:
        rows.append(("ZLB share: members below 50 % / above 90 %", f"{int((z < 0.5).sum())} / {int((z > 0.9).sum())}",
                     "bimodal", "seed"))
    ac = [m["ac1"] for m, _, _ in ms if np.isfinite(m.get("ac1", np.nan))]
    if n == 1 and "growth" in ms[0][0]:
        lo, hi = bootstrap_ac1(ms[0][0]["growth"])
        rows.append(("growth autocorrelation: block-bootstrap 95 % CI (n = 9)", f"[{lo:.2f}, {hi:.2f}]", "", ""))
    elif ac:
        rows.append(("growth autocorrelation: share of members < 0", f"{np.mean(np.array(ac) < 0):.2f}", "", ""))
    rows += design_rows(res, ms) if "members" in res else []
    paired = paired_responses(res) if "members" in res else {}
    for key, label, seed, how in PAIRED:
        vals = paired.get(key)
        if vals:
            rows.append((label, _summary(vals, how), f"seed {seed}", f"{len(vals)} pairs"))
    return rows


def keynes_figures(res, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    mem = _members(res)
    names = [("gdp", "nominal GDP (daily sales)"), ("cpi", "CPI"), ("r", "policy rate"),
             ("unemployment", "unemployment rate"), ("loans", "bank credit"), ("firms", "alive firms")]
    fig, ax = plt.subplots(2, 3, figsize=(14, 7.5))
    for a, (k, title) in zip(ax.flat, names):
        X = np.array([np.asarray(s[k], dtype=float) for s, _, _, _ in mem])
        t = np.arange(1, X.shape[1] + 1)
        if X.shape[0] == 1:
            a.plot(t, X[0], lw=0.7)
        else:
            lo, med, hi = np.nanpercentile(X, [2.5, 50, 97.5], axis=0)
            a.fill_between(t, lo, hi, alpha=0.3, label="95 % of members")
            a.plot(t, med, lw=0.8, label="median")
            a.plot(t, X[0], lw=0.4, color="k", alpha=0.6, label="member 0")
        a.set_title(title)
        a.set_xlabel("day")
        if k in ("gdp", "cpi", "loans"):
            a.set_yscale("log")
    if len(mem) > 1:
        ax[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "series.png"), dpi=110)
    plt.close(fig)
    out = ["series.png"]
    ms = all_moments(res)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    z = [100 * m["zlb"] for m, _, _ in ms]
    ax[0].hist(z, bins=np.linspace(0, 100, 21))
    ax[0].axvline(93.7, color="r", ls="--", label="seed median 93.7 %")
    ax[0].set_xlabel("share of days at the ZLB (%)")
    ax[0].set_ylabel("members")
    ax[0].legend()
    ax[0].set_title("ZLB share across members")
    ga = np.array([100 * implied_ga(cfg) for _, cfg, _ in ms])
    if np.ptp(ga) > 0:
        ax[1].scatter(ga, z, s=12)
        ax[1].axvline(5.3, color="r", ls="--", label="PDF threshold 5.3 %")
        ax[1].legend()
        ax[1].set_xlabel("implied TFP growth g_A (%/yr)")
    else:
        ax[1].scatter([100 * m.get("cagr", np.nan) for m, _, _ in ms], z, s=12)
        ax[1].set_xlabel("nominal GDP CAGR (%)")
    ax[1].set_ylabel("ZLB share (%)")
    ax[1].set_title("ZLB share per member")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "zlb_hist.png"), dpi=110)
    plt.close(fig)
    out.append("zlb_hist.png")
    return out
