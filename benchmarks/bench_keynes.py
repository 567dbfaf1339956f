"""Benchmark: one 10-year (3,650-day) run of the seed's size (10,000 households, 1,000 firms, 10
banks) of keynes_daily on one core; target <= 10 s (the seed's Rust program: < 30 s).

    .venv/bin/python benchmarks/bench_keynes.py [--config recal|early] [--days 3650] [--repeat 1]

The partitioned variant (`market: pro_rata`) at 100x the seed's size, on any number of ranks:

    mpiexec -n 2 .venv/bin/python benchmarks/bench_keynes.py --pro-rata --scale 100 --days 30 --warmup 5

(households, firms and money0 x scale; days after `warmup` untimed days; CPU time summed over ranks).

Times the model's days only (initialisation and HDF5 output excluded): wall time and CPU time of
this process (the CPU time is what the run costs when the machine is shared with other jobs), the
cost per household-day, and the phase timings of the model (Model.timers)."""
import argparse
import os
import time

from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.keynes_daily import Model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one(config, days, seed):
    cfg = load_config(os.path.join(ROOT, "jobs", f"keynes_daily_{config}.yaml"),
                      [f"months={days}", f"seed={seed}"])
    m = Model(cfg, Comm())
    m.initialize()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(days):
        m.step()
    return time.perf_counter() - t0, time.process_time() - c0, m.timers, int(cfg.agents)


def pro_rata(a):
    """The partitioned variant on COMM_WORLD: wall and CPU (all ranks) per household-day."""
    import resource
    comm = Comm()
    cfg = load_config(os.path.join(ROOT, "jobs", f"keynes_daily_{a.config}.yaml"),
                      [f"months={a.days + a.warmup}", "seed=42", f"agents={10000 * a.scale}",
                       f"keynes.firms={1000 * a.scale}", f"keynes.money0={1e6 * a.scale}", "keynes.market=pro_rata"])
    t0 = time.perf_counter()
    m = Model(cfg, comm)
    m.initialize()
    t_init = time.perf_counter() - t0
    for _ in range(a.warmup):
        m.step()
    m.timers = {}
    comm.barrier()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.days):
        m.step()
    comm.barrier()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    cpu_all = comm.exact_sum([cpu])
    rss = comm.allgather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    timers = comm.allgather(m.timers)
    if comm.is_root:
        nh = int(cfg.agents)
        hd = nh * a.days
        print(f"keynes_daily {a.config}, market pro_rata: {nh} households, {m.series['firms'][-1]} firms, "
              f"{comm.size} rank(s), days {a.warmup}-{a.warmup + a.days}")
        print(f"wall {wall:.2f} s ({1e9 * wall / hd:.0f} ns per household-day)  cpu all ranks {cpu_all:.2f} s "
              f"({1e9 * cpu_all / hd:.0f} ns per household-day)  init {t_init:.1f} s  "
              f"peak RSS per rank {max(rss) / 1024:.0f} MB  load average {os.getloadavg()[0]:.1f}")
        ph = {k: max(t.get(k, 0.0) for t in timers) for k in timers[0]}
        print("phases (wall s, max over ranks): " + "  ".join(f"{k} {v:.2f}" for k, v in sorted(ph.items(), key=lambda kv: -kv[1])))
        print(f"unemployment {m.series['unemployment'][-1]:.4f}  unmet {m.series['unmet'][-1]:.4f}  "
              f"max |sf_error|/money {max(abs(e) / (x + y) for e, x, y in zip(m.series['sf_error'], m.series['deposits_h'], m.series['deposits_f'])):.1e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="recal", choices=["recal", "early"])
    ap.add_argument("--days", type=int, default=3650)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--pro-rata", action="store_true", help="the partitioned variant (market: pro_rata)")
    ap.add_argument("--scale", type=int, default=100, help="with --pro-rata: x households, firms, money0")
    ap.add_argument("--warmup", type=int, default=5, help="with --pro-rata: untimed days first")
    a = ap.parse_args()
    if a.pro_rata:
        return pro_rata(a)
    runs = [one(a.config, a.days, 42 + i) for i in range(a.repeat)]
    wall, cpu, timers, nh = min(runs, key=lambda r: r[1])
    print(f"keynes_daily {a.config}: {a.days} days, {nh} households, best of {a.repeat}")
    print(f"wall {wall:.2f} s  cpu {cpu:.2f} s  ({1e3 * cpu / a.days:.2f} ms/day, "
          f"{1e9 * cpu / a.days / nh:.0f} ns per household-day)  load average {os.getloadavg()[0]:.1f}")
    print("phases (wall s): " + "  ".join(f"{k} {t:.2f}" for k, t in sorted(timers.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
