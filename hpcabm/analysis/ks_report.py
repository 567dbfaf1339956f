"""Stylised facts of a K+S run or Monte Carlo ensemble, side by side with Dosi, Fagiolo & Roventini
(2010) (`hpcabm report DIR`; docs/models/ks.md).

Statistics follow the paper's Tables 2-3 as listed in the note (sec. 8): growth rates of the logs; Baxter-King
band-pass filter (6, 32, 12) on the logs; standard deviations relative to output; cross-correlations
of the filtered series with filtered output at leads and lags (t-4 .. t+4); a Subbotin (exponential
power, scipy `gennorm`) fit of pooled output growth rates and of firm growth rates; firm size
(sales) distributions; investment lumpiness; correlation of bankruptcies with the cycle. Every
statistic is computed per member and averaged over members (MC standard error in brackets).
The reference values are those of shared/notes/KS_MARK1.md sec. 8: recalled from the paper and not
re-checked against its PDF, so they are quoted as targets (signs, timing, orders of magnitude)."""
import os

import numpy as np

BK = (6, 32, 12)
LAGS = range(-4, 5)


def bk_filter(x, low=6, high=32, K=12):
    """Baxter-King band-pass filter keeping periods in [low, high]; loses K points at each end."""
    x = np.asarray(x, dtype=float)
    w1, w2 = 2 * np.pi / high, 2 * np.pi / low
    j = np.arange(1, K + 1)
    b = np.concatenate([[(w2 - w1) / np.pi], (np.sin(w2 * j) - np.sin(w1 * j)) / (np.pi * j)])
    w = np.concatenate([b[:0:-1], b])
    w -= w.mean()                                   # weights sum to zero: removes trends
    return np.convolve(x, w, mode="valid")


def xcorr(x, y, k):
    """corr(x_{t+k}, y_t): k > 0 means x follows (lags) y, k < 0 means x leads y."""
    if k > 0:
        a, b = x[k:], y[:-k]
    elif k < 0:
        a, b = x[:k], y[-k:]
    else:
        a, b = x, y
    return float(np.corrcoef(a, b)[0, 1])


def adf_t(y, lags=4):
    """Augmented Dickey-Fuller t statistic (with constant, `lags` lagged differences) of the unit-root
    coefficient; reject a unit root at 5 % when below -2.86 (MacKinnon, constant, large sample)."""
    y = np.asarray(y, dtype=float)
    dy = np.diff(y)
    n = dy.size - lags
    X = [np.ones(n), y[lags:-1]] + [dy[lags - i: -i] for i in range(1, lags + 1)]
    X = np.column_stack(X)
    z = dy[lags:]
    beta, *_ = np.linalg.lstsq(X, z, rcond=None)
    resid = z - X @ beta
    s2 = resid @ resid / (n - X.shape[1])
    cov = s2 * np.linalg.inv(X.T @ X)
    return float(beta[1] / np.sqrt(cov[1, 1]))


def subbotin_b(x):
    """Shape b of an exponential-power (Subbotin) fit: 2 = normal, 1 = Laplace, < 1 fatter tails."""
    from scipy.stats import gennorm
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 30:
        return np.nan
    b, loc, scale = gennorm.fit((x - x.mean()) / x.std())
    return float(b)


def _mse(vals):
    v = np.asarray([x for x in vals if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return np.nan, np.nan
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


def _fmt(m, se, nd=4):
    if not np.isfinite(m):
        return "n/a"
    return f"{m:.{nd}f} ({se:.{nd}f})"


def _members(res):
    """Series as (members, T) arrays, finished members only; and the burn-in."""
    import yaml
    s = {k: np.atleast_2d(np.asarray(v, dtype=float)) for k, v in res["series"].items()}
    done = np.asarray(res.get("members", {}).get("done", np.ones(next(iter(s.values())).shape[0])), bool)
    s = {k: v[done] for k, v in s.items()}
    cfg = yaml.safe_load(res["attrs"].get("config") or res["attrs"].get("base_config"))
    s["_F2"] = float(cfg.get("ks", {}).get("F2", 200))
    return s, int(cfg.get("burn_in", 0)), done


def macro_stats(res):
    """Per-member statistics (lists over members) used by the table and the docs."""
    s, burn, _ = _members(res)
    F2 = s.pop("_F2")
    M, T = s["gdp"].shape
    out = {"members": M, "periods": T, "burn_in": burn}
    names = {"output": "gdp", "consumption": "cons", "investment": "inv"}
    logs = {}
    for key, col in names.items():
        x = s[col][:, burn:]
        floor = 1e-6 * np.median(x, axis=1, keepdims=True)      # a period without investment
        logs[key] = np.log(np.maximum(x, floor))
        out[f"growth_{key}"] = [float(np.mean(np.diff(x))) for x in logs[key]]
    cyc = {
        "output": logs["output"], "consumption": logs["consumption"], "investment": logs["investment"],
        "employment": np.log(s["employment"][:, burn:]),
        "unemployment": s["unemployment"][:, burn:],
        "productivity": np.log(s["productivity"][:, burn:]),
        "price": np.log(s["cpi"][:, burn:]),
        "inflation": s["inflation"][:, burn:],
        "markup": s["markup"][:, burn:],
        "inventories": np.log(np.maximum(s["inventories"][:, burn:], 1.0)),
        "bankruptcies": s["exits2"][:, burn:],
    }
    filt = {k: np.array([bk_filter(x, *BK) for x in v]) for k, v in cyc.items()}
    out["filtered"] = filt
    y = filt["output"]
    for k, f in filt.items():
        out[f"sd_{k}"] = [float(f[i].std() / y[i].std()) for i in range(M)]
        for L in LAGS:
            out[f"xc_{k}_{L}"] = [xcorr(f[i], y[i], L) for i in range(M)]
    out["sd_output_abs"] = [float(x.std()) for x in y]
    for key in names:
        out[f"adf_{key}"] = [adf_t(x) for x in logs[key]]
        out[f"adf_bpf_{key}"] = [adf_t(x) for x in filt[key]]
    g = np.diff(logs["output"], axis=1)
    out["subbotin_output"] = [subbotin_b(x) for x in g]
    out["subbotin_output_pooled"] = subbotin_b(np.concatenate([x - x.mean() for x in g]))
    out["unemployment_mean"] = [float(x.mean()) for x in s["unemployment"][:, burn:]]
    out["inflation_mean"] = [float(x.mean()) for x in s["inflation"][:, burn:]]
    out["spike_share"] = [float(x.mean()) for x in s["spike_share"][:, burn:]]
    out["zero_inv_share"] = [float(x.mean()) for x in s["zero_inv_share"][:, burn:]]
    out["exit_rate"] = [float(x.mean() / F2) for x in s["exits2"][:, burn:]]
    out["bankrupt_rate"] = [float(x.mean() / F2) for x in s["bankrupt2"][:, burn:]]
    out["credit_rationed"] = [float(np.sum(r) / max(np.sum(d), 1e-300)) for r, d in
                              zip(s["credit_rationed"][:, burn:], s["credit_demand"][:, burn:])]
    out["inv_share"] = [float(np.mean(i / g_)) for i, g_ in zip(s["inv"][:, burn:], s["gdp"][:, burn:])]
    out["crises"] = [int(np.sum(np.diff(x) < -0.03)) for x in logs["output"]]
    return out


def firm_stats(res):
    """Pooled end-of-run firm cross sections (sales normalised by each member's mean)."""
    f = res["final"]
    if "sales" not in f:
        return {}
    sales = f["sales"] if isinstance(f["sales"], list) else [f["sales"]]
    prev = f["sales_prev"] if isinstance(f["sales_prev"], list) else [f["sales_prev"]]
    done = res.get("members", {}).get("done", np.ones(len(sales)))
    norm, growth = [], []
    for i, (s, p) in enumerate(zip(sales, prev)):
        if not done[i] or s.size == 0:
            continue
        ok = s > 0
        norm.append(s[ok] / s[ok].mean())
        with np.errstate(divide="ignore", invalid="ignore"):
            gg = np.log(s / p)
        gg = gg[np.isfinite(gg)]
        if gg.size:
            growth.append(gg - gg.mean())
    if not norm:
        return {}
    x = np.concatenate(norm)
    from scipy import stats as st
    lx = np.log(x)
    jb = st.jarque_bera(lx)
    top = np.sort(x)[::-1][: max(10, x.size // 10)]
    rank = np.arange(1, top.size + 1)
    slope = np.polyfit(np.log(top), np.log(rank), 1)[0]
    g = np.concatenate(growth) if growth else np.zeros(0)
    return {"n": int(x.size), "skew": float(st.skew(x)), "log_skew": float(st.skew(lx)),
            "log_jb_p": float(jb.pvalue), "zipf_slope": float(-slope),
            "growth_subbotin": subbotin_b(g) if g.size else np.nan,
            "growth_kurtosis": float(st.kurtosis(g)) if g.size else np.nan, "sizes": x, "growth": g}


def ks_facts(res):
    """Rows (statistic, model mean (MC s.e.), paper target, source)."""
    m = macro_stats(res)
    fs = firm_stats(res)
    P = "DFR 2010 [R]"
    rows = [("members x periods (burn-in)", f"{m['members']} x {m['periods']} ({m['burn_in']})", "50 x 600", P)]
    rows += [
        ("avg growth rate: output", _fmt(*_mse(m["growth_output"])), "0.0254 (0.0002)", P + " Table 2"),
        ("avg growth rate: consumption", _fmt(*_mse(m["growth_consumption"])), "0.0252 (0.0002)", P + " Table 2"),
        ("avg growth rate: investment", _fmt(*_mse(m["growth_investment"])), "0.0275 (0.0004)", P + " Table 2"),
        ("ADF t, log output / consumption / investment",
         " / ".join(f"{np.nanmean(m[f'adf_{k}']):.2f}" for k in ("output", "consumption", "investment")),
         "unit root not rejected (> -2.86)", P + " Table 2"),
        ("ADF t, bpf output / consumption / investment",
         " / ".join(f"{np.nanmean(m[f'adf_bpf_{k}']):.2f}" for k in ("output", "consumption", "investment")),
         "stationary (< -2.86)", P + " Table 2"),
        ("sd of bpf output (absolute)", _fmt(*_mse(m["sd_output_abs"])), "", ""),
        ("sd bpf consumption / output", _fmt(*_mse(m["sd_consumption"])), "< 1 (0.5-0.7)", P + " Table 3"),
        ("sd bpf investment / output", _fmt(*_mse(m["sd_investment"])), ">> 1 (3-5)", P + " Table 3"),
        ("sd bpf employment / output", _fmt(*_mse(m["sd_employment"])), "~ 1 (0.8-1)", P + " Table 3"),
        ("autocorr bpf output lag 1", _fmt(*_mse(m["xc_output_1"])), "high (0.8-0.9)", P + " Table 3"),
        ("autocorr bpf output lag 4", _fmt(*_mse(m["xc_output_4"])), "declines to ~0", P + " Table 3"),
    ]
    targets = {"consumption": "procyclical, coincident (~0.9)", "investment": "procyclical, coincident/lagging",
               "employment": "procyclical, coincident/lagging", "unemployment": "countercyclical",
               "productivity": "procyclical", "price": "countercyclical", "inflation": "procyclical",
               "markup": "countercyclical", "inventories": "procyclical",
               "bankruptcies": "countercyclical (firm exits)"}
    for k, tgt in targets.items():
        c0 = _mse(m[f"xc_{k}_0"])
        best = max(LAGS, key=lambda L: abs(np.nanmean(m[f"xc_{k}_{L}"])))
        cb = np.nanmean(m[f"xc_{k}_{best}"])
        where = "t" if best == 0 else (f"t{best:+d}")
        rows.append((f"corr(bpf {k}_t, bpf output_t)", f"{_fmt(*c0, nd=3)}; peak {cb:+.2f} at {where}", tgt, P + " Table 3"))
    rows += [
        ("Subbotin b, output growth (pooled)", f"{m['subbotin_output_pooled']:.3f}", "~1 (Laplace: fat tails)", P + ""),
        ("Subbotin b, output growth (per member)", _fmt(*_mse(m["subbotin_output"]), nd=3), "< 2", P),
    ]
    if fs:
        rows += [
            ("firm sales: skewness (normalised, pooled)", f"{fs['skew']:.2f} (n {fs['n']})", "right-skewed", P),
            ("firm log-sales: skewness; JB normality p", f"{fs['log_skew']:.2f}; {fs['log_jb_p']:.2g}", "not lognormal", P),
            ("firm sales: rank-size slope, top decile", f"{fs['zipf_slope']:.2f}", "Pareto-ish upper tail (~1.06 JEDC 2013)", "note sec. 8"),
            ("firm growth: Subbotin b; excess kurtosis", f"{fs['growth_subbotin']:.3f}; {fs['growth_kurtosis']:.1f}", "b < 2, tent-shaped", P),
        ]
    rows += [
        ("investment spikes: share of firms I/K > 0.2", _fmt(*_mse(m["spike_share"]), nd=3), "substantial (~0.3-0.4)", P),
        ("zero investment: share of firms", _fmt(*_mse(m["zero_inv_share"]), nd=3), "substantial", P),
        ("consumption-good exits per period / F2", _fmt(*_mse(m["exit_rate"]), nd=4), "", ""),
        ("bankruptcies (NW < 0) per period / F2", _fmt(*_mse(m["bankrupt_rate"]), nd=4), "", ""),
        ("unemployment rate (mean)", _fmt(*_mse(m["unemployment_mean"]), nd=3), "", ""),
        ("inflation per period (mean)", _fmt(*_mse(m["inflation_mean"]), nd=4), "", ""),
        ("investment / GDP (real)", _fmt(*_mse(m["inv_share"]), nd=3), "", ""),
        ("credit rationed / credit demanded", _fmt(*_mse(m["credit_rationed"]), nd=4), "0 in Mark I", ""),
        ("periods with output falling > 3 %", _fmt(*_mse(m["crises"]), nd=1), "", ""),
    ]
    return rows


def ks_figures(res, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    m = macro_stats(res)
    s, burn, _ = _members(res)
    F2 = s.pop("_F2")
    names = []
    fig, ax = plt.subplots(2, 2, figsize=(12, 8))
    t = np.arange(s["gdp"].shape[1])
    for i in range(min(5, s["gdp"].shape[0])):
        ax[0, 0].plot(t, np.log(s["gdp"][i]), lw=0.8)
    ax[0, 0].set_title("log real GDP (up to 5 members)")
    ax[0, 0].plot(t, np.log(s["cons"][0]), "k:", lw=0.6, label="consumption (member 0)")
    ax[0, 0].plot(t, np.log(np.maximum(s["inv"][0], 1e-6 * np.median(s["inv"][0]))), "k--", lw=0.6,
                  label="investment (member 0)")
    ax[0, 0].legend(fontsize=7)
    f = m["filtered"]
    tt = np.arange(f["output"].shape[1]) + burn + BK[2]
    ax[0, 1].plot(tt, f["output"][0], label="output")
    ax[0, 1].plot(tt, f["consumption"][0], label="consumption")
    ax[0, 1].plot(tt, f["investment"][0], label="investment", lw=0.7)
    ax[0, 1].set_title("band-pass filtered logs (member 0)")
    ax[0, 1].legend(fontsize=7)
    for k in ("consumption", "investment", "employment", "unemployment", "price", "markup"):
        ax[1, 0].plot(list(LAGS), [np.nanmean(m[f"xc_{k}_{L}"]) for L in LAGS], "o-", ms=3, label=k)
    ax[1, 0].axhline(0, color="k", lw=0.5)
    ax[1, 0].set_xlabel("k: corr(x_{t+k}, output_t)")
    ax[1, 0].set_title("cross-correlations with filtered output (MC mean)")
    ax[1, 0].legend(fontsize=7)
    ax[1, 1].plot(t, s["unemployment"][0], lw=0.7, label="unemployment")
    ax[1, 1].plot(t, s["exits2"][0] / F2, lw=0.7, label="exit rate F2")
    ax[1, 1].set_title("unemployment and exits (member 0)")
    ax[1, 1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "ks_macro.png"), dpi=100)
    plt.close(fig)
    names.append("ks_macro.png")
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.5))
    g = np.diff(np.log(s["gdp"][:, burn:]), axis=1)
    g = np.concatenate([x - x.mean() for x in g])
    g = g / g.std()
    h, e = np.histogram(g, bins=60, density=True)
    c = 0.5 * (e[1:] + e[:-1])
    ax[0].semilogy(c[h > 0], h[h > 0], "o", ms=3, label="model")
    from scipy.stats import gennorm, norm
    b = m["subbotin_output_pooled"]
    xx = np.linspace(g.min(), g.max(), 200)
    pb, lb, sb = gennorm.fit(g)
    ax[0].semilogy(xx, gennorm.pdf(xx, pb, lb, sb), "r-", label=f"Subbotin b={b:.2f}")
    ax[0].semilogy(xx, norm.pdf(xx), "k:", label="normal")
    ax[0].set_ylim(1e-4, 1)
    ax[0].set_title("output growth rates (normalised, pooled)")
    ax[0].legend(fontsize=7)
    fs = firm_stats(res)
    if fs:
        x = np.sort(fs["sizes"])[::-1]
        ax[1].loglog(x, np.arange(1, x.size + 1) / x.size, ".", ms=2)
        ax[1].set_title("firm sales, rank-size (CCDF), pooled")
        ax[1].set_xlabel("sales / member mean")
        gg = fs["growth"]
        if gg.size:
            gg = gg / gg.std()
            h, e = np.histogram(gg, bins=60, density=True)
            c = 0.5 * (e[1:] + e[:-1])
            ax[2].semilogy(c[h > 0], h[h > 0], "o", ms=3, label="model")
            x2 = np.linspace(gg.min(), gg.max(), 200)
            ax[2].semilogy(x2, norm.pdf(x2), "k:", label="normal")
            ax[2].set_ylim(1e-4, 2)
            ax[2].legend(fontsize=7)
            ax[2].set_title(f"firm growth rates (Subbotin b={fs['growth_subbotin']:.2f})")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "ks_distributions.png"), dpi=100)
    plt.close(fig)
    names.append("ks_distributions.png")
    return names
