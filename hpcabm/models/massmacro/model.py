"""MASs Macro: Axtell's endogenous firms with goods markets (seed 000; docs/models/massmacro.md).

Every agent is worker, household and consumer. Firms belong to a sector: perishable consumption
good C, durable D (a household owns 0 or 1; each fails with probability pi_D a month), and
intermediate I (used by C and D firms). The month (shared/notes/MASS_MACRO.md sec. 3.2):
 1 durable failures  2 production  3 pricing (local signals)  4 budgets  5 durable market
 6 perishable market (pro-rata rounds)  7 sales accounting  8 intermediate market  9 wages
 (labour is the residual claimant), dissolution  10 labour phase: layoffs, Axtell's activations
 with goods-market values, unemployed search, start-ups  11 seller/supplier switching  12 stats.
Money is int64 and conserved exactly: households' plus firms' money is the same every month.
With `massmacro.markets: false` every step is the firms model's step (same seed, same results)."""
import time
from contextlib import contextmanager
from functools import partial

import numpy as np

from hpcabm.core import rng
from hpcabm.kernels import core as kcore
from hpcabm.kernels import labour
from hpcabm.kernels import massmacro as kmm
from hpcabm.models.firms.model import EFX_INV, EVENT, order_key
from hpcabm.models.firms.model import SERIES as LABOUR_SERIES
from hpcabm.models.firms.model import Model as FirmsModel
from hpcabm.models.massmacro import markets

C, D, I = 0, 1, 2
SECTORS = ("C", "D", "I")

MARKET = np.dtype([("sector", "i1"), ("price", "f8"), ("inv", "f8")])
# what the labour sub-step asks a firm (the technology a, b, beta is regenerated from the id)
LABOUR_ROW = np.dtype([("n", "i8"), ("efx", "i8"), ("r", "f8"), ("price", "f8"), ("open", "i1"),
                       ("sector", "i1")])
APPLY = np.dtype([("fid", "i8"), ("agent", "i8"), ("prio", "f8")])
TRANSFER = np.dtype([("agent", "i8"), ("amount", "i8")])
DREQ = np.dtype([("fid", "i8"), ("agent", "i8"), ("key", "u8")])

MM_SERIES = ("output_C", "output_D", "output_I", "wages", "unemployment_rate", "unemployed",
             "price_level", "inflation", "price_C", "price_D", "price_I", "price_changes",
             "durable_stock", "durables_sold", "money_total", "money_households", "money_firms",
             "job_to_job", "layoffs", "dissolutions", "hires", "spells_completed",
             "spell_months_sum", "consumption_C", "goods_utility", "durable_failures",
             "produced_D", "produced_I", "inventory_D", "inventory_I", "sold_I", "inputs_stock",
             "inputs_used", "inventory_C", "lost_D", "lost_I", "lost_inputs")
SPELL_BINS = 121     # completed unemployment spells of 0..119 months, and >= 120


def first_in_queue(s, n_slots, cap, key, agent):
    """Per request to firm slot s (0 .. n_slots - 1; -1: the firm no longer exists), whether it
    is among the first cap (its firm's capacity, given per request) of the firm's queue ordered
    by (key, agent) (uint64 or float64 keys). Only firms with more requests than capacity > 0
    sort their queue (kernel first_in_queue): where every request fits, or none, the order
    decides nothing."""
    return kcore.first_in_queue(np.ascontiguousarray(s, dtype=np.int64), int(n_slots),
                              np.ascontiguousarray(cap, dtype=np.float64), order_key(key),
                              np.ascontiguousarray(agent, dtype=np.int64))


def _market_rows(cols, at):
    """Columns (sector, price, inv) of cols[at] (at: rows of a market_info reply, any shape); where
    at < 0 (no firm) those of a firm that does not exist: sector -1, price inf, no stock."""
    ok = at >= 0
    r = np.where(ok, at, 0)
    if cols["price"].size == 0:
        return {"sector": np.full(at.shape, -1, np.int8), "price": np.full(at.shape, np.inf),
                "inv": np.zeros(at.shape)}
    return {"sector": np.where(ok, cols["sector"][r], np.int8(-1)),
            "price": np.where(ok, cols["price"][r], np.inf),
            "inv": np.where(ok, cols["inv"][r], 0.0)}


class Model(FirmsModel):
    name = "massmacro"
    durable_shortcut = True      # skip candidate draws of households that cannot afford any D good
    sector_map = None            # every agent's employer sector, while held (_employer_sector_map)
    # goods-market firm state, added to the firm store when the markets start (none is carried
    # through a labour-only warm start)
    MARKET_FIRM_COLUMNS = {
        "sector": (np.int8, -1), "price": (np.float64, 0.0), "inv": (np.float64, 0.0),
        "inputs": (np.float64, 0.0), "input_price": (np.float64, 0.0), "cash": (np.int64, 0),
        "rhat": (np.float64, 0.0), "revenue": (np.int64, 0), "sales": (np.float64, 0.0),
        "unmet": (np.float64, 0.0), "produced": (np.float64, 0.0), "input_cost": (np.float64, 0.0),
        "signal": (np.int8, 0), "long_count": (np.int8, 0), "vacancies": (np.int32, 0),
        "nopay": (np.int8, 0), "wbar": (np.float64, 0.0), "wage": (np.int64, 0),
        "sup0": (np.int64, -1), "sup1": (np.int64, -1), "sup2": (np.int64, -1),
    }

    def __init__(self, cfg, comm):
        super().__init__(cfg, comm)
        p = cfg.massmacro
        self.p = p
        self.markets = bool(p.markets)
        self.markets_from = int(p.markets_from)
        self.unit = float(p.price_unit)
        self.KC, self.KD, self.KI = int(p.sellers_c), int(p.sellers_d), int(p.suppliers)
        self.q_D = 1.0
        self.market_on = False
        if self.markets:
            for k in MM_SERIES:
                self.series[k] = []
            self.series["spell_hist"] = []
        self.price_level_prev = 0.0

    def _alloc_market_state(self):
        """Households' goods-market state and the firms' goods-market columns, allocated when the
        markets start (or a checkpoint taken after that is read), so that a labour-only warm start
        carries only the labour model's state."""
        if "sector" not in self.firms.columns:
            self.firms.compact(tight=True)        # free slots would carry 143 B of columns each
            self.firms.add_columns(self.MARKET_FIRM_COLUMNS)
        if getattr(self, "money", None) is not None:
            return
        n = self.part.count
        self.money = np.zeros(n, dtype=np.int64)
        self.ybar = np.zeros(n, dtype=np.float32)
        self.wres = np.zeros(n, dtype=np.float32)
        self.income = np.zeros(n, dtype=np.float32)
        self.durable = np.zeros(n, dtype=np.int8)
        self.book = markets.SellerBook()                         # firm ids the lists name
        self.cs = markets.SellerLists(self.book, n, self.KC)     # known C sellers
        self.ds = markets.SellerLists(self.book, n, self.KD)     # known D sellers
        self.rationed = np.zeros(n, dtype=np.uint8)              # bit k: C seller k rationed
        self.spell_start = np.full(n, -1, dtype=np.int32)        # month unemployment began
        # sector of the agent's employer (-1: none): a cache, so that a candidate "proportional to
        # employees" of a sector is found at the drawn agent's home without asking the firm
        self.emp_sector = np.full(n, -1, dtype=np.int8)

    # -- helpers -----------------------------------------------------------------------------
    def _pieces_of(self, a, size):
        """a in consecutive pieces of at most `size`, the same number of pieces on every rank
        (each piece may run collectives)."""
        return [a[sl] for sl in self._slices(a.size, size)]

    def sector_share(self, sector):
        """Share of all agents employed in `sector` (employer-sector caches, summed over the ranks
        once a month at the first call, which every rank makes at the same point: it is called by
        the candidate draws, themselves collective). Sizes the candidate-draw rounds only."""
        if getattr(self, "_share_month", None) != self.month:
            cnt = np.zeros(4, dtype=np.int64)
            for c in range(0, self.part.count, self.CHUNK):
                cnt += np.bincount(self.emp_sector[c:c + self.CHUNK] + 1, minlength=4)
            self._sector_shares = self.comm.sum_int(cnt) / max(self.N, 1)
            self._share_month = self.month
        return float(self._sector_shares[sector + 1])

    @property
    def employed(self):
        return self.firm >= 0

    def _u(self, purpose, ids, step, draw=0):
        return kcore.uniform(self.seed, purpose, np.ascontiguousarray(ids, dtype=np.int64), step, draw)

    def _transfer_to_agents(self, agents, amounts):
        """Move int64 money to agents (anywhere) — one exchange."""
        rec = np.empty(len(agents), dtype=TRANSFER)
        rec["agent"] = agents
        rec["amount"] = amounts
        got, _ = self.comm.exchange(self.part.owner(rec["agent"]), rec)
        np.add.at(self.money, got["agent"] - self.part.lo, got["amount"])

    # -- initial state -------------------------------------------------------------------------
    def initialize(self):
        super().initialize()
        if self.markets and self.markets_from == 0:
            self._start_markets()

    def _sector_of_new(self, fids):
        u = self._u(rng.MM_SECTOR, fids, 0)
        lo, hi = self.p.sector_shares
        return np.where(u < lo, C, np.where(u < hi, D, I)).astype(np.int8)

    def _start_markets(self):
        """Goods-market state on top of the current labour state (note sec. 3.11)."""
        self._alloc_market_state()
        fs = self.firms
        live = np.nonzero(fs.id >= 0)[0]
        fs.sector[live] = self._sector_of_new(fs.id[live])
        O = self._live_output(live)
        # q_D: durable price ~ 1.41 months of perishable spending at t0 (s_D/((1-s_D) pi_D))
        c_units = self.comm.exact_sum(np.where(fs.sector[live] == C, O, 0.0)) / self.N
        sD, piD = self.p.durable_weight, self.p.durable_fail
        self.q_D = max(sD / ((1 - sD) * max(piD, 1e-9)) * c_units, 1e-6)
        fs.price[live] = np.where(fs.sector[live] == D, self.q_D * self.unit, self.unit)
        fs.rhat[live] = self.unit
        fs.input_price[live] = self.unit
        fs.wbar[live] = 0.0
        cd = live[fs.sector[live] != I]
        fs.inputs[cd] = self.p.input_coeff * O[fs.sector[live] != I]
        fs.signal[live] = 1                                  # everyone starts open (short)
        fs.vacancies[live] = 1
        # households: two months of income, a durable, seller lists
        share = np.zeros(fs.capacity)
        share[live] = O / fs.n[live] * self.unit
        for sl in self._agent_slices():
            inc = self.firm_values_block(share, sl, 0.0)
            self.money[sl] = np.floor(2.0 * inc).astype(np.int64)
            self.ybar[sl] = inc
            self.income[sl] = inc
            self.spell_start[sl] = np.where(self.firm[sl] >= 0, -1, self.month)
        del share
        self.durable[:] = 1
        self._set_emp_sector()
        with self._employer_sector_map():
            for block in self._agent_chunks():       # per block: bounded temporaries, same draws
                self.cs[block] = self._draw_sellers(block, C, self.KC, salt=1)
                self.ds[block] = self._draw_sellers(block, D, self.KD, salt=2)
            self._draw_suppliers_for(live)
        self.market_on = True

    @contextmanager
    def _employer_sector_map(self):
        """While no one changes employer (the durable market, seller switching, the markets'
        start): every rank holds the 2-bit employer sector of every agent (N / 4 bytes, gathered
        from the employer-sector caches), so that candidate draws "proportional to employees" of
        a sector look up only the drawn agents who work in it (markets._accept_mapped; the same
        candidates). Collective: every rank enters it at the same point."""
        every = self.comm.allgather_concat(kmm.pack_sector_codes(self.emp_sector, self.part.lo))
        smap = np.zeros((self.N + 3) // 4, dtype=np.uint8)
        b, off = self.part.bounds, 0
        for r in range(self.comm.size):
            if b[r + 1] > b[r]:
                b0, b1 = int(b[r]) // 4, (int(b[r + 1]) + 3) // 4     # neighbours may share a byte
                smap[b0:b1] |= every[off:off + b1 - b0]
                off += b1 - b0
        del every
        self.sector_map = smap
        try:
            yield
        finally:
            self.sector_map = None

    def _set_emp_sector(self):
        """Rebuild the employer-sector cache from the firms (at the markets' start and on restart)."""
        self.emp_sector[:] = self.firm_values_for_agents(self.firms.sector, -1)

    def _draw_sellers(self, local_idx, sector, k, salt, tries_per=6):
        """k distinct sellers of `sector` per agent, drawn proportional to employees (-1 where
        none was found among k * tries_per draws)."""
        agents = self.part.lo + np.asarray(local_idx, dtype=np.int64)
        return self._sector_candidates(agents, sector, k, salt, tries_per)

    def _sector_candidates(self, requesters, sector, k, salt, tries_per=6, also=None):
        """Up to k distinct candidates of `sector` per requester, drawn in chunks so that the
        temporaries stay bounded (every rank runs the same number of chunks). With `also` ((n, j)
        firm ids, e.g. the requesters' current sellers), returns (candidates, MARKET rows of the
        candidates, MARKET rows of `also`), all fetched in the candidates' one exchange."""
        slices = self._slices(requesters.size, self.CHUNK)
        if len(slices) == 1:
            return self._sector_candidates_block(requesters, sector, k, salt, tries_per, also)
        parts = [self._sector_candidates_block(requesters[sl], sector, k, salt, tries_per,
                                               None if also is None else also[sl]) for sl in slices]
        if also is None:
            return np.concatenate(parts)
        return (np.concatenate([p[0] for p in parts]),
                *({f: np.concatenate([p[i][f] for p in parts]) for f in parts[0][i]} for i in (1, 2)))

    def _sector_candidates_block(self, requesters, sector, k, salt, tries_per, also=None):
        out = markets.first_sector_employers(self, requesters, sector, k, salt, k * tries_per)
        if also is None:
            return out
        cols, inv = self.market_info(np.concatenate([out.reshape(-1), also.reshape(-1)]))
        return (out, _market_rows(cols, inv[: out.size].reshape(out.shape)),
                _market_rows(cols, inv[out.size:].reshape(also.shape)))

    def _draw_suppliers_for(self, slots):
        fs = self.firms
        slots = np.asarray(slots)
        cd = slots[fs.sector[slots] != I] if slots.size else slots
        # requester entity for a firm: its id (a different stream from agents' by salt)
        sup = self._draw_firm_sellers(fs.id[cd], I, self.KI, salt=3)
        for k in range(3):
            col = getattr(fs, f"sup{k}")
            col[cd] = sup[:, k] if k < self.KI else -1

    def _draw_firm_sellers(self, fids, sector, k, salt, tries_per=6):
        out = np.full((fids.size, 3), -1, dtype=np.int64)
        out[:, :k] = self._sector_candidates(np.asarray(fids, dtype=np.int64), sector, k, salt, tries_per)[:, :k]
        return out

    # -- serving firm data at homes -----------------------------------------------------------
    def labour_rows(self, firm_ids):
        """The labour sub-step's view of the distinct firms in firm_ids (dict of columns: id, a, b,
        beta, n, efx, r = smoothed net revenue per unit of output, open = worth applying to,
        sector, price; a firm that no longer exists has n 0, sector -1, price inf and is closed),
        fetched once per (rank, firm) without the technology, which is regenerated here from the
        id; and each input's row (-1 for ids < 0)."""
        uniq, rows, inv = self.fetch_distinct(firm_ids, self._serve_labour_rows)
        c = {f: np.ascontiguousarray(rows[f]) for f in LABOUR_ROW.names}
        c["id"] = uniq
        c["a"], c["b"], c["beta"] = labour.technology(self.seed, uniq, self.tech)
        return c, inv

    def _serve_labour_rows(self, ids):
        fs = self.firms
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        out = np.empty(ids.size, dtype=LABOUR_ROW)
        kmm.serve_labour_rows(ids, fs.head, fs.next, fs.id, self.part.lo, self.N, fs.n, fs.efx,
                              fs.rhat, fs.signal, fs.vacancies, fs.sector, fs.price, self.unit,
                              self.p.r_min, self.p.closed_accept > 0,
                              out.view(np.uint8).reshape(ids.size, LABOUR_ROW.itemsize))
        return out

    def _serve_labour_rows_numpy(self, ids):
        """NumPy twin of _serve_labour_rows (the reference it is tested against)."""
        fs = self.firms
        s = fs.slots_of(ids)
        dead = s < 0
        s = np.maximum(s, 0).astype(np.int64)

        def col(name):                       # prefetched gather of a firm column
            return kcore.take(getattr(fs, name), s)
        out = np.empty(ids.size, dtype=LABOUR_ROW)
        out["n"] = np.where(dead, 0, col("n"))
        out["efx"] = np.where(dead, 0, col("efx"))
        out["r"] = np.maximum(col("rhat") / self.unit, self.p.r_min)
        # "open" = worth applying to: open with vacancies, or closed but accepting w.p. rho_c > 0
        if self.p.closed_accept > 0:
            out["open"] = ~dead
        else:
            out["open"] = (col("signal") > 0) & (col("vacancies") > 0) & ~dead
        out["sector"] = np.where(dead, -1, col("sector"))
        out["price"] = np.where(dead, np.inf, col("price"))
        return out

    def _serve_market_info(self, ids):
        """Sector, price and stock of firms (sector -1, price inf for firms that no longer exist)."""
        fs = self.firms
        s = fs.slots_of(ids)
        dead = s < 0
        s = np.maximum(s, 0).astype(np.int64)
        out = np.empty(ids.size, dtype=MARKET)
        out["sector"] = np.where(dead, -1, kcore.take(fs.sector, s))      # prefetched gathers
        out["price"] = np.where(dead, np.inf, kcore.take(fs.price, s))
        out["inv"] = np.where(dead, 0.0, kcore.take(fs.inv, s))
        return out

    def market_info(self, firm_ids):
        return self.fetch_summaries(firm_ids, self._serve_market_info)

    # -- market info of the firms this rank's seller book names -------------------------------
    def _ask_named_firms(self, book, lists, serve, store):
        """Ask, at their homes, the firms that the int32 row lists `lists` name in `book`, once per
        (rank, firm) and in pieces of at most markets.PIECE: store(rows, replies) per piece."""
        named = np.zeros(book.size, dtype=np.uint8)
        kmm.mark_named(lists, named)
        rows = np.nonzero(named)[0]
        del named
        for sl in self._slices(rows.size, markets.PIECE):
            q = np.ascontiguousarray(book.ids[rows[sl]])
            store(rows[sl], self.comm.fetch(self.home(q), q, serve))

    def _snapshot_book_market(self, lists):
        """Sector, price and stock of every firm the seller lists `lists` (int32 book rows, e.g.
        the households' durable sellers) name, fetched once per phase in which no firm changes
        them (the durable choices; seller switching): one request per (rank, firm) instead of one
        per (household block, firm). The phase's look-ups then read this table (_market_of); the
        same values as asking the firms at the time. Rows not fetched have sector -2."""
        tab = {"sector": np.full(self.book.size, -2, np.int8), "price": np.empty(self.book.size),
               "inv": np.empty(self.book.size)}

        def store(rows, rep):
            for f in tab:
                tab[f][rows] = rep[f]
        self._ask_named_firms(self.book, lists, self._serve_market_info, store)
        self._book_tab = tab

    def _market_of(self, ids, rows=None):
        """MARKET columns (dict: sector, price, inv; the shape of ids) of firm ids (-1: none) from
        the book snapshot; ids it does not cover (not named when it was taken) are fetched.
        rows: the ids' book rows when the caller has them. Every rank must call it."""
        ids = np.asarray(ids, dtype=np.int64)
        if rows is None:
            rows = self.book.find(ids)
        tab = self._book_tab
        r = np.ascontiguousarray(rows, dtype=np.int32).reshape(-1)
        out = {"sector": np.empty(r.size, np.int8), "price": np.empty(r.size), "inv": np.empty(r.size)}
        kmm.market_gather(r, tab["sector"], tab["price"], tab["inv"], out["sector"], out["price"], out["inv"])
        flat = ids.reshape(-1)
        miss = np.nonzero((flat >= 0) & ((r < 0) | (r >= tab["price"].size) | (out["sector"] == -2)))[0]
        cols, inv = self.market_info(flat[miss])
        got = _market_rows(cols, inv)
        for f in out:
            out[f][miss] = got[f]
            out[f] = out[f].reshape(ids.shape)
        return out

    def _serve_orders(self, rec):
        fs = self.firms
        uniq, inv, tot = markets._group_sum(rec["fid"], rec["amount"])
        s = fs.slots_of(uniq)
        alive = s >= 0
        ss = np.maximum(s, 0).astype(np.int64)
        p = np.where(alive, kcore.take(fs.price, ss), 0.0)
        q = np.where(alive, kcore.take(fs.inv, ss), 0.0)
        value = q * p
        phi = np.where(tot > 0, np.minimum(1.0, value / np.maximum(tot, 1)), 1.0)
        phi = np.where(alive, phi, -1.0)
        a = s[alive]
        fs.unmet[a] += np.maximum(tot[alive] - value[alive], 0.0) / p[alive]
        out = np.empty(rec.size, dtype=markets.FILL)
        out["phi"] = phi[inv]
        out["price"] = p[inv]
        return out

    # -- the perishable market's requests addressed by firm slot ------------------------------
    def market_slots(self, lists, book=None):
        """Each row of `book` (the households' seller book by default) named by `lists`: its
        firm's slot at the firm's home (-1: no such firm any more), fetched once for a phase in
        which no firm is added, removed or moved (the perishable and intermediate markets), with
        the homes' slot-sum scratch. Other rows: -1."""
        book = self.book if book is None else book
        row_slot = np.full(book.size, -1, dtype=np.int64)
        fs = self.firms

        def store(rows, slots):
            row_slot[rows] = slots
        self._ask_named_firms(book, lists, lambda q: fs.slots_of(q).astype(np.int64), store)
        self._slot_layout = fs.layout                  # the slots hold while this does not change
        self._slot_scratch = np.zeros(fs.capacity, dtype=np.int64)
        return row_slot

    def _check_slot_layout(self):
        if self.firms.layout != self._slot_layout:
            raise AssertionError("firm slots changed while requests were addressed by slot")

    def _serve_orders_at_slots(self, rec):
        self._check_slot_layout()
        fs = self.firms
        out = np.empty(rec.size, dtype=markets.FILL)
        phi, price = np.empty(rec.size), np.empty(rec.size)
        kmm.serve_orders_at_slots(np.ascontiguousarray(rec["slot"]), np.ascontiguousarray(rec["amount"]),
                                  fs.price, fs.inv, fs.unmet, self._slot_scratch, phi, price)
        out["phi"], out["price"] = phi, price
        return out

    def _receive_payments_at_slots(self, rec):
        self._check_slot_layout()
        fs = self.firms
        kmm.receive_payments_at_slots(np.ascontiguousarray(rec["slot"]), np.ascontiguousarray(rec["amount"]),
                                      fs.cash, fs.revenue, fs.price, fs.sales, fs.inv, self._slot_scratch)

    def _receive_payments(self, rec):
        fs = self.firms
        if rec.size == 0:
            return
        uniq, inv, tot = markets._group_sum(rec["fid"], rec["amount"])
        s = fs.slots_of(uniq)
        ok = s >= 0
        s, tot = s[ok], tot[ok]
        fs.cash[s] += tot
        fs.revenue[s] += tot
        units = tot / fs.price[s]
        fs.sales[s] += units
        fs.inv[s] = np.maximum(fs.inv[s] - units, 0.0)

    def _firms_dying(self, slots):
        """A dying firm's cash goes to an heir drawn uniformly among all agents (money stays
        in the economy; deterministic and partition-independent)."""
        if not self.market_on:
            return
        fs = self.firms
        sec = fs.sector[slots]
        self._lost[0] += fs.inv[slots][sec == D].tolist()
        self._lost[1] += fs.inv[slots][sec == I].tolist()
        self._lost[2] += fs.inputs[slots].tolist()
        cash = fs.cash[slots]
        has = cash != 0
        if has.any():
            heirs = np.minimum((self._u(rng.MM_ESTATE, fs.id[slots][has], self.month) * self.N)
                               .astype(np.int64), self.N - 1)
            self._estates.append((heirs, cash[has].copy()))
            fs.cash[slots] = 0

    # -- one month ------------------------------------------------------------------------------
    def step(self):
        if not self.markets:
            return super().step()
        if not self.market_on and self.month >= self.markets_from:
            self._start_markets()
        if not self.market_on:
            super().step()
            self._append_zero_market_series()
            return
        m = self.month
        self._counts = np.zeros(5, dtype=np.int64)
        self._mm = {k: 0 for k in ("job_to_job", "layoffs", "dissolutions", "hires", "durables_sold",
                                   "spells_completed", "spell_months_sum", "durable_failures")}
        self._spell_hist = np.zeros(SPELL_BINS, dtype=np.int64)
        self._estates = []
        self._lost = [[], [], []]        # goods of dying firms: D stock, I stock, input stocks
        t0 = time.perf_counter()
        self._durable_failures(m)
        self._produce()
        self._set_prices(m)
        t0 = self._tick("production+pricing", t0)
        budget = np.empty(self.part.count, dtype=np.int64)      # consumption budgets (sec. 3.4)
        for sl in self._agent_slices():
            budget[sl] = np.maximum(np.minimum(self.money[sl], np.floor(
                self.p.c_income * self.ybar[sl].astype(np.float64) + self.p.c_wealth * self.money[sl])
                .astype(np.int64)), 0)
        self._durable_market(m)
        t0 = self._tick("D market", t0)
        np.minimum(budget, self.money, out=budget)               # after durable purchases
        units_c = self._perishable_market(budget)
        del budget
        t0 = self._tick("C market", t0)
        self._signals_after_c()
        self._intermediate_market()
        self._signals_after_i()
        t0 = self._tick("I market", t0)
        self._pay_wages()
        separated = self._pay_members(m)
        self._record_market_flows()
        t0 = self._tick("wages", t0)
        self._labour_phase(m, separated)
        del separated
        t0 = self._tick("labour", t0)
        self._switch_sellers(m)
        t0 = self._tick("switching", t0)
        self.month += 1
        if self.month == self.ref_month:
            self._record_size_ref()
        self._tick("stats", t0)
        self._units_c = units_c             # the goods-utility sums ride on the statistics sweep
        self._gu_parts = np.zeros((2, kcore.N_BUCKETS, 2), dtype=np.int64)
        self._month_stats()                 # adds its own time to "stats"
        t0 = time.perf_counter()
        self._market_stats()
        self._units_c = None
        self.firms.compact()
        self.book.compact(self.cs.rows, self.ds.rows)
        self._tick("stats", t0)

    # 1. durable failures
    def _durable_failures(self, m):
        failures = 0
        for sl in self._agent_slices():
            u = self._u(rng.MM_DFAIL, self.agent_ids(sl), m)
            d = self.durable[sl]
            fail = (d == 1) & (u < self.p.durable_fail)
            d[fail] = 0
            failures += int(fail.sum())
        self._mm["durable_failures"] = failures

    # 2. production
    def _produce(self):
        fs = self.firms
        live = np.nonzero(fs.id >= 0)[0]
        O = self._live_output(live)
        sec = fs.sector[live]
        phi = self.p.input_coeff
        cd = sec != I
        z = np.where(sec == D, 1.0 / self.q_D, 1.0)
        team = np.where(cd, np.minimum(O, fs.inputs[live] / phi) if phi > 0 else O, O)
        used = np.where(cd, phi * team, 0.0)
        Y = z * team
        fs.input_cost[live] = used * fs.input_price[live]
        # flows recorded when they happen (firms may die later in the month), kept as exact-sum
        # parts (the sums are exact: the same whenever they are taken)
        self._flows = {}
        self._flow("output_C", np.where(sec == C, O, 0.0))
        self._flow("output_D", np.where(sec == D, O, 0.0))
        self._flow("output_I", np.where(sec == I, O, 0.0))
        self._flow("produced_D", np.where(sec == D, Y, 0.0))
        self._flow("produced_I", np.where(sec == I, Y, 0.0))
        self._flow("inputs_used", used)
        fs.inputs[live] -= used
        fs.inputs[live] = np.maximum(fs.inputs[live], 0.0)
        fs.inv[live] += Y
        fs.produced[live] = Y
        fs.revenue[live] = 0
        fs.sales[live] = 0.0
        fs.unmet[live] = 0.0

    def _flow(self, name, values):
        self._flows[name] = kcore.exact_sum_parts(np.ascontiguousarray(values, dtype=np.float64))

    # 3. pricing from last month's signals (local: no aggregate price enters)
    def _set_prices(self, m):
        fs = self.firms
        live = np.nonzero(fs.id >= 0)[0]
        ids = fs.id[live]
        review = self._u(rng.MM_PRICE, ids, m, 0) < self.p.price_review
        step = self._u(rng.MM_PRICE, ids, m, 1) * self.p.price_step
        sig = fs.signal[live]
        p = fs.price[live]
        z = np.where(fs.sector[live] == D, 1.0 / self.q_D, 1.0)
        floor = np.where(fs.sector[live] == I, 0.0,
                         (1 + self.p.markup_min) * self.p.input_coeff * fs.input_price[live] / z)
        up = review & (sig > 0)
        down = review & (sig < 0)
        newp = np.where(up, p * (1 + step), np.where(down, np.maximum(floor, p * (1 - step)), p))
        self._price_changes = int((newp != p).sum())
        fs.price[live] = newp

    # 5. durable market
    def _durable_market(self, m):
        """Households without a durable look at their K_D known D sellers and Z_D candidates
        drawn proportional to employees, pick the cheapest with stock, and buy if they keep
        mu_D months of income; a firm serves unit requests in hash(seed, agent, month) order."""
        # A shortcut that changes no outcome: no household can pay less than the cheapest D firm
        # with stock anywhere (costs are rint(price), monotone in price), so those whose money
        # would fall below mu_D months of income even then skip the candidate draws; they only
        # forget known sellers that no longer exist, as every household without a durable does.
        fs = self.firms
        stocked = (fs.id >= 0) & (fs.sector == D) & (fs.inv >= 1.0)
        local_min = int(np.rint(fs.price[stocked].min())) if stocked.any() else 2**62
        min_cost = self.comm.min_int(local_min)
        shoppers, skipped = [], []
        for sl in self._agent_slices():       # block by block: bounded temporaries
            need = sl.start + np.nonzero(self.durable[sl] == 0)[0]
            shop = self.money[need] - min_cost >= self.p.durable_keep * self.ybar[need]
            if not self.durable_shortcut:
                shop[:] = True
            skipped.append(need[~shop])
            shoppers.append(need[shop])
        need, skipped = np.concatenate(shoppers), np.concatenate(skipped)
        del shoppers
        self._snapshot_book_market(self.ds.rows)   # no firm's price or stock changes until the requests
        for part in self._pieces_of(skipped, 16 * self.CHUNK):
            self._forget_dead_durable_sellers(part)
        del skipped
        with self._employer_sector_map():
            picks = [self._durable_choices(part) for part in self._pieces_of(need, self.CHUNK)]
        del self._book_tab
        buyers = np.concatenate([p[0] for p in picks])
        fid = np.concatenate([p[1] for p in picks])
        kp_buyers = np.concatenate([p[2] for p in picks])
        del picks
        req = np.empty(buyers.size, dtype=DREQ)
        req["fid"] = fid
        req["agent"] = self.part.lo + buyers
        req["key"] = self._u(rng.MM_LOTTERY, req["agent"], m).view(np.uint64)
        got = np.empty(req.size, dtype=np.int64)
        for idx in markets.firm_pieces(self, req["fid"]):     # a firm's requests meet in one piece
            r = req[idx]
            got[idx] = self.comm.fetch(self.home(r["fid"]), r, self._serve_durable_requests)
        ok = got >= 0
        b = buyers[ok]
        self.money[b] -= got[ok]
        self.durable[b] = 1
        self._mm["durables_sold"] += int(ok.sum())
        # the seller used replaces the dearest (or an empty) entry of the buyer's list
        used = req["fid"][ok]
        known_ids = self.ds[b]
        kp = kp_buyers[ok]
        already = (known_ids == used[:, None]).any(axis=1)
        slot = np.argmax(kp, axis=1)
        r = np.nonzero(~already)[0]
        self.ds[b[r], slot[r]] = used[r]

    def _forget_dead_durable_sellers(self, who):
        """Known D sellers of households `who` that no longer exist (sector -1 in the phase's book
        snapshot, which holds every firm the durable lists name) become empty entries."""
        kmm.forget_dead_rows(self.ds.rows, np.ascontiguousarray(who, dtype=np.int64),
                             self._book_tab["sector"])

    def _durable_choices(self, need):
        """The durable choice of households `need` (local indices, no durable): the cheapest of
        their K_D known sellers and Z_D candidates with stock, if they keep mu_D months of income
        after paying. Forgets known sellers that no longer exist. Returns the buyers, the seller
        each asks, and each buyer's known sellers' prices (prices are fixed during the markets)."""
        Z = int(self.p.cand_d)
        known_rows = self.ds.rows[need]
        known_ids = self.book.ids_of(known_rows)
        extra = self._sector_candidates_block(self.part.lo + need, D, Z, 4, 3)[:, :Z]
        cand = np.concatenate([known_ids, extra], axis=1)
        info = self._market_of(cand, np.concatenate([known_rows, self.book.find(extra)], axis=1))
        price, stock = info["price"], info["inv"]                     # price inf: no firm
        self._forget_dead_durable_sellers(need)
        known_price = price[:, : self.KD].copy()
        price[stock < 1.0] = np.inf
        rows = np.arange(need.size)
        best = np.argmin(price, axis=1) if cand.shape[1] else np.zeros(need.size, np.int64)
        bp = price[rows, best] if cand.shape[1] else np.full(need.size, np.inf)
        fin = np.isfinite(bp)
        cost = np.zeros(need.size, dtype=np.int64)
        cost[fin] = np.rint(bp[fin]).astype(np.int64)
        afford = fin & (self.money[need] - cost >= self.p.durable_keep * self.ybar[need])
        return need[afford], cand[rows[afford], best[afford]], known_price[afford]

    def _first_in_queue(self, s, cap, key, agent):
        return first_in_queue(s, self.firms.capacity, cap, key, agent)

    def _serve_durable_requests(self, req):
        """Indivisible requests served in hash(seed, agent, month) order while stock lasts;
        returns the price paid (money units) or -1."""
        fs = self.firms
        out = np.full(req.size, -1, dtype=np.int64)
        s = fs.slots_of(req["fid"]).astype(np.int64)
        valid = s >= 0
        cap = np.zeros(s.size)
        cap[valid] = np.floor(fs.inv[s[valid]])
        served = self._first_in_queue(s, cap, req["key"], req["agent"])
        sv = s[served]
        price = np.rint(fs.price[sv]).astype(np.int64)
        out[served] = price
        np.add.at(fs.cash, sv, price)
        np.add.at(fs.revenue, sv, price)
        np.add.at(fs.sales, sv, 1.0)
        np.add.at(fs.inv, sv, -1.0)
        np.add.at(fs.unmet, s[valid & ~served], 1.0)
        return out

    # 6. perishable market: R rounds, equal split over sellers not yet found rationing
    def _perishable_market(self, budget):
        """Households spend up to `budget` (int64, consumed: it holds what is left afterwards)."""
        # households pay their whole budget up front and get back what is left (the same int64
        # result as paying budget - left afterwards, without a second whole-agent array)
        self.money -= budget
        left = budget
        units = np.zeros(self.part.count)
        self.rationed[:] = 0
        active = np.empty(self.part.count, dtype=np.uint8)
        kmm.named_bits(self.cs.rows, active)
        row_slot = self.market_slots(self.cs.rows)
        markets.buyers_rounds_rows(self, self.book, self.cs.rows, active, left, units, self.rationed,
                                   int(self.p.rounds_c), row_slot)
        del row_slot, self._slot_scratch
        self.money += left
        return units

    # 7. sales accounting and signals
    def _signals_after_c(self):
        fs = self.firms
        live = np.nonzero((fs.id >= 0) & (fs.sector == C))[0]
        left = fs.inv[live]
        long_ = left > self.p.leftover_high * (fs.sales[live] + left)
        short = fs.unmet[live] > 1e-12
        fs.signal[live] = np.where(short, 1, np.where(long_, -1, 0))
        fs.inv[live] = 0.0                                      # perishes

    def _signals_after_i(self):
        fs = self.firms
        live = np.nonzero((fs.id >= 0) & (fs.sector != C))[0]
        q, sales = fs.inv[live], fs.sales[live]
        short = (fs.unmet[live] > 1e-12) | (q < self.p.inv_low * sales)
        long_ = q > self.p.inv_high * sales
        fs.signal[live] = np.where(short, 1, np.where(long_, -1, 0))

    # 8. intermediate market: C/D firms secure inputs for next month
    def _intermediate_market(self):
        fs = self.firms
        buyers = np.nonzero((fs.id >= 0) & (fs.sector != I) & (fs.sector >= 0))[0]
        O = self._live_output(buyers)
        target = (1 + self.p.input_buffer) * self.p.input_coeff * O
        want = np.floor(np.maximum(target - fs.inputs[buyers], 0.0) * fs.input_price[buyers])
        budget = np.minimum(want, np.floor((1 - self.p.cash_retained) * fs.cash[buyers])).astype(np.int64)
        budget = np.maximum(budget, 0)
        # the suppliers as rows of a book of this rank's suppliers, addressed at their homes by
        # slot: the perishable market's chained kernel rounds (orders summed per row, no hashing)
        book = markets.SellerBook(capacity=max(16, buyers.size))
        sup = book.rows_of(np.stack([fs.sup0[buyers], fs.sup1[buyers], fs.sup2[buyers]],
                                    axis=1)[:, : self.KI])
        active = markets.bitset(sup >= 0)
        left = budget.copy()
        spent_value = np.zeros(buyers.size)
        bought = np.zeros(buyers.size)
        unused = np.zeros(buyers.size, dtype=np.uint8)
        row_slot = self.market_slots(sup, book)
        markets.buyers_rounds_rows(self, book, sup, active, left, bought, unused, int(self.p.rounds_i),
                                   row_slot, close_unordered=True, spent=spent_value)
        del row_slot, self._slot_scratch
        sup = book.ids_of(sup)                  # dead suppliers were dropped (-1) on the way
        paid = budget - left
        fs.cash[buyers] -= paid
        # average cost of the input stock
        stock = fs.inputs[buyers]
        newstock = stock + bought
        with np.errstate(divide="ignore", invalid="ignore"):
            fs.input_price[buyers] = np.where(bought > 0, (stock * fs.input_price[buyers] + spent_value)
                                              / np.maximum(newstock, 1e-300), fs.input_price[buyers])
        fs.inputs[buyers] = newstock
        for k in range(self.KI):
            getattr(fs, f"sup{k}")[buyers] = sup[:, k]

    # 9. wages: labour is the residual claimant
    def _pay_wages(self):
        fs = self.firms
        live = np.nonzero(fs.id >= 0)[0]
        n = fs.n[live].astype(np.int64)
        pool = np.floor((1 - self.p.cash_retained) * fs.cash[live]).astype(np.int64)
        w = np.where(n > 0, pool // np.maximum(n, 1), 0)
        fs.cash[live] -= w * n
        fs.wage[live] = w
        # net revenue per unit of team output, smoothed
        O = self._live_output(live)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(O > 0, (fs.revenue[live] - fs.input_cost[live]) / np.maximum(O, 1e-300), 0.0)
        r = np.maximum(r, self.p.r_min * self.unit)
        lam = self.p.r_memory
        fs.rhat[live] = lam * fs.rhat[live] + (1 - lam) * r
        low = w < self.p.nopay_floor * fs.wbar[live]
        fs.nopay[live] = np.where(low, np.minimum(fs.nopay[live] + 1, 100), 0)
        fs.wbar[live] = np.where(fs.wbar[live] > 0, 0.9 * fs.wbar[live] + 0.1 * w, w)
        fs.long_count[live] = np.where(fs.signal[live] < 0, np.minimum(fs.long_count[live] + 1, 100), 0)
        # open firms and their vacancies for this month's labour phase
        per_worker = np.where(n > 0, fs.produced[live] / np.maximum(n, 1), 1.0)
        vac = np.ceil(fs.unmet[live] / np.maximum(per_worker, 1e-12))
        fs.vacancies[live] = np.where(fs.signal[live] > 0, np.clip(vac, 1, 2**30), 0).astype(np.int32)

    def _pay_members(self, m):
        """Wages (step 9), and the final payout and separations that open the labour phase
        (step 10), in one pass over the agents: nothing changes who works where between the two,
        so each agent reads its firm's wage, payout and dissolution/layoff flags together (one
        firm look-up instead of three). Returns the local indices of the separated agents."""
        fs = self.firms
        live = np.nonzero(fs.id >= 0)[0]
        per_slot = np.zeros((fs.capacity, 3), dtype=np.int64)       # wage, payout, flags
        per_slot[live, 0] = fs.wage[live]
        # dissolution after T_x months below the pay floor; layoffs after two long months
        dissolve = fs.nopay[live] >= self.p.nopay_months
        layoff = (fs.long_count[live] >= 2) & (fs.n[live] > 1)
        per_slot[live, 2] = dissolve * 2 + layoff
        # final payout of dissolving firms: their cash split equally among members
        d = live[dissolve]
        payout = fs.cash[d] // np.maximum(fs.n[d].astype(np.int64), 1)
        per_slot[d, 1] = payout
        fs.cash[d] -= payout * fs.n[d]
        del live, dissolve, layoff, d, payout
        xi = self.p.income_memory
        li = []
        for sl in self._agent_slices():
            v = self.firm_rows_block(per_slot, sl)
            pay = v[:, 0]
            self.money[sl] += pay
            self.income[sl] = pay
            self.ybar[sl] = xi * self.ybar[sl] + (1 - xi) * pay
            # unemployed: reservation wage decays
            wres = self.wres[sl]
            wres[self.firm[sl] < 0] *= self.p.wres_decay
            self.money[sl] += v[:, 1]
            flags = v[:, 2]
            sep = (flags & 2) > 0
            lay = np.nonzero(((flags & 1) > 0) & ~sep)[0]        # the layoff draw, where it matters
            sep[lay] = self._u(rng.MM_LAYOFF, sl.start + self.part.lo + lay, m) < self.p.layoff_share
            self._mm["dissolutions"] += int(((flags & 2) > 0).sum())
            self._mm["layoffs"] += int(sep.sum())
            li.append(sl.start + np.nonzero(sep)[0])
        return np.concatenate(li)

    def _record_market_flows(self):
        fs = self.firms
        live = np.nonzero(fs.id >= 0)[0]
        sec = fs.sector[live]
        rev = fs.revenue[live].astype(np.float64)
        sales = fs.sales[live]
        for k, name in enumerate(SECTORS):
            self._flow(f"revenue_{name}", np.where(sec == k, rev, 0.0))
            self._flow(f"sales_{name}", np.where(sec == k, sales, 0.0))
        self._wages_paid = int(fs.wage[live].astype(np.int64) @ fs.n[live].astype(np.int64))

    # 10. labour phase
    def _labour_phase(self, m, li):
        """Step 10 from the separations `li` drawn in _pay_members: leave events, then the
        activations of the month's sub-steps."""
        ev = np.empty(li.size, dtype=EVENT)
        ev["fid"] = self.firm[li]
        ev["agent"] = self.part.lo + li
        ev["prio"] = 0.0
        ev["theta"] = self.theta_of(li)
        ev["efx"] = self.efx[li]
        ev["kind"] = labour.EV_LEAVE
        self.comm.fetch(self.home(ev["fid"]), ev, self._serve_events)
        self.wres[li] = self.income[li]
        self.firm[li] = -1
        self.emp_sector[li] = -1
        self.efx[li] = 0
        self.spell_start[li] = m
        # activations: employed at the Axtell rate, unemployed every month
        t0 = time.perf_counter()
        act, t = [], []
        for sl in self._agent_slices():
            u = kcore.uniform(self.seed, rng.ACTIVATE, self.agent_ids(sl), m)
            emp = self.firm[sl] >= 0
            act_e = emp & (u < self.p_act)
            # the unemployed search w.p. alpha_U a month (the activation draw), from the month
            # after they lost their job
            searching = ~emp & (self.spell_start[sl] < m) & (u < self.p.search_rate)
            a = np.nonzero(act_e | searching)[0]
            rate = np.where(emp[a], self.p_act, self.p.search_rate)
            act.append(sl.start + a)
            t.append(u[a] / np.maximum(rate, 1e-300))                         # time in the month
        act, t = np.concatenate(act), np.concatenate(t)
        order = np.lexsort((act, t))
        act, t = act[order], t[order]
        self._counts[4] += act.size
        k = np.minimum((t * self.K).astype(np.int64), self.K - 1)
        steps = np.unique(self.comm.allgather_concat(np.unique(k)))
        lo = np.searchsorted(k, steps, side="left")
        hi = np.searchsorted(k, steps, side="right")
        self._tick("activation", t0)
        for s in range(steps.size):
            self._market_substep(m, act[lo[s]:hi[s]], t[lo[s]:hi[s]])
        # estates of firms that died this month
        if self._estates:
            heirs = np.concatenate([h for h, _ in self._estates])
            cash = np.concatenate([c for _, c in self._estates])
        else:
            heirs = np.zeros(0, np.int64)
            cash = np.zeros(0, np.int64)
        self._transfer_to_agents(heirs, cash)

    def _market_substep(self, m, li, prio):
        """A labour sub-step with goods-market values (the firms engine's sub-step plus open
        firms, capacity, unemployment and liquidity-constrained start-ups)."""
        comm, fs, N = self.comm, self.firms, self.N
        t0 = time.perf_counter()
        agents = self.part.lo + li
        own = self.firm[li]
        employed = own >= 0
        efx_old = self.efx[li]
        theta = self.theta_of(li)
        fptr, friend_firm = self.fetch_friend_firms(agents)
        # the unemployed also look at Z_U firms drawn proportional to employees
        zu = int(self.p.cand_u)
        unemp = np.nonzero(~employed)[0]
        extra = markets.employers_of_random_agents(self, agents[unemp], 7, zu)
        counts = np.diff(fptr)
        counts[unemp] += zu
        ptr = np.zeros(li.size + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        cand = np.full(ptr[-1], -1, dtype=np.int64)
        for_friends = np.repeat(ptr[:-1], np.diff(fptr)) + (np.arange(fptr[-1]) - np.repeat(fptr[:-1], np.diff(fptr)))
        cand[for_friends] = friend_firm
        if unemp.size and zu:
            base = ptr[unemp] + np.diff(fptr)[unemp]
            cand[(base[:, None] + np.arange(zu)).reshape(-1)] = extra.reshape(-1)
        t0 = self._tick("friends", t0)
        c, inv = self.labour_rows(np.concatenate([own, cand]))
        own_idx = inv[: li.size]
        cand_idx = inv[li.size:]
        t0 = self._tick("summaries", t0)
        # start-up terms: sector of the best-valued known firm (or random), value, entry price
        new_ids = (m + 1) * N + agents
        st_a, st_b, st_beta = labour.technology(self.seed, new_ids, self.tech)
        s_sector, r_new, p_new = self._startup_terms(li, m, own_idx, ptr, cand_idx, c)
        can_start = ((self.money[li] >= self.p.startup_cash * self.ybar[li]) & self.allow_start).astype(np.int8)
        choice = kmm.choose_market_batch(
            theta, efx_old, employed.astype(np.int8), own_idx, ptr, cand_idx, c["id"], c["a"],
            c["b"], c["beta"], c["n"], c["efx"], c["r"], c["open"].astype(np.int8),
            (self.wres[li] / self.unit).astype(np.float64), can_start, st_a, st_b, st_beta,
            r_new / self.unit, self.omega)
        start = choice == labour.CHOICE_STARTUP
        join = choice >= 0
        target = np.where(start, new_ids, np.where(join, c["id"][np.maximum(choice, 0)], -1))
        t0 = self._tick("choose", t0)
        # applications: open firms accept up to their vacancies in activation order
        ja = np.nonzero(join)[0]
        app = np.empty(ja.size, dtype=APPLY)
        app["fid"] = target[ja]
        app["agent"] = agents[ja]
        app["prio"] = prio[ja]
        accepted = comm.fetch(self.home(app["fid"]), app, self._serve_applications)
        join[ja[accepted == 0]] = False
        move = join | start
        stay = employed & ~move
        # start-ups homed here, with capital from the founder
        if start.any():
            sl = fs.add(new_ids[start], birth=m)
            fs.sector[sl] = s_sector[start]
            fs.price[sl] = p_new[start]
            fs.rhat[sl] = r_new[start]
            fs.input_price[sl] = self.unit
            fs.signal[sl] = 1
            fs.vacancies[sl] = 1
            cap = np.floor(self.p.startup_share * self.money[li[start]]).astype(np.int64)
            self.money[li[start]] -= cap
            fs.cash[sl] = cap
            self._draw_suppliers_for(sl[fs.sector[sl] != I])
        else:
            self._draw_suppliers_for(np.zeros(0, dtype=np.int64))
        # events: STAY, LEAVE (employed movers), JOIN (all movers)
        leave = employed & move
        n_ev = int(stay.sum() + leave.sum() + move.sum())
        ev = np.empty(n_ev, dtype=EVENT)
        parts = [(stay, own, efx_old, labour.EV_STAY), (leave, own, efx_old, labour.EV_LEAVE),
                 (move, target, np.zeros_like(efx_old), labour.EV_JOIN)]
        pos = 0
        idx = []
        for mask, fid, ef, kind in parts:
            w = np.nonzero(mask)[0]
            sl = slice(pos, pos + w.size)
            ev["fid"][sl] = fid[w]
            ev["agent"][sl] = agents[w]
            ev["prio"][sl] = prio[w]
            ev["theta"][sl] = theta[w]
            ev["efx"][sl] = ef[w]
            ev["kind"][sl] = kind
            idx.append((w, sl, kind))
            pos += w.size
        new_efx = comm.fetch(self.home(ev["fid"]), ev, self._serve_events)
        t0 = self._tick("commit", t0)
        for w, sl, kind in idx:
            if kind != labour.EV_LEAVE:
                self.efx[li[w]] = new_efx[sl]
        lm = li[move]
        was_unemp = ~employed[move]
        # completed unemployment spells
        ended = lm[was_unemp]
        if ended.size:
            length = m - self.spell_start[ended]
            self._mm["spells_completed"] += ended.size
            self._mm["spell_months_sum"] += int(length.sum())
            np.add.at(self._spell_hist, np.minimum(length, SPELL_BINS - 1), 1)
            self.spell_start[ended] = -1
        self.firm[lm] = target[move]
        joined_sector = c["sector"][np.maximum(choice, 0)] if c["sector"].size else np.full(choice.size, -1, np.int8)
        self.emp_sector[lm] = np.where(start, s_sector, joined_sector)[move]
        self.join_month[lm] = m
        self._mm["hires"] += int(join.sum())
        self._mm["job_to_job"] += int((join & employed).sum())
        self._counts[0] += int(start.sum())
        self._counts[2] += int(move.sum())
        self._tick("apply", t0)

    def _startup_terms(self, li, m, own_idx, ptr, cand_idx, c):
        """Sector, value per unit and entry price of a would-be start-up (kernel startup_terms)."""
        u = self._u(rng.MM_STARTUP, self.part.lo + li, m, 0)
        v = self._u(rng.MM_STARTUP, self.part.lo + li, m, 1)
        base = np.array([self.unit, self.q_D * self.unit, self.unit])
        return kmm.startup_terms(own_idx, ptr, cand_idx, c["r"], c["sector"], c["price"], u, v,
                                 self.p.startup_random, self.p.startup_value,
                                 self.p.entry_discount, self.unit, base)

    def _serve_applications(self, app):
        """Open firms accept applicants in activation-time order up to their vacancies; a closed
        firm accepts an applicant w.p. rho_c."""
        fs = self.firms
        out = np.zeros(app.size, dtype=np.int8)
        s = fs.slots_of(app["fid"]).astype(np.int64)
        valid = s >= 0
        ss = np.maximum(s, 0)
        is_open = valid & (fs.signal[ss] > 0)
        vac = np.where(is_open, fs.vacancies[ss], 0)
        closed_ok = kcore.uniform(self.seed, rng.MM_LOTTERY, np.ascontiguousarray(app["agent"]),
                                  self.month * 7 + 3) < self.p.closed_accept
        acc = (is_open & self._first_in_queue(s, vac, app["prio"], app["agent"])) | \
            (valid & ~is_open & closed_ok)
        out[:] = acc
        np.add.at(fs.vacancies, s[acc & is_open], -1)
        return out

    # 11. switching
    def _switch_sellers(self, m):
        self._snapshot_book_market(self.cs.rows)   # after the labour phase: prices fixed, firms born and died
        with self._employer_sector_map():
            for sl in self._agent_slices():
                self._switch_household_sellers(m, sl)
            del self._book_tab
            self._switch_suppliers(m)

    def _switch_household_sellers(self, m, sl):
        """Seller switching of the households of slice `sl` (note sec. 3.10): who looks, and at
        which entry, is decided by kernel switch_plan; a candidate drawn proportional to employees
        replaces the entry when it is new to the household and the entry was empty or rationing,
        or the candidate is at least xi cheaper than the incumbent."""
        who, slot, inc_rows, forced, dn, ds_slot = kmm.switch_plan(
            self.seed, rng.MM_SWITCH, self.part.lo, sl.start, sl.stop, m, self.cs.rows,
            self.rationed, self.ds.rows, self.p.switch_price, self.p.switch_ration)
        inc = self.book.ids_of(inc_rows)
        # the candidate's and the incumbent's price (inf: no firm / dead)
        cand = self._sector_candidates_block(self.part.lo + who, C, 1, 5, 3)[:, 0]
        cand_rows = self.book.find(cand)          # -1: not named on this rank (so not in the list)
        price = self._market_of(np.concatenate([inc, cand]),
                                np.concatenate([inc_rows, cand_rows]))["price"]
        do = kmm.switch_moves(self.cs.rows, who, np.ascontiguousarray(cand), cand_rows,
                              price[: who.size], price[who.size:], forced, self.p.switch_gap)
        rows = cand_rows[do]
        new = np.nonzero(rows < 0)[0]
        rows[new] = self.book.rows_of(cand[do[new]])
        self.cs.rows[who[do], slot[do]] = rows
        # durable list: refill the first empty entry
        dc = self._sector_candidates_block(self.part.lo + dn, D, 1, 6, 3)[:, 0]
        okd = dc >= 0
        self.ds[dn[okd], ds_slot[okd]] = dc[okd]

    def _switch_suppliers(self, m):
        # firms' supplier lists: refill dead/empty, compare one incumbent w.p. psi_p
        fs = self.firms
        buyers = np.nonzero((fs.id >= 0) & (fs.sector >= 0) & (fs.sector != I))[0]
        sup = np.stack([fs.sup0[buyers], fs.sup1[buyers], fs.sup2[buyers]], axis=1)[:, : self.KI]
        fu = self._u(rng.MM_SWITCH, fs.id[buyers], m, 3)
        fv = self._u(rng.MM_SWITCH, fs.id[buyers], m, 4)
        empty_f = (sup < 0).any(axis=1)
        wf = np.nonzero(empty_f | (fu < self.p.switch_price))[0]
        fslot = np.where(empty_f[wf], np.argmax(sup[wf] < 0, axis=1),
                         np.minimum((fv[wf] * self.KI).astype(np.int64), self.KI - 1))
        finc = sup[wf, fslot] if wf.size else np.zeros(0, np.int64)
        fc, fc_info, fi_info = self._sector_candidates(np.ascontiguousarray(fs.id[buyers[wf]]), I, 1,
                                                       salt=8, tries_per=3, also=finc[:, None])
        fc = fc[:, 0]
        pf_inc, pf_c = fi_info["price"][:, 0], fc_info["price"][:, 0]
        fdup = (sup[wf] == fc[:, None]).any(axis=1) if wf.size else np.zeros(0, bool)
        fdo = (fc >= 0) & ~fdup & (empty_f[wf] | (pf_c < (1 - self.p.switch_gap) * pf_inc))
        sup[wf[fdo], fslot[fdo]] = fc[fdo]
        for k in range(self.KI):
            getattr(fs, f"sup{k}")[buyers] = sup[:, k]

    # 12. statistics
    def _append_zero_market_series(self):
        for k in MM_SERIES:
            self.series[k].append(0)
        self.series["spell_hist"].append([0] * SPELL_BINS)

    def _stats_block(self, sl, theta, share_by_slot, acc_u, acc_e):
        """The firms model's statistics sweep plus the households' perishable units and goods
        utility u = X^theta (omega - e)^(1 - theta), X = c^(1 - s_D) (eps_D + D)^s_D, in one pass
        (kernel month_stats_pass: log(omega - e) once per agent for both utilities), summed
        exactly (integer buckets add up: blocks do not change the sums)."""
        if getattr(self, "_units_c", None) is None:
            return super()._stats_block(sl, theta, share_by_slot, acc_u, acc_e)
        fs = self.firms
        return kmm.month_stats_pass(self.firm[sl], self.efx[sl], theta, fs.head, fs.next, fs.id,
                                    self.part.lo, self.part.hi, self.N, share_by_slot, self.omega,
                                    self._units_c[sl], self.durable[sl], self.p.durable_weight,
                                    self.p.durable_floor, acc_u, acc_e, self._gu_parts[0],
                                    self._gu_parts[1])

    def _remote_utility(self, theta, efx, share, acc_u):
        if getattr(self, "_units_c", None) is None:
            return super()._remote_utility(theta, efx, share, acc_u)
        kmm.remote_utility(theta, efx, share, self.omega, acc_u)

    def _market_stats(self):
        comm, fs = self.comm, self.firms
        live = np.nonzero(fs.id >= 0)[0]
        sec = fs.sector[live]
        f = self._flows
        units_parts, gu_parts = self._gu_parts          # summed in the statistics sweep
        part = kcore.exact_sum_parts
        stocks = [np.where(sec == D, fs.inv[live], 0.0), np.where(sec == I, fs.inv[live], 0.0),
                  fs.inputs[live], None, np.where(sec == C, fs.inv[live], 0.0),
                  np.array(self._lost[0]), np.array(self._lost[1]), np.array(self._lost[2])]
        stocks = [part(np.ascontiguousarray(c, dtype=np.float64)) if c is not None else f["inputs_used"]
                  for c in stocks]
        parts = [f[k] for k in ("output_C", "output_D", "output_I", "revenue_C", "sales_C", "revenue_D",
                                "sales_D", "revenue_I", "sales_I")]
        parts += [units_parts, gu_parts, f["produced_D"], f["produced_I"], *stocks]
        sums = comm.exact_sums_of_parts(parts)
        ints = comm.sum_int(np.array([
            int((~self.employed).sum()), int(self.durable.sum()), int(self.money.sum()),
            int(fs.cash[live].sum()), self._wages_paid,
            self._price_changes, *[self._mm[k] for k in ("job_to_job", "layoffs", "dissolutions", "hires",
                                                         "durables_sold", "spells_completed",
                                                         "spell_months_sum", "durable_failures")]],
            dtype=np.int64))
        hist = comm.sum_int(self._spell_hist)
        s = self.series
        s["output_C"].append(sums[0])
        s["output_D"].append(sums[1])
        s["output_I"].append(sums[2])
        pc = sums[3] / sums[4] if sums[4] > 0 else float("nan")
        s["price_C"].append(pc)
        s["price_D"].append(sums[5] / sums[6] if sums[6] > 0 else float("nan"))
        s["price_I"].append(sums[7] / sums[8] if sums[8] > 0 else float("nan"))
        s["price_level"].append(pc)
        prev = self.price_level_prev
        s["inflation"].append(float(np.log(pc / prev)) if prev > 0 and pc > 0 else 0.0)
        self.price_level_prev = pc
        s["consumption_C"].append(sums[9])
        s["goods_utility"].append(sums[10] / self.N)
        unemployed = int(ints[0])
        s["unemployed"].append(unemployed)
        s["unemployment_rate"].append(unemployed / self.N)
        s["durable_stock"].append(int(ints[1]))
        s["money_households"].append(int(ints[2]))
        s["money_firms"].append(int(ints[3]))
        s["money_total"].append(int(ints[2]) + int(ints[3]))
        s["wages"].append(int(ints[4]))
        s["price_changes"].append(int(ints[5]))
        for k, v in zip(("job_to_job", "layoffs", "dissolutions", "hires", "durables_sold",
                         "spells_completed", "spell_months_sum", "durable_failures"), ints[6:]):
            s[k].append(int(v))
        for k, v in zip(("produced_D", "produced_I", "inventory_D", "inventory_I", "inputs_stock",
                         "inputs_used", "inventory_C", "lost_D", "lost_I", "lost_inputs"), sums[11:]):
            s[k].append(v)
        s["sold_I"].append(sums[8])
        s["spell_hist"].append(hist.tolist())

    # -- state I/O -------------------------------------------------------------------------------
    AGENT_COLS = ("money", "ybar", "wres", "income", "durable", "rationed", "spell_start")

    def state_tables(self):
        tables, attrs = super().state_tables()
        if self.markets:
            attrs = {**attrs, "market_on": int(self.market_on), "q_D": self.q_D,
                     "price_level_prev": self.price_level_prev}
        if self.markets and self.market_on:
            ag = tables["agents"]
            for k in self.AGENT_COLS:
                ag[k] = getattr(self, k)
            # deferred columns (built one at a time when written): firm ids of the seller lists
            for k in range(self.KC):
                ag[f"cs{k}"] = partial(self._seller_column, self.cs, k)
            for k in range(self.KD):
                ag[f"ds{k}"] = partial(self._seller_column, self.ds, k)
        return tables, attrs

    def _state_firm_columns(self):
        cols = super()._state_firm_columns()
        return cols + tuple(self.MARKET_FIRM_COLUMNS) if self.markets and self.market_on else cols

    def _seller_column(self, lists, k):
        """Firm ids of every household's k-th known seller, in blocks (the stored rows are per rank)."""
        out = np.empty(self.part.count, dtype=np.int64)
        for sl in self._agent_slices():
            out[sl] = lists[sl, k]
        return out

    def load_state(self, tables, attrs):
        super().load_state(tables, attrs)
        self.market_on = self.markets and bool(int(attrs["market_on"]))
        if self.market_on:
            self._alloc_market_state()
            ag = tables["agents"]
            for k in self.AGENT_COLS:
                getattr(self, k)[:] = ag[k]
            for lists, name, K in ((self.cs, "cs", self.KC), (self.ds, "ds", self.KD)):
                for k in range(K):
                    ids = ag[f"{name}{k}"]
                    for sl in self._agent_slices():
                        lists[sl, k] = ids[sl]
                    del ids
            fs = self.firms
            slots = fs.slots_of(np.ascontiguousarray(tables["firms"]["id"], dtype=np.int64))
            for k in self.MARKET_FIRM_COLUMNS:
                getattr(fs, k)[slots] = tables["firms"][k]
            self._set_emp_sector()
        if self.markets:
            self.q_D = float(attrs["q_D"])
            self.price_level_prev = float(attrs["price_level_prev"])

    def final_tables(self):
        out = super().final_tables()
        if self.market_on:
            fs = self.firms
            s = fs.live_slots()
            out["firms"]["firm_sector"] = fs.sector[s]
            out["firms"]["firm_price"] = fs.price[s]
            out["firms"]["firm_wage"] = fs.wage[s]
            out["agents"]["income"] = self.income.astype(np.float64)
            # completed unemployment spells (length in months, month each ended), from the monthly
            # histograms; spells of >= 120 months are recorded as 120. Rank 0 writes them.
            hist = np.asarray(self.series["spell_hist"], dtype=np.int64).reshape(-1, SPELL_BINS)
            if not self.comm.is_root:
                hist = hist[:0]
            month, length = np.nonzero(hist)
            counts = hist[month, length]
            out["spells"] = {"unemployment_spell": np.repeat(length, counts).astype(np.int32),
                             "unemployment_spell_month": np.repeat(month, counts).astype(np.int32)}
            out["agents"]["tenure"] = np.where(self.employed, self.month - self.join_month, -1).astype(np.int32)
        return out

    def progress_fields(self):
        f = super().progress_fields()
        if self.markets and self.series.get("unemployment_rate"):
            f["unemployment"] = f"{100 * self.series['unemployment_rate'][-1]:.1f}%"
        return f


__all__ = ["Model", "LABOUR_SERIES"]
