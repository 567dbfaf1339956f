"""keynes_daily model: the balance-sheet identities every day through entry, exit, both shocks and
bail-outs; the Taylor rule with its bound inside the model; the demand shock and both banking-crisis
variants against paired no-shock runs (same seed); seeds; restart bitwise; both named jobs."""
import os

import h5py
import numpy as np
import pytest

from hpcabm.core.comm import Comm
from hpcabm.core.config import load_config
from hpcabm.models.keynes_daily import Model
from hpcabm.models.keynes_daily.policy import inflation_30d, taylor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SMALL = ("model: keynes_daily\nagents: 1500\nseed: {seed}\nmonths: {days}\n"
         "keynes: {{firms: 150, banks: 4, money0: 150000.0, demand_day: {dd}, crisis_day: {cd}, "
         "crisis: {crisis}, tax_bug_compat: true, dividends: {div}}}\n")


def run(days=260, seed=5, dd=0, cd=0, crisis="none", div="pro_rata_wealth", sets=()):
    cfg = load_config(text=SMALL.format(seed=seed, days=days, dd=dd, cd=cd or 1, crisis=crisis, div=div),
                      overrides=list(sets))
    m = Model(cfg, Comm())
    m.initialize()
    for _ in range(days):
        m.step()
    return m, {k: np.asarray(v, dtype=float) for k, v in m.series.items()}


def recount(m):
    """Money and loans recomputed from the agents' state."""
    return m.h["dep"].sum() + m.f["cash"].sum(), m.f["debt"].sum(), m.banks["equity"].sum(), m.mac["G"]


@pytest.fixture(scope="module")
def stressed():
    """Both shocks, the equity+NPL crisis (frozen banks, lagged bail-out), pro-rata dividends; a
    CAR of 0.25 so that the crisis breaches it."""
    return run(days=400, dd=120, cd=200, crisis="equity+npl", sets=["keynes.demand_days=5", "keynes.car=0.25"])


def test_balance_sheets_add_up_every_day(stressed):
    m, s = stressed
    scale = s["deposits_h"] + s["deposits_f"]
    # deposits + bank equity = loans + government debt (held by the CB against reserves), each day
    assert np.all(np.abs(s["sf_error"]) <= 1e-11 * scale), np.abs(s["sf_error"] / scale).max()
    # money = its ledger of creation (loans, public spending, deposit interest) and destruction
    # (repayment, seizures at default, taxes, loan interest), each day
    assert np.all(np.abs(s["sf_money"]) <= 1e-11 * scale), np.abs(s["sf_money"] / scale).max()
    money, loans, eq, G = recount(m)
    assert money == pytest.approx(s["deposits_h"][-1] + s["deposits_f"][-1], rel=1e-14)
    assert loans == pytest.approx(s["loans"][-1], rel=1e-14)
    assert abs(loans + G - money - eq) <= 1e-11 * money
    # what the identities were exercised by
    assert s["entries"].sum() > 0 and s["exits"].sum() > 0 and s["bailouts"].sum() > 0
    assert s["new_credit"].sum() > 0 and s["bad_debt"].sum() > 0 and s["taxes"].min() > 0
    assert s["deficit"].max() > 0 and s["fired"].sum() > 0 and s["hired"].sum() > 0


def test_identity_detects_a_leak(stressed):
    """The residual is not trivially zero: a deposit created from nothing shows up in both checks."""
    m, _ = stressed
    m.h["dep"][0] += 1.0
    m.step()
    assert abs(m.series["sf_error"][-1] + 1.0) < 1e-6 and abs(m.series["sf_money"][-1] - 1.0) < 1e-6


def test_taylor_rule_inside_the_model(stressed):
    _, s = stressed
    r, pi, gap, cpi = s["r"], s["inflation"], s["gap"], s["cpi"]
    assert np.all(r[:31] == 0.02)                                           # no 30-day history: r_bar
    for t in range(31, r.size):
        assert pi[t - 1] == pytest.approx(inflation_30d(cpi[t - 1], cpi[t - 31]), rel=1e-12)
        assert r[t] == taylor(pi[t - 1], gap[t - 1], 0.02, 0.02, 1.5, 0.5, 0.0, 0.15)
    assert r.min() >= 0.0 and r.max() <= 0.15
    assert np.array_equal(s["zlb"] == 1, r == 0.0)
    assert (r == 0).any() and (r > 0).any() and (r == 0.15).any()          # both bounds bind, not always


def test_demand_shock_against_the_paired_run():
    _, base = run(days=140)
    _, shock = run(days=140, dd=100, sets=["keynes.demand_days=3"])
    t = 99                                                                  # day 100
    for k in base:
        assert base[k][:t].tobytes() == shock[k][:t].tobytes(), k           # identical before
    ratio = shock["gdp"][t:t + 3] / base["gdp"][t:t + 3]
    assert np.all((ratio > 0.62) & (ratio < 0.78)), ratio                   # budgets x 0.7
    assert abs(shock["gdp"][130:].mean() / base["gdp"][130:].mean() - 1) < 0.05   # recovers


def test_banking_crisis_variants():
    _, base = run(days=230)
    _, eq = run(days=230, cd=200, crisis="equity_only")
    _, npl = run(days=230, cd=200, crisis="equity+npl")
    t = 199
    assert base["bank_equity"][:t].tobytes() == eq["bank_equity"][:t].tobytes()
    # equity_only: 40 % of equity is gone on the day (plus that day's flows, identical in both)
    lost = base["bank_equity"][t - 1] * 0.4
    assert eq["bank_equity"][t] - eq["bailouts"][t] == pytest.approx(base["bank_equity"][t] - lost, rel=2e-3)
    assert eq["gov_debt"][t] < base["gov_debt"][t]                          # reserves extinguished
    # equity+npl: loans written off (>= npl share), firms default, credit stays lower
    assert npl["bad_debt"][t] >= 0.1 * npl["loans"][t - 1] * 0.5
    assert npl["exits"][t:t + 30].sum() > base["exits"][t:t + 30].sum()
    assert npl["loans"][t + 20] < 0.92 * base["loans"][t + 20]


def test_seeds_and_dividend_options():
    _, a = run(days=40, seed=1)
    _, b = run(days=40, seed=1)
    _, c = run(days=40, seed=2)
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)
    assert a["gdp"].tobytes() != c["gdp"].tobytes()
    _, n = run(days=40, div="none")
    _, e = run(days=40, div="equal")
    assert n["dividends"].sum() == 0 and e["dividends"].sum() > 0 and a["dividends"].sum() > 0
    for x in (n, e):
        assert np.abs(x["sf_money"]).max() < 1e-11 * x["deposits_h"][-1]
        assert np.abs(x["sf_error"]).max() < 1e-11 * x["deposits_h"][-1]


def test_restart_is_bitwise(tmp_path):
    from hpcabm.core.runner import run as run_cfg
    text = SMALL.format(seed=3, days=60, dd=40, cd=50, crisis="equity+npl", div="pro_rata_wealth") + \
        "checkpoint: {every: 25, keep: 5}\nprogress: {every: 0}\n"
    cfg = load_config(text=text)
    quiet = lambda *a, **k: None
    assert run_cfg(cfg, Comm(), str(tmp_path / "a"), log=quiet) == 0
    ck = tmp_path / "a" / "checkpoints" / "ckpt_m0000025.h5"
    assert run_cfg(cfg, Comm(), str(tmp_path / "b"), restart=str(ck), log=quiet) == 0
    with h5py.File(tmp_path / "a" / "results.h5", "r") as a, h5py.File(tmp_path / "b" / "results.h5", "r") as b:
        for g in ("series", "final"):
            for n in a[g]:
                assert a[g][n][...].tobytes() == b[g][n][...].tobytes(), n
        assert a["series/gdp"].shape == (60,) and a["final/wealth"].shape == (1500,)


@pytest.mark.parametrize("job,phi,crisis", [("keynes_daily_recal.yaml", 0.02, "equity_only"),
                                            ("keynes_daily_early.yaml", 0.005, "equity+npl")])
def test_named_configurations(job, phi, crisis):
    cfg = load_config(os.path.join(ROOT, "jobs", job))
    assert cfg.model == "keynes_daily" and int(cfg.months) == 3650 and int(cfg.agents) == 10000
    assert cfg.keynes.phi == phi and cfg.keynes.crisis == crisis and cfg.keynes.tax_bug_compat
    assert cfg.keynes.car == 0.08 and cfg.keynes.psi_pi == 1.5 and cfg.keynes.psi_y == 0.5


# -- partitioned variant (market: pro_rata), one rank here; rank-count equality in tests/mpi ---------------

def test_market_key_is_checked():
    from hpcabm.core.config import ConfigError
    cfg = load_config(os.path.join(ROOT, "jobs", "keynes_daily_pro_rata.yaml"))
    assert cfg.keynes.market == "pro_rata" and cfg.agents == 100 * cfg.keynes.firms // 10
    with pytest.raises(ConfigError, match="market"):
        load_config(text=SMALL.format(seed=1, days=5, dd=0, cd=1, crisis="none", div="none"),
                    overrides=["keynes.market=queue"])


def test_partitioned_balance_sheets_every_day():
    """market: pro_rata through both shocks, the equity+NPL crisis with a lagged bail-out, entry
    and exit: both residuals every day, stocks recounted from the agents, money exact per proposal."""
    from hpcabm.models.keynes_daily.partitioned import PartitionedModel
    m, s = run(days=150, dd=40, cd=80, crisis="equity+npl",
               sets=["keynes.market=pro_rata", "keynes.car=0.35", "keynes.entry_rate=0.002"])
    assert isinstance(m, PartitionedModel)
    money = s["deposits_h"] + s["deposits_f"]
    assert np.all(np.abs(s["sf_error"]) <= 1e-11 * money) and np.all(np.abs(s["sf_money"]) <= 1e-11 * money)
    assert s["exits"].sum() > 0 and s["entries"].sum() > 0 and s["bailouts"].sum() > 0 and s["unmet"].max() > 0
    dep = m.h["dep"].sum() + m.f["cash"].sum()
    assert abs(dep - money[-1]) <= 1e-11 * dep and abs(m.f["debt"].sum() - s["loans"][-1]) <= 1e-11 * dep
    assert abs(s["loans"][-1] + m.mac["G"] - dep - m.banks["equity"].sum()) <= 1e-11 * dep
    e = m.h["employer"]                                                    # firms' head counts = employers
    assert np.array_equal(np.bincount(e[e >= 0], minlength=m.nf_total)[m.f["id"]], m.f["L"])
    assert s["employment"][-1] == (e >= 0).sum() and s["fired"].sum() > 0 and s["hired"].sum() > 0


def test_pro_rata_kernels():
    """goods_candidates = goods_choice at every position; settle_round serves demand <= stock in
    full and rations the rest pro rata, with payments = revenue."""
    from hpcabm.kernels import keynes as K
    rg = np.random.default_rng(2)
    ids = np.sort(rg.choice(500, 60, replace=False)).astype(np.int64)
    price = rg.uniform(4, 6, 60)
    price[:5] = price[5]                                                  # ties
    hh = np.arange(300, dtype=np.int64)
    c = np.empty((300, 8), dtype=np.int32)
    K.goods_candidates(3, 7, hh, ids, price, 8, c)
    for pos in range(8):
        out = np.empty(300, dtype=np.int64)
        K.goods_choice(3, 7, hh, np.full(300, pos, dtype=np.int64), ids, price, 8, out)
        assert np.array_equal(out, c[:, pos])
    assert np.all(np.diff(price[c], axis=1) >= 0)
    li = rg.integers(0, 10, 400).astype(np.int64)
    rem = rg.uniform(0, 10, 400)
    P = rg.uniform(1, 2, 10)
    cap = rg.uniform(50, 400, 10)
    cap[3] = 0.0
    caprem, dem, sold, rev = cap.copy(), np.zeros(10), np.zeros(10), np.zeros(10)
    pay, rat = np.empty(400), np.empty(400, dtype=np.int8)
    K.settle_round(li, rem, P, caprem, dem, sold, rev, pay, rat)
    D = np.bincount(li, weights=rem / P[li], minlength=10)
    over = D > cap
    assert over.any() and (~over).any() and over[3]
    assert np.allclose(dem, D) and np.array_equal(rat.astype(bool), over[li])
    assert np.array_equal(pay[~over[li]], rem[~over[li]])                   # served in full
    assert np.allclose(sold[over], cap[over]) and np.all(caprem[over] == 0)  # sold out, pro rata
    assert np.allclose(pay[over[li]] / rem[over[li]], np.repeat(1, over[li].sum()) * (cap / np.maximum(D, 1e-300))[li[over[li]]])
    assert np.isclose(pay.sum(), rev.sum(), rtol=1e-14) and np.allclose(rev, sold * P)
