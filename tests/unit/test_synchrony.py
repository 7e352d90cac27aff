"""miind_cli.synchrony on synthetic data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from miind_cli import synchrony

# The estimates below are sample statistics of seeded random data; each tolerance is
# several standard errors of the estimate (stated with it), so a failure means a
# wrong formula rather than bad luck, and the seed keeps the tests reproducible.
SEED = 20240601


def rng():
    return np.random.default_rng(SEED)


# --- chi ----------------------------------------------------------------------------

def test_identical_traces_give_chi_one():
    """All neurons equal: the population mean is each trace, so chi^2 = 1 to rounding."""
    trace = np.sin(np.linspace(0.0, 20.0, 5000)) + 0.3 * rng().standard_normal(5000)
    v = np.repeat(trace[:, None], 50, axis=1)
    assert synchrony.chi_from_traces(v) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("n_neurons", [10, 100, 1000])
def test_independent_noise_gives_one_over_sqrt_n(n_neurons):
    """Independent traces: Var[mean] = Var/N, so chi = 1/sqrt(N). With T independent
    samples the variance of the mean has a relative standard error sqrt(2/T), chi
    half of that: 0.5% for T = 20000; 5% is ten standard errors."""
    n_times = 20000
    v = -60.0 + 2.0 * rng().standard_normal((n_times, n_neurons))
    assert synchrony.chi_from_traces(v) == pytest.approx(1 / math.sqrt(n_neurons), rel=0.05)


def test_shared_and_private_parts():
    """v_i = s(t) + n_i(t) with Var s = a, Var n_i = b: chi^2 = (a + b/N) / (a + b)
    (a = 1, b = 3, N = 200: chi = 0.504). Tolerance as above: 5% is many standard
    errors for T = 40000."""
    generator = rng()
    n_times, n_neurons, a, b = 40000, 200, 1.0, 3.0
    shared = math.sqrt(a) * generator.standard_normal((n_times, 1))
    v = shared + math.sqrt(b) * generator.standard_normal((n_times, n_neurons))
    expected = math.sqrt((a + b / n_neurons) / (a + b))
    assert synchrony.chi_from_traces(v) == pytest.approx(expected, rel=0.05)


def test_chi_from_file_arrays_equals_chi_from_traces():
    """What `miind analyze` passes (mean over neurons, each neuron's variance with
    divisor T) gives the same chi as the traces themselves."""
    v = rng().standard_normal((300, 40)) + np.linspace(0, 1, 300)[:, None]
    assert synchrony.golomb_chi(v.mean(axis=1), v.var(axis=0)) == pytest.approx(
        synchrony.chi_from_traces(v), rel=1e-12)


def test_chi_undefined_without_fluctuations():
    assert math.isnan(synchrony.chi_from_traces(np.full((100, 5), -65.0)))
    assert math.isnan(synchrony.golomb_chi(np.zeros(1), np.ones(5)))


# --- Fano factor --------------------------------------------------------------------

def test_poisson_counts_give_fano_one():
    """Poisson counts: variance = mean. With n bins the sample Fano factor has a
    standard error about sqrt(2/n) (0.7% for n = 40000); 4% is over five."""
    counts = rng().poisson(5.0, size=40000)
    assert synchrony.fano_factor(counts) == pytest.approx(1.0, rel=0.04)


def test_pairs_of_spikes_give_fano_two():
    """Every event two spikes (perfectly paired neurons): variance 4 lambda over mean
    2 lambda, so 2; tolerance as for Poisson."""
    counts = 2 * rng().poisson(3.0, size=40000)
    assert synchrony.fano_factor(counts) == pytest.approx(2.0, rel=0.04)


def test_fano_uses_the_unbiased_variance():
    assert synchrony.fano_factor(np.array([0, 2])) == pytest.approx(2.0 / 1.0)
    assert synchrony.fano_factor(np.full(10, 3)) == 0.0


def test_fano_undefined():
    assert math.isnan(synchrony.fano_factor(np.array([4])))
    assert math.isnan(synchrony.fano_factor(np.zeros(10)))


# --- spectrum -----------------------------------------------------------------------

def test_rhythm_gives_a_peak_at_its_frequency():
    """Counts with a 40 Hz modulated Poisson rate: the spectrum peaks at 40 Hz, within
    the frequency resolution of the Welch segments (a quarter of 10 s: 0.4 Hz), far
    above the flat Poisson floor."""
    bin_width, frequency = 1e-3, 40.0
    t = np.arange(10000) * bin_width
    counts = rng().poisson(5.0 * (1 + 0.5 * np.sin(2 * np.pi * frequency * t)))
    frequencies, power = synchrony.count_spectrum(counts, bin_width)
    peak, relative = synchrony.spectrum_peak(frequencies, power)
    resolution = frequencies[1] - frequencies[0]
    assert resolution == pytest.approx(synchrony.WELCH_SEGMENTS_PER_RECORD / 10.0)
    assert abs(peak - frequency) <= resolution
    # The line holds (5 * 0.5)^2 / 2 = 3.1 counts^2, spread by the Hann window over
    # about 0.6 Hz: ~5 counts^2/Hz, some 500x the Poisson floor of 2 * 5 * 1 ms = 0.01
    # counts^2/Hz (one-sided). Measured ~320 (the window's shape); 100 is far below.
    assert relative > 100


def test_poisson_spectrum_is_flat():
    """White counts: the one-sided density is 2 * variance * bin width at every
    frequency. Averaged over all frequencies it is within 5% (the mean of ~1250
    frequencies, each from ~7 segments); the highest is a few times the mean at most
    (the largest of ~1250 chi-square values with ~14 degrees of freedom: 2.5 to 3.3
    over seeds 0-4)."""
    bin_width, mean = 1e-3, 5.0
    counts = rng().poisson(mean, size=10000)
    frequencies, power = synchrony.count_spectrum(counts, bin_width)
    inside = (frequencies > 0) & (frequencies < frequencies[-1])
    assert power[inside].mean() == pytest.approx(2 * mean * bin_width, rel=0.05)
    assert synchrony.spectrum_peak(frequencies, power)[1] < 5


def test_spectrum_of_too_few_bins_is_empty():
    frequencies, power = synchrony.count_spectrum(np.ones(3), 1e-3)
    assert frequencies.size == 0 and power.size == 0
    assert all(math.isnan(x) for x in synchrony.spectrum_peak(frequencies, power))
