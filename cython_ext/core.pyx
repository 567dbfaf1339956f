# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Core kernels: counter-based random numbers, exact (order-independent) summation, an int64 id
map, and partition-independent checksums. Thin typed wrappers in hpcabm.core.* call these."""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint64_t, int64_t
from libc.math cimport frexp, ldexp
from libc.string cimport memcpy
from libc.stdlib cimport qsort
from libc.stdint cimport uint8_t

cnp.import_array()

cdef extern from "hp_rng.h":
    uint64_t hp_mix64(uint64_t z) nogil
    uint64_t hp_key(uint64_t seed, uint64_t purpose, uint64_t entity, uint64_t step) nogil
    uint64_t hp_draw(uint64_t key, uint64_t j) nogil
    double hp_u01(uint64_t x) nogil

cdef extern from "hp_map.h":
    int64_t hp_map_get(const int64_t *keys, const int64_t *vals, int64_t mask, int64_t id) nogil
    int hp_map_put(int64_t *keys, int64_t *vals, int64_t mask, int64_t id, int64_t v) nogil
    int hp_map_del(int64_t *keys, int64_t mask, int64_t id) nogil


def uniform(uint64_t seed, uint64_t purpose, const int64_t[::1] entity, uint64_t step, uint64_t draw=0):
    """u01(seed, purpose, entity[i], step, draw) for every entity: uniforms in [0, 1)."""
    cdef Py_ssize_t i, n = entity.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = hp_u01(hp_draw(hp_key(seed, purpose, <uint64_t>entity[i], step), draw))
    return out


# ---------------------------------------------------------------------------------------------
# Exact summation. A double v = M * 2^(E-53) with |M| < 2^53. We split |M| into a high and a low
# 26/27-bit half and add each, with the sign, into an int64 bucket per exponent E. Integer adds are
# exact and associative, so the buckets (and the sum they represent) do not depend on the order of
# the values or on how they are split over ranks. Up to 2^35 values per call are safe.
cdef extern from "hp_exactsum.h":
    void hp_acc_add(int64_t *acc, double v) nogil
    int HP_EXP_OFFSET, HP_N_BUCKETS

EXP_OFFSET = 1100
N_BUCKETS = 2200


def exact_sum_parts(const double[::1] values):
    """Integer buckets (N_BUCKETS, 2) representing sum(values) exactly (see exact_sum_finalize)."""
    acc = np.zeros((N_BUCKETS, 2), dtype=np.int64)
    cdef int64_t[:, ::1] A = acc
    cdef Py_ssize_t i, n = values.shape[0]
    with nogil:
        for i in range(n):
            hp_acc_add(&A[0, 0], values[i])
    return acc


def exact_sum_finalize(parts):
    """Correctly rounded double of the exact sum held in integer buckets."""
    parts = np.asarray(parts)
    nz = np.nonzero(parts[:, 0] | parts[:, 1])[0]
    if nz.size == 0:
        return 0.0
    e0 = int(nz[0])
    total = 0
    for b in nz:
        total += (int(parts[b, 0]) * (1 << 26) + int(parts[b, 1])) << (int(b) - e0)
    # value = total * 2^(e0 - EXP_OFFSET - 53); int -> float rounds correctly
    shift = e0 - EXP_OFFSET - 53
    if total == 0:
        return 0.0
    from fractions import Fraction
    if shift >= 0:
        return float(total * (1 << shift))
    return float(Fraction(total, 1 << (-shift)))


# ---------------------------------------------------------------------------------------------
def checksum(const uint64_t[::1] words, uint64_t first_row, uint64_t words_per_row):
    """Partition-independent checksum of a row block: sum over words of mix(global word index,
    word) mod 2^64. Blocks of one array checksum to the same total however they are split."""
    cdef Py_ssize_t i, n = words.shape[0]
    cdef uint64_t s = 0, base = first_row * words_per_row
    with nogil:
        for i in range(n):
            s += hp_mix64(hp_mix64(base + <uint64_t>i + 0x9E3779B97F4A7C15ULL) ^ words[i])
    return s


# ---------------------------------------------------------------------------------------------
cdef class IdMap:
    """Hash map from non-negative int64 ids (firm ids) to int64 slots. Open addressing, linear
    probing, tombstones; rebuilt when more than half full (counting tombstones)."""
    cdef public object keys, vals
    cdef public int64_t mask, n_live, n_used

    def __init__(self, int64_t capacity=16):
        cdef int64_t size = 16
        while size < 2 * capacity:
            size *= 2
        self.keys = np.full(size, -1, dtype=np.int64)
        self.vals = np.full(size, -1, dtype=np.int64)
        self.mask = size - 1
        self.n_live = 0
        self.n_used = 0

    def __len__(self):
        return self.n_live

    def reserve(self, int64_t extra):
        """Make room for `extra` more inserts without a rebuild (load <= 1/2)."""
        if 2 * (self.n_used + extra) <= self.mask + 1:
            return
        ids, slots = self.items()
        self.__init__(max(self.n_live + extra, 16))
        self.put(ids, slots)

    def items(self):
        k = np.asarray(self.keys)
        live = k >= 0
        return k[live].copy(), np.asarray(self.vals)[live].copy()

    def get(self, const int64_t[::1] ids):
        """Slots of ids (-1 where absent)."""
        cdef Py_ssize_t i, n = ids.shape[0]
        out = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        cdef int64_t[::1] K = self.keys
        cdef int64_t[::1] V = self.vals
        cdef int64_t mask = self.mask
        with nogil:
            for i in range(n):
                o[i] = hp_map_get(&K[0], &V[0], mask, ids[i])
        return out

    def put(self, const int64_t[::1] ids, const int64_t[::1] slots):
        """Insert ids (which must be absent) -> slots."""
        cdef Py_ssize_t i, n = ids.shape[0]
        self.reserve(n)
        cdef int64_t[::1] K = self.keys
        cdef int64_t[::1] V = self.vals
        cdef int64_t mask = self.mask, fresh = 0
        with nogil:
            for i in range(n):
                fresh += hp_map_put(&K[0], &V[0], mask, ids[i], slots[i])
        self.n_used += fresh
        self.n_live += n

    def delete(self, const int64_t[::1] ids):
        cdef Py_ssize_t i, n = ids.shape[0]
        cdef int64_t[::1] K = self.keys
        cdef int64_t mask = self.mask, gone = 0
        with nogil:
            for i in range(n):
                gone += hp_map_del(&K[0], mask, ids[i])
        self.n_live -= gone
        return gone


ctypedef struct _id_slot:
    int64_t key          # id (-1: empty)
    int64_t val          # its index in the distinct list


def unique_ids(const int64_t[::1] ids):
    """Distinct values of ids (>= 0) in order of first appearance, and for each input its index
    into that list (a hash-based np.unique(return_inverse=True) without the sort, for large
    arrays). One open-addressing table of (id, index) pairs, at most half full: a look-up reads
    one cache line, found or inserted in one probe sequence, prefetched 16 ids ahead."""
    cdef Py_ssize_t i, n = ids.shape[0]
    cdef int64_t size = 16
    while size < 2 * n + 16:
        size *= 2
    uniq_a = np.empty(n, dtype=np.int64)
    inv_a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] U = uniq_a
    cdef int64_t[::1] I = inv_a
    cdef int64_t mask = size - 1, nu = 0, p, k, x
    table_a = np.empty(2 * size, dtype=np.int64)      # NumPy memory: huge pages where advised
    cdef int64_t[::1] table = table_a
    cdef _id_slot *T = <_id_slot *>&table[0]
    with nogil:
        for p in range(size):
            T[p].key = -1
        for i in range(n):
            if i + 16 < n:
                hp_prefetch_r(&T[<int64_t>(hp_mix64(<uint64_t>ids[i + 16]) & <uint64_t>mask)])
            x = ids[i]
            p = <int64_t>(hp_mix64(<uint64_t>x) & <uint64_t>mask)
            while True:
                k = T[p].key
                if k == x:
                    I[i] = T[p].val
                    break
                if k == -1:
                    T[p].key = x
                    T[p].val = nu
                    U[nu] = x
                    I[i] = nu
                    nu += 1
                    break
                p = (p + 1) & mask
    return uniq_a[:nu].copy(), inv_a


def group_by_rank(const int64_t[::1] dest, int64_t size):
    """Stable counting sort of records by destination rank: (order, counts) with records[order]
    grouped by rank in rank order, each group in the original order (np.argsort(dest,
    kind="stable") and np.bincount(dest, minlength=size), in two O(n) passes)."""
    cdef Py_ssize_t i, n = dest.shape[0]
    counts_a = np.zeros(size, dtype=np.int64)
    pos_a = np.empty(size, dtype=np.int64)
    order_a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] C = counts_a
    cdef int64_t[::1] Pz = pos_a
    cdef int64_t[::1] O = order_a
    cdef int64_t r, acc = 0, bad = 0
    with nogil:
        for i in range(n):
            r = dest[i]
            if r < 0 or r >= size:
                bad = 1
                break
            C[r] += 1
        if not bad:
            for r in range(size):
                Pz[r] = acc
                acc += C[r]
            for i in range(n):
                r = dest[i]
                O[Pz[r]] = i
                Pz[r] += 1
    if bad:
        raise ValueError(f"group_by_rank: destination rank outside [0, {size})")
    return order_a, counts_a


cdef extern from "hp_divmod.h":
    int64_t hp_div_q(int64_t a, int64_t d, double inv) nogil
    int64_t hp_mod(int64_t a, int64_t d, double inv) nogil

cdef extern from "hp_prefetch.h":
    void hp_prefetch_r(const void *p) nogil

ctypedef fused gather_t:
    cnp.int8_t
    cnp.int32_t
    cnp.int64_t
    cnp.float64_t


def take(const gather_t[::1] src, const int64_t[::1] idx):
    """src[idx] (idx within bounds, any order) with the reads prefetched 16 indices ahead: the
    same values as NumPy's take, faster when src is far larger than the caches."""
    cdef Py_ssize_t i, n = idx.shape[0]
    out = np.empty(n, dtype=np.asarray(src).dtype)
    cdef gather_t[::1] o = out
    with nogil:
        for i in range(n):
            if i + 16 < n:
                hp_prefetch_r(&src[idx[i + 16]])
            o[i] = src[idx[i]]
    return out


def block_owner(const int64_t[::1] ids, int64_t n, int64_t size):
    """Rank of each id under the block partition rank r = [r n // size, (r + 1) n // size):
    ((id + 1) size - 1) // n, the r with r n // size <= id < (r + 1) n // size (-1 for ids < 0,
    size for ids >= n, as np.searchsorted(bounds, ids, "right") - 1 gives)."""
    cdef Py_ssize_t i, m = ids.shape[0]
    out = np.empty(m, dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef int64_t x
    cdef double inv = 1.0 / <double>n if n > 0 else 0.0
    with nogil:
        for i in range(m):
            x = ids[i]
            if x < 0:
                o[i] = -1
            elif x >= n:
                o[i] = size
            else:
                o[i] = _block_rank(x, n, size, inv)
    return out


def firm_home(const int64_t[::1] fids, int64_t n, int64_t size):
    """Home rank of firm ids: the block-partition rank of the founder fid mod n (firm ids are
    birth_month * n + founder); -1 for ids < 0."""
    cdef Py_ssize_t i, m = fids.shape[0]
    out = np.empty(m, dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef double inv = 1.0 / <double>n if n > 0 else 0.0
    with nogil:
        for i in range(m):
            o[i] = _block_rank(hp_mod(fids[i], n, inv), n, size, inv) if fids[i] >= 0 else -1
    return out


cdef inline int64_t _block_rank(int64_t x, int64_t n, int64_t size, double inv) noexcept nogil:
    """Block-partition rank of 0 <= x < n: the r with r n // size <= x < (r + 1) n // size
    (inv = 1.0 / n: hp_div_q's exact division)."""
    return hp_div_q((x + 1) * size - 1, n, inv)


def take_records(src, const int64_t[::1] idx):
    """src[idx] for a 1-D array of any fixed-size records (structured or plain), copied as bytes:
    the same result as NumPy fancy indexing, without its per-field transfer loops."""
    a = np.ascontiguousarray(src)
    out = np.empty(idx.shape[0], dtype=a.dtype)
    cdef Py_ssize_t k = a.dtype.itemsize
    if idx.shape[0] == 0 or k == 0:
        return out
    if k % 8 == 0:
        _take_words(a.view(np.int64).reshape(-1, k // 8), idx, out.view(np.int64).reshape(-1, k // 8))
    else:
        _take_bytes(a.view(np.uint8).reshape(-1, k), idx, out.view(np.uint8).reshape(-1, k))
    return out


def put_records(dst, const int64_t[::1] idx, src):
    """dst[idx] = src for 1-D arrays of the same fixed-size records (dst contiguous), as bytes."""
    cdef Py_ssize_t k = dst.dtype.itemsize
    s = np.ascontiguousarray(src)
    if idx.shape[0] == 0 or k == 0:
        return
    if k % 8 == 0:
        _put_words(dst.view(np.int64).reshape(-1, k // 8), idx, s.view(np.int64).reshape(-1, k // 8))
    else:
        _put_bytes(dst.view(np.uint8).reshape(-1, k), idx, s.view(np.uint8).reshape(-1, k))


cdef void _take_words(const int64_t[:, ::1] a, const int64_t[::1] idx, int64_t[:, ::1] o) noexcept:
    cdef Py_ssize_t i, j, n = idx.shape[0], w = a.shape[1]
    with nogil:
        if w == 1:
            for i in range(n):
                if i + 16 < n:
                    hp_prefetch_r(&a[idx[i + 16], 0])
                o[i, 0] = a[idx[i], 0]
        else:
            for i in range(n):
                if i + 16 < n:
                    hp_prefetch_r(&a[idx[i + 16], 0])
                for j in range(w):
                    o[i, j] = a[idx[i], j]


cdef void _take_bytes(const unsigned char[:, ::1] a, const int64_t[::1] idx, unsigned char[:, ::1] o) noexcept:
    cdef Py_ssize_t i, n = idx.shape[0], w = a.shape[1]
    with nogil:
        for i in range(n):
            memcpy(&o[i, 0], &a[idx[i], 0], w)


cdef void _put_words(int64_t[:, ::1] d, const int64_t[::1] idx, const int64_t[:, ::1] s) noexcept:
    cdef Py_ssize_t i, j, n = idx.shape[0], w = d.shape[1]
    with nogil:
        for i in range(n):
            for j in range(w):
                d[idx[i], j] = s[i, j]


cdef void _put_bytes(unsigned char[:, ::1] d, const int64_t[::1] idx, const unsigned char[:, ::1] s) noexcept:
    cdef Py_ssize_t i, n = idx.shape[0], w = d.shape[1]
    with nogil:
        for i in range(n):
            memcpy(&d[idx[i], 0], &s[i, 0], w)


# -- queues at firms: requests grouped by firm slot, each firm's sorted by (key, agent) ----------
ctypedef struct _queued:
    uint64_t key
    int64_t agent
    int64_t idx

cdef int _queued_before(const void *pa, const void *pb) noexcept nogil:
    cdef const _queued *a = <const _queued *>pa
    cdef const _queued *b = <const _queued *>pb
    if a.key != b.key:
        return -1 if a.key < b.key else 1
    if a.agent != b.agent:
        return -1 if a.agent < b.agent else 1
    return -1 if a.idx < b.idx else (1 if a.idx > b.idx else 0)


cdef class _SlotQueues:
    """Requests grouped by firm slot (-1: left out; groups in order of first request), for the
    queue kernels: order[start[g]:start[g + 1]] are group g's requests in their original order,
    and `buf` has room for the largest group's sort records. Work arrays in NumPy memory (huge
    pages where the system advises them: the per-slot table is as large as the firm store and is
    read at random); the table is released once the requests are grouped."""
    cdef object start_a, order_a, buf_a
    cdef int64_t *start
    cdef int64_t *order
    cdef _queued *buf
    cdef int64_t n_groups, largest

    def __cinit__(self, const int64_t[::1] slot, int64_t n_slots):
        cdef Py_ssize_t n = slot.shape[0]
        cdef int64_t[::1] t, g, st, o, b
        table_a = np.empty(n_slots if n_slots > 0 else 1, dtype=np.int64)
        group_a = np.empty(n if n > 0 else 1, dtype=np.int64)
        self.start_a = np.empty(n + 1, dtype=np.int64)
        self.order_a = np.empty(n if n > 0 else 1, dtype=np.int64)
        t, g, st, o = table_a, group_a, self.start_a, self.order_a
        self.start, self.order = &st[0], &o[0]
        self.largest = 0
        with nogil:
            self.n_groups = _group_by_slot(&slot[0] if n > 0 else NULL, n, n_slots, self.start,
                                           self.order, &self.largest, &t[0], &g[0])
        self.buf_a = np.empty(3 * (self.largest if self.largest > 0 else 1), dtype=np.int64)
        b = self.buf_a                             # _queued: three 8-byte fields
        self.buf = <_queued *>&b[0]


cdef int64_t _group_by_slot(const int64_t *slot, Py_ssize_t n, int64_t n_slots, int64_t *start,
                           int64_t *order, int64_t *largest, int64_t *table,
                           int64_t *group) noexcept nogil:
    """Requests grouped by firm slot (-1: left out), groups numbered in order of first request:
    order[start[g]:start[g + 1]] are group g's requests in their original order (counting sort).
    Sets *largest to the largest group; returns the number of groups. start has room for n + 1
    entries, order and group for n, table for n_slots."""
    cdef Py_ssize_t i, j
    cdef int64_t g, s, n_groups = 0
    for j in range(n_slots):
        table[j] = -1
    for i in range(n):
        if i + 16 < n and slot[i + 16] >= 0:
            hp_prefetch_r(&table[slot[i + 16]])
        s = slot[i]
        g = -1
        if s >= 0:
            g = table[s]
            if g < 0:
                g = n_groups
                table[s] = g
                n_groups += 1
        group[i] = g
    for g in range(n_groups + 1):
        start[g] = 0
    for i in range(n):
        if group[i] >= 0:
            start[group[i] + 1] += 1
    largest[0] = 0
    for g in range(n_groups):
        if start[g + 1] > largest[0]:
            largest[0] = start[g + 1]
        start[g + 1] += start[g]
    for i in range(n):
        g = group[i]
        if g >= 0:
            order[start[g]] = i
            start[g] += 1
    for g in range(n_groups - 1, -1, -1):       # back to group starts
        start[g + 1] = start[g]
    start[0] = 0
    return n_groups


cdef void _sort_group(const int64_t *idx, int64_t cnt, const uint64_t[::1] key,
                      const int64_t[::1] agent, _queued *buf) noexcept nogil:
    cdef int64_t j, i
    for j in range(cnt):
        i = idx[j]
        buf[j].key = key[i]
        buf[j].agent = agent[i]
        buf[j].idx = i
    qsort(buf, cnt, sizeof(_queued), _queued_before)


def first_in_queue(const int64_t[::1] slot, int64_t n_slots, const double[::1] cap,
                   const uint64_t[::1] key, const int64_t[::1] agent):
    """Per request to firm slot[i] (0 .. n_slots - 1; -1: the firm no longer exists, never
    served), whether it is among the first cap[i] (the firm's capacity, the same for all its
    requests) of its firm's queue ordered by (key, agent, position): all of a firm whose
    requests fit, none where cap <= 0, else the first cap after sorting that firm's queue only.
    Requests are grouped by firm through a table of n_slots entries (no hashing)."""
    cdef Py_ssize_t n = slot.shape[0]
    served_a = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] served = served_a
    cdef int64_t g, j, lo, hi, cnt
    cdef double c
    cdef _SlotQueues q = _SlotQueues(slot, n_slots)
    with nogil:
        for g in range(q.n_groups):
            lo = q.start[g]
            hi = q.start[g + 1]
            cnt = hi - lo
            c = cap[q.order[lo]]
            if cnt <= c:
                for j in range(lo, hi):
                    served[q.order[j]] = 1
            elif c > 0:
                _sort_group(&q.order[lo], cnt, key, agent, q.buf)
                for j in range(cnt):
                    if j < c:
                        served[q.buf[j].idx] = 1
                    else:
                        break
    return served_a.view(bool)


def queue_order(const int64_t[::1] slot, int64_t n_slots, const uint64_t[::1] key,
                const int64_t[::1] agent):
    """An order of requests grouped by firm slot (every slot >= 0; firms in order of first
    request), each firm's requests sorted by (key, agent, position): what np.lexsort((agent, key,
    slot)) gives firm by firm, for per-firm processing whose firms are independent."""
    cdef Py_ssize_t n = slot.shape[0]
    out_a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] out = out_a
    cdef int64_t g, j, lo, cnt
    cdef _SlotQueues q = _SlotQueues(slot, n_slots)
    if q.start[q.n_groups] != n:
        raise ValueError("queue_order: a request names no firm slot")
    with nogil:
        for g in range(q.n_groups):
            lo = q.start[g]
            cnt = q.start[g + 1] - lo
            if cnt == 1:
                out[lo] = q.order[lo]
                continue
            _sort_group(&q.order[lo], cnt, key, agent, q.buf)
            for j in range(cnt):
                out[lo + j] = q.buf[j].idx
    return out_a
