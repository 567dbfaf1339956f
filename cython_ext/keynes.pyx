# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Kernels of the daily single-sector Keynesian economy (seed 002; hpcabm/models/keynes_daily).

The two daily markets, each one pass over the households in a random order (a Fisher-Yates
permutation drawn from the counter-based streams of hp_rng.h, purposes 300-301), on NumPy arrays
and scalars only; hpcabm/models/keynes_daily/reference.py holds the plain Python twin of each
(tests compare them bit for bit).

Index draws: candidate d of a household comes from x = mix64(key + (d + 1) golden) (a SplitMix64
stream on the household's key); one 64-bit x gives two 32-bit halves; an index in [0, n) is (half * n) >> 32
(Lemire's multiply-shift, bias < n / 2^32, irrelevant here and identical in the twin)."""
import numpy as np
from libc.stdint cimport int64_t, uint64_t, uint32_t
from libc.math cimport pow, ceil, floor, INFINITY

cdef extern from "hp_rng.h":
    uint64_t hp_key(uint64_t seed, uint64_t purpose, uint64_t entity, uint64_t step) nogil
    uint64_t hp_draw(uint64_t key, uint64_t j) nogil
    double hp_u01(uint64_t x) nogil
    uint64_t hp_mix64(uint64_t z) nogil

P_GOODS = 300      # goods market: order (entity 0) and each household's firm sample (entity i + 1)
P_LABOUR = 301     # labour market: order (entity 0) and each searcher's vacancy sample (entity i + 1)


cdef inline uint64_t _sm(uint64_t key, uint64_t d) noexcept nogil:
    """Candidate stream: SplitMix64 step d of a household's key (one mix per two candidates)."""
    return hp_mix64(key + (d + 1) * 0x9E3779B97F4A7C15ULL)


cdef inline int64_t _pick(uint64_t half, int64_t n) noexcept nogil:
    return <int64_t>(((half & 0xFFFFFFFFULL) * <uint64_t>n) >> 32)


cdef void _shuffle(int64_t[::1] a, uint64_t key) noexcept nogil:
    """Fisher-Yates: for i = n-1..1 swap a[i] with a[j], j uniform in [0, i] from draw i."""
    cdef Py_ssize_t i, j, n = a.shape[0]
    cdef int64_t tmp
    for i in range(n - 1, 0, -1):
        j = _pick(hp_draw(key, <uint64_t>i), i + 1)
        tmp = a[i]; a[i] = a[j]; a[j] = tmp


def permutation(uint64_t seed, uint64_t purpose, int64_t t, int64_t n):
    """The day's random order of 0..n-1 used by the markets (exposed for tests)."""
    out = np.arange(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        _shuffle(o, hp_key(seed, purpose, 0, <uint64_t>t))
    return out


def goods_market(uint64_t seed, int64_t t, const double[::1] budget, const int64_t[::1] alive,
                 const double[::1] price, double[::1] cap, int kG, double[::1] spent,
                 double[::1] revenue, double[::1] sold, double[::1] demand):
    """Daily goods market (note sec. 6; PDF sec. 2.6). Households in a random order each sample
    kG distinct firms uniformly among `alive` (slot ids), sort them by price (ties: lower slot),
    and buy cheapest first until the budget is spent or the firms' remaining capacity runs out.

    In place: cap (remaining capacity, units), spent[i] (money), revenue[j] (money), sold[j]
    (units), demand[j] (units wanted at j when the household reached it, including the part
    rationed by capacity). Money is exact: what a household pays is what the firm receives.
    Returns the total unspent budget (unmet demand in money)."""
    cdef Py_ssize_t nh = budget.shape[0], na = alive.shape[0], r, a, b, m, v, best
    cdef int64_t i, j, kk = kG
    cdef int64_t cand[64]
    cdef double rem, want, q, pay, pbest = 0.0, unmet = 0.0
    cdef uint64_t key, x
    cdef int ok
    if kk > 64:
        raise ValueError("goods_market: kG <= 64")
    if kk > na:
        kk = na
    order = np.arange(nh, dtype=np.int64)
    cdef int64_t[::1] o = order
    with nogil:
        _shuffle(o, hp_key(seed, 300, 0, <uint64_t>t))
        for r in range(nh):
            i = o[r]
            rem = budget[i]
            if rem <= 0 or na == 0:
                continue
            key = hp_key(seed, 300, <uint64_t>(i + 1), <uint64_t>t)
            # kk distinct firms: draw d gives candidates from its low, then high, 32 bits
            m = 0
            a = 0
            while m < kk:
                x = _sm(key, <uint64_t>(a // 2))
                if a % 2 == 1:
                    x = x >> 32
                a += 1
                j = alive[_pick(x, na)]
                ok = 1
                for b in range(m):
                    if cand[b] == j:
                        ok = 0
                        break
                if ok:
                    cand[m] = j
                    if m == 0 or price[j] < pbest or (price[j] == pbest and j < cand[best]):
                        best = m
                        pbest = price[j]
                    m += 1
            # visit cheapest first (lazy selection: most households stop at the first firm, whose
            # index `best` was found while drawing)
            for v in range(kk):
                if v > 0:
                    best = -1
                    for b in range(kk - v):
                        j = cand[b]
                        if best < 0 or price[j] < price[cand[best]] or (price[j] == price[cand[best]] and j < cand[best]):
                            best = b
                j = cand[best]
                cand[best] = cand[kk - v - 1]
                want = rem / price[j]
                demand[j] += want
                if cap[j] <= 0:
                    continue
                if want <= cap[j]:
                    q = want
                    pay = rem
                else:
                    q = cap[j]
                    pay = q * price[j]
                cap[j] -= q
                sold[j] += q
                revenue[j] += pay
                spent[i] += pay
                rem -= pay
                if rem <= 0:
                    rem = 0
                    break
            unmet += rem
    return unmet


def labour_market(uint64_t seed, int64_t t, const int64_t[::1] searchers, double[::1] resw,
                  int64_t[::1] slots, const double[::1] wage, int kL, double xi, double decay,
                  int64_t[::1] employer, int64_t[::1] hired):
    """Daily labour market (note sec. 3.4; PDF eq. 5). The unemployed `searchers` (household ids)
    in a random order each sample kL distinct open vacancies uniformly (`slots`: one firm slot id
    per vacancy) and take the best-paid one (ties: lower slot) if its wage >= their reservation
    wage and a Bernoulli(1 - xi) draw succeeds; the vacancy is then removed. A searcher without a
    job (including when no vacancy is open) has resw *= (1 - decay); on acceptance resw = wage.

    In place: resw, employer (hired households get the firm), hired[j] (+1 per hire), slots
    (reordered: the first `open` entries are the vacancies still open). Returns open."""
    cdef Py_ssize_t ns = searchers.shape[0], r, a, b, m, nopen = slots.shape[0]
    cdef int64_t i, j, best, tmp
    cdef int64_t pos[64]
    cdef uint64_t key, x
    cdef int ok
    cdef double wb
    if kL > 64:
        raise ValueError("labour_market: kL <= 64")
    order = np.array(searchers, dtype=np.int64)
    cdef int64_t[::1] o = order
    with nogil:
        _shuffle(o, hp_key(seed, 301, 0, <uint64_t>t))
        for r in range(ns):
            i = o[r]
            if nopen == 0:
                resw[i] *= 1 - decay
                continue
            key = hp_key(seed, 301, <uint64_t>(i + 1), <uint64_t>t)
            m = 0
            if nopen <= kL:
                for a in range(nopen):
                    pos[a] = a
                m = nopen
            else:
                a = 0
                while m < kL:
                    x = _sm(key, <uint64_t>(1 + a // 2))
                    if a % 2 == 1:
                        x = x >> 32
                    a += 1
                    j = _pick(x, nopen)
                    ok = 1
                    for b in range(m):
                        if pos[b] == j:
                            ok = 0
                            break
                    if ok:
                        pos[m] = j
                        m += 1
            best = -1
            wb = -1.0
            for b in range(m):
                j = slots[pos[b]]
                if best < 0 or wage[j] > wb or (wage[j] == wb and j < slots[pos[best]]):
                    wb = wage[j]
                    best = b
            if wb >= resw[i] and hp_u01(hp_draw(key, 0)) >= xi:
                a = pos[best]
                j = slots[a]
                employer[i] = j
                hired[j] += 1
                resw[i] = wb
                nopen -= 1
                tmp = slots[a]; slots[a] = slots[nopen]; slots[nopen] = tmp
            else:
                resw[i] *= 1 - decay
    return nopen


def household_income(const int64_t[::1] employer, const double[::1] wage, const int64_t[::1] bank,
                     double[::1] dep, double[::1] inc, double share, double div_pool,
                     double dep_total, double dep_rate, double tax, double[::1] bank_dep_int,
                     double[::1] out):
    """The afternoon's household receipts in one pass: wage W_e/365 of the employer e (firm slot;
    -1 = unemployed), an equal share of the R&D and investment outlays (`share`), dividends
    pro rata to deposits (div_pool * dep_i / dep_total, Lengnick's convention), deposit interest
    dep_rate * dep_i paid by the household's bank; income tax `tax` withheld on all of it.
    In place: dep += net, inc += net, bank_dep_int[b] += interest paid by bank b.
    out = [gross wages, gross other income, tax, dividends paid, interest paid]."""
    cdef Py_ssize_t n = dep.shape[0], i
    cdef double w, y, d, it, sw = 0, so = 0, st = 0, sd = 0, si = 0, f
    f = div_pool / dep_total if dep_total > 0 else 0.0
    with nogil:
        for i in range(n):
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
    out[0] = sw; out[1] = so; out[2] = st; out[3] = sd; out[4] = si


def capacity(const double[::1] A, const int64_t[::1] L, const double[::1] Kc, const unsigned char[::1] alive,
             double alpha, double beta, double[::1] out):
    """Daily capacity Y_j = A_j L_j^alpha Kc_j^beta of alive firms (PDF eq. 6; 0 for dead slots)."""
    cdef Py_ssize_t j, n = A.shape[0]
    cdef double k
    with nogil:
        for j in range(n):
            if alive[j]:
                k = Kc[j] if Kc[j] > 0 else 0.0
                out[j] = A[j] * pow(<double>L[j], alpha) * pow(k, beta)
            else:
                out[j] = 0.0


def plan_firms(const double[::1] D, const double[::1] cap, const double[::1] A, const double[::1] Kc,
               const int64_t[::1] L, const unsigned char[::1] alive, double alpha, double beta,
               double theta_hire, double theta_fire, double fire_share, double[::1] ratio,
               int64_t[::1] vac, int64_t[::1] fire):
    """Tomorrow's vacancies and firings (note sec. 4.4): ratio = D/Cap (inf if Cap = 0 < D);
    L* = (D / (A Kc^beta))^(1/alpha); vacancies ceil(L* - L)+ if ratio > theta_hire; firings
    floor(fire_share (L - L*)+) if ratio < theta_fire."""
    cdef Py_ssize_t j, n = D.shape[0]
    cdef double ls, x, k, ia = 1.0 / alpha
    with nogil:
        for j in range(n):
            if cap[j] > 0:
                ratio[j] = D[j] / cap[j]
            elif D[j] > 0:
                ratio[j] = INFINITY
            else:
                ratio[j] = 0.0
            vac[j] = 0
            fire[j] = 0
            if not alive[j]:
                continue
            k = Kc[j] if Kc[j] > 1e-300 else 1e-300
            ls = pow(D[j] / (A[j] * pow(k, beta)), ia)
            if ratio[j] > theta_hire:
                x = ls - <double>L[j]
                vac[j] = <int64_t>ceil(x if x > 0.0 else 0.0)
            if ratio[j] < theta_fire:
                x = <double>L[j] - ls
                fire[j] = <int64_t>floor(fire_share * (x if x > 0.0 else 0.0))


def update_prices(const double[::1] ratio, const unsigned char[::1] alive, const unsigned char[::1] tight,
                  double[::1] mu, double[::1] W, double[::1] P, const double[::1] A, double theta_hire,
                  double theta_fire, double delta_mu, double c_up, double c_down, double lo, double hi,
                  int bounded):
    """Mark-up (PDF eq. 9), wage offer (eq. 11) and price (eq. 8) for tomorrow, in place:
    mu += delta_mu if ratio > theta_hire else max(mu - delta_mu, 0); W = max(W + c_up [tight]
    - c_down [slack and not tight], 0); P = (1 + mu) W / 365 / A clipped to [P lo, P hi] if bounded
    (lo = exp(-kappa_P), hi = exp(kappa_P)); dead slots keep their price."""
    cdef Py_ssize_t j, n = mu.shape[0]
    cdef double t, m, w
    with nogil:
        for j in range(n):
            if alive[j] and ratio[j] > theta_hire:
                mu[j] = mu[j] + delta_mu
            else:
                m = mu[j] - delta_mu
                mu[j] = m if m > 0.0 else 0.0
            w = W[j] + c_up * (1.0 if tight[j] else 0.0) - c_down * (1.0 if (alive[j] and ratio[j] < theta_fire and not tight[j]) else 0.0)
            W[j] = w if w > 0.0 else 0.0
            if alive[j]:
                t = (1 + mu[j]) * W[j] / 365.0 / A[j]
                if bounded:
                    t = min(max(t, P[j] * lo), P[j] * hi)
                P[j] = t
