"""Error of the mean of an autocorrelated series: integrated autocorrelation time with Sokal's
automatic window (Sokal 1997, "Monte Carlo methods in statistical mechanics", §3; Madras & Sokal
1988).

    rho(t)   = C(t) / C(0),  C(t) = (1/n) sum_i (x_i - xbar)(x_{i+t} - xbar)
    tau(W)   = 1/2 + sum_{t=1..W} rho(t)
    W        = the smallest window with W >= c tau(W)   (c = 5 by default)
    Var(xbar) ~= 2 tau C(0) / n

tau is in units of the sampling interval and 1/2 for an uncorrelated series (so 2 tau is the
number of samples per independent one). The estimate is reliable when n >> tau (Sokal: n of
order 1000 tau; here `reliable` means n >= 50 tau, below which the error bar is flagged)."""
import numpy as np

MIN_N_OVER_TAU = 50.0


def autocorrelation(x):
    """rho(t), t = 0..n-1 (biased estimator C(t) with divisor n, by FFT)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    d = x - x.mean()
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(d, size)
    c = np.fft.irfft(f * np.conj(f), size)[:n] / n
    if c[0] <= 0:
        return np.zeros(n)
    return c / c[0]


def iat(x, c=5.0):
    """(tau, W) for the series x: Sokal's window W = min{W : W >= c tau(W)}."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 2:
        return float("nan"), 0
    rho = autocorrelation(x)
    if not rho[0] > 0:
        return 0.5, 0
    taus = 0.5 + np.cumsum(rho[1:])            # tau(W) for W = 1..n-1
    w = np.arange(1, n)
    ok = np.nonzero(w >= c * taus)[0]
    k = ok[0] if ok.size else n - 2
    return float(max(taus[k], 0.5)), int(w[k])


def mean_error(x, c=5.0):
    """Standard error of the mean of x accounting for autocorrelation.
    Returns (stderr, tau, W, reliable)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    tau, W = iat(x, c)
    var = x.var()
    se = float(np.sqrt(2.0 * tau * var / n)) if n > 1 else float("nan")
    return se, tau, W, bool(n >= MIN_N_OVER_TAU * tau)
