"""Random numbers for kernels: xoshiro256++ on a uint64[4] state per neuron.

Every neuron of a direct population has its own stream, seeded by splitmix64 from a
population key (numpy's SeedSequence of the seed and the population's stream number)
and the neuron's index. So populations are independent and reproducible, and a
neuron's inputs do not depend on the network step or on how steps are chunked
(numba's own np.random has one hidden state per thread).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0


def population_key(seed: int, stream: int) -> np.uint64:
    """The key of population stream `stream` under root seed `seed`."""
    return np.random.SeedSequence(seed, spawn_key=(stream,)).generate_state(1, dtype=np.uint64)[0]


# The second word of the spawn key of initial-state draws; the kernels' streams
# (population_key) have a one-word key, so the two never share a stream.
INITIAL_STATE_KEY = 1


def initial_state_generator(seed: int, stream: int, variable: int) -> np.random.Generator:
    """The generator of a direct population's initial values of its `variable`-th
    variable: one per variable, so adding a distribution for w leaves the draw of v as it
    was, and apart from the neurons' own streams, so the input they draw does not
    depend on whether the initial state was drawn."""
    return np.random.default_rng(np.random.SeedSequence(
        seed, spawn_key=(stream, INITIAL_STATE_KEY, variable)))


@njit(cache=True)
def _splitmix64(x):
    x = x + uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return x, z ^ (z >> uint64(31))


@njit(cache=True)
def neuron_states(key, n_neurons):
    """(n_neurons, 4) generator states: neuron i's stream from splitmix64 of (key, i)."""
    states = np.empty((n_neurons, 4), dtype=np.uint64)
    for i in range(n_neurons):
        x = key ^ (uint64(i) * uint64(0xD1B54A32D192ED03))
        for k in range(4):
            x, states[i, k] = _splitmix64(x)
    return states


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


@njit(cache=True)
def exponential_table(states, rows):
    """(rows, n_neurons) exponentials, each column from that neuron's stream."""
    table = np.empty((rows, states.shape[0]))
    for g in range(rows):
        for i in range(states.shape[0]):
            table[g, i] = next_exponential(states[i])
    return table
