"""Statistics of firm-size, growth and duration data used by reports and validation scripts."""
import numpy as np


def zipf_tail_mle(sizes, xmin=None, min_tail=50):
    """Maximum-likelihood tail exponent alpha of Pr(S >= s) ~ s^-alpha for integer sizes
    (Clauset, Shalizi & Newman 2009, eq. 3.7: discrete data, continuous approximation with the
    xmin - 1/2 correction): alpha = n / sum ln(s_i / (xmin - 1/2)).
    If xmin is None it is chosen to minimise the Kolmogorov-Smirnov distance between the tail
    and the fitted power law (CSN sec. 3.3), over candidates with at least `min_tail` points.
    Returns (alpha, xmin, n_tail, stderr)."""
    s = np.sort(np.asarray(sizes, dtype=np.float64))
    s = s[s >= 1]
    if s.size == 0:
        return float("nan"), float("nan"), 0, float("nan")

    def fit(xm):
        tail = s[s >= xm]
        n = tail.size
        a = n / np.log(tail / (xm - 0.5)).sum()
        return a, tail, n

    if xmin is None:
        cands = np.unique(s)
        cands = cands[[(s >= c).sum() >= min_tail for c in cands]] if cands.size < 2000 else \
            np.unique(np.quantile(s, np.linspace(0, 0.99, 400)).round())
        cands = cands[cands >= 1]
        best = (np.inf, None)
        for c in cands:
            a, tail, n = fit(c)
            if n < min_tail or not np.isfinite(a):
                continue
            emp = np.arange(n, 0, -1) / n                     # empirical Pr(S >= x) at sorted tail
            model = ((tail - 0.5) / (c - 0.5)) ** (-a)
            ks = np.max(np.abs(emp - model))
            if ks < best[0]:
                best = (ks, c)
        xmin = best[1] if best[1] is not None else s[0]
    a, tail, n = fit(xmin)
    return float(a), float(xmin), int(n), float(a / np.sqrt(n)) if n else float("nan")


def laplace_fit(x):
    """Location (median) and scale (mean absolute deviation) of a Laplace fit, and excess kurtosis
    of the data (3 for a Laplace, 0 for a normal)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 4:
        return float("nan"), float("nan"), float("nan")
    mu = np.median(x)
    b = np.mean(np.abs(x - mu))
    z = x - x.mean()
    kurt = np.mean(z ** 4) / np.mean(z ** 2) ** 2 - 3 if np.mean(z ** 2) > 0 else float("nan")
    return float(mu), float(b), float(kurt)


def exponential_rate(durations):
    """MLE rate of an exponential fit to durations (mean^-1) and the coefficient of variation
    (1 for an exponential)."""
    d = np.asarray(durations, dtype=np.float64)
    if d.size == 0 or d.mean() == 0:
        return float("nan"), float("nan")
    return float(1 / d.mean()), float(d.std() / d.mean())


def ccdf(x):
    """Sorted values and empirical Pr(X >= x)."""
    x = np.sort(np.asarray(x))
    return x, np.arange(x.size, 0, -1) / x.size


def growth_sd_by_size(size0, growth, bins=8):
    """Standard deviation of growth rates in log-spaced size bins and the slope of
    log sd against log size (Stanley et al. 1996: about -0.15 to -0.2)."""
    size0 = np.asarray(size0, dtype=float)
    growth = np.asarray(growth, dtype=float)
    ok = np.isfinite(growth) & (size0 > 0)
    size0, growth = size0[ok], growth[ok]
    if size0.size < 20:
        return np.array([]), np.array([]), float("nan")
    edges = np.unique(np.geomspace(size0.min(), size0.max() + 1, bins + 1))
    centers, sds = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (size0 >= lo) & (size0 < hi)
        if sel.sum() >= 10:
            centers.append(np.sqrt(lo * hi))
            sds.append(growth[sel].std())
    centers, sds = np.array(centers), np.array(sds)
    ok = sds > 0
    slope = float(np.polyfit(np.log(centers[ok]), np.log(sds[ok]), 1)[0]) if ok.sum() >= 3 else float("nan")
    return centers, sds, slope
