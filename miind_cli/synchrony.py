"""Synchrony measures of a population of directly simulated neurons.

Pure functions of numpy arrays (no I/O): `meshgen.formats.run_output_reader` reads the output file and
`statistics` passes the arrays in.

- chi (Golomb & Rinzel 1993; Golomb 2007, Scholarpedia "Neuronal synchrony measures"):
  chi^2 = Var_t[V(t)] / mean_i Var_t[v_i(t)], with V(t) the population average of v.
  Independent neurons give chi ~ 1/sqrt(N); identical neurons give chi = 1.
- The Fano factor of the population spike count in bins: Var/mean of the counts.
  Independent Poisson neurons give 1; synchronous volleys give more.
- The power spectrum of the population spike count (Welch), and its peak: a
  population rhythm shows as a peak well above the mean power.
"""

from __future__ import annotations

import math

import numpy as np

# Welch segments: a quarter of the data each, overlapping by half, so about seven
# segments are averaged (a relative error of the power of about 1/sqrt(7) per
# frequency) at a frequency resolution of 4 / (record length).
WELCH_SEGMENTS_PER_RECORD = 4
# Fewer samples than this give no meaningful spectrum (a segment of 2 samples).
MIN_SPECTRUM_SAMPLES = 8


def golomb_chi(population_mean_v: np.ndarray, neuron_var_v: np.ndarray) -> float:
    """chi from the population-averaged v over a window, (T,), and each neuron's
    variance of v over the same window, (N,).

    Both variances are population variances (divide by T), as `miind run` writes
    neuron_var_v. NaN when no neuron's v varies (chi is undefined then)."""
    population_mean_v = np.asarray(population_mean_v, dtype=float)
    neuron_var_v = np.asarray(neuron_var_v, dtype=float)
    if population_mean_v.size < 2 or neuron_var_v.size == 0:
        return math.nan
    denominator = float(np.mean(neuron_var_v))
    if not denominator > 0.0:
        return math.nan
    return math.sqrt(float(np.var(population_mean_v)) / denominator)


def chi_from_traces(v: np.ndarray) -> float:
    """chi of traces v (T, N): time along the first axis, neurons along the second."""
    v = np.asarray(v, dtype=float)
    return golomb_chi(v.mean(axis=1), v.var(axis=0))


def fano_factor(counts: np.ndarray) -> float:
    """Variance over mean of spike counts per bin (sample variance, divided by n - 1,
    so a Poisson process gives 1 in expectation). NaN for fewer than 2 bins or no
    spikes."""
    counts = np.asarray(counts, dtype=float)
    if counts.size < 2:
        return math.nan
    mean = float(counts.mean())
    if not mean > 0.0:
        return math.nan
    return float(counts.var(ddof=1)) / mean


def count_spectrum(counts: np.ndarray, bin_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density of spike counts per bin of `bin_width` seconds:
    (frequencies [Hz], power [counts^2/Hz]). The mean is removed from each segment.
    Empty arrays for fewer than MIN_SPECTRUM_SAMPLES bins."""
    from scipy.signal import welch

    counts = np.asarray(counts, dtype=float)
    if counts.size < MIN_SPECTRUM_SAMPLES:
        return np.zeros(0), np.zeros(0)
    segment = max(MIN_SPECTRUM_SAMPLES // 2, counts.size // WELCH_SEGMENTS_PER_RECORD)
    return welch(counts, fs=1.0 / bin_width, nperseg=segment, detrend="constant",
                 scaling="density")


def spectrum_peak(frequencies: np.ndarray, power: np.ndarray) -> tuple[float, float]:
    """(frequency of the highest power above 0 Hz, that power / the mean power above
    0 Hz). A flat (white, Poisson-like) spectrum gives a ratio of a few at most; a
    rhythm gives a large one. NaNs when there is no such frequency or no power."""
    above = frequencies > 0.0
    if not above.any():
        return math.nan, math.nan
    frequencies, power = frequencies[above], power[above]
    mean = float(power.mean())
    if not mean > 0.0:
        return math.nan, math.nan
    peak = int(np.argmax(power))
    return float(frequencies[peak]), float(power[peak]) / mean
