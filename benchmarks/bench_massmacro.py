#!/usr/bin/env python
"""Benchmark of MASs Macro (issue 6): speed by phase and memory per agent.

    .venv/bin/python benchmarks/bench_massmacro.py --agents 1000000 --warmup 6 --months 3
    mpiexec -n 2 .venv/bin/python benchmarks/bench_massmacro.py --agents 10000000 --warmup 2 --months 2
    mpiexec -n 2 .venv/bin/python benchmarks/bench_massmacro.py --restart runs/mm1e6 --warmup 1 --months 3

With --restart DIR the model is read from the newest valid checkpoint under DIR (written by `hpcabm
run`, any rank count; its config is used) instead of the all-singletons start, so the months timed
are those of a run after its burn-in rather than the first months' transient.

Prints (rank 0): seconds per simulated month, seconds per month per million agents per core, the
split by phase (labour, C market, D market, I market, wages, switching, statistics; communication is
inside each phase), bytes of model state per agent (agent arrays + firm store, summed over ranks)
and the peak resident memory of the ranks (ru_maxrss) per agent. Also the CPU time of all ranks per
month, which a machine shared with other jobs inflates far less than wall time."""
import argparse
import resource
import sys
import time

from hpcabm.core.checkpoint import find_restart, read_checkpoint
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.massmacro import Model


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss():
    """Reset this process's high-water mark (Linux: 5 > /proc/self/clear_refs); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def state_bytes(m):
    arrays = [m.efx, m.firm, m.join_month]
    if m.market_on:         # goods-market state exists once the markets have started
        arrays += [m.money, m.ybar, m.wres, m.income, m.durable, m.cs.rows, m.ds.rows, m.rationed,
                   m.spell_start, m.emp_sector]
    return sum(a.nbytes for a in arrays) + m.firms.nbytes() + (m.book.nbytes() if m.market_on else 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agents", type=int, default=1_000_000)
    p.add_argument("--warmup", type=int, default=6)
    p.add_argument("--months", type=int, default=3)
    p.add_argument("--markets-from", type=int, default=0)
    p.add_argument("--restart", help="run directory (or checkpoint) to start from")
    p.add_argument("--chunk", type=int, help="agents per block of the blocked passes (default: the model's CHUNK)")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the in-process C-round comparison (it copies the households' market state)")
    p.add_argument("--phase-memory-log", action="store_true",
                   help="with --phase-memory: every rank prints each phase's peak to stderr as it ends")
    p.add_argument("--phase-memory", action="store_true",
                   help="also print the peak resident memory of each phase (Linux: resets VmHWM per phase)")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="profile the timed months on rank 0 (cProfile) and print the N functions "
                        "with the most own time")
    a = p.parse_args()
    comm = Comm()
    P = comm.size
    say = print if comm.is_root else (lambda *x, **k: None)
    t0 = time.perf_counter()
    if a.restart:
        import h5py
        path = find_restart(comm, a.restart, log=say)
        with h5py.File(path, "r") as f:
            text = str(f.attrs["config"])
        cfg = load_config(text=text)
        a.agents = int(cfg.agents)
        m = Model(cfg, comm)
        read_checkpoint(comm, path, m)
        say(f"# started from {path} (month {m.month})")
    else:
        cfg = load_config(text=f"model: massmacro\nagents: {a.agents}\nmonths: {a.warmup + a.months}\n"
                               f"seed: 1\nmassmacro: {{markets_from: {a.markets_from}}}\n")
        m = Model(cfg, comm)
        m.initialize()
    t_init = comm.max_int(int((time.perf_counter() - t0) * 1e3)) / 1e3
    if a.chunk:
        m.CHUNK = a.chunk
    if a.phase_memory:
        watch_phase_memory(m, log=a.phase_memory_log)
        if m.markets and not m.market_on and m.month >= m.markets_from:
            t1 = time.perf_counter()
            m._start_markets()                # the first step would do it; here it is a phase
            m._tick("markets' start", t1)
    for _ in range(a.warmup):
        m.step()
    m.timers.clear()
    comm.mpi_seconds = 0.0
    rss_before = comm.sum_int(_status_kb("VmRSS") * 1024)
    hwm_reset = comm.min_int(int(reset_peak_rss())) == 1
    t0 = time.perf_counter()
    c0 = time.process_time()
    prof = None
    if a.profile and comm.is_root:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    for _ in range(a.months):
        m.step()
    if prof is not None:
        prof.disable()
    hwm_local = _status_kb("VmHWM") * 1024
    if a.phase_memory:    # the high-water mark was reset at every phase: the months' peak is theirs
        hwm_local = max([hwm_local, *m.phase_peak.values()])
    hwm_months = comm.sum_int(hwm_local)
    el = comm.max_int(int((time.perf_counter() - t0) * 1e6)) / 1e6
    cpu = comm.sum_int(int((time.process_time() - c0) * 1e6)) / 1e6
    per = el / a.months
    say(f"# MASs Macro benchmark: N = {a.agents}, {P} rank(s), timed months {m.month - a.months}..{m.month}, "
        f"firms {m.series['firms'][-1]}, unemployment {m.series['unemployment_rate'][-1]:.3f}")
    say(f"init: {t_init:.1f} s")
    say(f"{per:.3f} s/month; {per * P / (a.agents / 1e6):.3f} s per month per million agents per core")
    say(f"CPU time of all ranks: {cpu / a.months:.3f} s/month = {cpu / a.months / (a.agents / 1e6):.3f} CPU-s "
        f"per month per million agents (on a shared machine this, not wall time, is the figure to compare; "
        f"with several ranks it includes MPI's busy waiting)")
    tim = comm.allgather(m.timers)
    groups = {"labour": ["labour"], "C market": ["C market"], "D market": ["D market"],
              "I market": ["I market"], "wages": ["wages"], "switching": ["switching"],
              "production+pricing": ["production+pricing"], "statistics": ["stats"]}
    say("phases (s/month, max over ranks): " + ", ".join(
        f"{g} {max(sum(t.get(k, 0) for k in ks) for t in tim) / a.months:.3f}" for g, ks in groups.items()))
    mpi_s = comm.allgather(comm.mpi_seconds / a.months)
    say("communication (inside the phases above: reductions and all-to-alls, including waiting for "
        "the slowest rank), s/month per rank: " + ", ".join(f"{x:.3f}" for x in mpi_s))
    sub = ["activation", "friends", "summaries", "choose", "commit", "apply"]
    say("  inside labour: " + ", ".join(f"{k} {max(t.get(k, 0) for t in tim) / a.months:.3f}" for k in sub))
    say(f"resident memory of all ranks before the timed months {rss_before / a.agents:.0f} bytes/agent; "
        + (f"peak during the timed months {hwm_months / a.agents:.0f} bytes/agent ({hwm_months / 2**30:.2f} GiB)"
           if hwm_reset else "(peak of the timed months not measurable here)"))
    if a.phase_memory:
        report_phase_memory(m, comm, say, a.agents)
    if prof is not None:
        import pstats
        pstats.Stats(prof).sort_stats("tottime").print_stats(a.profile)
    if m.market_on and not a.no_reference:
        c_round_reference(m, comm, say)
    sb = comm.sum_int(state_bytes(m))
    # (with --phase-memory the kernel's high-water mark was reset at every phase, which also resets
    # ru_maxrss: the phase peaks above are then the figures to read)
    rss = comm.sum_int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    say(f"{'' if m.market_on else f'(markets not started by month {m.month}) '}state: {sb / a.agents:.1f} "
        f"bytes/agent; peak RSS of all ranks over the whole process (initialisation and any comparison "
        f"rounds included) {rss / 2**30:.2f} GiB = {rss / a.agents:.0f} bytes/agent")


def watch_phase_memory(m, log=False):
    """Record, at every phase boundary (`_tick`), the peak resident memory since the previous one."""
    m.phase_peak = {}
    reset_peak_rss()
    tick = m._tick

    def _tick(name, t0):
        hwm = _status_kb("VmHWM") * 1024
        m.phase_peak[name] = max(m.phase_peak.get(name, 0), hwm)
        if log:            # as it happens, so that a run killed for memory leaves its trace
            print(f"[rank {m.comm.rank}] month {m.month} {name}: peak resident {hwm / 2**30:.2f} GiB",
                  file=sys.stderr, flush=True)
        reset_peak_rss()
        return tick(name, t0)
    m._tick = _tick


def report_phase_memory(m, comm, say, agents):
    """Peak resident memory per phase (all warm-up and timed months), summed over ranks."""
    names = comm.allgather(sorted(m.phase_peak))[0]
    peaks = {k: comm.sum_int(m.phase_peak.get(k, 0)) for k in names}
    say("peak resident memory by phase, all ranks, bytes/agent: " + ", ".join(
        f"{k} {v / agents:.0f}" for k, v in sorted(peaks.items(), key=lambda kv: -kv[1])))


def c_round_reference(m, comm, say):
    """One C-market round in the same process by the NumPy twin, the id kernel and the model's
    seller-book kernel (CPU of all ranks)."""
    import numpy as np
    from hpcabm.models.massmacro import markets
    budget = np.maximum(np.minimum(m.money, m.ybar.astype(np.int64)), 0)
    ids0 = m.cs.ids()
    act0 = markets.bitset(ids0 >= 0)
    cpu_round = {}
    for name, fn in (("numpy", markets.buyers_round_numpy), ("kernel", markets.buyers_round),
                     ("rows", None)):
        cs, act, left = ids0.copy(), act0.copy(), budget.copy()
        units, rat = np.zeros(m.part.count), np.zeros(m.part.count, dtype=np.uint8)
        rows = m.cs.rows.copy()
        c0 = time.process_time()
        if fn is None:
            markets.buyers_round_rows(m, m.book, rows, act, left, units, rat)
        else:
            fn(m, cs, act, left, units, rat)
        cpu_round[name] = comm.sum_int(int((time.process_time() - c0) * 1e6)) / 1e6
    say(f"one C-market round, CPU of all ranks: NumPy twin {cpu_round['numpy']:.3f} s, kernel on firm ids "
        f"{cpu_round['kernel']:.3f} s, kernel on seller-book rows (the model's) {cpu_round['rows']:.3f} s "
        f"(twin / rows {cpu_round['numpy'] / max(cpu_round['rows'], 1e-9):.2f})")


if __name__ == "__main__":
    main()
