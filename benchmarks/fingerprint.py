"""Bitwise fingerprint of a MASs Macro run: hashes of every series and of every state column
(gathered in rank order), to check that a change leaves results bitwise unchanged on any rank count.
    mpiexec -n 2 python benchmarks/fingerprint.py 20000 60          # 20 000 agents, 60 months, seed 3
    mpiexec -n 2 python benchmarks/fingerprint.py ckpt RUN_DIR 3    # 3 months from a checkpoint
(PIECE=n in the environment sets the order-round piece size, to check pieces change nothing)."""
import hashlib, sys
import numpy as np, h5py
from hpcabm.core.checkpoint import find_restart, read_checkpoint
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.massmacro import Model
comm = Comm()
import os
from hpcabm.models.massmacro import markets as _mk
if os.environ.get("PIECE"): _mk.PIECE = int(os.environ["PIECE"])
if sys.argv[1] == "ckpt":
    path = find_restart(comm, sys.argv[2]); months = int(sys.argv[3])
    with h5py.File(path, "r") as f:
        cfg = load_config(text=str(f.attrs["config"]))
    m = Model(cfg, comm); read_checkpoint(comm, path, m)
else:
    N, months = int(sys.argv[1]), int(sys.argv[2])
    cfg = load_config(text=f"model: massmacro\nagents: {N}\nmonths: {months}\nseed: 3\n")
    m = Model(cfg, comm); m.initialize()
for _ in range(months):
    m.step()
h = hashlib.sha256()
for k in sorted(m.series):
    h.update(k.encode()); h.update(np.asarray(m.series[k], dtype=np.float64).tobytes())
hs = h.hexdigest()[:16]
hx = hashlib.sha256()
for k in sorted(m.series):
    if k != "goods_utility":
        hx.update(k.encode()); hx.update(np.asarray(m.series[k], dtype=np.float64).tobytes())
gu = np.asarray(m.series.get("goods_utility", [0.0]))
tables, attrs = m.state_tables()
h2 = hashlib.sha256()
for t in sorted(tables):
    for c in sorted(tables[t]):
        v = tables[t][c]; a = np.ascontiguousarray(v() if callable(v) else v)
        # gather in rank order
        allp = comm.mpi.gather(a, root=0)
        if comm.is_root:
            h2.update(c.encode()); [h2.update(np.ascontiguousarray(x).tobytes()) for x in allp]
if comm.is_root:
    print("series", hs, "series-but-gu", hx.hexdigest()[:16], "gu[-1]", repr(float(gu[-1])), "state", h2.hexdigest()[:16], "firms", m.series["firms"][-1], "money", m.series["money_total"][-1])
