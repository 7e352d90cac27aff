"""Exact event-driven Monte Carlo of leaky integrate-and-fire neurons with Poisson input.

Each neuron follows tau dv/dt = E_l - v between input events and jumps by a fixed
efficacy h_k when input k fires. Between events the membrane equation is solved exactly,
v <- E_l + (v - E_l) exp(-dt/tau), and event times are drawn from the exponential
distribution of the total input rate, so the simulation has no time-step error: its only
error is statistical, reported as a standard error over independent batches.

Rules (the same ones the population-density solver implements):
- an input that takes v to v >= threshold fires a spike at that instant; if E_l lies above
  threshold, v also fires when the leak alone carries it up to threshold;
- after a spike, v is held at `reset` for `refractory` seconds and inputs arriving in that
  time are ignored; it then continues from `reset`;
- after every jump v is clamped to at least `v_min` (default -inf), which matches a
  population-density mesh whose lowest cell collects the mass that would leave it. The
  leak itself is not clamped;
- input rates are piecewise constant in time. Because Poisson input is memoryless, when
  the next drawn event falls past a rate change the neuron is moved to the change,
  decayed exactly, and the next event is redrawn with the new rates; this is exact.

All potentials and efficacies share one unit (volts inside the project); times are in
seconds and rates in Hz.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np

# ceil(t_end / bin_width) would add an almost empty bin whenever t_end is a multiple of
# bin_width that floating point division lands just above (1.1 / 0.1 = 11.000000000000002).
# Ratios within this relative amount of an integer are treated as that integer.
BIN_COUNT_RELATIVE_TOLERANCE = 1e-9


@numba.njit(cache=True)
def number_of_bins(t_end, bin_width):
    """ceil(t_end / bin_width), forgiving rounding error in the division."""
    ratio = t_end / bin_width
    return int(math.ceil(ratio * (1.0 - BIN_COUNT_RELATIVE_TOLERANCE)))


# nogil=True (beyond the project's plain njit) lets independent batches run on separate
# threads; numba keeps one random generator per thread, so each batch stays reproducible.
@numba.njit(cache=True, nogil=True)
def simulate_lif_event_driven(
    tau,
    E_l,
    threshold,
    reset,
    refractory,
    v_min,
    efficacies,
    rate_times,
    rates,
    v0,
    t_end,
    n_neurons,
    bin_width,
    seed,
):
    """Spike counts per time bin, summed over `n_neurons` independent neurons.

    efficacies : (n_inputs,) jump of each input, in the unit of v.
    rate_times : (K,) ascending start times of the constant-rate periods, rate_times[0] == 0.
    rates : (K, n_inputs) input rates (Hz) in each period.
    Returns an int64 array of length ceil(t_end / bin_width); bin i covers
    [i * bin_width, (i + 1) * bin_width). Arguments are not checked here; see
    `lif_event_driven_rate`.
    """
    # Seeds numba's own per-thread generator (not numpy's global one): results are a
    # deterministic function of `seed`.
    np.random.seed(seed)
    n_bins = number_of_bins(t_end, bin_width)
    counts = np.zeros(n_bins, dtype=np.int64)
    n_periods = rate_times.shape[0]
    n_inputs = efficacies.shape[0]

    total_rates = np.zeros(n_periods)
    cumulative_rates = np.zeros((n_periods, n_inputs))
    for period in range(n_periods):
        running = 0.0
        for k in range(n_inputs):
            running += rates[period, k]
            cumulative_rates[period, k] = running
        total_rates[period] = running

    leak_reaches_threshold = E_l > threshold

    for _ in range(n_neurons):
        t = 0.0
        v = v0
        period = 0
        while True:
            if period + 1 < n_periods:
                period_end = min(rate_times[period + 1], t_end)
            else:
                period_end = t_end

            total_rate = total_rates[period]
            if total_rate > 0.0:
                t_input = t + np.random.exponential(1.0 / total_rate)
            else:
                t_input = np.inf

            t_leak_spike = np.inf
            if leak_reaches_threshold:
                t_leak_spike = t + tau * math.log((E_l - v) / (E_l - threshold))

            if t_leak_spike < t_input and t_leak_spike < period_end:
                t = t_leak_spike
                spiked = True
            elif t_input < period_end:
                v = E_l + (v - E_l) * math.exp(-(t_input - t) / tau)
                t = t_input
                # Which input fired: input k with probability rates[k] / total_rate.
                target = np.random.random() * total_rate
                k = 0
                while k < n_inputs - 1 and cumulative_rates[period, k] <= target:
                    k += 1
                v += efficacies[k]
                if v < v_min:
                    v = v_min
                spiked = v >= threshold
            else:
                # No event in this period: move to its end, then redraw with the next
                # period's rates (exact, since Poisson input is memoryless).
                if period_end >= t_end:
                    break
                v = E_l + (v - E_l) * math.exp(-(period_end - t) / tau)
                t = period_end
                period += 1
                continue

            if spiked:
                counts[min(int(t / bin_width), n_bins - 1)] += 1
                t += refractory
                v = reset
                if t >= t_end:
                    break
                while period + 1 < n_periods and rate_times[period + 1] <= t:
                    period += 1
    return counts


@dataclass(frozen=True)
class EventDrivenRate:
    """Result of `lif_event_driven_rate`.

    rate_hz : mean over batches of the per-neuron rate in [steady_start_s, t_end).
    standard_error_hz : standard deviation of the batch rates / sqrt(n_batches).
    batch_rates_hz : (n_batches,) the per-batch rates behind the two numbers above.
    steady_start_s : t_warmup rounded up to the bin grid (the rate uses whole bins).
    bin_edges_s : (n_bins + 1,) edges of the time bins; the last bin ends at t_end.
    population_rate_hz : (n_bins,) per-neuron rate in each bin, averaged over all batches.
    batch_spike_counts : (n_batches, n_bins) raw spike counts (summed over neurons).
    n_neurons : neurons per batch.
    """

    rate_hz: float
    standard_error_hz: float
    batch_rates_hz: np.ndarray
    steady_start_s: float
    bin_edges_s: np.ndarray
    population_rate_hz: np.ndarray
    batch_spike_counts: np.ndarray
    n_neurons: int

    @property
    def bin_centres_s(self):
        return 0.5 * (self.bin_edges_s[:-1] + self.bin_edges_s[1:])

    @property
    def n_batches(self):
        return self.batch_spike_counts.shape[0]

    def window_rate(self, t_start, t_stop):
        """(rate_hz, standard_error_hz) over the bins lying inside [t_start, t_stop).

        Bins that straddle either end are left out, so the window is rounded inwards to
        the bin grid.
        """
        edges = self.bin_edges_s
        tolerance = BIN_COUNT_RELATIVE_TOLERANCE * edges[-1]
        inside = (edges[:-1] >= t_start - tolerance) & (edges[1:] <= t_stop + tolerance)
        if not np.any(inside):
            raise ValueError(
                f"the window [{t_start}, {t_stop}) contains no whole bin of the time axis"
            )
        duration = float(np.sum(edges[1:][inside] - edges[:-1][inside]))
        batch_rates = self.batch_spike_counts[:, inside].sum(axis=1) / (self.n_neurons * duration)
        return _mean_and_standard_error(batch_rates)


def lif_event_driven_rate(
    tau,
    E_l,
    threshold,
    reset,
    refractory,
    efficacies,
    rates,
    t_warmup,
    t_end,
    n_neurons,
    *,
    rate_times=None,
    v0=None,
    v_min=-np.inf,
    bin_width=1e-3,
    n_batches=10,
    seed=0,
    max_workers=None,
):
    """Firing rate of uncoupled LIF neurons by exact event-driven Monte Carlo.

    Parameters
    ----------
    tau : float
        Membrane time constant (s).
    E_l, threshold, reset : float
        Leak reversal potential, threshold and reset, absolute, in the unit of v.
    refractory : float
        Absolute refractory period (s); v is held at reset and inputs are ignored.
    efficacies : array_like, shape (n_inputs,)
        Jump of each Poisson input, in the unit of v (positive or negative).
    rates : array_like, shape (n_inputs,) or (K, n_inputs)
        Input rates (Hz): constant, or one row per period of `rate_times`.
    t_warmup, t_end : float
        The steady rate is measured over [t_warmup, t_end) (s), with t_warmup rounded up
        to the bin grid; the simulation starts at t = 0.
    n_neurons : int
        Neurons per batch.
    rate_times : array_like, shape (K,), optional
        Ascending start times (s) of the rate periods, rate_times[0] == 0. Required when
        `rates` is two-dimensional.
    v0 : float, optional
        Potential of every neuron at t = 0; defaults to `reset`.
    v_min : float
        Lower bound applied to v after every jump (default: none).
    bin_width : float
        Width (s) of the bins of the population-rate time series.
    n_batches : int
        Independent batches; their spread gives the standard error (at least 2).
    seed : int
        Root seed; batch seeds are derived from it with numpy's SeedSequence.spawn.
    max_workers : int, optional
        Threads running batches in parallel; defaults to the number of CPUs. The result
        does not depend on it.

    Returns
    -------
    EventDrivenRate
    """
    efficacies, rate_times, rates = _check_inputs(efficacies, rates, rate_times)
    _check_model(tau, E_l, threshold, reset, refractory, v_min)
    v0 = reset if v0 is None else v0
    _check_finite("v0", v0)
    if not v0 < threshold:
        raise ValueError(f"v0 ({v0}) must lie below threshold ({threshold})")
    if v0 < v_min:
        raise ValueError(f"v0 ({v0}) must not lie below v_min ({v_min})")
    _check_positive("t_end", t_end)
    _check_positive("bin_width", bin_width)
    _check_finite("t_warmup", t_warmup)
    if not 0.0 <= t_warmup < t_end:
        raise ValueError(f"t_warmup ({t_warmup}) must satisfy 0 <= t_warmup < t_end ({t_end})")
    _check_count("n_neurons", n_neurons, minimum=1)
    _check_count("n_batches", n_batches, minimum=2)  # one batch gives no spread
    _check_count("seed", seed, minimum=0)
    if max_workers is not None:
        _check_count("max_workers", max_workers, minimum=1)

    n_bins = number_of_bins(t_end, bin_width)
    bin_edges = np.minimum(np.arange(n_bins + 1) * bin_width, t_end)
    bin_edges[-1] = t_end
    steady_bins = bin_edges[:-1] >= t_warmup * (1.0 - BIN_COUNT_RELATIVE_TOLERANCE)
    if not np.any(steady_bins):
        raise ValueError(
            f"no whole bin of width {bin_width} fits between t_warmup ({t_warmup}) "
            f"and t_end ({t_end})"
        )
    steady_start = float(bin_edges[:-1][steady_bins][0])

    batch_seeds = [
        int(child.generate_state(1, dtype=np.uint32)[0])
        for child in np.random.SeedSequence(seed).spawn(n_batches)
    ]

    def run_batch(batch_seed):
        return simulate_lif_event_driven(
            float(tau), float(E_l), float(threshold), float(reset), float(refractory),
            float(v_min), efficacies, rate_times, rates, float(v0), float(t_end),
            int(n_neurons), float(bin_width), batch_seed,
        )

    workers = max_workers if max_workers is not None else (os.cpu_count() or 1)
    workers = min(workers, n_batches)
    if workers == 1:
        batch_counts = [run_batch(s) for s in batch_seeds]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            batch_counts = list(pool.map(run_batch, batch_seeds))
    batch_counts = np.stack(batch_counts)

    bin_durations = np.diff(bin_edges)
    steady_duration = t_end - steady_start
    batch_rates = batch_counts[:, steady_bins].sum(axis=1) / (n_neurons * steady_duration)
    rate, standard_error = _mean_and_standard_error(batch_rates)
    population_rate = batch_counts.sum(axis=0) / (n_batches * n_neurons * bin_durations)
    return EventDrivenRate(
        rate_hz=rate,
        standard_error_hz=standard_error,
        batch_rates_hz=batch_rates,
        steady_start_s=steady_start,
        bin_edges_s=bin_edges,
        population_rate_hz=population_rate,
        batch_spike_counts=batch_counts,
        n_neurons=int(n_neurons),
    )


def _mean_and_standard_error(batch_values):
    n = batch_values.shape[0]
    return float(np.mean(batch_values)), float(np.std(batch_values, ddof=1) / math.sqrt(n))


def _check_inputs(efficacies, rates, rate_times):
    efficacies = np.atleast_1d(np.asarray(efficacies, dtype=np.float64))
    if efficacies.ndim != 1 or efficacies.size == 0:
        raise ValueError(f"efficacies must be a non-empty 1-D array, got shape {efficacies.shape}")
    if not np.all(np.isfinite(efficacies)):
        raise ValueError("efficacies must be finite")
    rates = np.asarray(rates, dtype=np.float64)
    if rates.ndim == 1:
        rates = rates[np.newaxis, :]
    if rates.ndim != 2 or rates.shape[1] != efficacies.size:
        raise ValueError(
            f"rates must have shape (n_inputs,) or (K, n_inputs) with n_inputs = "
            f"{efficacies.size}, got {np.shape(rates)}"
        )
    if not np.all(np.isfinite(rates)) or np.any(rates < 0):
        raise ValueError("rates must be finite and non-negative")
    if rate_times is None:
        if rates.shape[0] != 1:
            raise ValueError("rate_times is required when rates has one row per period")
        rate_times = np.zeros(1)
    rate_times = np.atleast_1d(np.asarray(rate_times, dtype=np.float64))
    if rate_times.ndim != 1 or rate_times.size != rates.shape[0]:
        raise ValueError(
            f"rate_times must have one entry per row of rates ({rates.shape[0]}), "
            f"got shape {rate_times.shape}"
        )
    if not np.all(np.isfinite(rate_times)):
        raise ValueError("rate_times must be finite")
    if rate_times[0] != 0.0:
        raise ValueError(f"rate_times[0] must be 0, got {rate_times[0]}")
    if np.any(np.diff(rate_times) <= 0):
        raise ValueError("rate_times must be strictly ascending")
    return efficacies, np.ascontiguousarray(rate_times), np.ascontiguousarray(rates)


def _check_model(tau, E_l, threshold, reset, refractory, v_min):
    _check_positive("tau", tau)
    for name, value in (("E_l", E_l), ("threshold", threshold), ("reset", reset)):
        _check_finite(name, value)
    if not (math.isfinite(refractory) and refractory >= 0.0):
        raise ValueError(f"refractory must be finite and non-negative, got {refractory}")
    if not reset < threshold:
        raise ValueError(f"reset ({reset}) must lie below threshold ({threshold})")
    if math.isnan(v_min) or v_min > reset:
        raise ValueError(f"v_min ({v_min}) must be a number not above reset ({reset})")


def _check_finite(name, value):
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")


def _check_positive(name, value):
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be finite and positive, got {value}")


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
