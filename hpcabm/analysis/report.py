"""`hpcabm report DIR`: a stylised-facts table on stdout and PNG figures under DIR/report/."""
import os

import numpy as np

from hpcabm.analysis import stats
from hpcabm.analysis.massmacro_report import facts as mm_facts
from hpcabm.analysis.massmacro_report import figures as mm_figures
from hpcabm.core.output import load_results


def _window(series, burn_in):
    return {k: np.asarray(v)[burn_in:] for k, v in series.items()}


def firms_facts(res):
    """Rows (name, model value, reference, source) for the endogenous-firms model."""
    a = res["attrs"]
    import yaml
    cfg = yaml.safe_load(a["config"])
    N = cfg["agents"]
    burn = min(int(cfg.get("burn_in", 0)), len(res["series"]["firms"]) - 1)
    s = _window(res["series"], burn)
    f = res["final"]
    alpha, xmin, ntail, se = stats.zipf_tail_mle(f["firm_size"])
    exits = s["exits"].sum()
    g = f["firm_growth"]
    _, lap_b, kurt = stats.laplace_fit(g[np.isfinite(g) & (g != 0)])
    rows = [
        ("months in window", f"{burn}..{len(res['series']['firms'])}", "", ""),
        ("agents", f"{N}", "", ""),
        ("firms (mean)", f"{s['firms'].mean():.1f}", "", ""),
        ("mean firm size (employees)", f"{s['mean_size'].mean():.2f}", "~20 US employer firms; 6-8 Axtell model", "AAMAS 2016"),
        ("largest firm (mean)", f"{s['largest_firm'].mean():.0f}", "", ""),
        ("singleton share of firms", f"{(s['singletons'] / s['firms']).mean():.3f}", "", ""),
        ("Zipf tail exponent alpha (MLE)", f"{alpha:.3f} +/- {se:.3f} (xmin {xmin:.0f}, n {ntail})", "1.06 +/- 0.05", "Axtell 2001 Science"),
        ("mean firm lifetime at exit (months)", f"{s['exit_age_sum'].sum() / exits:.1f}" if exits else "n/a", "", ""),
        ("entries per month / firms", f"{(s['entries'] / s['firms']).mean():.4f}", "~0.017", "Census BDS via AAMAS 2016"),
        ("exits per month / firms", f"{(s['exits'] / s['firms']).mean():.4f}", "~0.017", "Census BDS via AAMAS 2016"),
        ("job changes per month / agents", f"{(s['job_changes'] / N).mean():.4f}", "0.02-0.03", "Axtell 2013 draft"),
    ]
    if "tenure" in f:
        rate, cv = stats.exponential_rate(f["tenure"])
        rows.append(("mean job tenure (months)", f"{f['tenure'].mean():.1f} (CV {cv:.2f}; 1 = exponential)", "~30", "seed 000"))
    rows += [
        ("mean firm age (months)", f"{f['firm_age'].mean():.1f}", "", ""),
        ("12-month log growth: Laplace scale, excess kurtosis", f"{lap_b:.3f}, {kurt:.2f}", "tent shape, kurtosis > 0", "Stanley et al. 1996"),
        ("output (mean)", f"{s['output'].mean():.1f}", "", ""),
        ("output CV over time", f"{s['output'].std() / s['output'].mean():.4f}", "", ""),
        ("effort per agent (mean)", f"{s['effort'].mean():.4f}", "", ""),
        ("utility per agent (mean)", f"{s['utility'].mean():.4f}", "", ""),
    ]
    sz = f["firm_size"].astype(float)
    ok = np.isfinite(g) & (f["firm_age"] > 12)
    size0 = sz[ok] / np.exp(g[ok])
    _, _, slope = stats.growth_sd_by_size(size0, g[ok])
    rows.append(("slope of log sd(growth) on log size", f"{slope:.3f}", "-0.15 to -0.20", "Stanley 1996; Amaral 1997"))
    return rows


def print_table(rows, title):
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    out = [title, "-" * len(title)]
    out.append(f"{'statistic'.ljust(w0)}  {'model'.ljust(w1)}  reference")
    for name, val, ref, src in rows:
        tail = f"{ref} ({src})" if src else ref
        out.append(f"{name.ljust(w0)}  {val.ljust(w1)}  {tail}")
    text = "\n".join(out)
    print(text)
    return text


def firms_figures(res, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s, f = res["series"], res["final"]
    t = np.arange(1, len(s["firms"]) + 1)
    fig, ax = plt.subplots(2, 2, figsize=(11, 7))
    ax[0, 0].plot(t, s["output"]); ax[0, 0].set_title("output")
    ax[0, 1].plot(t, s["firms"], label="firms")
    ax2 = ax[0, 1].twinx()
    ax2.plot(t, s["entries"], "g", lw=0.7, label="entries"); ax2.plot(t, s["exits"], "r", lw=0.7, label="exits")
    ax[0, 1].set_title("firms (left), entries/exits (right)")
    ax[1, 0].plot(t, s["job_changes"]); ax[1, 0].set_title("job changes per month")
    ax[1, 1].plot(t, s["utility"]); ax[1, 1].set_title("mean utility")
    for a in ax.flat:
        a.set_xlabel("month")
    fig.tight_layout(); fig.savefig(os.path.join(outdir, "series.png"), dpi=110); plt.close(fig)

    fig, ax = plt.subplots(2, 3, figsize=(14, 8))
    x, p = stats.ccdf(f["firm_size"])
    ax[0, 0].loglog(x, p, ".", ms=3)
    alpha, xmin, _, _ = stats.zipf_tail_mle(f["firm_size"])
    if np.isfinite(alpha):
        xx = np.geomspace(xmin, x.max(), 50)
        p0 = (f["firm_size"] >= xmin).mean()
        ax[0, 0].loglog(xx, p0 * ((xx - 0.5) / (xmin - 0.5)) ** -alpha, "r-", label=f"alpha={alpha:.2f}")
        ax[0, 0].legend()
    ax[0, 0].set_title("firm size CCDF"); ax[0, 0].set_xlabel("employees")
    g = f["firm_growth"]
    g = g[np.isfinite(g)]
    if g.size:
        ax[0, 1].hist(g, bins=60, log=True); ax[0, 1].set_title("12-month log growth rates")
    ax[0, 2].loglog(np.maximum(f["firm_size"], 1), np.maximum(f["firm_output"], 1e-9), ".", ms=2)
    ax[0, 2].set_title("output vs size"); ax[0, 2].set_xlabel("employees")
    ok = np.isfinite(f["firm_growth"]) & (f["firm_age"] > 12)
    c, sd, slope = stats.growth_sd_by_size(f["firm_size"][ok] / np.exp(f["firm_growth"][ok]), f["firm_growth"][ok])
    if c.size:
        ax[1, 0].loglog(c, sd, "o-"); ax[1, 0].set_title(f"sd(growth) vs size, slope {slope:.2f}")
    ax[1, 1].hist(f["firm_age"], bins=50, log=True); ax[1, 1].set_title("firm age (months)")
    if "tenure" in f:
        ax[1, 2].hist(f["tenure"], bins=50, log=True); ax[1, 2].set_title("job tenure (months)")
    fig.tight_layout(); fig.savefig(os.path.join(outdir, "cross_sections.png"), dpi=110); plt.close(fig)
    return ["series.png", "cross_sections.png"]


from hpcabm.analysis.ks_report import ks_facts, ks_figures  # noqa: E402

from hpcabm.analysis.entropy_report import exchange_facts, exchange_figures  # noqa: E402

REPORTS = {"firms": (firms_facts, firms_figures), "ks": (ks_facts, ks_figures),
           "massmacro": (mm_facts, mm_figures), "exchange": (exchange_facts, exchange_figures)}
# models whose report functions also take an ensemble (series as members x periods, final tables
# as lists per member); other models get the generic ensemble summary below
ENSEMBLE_REPORTS = {"ks"}

from hpcabm.analysis.keynes_report import keynes_facts, keynes_figures  # noqa: E402
REPORTS["keynes_daily"] = (keynes_facts, keynes_figures)
ENSEMBLE_REPORTS.add("keynes_daily")


def ensemble_facts(res):
    """Any model's ensemble: each series' mean over the post-burn-in window, mean and spread over members."""
    import yaml
    cfg = yaml.safe_load(res["attrs"]["base_config"])
    done = np.asarray(res["members"]["done"], bool)
    rows = [("members finished", f"{int(done.sum())}/{done.size}", "", "")]
    for name, a in sorted(res["series"].items()):
        a = np.asarray(a, dtype=float)[done]
        burn = min(int(cfg.get("burn_in", 0)), a.shape[1] - 1)
        v = a[:, burn:].mean(axis=1)
        se = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0
        rows.append((f"{name} (window mean)", f"{v.mean():.6g} (s.e. {se:.2g}, sd {v.std():.2g})", "", ""))
    return rows


def report(run_dir):
    from hpcabm.core.ensemble import is_ensemble_dir, load_ensemble
    if is_ensemble_dir(run_dir):
        res = load_ensemble(run_dir)
        model = res["attrs"]["model"]
        res["attrs"]["config"] = res["attrs"]["base_config"]
        outdir = os.path.join(run_dir, "report")
        os.makedirs(outdir, exist_ok=True)
        facts, figures = REPORTS[model] if model in ENSEMBLE_REPORTS else (ensemble_facts, None)
        text = print_table(facts(res), f"hpcabm report: ensemble {run_dir} (model {model}, "
                                       f"{res['attrs']['members_done']}/{res['attrs']['members']} members)")
        with open(os.path.join(outdir, "facts.txt"), "w") as fh:
            fh.write(text + "\n")
        if figures:
            names = figures(res, outdir)
            print("figures: " + ", ".join(os.path.join(outdir, n) for n in names))
        return 0
    res = load_results(run_dir)
    model = res["attrs"]["model"]
    if model not in REPORTS:
        raise SystemExit(f"report: no report for model {model!r}")
    facts, figures = REPORTS[model]
    outdir = os.path.join(run_dir, "report")
    os.makedirs(outdir, exist_ok=True)
    text = print_table(facts(res), f"hpcabm report: {run_dir} (model {model})")
    with open(os.path.join(outdir, "facts.txt"), "w") as fh:
        fh.write(text + "\n")
    names = figures(res, outdir)
    print("figures: " + ", ".join(os.path.join(outdir, n) for n in names))
    return 0
