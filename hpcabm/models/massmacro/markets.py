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
SLOT_ORDER = np.dtype([("slot", "i8"), ("amount", "i8")])     # an order or payment by firm slot
PIECE = 1 << 20     # requests per rank in one piece of an order round (bounds the exchange buffers)
ROUNDS_FROM = 1 << 22   # agents per rank from which candidate draws are fetched in two rounds


def firm_pieces(model, fids):
    """Index arrays splitting per-firm requests `fids` into pieces by the firm's founder range:
    every rank puts a firm in the same piece (the founder's block of K blocks of the agents), so
    a firm's requests from all ranks meet in one piece and per-firm serving in pieces equals
    serving them at once; K is the same on every rank (each loops over all K pieces: every
    exchange is entered by all)."""
    K = max(model.comm.max_int(-(-fids.size // PIECE)), 1)
    if K == 1:
        return [np.arange(fids.size)]
    piece = kcore.firm_home(np.ascontiguousarray(fids, dtype=np.int64), model.N, K)
    order, counts = kcore.group_by_rank(np.ascontiguousarray(piece, dtype=np.int64), K)
    ends = np.cumsum(counts)
    return [order[e - c:e] for c, e in zip(counts, ends)]


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
    pieces = firm_pieces(model, uniq)
    phi, price = np.empty(uniq.size), np.empty(uniq.size)
    for idx in pieces:
        phi[idx], price[idx] = _fetch_fills(model, uniq[idx], tot[idx])
    paid = tot                                      # reused: the orders are no longer needed
    paid[:] = 0
    kmm.round_settle(seller, active, left, order_row, phi, price, paid, units, rationed, close_unordered)
    for idx in pieces:
        _pay_sellers(model, uniq[idx], paid[idx])


def _requests(fids, amounts, slots):
    """Records of per-firm amounts: by firm id, or by the firm's slot at its home when known."""
    if slots is None:
        rec = np.empty(fids.size, dtype=ORDER)
        rec["fid"] = fids
    else:
        rec = np.empty(fids.size, dtype=SLOT_ORDER)
        rec["slot"] = slots
    rec["amount"] = amounts
    return rec


def _fetch_fills(model, fids, amounts, slots=None):
    """Send one piece's summed orders to the sellers' homes (addressed by slot when `slots` is
    given); their (phi, price) replies."""
    serve = model._serve_orders if slots is None else model._serve_orders_at_slots
    rep = model.comm.fetch(model.home(fids), _requests(fids, amounts, slots), serve)
    return rep["phi"], rep["price"]


def _pay_sellers(model, fids, amounts, slots=None):
    """Payments of one piece, summed per (rank, seller), to the sellers' homes (addressed by slot
    when `slots` is given)."""
    recv, _ = model.comm.exchange(model.home(fids), _requests(fids, amounts, slots))
    if slots is None:
        model._receive_payments(recv)
    else:
        model._receive_payments_at_slots(recv)


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
    unemployed draws): candidates drawn proportional to employees (draw t of a requester is the same
    agent as in first_sector_employers)."""
    requester = np.ascontiguousarray(requester, dtype=np.int64)
    n = requester.size
    if tries == 0:                      # the same on every rank: no collective is skipped
        return np.full((n, tries), -1, dtype=np.int64)
    flat = _candidate_draws(model, requester, salt, 0, tries).reshape(-1)
    lo = model.part.lo
    emp = model.comm.fetch(model.part.owner(flat), flat, lambda q: model.firm[q - lo])
    return emp.reshape(n, tries)


def _candidate_draws(model, requester, salt, t0, b):
    """Agents drawn uniformly for candidate draws t0 .. t0 + b - 1 of each requester ((n, b) ids):
    stream (seed, MM_CAND, requester, month * 64 + salt, draw t)."""
    return kmm.candidate_draws(model.seed, rng.MM_CAND, np.ascontiguousarray(requester, dtype=np.int64),
                               model.month * 64 + salt, t0, b, model.N)


def first_sector_employers(model, requester, sector, k, salt, tries):
    """For each requester, the first k distinct employers of `sector` among the employers of
    `tries` uniformly drawn agents, in draw order ((n, k) firm ids, -1 where fewer were found):
    candidates drawn proportional to employees. The draws are fetched in at most two rounds (with
    at least ROUNDS_FROM agents per rank; below, where look-ups are cheap, in one): first
    the b draws that give k candidates on average (b from the economy-wide share of agents employed
    in `sector`, the same on every rank), then the remaining tries - b only for requesters still
    short of k. Accepted in draw order, the candidates are those of fetching all `tries` draws at
    once, with fewer remote look-ups. Every rank runs the same rounds (b is global)."""
    requester = np.ascontiguousarray(requester, dtype=np.int64)
    out = np.full((requester.size, max(k, 1)), -1, dtype=np.int64)
    if k <= 0 or tries <= 0:
        return out
    found = np.zeros(requester.size, dtype=np.int64)
    if getattr(model, "sector_map", None) is not None:
        _accept_mapped(model, requester, sector, k, salt, tries, out, found)
        return out
    if model.N // model.comm.size < ROUNDS_FROM:      # small ranks: look-ups hit the caches anyway
        b1 = tries
    else:
        b1 = min(tries, int(np.ceil(k / max(model.sector_share(sector), 0.05))))
    pending = np.arange(requester.size)
    for t0, b in ((0, b1), (b1, tries - b1)):
        if b == 0:
            break
        _accept_round(model, requester, sector, k, salt, t0, b, pending, out, found)
        pending = pending[found[pending] < k]
    return out


def _employer_codes_of(model, agents):
    """Employer codes (firm id | (sector + 1) << 56, -1 unemployed) of agents anywhere."""
    lo = model.part.lo

    def serve(q):      # one int64 per draw: the firm id (< 2^56) with (sector + 1) in the top byte
        return kmm.employer_codes(model.firm, model.emp_sector, q - lo)
    return model.comm.fetch(model.part.owner(agents), agents, serve)


def _accept_mapped(model, requester, sector, k, salt, tries, out, found):
    """first_sector_employers with the replicated employer-sector map (model.sector_map, valid
    while no one changes employer): of the `tries` draws of each requester only those whose agent
    works in `sector` are looked up, the first k of them, then the rest for requesters that are
    still short (a duplicate employer). Draws of other sectors and of the unemployed are never
    accepted, so leaving them out changes no candidate: the result is first_sector_employers'
    without the map (tested equal), with about `tries` x the sector's employment share look-ups
    per requester instead of `tries`."""
    hits, n_hits = kmm.sector_hits(model.seed, rng.MM_CAND, requester, model.month * 64 + salt,
                                   tries, model.N, model.sector_map, sector)
    pending = np.arange(requester.size)
    for c0, c1 in ((0, k), (k, tries)):            # the same rounds on every rank
        if c1 <= c0:
            break
        ask = hits[pending, c0:c1]
        codes = np.full(ask.shape, -1, dtype=np.int64)
        at = np.flatnonzero(ask >= 0)
        codes.reshape(-1)[at] = _employer_codes_of(model, ask.reshape(-1)[at])
        del ask, at
        mine = out[pending]
        f = found[pending]
        kmm.accept_candidates(codes, sector, mine, f)
        out[pending] = mine
        found[pending] = f
        pending = pending[(f < k) & (n_hits[pending] > c1)]


def _accept_round(model, requester, sector, k, salt, t0, b, pending, out, found):
    """Fetch draws t0 .. t0 + b - 1 of requesters `pending` and accept, in draw order, employers of
    `sector` not yet among a requester's candidates, up to k (out and found updated)."""
    draws = _candidate_draws(model, requester[pending], salt, t0, b)
    rep = _employer_codes_of(model, draws.reshape(-1)).reshape(draws.shape)
    mine = out[pending]
    f = found[pending]
    kmm.accept_candidates(rep, sector, mine, f)
    out[pending] = mine
    found[pending] = f


class SellerBook:
    """Per-rank table of the firm ids named in this rank's households' seller lists, which hold
    int32 rows of it instead of int64 ids (4 B instead of 8 per entry; note sec. 5's "int32 firm
    slots"). A row keeps naming the same firm until compact(), which drops rows no list names any
    more and renumbers the lists. Rows only change the representation, never a result: every
    market rule sees firm ids (ids_of) or sums orders per row, i.e. per firm. Ids are found by an
    open-addressing table (kernel book_rows) at most 3/4 full."""

    def __init__(self, capacity=1024):
        self.ids = np.empty(max(int(capacity), 16), dtype=np.int64)
        self.size = 0
        self._keys = np.full(64, -1, dtype=np.int64)      # table: firm id (-1: empty) ...
        self._rows = np.empty(64, dtype=np.int32)         # ... and its row

    def nbytes(self):
        return self.ids.nbytes + self._keys.nbytes + self._rows.nbytes

    def ids_of(self, rows):
        """Firm ids of rows (any shape); -1 where row < 0."""
        rows = np.asarray(rows)
        flat = np.ascontiguousarray(rows.reshape(-1), dtype=np.int32)
        return kmm.book_ids(self.ids, flat).reshape(rows.shape)

    def _rebuild_table(self, entries):
        """A table of the smallest power-of-two size at most 3/4 full with `entries` ids."""
        size = 64
        while 3 * size < 4 * entries:
            size *= 2
        self._keys = np.full(size, -1, dtype=np.int64)
        self._rows = np.empty(size, dtype=np.int32)
        kmm.book_rows(self._keys, self._rows, self.ids[: self.size].copy(), self.ids, 0, 0,
                      np.empty(self.size, dtype=np.int32), self.size)

    def find(self, ids):
        """Rows of firm ids (any shape) without adding any: -1 for ids < 0 and ids not named."""
        ids = np.asarray(ids, dtype=np.int64)
        flat = np.ascontiguousarray(ids.reshape(-1))
        return kmm.book_find(self._keys, self._rows, flat).reshape(ids.shape)

    def rows_of(self, ids):
        """Rows of firm ids (any shape; -1 for ids < 0), adding the ids not yet in the book."""
        ids = np.asarray(ids, dtype=np.int64)
        flat = np.ascontiguousarray(ids.reshape(-1))
        out = np.empty(flat.size, dtype=np.int32)
        i = 0
        while True:
            limit = min(self.ids.size, 3 * self._keys.size // 4)
            self.size, i = kmm.book_rows(self._keys, self._rows, flat, self.ids, self.size, i, out, limit)
            if i >= flat.size:
                return out.reshape(ids.shape)
            if self.size >= 2**31 - 1:
                raise OverflowError("seller book: more than 2^31 - 1 firms named on one rank")
            if self.size >= self.ids.size:                  # room for more ids
                grown = np.empty(2 * self.ids.size, dtype=np.int64)
                grown[: self.size] = self.ids[: self.size]
                self.ids = grown
            if 4 * self.size >= 3 * self._keys.size:        # a table twice the size
                self._rebuild_table(2 * self.size)

    def compact(self, *lists, min_garbage=0.25):
        """Drop rows that none of `lists` (int32 row arrays, renumbered in place) names, when at
        least min_garbage of the book is unnamed. Returns the number of rows dropped."""
        named = np.zeros(self.size, dtype=np.uint8)
        for a in lists:
            kmm.mark_named(a, named)
        keep = np.nonzero(named)[0]
        if self.size - keep.size < min_garbage * self.size or self.size == 0:
            return 0
        renum = np.full(self.size, -1, dtype=np.int32)
        renum[keep] = np.arange(keep.size, dtype=np.int32)
        for a in lists:
            kmm.renumber_rows(a, renum)
        dropped = self.size - keep.size
        ids = self.ids[keep]
        self.ids = np.empty(max(16, keep.size + keep.size // 4), dtype=np.int64)
        self.ids[:keep.size] = ids
        self.size = keep.size
        self._rebuild_table(keep.size)
        return dropped


class SellerLists:
    """A household's known sellers as an (n, K) list of firm ids, stored as int32 rows of a
    SellerBook. Indexing reads ids (-1: none) and assignment takes ids, so rules are written in
    firm ids; `rows` is the stored array (kernels use it directly)."""

    def __init__(self, book, n, K):
        self.book = book
        self.rows = np.full((n, K), -1, dtype=np.int32)

    def __getitem__(self, key):
        return self.book.ids_of(self.rows[key])

    def __setitem__(self, key, ids):
        self.rows[key] = self.book.rows_of(ids)

    def __array__(self, dtype=None, copy=None):
        out = self.ids()
        return out if dtype is None else out.astype(dtype)

    def ids(self):
        return self.book.ids_of(self.rows)


def buyers_round_rows(model, book, seller_rows, active, left, units, rationed, row_slot=None):
    """One buyers_round for sellers named by SellerBook rows (buyers_rounds_rows with one round)."""
    buyers_rounds_rows(model, book, seller_rows, active, left, units, rationed, 1, row_slot)


def buyers_rounds_rows(model, book, seller_rows, active, left, units, rationed, rounds,
                       row_slot=None, close_unordered=False, spent=None):
    """`rounds` buyers_rounds for sellers named by SellerBook rows (int32): orders summed per row
    without hashing, the same requests, replies and arithmetic (tested equal); each round's
    settlement pass also sums the next round's orders (a buyer's orders depend on its own budget
    and sellers only). row_slot: each row's firm slot at its home (model.market_slots), so that
    requests and payments are addressed by slot and the homes need no id look-up.
    close_unordered: round_settle's intermediate-market rule; spent (optional, per buyer) adds
    what each round paid."""
    tot = np.zeros(book.size, dtype=np.int64)
    kmm.round_orders_rows(seller_rows, active, left, tot)
    for r in range(rounds):
        hit = np.flatnonzero(tot)
        fids = book.ids[hit]
        pieces = firm_pieces(model, fids)
        fill = np.zeros((book.size, 2))                     # phi, price of each ordered row
        for idx in pieces:
            h = hit[idx]
            fill[h, 0], fill[h, 1] = _fetch_fills(model, fids[idx], tot[h],
                                                  None if row_slot is None else row_slot[h])
        paid = tot                                          # reused: these orders are sent
        paid[:] = 0
        nxt = np.zeros(book.size, dtype=np.int64) if r + 1 < rounds else None
        before = left.copy() if spent is not None else None
        kmm.round_settle_rows(seller_rows, active, left, fill, paid, units, rationed, nxt,
                              close_unordered)
        if spent is not None:
            spent += before - left
            del before
        del fill
        for idx in pieces:
            h = hit[idx]
            _pay_sellers(model, fids[idx], paid[h], None if row_slot is None else row_slot[h])
        tot = nxt
