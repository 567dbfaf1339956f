"""keynes_daily, partitioned variant (`keynes.market: pro_rata`; docs/models/keynes_daily.md,
"Partitioned variant"): households AND firms are split over the ranks of the member's communicator,
for economies 100x the seed's (10^6 households, 10^5 firms), deterministic across rank counts.

Who holds what
- households: block partition of their ids (`self.part`);
- firms: firm j lives on the rank whose household block contains key(j) = a Weyl hash of j into
  [0, N_H) (entrants get new ids and land anywhere; the same rule places them on any rank count);
  local rows are kept in ascending id;
- banks, government, central bank: replicated. Every flow that reaches them from households or
  firms is reduced exactly (`Comm.exact_sums`, per-bank integer superaccumulators
  `keynes.exact_parts_by` + `Comm.exact_sums_of_parts`, `Comm.sum_int`), so every rank applies the
  same numbers and the replicated state stays identical;
- each day a firm directory (alive ids ascending, price, wage, vacancies, firings) is all-gathered:
  the households' candidate draws index it exactly as the sequential market indexes alive slots.

Order-independent markets (the sequential model's random-order queues cannot be partitioned)
- goods, pro rata: in round k every household with budget left proposes its whole remaining budget
  to the k-th cheapest of its k_G candidates (the same draws as the sequential market); the owner of
  each firm sums the units wanted (received in ascending household id on any partition: blocks are
  ascending and the all-to-all keeps rank order), sells everything if demand <= remaining capacity,
  else the fraction cap/demand of every proposal; replies carry the payment back. Rationed
  households go on to their next candidate, at most k_G rounds, stopping when nobody is rationed.
- labour: each searcher samples k_L open vacancy slots as the sequential market does, applies to the
  best-paid acceptable one (Bernoulli(1 - xi) as before); the firm accepts up to its vacancies in
  the order of a priority draw (purpose KD_APPLY, keyed by household and day), rejects the rest.
- firing: employees of a firing firm send their (fire-stream) draw to the firm, which lays off the
  fire_j smallest, as in the sequential model.
All per-firm sums are taken in ascending household id, all sums across ranks exactly, and every
random number is keyed by global ids: results are bitwise identical on any number of ranks
(tests/mpi/test_keynes_mpi.py). They differ from `market: sequential` (another market rule).
Deviation: an entrant's cash is U[0.1, 0.9] x the MEAN (not median) cash of alive firms (a median
over ranks would need an all-gather of every firm's cash each day)."""
import math
import time

import numpy as np

from hpcabm.core import rng
from hpcabm.core.comm import BlockPartition
from hpcabm.kernels import core as kcore
from hpcabm.kernels import keynes as K
from hpcabm.models.keynes_daily.model import FIRM_COLS, SERIES, Model, _normal

REC_FIRE = np.dtype([("hh", np.int64), ("firm", np.int64), ("u", np.float64)])
REC2 = np.dtype([("a", np.float64), ("b", np.float64)])     # goods rounds: (firm id, budget), (pay, rationed)


def firm_key(ids, nh):
    """Weyl hash of firm ids into [0, nh): the household-space position that decides a firm's rank."""
    with np.errstate(over="ignore"):
        x = np.asarray(ids, dtype=np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return (((x >> np.uint64(32)) * np.uint64(nh)) >> np.uint64(32)).astype(np.int64)


class PartitionedModel(Model):
    """Model interface of keynes_daily (see model.py) with households and firms partitioned."""

    def __init__(self, cfg, comm):
        super().__init__(cfg, comm)
        self.part = BlockPartition(self.nh, comm.size, comm.rank)
        self.table_layout = {"households": None, "firms": "key", "banks": "replicated",
                             "macro": "replicated"}

    # -- helpers -------------------------------------------------------------------------------
    def _xs(self, *cols):
        """Exact sums over all ranks of local float arrays."""
        return [float(x) for x in self.comm.exact_sums([np.ascontiguousarray(c, dtype=np.float64) for c in cols])]

    def _xbank(self, *pairs):
        """Exact per-bank sums over all ranks: pairs of (bank index array, values) -> list of arrays."""
        nb = self.banks["equity"].size
        parts = []
        for idx, v in pairs:
            parts.extend(list(K.exact_parts_by(np.ascontiguousarray(idx, dtype=np.int64),
                                               np.ascontiguousarray(v, dtype=np.float64), nb)))
        out = self.comm.exact_sums_of_parts(parts)
        return [np.array(out[k * nb:(k + 1) * nb], dtype=np.float64) for k in range(len(pairs))]

    def _owner(self, firm_ids):
        return self.part.owner(firm_key(firm_ids, self.nh)).astype(np.int64)

    # -- initial state: the sequential model's, sliced -----------------------------------------
    def initialize(self):
        super().initialize()              # every rank builds the whole initial economy (same numbers)
        lo, hi = self.part.lo, self.part.hi
        e = self.h["employer"]
        nf = self.f["A"].size
        Lall = np.bincount(e[e >= 0], minlength=nf)
        mine = np.flatnonzero(self._owner(np.arange(nf)) == self.comm.rank)
        self.f = {c: np.ascontiguousarray(v[mine]) for c, v in self.f.items()}
        self.f["id"] = mine.astype(np.int64)
        self.f["L"] = Lall[mine].astype(np.int64)
        self.dring = np.ascontiguousarray(self.dring[mine])
        self.h = {c: np.ascontiguousarray(v[lo:hi]) for c, v in self.h.items()}
        self.nf_total = nf

    def _directory(self):
        """All alive firms (ascending id) with price, wage, vacancies and firings, on every rank."""
        f = self.f
        a = f["alive"]
        pack = np.stack([f["id"][a].astype(np.float64), f["P"][a], f["W"][a], f["vac"][a].astype(np.float64),
                         f["fire"][a].astype(np.float64)], axis=1).ravel()
        allp = self.comm.allgather_concat(pack).reshape(-1, 5)
        allp = allp[np.argsort(allp[:, 0], kind="stable")]
        d = {"ids": allp[:, 0].astype(np.int64), "P": np.ascontiguousarray(allp[:, 1]),
             "W": np.ascontiguousarray(allp[:, 2]), "vac": allp[:, 3].astype(np.int64),
             "fire": allp[:, 4].astype(np.int64)}
        d["index"] = np.full(self.nf_total, -1, dtype=np.int64)
        d["index"][d["ids"]] = np.arange(d["ids"].size)
        d["owner"] = self._owner(d["ids"])
        return d

    def _local_index(self, ids):
        return self._local_map()[ids]

    def _local_map(self):
        """Dense map firm id -> local row (-1 if the firm lives elsewhere)."""
        m = np.full(self.nf_total, -1, dtype=np.int64)
        m[self.f["id"]] = np.arange(self.f["id"].size)
        return m

    # -- one day ------------------------------------------------------------------------------
    def step(self):
        t0 = time.perf_counter()
        p, f, h, b, mac, comm = self.p, self.f, self.h, self.banks, self.mac, self.comm
        t = self.month
        day = t + 1
        nh, nb = self.nh, b["equity"].size
        tax = self.tax_h
        M0 = mac["M"]
        r = mac["r"]
        dr = self._directory()
        # 2. government
        Wbar, u = mac["Wbar"], mac["u"]
        ben = p.benefit * Wbar / 365.0
        tau = max(p.psi * Wbar / 365.0 * (1 + p.phi_G * (u - p.u_star)), 0.0)
        n_u = comm.sum_int(K.transfers(h["employer"], h["dep"], h["inc"], tau, ben, 1 - tax))
        spend = tau * nh + ben * n_u
        taxes = spend * tax
        # 3. shocks
        dfac = p.demand_factor if (p.demand_day > 0 and p.demand_day <= day < p.demand_day + p.demand_days) else 1.0
        bad_debt, forced, seized = 0.0, None, 0.0
        if p.crisis != "none" and day == p.crisis_day:
            bad_debt, forced, seized = self._banking_crisis(t)
        t0 = self._tick("government", t0)
        # 4. labour market: yesterday's firings, then applications
        fired = self._fire_part(t, dr)
        nf = f["id"].size
        hired = self._hire_part(t, dr)
        f["L"] += hired
        tight = f["alive"] & (f["vac"] - hired > 0)
        nvac = int(dr["vac"].sum())
        t0 = self._tick("labour", t0)
        # 5. capacity
        cap = np.empty(nf)
        K.capacity(f["A"], f["L"], f["Kc"], f["alive"].view(np.uint8), p.alpha, p.beta, cap)
        # 6. goods market, pro rata
        budget = np.minimum(h["c"] * dfac, np.maximum(h["dep"], 0.0))
        spent, rev, sold, dem, rem = self._goods_part(t, dr, budget, cap)
        h["dep"] -= spent
        t0 = self._tick("goods", t0)
        # 7. firms (kernel as in the sequential model; its per-bank sums are local, not used)
        gdp, units, budget_sum, unmet, dpos = self._xs(rev, sold, budget, rem, np.maximum(h["dep"], 0.0))
        cpi = gdp / units if units > 0 else mac["P"]
        wb, rd, interest, ctax, div, inv = (np.empty(nf) for _ in range(6))
        K.firm_accounts(rev, f["L"], f["W"], f["debt"], f["cash"], f["Kc"], f["profit"], f["alive"].view(np.uint8),
                        f["bank"], mac["P"], self.Knorm, r, p.zeta_B, int(p.premium == "pdf"), p.phi,
                        p.theta_C, p.payout, int(p.dividends != "none"), p.chi, 1 - p.delta_K / 365.0, cpi,
                        wb, rd, interest, ctax, div, inv, np.zeros(nb), np.zeros(nb), np.zeros(nb), np.empty(7))
        wb_sum, rd_sum, int_sum, ctax_sum, pool, inv_sum = self._xs(wb, rd, interest, ctax, div, inv)
        taxes += ctax_sum
        dep_rate = max(r - p.deposit_spread, 0.0) / 365.0
        share = (rd_sum + inv_sum) / nh
        pool_pr = pool
        if p.dividends == "equal":
            share += pool / nh
            pool_pr = 0.0
        e = h["employer"]
        wage = np.where(e >= 0, dr["W"][dr["index"][np.maximum(e, 0)]] / 365.0, 0.0)
        n_loc = e.size
        tax_i, int_i, div_i = np.empty(n_loc), np.empty(n_loc), np.empty(n_loc)
        K.household_receipts(wage, share, pool_pr / dpos if dpos > 0 else 0.0, dep_rate, tax, h["dep"], h["inc"],
                             tax_i, int_i, div_i)
        tax_h, int_h = self._xs(tax_i, int_i)
        taxes += tax_h
        t0 = self._tick("firms", t0)
        # 8. banks: exact per-bank sums of the firms' and households' flows
        int_b, loans_b, cash_b, depH_b, bank_dep_int = self._xbank(
            (f["bank"], interest), (f["bank"], f["debt"]), (f["bank"], f["cash"]), (h["bank"], h["dep"]),
            (h["bank"], int_i))
        dep_b = depH_b + cash_b
        res_int = r / 365.0 * (dep_b + b["equity"] - loans_b)
        b["equity"] += int_b - bank_dep_int + res_int
        spend += float(res_int.sum())
        new_credit, refused, repaid, illiquid = self._credit_part(wb)
        if forced is not None:
            illiquid[forced] = True
        t0 = self._tick("banks", t0)
        self._innovate_part(t)
        # 9. exit, recapitalisation, entry
        exits, loss, seized_x = self._exit_part(cpi, illiquid, dr)
        bad_debt += loss
        bail, loans_b = self._recapitalise_part(day)
        spend += bail
        n0 = f["id"].size
        entries, entry_loans = self._entry_part(t, loans_b)
        nf = f["id"].size
        # 10. decisions for tomorrow
        self.dring[:n0, t % self.win] = np.where(f["alive"][:n0], dem, 0.0)
        tight_all = np.zeros(nf, dtype=bool)
        tight_all[:n0] = tight
        L = f["L"]
        cap, ratio = self._capacity_plan(L)
        alive = f["alive"]
        La = np.where(alive, L, 0)
        E = comm.sum_int(int(La.sum()))
        WL, muL, AL, Ka, capsum, dh, dfm, loans = self._xs(f["W"] * La, f["mu"] * La, f["A"] * La,
                                                             f["Kc"][alive], cap, h["dep"], f["cash"], f["debt"])
        Wbar_new = WL / E if E > 0 else Wbar
        n_alive = comm.sum_int(int(alive.sum()))
        K.update_prices(ratio, alive.view(np.uint8), tight_all.view(np.uint8), f["mu"], f["W"], f["P"], f["A"],
                        p.theta_hire, p.theta_fire, p.delta_mu, p.wage_drift * Wbar_new,
                        p.wage_drift * Wbar_new * (1 - p.wage_rigidity), math.exp(-p.kappa_P),
                        math.exp(p.kappa_P), int(p.kappa_P > 0))
        f["tight"] = tight_all
        if p.wealth_mpc > 0:
            mean_dep = dh / nh
            cstar = h["inc"] * self.mpc + p.wealth_mpc * np.maximum(h["dep"] - mean_dep, 0.0) / 365.0
            h["c"] = p.eta * h["c"] + (1 - p.eta) * cstar
            h["inc"][:] = 0.0
        else:
            K.budgets(h["c"], h["inc"], p.eta, 1 - p.eta, self.mpc)
        deficit = spend - taxes
        mac["G"] += deficit
        mac["M"] = M0 + (new_credit + entry_loans + (tau * nh + ben * n_u) + int_h
                         - repaid - seized - seized_x - taxes - int_sum)
        pi, gap = self._central_bank(cpi, gdp, Wbar_new, 1 - E / nh)
        t0 = self._tick("decisions", t0)
        # 11. statistics and the balance-sheet identities
        beq = float(b["equity"].sum())
        b["loans"] = self._xbank((f["bank"], f["debt"]))[0]
        lb = b["loans"]
        car = float((b["equity"][lb > 0] / lb[lb > 0]).min()) if (lb > 0).any() else -1.0
        muA = self._xs(f["mu"][alive], f["A"][alive]) if E == 0 else (0.0, 0.0)
        vals = {
            "gdp": gdp, "output": units, "capacity": capsum, "cpi": cpi, "wage": Wbar_new,
            "unemployment": 1 - E / nh, "employment": E, "r": r, "inflation": pi, "gap": gap,
            "zlb": int(r <= p.r_floor), "firms": n_alive, "entries": int(entries),
            "exits": int(exits), "loans": loans, "new_credit": new_credit, "credit_refused": refused,
            "deposits_h": dh, "deposits_f": dfm, "bank_equity": beq, "gov_debt": mac["G"], "car_min": car,
            "bailouts": bail, "wages": wb_sum, "rd": rd_sum, "investment": inv_sum,
            "dividends": pool, "taxes": taxes, "transfers": tau * nh, "benefits": ben * n_u,
            "deficit": deficit, "unmet": unmet / budget_sum if budget_sum > 0 else 0.0,
            "markup": muL / E if E else muA[0] / max(n_alive, 1),
            "productivity": AL / E if E else muA[1] / max(n_alive, 1),
            "capital": Ka * self.Knorm, "vacancies": nvac,
            "fired": int(fired), "hired": comm.sum_int(int(hired.sum())), "bad_debt": bad_debt,
            "sf_error": loans + mac["G"] - dh - dfm - beq,
            "sf_money": dh + dfm - mac["M"],
        }
        for name in SERIES:
            self.series[name].append(vals[name])
        self.month += 1
        self._tick("stats", t0)

    # -- markets ------------------------------------------------------------------------------
    def _first_at_firms(self, dest, rec, capacity):
        """Send REC_FIRE records (hh, firm, u) to the firms' homes, where firm slot l accepts its
        first capacity[l] records in (u, hh) order. Returns the local firm index of each received
        record, the int8 acceptance there, and the int8 acceptance back at the sender."""
        recv, route = self.comm.exchange(dest, rec)
        li = self._local_index(recv["firm"])
        order = np.lexsort((recv["hh"], recv["u"], li))
        ls = li[order]
        first = np.searchsorted(ls, ls, side="left")
        ok = np.zeros(recv.size, dtype=np.int8)
        ok[order] = (np.arange(ls.size) - first < capacity[ls]).astype(np.int8)
        return li, ok, self.comm.reply(route, ok)

    def _fire_part(self, t, dr):
        """Employees of firing firms send their draw to the firm, which lays off the fire_j smallest
        (ties: lower household id); reservation wage = the firm's wage. Returns the global count."""
        f, h, comm = self.f, self.h, self.comm
        e = h["employer"]
        di = dr["index"][np.maximum(e, 0)]
        cand = np.flatnonzero((e >= 0) & (dr["fire"][di] > 0))
        gid = cand + self.part.lo
        rec = np.empty(cand.size, dtype=REC_FIRE)
        rec["hh"], rec["firm"] = gid, e[cand]
        rec["u"] = kcore.uniform(self.seed, rng.KD_FIRE, gid.astype(np.int64), t, 0)
        li, go, back = self._first_at_firms(dr["owner"][di[cand]], rec, f["fire"])
        f["L"] -= np.bincount(li, weights=go, minlength=f["id"].size).astype(np.int64)
        f["fire"][:] = 0
        gone = cand[back.astype(bool)]
        h["resw"][gone] = dr["W"][di[gone]]
        e[gone] = -1
        return comm.sum_int(int(gone.size))

    def _hire_part(self, t, dr):
        """Searchers apply (keynes.labour_choice); each firm takes up to its vacancies in the order
        of the applicants' priority draws (KD_APPLY). Returns hires per local firm."""
        p, f, h = self.p, self.f, self.h
        e = h["employer"]
        s = np.flatnonzero(e < 0)
        gid = (s + self.part.lo).astype(np.int64)
        cum = np.zeros(dr["ids"].size + 1, dtype=np.int64)
        np.cumsum(dr["vac"], out=cum[1:])
        choice = np.empty(s.size, dtype=np.int64)
        K.labour_choice(self.seed, t, gid, np.ascontiguousarray(h["resw"][s]), cum, dr["ids"], dr["W"],
                        int(p.k_labour), p.xi, choice)
        app = choice >= 0
        rec = np.empty(int(app.sum()), dtype=REC_FIRE)
        rec["hh"], rec["firm"] = gid[app], dr["ids"][choice[app]]
        rec["u"] = kcore.uniform(self.seed, rng.KD_APPLY, rec["hh"].copy(), t, 0)
        li, ok, back = self._first_at_firms(dr["owner"][choice[app]], rec,
                                            np.where(f["alive"], f["vac"], 0))
        hired = np.bincount(li, weights=ok, minlength=f["id"].size).astype(np.int64)
        back = back.astype(bool)
        took = s[app][back]
        e[took] = dr["ids"][choice[app][back]]
        h["resw"][took] = dr["W"][choice[app][back]]
        rest = np.ones(s.size, dtype=bool)
        rest[np.flatnonzero(app)[back]] = False
        h["resw"][s[rest]] *= 1 - p.delta_w / 365.0
        return hired

    def _goods_part(self, t, dr, budget, cap):
        """Pro-rata goods market (module docstring). Returns spent (households), revenue, units sold,
        units demanded (local firms) and the unspent budgets (households)."""
        p, f, comm = self.p, self.f, self.comm
        n_loc, nf = budget.size, f["id"].size
        rem = budget.copy()
        spent = np.zeros(n_loc)
        rev, sold, dem = np.zeros(nf), np.zeros(nf), np.zeros(nf)
        caprem = cap.copy()
        loc = self._local_map()
        act = np.flatnonzero(rem > 0)
        kk = min(int(p.k_goods), dr["ids"].size)
        # every buyer's candidates, cheapest first (keynes.goods_choice for all rounds at once)
        cands = np.empty((act.size, kk), dtype=np.int32)
        K.goods_candidates(self.seed, t, (act + self.part.lo).astype(np.int64), dr["ids"], dr["P"],
                           int(p.k_goods), cands)
        row = np.arange(act.size, dtype=np.int64)
        counts = np.empty(comm.size, dtype=np.int64)
        for rnd in range(kk):
            # proposals grouped by owner (keynes.goods_propose), settled by the owners in ascending
            # household order (settle_records), replies applied (goods_apply)
            rec = np.empty((act.size, 2))
            perm = np.empty(act.size, dtype=np.int64)
            K.goods_propose(cands, row, rnd, act, rem, dr["ids"], dr["owner"], comm.size, rec, perm, counts)
            recv, route = comm.exchange_grouped(counts, rec.view(REC2).ravel())
            rep = np.empty((recv.size, 2))
            K.settle_records(recv.view(np.float64).reshape(-1, 2), loc, f["P"], caprem, dem, sold, rev, rep)
            back = comm.reply_grouped(route, rep.view(REC2).ravel())
            nxt = np.empty(act.size, dtype=np.uint8)
            K.goods_apply(back.view(np.float64).reshape(-1, 2), perm, act, spent, rem, nxt)
            nxt = nxt.view(bool)
            act, row = act[nxt], row[nxt]
            if comm.sum_int(int(act.size)) == 0:
                break
        rem = np.where(budget > 0, np.maximum(rem, 0.0), 0.0)
        return spent, rev, sold, dem, rem

    # -- banks and firms ----------------------------------------------------------------------
    def _credit_part(self, wb):
        """Model._credit with the per-bank totals (loans after overdrafts, requests) reduced exactly."""
        p, f, b = self.p, self.f, self.banks
        fb, alive = f["bank"], f["alive"]
        cash, debt = f["cash"], f["debt"]
        frozen = b["frozen"][fb] > 0
        due = np.where(alive, debt / 365.0, 0.0)
        pay = np.where(frozen, due, np.minimum(due, np.maximum(cash, 0.0)))
        cash -= pay
        debt -= pay
        od = np.where(alive, np.maximum(-cash, 0.0), 0.0)
        equity_f = cash + self.mac["P"] * f["Kc"] * self.Knorm - debt
        sound = debt + od <= p.max_loan_equity * equity_f
        illiquid = alive & (od > 0) & frozen & ~sound
        od = np.where(illiquid, 0.0, od)
        debt += od
        cash += od
        loans_b = self._xbank((fb, debt))[0]
        eq = b["equity"]
        ok = (eq >= p.car * loans_b) & (b["frozen"] == 0)
        room = np.where(ok, np.maximum(p.appetite * (eq / p.car - loans_b), 0.0), 0.0)
        equity_f = cash + self.mac["P"] * f["Kc"] * self.Knorm - debt
        gap = np.maximum(p.cash_buffer * wb - cash, 0.0)
        cap_le = np.maximum(p.max_loan_equity * equity_f - debt, 0.0)
        want = np.where(alive & (equity_f > 0), np.minimum(gap, cap_le), 0.0)
        want_b = self._xbank((fb, want))[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(want_b > 0, np.minimum(room / want_b, 1.0), 0.0)
        grant = want * frac[fb]
        debt += grant
        cash += grant
        g, o, rf, pp = self._xs(grant, od, want - grant, pay)
        return g + o, rf, pp, illiquid

    def _innovate_part(self, t):
        p, f = self.p, self.f
        pinn = p.zeta * p.phi
        if pinn <= 0:
            return
        loc = np.flatnonzero(f["alive"])
        ids = f["id"][loc]
        w = loc[kcore.uniform(self.seed, rng.KD_INNOV, ids, t, 0) < pinn]
        if w.size:
            wid = f["id"][w]
            eps = p.s_A * _normal(self._u(rng.KD_INNOV, wid, t, 1), self._u(rng.KD_INNOV, wid, t, 2))
            if p.ratchet:
                eps = np.maximum(eps, 0.0)
            f["A"][w] *= np.exp(eps)

    def _exit_part(self, cpi, illiquid, dr):
        """Model._exit across ranks: dead firms' bank losses and liquidation surplus reduced exactly;
        the dead ids are all-gathered so their workers, on any rank, become unemployed."""
        p, f, h, b, comm = self.p, self.f, self.h, self.banks, self.comm
        alive = f["alive"]
        n = alive.size
        e, dead = np.empty(n), np.empty(n, dtype=np.uint8)
        nd, na = K.exit_scan(f["cash"], f["Kc"], f["debt"], alive.view(np.uint8), illiquid.view(np.uint8), cpi,
                             self.Knorm, p.e_star, e, dead)
        dead = dead.view(bool)
        nd, na = comm.sum_int(np.array([nd, na]))
        if nd == 0:
            return 0, 0.0, 0.0
        if nd == na:                       # keep at least one firm: the best e (ties: lower id)
            best = (float(e[alive].max()), -int(f["id"][alive][np.argmax(e[alive])])) if alive.any() else (-np.inf, 0)
            bid = -max(comm.allgather(best))[1]
            dead[f["id"] == bid] = False
            nd -= 1
        ids = np.flatnonzero(dead)
        cash, debt = f["cash"][ids].copy(), f["debt"][ids].copy()
        repay = np.minimum(cash, debt)
        loss = debt - repay
        surplus = cash - repay
        b["equity"] -= self._xbank((f["bank"][ids], loss))[0]
        f["cash"][ids] = 0.0
        f["debt"][ids] = 0.0
        f["Kc"][ids] = 0.0
        f["alive"][ids] = False
        f["vac"][ids] = 0
        f["fire"][ids] = 0
        f["L"][ids] = 0
        sp, lsum, rsum = self._xs(surplus, loss, repay)
        if sp > 0:
            w = np.maximum(h["dep"], 0.0)
            h["dep"] += sp * w / self._xs(w)[0]
        gone_ids = np.sort(comm.allgather_concat(f["id"][ids]))
        e_h = h["employer"]
        gone = np.flatnonzero((e_h >= 0) & np.isin(e_h, gone_ids))
        h["resw"][gone] = dr["W"][dr["index"][e_h[gone]]]
        e_h[gone] = -1
        return int(nd), lsum, rsum

    def _recapitalise_part(self, day):
        """Model._recapitalise on the exact per-bank loans. Returns (injection, loans per bank)."""
        p, b, f = self.p, self.banks, self.f
        loans_b = self._xbank((f["bank"], f["debt"]))[0]
        npl = p.crisis == "equity+npl"
        below = b["equity"] < p.car * loans_b
        b["breach_day"] = np.where(below & (b["breach_day"] < 0), day, np.where(below, b["breach_day"], -1))
        b["frozen"] = below.astype(np.int64) if npl else np.zeros_like(b["frozen"])
        due = below & (day - b["breach_day"] >= (p.recap_lag if npl else 0))
        inj = np.where(due, p.car * loans_b - b["equity"], 0.0)
        b["equity"] += inj
        b["frozen"][due] = 0
        b["breach_day"][due] = -1
        return float(inj.sum()), loans_b

    def _banking_crisis(self, t):
        """Model._banking_crisis across ranks: the most-leveraged-first NPL order is global (the
        debtors' leverage, draw and debt are all-gathered on the crisis day)."""
        p, f, b, comm = self.p, self.f, self.banks, self.comm
        loss = p.crisis_equity * np.maximum(b["equity"], 0.0)
        b["equity"] -= loss
        self.mac["G"] -= float(loss.sum())
        bad, forced, seized = 0.0, None, 0.0
        if p.crisis == "equity+npl":
            loc = np.flatnonzero(f["alive"] & (f["debt"] > 0))
            ids = f["id"][loc]
            assets = np.maximum(f["cash"][loc], 0.0) + self.mac["P"] * f["Kc"][loc] * self.Knorm
            lev = f["debt"][loc] / np.maximum(assets, 1e-300)
            pack = np.stack([ids.astype(np.float64), lev, self._u(rng.KD_NPL, ids, t),
                             f["debt"][loc]], axis=1).ravel()
            allp = comm.allgather_concat(pack).reshape(-1, 4)
            if allp.shape[0]:
                allp = allp[np.argsort(allp[:, 0], kind="stable")]
                order = np.lexsort((allp[:, 2], -allp[:, 1]))
                cum = np.cumsum(allp[order, 3])
                fids = allp[order[: int(np.searchsorted(cum, p.npl_share * cum[-1])) + 1], 0].astype(np.int64)
                forced = np.flatnonzero(np.isin(f["id"], fids))
                rep = np.minimum(np.maximum(f["cash"][forced], 0.0), f["debt"][forced])
                lost = f["debt"][forced] - rep
                f["cash"][forced] -= rep
                b["equity"] -= self._xbank((f["bank"][forced], lost))[0]
                f["debt"][forced] = 0.0
                bad, seized = self._xs(lost, rep)
        return bad, forced, seized

    def _entry_part(self, t, loans_b):
        """Model._entry: the entrants are drawn identically on every rank; each is created on its
        owner. Cash = U[0.1, 0.9] x mean cash of alive firms (sequential model: median)."""
        p, f, b, comm = self.p, self.f, self.banks, self.comm
        alive = f["alive"]
        n_alive = comm.sum_int(int(alive.sum()))
        lam = p.entry_rate * n_alive
        u = float(self._u(rng.KD_ENTRY, [0], t, 0)[0])
        n, pk, c = 0, math.exp(-lam), math.exp(-lam)
        while u > c and n < 1000:
            n += 1
            pk *= lam / n
            c += pk
        if n == 0:
            return 0, 0.0
        ids = np.arange(self.nf_total, self.nf_total + n, dtype=np.int64)
        self.nf_total += n
        u0, u1, u2, u3, u4 = (self._u(rng.KD_ENTRY, ids, t, k) for k in range(5))
        nb = b["equity"].size
        bank = np.minimum((u4 * nb).astype(np.int64), nb - 1)
        Dloc = np.empty(self.dring.shape[0])
        K.row_means(self.dring, Dloc)
        sA, sK, sC, sD = self._xs(f["A"][alive], f["Kc"][alive], f["cash"][alive], Dloc[alive])
        Abar, Kbar, Cbar, Dbar = sA / n_alive, sK / n_alive, sC / n_alive, sD / n_alive
        cash = (0.1 + 0.8 * u3) * Cbar
        lends = (b["equity"][bank] >= p.car * loans_b[bank]) & (b["frozen"][bank] == 0)
        cash = np.where(lends, np.maximum(cash, 0.0), 0.0)
        new = {
            "alive": np.ones(n, dtype=bool), "A": Abar * np.exp(p.s_A * _normal(u0, u1)),
            "Kc": (0.1 + 0.8 * u2) * Kbar, "W": np.full(n, self.mac["Wbar"]), "mu": np.full(n, p.mu0),
            "cash": cash, "debt": cash.copy(), "bank": bank, "vac": np.zeros(n, dtype=np.int64),
            "fire": np.zeros(n, dtype=np.int64), "tight": np.zeros(n, dtype=bool), "profit": np.zeros(n),
            "born": np.full(n, t, dtype=np.int64), "id": ids, "L": np.zeros(n, dtype=np.int64)}
        new["P"] = (1 + p.mu0) * new["W"] / 365.0 / new["A"]
        mine = self._owner(ids) == comm.rank
        for c_ in f:
            f[c_] = np.concatenate([f[c_], new[c_][mine].astype(f[c_].dtype)])
        rows = np.repeat((Dbar * new["Kc"][mine] / max(Kbar, 1e-300))[:, None], self.win, axis=1)
        self.dring = np.concatenate([self.dring, rows])
        return n, float(cash.sum())

    # -- hooks for the runner ------------------------------------------------------------------
    def state_tables(self):
        f = self.f
        order = np.lexsort((f["id"], firm_key(f["id"], self.nh)))
        firms = {c: np.asarray(f[c])[order].copy() for c in list(FIRM_COLS) + ["id", "L"]}
        firms["key"] = firm_key(f["id"], self.nh)[order]
        for k in range(self.win):
            firms[f"d{k:03d}"] = self.dring[order, k].copy()
        h = {c: np.asarray(v).copy() for c, v in self.h.items()}
        banks = {c: np.asarray(v).copy() for c, v in self.banks.items()}
        macro = {"state": np.concatenate([self._pack_macro(), [float(self.nf_total)]])}
        return {"households": h, "firms": firms, "banks": banks, "macro": macro}, {"month": self.month}

    def load_state(self, tables, attrs):
        self.month = int(attrs["month"])
        fr = tables["firms"]
        order = np.argsort(np.asarray(fr["id"]), kind="stable")
        self.f = {c: np.array(fr[c])[order] for c in list(FIRM_COLS) + ["id", "L"]}
        self.f["alive"] = self.f["alive"].astype(bool)
        self.f["tight"] = self.f["tight"].astype(bool)
        self.dring = np.ascontiguousarray(np.stack([np.array(fr[f"d{k:03d}"])[order] for k in range(self.win)], axis=1)
                                          if order.size else np.zeros((0, self.win)))
        self.h = {c: np.array(tables["households"][c]) for c in ("employer", "dep", "resw", "c", "inc", "bank")}
        self.banks = {c: np.array(x) for c, x in tables["banks"].items()}
        v = np.asarray(tables["macro"]["state"], dtype=np.float64)
        self._unpack_macro(v[:-1])
        self.nf_total = int(v[-1])

    def final_tables(self):
        """Household wealth and employment (this rank's block); alive firms (this rank's, by key)."""
        f, h = self.f, self.h
        order = np.lexsort((f["id"], firm_key(f["id"], self.nh)))
        a = f["alive"][order]
        sel = order[a]
        return {"households": {"wealth": h["dep"].copy(), "employed": (h["employer"] >= 0).astype(np.int8)},
                "firms": {"A": f["A"][sel].copy(), "capital": f["Kc"][sel] * self.Knorm,
                          "employees": f["L"][sel].astype(np.float64), "price": f["P"][sel].copy(),
                          "debt": f["debt"][sel].copy(), "age": (self.month - f["born"][sel]).astype(np.float64)}}
