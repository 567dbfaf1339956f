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
from hpcabm.kernels import massmacro as kmm

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


def bitset(mask):
    """Per row of a (n, K <= 8) boolean array, the uint8 with bit k set where mask[:, k]."""
    K = mask.shape[1]
    return (mask.astype(np.uint8) << np.arange(K, dtype=np.uint8)).sum(axis=1, dtype=np.uint8)


def buyers_round(model, seller, active, left, units, rationed, close_unordered=False):
    """One pro-rata round for buyers with several sellers each, in two kernel passes and without
    per-order temporaries beyond one int32 per (buyer, seller): the same arithmetic as
    order_round on the flattened orders (tested equal). seller (n, K) int64 (-1: none; dead
    sellers are set to -1), active (n,) uint8 bit set of sellers still shopped at, left (n,)
    int64 budget (reduced by what is paid), units (n,) float64 and rationed (n,) uint8 bit set
    are updated in place. close_unordered: a seller not ordered from this round (budget too
    small) leaves the active set (the intermediate market's rule). Every rank must call it."""
    order_row = np.empty(seller.shape, dtype=np.int32)
    uniq, tot = kmm.round_orders(seller, active, left, order_row)
    req = np.empty(uniq.size, dtype=ORDER)
    req["fid"] = uniq
    req["amount"] = tot
    rep = model.comm.fetch(model.home(uniq), req, model._serve_orders)
    paid = np.zeros(uniq.size, dtype=np.int64)
    kmm.round_settle(seller, active, left, order_row, np.ascontiguousarray(rep["phi"]),
                     np.ascontiguousarray(rep["price"]), paid, units, rationed, close_unordered)
    pay = np.empty(uniq.size, dtype=ORDER)
    pay["fid"] = uniq
    pay["amount"] = paid
    recv, _ = model.comm.exchange(model.home(uniq), pay)
    model._receive_payments(recv)


def buyers_round_numpy(model, seller, active, left, units, rationed):
    """NumPy twin of buyers_round through order_round (the reference it is tested against)."""
    K = seller.shape[1]
    act = ((active[:, None] >> np.arange(K, dtype=np.uint8)) & 1).astype(bool)
    na = act.sum(axis=1)
    per = np.where(na > 0, left // np.maximum(na, 1), 0)
    order = np.where(act, per[:, None], 0)
    spend, price, phi = order_round(model, seller.reshape(-1), order.reshape(-1))
    spend = spend.reshape(seller.shape)
    price = price.reshape(seller.shape)
    phi = phi.reshape(seller.shape)
    left -= spend.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        units += np.where(spend > 0, spend / price, 0.0).sum(axis=1)
    dead = phi < 0
    seller[dead] = -1
    short = (phi >= 0) & (phi < 1) & (order > 0)
    rationed |= bitset(short)
    act &= ~short & ~dead
    active[:] = bitset(act)


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
