import numpy as np

from hpcabm.core.comm import BlockPartition, Comm


def test_block_partition_owner_covers_all():
    for n, P in [(10, 3), (7, 7), (100, 1), (5, 8)]:
        owners = np.concatenate([np.full(BlockPartition(n, P, r).count, r) for r in range(P)])
        assert owners.size == n
        assert np.array_equal(BlockPartition(n, P, 0).owner(np.arange(n)), owners)


def test_single_rank_exchange_and_fetch_roundtrip():
    c = Comm()
    if c.size != 1:
        return
    dt = np.dtype([("k", "i8"), ("v", "f8")])
    req = np.zeros(5, dt)
    req["k"] = [4, 2, 9, 2, 0]
    rep = c.fetch(np.zeros(5, np.int64), req, lambda r: r["k"] * 10)
    assert rep.tolist() == [40, 20, 90, 20, 0]
    assert c.exact_sum(np.array([1e16, 1.0, -1e16])) == 1.0
    assert c.sum_int(np.array([1, 2])).tolist() == [1, 2]


def test_group_by_rank_is_a_stable_argsort_with_counts():
    import numpy as np
    import pytest
    from hpcabm.kernels import core as kcore
    g = np.random.default_rng(3)
    for size, n in ((1, 10), (3, 1000), (7, 0), (40, 5000)):
        dest = g.integers(0, size, n)
        order, counts = kcore.group_by_rank(dest, size)
        assert np.array_equal(order, np.argsort(dest, kind="stable"))
        assert np.array_equal(counts, np.bincount(dest, minlength=size))
    with pytest.raises(ValueError, match="outside"):
        kcore.group_by_rank(np.array([0, 3]), 3)
