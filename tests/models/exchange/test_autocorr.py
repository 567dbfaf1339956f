"""Error bars of autocorrelated meter series (hpcabm.analysis.autocorr): the integrated
autocorrelation time with Sokal's window against AR(1) series, whose tau and variance of the mean
are known exactly."""
import numpy as np
from scipy.signal import lfilter

from hpcabm.analysis.autocorr import iat, mean_error


def ar1(rng, phi, n, reps=1):
    """Stationary AR(1) x_t = phi x_{t-1} + e_t, e_t ~ N(0, 1): shape (reps, n)."""
    e = rng.standard_normal((reps, n))
    e[:, 0] /= np.sqrt(1 - phi ** 2)           # start in the stationary law
    return lfilter([1.0], [1.0, -phi], e, axis=1)


def var_of_mean(phi, n):
    """Exact Var(mean of n consecutive values) of the stationary AR(1) above."""
    s2 = 1.0 / (1 - phi ** 2)
    k = np.arange(1, n)
    return s2 / n * (1 + 2 * np.sum((1 - k / n) * phi ** k))


def test_exact_variance_formula_matches_the_limit():
    phi, n = 0.9, 100000
    tau = 0.5 * (1 + phi) / (1 - phi)
    assert abs(var_of_mean(phi, n) / (2 * tau / (1 - phi ** 2) / n) - 1) < 1e-3


def test_tau_of_ar1():
    rng = np.random.default_rng(3)
    for phi in (0.0, 0.8, 0.97):
        exact = 0.5 * (1 + phi) / (1 - phi)
        x = ar1(rng, phi, 40000, reps=20)
        est = np.array([iat(r)[0] for r in x])
        assert abs(est.mean() / exact - 1) < 0.08, (phi, est.mean(), exact)
        W = iat(x[0])[1]
        assert W >= 5 * iat(x[0])[0] - 1


def test_error_bar_of_ar1_mean_has_its_coverage():
    """400 series of 4000 steps with tau = 19.5 (phi = 0.95): the estimated standard error matches
    the exact one on average and ~95 % of the means lie within 1.96 of them. Batch means with
    blocks only ~2 tau long (10 blocks of 40 steps, as the price economies had: 300-sweep blocks
    against a meter relaxing over hundreds of sweeps) and the iid formula are too small."""
    phi, n, reps = 0.95, 4000, 400
    x = ar1(np.random.default_rng(4), phi, n, reps)
    exact = np.sqrt(var_of_mean(phi, n))
    se = np.array([mean_error(r)[0] for r in x])
    assert abs(np.mean(se) / exact - 1) < 0.1, (np.mean(se), exact)
    cover = np.mean(np.abs(x.mean(axis=1)) < 1.96 * se)
    assert 0.91 < cover < 0.985, cover
    rel = np.array([mean_error(r)[3] for r in x])
    assert rel.all()                         # n / tau = 205 >= 50
    # short blocks (10 x 40 of the last 400 steps) and the iid formula underestimate
    y = x[:, -400:]
    bm = y.reshape(reps, 10, 40).mean(axis=2)
    se_b = bm.std(axis=1, ddof=1) / np.sqrt(10)
    se_iid = y.std(axis=1, ddof=1) / np.sqrt(400)
    ex400 = np.sqrt(var_of_mean(phi, 400))
    assert np.mean(se_b) < 0.85 * ex400 and np.mean(se_iid) < 0.3 * ex400
    assert np.mean(np.abs(y.mean(axis=1)) < 1.96 * se_iid) < 0.5


def test_short_series_is_flagged_unreliable():
    x = ar1(np.random.default_rng(5), 0.99, 2000)[0]     # tau ~ 100, n / tau ~ 20
    se, tau, W, reliable = mean_error(x)
    assert tau > 20 and not reliable
