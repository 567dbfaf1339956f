"""Axtell's endogenous-firms model on the hpcabm core (seed 000; docs/models/firms.md).

Two engines share every agent rule (cython_ext/hp_labour.h):
  * `serial`: exact asynchronous activation, one agent at a time in activation-time order, each
    seeing the state the previous one left (the reference; one rank);
  * `parallel`: each month's activations are split into K sub-steps by activation time; in a
    sub-step agents choose against the state at its start (fetched from other ranks), and each
    firm then commits its events one at a time in activation-time order, re-solving every
    stayer's and joiner's best response against the team total as updated by the events before it
    (Gauss-Seidel inside each firm). With one activation per sub-step it is the serial engine,
    bit for bit; results do not depend on the number of ranks for any K."""
import time
from functools import partial

import numpy as np

from hpcabm.core import rng
from hpcabm.core.comm import BlockPartition
from hpcabm.kernels import core as kcore
from hpcabm.kernels import labour
from hpcabm.models.firms.state import FirmStore, founder_of

EFX_INV = 1.0 / labour.EFX_SCALE

SERIES = ("firms", "entries", "exits", "mean_size", "largest_firm", "singletons", "output",
          "effort", "utility", "job_changes", "exit_age_sum", "activations")

SUMMARY = np.dtype([("id", "i8"), ("a", "f8"), ("b", "f8"), ("beta", "f8"), ("n", "i8"),
                    ("efx", "i8")])
EVENT = np.dtype([("fid", "i8"), ("agent", "i8"), ("prio", "f8"), ("theta", "f8"),
                  ("efx", "i8"), ("kind", "i1")])



def order_key(key):
    """uint64 keys ordered as `key` (uint64 as is; float64 by the sign-flip of its bits, with
    -0.0 taken as +0.0, so that equal floats stay equal)."""
    if key.dtype == np.uint64:
        return np.ascontiguousarray(key)
    bits = (np.asarray(key, dtype=np.float64) + 0.0).view(np.uint64)
    neg = (bits >> np.uint64(63)) == 1
    return np.where(neg, ~bits, bits | np.uint64(1 << 63))


class Model:
    name = "firms"
    # checkpoint tables: None = rows are agents (block by id); else the sorted key column
    table_layout = {"agents": None, "firms": "founder"}
    firm_extra_columns = None      # extended by models that add firm state (massmacro)

    def __init__(self, cfg, comm):
        self.cfg = cfg
        self.comm = comm
        fc = cfg.firms
        self.N = int(cfg.agents)
        self.seed = int(cfg.seed)
        self.months = int(cfg.months)
        self.p_act = float(fc.activation)
        self.K = int(fc.substeps)
        self.omega = float(fc.endowment)
        self.nu_min, self.nu_max = int(fc.friends[0]), int(fc.friends[1])
        self.tech = (fc.a[0], fc.a[1], fc.b[0], fc.b[1], fc.beta[0], fc.beta[1])
        self.allow_start = bool(fc.startups)
        self.engine = fc.engine
        if self.engine == "serial" and comm.size > 1:
            raise ValueError("firms.engine: 'serial' runs on one rank only; use 'parallel' with "
                             f"{comm.size} ranks")
        self.part = BlockPartition(self.N, comm.size, comm.rank)
        # blocks of at least 2^16 agents (per-block arrays stay in cache), and of ~1/128 of a
        # rank's agents on very large ranks (fewer collectives per month: 2^20 at 150 M agents on
        # 2 ranks; see docs/performance.md, session 6); results do not depend on the block
        # size (tested)
        per_rank = self.N // comm.size
        self.CHUNK = max(self.CHUNK, 1 << max(int(per_rank // 128 - 1).bit_length(), 0))
        self.month = 0
        self.series = {k: [] for k in SERIES}
        self.timers = {}
        self.firms = FirmStore(self.part.lo, self.part.count, self.N, self.part.count + 16,
                               self.firm_extra_columns)
        self.efx = np.zeros(self.part.count, dtype=np.int64)
        self.firm = np.zeros(self.part.count, dtype=np.int64)
        self.join_month = np.zeros(self.part.count, dtype=np.int32)

    # -- helpers -----------------------------------------------------------------------------
    def agent_ids(self, sl=None):
        """Global ids of the local agents (of the local slice `sl` when given)."""
        if sl is None:
            return np.arange(self.part.lo, self.part.hi, dtype=np.int64)
        return np.arange(self.part.lo + sl.start, self.part.lo + sl.stop, dtype=np.int64)

    def home(self, firm_ids):
        """Home rank of firm ids: the rank holding the founder (firm id mod N)."""
        ids = np.ascontiguousarray(firm_ids, dtype=np.int64)
        return kcore.firm_home(ids.reshape(-1), self.N, self.part.size).reshape(ids.shape)

    def _tick(self, name, t0):
        t = time.perf_counter()
        self.timers[name] = self.timers.get(name, 0.0) + t - t0
        return t

    @property
    def ref_month(self):
        """Months completed when firm sizes are recorded for the 12-month growth rate."""
        return self.months - 12

    # -- initial state -----------------------------------------------------------------------
    def initialize(self):
        """All agents start alone (Axtell): agent i founds firm i and works at its best effort."""
        ids = self.agent_ids()
        slots = self.firms.add(ids, birth=0, n=0, efx=0)
        self.efx[:] = labour.commit_batch(self.seed, self.tech, ids, slots,
                                          np.full(ids.size, labour.EV_JOIN, np.int8), self.theta_of(),
                                          np.zeros(ids.size, np.int64), self.firms.n,
                                          self.firms.efx, self.omega)
        self.firm[:] = ids
        self.join_month[:] = 0
        if self.ref_month == 0:
            self._record_size_ref()

    def _record_size_ref(self):
        live = self.firms.id >= 0
        self.firms.size_ref[live] = self.firms.n[live]

    # -- one month ---------------------------------------------------------------------------
    def step(self):
        m = self.month
        # entries, exits, job changes, sum of exit ages, activations
        self._counts = np.zeros(5, dtype=np.int64)
        if self.engine == "serial":
            self._step_serial(m)
        else:
            self._step_parallel(m)
        self.month += 1
        if self.month == self.ref_month:
            self._record_size_ref()
        self._month_stats()
        self.firms.compact()

    def _activations(self, m):
        """Local agents activated in month m, in activation-time order, with their times u.
        Agent i acts iff u(seed, i, m) < activation; its sub-step is floor(K u / activation)."""
        act, ua = [], []
        for sl in self._agent_slices():        # block by block: bounded temporaries, same draws
            u = kcore.uniform(self.seed, rng.ACTIVATE, self.agent_ids(sl), m)
            a = np.nonzero(u < self.p_act)[0]
            act.append(sl.start + a)
            ua.append(u[a])
        act, ua = np.concatenate(act), np.concatenate(ua)
        order = np.lexsort((act, ua))
        return act[order], ua[order]

    def _step_serial(self, m):
        t0 = time.perf_counter()
        act, _ = self._activations(m)
        self._counts[4] += act.size
        fs = self.firms
        fs.reserve(act.size)
        counters = np.zeros(4, dtype=np.int64)
        labour.reference_month(
            self.seed, m, self.N, self.omega, self.nu_min, self.nu_max, self.tech,
            self.allow_start, act, self.theta_of(), self.efx, self.firm, self.join_month,
            fs.id, fs.n, fs.efx, fs.birth, fs.size_ref, fs.head, fs.next, fs.free_head, counters)
        fs.n_live += int(counters[0] - counters[1])
        self._counts[:4] += counters
        self._tick("serial", t0)

    def _step_parallel(self, m):
        t0 = time.perf_counter()
        act, ua = self._activations(m)
        self._counts[4] += act.size
        k = np.minimum((ua / self.p_act * self.K).astype(np.int64), self.K - 1)
        steps = np.unique(self.comm.allgather_concat(np.unique(k)))
        lo = np.searchsorted(k, steps, side="left")
        hi = np.searchsorted(k, steps, side="right")
        self._tick("activation", t0)
        for s in range(steps.size):
            self._substep(m, act[lo[s]:hi[s]], ua[lo[s]:hi[s]])

    def _substep(self, m, li, prio):
        """One sub-step: snapshot choices, then serialised commits at the firms' home ranks."""
        comm, fs, N = self.comm, self.firms, self.N
        t0 = time.perf_counter()
        agents = self.part.lo + li
        own = self.firm[li]
        efx_old = self.efx[li]
        theta = self.theta_of(li)
        # 1. friends' employers (request/reply to the friends' home ranks)
        fptr, friend_firm = self.fetch_friend_firms(agents)
        t0 = self._tick("friends", t0)
        # 2. summaries of own and friends' firms, deduplicated per (rank, firm)
        c, inv = self.fetch_summaries(np.concatenate([own, friend_firm]))
        own_idx = inv[: li.size]
        cand_idx = inv[li.size:]
        t0 = self._tick("summaries", t0)
        # 3. choices against the snapshot
        new_ids = (m + 1) * N + agents
        st_a, st_b, st_beta = labour.technology(self.seed, new_ids, self.tech)
        choice = labour.choose_batch(theta, efx_old, own_idx, fptr, cand_idx, c["id"], c["a"],
                                     c["b"], c["beta"], c["n"], c["efx"], st_a, st_b, st_beta,
                                     self.omega, self.allow_start)
        stay = choice == labour.CHOICE_STAY
        start = choice == labour.CHOICE_STARTUP
        move = ~stay
        target = np.where(start, new_ids, c["id"][np.maximum(choice, 0)])
        t0 = self._tick("choose", t0)
        # start-ups are homed here (the founder's rank) before the events arrive
        if start.any():
            fs.add(new_ids[start], birth=m)
        # 4. events to the firms' homes: STAY, or LEAVE old + JOIN new
        nm = int(move.sum())
        ev = np.empty(li.size + nm, dtype=EVENT)
        ev["fid"][: li.size] = own
        ev["agent"][: li.size] = agents
        ev["prio"][: li.size] = prio
        ev["theta"][: li.size] = theta
        ev["efx"][: li.size] = efx_old
        ev["kind"][: li.size] = np.where(stay, labour.EV_STAY, labour.EV_LEAVE)
        j = ev[li.size:]
        j["fid"] = target[move]
        j["agent"] = agents[move]
        j["prio"] = prio[move]
        j["theta"] = theta[move]
        j["efx"] = 0
        j["kind"] = labour.EV_JOIN
        new_efx = comm.fetch(self.home(ev["fid"]), ev, self._serve_events)
        t0 = self._tick("commit", t0)
        # 5. agents take the replies (new effort)
        eff = np.where(stay, new_efx[: li.size], 0)
        eff[move] = new_efx[li.size:]
        self.efx[li] = eff
        lm = li[move]
        self.firm[lm] = target[move]
        self.join_month[lm] = m
        self._counts[0] += int(start.sum())
        self._counts[2] += nm
        self._tick("apply", t0)

    def theta_of(self, local_idx=None):
        """Income weights theta_i ~ U[0, 1] of local agents (all when local_idx is None; a slice or
        local indices otherwise), regenerated from their stream (seed, THETA, agent id) rather
        than stored: 8 B/agent less."""
        if local_idx is None or isinstance(local_idx, slice):
            ids = self.agent_ids(local_idx)
        else:
            ids = self.part.lo + np.asarray(local_idx, dtype=np.int64)
        return kcore.uniform(self.seed, rng.THETA, ids, 0)

    def fetch_friend_firms(self, agents):
        """Friend lists (CSR) of `agents` and each friend's current employer (-1: none), fetched
        from the friends' home ranks."""
        fptr, fids = labour.friends(self.seed, agents, self.N, self.nu_min, self.nu_max)
        lo = self.part.lo
        friend_firm = self.comm.fetch(self.part.owner(fids), fids, lambda q: self.firm[q - lo])
        return fptr, friend_firm

    def fetch_summaries(self, firm_ids, serve=None):
        """Summary rows (dict of contiguous columns, see _serve_summaries) of the distinct firms in
        firm_ids, fetched once per (rank, firm) from their homes, and each input's row (-1 for
        ids < 0, i.e. no firm)."""
        _, summ, inv = self.fetch_distinct(firm_ids, serve or self._serve_summaries)
        return {f: np.ascontiguousarray(summ[f]) for f in summ.dtype.names}, inv

    def fetch_distinct(self, firm_ids, serve):
        """The distinct firm ids >= 0 of firm_ids, serve()'s reply for each (asked once per
        (rank, firm) at the firm's home), and each input's row in them (-1 for ids < 0)."""
        firm_ids = np.ascontiguousarray(firm_ids, dtype=np.int64)
        valid = firm_ids >= 0
        if valid.all():
            uniq, inv = kcore.unique_ids(firm_ids)
        else:
            uniq, inv_v = kcore.unique_ids(firm_ids[valid])
            inv = np.full(firm_ids.size, -1, dtype=np.int64)
            inv[valid] = inv_v
        return uniq, self.comm.fetch(self.home(uniq), uniq, serve), inv

    def _firms_dying(self, slots):
        """Hook called at a firm's home just before firms die (massmacro settles their cash)."""

    def _serve_summaries(self, ids):
        fs = self.firms
        s = fs.slots_of(ids)
        if (s < 0).any():
            raise RuntimeError(f"firm summary requested for unknown firm {ids[s < 0][:5]}")
        out = np.empty(ids.size, dtype=SUMMARY)
        out["id"] = ids
        out["a"], out["b"], out["beta"] = labour.technology(self.seed, ids, self.tech)
        out["n"] = fs.n[s]
        out["efx"] = fs.efx[s]
        return out

    def _serve_events(self, ev):
        """Commit one sub-step's events at their firms' home, each firm's events one at a time in
        activation-time order (ties by agent id); firms left empty die."""
        fs = self.firms
        slots = fs.slots_of(ev["fid"])
        if (slots < 0).any():
            raise RuntimeError(f"event for unknown firm {ev['fid'][slots < 0][:5]}")
        # each firm's events in (activation time, agent) order; firms are independent
        order = kcore.queue_order(slots.astype(np.int64), fs.capacity, order_key(ev["prio"]),
                                  np.ascontiguousarray(ev["agent"]))
        out = np.empty(ev.size, dtype=np.int64)
        so = slots[order]
        out[order] = labour.commit_batch(self.seed, self.tech, ev["fid"][order], so,
                                         ev["kind"][order], ev["theta"][order], ev["efx"][order],
                                         fs.n, fs.efx, self.omega)
        dead = np.unique(so[fs.n[so] == 0])          # firms left empty (sorted, once each)
        if dead.size:
            self._counts[1] += dead.size
            self._counts[3] += int((self.month - fs.birth[dead].astype(np.int64)).sum())
            self._firms_dying(dead)
            fs.remove(dead)
        return out

    # -- statistics --------------------------------------------------------------------------
    CHUNK = 1 << 16      # agents per block in passes that bound their temporaries (at least)

    def _slices(self, n, size):
        """[0, n) in consecutive slices of at most `size`, the same number of slices on every rank
        (at least one; a slice may run collectives)."""
        count = max(self.comm.max_int(-(-n // size)), 1)
        return [slice(min(c * size, n), min((c + 1) * size, n)) for c in range(count)]

    def _agent_slices(self):
        """Local agents in blocks of CHUNK, the same number of blocks on every rank, so that
        per-agent temporaries stay bounded."""
        return self._slices(self.part.count, self.CHUNK)

    def _agent_chunks(self):
        return [np.arange(sl.start, sl.stop) for sl in self._agent_slices()]

    def firm_values_for_agents(self, per_slot, fill=0):
        """For every local agent, the value per_slot[s] of its firm (slot s at the firm's home;
        `fill` for an agent with no firm): read here for firms homed here, fetched (deduplicated
        per firm) for the others. This is the monthly firm -> member-rank message: one value per
        (firm, rank) pair per block of agents (wages, layoff flags, output shares)."""
        out = np.full(self.firm.size, fill, dtype=per_slot.dtype)
        for sl in self._agent_slices():
            out[sl] = self.firm_values_block(per_slot, sl, fill)
        return out

    def firm_values_block(self, per_slot, sl, fill=0):
        """firm_values_for_agents for the local agents of slice `sl` (of _agent_slices: every rank
        calls it for its blocks in step, since it runs one collective exchange)."""
        firm = self.firm[sl]
        o = np.full(firm.size, fill, dtype=per_slot.dtype)
        emp = firm >= 0
        founder = np.where(emp, firm % self.N, -1)
        here = emp & (founder >= self.part.lo) & (founder < self.part.hi)
        del founder
        loc = np.nonzero(here)[0]
        o[loc] = per_slot[self.firms.slots_of(firm[loc])]
        remote = np.nonzero(emp & ~here)[0]
        uniq, inv = kcore.unique_ids(firm[remote])
        vals = self.comm.fetch(self.home(uniq), uniq, lambda q: per_slot[self.firms.slots_known(q)])
        o[remote] = vals[inv]
        return o

    def firm_rows_block(self, per_slot, sl):
        """firm_values_block for several int64 values per firm at once: per_slot is (capacity, k);
        returns (agents of `sl`, k), zeros for agents with no firm. One firm look-up per agent
        and one exchange for all k values."""
        firm = self.firm[sl]
        k = per_slot.shape[1]
        o = np.empty((firm.size, k), dtype=np.int64)
        fs = self.firms
        remote = labour.firm_rows_local(firm, fs.head, fs.next, fs.id, self.part.lo, self.part.hi,
                                        self.N, per_slot, o)
        uniq, inv = kcore.unique_ids(firm[remote])
        row = np.dtype((np.void, 8 * k))         # k int64 per record through the exchange
        rows = per_slot.view(row).reshape(-1)

        def serve(q):                            # prefetched gathers of whole rows
            return kcore.take_records(rows, self.firms.slots_known(q).astype(np.int64))
        vals = self.comm.fetch(self.home(uniq), uniq, serve)
        o[remote] = kcore.take_records(vals, inv).view(np.int64).reshape(-1, k)
        return o

    def _live_output(self, live):
        fs = self.firms
        a, b, beta = labour.technology(self.seed, fs.id[live], self.tech)
        return labour.output(a, b, beta, fs.efx[live] * EFX_INV)

    def _month_stats(self):
        t0 = time.perf_counter()
        comm, fs = self.comm, self.firms
        live = np.nonzero(fs.id >= 0)[0]
        n = fs.n[live]
        O = self._live_output(live)
        share_by_slot = np.zeros(fs.capacity)
        share_by_slot[live] = O / n
        # one sweep over the agents, block by block: effort, and utility of those whose firm is
        # homed here; the others' shares are fetched once per (rank, firm) and block (exact sums:
        # the blocks do not change the result)
        acc_u = np.zeros((kcore.N_BUCKETS, 2), dtype=np.int64)
        acc_e = np.zeros_like(acc_u)
        for sl in self._agent_slices():
            theta = self.theta_of(sl)
            remote = self._stats_block(sl, theta, share_by_slot, acc_u, acc_e)
            uniq, inv = kcore.unique_ids(self.firm[sl.start + remote])
            shares = comm.fetch(self.home(uniq), uniq,
                                lambda q: kcore.take(share_by_slot, fs.slots_known(q).astype(np.int64)))
            self._remote_utility(theta[remote], self.efx[sl.start + remote], kcore.take(shares, inv),
                                 acc_u)
        employed = int((self.firm >= 0).sum())          # all agents here; not in massmacro
        ints = comm.sum_int(np.array([live.size, int((n == 1).sum()), *self._counts, employed],
                                     np.int64))
        largest = comm.max_int(int(n.max()) if n.size else 0)
        output, utility, effort = comm.exact_sums_of_parts([kcore.exact_sum_parts(O), acc_u, acc_e])
        firms = int(ints[0])
        s = self.series
        s["firms"].append(firms)
        s["singletons"].append(int(ints[1]))
        s["entries"].append(int(ints[2]))
        s["exits"].append(int(ints[3]))
        s["job_changes"].append(int(ints[4]))
        s["exit_age_sum"].append(int(ints[5]))
        s["activations"].append(int(ints[6]))
        s["largest_firm"].append(largest)
        s["mean_size"].append(int(ints[7]) / max(firms, 1))
        s["output"].append(output)
        s["utility"].append(utility / self.N)
        s["effort"].append(effort / self.N)
        self._tick("stats", t0)

    def _stats_block(self, sl, theta, share_by_slot, acc_u, acc_e):
        """The monthly statistics sweep over the agents of slice `sl` (income weights theta):
        effort, and utility of those whose firm is homed here, into exact-sum buckets; returns
        the local indices (in `sl`) of agents whose firm lives elsewhere (models with more
        per-agent statistics override it and add them in the same pass)."""
        fs = self.firms
        return labour.agent_month_pass(self.firm[sl], self.efx[sl], theta, fs.head, fs.next, fs.id,
                                       self.part.lo, self.part.hi, self.N, share_by_slot,
                                       self.omega, acc_u, acc_e)

    def _remote_utility(self, theta, efx, share, acc_u):
        """Utility of the agents _stats_block left out, given their firms' shares."""
        labour.accumulate_utility(theta, efx, share, self.omega, acc_u)

    def progress_fields(self):
        return {"agents": self.N, "firms": self.series["firms"][-1] if self.series["firms"] else 0}

    # -- state I/O -------------------------------------------------------------------------
    def state_tables(self):
        """Everything needed to continue bitwise-identically: agent rows (block by id), firm rows
        (by founder), month, series. Random streams are keyed by month: no generator state."""
        agents = {"efx": self.efx, "firm": self.firm, "join_month": self.join_month}
        s = self.firms.live_slots()
        firms = {"founder": lambda: founder_of(self.firms.id[s], self.N)}
        for k in self._state_firm_columns():                   # deferred: built when written
            firms[k] = partial(self.firm_column, k, s)
        return {"agents": agents, "firms": firms}, {"month": self.month}

    def _state_firm_columns(self):
        """Firm-store columns a checkpoint holds (models with more firm state extend it)."""
        return ("id", "n", "efx", "birth", "size_ref")

    def firm_column(self, name, slots):
        """Column `name` of the firms in `slots` (deferred state columns)."""
        return getattr(self.firms, name)[slots]

    def load_state(self, tables, attrs):
        self.month = int(attrs["month"])
        ag, fr = tables["agents"], tables["firms"]
        self.efx[:] = ag["efx"]
        self.firm[:] = ag["firm"]
        self.join_month[:] = ag["join_month"]
        ids = np.ascontiguousarray(fr["id"], dtype=np.int64)
        self.firms = FirmStore(self.part.lo, self.part.count, self.N, ids.size + ids.size // 4 + 16,
                               self.firm_extra_columns)
        self.firms.add(ids, birth=fr["birth"], n=fr["n"], efx=fr["efx"], size_ref=fr["size_ref"])

    def final_tables(self):
        """End-of-run cross sections for results.h5 /final (firm rows by founder; agent rows by id)."""
        fs = self.firms
        s = fs.live_slots()
        n = fs.n[s]
        ref = fs.size_ref[s]
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.where(ref > 0, np.log(n / np.maximum(ref, 1)), np.nan)
        firms = {
            "firm_id": fs.id[s],
            "firm_size": n,
            "firm_age": (self.month - fs.birth[s]).astype(np.int32),
            "firm_output": self._live_output(s),
            "firm_growth": growth,
        }
        agents = {}
        if self.cfg.output.tenure:
            agents["tenure"] = (self.month - self.join_month).astype(np.int32)
        return {"firms": firms, "agents": agents}
