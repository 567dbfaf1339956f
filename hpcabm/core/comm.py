"""The one module that talks to MPI.

Everything that crosses ranks goes through a `Comm`: packed-record all-to-all exchanges
(`exchange` / `reply` / `fetch`), exact reductions whose results do not depend on the partition or
on the order of the data, and the block partition of agents. Kernels never see a communicator.

Records are NumPy structured arrays; an exchange sorts them by destination (stable), computes
counts with np.bincount and displacements with cumsum, swaps counts with Alltoall and moves the
bytes with one Alltoallv using a contiguous MPI datatype of the record size (so counts are in
records, not bytes)."""
import sys
import time
import traceback

import numpy as np

from hpcabm.kernels import core as _kcore


def _mpi():
    from mpi4py import MPI
    return MPI


class Route:
    """How a request exchange was routed, so replies can be sent back and re-aligned."""

    __slots__ = ("order", "send_counts", "recv_counts")

    def __init__(self, order, send_counts, recv_counts):
        self.order = order
        self.send_counts = send_counts
        self.recv_counts = recv_counts

    @property
    def source_ranks(self):
        """Rank each received record came from."""
        return np.repeat(np.arange(self.recv_counts.size), self.recv_counts)


class Comm:
    """Wraps an MPI communicator (COMM_WORLD by default; a sub-communicator in ensembles)."""

    def __init__(self, mpicomm=None):
        MPI = _mpi()
        self.mpi = mpicomm if mpicomm is not None else MPI.COMM_WORLD
        self.rank = self.mpi.Get_rank()
        self.size = self.mpi.Get_size()
        self._types = {}
        self.mpi_seconds = 0.0     # wall time inside reductions and all-to-alls (incl. waiting)

    def _timed(self, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.mpi_seconds += time.perf_counter() - t0

    # -- basic -------------------------------------------------------------------------------
    @property
    def is_root(self):
        return self.rank == 0

    def barrier(self):
        self.mpi.Barrier()

    def bcast(self, obj, root=0):
        return self.mpi.bcast(obj, root=root)

    def allgather(self, obj):
        return self.mpi.allgather(obj)

    def split(self, color, key=0):
        return Comm(self.mpi.Split(color, key))

    def abort(self, code=1):
        """Abort every rank of the job (an exception on one rank must not leave the others hanging)."""
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            _mpi().COMM_WORLD.Abort(code)

    # -- exact reductions ----------------------------------------------------------------------
    def sum_int(self, values):
        """Elementwise sum over ranks of an int64 array (or scalar): exact, order-independent."""
        scalar = np.ndim(values) == 0
        a = np.atleast_1d(np.asarray(values, dtype=np.int64))
        out = np.empty_like(a)
        self._timed(self.mpi.Allreduce, a, out, op=_mpi().SUM)
        return int(out[0]) if scalar else out

    def max_int(self, values):
        scalar = np.ndim(values) == 0
        a = np.atleast_1d(np.asarray(values, dtype=np.int64))
        out = np.empty_like(a)
        self._timed(self.mpi.Allreduce, a, out, op=_mpi().MAX)
        return int(out[0]) if scalar else out

    def min_int(self, values):
        scalar = np.ndim(values) == 0
        a = np.atleast_1d(np.asarray(values, dtype=np.int64))
        out = np.empty_like(a)
        self._timed(self.mpi.Allreduce, a, out, op=_mpi().MIN)
        return int(out[0]) if scalar else out

    def sum_uint_wrap(self, value):
        """Sum of uint64 values modulo 2^64 (checksums)."""
        a = np.array([value], dtype=np.uint64)
        out = np.empty_like(a)
        self._timed(self.mpi.Allreduce, a, out, op=_mpi().SUM)
        return int(out[0])

    def exact_sum(self, values):
        """Correctly rounded sum of all ranks' float64 values, bitwise independent of how the values
        are split over ranks and ordered (integer superaccumulator, see cython_ext/core.pyx)."""
        parts = _kcore.exact_sum_parts(np.ascontiguousarray(values, dtype=np.float64))
        total = np.empty_like(parts)
        self._timed(self.mpi.Allreduce, parts, total, op=_mpi().SUM)
        return _kcore.exact_sum_finalize(total)

    def exact_sums(self, columns):
        """Several exact sums in one reduction: columns is a list of float64 arrays."""
        parts = np.stack([_kcore.exact_sum_parts(np.ascontiguousarray(c, dtype=np.float64))
                          for c in columns])
        total = np.empty_like(parts)
        self._timed(self.mpi.Allreduce, parts, total, op=_mpi().SUM)
        return [_kcore.exact_sum_finalize(t) for t in total]

    def exact_sums_of_parts(self, parts):
        """Finish exact sums whose values were accumulated locally into integer buckets
        (hpcabm.kernels.core.exact_sum_parts or a kernel using hp_exactsum.h)."""
        stacked = np.ascontiguousarray(np.stack(parts))
        total = np.empty_like(stacked)
        self._timed(self.mpi.Allreduce, stacked, total, op=_mpi().SUM)
        return [_kcore.exact_sum_finalize(t) for t in total]

    def gather_concat(self, local, root=0):
        """Concatenate a 1-D array from all ranks in rank order on root (None elsewhere)."""
        local = np.ascontiguousarray(local)
        counts = np.array(self.mpi.allgather(local.size), dtype=np.int64)
        if self.rank == root:
            out = np.empty(int(counts.sum()), dtype=local.dtype)
            displ = np.concatenate([[0], np.cumsum(counts)[:-1]])
            self.mpi.Gatherv(local, [out, (counts, displ)], root=root)
            return out
        self.mpi.Gatherv(local, None, root=root)
        return None

    def allgather_concat(self, local):
        """Concatenate a 1-D numeric array from all ranks in rank order, on every rank."""
        local = np.ascontiguousarray(local)
        counts = np.array(self.mpi.allgather(local.size), dtype=np.int64)
        out = np.empty(int(counts.sum()), dtype=local.dtype)
        displ = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._timed(self.mpi.Allgatherv, local, [out, (counts, displ)])
        return out

    def exscan_int(self, value):
        """Sum of `value` over lower ranks (0 on rank 0): row offsets for collective writes."""
        counts = np.array(self.mpi.allgather(int(value)), dtype=np.int64)
        return int(counts[: self.rank].sum()), int(counts.sum())

    # -- packed-record all-to-all --------------------------------------------------------------
    def _rtype(self, itemsize):
        t = self._types.get(itemsize)
        if t is None:
            t = _mpi().BYTE.Create_contiguous(itemsize)
            t.Commit()
            self._types[itemsize] = t
        return t

    def _alltoallv(self, send, send_counts, recv_counts, dtype):
        recv = np.empty(int(recv_counts.sum()), dtype=dtype)
        if self.size == 1:
            recv[...] = send
            return recv
        t = self._rtype(dtype.itemsize)
        sd = np.zeros(self.size, dtype=np.int64)
        rd = np.zeros(self.size, dtype=np.int64)
        np.cumsum(send_counts[:-1], out=sd[1:])
        np.cumsum(recv_counts[:-1], out=rd[1:])
        sbuf = np.ascontiguousarray(send).view(np.uint8) if send.size else np.empty(0, np.uint8)
        rbuf = recv.view(np.uint8) if recv.size else np.empty(0, np.uint8)
        self._timed(self.mpi.Alltoallv, [sbuf, (send_counts.astype(np.int32), sd.astype(np.int32)), t],
                    [rbuf, (recv_counts.astype(np.int32), rd.astype(np.int32)), t])
        return recv

    def exchange(self, dest, records):
        """Send records[k] to rank dest[k]. Returns (received records grouped by source rank in
        rank order, each group in the sender's original order; a Route for `reply`)."""
        dest = np.asarray(dest, dtype=np.int64)
        records = np.asarray(records)
        if self.size == 1:
            order = np.arange(dest.size)
            counts = np.array([dest.size], dtype=np.int64)
            return records.copy(), Route(order, counts, counts)
        order, send_counts = _kcore.group_by_rank(np.ascontiguousarray(dest), self.size)
        recv_counts = np.empty(self.size, dtype=np.int64)
        self._timed(self.mpi.Alltoall, send_counts, recv_counts)
        recv = self._alltoallv(_kcore.take_records(records, order), send_counts, recv_counts,
                               records.dtype)
        return recv, Route(order, send_counts, recv_counts)

    def reply(self, route, replies):
        """Send replies (aligned with the records received through `route`) back to their senders;
        returns them aligned with the sender's original request order."""
        replies = np.asarray(replies)
        back = self._alltoallv(replies, route.recv_counts, route.send_counts, replies.dtype)
        out = np.empty_like(back)
        _kcore.put_records(out, route.order, back)
        return out

    def exchange_grouped(self, send_counts, records):
        """Like `exchange` for records already grouped by destination rank (send_counts[r] records
        for rank r, in rank order): no sort, no copy on one rank. Returns (received records grouped
        by source rank in rank order; a Route whose `order` is None) for `reply_grouped`."""
        records = np.asarray(records)
        send_counts = np.asarray(send_counts, dtype=np.int64)
        if self.size == 1:
            return records, Route(None, send_counts, send_counts)
        recv_counts = np.empty(self.size, dtype=np.int64)
        self._timed(self.mpi.Alltoall, send_counts, recv_counts)
        return self._alltoallv(records, send_counts, recv_counts, records.dtype), Route(None, send_counts, recv_counts)

    def reply_grouped(self, route, replies):
        """Replies to an `exchange_grouped`, returned in the sender's grouped order."""
        replies = np.asarray(replies)
        if self.size == 1:
            return replies
        return self._alltoallv(replies, route.recv_counts, route.send_counts, replies.dtype)

    def fetch(self, dest, requests, serve):
        """Request/reply: requests[k] goes to rank dest[k], where serve(received) returns one reply
        per received request; replies come back aligned with `requests`. Every rank must call it."""
        recv, route = self.exchange(dest, requests)
        return self.reply(route, serve(recv))


class BlockPartition:
    """Agents 0..n-1 in contiguous blocks: rank r holds [r*n//P, (r+1)*n//P)."""

    def __init__(self, n, size, rank):
        self.n = int(n)
        self.size = size
        self.rank = rank
        self.bounds = np.array([r * self.n // size for r in range(size + 1)], dtype=np.int64)
        self.lo = int(self.bounds[rank])
        self.hi = int(self.bounds[rank + 1])

    @property
    def count(self):
        return self.hi - self.lo

    def owner(self, ids):
        """Home rank of agent ids."""
        return _kcore.block_owner(np.ascontiguousarray(ids, dtype=np.int64).reshape(-1), self.n,
                                  self.size).reshape(np.shape(ids))


def abort_on_exception(comm, fn, *args, **kwargs):
    """Run fn; if it raises on any rank, print the traceback and abort the whole job, so no
    other rank waits forever in a collective. SystemExit passes through (clean exits)."""
    try:
        return fn(*args, **kwargs)
    except SystemExit:
        raise
    except BaseException:
        sys.stderr.write(f"[hpcabm] rank {comm.rank}/{comm.size}: unhandled exception, aborting the job\n")
        traceback.print_exc()
        if comm.size > 1:
            comm.abort(1)
        raise
