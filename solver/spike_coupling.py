"""Spike coupling between direct populations: a [[connection]] whose source and target
are both direct delivers each source spike to its targets after `delay`, as a jump of
`efficacy` in the target's `dimension`.

* Synapses: drawn by target with NEST's rules (solver.connectivity), then grouped by
  source once (spike delivery walks a source's targets), keeping that one int32 copy;
  efficacies and delays are one number for the connection, or one float64 per synapse
  when the file gives a distribution (solver.distributions).
* Windows: the engine advances every population by chunks no longer than the
  shortest spike delay (`window_steps`; nor LONGEST_WINDOW), each population through
  the whole chunk one neuron at a time. A spike emitted in a chunk therefore arrives in a later one, so
  before a target advances a chunk every arrival in it is known.
* Delivery: each source keeps its recent spikes sorted by time (`Outbox`); before a
  chunk a target gathers the arrivals in it (`window_arrivals`), grouped by neuron and
  projection and sorted by time within each, and its kernel takes them as events at
  their exact times beside its Poisson events.

Chunk boundaries are the kernel's own step ends, (step - 1) * dt + dt (`boundary`), so
an arrival lands in exactly one chunk and within it before the last step's end.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from meshgen.errors import ConfigError

from .connectivity import draw_connectivity
from .kernels_spikes import gather_arrivals, group_by_source, sort_segments, take_until

# The longest chunk, whatever the delays: a chunk's arrivals are held in memory at 8
# bytes each (16 with efficacies per synapse), and an all-to-all projection of 12,500
# neurons at 38 Hz delivers 12 M of them (95-190 MB) in 2 ms. Brunel's 1.5 ms delay
# sets shorter chunks anyway.
LONGEST_WINDOW = 2e-3  # s

# Relative slack of the comparison of a delay with the step: a delay written as the
# step (1e-4 against a dt of 1e-4 computed as t_end / n) is one step, not an error.
STEP_SLACK = 1e-9


class SpikeProjection(NamedTuple):
    """The synapses of one spike-coupled connection, by source: source j reaches
    targets[indptr[j]:indptr[j + 1]] with the efficacies and delays at the same places
    (arrays of one value when the connection has one)."""

    indptr: np.ndarray  # (n_source + 1,) int64
    targets: np.ndarray  # (n_synapses,) int32
    efficacy: np.ndarray  # (1,) or (n_synapses,) float64
    delay: np.ndarray  # (1,) or (n_synapses,) s, float64
    dimension: int  # index of the target model's variable the jumps move

    @property
    def min_delay(self) -> float:
        return float(self.delay.min()) if self.delay.size else np.inf

    @property
    def max_delay(self) -> float:
        return float(self.delay.max()) if self.delay.size else 0.0


class Arrivals(NamedTuple):
    """One chunk's arrivals at a target population: projection p's arrivals at neuron
    i are time[indptr[p, i]:indptr[p, i + 1]] (sorted), jumps in variable dimension[p]
    of efficacy[p], or of value[...] at the same places where per_synapse[p]."""

    indptr: np.ndarray  # (projections, n_neurons + 1) int64
    time: np.ndarray  # float64 s (a reused buffer: only the places indptr names count)
    value: np.ndarray  # float64, the target variable's unit (as `time`)
    efficacy: np.ndarray  # (projections,) float64
    per_synapse: np.ndarray  # (projections,) bool
    dimension: np.ndarray  # (projections,) int64


def no_arrivals(n_neurons: int) -> Arrivals:
    return Arrivals(np.zeros((0, n_neurons + 1), dtype=np.int64), np.zeros(0), np.zeros(0),
                    np.zeros(0), np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int64))


class ArrivalBuffers:
    """The arrays of a population's arrivals, reused from chunk to chunk: fresh ones
    would pay their page faults every chunk (3.6 ms of the 9 ms that gathering the
    570,000 arrivals of a Brunel chunk took, measured 2026-12-05)."""

    def __init__(self):
        self.time = np.zeros(0)
        self.value = np.zeros(0)

    def reserve(self, n: int, with_value: bool) -> tuple[np.ndarray, np.ndarray]:
        # A quarter more than asked: rates fluctuate from chunk to chunk.
        if len(self.time) < n:
            self.time = np.empty(n + n // 4)
        if with_value and len(self.value) < n:
            self.value = np.empty(n + n // 4)
        return self.time, self.value


def boundary(step: int, dt: float) -> float:
    """The time at which step `step` starts as the kernel ends the step before it."""
    return (step - 1) * dt + dt if step > 0 else 0.0


def window_steps(min_delay: float, dt: float) -> int:
    """Steps per chunk so that no spike arrives in the chunk that emitted it."""
    return max(1, int(np.floor(min(min_delay, LONGEST_WINDOW) / dt * (1 + STEP_SLACK))))


def build_projection(connection, n_source: int, n_target: int, dimension: int, dt: float,
                     path: str) -> SpikeProjection:
    """Draw the synapses of spike-coupled `connection` (solver.sim_file.ConnectionSpec)
    and their efficacies and delays; ConfigError naming the key if they cannot be."""
    key = f"connection.{connection.index}"
    delay = connection.delay_distribution
    if delay.is_constant:
        _check_delays(delay.mean, str(delay), dt, path, key)
    rule = connection.connectivity
    by_indegree = rule == "fixed_indegree"
    drawn = draw_connectivity(
        rule, n_source, n_target, seed=(connection.seed, connection.index),
        indegree=int(connection.n_connections) if by_indegree else None,
        probability=connection.probability, autapses=connection.autapses,
        multapses=connection.multapses, same_population=connection.source == connection.target,
        path=path, key=f"{key}.n_connections" if by_indegree else f"{key}.connectivity")
    indptr, targets = group_by_source(drawn.indptr, drawn.sources, n_source)
    del drawn  # one copy of the synapses
    n_synapses = len(targets)
    # Per-synapse values are drawn in by-source order: they are independent of the
    # synapses, so the order is only part of what a seed means.
    efficacy = _values(connection.efficacy_distribution, n_synapses, (connection.seed,
                       connection.index, 1))
    delays = _values(delay, n_synapses, (connection.seed, connection.index, 2))
    if not delay.is_constant and n_synapses:
        _check_delays(float(delays.min()), str(delay), dt, path, key)
    return SpikeProjection(indptr, targets, efficacy, delays, dimension)


def _values(distribution, n: int, entropy) -> np.ndarray:
    if distribution.is_constant:
        return np.array([distribution.mean])
    return distribution.sample(np.random.default_rng(np.random.SeedSequence(entropy)), n)


def _check_delays(smallest: float, given: str, dt: float, path: str, key: str) -> None:
    if smallest < dt * (1 - STEP_SLACK):
        drawn = "" if given == repr(smallest) else f" ({given} draws {smallest:.6g} s)"
        raise ConfigError(f"a delay of {smallest:.6g} s{drawn} is shorter than the network step "
                          f"dt = {dt:.6g} s; spikes between direct populations take at least "
                          "one step", path=path, key=f"{key}.delay")


class Outbox:
    """A population's recent spikes, sorted by time, each with the end of the chunk that
    emitted it (its arrivals' floor); kept for `keep` s, the longest delay out of it."""

    def __init__(self, keep: float):
        self.keep = keep
        self.times = np.zeros(0)
        self.ids = np.zeros(0, dtype=np.int64)
        self.floors = np.zeros(0)

    def add(self, times: np.ndarray, ids: np.ndarray, start: float, end: float) -> None:
        """Append the spikes of the chunk [start, end) and forget those whose every
        arrival is before `start` (every target has had them by then)."""
        order = np.argsort(times, kind="stable")
        keep = np.maximum(self.times + self.keep, self.floors) >= start
        self.times = np.concatenate([self.times[keep], times[order]])
        self.ids = np.concatenate([self.ids[keep], ids[order].astype(np.int64)])
        self.floors = np.concatenate([self.floors[keep], np.full(len(times), end)])


def window_arrivals(inputs: list[tuple[SpikeProjection, Outbox]], n_neurons: int,
                    start: float, end: float, buffers: ArrivalBuffers) -> Arrivals:
    """The arrivals in [start, end) at a population of n_neurons through `inputs`,
    in `buffers`."""
    n = len(inputs)
    counts = np.zeros((n, n_neurons), dtype=np.int64)
    nothing = np.zeros(0)
    for p, (projection, outbox) in enumerate(inputs):
        gather_arrivals(outbox.times, outbox.ids, outbox.floors, start, end, projection.indptr,
                        projection.targets, projection.delay, projection.efficacy, counts[p],
                        nothing, nothing, False)
    offsets = np.zeros(n * n_neurons + 1, dtype=np.int64)
    np.cumsum(counts.ravel(), out=offsets[1:])
    indptr = np.stack([offsets[p * n_neurons:(p + 1) * n_neurons + 1] for p in range(n)])
    per_synapse = np.array([len(projection.efficacy) != 1 for projection, _ in inputs],
                           dtype=np.bool_)
    time, value = buffers.reserve(int(offsets[-1]), bool(per_synapse.any()))
    for p, (projection, outbox) in enumerate(inputs):
        gather_arrivals(outbox.times, outbox.ids, outbox.floors, start, end, projection.indptr,
                        projection.targets, projection.delay, projection.efficacy,
                        indptr[p, :-1].copy(), time, value, True)
        if projection.delay.shape[0] > 1:
            sort_segments(indptr[p], time, value, per_synapse[p])
    efficacy = np.array([projection.efficacy[0] if len(projection.efficacy) == 1 else np.nan
                         for projection, _ in inputs])
    dimension = np.array([projection.dimension for projection, _ in inputs], dtype=np.int64)
    return Arrivals(indptr, time, value, efficacy, per_synapse, dimension)


class StepArrivals:
    """A chunk's arrivals handed out a step at a time, for populations that advance one
    step per kernel call (gap junctions, solver.gap_junctions): gathered once for the
    chunk, each call takes those before its end not taken yet."""

    def __init__(self, chunk: Arrivals, buffers: ArrivalBuffers):
        """`buffers`: the population's own, reused from chunk to chunk (not the chunk's)."""
        self.chunk = chunk
        self.cursor = chunk.indptr[:, :-1].copy()
        self.indptr = np.empty_like(chunk.indptr)
        self.time, self.value = buffers.reserve(len(chunk.time), bool(chunk.per_synapse.any()))

    def until(self, end: float) -> Arrivals:
        chunk = self.chunk
        take_until(chunk.indptr, chunk.time, chunk.value, chunk.per_synapse, self.cursor, end,
                   self.indptr, self.time, self.value)
        return Arrivals(self.indptr, self.time, self.value, chunk.efficacy,
                        chunk.per_synapse, chunk.dimension)
