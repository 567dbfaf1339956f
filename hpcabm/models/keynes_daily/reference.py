"""Plain Python twins of the keynes_daily kernels (cython_ext/keynes.pyx): the readable specification
of the two daily markets, compared bit for bit with the kernels in
tests/models/keynes_daily/test_kernels.py. Slow (Python loops); used only by tests."""
import math

import numpy as np

from hpcabm.core import rng

P_GOODS = rng.KD_GOODS
P_LABOUR = rng.KD_LABOUR
_M32 = 0xFFFFFFFF


def _draw(key, j):
    return int(rng.draw(np.uint64(key), j))


def _pick(x, n):
    return ((x & _M32) * n) >> 32


def _c_pow(base, exponent):
    """C's pow element by element (what the kernels call). NumPy's power may run SIMD code that
    differs from the C library in the last bit (NumPy 2.4 on AVX-512: ~6 % of values), which is
    not what these bit-for-bit twins are about."""
    b = np.asarray(base, dtype=np.float64)
    e = np.broadcast_to(np.asarray(exponent, dtype=np.float64), b.shape)
    out = np.empty(b.shape)
    for i, (x, y) in enumerate(zip(b.ravel().tolist(), e.ravel().tolist())):
        try:
            out.flat[i] = math.pow(x, y)
        except OverflowError:
            out.flat[i] = math.inf
        except ValueError:
            out.flat[i] = math.nan
    return out


def _key(seed, purpose, entity, t):
    return int(rng.key(seed, purpose, np.int64(entity), t))


def permutation(seed, purpose, t, n):
    a = list(range(n))
    k = _key(seed, purpose, 0, t)
    for i in range(n - 1, 0, -1):
        j = _pick(_draw(k, i), i + 1)
        a[i], a[j] = a[j], a[i]
    return np.array(a, dtype=np.int64)


def _sm(key, d):
    """SplitMix64 step d of a key (the kernels' candidate stream)."""
    with np.errstate(over="ignore"):
        return int(rng.mix64(np.uint64(key) + np.uint64(d + 1) * rng._GOLDEN))


def _halves(key, first):
    """Candidate index stream: steps first, first+1, ... each giving its low then high 32 bits."""
    d = first
    while True:
        x = _sm(key, d)
        yield x & _M32
        yield x >> 32
        d += 1


def goods_market(seed, t, budget, alive, price, cap, kG, spent, revenue, sold, demand):
    """Twin of keynes.goods_market (same arguments, same in-place outputs, returns unmet money)."""
    nh, na = len(budget), len(alive)
    kk = min(kG, na)
    unmet = 0.0
    for i in permutation(seed, P_GOODS, t, nh):
        rem = float(budget[i])
        if rem <= 0 or na == 0:
            continue
        key = _key(seed, P_GOODS, i + 1, t)
        cand = []
        halves = _halves(key, 0)
        while len(cand) < kk:
            j = int(alive[_pick(next(halves), na)])
            if j not in cand:
                cand.append(j)
        cand.sort(key=lambda j: (price[j], j))
        for j in cand:
            want = rem / price[j]
            demand[j] += want
            if cap[j] <= 0:
                continue
            if want <= cap[j]:
                q, pay = want, rem
            else:
                q = cap[j]
                pay = q * price[j]
            cap[j] -= q
            sold[j] += q
            revenue[j] += pay
            spent[i] += pay
            rem -= pay
            if rem <= 0:
                rem = 0.0
                break
        unmet += rem
    return unmet


def labour_market(seed, t, searchers, resw, slots, wage, kL, xi, decay, employer, hired):
    """Twin of keynes.labour_market (returns the number of vacancies still open)."""
    slots_l = list(int(s) for s in slots)
    nopen = len(slots_l)
    k0 = _key(seed, P_LABOUR, 0, t)
    order = list(int(s) for s in searchers)
    for i in range(len(order) - 1, 0, -1):
        j = _pick(_draw(k0, i), i + 1)
        order[i], order[j] = order[j], order[i]
    for i in order:
        if nopen == 0:
            resw[i] *= 1 - decay
            continue
        key = _key(seed, P_LABOUR, i + 1, t)
        if nopen <= kL:
            pos = list(range(nopen))
        else:
            pos = []
            halves = _halves(key, 1)
            while len(pos) < kL:
                p = _pick(next(halves), nopen)
                if p not in pos:
                    pos.append(p)
        best = min(pos, key=lambda p: (-wage[slots_l[p]], slots_l[p]))
        wb = wage[slots_l[best]]
        u = float(rng.uniform(seed, P_LABOUR, np.array([i + 1]), t, 0)[0])
        if wb >= resw[i] and u >= xi:
            j = slots_l[best]
            employer[i] = j
            hired[j] += 1
            resw[i] = wb
            nopen -= 1
            slots_l[best], slots_l[nopen] = slots_l[nopen], slots_l[best]
        else:
            resw[i] *= 1 - decay
    slots[:] = slots_l
    return nopen


def household_income(employer, wage, bank, dep, inc, share, div_pool, dep_total, dep_rate, tax,
                     bank_dep_int, out):
    """Twin of keynes.household_income."""
    f = div_pool / dep_total if dep_total > 0 else 0.0
    sw = so = st = sd = si = 0.0
    for i in range(len(dep)):
        w = wage[employer[i]] / 365.0 if employer[i] >= 0 else 0.0
        d = f * dep[i] if dep[i] > 0 else 0.0
        it = dep_rate * dep[i] if dep[i] > 0 else 0.0
        y = w + share + d + it
        dep[i] += y * (1 - tax)
        inc[i] += y * (1 - tax)
        bank_dep_int[bank[i]] += it
        sw += w
        so += share + d + it
        st += y * tax
        sd += d
        si += it
    out[:] = [sw, so, st, sd, si]


def capacity(A, L, Kc, alive, alpha, beta, out):
    """Twin of keynes.capacity (the NumPy form the model used before the kernel)."""
    alive = np.asarray(alive, dtype=bool)
    out[:] = np.where(alive, A * _c_pow(L, alpha) * _c_pow(np.maximum(Kc, 0.0), beta), 0.0)


def plan_firms(D, cap, A, Kc, L, alive, alpha, beta, theta_hire, theta_fire, fire_share, ratio, vac, fire):
    """Twin of keynes.plan_firms."""
    alive = np.asarray(alive, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio[:] = np.where(cap > 0, D / cap, np.where(D > 0, np.inf, 0.0))
        Lstar = np.where(alive, _c_pow(D / (A * _c_pow(np.maximum(Kc, 1e-300), beta)), 1.0 / alpha), 0.0)
    vac[:] = np.where(alive & (ratio > theta_hire), np.ceil(np.maximum(Lstar - L, 0.0)), 0).astype(np.int64)
    fire[:] = np.where(alive & (ratio < theta_fire), np.floor(fire_share * np.maximum(L - Lstar, 0.0)), 0).astype(np.int64)


def update_prices(ratio, alive, tight, mu, W, P, A, theta_hire, theta_fire, delta_mu, c_up, c_down, lo, hi, bounded):
    """Twin of keynes.update_prices."""
    alive, tight = np.asarray(alive, dtype=bool), np.asarray(tight, dtype=bool)
    up = alive & (ratio > theta_hire)
    mu[:] = np.where(up, mu + delta_mu, np.maximum(mu - delta_mu, 0.0))
    slack = alive & (ratio < theta_fire) & ~tight
    W[:] = np.maximum(W + c_up * tight - c_down * slack, 0.0)
    target = (1 + mu) * W / 365.0 / A
    if bounded:
        target = np.clip(target, P * lo, P * hi)
    P[:] = np.where(alive, target, P)


# -- fused day steps: the NumPy forms the model used before the kernels (bit for bit) ----------------

def transfers(employer, dep, inc, tau, ben, one_minus_tax):
    """Twin of keynes.transfers."""
    unemp = employer < 0
    net = (tau + np.where(unemp, ben, 0.0)) * one_minus_tax
    dep += net
    inc += net
    return int(unemp.sum())


def employment(employer, L):
    """Twin of keynes.employment."""
    e = employer
    L[:] = np.bincount(e[e >= 0], minlength=L.size)
    return np.flatnonzero(e < 0).astype(np.int64)


def goods_day(seed, t, c, dfac, dep, budget, alive, price, cap, kG, spent, revenue, sold, demand, sums):
    """Twin of keynes.goods_day."""
    budget[:] = np.minimum(c * dfac, np.maximum(dep, 0.0))
    unmet = goods_market(seed, t, budget, alive, price, cap, kG, spent, revenue, sold, demand)
    dep -= spent
    sums[:] = [budget.sum(), np.maximum(dep, 0.0).sum()]
    return unmet


def fire_workers(seed, purpose, t, employer, fire, wage, resw):
    """Twin of keynes.fire_workers."""
    if not fire.any():
        return 0
    e = employer
    cand = np.flatnonzero((e >= 0) & (fire[np.maximum(e, 0)] > 0))
    if cand.size == 0:
        return 0
    u = rng.uniform(seed, purpose, cand, t, 0)
    order = np.lexsort((u, e[cand]))
    c = cand[order]
    ec = e[c]
    first = np.searchsorted(ec, ec, side="left")
    rank = np.arange(c.size) - first
    go = c[rank < fire[ec]]
    resw[go] = wage[e[go]]
    e[go] = -1
    fire[:] = 0
    return int(go.size)


def wsum_by(idx, w, out):
    """Twin of keynes.wsum_by."""
    out += np.bincount(idx, weights=w, minlength=out.size)


def firm_accounts(rev, L, W, debt, cash, Kc, profit, alive, fb, Pm, Knorm, r, zeta_B, premium_pdf, phi,
                  theta_C, payout, div_on, chi, kdep, cpi, wb, rd, interest, ctax, div, inv, int_b, loans_b,
                  cash_b, sums):
    """Twin of keynes.firm_accounts."""
    alive = np.asarray(alive, dtype=bool)
    nb = int_b.size
    wb[:] = W * L / 365.0
    rd[:] = phi * rev
    assets = np.maximum(cash, 0.0) + Pm * Kc * Knorm
    with np.errstate(divide="ignore", invalid="ignore"):
        if premium_pdf:
            e = np.where(assets > 0, (assets - debt) / assets, -1.0)
            prem = np.maximum(0.0, -e)
        else:
            lev = np.where(assets > 0, debt / assets, 1.0)
            prem = np.maximum(0.0, lev - 0.5)
    rB = r + zeta_B * prem
    interest[:] = rB / 365.0 * debt
    pre = rev - wb - rd - interest
    ctax[:] = theta_C * np.maximum(pre, 0.0)
    prof = pre - ctax
    div[:] = payout * np.maximum(prof, 0.0) if div_on else np.zeros(rev.size)
    inv[:] = np.where(alive, chi * np.maximum(profit, 0.0), 0.0)
    cash += rev - wb - rd - interest - ctax - div - inv
    profit[:] = prof
    Kc[:] = Kc * kdep + inv / cpi / Knorm
    sums[:] = [x.sum() for x in (rev, wb, rd, interest, ctax, div, inv)]
    int_b += np.bincount(fb, weights=interest, minlength=nb)
    loans_b += np.bincount(fb, weights=debt, minlength=nb)
    cash_b += np.bincount(fb, weights=cash, minlength=nb)


def credit(alive, fb, frozen_b, cash, debt, Kc, wb, eq, Pm, Knorm, mle, car, appetite, cash_buffer, pay, od,
           want, grant, refused, illiquid):
    """Twin of keynes.credit (Model._credit before the kernel)."""
    alive = np.asarray(alive, dtype=bool)
    nb = eq.size
    frozen = frozen_b[fb] > 0
    due = np.where(alive, debt / 365.0, 0.0)
    pay[:] = np.where(frozen, due, np.minimum(due, np.maximum(cash, 0.0)))
    cash -= pay
    debt -= pay
    o = np.where(alive, np.maximum(-cash, 0.0), 0.0)
    equity_f = cash + Pm * Kc * Knorm - debt
    sound = debt + o <= mle * equity_f
    ill = alive & (o > 0) & frozen & ~sound
    od[:] = np.where(ill, 0.0, o)
    debt += od
    cash += od
    loans_b = np.bincount(fb, weights=debt, minlength=nb)
    ok = (eq >= car * loans_b) & (frozen_b == 0)
    room = np.where(ok, np.maximum(appetite * (eq / car - loans_b), 0.0), 0.0)
    equity_f = cash + Pm * Kc * Knorm - debt
    gap = np.maximum(cash_buffer * wb - cash, 0.0)
    cap_le = np.maximum(mle * equity_f - debt, 0.0)
    want[:] = np.where(alive & (equity_f > 0), np.minimum(gap, cap_le), 0.0)
    want_b = np.bincount(fb, weights=want, minlength=nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(want_b > 0, np.minimum(room / want_b, 1.0), 0.0)
    grant[:] = want * frac[fb]
    debt += grant
    cash += grant
    refused[:] = want - grant
    illiquid[:] = ill


def budgets(c, inc, eta, one_minus_eta, mpc):
    """Twin of keynes.budgets."""
    c[:] = eta * c + one_minus_eta * (inc * mpc)
    inc[:] = 0.0


def capacity_plan(A, L, Kc, alive, alpha, beta, D, theta_hire, theta_fire, fire_share, cap, ratio, vac, fire):
    """Twin of keynes.capacity_plan."""
    capacity(A, L, Kc, alive, alpha, beta, cap)
    plan_firms(D, cap, A, Kc, L, alive, alpha, beta, theta_hire, theta_fire, fire_share, ratio, vac, fire)


def row_means(d, out):
    """Twin of keynes.row_means."""
    out[:] = d.mean(axis=1)


def exit_scan(cash, Kc, debt, alive, illiquid, cpi, Knorm, e_star, e, dead):
    """Twin of keynes.exit_scan (Model._exit's test before the kernel)."""
    alive, illiquid = np.asarray(alive, dtype=bool), np.asarray(illiquid, dtype=bool)
    assets = np.maximum(cash, 0.0) + cpi * Kc * Knorm
    with np.errstate(divide="ignore", invalid="ignore"):
        e[:] = np.where(assets > 0, (assets - debt) / assets, -np.inf)
    d = alive & ((e < e_star) | illiquid)
    dead[:] = d
    return int(d.sum()), int(alive.sum())


def recapitalise(fb, debt, equity, breach_day, frozen, car, day, lag, npl):
    """Twin of keynes.recapitalise (Model._recapitalise before the kernel)."""
    loans_b = np.bincount(fb, weights=debt, minlength=equity.size)
    below = equity < car * loans_b
    breach_day[:] = np.where(below & (breach_day < 0), day, np.where(below, breach_day, -1))
    frozen[:] = below.astype(np.int64) if npl else 0
    due = below & (day - breach_day >= lag)
    inj = np.where(due, car * loans_b - equity, 0.0)
    equity += inj
    frozen[due] = 0
    breach_day[due] = -1
    return float(inj.sum())


def innovators(seed, purpose, t, alive, pinn):
    """Twin of keynes.innovators."""
    ids = np.flatnonzero(np.asarray(alive, dtype=bool))
    return ids[rng.uniform(seed, purpose, ids, t, 0) < pinn]


def vacancy_slots(alive, vac):
    """Twin of keynes.vacancy_slots."""
    return np.repeat(np.arange(vac.size, dtype=np.int64), np.where(np.asarray(alive, dtype=bool), vac, 0))


def still_open(slots, nopen, tight):
    """Twin of keynes.still_open."""
    tight[:] = np.bincount(slots[:nopen], minlength=tight.size) > 0
