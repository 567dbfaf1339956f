# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Kernels of the MASs Macro goods-market extension (seed 000; shared/notes/MASS_MACRO.md)."""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, int8_t, int32_t, uint8_t, uint64_t
from libc.math cimport floor, pow, log, exp
from libc.stdlib cimport malloc, free, qsort
from libc.string cimport memcpy

cnp.import_array()

cdef extern from "hp_prefetch.h":
    void hp_prefetch_w(const void *p) nogil
    void hp_prefetch_r(const void *p) nogil

DEF AHEAD = 8          # households ahead whose seller rows are prefetched

cdef extern from "hp_exactsum.h":
    void hp_acc_add(int64_t *acc, double v) nogil

cdef extern from "hp_massmacro.h":
    int hp_choose_market(double theta, double omega, int employed, int64_t efx_i,
                         double a_f, double b_f, double beta_f, int64_t n_f, int64_t efx_f,
                         double r_f, int64_t own_id, int nc, const int64_t *cid, const double *ca,
                         const double *cb, const double *cbeta, const int64_t *cn,
                         const int64_t *cefx, const double *cr, const int8_t *copen, double wres,
                         int can_start, double s_a, double s_b, double s_beta, double r_new) nogil


def choose_market_batch(const double[::1] theta, const int64_t[::1] efx, const int8_t[::1] employed,
                        const int64_t[::1] own_idx, const int64_t[::1] cand_ptr,
                        const int64_t[::1] cand_idx, const int64_t[::1] s_id,
                        const double[::1] s_a, const double[::1] s_b, const double[::1] s_beta,
                        const int64_t[::1] s_n, const int64_t[::1] s_efx, const double[::1] s_r,
                        const int8_t[::1] s_open, const double[::1] wres,
                        const int8_t[::1] can_start, const double[::1] st_a,
                        const double[::1] st_b, const double[::1] st_beta,
                        const double[::1] r_new, double omega):
    """Snapshot decisions of activated agents with goods-market values (see hp_choose_market).
    Summary rows s_*; own_idx[k] < 0 for the unemployed. Returns -1 stay (or stay unemployed),
    -2 start a firm, r >= 0 join the firm in summary row r."""
    cdef Py_ssize_t k, c, n = theta.shape[0]
    cdef int nc, ch
    cdef int64_t o, r
    cdef int64_t cid[64]
    cdef int64_t cn[64]
    cdef int64_t cefx[64]
    cdef double ca[64]
    cdef double cb[64]
    cdef double cbeta[64]
    cdef double cr[64]
    cdef int8_t copen[64]
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] ch_out = out
    with nogil:
        for k in range(n):
            nc = <int>(cand_ptr[k + 1] - cand_ptr[k])
            if nc > 64:
                nc = 64
            for c in range(nc):
                r = cand_idx[cand_ptr[k] + c]
                if r < 0:
                    cid[c] = -1
                    copen[c] = 0
                    continue
                cid[c] = s_id[r]; ca[c] = s_a[r]; cb[c] = s_b[r]; cbeta[c] = s_beta[r]
                cn[c] = s_n[r]; cefx[c] = s_efx[r]; cr[c] = s_r[r]; copen[c] = s_open[r]
            o = own_idx[k]
            if o >= 0:
                ch = hp_choose_market(theta[k], omega, 1, efx[k], s_a[o], s_b[o], s_beta[o],
                                      s_n[o], s_efx[o], s_r[o], s_id[o], nc, cid, ca, cb, cbeta,
                                      cn, cefx, cr, copen, wres[k], can_start[k], st_a[k],
                                      st_b[k], st_beta[k], r_new[k])
            else:
                ch = hp_choose_market(theta[k], omega, 0, 0, 0.0, 0.0, 2.0, 0, 0, 1.0, -1, nc,
                                      cid, ca, cb, cbeta, cn, cefx, cr, copen, wres[k],
                                      can_start[k], st_a[k], st_b[k], st_beta[k], r_new[k])
            if ch >= 0:
                ch_out[k] = cand_idx[cand_ptr[k] + ch]
            else:
                ch_out[k] = ch
    return out


cdef double _median(double *x, int n) nogil:
    cdef int i, j
    cdef double t
    for i in range(1, n):
        t = x[i]
        j = i - 1
        while j >= 0 and x[j] > t:
            x[j + 1] = x[j]
            j -= 1
        x[j + 1] = t
    if n % 2:
        return x[n // 2]
    return 0.5 * (x[n // 2 - 1] + x[n // 2])


def startup_terms(const int64_t[::1] own_idx, const int64_t[::1] ptr, const int64_t[::1] cand_idx,
                  const double[::1] s_r, const int8_t[::1] s_sector, const double[::1] s_price,
                  const double[::1] u, const double[::1] v, double eps, double kappa,
                  double delta, double unit, const double[::1] base_price):
    """Terms of a would-be start-up (MASS_MACRO.md sec. 3.3, 3.8, 3.9), per activated agent:
    sector = that of the highest-r firm among own and friends' employers (or uniform w.p. eps, or
    when none is known); r_new = kappa * median r of the known firms of that sector (fallback 1);
    entry price = (1 - delta) * median known price of that sector (fallback base_price[sector]).
    r is in units of `unit`; returns (sector, r_new * unit, price)."""
    cdef Py_ssize_t k, n = own_idx.shape[0]
    cdef int64_t j, row, rows[65]
    cdef int nr, i, best, cnt, s
    cdef double bestr, rv[65]
    cdef double pv[65]
    sec_a = np.empty(n, dtype=np.int8)
    r_a = np.empty(n)
    p_a = np.empty(n)
    cdef int8_t[::1] sec = sec_a
    cdef double[::1] rn = r_a
    cdef double[::1] pn = p_a
    with nogil:
        for k in range(n):
            nr = 0
            if own_idx[k] >= 0:
                rows[nr] = own_idx[k]
                nr += 1
            for j in range(ptr[k], ptr[k + 1]):
                if nr >= 65:
                    break
                row = cand_idx[j]
                if row >= 0 and s_sector[row] >= 0:
                    rows[nr] = row
                    nr += 1
            if u[k] < eps or nr == 0:
                s = <int>(v[k] * 3)
                if s > 2:
                    s = 2
            else:
                best = 0
                bestr = s_r[rows[0]]
                for i in range(1, nr):
                    if s_r[rows[i]] > bestr:
                        bestr = s_r[rows[i]]
                        best = i
                s = s_sector[rows[best]]
            cnt = 0
            for i in range(nr):
                if s_sector[rows[i]] == s:
                    rv[cnt] = s_r[rows[i]]
                    pv[cnt] = s_price[rows[i]]
                    cnt += 1
            sec[k] = <int8_t>s
            if cnt:
                rn[k] = kappa * _median(rv, cnt) * unit
                pn[k] = (1.0 - delta) * _median(pv, cnt)
            else:
                rn[k] = kappa * unit
                pn[k] = (1.0 - delta) * base_price[s]
    return sec_a, r_a, p_a


def rank_within_groups(const int64_t[::1] sorted_keys):
    """For keys sorted into groups, the 0-based position of each element inside its group."""
    cdef Py_ssize_t i, n = sorted_keys.shape[0]
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef int64_t r = 0
    with nogil:
        for i in range(n):
            if i > 0 and sorted_keys[i] == sorted_keys[i - 1]:
                r += 1
            else:
                r = 0
            o[i] = r
    return out


cdef extern from "hp_agg.h":
    ctypedef struct hp_agg:
        int64_t *uniq
        int64_t *tot
        int64_t count
    int hp_agg_init(hp_agg *a, int64_t size) nogil
    void hp_agg_free(hp_agg *a) nogil
    int64_t hp_agg_add(hp_agg *a, int64_t key, int64_t amount) nogil


cdef inline int _popcount8(uint8_t x) nogil:
    cdef int c = 0
    while x:
        c += x & 1
        x >>= 1
    return c


def round_orders(const int64_t[:, ::1] seller, const uint8_t[::1] active,
                 const int64_t[::1] left, int32_t[:, ::1] order_row):
    """Pass 1 of a pro-rata order round (MASS_MACRO.md sec. 3.6, 5): buyer i splits its remaining
    budget equally over its active sellers (bit k of active[i]), per = left // n_active, and the
    orders are summed per distinct seller. Returns (sellers, totals) in order of first appearance
    (row-major over (i, k)); order_row[i, k] = the seller's row there, -1 where no order is placed."""
    cdef Py_ssize_t i, n = seller.shape[0]
    cdef int k, K = seller.shape[1], na
    cdef int64_t per, j
    cdef hp_agg agg
    cdef int failed = 0
    if hp_agg_init(&agg, 1024) < 0:
        hp_agg_free(&agg)
        raise MemoryError("round_orders: aggregation table")
    with nogil:
        for i in range(n):
            na = _popcount8(active[i])
            per = left[i] // na if na > 0 else 0
            for k in range(K):
                order_row[i, k] = -1
                if per > 0 and (active[i] >> k) & 1 and seller[i, k] >= 0:
                    j = hp_agg_add(&agg, seller[i, k], per)
                    if j < 0:
                        failed = 1
                        break
                    order_row[i, k] = <int32_t>j
            if failed:
                break
    if failed:
        hp_agg_free(&agg)
        raise MemoryError("round_orders: aggregation table")
    uniq = np.empty(agg.count, dtype=np.int64)
    tot = np.empty(agg.count, dtype=np.int64)
    cdef int64_t[::1] U = uniq
    cdef int64_t[::1] T = tot
    for j in range(agg.count):
        U[j] = agg.uniq[j]
        T[j] = agg.tot[j]
    hp_agg_free(&agg)
    return uniq, tot


cdef inline bint _settle_order(double f, double price, int64_t per, int k, int64_t *paid,
                               int64_t *spent, double *acc, uint8_t *active,
                               uint8_t *rationed) nogil:
    """One order of a pro-rata round settled at fill fraction f (MASS_MACRO.md sec. 3.6): pay
    floor(per * f) (per * f >= 0, so truncation is floor) into *paid and *spent, gain spend / price
    units into *acc; a seller that filled less than the whole order is marked rationing (bit k).
    Either way it leaves the active set. Returns True when the seller no longer exists (f < 0)."""
    cdef int64_t spend
    if f < 0:
        active[0] &= <uint8_t>~(1 << k)
        return True
    spend = <int64_t>(<double>per * f)
    paid[0] += spend
    spent[0] += spend
    if spend > 0:
        acc[0] = acc[0] + <double>spend / price
    if f < 1.0:
        rationed[0] |= <uint8_t>(1 << k)
        active[0] &= <uint8_t>~(1 << k)
    return False


def round_settle(int64_t[:, ::1] seller, uint8_t[::1] active, int64_t[::1] left,
                 const int32_t[:, ::1] order_row, const double[::1] phi, const double[::1] price,
                 int64_t[::1] paid, double[::1] units, uint8_t[::1] rationed,
                 bint close_unordered=False):
    """Pass 2 of a pro-rata order round, given each seller row's fill fraction phi (-1: the seller
    no longer exists) and price: buyer i pays floor(per * phi) to each seller it ordered from
    (summed into paid[row]), gains spend / price units, forgets dead sellers (seller = -1) and
    marks sellers that filled less than the whole order as rationing (bit k of rationed[i]); both
    leave the active set. With close_unordered (the intermediate market) a seller this buyer placed
    no order with leaves the active set too. Arithmetic in the order of the NumPy reference
    (order_round)."""
    cdef Py_ssize_t i, n = seller.shape[0]
    cdef int k, K = seller.shape[1], na
    cdef int64_t per, j, spent
    cdef double acc
    with nogil:
        for i in range(n):
            na = _popcount8(active[i])
            per = left[i] // na if na > 0 else 0
            acc = 0.0
            spent = 0
            for k in range(K):
                j = order_row[i, k]
                if j < 0:
                    if close_unordered and (active[i] >> k) & 1:
                        active[i] &= <uint8_t>~(1 << k)
                    continue
                if _settle_order(phi[j], price[j], per, k, &paid[j], &spent, &acc, &active[i], &rationed[i]):
                    seller[i, k] = -1
            left[i] -= spent
            units[i] += acc


def named_bits(const int32_t[:, ::1] rows, uint8_t[::1] out):
    """out[i] = the bit set of the entries of row i of a seller list that name a seller
    (rows[i, k] >= 0 sets bit k; K <= 8): a buyer's active sellers at the start of a market."""
    cdef Py_ssize_t i, n = rows.shape[0]
    cdef int k, K = rows.shape[1]
    cdef uint8_t b
    with nogil:
        for i in range(n):
            b = 0
            for k in range(K):
                if rows[i, k] >= 0:
                    b |= <uint8_t>(1 << k)
            out[i] = b


def round_orders_rows(const int32_t[:, ::1] seller, const uint8_t[::1] active,
                      const int64_t[::1] left, int64_t[::1] tot):
    """Pass 1 of a pro-rata order round for sellers named by rows of a per-rank seller book
    (markets.SellerBook): buyer i splits its remaining budget equally over its active sellers,
    per = left // n_active, and the orders are summed straight into tot[row] (no hashing: the book
    row is the aggregation slot). Same orders as round_orders on the book's firm ids."""
    cdef Py_ssize_t i, n = seller.shape[0]
    cdef int k, K = seller.shape[1], na
    cdef int64_t per
    cdef int32_t r
    with nogil:
        for i in range(n):
            if i + AHEAD < n and active[i + AHEAD] != 0 and left[i + AHEAD] > 0:
                for k in range(K):
                    r = seller[i + AHEAD, k]
                    if r >= 0:
                        hp_prefetch_w(&tot[r])
            _order_rows(&seller[i, 0], K, active[i], left[i], &tot[0])


cdef inline void _order_rows(const int32_t *rows, int K, uint8_t active, int64_t left,
                             int64_t *tot) noexcept nogil:
    """One buyer's orders of a round: its budget split equally over its active sellers, per =
    left // n_active, summed into tot[row] (no order when per <= 0)."""
    cdef int k, na = _popcount8(active)
    cdef int64_t per
    cdef int32_t r
    if na == 0:
        return
    per = left // na
    if per <= 0:
        return
    for k in range(K):
        r = rows[k]
        if r >= 0 and (active >> k) & 1:
            tot[r] += per


def round_settle_rows(int32_t[:, ::1] seller, uint8_t[::1] active, int64_t[::1] left,
                      const double[:, ::1] fill, int64_t[::1] paid,
                      double[::1] units, uint8_t[::1] rationed, int64_t[::1] next_tot=None,
                      bint close_unordered=False):
    """Pass 2 of round_orders_rows, given each ordered book row's fill fraction phi = fill[row, 0]
    (-1: the seller no longer exists) and price = fill[row, 1] (side by side: one cache line per
    row): the arithmetic of round_settle (without close_unordered), payments summed into paid[row].
    With next_tot, each buyer's orders of the next round (round_orders_rows on its settled budget
    and sellers) are summed into next_tot in the same pass. With close_unordered (the intermediate
    market) a buyer whose budget placed no order this round closes all its sellers."""
    cdef Py_ssize_t i, n = seller.shape[0]
    cdef int k, K = seller.shape[1], na
    cdef int64_t per, spent
    cdef int32_t j
    cdef double acc
    cdef bint chain = next_tot is not None
    with nogil:
        for i in range(n):
            if i + AHEAD < n and active[i + AHEAD] != 0 and left[i + AHEAD] > 0:
                for k in range(K):
                    j = seller[i + AHEAD, k]
                    if j >= 0:
                        hp_prefetch_r(&fill[j, 0])
                        hp_prefetch_w(&paid[j])
                        if chain:
                            hp_prefetch_w(&next_tot[j])
            na = _popcount8(active[i])
            per = left[i] // na if na > 0 else 0
            if per <= 0:
                if close_unordered:
                    active[i] = 0           # no order placed: every active seller closes
                continue
            acc = 0.0
            spent = 0
            for k in range(K):
                j = seller[i, k]
                if j < 0 or not ((active[i] >> k) & 1):
                    continue
                if _settle_order(fill[j, 0], fill[j, 1], per, k, &paid[j], &spent, &acc, &active[i],
                                 &rationed[i]):
                    seller[i, k] = -1
            left[i] -= spent
            units[i] += acc
            if chain:                       # the next round's orders (round_orders_rows)
                _order_rows(&seller[i, 0], K, active[i], left[i], &next_tot[0])


cdef extern from "hp_rng.h":
    uint64_t hp_mix64(uint64_t z) nogil
    uint64_t hp_key(uint64_t seed, uint64_t purpose, uint64_t entity, uint64_t step) nogil
    uint64_t hp_draw(uint64_t key, uint64_t j) nogil
    double hp_u01(uint64_t x) nogil


def book_rows(int64_t[::1] keys, int32_t[::1] slot_rows, const int64_t[::1] ids,
              int64_t[::1] book_ids, int64_t size, int64_t start, int32_t[::1] rows,
              int64_t limit):
    """Rows of firm ids in a seller book (markets.SellerBook), adding the ids not yet there: an
    open-addressing table (linear probing, keys[] = -1 empty) from firm id to book row. Fills
    rows[start:] (-1 for ids < 0); new ids get rows size, size + 1, ... in order of first
    appearance. Stops before the book would hold more than `limit` ids (the caller then grows the
    table or book_ids and calls again from the returned index). Returns (new size, next index)."""
    cdef Py_ssize_t i = start, n = ids.shape[0]
    cdef int64_t mask = keys.shape[0] - 1, p, k, fid
    with nogil:
        while i < n:
            if i + 16 < n and ids[i + 16] >= 0:       # the table slots of an id 16 ahead
                p = <int64_t>(hp_mix64(<uint64_t>ids[i + 16]) & <uint64_t>mask)
                hp_prefetch_r(&keys[p])
                hp_prefetch_r(&slot_rows[p])
            fid = ids[i]
            if fid < 0:
                rows[i] = -1
                i += 1
                continue
            p = <int64_t>(hp_mix64(<uint64_t>fid) & <uint64_t>mask)
            while True:
                k = keys[p]
                if k == fid or k == -1:
                    break
                p = (p + 1) & mask
            if k == fid:
                rows[i] = slot_rows[p]
            elif size >= limit:
                break
            else:
                keys[p] = fid
                slot_rows[p] = <int32_t>size
                book_ids[size] = fid
                rows[i] = <int32_t>size
                size += 1
            i += 1
    return size, i


cdef extern from "hp_firmindex.h":
    int hp_home_share(int64_t f, int32_t slot, int64_t lo, int64_t hi, int64_t N, double inv,
                      const double *share_by_slot, double *share) nogil
    void hp_fi_find_batch(const int32_t *head, const int32_t *next, const int64_t *fid, int64_t lo,
                          int64_t hi, int64_t N, const int64_t *ids, int64_t n, int32_t *out) nogil


cdef inline double _labour_utility(double sh, double theta, double omega, double e,
                                   double lw) noexcept nogil:
    """Axtell's U = share^theta (omega - e)^(1 - theta) given lw = log(omega - e): as
    exp(theta log share + (1 - theta) lw) where both logs are finite (the same value to a few
    ulps), else with pow (share 0, no leisure: the formula's edge values exactly)."""
    if sh > 0.0 and omega - e > 0.0:
        return exp(theta * log(sh) + (1.0 - theta) * lw)
    return pow(sh, theta) * pow(omega - e, 1.0 - theta)


cdef inline double _goods_utility(double c, int8_t durable, double theta, double omega, double e,
                                  double lw, double s_D, double l0, double l1, double d0,
                                  double d1) noexcept nogil:
    """goods_utility_parts' u_i given lw = log(omega - e)."""
    cdef double X
    if c > 0.0:
        return exp(theta * ((1.0 - s_D) * log(c) + (l1 if durable != 0 else l0)) + (1.0 - theta) * lw)
    X = pow(0.0, 1.0 - s_D) * (d1 if durable != 0 else d0)
    return pow(X, theta) * pow(omega - e, 1.0 - theta)


def month_stats_pass(const int64_t[::1] firm, const int64_t[::1] efx, const double[::1] theta,
                     const int32_t[::1] head, const int32_t[::1] nxt, const int64_t[::1] fid,
                     int64_t lo, int64_t hi, int64_t N, const double[::1] share_by_slot,
                     double omega, const double[::1] units, const int8_t[::1] durable,
                     double s_D, double eps_D, int64_t[:, ::1] acc_u, int64_t[:, ::1] acc_e,
                     int64_t[:, ::1] acc_units, int64_t[:, ::1] acc_gu):
    """MASs Macro's monthly per-agent statistics in one sweep (the firms model's agent_month_pass
    and goods_utility_parts together): effort; Axtell's utility share^theta (omega - e)^(1 - theta)
    of agents whose firm is homed here (share = O_f / N_f by slot, 0 without a firm); perishable
    units and goods utility of every household. log(omega - e) is taken once per agent for both
    utilities (exp/log instead of pow: see _labour_utility). Returns the local indices of agents
    whose firm lives on another rank (remote_utility adds their utility)."""
    cdef Py_ssize_t i, n = firm.shape[0]
    cdef int64_t nr = 0
    cdef double e, sh, lw, c
    cdef double d0 = pow(eps_D, s_D), d1 = pow(eps_D + 1.0, s_D)
    cdef double l0 = s_D * log(eps_D), l1 = s_D * log(eps_D + 1.0)
    remote_a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] remote = remote_a
    slots_a = np.empty(max(n, 1), dtype=np.int32)
    cdef int32_t[::1] slot = slots_a
    if n == 0:
        return remote_a
    cdef double invN = 1.0 / <double>N if N > 0 else 0.0
    with nogil:
        hp_fi_find_batch(&head[0], &nxt[0], &fid[0], lo, hi, N, &firm[0], n, &slot[0])
        for i in range(n):
            if i + 16 < n and slot[i + 16] >= 0:
                hp_prefetch_r(&share_by_slot[slot[i + 16]])
            e = <double>efx[i] * (1.0 / 1099511627776.0)
            hp_acc_add(&acc_e[0, 0], e)
            lw = log(omega - e)
            c = units[i]
            hp_acc_add(&acc_units[0, 0], c)
            hp_acc_add(&acc_gu[0, 0], _goods_utility(c, durable[i], theta[i], omega, e, lw, s_D,
                                                     l0, l1, d0, d1))
            if not hp_home_share(firm[i], slot[i], lo, hi, N, invN, &share_by_slot[0], &sh):
                remote[nr] = i              # firm homed elsewhere: its share is fetched
                nr += 1
                continue
            hp_acc_add(&acc_u[0, 0], _labour_utility(sh, theta[i], omega, e, lw))
    return remote_a[:nr].copy()


def remote_utility(const double[::1] theta, const int64_t[::1] efx, const double[::1] share,
                   double omega, int64_t[:, ::1] acc_u):
    """month_stats_pass' utility for agents whose firm's share was fetched."""
    cdef Py_ssize_t i, n = theta.shape[0]
    cdef double e
    with nogil:
        for i in range(n):
            e = <double>efx[i] * (1.0 / 1099511627776.0)
            hp_acc_add(&acc_u[0, 0], _labour_utility(share[i], theta[i], omega, e, log(omega - e)))


def serve_labour_rows(const int64_t[::1] ids, const int32_t[::1] head, const int32_t[::1] nxt,
                      const int64_t[::1] fid, int64_t lo, int64_t N, const int32_t[::1] n_col,
                      const int64_t[::1] efx_col, const double[::1] rhat, const int8_t[::1] signal,
                      const int32_t[::1] vacancies, const int8_t[::1] sector_col,
                      const double[::1] price_col, double unit, double r_min, bint closed_accept,
                      uint8_t[:, ::1] out):
    """The labour sub-step's 34-byte rows (model.LABOUR_ROW: n, efx, r, price, open, sector) of
    firms `ids` homed here, written in one pass (firm look-ups batched, column reads prefetched):
    r = max(rhat / unit, r_min); open = alive and (closed_accept or signal > 0 with vacancies);
    a firm that no longer exists has n 0, efx 0, sector -1, price inf, is closed, and r of slot 0
    (the NumPy serve's values, byte for byte)."""
    cdef Py_ssize_t i, n = ids.shape[0]
    cdef int32_t s
    cdef int64_t nv, ev
    cdef double x, r, pr
    cdef int8_t op, sec
    cdef double inf = float("inf")
    slots_a = np.empty(max(n, 1), dtype=np.int32)
    cdef int32_t[::1] slot = slots_a
    if n == 0:
        return
    with nogil:
        hp_fi_find_batch(&head[0], &nxt[0], &fid[0], lo, lo + head.shape[0], N, &ids[0], n, &slot[0])
        for i in range(n):
            if i + 16 < n and slot[i + 16] >= 0:
                hp_prefetch_r(&n_col[slot[i + 16]])
                hp_prefetch_r(&efx_col[slot[i + 16]])
                hp_prefetch_r(&rhat[slot[i + 16]])
                hp_prefetch_r(&price_col[slot[i + 16]])
                hp_prefetch_r(&sector_col[slot[i + 16]])
            s = slot[i]
            if s >= 0:
                nv = n_col[s]
                ev = efx_col[s]
                x = rhat[s] / unit
                pr = price_col[s]
                sec = sector_col[s]
                op = 1 if closed_accept or (signal[s] > 0 and vacancies[s] > 0) else 0
            else:
                nv = 0
                ev = 0
                x = rhat[0] / unit
                pr = inf
                sec = -1
                op = 0
            r = x if (x >= r_min or x != x) else r_min      # np.maximum (NaN propagates)
            memcpy(&out[i, 0], &nv, 8)
            memcpy(&out[i, 8], &ev, 8)
            memcpy(&out[i, 16], &r, 8)
            memcpy(&out[i, 24], &pr, 8)
            out[i, 32] = <uint8_t>op
            out[i, 33] = <uint8_t>sec


def employer_codes(const int64_t[::1] firm, const int8_t[::1] emp_sector, const int64_t[::1] q):
    """For local agents q: firm[q] | ((emp_sector[q] + 1) << 56) (-1 when unemployed: firm -1,
    sector -1), the reply to a candidate draw "proportional to employees", with the two random
    reads prefetched 16 agents ahead."""
    cdef Py_ssize_t i, n = q.shape[0]
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        for i in range(n):
            if i + 16 < n:
                hp_prefetch_r(&firm[q[i + 16]])
                hp_prefetch_r(&emp_sector[q[i + 16]])
            o[i] = firm[q[i]] | ((<int64_t>emp_sector[q[i]] + 1) << 56)
    return out


def book_ids(const int64_t[::1] book_ids, const int32_t[::1] rows):
    """Firm ids of seller-book rows (-1 where row < 0), the reads prefetched 16 rows ahead."""
    cdef Py_ssize_t i, n = rows.shape[0]
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        for i in range(n):
            if i + 16 < n and rows[i + 16] >= 0:
                hp_prefetch_r(&book_ids[rows[i + 16]])
            o[i] = book_ids[rows[i]] if rows[i] >= 0 else -1
    return out


def book_find(const int64_t[::1] keys, const int32_t[::1] slot_rows, const int64_t[::1] ids):
    """Rows of firm ids in a seller book's table (book_rows' table, read only): -1 for ids < 0
    and for ids the book does not name."""
    cdef Py_ssize_t i, n = ids.shape[0]
    cdef int64_t mask = keys.shape[0] - 1, p, k, fid
    out = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] o = out
    with nogil:
        for i in range(n):
            if i + 16 < n and ids[i + 16] >= 0:       # the table slots of an id 16 ahead
                p = <int64_t>(hp_mix64(<uint64_t>ids[i + 16]) & <uint64_t>mask)
                hp_prefetch_r(&keys[p])
                hp_prefetch_r(&slot_rows[p])
            fid = ids[i]
            o[i] = -1
            if fid < 0:
                continue
            p = <int64_t>(hp_mix64(<uint64_t>fid) & <uint64_t>mask)
            while True:
                k = keys[p]
                if k == fid:
                    o[i] = slot_rows[p]
                    break
                if k == -1:
                    break
                p = (p + 1) & mask
    return out


def candidate_draws(uint64_t seed, uint64_t purpose, const int64_t[::1] requester, uint64_t step,
                    int64_t t0, int64_t b, int64_t n_agents):
    """(n, b) agents drawn uniformly for candidate draws t0 .. t0 + b - 1 of each requester:
    min(floor(u N), N - 1) with u = u01(seed, purpose, requester, step, draw t) (the same numbers
    as hpcabm.kernels.core.uniform, one call for all draws)."""
    cdef Py_ssize_t i, j, n = requester.shape[0]
    out = np.empty((n, b), dtype=np.int64)
    cdef int64_t[:, ::1] o = out
    cdef uint64_t key
    cdef int64_t d
    cdef double N = <double>n_agents
    with nogil:
        for i in range(n):
            key = hp_key(seed, purpose, <uint64_t>requester[i], step)
            for j in range(b):
                d = <int64_t>(hp_u01(hp_draw(key, <uint64_t>(t0 + j))) * N)
                o[i, j] = d if d < n_agents - 1 else n_agents - 1
    return out


def pack_sector_codes(const int8_t[::1] emp_sector, int64_t lo):
    """This rank's part of the replicated employer-sector map: agent g = lo + i gets the 2-bit code
    emp_sector[i] + 1 (0 unemployed, 1 C, 2 D, 3 I) at bits 2 (g mod 4) of byte g // 4; returns
    bytes lo // 4 .. ceil((lo + n) / 4) - 1 (a boundary byte shared with a neighbour rank holds
    zeros in the neighbour's bits, so the ranks' parts OR together)."""
    cdef Py_ssize_t i, n = emp_sector.shape[0]
    cdef int64_t b0 = lo >> 2, g
    out = np.zeros(((lo + n + 3) >> 2) - b0 if n > 0 else 0, dtype=np.uint8)
    cdef uint8_t[::1] o = out
    with nogil:
        for i in range(n):
            g = lo + i
            o[(g >> 2) - b0] |= <uint8_t>(((emp_sector[i] + 1) & 3) << (2 * (g & 3)))
    return out


def sector_hits(uint64_t seed, uint64_t purpose, const int64_t[::1] requester, uint64_t step,
                int64_t b, int64_t n_agents, const uint8_t[::1] sector_map, int64_t sector):
    """The draws of candidate_draws(seed, purpose, requester, step, 0, b, n_agents) whose agent the
    employer-sector map (pack_sector_codes of all ranks) shows employed in `sector`, left-aligned in
    draw order ((n, b) agent ids, -1 after the last), and their number per requester. The map
    bytes of the draws are prefetched a few requesters ahead."""
    cdef Py_ssize_t i, j, n = requester.shape[0]
    cdef uint64_t key
    cdef int64_t d, h
    cdef double N = <double>n_agents
    cdef uint8_t code = <uint8_t>(sector + 1)
    out = np.empty((n, b), dtype=np.int64)
    nh = np.empty(n, dtype=np.int64)
    cdef int64_t[:, ::1] o = out
    cdef int64_t[::1] c = nh
    with nogil:
        for i in range(n):                  # the draws (candidate_draws)
            key = hp_key(seed, purpose, <uint64_t>requester[i], step)
            for j in range(b):
                d = <int64_t>(hp_u01(hp_draw(key, <uint64_t>j)) * N)
                o[i, j] = d if d < n_agents - 1 else n_agents - 1
        for i in range(n):                  # keep the sector's, in draw order
            if i + 4 < n:
                for j in range(b):
                    hp_prefetch_r(&sector_map[o[i + 4, j] >> 2])
            h = 0
            for j in range(b):
                d = o[i, j]
                if ((sector_map[d >> 2] >> (2 * (d & 3))) & 3) == code:
                    o[i, h] = d
                    h += 1
            c[i] = h
            for j in range(h, b):
                o[i, j] = -1
    return out, nh


def accept_candidates(const int64_t[:, ::1] codes, int64_t sector, int64_t[:, ::1] mine,
                      int64_t[::1] found):
    """Candidate acceptance of first_sector_employers for one round: per requester, in draw
    order, the employers (codes: firm id | (sector + 1) << 56, -1 unemployed) of `sector` not
    yet among its candidates mine[i, :found[i]] are appended until it has k = mine.shape[1]."""
    cdef Py_ssize_t i, j, q, n = codes.shape[0], b = codes.shape[1], k = mine.shape[1]
    cdef int64_t c, e, f
    cdef int64_t low = ((<int64_t>1) << 56) - 1
    cdef bint dup
    with nogil:
        for i in range(n):
            f = found[i]
            for j in range(b):
                if f >= k:
                    break
                c = codes[i, j]
                if c < 0 or (c >> 56) - 1 != sector:
                    continue
                e = c & low
                dup = False
                for q in range(f):
                    if mine[i, q] == e:
                        dup = True
                        break
                if not dup:
                    mine[i, f] = e
                    f += 1
            found[i] = f


def market_gather(const int32_t[::1] rows, const int8_t[::1] t_sector, const double[::1] t_price,
                  const double[::1] t_inv, int8_t[::1] sector, double[::1] price, double[::1] inv):
    """Market info of book rows from a snapshot table (rows outside it, or < 0: sector -1,
    price inf, no stock, as for a firm that does not exist); reads prefetched ahead."""
    cdef Py_ssize_t i, n = rows.shape[0], size = t_price.shape[0]
    cdef int32_t r
    cdef double inf = float("inf")
    with nogil:
        for i in range(n):
            if i + 16 < n and 0 <= rows[i + 16] < size:
                hp_prefetch_r(&t_price[rows[i + 16]])
                hp_prefetch_r(&t_inv[rows[i + 16]])
            r = rows[i]
            if 0 <= r < size:
                sector[i] = t_sector[r]
                price[i] = t_price[r]
                inv[i] = t_inv[r]
            else:
                sector[i] = -1
                price[i] = inf
                inv[i] = 0.0


def switch_moves(const int32_t[:, ::1] cs_rows, const int64_t[::1] who, const int64_t[::1] cand,
                 const int32_t[::1] cand_rows, const double[::1] p_inc, const double[::1] p_cand,
                 const uint8_t[::1] forced, double switch_gap):
    """Seller switching's decision (note sec. 3.10) for the households who[k] of switch_plan: the
    candidate cand[k] (-1: none found) replaces the entry when it is not already in the
    household's list (its book row cand_rows[k] among the list's rows; a candidate the book does
    not name, row -1, is in no list here) and the move is forced (empty or rationing entry) or
    the candidate is at least xi cheaper: p_cand < (1 - xi) p_inc. Returns the k that move."""
    cdef Py_ssize_t k, n = who.shape[0]
    cdef int j, K = cs_rows.shape[1]
    cdef int64_t m = 0
    cdef bint dup
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        for k in range(n):
            if cand[k] < 0:
                continue
            dup = False
            if cand_rows[k] >= 0:
                for j in range(K):
                    if cs_rows[who[k], j] == cand_rows[k]:
                        dup = True
                        break
            if not dup and (forced[k] > 0 or p_cand[k] < (1 - switch_gap) * p_inc[k]):
                o[m] = k
                m += 1
    return out[:m].copy()


def switch_plan(uint64_t seed, uint64_t purpose, int64_t lo, int64_t start, int64_t stop,
                uint64_t month, const int32_t[:, ::1] cs_rows, const uint8_t[::1] rationed,
                const int32_t[:, ::1] ds_rows, double switch_price, double switch_ration):
    """Which households of [start, stop) look for a new C seller this month, and where (note
    sec. 3.10): with u_k = u01(seed, purpose, lo + i, month, k), a household with an empty entry
    refills its first empty one; else one that had a seller ration it (bit k of rationed) and
    u_1 < psi_q replaces the first such seller; else with u_0 < psi_p it compares the seller in
    slot floor(u_2 K) with a candidate. Returns (who, slot, incumbent row, forced: the move
    happens whenever a new candidate is found) and the households with an empty durable-seller
    entry with their first empty slot."""
    cdef Py_ssize_t i, k, n = stop - start, K = cs_rows.shape[1], KD = ds_rows.shape[1]
    who_a = np.empty(n, dtype=np.int64)
    slot_a = np.empty(n, dtype=np.int64)
    inc_a = np.empty(n, dtype=np.int32)
    forced_a = np.empty(n, dtype=np.uint8)
    dn_a = np.empty(n, dtype=np.int64)
    dslot_a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] who = who_a, slot = slot_a, dn = dn_a, dslot = dslot_a
    cdef int32_t[::1] inc = inc_a
    cdef uint8_t[::1] forced = forced_a
    cdef Py_ssize_t c = 0, d = 0
    cdef uint64_t key
    cdef double u2
    cdef int64_t empty, rslot, t
    cdef bint rat
    with nogil:
        for i in range(start, stop):
            key = hp_key(seed, purpose, <uint64_t>(lo + i), month)
            empty = -1
            for k in range(K):
                if cs_rows[i, k] < 0:
                    empty = k
                    break
            # draws taken only where they decide something (counter-based: the same numbers)
            rat = rationed[i] > 0 and hp_u01(hp_draw(key, 1)) < switch_ration
            if rat or empty >= 0 or hp_u01(hp_draw(key, 0)) < switch_price:
                if empty >= 0:
                    t = empty
                elif rat:
                    rslot = 0
                    for k in range(K):
                        if (rationed[i] >> k) & 1:
                            rslot = k
                            break
                    t = rslot
                else:
                    u2 = hp_u01(hp_draw(key, 2))
                    t = <int64_t>(u2 * K)
                    if t > K - 1:
                        t = K - 1
                who[c] = i
                slot[c] = t
                inc[c] = cs_rows[i, t]
                forced[c] = empty >= 0 or rat
                c += 1
            for k in range(KD):
                if ds_rows[i, k] < 0:
                    dn[d] = i
                    dslot[d] = k
                    d += 1
                    break
    return who_a[:c], slot_a[:c], inc_a[:c], forced_a[:c], dn_a[:d], dslot_a[:d]


def mark_named(const int32_t[:, ::1] rows, uint8_t[::1] named):
    """named[r] = 1 for every book row r >= 0 in the lists `rows` (the seller book's compaction)."""
    cdef Py_ssize_t i, k, n = rows.shape[0], K = rows.shape[1]
    cdef int32_t r
    with nogil:
        for i in range(n):
            for k in range(K):
                r = rows[i, k]
                if r >= 0:
                    named[r] = 1


def renumber_rows(int32_t[:, ::1] rows, const int32_t[::1] renum):
    """rows[i, k] = renum[rows[i, k]] in place for rows >= 0 (-1 stays -1)."""
    cdef Py_ssize_t i, k, n = rows.shape[0], K = rows.shape[1]
    cdef int32_t r
    with nogil:
        for i in range(n):
            for k in range(K):
                r = rows[i, k]
                if r >= 0:
                    rows[i, k] = renum[r]


def forget_dead_rows(int32_t[:, ::1] rows, const int64_t[::1] who, const int8_t[::1] t_sector):
    """Seller-list entries (book rows) of households `who` whose firm no longer exists (sector -1
    in a book snapshot's table) become empty (-1), in place."""
    cdef Py_ssize_t i, k, n = who.shape[0], K = rows.shape[1], size = t_sector.shape[0]
    cdef int32_t r
    with nogil:
        for i in range(n):
            for k in range(K):
                r = rows[who[i], k]
                if 0 <= r < size and t_sector[r] == -1:
                    rows[who[i], k] = -1



cdef inline void _sum_by_slot(const int64_t[::1] slot, const int64_t[::1] amount,
                              int64_t[::1] scratch) noexcept nogil:
    """scratch[slot[i]] += amount[i] for slots >= 0: all ranks' requests to a firm summed."""
    cdef Py_ssize_t i, n = slot.shape[0]
    for i in range(n):
        if i + 16 < n and slot[i + 16] >= 0:
            hp_prefetch_w(&scratch[slot[i + 16]])
        if slot[i] >= 0:
            scratch[slot[i]] += amount[i]


cdef inline void _clear_slots(const int64_t[::1] slot, int64_t[::1] scratch) noexcept nogil:
    """Zero the scratch entries the requests used (it is all zero between markets' calls)."""
    cdef Py_ssize_t i, n = slot.shape[0]
    for i in range(n):
        if i + 16 < n and slot[i + 16] >= 0:
            hp_prefetch_w(&scratch[slot[i + 16]])
        if slot[i] >= 0:
            scratch[slot[i]] = 0


def serve_orders_at_slots(const int64_t[::1] slot, const int64_t[::1] amount,
                          const double[::1] price, const double[::1] inv, double[::1] unmet,
                          int64_t[::1] scratch, double[::1] phi, double[::1] price_out):
    """The sellers' side of a pro-rata order round for requests addressed by firm slot (-1: the
    firm no longer exists) instead of firm id: the orders of all ranks (amounts >= 0) are summed
    per slot in `scratch` (all zero before and after), then phi_f = min(1, Q_f p_f / M_f) and the
    price go back to every request (phi -1, price 0 where the firm no longer exists), and the
    unmet demand max(M_f - Q_f p_f, 0) / p_f is added once per firm. The arithmetic of
    _serve_orders (which groups ids by hashing), NaN handling included."""
    cdef Py_ssize_t i, n = slot.shape[0]
    cdef int64_t s, t
    cdef double p, value, d, r
    cdef bint first
    with nogil:
        _sum_by_slot(slot, amount, scratch)
        for i in range(n):
            if i + 16 < n and slot[i + 16] >= 0:
                hp_prefetch_w(&scratch[slot[i + 16]])
                hp_prefetch_r(&price[slot[i + 16]])
                hp_prefetch_r(&inv[slot[i + 16]])
                hp_prefetch_w(&unmet[slot[i + 16]])
            s = slot[i]
            if s < 0:
                phi[i] = -1.0
                price_out[i] = 0.0
                continue
            t = scratch[s]
            first = t >= 0
            if not first:
                t = -t - 1                  # total of a firm already seen (stored as -t - 1)
            p = price[s]
            value = inv[s] * p
            if t > 0:
                r = value / <double>t
                phi[i] = 1.0 if 1.0 <= r else r
            else:
                phi[i] = 1.0
            price_out[i] = p
            if first:
                d = <double>t - value
                if not (d >= 0.0 or d != d):
                    d = 0.0
                unmet[s] += d / p
                scratch[s] = -t - 1
        _clear_slots(slot, scratch)


def receive_payments_at_slots(const int64_t[::1] slot, const int64_t[::1] amount,
                              int64_t[::1] cash, int64_t[::1] revenue, const double[::1] price,
                              double[::1] sales, double[::1] inv, int64_t[::1] scratch):
    """Payments addressed by firm slot (-1: ignored), summed per firm over all ranks in `scratch`
    (zero before and after; amounts >= 0), then applied once per firm as _receive_payments does:
    cash and revenue += M, sales += M / p, inv = max(inv - M / p, 0)."""
    cdef Py_ssize_t i, n = slot.shape[0]
    cdef int64_t s, t
    cdef double units, q
    with nogil:
        _sum_by_slot(slot, amount, scratch)
        for i in range(n):
            if i + 16 < n and slot[i + 16] >= 0:
                hp_prefetch_w(&scratch[slot[i + 16]])
                hp_prefetch_w(&cash[slot[i + 16]])
                hp_prefetch_w(&revenue[slot[i + 16]])
                hp_prefetch_r(&price[slot[i + 16]])
                hp_prefetch_w(&sales[slot[i + 16]])
                hp_prefetch_w(&inv[slot[i + 16]])
            s = slot[i]
            if s < 0:
                continue
            t = scratch[s]
            if t < 0:
                continue                    # applied already (marked -1)
            cash[s] += t
            revenue[s] += t
            units = <double>t / price[s]
            sales[s] += units
            q = inv[s] - units
            inv[s] = q if (q >= 0.0 or q != q) else 0.0
            scratch[s] = -1
        _clear_slots(slot, scratch)
