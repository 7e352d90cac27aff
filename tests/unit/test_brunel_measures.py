"""The measures of `make brunel` (benchmarks/brunel_states.py) against cases with known
answers: Welch's spectrum against scipy's, the spectrum peak of sinusoids and of a
Poisson population whose rate is modulated, the CV of interspike intervals of Poisson
and dead-time Poisson trains, and the window of bench_brunel.rate_figures.

The measures live with the benchmarks (spike_measures runs in NEST's venv too), which
are scripts, not a package: their directories go on the path here, as the scripts put
them there themselves."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import signal

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
for folder in (BENCHMARKS, BENCHMARKS / "nest_side"):
    if str(folder) not in sys.path:
        sys.path.append(str(folder))  # after the project's own modules, never shadowing them

import bench_brunel  # noqa: E402
import spike_measures  # noqa: E402

BIN = 1e-3  # s, the bins of make brunel's population rates
FROM_HZ = 5.0
# The peak is interpolated between bins by a parabola through the log powers, exact for
# a Gaussian lobe; a Hann window's main lobe is close to one: over 2-4 s of 1 ms bins,
# pure sinusoids at 19-333 Hz came out within 0.016 of a bin, and 20 seeds of the
# modulated Poisson population below within 0.03. The highest bin alone is up to half a
# bin away, so a tenth of a bin tells an interpolation from none and from a wrong one.
INTERPOLATED = 0.1


def test_welch_is_scipys():
    """Periodic Hann windows, half overlap, each segment's mean removed, one-sided
    density: scipy.signal.welch's defaults, for even and odd segments (the Nyquist bin
    is not doubled when there is one)."""
    rng = np.random.default_rng(3)
    x = 5.0 + rng.normal(size=3001) + np.sin(2 * np.pi * 19.3 * BIN * np.arange(3001))
    for segment in (256, 999, 1000, 1024):
        freqs, power = spike_measures.welch(x, BIN, segment)
        expected_freqs, expected = signal.welch(x, fs=1 / BIN, window="hann", nperseg=segment,
                                                noverlap=segment // 2, detrend="constant")
        np.testing.assert_array_equal(freqs, expected_freqs, err_msg=f"segment {segment}")
        np.testing.assert_allclose(power, expected, rtol=1e-10, atol=1e-12 * expected.max(),
                                   err_msg=f"segment {segment}")


@pytest.mark.parametrize("frequency, seconds, first_bin_enough", [
    (19.3, 4.0, False),   # state D's slow rhythm: 3.9 Hz bins are 20% of it
    (21.7, 4.0, False),
    (130.2, 2.0, True),   # state C's and B's fast ones: 256 bins resolve them
    (333.3, 1.0, True)])  # state A's
def test_the_peak_of_a_sinusoid(frequency, seconds, first_bin_enough):
    """A sinusoid sampled every ms: its frequency within INTERPOLATED of a bin, with a
    bin of at most 5% of it (PEAK_RELATIVE_RESOLUTION), from segments of 256 bins when
    those are fine enough and longer ones otherwise, at least MIN_SEGMENTS of them."""
    t = BIN * np.arange(int(round(seconds / BIN)))
    found = spike_measures.spectrum_peak(10.0 + 5.0 * np.sin(2 * np.pi * frequency * t), BIN,
                                         FROM_HZ)
    assert abs(found["peak"] - frequency) < INTERPOLATED * found["bin"], found["peak"]
    assert found["resolved"] and found["bin"] <= 0.05 * frequency, found["bin"]
    assert (found["segment"] == spike_measures.FIRST_SEGMENT_BINS) == first_bin_enough
    assert found["segments"] >= spike_measures.MIN_SEGMENTS
    # the interpolation does something: the highest bin alone is further off
    assert abs(found["highest_bin"] - frequency) > 2 * abs(found["peak"] - frequency)


def test_the_peak_of_a_modulated_poisson_population():
    """2,000 Poisson neurons at 6 Hz x (1 + 0.5 sin(2 pi 19.3 Hz t)), state D's rate and
    rhythm, 4 s in 1 ms bins: the counts' noise (white, 6 Hz x 2,000 neurons per ms)
    lies far below the modulation's line, so the peak is the modulation's frequency."""
    frequency, n_neurons, rate = 19.3, 2000, 6.0
    t = BIN * np.arange(4000)
    expected = rate * (1 + 0.5 * np.sin(2 * np.pi * frequency * t)) * n_neurons * BIN
    counts = np.random.default_rng(7).poisson(expected)
    found = spike_measures.spectrum_peak(counts / (n_neurons * BIN), BIN, FROM_HZ)
    assert abs(found["peak"] - frequency) < INTERPOLATED * found["bin"], found["peak"]
    assert found["resolved"]


def test_a_short_series_keeps_its_segments():
    """1 s of a 19.3 Hz sinusoid cannot hold 3 segments of 1 s: the segments stop at
    2 / (MIN_SEGMENTS + 1) of the series, and the result says it is not resolved."""
    t = BIN * np.arange(1000)
    found = spike_measures.spectrum_peak(np.sin(2 * np.pi * 19.3 * t), BIN, FROM_HZ)
    assert found["segment"] == 500 and found["segments"] == spike_measures.MIN_SEGMENTS
    assert not found["resolved"]
    assert abs(found["peak"] - 19.3) < INTERPOLATED * found["bin"]


def trains(intervals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Senders and spike times of trains whose interspike intervals are the rows."""
    times = np.cumsum(intervals, axis=1)
    return np.repeat(np.arange(len(times)), times.shape[1]), times.ravel()


# 200 trains of 1,001 spikes: the sample CV of 1,000 exponential intervals has a standard
# deviation of ~1/sqrt(1000) (the CV of an exponential's CV estimate is ~1), so the mean
# of 200 has one of 0.0022 about its expectation, which lies ~1/1000 below the CV (the
# sample CV's bias, measured: 0.98 at 100 intervals, 0.93 at 20). 0.01 is 4 sd beyond
# the bias.
N_TRAINS, N_INTERVALS, CV_TOLERANCE = 200, 1000, 0.01


@pytest.mark.parametrize("dead_time", [0.0, 0.002])
def test_cv_of_poisson_trains(dead_time):
    """Poisson trains have CV 1; with a dead time d before each exponential interval of
    mean m (LIF's refractory period at a high rate) the CV is m / (d + m)."""
    mean_exponential = 0.006
    rng = np.random.default_rng(11)
    senders, times = trains(dead_time + rng.exponential(mean_exponential,
                                                        (N_TRAINS, N_INTERVALS)))
    order = rng.permutation(len(times))  # recorders do not sort by neuron
    cv, neurons = spike_measures.mean_cv_isi(senders[order], times[order])
    assert neurons == N_TRAINS
    assert abs(cv - mean_exponential / (dead_time + mean_exponential)) < CV_TOLERANCE, cv


def test_cv_of_regular_trains_and_too_few_spikes():
    """Regular trains have CV 0; a neuron with fewer than MIN_SPIKES_FOR_CV spikes has no
    spread to measure and is left out; no such neuron at all gives None."""
    senders, times = trains(np.full((5, 20), 0.025))
    senders = np.concatenate([senders, [7, 7]])
    times = np.concatenate([times, [0.1, 0.3]])
    cv, neurons = spike_measures.mean_cv_isi(senders, times)
    assert neurons == 5 and abs(cv) < 1e-12
    assert spike_measures.mean_cv_isi([7, 7], [0.1, 0.3]) == (None, 0)


def test_rate_figures_take_the_window_and_its_rhythm(tmp_path):
    """A `miind run` output (time = ends of 0.1 ms steps) whose E rate is 100 Hz before
    t_from = 1 s and 10 (1 + 0.5 sin(2 pi 20 Hz (t - 1 s))) after, over 2 s (40 whole
    periods): the window's mean is 10 Hz to rounding (one step of 100 Hz let in would
    add 4.5e-4 relative), std / mean is 0.5 / sqrt(2), and the peak is 20 Hz."""
    dt, t_from, t_end, frequency = 1e-4, 1.0, 3.0, 20.0
    n_steps = int(round(t_end / dt))
    starts = dt * np.arange(n_steps)
    after = starts >= t_from - 1e-9
    rate_e = np.where(after, 10.0 * (1 + 0.5 * np.sin(2 * np.pi * frequency
                                                       * (starts - t_from))), 100.0)
    with h5py.File(tmp_path / "run.h5", "w") as f:
        f["time"] = starts + dt
        f["populations/e/rate"] = rate_e
        f["populations/i/rate"] = np.where(after, 12.0, 50.0)
    figures = bench_brunel.rate_figures(tmp_path / "run.h5", t_end, t_from)
    assert abs(figures["rate_e_hz"] / 10.0 - 1) < 1e-9
    assert abs(figures["rate_i_hz"] / 12.0 - 1) < 1e-12
    assert abs(figures["relative_amplitude_e"] - 0.5 / np.sqrt(2)) < 1e-9
    assert figures["oscillates"]
    spectrum = figures["spectrum"]
    assert abs(spectrum["peak"] - frequency) < INTERPOLATED * spectrum["bin"]
    assert spectrum["resolved"]
