"""results.h5: the one file a run leaves for analysis.

  attrs            model, config (YAML text), seed, ranks, version, wall_time, months
  /series/<name>   one dataset per monthly series (length = months)
  /final/<name>    end-of-run cross sections (firm rows ordered by founder; agent rows by id)

Written collectively (every rank enters every write, also with zero rows) to a temporary name,
checked, then renamed. `hpcabm.load(path)` reads it back in one line."""
import os

import h5py
import numpy as np

from hpcabm import __version__
from hpcabm.core.checkpoint import write_series
from hpcabm.core.h5io import atomic_parallel_file, write_columns


def write_results(comm, path, model, cfg_text, wall_time, extra_attrs=None):
    final = model.final_tables()
    with atomic_parallel_file(path, comm, "results file") as f:
        f.attrs["model"] = model.name
        f.attrs["config"] = cfg_text
        f.attrs["seed"] = int(model.seed)
        f.attrs["ranks"] = comm.size
        f.attrs["version"] = __version__
        f.attrs["wall_time"] = float(wall_time)
        f.attrs["months"] = int(model.month)
        for k, v in (extra_attrs or {}).items():
            f.attrs[k] = v
        write_series(comm, f, model.series)
        g = f.create_group("final")
        for cols in final.values():
            write_columns(comm, g, cols)
    return path


def load_results(path):
    """{'series': {name: array}, 'final': {name: array}, 'attrs': {...}} from results.h5 or a run dir."""
    if os.path.isdir(path):
        path = os.path.join(path, "results.h5")
    out = {"series": {}, "final": {}, "attrs": {}}
    with h5py.File(path, "r") as f:
        out["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        for grp in ("series", "final"):
            if grp in f:
                out[grp] = {k: np.asarray(f[grp][k][...]) for k in f[grp]}
    return out
