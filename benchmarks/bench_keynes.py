"""Benchmark: one 10-year (3,650-day) run of the seed's size (10,000 households, 1,000 firms, 10
banks) of keynes_daily on one core; target <= 10 s (the seed's Rust program: < 30 s).

    .venv/bin/python benchmarks/bench_keynes.py [--config recal|early] [--days 3650] [--repeat 1]

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="recal", choices=["recal", "early"])
    ap.add_argument("--days", type=int, default=3650)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    runs = [one(a.config, a.days, 42 + i) for i in range(a.repeat)]
    wall, cpu, timers, nh = min(runs, key=lambda r: r[1])
    print(f"keynes_daily {a.config}: {a.days} days, {nh} households, best of {a.repeat}")
    print(f"wall {wall:.2f} s  cpu {cpu:.2f} s  ({1e3 * cpu / a.days:.2f} ms/day, "
          f"{1e9 * cpu / a.days / nh:.0f} ns per household-day)  load average {os.getloadavg()[0]:.1f}")
    print("phases (wall s): " + "  ".join(f"{k} {t:.2f}" for k, t in sorted(timers.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
