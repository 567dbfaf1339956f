"""Report of a MASs Macro run: the seed's three figures and a stylised-facts table against the
validation targets of shared/notes/MASS_MACRO.md sec. 4 (target, model value, pass/miss)."""
import os

import numpy as np
import yaml

from hpcabm.analysis import stats


def _cfg(res):
    return yaml.safe_load(res["attrs"]["config"])


def _window(res):
    cfg = _cfg(res)
    T = len(res["series"]["firms"])
    b = min(int(cfg.get("burn_in", 0)), max(T - 24, 0))
    return cfg, b, T


def downturn_months(output):
    """Months whose output is below its value 12 months earlier (index into the series)."""
    out = np.asarray(output, dtype=float)
    d = np.zeros(out.size, bool)
    d[12:] = out[12:] < out[:-12]
    return d


def cycle(x, width=25):
    """Deviation (log) from a centred moving average: a simple band-pass for monthly series."""
    x = np.log(np.maximum(np.asarray(x, dtype=float), 1e-300))
    k = np.ones(width) / width
    trend = np.convolve(np.pad(x, width // 2, mode="edge"), k, mode="valid")
    return x - trend[: x.size]


def gini(x):
    x = np.sort(np.asarray(x, dtype=float))
    if x.size == 0 or x.sum() <= 0:
        return float("nan")
    n = x.size
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def facts(res):
    cfg, b, T = _window(res)
    N = cfg["agents"]
    s = {k: np.asarray(v)[b:] for k, v in res["series"].items() if k != "spell_hist"}
    f = res["final"]
    rows = []

    def row(name, value, target, ok, source, fmt="{:.3g}"):
        v = fmt.format(value) if isinstance(value, (int, float, np.floating, np.integer)) else str(value)
        rows.append((name, v, f"{target}  [{'pass' if ok else 'MISS'}]", source))

    emp = f["tenure"] >= 0 if "tenure" in f else np.zeros(0, bool)
    ten = f["tenure"][emp].mean() if emp.any() else float("nan")
    row("mean job tenure (months)", ten, "~30", 20 <= ten <= 40, "seed 000")
    u = s["unemployment_rate"]
    row("unemployment rate, mean", u.mean(), "0.04-0.08", 0.04 <= u.mean() <= 0.08, "note 4 #13")
    co = cycle(s["output"])
    corr = float(np.corrcoef(u, co)[0, 1]) if u.std() > 0 else float("nan")
    row("corr(unemployment, output cycle)", corr, "< 0 (countercyclical)", corr < 0, "seed Fig 3a")
    alpha, xmin, ntail, se = stats.zipf_tail_mle(f["firm_size"])
    row("Zipf tail exponent of firm sizes (MLE)", alpha, "~1 (0.8-1.3)", 0.8 <= alpha <= 1.3, "Axtell 2001")
    ent = (s["entries"] / s["firms"]).mean()
    ex = (s["exits"] / s["firms"]).mean()
    row("entries per month / firms", ent, "0.015-0.02", 0.01 <= ent <= 0.025, "note 4 #3")
    row("exits per month / firms", ex, "0.015-0.02", 0.01 <= ex <= 0.025, "note 4 #3")
    sd = float(np.std(co)) * 100
    row("output cycle sd (%)", sd, "a few % (0.5-10)", 0.5 <= sd <= 10, "seed Fig 1a")
    dn = downturn_months(res["series"]["output"])[b:]
    infl = s["inflation"]
    up_, down_ = infl[~dn].mean() if (~dn).any() else np.nan, infl[dn].mean() if dn.any() else np.nan
    row("inflation in downturns vs other months (%/month)", f"{100 * down_:.3f} vs {100 * up_:.3f}",
        "lower in downturns", down_ < up_, "seed Fig 3b")
    pc = (s["price_changes"] / s["firms"]).mean()
    row("price changes per firm-month", pc, "0.10-0.20", 0.09 <= pc <= 0.22, "Nakamura-Steinsson 2008")
    j2j = (s["job_to_job"] / N).mean()
    row("job-to-job moves per month / agents", j2j, "0.02-0.03", 0.02 <= j2j <= 0.03, "note 4 #10")
    lay = (s["layoffs"] / N).mean()
    row("layoffs + dissolution separations / agents", lay, "0.012-0.017", 0.012 <= lay <= 0.017, "JOLTS")
    hires = (s["hires"] / N).mean()
    row("hires per month / agents", hires, "0.034-0.044", 0.034 <= hires <= 0.044, "JOLTS")
    hist = np.asarray(res["series"]["spell_hist"])[b:]
    L = np.arange(hist.shape[1])

    def mean_spell(mask):
        h = hist[mask].sum(axis=0)
        return (h @ L) / h.sum() if h.sum() else float("nan")
    sn, sdn = mean_spell(~dn), mean_spell(dn)
    row("mean unemployment spell, normal vs downturn (months)", f"{sn:.2f} vs {sdn:.2f}",
        "longer in downturns", sdn > sn, "seed Fig 3c")
    dshare = s["durables_sold"].sum() * np.nanmean(s["price_D"]) / max(
        (s["consumption_C"] * s["price_C"]).sum() + s["durables_sold"].sum() * np.nanmean(s["price_D"]), 1)
    row("durables share of household spending", dshare, "~0.105", 0.07 <= dshare <= 0.14, "BEA")
    inc = f.get("income", np.zeros(0))
    g = gini(inc[inc > 0]) if inc.size else float("nan")
    row("income Gini (employed)", g, "0.4-0.5", 0.35 <= g <= 0.55, "note 4 #24")
    ok = np.isfinite(f["firm_growth"]) & (f["firm_age"] > 12)
    _, _, slope = stats.growth_sd_by_size(f["firm_size"][ok] / np.exp(f["firm_growth"][ok]), f["firm_growth"][ok])
    row("slope of log sd(growth) on log size", slope, "-0.15 to -0.20", -0.3 <= slope <= -0.1, "Amaral 1997")
    if "firm_wage" in f and f["firm_size"].size > 20:
        big = f["firm_size"] >= np.median(f["firm_size"][f["firm_size"] > 1]) if (f["firm_size"] > 1).any() else f["firm_size"] > 1
        wl, ws = f["firm_wage"][big].mean(), f["firm_wage"][~big].mean()
        row("wage per worker, large vs small firms", f"{wl:.3g} vs {ws:.3g}", "higher in large", wl > ws, "GMU abstract")
    vol = [np.std(cycle(s[k])) for k in ("output", "firms", "entries", "exits", "wages", "utility")]
    row("cycle sd: output, firms, entries, exits, wages, utility",
        ", ".join(f"{100 * v:.2g}%" for v in vol), "firms > output; exits most; utility least",
        vol[1] > vol[0] and vol[3] == max(vol) and vol[5] == min(vol), "seed Fig 1")
    m0, m1 = res["series"]["money_total"][0], res["series"]["money_total"][-1]
    row("money total first vs last month", f"{m0} vs {m1}", "equal (exact)", m0 == m1, "conservation")
    return rows


def figures(res, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s, f = res["series"], res["final"]
    cfg, b, T = _window(res)
    t = np.arange(1, T + 1)
    names = []
    # Figure 1: output; firms with entries and exits; total wages; utility
    fig, ax = plt.subplots(2, 2, figsize=(11, 7))
    ax[0, 0].plot(t, s["output"], label="total")
    for k in ("output_C", "output_D", "output_I"):
        ax[0, 0].plot(t, s[k], lw=0.7, label=k[-1])
    ax[0, 0].legend(fontsize=7); ax[0, 0].set_title("(a) output (team output units)")
    ax[0, 1].plot(t, s["firms"], label="firms")
    a2 = ax[0, 1].twinx()
    a2.plot(t, s["entries"], "g", lw=0.6); a2.plot(t, s["exits"], "r", lw=0.6)
    ax[0, 1].set_title("(b) firms (left); entries green, exits red (right)")
    ax[1, 0].plot(t, s["wages"]); ax[1, 0].set_title("(c) total wages (money units)")
    ax[1, 1].plot(t, s["goods_utility"]); ax[1, 1].set_title("(d) mean utility")
    for a in ax.flat:
        a.axvline(b, color="gray", lw=0.5, ls="--"); a.set_xlabel("month")
    fig.tight_layout(); fig.savefig(os.path.join(outdir, "fig1_aggregates.png"), dpi=110); plt.close(fig)
    names.append("fig1_aggregates.png")
    # Figure 2: cross sections
    fig, ax = plt.subplots(2, 3, figsize=(14, 8))
    size = f["firm_size"]
    x, p = stats.ccdf(size[size > 0])
    ax[0, 0].loglog(x, p, ".", ms=3); ax[0, 0].set_title("(a) firm sizes, Pr(S >= s)")
    g = f["firm_growth"]
    ok = np.isfinite(g) & (f["firm_age"] > 12)
    s0 = size[ok] / np.exp(g[ok])
    for lo_, hi_, c in ((1, 3, "C0"), (3, 20, "C1"), (20, 1e12, "C2")):
        sel = (s0 >= lo_) & (s0 < hi_)
        if sel.sum() > 5:
            ax[0, 1].hist(g[ok][sel], bins=40, histtype="step", log=True, density=True, color=c,
                          label=f"size {lo_}-{hi_ if hi_ < 1e12 else 'inf'}")
    ax[0, 1].legend(fontsize=7); ax[0, 1].set_title("(b) 12-month log growth by size")
    ax[0, 2].loglog(np.maximum(size, 1), np.maximum(f["firm_output"], 1e-9), ".", ms=2)
    ax[0, 2].set_title("(c) firm output vs size")
    c, sd, slope = stats.growth_sd_by_size(s0, g[ok])
    if c.size:
        ax[1, 0].loglog(c, sd, "o-")
    ax[1, 0].set_title(f"(d) sd(growth) vs size (slope {slope:.2f})")
    ax[1, 1].hist(f["firm_age"], bins=50, log=True); ax[1, 1].set_title("(e) firm ages (months)")
    ten = f["tenure"][f["tenure"] >= 0]
    ax[1, 2].hist(ten, bins=50, log=True); ax[1, 2].set_title("(f) job tenure (months)")
    fig.tight_layout(); fig.savefig(os.path.join(outdir, "fig2_cross_sections.png"), dpi=110); plt.close(fig)
    names.append("fig2_cross_sections.png")
    # Figure 3: unemployment, price level, spell durations (normal vs downturn), income
    fig, ax = plt.subplots(2, 2, figsize=(11, 7))
    ax[0, 0].plot(t, 100 * np.asarray(s["unemployment_rate"])); ax[0, 0].set_title("(a) unemployment rate (%)")
    ax[0, 1].plot(t, s["price_level"]); ax[0, 1].set_title("(b) price level (sales-weighted C price)")
    dn = downturn_months(s["output"])
    hist = np.asarray(s["spell_hist"])
    for mask, lab in ((~dn, "normal months"), (dn, "downturns")):
        h = hist[mask][b:].sum(axis=0) if mask[b:].any() else np.zeros(hist.shape[1])
        if h.sum():
            ax[1, 0].semilogy(np.arange(h.size), h / h.sum(), ".-", ms=3, label=lab)
    ax[1, 0].legend(); ax[1, 0].set_title("(c) completed unemployment spells (months)")
    inc = f["income"][f["income"] > 0]
    if inc.size:
        ax[1, 1].hist(inc, bins=60, log=True); ax[1, 1].set_title("(d) income distribution (employed)")
    fig.tight_layout(); fig.savefig(os.path.join(outdir, "fig3_macro.png"), dpi=110); plt.close(fig)
    names.append("fig3_macro.png")
    return names
