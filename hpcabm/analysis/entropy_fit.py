"""Entropy from measured values on a grid (Luo, MacKay & Chater 2026, §2-3): least-squares fit of
S to the trapezoid relation on every grid edge (eq. 6), goodness of fit RSS/TSS, goodness of
agreement with a known entropy, and concavity. Pure NumPy; no MPI.

The grid has axes x (n_x points) and y (n_y points); vx, vy are the measured partial derivatives of
S along them (beta for M, nu_j for G_j) at every node, shape (n_x, n_y)."""
import numpy as np


def edge_system(x, y, vx, vy):
    """Sparse rows of eq. 6: for each edge (a, b), S_b - S_a = (v_a + v_b)/2 * (coordinate step).
    Returns (rows a, rows b, right-hand sides d); node index = i * n_y + j."""
    nx, ny = len(x), len(y)
    idx = np.arange(nx * ny).reshape(nx, ny)
    dx = np.diff(x)[:, None]
    dy = np.diff(y)[None, :]
    a = [idx[:-1, :].ravel(), idx[:, :-1].ravel()]
    b = [idx[1:, :].ravel(), idx[:, 1:].ravel()]
    d = [(0.5 * (vx[:-1, :] + vx[1:, :]) * dx).ravel(), (0.5 * (vy[:, :-1] + vy[:, 1:]) * dy).ravel()]
    return np.concatenate(a), np.concatenate(b), np.concatenate(d)


def difference_matrix(a, b, nn):
    """Sparse (edges x nodes) matrix with S_b - S_a in each edge's row: the left-hand side of eq. 6."""
    from scipy.sparse import coo_matrix
    ne = a.size
    rows = np.concatenate([np.arange(ne), np.arange(ne)])
    cols = np.concatenate([b, a])
    vals = np.concatenate([np.ones(ne), -np.ones(ne)])
    return coo_matrix((vals, (rows, cols)), shape=(ne, nn))


def fit_entropy(x, y, vx, vy):
    """Least-squares S on the grid (mean zero: S is defined up to a constant) and the residual and
    total sums of squares. Goodness of fit = RSS/TSS, TSS = sum of the squared changes d (§2)."""
    from scipy.sparse.linalg import lsqr
    nx, ny = len(x), len(y)
    a, b, d = edge_system(np.asarray(x, float), np.asarray(y, float), np.asarray(vx, float),
                          np.asarray(vy, float))
    nn = nx * ny
    A = difference_matrix(a, b, nn).tocsr()
    if nn <= 4000:
        S, *_ = np.linalg.lstsq(A.toarray(), d, rcond=None)
    else:
        S = lsqr(A, d, atol=1e-14, btol=1e-14, iter_lim=100 * nn)[0]
    S = S - S.mean()
    r = A @ S - d
    rss = float(r @ r)
    tss = float(d @ d)
    return S.reshape(nx, ny), rss, tss


def expected_rss(x, y, ex, ey):
    """RSS that the fit of eq. 6 should leave if S is path independent and the measured values
    scatter by their error bars ex, ey (independent, at every node): E[RSS] = tr((I - H) C), H the
    least-squares projection onto edge differences of node potentials and C = J diag(e^2) J^T the
    covariance of the right-hand sides d (J: d from the node values, d = (v_a + v_b)/2 * step).
    RSS / expected_rss is then ~1 (a chi^2 over the residual degrees of freedom, divided by its
    mean); much more than 1 means the error bars are too small or S is not path independent.
    Dense linear algebra: grids up to ~60 x 60."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    nx, ny = len(x), len(y)
    nn = nx * ny
    ex, ey = np.asarray(ex, float).ravel(), np.asarray(ey, float).ravel()
    ones = np.ones((nx, ny))
    a, b, step = edge_system(x, y, ones, ones)   # unit values: d is each edge's coordinate step
    ne = a.size
    nxe = (nx - 1) * ny                    # the first nxe edges run along x (values vx)
    A = difference_matrix(a, b, nn).toarray()
    J = np.zeros((ne, 2 * nn))             # columns: vx at the nodes, then vy at the nodes
    ex_rows = np.arange(nxe)
    ey_rows = np.arange(nxe, ne)
    J[ex_rows, a[:nxe]] = 0.5 * step[:nxe]
    J[ex_rows, b[:nxe]] = 0.5 * step[:nxe]
    J[ey_rows, nn + a[nxe:]] = 0.5 * step[nxe:]
    J[ey_rows, nn + b[nxe:]] = 0.5 * step[nxe:]
    Q, R = np.linalg.qr(A)
    keep = np.abs(np.diag(R)) > 1e-12 * np.abs(np.diag(R)).max()   # A has rank nn - 1
    Q = Q[:, keep]
    Rres = J - Q @ (Q.T @ J)               # (I - H) J
    return float(np.sum(Rres ** 2 * np.concatenate([ex, ey]) ** 2))


def pulls(vals, errs, exact):
    """(measured - exact) / error at every node and component where all three are finite: the
    direct test of error bars where the values are known in closed form (rms ~1 if honest)."""
    v, e, t = (np.asarray(z, float) for z in (vals, errs, exact))
    ok = np.isfinite(v) & np.isfinite(e) & np.isfinite(t) & (e > 0)
    return (v[ok] - t[ok]) / e[ok]


def goodness_of_agreement(S_fit, S_true):
    """Sum of squared differences after shifting both to mean zero, over the total sum of squares of
    the true entropy's deviations from its mean (§3)."""
    a = np.asarray(S_fit, float) - np.mean(S_fit)
    b = np.asarray(S_true, float) - np.mean(S_true)
    return float(((a - b) ** 2).sum() / (b ** 2).sum())


# ---- known entropies -------------------------------------------------------------------------
def free_energy(groups, beta, nu1, nu2):
    """F(beta, nu1, nu2) summed over agents (eqs. 14-16); S = const - F (eq. 17)."""
    beta, nu1, nu2 = (np.asarray(v, float) for v in (beta, nu1, nu2))
    F = np.zeros(np.broadcast(beta, nu1, nu2).shape)
    for g in groups:
        p, n = g.params, g.count
        if g.kind == "cd":
            F += n * (p["eta"] * np.log(beta) + p["a1"] * np.log(nu1) + p["a2"] * np.log(nu2))
        elif g.kind == "sub":
            a = p["a1"]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = (nu1 - nu2) / (nu2 ** -a - nu1 ** -a)
            # limit nu1 -> nu2: nu^(a+1)/a
            close = np.abs(nu1 - nu2) <= 1e-9 * np.abs(nu1)
            ratio = np.where(close, nu1 ** (a + 1) / a, ratio)
            F += n * (p["eta"] * np.log(beta) + np.log(ratio))
        elif g.kind == "comp":
            a = p["a1"]
            F += n * (p["eta"] * np.log(beta) + (a - 1) * np.log(nu1 + nu2) + np.log(nu1)
                      + np.log(nu2))
        else:
            raise ValueError(f"no free energy known for {g.kind} agents")
    return F


def analytic_kind(groups, requested="auto"):
    """Which known entropy applies: 'cd' (eqs. 2, 10), 'free_energy' (eqs. 11, 14-17),
    'inter_exp' (eq. 25), 'cd_price' (eq. 20, conjectured in the paper), or None."""
    if requested != "auto":
        return None if requested == "none" else requested
    kinds = {g.kind for g in groups}
    if kinds == {"cd"}:
        return "cd"
    if kinds <= {"cd", "sub", "comp"}:
        return "free_energy"
    if kinds == {"inter_exp"}:
        return "inter_exp"
    if kinds == {"price"} and len({(g.params["mu1"], g.params["mu2"]) for g in groups}) == 1:
        return "cd_price"
    return None


def analytic_entropy(kind, groups, M, G1, G2, beta=None, nu1=None, nu2=None):
    """Known S on the grid (up to a constant)."""
    M, G1, G2 = (np.asarray(v, float) for v in (M, G1, G2))
    n = np.array([g.count for g in groups], float)
    eta = np.array([g.params["eta"] for g in groups])
    a1 = np.array([g.params["a1"] for g in groups])
    a2 = np.array([g.params["a2"] for g in groups])
    if kind in ("cd", "cd_price"):
        S = (n @ eta) * np.log(M) + (n @ a1) * np.log(G1)
        if np.all(G2 > 0):
            S = S + (n @ a2) * np.log(G2)
        return S
    if kind == "inter_exp":
        return (n @ eta) * np.log(M) + G1 + (n @ a1) * np.log(G1)
    if kind == "free_energy":
        return -free_energy(groups, beta, nu1, nu2)
    raise ValueError(kind)


def analytic_gradient(kind, groups, M, G1, G2):
    """Exact (beta, nu1, nu2) on the grid where the entropy is explicit (eqs. 3, 10, 20, 25), else None."""
    n = np.array([g.count for g in groups], float)
    se = n @ [g.params["eta"] for g in groups]
    s1 = n @ [g.params["a1"] for g in groups]
    s2 = n @ [g.params["a2"] for g in groups]
    M, G1, G2 = (np.asarray(v, float) for v in (M, G1, G2))
    with np.errstate(divide="ignore"):
        if kind in ("cd", "cd_price"):
            return se / M, s1 / G1, np.where(G2 > 0, s2 / G2, np.nan)
        if kind == "inter_exp":
            return se / M, 1 + s1 / G1, np.full(M.shape, np.nan)
    return None


# ---- concavity ---------------------------------------------------------------------------------
def concavity(x, y, vx, vy, ex, ey, nsigma=3.0):
    """Concavity test of S from the measured gradient: at every interior node, the Hessian
    H = [[d vx/dx, (d vx/dy + d vy/dx)/2], [., d vy/dy]] by central differences must have its
    largest eigenvalue <= nsigma times its standard error (propagated from the measured errors
    ex, ey; bound via the Frobenius norm). Returns (concave: bool, fraction of nodes with
    lambda_max <= 0, max over nodes of lambda_max / error)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    nx, ny = len(x), len(y)
    if nx < 3 or ny < 3:
        return True, 1.0, 0.0
    hx = (x[2:] - x[:-2])[:, None]
    hy = (y[2:] - y[:-2])[None, :]
    Hxx = (vx[2:, 1:-1] - vx[:-2, 1:-1]) / hx
    Hyy = (vy[1:-1, 2:] - vy[1:-1, :-2]) / hy
    Hxy = 0.5 * ((vx[1:-1, 2:] - vx[1:-1, :-2]) / hy + (vy[2:, 1:-1] - vy[:-2, 1:-1]) / hx)
    sxx = np.hypot(ex[2:, 1:-1], ex[:-2, 1:-1]) / hx
    syy = np.hypot(ey[1:-1, 2:], ey[1:-1, :-2]) / hy
    sxy = 0.5 * np.sqrt((ex[1:-1, 2:] ** 2 + ex[1:-1, :-2] ** 2) / hy ** 2
                        + (ey[2:, 1:-1] ** 2 + ey[:-2, 1:-1] ** 2) / hx ** 2)
    tr = Hxx + Hyy
    disc = np.sqrt(((Hxx - Hyy) / 2) ** 2 + Hxy ** 2)
    lam = tr / 2 + disc
    err = np.sqrt(sxx ** 2 + syy ** 2 + 2 * sxy ** 2)
    ratio = lam / np.maximum(err, 1e-300)
    return bool(np.all(lam <= nsigma * err)), float(np.mean(lam <= 0)), float(ratio.max())
