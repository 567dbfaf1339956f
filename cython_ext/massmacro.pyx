# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Kernels of the MASs Macro goods-market extension (seed 000; shared/notes/MASS_MACRO.md)."""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, int8_t

cnp.import_array()

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
