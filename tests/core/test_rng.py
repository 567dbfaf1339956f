import numpy as np

from hpcabm.core import rng
from hpcabm.kernels import core as kcore


def test_cython_kernel_equals_numpy_twin():
    ids = np.arange(-5, 1000, dtype=np.int64)
    for purpose, step, draw in [(1, 0, 0), (3, 17, 0), (4, 123456, 5), (2, 2**40, 99)]:
        a = kcore.uniform(2024, purpose, ids, step, draw)
        b = rng.uniform(2024, purpose, ids, step, draw)
        assert np.array_equal(a, b)


def test_streams_are_uniform_and_distinct():
    ids = np.arange(200_000, dtype=np.int64)
    u = kcore.uniform(7, rng.ACTIVATE, ids, 3)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.003
    counts = np.bincount((u * 20).astype(int), minlength=20)
    chi2 = ((counts - 10_000) ** 2 / 10_000).sum()
    assert chi2 < 45          # 19 dof, p ~ 1e-3
    v = kcore.uniform(7, rng.ACTIVATE, ids, 4)      # next month
    w = kcore.uniform(7, rng.THETA, ids, 3)         # other purpose
    x = kcore.uniform(8, rng.ACTIVATE, ids, 3)      # other seed
    for other in (v, w, x):
        assert abs(np.corrcoef(u, other)[0, 1]) < 0.01
        assert not np.array_equal(u, other)


def test_spawn_seeds_distinct():
    s = rng.spawn_seeds(5, 1000)
    assert len(set(s)) == 1000 and all(0 <= x < 2**63 for x in s)
    assert rng.spawn_seeds(5, 3) == s[:3]


def test_purpose_registry_matches_the_c_enum_and_kernel_constants():
    """Every purpose in hp_rng.h's enum and every `DEF P_* = n` of a kernel is registered in
    hpcabm/core/rng.py under the same name and number, and no two purposes share a number
    (two streams with one purpose number would be the same random numbers)."""
    import pathlib
    import re
    from hpcabm.core import rng as pyrng
    root = pathlib.Path(__file__).resolve().parents[2] / "cython_ext"
    registry = {k: v for k, v in vars(pyrng).items() if k.isupper() and isinstance(v, int)
                and not k.startswith("_")}
    numbers = list(registry.values())
    assert len(numbers) == len(set(numbers)), "two purposes share a number in rng.py"
    header = (root / "hp_rng.h").read_text()
    enum = dict(re.findall(r"HP_P_(\w+)\s*=\s*(\d+)", header))
    assert len(enum) >= 10
    defs = {}
    for pyx in root.glob("*.pyx"):
        defs.update(re.findall(r"^DEF P_(\w+)\s*=\s*(\d+)", pyx.read_text(), flags=re.M))
    for name, num in list(enum.items()) + list(defs.items()):
        assert registry.get(name) == int(num), f"purpose {name} = {num} is not in hpcabm/core/rng.py"
