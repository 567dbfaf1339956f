"""Parallel HDF5 helpers: every rank enters every collective call, even with zero rows.

h5py skips H5Dwrite when a rank's selection is empty, which hangs collective writes
(h5py issues #412, #965). `write_rows` goes through the low-level API and, for an empty block,
issues the collective write with `select_none()` on both the file and the memory space."""
import os
from contextlib import contextmanager

import h5py
import numpy as np

from hpcabm.kernels import core as kcore


def open_parallel(path, mode, comm):
    """Open with driver='mpio' when h5py has MPI (always on more than one rank)."""
    if h5py.get_config().mpi:
        return h5py.File(path, mode, driver="mpio", comm=comm.mpi)
    if comm.size > 1:
        raise RuntimeError("h5py was built without MPI; parallel HDF5 is needed on more than one rank")
    return h5py.File(path, mode)


def _collective_dxpl():
    dxpl = h5py.h5p.create(h5py.h5p.DATASET_XFER)
    dxpl.set_dxpl_mpio(h5py.h5fd.MPIO_COLLECTIVE)
    return dxpl


def write_rows(dset, offset, arr):
    """Write arr to rows [offset, offset + len(arr)) of dset, collectively when the file is mpio.
    Every rank must call this for the dataset, with zero rows if it has none."""
    arr = np.ascontiguousarray(arr, dtype=dset.dtype)
    if dset.file.driver != "mpio":
        if arr.shape[0]:
            dset[offset: offset + arr.shape[0]] = arr
        return
    fspace = dset.id.get_space()
    tail = tuple(dset.shape[1:])
    if arr.shape[0] == 0:
        fspace.select_none()
        mspace = h5py.h5s.create_simple((1,) + tail)
        mspace.select_none()
        dset.id.write(mspace, fspace, np.zeros((1,) + tail, dtype=dset.dtype), dxpl=_collective_dxpl())
        return
    fspace.select_hyperslab((offset,) + (0,) * len(tail), arr.shape)
    mspace = h5py.h5s.create_simple(arr.shape)
    dset.id.write(mspace, fspace, arr, dxpl=_collective_dxpl())


def _words(arr):
    """Array as uint64 words, one per element (rows of 2-D arrays flattened)."""
    a = np.ascontiguousarray(arr)
    if a.dtype.kind == "b":
        a = a.astype(np.uint8)
    isz = a.dtype.itemsize
    if isz not in (1, 2, 4, 8):
        raise TypeError(f"cannot checksum dtype {a.dtype}")
    return a.reshape(-1).view(f"u{isz}").astype(np.uint64, copy=False), (a.size // max(a.shape[0], 1) if a.ndim > 1 else 1)


CHECKSUM_ROWS = 1 << 20      # rows per piece of a checksum (bounds its uint64 temporaries)
READ_ROWS = 1 << 22          # rows per read when verifying a file


def block_checksum(arr, first_row):
    """Checksum of rows [first_row, first_row + len(arr)) of a dataset; sums (mod 2^64) of the
    blocks of any split give the same total (so it is taken here in pieces of CHECKSUM_ROWS)."""
    total = 0
    for r in range(0, max(arr.shape[0], 1) if arr.ndim else 1, CHECKSUM_ROWS):
        piece = arr[r: r + CHECKSUM_ROWS] if arr.ndim else arr
        w, per_row = _words(piece)
        if arr.ndim > 1:
            per_row = int(np.prod(arr.shape[1:]))
        total = (total + int(kcore.checksum(w, first_row + r, per_row))) % 2**64
    return total


def column(value):
    """A table column: an array, or a zero-argument callable that makes it (a deferred column,
    built only when written, so that a table of derived columns never exists whole in memory)."""
    return value() if callable(value) else value


def write_table(comm, group, name, local, offset, total):
    """Create dataset group[name] of `total` rows and write this rank's block at `offset`;
    returns the dataset checksum (all ranks), also stored as attribute 'checksum'."""
    local = np.ascontiguousarray(local)
    dset = group.create_dataset(name, shape=(total,) + local.shape[1:], dtype=local.dtype)
    if total:   # a 0-row dataset has no storage; `total` is global, so all ranks skip together
        write_rows(dset, offset, local)
    csum = comm.sum_uint_wrap(block_checksum(local, offset))
    dset.attrs["checksum"] = np.uint64(csum)
    return csum


def even_block(total, comm):
    lo = comm.rank * total // comm.size
    hi = (comm.rank + 1) * total // comm.size
    return lo, hi


def verify_file(path, comm):
    """Collectively recompute every dataset checksum of a file written by write_table.
    Returns None if the file is complete and intact, else a one-line reason (same on all ranks)."""
    reason = None
    if comm.is_root:
        try:
            if not os.path.exists(path):
                reason = "file not found"
            else:
                with h5py.File(path, "r") as f:
                    if int(f.attrs.get("complete", 0)) != 1:
                        reason = "incomplete (no 'complete' mark: the write was interrupted)"
        except Exception as e:  # truncated or not HDF5
            reason = f"unreadable ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    reason = comm.bcast(reason)
    if reason:
        return reason
    names = []
    if comm.is_root:
        with h5py.File(path, "r") as f:
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    names = comm.bcast(sorted(names))
    bad = ""
    with open_parallel(path, "r", comm) as f:
        for n in names:
            # every rank enters both reductions whatever happened locally (no rank may hang)
            err, c, want = "", 0, None
            try:
                d = f[n]
                lo, hi = even_block(d.shape[0] if d.ndim else 1, comm)
                if d.ndim:
                    for r in range(lo, hi, READ_ROWS):          # bounded reads
                        c = (c + block_checksum(np.asarray(d[r:min(r + READ_ROWS, hi)]), r)) % 2**64
                else:
                    c = block_checksum(np.atleast_1d(d[()])[: hi - lo], lo)
                want = d.attrs.get("checksum")
            except Exception as e:
                err = f"unreadable /{n} ({type(e).__name__})"
            c = comm.sum_uint_wrap(c)
            errs = [x for x in comm.allgather(err) if x]
            if errs:
                bad = bad or errs[0]
            elif want is None or int(want) != c:
                bad = bad or f"checksum mismatch in /{n}"
    return bad or None


def write_columns(comm, group, cols):
    """Write a table's columns (local row blocks, concatenated over ranks in rank order). A
    deferred column (see `column`) is made just before it is written and dropped after."""
    if not cols:
        return
    offset = total = None
    for name, value in cols.items():
        arr = column(value)
        if offset is None:
            offset, total = comm.exscan_int(len(arr))
        write_table(comm, group, name, arr, offset, total)
        del arr


@contextmanager
def atomic_parallel_file(path, comm, what="file", error=RuntimeError):
    """Open `path`.tmp collectively for writing; on leaving, mark it complete, close it, verify
    every checksum collectively and only then rename it to `path` (atomic publication)."""
    tmp = path + ".tmp"
    if comm.is_root:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if os.path.exists(tmp):
            os.remove(tmp)
    comm.barrier()
    with open_parallel(tmp, "w", comm) as f:
        yield f
        f.attrs["complete"] = 1
    reason = verify_file(tmp, comm)
    if reason:
        raise error(f"{what} {tmp} failed verification right after writing: {reason}")
    if comm.is_root:
        os.replace(tmp, path)
    comm.barrier()
