"""The K+S model on the hpcabm core (seed 001; docs/models/ks.md; shared/notes/KS_MARK1.md).

Mark I (Dosi, Fagiolo & Roventini 2010): F1 capital-good firms innovate/imitate and sell machines
to F2 consumption-good firms that plan production from myopic expectations, expand and replace
vintage capital (payback rule), finance by pecking order, and compete for market shares through
a replicator; one wage, unemployment benefits, profit tax, exit and one-for-one entry.
Mark II adds one bank with credit rationing; Mark III B banks, a Taylor rule, a fiscal rule and
bail-outs (hpcabm/models/ks/banks.py).

The model is small (250 firms) and its markets are all-to-all, so it is not partitioned: every
rank of a member's communicator computes the same state (tables are "replicated"); MPI is used
for Monte Carlo ensembles (`hpcabm ensemble`). The loops over firms and vintages are Cython kernels
(cython_ext/ks.pyx); this file orchestrates one period with vectorised NumPy.

Stock-flow bookkeeping: deposits = firms' positive cash + households' unspent income; loans =
firms' debt + overdrafts; every bank's equity and the public debt are updated from their own flows;
`sf_error` records loans + public debt - deposits - bank equity (0 up to rounding) every period."""
import math
import time
from types import SimpleNamespace

import numpy as np

from hpcabm.core import rng
from hpcabm.kernels import core as kcore
from hpcabm.kernels import ks as K
from hpcabm.models.ks import banks as bankmod

SERIES = (
    "gdp", "gdp_nominal", "cons", "inv", "inv_nominal", "inventories", "employment", "unemployment",
    "wage", "cpi", "ppi", "inflation", "markup", "productivity", "A_frontier", "B_frontier",
    "innovators", "imitators", "loans", "deposits", "bad_debt", "credit_demand", "credit_rationed",
    "exits2", "bankrupt2", "exits1", "bankrupt1", "hhi", "gov_debt", "deficit", "taxes", "benefits",
    "bank_equity", "bailouts", "r", "sf_error", "share_sum", "spike_share", "zero_inv_share",
    "unfilled", "exp_inv", "rep_inv", "q2", "capacity", "entry_equity")

F1_COLS = ("A", "B", "cash", "S_prev", "RD", "zero_run", "age", "Q1")
F2_COLS = ("cash", "deb", "mu", "f", "f1", "f2", "D_prev", "sold_prev", "l_prev", "N", "S_prev",
           "W_prev", "sup", "age", "bank", "K_prev")


class Model:
    name = "ks"
    table_layout = {"f1": "replicated", "f2": "replicated", "vint": "replicated",
                    "macro": "replicated", "banks": "replicated"}

    def __init__(self, cfg, comm):
        self.cfg = cfg
        self.comm = comm
        self.seed = int(cfg.seed)
        self.months = int(cfg.months)
        k = SimpleNamespace(**cfg.ks.to_dict())     # plain attributes: read thousands of times
        self.p = k
        self.variant = k.variant
        self.n1, self.n2 = int(k.F1), int(k.F2)
        self.LS = float(k.labour_supply)
        self.m2 = float(k.m2)
        self.eta = int(k.eta)
        self.V = self.eta + 3
        if self.V > 500:
            raise ValueError("ks.eta: at most 497 (vintage table width)")
        self.month = 0
        self.series = {s: [] for s in SERIES}
        self.timers = {}
        self.part = None

    def _tick(self, name, t0):
        t = time.perf_counter()
        self.timers[name] = self.timers.get(name, 0.0) + t - t0
        return t

    # -- initial state (LSD initCountry / entry_firm*(newInd); note sec. 7) --------------------
    def initialize(self):
        k, n1, n2, m2, eta = self.p, self.n1, self.n2, self.m2, self.eta
        w = 1.0
        self.w = w
        mu0 = float(k.mu0)
        p20 = (1 + mu0) * w                       # A = 1
        Kmach = int(math.ceil(self.LS * w / p20 / n2 / m2))   # full-employment capacity (LSD)
        c10 = w * m2                                # labour cost of a machine at B = 1
        p10 = (1 + k.mu1) * c10
        SIr0 = n2 * Kmach / eta                     # steady replacement, machines per period
        RD0 = k.nu * SIr0 * p10
        D20 = ((SIr0 * c10 + RD0) * (1 - k.phi) + self.LS * w * k.phi) / (mu0 + k.phi) / n2
        self.f1 = {c: np.zeros(n1) for c in F1_COLS}
        self.f1["A"][:] = 1.0
        self.f1["B"][:] = 1.0
        self.f1["cash"][:] = k.NW0
        self.f1["S_prev"][:] = p10 * SIr0 / n1
        self.f1["RD"][:] = k.nu * self.f1["S_prev"]
        self.f2 = {c: np.zeros(n2) for c in F2_COLS}
        f2 = self.f2
        f2["cash"][:] = k.NW0
        f2["mu"][:] = mu0
        for c in ("f", "f1", "f2"):
            f2[c][:] = 1.0 / n2
        f2["D_prev"][:] = D20
        f2["sold_prev"][:] = D20
        f2["N"][:] = k.iota * D20
        f2["S_prev"][:] = p20 * D20
        f2["W_prev"][:] = w * D20
        f2["sup"][:] = np.arange(n2) % n1
        f2["K_prev"][:] = Kmach * m2
        # vintages: Kmach machines spread over eta ages (newest get the remainder), A = 1
        self.vA = np.ones((n2, self.V))
        self.vn = np.zeros((n2, self.V), dtype=np.int64)
        self.vt = np.zeros((n2, self.V), dtype=np.int64)
        nv = min(eta, Kmach)
        per = np.full(nv, Kmach // nv, dtype=np.int64)
        per[: Kmach - per.sum()] += 1
        self.vn[:, :nv] = per
        self.vt[:, :nv] = -np.arange(nv)
        self.nv = np.full(n2, nv, dtype=np.int64)
        # macro state: last two periods of the wage-rule inputs, households, government, policy
        L0 = n2 * D20 + SIr0 * m2 + RD0 / w
        self.macro = {"w": w, "prod1": 1.0, "prod2": 1.0, "cpi1": p20, "cpi2": p20,
                      "U1": 1 - L0 / self.LS, "U2": 1 - L0 / self.LS, "hh": 0.0, "r": float(k.r),
                      "infl1": 0.0, "deficit1": 0.0, "gdpn1": n2 * D20 * p20 + p10 * SIr0,
                      "taxes1": 0.0, "L1": L0, "gov_debt": 0.0, "C_real1": n2 * D20}
        self.banks = bankmod.init_banks(self, deposits0=(n1 + n2) * k.NW0)
        # money was issued by the government: public debt = initial deposits + bank equity
        self.macro["gov_debt"] = (n1 + n2) * k.NW0 + float(self.banks["equity"].sum())

    # -- one period ----------------------------------------------------------------------------
    def step(self):
        t0 = time.perf_counter()
        k, t, m2 = self.p, self.month, self.m2
        n1, n2 = self.n1, self.n2
        f1, f2, mac = self.f1, self.f2, self.macro
        seed = self.seed
        # 0. policy (Mark III): interest rate, fiscal rule
        bankmod.policy(self)
        r = mac["r"]
        # 1. wage from t-1 data (note sec. 4; LSD lags)
        w = self._wage()
        self.w = w
        # 2. capital-good firms: R&D, search, price (note sec. 2)
        RD = np.where(f1["S_prev"] > 0, k.nu * f1["S_prev"], f1["RD"])
        # capital-good firms have no credit line here: R&D is capped by their liquid assets, so
        # (being paid on order) they never run an overdraft (see docs: "capital-good finance")
        RD = np.minimum(RD, np.maximum(f1["cash"], 0.0))
        if RD.sum() > 0.5 * self.LS * w:      # R&D never hires more than half the labour force
            RD *= 0.5 * self.LS * w / RD.sum()
        f1["RD"][:] = RD
        Lrd = RD / w
        flags = np.zeros(n1, dtype=np.int64)
        if k.innovation:
            xlo, xhi = k.innov_support
            K.innovate(seed, t, f1["A"], f1["B"], Lrd, k.xi, k.zeta1, k.zeta2, xlo, xhi, w, k.mu1,
                       m2, k.payback, 0 if k.imitation_space == "ab" else 1,
                       (1 + k.mu1) * w * m2 / f1["B"], flags)
        p1 = (1 + k.mu1) * w * m2 / f1["B"]          # price of a machine (m2 units of capacity)
        cost1 = p1 / m2 + k.payback * w / f1["A"]
        t0 = self._tick("capital_search", t0)
        # 3. brochures and supplier choice
        sup = f2["sup"].astype(np.int64)
        nnew = np.zeros(n1, dtype=np.int64)
        K.choose_suppliers(seed, t, sup, cost1, f1["A"], k.gamma, nnew)
        f2["sup"][:] = sup
        pstar, Astar = p1[sup], f1["A"][sup]
        # 4. consumption-good firms: expectations, plans, replacement (note sec. 3.1-3.6)
        if k.expectations == "myopic":
            De = f2["D_prev"]
        else:
            De = f2["sold_prev"] + k.e0 * f2["l_prev"]
        Kcap, ucost, Qd, EI, SI, RSage, RSpay = K.plan(self.vA, self.vn, self.vt, self.nv, t, self.eta,
                                                      De, f2["N"], pstar, Astar, w, k.payback, m2,
                                                      k.iota, k.u, k.kmax)
        mu = f2["mu"]
        fprev2 = f2["f2"]
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(fprev2 > 0, (f2["f1"] - fprev2) / fprev2, 0.0)
        mu *= 1 + k.upsilon * g
        price = (1 + mu) * ucost
        t0 = self._tick("plan", t0)
        deb0, cash0 = f2["deb"].copy(), f2["cash"].copy()
        # 5. finance: pecking order, credit ceiling and (Mark II/III) the banks' rationing
        Ld = K.labour_for(self.vA, self.vn, self.nv, Qd, m2)
        need = (w * Ld, EI * pstar, SI * pstar)
        cash_free = np.maximum(f2["cash"] - 1.0, 0.0)
        if k.debt_ceiling == "sales":
            base = f2["S_prev"]
        else:
            base = np.maximum(f2["cash"] - f2["deb"], f2["S_prev"] - f2["W_prev"])
        ceiling = np.maximum(k.Lambda * base - f2["deb"], 0.0)
        demand = np.maximum(need[0] + need[1] + need[2] - cash_free, 0.0)
        want = np.minimum(demand, ceiling)
        granted = bankmod.ration(self, want)
        Q, EIf, SIf, borrow, spent_mach = finance(need, Qd, EI, SI, pstar, cash_free, granted)
        f2["deb"] += borrow
        f2["cash"] += borrow - spent_mach
        t0 = self._tick("finance", t0)
        # 6. capital-good production to order (paper: made to order, delivered end of period)
        newm = (EIf + SIf).astype(np.int64)
        L1p = np.bincount(sup, weights=newm * m2 / f1["B"][sup], minlength=n1)
        # 7. labour market (LSD L1/L2): R&D first, then every production job rationed pro rata;
        #    a client keeps at least one machine of a cut order; undelivered machines are refunded
        L2 = K.labour_for(self.vA, self.vn, self.nv, Q, m2)
        Lrdt = min(Lrd.sum(), self.LS)
        short = Lrdt + L1p.sum() + L2.sum() > self.LS
        if short:
            s_ = max(self.LS - Lrdt, 0.0) / (L1p.sum() + L2.sum())
            Q = Q * s_
            L2 = K.labour_for(self.vA, self.vn, self.nv, Q, m2)
            cut = np.where(newm > 0, np.maximum(np.floor(newm * s_), 1), 0).astype(np.int64)
            refund = (newm - cut) * pstar
            f2["cash"] += refund
            spent_mach = spent_mach - refund
            SIf = np.minimum(SIf, cut)
            EIf = cut - SIf
            newm = cut
            L1p = np.bincount(sup, weights=newm * m2 / f1["B"][sup], minlength=n1)
        orders = np.bincount(sup, weights=newm.astype(np.float64), minlength=n1)
        S1 = orders * p1
        L1 = L1p + Lrd
        L1t, L2t = L1.sum(), L2.sum()
        L = L1t + L2t
        W2 = w * L2
        # 8. consumption: wages + benefits (+ last period's unspent income)
        phi_eff = bankmod.benefit_rate(self, w)
        benefits = phi_eff * w * max(self.LS - L, 0.0)
        income = w * L + benefits
        C = income + (mac["hh"] if k.carryover else 0.0)
        t0 = self._tick("labour", t0)
        # 9. competitiveness and replicator (note sec. 3.8), then the market (sec. 3.9)
        f_old = f2["f"].copy()
        w1, w2 = k.omega1, k.omega2
        if k.competitiveness == "normalized":
            pbar = float(price.mean())           # LSD-o p2avg / l2avg: simple means over firms
            E = -w1 * price / pbar - w2 * (f2["l_prev"] + 1) / (f2["l_prev"].mean() + 1)
        else:
            E = -w1 * price - w2 * f2["l_prev"]
        Ebar = float(np.dot(E, f_old))
        f = f_old * (1 + k.chi * (E - Ebar) / abs(Ebar)) if Ebar != 0 else f_old.copy()
        f = np.maximum(f, 0.0)
        f /= f.sum()
        stock = Q + f2["N"]
        sold, lunf, unspent = K.allocate(C, f, price, stock, 1e-9 * C, 200)
        S2 = sold * price
        t0 = self._tick("market", t0)
        # 10. profits, interest, taxes, repayment
        rl, rd = bankmod.rates(self)
        int2 = rl * deb0
        dep2 = rd * np.maximum(cash0, 0.0)
        Pi2 = S2 - W2 - int2 + dep2
        tax2 = k.tax * np.maximum(Pi2, 0.0)
        f2["cash"] += S2 - W2 - int2 + dep2 - tax2
        W1 = w * L1
        dep1 = rd * np.maximum(f1["cash"], 0.0)
        Pi1 = S1 - W1 + dep1
        tax1 = k.tax * np.maximum(Pi1, 0.0)
        f1["cash"] += S1 - W1 + dep1 - tax1
        # losses beyond the cash reserve are financed by credit where the ceiling (Mark II/III: and
        # the bank) allows (LSD-o _Tax2); a firm still below zero is bankrupt at exit
        need = np.where(f2["cash"] < 1.0, 1.0 - f2["cash"], 0.0)
        if need.any():
            room = np.maximum(k.Lambda * base - f2["deb"], 0.0)
            loan = bankmod.loss_credit(self, np.minimum(need, room))
            f2["deb"] += loan
            f2["cash"] += loan
        repay = bankmod.repayment(self, f2["cash"], f2["deb"], Pi2 - tax2)
        f2["deb"] -= repay
        f2["cash"] -= repay
        taxes = float(tax1.sum() + tax2.sum())
        bank_income = bankmod.book_interest(self, int2, dep2, dep1)
        mac["hh"] = unspent if k.carryover else mac["hh"] + income - (C - unspent)
        N_new = stock - sold
        t0 = self._tick("accounts", t0)
        # 11. exit and entry (one for one), bad debt to the banks, liquidation value to the state
        exit2 = (f < k.f_min) | (f2["cash"] < 0)
        bankrupt2 = f2["cash"] < 0
        f1["zero_run"] = np.where(orders > 0, 0, f1["zero_run"] + 1)
        f1["age"] += 1
        exit1 = (f1["cash"] < 0) | ((f1["zero_run"] >= k.n1) & (f1["age"] >= k.n1))
        if exit1.all():
            exit1[np.argmax(f1["A"] * (f1["cash"] >= 0))] = False
        bankrupt1 = f1["cash"] < 0
        liq2 = f2["cash"][exit2] - f2["deb"][exit2]
        liq1 = f1["cash"][exit1]
        bad = float(-liq2[liq2 < 0].sum() - liq1[liq1 < 0].sum())
        bankmod.book_bad_debt(self, exit2, liq2)
        bad1 = -np.minimum(liq1, 0.0).sum()
        self.banks["equity"][0] -= bad1            # capital-good overdrafts sit with bank 0
        self.banks["bad"][0] += bad1
        proceeds = float(liq2[liq2 > 0].sum() + liq1[liq1 > 0].sum())
        # delivery of machines (before entrants take the slots of exiting firms)
        newm = newm.copy()
        newm[exit2] = 0
        K.deliver(self.vA, self.vn, self.vt, self.nv, t, self.eta, newm, Astar, SIf.astype(np.int64))
        # update consumption-good firm state
        self._S_lag = np.where(f2["age"] >= 1, f2["S_prev"], np.nan)
        self._S_lag[exit2] = np.nan
        f2["f2"][:] = f2["f1"]
        f2["f1"][:] = f
        f2["f"][:] = f
        f2["D_prev"][:] = sold + lunf
        f2["sold_prev"][:] = sold
        f2["l_prev"][:] = lunf
        f2["N"][:] = N_new
        f2["S_prev"][:] = S2
        f2["W_prev"][:] = W2
        f2["age"] += 1
        f2["K_prev"][:] = Kcap
        f1["S_prev"][:] = S1
        f1["Q1"][:] = orders
        equity_in = self._entry(exit1, exit2, w, p1, t)
        t0 = self._tick("entry_exit", t0)
        # 12. government and banks (Mark III bail-outs)
        deficit = benefits + equity_in - taxes - proceeds
        mac["gov_debt"] += deficit
        bail = bankmod.bailout(self)
        mac["gov_debt"] += bail
        # 13. statistics
        q2 = float(Q.sum())
        cpi = float(np.dot(f, price))
        ppi = float(np.dot(S1 / S1.sum(), p1)) if S1.sum() > 0 else float(p1.mean())
        inv_nom = float(S1.sum())
        dN = float(N_new.sum() - (stock - Q).sum())
        gdp_nom = float(S2.sum()) + inv_nom + dN * cpi
        prod = q2 / L2t if L2t > 0 else mac["prod1"]
        infl = cpi / mac["cpi1"] - 1
        deposits = float(np.maximum(f1["cash"], 0).sum() + np.maximum(f2["cash"], 0).sum() + mac["hh"])
        loans = float(f2["deb"].sum() + np.maximum(-f2["cash"], 0).sum() + np.maximum(-f1["cash"], 0).sum())
        beq = float(self.banks["equity"].sum())
        sf = loans + mac["gov_debt"] - deposits - beq
        K_before = np.maximum(Kcap, 1e-12)
        ik = newm * m2 / K_before
        s = self.series
        vals = {
            "gdp": q2 + inv_nom / cpi, "gdp_nominal": gdp_nom, "cons": float(sold.sum()),
            "inv": inv_nom / cpi, "inv_nominal": inv_nom, "inventories": float(N_new.sum()),
            "employment": L, "unemployment": 1 - L / self.LS, "wage": w, "cpi": cpi, "ppi": ppi,
            "inflation": infl, "markup": float(np.dot(f, mu)), "productivity": prod,
            "A_frontier": float(f1["A"].max()), "B_frontier": float(f1["B"].max()),
            "innovators": int((flags == 1).sum()), "imitators": int((flags == 2).sum()),
            "loans": loans, "deposits": deposits, "bad_debt": bad,
            "credit_demand": float(want.sum()), "credit_rationed": float(want.sum() - granted.sum()),
            "exits2": int(exit2.sum()), "bankrupt2": int(bankrupt2.sum()), "exits1": int(exit1.sum()),
            "bankrupt1": int((bankrupt1 & exit1).sum()), "hhi": float((f * f).sum()),
            "gov_debt": mac["gov_debt"], "deficit": deficit, "taxes": taxes, "benefits": benefits,
            "bank_equity": beq, "bailouts": bail, "r": r, "sf_error": sf, "share_sum": float(f.sum()),
            "spike_share": float((ik > 0.2).mean()), "zero_inv_share": float((newm == 0).mean()),
            "unfilled": float(lunf.sum()), "exp_inv": int(EIf.sum()), "rep_inv": int(SIf.sum()),
            "q2": q2, "capacity": float(Kcap.sum()), "entry_equity": equity_in,
        }
        for name in SERIES:
            s[name].append(vals[name])
        mac.update({"prod2": mac["prod1"], "prod1": prod, "cpi2": mac["cpi1"], "cpi1": cpi,
                    "U2": mac["U1"], "U1": 1 - L / self.LS, "infl1": infl, "deficit1": deficit,
                    "gdpn1": gdp_nom, "taxes1": taxes, "L1": L})
        self.month += 1
        self._tick("stats", t0)

    # -- rules -----------------------------------------------------------------------------------
    def _wage(self):
        """w(t) = w(t-1) [1 + psi1 dA/A + psi2 dcpi/cpi + psi3 dU/U] from t-1 vs t-2 data
        (paper form with its labels, note sec. 4: psi1 on productivity; growth rates bounded by wage_bound)."""
        k, m = self.p, self.macro
        lim = k.wage_bound

        def g(a, b):
            x = a / b - 1 if b != 0 else 0.0
            return max(min(x, lim), -lim) if lim > 0 else x
        psi1, psi2 = k.psi1, k.psi2
        w = m["w"] * (1 + psi1 * g(m["prod1"], m["prod2"]) + psi2 * g(m["cpi1"], m["cpi2"])
                      + k.psi3 * g(m["U1"], m["U2"]))
        w = max(w, k.w_min)
        m["w"] = w
        return w

    def _entry(self, exit1, exit2, w, p1, t):
        """One-for-one entry (LSD entry_firm1/entry_firm2, non-initial branch). Returns the liquid
        assets injected (financed by the government, see docs)."""
        k, f1, f2, m2 = self.p, self.f1, self.f2, self.m2
        seed = self.seed
        injected = 0.0
        i1 = np.nonzero(exit1)[0]
        if i1.size:
            alive = ~exit1
            Amax, Bmax = f1["A"][alive].max(), f1["B"][alive].max()
            sh = f1["S_prev"][alive]
            nwbar = float(np.dot(sh, f1["cash"][alive]) / sh.sum()) if sh.sum() > 0 else float(f1["cash"][alive].mean())
            nwbar = max(nwbar, k.NW0 * w)        # LSD: max(weighted mean, NW10 PPI/PPI0); w ~ PPI growth
            ids = i1.astype(np.int64)
            bA = K.beta_int(seed, K.P_ENTRY, ids, t, 0, 2, 4)
            bB = K.beta_int(seed, K.P_ENTRY, ids, t, 5, 2, 4)
            u = kcore.uniform(seed, rng.KS_ENTRY, ids, t, 10)
            lo, hi = k.entrant_assets
            f1["A"][i1] = bA * Amax * (1 + k.entrant_x5)
            f1["B"][i1] = bB * Bmax * (1 + k.entrant_x5)
            if not k.innovation:      # technology frozen: entrants copy the best incumbent
                f1["A"][i1] = Amax
                f1["B"][i1] = Bmax
            cash = (lo + (hi - lo) * u) * nwbar
            injected += float(cash.sum())
            f1["cash"][i1] = cash
            pe = (1 + k.mu1) * w * m2 / f1["B"][i1]
            f1["S_prev"][i1] = 0.0
            f1["RD"][i1] = k.nu * (self.n2 / self.n1) * pe
            f1["zero_run"][i1] = 0
            f1["age"][i1] = 0
            f1["Q1"][i1] = 0
            # clients of exiting suppliers look for a new one through brochures next period
            f2["sup"][np.isin(f2["sup"], i1)] = -1
        j2 = np.nonzero(exit2)[0]
        if j2.size:
            alive = ~exit2
            fa = f2["f"][alive]
            Kbar = float(np.dot(fa, f2["K_prev"][alive]) / fa.sum()) if fa.sum() > 0 else float(f2["K_prev"][alive].mean())
            nwbar = float(np.dot(fa, f2["cash"][alive]) / fa.sum()) if fa.sum() > 0 else float(f2["cash"][alive].mean())
            ids = (self.n1 + j2).astype(np.int64)
            uK = kcore.uniform(seed, rng.KS_ENTRY, ids, t, 0)
            uN = kcore.uniform(seed, rng.KS_ENTRY, ids, t, 1)
            us = kcore.uniform(seed, rng.KS_ENTRY, ids, t, 2)
            lo, hi = k.entrant_capital
            mach = np.maximum(np.ceil((lo + (hi - lo) * uK) * Kbar / m2), 1).astype(np.int64)
            # supplier drawn with probability ~ A among incumbents (LSD RNDDRAWS on _Atau)
            Aw = np.where(exit1, 0.0, f1["A"])
            cum = np.cumsum(Aw)
            sup = np.minimum(np.searchsorted(cum, us * cum[-1], side="right"), self.n1 - 1)
            A2 = f1["A"][sup]
            De = k.u * mach * m2
            lo, hi = k.entrant_assets
            cash = np.maximum((1 + k.iota) * De * w / A2, (lo + (hi - lo) * uN) * max(nwbar, 0.0))
            injected += float(cash.sum())
            f2["cash"][j2] = cash
            f2["deb"][j2] = 0.0
            f2["mu"][j2] = k.mu0
            f2["D_prev"][j2] = De
            f2["sold_prev"][j2] = De
            f2["l_prev"][j2] = 0.0
            f2["N"][j2] = 0.0
            f2["S_prev"][j2] = 0.0
            f2["W_prev"][j2] = 0.0
            f2["sup"][j2] = sup
            f2["age"][j2] = 0
            f2["K_prev"][j2] = mach * m2
            self.vn[j2] = 0
            self.vA[j2] = 1.0
            self.vt[j2] = 0
            self.vA[j2, 0] = A2
            self.vn[j2, 0] = mach
            self.vt[j2, 0] = t
            self.nv[j2] = 1
            # entrants' market share = their share of capacity, then all shares rescaled
            Ktot = float((self.vn.sum(axis=1) * m2).sum())
            f = f2["f"].copy()
            f[j2] = np.maximum(mach * m2 / Ktot, k.f_min)
            f /= f.sum()
            f2["f"][:] = f
            f2["f1"][:] = f
            f2["f2"][j2] = f[j2]
        return injected

    # -- hooks for the runner ------------------------------------------------------------------
    def progress_fields(self):
        s = self.series
        if not s["gdp"]:
            return {}
        return {"gdp": f"{s['gdp'][-1]:.4g}", "U": f"{s['unemployment'][-1]:.3f}"}

    def state_tables(self):
        f1 = {c: np.asarray(v).copy() for c, v in self.f1.items()}
        f2 = {c: np.asarray(v).copy() for c, v in self.f2.items()}
        vint = {"A": self.vA.copy(), "n": self.vn.copy(), "t": self.vt.copy(), "nv": self.nv.copy()}
        macro = {k: np.array([v], dtype=np.float64) for k, v in self.macro.items()}
        banks = {c: np.asarray(v).copy() for c, v in self.banks.items()}
        return {"f1": f1, "f2": f2, "vint": vint, "macro": macro, "banks": banks}, \
            {"month": self.month, "w": self.w}

    def load_state(self, tables, attrs):
        self.month = int(attrs["month"])
        self.w = float(attrs["w"])
        self.f1 = {c: np.array(tables["f1"][c]) for c in F1_COLS}
        self.f2 = {c: np.array(tables["f2"][c]) for c in F2_COLS}
        v = tables["vint"]
        self.vA, self.vn, self.vt = np.array(v["A"]), np.array(v["n"]), np.array(v["t"])
        self.nv = np.array(v["nv"])
        self.macro = {k: float(np.asarray(x)[0]) for k, x in tables["macro"].items()}
        self.banks = {c: np.array(x) for c, x in tables["banks"].items()}

    def final_tables(self):
        """Firm cross sections at the end (rank 0 only: replicated tables)."""
        if not self.comm.is_root:
            z = np.zeros(0)
            return {"f2": {"sales": z, "sales_prev": z, "capacity": z, "productivity": z,
                           "age": z, "share": z},
                    "f1": {"sales1": z, "A1": z, "B1": z}}
        f2 = self.f2
        inv = (self.vn / self.vA).sum(axis=1)
        M = self.vn.sum(axis=1)
        return {"f2": {"sales": f2["S_prev"].copy(), "sales_prev": self._sales_prev_final(),
                       "capacity": M * self.m2, "productivity": np.where(inv > 0, M / np.maximum(inv, 1e-300), 0.0),
                       "age": f2["age"].copy(), "share": f2["f"].copy()},
                "f1": {"sales1": self.f1["S_prev"].copy(), "A1": self.f1["A"].copy(),
                       "B1": self.f1["B"].copy()}}

    def _sales_prev_final(self):
        return getattr(self, "_S_lag", np.full(self.n2, np.nan))


def finance(need, Qd, EI, SI, pstar, cash_free, credit):
    """Pecking order (note sec. 3.7; LSD _Q2/_EI/_SI): production wages, then expansion, then
    replacement, each paid from free cash first and then from credit; an item that cannot be fully
    financed is cut (output pro rata, machines to whole units). Returns (Q, EI, SI, borrowed,
    spent on machines)."""
    cash = cash_free.copy()
    cred = credit.copy()
    # production
    cost = need[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        avail = cash + cred
        frac = np.where(cost > avail, np.where(cost > 0, avail / cost, 1.0), 1.0)
    Q = Qd * frac
    pay = cost * frac
    fromcash = np.minimum(pay, cash)
    cash -= fromcash
    b0 = pay - fromcash
    cred -= b0
    borrowed = b0
    mach_spent = np.zeros_like(cash)
    outs = []
    for n in (EI, SI):
        with np.errstate(divide="ignore", invalid="ignore"):
            can = np.where(pstar > 0, np.floor((cash + cred) / pstar), 0).astype(np.int64)
        nf = np.minimum(n, np.maximum(can, 0))
        c = nf * pstar
        fromcash = np.minimum(c, cash)
        cash -= fromcash
        b = c - fromcash
        cred = np.maximum(cred - b, 0.0)
        borrowed = borrowed + b
        mach_spent = mach_spent + c
        outs.append(nf)
    return Q, outs[0], outs[1], borrowed, mach_spent
