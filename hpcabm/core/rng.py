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
# MASs Macro goods markets (seed 000): 10..29
MM_SECTOR = 10     # sector of a firm (entity = firm id)
MM_DFAIL = 11      # durable failure (entity = agent, step = month)
MM_PRICE = 12      # price review and step (entity = firm id, step = month)
MM_LAYOFF = 13     # layoff draw (entity = agent, step = month)
MM_CAND = 14       # candidate draws proportional to employees (entity = requester, step = month)
MM_SWITCH = 15     # seller-switching draws (entity = agent or firm, step = month)
MM_LOTTERY = 16    # durable lottery order and closed-firm acceptance (entity = agent, step = month)
MM_ESTATE = 17     # heir of a dying firm's cash (entity = firm id, step = month)
MM_STARTUP = 18    # random sector of a start-up (entity = agent, step = month)
# exchange economies (seed 003): 100..
EX_PERM = 100
EX_PAIR = 101
EX_METER_PERM = 102
EX_METER_PAIR = 103
EX_METER_PICK = 104
EX_METER_EX = 105
EX_GRID = 106
EX_INIT = 107
EX_CHAIN = 108      # test chains of the exchange kernel (small_chains; entity = chain)
# K+S model (hpcabm/models/ks; purposes >= 200)
KS_INNOV = 200      # capital-good firm innovation: success draw + Beta(3,3) draws for A and B
KS_IMIT = 201       # imitation: success draw + target draw
KS_BROCH = 202      # new-client brochures of capital-good firms
KS_SUPPLIER = 203   # consumption-good firm drawing a supplier when it has no brochure
KS_ENTRY = 204      # entrants' capital, liquid assets, technology and supplier
KS_BANK = 205       # Mark III: bank of each firm (Pareto client counts)
# daily Keynesian economy (hpcabm/models/keynes_daily; purposes >= 300)
KD_GOODS = 300      # goods market: household order (entity 0) and firm samples (entity = household + 1)
KD_LABOUR = 301     # labour market: searcher order (entity 0), vacancy samples and acceptance (household + 1)
KD_FIRE = 302       # which workers a firm fires (entity = household, step = day)
KD_INNOV = 303      # R&D success and productivity draw (entity = firm slot, step = day)
KD_ENTRY = 304      # number of entrants (entity 0) and their draws (entity = new firm slot)
KD_INIT = 305       # initial wealth, firm sizes, productivity, banks (entity = household or firm)
KD_NPL = 306        # banking crisis: which loans are non-performing (entity = firm slot)
KD_APPLY = 307      # partitioned keynes_daily: priority of a job application at the firm (entity = household)

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
