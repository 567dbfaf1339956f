"""NumPy twins of the rules in cython_ext/hp_exchange.h: the readable specification, used by the
tests to check the kernels (utilities, pairing permutation) and to give the densities that each
sampler must reproduce."""
import numpy as np

from hpcabm.core import rng

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(z):
    return int(rng.mix64(np.uint64(z & _MASK64)))


def half_bits(n):
    b = 1
    while (1 << (2 * b)) < n:
        b += 1
    return b


def feistel(key, h, x, inverse=False):
    mask = (1 << h) - 1
    L, R = x >> h, x & mask
    rounds = range(4) if not inverse else range(3, -1, -1)
    for r in rounds:
        f = lambda v: _mix(key ^ (((r + 1) * _GOLDEN) & _MASK64) ^ v) & mask
        if not inverse:
            L, R = R, L ^ f(R)
        else:
            L, R = R ^ f(L), L
    return (L << h) | R


def perm(key, n, x, inverse=False):
    """Pseudo-random permutation of [0, n): Feistel network + cycle walking."""
    h = half_bits(n)
    x = feistel(key, h, x, inverse)
    while x >= n:
        x = feistel(key, h, x, inverse)
    return x


def class_size(N, q, c):
    n = (N - 1 - c) // q + 1 if c < N else 0
    if q >= 2 and c == 0 and (N - 1) % q == 0 and N > 1:
        n -= 1
    return n


def matching(key, N, q, c):
    """Pairs of sub-step class c (modulus q): positions (0,1), (2,3), ... of the permuted class."""
    n = class_size(N, q, c)
    order = [c + q * perm(key, n, p) for p in range(n)]
    return [tuple(sorted(order[p: p + 2])) for p in range(0, n - 1, 2)]


# ---- utilities (log of the goods factor; money enters as m^(eta-1) except for price kinds) ------
def plog(e, x):
    return 0.0 if e == 0 else e * np.log(x)


def log_u26(a, b, x):
    return np.log(b + (a - b) / (1 + np.exp(-2 * x)))


def lgoods(kind, eta, a1, a2, p0, p1, g1, g2, gn, ngoods):
    if kind == 0:
        return plog(a1 - 1, g1) + (plog(a2 - 1, g2) if ngoods == 2 else 0.0)
    if kind == 1:
        return plog(a1 - 1, g1 + g2)
    if kind == 2:
        return plog(a1 - 1, min(g1, g2))
    if kind == 3:
        if g1 <= p0:
            return -np.inf
        return -g1 * g1 / (p1 * (g1 - p0)) + (plog(a2 - 1, g2) if ngoods == 2 else 0.0)
    if kind == 6:
        return plog(a1 - 1, g1) + (g1 - gn)
    if kind == 7:
        return plog(a1 - 1, g1) + log_u26(p0, p1, g1 - gn)
    raise ValueError(kind)


def satiable_u1(g, c=0.3, k=0.6):
    """U1 of eq. 18 (0 for g <= c)."""
    g = np.asarray(g, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(g > c, np.exp(-g * g / (k * (g - c))), 0.0)
