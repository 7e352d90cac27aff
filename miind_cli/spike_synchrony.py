"""Spike-time synchrony measures of a population's spike trains (no I/O).

- The spike time tiling coefficient, STTC (Cutts & Eglen 2014, J. Neurosci. 34:14288),
  of every pair of neurons, averaged over the pairs:
  STTC = 1/2 [(P_A - T_B) / (1 - P_A T_B) + (P_B - T_A) / (1 - P_B T_A)],
  P_A the fraction of A's spikes within +-dt of one of B's, T_B the fraction of the
  window within +-dt of one of B's spikes. 1 for identical trains, about 0 for
  independent ones whatever their rates, -1 when every spike of each misses the
  other's tiles although they tile the whole window; a pair with an empty train has
  none. Rules as the authors' C code (and elephant's port of it): |t_a - t_b| <= dt
  counts, tiles are cut at the window's edges, and a 0/0 term (P_A = T_B = 1) is 1.
- Phase locking: each neuron's events (burst onsets, or every spike) give it a phase
  rising linearly by 2 pi from one event to the next (Pikovsky, Rosenblum & Kurths
  2001, "Synchronization", ch. 6); the Kuramoto order parameter
  R(t) = |mean_j exp(i phi_j(t))| over the neurons with two events or more, averaged
  over the times at which all of them have a phase. 1 for neurons firing in step
  (whatever their common rhythm), |cos(pi L/P)| for two groups of period P lagged by
  L, and sqrt(pi / (4 n)) (the mean of a Rayleigh variable) for n independent
  neurons. Its m-th harmonic R_m(t) = |mean_j exp(i m phi_j(t))| (Daido 1992, Prog.
  Theor. Phys. 88:1213; Okuda 1993, Physica D 63:424) tells clusters apart: m equal
  groups a cycle/m apart give R_m = 1 and R_1 ... R_m-1 = 0.

Spike trains are `Trains`, one sorted array of times per neuron laid end to end; the
kernels take its arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

# STTC costs (pairs) x (spikes per train): all pairs of 1,000 neurons firing 10 Hz for
# 10 s (5e5 pairs, 2e8 spike comparisons) took 1.6 s here (2026-12-05, 2-core machine,
# warm numba cache; elephant 1.2.1, a pair at a time, 0.9 ms a pair: 7.7 min). Larger
# populations are sampled down to this many firing neurons, so the cost stays there;
# the mean over 5e5 pairs is still far more precise than any difference that matters.
MAX_STTC_NEURONS = 1000
# The sample's seed: the same file gives the same STTC.
STTC_SAMPLE_SEED = 20261205
# R of one neuron is 1 by definition: fewer neurons with a phase have no measure.
MIN_PHASE_NEURONS = 2
# R(t) is sampled this often [s] for its time average: finer than its changes where
# events are a few ms apart or more (refractoriness, burst onsets), and for faster
# ones (spikes inside a burst) still an unbiased sample of the average, as the samples
# do not follow the events. 10 s of 1,000 neurons then take about 0.3 s.
PHASE_SAMPLE_INTERVAL = 1e-3


class Trains(NamedTuple):
    """Spike trains of n neurons in the window [t_start, t_stop]: neuron k's sorted
    spike times are times[offsets[k]:offsets[k + 1]] [s]."""

    times: np.ndarray  # float64
    offsets: np.ndarray  # int64, (n + 1,)
    t_start: float
    t_stop: float

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def trains_from_events(times, ids, n_neurons: int, t_start: float, t_stop: float) -> Trains:
    """Trains from spike events (time, neuron id) in any order, as the output file's
    /spikes/<population> holds them; events outside [t_start, t_stop] are left out."""
    if not t_stop > t_start:  # the tiled fractions divide by the window's length
        raise ValueError(f"the window must end after it starts, got {t_start:g} to {t_stop:g}")
    times = np.asarray(times, dtype=float)
    ids = np.asarray(ids, dtype=np.int64)
    inside = (times >= t_start) & (times <= t_stop)
    times, ids = times[inside], ids[inside]
    order = np.lexsort((times, ids))
    offsets = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(ids, minlength=n_neurons), out=offsets[1:])
    return Trains(np.ascontiguousarray(times[order]), offsets, float(t_start), float(t_stop))


def trains_from_lists(trains, t_start: float, t_stop: float) -> Trains:
    """Trains from one array of spike times per neuron."""
    trains = [np.asarray(t, dtype=float) for t in trains]
    ids = np.repeat(np.arange(len(trains)), [len(t) for t in trains])
    times = np.concatenate(trains) if trains else np.zeros(0)
    return trains_from_events(times, ids, len(trains), t_start, t_stop)


def _check_positive(value: float, what: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a positive number of seconds, got {value:g}")


# --- STTC ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Sttc:
    """The mean STTC over `pairs` pairs of the `neurons` neurons used (NaN: no pair
    of two firing neurons)."""

    mean: float
    pairs: int
    neurons: int


def spike_time_tiling(trains: Trains, dt: float,
                      max_neurons: int = MAX_STTC_NEURONS) -> Sttc:
    """The STTC of every pair of firing neurons with coincidence window +-dt [s],
    averaged; over a seeded sample of max_neurons firing neurons if there are more."""
    _check_positive(dt, "the STTC's dt")
    firing = np.flatnonzero(trains.counts() > 0)
    if firing.size > max_neurons:
        sample = np.random.default_rng(STTC_SAMPLE_SEED).choice(firing, max_neurons,
                                                                replace=False)
        firing = np.sort(sample)
    total, pairs = _sttc_pair_sum(trains.times, trains.offsets, firing.astype(np.int64),
                                  dt, trains.t_start, trains.t_stop)
    return Sttc(total / pairs if pairs else math.nan, int(pairs), int(firing.size))


@njit(cache=True)
def _tiled_fraction(spikes, dt, t_start, t_stop):
    """Fraction of [t_start, t_stop] within +-dt of a spike (T_A): each spike's tile,
    cut where it meets the next one's or the window's edge."""
    covered = min(spikes[0] - t_start, dt) + min(t_stop - spikes[-1], dt)
    for k in range(1, len(spikes)):
        covered += min(spikes[k] - spikes[k - 1], 2.0 * dt)
    return covered / (t_stop - t_start)


@njit(cache=True)
def _near_fraction(a, b, dt):
    """Fraction of the spikes of a within +-dt of a spike of b (P_A); both sorted, so
    one pass: j is b's first spike not before a[i] - dt."""
    j, near = 0, 0
    for i in range(len(a)):
        while j < len(b) and b[j] < a[i] - dt:
            j += 1
        if j < len(b) and b[j] <= a[i] + dt:
            near += 1
    return near / len(a)


@njit(cache=True)
def _sttc_term(p, t):
    # P = T = 1 (every spike in the other's tiles, which cover the whole window) is
    # 0/0; its limit along P = 1 is 1, as the reference code has it.
    if p * t == 1.0:
        return 1.0
    return (p - t) / (1.0 - p * t)


@njit(cache=True)
def _sttc_pair_sum(times, offsets, neurons, dt, t_start, t_stop):
    """(sum of the STTC over all pairs of `neurons`, which must fire; the pairs)."""
    n = len(neurons)
    tiled = np.empty(n)
    for k in range(n):
        i = neurons[k]
        tiled[k] = _tiled_fraction(times[offsets[i]:offsets[i + 1]], dt, t_start, t_stop)
    total = 0.0
    for k in range(n):
        a = times[offsets[neurons[k]]:offsets[neurons[k] + 1]]
        for m in range(k + 1, n):
            b = times[offsets[neurons[m]]:offsets[neurons[m] + 1]]
            total += 0.5 * (_sttc_term(_near_fraction(a, b, dt), tiled[m]) +
                            _sttc_term(_near_fraction(b, a, dt), tiled[k]))
    return total, n * (n - 1) // 2


# --- phase locking ------------------------------------------------------------------

@dataclass(frozen=True)
class PhaseLocking:
    """The time average of R(t) over `window`, the part of the window asked for in
    which every one of the `neurons` neurons with two events or more has a phase (NaN
    and window None: there is no such time); `independent`: sqrt(pi / (4 neurons)),
    what independent neurons would give."""

    mean: float
    neurons: int
    independent: float
    window: tuple[float, float] | None


def event_onsets(trains: Trains, burst_isi: float | None) -> Trains:
    """The events of each train: with burst_isi None every spike; otherwise burst
    onsets, the spikes more than burst_isi [s] after the previous spike of their
    neuron (and each neuron's first spike), so a burst is a run of spikes with
    intervals <= burst_isi and a lone spike is a burst of one."""
    if burst_isi is None:
        return trains
    _check_positive(burst_isi, "the burst interval")
    times, offsets = trains.times, trains.offsets
    onset = np.ones(times.size, dtype=bool)
    onset[1:] = np.diff(times) > burst_isi
    onset[offsets[:-1][trains.counts() > 0]] = True  # each neuron's first spike
    kept = np.concatenate([[0], np.cumsum(onset)])
    return Trains(times[onset], kept[offsets], trains.t_start, trains.t_stop)


def phase_locking(events: Trains, window: tuple[float, float] | None = None,
                  sample_interval: float = PHASE_SAMPLE_INTERVAL,
                  harmonic: int = 1) -> PhaseLocking:
    """R(t) averaged over samples at most `sample_interval` [s] apart in `window`
    (default: the events' window) from the last neuron's first event to the first
    neuron's last event, among the neurons with two events or more (the others have no
    phase and are left out). Events outside the window still set the phases inside it.

    Only times at which every such neuron has a phase are used: before a neuron's
    first event, or after its last, the neurons that have a phase are those that have
    just fired (or are about to), a selection that alone would make independent
    neurons look locked (measured: R 1.45 x sqrt(pi / 4n) over 10 s of 1,000 Poisson
    neurons at 10 Hz). `harmonic` m > 1 gives R_m, whose independent value is the same.
    """
    _check_positive(sample_interval, "the phase sample interval")
    if isinstance(harmonic, bool) or not isinstance(harmonic, int) or harmonic < 1:
        raise ValueError(f"the harmonic of the phase must be a whole number >= 1, got "
                          f"{harmonic!r}")
    window = window or (events.t_start, events.t_stop)
    neurons = np.flatnonzero(events.counts() >= 2)
    if neurons.size < MIN_PHASE_NEURONS:
        return PhaseLocking(math.nan, int(neurons.size), math.nan, None)
    independent = math.sqrt(math.pi / (4 * neurons.size))
    start = max(float(events.times[events.offsets[neurons]].max()), window[0])
    end = min(float(events.times[events.offsets[neurons + 1] - 1].min()), window[1])
    if not end > start:
        return PhaseLocking(math.nan, int(neurons.size), independent, None)
    samples = max(1, math.ceil((end - start) / sample_interval))
    times = start + (np.arange(samples) + 0.5) * ((end - start) / samples)
    order = _order_parameter(events.times, events.offsets, neurons.astype(np.int64), times,
                             harmonic)
    return PhaseLocking(float(order.mean()), int(neurons.size), independent, (start, end))


@njit(cache=True)
def _order_parameter(events, offsets, neurons, sample_times, harmonic):
    """R_harmonic at each of the ascending sample times, all inside [first event, last event) of
    every one of `neurons`. Neuron j's phase at t in [e_k, e_k+1) is
    2 pi (t - e_k) / (e_k+1 - e_k); one pass over time: current[j] is j's last event
    <= t."""
    current = offsets[neurons].copy()
    order = np.empty(len(sample_times))
    for s in range(len(sample_times)):
        t = sample_times[s]
        re, im = 0.0, 0.0
        for m in range(len(neurons)):
            while events[current[m] + 1] <= t:
                current[m] += 1
            k = current[m]
            phase = 2.0 * np.pi * harmonic * (t - events[k]) / (events[k + 1] - events[k])
            re += np.cos(phase)
            im += np.sin(phase)
        order[s] = math.sqrt(re * re + im * im) / len(neurons)
    return order
