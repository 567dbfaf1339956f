#!/usr/bin/env python
"""Wall time of MASs Macro's markets' start (note sec. 3.11: sectors, prices, money, seller lists,
suppliers) on top of a labour-only warm-start checkpoint taken before the markets start:

    mpiexec -n 2 .venv/bin/python benchmarks/time_markets_start.py runs/us150m_mm/checkpoints/ckpt_m0000072.h5

Works against an older tree too (PYTHONPATH=/path/to/tree mpiexec -n 2 -x PYTHONPATH ...)."""
import sys
import time

import h5py

from hpcabm.core.checkpoint import find_restart, read_checkpoint
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.massmacro import Model


def main():
    comm = Comm()
    path = find_restart(comm, sys.argv[1], log=lambda *a, **k: None)
    with h5py.File(path, "r") as f:
        cfg = load_config(text=str(f.attrs["config"]))
    m = Model(cfg, comm)
    read_checkpoint(comm, path, m)
    if m.market_on:
        raise SystemExit(f"{path}: the markets had already started (month {m.month})")
    comm.barrier()
    t = time.perf_counter()
    m._start_markets()
    comm.barrier()
    if comm.is_root:
        print(f"markets' start at {m.N} agents, month {m.month}, {comm.size} rank(s): "
              f"{time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
