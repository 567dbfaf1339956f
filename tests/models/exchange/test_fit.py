"""The entropy fit (paper eq. 6) on synthetic fields with known answers, the free energies
(eqs. 14-16) against their defining integrals, goodness measures and the concavity test."""
import numpy as np
import pytest
from scipy import integrate

from hpcabm.analysis import entropy_fit as ef
from hpcabm.models.exchange.agents import parse_agent_types

X = np.linspace(500, 1500, 11)
Y = np.linspace(500, 1500, 9)
GX, GY = np.meshgrid(X, Y, indexing="ij")
N = 1000


def test_exact_gradient_field_is_recovered():
    """S = N(3 log G1 + 3 log G2): measured values exact; the trapezoid rule is second order."""
    S = N * (3 * np.log(GX) + 3 * np.log(GY))
    fit, rss, tss = ef.fit_entropy(X, Y, 3 * N / GX, 3 * N / GY)
    assert rss / tss < 1e-20        # an exact gradient field is path independent
    # what remains is the trapezoid rule's error (second order in the step, so fourth order in
    # the squared measure): ~7e-6 on this grid, the floor of the goodness of agreement here
    assert ef.goodness_of_agreement(fit, S) < 2e-5
    x2 = np.linspace(500, 1500, 31)
    g2x, g2y = np.meshgrid(x2, x2, indexing="ij")
    fit2, rss2, tss2 = ef.fit_entropy(x2, x2, 3 * N / g2x, 3 * N / g2y)
    S2 = N * (3 * np.log(g2x) + 3 * np.log(g2y))
    assert ef.goodness_of_agreement(fit2, S2) < ef.goodness_of_agreement(fit, S) / 50


def test_rotational_part_is_what_the_fit_cannot_explain():
    """v = grad S + eps * (-y, x)/scale: a pure curl component is orthogonal to gradients on the
    grid up to boundary terms, so RSS/TSS grows like eps^2 and is zero without it."""
    base = (3 * N / GX, 3 * N / GY)
    ratios = []
    for eps in (0.0, 0.01, 0.02):
        vx = base[0] - eps * (GY - 1000) / 1000 * 3
        vy = base[1] + eps * (GX - 1000) / 1000 * 3
        _, rss, tss = ef.fit_entropy(X, Y, vx, vy)
        ratios.append(rss / tss)
    assert ratios[0] < 1e-6
    assert ratios[1] > 100 * ratios[0]
    assert ratios[2] / ratios[1] == pytest.approx(4, rel=0.05)


def test_noise_level_sets_goodness_of_fit():
    rng = np.random.default_rng(3)
    vals = []
    for rel in (1e-3, 1e-2):
        vx = 3 * N / GX * (1 + rel * rng.standard_normal(GX.shape))
        vy = 3 * N / GY * (1 + rel * rng.standard_normal(GX.shape))
        vals.append(ef.fit_entropy(X, Y, vx, vy)[1:])
    g = [r / t for r, t in vals]
    assert 1e-8 < g[0] < 1e-5 and 30 < g[1] / g[0] < 300


def _z_numeric(u, n1, n2):
    f = lambda y, x: u(x, y) * np.exp(-n1 * x - n2 * y)
    return integrate.dblquad(f, 0, 45, lambda x: 0, lambda x: 45, epsabs=1e-9, epsrel=1e-9)[0]


@pytest.mark.parametrize("kind,u", [("sub", lambda x, y: (x + y) ** 2),
                                    ("comp", lambda x, y: min(x, y) ** 2)])
def test_free_energies_are_minus_log_partition_functions(kind, u):
    """F_goods(nu) = -log Z(nu) + const with Z = int u(g) exp(-nu.g) dg (eqs. 14, 15; alpha = 3):
    differences between two nu must agree."""
    groups = parse_agent_types(f"{kind} 1 eta=3 alpha=3", 1, 2)
    nus = [(1.0, 2.0), (1.5, 1.2), (0.8, 0.8000001)]
    F = [float(ef.free_energy(groups, 1.0, a, b)) for a, b in nus]
    Z = [_z_numeric(u, a, b) for a, b in nus]
    for k in (1, 2):
        assert F[k] - F[0] == pytest.approx(-(np.log(Z[k]) - np.log(Z[0])), abs=1e-6)


def test_cd_free_energy_reproduces_cd_entropy():
    groups = parse_agent_types("cd 500 eta=3 a1=3 a2=3; cd rest eta=2 a1=2 a2=2", 1000, 2)
    M = 1000.0
    beta, nu1, nu2 = 2500 / M, 2500 / GX, 2500 / GY
    S_F = -ef.free_energy(groups, beta, nu1, nu2)
    S = ef.analytic_entropy("cd", groups, M, GX, GY)
    assert ef.goodness_of_agreement(S_F, S) < 1e-20


def test_concavity_test():
    ex = np.full(GX.shape, 1e-3)
    concave, frac, _ = ef.concavity(X, Y, 3 * N / GX, 3 * N / GY, ex, ex)
    assert concave and frac == 1.0
    convex, frac2, ratio = ef.concavity(X, Y, 2 * GX, 2 * GY, ex, ex)   # S = x^2 + y^2
    assert not convex and frac2 == 0.0 and ratio > 3


def test_analytic_kind_choice():
    pk = lambda s, g: ef.analytic_kind(parse_agent_types(s, 10, g))
    assert pk("cd rest", 2) == "cd"
    assert pk("sub 5; comp 5", 2) == "free_energy"
    assert pk("inter_exp rest", 1) == "inter_exp"
    assert pk("price rest", 1) == "cd_price"
    assert pk("price 5 mu1=0.5; price 5", 1) is None
    assert pk("sat rest", 2) is None


def test_expected_rss_matches_the_residual_of_honest_error_bars():
    """Values with Gaussian noise of exactly their stated error bars leave RSS / expected_rss ~ 1
    on average; the same values with error bars 3 times too small read ~9. A uniform error bar
    and a node-dependent one (larger where the values are larger) both hold."""
    rng = np.random.default_rng(11)
    vx0, vy0 = 3 * N / GX, 3 * N / GY
    for ex, ey in ((0.002 * vx0, 0.002 * vy0), (0.01 * vx0 * GY / 1000, 0.004 * vy0)):
        expected = ef.expected_rss(X, Y, ex, ey)
        ratios = []
        for _ in range(300):
            vx = vx0 + ex * rng.standard_normal(GX.shape)
            vy = vy0 + ey * rng.standard_normal(GX.shape)
            ratios.append(ef.fit_entropy(X, Y, vx, vy)[1] / expected)
        assert np.mean(ratios) == pytest.approx(1.0, abs=0.05)
        assert ef.expected_rss(X, Y, ex / 3, ey / 3) * 9 == pytest.approx(expected, rel=1e-9)


def test_pulls_of_honest_error_bars_have_unit_rms():
    rng = np.random.default_rng(5)
    exact = 3 * N / GX
    err = 0.01 * exact
    z = ef.pulls(exact + err * rng.standard_normal(GX.shape), err, exact)
    assert z.size == GX.size and np.sqrt(np.mean(z ** 2)) == pytest.approx(1.0, abs=0.15)
    z3 = ef.pulls(exact + 3 * err * rng.standard_normal(GX.shape), err, exact)
    assert np.sqrt(np.mean(z3 ** 2)) > 2.4
    bad = exact.copy()
    bad[0, 0] = np.nan
    assert ef.pulls(bad, err, exact).size == GX.size - 1


def test_combine_replicas_one_chain_is_the_chain_and_scatter_widens_the_error():
    from hpcabm.analysis.entropy import combine_replicas
    from hpcabm.models.exchange.economy import readings_detail
    rng = np.random.default_rng(2)
    sums = 1000 * (1.0 + 0.01 * rng.standard_normal((400, 3)))
    d = readings_detail(sums, 1000, (2.0, 2.0, 2.0))
    val, err, err_b, ratio = combine_replicas((2.0, 2.0, 2.0), d["avg"][None], d["se"][None],
                                              d["se_batch"][None])
    assert val.tobytes() == d["val"].tobytes() and err.tobytes() == d["err"].tobytes()
    assert err_b.tobytes() == d["err_batch"].tobytes() and np.isnan(ratio).all()
    # four chains that agree within their errors: the pooled error, sqrt(4) smaller
    avg = np.array([[1.0, 2.0, 4.0]] * 4) + 1e-5 * np.array([[1], [-1], [1], [-1]])
    se = np.full((4, 3), 1e-3)
    val, err, _, ratio = combine_replicas((2.0, 2.0, 2.0), avg, se, se)
    assert np.allclose(val, [2.0, 1.0, 0.5]) and np.all(ratio < 0.1)
    assert np.allclose(err, val * 0.5e-3 / np.array([1.0, 2.0, 4.0]))
    # chains that disagree by much more than their errors: the scatter between them is the error
    avg = np.array([[1.0, 2.0, 4.0]] * 4) * (1 + 0.02 * np.array([[1], [-1], [2], [-2]]))
    val, err, _, ratio = combine_replicas((2.0, 2.0, 2.0), avg, se, se)
    between = avg.std(axis=0, ddof=1) / 2
    assert np.allclose(err, val * between / avg.mean(axis=0)) and np.all(ratio > 5)
