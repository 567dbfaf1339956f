import math

import numpy as np

from hpcabm.kernels import core as kcore


def _sum(v):
    return kcore.exact_sum_finalize(kcore.exact_sum_parts(np.ascontiguousarray(v)))


def test_exact_sum_is_correctly_rounded():
    r = np.random.default_rng(1)
    for scale in (1.0, 1e10, 1e-200):
        v = r.standard_normal(50_000) * np.exp(r.standard_normal(50_000) * 20) * scale
        assert _sum(v) == math.fsum(v)
    v = np.array([1e308, 1.0, -1e308])
    assert _sum(v) == 1.0
    assert _sum(np.array([])) == 0.0
    assert _sum(np.array([5e-324, 5e-324])) == 1e-323


def test_exact_sum_independent_of_order_and_split():
    r = np.random.default_rng(2)
    v = r.random(10_001) * 1e6 - 3e5
    total = _sum(v)
    assert _sum(v[::-1].copy()) == total
    parts = [kcore.exact_sum_parts(np.ascontiguousarray(c)) for c in np.array_split(r.permutation(v), 7)]
    assert kcore.exact_sum_finalize(sum(parts)) == total


def test_exact_sum_buckets_are_frexp_halves():
    """Each value v = m 2^e (math.frexp), M = m 2^53, adds sign * (M >> 26) and sign * (M mod 2^26)
    to bucket e + offset: normal numbers (read from the bits), subnormals, signed zeros, extremes."""
    r = np.random.default_rng(3)
    v = np.concatenate([r.standard_normal(2000) * np.exp(r.standard_normal(2000) * 200),
                        [5e-324, -5e-324, 2.2250738585072014e-308, -2.225073858507201e-308,
                         1.7976931348623157e308, -1.7976931348623157e308, 0.0, -0.0, 1.0, -0.5,
                         3e-310, 1e-320]])
    want = np.zeros((kcore.N_BUCKETS, 2), dtype=np.int64)
    offset = 1100
    for x in v.tolist():
        if x == 0.0:
            continue
        m, e = math.frexp(x)
        M = int(math.ldexp(abs(m), 53))
        sign = -1 if x < 0 else 1
        want[e + offset, 0] += sign * (M >> 26)
        want[e + offset, 1] += sign * (M & (2**26 - 1))
    assert np.array_equal(kcore.exact_sum_parts(np.ascontiguousarray(v)), want)
