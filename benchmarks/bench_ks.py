"""Benchmark: one 600-period K+S run on one core (target <= 2 s), per variant, with phase timings.

    .venv/bin/python benchmarks/bench_ks.py [--repeat 3] [--months 600]

Times the model's periods only (initialisation and HDF5 output excluded), best of --repeat runs:
wall time and CPU time of this process (the CPU time is what the run costs when the machine is
shared with other jobs; the wall time is what it costs on an idle core)."""
import argparse
import time

from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.ks import Model


def one(variant, months, seed):
    extra = ["policy.taylor=dual", "policy.fiscal_rule=sgp"] if variant == "mark3" else []
    cfg = load_config(text=f"model: ks\nmonths: {months}\nseed: {seed}\n",
                      overrides=[f"ks.variant={variant}", *extra])
    m = Model(cfg, Comm())
    m.initialize()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(months):
        m.step()
    return time.perf_counter() - t0, time.process_time() - c0, m.timers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--months", type=int, default=600)
    a = ap.parse_args()
    print(f"{'variant':8s} {'wall s':>7s} {'cpu s':>6s} {'ms/period':>9s}  phases (wall s, best run)")
    for v in ("mark1", "mark2", "mark3"):
        runs = [one(v, a.months, seed) for seed in range(1, a.repeat + 1)]
        best, cpu, timers = min(runs, key=lambda r: r[0])
        cpu = min(r[1] for r in runs)
        ph = "  ".join(f"{k} {t:.3f}" for k, t in sorted(timers.items(), key=lambda kv: -kv[1]))
        print(f"{v:8s} {best:7.3f} {cpu:6.3f} {1000 * best / a.months:9.3f}  {ph}")


if __name__ == "__main__":
    main()
