import numpy as np

from hpcabm.kernels import core as kcore


def test_idmap_matches_dict_under_random_operations():
    r = np.random.default_rng(3)
    m = kcore.IdMap(4)
    ref = {}
    next_slot = 0
    for _ in range(200):
        new = np.unique(r.integers(0, 10**12, size=r.integers(0, 50)))
        new = np.array([x for x in new if x not in ref], dtype=np.int64)
        slots = np.arange(next_slot, next_slot + new.size, dtype=np.int64)
        next_slot += new.size
        m.put(new, slots)
        ref.update(zip(new.tolist(), slots.tolist()))
        if ref and r.random() < 0.7:
            keys = np.array(list(ref), dtype=np.int64)
            gone = r.choice(keys, size=min(len(keys), r.integers(1, 30)), replace=False)
            assert m.delete(gone) == gone.size
            for g in gone.tolist():
                del ref[g]
        probe = np.concatenate([np.array(list(ref), dtype=np.int64), r.integers(0, 10**12, 20)])
        got = m.get(probe)
        want = np.array([ref.get(int(p), -1) for p in probe])
        assert np.array_equal(got, want)
        assert len(m) == len(ref)
    ids, slots = m.items()
    assert dict(zip(ids.tolist(), slots.tolist())) == ref


def test_unique_ids_matches_numpy():
    r = np.random.default_rng(4)
    x = r.integers(0, 500, 10_000).astype(np.int64)
    u, inv = kcore.unique_ids(x)
    assert np.array_equal(u[inv], x)
    assert np.array_equal(np.sort(u), np.unique(x))
    first = [int(v) for v in dict.fromkeys(x.tolist())]
    assert u.tolist() == first
