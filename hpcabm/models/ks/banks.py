"""Banks, central bank and government rules of the K+S variants (docs/models/ks.md, "Mark II/III").

mark1: one passive bank. Firms borrow up to their own ceiling (Lambda x base); the bank's equity
       only records interest and bad debt (no feedback). Loan rate r, deposit rate ks.deposit_rate.
mark2: one bank (Dosi et al. 2013). Credit supply TC = equity / capital_ratio; loans outstanding
       count against it; new credit goes to firms in decreasing order of NW/S (net worth over last
       sales) until supply runs out (credit rationing). Loan rate r (1 + markup), deposits 0; firms
       repay repay_share of their debt each period.
mark3: B banks (Dosi et al. 2015). Each consumption-good firm slot belongs to one bank; client counts
       follow a Pareto draw. TC_k = equity_k / [capital_ratio (1 + beta x bad-debt ratio_k(t-1))];
       loan rate r (1 + markup)(1 + risk_premium (q - 1)) with q the firm's NW/S quartile class;
       Taylor rule on r; SGP fiscal rule on benefits; bail-outs of banks with negative equity."""
import numpy as np

from hpcabm.core import rng
from hpcabm.kernels import core as kcore


def _nb(model):
    return int(model.cfg.bank.banks) if model.variant == "mark3" else 1


def init_banks(model, deposits0):
    """Bank table: equity, loans-client map, bad debt of the last period. Mark III: firm slot -> bank
    with Pareto(pareto_alpha) client weights (drawn once; entrants inherit the slot's bank)."""
    b = model.cfg.bank
    nb = _nb(model)
    n2 = model.n2
    if nb == 1:
        owner = np.zeros(n2)
        weights = np.ones(1)
    else:
        u = kcore.uniform(model.seed, rng.KS_BANK, np.arange(nb, dtype=np.int64), 0)
        weights = (1 - u) ** (-1.0 / b.pareto_alpha)          # Pareto(alpha), x_min = 1
        share = weights / weights.sum()
        counts = np.maximum(np.floor(share * n2).astype(np.int64), 1)
        while counts.sum() > n2:
            counts[np.argmax(counts)] -= 1
        counts[np.argmax(weights)] += n2 - counts.sum()
        owner = np.repeat(np.arange(nb), counts).astype(np.float64)
        order = np.argsort(kcore.uniform(model.seed, rng.KS_BANK, np.arange(n2, dtype=np.int64), 1),
                           kind="stable")
        owner = owner[order]
    model.f2["bank"][:] = owner
    clients = np.bincount(owner.astype(np.int64), minlength=nb).astype(np.float64)
    equity = b.equity0 * deposits0 * clients / clients.sum()
    return {"equity": equity, "bad": np.zeros(nb), "bad_prev": np.zeros(nb), "loans_prev": np.zeros(nb),
            "clients": clients, "supply": np.zeros(nb)}


def policy(model):
    """Start of period: Mark III Taylor rule; reset the banks' bad-debt counters."""
    m, p = model.macro, model.cfg.policy
    bk = model.banks
    bk["bad_prev"][:] = bk["bad"]
    bk["bad"][:] = 0.0
    if model.variant == "mark3" and p.taylor != "none":
        gU = p.gamma_U if p.taylor == "dual" else 0.0
        r = p.r_target + p.gamma_pi * (m["infl1"] - p.pi_target) + gU * (p.U_target - m["U1"])
        m["r"] = min(max(r, 0.0), p.r_max)


def rates(model):
    """(loan rate per consumption-good firm, deposit rate)."""
    k, b = model.p, model.cfg.bank
    r = model.macro["r"]
    n2 = model.n2
    if model.variant == "mark1":
        return np.full(n2, r), float(k.deposit_rate)
    rl = np.full(n2, r * (1 + b.markup))
    if model.variant == "mark3":
        rl *= 1 + b.risk_premium * (_quartile_class(model) - 1)
    return rl, 0.0


def _score(model):
    f2 = model.f2
    nw = f2["cash"] - f2["deb"]
    return nw / np.maximum(f2["S_prev"], 1e-9)


def _quartile_class(model):
    """1 (best) .. 4 (worst) by NW/S quartile among consumption-good firms (ties by slot)."""
    s = _score(model)
    order = np.lexsort((np.arange(s.size), -s))
    q = np.empty(s.size)
    q[order] = np.floor(np.arange(s.size) * 4 / s.size) + 1
    return q


def ration(model, want):
    """Credit granted per consumption-good firm. Mark I: all it wants (within its own ceiling).
    Mark II/III: each bank lends up to its supply minus loans outstanding, serving its clients in
    decreasing NW/S order (ties by slot); the marginal firm gets the remainder."""
    if model.variant == "mark1":
        return want.copy()
    b = model.cfg.bank
    bk = model.banks
    f2 = model.f2
    owner = f2["bank"].astype(np.int64)
    nb = bk["equity"].size
    loans = np.bincount(owner, weights=f2["deb"], minlength=nb)
    beta = b.beta if model.variant == "mark3" else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        badratio = np.where(bk["loans_prev"] > 0, bk["bad_prev"] / bk["loans_prev"], 0.0)
    supply = np.maximum(bk["equity"], 0.0) / (b.capital_ratio * (1 + beta * badratio))
    bk["supply"] = supply
    bk["loans_prev"][:] = loans
    return _serve(model, want, np.maximum(supply - loans, 0.0))


def loss_credit(model, want):
    """Credit to cover end-of-period losses (LSD-o _Tax2): Mark I within the firm's ceiling (already
    applied to `want`); Mark II/III also within what is left of its bank's supply this period."""
    if model.variant == "mark1":
        return want.copy()
    bk = model.banks
    owner = model.f2["bank"].astype(np.int64)
    loans = np.bincount(owner, weights=model.f2["deb"], minlength=bk["equity"].size)
    return _serve(model, want, np.maximum(bk["supply"] - loans, 0.0))


def _serve(model, want, room):
    """Serve requests bank by bank in decreasing NW/S order until each bank's room is used up."""
    owner = model.f2["bank"].astype(np.int64)
    nb = room.size
    s = _score(model)
    order = np.lexsort((np.arange(s.size), -s, owner))       # by bank, then best NW/S first
    w = want[order]
    o = owner[order]
    cum = np.cumsum(w)
    start = np.searchsorted(o, np.arange(nb))                # first position of each bank
    base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)[o]
    before = cum - w - base                                  # requests served earlier at the bank
    g = np.clip(room[o] - before, 0.0, w)
    granted = np.empty_like(want)
    granted[order] = g
    return granted


def repayment(model, cash, deb, net_profit):
    """Mark I (LSD-o _Tax2): a positive net profit first repays debt. Mark II/III: a share
    repay_share of the debt (JAS). Both limited by free cash (cash above the floor of 1)."""
    free = np.maximum(cash - 1.0, 0.0)
    if model.variant == "mark1":
        return np.minimum(np.minimum(deb, np.maximum(net_profit, 0.0)), free)
    return np.minimum(model.cfg.bank.repay_share * deb, free)


def book_interest(model, int2, dep2, dep1):
    """Banks' interest margin into equity (capital-good firms bank with bank 0)."""
    bk = model.banks
    owner = model.f2["bank"].astype(np.int64)
    nb = bk["equity"].size
    net = np.bincount(owner, weights=int2 - dep2, minlength=nb)
    net[0] -= float(np.sum(dep1))
    bk["equity"] += net
    return float(net.sum())


def book_bad_debt(model, exit2, liq2):
    """Losses of exiting consumption-good firms (liquidation value < 0) hit their bank."""
    bk = model.banks
    owner = model.f2["bank"].astype(np.int64)[exit2]
    loss = np.maximum(-liq2, 0.0)
    nb = bk["equity"].size
    lb = np.bincount(owner, weights=loss, minlength=nb)
    bk["equity"] -= lb
    bk["bad"] += lb


def benefit_rate(model, w):
    """Unemployment benefit share of the wage; Mark III SGP rule: cut so that benefits - taxes of the
    last period stay under deficit_cap x last nominal GDP, but never below phi_min (GAP)."""
    k, p, m = model.p, model.cfg.policy, model.macro
    phi = k.phi
    if model.variant == "mark3" and p.fiscal_rule == "sgp":
        U = max(model.LS - m["L1"], 1.0)
        cap = (p.deficit_cap * m["gdpn1"] + m["taxes1"]) / (w * U)
        phi = min(phi, max(cap, p.phi_min))
    return phi


def bailout(model):
    """Mark II/III (policy.bailout): the government recapitalises every bank whose equity is below
    zero up to its initial capitalisation ratio, equity0 x its clients' current deposits (GAP: the
    papers' exact rule was not read). The cost adds to public debt. Returns the cost."""
    if model.variant == "mark1" or not model.cfg.policy.bailout:
        return 0.0
    bk = model.banks
    owner = model.f2["bank"].astype(np.int64)
    nb = bk["equity"].size
    dep = np.bincount(owner, weights=np.maximum(model.f2["cash"], 0.0), minlength=nb)
    need = np.where(bk["equity"] < 0, model.cfg.bank.equity0 * dep - bk["equity"], 0.0)
    bk["equity"] += need
    return float(need.sum())
