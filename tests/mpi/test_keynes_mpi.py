"""keynes_daily under MPI: a member computed redundantly by every rank of a group equals the
one-rank run bitwise, and a Halton-seeded ensemble's members equal serial runs of their seeds."""
import os
import shutil
import tempfile

import numpy as np
import pytest
from mpi4py import MPI

from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.core.ensemble import halton_seeds, load_ensemble, plan, run_ensemble
from hpcabm.models.keynes_daily import Model
from tests.mpi.replicated import assert_replicated_member_equals_one_rank

pytestmark = pytest.mark.mpi(min_size=2)
CFG = ("model: keynes_daily\nagents: 400\nmonths: 40\nseed: 4\ncheckpoint: {every: 0}\n"
       "keynes: {firms: 40, banks: 3, money0: 40000.0, demand_day: 32, crisis_day: 36, crisis: equity+npl}\n")


def test_replicated_member_equals_one_rank():
    assert_replicated_member_equals_one_rank(Model, CFG, 40)


def test_halton_ensemble_members_equal_serial_runs():
    """Two Halton-seeded members run in groups of one rank: each equals an in-process run of its seed."""
    world = Comm()
    d = world.bcast(tempfile.mkdtemp(prefix="kd_ens_") if world.is_root else None)
    try:
        cfg = os.path.join(d, "cfg.yaml")
        if world.is_root:
            with open(cfg, "w") as f:
                f.write(CFG)
        world.barrier()
        base, keys, members = plan(cfg, 2, [], seeds="halton")
        quiet = lambda *a, **k: None
        assert run_ensemble(world, os.path.join(d, "g1"), base, keys, members, 1, log=quiet) == 0
        if world.is_root:
            e = load_ensemble(os.path.join(d, "g1"))
            assert list(e["members"]["seed"]) == halton_seeds(2)
            for i, sd in enumerate(halton_seeds(2)):
                m = Model(load_config(text=CFG, overrides=[f"seed={sd}"]), Comm(MPI.COMM_SELF))
                m.initialize()
                for _ in range(40):
                    m.step()
                for n, v in m.series.items():
                    assert e["series"][n][i].tobytes() == np.asarray(v).tobytes(), n
    finally:
        world.barrier()
        if world.is_root:
            shutil.rmtree(d, ignore_errors=True)


# -- the partitioned variant (market: pro_rata): households and firms split over the ranks ---------------
PCFG = ("model: keynes_daily\nagents: 600\nmonths: 60\nseed: 9\ncheckpoint: {every: 0}\n"
        "keynes: {firms: 50, banks: 3, money0: 60000.0, market: pro_rata, demand_day: 20, crisis_day: 40,\n"
        "         crisis: equity+npl, entry_rate: 0.01, e_star: 0.0, dividends: pro_rata_wealth}\n")


def partitioned_run(comm, days=60):
    m = Model(load_config(text=PCFG), comm)
    m.initialize()
    for _ in range(days):
        m.step()
    f = m.f
    firms = {c: comm.allgather_concat(np.asarray(f[c], dtype=np.float64)) for c in ("id", "A", "cash", "debt", "P", "L")}
    o = np.argsort(firms["id"])
    hh = {c: comm.allgather_concat(np.asarray(m.h[c], dtype=np.float64)) for c in ("dep", "employer", "resw", "c")}
    return m, {k: np.asarray(v) for k, v in m.series.items()}, {c: v[o] for c, v in firms.items()}, hh


def test_partitioned_equals_one_rank_bitwise():
    """Series, every household and every firm: bitwise the same on 1 rank and on this many ranks."""
    world = Comm()
    m, a, fa, ha = partitioned_run(world)
    assert m.part.count < m.nh and m.f["id"].size < m.nf_total          # really partitioned
    assert a["deposits_h"][-1] == world.exact_sum(m.h["dep"]) and a["loans"][-1] == world.exact_sum(m.f["debt"])
    gathered = world.allgather(a["gdp"].tobytes())
    assert all(g == gathered[0] for g in gathered)
    if not world.is_root:
        return
    _, b, fb, hb = partitioned_run(Comm(MPI.COMM_SELF))
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), k
    for x, y in ((fa, fb), (ha, hb)):
        for k in x:
            assert x[k].tobytes() == y[k].tobytes(), k
    # the run exercised the machinery: entries, exits, the NPL crisis, rationing, hiring and firing
    assert a["entries"].sum() > 0 and a["exits"].sum() > 0 and a["bad_debt"].sum() > 0
    assert a["unmet"].max() > 0 and a["hired"].sum() > 0 and a["fired"].sum() > 0
    # stock-flow identities every day
    money = a["deposits_h"] + a["deposits_f"]
    assert np.all(np.abs(a["sf_error"]) <= 1e-11 * money) and np.all(np.abs(a["sf_money"]) <= 1e-11 * money)


def test_partitioned_restart_across_rank_counts():
    """A checkpoint written by this many ranks, read back by one rank, continues bitwise."""
    from hpcabm.core.runner import run
    world = Comm()
    d = world.bcast(tempfile.mkdtemp(prefix="kd_part_") if world.is_root else None)
    try:
        cfg = load_config(text=PCFG, overrides=["months=24", "checkpoint.every=12"])
        assert run(cfg, world, os.path.join(d, "r"), log=lambda *a, **k: None) == 0
        world.barrier()
        if world.is_root:
            from hpcabm.core.checkpoint import read_checkpoint
            self_comm = Comm(MPI.COMM_SELF)
            m = Model(load_config(text=PCFG), self_comm)
            read_checkpoint(self_comm, os.path.join(d, "r", "checkpoints", "ckpt_m0000012.h5"), m)
            for _ in range(12):
                m.step()
            ref = Model(load_config(text=PCFG), self_comm)
            ref.initialize()
            for _ in range(24):
                ref.step()
            for k in ref.series:
                assert np.asarray(m.series[k]).tobytes() == np.asarray(ref.series[k]).tobytes(), k
    finally:
        world.barrier()
        if world.is_root:
            shutil.rmtree(d, ignore_errors=True)


def test_exchange_grouped_round_trip():
    """Comm.exchange_grouped / reply_grouped (records pre-grouped by destination, used by the pro-rata
    rounds): every rank receives its records in rank order and the replies come back in place."""
    world = Comm()
    n = 5 + world.rank
    dest = np.arange(n) % world.size
    order = np.argsort(dest, kind="stable")
    rec = np.zeros(n, dtype=[("src", np.int64), ("k", np.int64)])
    rec["src"], rec["k"] = world.rank, order
    recv, route = world.exchange_grouped(np.bincount(dest, minlength=world.size), rec)
    assert np.all(np.diff(recv["src"]) >= 0)
    assert all((recv["k"][recv["src"] == s] % world.size == world.rank).all() for s in range(world.size))
    back = world.reply_grouped(route, recv["k"] * 10 + recv["src"])
    assert np.array_equal(back, order * 10 + world.rank)
