"""Ensemble machinery on one rank (in-process): seeds, sweep plans, ensemble.h5 layout, resume,
refusal to mix ensembles. Uses the firms model (small N) to show it is model-independent."""
import os

import h5py
import yaml
import numpy as np
import pytest

from hpcabm.core import rng
from hpcabm.core.comm import Comm
from hpcabm.core.config import ConfigError
from hpcabm.core.ensemble import load_ensemble, parse_sweeps, plan, run_ensemble, split_values

CFG = """model: firms
agents: 500
months: 12
seed: 21
checkpoint: {every: 4, keep: 3}
firms: {substeps: 3}
"""


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "cfg.yaml"
    p.write_text(CFG)
    return str(p)


def quiet(*a, **k):
    pass


def go(cfg, out, runs, sweeps=(), sets=(), log=quiet):
    base, keys, members = plan(cfg, runs, sets, sweeps)
    return run_ensemble(Comm(), str(out), base, keys, members, 1, log=log), members


def test_split_and_parse():
    assert split_values("1,2.5,[0, 1],x") == ["1", "2.5", "[0, 1]", "x"]
    assert parse_sweeps(["a.b=1,2", "c=[1,2],[3,4]"]) == [("a.b", ["1", "2"]), ("c", ["[1,2]", "[3,4]"])]
    with pytest.raises(ConfigError):
        parse_sweeps(["nokey"])


def test_plan_seeds_sweep_and_validation(cfg):
    base, keys, members = plan(cfg, 3, ["months=10"], ["firms.activation=0.02,0.05", "firms.friends=[1,3],[2,4]"])
    assert keys == ["firms.activation", "firms.friends"] and len(members) == 12
    seeds = rng.spawn_seeds(21, 3)
    assert [m["seed"] for m in members[:3]] == seeds
    assert [m["seed"] for m in members[3:6]] == seeds          # common random numbers across points
    assert len(set(seeds)) == 3 and 21 not in seeds
    assert members[5]["sweep"] == {"firms.activation": 0.02, "firms.friends": [2, 4]}
    assert members[5]["config"]["firms"]["friends"] == [2, 4]
    assert all(m["config"]["months"] == 10 for m in members)
    with pytest.raises(ConfigError, match="firms.activation"):
        plan(cfg, 2, [], ["firms.activation=0.1,7"])             # 7 > max 1.0


def test_ensemble_file_matches_member_runs_and_resumes(cfg, tmp_path):
    out = tmp_path / "ens"
    code, members = go(cfg, out, 2, ["firms.activation=0.03,0.06"])
    assert code == 0
    e = load_ensemble(str(out))
    assert e["attrs"]["complete"] == 1 and e["attrs"]["members"] == 4 and e["attrs"]["model"] == "firms"
    assert e["series"]["output"].shape == (4, 12)
    assert list(e["members"]["sweep"]["firms.activation"]) == [0.03, 0.03, 0.06, 0.06]
    # each member's row is bitwise its own results.h5
    for i, m in enumerate(members):
        with h5py.File(out / "members" / m["name"] / "results.h5", "r") as f:
            assert f.attrs["seed"] == m["seed"] == e["members"]["seed"][i]
            assert f["series/output"][...].tobytes() == e["series"]["output"][i].tobytes()
            assert f["final/firm_size"][...].tobytes() == e["final"]["firm_size"][i].tobytes()
    # different activation => different paths; same seed across points
    assert not np.array_equal(e["series"]["output"][0], e["series"]["output"][2])
    ref = {n: v.copy() for n, v in e["series"].items()}
    # a member killed mid-run: its results are gone, its checkpoints (month 4, 8, 12) remain;
    # drop the newest so it resumes from month 8
    victim = out / "members" / members[1]["name"]
    os.remove(victim / "results.h5")
    os.remove(victim / "checkpoints" / "ckpt_m0000012.h5")
    mtimes = {m["name"]: os.path.getmtime(out / "members" / m["name"] / "results.h5")
              for m in members if m is not members[1]}
    lines = []
    code, _ = go(cfg, out, 2, ["firms.activation=0.03,0.06"], log=lambda *a, **k: lines.append(a[0]))
    assert code == 0
    assert "3 already done, 1 to run" in lines[0]
    assert any(members[1]["name"] in x and "resumed from ckpt_m0000008.h5" in x for x in lines)
    for name, t in mtimes.items():       # finished members were skipped
        assert os.path.getmtime(out / "members" / name / "results.h5") == t
    e2 = load_ensemble(str(out))
    for n in ref:
        assert e2["series"][n].tobytes() == ref[n].tobytes(), n
    # more runs: the first two members are reused, two new ones are run
    code, members3 = go(cfg, out, 3, ["firms.activation=0.03,0.06"])
    e3 = load_ensemble(str(out))
    assert e3["attrs"]["members"] == 6 and e3["attrs"]["complete"] == 1
    assert e3["series"]["output"][[0, 1, 3, 4]].tobytes() == ref["output"].tobytes()


def test_partial_ensemble_marks_missing_members(cfg, tmp_path):
    from hpcabm.core.ensemble import assemble
    out = tmp_path / "p"
    code, members = go(cfg, out, 2)
    os.remove(out / "members" / members[1]["name"] / "results.h5")
    base, keys, _ = plan(cfg, 2)
    assemble(str(out), base, keys, members, {})
    e = load_ensemble(str(out))
    assert e["attrs"]["complete"] == 0 and list(e["members"]["done"]) == [1, 0]
    assert np.isnan(e["series"]["output"][1]).all() and np.isfinite(e["series"]["output"][0]).all()
    assert e["final"]["firm_size"][1].size == 0


def test_refuses_a_different_ensemble_in_the_same_dir(cfg, tmp_path):
    out = tmp_path / "x"
    go(cfg, out, 1)
    with pytest.raises(ConfigError, match="different config"):
        go(cfg, out, 1, sets=["firms.substeps=2"])


def test_design_file_points(cfg, tmp_path):
    d = tmp_path / "design.yaml"
    d.write_text("- {firms.activation: 0.03}\n- {firms.activation: 0.05, firms.friends: [1, 3]}\n")
    base, keys, members = plan(cfg, 2, [], [], str(d))
    assert keys == ["firms.activation", "firms.friends"] and len(members) == 4
    assert members[0]["sweep"] == {"firms.activation": 0.03, "firms.friends": [2, 6]}   # default kept
    assert members[3]["config"]["firms"]["friends"] == [1, 3] and members[3]["seed"] == members[1]["seed"]
    with pytest.raises(ConfigError, match="cannot be combined"):
        plan(cfg, 2, [], ["firms.activation=0.1"], str(d))
    d.write_text("firms.activation: 0.1\n")
    with pytest.raises(ConfigError, match="list of mappings"):
        plan(cfg, 2, [], [], str(d))
    out = tmp_path / "dz"
    d.write_text("- {firms.activation: 0.03}\n- {firms.activation: 0.05, firms.friends: [1, 3]}\n")
    base, keys, members = plan(cfg, 1, [], [], str(d))
    assert run_ensemble(Comm(), str(out), base, keys, members, 1, log=quiet) == 0
    e = load_ensemble(str(out))
    assert [yaml.safe_load(x) for x in e["members"]["sweep"]["firms.friends"]] == [[2, 6], [1, 3]]


def test_report_of_a_non_ks_ensemble_is_the_generic_summary(cfg, tmp_path, capsys):
    from hpcabm.analysis.report import report
    out = tmp_path / "r"
    code, members = go(cfg, out, 2)
    assert report(str(out)) == 0
    text = capsys.readouterr().out
    assert "members finished" in text and "2/2" in text and "output (window mean)" in text
    assert (out / "report" / "facts.txt").exists()
