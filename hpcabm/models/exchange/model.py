"""The exchange economy under `hpcabm run`: one economy at (M, G1, G2) with its CD meter attached;
each step (month) is `exchange.sweeps_per_step` sweeps and records the meter's readings (paper §2),
so a long measurement can be checkpointed and restarted on any number of ranks."""
import time

import numpy as np

from hpcabm.models.exchange.agents import parse_agent_types
from hpcabm.models.exchange.economy import Economy

SERIES = ("meter_m", "meter_g1", "meter_g2", "beta", "nu1", "nu2", "trades", "refused")


def build_economy(cfg, comm, seed=None, force_distributed=False):
    ex = cfg.exchange
    groups = parse_agent_types(ex.agent_types, int(cfg.agents), int(ex.goods))
    mt = ex.meter
    return Economy(comm, groups, int(ex.goods), int(cfg.seed if seed is None else seed),
                   meter=(mt.eta, mt.a1, mt.a2), n_meter=int(mt.agents), internal=bool(mt.internal),
                   inner=int(ex.inner), force_distributed=force_distributed)


def start(econ, cfg, M, G1, G2):
    if cfg.exchange.start == "equal":
        econ.init_equal(M, G1, G2)
    else:
        econ.init_random(M, G1, G2)


class Model:
    name = "exchange"
    table_layout = {"agents": None, "meter": "replicated"}

    def __init__(self, cfg, comm, force_distributed=False):
        self.cfg = cfg
        self.comm = comm
        self.seed = int(cfg.seed)
        self.econ = build_economy(cfg, comm, force_distributed=force_distributed)
        self.part = self.econ.part
        self.spm = int(cfg.exchange.sweeps_per_step)
        self.month = 0
        self.series = {k: [] for k in SERIES}
        self.timers = {}
        self._last = np.zeros(4, dtype=np.int64)

    def initialize(self):
        ex = self.cfg.exchange
        start(self.econ, self.cfg, float(ex.money), float(ex.good1), float(ex.good2))

    def step(self):
        t0 = time.perf_counter()
        sums = self.econ.sweeps(self.spm)
        self.month += 1
        e = self.econ
        n = max(e.n_meter, 1)
        means = sums.mean(axis=0) / n
        s = self.series
        s["meter_m"].append(float(means[0]))
        s["meter_g1"].append(float(means[1]))
        s["meter_g2"].append(float(means[2]))
        # 0.0 where there is nothing to read (no meter, or no good 2): NaN would not compare equal
        for name, c in (("beta", 0), ("nu1", 1), ("nu2", 2)):
            s[name].append(float(e.meter[c] / means[c]) if means[c] > 0 else 0.0)
        tot = e.comm.sum_int(e.counters)
        s["trades"].append(int(tot[0] - self._last[0]))
        s["refused"].append(int(tot[1] - self._last[1]))
        self._last = tot
        self.timers["sweeps"] = self.timers.get("sweeps", 0.0) + time.perf_counter() - t0

    def progress_fields(self):
        s = self.series
        return {"sweeps": self.econ.t, "beta": f"{s['beta'][-1]:.4f}" if s["beta"] else "-"}

    def state_tables(self):
        e = self.econ
        agents = {"m": e.m, "g1": e.g1, "g2": e.g2}
        meter = {"m": e.mm, "g1": e.mg1, "g2": e.mg2}
        return {"agents": agents, "meter": meter}, {"month": self.month, "sweep": e.t,
                                                   "counters": self.comm.sum_int(e.counters),
                                                   "meter_counters": e.meter_counters}

    def load_state(self, tables, attrs):
        e = self.econ
        self.month = int(attrs["month"])
        e.t = int(attrs["sweep"])
        for arr, col in ((e.m, "m"), (e.g1, "g1"), (e.g2, "g2")):
            arr[:] = tables["agents"][col]
        for arr, col in ((e.mm, "m"), (e.mg1, "g1"), (e.mg2, "g2")):
            arr[:] = tables["meter"][col]
        # global counters are kept on rank 0 so their sum over ranks is unchanged by a restart
        c = np.asarray(attrs["counters"], dtype=np.int64)
        e.counters[:] = c if self.comm.is_root else 0
        self._last = c.copy()
        mc = np.asarray(attrs["meter_counters"], dtype=np.int64)
        if e.distributed:
            e.meter_counters[:] = mc
        else:
            e.meter_counters[:] = 0

    def final_tables(self):
        e = self.econ
        agents = {"m": e.m, "g1": e.g1, "g2": e.g2}
        meter = {"meter_m": e.mm, "meter_g1": e.mg1, "meter_g2": e.mg2} if self.comm.is_root else \
            {"meter_m": e.mm[:0], "meter_g1": e.mg1[:0], "meter_g2": e.mg2[:0]}
        return {"agents": agents, "meter": meter}
