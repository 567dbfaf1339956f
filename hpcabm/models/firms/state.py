"""Partitioned state of the endogenous-firms model.

Agents live on a home rank by id (block partition). A firm lives on the home rank of its founder:
firm ids encode the founder, id = (month_founded + 1) * N + founder for start-ups and id = i for
agent i's initial singleton firm, so ids are globally unique without any counter or communication
and home(firm) = owner(id mod N) is computable anywhere. Teams start local; a firm's members may
live on any rank, and the home keeps only the team's scalars (members n, total effort E).

A firm's technology (a, b, beta) is a pure function of (seed, firm id) and is regenerated where it
is needed rather than stored; the index from firm id to slot is threaded through the founders
(cython_ext/hp_firmindex.h): 4 bytes per local agent plus 4 per firm slot, no hash table."""
import numpy as np

from hpcabm.kernels import labour

FIRM_COLUMNS = {
    "id": np.int64,        # global firm id (-1: free slot)
    "n": np.int32,         # members (employees)
    "efx": np.int64,       # total effort, fixed point (units 2^-40)
    "birth": np.int32,     # month founded
    "size_ref": np.int32,  # members at the growth reference month (-1: not alive then)
}


def founder_of(ids, n_agents):
    return np.asarray(ids, dtype=np.int64) % n_agents


class FirmStore:
    """The firms homed on this rank (founders in [lo, lo + count)): struct-of-arrays slots, a free
    list and the founder-threaded index. Grows by 25 %; `compact()` shrinks it after the early
    months, when most of the initial singleton firms have died."""

    def __init__(self, lo, count, n_agents, capacity=16, extra_columns=None):
        """extra_columns: {name: (dtype, fill value of a free slot)} for models that add firm
        state (e.g. MASs Macro's prices, inventories, cash)."""
        self.lo, self.N = int(lo), int(n_agents)
        self.columns = dict(FIRM_COLUMNS)
        self.fill = {"id": -1, "size_ref": -1}
        for name, (dt, fill) in (extra_columns or {}).items():
            self.columns[name] = dt
            self.fill[name] = fill
        self.head = np.full(max(count, 1), -1, dtype=np.int32)
        self._alloc(max(int(capacity), 16))
        self.n_live = 0
        self.layout = 0          # changes whenever a firm may get another slot (add, remove, compact)

    def add_columns(self, extra_columns):
        """Add firm columns {name: (dtype, fill of a free slot)} to a live store (every slot gets
        the fill value); columns already present are left alone. Lets a model start carrying firm
        state part-way through a run (MASs Macro's labour-only warm start)."""
        for name, (dt, fill) in extra_columns.items():
            if name in self.columns:
                continue
            self.columns[name] = dt
            self.fill[name] = fill
            setattr(self, name, np.full(self.capacity, fill, dtype=dt))

    def _alloc(self, cap):
        for name, dt in self.columns.items():
            setattr(self, name, np.full(cap, self.fill.get(name, 0), dtype=dt))
        self.next = np.arange(1, cap + 1, dtype=np.int32)
        self.next[-1] = -1
        self.free_head = np.array([0], dtype=np.int64)

    @property
    def capacity(self):
        return self.id.shape[0]

    @property
    def n_free(self):
        return self.capacity - self.n_live

    def __len__(self):
        return self.n_live

    def reserve(self, extra):
        """Room for `extra` new firms."""
        extra = int(extra)
        if self.n_free >= extra:
            return
        old = self.capacity
        new = max(old + old // 4 + 16, self.n_live + extra + 16)
        for name, dt in self.columns.items():
            arr = np.full(new, self.fill.get(name, 0), dtype=dt)
            arr[:old] = getattr(self, name)
            setattr(self, name, arr)
        nxt = np.empty(new, dtype=np.int32)
        nxt[:old] = self.next
        nxt[old:new - 1] = np.arange(old + 1, new, dtype=np.int32)
        nxt[new - 1] = self.free_head[0]          # new slots first, then the old free list
        self.next = nxt
        self.free_head[0] = old

    def add(self, ids, birth, n=0, efx=0, size_ref=-1):
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        self.reserve(ids.size)
        slots = labour.fi_insert(self.head, self.next, self.id, self.free_head, self.lo, self.N, ids)
        self.n[slots] = n
        self.efx[slots] = efx
        self.birth[slots] = birth
        self.size_ref[slots] = size_ref
        self.n_live += ids.size
        self.layout += 1
        return slots

    def remove(self, slots):
        slots = np.ascontiguousarray(slots, dtype=np.int32)
        if slots.size == 0:
            return
        labour.fi_remove(self.head, self.next, self.id, self.free_head, self.lo, self.N, slots)
        for name in self.columns:
            if name != "id":
                getattr(self, name)[slots] = self.fill.get(name, 0)
        self.n_live -= slots.size
        self.layout += 1

    def slots_of(self, ids):
        return labour.fi_find(self.head, self.next, self.id, self.lo, self.N,
                              np.ascontiguousarray(ids, dtype=np.int64))

    def slots_known(self, ids):
        """slots_of for ids that must name live firms homed here (an error otherwise, rather than
        index -1 reading the last slot)."""
        s = self.slots_of(ids)
        if (s < 0).any():
            raise RuntimeError(f"firm values requested for unknown firm {np.asarray(ids)[s < 0][:5]}")
        return s

    def live_slots(self):
        """Slots of live firms in global output order: by founder, then by id."""
        s = np.nonzero(self.id >= 0)[0]
        ids = self.id[s]
        return s[np.lexsort((ids, founder_of(ids, self.N)))]

    def compact(self, tight=False):
        """Rebuild with capacity ~1.25 x live firms when more than a third of the slots are free
        (tight: always, with ~1/16 spare, e.g. before wider columns are added). Column by column,
        so that the rebuild needs one column more than the store, not a second store. Slots
        change (live firms get slots 0, 1, ... in founder order): `layout` changes, so anything that
        kept slots (the perishable market's slot-addressed requests) can tell."""
        if not tight and 2 * self.capacity <= 3 * self.n_live + 2048:
            return
        s = self.live_slots()
        k = s.size
        cap = k + (k // 16 if tight else k // 4) + 16
        ids = self.id[s]
        for name, dt in self.columns.items():
            col = np.full(cap, self.fill.get(name, 0), dtype=dt)
            if name != "id":                       # ids enter through the index below
                col[:k] = getattr(self, name)[s]
            setattr(self, name, col)
        del s
        self.next = np.arange(1, cap + 1, dtype=np.int32)
        self.next[-1] = -1
        self.free_head = np.array([0], dtype=np.int64)
        self.head[:] = -1
        slots = labour.fi_insert(self.head, self.next, self.id, self.free_head, self.lo, self.N, ids)
        if not np.array_equal(slots, np.arange(k)):        # a fresh free list hands out 0, 1, ...
            raise AssertionError("firm store compaction: unexpected slot order")
        self.n_live = k
        self.layout += 1

    def nbytes(self):
        return self.head.nbytes + self.next.nbytes + sum(getattr(self, c).nbytes for c in self.columns)
