"""Counter-based random streams keyed by (seed, purpose, entity id, step, draw).

NumPy twin of cython_ext/hp_rng.h (tests check they agree bit for bit). A random number is a pure
function of its key, so it does not depend on which rank computes it, in what order, or whether the
run was restarted: checkpoints need no generator state."""
import numpy as np

# Purposes: keep in sync with the enum in cython_ext/hp_rng.h.
THETA = 1
FRIENDS = 2
ACTIVATE = 3
TECH = 4

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_K1 = np.uint64(0x632BE59BD9B4E019)
_K2 = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(z):
    """SplitMix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def key(seed, purpose, entity, step):
    with np.errstate(over="ignore"):
        h = mix64(np.uint64(seed) ^ (np.uint64(purpose) * _GOLDEN + _K1))
        h = mix64(h ^ (np.asarray(entity).astype(np.uint64) + _GOLDEN))
        return mix64(h ^ (np.uint64(step) * _K2 + _K1))


def draw(k, j):
    with np.errstate(over="ignore"):
        return mix64(k ^ mix64((np.uint64(j) + np.uint64(1)) * _GOLDEN))


def uniform(seed, purpose, entity, step, j=0):
    """u01 in [0, 1) for each entity: the NumPy twin of hpcabm.kernels.core.uniform."""
    bits = draw(key(seed, purpose, entity, step), j)
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def spawn_seeds(seed, n):
    """n member seeds derived from a base seed (for ensembles); stable and collision-free in practice."""
    k = key(seed, 0xE45E, np.arange(n, dtype=np.int64), 0)
    return [int(x) & ((1 << 63) - 1) for x in k]
