"""Ensemble seed schemes: `--seeds halton` (base-2 Halton / van der Corput integers, seed 002's
"Halton-seed" Monte Carlo) and design points that set their own `seed`; the default scheme is
unchanged (spawned from the config seed, common to every point)."""
from fractions import Fraction

import pytest

from hpcabm.core import rng
from hpcabm.core.config import ConfigError
from hpcabm.core.ensemble import halton_seeds, plan
from tests.conftest import hpcabm

CFG = "model: firms\nagents: 200\nmonths: 3\nseed: 21\ncheckpoint: {every: 0}\n"


def van_der_corput(k):
    """H2(k) as an exact fraction: the binary digits of k mirrored behind the point."""
    x, f = Fraction(0), Fraction(1, 2)
    while k:
        x += f * (k & 1)
        k >>= 1
        f /= 2
    return x


def test_halton_seeds_are_floor_of_h2_times_2_63():
    s = halton_seeds(64)
    assert s[:4] == [2 ** 62, 2 ** 61, 3 * 2 ** 61, 2 ** 60]        # 1/2, 1/4, 3/4, 1/8
    for k, v in enumerate(s, start=1):
        assert v == int(van_der_corput(k) * 2 ** 63) and 0 < v < 2 ** 63
    assert len(set(s)) == 64
    assert halton_seeds(80)[:64] == s                                 # prefix-stable like spawn


def test_plan_with_halton_seeds_and_point_seeds(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CFG)
    _, _, m = plan(str(cfg), 3, [], ["firms.activation=0.02,0.05"], seeds="halton")
    assert [x["seed"] for x in m] == halton_seeds(3) * 2            # same Halton seeds at every point
    assert all(x["config"]["seed"] == x["seed"] for x in m)
    # default scheme: unchanged (spawned from the config seed, common to all points)
    _, _, m = plan(str(cfg), 2, [], ["firms.activation=0.02,0.05"])
    assert [x["seed"] for x in m] == rng.spawn_seeds(21, 2) * 2
    # a design point that sets `seed` gets members spawned from its own seed
    d = tmp_path / "d.yaml"
    d.write_text("- {firms.activation: 0.02, seed: 7}\n- {firms.activation: 0.05, seed: 8}\n- {firms.activation: 0.03}\n")
    _, keys, m = plan(str(cfg), 2, [], design=str(d))
    assert [x["seed"] for x in m] == rng.spawn_seeds(7, 2) + rng.spawn_seeds(8, 2) + rng.spawn_seeds(21, 2)
    assert keys == ["firms.activation", "seed"] and m[2]["sweep"]["seed"] == 8
    with pytest.raises(ConfigError, match="--seeds"):
        plan(str(cfg), 2, seeds="sobol")


def test_cli_halton_seeds(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CFG)
    out = tmp_path / "ens"
    r = hpcabm(["ensemble", str(cfg), "--runs", "2", "--seeds", "halton", "--out", str(out)])
    assert r.returncode == 0, r.stderr
    from hpcabm.core.ensemble import load_ensemble
    e = load_ensemble(str(out))
    assert list(e["members"]["seed"]) == halton_seeds(2)
