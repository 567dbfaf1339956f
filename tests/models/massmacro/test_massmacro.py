"""MASs Macro on one rank: conservation, the markets-off limit, pro-rata rationing, the durable
lottery, durable failures and seller lists."""
import numpy as np
import pytest

from hpcabm.core import rng
from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.kernels import core as kcore
from hpcabm.models.firms import Model as FirmsModel
from hpcabm.models.massmacro import Model
from hpcabm.models.massmacro import markets
from hpcabm.models.massmacro.model import C, D, DREQ, I, first_in_queue

CFG = "model: massmacro\nagents: 2500\nmonths: 15\nseed: 4\nfirms: {substeps: 5}\n"
SMALL = "model: massmacro\nagents: 300\nmonths: 2\nseed: 1\n"
ROUNDS = "model: massmacro\nagents: 3000\nmonths: 3\nseed: 6\nfirms: {substeps: 2}\n"


def _model(text, months=0):
    """A one-rank model of config `text`, initialised and stepped `months` months."""
    m = Model(load_config(text=text), Comm())
    m.initialize()
    for _ in range(months):
        m.step()
    return m


@pytest.fixture(scope="module")
def run15():
    m = Model(load_config(text=CFG), Comm())
    m.initialize()
    money0 = int(m.money.sum() + m.firms.cash.sum())
    for _ in range(15):
        m.step()
        assert int(m.money.sum() + m.firms.cash[m.firms.id >= 0].sum()) == money0
    return m, money0


def test_money_is_conserved_exactly_every_month(run15):
    m, money0 = run15
    assert m.series["money_total"] == [money0] * 15
    assert all(h + f == money0 for h, f in zip(m.series["money_households"], m.series["money_firms"]))
    assert m.money.min() >= 0


def test_goods_are_conserved(run15):
    m, _ = run15
    s = {k: np.array(v, dtype=float) for k, v in m.series.items() if k != "spell_hist"}
    d = s["durable_stock"] + s["inventory_D"]
    assert np.allclose(np.diff(d), (s["produced_D"] - s["durable_failures"] - s["lost_D"])[1:], atol=1e-8 * d.max())
    i = s["inventory_I"]
    assert np.allclose(np.diff(i), (s["produced_I"] - s["sold_I"] - s["lost_I"])[1:], atol=1e-8 * (1 + i.max()))
    x = s["inputs_stock"]
    assert np.allclose(np.diff(x), (s["sold_I"] - s["inputs_used"] - s["lost_inputs"])[1:], atol=1e-8 * x.max())
    assert (s["inventory_C"] == 0).all()                      # perishable: nothing carried over
    assert (s["produced_D"] > 0).all() and (s["durables_sold"] > 0).all()


def test_labour_accounting_with_unemployment(run15):
    m, _ = run15
    fs = m.firms
    live = fs.id >= 0
    emp = m.firm >= 0
    assert int(fs.n[live].sum()) == int(emp.sum())
    assert m.series["unemployed"][-1] == int((~emp).sum())
    assert (m.spell_start[~emp] >= 0).all() and (m.spell_start[emp] == -1).all()
    # every household's known sellers are C (resp. D) firms or empty
    for lst, sector in ((m.cs.ids(), C), (m.ds.ids(), D)):
        ids = lst[lst >= 0]
        slots = fs.slots_of(ids)
        alive = slots >= 0
        assert (fs.sector[slots[alive]] == sector).all()
    # the employer-sector cache names every employed agent's firm's sector, -1 for the unemployed
    assert np.array_equal(m.emp_sector[emp], fs.sector[fs.slots_of(m.firm[emp])])
    assert (m.emp_sector[~emp] == -1).all()
    sup = np.concatenate([fs.sup0[live], fs.sup1[live], fs.sup2[live]])
    sup = sup[sup >= 0]
    s = fs.slots_of(sup)
    assert (fs.sector[s[s >= 0]] == I).all()


def test_final_cross_sections(run15):
    m, _ = run15
    f = m.final_tables()
    sp = f["spells"]
    assert sp["unemployment_spell"].size == sum(m.series["spells_completed"])
    assert sp["unemployment_spell"].sum() == sum(m.series["spell_months_sum"])
    assert (np.bincount(sp["unemployment_spell_month"], minlength=15) == m.series["spells_completed"]).all()
    assert f["firms"]["firm_sector"].size == m.series["firms"][-1]
    assert set(np.unique(f["firms"]["firm_sector"])) <= {C, D, I}
    assert (f["firms"]["firm_price"] > 0).all()
    assert f["agents"]["income"].size == m.N


def _massmacro_and_firms(massmacro, months):
    """A MASs Macro model with `massmacro` settings and the firms model of the same labour config,
    both initialised."""
    text = f"agents: 1200\nmonths: {months}\nseed: 7\nfirms: {{substeps: 3}}\n"
    a = Model(load_config(text=f"model: massmacro\nmassmacro: {massmacro}\n" + text), Comm())
    b = FirmsModel(load_config(text="model: firms\n" + text), Comm())
    for m in (a, b):
        m.initialize()
    return a, b


def test_markets_off_gives_back_the_firms_model():
    a, b = _massmacro_and_firms("{markets: false}", 14)
    for m in (a, b):
        for _ in range(14):
            m.step()
    assert a.series == b.series
    assert np.array_equal(a.efx, b.efx) and np.array_equal(a.firm, b.firm)


def test_warm_start_runs_the_labour_model_then_the_markets():
    """markets_from = 4 (note sec. 3.11): months 0-3 are the firms model's months exactly (market
    series zero), then the goods markets start on that labour state and money is conserved."""
    a, b = _massmacro_and_firms("{markets_from: 4}", 9)
    for month in range(9):
        a.step()
        if month < 4:
            b.step()
            assert not a.market_on and a.series["money_total"][-1] == 0
            for k in b.series:
                assert a.series[k] == b.series[k], k
    assert np.array_equal(a.series["firms"][:4], b.series["firms"])
    money = a.series["money_total"][4:]
    assert money[0] > 0 and len(set(money)) == 1             # exact conservation once on
    assert min(a.series["output_C"][4:]) > 0


def test_pro_rata_fills_every_order_by_the_same_fraction():
    m = _model(SMALL)
    fs = m.firms
    f = int(np.nonzero((fs.id >= 0) & (fs.sector == C))[0][0])
    fs.inv[f], fs.price[f], fs.cash[f] = 10.0, 100.0, 0
    fid = fs.id[f]
    orders = np.array([500, 300, 700, 0], dtype=np.int64)
    spend, price, phi = markets.order_round(m, np.full(4, fid), orders)
    assert np.allclose(phi[:3], 1000 / 1500) and (price[:3] == 100).all()
    assert spend.tolist() == [333, 200, 466, 0]
    assert fs.cash[f] == 999 and fs.revenue[f] == 999
    assert abs(fs.inv[f] - (10 - 9.99)) < 1e-12
    assert abs(fs.unmet[f] - 5.0) < 1e-12                     # 15 units asked, 10 in stock
    # an order to a firm that no longer exists is reported, not filled
    spend, _, phi = markets.order_round(m, np.array([10**12 + 5]), np.array([100]))
    assert spend[0] == 0 and phi[0] == -1


def test_seller_book_rows_name_the_same_firms_through_growth_and_compaction():
    g = np.random.default_rng(1)
    book = markets.SellerBook(capacity=4)
    lists = markets.SellerLists(book, 500, 4)
    truth = np.full((500, 4), -1, dtype=np.int64)
    for month in range(6):
        rows = g.integers(0, 500, 300)
        cols = g.integers(0, 4, 300)
        ids = np.where(g.random(300) < 0.1, -1, g.integers(10**10, 10**10 + 700, 300))
        truth[rows, cols] = ids                     # last write wins, as in NumPy
        lists[rows, cols] = ids
        assert np.array_equal(lists.ids(), truth) and np.array_equal(np.asarray(lists), truth)
        assert np.array_equal(lists[rows[:7]], truth[rows[:7]]) and lists[3, 2] == truth[3, 2]
        named = np.unique(truth[truth >= 0])
        assert np.unique(book.ids[:book.size]).size == book.size         # no id twice
        book.compact(lists.rows, min_garbage=0.0 if month % 2 else 0.25)
        assert np.array_equal(lists.ids(), truth)
        assert np.array_equal(book.ids_of(book.find(truth)), truth)     # every named id is found
        assert (book.find(np.array([10**10 + 701, 7, -1])) == -1).all()  # never named: no row
        if month % 2:
            assert np.array_equal(np.sort(book.ids[:book.size]), named)  # exactly the named firms
    assert lists.rows.dtype == np.int32 and book.rows_of(np.array([-1, -5])).tolist() == [-1, -1]


def test_buyers_round_kernel_equals_its_numpy_twin():
    """The C market's two-pass kernel rounds (on firm ids, on int32 rows of the per-rank seller
    book, and the model's path: three rounds chained (each settlement pass sums the next round's
    orders) with requests addressed by firm slot) against order_round:
    payments, units, rationing bits, forgotten dead sellers and firm accounts, bit for bit, with
    rationing sellers, dead sellers, empty list entries and budgets smaller than the list."""
    models = []
    for _ in range(4):
        m = _model(ROUNDS, 1)
        fs = m.firms
        c = np.nonzero((fs.id >= 0) & (fs.sector == C))[0]
        fs.inv[c[::3]] *= 0.05                                  # force rationing
        m.cs[::7, 1] = 10**13 + np.arange(m.cs[::7, 1].size)   # sellers that no longer exist
        m.cs[::11, 2] = -1
        models.append(m)
    g = np.random.default_rng(0)
    budget = g.integers(0, int(models[0].unit) // 2, models[0].part.count)
    budget[::13] = g.integers(0, 4, budget[::13].size)           # fewer money units than sellers
    out, lists = [], []
    for m, fn in zip(models, (markets.buyers_round, markets.buyers_round_numpy, "rows", "slots")):
        left = budget.astype(np.int64).copy()
        units = np.zeros(m.part.count)
        m.rationed[:] = 0
        ids = m.cs.ids()
        active = markets.bitset(ids >= 0)
        if fn == "slots":               # the market's own path: three chained rounds by slot
            row_slot = m.market_slots(m.cs.rows)
            markets.buyers_rounds_rows(m, m.book, m.cs.rows, active, left, units, m.rationed, 3, row_slot)
        for _ in range(3 if fn != "slots" else 0):
            if fn == "rows":            # int32 rows of the seller book, one round at a time
                markets.buyers_round_rows(m, m.book, m.cs.rows, active, left, units, m.rationed)
            else:
                fn(m, ids, active, left, units, m.rationed)
        if fn == "slots":
            assert (m._slot_scratch == 0).all()                   # left clean for the next round
        out.append((left, units, active))
        lists.append(m.cs.ids() if fn in ("rows", "slots") else ids)
    a = models[0]
    for m, (lb, ub, ab), ids in zip(models[1:], out[1:], lists[1:]):
        la, ua, aa = out[0]
        assert np.array_equal(la, lb) and ua.tobytes() == ub.tobytes() and np.array_equal(aa, ab)
        assert np.array_equal(lists[0], ids) and np.array_equal(a.rationed, m.rationed)
        for col in ("cash", "revenue", "sales", "inv", "unmet"):
            assert getattr(a.firms, col).tobytes() == getattr(m.firms, col).tobytes(), col
    assert 0.05 < (a.rationed > 0).mean() < 0.95
    assert (lists[0][::7, 1] == -1).mean() > 0.5                # forgotten once ordered from
    # slots are only good while no firm moves: a store change in between is caught
    m = models[3]
    m.market_slots(m.cs.rows)
    m.firms.add(np.array([(m.month + 5) * m.N + 1]), birth=m.month)
    with pytest.raises(AssertionError, match="firm slots changed"):
        markets.buyers_round_rows(m, m.book, m.cs.rows, markets.bitset(m.cs.rows >= 0),
                                  budget.astype(np.int64).copy(), np.zeros(m.part.count),
                                  m.rationed, np.zeros(m.book.size, dtype=np.int64))


def test_durable_lottery_serves_in_hash_order_while_stock_lasts():
    m = _model(SMALL)
    fs = m.firms
    f = int(np.nonzero((fs.id >= 0) & (fs.sector == D))[0][0])
    fs.inv[f], fs.price[f] = 2.7, 1234.4
    req = np.zeros(5, dtype=DREQ)
    req["fid"] = fs.id[f]
    req["agent"] = [10, 20, 30, 40, 50]
    req["key"] = kcore.uniform(m.seed, rng.MM_LOTTERY, req["agent"].copy(), 3).view(np.uint64)
    got = m._serve_durable_requests(req)
    winners = np.argsort(req["key"])[:2]
    assert sorted(np.nonzero(got >= 0)[0].tolist()) == sorted(winners.tolist())
    assert (got[got >= 0] == 1234).all()
    assert abs(fs.inv[f] - 0.7) < 1e-12 and fs.unmet[f] == 3


def test_durable_shortcut_changes_no_outcome():
    """Households that cannot afford even the cheapest stocked D good anywhere skip the candidate
    draws: the same purchases, money, lists and firm accounts as when every household draws."""
    text = "model: massmacro\nagents: 3000\nmonths: 6\nseed: 8\nfirms: {substeps: 2}\n"
    runs = []
    for shortcut in (True, False):
        m = Model(load_config(text=text), Comm())
        m.durable_shortcut = shortcut
        m.initialize()
        for _ in range(3):
            m.step()
        m.money[::3] //= 4                        # many households too poor for any durable
        m.durable[::2] = 0
        m._mm = {"durables_sold": 0}
        m._durable_market(m.month)
        runs.append(m)
    a, b = runs
    poor = (a.durable == 0) & (a.money < a.p.durable_keep * a.ybar + 1000)
    assert poor.sum() > 100 and a._mm["durables_sold"] > 50
    assert a._mm == b._mm and np.array_equal(a.money, b.money) and np.array_equal(a.durable, b.durable)
    assert np.array_equal(a.ds.ids(), b.ds.ids())
    for col in ("cash", "inv", "sales", "unmet"):
        assert getattr(a.firms, col).tobytes() == getattr(b.firms, col).tobytes(), col


def test_durable_failures_are_geometric_with_mean_12_months():
    ids = np.arange(200_000, dtype=np.int64)
    alive = np.ones(ids.size, bool)
    life = np.zeros(ids.size, np.int64)
    for month in range(400):
        u = kcore.uniform(9, rng.MM_DFAIL, ids, month)
        fail = alive & (u < 1 / 12)
        life[fail] = month + 1
        alive &= ~fail
    assert alive.sum() < 10
    lt = life[~alive]
    assert abs(lt.mean() - 12.0) < 0.1
    # geometric: P(L > k) = (11/12)^k
    for k in (6, 12, 24, 48):
        assert abs((lt > k).mean() - (11 / 12) ** k) < 0.005


def test_blocks_and_pieces_do_not_change_results(monkeypatch):
    """Per-agent passes in blocks of CHUNK households, order/payment exchanges in pieces of PIECE
    requests (grouped by founder range, so a firm's orders meet in one piece) and candidate draws
    in two rounds give the same economy as one block, one piece and one round."""
    text = "model: massmacro\nagents: 900\nmonths: 4\nseed: 3\nfirms: {substeps: 2}\n"
    runs = []
    for chunk, piece, rounds_from in ((None, None, None), (97, None, None), (None, 7, None), (None, None, 0)):
        monkeypatch.setattr(markets, "PIECE", piece or 1 << 20)
        monkeypatch.setattr(markets, "ROUNDS_FROM", 1 << 22 if rounds_from is None else rounds_from)
        m = Model(load_config(text=text), Comm())
        if chunk:
            m.CHUNK = chunk
        m.initialize()
        for _ in range(4):
            m.step()
        runs.append(m)
    a = runs[0]
    for b in runs[1:]:
        assert a.series == b.series
        assert np.array_equal(a.cs.ids(), b.cs.ids()) and np.array_equal(a.money, b.money)
        sa, sb = a.firms.live_slots(), b.firms.live_slots()
        for col in ("id", "cash", "price", "sales", "unmet", "inv"):
            assert np.array_equal(getattr(a.firms, col)[sa], getattr(b.firms, col)[sb]), col


def _switching_model(switch_price, switch_ration):
    text = (f"model: massmacro\nagents: 4000\nmonths: 2\nseed: 5\n"
            f"massmacro: {{switch_price: {switch_price}, switch_ration: {switch_ration}}}\n")
    m = _model(text)
    fs = m.firms
    c = np.nonzero((fs.id >= 0) & (fs.sector == C))[0]
    fs.price[c] = 100.0
    fs.price[c[::2]] = 50.0                                       # half the C firms are cheap
    m.rationed[:] = 0
    return m, set(fs.id[c[::2]].tolist())


def test_price_switching_moves_only_to_cheaper_sellers():
    """psi_p = 1, psi_q = 0: every household compares one incumbent with one candidate drawn
    proportional to employees and switches only to a seller >= 1 % cheaper; one entry at most."""
    m, cheap = _switching_model(1.0, 0.0)
    m.cs[::5, 3] = -1                                             # empty entries
    before = m.cs.ids()
    m._switch_sellers(m.month)
    after = m.cs.ids()
    changed = before != after
    assert (changed.sum(axis=1) <= 1).all()
    was_full = (before >= 0).all(axis=1)
    moved = changed.any(axis=1) & was_full
    assert 0.05 < moved.mean() < 0.5             # ~ P(incumbent dear) * P(candidate cheap) = 1/4
    old, new = before[changed & was_full[:, None]], after[changed & was_full[:, None]]
    assert all(x in cheap for x in new.tolist()) and not any(y in cheap for y in old.tolist())
    # refilled at once at any price when one of 3 draws is a new C seller (P ~ 1 - 0.45^3)
    assert (after[::5, 3] >= 0).mean() > 0.8


def test_rationing_switching_replaces_the_rationing_seller():
    """psi_p = 0, psi_q = 1: a household rationed by its seller k replaces that seller (the lowest
    such k) whatever the candidate's price; households not rationed keep full lists unchanged."""
    m, _ = _switching_model(0.0, 1.0)
    full = (m.cs.ids() >= 0).all(axis=1)
    rationed = full & (np.arange(m.part.count) % 2 == 0)
    m.rationed[rationed] = 0b0110                                 # sellers 1 and 2 rationed
    before = m.cs.ids()
    m._switch_sellers(m.month)
    changed = before != m.cs.ids()
    assert not changed[full & ~rationed].any()
    r = changed[rationed]
    assert r[:, 1].mean() > 0.8 and not r[:, [0, 2, 3]].any()


def test_supplier_switching_moves_only_to_cheaper_suppliers():
    """Firms do the same with their intermediate-good suppliers (psi_p = 1)."""
    m, _ = _switching_model(1.0, 0.0)
    fs = m.firms
    i_firms = np.nonzero((fs.id >= 0) & (fs.sector == I))[0]
    fs.price[i_firms] = 100.0
    fs.price[i_firms[::2]] = 50.0
    cheap = set(fs.id[i_firms[::2]].tolist())
    buyers = np.nonzero((fs.id >= 0) & (fs.sector != I))[0]
    before = np.stack([fs.sup0[buyers], fs.sup1[buyers], fs.sup2[buyers]], axis=1)
    m._switch_sellers(m.month)
    after = np.stack([fs.sup0[buyers], fs.sup1[buyers], fs.sup2[buyers]], axis=1)
    changed = (before != after) & (before >= 0)
    assert (changed.sum(axis=1) <= 1).all() and changed.any(axis=1).mean() > 0.05
    assert all(x in cheap for x in after[changed].tolist())
    assert not any(y in cheap for y in before[changed].tolist())


@pytest.mark.parametrize("share,mapped", [(None, False), (1.0, False), (None, True)],
                         ids=["model-rounds", "one-draw-rounds", "employer-sector-map"])
def test_candidate_rounds_equal_fetching_every_draw(run15, monkeypatch, share, mapped):
    """first_sector_employers fetches draws in rounds, only for requesters still short of k; the
    candidates equal the first k distinct employers of the sector among all `tries` draws (also
    with rounds of the fewest draws, where later rounds often redraw an earlier candidate, and
    with the employer-sector map, where only draws employed in the sector are fetched)."""
    m, _ = run15
    monkeypatch.setattr(markets, "ROUNDS_FROM", 0)           # two rounds at any size
    if share:
        monkeypatch.setattr(m, "sector_share", lambda sector: share)
    if mapped:
        asked = []
        codes_of = markets._employer_codes_of
        monkeypatch.setattr(markets, "_employer_codes_of",
                            lambda model, agents: asked.append(agents.size) or codes_of(model, agents))
    req = m.part.lo + np.arange(0, m.part.count, 3)
    for sector, k, tries in ((C, 1, 3), (D, 2, 6), (C, 4, 24), (I, 3, 9), (D, 1, 1)):
        if mapped:
            asked.clear()
            with m._employer_sector_map():
                got = markets.first_sector_employers(m, req, sector, k, 5, tries)
            assert m.sector_map is None
            # only draws employed in the sector were looked up, at most all of them
            assert 0 < sum(asked) <= (m.sector_share(sector) * 1.3 + 0.01) * req.size * tries
        else:
            got = markets.first_sector_employers(m, req, sector, k, 5, tries)
        emp = markets.employers_of_random_agents(m, req, 5, tries)        # one rank: every firm is here
        slot = m.firms.slots_of(np.maximum(emp, 0).reshape(-1)).reshape(emp.shape)
        sec = np.where(emp >= 0, m.firms.sector[slot], -1)
        want = np.full((req.size, k), -1, dtype=np.int64)
        for i in range(req.size):
            picks = []
            for e, s in zip(emp[i], sec[i]):
                if s == sector and e not in picks and len(picks) < k:
                    picks.append(e)
            want[i, :len(picks)] = picks
        assert np.array_equal(got, want), (sector, k, tries)
        assert (want >= 0).any()


def test_statistics_sweep_kernel_is_the_formulas_with_libm():
    """month_stats_pass (one rank holding founders 0..2999 of 5000 agents): goods utility
    u = X^theta (omega - e)^(1 - theta), X = max(c, 0)^(1 - s_D) (eps_D + D)^s_D, compared with
    libm (math.log/exp; math.pow at c <= 0) element by element and within 1e-13 with the formula's
    three pows; Axtell's utility share^theta (omega - e)^(1 - theta) of agents whose firm is homed
    here as exp/log (pow at share 0), within 1e-13 of the two pows; effort and units summed
    exactly; agents whose firm is homed elsewhere returned (remote_utility adds theirs)."""
    import math
    from hpcabm.kernels import massmacro as kmm
    from hpcabm.models.firms.state import FirmStore
    r = np.random.default_rng(4)
    n, N, hi = 5000, 5000, 3000
    units = r.random(n) * 50 - 1.0                  # a few negative: clamped in X, summed as they are
    durable = r.integers(0, 2, n).astype(np.int8)
    efx = (r.random(n) * 0.9 * 2**40).astype(np.int64)
    theta = r.random(n)
    sD, eps, omega = 0.105, 0.1, 1.0
    units[:4], theta[:4], efx[:4] = [0.0, 0.0, 1e-300, 3.0], [0.0, 0.3, 0.0, 0.5], [0, 0, 5, 2**40]
    founders = r.integers(0, N, 400)
    fids = np.unique(np.where(r.random(400) < 0.5, founders, 7 * N + founders))
    fs = FirmStore(0, hi, N, 16)
    slots = fs.add(fids[fids % N < hi], birth=0)
    share_by_slot = np.zeros(fs.capacity)
    share_by_slot[slots] = r.random(slots.size) * 3
    share_by_slot[slots[:3]] = 0.0                   # firms that produce nothing
    firm = fids[r.integers(0, fids.size, n)]
    firm[r.random(n) < 0.1] = -1
    acc = [np.zeros((kcore.N_BUCKETS, 2), dtype=np.int64) for _ in range(4)]
    remote = kmm.month_stats_pass(firm, efx, theta, fs.head, fs.next, fs.id, 0, hi, N, share_by_slot,
                                  omega, units, durable, sD, eps, *acc)
    assert np.array_equal(remote, np.nonzero((firm >= 0) & (firm % N >= hi))[0])
    share = np.zeros(n)
    here = (firm >= 0) & (firm % N < hi)
    share[here] = share_by_slot[fs.slots_of(firm[here])]
    gu, lu = [], []
    for i, (c, d, x, t) in enumerate(zip(units.tolist(), durable.tolist(), efx.tolist(), theta.tolist())):
        e = x * (1.0 / 2**40)
        lw = math.log(omega - e) if omega > e else -math.inf
        if c > 0:
            lx = (1.0 - sD) * math.log(c) + sD * math.log(eps + d)
            gu.append(math.exp(t * lx + (1.0 - t) * lw))
        else:
            X = math.pow(0.0, 1 - sD) * math.pow(eps + d, sD)
            gu.append(math.pow(X, t) * math.pow(omega - e, 1 - t))
        pw = math.pow(max(c, 0.0), 1 - sD) * math.pow(eps + d, sD)       # the note's formula
        assert math.isclose(gu[-1], math.pow(pw, t) * math.pow(omega - e, 1 - t), rel_tol=1e-13)
        if firm[i] >= 0 and not here[i]:
            continue
        sh = share[i]
        u = math.exp(t * math.log(sh) + (1.0 - t) * lw) if sh > 0 and omega > e else \
            math.pow(sh, t) * math.pow(omega - e, 1.0 - t)
        assert math.isclose(u, math.pow(sh, t) * math.pow(omega - e, 1.0 - t), rel_tol=1e-13, abs_tol=0)
        lu.append(u)
    assert np.array_equal(acc[2], kcore.exact_sum_parts(units))
    assert np.array_equal(acc[3], kcore.exact_sum_parts(np.array(gu)))
    assert np.array_equal(acc[1], kcore.exact_sum_parts(efx * (1.0 / 2**40)))
    assert np.array_equal(acc[0], kcore.exact_sum_parts(np.array(lu)))
    # the remote agents' utility from their fetched shares
    acc_r = np.zeros((kcore.N_BUCKETS, 2), dtype=np.int64)
    sh_r = r.random(remote.size) * 2
    sh_r[:2] = 0.0
    kmm.remote_utility(theta[remote], efx[remote], sh_r, omega, acc_r)
    want = []
    for t, x, sh in zip(theta[remote].tolist(), efx[remote].tolist(), sh_r.tolist()):
        e = x * (1.0 / 2**40)
        want.append(math.exp(t * math.log(sh) + (1.0 - t) * math.log(omega - e)) if sh > 0 and omega > e
                    else math.pow(sh, t) * math.pow(omega - e, 1.0 - t))
    assert np.array_equal(acc_r, kcore.exact_sum_parts(np.array(want)))


def test_sector_map_parts_or_together_and_hits_are_the_sector_draws():
    """pack_sector_codes of consecutive parts at any boundaries OR together into the map of the
    whole; sector_hits keeps, in draw order, exactly the candidate draws employed in the sector."""
    from hpcabm.kernels import massmacro as kmm
    r = np.random.default_rng(9)
    N = 1003
    emp = r.integers(-1, 3, N).astype(np.int8)
    whole = kmm.pack_sector_codes(emp, 0)
    assert whole.size == (N + 3) // 4
    codes = (whole[np.arange(N) // 4] >> (2 * (np.arange(N) % 4))) & 3
    assert np.array_equal(codes, emp + 1)
    for cuts in ((0, 5, 6, 333, 1003), (0, 1, 2, 3, 4, 999, 1003), (0, 0, 501, 1003)):
        smap = np.zeros_like(whole)
        for a, b in zip(cuts[:-1], cuts[1:]):
            part = kmm.pack_sector_codes(emp[a:b], a)
            if b > a:
                smap[a // 4:(b + 3) // 4] |= part
            else:
                assert part.size == 0
        assert np.array_equal(smap, whole), cuts
    req = np.arange(0, 400, 7, dtype=np.int64)
    for sector in (0, 1, 2):
        for b in (0, 1, 9):
            hits, nh = kmm.sector_hits(11, rng.MM_CAND, req, 451, b, N, whole, sector)
            draws = kmm.candidate_draws(11, rng.MM_CAND, req, 451, 0, b, N)
            for i in range(req.size):
                want = [d for d in draws[i] if emp[d] == sector]
                assert nh[i] == len(want)
                assert hits[i, :nh[i]].tolist() == want and (hits[i, nh[i]:] == -1).all()


@pytest.mark.parametrize("closed_accept", [0.2, 0.0])
def test_labour_rows_kernel_equals_its_numpy_twin(run15, monkeypatch, closed_accept):
    """serve_labour_rows writes the rows the NumPy serve builds, byte for byte: live firms of all
    sectors, firms that no longer exist (slot 0's r, price inf, sector -1, closed), a NaN and a
    tiny net revenue (r floored at r_min, NaN kept), with and without closed firms accepting."""
    m, _ = run15
    fs = m.firms
    monkeypatch.setitem(m.p._data, "closed_accept", closed_accept)
    live = fs.id[fs.id >= 0]
    ids = np.concatenate([live[::2], [live.max() + m.N, 10 * m.N + 1], live[:3]])
    keep = fs.rhat.copy()
    s = fs.slots_of(live[:2])
    fs.rhat[s[0]], fs.rhat[s[1]] = np.nan, 1e-30
    try:
        got, want = m._serve_labour_rows(ids), m._serve_labour_rows_numpy(ids)
    finally:
        fs.rhat[:] = keep
    assert got.tobytes() == want.tobytes()
    assert (got["sector"][-5:-3] == -1).all() and np.isinf(got["price"][-5:-3]).all()


def test_switch_moves_kernel_is_the_rule():
    """switch_moves = candidate found, not already in the list (by book row; unnamed candidates
    are in no list), and forced or at least xi cheaper, as NumPy writes it."""
    from hpcabm.kernels import massmacro as kmm
    r = np.random.default_rng(5)
    cs_rows = r.integers(-1, 30, (400, 4)).astype(np.int32)
    who = np.sort(r.choice(400, 250, replace=False)).astype(np.int64)
    cand = np.where(r.random(250) < 0.1, -1, r.integers(0, 10**6, 250)).astype(np.int64)
    cand_rows = r.integers(-1, 40, 250).astype(np.int32)
    p_inc = np.where(r.random(250) < 0.1, np.inf, r.random(250) * 10)
    p_cand = np.where(r.random(250) < 0.1, np.inf, r.random(250) * 10)
    p_cand[:5] = 0.99 * p_inc[:5]                                   # at the threshold
    forced = (r.random(250) < 0.3).astype(np.uint8)
    gap = 0.01
    got = kmm.switch_moves(cs_rows, who, cand, cand_rows, p_inc, p_cand, forced, gap)
    dup = (cand_rows >= 0) & (cs_rows[who] == cand_rows[:, None]).any(axis=1)
    want = np.nonzero((cand >= 0) & ~dup & ((forced > 0) | (p_cand < (1 - gap) * p_inc)))[0]
    assert np.array_equal(got, want) and 20 < want.size < 240


def test_named_bits_kernel_is_the_bitset_of_named_entries():
    from hpcabm.kernels import massmacro as kmm
    rows = np.random.default_rng(2).integers(-1, 5, (1000, 7)).astype(np.int32)
    rows[:3] = [[-1] * 7, [0] * 7, [3, -1, -1, -1, -1, -1, 2]]
    got = np.empty(rows.shape[0], dtype=np.uint8)
    kmm.named_bits(rows, got)
    assert np.array_equal(got, markets.bitset(rows >= 0)) and got[:3].tolist() == [0, 127, 65]


def test_candidate_draw_kernel_is_the_uniform_stream():
    """candidate_draws: draw t of requester r is min(floor(u N), N - 1), u = uniform(seed, MM_CAND,
    r, step, t), for rounds starting at any draw t0."""
    from hpcabm.kernels import massmacro as kmm
    req = np.array([0, 7, 12345, 2**40 + 3], dtype=np.int64)
    for N, t0, b in ((10, 0, 5), (2_500, 3, 4), (150_000_000, 1, 1), (3, 2, 0)):
        got = kmm.candidate_draws(11, rng.MM_CAND, req, 64 * 7 + 5, t0, b, N)
        want = np.empty((req.size, b), dtype=np.int64)
        for j in range(b):
            u = kcore.uniform(11, rng.MM_CAND, req, 64 * 7 + 5, t0 + j)
            want[:, j] = np.minimum((u * N).astype(np.int64), N - 1)
        assert got.shape == (req.size, b) and np.array_equal(got, want)


def test_book_snapshot_gives_what_the_firms_say(run15):
    """_market_of (the book snapshot of a phase) = asking the firms (market_info), for named
    sellers (in the snapshot or named only by lists it does not cover), firms the book does not
    name, ids named only after the snapshot, dead firms and -1;
    book.find adds nothing."""
    m, _ = run15
    fs = m.firms
    live = fs.id[fs.id >= 0]
    named = m.book.ids[: m.book.size]
    m._snapshot_book_market(m.ds.rows)             # covers the durable sellers only
    unnamed = np.setdiff1d(live, named)[:5]
    dead = np.array([named.max() + 10**9 * m.N, 3 * m.N + 1], dtype=np.int64)   # never founded
    ids = np.concatenate([named[:50], unnamed, dead, [-1, -1]])
    size = m.book.size
    assert (m.book.find(unnamed) == -1).all() and m.book.size == size
    late = m.book.rows_of(unnamed[:2])                     # named after the snapshot: fetched
    assert (late >= 0).all()
    for shape in ((ids.size,), (ids.size // 2, 2) if ids.size % 2 == 0 else (ids.size, 1)):
        got = m._market_of(ids.reshape(shape))
        cols, inv = m.market_info(ids)
        want = {f: v.reshape(shape) for f, v in _market_rows_of(cols, inv).items()}
        for f in ("sector", "price", "inv"):
            assert got[f].shape == shape and np.array_equal(got[f], want[f]), f
    assert (got["sector"].reshape(-1)[-4:] == -1).all() and np.isinf(got["price"].reshape(-1)[-4:]).all()
    del m._book_tab


def _market_rows_of(cols, inv):
    from hpcabm.models.massmacro.model import _market_rows
    return _market_rows(cols, inv)


def test_first_in_queue_equals_serving_the_whole_sorted_queue():
    """_first_in_queue sorts only firms with more requests than capacity > 0; the served set is
    that of sorting every queue by (key, agent) and serving the first cap (ties in key broken by
    agent; requests to firms that no longer exist, slot -1, never served)."""
    from hpcabm.kernels import massmacro as kmm
    r = np.random.default_rng(8)
    for n, firms in ((0, 3), (1, 1), (50, 4), (5000, 300), (5000, 5000)):
        s = r.integers(-1, firms, n).astype(np.int64)
        cap_by_slot = r.integers(0, 6, firms).astype(np.float64)
        cap = np.where(s >= 0, cap_by_slot[np.maximum(s, 0)], 0.0)
        key = r.integers(0, 40, n).astype(np.float64)          # many ties: the agent decides
        agent = r.permutation(n).astype(np.int64)
        order = np.lexsort((agent, key, s))
        rank_in = kmm.rank_within_groups(s[order])
        want = np.zeros(n, dtype=bool)
        want[order] = (s[order] >= 0) & (rank_in < cap[order])
        assert np.array_equal(first_in_queue(s, firms, cap, key, agent), want)


def test_first_in_queue_float_keys_with_signs_zeros_and_ties():
    """Float keys (activation times) order as floats: negative, -0.0 = +0.0 (then the agent
    decides), ties."""
    from hpcabm.kernels import massmacro as kmm
    r = np.random.default_rng(9)
    n = 3000
    s = r.integers(0, 40, n).astype(np.int64)
    key = r.choice(np.array([-2.5, -1e-300, -0.0, 0.0, 1e-300, 0.25, 0.25, 3.0]), n)
    agent = r.permutation(n).astype(np.int64)
    cap = r.integers(0, 30, 40).astype(np.float64)[s]
    order = np.lexsort((agent, key, s))
    want = np.zeros(n, dtype=bool)
    want[order] = kmm.rank_within_groups(s[order]) < cap[order]
    assert np.array_equal(first_in_queue(s, 40, cap, key, agent), want)


def test_slot_addressed_serving_sums_all_ranks_requests_once_per_firm():
    """serve_orders_at_slots / receive_payments_at_slots with several requests per firm (one per
    rank in the model) and slots -1 (firms gone): the id path's arithmetic on per-firm totals,
    applied once per firm; the scratch is left zero."""
    from hpcabm.kernels import massmacro as kmm
    r = np.random.default_rng(12)
    nf, n = 50, 400
    slot = r.integers(-1, nf, n).astype(np.int64)
    amount = r.integers(0, 10**6, n).astype(np.int64)
    amount[::17] = 0
    price = r.random(nf) * 100 + 1
    inv = r.random(nf) * 4000
    inv[::5] = 0.0
    unmet0 = r.random(nf)
    tot = np.bincount(slot[slot >= 0], weights=amount[slot >= 0], minlength=nf).astype(np.int64)
    seen = np.unique(slot[slot >= 0])
    # orders (as _serve_orders)
    value = inv * price
    phi_f = np.where(tot > 0, np.minimum(1.0, value / np.maximum(tot, 1)), 1.0)
    want_unmet = unmet0.copy()
    want_unmet[seen] += np.maximum(tot[seen] - value[seen], 0.0) / price[seen]
    scratch = np.zeros(nf, dtype=np.int64)
    unmet = unmet0.copy()
    phi, p = np.empty(n), np.empty(n)
    kmm.serve_orders_at_slots(slot, amount, price, inv, unmet, scratch, phi, p)
    ok = slot >= 0
    assert np.array_equal(phi[ok], phi_f[slot[ok]]) and np.array_equal(p[ok], price[slot[ok]])
    assert (phi[~ok] == -1).all() and (p[~ok] == 0).all()
    assert unmet.tobytes() == want_unmet.tobytes() and (scratch == 0).all()
    # payments (as _receive_payments)
    cash = r.integers(0, 10**9, nf).astype(np.int64)
    rev, sales, inv2 = cash.copy() // 3, r.random(nf), inv.copy()
    wc, wr, ws, wi = cash.copy(), rev.copy(), sales.copy(), inv2.copy()
    wc[seen] += tot[seen]
    wr[seen] += tot[seen]
    units = tot[seen] / price[seen]
    ws[seen] += units
    wi[seen] = np.maximum(wi[seen] - units, 0.0)
    kmm.receive_payments_at_slots(slot, amount, cash, rev, price, sales, inv2, scratch)
    assert np.array_equal(cash, wc) and np.array_equal(rev, wr)
    assert sales.tobytes() == ws.tobytes() and inv2.tobytes() == wi.tobytes() and (scratch == 0).all()


def test_queue_order_is_the_lexsort_firm_by_firm():
    """kcore.queue_order: requests grouped by firm slot, each firm's in (key, agent, position)
    order: within every firm the sequence np.lexsort((agent, key, slot)) gives (firms may come
    in another order: the serving is per firm). A request without a firm is an error."""
    from hpcabm.models.firms.model import order_key
    r = np.random.default_rng(10)
    for n, firms in ((0, 2), (1, 1), (300, 7), (4000, 900)):
        s = r.integers(0, firms, n).astype(np.int64)
        key = r.choice(np.array([-1.0, -0.0, 0.0, 0.5, 0.5, 2.0]), n)
        agent = r.integers(0, 50, n).astype(np.int64)           # repeated agents: position decides
        got = kcore.queue_order(s, firms, order_key(key), agent)
        want = np.lexsort((agent, key, s))
        assert np.array_equal(np.sort(got), np.arange(n))
        for f in range(firms):
            assert np.array_equal(got[s[got] == f], want[s[want] == f])
    with pytest.raises(ValueError, match="no firm slot"):
        kcore.queue_order(np.array([0, -1]), 2, order_key(np.zeros(2)), np.arange(2))


def test_intermediate_rounds_on_book_rows_equal_the_id_rounds():
    """The intermediate market's path (suppliers as rows of a per-rank book, rounds chained,
    requests by slot, close_unordered) = buyers_round on firm ids round by round: payments,
    units, spending, active sets, dropped dead suppliers and the suppliers' accounts."""
    ms = []
    for _ in range(2):
        m = _model(ROUNDS, 1)
        i_firms = np.nonzero((m.firms.id >= 0) & (m.firms.sector == I))[0]
        m.firms.inv[i_firms[::3]] *= 0.01                           # force rationing
        ms.append(m)
    g = np.random.default_rng(5)
    fs = ms[0].firms
    ids = fs.id[(fs.id >= 0) & (fs.sector == I)]
    n = 700
    sup = g.choice(ids, (n, 3))
    sup[::9, 1] = 10**13 + np.arange(sup[::9, 1].size)               # suppliers that no longer exist
    sup[::7, 2] = -1
    budget = g.integers(0, 4 * int(ms[0].unit), n)
    budget[::5] = g.integers(0, 3, budget[::5].size)                  # too small to order from all
    out = []
    for m, path in zip(ms, ("ids", "rows")):
        left = budget.astype(np.int64).copy()
        units, spent, unused = np.zeros(n), np.zeros(n), np.zeros(n, np.uint8)
        if path == "ids":
            s = sup.copy()
            active = markets.bitset(s >= 0)
            for _ in range(2):
                before = left.copy()
                markets.buyers_round(m, s, active, left, units, unused, close_unordered=True)
                spent += before - left
        else:
            book = markets.SellerBook(capacity=16)
            rows = book.rows_of(sup)
            active = markets.bitset(rows >= 0)
            markets.buyers_rounds_rows(m, book, rows, active, left, units, unused, 2,
                                       m.market_slots(rows, book), close_unordered=True, spent=spent)
            s = book.ids_of(rows)
        out.append((left, units, spent, active, s, unused))
    for a, b in zip(out[0], out[1]):
        assert a.tobytes() == b.tobytes()
    for col in ("cash", "revenue", "sales", "inv", "unmet"):
        assert getattr(ms[0].firms, col).tobytes() == getattr(ms[1].firms, col).tobytes(), col
    assert (out[0][3] == 0).any() and (out[0][4][::9, 1] == -1).mean() > 0.5 and (out[0][5] > 0).any()


def test_labour_choice_kernel_equals_solving_every_option():
    """choose_market_batch skips options whose utility bound is below the best so far, and an
    unemployed agent's options whose income at full effort is below its reservation wage; the
    choices equal solving every option's best effort (labour.best_effort) and comparing log
    utilities as the note's rule says, for employed and unemployed agents, duplicates, the own
    firm among the candidates, closed firms and start-ups."""
    import math
    from hpcabm.kernels import labour
    from hpcabm.kernels import massmacro as kmm
    r = np.random.default_rng(21)
    M, n, omega = 120, 2500, 1.0
    s_id = np.arange(M, dtype=np.int64) * 7 + 3
    s_a, s_b, s_beta = r.random(M) * 0.5, 0.75 + r.random(M) * 0.5, 1.5 + r.random(M) * 0.5
    s_n = r.integers(1, 40, M).astype(np.int64)
    s_efx = (r.random(M) * s_n * 0.5 * 2**40).astype(np.int64)
    s_r = np.exp(r.normal(0, 0.5, M))
    s_open = (r.random(M) < 0.85).astype(np.int8)
    theta = r.random(n)
    employed = (r.random(n) < 0.5).astype(np.int8)
    own_idx = np.where(employed == 1, r.integers(0, M, n), -1).astype(np.int64)
    efx = np.where(employed == 1, (r.random(n) * 0.5 * 2**40).astype(np.int64), 0)
    efx = np.minimum(efx, np.where(own_idx >= 0, s_efx[np.maximum(own_idx, 0)], 0))
    counts = r.integers(0, 9, n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    cand = r.integers(0, M, ptr[-1]).astype(np.int64)
    own_pos = ptr[:-1][(counts > 0) & (employed == 1)]
    cand[own_pos[::3]] = own_idx[np.searchsorted(ptr, own_pos[::3], side="right") - 1]   # own firm
    wres = np.where(employed == 1, 0.0, r.random(n) * 0.8)
    can_start = (r.random(n) < 0.3).astype(np.int8)
    st_a, st_b, st_beta = r.random(n) * 0.5, 0.75 + r.random(n) * 0.5, 1.5 + r.random(n) * 0.5
    r_new = np.exp(r.normal(0, 0.5, n))
    got = kmm.choose_market_batch(theta, efx, employed, own_idx, ptr, cand, s_id, s_a, s_b, s_beta,
                                  s_n, s_efx, s_r, s_open, wres, can_start, st_a, st_b, st_beta,
                                  r_new, omega)

    def e_star(t, Eo, a, b, beta):
        return float(labour.best_effort(np.array([t]), np.array([Eo]), np.array([a]), np.array([b]),
                                        np.array([beta]), omega)[0])

    def out_(a, b, beta, E):
        return a * E + b * math.pow(E, beta) if E > 0.0 else 0.0

    def log_u(t, e, a, b, beta, Eo, nn):
        return t * math.log(out_(a, b, beta, Eo + e) / nn) + (1.0 - t) * math.log(omega - e)
    inv = 1.0 / 2**40
    for k in range(n):
        t = theta[k]
        best, choice = -math.inf, labour.CHOICE_STAY
        own_id = -1
        if employed[k]:
            f = own_idx[k]
            own_id = s_id[f]
            Eo = float(s_efx[f] - efx[k]) * inv
            e = e_star(t, Eo, s_a[f], s_b[f], s_beta[f])
            best = t * math.log(s_r[f]) + log_u(t, e, s_a[f], s_b[f], s_beta[f], Eo, float(s_n[f]))
        seen = []
        for j in range(ptr[k], ptr[k + 1]):
            c = cand[j]
            if s_id[c] == own_id or not s_open[c] or s_id[c] in seen:
                seen.append(s_id[c])
                continue
            seen.append(s_id[c])
            Eg, ng = float(s_efx[c]) * inv, float(s_n[c] + 1)
            eg = e_star(t, Eg, s_a[c], s_b[c], s_beta[c])
            if not employed[k] and s_r[c] * out_(s_a[c], s_b[c], s_beta[c], Eg + eg) / ng < wres[k]:
                continue
            ug = t * math.log(s_r[c]) + log_u(t, eg, s_a[c], s_b[c], s_beta[c], Eg, ng)
            if ug > best:
                best, choice = ug, c
        if can_start[k] and (not employed[k] or s_n[own_idx[k]] > 1):
            es = e_star(t, 0.0, st_a[k], st_b[k], st_beta[k])
            if employed[k] or r_new[k] * out_(st_a[k], st_b[k], st_beta[k], es) >= wres[k]:
                us = t * math.log(r_new[k]) + log_u(t, es, st_a[k], st_b[k], st_beta[k], 0.0, 1.0)
                if us > best:
                    choice = labour.CHOICE_STARTUP
        assert got[k] == choice, k
    assert (got >= 0).mean() > 0.2 and (got == labour.CHOICE_STARTUP).any() and (got == -1).any()
