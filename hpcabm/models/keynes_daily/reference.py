"""Plain Python twins of the keynes_daily kernels (cython_ext/keynes.pyx): the readable specification
of the two daily markets, compared bit for bit with the kernels in
tests/models/keynes_daily/test_kernels.py. Slow (Python loops); used only by tests."""
import numpy as np

from hpcabm.core import rng

P_GOODS = rng.KD_GOODS
P_LABOUR = rng.KD_LABOUR
_M32 = 0xFFFFFFFF


def _draw(key, j):
    return int(rng.draw(np.uint64(key), j))


def _pick(x, n):
    return ((x & _M32) * n) >> 32


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
    out[:] = np.where(alive, A * np.power(L, alpha) * np.power(np.maximum(Kc, 0.0), beta), 0.0)


def plan_firms(D, cap, A, Kc, L, alive, alpha, beta, theta_hire, theta_fire, fire_share, ratio, vac, fire):
    """Twin of keynes.plan_firms."""
    alive = np.asarray(alive, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio[:] = np.where(cap > 0, D / cap, np.where(D > 0, np.inf, 0.0))
        Lstar = np.where(alive, (D / (A * np.power(np.maximum(Kc, 1e-300), beta))) ** (1.0 / alpha), 0.0)
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
