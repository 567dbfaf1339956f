# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Kernels of the K+S model (Dosi, Fagiolo & Roventini 2010; hpcabm/models/ks).

Each kernel is one rule of the period over all firms of a sector, on NumPy arrays and scalars;
hpcabm/models/ks/reference.py holds the plain NumPy/Python twin of each (tests compare them).
Random numbers come from the counter-based streams of hp_rng.h (purposes 200-205), keyed by
(seed, purpose, firm slot, period, draw): no generator state.

Vintage capital of consumption-good firm j is a padded table: slots 0..nv[j]-1 of vA (machine
productivity A_v), vn (number of machines) and vt (period the vintage was delivered)."""
import numpy as np
cimport numpy as cnp
from libc.math cimport exp, floor, ceil, sqrt, fabs
from libc.stdint cimport int64_t, uint64_t

cdef extern from "hp_rng.h":
    uint64_t hp_key(uint64_t seed, uint64_t purpose, uint64_t entity, uint64_t step) nogil
    uint64_t hp_draw(uint64_t key, uint64_t j) nogil
    double hp_u01(uint64_t x) nogil

cdef extern from "hp_ks.h":
    double hp_ks_beta_int(uint64_t key, uint64_t j0, int a, int b) nogil

P_INNOV = 200
P_IMIT = 201
P_BROCH = 202
P_SUPPLIER = 203
P_ENTRY = 204
P_BANK = 205


def beta_int(uint64_t seed, uint64_t purpose, const int64_t[::1] entity, uint64_t step,
             uint64_t j0, int a, int b):
    """Beta(a, b) draws for integer a, b: the a-th smallest of a+b-1 uniforms (draws j0..j0+a+b-2)."""
    cdef Py_ssize_t i, n = entity.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = hp_ks_beta_int(hp_key(seed, purpose, <uint64_t>entity[i], step), j0, a, b)
    return out


def innovate(uint64_t seed, int64_t t, double[::1] A, double[::1] B, const double[::1] Lrd,
             double xi, double z1, double z2, double xlo, double xhi, double w, double mu1,
             double m2, double payback, int imit_space, const double[::1] p1, int64_t[::1] flags):
    """Capital-good firms' search (KS_MARK1 note sec. 2; LSD _Atau/_Btau). In place: A, B (technology in
    use); flags[i] = 1 innovated, 2 imitated, 0 kept. Innovation succeeds with prob
    1 - exp(-z1 xi Lrd) and draws A(1+xA), B(1+xB), x = xlo + Beta(3,3)(xhi - xlo) independent for
    A and B. Imitation succeeds with prob 1 - exp(-z2 (1-xi) Lrd) and copies the technology of a
    firm k != i drawn with prob ~ 1/d_ik: imit_space 0 = Euclidean distance in (A, B) (paper),
    1 = normalised (price, cost) space (LSD). Each firm keeps the cheapest of current, innovated and
    imitated technology by p/m2 + payback*w/A with p = (1+mu1) w m2 / B (LSD _Atau)."""
    cdef Py_ssize_t n = A.shape[0], i, k
    cdef double A0, B0, Ai, Bi, Am, Bm, best, c, d, tot, u, pbar = 0, cbar = 0
    cdef uint64_t key
    A_old = np.array(A)
    B_old = np.array(B)
    cdef double[::1] Ao = A_old, Bo = B_old
    cdef double[::1] wgt = np.zeros(n)
    with nogil:
        for k in range(n):
            pbar += p1[k] / n
            cbar += w / Ao[k] / n
        for i in range(n):
            flags[i] = 0
            A0 = Ao[i]; B0 = Bo[i]
            best = (1 + mu1) * w / B0 + payback * w / A0
            key = hp_key(seed, 200, <uint64_t>i, <uint64_t>t)
            if hp_u01(hp_draw(key, 0)) < 1 - exp(-z1 * xi * Lrd[i]):
                Ai = A0 * (1 + xlo + hp_ks_beta_int(key, 1, 3, 3) * (xhi - xlo))
                Bi = B0 * (1 + xlo + hp_ks_beta_int(key, 6, 3, 3) * (xhi - xlo))
                c = (1 + mu1) * w / Bi + payback * w / Ai
                if c < best:
                    best = c; A[i] = Ai; B[i] = Bi; flags[i] = 1
            key = hp_key(seed, 201, <uint64_t>i, <uint64_t>t)
            if n > 1 and hp_u01(hp_draw(key, 0)) < 1 - exp(-z2 * (1 - xi) * Lrd[i]):
                tot = 0
                for k in range(n):
                    if k == i:
                        wgt[k] = 0
                        continue
                    if imit_space == 0:
                        d = sqrt((Ao[k] - A0) * (Ao[k] - A0) + (Bo[k] - B0) * (Bo[k] - B0))
                    else:
                        d = sqrt(((p1[k] - p1[i]) / pbar) ** 2 + ((w / Ao[k] - w / A0) / cbar) ** 2)
                    wgt[k] = 1.0 / d if d > 1e-12 else 1e12
                    tot += wgt[k]
                u = hp_u01(hp_draw(key, 1)) * tot
                k = 0
                while k < n - 1 and (u >= wgt[k] or wgt[k] == 0):
                    u -= wgt[k]
                    k += 1
                if k == i:
                    k = n - 1 if i != n - 1 else n - 2
                Am = Ao[k]; Bm = Bo[k]
                c = (1 + mu1) * w / Bm + payback * w / Am
                if c < best:
                    best = c; A[i] = Am; B[i] = Bm; flags[i] = 2


def choose_suppliers(uint64_t seed, int64_t t, int64_t[::1] sup, const double[::1] cost1,
                     const double[::1] A1, double gamma, int64_t[::1] n_new):
    """Brochures and supplier choice (KS_MARK1 note sec. 2.6, 3.5; LSD _NC/_supplier). sup[j] = current supplier
    of consumption-good firm j (-1 if it exited). Each capital-good firm i sends brochures to its
    historical clients HC_i (firms with sup == i) and to NC_i = ceil(gamma HC_i) new clients drawn
    uniformly (clamped to [1, F2 - HC_i], and HC_i + NC_i >= ceil(F2/F1)). Each j picks the brochure
    with the lowest cost1 = p/m2 + b w/A (ties: lower i); with no brochure it draws a supplier with
    probability ~ A. In place: sup; n_new[i] = brochures sent to new clients."""
    cdef Py_ssize_t n1 = cost1.shape[0], n2 = sup.shape[0], i, j, d
    cdef int64_t hc, nc, floor_n = (n2 + n1 - 1) // n1
    cdef uint64_t key
    cdef double u, tot
    best_arr = np.array(sup)
    cdef int64_t[::1] best = best_arr
    hc_arr = np.zeros(n1, dtype=np.int64)
    cdef int64_t[::1] HC = hc_arr
    with nogil:
        for j in range(n2):
            if sup[j] >= 0:
                HC[sup[j]] += 1
        for i in range(n1):
            hc = HC[i]
            nc = <int64_t>ceil(gamma * hc)
            if nc < 1:
                nc = 1
            if hc + nc < floor_n:
                nc = floor_n - hc
            if nc > n2 - hc:
                nc = n2 - hc
            n_new[i] = nc
            key = hp_key(seed, 202, <uint64_t>i, <uint64_t>t)
            for d in range(nc):
                j = <Py_ssize_t>(hp_u01(hp_draw(key, d)) * n2)
                if best[j] < 0 or cost1[i] < cost1[best[j]] or (cost1[i] == cost1[best[j]] and i < best[j]):
                    best[j] = i
        tot = 0
        for i in range(n1):
            tot += A1[i]
        for j in range(n2):
            if best[j] < 0:
                key = hp_key(seed, 203, <uint64_t>j, <uint64_t>t)
                u = hp_u01(hp_draw(key, 0)) * tot
                i = 0
                while i < n1 - 1 and u >= A1[i]:
                    u -= A1[i]
                    i += 1
                best[j] = i
            sup[j] = best[j]


cdef inline void _order_by_A(const double[:, ::1] vA, Py_ssize_t j, int64_t m, int64_t *idx) noexcept nogil:
    """Vintage slots of firm j by productivity, best first (insertion sort; ties: lower slot)."""
    cdef int64_t a, b, x
    for a in range(m):
        idx[a] = a
    for a in range(1, m):
        x = idx[a]
        b = a - 1
        while b >= 0 and vA[j, idx[b]] < vA[j, x]:
            idx[b + 1] = idx[b]
            b -= 1
        idx[b + 1] = x


def labour_for(const double[:, ::1] vA, const int64_t[:, ::1] vn, const int64_t[::1] nv,
               const double[::1] Q, double m2):
    """Workers needed to produce Q[j] using the best machines first (LSD _alloc2): each machine
    yields m2 units per period and a machine of productivity A needs 1/A workers per unit."""
    cdef Py_ssize_t n2 = Q.shape[0], j, a
    cdef int64_t idx[512]
    cdef double left, q, L
    out = np.zeros(n2)
    cdef double[::1] o = out
    with nogil:
        for j in range(n2):
            _order_by_A(vA, j, nv[j], idx)
            left = Q[j]
            L = 0
            for a in range(nv[j]):
                if left <= 0:
                    break
                q = vn[j, idx[a]] * m2
                if q > left:
                    q = left
                L += q / vA[j, idx[a]]
                left -= q
            o[j] = L
    return out


def plan(const double[:, ::1] vA, const int64_t[:, ::1] vn, const int64_t[:, ::1] vt,
         const int64_t[::1] nv, int64_t t, int64_t eta, const double[::1] De, const double[::1] N,
         const double[::1] pstar, const double[::1] Astar, double w, double payback, double m2,
         double iota, double u, double kmax):
    """Production, expansion and replacement plans of consumption-good firms (KS_MARK1 note sec. 3.1-3.6;
    LSD _Q2d/_Kd/_EId/_RS/_SId). Returns (K, ucost, Qd, EI, SI, RSage, RSpay):
    K capacity (m2 x machines); ucost = mean of w/A_v over all machines (LSD _c2);
    Qd = min(max((1+iota) De - N, 0), K); desired capital Kd = max((1+iota) De - N, 0)/u;
    EI = whole machines to reach Kd, at most kmax K/m2; RSage = machines whose age reaches eta at
    the end of the period; RSpay = other machines failing the payback rule
    pstar/m2 / (w/A_v - w/Astar) <= payback; SI = RSage + RSpay minus machines surplus to Kd."""
    cdef Py_ssize_t n2 = De.shape[0], j, a
    cdef double K, inv, Qd, Kd, gain
    cdef int64_t M, ei, surplus, rsa, rsp, cap
    outs = [np.zeros(n2) for _ in range(3)] + [np.zeros(n2, dtype=np.int64) for _ in range(4)]
    cdef double[::1] oK = outs[0], oc = outs[1], oQ = outs[2]
    cdef int64_t[::1] oEI = outs[3], oSI = outs[4], oRa = outs[5], oRp = outs[6]
    with nogil:
        for j in range(n2):
            M = 0
            inv = 0
            rsa = 0
            rsp = 0
            for a in range(nv[j]):
                M += vn[j, a]
                inv += vn[j, a] / vA[j, a]
                if t + 1 - vt[j, a] >= eta:
                    rsa += vn[j, a]
                elif Astar[j] > vA[j, a]:
                    gain = w / vA[j, a] - w / Astar[j]
                    if pstar[j] / m2 <= payback * gain:
                        rsp += vn[j, a]
            K = M * m2
            oK[j] = K
            oc[j] = w * inv / M if M > 0 else w / Astar[j]
            Qd = (1 + iota) * De[j] - N[j]
            if Qd < 0:
                Qd = 0
            Kd = Qd / u
            if Qd > K:
                Qd = K
            oQ[j] = Qd
            ei = 0
            surplus = 0
            if Kd > K:
                ei = <int64_t>floor((Kd - K) / m2)
                cap = <int64_t>floor(kmax * M)
                if ei > cap:
                    ei = cap
            else:
                surplus = <int64_t>floor((K - Kd) / m2)
            oEI[j] = ei
            oRa[j] = rsa
            oRp[j] = rsp
            oSI[j] = rsa + rsp - surplus if rsa + rsp > surplus else 0
    return tuple(outs)


def allocate(double C, const double[::1] f, const double[::1] p, const double[::1] stock,
             double tol, int maxit):
    """Consumption market (KS_MARK1 note sec. 3.9; LSD D2): real demand C/pbar (pbar = sum f p) is split by
    market shares; demand a firm cannot serve from its stock is re-spent, in money, at the firms
    with stock left in proportion to their shares, until less than tol is left or stock runs out.
    Returns (sold units, unfilled first-round units l, money left unspent)."""
    cdef Py_ssize_t n = f.shape[0], j
    cdef int it
    cdef double pbar = 0, R, Fa, pa, q, take
    sold_a = np.zeros(n)
    l_a = np.zeros(n)
    cdef double[::1] sold = sold_a, l = l_a
    with nogil:
        for j in range(n):
            pbar += f[j] * p[j]
        R = C
        if pbar > 0:
            for j in range(n):
                q = C / pbar * f[j]
                take = q if q < stock[j] else stock[j]
                sold[j] = take
                l[j] = q - take
                R -= take * p[j]
        for it in range(maxit):
            if R <= tol:
                break
            Fa = 0
            pa = 0
            for j in range(n):
                if stock[j] - sold[j] > 1e-12 * (1 + stock[j]):
                    Fa += f[j]
                    pa += f[j] * p[j]
            if Fa <= 0:
                break
            pa /= Fa
            for j in range(n):
                if stock[j] - sold[j] > 1e-12 * (1 + stock[j]):
                    q = R / pa * f[j] / Fa
                    take = stock[j] - sold[j]
                    if q < take:
                        take = q
                    sold[j] += take
            R = C
            for j in range(n):
                R -= sold[j] * p[j]
    if R < 0:
        R = 0
    return sold_a, l_a, R


def deliver(double[:, ::1] vA, int64_t[:, ::1] vn, int64_t[:, ::1] vt, int64_t[::1] nv,
            int64_t t, int64_t eta, const int64_t[::1] new_mach, const double[::1] Anew,
            const int64_t[::1] SI):
    """End of period (paper timeline step 8, note sec. 5; LSD _K): remove machines whose age reaches eta, then,
    out of the replacement machines delivered (SI[j] of new_mach[j]), the least productive machines
    still installed, one for one; add the new vintage (delivered at t, usable from t+1). Vintage
    slots are compacted. Returns machines scrapped per firm."""
    cdef Py_ssize_t n2 = nv.shape[0], j, a, b, vmax = vA.shape[1]
    cdef int64_t idx[512]
    cdef int64_t rem, x, k
    out = np.zeros(n2, dtype=np.int64)
    cdef int64_t[::1] scr = out
    with nogil:
        for j in range(n2):
            k = 0
            for a in range(nv[j]):
                if t + 1 - vt[j, a] >= eta:
                    scr[j] += vn[j, a]
                    continue
                vA[j, k] = vA[j, a]; vn[j, k] = vn[j, a]; vt[j, k] = vt[j, a]
                k += 1
            nv[j] = k
            rem = SI[j] - scr[j]
            if rem > 0:
                _order_by_A(vA, j, nv[j], idx)
                a = nv[j] - 1
                while rem > 0 and a >= 0:
                    b = idx[a]
                    if vA[j, b] >= Anew[j]:
                        break
                    x = vn[j, b] if vn[j, b] < rem else rem
                    vn[j, b] -= x
                    rem -= x
                    scr[j] += x
                    a -= 1
                k = 0
                for a in range(nv[j]):
                    if vn[j, a] > 0:
                        vA[j, k] = vA[j, a]; vn[j, k] = vn[j, a]; vt[j, k] = vt[j, a]
                        k += 1
                nv[j] = k
            if new_mach[j] > 0:
                if nv[j] >= vmax:
                    with gil:
                        raise RuntimeError(f"vintage table full for firm {j}")
                vA[j, nv[j]] = Anew[j]; vn[j, nv[j]] = new_mach[j]; vt[j, nv[j]] = t
                nv[j] += 1
    return out
