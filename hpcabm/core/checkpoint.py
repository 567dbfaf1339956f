"""Partition-independent, atomic, verified checkpoints (parallel HDF5).

Layout of DIR/checkpoints/ckpt_m<month>.h5:
  attrs     format, version, model, month, seed, config (YAML text), ranks, complete=1 (written last)
  /series/<name>      monthly series so far
  /<table>/<column>   model state tables, rows sorted by global id. A model's `table_layout` says
                      how each table is split over ranks: None = rows are agents (block partition
                      `model.part`), a column name = rows sorted by that key and read by each rank
                      for keys in [part.lo, part.hi) (e.g. `firms` by founder agent),
                      "replicated" = every rank holds all rows (small models). Every dataset
                      carries a partition-independent checksum attribute.
Random streams are counter-based and keyed by month, so the month *is* the stream position.

A checkpoint is written to `<name>.tmp` collectively, closed, re-read and checksummed by all ranks,
and only then renamed. On restart a truncated, incomplete or corrupt file is reported and the
newest older valid checkpoint is used. Loading slices the global tables for whatever rank count
reads them (repartitioning)."""
import glob
import os
from collections.abc import Mapping
import re

import numpy as np

from hpcabm import __version__
from hpcabm.core.h5io import atomic_parallel_file, open_parallel, verify_file, write_columns, write_table

FORMAT = "hpcabm-checkpoint-1"
_RE = re.compile(r"ckpt_m(\d+)\.h5$")


class CheckpointError(RuntimeError):
    pass


def checkpoint_path(directory, month):
    return os.path.join(directory, f"ckpt_m{int(month):07d}.h5")


def month_of(path):
    m = _RE.search(os.path.basename(path))
    return int(m.group(1)) if m else -1


def list_checkpoints(directory):
    """Checkpoint files in a directory, newest month first."""
    files = [p for p in glob.glob(os.path.join(directory, "ckpt_m*.h5")) if _RE.search(p)]
    return sorted(files, key=month_of, reverse=True)


def write_series(comm, f, series):
    g = f.create_group("series")
    for name, values in series.items():
        arr = np.asarray(values)
        if arr.dtype == object:
            arr = arr.astype(np.float64)
        write_table(comm, g, name, arr if comm.is_root else arr[:0], 0, arr.shape[0])


def write_tables(comm, f, tables, layout=None):
    """Write state tables; a table whose layout is "replicated" is held whole by every rank and
    written by rank 0 alone (the others enter the collective writes with zero rows)."""
    for tname, cols in tables.items():
        g = f.create_group(tname)
        if (layout or {}).get(tname) == "replicated" and not comm.is_root:
            cols = {c: np.asarray(v)[:0] for c, v in cols.items()}
        write_columns(comm, g, cols)


def write_checkpoint(comm, directory, model, cfg_text, keep=2, extra_attrs=None):
    """Write, verify and atomically publish a checkpoint of `model`; prune old ones."""
    tables, attrs = model.state_tables()
    path = checkpoint_path(directory, model.month)
    with atomic_parallel_file(path, comm, "checkpoint", CheckpointError) as f:
        f.attrs["format"] = FORMAT
        f.attrs["version"] = __version__
        f.attrs["model"] = model.name
        f.attrs["seed"] = int(model.seed)
        f.attrs["config"] = cfg_text
        f.attrs["ranks"] = comm.size
        for k, v in {**attrs, **(extra_attrs or {})}.items():
            f.attrs[k] = v
        write_series(comm, f, model.series)
        write_tables(comm, f, tables, getattr(model, "table_layout", None))
    if comm.is_root:
        for old in list_checkpoints(directory)[keep:]:
            os.remove(old)
    comm.barrier()
    return path


def find_restart(comm, path, log=print):
    """The checkpoint to restart from: `path` itself if it is valid, else the newest valid older one
    beside it; `path` may also be a checkpoint directory or a run directory."""
    if os.path.isdir(path):
        d = os.path.join(path, "checkpoints") if os.path.isdir(os.path.join(path, "checkpoints")) else path
        candidates = list_checkpoints(d)
        if not candidates:
            raise CheckpointError(f"no checkpoint files (ckpt_m*.h5) in {d}")
    else:
        d = os.path.dirname(os.path.abspath(path))
        m = month_of(path)
        candidates = [path] + [p for p in list_checkpoints(d) if month_of(p) < m and
                               os.path.abspath(p) != os.path.abspath(path)]
    for c in candidates:
        reason = verify_file(c, comm)
        if reason is None:
            return c
        if comm.is_root:
            log(f"[hpcabm] checkpoint {c} is not usable: {reason}; trying the previous one")
    raise CheckpointError(f"no valid checkpoint among {len(candidates)} candidate(s) for {path}")


def _key_block(dset, lo_key, hi_key):
    """Rows [r0, r1) of a sorted key dataset with lo_key <= key < hi_key (binary search, reading
    only O(log n) elements)."""
    def bisect(value):
        lo, hi = 0, dset.shape[0]
        while lo < hi:
            mid = (lo + hi) // 2
            if int(dset[mid]) < value:
                lo = mid + 1
            else:
                hi = mid
        return lo
    return bisect(lo_key), bisect(hi_key)


class _ColumnReader(Mapping):
    """A checkpoint table's columns, rows [r0, r1), read from the open file on access."""

    def __init__(self, group, r0, r1):
        self._g, self._r0, self._r1 = group, r0, r1

    def __getitem__(self, name):
        return self._g[name][self._r0:self._r1]

    def __iter__(self):
        return iter(self._g)

    def __len__(self):
        return len(self._g)


def read_checkpoint(comm, path, model):
    """Load a (verified) checkpoint into `model`, sliced for this rank's partition."""
    with open_parallel(path, "r", comm) as f:
        if f.attrs.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not an hpcabm checkpoint")
        if f.attrs.get("model") != model.name:
            raise CheckpointError(f"{path}: checkpoint of model {f.attrs.get('model')!r}, not {model.name!r}")
        if int(f.attrs.get("seed")) != int(model.seed):
            raise CheckpointError(f"{path}: written with seed {int(f.attrs.get('seed'))}, config has seed {model.seed}")
        attrs = {k: f.attrs[k] for k in f.attrs}
        tables = {}
        for tname, key in model.table_layout.items():
            g = f[tname]
            if key is None:
                r0, r1 = model.part.lo, model.part.hi
            elif key == "replicated":
                r0, r1 = 0, None
            else:
                r0, r1 = _key_block(g[key], model.part.lo, model.part.hi)
            tables[tname] = _ColumnReader(g, r0, r1)
        series = {name: f["series"][name][:].tolist() for name in f["series"]}
        # columns are read when load_state asks for them, one at a time (a checkpoint's table is
        # never whole in memory next to the model's arrays); every rank asks in the same order
        model.load_state(tables, attrs)
    model.series = {k: series.get(k, []) for k in model.series}
    return attrs
