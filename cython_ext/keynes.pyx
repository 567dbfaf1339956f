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
from libc.stdint cimport int64_t, uint64_t, uint32_t, int32_t
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


cdef inline Py_ssize_t _distinct_picks(uint64_t key, uint64_t first, int64_t n, Py_ssize_t k,
                                       int64_t *out) noexcept nogil:
    """k distinct values in 0..n-1 (k <= n) in draw order, drawn with _pick from the half-words of
    key's candidate stream from step `first` on (low half, then high half of each step)."""
    cdef Py_ssize_t m = 0, a = 0, b
    cdef uint64_t x
    cdef int64_t d
    cdef int ok
    while m < k:
        x = _sm(key, first + <uint64_t>(a // 2))
        if a % 2 == 1:
            x = x >> 32
        a += 1
        d = _pick(x, n)
        ok = 1
        for b in range(m):
            if out[b] == d:
                ok = 0
                break
        if ok:
            out[m] = d
            m += 1
    return m


cdef double _pw(const double* a, Py_ssize_t n, Py_ssize_t stride) noexcept nogil:
    """NumPy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src, blocks of 128 with 8
    accumulators): 0.0 + _pw(a, n, 1) is bitwise np.sum of a contiguous float64 array
    (tested: test_kernels.test_pairwise_sum_is_numpy_sum), so kernels can return sums that equal
    the NumPy reductions the model used before."""
    cdef Py_ssize_t i, n2
    cdef double res, r0, r1, r2, r3, r4, r5, r6, r7
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i * stride]
        return res
    elif n <= 128:
        r0 = a[0]; r1 = a[stride]; r2 = a[2 * stride]; r3 = a[3 * stride]
        r4 = a[4 * stride]; r5 = a[5 * stride]; r6 = a[6 * stride]; r7 = a[7 * stride]
        i = 8
        while i < n - (n % 8):
            r0 += a[i * stride]; r1 += a[(i + 1) * stride]; r2 += a[(i + 2) * stride]; r3 += a[(i + 3) * stride]
            r4 += a[(i + 4) * stride]; r5 += a[(i + 5) * stride]; r6 += a[(i + 6) * stride]; r7 += a[(i + 7) * stride]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i * stride]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pw(a, n2, stride) + _pw(a + n2 * stride, n - n2, stride)


cdef inline double _sum(const double[::1] x) noexcept nogil:
    if x.shape[0] == 0:
        return 0.0
    return 0.0 + _pw(&x[0], x.shape[0], 1)


def pairwise_sum(const double[::1] x):
    """np.sum(x) of a contiguous float64 array, computed by the kernels' _pw (exposed for tests)."""
    return _sum(x)


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


cdef double _goods(uint64_t seed, int64_t t, const double[::1] budget, const int64_t[::1] alive,
                   const double[::1] price, double[::1] cap, int64_t kk, double[::1] spent,
                   double[::1] revenue, double[::1] sold, double[::1] demand, int64_t[::1] o) noexcept nogil:
    """The goods market proper (see goods_market); o = scratch of size nh for the order."""
    cdef Py_ssize_t nh = budget.shape[0], na = alive.shape[0], r, a, b, m, v, best = 0
    cdef int64_t i, j
    cdef int64_t cand[64]
    cdef double rem, want, q, pay, pbest = 0.0, unmet = 0.0
    cdef uint64_t key, x
    cdef int ok
    for r in range(nh):
        o[r] = r
    _shuffle(o, hp_key(seed, 300, 0, <uint64_t>t))
    for r in range(nh):
        i = o[r]
        rem = budget[i]
        if rem <= 0 or na == 0:
            continue
        key = hp_key(seed, 300, <uint64_t>(i + 1), <uint64_t>t)
        # kk distinct firms: draw d gives candidates from its low, then high, 32 bits.
        # Fast path: take the first kk draws at once; if they are distinct (almost always when
        # kk << na) they are exactly what the loop below would accept, in the same order.
        for a in range(0, kk, 2):
            x = _sm(key, <uint64_t>(a // 2))
            cand[a] = alive[_pick(x, na)]
            if a + 1 < kk:
                cand[a + 1] = alive[_pick(x >> 32, na)]
        ok = 1
        for a in range(1, kk):
            for b in range(a):
                ok &= cand[a] != cand[b]
        if ok:
            best = 0
            pbest = price[cand[0]]
            for a in range(1, kk):
                j = cand[a]
                if price[j] < pbest or (price[j] == pbest and j < cand[best]):
                    best = a
                    pbest = price[j]
            m = kk
        else:
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
    cdef int64_t kk = kG
    cdef double unmet
    if kk > 64:
        raise ValueError("goods_market: kG <= 64")
    if kk > alive.shape[0]:
        kk = alive.shape[0]
    order = np.empty(budget.shape[0], dtype=np.int64)
    cdef int64_t[::1] o = order
    with nogil:
        unmet = _goods(seed, t, budget, alive, price, cap, kk, spent, revenue, sold, demand, o)
    return unmet


def goods_day(uint64_t seed, int64_t t, const double[::1] c, double dfac, double[::1] dep,
              double[::1] budget, const int64_t[::1] alive, const double[::1] price, double[::1] cap,
              int kG, double[::1] spent, double[::1] revenue, double[::1] sold, double[::1] demand,
              double[::1] sums):
    """The model's goods-market step in one call: budget_i = min(c_i dfac, max(dep_i, 0)) (written
    to `budget`), goods_market on it, then dep_i -= spent_i; sums = [np.sum(budget),
    np.sum(max(dep, 0))] (after the market). Twin: reference.goods_day."""
    cdef Py_ssize_t i, nh = c.shape[0]
    cdef int64_t kk = kG
    cdef double unmet, x, d
    if kk > 64:
        raise ValueError("goods_market: kG <= 64")
    if kk > alive.shape[0]:
        kk = alive.shape[0]
    order = np.empty(nh, dtype=np.int64)
    pos_a = np.empty(nh)
    cdef int64_t[::1] o = order
    cdef double[::1] spos = pos_a
    with nogil:
        for i in range(nh):
            x = c[i] * dfac
            d = dep[i] if dep[i] > 0.0 else 0.0
            budget[i] = x if x < d else d
        unmet = _goods(seed, t, budget, alive, price, cap, kk, spent, revenue, sold, demand, o)
        for i in range(nh):
            dep[i] = dep[i] - spent[i]
            spos[i] = dep[i] if dep[i] > 0.0 else 0.0
        sums[0] = _sum(budget)
        sums[1] = _sum(spos)
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
                m = _distinct_picks(key, 1, nopen, kL, pos)
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


_LPOW = {"alpha": None, "t": np.zeros(0)}


def _lpow_table(const int64_t[::1] L, double alpha):
    """pow(l, alpha) for l = 0..max(L) (cached per alpha; the same doubles as pow on each firm)."""
    cdef Py_ssize_t j, n = L.shape[0]
    cdef int64_t mx = 0
    for j in range(n):
        if L[j] > mx:
            mx = L[j]
    t = _LPOW["t"]
    if _LPOW["alpha"] != alpha or t.shape[0] <= mx:
        t = np.array([pow(<double>l, alpha) for l in range(max(2 * mx, 256) + 1)])
        _LPOW["alpha"] = alpha
        _LPOW["t"] = t
    return t


def capacity(const double[::1] A, const int64_t[::1] L, const double[::1] Kc, const unsigned char[::1] alive,
             double alpha, double beta, double[::1] out):
    """Daily capacity Y_j = A_j L_j^alpha Kc_j^beta of alive firms (PDF eq. 6; 0 for dead slots)."""
    cdef Py_ssize_t j, n = A.shape[0]
    cdef double k
    cdef const double[::1] lp = _lpow_table(L, alpha)
    with nogil:
        for j in range(n):
            if alive[j]:
                k = Kc[j] if Kc[j] > 0 else 0.0
                out[j] = A[j] * lp[L[j]] * pow(k, beta)
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


# -- fused day steps (bitwise the NumPy forms of reference.py; they remove ~100 small NumPy calls a day) --
# np.maximum(a, b) is written `a if a > b else b` and np.minimum(a, b) `a if a < b else b`: NumPy returns
# the second operand on ties, which decides the sign of a zero (max(-0.0, 0.0) = 0.0).

def transfers(const int64_t[::1] employer, double[::1] dep, double[::1] inc, double tau, double ben,
              double one_minus_tax):
    """Benefits and transfers, tax withheld: net_i = (tau + [unemployed] ben) (1 - tax); dep += net,
    inc += net. Returns the number of unemployed. Twin: reference.transfers."""
    cdef Py_ssize_t i, n = dep.shape[0]
    cdef int64_t nu = 0
    cdef double net
    with nogil:
        for i in range(n):
            if employer[i] < 0:
                net = (tau + ben) * one_minus_tax
                nu += 1
            else:
                net = (tau + 0.0) * one_minus_tax
            dep[i] = dep[i] + net
            inc[i] = inc[i] + net
    return nu


def employment(const int64_t[::1] employer, int64_t[::1] L):
    """L[j] = employees of firm slot j (L is zeroed first); returns the unemployed household ids."""
    cdef Py_ssize_t i, n = employer.shape[0], k = 0
    cdef int64_t e
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        for i in range(L.shape[0]):
            L[i] = 0
        for i in range(n):
            e = employer[i]
            if e >= 0:
                L[e] += 1
            else:
                o[k] = i
                k += 1
    return out[:k]


def fire_workers(uint64_t seed, uint64_t purpose, int64_t t, int64_t[::1] employer, int64_t[::1] fire,
                 const double[::1] wage, double[::1] resw):
    """Yesterday's firing decisions: firm j lays off fire[j] of its employees, those with the smallest
    uniform draw u01(seed, purpose, household, t, 0) (ties: lower household id); their reservation
    wage becomes the firm's wage, employer = -1; fire is then zeroed (only if some firm fires and has
    employees). Returns the number fired. Twin: reference.fire_workers."""
    cdef Py_ssize_t n = employer.shape[0], nf = fire.shape[0], i, j, k, a, b, best
    cdef int64_t e, nc = 0, go = 0, tmp
    cdef double ub
    if nf == 0:
        return 0
    start = np.zeros(nf + 1, dtype=np.int64)
    cdef int64_t[::1] st = start
    with nogil:
        for i in range(n):
            e = employer[i]
            if e >= 0 and fire[e] > 0:
                st[e + 1] += 1
                nc += 1
    if nc == 0:
        return 0
    ids_a = np.empty(nc, dtype=np.int64)
    u_a = np.empty(nc, dtype=np.float64)
    pos_a = np.empty(nf, dtype=np.int64)
    cdef int64_t[::1] ids = ids_a, pos = pos_a
    cdef double[::1] u = u_a
    with nogil:
        for j in range(nf):
            st[j + 1] += st[j]
            pos[j] = st[j]
        for i in range(n):
            e = employer[i]
            if e >= 0 and fire[e] > 0:
                ids[pos[e]] = i
                u[pos[e]] = hp_u01(hp_draw(hp_key(seed, purpose, <uint64_t>i, <uint64_t>t), 0))
                pos[e] += 1
        for j in range(nf):
            a = st[j]
            b = st[j + 1]
            k = fire[j] if fire[j] < b - a else b - a
            # partial selection sort of the firm's candidates by (u, id)
            for i in range(a, a + k):
                best = i
                for e in range(i + 1, b):
                    if u[e] < u[best] or (u[e] == u[best] and ids[e] < ids[best]):
                        best = e
                if best != i:
                    tmp = ids[i]; ids[i] = ids[best]; ids[best] = tmp
                    ub = u[i]; u[i] = u[best]; u[best] = ub
                resw[ids[i]] = wage[j]
                employer[ids[i]] = -1
                go += 1
        for j in range(nf):
            fire[j] = 0
    return go


def wsum_by(const int64_t[::1] idx, const double[::1] w, double[::1] out):
    """out[idx[i]] += w[i] in index order (np.bincount(idx, weights=w) when out starts at 0)."""
    cdef Py_ssize_t i, n = idx.shape[0]
    with nogil:
        for i in range(n):
            out[idx[i]] += w[i]


def firm_accounts(const double[::1] rev, const int64_t[::1] L, const double[::1] W, const double[::1] debt,
                  double[::1] cash, double[::1] Kc, double[::1] profit, const unsigned char[::1] alive,
                  const int64_t[::1] fb, double Pm, double Knorm, double r, double zeta_B, int premium_pdf,
                  double phi, double theta_C, double payout, int div_on, double chi, double kdep,
                  double cpi, double[::1] wb, double[::1] rd, double[::1] interest, double[::1] ctax,
                  double[::1] div, double[::1] inv, double[::1] int_b, double[::1] loans_b,
                  double[::1] cash_b, double[::1] sums):
    """The firms' afternoon (note sec. 4): wage bill W L/365, R&D phi rev, loan interest at
    r_B = r + zeta_B premium (PDF eq. 13, Model._loan_rates), profit tax, dividends, investment of
    yesterday's positive profit; cash, profit and capital (kdep = 1 - delta_K/365) in place; then
    per bank (in slot order, = np.bincount): interest, loans, firm deposits; sums = np.sum of
    rev, wb, rd, interest, ctax, div, inv. Twin: reference.firm_accounts."""
    cdef Py_ssize_t j, n = rev.shape[0]
    cdef double assets, c, e, prem, rB, pre, pp, pr
    with nogil:
        for j in range(n):
            wb[j] = W[j] * <double>L[j] / 365.0
            rd[j] = phi * rev[j]
            c = cash[j] if cash[j] > 0.0 else 0.0
            assets = c + Pm * Kc[j] * Knorm
            if premium_pdf:
                e = (assets - debt[j]) / assets if assets > 0 else -1.0
                prem = 0.0 if 0.0 > -e else -e
            else:
                e = debt[j] / assets if assets > 0 else 1.0
                prem = 0.0 if 0.0 > e - 0.5 else e - 0.5
            rB = r + zeta_B * prem
            interest[j] = rB / 365.0 * debt[j]
            pre = rev[j] - wb[j] - rd[j] - interest[j]
            ctax[j] = theta_C * (pre if pre > 0.0 else 0.0)
            pr = pre - ctax[j]
            div[j] = payout * (pr if pr > 0.0 else 0.0) if div_on else 0.0
            pp = profit[j]
            inv[j] = chi * (pp if pp > 0.0 else 0.0) if alive[j] else 0.0
            cash[j] = cash[j] + (rev[j] - wb[j] - rd[j] - interest[j] - ctax[j] - div[j] - inv[j])
            profit[j] = pr
            Kc[j] = Kc[j] * kdep + inv[j] / cpi / Knorm
        sums[0] = _sum(rev); sums[1] = _sum(wb); sums[2] = _sum(rd); sums[3] = _sum(interest)
        sums[4] = _sum(ctax); sums[5] = _sum(div); sums[6] = _sum(inv)
        for j in range(n):
            int_b[fb[j]] += interest[j]
        for j in range(n):
            loans_b[fb[j]] += debt[j]
        for j in range(n):
            cash_b[fb[j]] += cash[j]


def credit(const unsigned char[::1] alive, const int64_t[::1] fb, const int64_t[::1] frozen_b,
           double[::1] cash, double[::1] debt, const double[::1] Kc, const double[::1] wb,
           const double[::1] eq, double Pm, double Knorm, double mle, double car, double appetite,
           double cash_buffer, double[::1] pay, double[::1] od, double[::1] want, double[::1] grant,
           double[::1] refused, unsigned char[::1] illiquid):
    """Repayment, overdrafts and voluntary credit (Model._credit; note sec. 5) in one call; per-firm
    pay, od, want, grant, refused = want - grant and illiquid out. Twin: reference.credit."""
    cdef Py_ssize_t j, n = cash.shape[0], nb = eq.shape[0]
    cdef double due, m, o, ef, gap, cl, w
    cdef int fz
    lb_a = np.zeros(nb)
    wb_a = np.zeros(nb)
    room_a = np.zeros(nb)
    frac_a = np.zeros(nb)
    cdef double[::1] loans_b = lb_a, want_b = wb_a, room = room_a, frac = frac_a
    with nogil:
        for j in range(n):
            fz = frozen_b[fb[j]] > 0
            due = debt[j] / 365.0 if alive[j] else 0.0
            m = cash[j] if cash[j] > 0.0 else 0.0
            pay[j] = due if fz else (due if due < m else m)
            cash[j] = cash[j] - pay[j]
            debt[j] = debt[j] - pay[j]
            o = (-cash[j] if -cash[j] > 0.0 else 0.0) if alive[j] else 0.0
            ef = cash[j] + Pm * Kc[j] * Knorm - debt[j]
            illiquid[j] = 1 if (alive[j] and o > 0 and fz and not (debt[j] + o <= mle * ef)) else 0
            if illiquid[j]:
                o = 0.0
            od[j] = o
            debt[j] = debt[j] + o
            cash[j] = cash[j] + o
        for j in range(n):
            loans_b[fb[j]] += debt[j]
        for j in range(nb):
            if eq[j] >= car * loans_b[j] and frozen_b[j] == 0:
                w = appetite * (eq[j] / car - loans_b[j])
                room[j] = w if w > 0.0 else 0.0
            else:
                room[j] = 0.0
        for j in range(n):
            ef = cash[j] + Pm * Kc[j] * Knorm - debt[j]
            gap = cash_buffer * wb[j] - cash[j]
            gap = gap if gap > 0.0 else 0.0
            cl = mle * ef - debt[j]
            cl = cl if cl > 0.0 else 0.0
            want[j] = (gap if gap < cl else cl) if (alive[j] and ef > 0) else 0.0
        for j in range(n):
            want_b[fb[j]] += want[j]
        for j in range(nb):
            if want_b[j] > 0:
                w = room[j] / want_b[j]
                frac[j] = w if w < 1.0 else 1.0
            else:
                frac[j] = 0.0
        for j in range(n):
            grant[j] = want[j] * frac[fb[j]]
            debt[j] = debt[j] + grant[j]
            cash[j] = cash[j] + grant[j]
            refused[j] = want[j] - grant[j]


def budgets(double[::1] c, double[::1] inc, double eta, double one_minus_eta, double mpc):
    """Tomorrow's budgets (PDF eqs. 3-4): c = eta c + (1 - eta) (inc mpc); inc = 0."""
    cdef Py_ssize_t i, n = c.shape[0]
    with nogil:
        for i in range(n):
            c[i] = eta * c[i] + one_minus_eta * (inc[i] * mpc)
            inc[i] = 0.0


def capacity_plan(const double[::1] A, const int64_t[::1] L, const double[::1] Kc,
                  const unsigned char[::1] alive, double alpha, double beta, const double[::1] D,
                  double theta_hire, double theta_fire, double fire_share, double[::1] cap,
                  double[::1] ratio, int64_t[::1] vac, int64_t[::1] fire):
    """capacity then plan_firms in one pass, computing Kc^beta once per firm (same values)."""
    cdef Py_ssize_t j, n = A.shape[0]
    cdef double k, kb = 0.0, kb2, ls, x, ia = 1.0 / alpha
    cdef const double[::1] lp = _lpow_table(L, alpha)
    with nogil:
        for j in range(n):
            if alive[j]:
                k = Kc[j] if Kc[j] > 0 else 0.0
                kb = pow(k, beta)
                cap[j] = A[j] * lp[L[j]] * kb
            else:
                cap[j] = 0.0
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
            if Kc[j] > 1e-300:
                kb2 = kb
            else:
                kb2 = pow(1e-300, beta)
            ls = pow(D[j] / (A[j] * kb2), ia)
            if ratio[j] > theta_hire:
                x = ls - <double>L[j]
                vac[j] = <int64_t>ceil(x if x > 0.0 else 0.0)
            if ratio[j] < theta_fire:
                x = <double>L[j] - ls
                fire[j] = <int64_t>floor(fire_share * (x if x > 0.0 else 0.0))


def row_means(const double[:, ::1] d, double[::1] out):
    """out[j] = d[j].mean() as NumPy computes it for a C-contiguous array (pairwise row sum / n)."""
    cdef Py_ssize_t j, n = d.shape[0], w = d.shape[1]
    cdef double dw = <double>w
    with nogil:
        for j in range(n):
            out[j] = (0.0 + _pw(&d[j, 0], w, 1)) / dw if w > 0 else 0.0


def exit_scan(const double[::1] cash, const double[::1] Kc, const double[::1] debt,
              const unsigned char[::1] alive, const unsigned char[::1] illiquid, double cpi, double Knorm,
              double e_star, double[::1] e, unsigned char[::1] dead):
    """Exit test of Model._exit: e_j = (assets - debt)/assets (-inf if assets <= 0), assets =
    max(cash, 0) + cpi Kc Knorm; dead = alive and (e < e_star or illiquid). Returns (dead, alive) counts."""
    cdef Py_ssize_t j, n = cash.shape[0]
    cdef int64_t nd = 0, na = 0
    cdef double a
    with nogil:
        for j in range(n):
            a = (cash[j] if cash[j] > 0.0 else 0.0) + cpi * Kc[j] * Knorm
            e[j] = (a - debt[j]) / a if a > 0 else -INFINITY
            dead[j] = 1 if (alive[j] and (e[j] < e_star or illiquid[j])) else 0
            nd += dead[j]
            na += alive[j]
    return nd, na


def recapitalise(const int64_t[::1] fb, const double[::1] debt, double[::1] equity, int64_t[::1] breach_day,
                 int64_t[::1] frozen, double car, int64_t day, int64_t lag, int npl):
    """Model._recapitalise: banks below the CAR (loans per bank in slot order) are frozen (npl) and
    recapitalised to car x loans once breached for `lag` days. Returns the injection (np.sum form)."""
    cdef Py_ssize_t j, n = fb.shape[0], nb = equity.shape[0]
    cdef int below, due
    cdef int64_t bd
    lb_a = np.zeros(nb)
    inj_a = np.zeros(nb)
    cdef double[::1] lb = lb_a, inj = inj_a
    with nogil:
        for j in range(n):
            lb[fb[j]] += debt[j]
        for j in range(nb):
            below = equity[j] < car * lb[j]
            bd = breach_day[j]
            bd = day if (below and bd < 0) else (bd if below else -1)
            frozen[j] = 1 if (below and npl) else 0
            due = below and (day - bd >= lag)
            inj[j] = car * lb[j] - equity[j] if due else 0.0
            equity[j] = equity[j] + inj[j]
            if due:
                frozen[j] = 0
                bd = -1
            breach_day[j] = bd
    return _sum(inj)


def innovators(uint64_t seed, uint64_t purpose, int64_t t, const unsigned char[::1] alive, double pinn):
    """Alive firm slots j with u01(seed, purpose, j, t, 0) < pinn (R&D success), ascending."""
    cdef Py_ssize_t j, n = alive.shape[0], k = 0
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        for j in range(n):
            if alive[j] and hp_u01(hp_draw(hp_key(seed, purpose, <uint64_t>j, <uint64_t>t), 0)) < pinn:
                o[k] = j
                k += 1
    return out[:k]


def vacancy_slots(const unsigned char[::1] alive, const int64_t[::1] vac):
    """One entry per open vacancy: slot j repeated vac[j] times for alive firms (np.repeat form)."""
    cdef Py_ssize_t j, n = vac.shape[0], k = 0, tot = 0
    cdef int64_t v
    for j in range(n):
        if alive[j] and vac[j] > 0:
            tot += vac[j]
    out = np.empty(tot, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        for j in range(n):
            if alive[j]:
                for v in range(vac[j]):
                    o[k] = j
                    k += 1
    return out


def still_open(const int64_t[::1] slots, Py_ssize_t nopen, unsigned char[::1] tight):
    """tight[j] = 1 if firm j still has an open vacancy (slots[:nopen]), else 0."""
    cdef Py_ssize_t j
    with nogil:
        for j in range(tight.shape[0]):
            tight[j] = 0
        for j in range(nopen):
            tight[slots[j]] = 1


# -- partitioned variant (market: pro_rata; hpcabm/models/keynes_daily/partitioned.py) ------------------
# Households and firms live on different ranks; these kernels see only one rank's rows and the day's
# replicated firm directory (alive firm ids in ascending order with their price, wage, vacancies).

cdef extern from "hp_exactsum.h":
    void hp_acc_add(int64_t *acc, double v) nogil

EXACT_BUCKETS = 2200       # HP_N_BUCKETS (hp_exactsum.h)


def exact_parts_by(const int64_t[::1] idx, const double[::1] v, int64_t nb):
    """Exact-sum buckets of v grouped by idx (0..nb-1): array (nb, 2200, 2) for
    Comm.exact_sums_of_parts; order- and partition-independent per-group sums in one pass."""
    parts = np.zeros((nb, 2200, 2), dtype=np.int64)
    cdef int64_t[:, :, ::1] P = parts
    cdef Py_ssize_t i, n = idx.shape[0]
    with nogil:
        for i in range(n):
            hp_acc_add(&P[idx[i], 0, 0], v[i])
    return parts


def goods_choice(uint64_t seed, int64_t t, const int64_t[::1] hh, const int64_t[::1] pos,
                 const int64_t[::1] dir_ids, const double[::1] dir_price, int kG, int64_t[::1] out):
    """Pro-rata goods market, one round: household hh[r] (global id) draws its kG distinct
    candidates exactly as goods_market does (stream 300, key of household + 1, uniform over the
    directory) and proposes to the pos[r]-th cheapest (price, then lower id); out[r] = its directory
    index, or -1 when pos[r] >= min(kG, number of firms)."""
    cdef Py_ssize_t n = hh.shape[0], na = dir_ids.shape[0], r, b, best
    cdef int64_t kk = kG, v, tmp
    cdef int64_t cand[64]
    cdef uint64_t key
    if kk > 64:
        raise ValueError("goods_choice: kG <= 64")
    if kk > na:
        kk = na
    with nogil:
        for r in range(n):
            if pos[r] >= kk:
                out[r] = -1
                continue
            key = hp_key(seed, 300, <uint64_t>(hh[r] + 1), <uint64_t>t)
            _distinct_picks(key, 0, na, kk, cand)
            # partial selection sort up to position pos[r] by (price, id)
            for v in range(pos[r] + 1):
                best = v
                for b in range(v + 1, kk):
                    if dir_price[cand[b]] < dir_price[cand[best]] or (
                            dir_price[cand[b]] == dir_price[cand[best]] and dir_ids[cand[b]] < dir_ids[cand[best]]):
                        best = b
                tmp = cand[v]; cand[v] = cand[best]; cand[best] = tmp
            out[r] = cand[pos[r]]


def labour_choice(uint64_t seed, int64_t t, const int64_t[::1] hh, const double[::1] resw,
                  const int64_t[::1] cumvac, const int64_t[::1] dir_ids, const double[::1] dir_wage,
                  int kL, double xi, int64_t[::1] out):
    """Order-independent labour market, the searcher's side: searcher hh[r] samples kL distinct
    open vacancy slots uniformly (stream 301; slot s belongs to directory firm d with
    cumvac[d] <= s < cumvac[d+1]), takes the best-paid (ties: lower id) if its wage >= resw[r] and a
    Bernoulli(1 - xi) succeeds: out[r] = directory index of the firm applied to, else -1."""
    cdef Py_ssize_t n = hh.shape[0], nd = dir_ids.shape[0], r, a, b, m, lo, hi, mid
    cdef int64_t V = cumvac[nd], s, d, best
    cdef int64_t pos[64]
    cdef uint64_t key, x
    cdef int ok
    cdef double wb
    if kL > 64:
        raise ValueError("labour_choice: kL <= 64")
    with nogil:
        for r in range(n):
            out[r] = -1
            if V == 0:
                continue
            key = hp_key(seed, 301, <uint64_t>(hh[r] + 1), <uint64_t>t)
            m = 0
            if V <= kL:
                for a in range(V):
                    pos[a] = a
                m = V
            else:
                m = _distinct_picks(key, 1, V, kL, pos)
            best = -1
            wb = -1.0
            for b in range(m):
                # directory firm of slot pos[b]: largest d with cumvac[d] <= slot
                lo = 0
                hi = nd
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if cumvac[mid] <= pos[b]:
                        lo = mid
                    else:
                        hi = mid
                d = lo
                if best < 0 or dir_wage[d] > wb or (dir_wage[d] == wb and dir_ids[d] < dir_ids[best]):
                    wb = dir_wage[d]
                    best = d
            if wb >= resw[r] and hp_u01(hp_draw(key, 0)) >= xi:
                out[r] = best


def household_receipts(const double[::1] wage, double share, double f_div, double dep_rate, double tax,
                       double[::1] dep, double[::1] inc, double[::1] tax_out, double[::1] int_out,
                       double[::1] div_out):
    """household_income for the partitioned variant: wage[i] = the employer's W/365 (0 if
    unemployed); receipts y = wage + share + f_div dep+ + dep_rate dep+, taxed at `tax`; per-household
    tax, deposit interest and dividends out (for exact sums across ranks)."""
    cdef Py_ssize_t n = dep.shape[0], i
    cdef double y, d, it
    with nogil:
        for i in range(n):
            d = f_div * dep[i] if dep[i] > 0 else 0.0
            it = dep_rate * dep[i] if dep[i] > 0 else 0.0
            y = wage[i] + share + d + it
            dep[i] += y * (1 - tax)
            inc[i] += y * (1 - tax)
            tax_out[i] = y * tax
            int_out[i] = it
            div_out[i] = d


def goods_candidates(uint64_t seed, int64_t t, const int64_t[::1] hh, const int64_t[::1] dir_ids,
                     const double[::1] dir_price, int kG, int32_t[:, ::1] out):
    """All rounds of goods_choice at once: out[r, :kk] = directory indices of household hh[r]'s kG
    distinct candidates (stream 300, as goods_market draws them) sorted by (price, id);
    kk = min(kG, number of firms) = out.shape[1]."""
    cdef Py_ssize_t n = hh.shape[0], na = dir_ids.shape[0], r, a, b, m
    cdef int64_t kk = out.shape[1], d, tmp
    cdef int64_t cand[64]
    cdef uint64_t key, x
    cdef int ok
    if kk > 64 or kk > na or kk > kG:
        raise ValueError("goods_candidates: out.shape[1] = min(kG, firms) <= 64")
    with nogil:
        for r in range(n):
            key = hp_key(seed, 300, <uint64_t>(hh[r] + 1), <uint64_t>t)
            for a in range(0, kk, 2):
                x = _sm(key, <uint64_t>(a // 2))
                cand[a] = _pick(x, na)
                if a + 1 < kk:
                    cand[a + 1] = _pick(x >> 32, na)
            ok = 1
            for a in range(1, kk):
                for b in range(a):
                    ok &= cand[a] != cand[b]
            if not ok:
                _distinct_picks(key, 0, na, kk, cand)
            # insertion sort by (price, id)
            for a in range(1, kk):
                tmp = cand[a]
                b = a - 1
                while b >= 0 and (dir_price[cand[b]] > dir_price[tmp] or (
                        dir_price[cand[b]] == dir_price[tmp] and dir_ids[cand[b]] > dir_ids[tmp])):
                    cand[b + 1] = cand[b]
                    b -= 1
                cand[b + 1] = tmp
            for a in range(kk):
                out[r, a] = <int32_t>cand[a]


def settle_round(const int64_t[::1] li, const double[::1] rem, const double[::1] price, double[::1] caprem,
                 double[::1] dem, double[::1] sold, double[::1] rev, double[::1] pay, signed char[::1] rationed):
    """Owner side of one pro-rata goods round over the received proposals (local firm row li[k],
    remaining budget rem[k]; received in ascending household id on any partition): want = rem/P;
    D_j = sum of wants (record order); if D_j <= caprem_j every proposal is served in full (pay = rem),
    else each gets the fraction caprem_j/D_j of its units (pay = units x P) and caprem_j = 0.
    In place: caprem, dem (+= D), sold, rev; out: pay, rationed."""
    cdef Py_ssize_t k, n = li.shape[0], nf = caprem.shape[0], j
    cdef double w, q
    D_a = np.zeros(nf)
    S_a = np.zeros(nf)
    cdef double[::1] D = D_a, S = S_a
    with nogil:
        for k in range(n):
            D[li[k]] += rem[k] / price[li[k]]
        for k in range(n):
            j = li[k]
            w = rem[k] / price[j]
            if D[j] > caprem[j]:
                q = w * (caprem[j] / D[j]) if caprem[j] > 0 else 0.0
                pay[k] = q * price[j]
                rationed[k] = 1
            else:
                q = w
                pay[k] = rem[k]
                rationed[k] = 0
            S[j] += q
            sold[j] += q
            rev[j] += pay[k]
        for j in range(nf):
            dem[j] += D[j]
            if D[j] > caprem[j]:
                caprem[j] = 0.0
            else:
                caprem[j] = caprem[j] - S[j]


def goods_propose(const int32_t[:, ::1] cands, const int64_t[::1] row, int64_t rnd, const int64_t[::1] act,
                  const double[::1] rem, const int64_t[::1] dir_ids, const int64_t[::1] dir_owner,
                  int64_t nranks, double[:, ::1] rec, int64_t[::1] perm, int64_t[::1] counts):
    """Sender side of pro-rata round rnd: household act[k] proposes rem[act[k]] to directory firm
    cands[row[k], rnd]; records (firm id, budget) grouped by the firm's owner rank, ascending
    household within each group (a stable counting sort); perm[m] = k of record m; counts per rank."""
    cdef Py_ssize_t k, n = act.shape[0], r
    cdef int64_t d, o
    pos_a = np.zeros(nranks + 1, dtype=np.int64)
    cdef int64_t[::1] pos = pos_a
    with nogil:
        for r in range(nranks):
            counts[r] = 0
        for k in range(n):
            counts[dir_owner[cands[row[k], rnd]]] += 1
        for r in range(nranks):
            pos[r + 1] = pos[r] + counts[r]
        for k in range(n):
            d = cands[row[k], rnd]
            o = dir_owner[d]
            rec[pos[o], 0] = <double>dir_ids[d]
            rec[pos[o], 1] = rem[act[k]]
            perm[pos[o]] = k
            pos[o] += 1


def settle_records(const double[:, ::1] rec, const int64_t[::1] loc, const double[::1] price, double[::1] caprem,
                   double[::1] dem, double[::1] sold, double[::1] rev, double[:, ::1] rep):
    """settle_round on (firm id, budget) records (loc: firm id -> local row); rep = (pay, rationed).
    The firm's fields are packed into one 64-byte row while settling (one cache line per record:
    the records come in household order, so firms are hit at random)."""
    cdef Py_ssize_t k, n = rec.shape[0], nf = caprem.shape[0], j
    cdef double w, q
    cdef double* R
    row_a = np.zeros((nf, 8))
    cdef double[:, ::1] F = row_a       # price, caprem, D, S, sold, rev
    with nogil:
        for j in range(nf):
            F[j, 0] = price[j]
            F[j, 1] = caprem[j]
            F[j, 4] = sold[j]
            F[j, 5] = rev[j]
        for k in range(n):
            R = &F[loc[<int64_t>rec[k, 0]], 0]
            R[2] += rec[k, 1] / R[0]
        for k in range(n):
            R = &F[loc[<int64_t>rec[k, 0]], 0]
            w = rec[k, 1] / R[0]
            if R[2] > R[1]:
                q = w * (R[1] / R[2]) if R[1] > 0 else 0.0
                rep[k, 0] = q * R[0]
                rep[k, 1] = 1.0
            else:
                q = w
                rep[k, 0] = rec[k, 1]
                rep[k, 1] = 0.0
            R[3] += q
            R[4] += q
            R[5] += rep[k, 0]
        for j in range(nf):
            dem[j] += F[j, 2]
            sold[j] = F[j, 4]
            rev[j] = F[j, 5]
            if F[j, 2] > caprem[j]:
                caprem[j] = 0.0
            else:
                caprem[j] = caprem[j] - F[j, 3]


def goods_apply(const double[:, ::1] back, const int64_t[::1] perm, const int64_t[::1] act, double[::1] spent,
                double[::1] rem, unsigned char[::1] nxt):
    """Sender side after the replies: spent += pay, rem -= pay; nxt[k] = rationed and budget left."""
    cdef Py_ssize_t m, n = perm.shape[0], k
    cdef int64_t i
    with nogil:
        for m in range(n):
            k = perm[m]
            i = act[k]
            spent[i] += back[m, 0]
            rem[i] -= back[m, 0]
            nxt[k] = 1 if (back[m, 1] > 0 and rem[i] > 0) else 0
