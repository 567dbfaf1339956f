"""The daily single-sector Keynesian economy on the hpcabm core (seed 002; docs/models/keynes_daily.md;
shared/notes/KEYNESIAN_DAILY.md, whose section numbers the comments cite).

N_H households, N_F firms (one consumption good, Cobb-Douglas, R&D, mark-up pricing), N_B banks,
a government (flat taxes, benefits, transfers, bail-outs) and a central bank (Taylor rule with the
zero lower bound), stepped one DAY per period. One member runs on one rank (every rank of a member's
communicator computes the same state: tables are replicated); MPI is used for Monte Carlo ensembles.
The two daily markets are Cython kernels (cython_ext/keynes.pyx); the rest is vectorised NumPy.

Balance sheets (all money is bank deposits; the government's account is at the central bank):
  households   deposits d_i                          firms  deposits c_j, capital K_j | loans l_j
  banks        loans + reserves | deposits, equity E_b
  government   | debt G (an overdraft at the central bank)
  central bank government debt G | reserves R = sum_b (deposits_b + E_b - loans_b)
so deposits + bank equity = loans + G every day. Each stock is updated only by its own flows, and
`sf_error` records loans + G - deposits - bank equity (0 up to rounding; tested every day). Money
is created by loans and by the government's deficit, destroyed by repayments, taxes and defaults."""
import math
import time
from types import SimpleNamespace

import numpy as np

from hpcabm.core import rng
from hpcabm.kernels import core as kcore
from hpcabm.kernels import keynes as K
from hpcabm.models.keynes_daily.policy import OneSidedHP, inflation_30d, taylor

SERIES = (
    "gdp", "output", "capacity", "cpi", "wage", "unemployment", "employment", "r", "inflation",
    "gap", "zlb", "firms", "entries", "exits", "loans", "new_credit",
    "credit_refused", "deposits_h", "deposits_f", "bank_equity", "gov_debt", "car_min", "bailouts",
    "wages", "rd", "investment", "dividends", "taxes", "transfers", "benefits", "deficit",
    "unmet", "markup", "productivity", "capital", "vacancies", "fired", "hired", "bad_debt",
    "sf_error", "sf_money")

FIRM_COLS = ("alive", "A", "Kc", "W", "mu", "P", "cash", "debt", "bank", "vac", "fire", "tight",
             "profit", "born")
HH_COLS = ("employer", "dep", "resw", "c", "inc", "bank")


class Model:
    name = "keynes_daily"
    table_layout = {"households": "replicated", "firms": "replicated", "dring": "replicated",
                    "banks": "replicated", "macro": "replicated"}

    def __new__(cls, cfg, comm):
        # `keynes.market: pro_rata` selects the partitioned variant (partitioned.py)
        if cls is Model and cfg.keynes.market == "pro_rata":
            from hpcabm.models.keynes_daily.partitioned import PartitionedModel
            return super().__new__(PartitionedModel)
        return super().__new__(cls)

    def __init__(self, cfg, comm):
        self.cfg = cfg
        self.comm = comm
        self.seed = int(cfg.seed)
        self.p = SimpleNamespace(**cfg.keynes.to_dict())
        self.nh = int(cfg.agents)
        self.month = 0            # = day (the core's period counter)
        self.series = {s: [] for s in SERIES}
        self.timers = {}
        self.part = None
        p = self.p
        self.tax_h = p.theta_H / 365.0 if p.tax_bug_compat else p.theta_H
        self.mpc = 1.0 - p.sigma * (1.0 + p.rho)
        self.win = int(p.demand_window)

    def _tick(self, name, t0):
        t = time.perf_counter()
        self.timers[name] = self.timers.get(name, 0.0) + t - t0
        return t

    def _u(self, purpose, ids, step, j=0):
        return kcore.uniform(self.seed, purpose, np.asarray(ids, dtype=np.int64), step, j)

    # -- initial state (note sec. 9) ------------------------------------------------------------
    def initialize(self):
        p, nh, nf, nb = self.p, self.nh, int(self.p.firms), int(self.p.banks)
        M = p.money0
        ih, jf = np.arange(nh), np.arange(nf)
        # household wealth ~ Pareto(pareto_h) scaled to 50 % of money; banks uniform at random
        uh = self._u(rng.KD_INIT, ih, 0, 0)
        wh = (1.0 - uh) ** (-1.0 / p.pareto_h)
        dep = 0.5 * M * wh / wh.sum()
        hbank = np.minimum((self._u(rng.KD_INIT, ih, 0, 1) * nb).astype(np.int64), nb - 1)
        # firm sizes ~ Pareto(pareto_f): employment proportional (largest remainders), >= 1 each
        uf = self._u(rng.KD_INIT, nh + jf, 0, 0)
        size = (1.0 - uf) ** (-1.0 / p.pareto_f)
        E = int(round(nh * (1 - p.u0)))
        if E < nf:
            raise ValueError("keynes: fewer employed households than firms at start")
        share = size / size.sum() * (E - nf)
        L = np.floor(share).astype(np.int64)
        rest = (E - nf) - int(L.sum())
        L[np.argsort(-(share - L), kind="stable")[:rest]] += 1
        L += 1
        employer = np.full(nh, -1, dtype=np.int64)
        employer[:E] = np.repeat(jf, L)
        # which households are employed: a random set (order by a uniform draw)
        perm = np.argsort(self._u(rng.KD_INIT, ih, 0, 2), kind="stable")
        emp = np.full(nh, -1, dtype=np.int64)
        emp[perm] = employer
        # productivity ~ LogNormal(0, s_A^2) (Box-Muller on two uniforms)
        A = np.exp(p.s_A * _normal(self._u(rng.KD_INIT, nh + jf, 0, 1), self._u(rng.KD_INIT, nh + jf, 0, 2)))
        W0 = p.wage0
        # capital: K_norm per worker gives K/Y = capital_output years at A = 1; K_j = K_norm L_j
        self.Knorm = p.capital_output * 365.0
        f = {c: np.zeros(nf) for c in FIRM_COLS}
        f["alive"] = np.ones(nf, dtype=bool)
        f["A"] = A
        f["Kc"] = L * 1.0              # capital in units of K_norm (Y = A L^a Kc^b)
        f["W"] = np.full(nf, W0)
        f["mu"] = np.full(nf, p.mu0)
        f["P"] = (1 + p.mu0) * W0 / 365.0 / A
        f["cash"] = 0.3 * M * L / L.sum()
        f["bank"] = np.minimum((self._u(rng.KD_INIT, nh + jf, 0, 3) * nb).astype(np.int64), nb - 1)
        f["vac"] = np.zeros(nf, dtype=np.int64)
        f["fire"] = np.zeros(nf, dtype=np.int64)
        f["tight"] = np.zeros(nf, dtype=bool)
        f["born"] = np.zeros(nf, dtype=np.int64)
        self.f = f
        self.h = {"employer": emp, "dep": dep, "resw": np.full(nh, W0), "c": np.zeros(nh),
                  "inc": np.zeros(nh), "bank": hbank}
        # pre-warmed budgets c_i,0 = c*_i,0 from the first day's income (PDF App. B)
        Wbar = W0
        tau = p.psi * Wbar / 365.0 * (1 + p.phi_G * (p.u0 - p.u_star))
        y = np.where(emp >= 0, W0 / 365.0, p.benefit * Wbar / 365.0) + tau
        self.h["c"] = y * (1 - self.tax_h) * self.mpc
        # expected demand of each firm: total budgets in units at the mean price, pro rata to capacity
        cap = self._capacity(L)
        D0 = self.h["c"].sum() / float(np.average(f["P"], weights=cap))
        self.dring = np.repeat((D0 * cap / cap.sum())[:, None], self.win, axis=1)
        self.banks = {"equity": np.full(nb, 0.2 * M / nb), "loans": np.zeros(nb),
                      "frozen": np.zeros(nb, dtype=np.int64), "breach_day": np.full(nb, -1, dtype=np.int64)}
        # money was issued by the government: its debt = deposits + bank equity
        self.mac = {"G": float(dep.sum() + f["cash"].sum() + self.banks["equity"].sum()),
                    "r": p.r_bar, "pi": p.pi_star, "gap": 0.0, "Wbar": Wbar, "u": p.u0,
                    "cpi_ring": [], "gdp_ring": [], "P": float(np.average(f["P"], weights=cap))}
        self.mac["M"] = float(dep.sum() + f["cash"].sum())     # money ledger (see step)
        self.hp = OneSidedHP(p.hp_lambda)
        self._plan_firms(L, cap)

    # -- helpers ---------------------------------------------------------------------------------
    def _capacity(self, L):
        """Y_j = A_j L_j^alpha (K_j/K_norm)^beta (kernel; twin: reference.capacity)."""
        p, f = self.p, self.f
        out = np.empty(L.size)
        K.capacity(f["A"], L.astype(np.int64, copy=False), f["Kc"], f["alive"].view(np.uint8), p.alpha, p.beta, out)
        return out

    def _labour(self):
        e = self.h["employer"]
        return np.bincount(e[e >= 0], minlength=self.f["A"].size)

    def _plan_firms(self, L, cap):
        """Tomorrow's vacancies and firings from D/Cap (note sec. 4.4; kernel, twin:
        reference.plan_firms). Returns D/Cap."""
        p, f = self.p, self.f
        D = self.dring.mean(axis=1)
        n = D.size
        ratio = np.empty(n)
        f["vac"] = np.empty(n, dtype=np.int64)
        f["fire"] = np.empty(n, dtype=np.int64)
        K.plan_firms(D, cap, f["A"], f["Kc"], L.astype(np.int64, copy=False), f["alive"].view(np.uint8), p.alpha,
                     p.beta, p.theta_hire, p.theta_fire, p.fire_share, ratio, f["vac"], f["fire"])
        return ratio

    def _capacity_plan(self, L):
        """_capacity then _plan_firms in one kernel (same values). Returns (capacity, D/Cap)."""
        p, f = self.p, self.f
        n = self.dring.shape[0]
        D = np.empty(n)
        K.row_means(self.dring, D)          # = self.dring.mean(axis=1)
        cap, ratio = np.empty(n), np.empty(n)
        f["vac"] = np.empty(n, dtype=np.int64)
        f["fire"] = np.empty(n, dtype=np.int64)
        K.capacity_plan(f["A"], L.astype(np.int64, copy=False), f["Kc"], f["alive"].view(np.uint8), p.alpha,
                        p.beta, D, p.theta_hire, p.theta_fire, p.fire_share, cap, ratio, f["vac"], f["fire"])
        return cap, ratio

    # -- one day (note sec. 2) -------------------------------------------------------------------
    def _central_bank(self, cpi, gdp, Wbar_new, u):
        """Central bank for tomorrow: 30-day inflation, output gap on the 30-day mean log GDP, the
        Taylor rule with its bounds; records today's CPI, wage index and unemployment. Returns
        (30-day inflation, output gap)."""
        p, mac = self.p, self.mac
        cr, gr = mac["cpi_ring"], mac["gdp_ring"]
        cr.append(cpi)
        gr.append(gdp)
        if len(cr) > 31:
            cr.pop(0)
        if len(gr) > 30:
            gr.pop(0)
        gap = self.hp.update(math.log(max(sum(gr) / len(gr), 1e-300)))
        if len(cr) == 31:
            pi = inflation_30d(cpi, cr[0])
            r_next = taylor(pi, gap, p.r_bar, p.pi_star, p.psi_pi, p.psi_y, p.r_floor, p.r_ceiling)
        else:      # no 30-day history yet: r = r_bar, pi = pi* (P; the PDF starts at the ceiling)
            pi, r_next = p.pi_star, p.r_bar
        mac.update({"r": r_next, "pi": pi, "gap": gap, "Wbar": Wbar_new, "u": u, "P": cpi})
        return pi, gap

    def step(self):
        t0 = time.perf_counter()
        p, f, h, b, mac = self.p, self.f, self.h, self.banks, self.mac
        t = self.month
        day = t + 1
        seed = self.seed
        nh, nf, nb = self.nh, f["A"].size, b["equity"].size
        tax = self.tax_h
        M0 = mac["M"]
        # 1. central bank: r_t from t-1 data (set at the end of yesterday)
        r = mac["r"]
        # 2. government: benefits and transfers before the goods market, income tax withheld
        Wbar, u = mac["Wbar"], mac["u"]
        ben = p.benefit * Wbar / 365.0
        tau = max(p.psi * Wbar / 365.0 * (1 + p.phi_G * (u - p.u_star)), 0.0)
        n_u = K.transfers(h["employer"], h["dep"], h["inc"], tau, ben, 1 - tax)   # twin: reference.transfers
        spend = tau * nh + ben * n_u
        taxes = spend * tax
        # 3. shocks
        dfac = p.demand_factor if (p.demand_day > 0 and p.demand_day <= day < p.demand_day + p.demand_days) else 1.0
        bad_debt, forced, seized = 0.0, None, 0.0
        if p.crisis != "none" and day == p.crisis_day:
            bad_debt, forced, seized = self._banking_crisis(t)
        t0 = self._tick("government", t0)
        # 4. labour market: yesterday's firing decisions, then the unemployed search
        fired = self._fire(t)
        slots = K.vacancy_slots(f["alive"].view(np.uint8), f["vac"])
        nvac = int(slots.size)
        L = np.empty(nf, dtype=np.int64)
        searchers = K.employment(h["employer"], L)
        hired = np.zeros(nf, dtype=np.int64)
        nopen = K.labour_market(seed, t, searchers, h["resw"], slots, f["W"], int(p.k_labour), p.xi,
                                p.delta_w / 365.0, h["employer"], hired)
        tight = np.empty(nf, dtype=np.uint8)
        K.still_open(slots, nopen, tight)
        tight = tight.view(bool)
        L += hired
        t0 = self._tick("labour", t0)
        # 5. production capacity (PDF eq. 6); goods are not storable
        cap = self._capacity(L)
        # 6. goods market
        # budgets min(c dfac, max(dep, 0)), the market, dep -= spent (twin: reference.goods_day)
        alive_ids = np.flatnonzero(f["alive"]).astype(np.int64)
        budget, spent, gsums = np.empty(nh), np.zeros(nh), np.empty(2)
        rev, sold, dem = np.zeros(nf), np.zeros(nf), np.zeros(nf)
        unmet = K.goods_day(seed, t, h["c"], dfac, h["dep"], budget, alive_ids, f["P"], cap.copy(),
                            int(p.k_goods), spent, rev, sold, dem, gsums)
        budget_sum = float(gsums[0])
        t0 = self._tick("goods", t0)
        # 7. firms: profit, tax, dividends, investment, R&D (note sec. 4)
        gdp = float(rev.sum())
        units = float(sold.sum())
        cpi = gdp / units if units > 0 else mac["P"]
        # wages, R&D, loan interest at r_B (PDF eq. 13), profit tax, dividends, investment of
        # yesterday's positive profit (eq. 7); cash, profit, capital; per-bank sums for step 8
        # (kernel; twin: reference.firm_accounts)
        wb, rd, interest, ctax, div, inv = (np.empty(nf) for _ in range(6))
        int_b, loans_b, cash_b, fsums = np.zeros(nb), np.zeros(nb), np.zeros(nb), np.empty(7)
        K.firm_accounts(rev, L, f["W"], f["debt"], f["cash"], f["Kc"], f["profit"], f["alive"].view(np.uint8),
                        f["bank"], mac["P"], self.Knorm, r, p.zeta_B, int(p.premium == "pdf"), p.phi,
                        p.theta_C, p.payout, int(p.dividends != "none"), p.chi, 1 - p.delta_K / 365.0, cpi,
                        wb, rd, interest, ctax, div, inv, int_b, loans_b, cash_b, fsums)
        wb_sum, rd_sum, int_sum, ctax_sum, pool, inv_sum = (float(x) for x in fsums[1:])
        taxes += ctax_sum
        # households: wages, R&D and capital-goods outlays (equal shares), dividends, deposit interest
        dep_rate = max(r - p.deposit_spread, 0.0) / 365.0
        bank_dep_int = np.zeros(nb)
        out = np.zeros(5)
        share = (rd_sum + inv_sum) / nh
        pool_pr = pool
        if p.dividends == "equal":
            share += pool / nh
            pool_pr = 0.0
        dpos = float(gsums[1])          # np.sum(max(dep, 0)) after the goods market
        K.household_income(h["employer"], f["W"], h["bank"], h["dep"], h["inc"], share, pool_pr, dpos,
                           dep_rate, tax, bank_dep_int, out)
        taxes += float(out[2])
        t0 = self._tick("firms", t0)
        # 8. banks: interest on loans, deposits and reserves (R_b = deposits + equity - loans)
        dep_b = np.zeros(nb)
        K.wsum_by(h["bank"], h["dep"], dep_b)
        dep_b = dep_b + cash_b
        res_int = r / 365.0 * (dep_b + b["equity"] - loans_b)
        b["equity"] += int_b - bank_dep_int + res_int
        spend += float(res_int.sum())        # the CB pays reserve interest from the state's account
        new_credit, refused, repaid, illiquid = self._credit(wb)
        if forced is not None:
            illiquid[forced] = True
        t0 = self._tick("banks", t0)
        # R&D draw (note sec. 4.2): success w.p. zeta*phi, ln A += max(eps, 0)
        self._innovate(t)
        # 9. bankruptcy (e < e*, or illiquid), recapitalisation, entry
        exits, loss, seized_x = self._exit(cpi, illiquid)
        bad_debt += loss
        bail = self._recapitalise(day)
        spend += bail
        entries, entry_loans = self._entry(t)
        nf = f["A"].size
        L = np.concatenate([np.where(f["alive"][:L.size], L, 0), np.zeros(nf - L.size, dtype=L.dtype)])
        # 10. decisions for tomorrow: demand memory, mark-up, wage, price, vacancies, firing
        n0 = dem.size
        self.dring[:n0, t % self.win] = np.where(f["alive"][:n0], dem, 0.0)
        tight_all = np.zeros(nf, dtype=bool)
        tight_all[:n0] = tight
        # capacity (exits emptied their firms; entrants start with no workers), vacancies, firings
        cap, ratio = self._capacity_plan(L)
        E = int(L.sum())
        Wbar_new = float(np.dot(f["W"], L) / E) if E > 0 else Wbar
        alive = f["alive"]
        # mark-up, wage offer, price (PDF eqs. 9, 11, 8; kernel, twin: reference.update_prices)
        K.update_prices(ratio, alive.view(np.uint8), tight_all.view(np.uint8), f["mu"], f["W"], f["P"], f["A"],
                        p.theta_hire, p.theta_fire, p.delta_mu, p.wage_drift * Wbar_new,
                        p.wage_drift * Wbar_new * (1 - p.wage_rigidity), math.exp(-p.kappa_P),
                        math.exp(p.kappa_P), int(p.kappa_P > 0))
        f["tight"] = tight_all
        # households: tomorrow's budgets (PDF eqs. 3-4) from today's disposable income
        if p.wealth_mpc > 0:
            cstar = h["inc"] * self.mpc
            cstar = cstar + p.wealth_mpc * np.maximum(h["dep"] - h["dep"].mean(), 0.0) / 365.0
            h["c"] = p.eta * h["c"] + (1 - p.eta) * cstar
            h["inc"][:] = 0.0
        else:
            K.budgets(h["c"], h["inc"], p.eta, 1 - p.eta, self.mpc)
        # government: the day's deficit adds to its debt at the central bank
        deficit = spend - taxes
        mac["G"] += deficit
        # money ledger (independent of the stocks): created by loans, public spending reaching
        # households and deposit interest; destroyed by repayments, seizures at default, taxes and
        # loan interest
        mac["M"] = M0 + (new_credit + entry_loans + (tau * nh + ben * n_u) + float(out[4])
                         - repaid - seized - seized_x - taxes - int_sum)
        pi, gap = self._central_bank(cpi, gdp, Wbar_new, 1 - E / nh)
        t0 = self._tick("decisions", t0)
        # 11. statistics and the balance-sheet identities
        loans = float(f["debt"].sum())
        dh = float(h["dep"].sum())
        dfm = float(f["cash"].sum())
        beq = float(b["equity"].sum())
        b["loans"] = np.bincount(f["bank"], weights=f["debt"], minlength=nb)
        lb = b["loans"]
        car = float((b["equity"][lb > 0] / lb[lb > 0]).min()) if (lb > 0).any() else -1.0
        La = L[alive]
        vals = {
            "gdp": gdp, "output": units, "capacity": float(cap.sum()), "cpi": cpi, "wage": Wbar_new,
            "unemployment": 1 - E / nh, "employment": E, "r": r, "inflation": pi, "gap": gap,
            "zlb": int(r <= p.r_floor), "firms": int(alive.sum()), "entries": int(entries),
            "exits": int(exits), "loans": loans, "new_credit": new_credit, "credit_refused": refused,
            "deposits_h": dh, "deposits_f": dfm, "bank_equity": beq, "gov_debt": mac["G"], "car_min": car,
            "bailouts": bail, "wages": wb_sum, "rd": rd_sum, "investment": inv_sum,
            "dividends": pool, "taxes": taxes, "transfers": tau * nh, "benefits": ben * n_u,
            "deficit": deficit, "unmet": unmet / budget_sum if budget_sum > 0 else 0.0,
            "markup": float(np.dot(f["mu"][alive], La) / E) if E else float(f["mu"][alive].mean()),
            "productivity": float(np.dot(f["A"][alive], La) / E) if E else float(f["A"][alive].mean()),
            "capital": float(f["Kc"][alive].sum() * self.Knorm), "vacancies": nvac,
            "fired": int(fired), "hired": int(hired.sum()), "bad_debt": bad_debt,
            "sf_error": loans + mac["G"] - dh - dfm - beq,
            "sf_money": dh + dfm - mac["M"],
        }
        for name in SERIES:
            self.series[name].append(vals[name])
        self.month += 1
        self._tick("stats", t0)

    # -- rules -----------------------------------------------------------------------------------
    def _fire(self, t):
        """Yesterday's firing decisions: each firing firm lays off `fire` of its workers, those with
        the smallest uniform draw of the day (a random subset). Reservation wage = last wage.
        (kernel; twin: reference.fire_workers)"""
        f, h = self.f, self.h
        return int(K.fire_workers(self.seed, rng.KD_FIRE, t, h["employer"], f["fire"], f["W"], h["resw"]))

    def _credit(self, wb):
        """Repayment of 1/365 of principal, then overdrafts and voluntary credit (note sec. 5).
        Banks lend while equity/loans >= CAR and they are not frozen, at most appetite x
        (equity/CAR - loans) a day, pro rata to requests. A firm asks for the gap to a cash buffer of
        cash_buffer days of wage bill, keeping debt <= max_loan_equity x equity; none with negative
        equity. A negative cash balance (losses) is covered by an overdraft from the firm's bank;
        a frozen bank (crisis = equity+npl) covers it only within the loan-to-equity cap, otherwise
        the firm is illiquid and exits today; a frozen bank also stops rolling over the unpaid part
        of maturing principal. (kernel; twin: reference.credit)
        Returns (new credit, refused demand, repaid principal, illiquid mask)."""
        p, f, b = self.p, self.f, self.banks
        n = f["cash"].size
        pay, od, want, grant, refused = (np.empty(n) for _ in range(5))
        illiquid = np.empty(n, dtype=np.uint8)
        K.credit(f["alive"].view(np.uint8), f["bank"], b["frozen"], f["cash"], f["debt"], f["Kc"], wb,
                 b["equity"], self.mac["P"], self.Knorm, p.max_loan_equity, p.car, p.appetite,
                 p.cash_buffer, pay, od, want, grant, refused, illiquid)
        return float(grant.sum() + od.sum()), float(refused.sum()), float(pay.sum()), illiquid.view(bool)

    def _innovate(self, t):
        p, f = self.p, self.f
        pinn = p.zeta * p.phi
        if pinn <= 0:
            return
        win = K.innovators(self.seed, rng.KD_INNOV, t, f["alive"].view(np.uint8), pinn)
        if win.size:
            eps = p.s_A * _normal(self._u(rng.KD_INNOV, win, t, 1), self._u(rng.KD_INNOV, win, t, 2))
            if p.ratchet:
                eps = np.maximum(eps, 0.0)
            f["A"][win] *= np.exp(eps)

    def _exit(self, cpi, illiquid):
        """Exit when e_j = (assets - debt)/assets < e* (PDF; assets = cash + P K) or illiquid.
        The bank takes the firm's cash against the loan and writes off the rest (capital has no
        buyer in a one-good economy: it is scrapped, P); a surplus of cash over debt is paid to the
        households as a liquidation dividend pro rata to deposits. Workers become unemployed with
        their last wage as reservation wage. Returns (exits, bank loss, deposits seized by the banks)."""
        p, f, h, b = self.p, self.f, self.h, self.banks
        alive = f["alive"]
        n = alive.size
        e, dead = np.empty(n), np.empty(n, dtype=np.uint8)
        nd, na = K.exit_scan(f["cash"], f["Kc"], f["debt"], alive.view(np.uint8), illiquid.view(np.uint8), cpi,
                             self.Knorm, p.e_star, e, dead)
        dead = dead.view(bool)
        # keep at least one firm
        if nd == na:
            dead[np.flatnonzero(alive)[np.argmax(e[alive])]] = False
            nd -= 1
        if nd == 0:
            return 0, 0.0, 0.0
        ids = np.flatnonzero(dead)
        cash, debt = f["cash"][ids].copy(), f["debt"][ids].copy()
        repay = np.minimum(cash, debt)
        loss = debt - repay
        surplus = cash - repay
        fb = f["bank"][ids]
        b["equity"] -= np.bincount(fb, weights=loss, minlength=b["equity"].size)
        f["cash"][ids] = 0.0
        f["debt"][ids] = 0.0
        f["Kc"][ids] = 0.0
        f["alive"][ids] = False
        f["vac"][ids] = 0
        f["fire"][ids] = 0
        sp = float(surplus.sum())
        if sp > 0:
            w = np.maximum(h["dep"], 0.0)
            h["dep"] += sp * w / w.sum()
        e_h = h["employer"]
        gone = np.flatnonzero((e_h >= 0) & dead[np.maximum(e_h, 0)])
        h["resw"][gone] = f["W"][e_h[gone]]
        e_h[gone] = -1
        return int(ids.size), float(loss.sum()), float(repay.sum())

    def _recapitalise(self, day):
        """A bank below the CAR stops lending; the government restores equity to CAR x loans, at
        once (default) or, under crisis = equity+npl, after recap_lag days (note sec. 5, 8).
        Returns the injection."""
        p, b, f = self.p, self.banks, self.f
        npl = p.crisis == "equity+npl"
        # kernel; twin: reference.recapitalise
        return float(K.recapitalise(f["bank"], f["debt"], b["equity"], b["breach_day"], b["frozen"], p.car, day,
                                    p.recap_lag if npl else 0, int(npl)))

    def _banking_crisis(self, t):
        """Day crisis_day (PDF Table 6): each bank loses crisis_equity of its equity. A pure equity
        loss must be someone's gain in a closed economy: it is booked as reserves extinguished by
        the central bank, whose gain is remitted to the Treasury (G falls by the same amount).
        equity+npl also makes loans default: the most leveraged borrowers (debt / assets), until
        npl_share of the loan book is reached, default at once (P: Minsky's fragile borrowers fail
        first); they exit through the illiquidity path the same day."""
        p, f, b = self.p, self.f, self.banks
        loss = p.crisis_equity * np.maximum(b["equity"], 0.0)
        b["equity"] -= loss
        self.mac["G"] -= float(loss.sum())
        bad, forced, seized = 0.0, None, 0.0
        if p.crisis == "equity+npl":
            ids = np.flatnonzero(f["alive"] & (f["debt"] > 0))
            if ids.size:
                assets = np.maximum(f["cash"][ids], 0.0) + self.mac["P"] * f["Kc"][ids] * self.Knorm
                lev = f["debt"][ids] / np.maximum(assets, 1e-300)
                # most leveraged borrowers first (ties by a random draw)
                order = ids[np.lexsort((self._u(rng.KD_NPL, ids, t), -lev))]
                cum = np.cumsum(f["debt"][order])
                forced = order[: int(np.searchsorted(cum, p.npl_share * cum[-1])) + 1]
                # the loans are written off: the firms' deposits are seized first, the rest is lost;
                # the firms exit through the illiquidity path of the same day
                rep = np.minimum(np.maximum(f["cash"][forced], 0.0), f["debt"][forced])
                lost = f["debt"][forced] - rep
                f["cash"][forced] -= rep
                b["equity"] -= np.bincount(f["bank"][forced], weights=lost, minlength=b["equity"].size)
                f["debt"][forced] = 0.0
                bad, seized = float(lost.sum()), float(rep.sum())
        return bad, forced, seized

    def _entry(self, t):
        """Poisson(nu N_alive) entrants a day (PDF eq. 12), appended as new slots: A = LogNormal x
        mean A, capital U[0.1, 0.9] x mean capital, cash U[0.1, 0.9] x median cash financed by a
        loan from a random bank (if that bank lends), wage = mean wage (P), mark-up mu0, expected
        demand = mean expected demand x capital share. Returns (entrants, loans created)."""
        p, f, b = self.p, self.f, self.banks
        alive = f["alive"]
        lam = p.entry_rate * int(alive.sum())
        u = float(self._u(rng.KD_ENTRY, [0], t, 0)[0])
        n, pk, c = 0, math.exp(-lam), math.exp(-lam)
        while u > c and n < 1000:
            n += 1
            pk *= lam / n
            c += pk
        if n == 0:
            return 0, 0.0
        nf = f["A"].size
        ids = np.arange(nf, nf + n)
        u0 = self._u(rng.KD_ENTRY, ids, t, 0)
        u1 = self._u(rng.KD_ENTRY, ids, t, 1)
        u2 = self._u(rng.KD_ENTRY, ids, t, 2)
        u3 = self._u(rng.KD_ENTRY, ids, t, 3)
        u4 = self._u(rng.KD_ENTRY, ids, t, 4)
        nb = b["equity"].size
        bank = np.minimum((u4 * nb).astype(np.int64), nb - 1)
        Abar = float(f["A"][alive].mean())
        Kbar = float(f["Kc"][alive].mean())
        cash = (0.1 + 0.8 * u3) * float(np.median(f["cash"][alive]))
        loans_b = np.bincount(f["bank"], weights=f["debt"], minlength=nb)
        lends = (b["equity"][bank] >= p.car * loans_b[bank]) & (b["frozen"][bank] == 0)
        cash = np.where(lends, np.maximum(cash, 0.0), 0.0)
        new = {
            "alive": np.ones(n, dtype=bool), "A": Abar * np.exp(p.s_A * _normal(u0, u1)),
            "Kc": (0.1 + 0.8 * u2) * Kbar, "W": np.full(n, self.mac["Wbar"]), "mu": np.full(n, p.mu0),
            "cash": cash, "debt": cash.copy(), "bank": bank, "vac": np.zeros(n, dtype=np.int64),
            "fire": np.zeros(n, dtype=np.int64), "tight": np.zeros(n, dtype=bool), "profit": np.zeros(n),
            "born": np.full(n, t, dtype=np.int64)}
        new["P"] = (1 + p.mu0) * new["W"] / 365.0 / new["A"]
        for c_ in FIRM_COLS:
            f[c_] = np.concatenate([f[c_], new[c_].astype(f[c_].dtype)])
        Dbar = self.dring[alive].mean(axis=1).mean()
        rows = np.repeat((Dbar * new["Kc"] / max(Kbar, 1e-300))[:, None], self.win, axis=1)
        self.dring = np.concatenate([self.dring, rows])
        return n, float(cash.sum())

    # -- hooks for the runner ------------------------------------------------------------------
    def progress_fields(self):
        s = self.series
        if not s["gdp"]:
            return {}
        return {"gdp": f"{s['gdp'][-1]:.5g}", "u": f"{s['unemployment'][-1]:.4f}",
                "r": f"{s['r'][-1]:.4f}", "firms": s["firms"][-1]}

    def state_tables(self):
        f = {c: np.asarray(v).copy() for c, v in self.f.items()}
        h = {c: np.asarray(v).copy() for c, v in self.h.items()}
        banks = {c: np.asarray(v).copy() for c, v in self.banks.items()}
        macro = {"state": self._pack_macro()}
        return {"households": h, "firms": f, "dring": {"d": self.dring.copy()}, "banks": banks,
                "macro": macro}, {"month": self.month}

    def load_state(self, tables, attrs):
        self.month = int(attrs["month"])
        self.f = {c: np.array(tables["firms"][c]) for c in FIRM_COLS}
        self.f["alive"] = self.f["alive"].astype(bool)
        self.f["tight"] = self.f["tight"].astype(bool)
        self.h = {c: np.array(tables["households"][c]) for c in HH_COLS}
        self.dring = np.array(tables["dring"]["d"])
        self.banks = {c: np.array(x) for c, x in tables["banks"].items()}
        self._unpack_macro(np.asarray(tables["macro"]["state"], dtype=np.float64))

    def _pack_macro(self):
        """Macro state as one float vector: 9 scalars, then the CPI ring (31), GDP ring (30) and
        HP filter state (7), each preceded by its length and padded."""
        m = self.mac
        out = [m["G"], m["r"], m["pi"], m["gap"], m["Wbar"], m["u"], m["P"], self.Knorm, m["M"]]
        for ring, n in ((m["cpi_ring"], 31), (m["gdp_ring"], 30), (self.hp.s, 7)):
            out += [len(ring)] + list(ring) + [0.0] * (n - len(ring))
        return np.array(out, dtype=np.float64)

    def _unpack_macro(self, v):
        self.mac = {"G": v[0], "r": v[1], "pi": v[2], "gap": v[3], "Wbar": v[4], "u": v[5], "P": v[6],
                    "M": v[8]}
        self.mac = {k: float(x) for k, x in self.mac.items()}
        self.Knorm = float(v[7])
        pos, rings = 9, []
        for n in (31, 30, 7):
            k = int(v[pos])
            rings.append([float(x) for x in v[pos + 1: pos + 1 + k]])
            pos += 1 + n
        self.mac["cpi_ring"], self.mac["gdp_ring"] = rings[0], rings[1]
        self.hp = OneSidedHP(self.p.hp_lambda, rings[2] if rings[2] else None)

    def final_tables(self):
        """End-of-run cross sections (rank 0 only: replicated tables): household wealth and
        employment; alive firms' productivity, capital, employment, price and debt."""
        if not self.comm.is_root:
            z = np.zeros(0)
            return {"households": {"wealth": z, "employed": np.zeros(0, dtype=np.int8)},
                    "firms": {"A": z, "capital": z, "employees": z, "price": z, "debt": z, "age": z}}
        f, h = self.f, self.h
        a = f["alive"]
        L = self._labour()
        return {"households": {"wealth": h["dep"].copy(), "employed": (h["employer"] >= 0).astype(np.int8)},
                "firms": {"A": f["A"][a].copy(), "capital": f["Kc"][a] * self.Knorm,
                          "employees": L[a].astype(np.float64), "price": f["P"][a].copy(),
                          "debt": f["debt"][a].copy(), "age": (self.month - f["born"][a]).astype(np.float64)}}


def _normal(u1, u2):
    """Standard normals from two uniforms in [0, 1) (Box-Muller, cosine branch)."""
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
