# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Kernels of Axtell's endogenous-firms labour model (seed 000; Axtell 1999, 2013, 2018).

The agent rules themselves live in hp_labour.h / hp_axtell.h and are shared by
  * the parallel engine's batch kernels (`choose_batch`, `commit_batch`), and
  * the serial exact-asynchronous reference engine (`reference_month`).
No kernel touches MPI: the engine in hpcabm.models.firms.engine moves data between ranks."""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, int64_t, int32_t, int8_t
from libc.math cimport pow

cnp.import_array()

cdef extern from "hp_labour.h":
    ctypedef struct hp_techspec:
        double a_lo, a_hi, b_lo, b_hi, beta_lo, beta_hi
    double hp_output(double a, double b, double beta, double E) nogil
    double hp_utility(double theta, double omega, double e, double a, double b, double beta,
                      double Eo, double n) nogil
    double hp_best_effort(double theta, double Eo, double a, double b, double beta, double omega) nogil
    double hp_best_effort_beta2(double theta, double Eo, double a, double b, double omega) nogil
    int64_t hp_effort_fx(double e) nogil
    int hp_friends(uint64_t seed, int64_t i, int64_t N, int nu_min, int nu_max, int64_t *out) nogil
    void hp_technology(uint64_t seed, int64_t fid, const hp_techspec *ts, double *a, double *b,
                       double *beta) nogil
    int hp_choose(double theta, double omega, int64_t efx_i, double a_f, double b_f, double beta_f,
                  int64_t n_f, int64_t efx_f, int nc, const int64_t *cid, const double *ca,
                  const double *cb, const double *cbeta, const int64_t *cn, const int64_t *cefx,
                  int64_t own_id, int allow_start, double s_a, double s_b, double s_beta,
                  int prune, double *best_u_out) nogil
    int64_t hp_commit_event(int kind, double theta, int64_t efx_old, double omega, double a,
                            double b, double beta, int32_t *n, int64_t *efx) nogil
    int HP_MAX_FRIENDS, HP_CHOICE_STAY, HP_CHOICE_STARTUP, HP_EV_STAY, HP_EV_LEAVE, HP_EV_JOIN

cdef extern from "hp_prefetch.h":
    void hp_prefetch_r(const void *p) nogil

cdef extern from "hp_exactsum.h":
    void hp_acc_add(int64_t *acc, double v) nogil

cdef extern from "hp_firmindex.h":
    int hp_homed_here(int64_t f, int64_t lo, int64_t hi, int64_t N, double inv) nogil
    int hp_home_share(int64_t f, int32_t slot, int64_t lo, int64_t hi, int64_t N, double inv,
                      const double *share_by_slot, double *share) nogil
    int32_t hp_fi_find(const int32_t *head, const int32_t *next, const int64_t *fid, int64_t lo,
                       int64_t N, int64_t id) nogil
    int32_t hp_fi_alloc(int32_t *next, int64_t *free_head) nogil
    void hp_fi_link(int32_t *head, int32_t *next, int64_t lo, int64_t N, int64_t id, int32_t s) nogil
    void hp_fi_unlink(int32_t *head, int32_t *next, const int64_t *fid, int64_t lo, int64_t N,
                      int32_t s) nogil
    void hp_fi_free(int32_t *next, int64_t *free_head, int32_t s) nogil
    void hp_fi_find_batch(const int32_t *head, const int32_t *next, const int64_t *fid, int64_t lo,
                          int64_t hi, int64_t N, const int64_t *ids, int64_t n, int32_t *out) nogil

EV_STAY = 0
EV_LEAVE = 1
EV_JOIN = 2
CHOICE_STAY = -1
CHOICE_STARTUP = -2
EFX_SCALE = 1099511627776.0


cdef hp_techspec _spec(tech):
    cdef hp_techspec ts
    ts.a_lo, ts.a_hi, ts.b_lo, ts.b_hi, ts.beta_lo, ts.beta_hi = tech
    return ts


def output(const double[::1] a, const double[::1] b, const double[::1] beta, const double[::1] E):
    """Team output O(E) = a E + b E^beta (Axtell 1999 eq. 1), elementwise."""
    cdef Py_ssize_t i, n = E.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = hp_output(a[i], b[i], beta[i], E[i])
    return out


def best_effort(const double[::1] theta, const double[::1] Eo, const double[::1] a,
                const double[::1] b, const double[::1] beta, double omega=1.0):
    """Best-response effort e*(theta, E_-i; a, b, beta) (Axtell 1999 eq. 5 for beta = 2,
    safeguarded Newton otherwise), elementwise."""
    cdef Py_ssize_t i, n = theta.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = hp_best_effort(theta[i], Eo[i], a[i], b[i], beta[i], omega)
    return out


def best_effort_beta2(const double[::1] theta, const double[::1] Eo, const double[::1] a,
                      const double[::1] b, double omega=1.0):
    """Axtell 1999 eq. 5 (closed form, beta = 2), elementwise."""
    cdef Py_ssize_t i, n = theta.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = hp_best_effort_beta2(theta[i], Eo[i], a[i], b[i], omega)
    return out


def utility(const double[::1] theta, const double[::1] e, const double[::1] a, const double[::1] b,
            const double[::1] beta, const double[::1] Eo, const double[::1] n, double omega=1.0):
    """U = (O(Eo + e)/n)^theta (omega - e)^(1 - theta) (Axtell 1999 eq. 2), elementwise."""
    cdef Py_ssize_t i, m = theta.shape[0]
    out = np.empty(m)
    cdef double[::1] o = out
    with nogil:
        for i in range(m):
            o[i] = hp_utility(theta[i], omega, e[i], a[i], b[i], beta[i], Eo[i], n[i])
    return out


def friends(uint64_t seed, const int64_t[::1] agents, int64_t N, int nu_min, int nu_max):
    """Friend lists of `agents` as CSR (ptr, ids), regenerated from the seed."""
    cdef Py_ssize_t i, n = agents.shape[0]
    cdef int64_t buf[64]
    cdef int k, nu
    ptr_a = np.empty(n + 1, dtype=np.int64)
    ids_a = np.empty(n * nu_max, dtype=np.int64)
    cdef int64_t[::1] ptr = ptr_a
    cdef int64_t[::1] ids = ids_a
    cdef int64_t p = 0
    with nogil:
        ptr[0] = 0
        for i in range(n):
            nu = hp_friends(seed, agents[i], N, nu_min, nu_max, buf)
            for k in range(nu):
                ids[p] = buf[k]
                p += 1
            ptr[i + 1] = p
    return ptr_a, ids_a[:p]


def technology(uint64_t seed, const int64_t[::1] fids, tech):
    """(a, b, beta) of firms `fids`, drawn from the firm id (tech = a_lo, a_hi, b_lo, b_hi, beta_lo, beta_hi)."""
    cdef hp_techspec ts = _spec(tech)
    cdef Py_ssize_t i, n = fids.shape[0]
    a_ = np.empty(n); b_ = np.empty(n); be_ = np.empty(n)
    cdef double[::1] A = a_, B = b_, BE = be_
    with nogil:
        for i in range(n):
            hp_technology(seed, fids[i], &ts, &A[i], &B[i], &BE[i])
    return a_, b_, be_


def choose_batch(const double[::1] theta, const int64_t[::1] efx, const int64_t[::1] own_idx,
                 const int64_t[::1] cand_ptr, const int64_t[::1] cand_idx,
                 const int64_t[::1] s_id, const double[::1] s_a, const double[::1] s_b,
                 const double[::1] s_beta, const int64_t[::1] s_n, const int64_t[::1] s_efx,
                 const double[::1] st_a, const double[::1] st_b, const double[::1] st_beta,
                 double omega, bint allow_start, bint prune=True):
    """Snapshot decisions of one sub-step's activated agents (see hp_choose).

    Firm data come from a summary table s_* (rows fetched from the firms' home ranks); agent k's own
    firm is row own_idx[k] and its friends' firms are rows cand_idx[cand_ptr[k]:cand_ptr[k+1]].
    Returns choice[k]: -1 stay, -2 start a firm, r >= 0 join the firm in summary row r.
    prune=False solves every option (tests check that pruning never changes a decision)."""
    cdef Py_ssize_t k, c, n = theta.shape[0]
    cdef int nc, ch
    cdef int64_t o, r
    cdef int64_t cid[64]
    cdef int64_t cn[64]
    cdef int64_t cefx[64]
    cdef double ca[64]
    cdef double cb[64]
    cdef double cbeta[64]
    cdef double bu
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] ch_out = out
    with nogil:
        for k in range(n):
            nc = <int>(cand_ptr[k + 1] - cand_ptr[k])
            if nc > 64:
                nc = 64
            for c in range(nc):
                r = cand_idx[cand_ptr[k] + c]
                cid[c] = s_id[r]; ca[c] = s_a[r]; cb[c] = s_b[r]; cbeta[c] = s_beta[r]
                cn[c] = s_n[r]; cefx[c] = s_efx[r]
            o = own_idx[k]
            ch = hp_choose(theta[k], omega, efx[k], s_a[o], s_b[o], s_beta[o], s_n[o], s_efx[o],
                           nc, cid, ca, cb, cbeta, cn, cefx, s_id[o], allow_start,
                           st_a[k], st_b[k], st_beta[k], prune, &bu)
            if ch >= 0:
                ch_out[k] = cand_idx[cand_ptr[k] + ch]
            else:
                ch_out[k] = ch
    return out


def commit_batch(uint64_t seed, tech, const int64_t[::1] ev_fid, const int32_t[::1] ev_slot,
                 const int8_t[::1] ev_kind, const double[::1] ev_theta,
                 const int64_t[::1] ev_efx_old, int32_t[::1] f_n, int64_t[::1] f_efx, double omega):
    """Apply a sub-step's events at the firms' home rank, one at a time in the given order (the
    caller sorts by (firm, priority)): Gauss-Seidel best responses within each firm. A firm's
    technology is regenerated from its id. Updates f_n, f_efx (indexed by slot) in place; returns
    the new fixed-point effort of STAY/JOIN events (-1 for LEAVE)."""
    cdef hp_techspec ts = _spec(tech)
    cdef Py_ssize_t i, n = ev_slot.shape[0]
    cdef int32_t s
    cdef int64_t last = -1
    cdef double a = 0, b = 0, beta = 0
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        for i in range(n):
            if i + 8 < n and ev_slot[i + 8] >= 0:
                hp_prefetch_r(&f_n[ev_slot[i + 8]])
                hp_prefetch_r(&f_efx[ev_slot[i + 8]])
            s = ev_slot[i]
            if ev_fid[i] != last:
                last = ev_fid[i]
                hp_technology(seed, last, &ts, &a, &b, &beta)
            o[i] = hp_commit_event(ev_kind[i], ev_theta[i], ev_efx_old[i], omega, a, b, beta,
                                   &f_n[s], &f_efx[s])
    return out


# -- firm index (see hp_firmindex.h) ----------------------------------------------------------
def fi_find(const int32_t[::1] head, const int32_t[::1] nxt, const int64_t[::1] fid, int64_t lo,
            int64_t N, const int64_t[::1] ids):
    """Slots of firm ids homed here (-1 where absent)."""
    cdef Py_ssize_t n = ids.shape[0]
    out = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] o = out
    if n == 0:
        return out
    with nogil:          # ids homed here: founders in [lo, lo + head.shape[0])
        hp_fi_find_batch(&head[0], &nxt[0], &fid[0], lo, lo + head.shape[0], N, &ids[0], n, &o[0])
    return out


def fi_insert(int32_t[::1] head, int32_t[::1] nxt, int64_t[::1] fid, int64_t[::1] free_head,
              int64_t lo, int64_t N, const int64_t[::1] ids):
    """Take a free slot for each new firm id, link it under its founder; returns the slots.
    The caller guarantees enough free slots."""
    cdef Py_ssize_t i, n = ids.shape[0]
    out = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] o = out
    cdef int32_t s
    with nogil:
        for i in range(n):
            s = hp_fi_alloc(&nxt[0], &free_head[0])
            fid[s] = ids[i]
            hp_fi_link(&head[0], &nxt[0], lo, N, ids[i], s)
            o[i] = s
    return out


def fi_remove(int32_t[::1] head, int32_t[::1] nxt, int64_t[::1] fid, int64_t[::1] free_head,
              int64_t lo, int64_t N, const int32_t[::1] slots):
    """Unlink firms and return their slots to the free list (fid set to -1)."""
    cdef Py_ssize_t i, n = slots.shape[0]
    with nogil:
        for i in range(n):
            hp_fi_unlink(&head[0], &nxt[0], &fid[0], lo, N, slots[i])
            fid[slots[i]] = -1
            hp_fi_free(&nxt[0], &free_head[0], slots[i])


def reference_month(uint64_t seed, int32_t month, int64_t N, double omega, int nu_min, int nu_max,
                    tech, bint allow_start, const int64_t[::1] order,
                    const double[::1] theta, int64_t[::1] efx, int64_t[::1] firm_of,
                    int32_t[::1] join_month,
                    int64_t[::1] f_id, int32_t[::1] f_n, int64_t[::1] f_efx, int32_t[::1] f_birth,
                    int32_t[::1] f_size_ref, int32_t[::1] head, int32_t[::1] nxt,
                    int64_t[::1] free_head, int64_t[::1] counters):
    """Serial exact-asynchronous month (one rank holds every agent and firm): the activated agents
    `order` (sorted by activation time) act one at a time, each seeing the state the previous one
    left; a firm dies the moment its last member leaves. Same rules and arithmetic as the parallel
    engine (hp_choose, hp_commit_event).

    The caller guarantees at least len(order) free firm slots.
    counters += [entries, exits, job changes, sum of exit ages]."""
    cdef hp_techspec ts = _spec(tech)
    cdef Py_ssize_t t, n = order.shape[0]
    cdef int64_t i, fo, g, c, new_id
    cdef int32_t so, sg, sn
    cdef int ch, nu
    cdef int64_t buf[64]
    cdef int64_t cid[64]
    cdef int64_t cn[64]
    cdef int64_t cefx[64]
    cdef double ca[64]
    cdef double cb[64]
    cdef double cbeta[64]
    cdef double sa, sb, sbeta, fa, fb, fbeta, bu
    with nogil:
        for t in range(n):
            i = order[t]
            fo = firm_of[i]
            so = hp_fi_find(&head[0], &nxt[0], &f_id[0], 0, N, fo)
            hp_technology(seed, fo, &ts, &fa, &fb, &fbeta)
            nu = hp_friends(seed, i, N, nu_min, nu_max, buf)
            for c in range(nu):
                g = firm_of[buf[c]]
                sg = hp_fi_find(&head[0], &nxt[0], &f_id[0], 0, N, g)
                cid[c] = g
                hp_technology(seed, g, &ts, &ca[c], &cb[c], &cbeta[c])
                cn[c] = f_n[sg]; cefx[c] = f_efx[sg]
            new_id = (<int64_t>month + 1) * N + i
            hp_technology(seed, new_id, &ts, &sa, &sb, &sbeta)
            ch = hp_choose(theta[i], omega, efx[i], fa, fb, fbeta, f_n[so], f_efx[so], nu, cid,
                           ca, cb, cbeta, cn, cefx, fo, allow_start, sa, sb, sbeta, 1, &bu)
            if ch == HP_CHOICE_STAY:
                efx[i] = hp_commit_event(HP_EV_STAY, theta[i], efx[i], omega, fa, fb, fbeta,
                                         &f_n[so], &f_efx[so])
                continue
            # leave the current firm (it dies at once if empty)
            hp_commit_event(HP_EV_LEAVE, theta[i], efx[i], omega, fa, fb, fbeta,
                            &f_n[so], &f_efx[so])
            if f_n[so] == 0:
                counters[1] += 1
                counters[3] += month - f_birth[so]
                hp_fi_unlink(&head[0], &nxt[0], &f_id[0], 0, N, so)
                f_id[so] = -1
                f_efx[so] = 0
                f_size_ref[so] = -1
                hp_fi_free(&nxt[0], &free_head[0], so)
            if ch == HP_CHOICE_STARTUP:
                sn = hp_fi_alloc(&nxt[0], &free_head[0])
                f_id[sn] = new_id
                f_n[sn] = 0; f_efx[sn] = 0; f_birth[sn] = month; f_size_ref[sn] = -1
                hp_fi_link(&head[0], &nxt[0], 0, N, new_id, sn)
                counters[0] += 1
                g = new_id
                fa = sa; fb = sb; fbeta = sbeta
            else:
                g = cid[ch]
                sn = hp_fi_find(&head[0], &nxt[0], &f_id[0], 0, N, g)
                fa = ca[ch]; fb = cb[ch]; fbeta = cbeta[ch]
            efx[i] = hp_commit_event(HP_EV_JOIN, theta[i], 0, omega, fa, fb, fbeta,
                                     &f_n[sn], &f_efx[sn])
            firm_of[i] = g
            join_month[i] = month
            counters[2] += 1


def agent_month_pass(const int64_t[::1] firm, const int64_t[::1] efx, const double[::1] theta,
                     const int32_t[::1] head, const int32_t[::1] nxt, const int64_t[::1] fid,
                     int64_t lo, int64_t hi, int64_t N, const double[::1] share_by_slot,
                     double omega, int64_t[:, ::1] acc_u, int64_t[:, ::1] acc_e):
    """The monthly per-agent statistics pass in one sweep: every agent's effort, and the utility
    U_i = share^theta_i (omega - e_i)^(1 - theta_i) of agents whose firm is homed on this rank
    (share = O_f / N_f by slot; an agent with no firm has share 0), accumulated into exact-sum
    buckets. Returns the local indices of agents whose firm lives on another rank (their shares
    must be fetched; see accumulate_utility)."""
    cdef Py_ssize_t i, n = firm.shape[0]
    cdef int64_t nr = 0
    cdef int32_t s
    cdef double e, sh
    remote_a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] remote = remote_a
    slots_a = np.empty(max(n, 1), dtype=np.int32)       # firm slot of each agent homed here
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
            if not hp_home_share(firm[i], slot[i], lo, hi, N, invN, &share_by_slot[0], &sh):
                remote[nr] = i              # firm homed elsewhere: its share is fetched
                nr += 1
                continue
            hp_acc_add(&acc_u[0, 0], pow(sh, theta[i]) * pow(omega - e, 1.0 - theta[i]))
    return remote_a[:nr].copy()


def accumulate_utility(const double[::1] theta, const int64_t[::1] efx, const double[::1] share,
                       double omega, int64_t[:, ::1] acc_u):
    """Add U_i = share_i^theta_i (omega - e_i)^(1 - theta_i) to exact-sum buckets."""
    cdef Py_ssize_t i, n = theta.shape[0]
    cdef double e
    with nogil:
        for i in range(n):
            e = <double>efx[i] * (1.0 / 1099511627776.0)
            hp_acc_add(&acc_u[0, 0], pow(share[i], theta[i]) * pow(omega - e, 1.0 - theta[i]))


def firm_rows_local(const int64_t[::1] firm, const int32_t[::1] head, const int32_t[::1] nxt,
                    const int64_t[::1] fid, int64_t lo, int64_t hi, int64_t N,
                    const int64_t[:, ::1] per_slot, int64_t[:, ::1] out):
    """out[i] = per_slot[slot of firm[i]] for agents whose firm is homed here (batched firm
    look-ups, prefetched row reads), zeros for agents with no firm or a firm homed elsewhere.
    Returns the local indices of the latter (their rows must be fetched)."""
    cdef Py_ssize_t i, k, n = firm.shape[0], K = per_slot.shape[1]
    cdef int64_t f, nr = 0, missing = 0
    cdef int32_t s
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
                hp_prefetch_r(&per_slot[slot[i + 16], 0])
            for k in range(K):
                out[i, k] = 0
            f = firm[i]
            if f < 0:
                continue
            if not hp_homed_here(f, lo, hi, N, invN):
                remote[nr] = i
                nr += 1
                continue
            s = slot[i]
            if s < 0:
                missing += 1
                continue
            for k in range(K):
                out[i, k] = per_slot[s, k]
    if missing:
        raise RuntimeError(f"firm_rows_local: {missing} agents name a firm homed here that does not exist")
    return remote_a[:nr].copy()
