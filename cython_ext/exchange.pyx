# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Kernels of the exchange economies (Luo, MacKay & Chater 2026; seed 003).

The encounter rule and the pairing permutation live in hp_exchange.h and are shared by
  * `serial_sweeps`: whole sweeps of one economy held by one rank (the fast path of the entropy
    grid, where each grid point runs on its own rank), and
  * the distributed path (`partners`, `encounters`, `meter_phase`), which hpcabm.models.exchange
    drives across ranks.
Both give the same bits: every pair is evaluated from the same inputs with the same counter stream.
No kernel touches MPI.

Agent types are given per group (contiguous id ranges `gbound`): arrays gkind, geta, ga1, ga2,
gp0, gp1 (see hp_exchange.h for the meaning of p0, p1 per kind)."""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, int64_t, int32_t
from libc.stdlib cimport malloc, free

cnp.import_array()

cdef extern from "hp_rng.h":
    uint64_t hp_key(uint64_t seed, uint64_t purpose, uint64_t entity, uint64_t step) nogil
    uint64_t hp_draw(uint64_t key, uint64_t j) nogil
    double hp_u01(uint64_t x) nogil
    int HP_P_EX_PERM, HP_P_EX_PAIR, HP_P_EX_METER_PERM, HP_P_EX_METER_PAIR, HP_P_EX_METER_PICK
    int HP_P_EX_METER_EX, HP_P_EX_INIT

cdef extern from "hp_exchange.h":
    ctypedef struct hx_type:
        int kind
        double eta, a1, a2, p0, p1
        int compartment, contact
    ctypedef struct hx_hold:
        double m, g1, g2, gn
    ctypedef struct hx_stream:
        uint64_t key
        uint64_t j
    int hx_encounter(uint64_t key, const hx_type *ti, const hx_type *tj, const hx_hold *hi,
                     const hx_hold *hj, hx_hold *oi, hx_hold *oj, int ngoods, int inner,
                     int64_t *tries) nogil
    double hx_lgoods(const hx_type *t, double g1, double g2, double gn, int ngoods) nogil
    double hx_beta(hx_stream *s, double a, double b) nogil
    double hx_gamma(hx_stream *s, double a) nogil
    uint64_t hx_perm(uint64_t key, uint64_t n, uint64_t x, int inverse) nogil
    int64_t hx_class_size(int64_t N, int q, int c) nogil
    int64_t hx_partner(uint64_t pkey, int64_t N, int q, int c, int64_t i) nogil
    int HX_CD, HX_SUB, HX_COMP, HX_SAT, HX_PRICE, HX_PRICE_SUM, HX_INTER_EXP, HX_INTER_TANH

KINDS = {"cd": HX_CD, "sub": HX_SUB, "comp": HX_COMP, "sat": HX_SAT, "price": HX_PRICE,
         "price_sum": HX_PRICE_SUM, "inter_exp": HX_INTER_EXP, "inter_tanh": HX_INTER_TANH}
PURPOSES = {"perm": HP_P_EX_PERM, "pair": HP_P_EX_PAIR, "meter_perm": HP_P_EX_METER_PERM,
            "meter_pair": HP_P_EX_METER_PAIR, "meter_pick": HP_P_EX_METER_PICK,
            "meter_ex": HP_P_EX_METER_EX}
# counters returned by the sweep kernels: trades, encounters with no feasible outcome, rejection
# samplers that gave up (holdings kept), rejection tries
DEF C_TRADES = 0
DEF C_NOTRADE = 1
DEF C_FAILED = 2
DEF C_TRIES = 3
COUNTERS = ("trades", "no_trade", "failed", "tries")


cdef class Types:
    """Agent types of an economy: group g covers ids [bound[g], bound[g+1])."""
    cdef hx_type *t
    cdef public int n
    cdef public object bound

    def __cinit__(self, kind, eta, a1, a2, p0, p1, bound, compartment=None, contact=None):
        """compartment, contact (per group): see hp_exchange.h; default one economy."""
        cdef int g
        self.n = len(kind)
        self.t = <hx_type *>malloc(max(self.n, 1) * sizeof(hx_type))
        for g in range(self.n):
            self.t[g].kind = int(kind[g])
            self.t[g].eta = float(eta[g])
            self.t[g].a1 = float(a1[g])
            self.t[g].a2 = float(a2[g])
            self.t[g].p0 = float(p0[g])
            self.t[g].p1 = float(p1[g])
            self.t[g].compartment = 0 if compartment is None else int(compartment[g])
            self.t[g].contact = 3 if contact is None else int(contact[g])
        self.bound = np.ascontiguousarray(bound, dtype=np.int64)

    def __dealloc__(self):
        free(self.t)


cdef inline const hx_type *_type_of(const hx_type *types, const int64_t *bound, int64_t i) nogil:
    cdef int g = 0
    while bound[g + 1] <= i:
        g += 1
    return &types[g]


cdef inline uint64_t _step(int64_t t, int c) nogil:
    return <uint64_t>(4 * t + c)


def schedule(int64_t t, int interdependent):
    """Modulus q of sweep t: 1 (one all-to-all matching) unless agents compare with their circle
    neighbours; then sweeps alternate q = 2 and q = 3 colour classes (i mod q), so that no agent
    of a sub-step is a comparison neighbour of another one and classes of q = 2 and 3 overlap."""
    if not interdependent:
        return 1
    return 2 if t % 2 == 0 else 3


def perm(uint64_t key, uint64_t n, const int64_t[::1] x, bint inverse=False):
    """The Feistel permutation of [0, n) (or its inverse) applied to x."""
    out = np.empty(x.shape[0], dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef Py_ssize_t k
    for k in range(x.shape[0]):
        o[k] = <int64_t>hx_perm(key, n, <uint64_t>x[k], inverse)
    return out


def perm_key(uint64_t seed, int64_t t, int c):
    return hp_key(seed, HP_P_EX_PERM, <uint64_t>c, <uint64_t>t)


def class_size(int64_t N, int q, int c):
    return hx_class_size(N, q, c)


def partners(uint64_t seed, int64_t t, int q, int c, int64_t N, const int64_t[::1] ids):
    """Partner of each agent id in sub-step (t, c) of a sweep with modulus q; -1 if it sits out."""
    cdef uint64_t pkey = hp_key(seed, HP_P_EX_PERM, <uint64_t>c, <uint64_t>t)
    out = np.empty(ids.shape[0], dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef Py_ssize_t k
    with nogil:
        for k in range(ids.shape[0]):
            o[k] = hx_partner(pkey, N, q, c, ids[k])
    return out


def encounters(uint64_t seed, int64_t t, int c, Types T, int64_t lo, double[::1] m,
               double[::1] g1, double[::1] g2, const double[::1] gn, const int64_t[::1] act,
               const int64_t[::1] partner, const double[::1] pm, const double[::1] pg1,
               const double[::1] pg2, const double[::1] pgn, int ngoods, int inner,
               int64_t[::1] counters):
    """Encounters of one sub-step on one rank. act: local indices of agents with a partner;
    partner: their partners' ids; pm..pgn: the partners' holdings at the start of the sub-step.
    Local arrays m, g1, g2 are updated in place. A pair with both agents here is evaluated once;
    a pair across ranks is evaluated on both ranks (same key, same inputs), each keeping its share."""
    cdef const int64_t *bound = <const int64_t *>cnp.PyArray_DATA(T.bound)
    cdef const hx_type *tt = T.t
    cdef Py_ssize_t a, n = act.shape[0]
    cdef int64_t i, j, li, hi_ = lo + m.shape[0], lj
    cdef hx_hold hs, hp, oa, ob
    cdef const hx_type *ts
    cdef const hx_type *tp
    cdef int r
    cdef int64_t dummy = 0
    with nogil:
        for a in range(n):
            li = act[a]
            i = lo + li
            j = partner[a]
            if lo <= j < hi_ and j < i:
                continue
            hs.m = m[li]; hs.g1 = g1[li]; hs.g2 = g2[li]; hs.gn = gn[li]
            hp.m = pm[a]; hp.g1 = pg1[a]; hp.g2 = pg2[a]; hp.gn = pgn[a]
            ts = _type_of(tt, bound, i)
            tp = _type_of(tt, bound, j)
            if i < j:
                r = hx_encounter(hp_key(seed, HP_P_EX_PAIR, <uint64_t>i, _step(t, c)), ts, tp,
                                 &hs, &hp, &oa, &ob, ngoods, inner, &counters[C_TRIES])
                # counted once, by the agent of lower id, so the totals do not depend on ranks
                if r == 1:
                    counters[C_TRADES] += 1
                elif r == 0:
                    counters[C_NOTRADE] += 1
                else:
                    counters[C_FAILED] += 1
            else:
                hx_encounter(hp_key(seed, HP_P_EX_PAIR, <uint64_t>j, _step(t, c)), tp, ts,
                             &hp, &hs, &ob, &oa, ngoods, inner, &dummy)
            m[li] = oa.m; g1[li] = oa.g1; g2[li] = oa.g2
            if lo <= j < hi_:
                lj = j - lo
                m[lj] = ob.m; g1[lj] = ob.g1; g2[lj] = ob.g2
    return counters


def meter_picks(uint64_t seed, int64_t t, int64_t n_meter, int64_t N):
    """EE agent met by each meter agent k in sweep t: uniform on 0..N-1."""
    out = np.empty(n_meter, dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef int64_t k
    with nogil:
        for k in range(n_meter):
            o[k] = <int64_t>(hp_u01(hp_draw(hp_key(seed, HP_P_EX_METER_PICK, <uint64_t>k,
                                                   <uint64_t>t), 0)) * N)
    return out


cdef void _meter_phase(uint64_t seed, int64_t t, const hx_type *types, const int64_t *bound,
                       const int64_t *picks, const double *em, const double *eg1,
                       const double *eg2, const double *egn, hx_type *mt, double *mm,
                       double *mg1, double *mg2, int64_t n_meter, int internal, int ngoods,
                       int inner, int64_t *counters, double *sums) noexcept nogil:
    """Meter agents (CD) trade among themselves (one random matching; exact Beta splits), then each
    meets one EE agent; the EE agent's side of that trade goes back to the reserve (paper §2), so
    the EE is unchanged. The EE agent is always evaluated as the first of the pair. sums: the
    meter's totals of m, g1, g2 after the sweep, summed in meter-index order."""
    cdef int64_t k, pos, l, n2
    cdef uint64_t pkey
    cdef hx_hold ha, hb, oa, ob
    cdef int r
    if internal and n_meter > 1:
        pkey = hp_key(seed, HP_P_EX_METER_PERM, 0, <uint64_t>t)
        n2 = n_meter - (n_meter % 2)
        for pos in range(0, n2, 2):
            k = <int64_t>hx_perm(pkey, <uint64_t>n_meter, <uint64_t>pos, 0)
            l = <int64_t>hx_perm(pkey, <uint64_t>n_meter, <uint64_t>(pos + 1), 0)
            if l < k:
                k, l = l, k
            ha.m = mm[k]; ha.g1 = mg1[k]; ha.g2 = mg2[k]; ha.gn = 0.0
            hb.m = mm[l]; hb.g1 = mg1[l]; hb.g2 = mg2[l]; hb.gn = 0.0
            hx_encounter(hp_key(seed, HP_P_EX_METER_PAIR, <uint64_t>k, <uint64_t>t), mt, mt,
                         &ha, &hb, &oa, &ob, ngoods, inner, &counters[C_TRIES])
            mm[k] = oa.m; mg1[k] = oa.g1; mg2[k] = oa.g2
            mm[l] = ob.m; mg1[l] = ob.g1; mg2[l] = ob.g2
    for k in range(n_meter):
        ha.m = em[k]; ha.g1 = eg1[k]; ha.g2 = eg2[k]; ha.gn = egn[k]
        hb.m = mm[k]; hb.g1 = mg1[k]; hb.g2 = mg2[k]; hb.gn = 0.0
        r = hx_encounter(hp_key(seed, HP_P_EX_METER_EX, <uint64_t>k, <uint64_t>t),
                         _type_of(types, bound, picks[k]), mt, &ha, &hb, &oa, &ob, ngoods, inner,
                         &counters[C_TRIES])
        if r == -1:
            counters[C_FAILED] += 1
        mm[k] = ob.m; mg1[k] = ob.g1; mg2[k] = ob.g2
    sums[0] = 0.0; sums[1] = 0.0; sums[2] = 0.0
    for k in range(n_meter):
        sums[0] += mm[k]
        sums[1] += mg1[k]
        sums[2] += mg2[k]


cdef hx_type _meter_type(meter):
    cdef hx_type mt
    mt.kind = HX_CD
    mt.eta, mt.a1, mt.a2 = meter
    mt.p0 = 0.0
    mt.p1 = 0.0
    mt.compartment = -1
    mt.contact = 3
    return mt


def meter_phase(uint64_t seed, int64_t t, Types T, const int64_t[::1] picks,
                const double[::1] em, const double[::1] eg1, const double[::1] eg2,
                const double[::1] egn, meter, double[::1] mm, double[::1] mg1, double[::1] mg2,
                bint internal, int ngoods, int inner, int64_t[::1] counters):
    """The meter's part of sweep t (see _meter_phase); em..egn: holdings of the picked EE agents.
    meter = (eta, a1, a2). Returns the meter totals (m, g1, g2)."""
    cdef hx_type mt = _meter_type(meter)
    cdef const hx_type *tt = T.t
    cdef const int64_t *bound = <const int64_t *>cnp.PyArray_DATA(T.bound)
    cdef double sums[3]
    with nogil:
        _meter_phase(seed, t, tt, bound, &picks[0], &em[0],
                     &eg1[0], &eg2[0], &egn[0], &mt, &mm[0], &mg1[0], &mg2[0], mm.shape[0],
                     internal, ngoods, inner, &counters[0], sums)
    return sums[0], sums[1], sums[2]


def serial_sweeps(uint64_t seed, int64_t t0, int64_t nsweeps, Types T, double[::1] m,
                  double[::1] g1, double[::1] g2, bint interdependent, meter, double[::1] mm,
                  double[::1] mg1, double[::1] mg2, bint internal, int ngoods, int inner,
                  int64_t[::1] counters, double[:, ::1] sums):
    """Sweeps t0 .. t0+nsweeps-1 of a whole economy on one rank (bitwise the same as the
    distributed path): each sweep is q sub-steps (see `schedule`) of one random matching of a
    colour class, then the meter phase if the meter has agents. sums[k] = meter totals after
    sweep t0+k."""
    cdef const int64_t *bound = <const int64_t *>cnp.PyArray_DATA(T.bound)
    cdef const hx_type *tt = T.t
    cdef int64_t N = m.shape[0], n_meter = mm.shape[0], t, i, j, k, n, pos
    cdef int q, c, r
    cdef uint64_t pkey
    cdef hx_hold ha, hb, oa, ob
    cdef hx_type mt = _meter_type(meter)
    cdef int64_t *picks = <int64_t *>malloc(max(n_meter, 1) * sizeof(int64_t))
    cdef double *ebuf = <double *>malloc(4 * max(n_meter, 1) * sizeof(double))
    cdef double *em = ebuf
    cdef double *eg1 = ebuf + n_meter
    cdef double *eg2 = ebuf + 2 * n_meter
    cdef double *egn = ebuf + 3 * n_meter
    try:
        with nogil:
            for t in range(t0, t0 + nsweeps):
                q = 1 if not interdependent else (2 if t % 2 == 0 else 3)
                for c in range(q):
                    n = hx_class_size(N, q, c)
                    pkey = hp_key(seed, HP_P_EX_PERM, <uint64_t>c, <uint64_t>t)
                    for pos in range(0, n - 1, 2):
                        i = c + q * <int64_t>hx_perm(pkey, <uint64_t>n, <uint64_t>pos, 0)
                        j = c + q * <int64_t>hx_perm(pkey, <uint64_t>n, <uint64_t>(pos + 1), 0)
                        if j < i:
                            i, j = j, i
                        ha.m = m[i]; ha.g1 = g1[i]; ha.g2 = g2[i]; ha.gn = 0.0
                        hb.m = m[j]; hb.g1 = g1[j]; hb.g2 = g2[j]; hb.gn = 0.0
                        if interdependent:
                            ha.gn = 0.5 * (g1[(i - 1 + N) % N] + g1[(i + 1) % N])
                            hb.gn = 0.5 * (g1[(j - 1 + N) % N] + g1[(j + 1) % N])
                        r = hx_encounter(hp_key(seed, HP_P_EX_PAIR, <uint64_t>i, _step(t, c)),
                                         _type_of(tt, bound, i), _type_of(tt, bound, j), &ha, &hb,
                                         &oa, &ob, ngoods, inner, &counters[C_TRIES])
                        if r == 1:
                            counters[C_TRADES] += 1
                        elif r == 0:
                            counters[C_NOTRADE] += 1
                        else:
                            counters[C_FAILED] += 1
                        m[i] = oa.m; g1[i] = oa.g1; g2[i] = oa.g2
                        m[j] = ob.m; g1[j] = ob.g1; g2[j] = ob.g2
                if n_meter > 0:
                    for k in range(n_meter):
                        i = <int64_t>(hp_u01(hp_draw(hp_key(seed, HP_P_EX_METER_PICK, <uint64_t>k,
                                                            <uint64_t>t), 0)) * N)
                        picks[k] = i
                        em[k] = m[i]; eg1[k] = g1[i]; eg2[k] = g2[i]; egn[k] = 0.0
                        if interdependent:
                            egn[k] = 0.5 * (g1[(i - 1 + N) % N] + g1[(i + 1) % N])
                    _meter_phase(seed, t, tt, bound, picks, em, eg1, eg2, egn, &mt, &mm[0],
                                 &mg1[0], &mg2[0], n_meter, internal, ngoods, inner,
                                 &counters[0], &sums[t - t0, 0])
    finally:
        free(picks)
        free(ebuf)
    return counters


def gamma_init(uint64_t seed, uint64_t entity_offset, const int64_t[::1] ids, const double[::1] shape,
               int64_t which):
    """Gamma(shape[k]) variate for entity entity_offset + ids[k], stream (seed, init, entity, which):
    initial holdings (which = 0 money, 1 good 1, 2 good 2)."""
    cdef hx_stream s
    out = np.empty(ids.shape[0], dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t k
    with nogil:
        for k in range(ids.shape[0]):
            s.key = hp_key(seed, HP_P_EX_INIT, entity_offset + <uint64_t>ids[k], <uint64_t>which)
            s.j = 0
            o[k] = hx_gamma(&s, shape[k])
    return out


# ---- samplers exposed for tests (each checked against its density) ---------------------------
def gamma_draws(uint64_t key, double a, int64_t n):
    """n Gamma(a) variates from one counter stream (tests)."""
    cdef hx_stream s
    s.key = key
    s.j = 0
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    cdef int64_t k
    for k in range(n):
        o[k] = hx_gamma(&s, a)
    return out


def pair_outcomes(uint64_t seed, Types T, int64_t i, int64_t j, hi, hj, int ngoods, int inner,
                  int64_t n, int64_t repeat=1):
    """n independent encounters of agents i < j from the same holdings hi, hj = (m, g1, g2, gn)
    (keys (seed, pair, i, step = 0..n-1)); with repeat > 1 each draw applies the encounter
    `repeat` times in a row (a chain on the pair), so MCMC kernels reach their target. Returns the
    first agent's (m, g1, g2) after each and the counters."""
    cdef const int64_t *bound = <const int64_t *>cnp.PyArray_DATA(T.bound)
    cdef hx_hold ha, hb, oa, ob, a0, b0
    a0.m, a0.g1, a0.g2, a0.gn = hi
    b0.m, b0.g1, b0.g2, b0.gn = hj
    out = np.empty((n, 3), dtype=np.float64)
    cnt = np.zeros(4, dtype=np.int64)
    cdef double[:, ::1] o = out
    cdef int64_t[::1] C = cnt
    cdef int64_t k, rr
    cdef int r
    for k in range(n):
        ha = a0
        hb = b0
        for rr in range(repeat):
            r = hx_encounter(hp_key(seed, HP_P_EX_PAIR, <uint64_t>i, <uint64_t>(k * repeat + rr)),
                             _type_of(T.t, bound, i), _type_of(T.t, bound, j), &ha, &hb, &oa,
                             &ob, ngoods, inner, &C[C_TRIES])
            C[C_TRADES if r == 1 else (C_NOTRADE if r == 0 else C_FAILED)] += 1
            ha.m = oa.m; ha.g1 = oa.g1; ha.g2 = oa.g2
            hb.m = ob.m; hb.g1 = ob.g1; hb.g2 = ob.g2
        o[k, 0] = ha.m
        o[k, 1] = ha.g1
        o[k, 2] = ha.g2
    return out, cnt


def lgoods(Types T, int64_t i, double g1, double g2, double gn, int ngoods):
    """log of agent i's goods utility factor (tests compare it with the NumPy twin)."""
    return hx_lgoods(_type_of(T.t, <const int64_t *>cnp.PyArray_DATA(T.bound), i), g1, g2, gn,
                     ngoods)


DEF P_EX_CHAIN = 108   # counter-stream purpose of the test chains below (exchange purposes 100-108)


def small_chains(uint64_t seed, Types T, hold0, int64_t nchains, int64_t steps, int ngoods,
                 int inner):
    """`nchains` independent runs of a tiny economy (agents 0..A-1 with the types of T, chain k
    starting from hold0[k], shape (nchains, A, 3) of m, g1, g2), each `steps` encounters of a uniformly chosen pair
    (lower id first), keys (seed, 108, chain, step). Returns the holdings after the last step,
    shape (nchains, A, 3), and the counters (tests compare the stationary law of the price rule
    with its known density)."""
    cdef const int64_t *bound = <const int64_t *>cnp.PyArray_DATA(T.bound)
    h0 = np.ascontiguousarray(hold0, dtype=np.float64)
    if h0.ndim != 3 or h0.shape[0] != nchains or h0.shape[2] != 3:
        raise ValueError("need hold0 of shape (nchains, A, 3)")
    cdef int64_t A = h0.shape[1]
    if A < 2 or bound[T.n] < A:
        raise ValueError("need 2 <= A <= number of typed agents")
    out = np.empty((nchains, A, 3), dtype=np.float64)
    cnt = np.zeros(4, dtype=np.int64)
    cdef double[:, :, ::1] H0 = h0
    cdef double[:, :, ::1] o = out
    cdef int64_t[::1] C = cnt
    cdef double *cur = <double *>malloc(3 * A * sizeof(double))
    cdef int64_t ch, st, i, j, a, npairs = A * (A - 1) // 2, q
    cdef hx_hold ha, hb, oa, ob
    cdef int r
    cdef uint64_t key
    try:
        for ch in range(nchains):
            for a in range(A):
                cur[3 * a] = H0[ch, a, 0]; cur[3 * a + 1] = H0[ch, a, 1]; cur[3 * a + 2] = H0[ch, a, 2]
            for st in range(steps):
                key = hp_key(seed, P_EX_CHAIN, <uint64_t>ch, <uint64_t>st)
                q = <int64_t>(hp_u01(hp_draw(key, 0)) * npairs)
                i = 0
                while q >= A - 1 - i:
                    q -= A - 1 - i
                    i += 1
                j = i + 1 + q
                ha.m = cur[3 * i]; ha.g1 = cur[3 * i + 1]; ha.g2 = cur[3 * i + 2]; ha.gn = 0.0
                hb.m = cur[3 * j]; hb.g1 = cur[3 * j + 1]; hb.g2 = cur[3 * j + 2]; hb.gn = 0.0
                r = hx_encounter(hp_draw(key, 1), _type_of(T.t, bound, i),
                                 _type_of(T.t, bound, j), &ha, &hb, &oa, &ob, ngoods, inner,
                                 &C[C_TRIES])
                C[C_TRADES if r == 1 else (C_NOTRADE if r == 0 else C_FAILED)] += 1
                cur[3 * i] = oa.m; cur[3 * i + 1] = oa.g1; cur[3 * i + 2] = oa.g2
                cur[3 * j] = ob.m; cur[3 * j + 1] = ob.g1; cur[3 * j + 2] = ob.g2
            for a in range(A):
                o[ch, a, 0] = cur[3 * a]; o[ch, a, 1] = cur[3 * a + 1]; o[ch, a, 2] = cur[3 * a + 2]
    finally:
        free(cur)
    return out, cnt
