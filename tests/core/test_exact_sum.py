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
