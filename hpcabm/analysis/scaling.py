"""Scaling tables from run directories (used by slurm/scaling_table.py)."""
import argparse
import os

import numpy as np
import yaml

from hpcabm.core.output import load_results


def collect(dirs):
    rows = []
    for d in dirs:
        path = os.path.join(d, "results.h5")
        if not os.path.exists(path):
            continue
        a = load_results(d)["attrs"]
        cfg = yaml.safe_load(a["config"])
        months = int(a.get("months_run", a["months"]))
        rows.append({"dir": d, "ranks": int(a["ranks"]), "agents": int(cfg.get("agents", 0)),
                     "s_per_month": float(a.get("step_seconds", a["wall_time"])) / max(months, 1)})
    return sorted(rows, key=lambda r: r["ranks"])


def table(rows):
    if not rows:
        return [], "weak"
    weak = len({r["agents"] for r in rows}) > 1
    base = rows[0]
    out = []
    for r in rows:
        if weak:
            eff = base["s_per_month"] / r["s_per_month"]
            speed = eff * r["ranks"] / base["ranks"]
        else:
            speed = base["s_per_month"] * base["ranks"] / r["s_per_month"]   # relative to P=1 equivalent
            eff = speed / r["ranks"]
        per_core = r["agents"] / r["s_per_month"] / r["ranks"]
        out.append({**r, "speedup": speed, "efficiency": eff, "agent_months_per_s_per_core": per_core})
    return out, ("weak" if weak else "strong")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("dirs", nargs="+")
    p.add_argument("--png", default="scaling.png")
    args = p.parse_args(argv)
    rows, mode = table(collect(args.dirs))
    if not rows:
        print("no finished runs (results.h5) among the given directories")
        return 1
    print(f"{mode} scaling")
    print(f"{'ranks':>6} {'agents':>12} {'s/month':>10} {'speedup':>8} {'efficiency':>10} {'agent-months/s/core':>20}")
    for r in rows:
        print(f"{r['ranks']:>6} {r['agents']:>12} {r['s_per_month']:>10.4f} {r['speedup']:>8.2f} "
              f"{r['efficiency']:>10.3f} {r['agent_months_per_s_per_core']:>20.4g}")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    P = np.array([r["ranks"] for r in rows])
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].loglog(P, [r["s_per_month"] for r in rows], "o-")
    ax[0].set_xlabel("ranks"); ax[0].set_ylabel("seconds per month"); ax[0].set_title(f"{mode} scaling")
    ax[1].semilogx(P, [r["efficiency"] for r in rows], "o-")
    ax[1].axhline(1, color="gray", lw=0.5)
    ax[1].set_xlabel("ranks"); ax[1].set_ylabel("parallel efficiency"); ax[1].set_ylim(0, 1.2)
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)
    print(f"plot: {args.png}")
    return 0
