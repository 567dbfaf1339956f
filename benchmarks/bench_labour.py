#!/usr/bin/env python
"""Benchmark of the endogenous-firms labour engine (issue 2). Run on 1 or more ranks:

    .venv/bin/python benchmarks/bench_labour.py --agents 1000000 --warmup 24 --months 6
    mpiexec -n 2 .venv/bin/python benchmarks/bench_labour.py --agents 1000000

Prints (rank 0):
  * activations per second per core of the parallel engine (timed months after a warm-up that
    takes the economy out of its all-singletons start), and agent-months per second per core
    (the whole month, including the per-agent utility/statistics pass);
  * time per phase;
  * bytes of model state per agent (agent arrays + firm store + id map, summed over ranks);
  * checkpoint write and read throughput (GB/s) of this state;
  * the same timed months on the serial exact-asynchronous reference engine on one rank, run in
    the same process from the same warmed-up state, and the ratio of the two speeds."""
import argparse
import os
import shutil
import tempfile
import time

from mpi4py import MPI

from hpcabm.core.checkpoint import find_restart, read_checkpoint, write_checkpoint
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.firms import Model


def state_bytes(m):
    return sum(a.nbytes for a in (m.efx, m.firm, m.join_month)) + m.firms.nbytes()


def timed_months(m, months):
    m.timers.clear()
    a0 = sum(m.series["activations"])
    t0 = time.perf_counter()
    for _ in range(months):
        m.step()
    el = m.comm.max_int(int((time.perf_counter() - t0) * 1e9)) / 1e9
    return el, sum(m.series["activations"]) - a0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agents", type=int, default=1_000_000)
    p.add_argument("--warmup", type=int, default=24)
    p.add_argument("--months", type=int, default=6)
    p.add_argument("--substeps", type=int, default=10)
    p.add_argument("--no-serial", action="store_true")
    a = p.parse_args()
    comm = Comm()
    P = comm.size
    say = print if comm.is_root else (lambda *x, **k: None)
    text = (f"model: firms\nagents: {a.agents}\nmonths: {a.warmup + a.months}\nseed: 1\n"
            f"firms: {{substeps: {a.substeps}}}\n")
    cfg = load_config(text=text)
    m = Model(cfg, comm)
    t0 = time.perf_counter()
    m.initialize()
    t_init = time.perf_counter() - t0
    for _ in range(a.warmup):
        m.step()
    el, acts = timed_months(m, a.months)
    say(f"# labour engine benchmark: N = {a.agents}, {P} rank(s), K = {a.substeps}, "
        f"timed months {a.warmup}..{a.warmup + a.months}, firms {m.series['firms'][-1]}")
    say(f"init: {t_init:.2f} s")
    say(f"parallel engine: {el / a.months:.4f} s/month, {acts / a.months:.0f} activations/month")
    say(f"  activations/s/core:  {acts / el / P:.4g}")
    say(f"  agent-months/s/core: {a.agents * a.months / el / P:.4g}")
    tim = comm.allgather(m.timers)
    phases = sorted(tim[0])
    say("  phases (s/month, max over ranks): " + ", ".join(
        f"{k} {max(t.get(k, 0) for t in tim) / a.months:.4f}" for k in phases))
    sb = comm.sum_int(state_bytes(m))
    say(f"state: {sb / a.agents:.1f} bytes/agent ({sb / 2**20:.1f} MiB in all)")
    # checkpoint throughput
    d = comm.bcast(tempfile.mkdtemp(prefix="hpcabm-bench-", dir=os.environ.get("BENCH_TMP")) if comm.is_root else None)
    comm.barrier()
    t0 = time.perf_counter()
    path = write_checkpoint(comm, d, m, cfg.yaml())
    tw = time.perf_counter() - t0
    size = os.path.getsize(path) if comm.is_root else 0
    size = comm.bcast(size)
    m2 = Model(cfg, comm)
    comm.barrier()
    t0 = time.perf_counter()
    read_checkpoint(comm, find_restart(comm, path), m2)
    tr = time.perf_counter() - t0
    say(f"checkpoint: {size / 1e6:.1f} MB ({size / a.agents:.1f} B/agent); write+verify {tw:.2f} s = "
        f"{size / tw / 1e9:.3f} GB/s; verify+read {tr:.2f} s = {size / tr / 1e9:.3f} GB/s")
    # serial reference from the same state (rank 0, one process)
    if not a.no_serial and comm.is_root:
        self_comm = Comm(MPI.COMM_SELF)
        ms = Model(load_config(text=text.replace("substeps", "engine: serial, substeps")), self_comm)
        read_checkpoint(self_comm, path, ms)
        es, acts_s = timed_months(ms, a.months)
        print(f"serial reference (1 rank): {es / a.months:.4f} s/month, activations/s {acts_s / es:.4g}, "
              f"agent-months/s {a.agents * a.months / es:.4g}")
        print(f"ratio parallel-engine per-core speed / serial reference: "
              f"{(a.agents * a.months / el / P) / (a.agents * a.months / es):.3f}")
    comm.barrier()
    if comm.is_root:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
