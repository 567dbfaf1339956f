"""Contact experiments (beyond the paper; Chater & MacKay's second law for economies): two exchange
economies A and B at different temperatures are put in contact through money and/or goods; we
follow their totals and check that the values equalise (beta if money crosses; nu_j, hence prices
mu_j = nu_j/beta, if goods cross) and that the sum of their entropies does not decrease.

The two economies are compartments of one economy (hp_exchange.h: a pair from two compartments
exchanges only what the contact allows), so the run uses the same kernels, pairing and ranks as
everything else. Entropies and values of each side come either from the known CD formulas (eqs. 3,
10) or from a measured surface (an entropy.h5 of `hpcabm entropy`, rescaled by extensivity:
S_n(G) = (n/N) S_N(G N/n) at M/n = M_ref/N).

    python -m hpcabm.analysis.entropy_contact --out DIR [--entropy-runs runs/entropy] [--sweeps K]
writes DIR/contact.h5 and DIR/contact.png for the two experiments described in run_all()."""
import argparse
import os

import numpy as np

from hpcabm.kernels import exchange as kx
from hpcabm.models.exchange.agents import parse_agent_types
from hpcabm.models.exchange.economy import Economy

CONTACT = {"money": 1, "goods": 2, "all": 3}


def _with_interface(groups, k):
    """Split off the first k agents of the first group: only they touch the other economy (so the
    approach to equilibrium is slow enough to be seen)."""
    import copy
    g0 = groups[0]
    if k >= g0.count:
        return groups, len(groups)
    head = copy.copy(g0)
    head.hi = g0.lo + k
    head.count = k
    tail = copy.copy(g0)
    tail.lo = head.hi
    tail.count = g0.count - k
    return [head, tail] + groups[1:], 1


def contact_economy(comm, spec_a, n_a, spec_b, n_b, goods, mode, seed, interface=40):
    ga, ka = _with_interface(parse_agent_types(spec_a, n_a, goods), interface)
    gb, kb = _with_interface(parse_agent_types(spec_b, n_b, goods), interface)
    kinds = {g.kind for g in ga + gb}
    if kinds & {"price", "price_sum"}:
        raise ValueError("contact experiments exclude price-sensitive agents (money and goods are coupled)")
    for g in gb:
        g.lo += n_a
        g.hi += n_a
    for comp, gs, k in ((0, ga, ka), (1, gb, kb)):
        for i, g in enumerate(gs):
            g.compartment = comp
            g.contact = CONTACT[mode] if i < k else 0
    return Economy(comm, ga + gb, goods, seed, n_meter=0), n_a


def init_compartments(econ, n_a, totals_a, totals_b):
    """CD-stationary Gamma draws per agent, normalised to each compartment's totals."""
    from hpcabm.models.exchange.agents import type_table
    kinds, eta, a1, a2, p0, p1, bound = type_table(econ.groups)
    g = np.searchsorted(bound, econ.ids, side="right") - 1
    in_a = econ.ids < n_a
    for w, arr, shape in ((0, econ.m, eta), (1, econ.g1, a1), (2, econ.g2, a2)):
        if w == 2 and econ.ngoods == 1:
            continue
        x = kx.gamma_init(econ.seed, 0, econ.ids, np.ascontiguousarray(shape[g], dtype=float), w)
        sa, sb = econ.comm.exact_sums([np.where(in_a, x, 0.0), np.where(in_a, 0.0, x)])
        arr[:] = np.where(in_a, x * (totals_a[w] / sa), x * (totals_b[w] / sb))


def compartment_totals(econ, n_a):
    in_a = econ.ids < n_a
    cols = []
    for arr in (econ.m, econ.g1, econ.g2):
        cols += [np.where(in_a, arr, 0.0), np.where(in_a, 0.0, arr)]
    t = econ.comm.exact_sums(cols)
    return np.array([[t[0], t[2], t[4]], [t[1], t[3], t[5]]])   # [A, B] x [M, G1, G2]


def run_contact(econ, n_a, sweeps, every):
    """Totals of both compartments at sweeps 0, every, 2 every, ... (shape (k, 2, 3))."""
    out = [compartment_totals(econ, n_a)]
    for _ in range(sweeps // every):
        econ.sweeps(every)
        out.append(compartment_totals(econ, n_a))
    return np.array(out)


class CDSide:
    """Known entropy and values of a CD economy (eqs. 3, 10)."""

    def __init__(self, groups):
        n = np.array([g.count for g in groups], float)
        self.eta = n @ [g.params["eta"] for g in groups]
        self.a1 = n @ [g.params["a1"] for g in groups]
        self.a2 = n @ [g.params["a2"] for g in groups]

    def S(self, M, G1, G2):
        return self.eta * np.log(M) + self.a1 * np.log(G1) + self.a2 * np.log(G2)

    def values(self, M, G1, G2):
        return self.eta / M, self.a1 / G1, self.a2 / G2

    def error(self, M, G1, G2):
        return 0.0


class MeasuredSide:
    """Entropy and values of an economy of n agents from a measured (G1, G2) surface of N agents
    at money M_ref (goods contact at M/n = M_ref/N): S_n(G) = (n/N) S_N(G N/n), nu_n(G) = nu_N(G N/n).
    Cubic interpolation of the fitted S; linear interpolation of the measured nu."""

    def __init__(self, path, n):
        import h5py
        from scipy.interpolate import RectBivariateSpline, RegularGridInterpolator
        with h5py.File(path, "r") as f:
            if f.attrs["axes"] != "g1g2":
                raise ValueError(f"{path}: need a (G1, G2) surface")
            self.x, self.y = f["grid/x"][()], f["grid/y"][()]
            S = f["fit/S"][()]
            self.N = int(f.attrs["n_agents"])
            self.M_ref = float(f["grid/M"][0, 0])
            nu1, nu2 = f["measured/nu1"][()], f["measured/nu2"][()]
            self.e1, self.e2 = f["measured/nu1_err"][()], f["measured/nu2_err"][()]
            nedges = 2 * S.size - S.shape[0] - S.shape[1]
            self.sigma = float(np.sqrt(f.attrs["rss"] / nedges))
        self.n = n
        self._S = RectBivariateSpline(self.x, self.y, S, kx=3, ky=3)
        self._nu1 = RegularGridInterpolator((self.x, self.y), nu1)
        self._nu2 = RegularGridInterpolator((self.x, self.y), nu2)
        self._e = RegularGridInterpolator((self.x, self.y), np.hypot(self.e1, self.e2))

    def _scaled(self, G1, G2):
        r = self.N / self.n
        return np.asarray(G1) * r, np.asarray(G2) * r

    def S(self, M, G1, G2):
        a, b = self._scaled(G1, G2)
        return (self.n / self.N) * self._S.ev(a, b)

    def values(self, M, G1, G2):
        a, b = self._scaled(G1, G2)
        p = np.stack([a, b], axis=-1)
        return np.full(np.shape(a), np.nan), self._nu1(p), self._nu2(p)

    def error(self, M, G1, G2):
        """Scale of the fitted S's error: the per-edge residual, scaled to n agents."""
        return (self.n / self.N) * self.sigma


def analyse(tot, side_a, side_b):
    A, B = tot[:, 0], tot[:, 1]
    Sa = side_a.S(A[:, 0], A[:, 1], A[:, 2])
    Sb = side_b.S(B[:, 0], B[:, 1], B[:, 2])
    va = np.array(side_a.values(A[:, 0], A[:, 1], A[:, 2]))
    vb = np.array(side_b.values(B[:, 0], B[:, 1], B[:, 2]))
    S = Sa + Sb
    # "Within error". Thermal: the split of the totals between two finite economies fluctuates,
    # with probability proportional to exp(S_A + S_B) (S is the log of the partition function,
    # [CM], [M25b]); near the maximum S_max - S is then chi-square with k/2 degrees (k = number of
    # quantities that cross), so a drop of S below its running maximum larger than
    # chi2_k quantile(1 - 1e-4) / 2 is not a fluctuation. Measurement: 3 times the fitted
    # surfaces' per-edge residual. Also the end must be above the start.
    from scipy.stats import chi2
    k = int(np.sum(np.ptp(A, axis=0) > 0))
    tol = chi2.ppf(1 - 1e-4, max(k, 1)) / 2 + 3 * (side_a.error(0, 0, 0) + side_b.error(0, 0, 0))
    drops = np.maximum.accumulate(S) - S
    return {"S": S, "S_a": Sa, "S_b": Sb, "values_a": va, "values_b": vb,
            "max_drop": float(drops.max()), "tolerance": float(tol),
            "non_decreasing": bool(drops.max() <= tol and S[-1] > S[0])}


EXPERIMENTS = {
    # name: (spec A, n A, totals A, spec B, n B, totals B, mode, entropy runs used for A, B)
    "cd3_cd2_all": ("cd rest eta=3 a1=3 a2=3", 500, (900.0, 300.0, 800.0),
                    "cd rest eta=2 a1=2 a2=2", 500, (300.0, 700.0, 200.0), "all", None, None),
    "cd3_subcomp_goods": ("cd rest eta=3 a1=3 a2=3", 500, (500.0, 700.0, 300.0),
                          "sub 250 eta=3 alpha=3; comp 250 eta=3 alpha=3", 500, (500.0, 300.0, 700.0),
                          "goods", "cd_homogeneous", "sub_comp"),
}


def run_experiment(comm, name, sweeps, every, seed, runs_dir=None):
    spec_a, n_a, ta, spec_b, n_b, tb, mode, run_a, run_b = EXPERIMENTS[name]
    econ, n_a = contact_economy(comm, spec_a, n_a, spec_b, n_b, 2, mode, seed)
    init_compartments(econ, n_a, ta, tb)
    tot = run_contact(econ, n_a, sweeps, every)

    def side(spec, n, run):
        if run is None:
            return CDSide(parse_agent_types(spec, n, 2))
        return MeasuredSide(os.path.join(runs_dir, run, "entropy.h5"), n)
    res = analyse(tot, side(spec_a, n_a, run_a), side(spec_b, n_b, run_b))
    res["totals"] = tot
    res["mode"] = mode
    return res


def plot(path, name, res, every):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = np.arange(res["totals"].shape[0]) * every
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for k, lab in enumerate(("beta", "nu1", "nu2")):
        if np.isfinite(res["values_a"][k]).all() and np.isfinite(res["values_b"][k]).all():
            l, = ax[0].plot(t, res["values_a"][k], label=f"{lab} A")
            ax[0].plot(t, res["values_b"][k], "--", color=l.get_color(), label=f"{lab} B")
    ax[0].set_xlabel("sweeps")
    ax[0].legend(fontsize=7)
    ax[0].set_title(f"{name}: values ({res['mode']} contact)", fontsize=9)
    ax[1].plot(t, res["S"] - res["S"][0])
    ax[1].set_xlabel("sweeps")
    ax[1].set_ylabel("S_A + S_B - S(0)")
    ax[1].set_title(f"max drop {res['max_drop']:.3g} (tolerance {res['tolerance']:.3g})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    from hpcabm.core.comm import Comm
    p = argparse.ArgumentParser(prog="python -m hpcabm.analysis.entropy_contact")
    p.add_argument("--out", required=True)
    p.add_argument("--entropy-runs", default="runs/entropy")
    p.add_argument("--sweeps", type=int, default=3000)
    p.add_argument("--every", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    comm = Comm()
    import h5py
    results = {}
    for name in EXPERIMENTS:
        results[name] = run_experiment(comm, name, args.sweeps, args.every, args.seed,
                                       args.entropy_runs)
    if comm.is_root:
        os.makedirs(args.out, exist_ok=True)
        with h5py.File(os.path.join(args.out, "contact.h5"), "w") as f:
            for name, r in results.items():
                g = f.create_group(name)
                for k in ("totals", "S", "S_a", "S_b", "values_a", "values_b"):
                    g[k] = r[k]
                for k in ("max_drop", "tolerance", "non_decreasing", "mode"):
                    g.attrs[k] = r[k]
                plot(os.path.join(args.out, f"{name}.png"), name, r, args.every)
                k0 = 2 * r["S"].size // 3
                va, vb = r["values_a"][:, k0:].mean(axis=1), r["values_b"][:, k0:].mean(axis=1)
                sa, sb = r["values_a"][:, k0:].std(axis=1), r["values_b"][:, k0:].std(axis=1)
                v0a, v0b = r["values_a"][:, 0], r["values_b"][:, 0]
                print(f"{name} ({r['mode']}): values (beta, nu1, nu2) at start A {np.round(v0a, 3)} "
                      f"B {np.round(v0b, 3)}; last third A {np.round(va, 3)} +/- {np.round(sa, 3)} "
                      f"B {np.round(vb, 3)} +/- {np.round(sb, 3)}; "
                      f"S(end)-S(0) {r['S'][-1] - r['S'][0]:.4g}; max drop {r['max_drop']:.3g} "
                      f"(tol {r['tolerance']:.3g}); non-decreasing {r['non_decreasing']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
