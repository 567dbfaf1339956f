"""Each encounter sampler against the density it must draw from (Luo, MacKay & Chater 2026):
Beta splits (CD, eq. 1), slice sampling (satiable eq. 18, interdependent eqs. 22/26, substitutes
with complements eqs. 12/13), the price rule (eqs. 19, 21), and the gamma generator under them."""
import numpy as np
import pytest
from scipy import integrate, stats

from hpcabm.kernels import exchange as kx
from hpcabm.models.exchange import reference as ref
from hpcabm.models.exchange.agents import parse_agent_types, type_table


def types(spec, n, goods):
    groups = parse_agent_types(spec, n, goods)
    return kx.Types(*type_table(groups)), groups


def ks_against_density(samples, logf, lo, hi, n_grid=20001):
    """KS p-value of samples against the density exp(logf) on [lo, hi] (CDF by quadrature)."""
    x = np.linspace(lo, hi, n_grid)
    with np.errstate(divide="ignore", invalid="ignore"):
        lf = np.array([logf(v) for v in x])
    f = np.exp(lf - np.nanmax(lf[np.isfinite(lf)]))
    f[~np.isfinite(f)] = 0.0
    cdf = np.concatenate([[0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(x))])
    cdf /= cdf[-1]
    return stats.kstest(samples, lambda s: np.interp(s, x, cdf)).pvalue


@pytest.mark.parametrize("a", [0.4, 1.0, 2.0, 3.0, 7.5])
def test_gamma_generator(a):
    x = kx.gamma_draws(12345, a, 20000)
    assert stats.kstest(x, stats.gamma(a).cdf).pvalue > 1e-3


def test_cd_pair_splits_are_beta():
    T, _ = types("cd 1 eta=3 a1=2 a2=0.7; cd 1 eta=2 a1=4 a2=1.5", 2, 2)
    out, cnt = kx.pair_outcomes(7, T, 0, 1, (1.0, 0.5, 2.0, 0.0), (0.4, 1.5, 1.0, 0.0), 2, 2, 20000)
    assert cnt[0] == 20000
    assert stats.kstest(out[:, 0] / 1.4, stats.beta(3, 2).cdf).pvalue > 1e-3
    assert stats.kstest(out[:, 1] / 2.0, stats.beta(2, 4).cdf).pvalue > 1e-3
    assert stats.kstest(out[:, 2] / 3.0, stats.beta(0.7, 1.5).cdf).pvalue > 1e-3


def test_satiable_slice_sampler_matches_eq18():
    T, _ = types("sat 2 eta=3 a2=3 c=0.3 k=0.6", 2, 2)
    hi, hj = (1.0, 0.9, 1.0, 0.0), (1.0, 1.3, 1.0, 0.0)
    G = 2.2
    out, _ = kx.pair_outcomes(3, T, 0, 1, hi, hj, 2, 2, 4000, repeat=25)
    logf = lambda x: np.log(ref.satiable_u1(x)) + np.log(ref.satiable_u1(G - x))
    assert ks_against_density(out[:, 1], logf, 0.0, G) > 1e-3
    # good 2 is exact Beta(3, 3) of the pooled 2.0; money Beta(3, 3)
    assert stats.kstest(out[:, 2] / 2.0, stats.beta(3, 3).cdf).pvalue > 1e-3


def test_interdependent_tanh_slice_sampler_matches_eq26():
    T, _ = types("inter_tanh 2 eta=3 alpha=2.5 a=1.5 b=0.5", 2, 1)
    gn_i, gn_j = 1.7, 0.2
    hi, hj = (1.0, 1.2, 0.0, gn_i), (1.0, 0.8, 0.0, gn_j)
    G = 2.0
    out, _ = kx.pair_outcomes(5, T, 0, 1, hi, hj, 1, 2, 4000, repeat=20)
    logf = lambda x: (1.5 * np.log(x) + ref.log_u26(1.5, 0.5, x - gn_i) + 1.5 * np.log(G - x)
                      + ref.log_u26(1.5, 0.5, G - x - gn_j))
    assert ks_against_density(out[:, 1], logf, 0.0, G) > 1e-3


def test_interdependent_exp_pair_is_exact_beta():
    T, _ = types("inter_exp 2 eta=3 alpha=3", 2, 1)
    out, _ = kx.pair_outcomes(5, T, 0, 1, (1, 1.2, 0, 5.0), (1, 0.8, 0, -3.0), 1, 2, 20000)
    assert stats.kstest(out[:, 1] / 2.0, stats.beta(3, 3).cdf).pvalue > 1e-3


def test_substitutes_with_complements_joint_moments():
    """Two-good slice sampler on u = (g1+g2)^2 * min(g1', g2')^2: moments vs 2-D quadrature."""
    T, _ = types("sub 1 eta=3 alpha=3; comp 1 eta=3 alpha=3", 2, 2)
    G1, G2 = 2.0, 1.5
    out, _ = kx.pair_outcomes(11, T, 0, 1, (1, 0.5, 1.0, 0), (1, 1.5, 0.5, 0), 2, 2, 6000, repeat=20)
    f = lambda y, x: (x + y) ** 2 * min(G1 - x, G2 - y) ** 2
    Z = integrate.dblquad(f, 0, G1, 0, G2)[0]
    m1 = integrate.dblquad(lambda y, x: x * f(y, x), 0, G1, 0, G2)[0] / Z
    m2 = integrate.dblquad(lambda y, x: y * f(y, x), 0, G1, 0, G2)[0] / Z
    m12 = integrate.dblquad(lambda y, x: x * y * f(y, x), 0, G1, 0, G2)[0] / Z
    for est, exact in ((out[:, 1], m1), (out[:, 2], m2), (out[:, 1] * out[:, 2], m12)):
        se = est.std() / np.sqrt(est.size)
        assert abs(est.mean() - exact) < 5 * se, (est.mean(), exact, se)


def _price_twin(rng, hi, hj, eta, alpha, shifted, band, n):
    """NumPy twin of the price rule: outcome from the product density by inverse CDF on a grid,
    refused if the implied price is outside `band` (the intersection of the two agents' bands)."""
    def draw(si, sj, T, a):
        x = np.linspace(0, T, 40001)
        s_i, s_j = (si, sj) if shifted else (0.0, 0.0)
        f = (s_i + x) ** (a - 1) * (s_j + T - x) ** (a - 1)
        cdf = np.concatenate([[0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(x))])
        return np.interp(rng.random(n), cdf / cdf[-1], x)
    M, G = hi[0] + hj[0], hi[1] + hj[1]
    xm = draw(hi[0], hj[0], M, eta)
    xg = draw(hi[1], hj[1], G, alpha)
    dm, dg = xm - hi[0], hi[1] - xg
    p = dm / dg
    ok = (p >= band[0]) & (p <= band[1])
    return ok, xm[ok]


@pytest.mark.parametrize("kind,shifted", [("price", False), ("price_sum", True)])
def test_price_rule_matches_numpy_twin(kind, shifted):
    T, _ = types(f"{kind} 1 eta=3 alpha=3 mu1=0.6 mu2=1.2; {kind} 1 eta=3 alpha=3 mu1=0.8 mu2=1.5", 2, 1)
    hi, hj = (1.1, 0.7, 0.0, 0.0), (0.6, 1.4, 0.0, 0.0)
    n = 40000
    out, cnt = kx.pair_outcomes(2, T, 0, 1, hi, hj, 1, 1, n)
    traded = out[:, 1] != hi[1]
    # eqs. 19/21 for each agent: the price must lie in both bands, whoever sells: [0.8, 1.2]
    ok, xm = _price_twin(np.random.default_rng(0), hi, hj, 3, 3, shifted, (0.8, 1.2), n)
    p1, p2 = traded.mean(), ok.mean()
    se = np.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n)
    assert abs(p1 - p2) < 5 * se
    assert cnt[0] == traded.sum() and cnt[1] == n - traded.sum()
    assert stats.ks_2samp(out[traded, 0], xm).pvalue > 1e-3
    # money and goods are conserved and the trades respect both bands in both directions
    dg = hi[1] - out[traded, 1]
    p = (out[traded, 0] - hi[0]) / dg
    assert np.all((p >= 0.8) & (p <= 1.2))
    assert (dg > 0).any() and (dg < 0).any()


def test_price_classes_stationary_law_is_the_cd_product():
    """Eq. 19 with two price classes and a CD agent (three agents, random pairs): every encounter is
    reversible w.r.t. the product of the CD utilities on the simplex, so money and goods shares are
    Dirichlet(eta_k) and Dirichlet(alpha_k). Chains start from that law and must keep it; the old
    seller's-mu1 / buyer's-mu2 rule fails this (the wider class loses wealth: agent 0's mean money
    fell from 1.125 to 0.92 in 300 steps from equal holdings, 0.81 in 1000)."""
    T, _ = types("price 1 eta=3 alpha=3 mu1=0.5 mu2=1.5; price 1 eta=3 alpha=3 mu1=0.7 mu2=1.4; "
                 "cd 1 eta=2 a1=2", 3, 1)
    ex = np.array([3.0, 3.0, 2.0])
    M, G, n = 3.0, 3.0, 3000
    rng = np.random.default_rng(11)
    h0 = np.zeros((n, 3, 3))
    h0[:, :, 0] = M * rng.dirichlet(ex, n)
    h0[:, :, 1] = G * rng.dirichlet(ex, n)
    out, cnt = kx.small_chains(5, T, h0, n, 2000, 1, 1)
    assert cnt[0] > 0.1 * cnt[:3].sum()
    assert np.allclose(out[:, :, 0].sum(axis=1), M) and np.allclose(out[:, :, 1].sum(axis=1), G)
    for a in range(3):
        law = stats.beta(ex[a], ex.sum() - ex[a])
        for w, tot in ((0, M), (1, G)):
            x = out[:, a, w] / tot
            assert stats.kstest(x, law.cdf).pvalue > 1e-3, (a, w, x.mean(), law.mean())
            # each chain moved (the start is not simply kept)
            assert np.mean(np.abs(out[:, a, w] - h0[:, a, w]) > 1e-12) > 0.9


def test_price_sum_pair_stationary_law():
    """Eq. 21, two agents of different classes: an encounter proposes from
    phi(x, x') = prod (p + p')^(alpha-1), symmetric in x <-> x', and keeps the holdings unless the
    price is in both bands (a symmetric condition), so the pair is reversible w.r.t.
    pi(x) = Z(x) = integral of phi(x, .) over the simplex = Zg(g) Zm(m) with
    Zg(g) = int_0^G (g + q)^2 (2G - g - q)^2 dq (alpha = eta = 3). Chains start from pi and must keep
    it (the old seller/buyer rule drove agent 0's mean good from 1 to 0.44 in 1000 steps)."""
    T, _ = types("price_sum 1 eta=3 alpha=3 mu1=0.5 mu2=1.5; price_sum 1 eta=3 alpha=3 mu1=0.7 mu2=1.4",
                 2, 1)
    M, G, n = 2.0, 2.0, 3000
    x = np.linspace(0, G, 4001)
    q = np.linspace(0, G, 4001)
    f = np.array([integrate.trapezoid((v + q) ** 2 * (2 * G - v - q) ** 2, q) for v in x])
    cdf = np.concatenate([[0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(x))])
    cdf /= cdf[-1]
    rng = np.random.default_rng(12)
    h0 = np.zeros((n, 2, 3))
    for w, tot in ((0, M), (1, G)):
        h0[:, 0, w] = np.interp(rng.random(n), cdf, x) * tot / G
        h0[:, 1, w] = tot - h0[:, 0, w]
    out, cnt = kx.small_chains(6, T, h0, n, 1500, 1, 1)
    assert cnt[0] > 0.05 * cnt[:3].sum()
    for w, tot in ((0, M), (1, G)):
        v = out[:, 0, w] * G / tot
        assert stats.kstest(v, lambda s: np.interp(s, x, cdf)).pvalue > 1e-3, (w, v.mean())
        assert np.mean(np.abs(out[:, 0, w] - h0[:, 0, w]) > 1e-12) > 0.9


def test_price_agent_with_cd_partner_uses_its_band_both_ways():
    T, _ = types("price 1 eta=3 alpha=3 mu1=0.9 mu2=1.1; cd 1 eta=2 a1=2", 2, 1)
    hi, hj = (1.0, 1.0, 0.0, 0.0), (0.8, 0.5, 0.0, 0.0)
    out, cnt = kx.pair_outcomes(4, T, 0, 1, hi, hj, 1, 1, 20000)
    traded = out[:, 1] != hi[1]
    assert 0 < traded.sum() < 20000
    p = (out[traded, 0] - hi[0]) / (hi[1] - out[traded, 1])
    assert p.min() >= 0.9 and p.max() <= 1.1


def test_lgoods_kernel_equals_numpy_twin():
    spec = ("cd 1 eta=3 a1=2 a2=0.5; sub 1 alpha=2.5; comp 1 alpha=4; sat 1 a2=2 c=0.3 k=0.6; "
            "cd 1 a1=1 a2=1")
    T, groups = types(spec, 5, 2)
    rng = np.random.default_rng(1)
    for i, g in enumerate(groups):
        row = g.row()
        for _ in range(50):
            g1, g2 = rng.uniform(0.01, 3, 2)
            assert kx.lgoods(T, i, g1, g2, 0.0, 2) == pytest.approx(ref.lgoods(*row, g1, g2, 0.0, 2), rel=1e-13, abs=1e-13)
    T1, groups1 = types("inter_exp 1 alpha=2; inter_tanh 1 alpha=3 a=1.5 b=0.5", 2, 1)
    for i, g in enumerate(groups1):
        for g1, gn in rng.uniform(0.01, 3, (50, 2)):
            assert kx.lgoods(T1, i, g1, 0.0, gn, 1) == pytest.approx(ref.lgoods(*g.row(), g1, 0.0, gn, 1), rel=1e-13, abs=1e-13)
