"""`hpcabm entropy CONFIG.yaml --out DIR`: entropy calorimetry (Luo, MacKay & Chater 2026, §2).

At every node of a grid of (G1, G2) at fixed M (or (M, G1) for one-good economies) a fresh
economy is equilibrated with a CD meter attached and the meter's readings beta = eta/<m>,
nu_j = alpha_j/<g_j> are taken as time averages; their error bars come from the integrated
autocorrelation time of each meter series (Sokal's window; hpcabm.analysis.autocorr), which
matters where the meter relaxes slowly (price-sensitive economies). Grid points are
independent: they are farmed over sub-communicators of `entropy.ranks_per_point` ranks
(Comm.split), each point with its own seed derived from (seed, point index), so the measured values
do not depend on how many ranks run the job. With `entropy.replicas` = R > 1 each point is R
independent chains (seeds from (seed, point, replica), chain 0 the single-chain run's), farmed
like points; the error bar is then the larger of the pooled within-chain error and the scatter
between the chains, which also sees modes slower than a chain. Rank 0 then fits S (eq. 6), compares it with the
known entropy where there is one, tests concavity, and writes DIR/entropy.h5 and PNG plots.

entropy.h5
  attrs   model, config, seed, ranks, axes, n_agents, goodness_of_fit, rss, tss, concave,
          concave_fraction, hessian_max_ratio, wall_time, [goodness_of_agreement, analytic,
          agreement_trapezoid_floor, agreement_measurement_only (where the exact values are known)]
  /grid/x, /grid/y (axis values), /grid/M, /grid/G1, /grid/G2 (n_x, n_y)
  /measured/beta, nu1, nu2, beta_err, nu1_err, nu2_err (n_x, n_y); /measured/runtime (seconds)
  /measured/tau_beta, tau_nu1, tau_nu2: integrated autocorrelation times (sweeps) of the meter's
          mean m, g1, g2; /measured/*_err_batch: batch-means errors (entropy.batches blocks), for
          comparison; attrs error_method, tau_max, n_over_tau_min, unreliable_points (n < 50 tau),
          replicas; with entropy.replicas > 1 also /measured/replica_* (n_x, n_y, R: each chain's
          reading) and /measured/between_over_within_* (scatter between chains / pooled error)
  attrs rss_expected, rss_ratio (RSS over what the error bars predict), pull_rms (where the
          values are known)
  /fit/S, /fit/S_per_agent (mean zero); /analytic/S (shifted to the fit's mean) if known"""
import os
import time

import numpy as np

from hpcabm.analysis import entropy_fit as ef
from hpcabm.core import rng

AXES = {"g1g2": ("G1", "G2"), "mg1": ("M", "G1")}
VALUE_OF = {"M": "beta", "G1": "nu1", "G2": "nu2"}


def grid(cfg):
    """Axis values and the (M, G1, G2) arrays, shape (n_x, n_y)."""
    en, ex = cfg.entropy, cfg.exchange
    n = int(en.points)
    x = np.linspace(en.x[0], en.x[1], n)
    y = np.linspace(en.y[0], en.y[1], n)
    X, Y = np.meshgrid(x, y, indexing="ij")
    q = {"M": np.full(X.shape, float(ex.money)), "G1": np.full(X.shape, float(ex.good1)),
         "G2": np.full(X.shape, float(ex.good2) if int(ex.goods) == 2 else 0.0)}
    ax, ay = AXES[en.axes]
    q[ax], q[ay] = X, Y
    return x, y, q["M"], q["G1"], q["G2"]


def point_seed(seed, k, replica=0):
    """Seed of grid point k (replica 0) and of its further independent chains (replica r)."""
    return int(rng.key(seed, rng.EX_GRID, np.int64(k), replica)) & ((1 << 63) - 1)


def measure_point(cfg, comm, M, G1, G2, seed):
    """Equilibrate one economy at (M, G1, G2) with the meter and read it.
    Returns (values (beta, nu1, nu2), errors, seconds, detail (readings_detail))."""
    from hpcabm.models.exchange.economy import readings_detail
    from hpcabm.models.exchange.model import build_economy, start
    t0 = time.perf_counter()
    econ = build_economy(cfg, comm, seed=seed)
    if econ.n_meter == 0:
        raise ValueError("entropy calorimetry needs a meter: exchange.meter.agents > 0")
    start(econ, cfg, M, G1, G2)
    econ.sweeps(int(cfg.entropy.burn_in))
    sums = econ.sweeps(int(cfg.entropy.sweeps))
    d = readings_detail(sums, econ.n_meter, econ.meter, int(cfg.entropy.batches))
    return d["val"], d["err"], time.perf_counter() - t0, d


def combine_replicas(meter, avg, se, se_batch):
    """Readings of one grid point from R independent chains of equal length: avg, se, se_batch
    (R, 3) are each chain's time average of the meter's mean holdings and its standard errors
    (autocorrelation time; batch means). The value is eta/<avg>, alpha_j/<avg> of the pooled
    average; the error of <avg> is the pooled within-chain error sqrt(sum se^2)/R or, if larger,
    the scatter between chains sd(avg)/sqrt(R) — the one that also sees a mode slower than a
    chain (a chain keeps part of its random start). With one chain this is readings_detail's
    value and error, bit for bit. Returns (val, err, err_batch, between/within) per component."""
    avg, se, se_batch = (np.asarray(v, dtype=np.float64) for v in (avg, se, se_batch))
    R = avg.shape[0]
    ex = np.asarray(meter, dtype=float)
    if R == 1:
        a, e, eb, ratio = avg[0], se[0], se_batch[0], np.full(3, np.nan)
    else:
        a = avg.mean(axis=0)
        within = np.sqrt((se ** 2).sum(axis=0)) / R
        between = avg.std(axis=0, ddof=1) / np.sqrt(R)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = between / within
        e = np.fmax(within, between)
        eb = np.fmax(np.sqrt((se_batch ** 2).sum(axis=0)) / R, between)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(a > 0, ex / a, np.nan)
        return val, val * e / a, val * eb / a, ratio


def measure_grid(cfg, comm, log=None):
    """Measured (values, errors, runtime, extra) arrays, shape (n_x, n_y, 3) (runtime (n_x, n_y)),
    on every rank; extra: tau (largest over replicas), err_batch (n_x, n_y, 3), reliable
    (n_x, n_y, 3), n (sweeps per chain), replicas, replica_val (n_x, n_y, R, 3: each chain's
    reading) and between_over_within (n_x, n_y, 3; NaN with one chain). The (point, replica)
    chains are farmed over sub-communicators of entropy.ranks_per_point ranks; each chain's result
    depends only on its seed, so nothing depends on the rank count."""
    x, y, M, G1, G2 = grid(cfg)
    npts = M.size
    R = int(cfg.entropy.replicas)
    rpp = int(cfg.entropy.ranks_per_point)
    if rpp > comm.size:
        raise ValueError(f"entropy.ranks_per_point = {rpp} > {comm.size} ranks")
    ngroups = comm.size // rpp
    color = comm.rank // rpp if comm.rank < ngroups * rpp else ngroups
    sub = comm.split(color, comm.rank)
    mine = []
    if color < ngroups:
        for task in range(color, npts * R, ngroups):
            k, r = divmod(task, R)
            idx = np.unravel_index(k, M.shape)
            val, err, sec, d = measure_point(cfg, sub, M[idx], G1[idx], G2[idx],
                                             point_seed(int(cfg.seed), k, r))
            if sub.is_root:
                mine.append((task, sec, d["avg"], d["se"], d["se_batch"], d["tau"], d["reliable"]))
                if log:
                    rep = f" replica {r + 1}/{R}" if R > 1 else ""
                    log(f"[entropy] point {k + 1}/{npts}{rep} (M={M[idx]:g}, G1={G1[idx]:g}, "
                        f"G2={G2[idx]:g}): beta={val[0]:.5g} nu1={val[1]:.5g} nu2={val[2]:.5g} "
                        f"({sec:.1f} s)", flush=True)
    sub.mpi.Free()
    chains = {}
    for part in comm.allgather(mine):
        for task, *rest in part:
            chains[task] = rest
    mt = cfg.exchange.meter
    meter = (float(mt.eta), float(mt.a1), float(mt.a2))       # as Economy.meter
    vals = np.full(M.shape + (3,), np.nan)
    errs = np.full(M.shape + (3,), np.nan)
    secs = np.zeros(M.shape)
    extra = {"tau": np.full(M.shape + (3,), np.nan), "err_batch": np.full(M.shape + (3,), np.nan),
             "reliable": np.ones(M.shape + (3,), dtype=bool), "n": int(cfg.entropy.sweeps),
             "replicas": R, "replica_val": np.full(M.shape + (R, 3), np.nan),
             "between_over_within": np.full(M.shape + (3,), np.nan)}
    for k in range(npts):
        idx = np.unravel_index(k, M.shape)
        got = [chains[k * R + r] for r in range(R)]
        avg = np.array([g[1] for g in got])
        se = np.array([g[2] for g in got])
        seb = np.array([g[3] for g in got])
        vals[idx], errs[idx], extra["err_batch"][idx], extra["between_over_within"][idx] = \
            combine_replicas(meter, avg, se, seb)
        secs[idx] = sum(g[0] for g in got)
        extra["tau"][idx] = np.max([g[4] for g in got], axis=0)
        extra["reliable"][idx] = np.all([g[5] for g in got], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            extra["replica_val"][idx] = np.where(avg > 0, np.asarray(meter, float) / avg, np.nan)
    return vals, errs, secs, extra


def analyse(cfg, vals, errs):
    """Fit S and compute the goodness measures. Returns a dict of arrays and scalars."""
    from hpcabm.models.exchange.agents import parse_agent_types
    x, y, M, G1, G2 = grid(cfg)
    ax, ay = AXES[cfg.entropy.axes]
    comp = {"beta": 0, "nu1": 1, "nu2": 2}
    cx, cy = comp[VALUE_OF[ax]], comp[VALUE_OF[ay]]
    vx, vy = vals[..., cx], vals[..., cy]
    S, rss, tss = ef.fit_entropy(x, y, vx, vy)
    concave, frac, ratio = ef.concavity(x, y, vx, vy, errs[..., cx], errs[..., cy])
    out = {"S": S, "rss": rss, "tss": tss, "goodness_of_fit": rss / tss, "concave": concave,
           "concave_fraction": frac, "hessian_max_ratio": ratio}
    ex, ey = errs[..., cx], errs[..., cy]
    if np.all(np.isfinite(ex)) and np.all(np.isfinite(ey)) and M.size <= 3600:
        out["rss_expected"] = ef.expected_rss(x, y, ex, ey)
        out["rss_ratio"] = rss / out["rss_expected"] if out["rss_expected"] > 0 else float("nan")
    groups = parse_agent_types(cfg.exchange.agent_types, int(cfg.agents), int(cfg.exchange.goods))
    kind = ef.analytic_kind(groups, cfg.entropy.analytic)
    if kind is not None:
        St = ef.analytic_entropy(kind, groups, M, G1, G2, vals[..., 0], vals[..., 1], vals[..., 2])
        out["analytic"] = kind
        out["S_true"] = St - St.mean()
        out["goodness_of_agreement"] = ef.goodness_of_agreement(S, St)
        exact = ef.analytic_gradient(kind, groups, M, G1, G2)
        if exact is not None:
            # the same fit applied to the exact values: what remains is measurement error alone
            # (the trapezoid rule's own error on this grid is the floor of the agreement above)
            vals_x = exact[cx]
            vals_y = exact[cy]
            St_trap = ef.fit_entropy(x, y, vals_x, vals_y)[0]
            out["agreement_trapezoid_floor"] = ef.goodness_of_agreement(St_trap, St)
            out["agreement_measurement_only"] = ef.goodness_of_agreement(S, St_trap)
            z = ef.pulls(np.stack([vx, vy], -1), np.stack([ex, ey], -1),
                         np.stack([vals_x, vals_y], -1))
            out["pull_rms"] = float(np.sqrt(np.mean(z ** 2))) if z.size else float("nan")
    return out


def write_h5(path, cfg, vals, errs, secs, res, ranks, wall, extra=None):
    import h5py
    x, y, M, G1, G2 = grid(cfg)
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["model"] = "exchange"
        f.attrs["config"] = cfg.yaml()
        f.attrs["seed"] = int(cfg.seed)
        f.attrs["ranks"] = int(ranks)
        f.attrs["axes"] = cfg.entropy.axes
        f.attrs["n_agents"] = int(cfg.agents)
        for k in ("goodness_of_fit", "rss", "tss", "concave_fraction", "hessian_max_ratio"):
            f.attrs[k] = float(res[k])
        f.attrs["concave"] = bool(res["concave"])
        f.attrs["wall_time"] = float(wall)
        if "goodness_of_agreement" in res:
            f.attrs["goodness_of_agreement"] = float(res["goodness_of_agreement"])
            f.attrs["analytic"] = res["analytic"]
        for k in ("agreement_trapezoid_floor", "agreement_measurement_only", "rss_expected",
                  "rss_ratio", "pull_rms"):
            if k in res:
                f.attrs[k] = float(res[k])
        g = f.create_group("grid")
        for name, arr in (("x", x), ("y", y), ("M", M), ("G1", G1), ("G2", G2)):
            g[name] = arr
        g = f.create_group("measured")
        for c, name in enumerate(("beta", "nu1", "nu2")):
            g[name] = vals[..., c]
            g[name + "_err"] = errs[..., c]
        g["runtime"] = secs
        if extra is not None:
            for c, name in enumerate(("beta", "nu1", "nu2")):
                g["tau_" + name] = extra["tau"][..., c]
                g[name + "_err_batch"] = extra["err_batch"][..., c]
            R = int(extra.get("replicas", 1))
            f.attrs["replicas"] = R
            f.attrs["error_method"] = ("integrated autocorrelation time, Sokal window c=5 "
                                       "(hpcabm.analysis.autocorr), delta method")
            if R > 1:
                f.attrs["error_method"] += (f"; {R} independent chains per point: the larger of "
                                            "the pooled within-chain error and the scatter "
                                            "between chains")
                for c, name in enumerate(("beta", "nu1", "nu2")):
                    g["replica_" + name] = extra["replica_val"][..., c]
                    g["between_over_within_" + name] = extra["between_over_within"][..., c]
            tau = extra["tau"][np.isfinite(extra["tau"])]
            f.attrs["tau_max"] = float(tau.max()) if tau.size else float("nan")
            f.attrs["n_over_tau_min"] = float(extra["n"] / tau.max()) if tau.size else float("nan")
            f.attrs["unreliable_points"] = int(np.sum(~extra["reliable"].all(axis=-1)))
        g = f.create_group("fit")
        g["S"] = res["S"]
        g["S_per_agent"] = res["S"] / int(cfg.agents)
        if "S_true" in res:
            f.create_group("analytic")["S"] = res["S_true"]
    os.replace(tmp, path)
    return path


def plots(out_dir, cfg, vals, res):
    """entropy.png: the fitted S per agent over the grid (surface, like the paper's figures);
    values.png: the measured beta, nu1, nu2."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x, y, *_ = grid(cfg)
    ax_name, ay_name = AXES[cfg.entropy.axes]
    X, Y = np.meshgrid(x, y, indexing="ij")
    N = int(cfg.agents)
    fig = plt.figure(figsize=(6.4, 5))
    ax = fig.add_subplot(111, projection="3d")
    ax.plot_surface(X, Y, res["S"] / N, cmap="viridis", alpha=0.85)
    if "S_true" in res:
        ax.plot_wireframe(X, Y, res["S_true"] / N, color="k", linewidth=0.5)
    ax.set_xlabel(ax_name)
    ax.set_ylabel(ay_name)
    ax.set_zlabel("S / N")
    t = f"goodness of fit {res['goodness_of_fit']:.3g}"
    if "goodness_of_agreement" in res:
        t += f", agreement {res['goodness_of_agreement']:.3g}"
    ax.set_title(t, fontsize=9)
    fig.tight_layout()
    p1 = os.path.join(out_dir, "entropy.png")
    fig.savefig(p1, dpi=110)
    plt.close(fig)
    fig, axs = plt.subplots(1, 3, figsize=(12, 3.6))
    for c, name in enumerate(("beta", "nu1", "nu2")):
        im = axs[c].imshow(vals[..., c].T, origin="lower", aspect="auto",
                           extent=[x[0], x[-1], y[0], y[-1]])
        axs[c].set_title(name)
        axs[c].set_xlabel(ax_name)
        axs[c].set_ylabel(ay_name)
        fig.colorbar(im, ax=axs[c])
    fig.tight_layout()
    p2 = os.path.join(out_dir, "values.png")
    fig.savefig(p2, dpi=100)
    plt.close(fig)
    return p1, p2


def run(cfg, comm, out_dir, log=print):
    t0 = time.time()
    say = log if comm.is_root else None
    if comm.is_root:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "config.yaml"), "w") as f:
            f.write(cfg.yaml())
    vals, errs, secs, extra = measure_grid(cfg, comm,
                                           log=say if int(cfg.entropy.points) ** 2 <= 400 else None)
    if comm.is_root:
        res = analyse(cfg, vals, errs)
        wall = time.time() - t0
        path = write_h5(os.path.join(out_dir, "entropy.h5"), cfg, vals, errs, secs, res,
                        comm.size, wall, extra)
        plots(out_dir, cfg, vals, res)
        msg = (f"[entropy] {path}: goodness of fit {res['goodness_of_fit']:.3g}, concave "
               f"{res['concave']} (fraction of nodes with lambda_max <= 0: {res['concave_fraction']:.2f})")
        if "goodness_of_agreement" in res:
            msg += f", goodness of agreement ({res['analytic']}) {res['goodness_of_agreement']:.3g}"
        if "rss_ratio" in res:
            msg += f", RSS / RSS expected from the error bars {res['rss_ratio']:.3g}"
        if "pull_rms" in res:
            msg += f", rms pull against the exact values {res['pull_rms']:.3g}"
        log(msg + f"; {wall:.1f} s on {comm.size} rank(s)", flush=True)
    comm.barrier()
    return 0


def cli_main(args):
    """Entry of `hpcabm entropy` (hpcabm/core/cli.py delegates here)."""
    from hpcabm.core.comm import Comm, abort_on_exception
    from hpcabm.core.config import Config, ConfigError, load_config
    from hpcabm.models.exchange.agents import parse_agent_types
    from hpcabm.core.cli import decide_on_root
    comm = Comm()

    def check():
        cfg = load_config(args.config, args.set)
        if cfg.model != "exchange":
            raise ConfigError(f"config error: model: entropy needs model 'exchange', got {cfg.model!r}")
        parse_agent_types(cfg.exchange.agent_types, int(cfg.agents), int(cfg.exchange.goods))
        return cfg.to_dict()
    cfg = Config(decide_on_root(comm, check))
    return abort_on_exception(comm, run, cfg, comm, args.out)
