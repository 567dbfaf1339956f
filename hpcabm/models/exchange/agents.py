"""Agent types of an exchange economy (Luo, MacKay & Chater 2026, §§3-4), from the config string
`exchange.agent_types`:

    "KIND COUNT [key=value ...]; KIND COUNT ...; ..."      COUNT an integer or `rest`

Groups take contiguous id ranges in the order written (this matters only for interdependent agents,
whose comparison neighbours are i-1 and i+1 on a circle). Kinds and keys (defaults are the paper's):

  cd          eq. 1   u = m^(eta-1) g1^(a1-1) g2^(a2-1)          eta, a1, a2 (alpha sets a1 = a2)
  sub         eq. 12  u = m^(eta-1) (g1+g2)^(alpha-1)            eta, alpha
  comp        eq. 13  u = m^(eta-1) min(g1,g2)^(alpha-1)         eta, alpha
  sat         eq. 18  u = m^(eta-1) g2^(a2-1) U1(g1)             eta, a2, c=0.3, k=0.6
  price       eq. 19  u = g'^(alpha-1) m'^(eta-1) if the implied price is acceptable   mu1, mu2
  price_sum   eq. 21  u = (g+g')^(alpha-1) (m+m')^(eta-1), same price rule            mu1, mu2
  inter_exp   eq. 22  u = m^(eta-1) g^(alpha-1) exp(g - g_n)     eta, alpha
  inter_tanh  eqs. 22, 26  U(x) = (a e^x + b e^-x)/(e^x + e^-x)  eta, alpha, a=1.5, b=0.5
"""
import numpy as np

from hpcabm.core.config import ConfigError

KIND_CODES = {"cd": 0, "sub": 1, "comp": 2, "sat": 3, "price": 4, "price_sum": 5,
              "inter_exp": 6, "inter_tanh": 7}
PRICE_KINDS = {"price", "price_sum"}
INTER_KINDS = {"inter_exp", "inter_tanh"}
ONE_GOOD_KINDS = PRICE_KINDS | INTER_KINDS
TWO_GOOD_KINDS = {"sub", "comp", "sat"}

_DEFAULTS = {"eta": 3.0, "a1": 3.0, "a2": 3.0, "c": 0.3, "k": 0.6, "mu1": 0.9, "mu2": 1.1,
             "a": 1.5, "b": 0.5}
_KEYS = {
    "cd": {"eta", "a1", "a2", "alpha"},
    "sub": {"eta", "alpha"},
    "comp": {"eta", "alpha"},
    "sat": {"eta", "a2", "c", "k"},
    "price": {"eta", "alpha", "mu1", "mu2"},
    "price_sum": {"eta", "alpha", "mu1", "mu2"},
    "inter_exp": {"eta", "alpha"},
    "inter_tanh": {"eta", "alpha", "a", "b"},
}
KEY = "exchange.agent_types"


class Group:
    """One group of identical agents: ids [lo, hi)."""

    def __init__(self, kind, count, params):
        self.kind = kind
        self.count = count
        self.params = params
        self.lo = self.hi = 0

    def row(self):
        """(kind code, eta, a1, a2, p0, p1) as used by hp_exchange.h."""
        p = self.params
        k = self.kind
        p0 = p1 = 0.0
        if k == "sat":
            p0, p1 = p["c"], p["k"]
        elif k in PRICE_KINDS:
            p0, p1 = p["mu1"], p["mu2"]
        elif k == "inter_tanh":
            p0, p1 = p["a"], p["b"]
        return KIND_CODES[k], p["eta"], p["a1"], p["a2"], p0, p1

    def describe(self):
        keys = sorted(_KEYS[self.kind] - {"alpha"} | ({"a1"} if "alpha" in _KEYS[self.kind] else set()))
        return f"{self.count} {self.kind} (" + ", ".join(f"{k}={self.params[k]:g}" for k in keys) + ")"


def _fail(msg):
    raise ConfigError(f"config error: {KEY}: {msg}")


def parse_agent_types(text, n_agents, goods):
    """Groups with id ranges; checks kinds, keys, counts (summing to `agents`) and goods."""
    groups = []
    rest = None
    for part in [p.strip() for p in text.split(";") if p.strip()]:
        words = part.split()
        if len(words) < 2:
            _fail(f"group {part!r}: expected 'KIND COUNT [key=value ...]'")
        kind, count = words[0].lower(), words[1]
        if kind not in KIND_CODES:
            _fail(f"unknown kind {kind!r} (kinds: {', '.join(KIND_CODES)})")
        if count == "rest":
            if rest is not None:
                _fail("only one group may have count 'rest'")
            rest = len(groups)
            n = 0
        else:
            try:
                n = int(count)
            except ValueError:
                _fail(f"group {part!r}: count must be an integer or 'rest', got {count!r}")
            if n < 0:
                _fail(f"group {part!r}: negative count")
        params = dict(_DEFAULTS)
        for kv in words[2:]:
            if "=" not in kv:
                _fail(f"group {part!r}: expected key=value, got {kv!r}")
            k, v = kv.split("=", 1)
            if k not in _KEYS[kind]:
                _fail(f"group {part!r}: key {k!r} not allowed for {kind} (allowed: {', '.join(sorted(_KEYS[kind]))})")
            try:
                x = float(v)
            except ValueError:
                _fail(f"group {part!r}: {k} must be a number, got {v!r}")
            if not np.isfinite(x):
                _fail(f"group {part!r}: {k} must be finite")
            if k == "alpha":
                params["a1"] = params["a2"] = x
            else:
                params[k] = x
        for k in ("eta", "a1", "a2", "k"):
            if params[k] <= 0:
                _fail(f"group {part!r}: {k} must be > 0")
        if kind in PRICE_KINDS:
            if params["eta"] < 1 or params["a1"] < 1:
                _fail(f"group {part!r}: price-sensitive agents need eta, alpha >= 1 (bounded density for the exact sampler)")
            if not 0 <= params["mu1"] < params["mu2"]:
                _fail(f"group {part!r}: need 0 <= mu1 < mu2")
        if kind == "inter_tanh" and not params["a"] > params["b"] > 0:
            _fail(f"group {part!r}: need a > b > 0 (U positive, eq. 26)")
        if kind == "sat" and params["c"] < 0:
            _fail(f"group {part!r}: c must be >= 0")
        groups.append(Group(kind, n, params))
    if not groups:
        _fail("no agent groups")
    fixed = sum(g.count for g in groups)
    if rest is not None:
        if fixed > n_agents:
            _fail(f"counts add up to {fixed} > agents = {n_agents}")
        groups[rest].count = n_agents - fixed
    elif fixed != n_agents:
        _fail(f"counts add up to {fixed}, but agents = {n_agents} (or use count 'rest')")
    kinds = {g.kind for g in groups if g.count}
    if goods == 2 and kinds & ONE_GOOD_KINDS:
        _fail(f"kinds {', '.join(sorted(kinds & ONE_GOOD_KINDS))} have one good: set exchange.goods: 1")
    if goods == 1 and kinds & TWO_GOOD_KINDS:
        _fail(f"kinds {', '.join(sorted(kinds & TWO_GOOD_KINDS))} need two goods: set exchange.goods: 2")
    if kinds & PRICE_KINDS and kinds - PRICE_KINDS - {"cd"}:
        _fail("price-sensitive agents can be mixed only with cd agents")
    lo = 0
    for g in groups:
        g.lo, g.hi = lo, lo + g.count
        lo = g.hi
    return [g for g in groups if g.count]


def type_table(groups):
    """Arrays (kind, eta, a1, a2, p0, p1, bound) for hpcabm.kernels.exchange.Types."""
    rows = np.array([g.row() for g in groups], dtype=np.float64)
    bound = np.array([g.lo for g in groups] + [groups[-1].hi], dtype=np.int64)
    return (rows[:, 0].astype(np.int32), rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4],
            rows[:, 5], bound)


def interdependent(groups):
    return any(g.kind in INTER_KINDS for g in groups)
