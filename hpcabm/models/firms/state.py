"""Partitioned state of the endogenous-firms model.

Agents live on a home rank by id (block partition). A firm lives on the home rank of its founder:
firm ids encode the founder, id = (month_founded + 1) * N + founder for start-ups and id = i for
agent i's initial singleton firm, so ids are globally unique without any counter or communication
and home(firm) = owner(id mod N) is computable anywhere. Teams start local; a firm's members may
live on any rank, and the home keeps only the team's scalars (members n, total effort E)."""
import numpy as np

from hpcabm.kernels import core as kcore

FIRM_COLUMNS = {
    "id": np.int64,        # global firm id
    "a": np.float64,       # linear returns
    "b": np.float64,       # increasing-returns coefficient
    "beta": np.float64,    # increasing-returns exponent
    "n": np.int64,         # members (employees)
    "efx": np.int64,       # total effort, fixed point (units 2^-40)
    "birth": np.int32,     # month founded
    "size_ref": np.int32,  # members at the growth reference month (-1: not alive then)
}


def founder_of(ids, n_agents):
    return np.asarray(ids, dtype=np.int64) % n_agents


class FirmStore:
    """The firms homed on this rank: struct-of-arrays with a free list and an id -> slot map."""

    def __init__(self, capacity=16):
        capacity = max(int(capacity), 16)
        for name, dt in FIRM_COLUMNS.items():
            setattr(self, name, np.zeros(capacity, dtype=dt))
        self.id[:] = -1
        self.size_ref[:] = -1
        self.free = np.arange(capacity - 1, -1, -1, dtype=np.int64)   # stack, top at n_free-1
        self.n_free = capacity
        self.map = kcore.IdMap(capacity)

    @property
    def capacity(self):
        return self.id.shape[0]

    def __len__(self):
        return self.capacity - self.n_free

    def reserve(self, extra):
        """Room for `extra` new firms without reallocation (also in the id map)."""
        extra = int(extra)
        if self.n_free < extra:
            old = self.capacity
            new = max(2 * old, old + extra - self.n_free + 16)
            for name, dt in FIRM_COLUMNS.items():
                arr = np.zeros(new, dtype=dt)
                arr[:old] = getattr(self, name)
                setattr(self, name, arr)
            self.id[old:] = -1
            self.size_ref[old:] = -1
            fresh = np.arange(new - 1, old - 1, -1, dtype=np.int64)
            self.free = np.concatenate([fresh, self.free[: self.n_free]])
            self.n_free = self.free.size
        self.map.reserve(extra)

    def add(self, ids, a, b, beta, birth, n=0, efx=0, size_ref=-1):
        ids = np.asarray(ids, dtype=np.int64)
        k = ids.size
        self.reserve(k)
        slots = self.free[self.n_free - k: self.n_free][::-1].copy()
        self.n_free -= k
        self.id[slots] = ids
        self.a[slots] = a
        self.b[slots] = b
        self.beta[slots] = beta
        self.n[slots] = n
        self.efx[slots] = efx
        self.birth[slots] = birth
        self.size_ref[slots] = size_ref
        self.map.put(ids, slots)
        return slots

    def remove(self, slots):
        slots = np.asarray(slots, dtype=np.int64)
        if slots.size == 0:
            return
        self.map.delete(self.id[slots].copy())
        self.remove_released(slots)

    def remove_released(self, slots):
        """Return slots to the free list whose ids were already removed from the map (by the
        serial reference kernel)."""
        self.id[slots] = -1
        self.n[slots] = 0
        self.efx[slots] = 0
        self.size_ref[slots] = -1
        if self.free.size < self.n_free + slots.size:
            self.free = np.concatenate([self.free, np.empty(slots.size, np.int64)])
        self.free[self.n_free: self.n_free + slots.size] = slots
        self.n_free += slots.size

    def slots_of(self, ids):
        return self.map.get(np.ascontiguousarray(ids, dtype=np.int64))

    def live_slots(self, n_agents):
        """Slots of live firms in global output order: by founder, then by id."""
        s = np.nonzero(self.id >= 0)[0]
        ids = self.id[s]
        return s[np.lexsort((ids, founder_of(ids, n_agents)))]
