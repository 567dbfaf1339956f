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


@pytest.mark.parametrize("dtype", [np.dtype(np.int64), np.dtype([("fid", "i8"), ("amount", "i8")]),
                                   np.dtype([("sector", "i1"), ("price", "f8"), ("inv", "f8")]),
                                   np.dtype([("a", "i8"), ("b", "i8"), ("c", "i8")]), np.dtype("V5")])
def test_take_and_put_records_equal_fancy_indexing(dtype):
    """The exchange's record gather (take_records) and reply scatter (put_records), for plain,
    word-sized and odd-sized structured records: byte for byte NumPy's fancy indexing."""
    r = np.random.default_rng(3)
    for n in (0, 1, 17, 5_000):
        raw = r.integers(0, 256, size=n * dtype.itemsize, dtype=np.uint8)
        src = raw.view(dtype)
        idx = r.permutation(n).astype(np.int64)
        got = kcore.take_records(src, idx)
        assert got.dtype == src.dtype and got.tobytes() == src[idx].tobytes()
        dst = np.zeros(n, dtype=dtype)
        kcore.put_records(dst, idx, src)
        ref = np.zeros(n, dtype=dtype)
        ref[idx] = src
        assert dst.tobytes() == ref.tobytes()
    # a strided source (a field-sliced view) is gathered from its values
    rec = np.zeros(10, dtype=[("x", "i8"), ("y", "i8")])
    rec["x"] = np.arange(10)
    got = kcore.take_records(rec["x"], np.array([9, 0, 3]))
    assert got.tolist() == [9, 0, 3]


def test_block_owner_and_firm_home_equal_the_bounds_search():
    """Arithmetic owner ((id + 1) P - 1) // n = np.searchsorted(bounds, id, 'right') - 1 for
    every id of every small partition, including ranks with no agents (n < P)."""
    for n in range(1, 40):
        for P in range(1, 9):
            bounds = np.array([r * n // P for r in range(P + 1)])
            ids = np.arange(-2, n + 2, dtype=np.int64)
            ref = np.searchsorted(bounds, ids, side="right") - 1
            ref[ids >= n] = P
            assert np.array_equal(kcore.block_owner(ids, n, P), ref), (n, P)
            fids = np.arange(0, 5 * n, dtype=np.int64)     # birth month * n + founder
            assert np.array_equal(kcore.firm_home(fids, n, P), ref[2:2 + n][fids % n])
    big = np.array([0, 74_999_999, 75_000_000, 149_999_999], dtype=np.int64)
    assert kcore.block_owner(big, 150_000_000, 2).tolist() == [0, 0, 1, 1]


def test_firm_home_divisions_are_exact_at_scale():
    """The reciprocal-based divisions (hp_divmod.h) give the integer results of // and % for
    large firm ids and agent counts: multiples of n and their neighbours, random ids, ids beyond
    2^53 (the division fallback)."""
    r = np.random.default_rng(7)
    for n in (150_000_000, 10**9 + 7, 2**31 - 1, 3, 999_999_937):
        for P in (1, 2, 3, 7, 1024):
            bounds = np.array([k * n // P for k in range(P + 1)])
            k = r.integers(0, 2**20, 500)
            fids = np.concatenate([k * n, k * n - 1, k * n + n - 1, k * n + 1,
                                   r.integers(0, 2**62, 500), [2**53 - 1, 2**53, 2**53 + 1, 2**63 - 1]])
            fids = fids[fids >= 0].astype(np.int64)
            founder = fids % n
            want = np.searchsorted(bounds, founder, side="right") - 1
            assert np.array_equal(kcore.firm_home(fids, n, P), want), (n, P)
            ids = founder
            assert np.array_equal(kcore.block_owner(ids, n, P), want), (n, P)
