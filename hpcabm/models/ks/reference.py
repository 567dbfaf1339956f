"""Plain NumPy/Python twins of the K+S kernels (cython_ext/ks.pyx): the readable specification of
each rule, compared with the kernels on random inputs in tests/models/ks/test_kernels.py."""
import numpy as np


def labour_for(vA, vn, nv, Q, m2):
    """Workers to produce Q[j] with the best machines first."""
    out = np.zeros(len(Q))
    for j in range(len(Q)):
        order = sorted(range(nv[j]), key=lambda a: (-vA[j, a], a))
        left, L = Q[j], 0.0
        for a in order:
            if left <= 0:
                break
            q = min(vn[j, a] * m2, left)
            L += q / vA[j, a]
            left -= q
        out[j] = L
    return out


def plan(vA, vn, vt, nv, t, eta, De, N, pstar, Astar, w, payback, m2, iota, u, kmax):
    n2 = len(De)
    K = np.zeros(n2); c = np.zeros(n2); Qd = np.zeros(n2)
    EI, SI, Ra, Rp = (np.zeros(n2, dtype=np.int64) for _ in range(4))
    for j in range(n2):
        sl = slice(0, nv[j])
        A, n, tv = vA[j, sl], vn[j, sl], vt[j, sl]
        M = n.sum()
        age_out = t + 1 - tv >= eta
        pay = (~age_out) & (Astar[j] > A) & (pstar[j] / m2 <= payback * (w / A - w / Astar[j]))
        Ra[j], Rp[j] = n[age_out].sum(), n[pay].sum()
        K[j] = M * m2
        c[j] = w * (n / A).sum() / M if M > 0 else w / Astar[j]
        q = max((1 + iota) * De[j] - N[j], 0.0)
        Kd = q / u
        Qd[j] = min(q, K[j])
        if Kd > K[j]:
            EI[j] = min(int(np.floor((Kd - K[j]) / m2)), int(np.floor(kmax * M)))
            surplus = 0
        else:
            surplus = int(np.floor((K[j] - Kd) / m2))
        SI[j] = max(Ra[j] + Rp[j] - surplus, 0)
    return K, c, Qd, EI, SI, Ra, Rp


def allocate(C, f, p, stock, tol, maxit):
    pbar = float(np.dot(f, p))
    q = C / pbar * f
    sold = np.minimum(q, stock)
    l = q - sold
    R = C - float(np.dot(sold, p))
    for _ in range(maxit):
        if R <= tol:
            break
        avail = stock - sold > 1e-12 * (1 + stock)
        Fa = f[avail].sum()
        if Fa <= 0:
            break
        pa = float(np.dot(f[avail], p[avail])) / Fa
        take = np.where(avail, np.minimum(R / pa * f / Fa, stock - sold), 0.0)
        sold = sold + take
        R = C - float(np.dot(sold, p))
    return sold, l, max(R, 0.0)


def deliver(vA, vn, vt, nv, t, eta, new_mach, Anew, SI):
    """Returns updated copies (vA, vn, vt, nv, scrapped)."""
    vA, vn, vt, nv = vA.copy(), vn.copy(), vt.copy(), nv.copy()
    scr = np.zeros(len(nv), dtype=np.int64)
    for j in range(len(nv)):
        rows = [(vA[j, a], vn[j, a], vt[j, a]) for a in range(nv[j])]
        keep = []
        for r in rows:
            if t + 1 - r[2] >= eta:
                scr[j] += r[1]
            else:
                keep.append(list(r))
        rem = SI[j] - scr[j]
        if rem > 0:
            order = sorted(range(len(keep)), key=lambda a: (-keep[a][0], a))
            for a in reversed(order):
                if rem <= 0 or keep[a][0] >= Anew[j]:
                    break
                x = min(keep[a][1], rem)
                keep[a][1] -= x
                rem -= x
                scr[j] += x
            keep = [r for r in keep if r[1] > 0]
        if new_mach[j] > 0:
            keep.append([Anew[j], new_mach[j], t])
        nv[j] = len(keep)
        for a, r in enumerate(keep):
            vA[j, a], vn[j, a], vt[j, a] = r
    return vA, vn, vt, nv, scr
