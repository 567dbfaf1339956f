"""Table of the entropy calorimetry cases against the paper (Luo, MacKay & Chater 2026, seed 003).

    python validation/entropy_table.py runs/entropy_v3     # one sub-folder per case, each with entropy.h5

Prints one Markdown row per case found (docs/models/exchange.md "Results"): the paper's goodness of
fit / agreement (from its figure captions) and ours, the error-bar checks (RSS over the RSS the
error bars predict; rms pull against the exact values where they are known), concavity, the grid
and run length, the autocorrelation times, and the runtimes (wall of the whole `hpcabm entropy`
run, mean seconds per grid point on its rank)."""
import argparse
import os

import h5py
import numpy as np
import yaml

from hpcabm.analysis import entropy_fit as ef

# case: (section and figure, paper goodness of fit, paper goodness of agreement or None)
PAPER = {
    "cd_homogeneous": ("§3.1 fig 1, homogeneous CD", 8.34e-6, 9.87e-7),
    "cd_heterogeneous": ("§3.1 fig 2, heterogeneous CD", 9.18e-6, 9.15e-6),
    "sub_comp": ("§3.2 fig 3, 500 sub + 500 comp", 9.5e-6, 4.64e-3),
    "sub_comp_cd": ("§3.2 fig 4, 300 sub + 300 comp + 400 CD", 1.081e-5, 8.72e-4),
    "satiable": ("§4.1 fig 6, satiable", 1.034e-5, None),
    "price_cd": ("§4.2 fig 7, price-sensitive eq. 19", 7.84e-6, 1.23e-5),
    "price_sum": ("§4.2 fig 8, price-sensitive eq. 21", 1.567e-5, None),
    "price_classes": ("§4.2 fig 9, five price classes, eq. 21", 1.128e-5, None),
    "inter_exp": ("§4.3 fig 10, interdependent U = exp", 7.31e-6, 8.94e-6),
    "inter_tanh": ("§4.3 fig 12, interdependent eq. 26", 6.94e-6, None),
}

HEADER = ("| case | paper: fit | ours: fit | paper: agreement | ours: agreement [trapezoid floor; "
          "measurement only] | RSS / expected from errors | rms pull (exact values) | concave "
          "(nodes λmax ≤ 0) | grid, burn-in + sweeps per chain | τ max (n/τ min; nodes n < 50 τ) | wall, ranks "
          "| s/point |\n|" + "---|" * 12)


def _g(x, fmt="{:.3g}"):
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else fmt.format(x)


def _axis_values(path, cfg):
    """The measured values and errors along the grid's two axes (as entropy.analyse fits them)."""
    names = {"mg1": ("beta", "nu1"), "g1g2": ("nu1", "nu2")}[cfg["entropy"]["axes"]]
    with h5py.File(path, "r") as f:
        return tuple(f[f"measured/{n}{e}"][()] for e in ("", "_err") for n in names)


def row(case, path):
    with h5py.File(path, "r") as f:
        a = dict(f.attrs)
        runtime = f["measured/runtime"][()]
        shape = f["measured/beta"].shape
        x, y = f["grid/x"][()], f["grid/y"][()]
    cfg = yaml.safe_load(a["config"])
    en = cfg["entropy"]
    base = max((k for k in PAPER if case == k or case.startswith(k + "_")), key=len, default=None)
    title, pfit, pagr = PAPER[base] if base else (case, None, None)
    if base and case != base:
        title += f" [{case[len(base) + 1:]}]"
    if "rss_ratio" not in a:          # files written before the check existed: recompute it
        vx, vy, ex, ey = _axis_values(path, cfg)
        rss = ef.fit_entropy(x, y, vx, vy)[1]
        a["rss_ratio"] = rss / ef.expected_rss(x, y, ex, ey)
    R = int(a.get("replicas", 1))
    reps = f" (× {R} chains)" if R > 1 else ""
    agr = "—"
    if "goodness_of_agreement" in a:
        agr = f"{a['goodness_of_agreement']:.3g}"
        if "agreement_trapezoid_floor" in a:
            agr += f" [{a['agreement_trapezoid_floor']:.2g}; {a['agreement_measurement_only']:.2g}]"
        agr += f" ({a['analytic']})"
    tau = (f"{_g(float(a.get('tau_max', np.nan)), '{:.0f}')} "
           f"({_g(float(a.get('n_over_tau_min', np.nan)), '{:.0f}')}; {a.get('unreliable_points', '—')})")
    return (f"| `{case}`: {title} | {_g(pfit)} | {a['goodness_of_fit']:.3g} | {_g(pagr)} | {agr} | "
            f"{_g(a.get('rss_ratio'), '{:.2f}')} | {_g(a.get('pull_rms'), '{:.2f}')} | "
            f"{'yes' if a['concave'] else 'no'} ({a['concave_fraction']:.2f}) | "
            f"{shape[0]}×{shape[1]}, {en['burn_in']} + {en['sweeps']}{reps} | {tau} | "
            f"{a['wall_time']:.0f} s, {a['ranks']} | {np.mean(runtime):.1f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", help="folder with one sub-folder per case (each holding entropy.h5)")
    args = ap.parse_args(argv)
    print(HEADER)
    for case in sorted(os.listdir(args.runs), key=lambda c: (c.split("_")[0] != "price", c)):
        path = os.path.join(args.runs, case, "entropy.h5")
        if os.path.exists(path):
            print(row(case, path))


if __name__ == "__main__":
    main()
