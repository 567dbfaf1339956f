"""kcore.take: a prefetching gather, value for value NumPy's fancy indexing."""
import numpy as np
import pytest

from hpcabm.kernels import core as kcore


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.float64])
def test_take_equals_fancy_indexing(dtype):
    r = np.random.default_rng(2)
    src = (r.random(10_000) * 120 - 60).astype(dtype)
    for n in (0, 5, 17, 40_000):                     # shorter and longer than the prefetch distance
        idx = r.integers(0, src.size, n)
        got = kcore.take(src, idx)
        assert got.dtype == src.dtype and np.array_equal(got, src[idx])
