"""miind_cli.spike_synchrony (STTC, burst onsets, phase locking) on spike trains with
known answers, and the STTC against elephant's port of the authors' code."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from miind_cli import spike_synchrony as ss

SEED = 20261205
# Sums of a few hundred float terms: exact answers to rounding.
EXACT = 1e-12
# A periodic train: 10 Hz for 10 s, the first spike 50 ms in, so no tile reaches the
# window's edges.
PERIOD = 0.1
DURATION = 10.0
PERIODIC = 0.05 + PERIOD * np.arange(100)
DT = 0.005


def rng():
    return np.random.default_rng(SEED)


def poisson_trains(generator, n: int, rate: float, duration: float) -> list[np.ndarray]:
    return [np.sort(generator.uniform(0.0, duration, generator.poisson(rate * duration)))
            for _ in range(n)]


def sttc_of(trains, dt=DT, t_start=0.0, t_stop=DURATION, **options) -> ss.Sttc:
    return ss.spike_time_tiling(ss.trains_from_lists(trains, t_start, t_stop), dt, **options)


# --- spike trains -------------------------------------------------------------------

def test_trains_from_events_sorts_by_neuron_and_cuts_the_window():
    trains = ss.trains_from_events([0.3, 0.1, 0.2, 0.9, 0.15], [1, 0, 1, 0, 1], 3, 0.1, 0.5)
    assert trains.offsets.tolist() == [0, 1, 4, 4]
    assert trains.times.tolist() == [0.1, 0.15, 0.2, 0.3]
    assert trains.counts().tolist() == [1, 3, 0]
    with pytest.raises(ValueError, match="end after it starts"):
        ss.trains_from_events([0.3], [0], 1, 0.5, 0.5)


# --- STTC ---------------------------------------------------------------------------

def test_identical_trains_give_one():
    train = poisson_trains(rng(), 1, 10.0, DURATION)[0]
    result = sttc_of([train] * 20)
    assert result.mean == pytest.approx(1.0, abs=EXACT)
    assert (result.pairs, result.neurons) == (190, 20)


def test_independent_poisson_trains_give_zero():
    """100 trains of 10 Hz over 10 s, dt = 5 ms: a pair's STTC has a standard deviation
    of about sqrt(T (1 - T) / n) = 0.03 (T = 2 dt rate = 0.1 tiled, n = 100 spikes).
    Given one train the other's terms average to 0, so the 4950 pairs' mean has a
    standard error of 0.03 sqrt(2 / (N (N - 1))) = 0.0004 (measured over 8 seeds:
    0.0003); 0.002 is five of those."""
    result = sttc_of(poisson_trains(rng(), 100, 10.0, DURATION))
    assert abs(result.mean) < 0.002
    assert result.pairs == 4950


@pytest.mark.parametrize("lag, expected", [
    (0.002, 1.0),  # every spike within dt of its partner
    # No spike within dt of the other's: both terms are -T, T = 2 dt x 10 Hz.
    (0.02, -2 * DT / PERIOD),
])
def test_lagged_periodic_trains(lag, expected):
    assert sttc_of([PERIODIC, PERIODIC + lag]).mean == pytest.approx(expected, abs=EXACT)


def test_half_of_the_spikes_shared():
    """B fires with every other spike of A: P_B = 1 (term 1); P_A = 1/2 against
    T_B = 50 x 2 dt / 10 s = 0.05, term (0.5 - 0.05) / (1 - 0.025)."""
    expected = 0.5 * (1.0 + 0.45 / 0.975)
    assert sttc_of([PERIODIC, PERIODIC[::2]]).mean == pytest.approx(expected, abs=EXACT)


def test_tiles_are_cut_at_the_window_edges():
    """A spike at the window's start tiles dt, not 2 dt: T_A = 0.1, T_B = 0.2 in [0, 1]
    with dt = 0.1, and no coincidence: STTC = -(0.1 + 0.2) / 2."""
    result = sttc_of([np.array([0.0]), np.array([0.5])], dt=0.1, t_stop=1.0)
    assert result.mean == pytest.approx(-0.15, abs=EXACT)


def test_empty_and_single_spike_trains():
    empty = np.zeros(0)
    result = sttc_of([PERIODIC, empty])
    assert math.isnan(result.mean) and (result.pairs, result.neurons) == (0, 1)
    assert math.isnan(sttc_of([empty, empty]).mean)
    assert math.isnan(sttc_of([]).mean)
    # One spike each, together: 1; a silent neuron leaves the others' pairs alone.
    assert sttc_of([np.array([1.0]), np.array([1.001]), empty]).mean == pytest.approx(1.0)


def test_large_populations_are_sampled_reproducibly():
    trains = poisson_trains(rng(), 30, 10.0, DURATION)
    first = sttc_of(trains, max_neurons=10)
    assert (first.pairs, first.neurons) == (45, 10)
    assert sttc_of(trains, max_neurons=10) == first


@pytest.mark.parametrize("dt", [0.0, -1e-3, math.nan])
def test_bad_dt(dt):
    with pytest.raises(ValueError, match="positive number of seconds"):
        sttc_of([PERIODIC, PERIODIC], dt=dt)


def test_sttc_equals_elephants_pair_by_pair():
    """elephant.spike_train_correlation.spike_time_tiling_coefficient (its port of
    Cutts's C code) on every pair of 12 random trains. Spike times are whole
    milliseconds and dt = 2.5 ms, so no interval lies near dt: elephant 1.2 compares
    with np.isclose, whose relative tolerance widens its window by 1e-5 of the spike
    time (0.1 ms at 10 s; NeuralEnsemble/elephant pull request 706, open)."""
    elephant = pytest.importorskip("elephant.spike_train_correlation")
    neo = pytest.importorskip("neo")
    quantities = pytest.importorskip("quantities")
    generator = rng()
    trains = [np.unique(generator.integers(0, 2000, generator.integers(1, 60))) / 1000.0
              for _ in range(12)]
    t_stop, dt = 2.0, 0.0025
    for a, b in itertools.combinations(trains, 2):
        reference = elephant.spike_time_tiling_coefficient(
            neo.SpikeTrain(a, units="s", t_stop=t_stop),
            neo.SpikeTrain(b, units="s", t_stop=t_stop), dt=dt * quantities.s)
        assert sttc_of([a, b], dt=dt, t_stop=t_stop).mean == pytest.approx(reference,
                                                                           abs=EXACT)


# --- burst onsets -------------------------------------------------------------------

def test_burst_onsets():
    trains = ss.trains_from_lists([[0.0, 0.003, 0.006, 0.1, 0.2, 0.204], [], [0.5]], 0.0, 1.0)
    onsets = ss.event_onsets(trains, 0.01)
    assert onsets.times.tolist() == [0.0, 0.1, 0.2, 0.5]
    assert onsets.offsets.tolist() == [0, 3, 3, 4]
    assert ss.event_onsets(trains, None) is trains
    with pytest.raises(ValueError, match="positive"):
        ss.event_onsets(trains, 0.0)


# --- phase locking ------------------------------------------------------------------

def locking_of(trains, burst_isi=None, t_stop=DURATION, **options) -> ss.PhaseLocking:
    events = ss.event_onsets(ss.trains_from_lists(trains, 0.0, t_stop), burst_isi)
    return ss.phase_locking(events, **options)


def test_identical_trains_are_locked():
    result = locking_of(poisson_trains(rng(), 1, 10.0, DURATION) * 50)
    assert result.mean == pytest.approx(1.0, abs=EXACT)
    assert result.neurons == 50
    assert result.independent == pytest.approx(math.sqrt(math.pi / 200))


@pytest.mark.parametrize("lag", [0.0, 0.025, 0.05, 0.07])
def test_two_groups_with_a_known_lag(lag):
    """Two groups of 5 neurons of period P, lagged by L: their phases differ by
    2 pi L / P at all times, so R = |cos(pi L / P)|."""
    trains = [PERIODIC] * 5 + [PERIODIC + lag] * 5
    result = locking_of(trains)
    assert result.mean == pytest.approx(abs(math.cos(math.pi * lag / PERIOD)), abs=1e-9)
    # From the lagged group's first spike to the last spike both groups fire in 10 s.
    last = min(PERIODIC[-1], (PERIODIC + lag)[PERIODIC + lag <= DURATION][-1])
    assert result.window == pytest.approx((0.05 + lag, last), abs=EXACT)


def test_splay_state_gives_zero():
    """8 neurons lagged by P/8 each: the phases are evenly spread, R = 0."""
    trains = [PERIODIC + k * PERIOD / 8 for k in range(8)]
    assert locking_of(trains).mean == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("clusters", [2, 3, 4])
def test_harmonics_tell_clusters_apart(clusters):
    """m equal groups a period/m apart: the phases are the m-th roots of unity, so
    R_k = 0 for k < m and R_m = 1 (the m-cluster state of pulse-coupled oscillators)."""
    trains = [PERIODIC + (k % clusters) * PERIOD / clusters for k in range(4 * clusters)]
    for harmonic in range(1, clusters):
        assert locking_of(trains, harmonic=harmonic).mean == pytest.approx(0.0, abs=1e-9)
    assert locking_of(trains, harmonic=clusters).mean == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="harmonic"):
        locking_of(trains, harmonic=0)


def test_independent_poisson_trains_give_the_rayleigh_mean():
    """400 independent Poisson neurons at 10 Hz over 20 s: each phase is uniform, so R(t)
    is Rayleigh distributed with mean sqrt(pi / 4N) and relative standard deviation
    sqrt(4 / pi - 1) = 0.52; R decorrelates within about a mean interval (0.1 s), so
    the time average over ~185 such intervals has a relative standard error of
    0.52 / sqrt(185) = 4% (measured over 8 seeds: 1.5%); 12% is three of those. Only
    times at which every neuron has a phase count: the edges, where only neurons that
    just fired have one, would add ~45% (see phase_locking)."""
    result = locking_of(poisson_trains(rng(), 400, 10.0, 20.0), t_stop=20.0)
    assert result.neurons == 400
    assert result.mean == pytest.approx(math.sqrt(math.pi / (4 * 400)), rel=0.12)


def test_bursts_lock_by_their_onsets():
    """Bursting neurons: 3 spikes 4 ms apart every 100 ms in one group, 2 spikes 5 ms
    apart lagged by 25 ms in the other. Burst onsets (intervals > 10 ms between bursts)
    give the lag's |cos(pi L / P)|."""
    first = np.sort(np.concatenate([PERIODIC + d for d in (0.0, 0.004, 0.008)]))
    second = np.sort(np.concatenate([PERIODIC + 0.025 + d for d in (0.0, 0.005)]))
    trains = [first] * 4 + [second] * 4
    assert locking_of(trains, burst_isi=0.01).mean == pytest.approx(math.cos(math.pi / 4),
                                                                     abs=1e-9)
    # Same onsets, different spikes within the bursts: locked by their onsets; with
    # every spike an event the phases differ inside the bursts (measured 0.979).
    same_onsets = [first, second - 0.025]
    assert locking_of(same_onsets, burst_isi=0.01).mean == pytest.approx(1.0, abs=EXACT)
    assert locking_of(same_onsets).mean < 0.99


def test_events_outside_the_window_set_the_phases_inside():
    trains = [PERIODIC] * 3 + [PERIODIC + 0.025] * 3
    result = locking_of(trains, window=(4.0, 5.0))
    assert result.window == (4.0, 5.0)
    assert result.mean == pytest.approx(math.cos(math.pi / 4), abs=1e-9)


def test_without_phases_the_measure_is_nan():
    # No neuron with two events.
    single = locking_of([np.array([1.0]), np.array([2.0]), np.zeros(0)])
    assert math.isnan(single.mean) and single.neurons == 0 and single.window is None
    # One neuron with a phase: R would be 1 by definition.
    assert math.isnan(locking_of([PERIODIC, np.array([1.0])]).mean)
    # Two neurons whose phases never overlap in time.
    apart = locking_of([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    assert math.isnan(apart.mean) and apart.neurons == 2 and apart.window is None
    assert apart.independent == pytest.approx(math.sqrt(math.pi / 8))
