"""Market mechanics of MASs Macro that cross ranks: pro-rata order rounds and candidate draws
proportional to employees. Every per-firm message is aggregated per (rank, firm), so a firm with
10^7 customers receives at most P messages a round, and the outcome does not depend on the
order of buyers or on the partition:

* an order round: each rank sums its buyers' money orders per seller; the seller's home, holding
  all ranks' orders at once, computes the fill fraction phi_f = min(1, Q_f p_f / M_f) from the
  exact total M_f; buyer i pays floor(order_i * phi_f) (the same number on any partition) and the
  payments go back summed per (rank, seller);
* a candidate "proportional to employees" is the employer of a uniformly drawn agent: exact, and
  partition-independent (the note's per-rank alias tables are not)."""
import numpy as np

from hpcabm.core import rng
from hpcabm.kernels import core as kcore

ORDER = np.dtype([("fid", "i8"), ("amount", "i8")])
FILL = np.dtype([("phi", "f8"), ("price", "f8")])


def _group_sum(keys, values):
    """Distinct keys (first-appearance order), inverse, and integer sums of values per key."""
    uniq, inv = kcore.unique_ids(np.ascontiguousarray(keys, dtype=np.int64))
    tot = np.bincount(inv, weights=values, minlength=uniq.size)     # exact: integer sums < 2^53
    return uniq, inv, tot.astype(np.int64)


def order_round(model, seller, order):
    """One pro-rata round. seller: firm id per order (-1: none), order: int64 money.
    Returns spend (int64, money paid), price (float, 0 where no trade) and phi (fill fraction;
    -1 where the seller no longer exists) per order. Sellers' cash, inventory, revenue, sales and
    unmet demand are updated at their homes. Every rank must call it."""
    seller = np.ascontiguousarray(seller, dtype=np.int64)
    order = np.ascontiguousarray(order, dtype=np.int64)
    n = seller.size
    spend = np.zeros(n, dtype=np.int64)
    price = np.zeros(n)
    phi = np.zeros(n)
    ok = np.nonzero((seller >= 0) & (order > 0))[0]
    uniq, inv, tot = _group_sum(seller[ok], order[ok])
    req = np.empty(uniq.size, dtype=ORDER)
    req["fid"] = uniq
    req["amount"] = tot
    rep = model.comm.fetch(model.home(uniq), req, model._serve_orders)
    phi[ok] = rep["phi"][inv]
    price[ok] = rep["price"][inv]
    spend[ok] = np.floor(order[ok] * np.maximum(phi[ok], 0.0)).astype(np.int64)
    paid = np.bincount(inv, weights=spend[ok], minlength=uniq.size).astype(np.int64)
    pay = np.empty(uniq.size, dtype=ORDER)
    pay["fid"] = uniq
    pay["amount"] = paid
    recv, _ = model.comm.exchange(model.home(uniq), pay)
    model._receive_payments(recv)
    return spend, price, phi


def employers_of_random_agents(model, requester, salt, tries):
    """For each requester, the employers of `tries` uniformly drawn agents (shape (n, tries); -1 for
    unemployed draws): candidates drawn proportional to employees."""
    requester = np.ascontiguousarray(requester, dtype=np.int64)
    n = requester.size
    if tries == 0:                      # the same on every rank: no collective is skipped
        return np.full((n, tries), -1, dtype=np.int64)
    step = model.month * 64 + salt
    draws = np.empty((n, tries), dtype=np.int64)
    for t in range(tries):
        u = kcore.uniform(model.seed, rng.MM_CAND, requester, step, t)
        draws[:, t] = np.minimum((u * model.N).astype(np.int64), model.N - 1)
    flat = draws.reshape(-1)
    lo = model.part.lo
    emp = model.comm.fetch(model.part.owner(flat), flat, lambda q: model.firm[q - lo])
    return emp.reshape(n, tries)
