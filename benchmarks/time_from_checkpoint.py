#!/usr/bin/env python
"""Seconds per month of a run continued from its newest valid checkpoint: one warm-up month, then
`--months` timed months (wall time, max over ranks; CPU time of all ranks). Uses only the model
interface (initialize/step, read_checkpoint), so the same script times two versions of the code on
the same checkpoint, e.g. an A/B against an older tree:

    mpiexec -n 2 .venv/bin/python benchmarks/time_from_checkpoint.py runs/mm1e6
    PYTHONPATH=/path/to/old/tree mpiexec -n 2 -x PYTHONPATH .venv/bin/python benchmarks/time_from_checkpoint.py runs/mm1e6
"""
import argparse
import time

import h5py

from hpcabm.core.checkpoint import find_restart, read_checkpoint
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models import get_model


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run_dir", help="run directory (or checkpoint file)")
    p.add_argument("--months", type=int, default=3)
    a = p.parse_args()
    comm = Comm()
    path = find_restart(comm, a.run_dir, log=lambda *x, **k: None)
    with h5py.File(path, "r") as f:
        cfg = load_config(text=str(f.attrs["config"]))
    m = get_model(cfg.model)(cfg, comm)
    read_checkpoint(comm, path, m)
    m.step()
    comm.mpi.Barrier()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(a.months):
        m.step()
    wall = comm.max_int(int((time.perf_counter() - t) * 1e6)) / 1e6 / a.months
    cpu = comm.sum_int(int((time.process_time() - c) * 1e6)) / 1e6 / a.months
    if comm.is_root:
        n = int(cfg.agents) / 1e6
        print(f"{path}: months {m.month - a.months}..{m.month} on {comm.size} rank(s): {wall:.3f} s/month wall; "
              f"{wall * comm.size / n:.3f} s per month per million agents per core; CPU of all ranks "
              f"{cpu:.3f} s/month")


if __name__ == "__main__":
    main()
