"""A counter-free random generator for kernels: xoshiro256++ on a uint64[4] state.

Each direct population owns its own state array, seeded from numpy's SeedSequence,
so populations get independent, reproducible streams whatever else the run does
(numba's own np.random has one hidden state per thread).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0


def seeded_state(seed: int, stream: int) -> np.ndarray:
    """The generator state of stream `stream` under root seed `seed`."""
    words = np.random.SeedSequence(seed, spawn_key=(stream,)).generate_state(4, dtype=np.uint64)
    if not words.any():  # the one state xoshiro cannot leave
        words[0] = 1
    return words


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(cache=True)
def next_uint64(state):
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    result = _rotl(s0 + s3, 23) + s0
    t = s1 << uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return result


@njit(cache=True)
def next_uniform(state):
    """Uniform on (0, 1): never exactly 0, so -log(u) is finite."""
    return ((next_uint64(state) >> uint64(11)) + 0.5) * _TWO_POW_MINUS_53


@njit(cache=True)
def next_exponential(state):
    """Exponential with mean 1."""
    return -np.log(next_uniform(state))
