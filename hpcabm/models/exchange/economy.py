"""One exchange economy (EE) with its Cobb-Douglas meter, spread over the ranks of a Comm.

EE agents are in a block partition by id. Each sweep t is q sub-steps (q = 1, or 2/3 alternating
when agents compare themselves with circle neighbours, see kernels.exchange.schedule); in sub-step c
the agents of colour class c are matched by a pseudo-random permutation keyed by (seed, t, c), so
every rank finds its agents' partners without communication, then
  * partners' holdings on other ranks are fetched (one Alltoallv request/reply),
  * each pair is evaluated from the same inputs and counter stream wherever it is computed (a pair
    across two ranks is computed on both, each keeping its share).
The meter (paper §2) is replicated: every rank holds all meter agents and applies the same meter
phase to them, after gathering the holdings of the EE agents they meet; what crosses into or out of
the EE goes to/from a reserve, so the EE is unchanged by measurement. Results are bitwise the same
on any number of ranks; on one rank the whole sweep loop runs in C (`serial_sweeps`)."""
import numpy as np

from hpcabm.core.comm import BlockPartition
from hpcabm.kernels import exchange as kx
from hpcabm.models.exchange.agents import interdependent, type_table

def _per_group(groups):
    return type_table(groups)


HOLD = np.dtype([("m", "f8"), ("g1", "f8"), ("g2", "f8"), ("gn", "f8")])


class Economy:
    def __init__(self, comm, groups, ngoods, seed, meter=(2.0, 2.0, 2.0), n_meter=1000,
                 internal=True, inner=2, force_distributed=False):
        self.comm = comm
        self.groups = groups
        self.N = groups[-1].hi
        self.ngoods = int(ngoods)
        self.seed = int(seed)
        self.meter = tuple(float(x) for x in meter)
        self.n_meter = int(n_meter)
        self.internal = bool(internal)
        self.inner = int(inner)
        self.inter = interdependent(groups)
        self.types = kx.Types(*type_table(groups),
                              compartment=[getattr(g, "compartment", 0) for g in groups],
                              contact=[getattr(g, "contact", 3) for g in groups])
        self.part = BlockPartition(self.N, comm.size, comm.rank)
        self.ids = np.arange(self.part.lo, self.part.hi, dtype=np.int64)
        n = self.part.count
        self.m = np.zeros(n)
        self.g1 = np.zeros(n)
        self.g2 = np.zeros(n)
        self.mm = np.zeros(self.n_meter)
        self.mg1 = np.zeros(self.n_meter)
        self.mg2 = np.zeros(self.n_meter)
        self.t = 0                                  # sweeps done
        self.counters = np.zeros(4, dtype=np.int64)  # local share, see kx.COUNTERS
        self.meter_counters = np.zeros(4, dtype=np.int64)   # replicated
        self.distributed = force_distributed or comm.size > 1

    # -- state -----------------------------------------------------------------------------------
    def init_equal(self, M, G1, G2=0.0):
        """Every EE agent starts with M/N, G1/N, G2/N; every meter agent with the same amounts."""
        self.m[:] = M / self.N
        self.g1[:] = G1 / self.N
        self.g2[:] = G2 / self.N if self.ngoods == 2 else 0.0
        self.mm[:] = M / self.N
        self.mg1[:] = G1 / self.N
        self.mg2[:] = G2 / self.N if self.ngoods == 2 else 0.0
        self.t = 0

    def init_random(self, M, G1, G2=0.0):
        """Warm start (our choice; the paper does not say how it starts): EE agent i draws money
        ~ Gamma(eta_i) and goods ~ Gamma(a1_i), Gamma(a2_i), normalised to the totals M, G1, G2 -- the
        stationary law of a CD economy with those exponents. Satiable agents start with G1/N of
        good 1 (a Gamma draw could fall below c, where their utility is 0). Meter agent k draws
        Gamma(eta_m)/beta0 etc. with the CD guesses beta0 = sum(eta_i)/M, nu0_j = sum(a_j,i)/G_j.
        Burn-in sweeps then remove what is not right in this start. Price-sensitive agents with
        the eq. 21 utility (kind 5) start from the shapes eta/2, a1/2: their economies read
        beta M / N ~ eta/2 (measured: ~1.5-1.8 for eta = 3), so this start (EE and meter guess)
        is much nearer their steady state than the CD law, whose meter took ~4000 sweeps to
        relax (docs/models/exchange.md)."""
        from hpcabm.kernels import exchange as kx_
        kinds, eta, a1, a2, p0, p1, bound = (np.asarray(x) for x in _per_group(self.groups))
        half = np.where(kinds == 5, 0.5, 1.0)
        eta, a1, a2 = eta * half, a1 * half, a2 * half
        g = np.searchsorted(bound, self.ids, side="right") - 1
        tot = [M, G1, G2 if self.ngoods == 2 else 0.0]
        shapes = [eta[g], a1[g], a2[g]]
        sums_shape = [float(np.sum(eta * np.diff(bound))), float(np.sum(a1 * np.diff(bound))),
                      float(np.sum(a2 * np.diff(bound)))]
        arrs = [self.m, self.g1, self.g2]
        for w in range(3 if self.ngoods == 2 else 2):
            x = kx_.gamma_init(self.seed, 0, self.ids, np.ascontiguousarray(shapes[w], dtype=float), w)
            if w == 1:
                x[kinds[g] == 3] = 0.0
            total = self.comm.exact_sum(x)
            n_sat = int(np.sum(np.diff(bound)[kinds == 3])) if w == 1 else 0
            rest = tot[w] * (1 - n_sat / self.N)
            arrs[w][:] = x * (rest / total) if total > 0 else 0.0
            if w == 1 and n_sat:
                arrs[w][kinds[g] == 3] = tot[w] / self.N
        if self.ngoods == 1:
            self.g2[:] = 0.0
        mids = np.arange(self.n_meter, dtype=np.int64)
        off = self.N
        for w, (arr, ex) in enumerate(zip([self.mm, self.mg1, self.mg2], self.meter)):
            if w == 2 and self.ngoods == 1:
                arr[:] = 0.0
                continue
            x = kx_.gamma_init(self.seed, off, mids, np.full(self.n_meter, ex), w)
            arr[:] = x * (tot[w] / sums_shape[w]) if sums_shape[w] > 0 else 0.0
        self.t = 0

    def totals(self):
        """Exact EE totals (M, G1, G2), identical on every rank."""
        return tuple(self.comm.exact_sums([self.m, self.g1, self.g2]))

    def global_counters(self):
        return self.comm.sum_int(self.counters) + self.meter_counters

    # -- sweeps ----------------------------------------------------------------------------------
    def sweeps(self, n):
        """Run n sweeps; returns the meter totals (m, g1, g2) after each, shape (n, 3)."""
        sums = np.zeros((n, 3))
        if n == 0:
            return sums
        if not self.distributed:
            kx.serial_sweeps(self.seed, self.t, n, self.types, self.m, self.g1, self.g2,
                             self.inter, self.meter, self.mm, self.mg1, self.mg2, self.internal,
                             self.ngoods, self.inner, self.counters, sums)
            self.t += n
            return sums
        for k in range(n):
            q = kx.schedule(self.t, self.inter)
            for c in range(q):
                self._substep(c, q)
            if self.n_meter:
                sums[k] = self._meter()
            self.t += 1
        return sums

    def _neighbour_means(self):
        """g_n = (g1[i-1] + g1[i+1]) / 2 on the circle for local agents (halo from neighbours)."""
        n = self.part.count
        if not self.inter or n == 0:
            return np.zeros(n)
        lo, hi, N = self.part.lo, self.part.hi, self.N
        halo = np.array([(lo - 1) % N, hi % N], dtype=np.int64)
        vals = self.comm.fetch(self.part.owner(halo), halo, self._serve_g1)
        left = np.empty(n)
        right = np.empty(n)
        left[1:] = self.g1[:-1]
        left[0] = vals[0]
        right[:-1] = self.g1[1:]
        right[-1] = vals[1]
        return 0.5 * (left + right)

    def _serve_g1(self, ids):
        return self.g1[ids - self.part.lo]

    def _halo_collective(self):
        """Every rank must enter the halo fetch, also ranks without agents."""
        if self.inter and self.part.count == 0:
            self.comm.fetch(np.zeros(0, np.int64), np.zeros(0, np.int64), self._serve_g1)

    def _substep(self, c, q):
        comm, lo, hi = self.comm, self.part.lo, self.part.hi
        gn = self._neighbour_means()
        self._halo_collective()
        partner = kx.partners(self.seed, self.t, q, c, self.N, self.ids)
        act = np.nonzero(partner >= 0)[0]
        p = partner[act]
        local = (p >= lo) & (p < hi)
        rec = np.empty(act.size, dtype=HOLD)
        pl = p[local] - lo
        rec["m"][local] = self.m[pl]
        rec["g1"][local] = self.g1[pl]
        rec["g2"][local] = self.g2[pl]
        rec["gn"][local] = gn[pl]
        remote = ~local
        pr = p[remote]

        def serve(ids):
            li = ids - lo
            out = np.empty(ids.size, dtype=HOLD)
            out["m"], out["g1"], out["g2"], out["gn"] = self.m[li], self.g1[li], self.g2[li], gn[li]
            return out
        rec[remote] = comm.fetch(self.part.owner(pr), pr, serve)
        kx.encounters(self.seed, self.t, c, self.types, lo, self.m, self.g1, self.g2, gn, act, p,
                      np.ascontiguousarray(rec["m"]), np.ascontiguousarray(rec["g1"]),
                      np.ascontiguousarray(rec["g2"]), np.ascontiguousarray(rec["gn"]),
                      self.ngoods, self.inner, self.counters)

    def _meter(self):
        """Meter phase of sweep self.t: gather the picked EE agents' holdings, then the replicated
        meter update (kernels.exchange.meter_phase)."""
        lo, hi = self.part.lo, self.part.hi
        gn = self._neighbour_means()
        self._halo_collective()
        picks = kx.meter_picks(self.seed, self.t, self.n_meter, self.N)
        mine = np.nonzero((picks >= lo) & (picks < hi))[0]
        li = picks[mine] - lo
        block = np.stack([mine.astype(np.float64), self.m[li], self.g1[li], self.g2[li], gn[li]],
                         axis=1).reshape(-1)
        allrec = self.comm.allgather_concat(block).reshape(-1, 5)
        hold = np.empty((self.n_meter, 4))
        hold[allrec[:, 0].astype(np.int64)] = allrec[:, 1:]
        return kx.meter_phase(self.seed, self.t, self.types, picks,
                              np.ascontiguousarray(hold[:, 0]), np.ascontiguousarray(hold[:, 1]),
                              np.ascontiguousarray(hold[:, 2]), np.ascontiguousarray(hold[:, 3]),
                              self.meter, self.mm, self.mg1, self.mg2, self.internal, self.ngoods,
                              self.inner, self.meter_counters)


def readings(sums, n_meter, meter, batches=20):
    """Meter readings from per-sweep meter totals (paper §2): beta = eta/<m>, nu_j = alpha_j/<g_j>,
    where <.> is the time average of the meter's mean holdings; standard errors from the
    integrated autocorrelation time of each series (Sokal's window, hpcabm.analysis.autocorr) and
    the delta method. Returns (values (3,), errors (3,)); see `readings_detail`."""
    d = readings_detail(sums, n_meter, meter, batches)
    return d["val"], d["err"]


def readings_detail(sums, n_meter, meter, batches=20):
    """As `readings`, plus per component (m, g1, g2): avg and se (the time average of the meter's
    mean holdings and its standard error, from which val and err are formed), tau (integrated
    autocorrelation time in
    sweeps), window (Sokal's W), reliable (n >= 50 tau) and err_batch (the batch-means error with
    `batches` consecutive blocks, kept for comparison: it is too small when a block is not much
    longer than tau)."""
    from hpcabm.analysis.autocorr import mean_error
    means = np.asarray(sums, dtype=np.float64) / n_meter
    n = means.shape[0]
    nb = max(2, min(int(batches), n))
    usable = n - n % nb
    bm = means[:usable].reshape(nb, -1, 3).mean(axis=1)
    avg = means.mean(axis=0)
    se_b = bm.std(axis=0, ddof=1) / np.sqrt(nb)
    se = np.full(3, np.nan)
    tau = np.full(3, np.nan)
    win = np.zeros(3, dtype=np.int64)
    rel = np.ones(3, dtype=bool)
    for c in range(3):
        if avg[c] > 0:
            se[c], tau[c], win[c], rel[c] = mean_error(means[:, c])
    ex = np.asarray(meter, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(avg > 0, ex / avg, np.nan)
        err = val * se / avg
        err_b = val * se_b / avg
    return {"val": val, "err": err, "tau": tau, "window": win, "reliable": rel,
            "err_batch": err_b, "n": n, "avg": avg, "se": se, "se_batch": se_b}
