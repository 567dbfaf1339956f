import numpy as np

from hpcabm.models.firms.state import FirmStore


def test_firm_store_add_remove_compact_against_a_dict():
    N, lo, count = 1000, 200, 300            # this rank's founders: 200..499
    r = np.random.default_rng(8)
    fs = FirmStore(lo, count, N, capacity=16)
    ref = {}
    month = 0
    for it in range(60):
        month += 1
        founders = r.choice(np.arange(lo, lo + count), size=r.integers(0, 40), replace=False)
        ids = (month + 1) * N + founders
        fs.add(ids, birth=month, n=1, efx=7)
        ref.update({int(i): month for i in ids})
        if ref and it % 3:
            gone = r.choice(np.array(list(ref)), size=min(len(ref), r.integers(1, 50)), replace=False)
            fs.remove(fs.slots_of(gone))
            for g in gone.tolist():
                del ref[g]
        if it % 10 == 9:
            fs.compact()
        keys = np.array(list(ref), dtype=np.int64)
        s = fs.slots_of(keys)
        assert (s >= 0).all() and np.array_equal(fs.id[s], keys)
        assert np.array_equal(fs.birth[s], [ref[k] for k in keys.tolist()])
        missing = (month + 5) * N + np.arange(lo, lo + count)
        assert (fs.slots_of(missing) == -1).all()
        elsewhere = np.array([-1, lo - 1, lo + count, month * N + lo + count + 3], dtype=np.int64)
        assert (fs.slots_of(elsewhere) == -1).all()            # not founded on this rank
        assert fs.n_live == len(ref) == int((fs.id >= 0).sum())
    # compaction shrinks a mostly empty store
    fs.remove(fs.slots_of(np.array(list(ref), dtype=np.int64)[: max(len(ref) - 3, 0)]))
    big = FirmStore(lo, count, N, capacity=5000)
    big.add(np.arange(lo, lo + 3, dtype=np.int64), birth=0)
    big.compact()
    assert big.capacity < 100 and (big.slots_of(np.arange(lo, lo + 3)) >= 0).all()
    order = big.live_slots()
    assert big.id[order].tolist() == [lo, lo + 1, lo + 2]


def test_compaction_keeps_every_column_of_every_firm():
    """Column-by-column compaction (also tight, with model columns added part-way) keeps each live
    firm's values under its id and frees the rest."""
    N, lo, count = 5000, 0, 5000
    r = np.random.default_rng(3)
    fs = FirmStore(lo, count, N, capacity=16, extra_columns={"price": (np.float64, 0.0)})
    ids = np.arange(lo, lo + count, dtype=np.int64)
    fs.add(ids, birth=r.integers(0, 9, ids.size), n=r.integers(1, 5, ids.size), efx=r.integers(0, 99, ids.size))
    fs.add_columns({"cash": (np.int64, 0)})
    s = fs.slots_of(ids)
    fs.price[s] = r.random(ids.size)
    fs.cash[s] = r.integers(-9, 9, ids.size)
    before = {c: dict(zip(ids.tolist(), getattr(fs, c)[s].tolist())) for c in fs.columns}
    gone = r.choice(ids, size=4000, replace=False)
    fs.remove(fs.slots_of(gone))
    alive = np.setdiff1d(ids, gone)
    for tight in (False, True):
        fs.compact(tight=tight)
        assert fs.capacity < 1300 and fs.n_live == alive.size
        s = fs.slots_of(alive)
        assert (s >= 0).all() and np.array_equal(np.sort(s), np.arange(alive.size))
        for c in fs.columns:
            assert getattr(fs, c)[s].tolist() == [before[c][i] for i in alive.tolist()], c
        assert (fs.id[alive.size:] == -1).all()
        fs.add(np.array([gone[0]]), birth=1)        # the free list works after a compaction
        fs.remove(fs.slots_of(np.array([gone[0]])))
