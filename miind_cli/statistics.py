"""Statistics of a `miind run` output: rates in bins, summaries, the comparison of
two populations, the synchrony measures of direct populations, spike count spectra
and the rates as CSV.

Everything here is arrays in, arrays or dicts out, on a RunOutput (meshgen.formats.run_output_reader);
the synchrony measures themselves are in `synchrony`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from meshgen.errors import ConfigError

from . import synchrony
from meshgen.formats.run_output_reader import PopulationOutput, RunOutput
from .selection import population_names

# Bin of the spike-count measures (raster rate panel, Fano factor, spectrum) when no
# --bin is given: 1 ms, rounded to a whole number of steps. Short enough to resolve
# gamma rhythms (Nyquist 500 Hz), long enough to hold a few spikes of a population.
DEFAULT_BIN = 1e-3
# --bin must be a whole number of steps to within this relative difference: enough
# for a decimal typed by hand (0.001 / 1e-4 = 10.000000000000002), small enough that
# a bin of 14.8 steps is refused rather than silently changed.
BIN_RELATIVE_TOLERANCE = 1e-6
# The steady difference of --compare: its standard error from this many batch means.
COMPARE_BATCHES = 10


@dataclass(frozen=True)
class Binning:
    """Whole steps of the run grouped into bins of `steps` steps; a last incomplete
    bin is left out. `given`: the width came from --bin."""

    steps: int
    width: float  # [s]
    given: bool

    def count(self, n_steps: int) -> int:
        return n_steps // self.steps

    def means(self, values: np.ndarray) -> np.ndarray:
        n = self.count(len(values)) * self.steps
        return np.asarray(values[:n], dtype=float).reshape(-1, self.steps).mean(axis=1)

    def sums(self, values: np.ndarray) -> np.ndarray:
        n = self.count(len(values)) * self.steps
        return np.asarray(values[:n]).reshape(-1, self.steps).sum(axis=1)

    def times(self, time: np.ndarray) -> np.ndarray:
        """End time of each bin, as `time` holds the end time of each step."""
        return time[self.steps - 1::self.steps][:self.count(len(time))]


def make_binning(output: RunOutput, width: float | None,
                 default: float | None = None) -> Binning:
    """Bins of `width` seconds (--bin), which must be a whole number of steps; without
    it, `default` rounded to whole steps, or single steps if no default."""
    dt, n_steps = output.dt, len(output.time)
    if width is None:
        steps = 1 if default is None else max(1, round(default / dt))
        return Binning(min(steps, n_steps), min(steps, n_steps) * dt, False)
    if not (math.isfinite(width) and width > 0):
        raise ConfigError(f"--bin must be a positive number of seconds, got {width:g}")
    ratio = width / dt
    steps = round(ratio)
    if steps < 1 or abs(ratio - steps) > BIN_RELATIVE_TOLERANCE * steps:
        near = sorted({max(1, math.floor(ratio)), math.ceil(ratio)})
        raise ConfigError(f"--bin {width:g} s is {ratio:.6g} steps of dt = {dt:.12g} s; it "
                          f"must be a whole number of steps, e.g. "
                          + " or ".join(f"{k * dt:.12g} ({k} steps)" for k in near),
                          path=output.path)
    if steps > n_steps:
        raise ConfigError(f"--bin {width:g} s is longer than the run "
                          f"({n_steps * dt:.6g} s)", path=output.path)
    return Binning(steps, steps * dt, True)


def _window_mask(times: np.ndarray, width: float, window, output: RunOutput,
                 what: str, required: bool = True) -> tuple[tuple[float, float], np.ndarray]:
    """Window (default: the second half) and the bins ending at `times` of `width`
    inside it: a bin belongs to the window if its midpoint does. No bin inside is an
    error if `required`."""
    end = float(output.time[-1])
    if window is None:
        window = (end / 2, end)
    middle = times - width / 2
    selected = (middle >= window[0]) & (middle <= window[1])
    if required and not selected.any():
        raise ConfigError(f"--window {window[0]}:{window[1]} contains no {what} "
                          f"(the run covers 0 to {end:.6g} s)")
    return (float(window[0]), float(window[1])), selected


def _step_or_bin(binning: Binning) -> str:
    return "time step" if binning.steps == 1 and not binning.given else \
        f"whole bin of {binning.width:.6g} s"


# --- rates, counts and summaries ----------------------------------------------------

def spike_counts(output: RunOutput, name: str) -> np.ndarray:
    """Spikes of direct population `name` in each step (rate = count / (N dt))."""
    pop = output.populations[name]
    return np.rint(pop.rate * pop.n_neurons * output.dt).astype(np.int64)


def binned_rates(output: RunOutput, binning: Binning) -> tuple[np.ndarray, dict]:
    """(end time of each bin, {population: mean rate in each bin [Hz]})."""
    return (binning.times(output.time),
            {name: binning.means(pop.rate) for name, pop in output.populations.items()})


@dataclass(frozen=True)
class SpikeMeasures:
    """The spike-time synchrony measures asked for (spike_synchrony): the STTC with
    coincidence window +-sttc_dt [s] if not None; phase locking of every spike, or of
    burst onsets with intervals > burst_isi [s] between bursts if that is not None."""

    sttc_dt: float | None = None
    phase_locking: bool = False
    burst_isi: float | None = None


def summarize(output: RunOutput, window: tuple[float, float] | None = None,
              binning: Binning | None = None, count_binning: Binning | None = None,
              spike_measures: SpikeMeasures | None = None) -> dict:
    """Mean, min and max rate of each population over `window` (default: the second
    half), of its rate in `binning` (default: per step); for direct populations also
    the spike count in the window and the synchrony measures (spike counts in
    `count_binning`, default: DEFAULT_BIN), with `spike_measures` over the window if
    given (the output must have been read with its spikes)."""
    binning = binning or make_binning(output, None)
    count_binning = count_binning or make_binning(output, None, DEFAULT_BIN)
    times = binning.times(output.time)
    window, selected = _window_mask(times, binning.width, window, output,
                                    _step_or_bin(binning))
    populations = {}
    for name, pop in output.populations.items():
        rate = binning.means(pop.rate)[selected]
        entry = {"method": pop.method, "mean_rate": float(rate.mean()),
                 "min_rate": float(rate.min()), "max_rate": float(rate.max())}
        if pop.mass is not None:
            entry["final_mass"] = float(pop.mass[-1])
        for variable, values in pop.mean.items():
            entry[f"mean_{variable}"] = float(binning.means(values)[selected].mean())
        if pop.clamped is not None:
            entry.update(_clamped_summary(pop, binning, selected))
        if pop.direct:
            entry["n_neurons"] = pop.n_neurons
            entry["spike_count"] = int(binning.sums(spike_counts(output, name))[selected].sum())
            entry["synchrony"] = synchrony_summary(output, name, window, count_binning)
            if spike_measures is not None:
                entry["synchrony"].update(spike_synchrony_summary(output, name, window,
                                                                  spike_measures))
        populations[name] = entry
    return {"window": [window[0], window[1]], "units": {"rate": "Hz", "time": "s"},
            "populations": populations}


def _clamped_summary(pop: PopulationOutput, binning: Binning, selected: np.ndarray) -> dict:
    """A 2D population's clamped mass per second over the window, per mechanism and
    edge, and those over `miind run`'s warning threshold ("reset at w high")."""
    table = {mechanism: {edge: float(binning.means(series[:, e])[selected].mean())
                         for e, edge in enumerate(pop.clamp_edges)}
             for mechanism, series in pop.clamped.items()}
    over = [f"{mechanism} at {edge}" for mechanism, by_edge in table.items()
            for edge, value in by_edge.items() if value > pop.clamp_threshold]
    return {"clamped_per_second": table, "clamped_threshold_per_second": pop.clamp_threshold,
            "clamped_over_threshold": over}


def synchrony_summary(output: RunOutput, name: str, window: tuple[float, float],
                      binning: Binning) -> dict:
    """chi over the file's synchrony window; Fano factor and spectrum peak of the
    population spike count in `binning` over `window`."""
    pop = output.populations[name]
    counts, _ = window_counts(output, name, window, binning, required=False)
    frequencies, power = synchrony.count_spectrum(counts, binning.width)
    peak, relative = synchrony.spectrum_peak(frequencies, power)
    return {"chi": _json_number(population_chi(output, name)),
            "chi_window": [pop.synchrony_t_start, float(output.time[-1])],
            "fano_factor": _json_number(synchrony.fano_factor(counts)),
            "fano_bin_s": binning.width,
            "fano_bin_from": "--bin" if binning.given else
            f"default {DEFAULT_BIN * 1e3:g} ms, rounded to {binning.steps} whole steps",
            "spectrum_peak_hz": _json_number(peak),
            "spectrum_peak_relative_power": _json_number(relative)}


def spike_synchrony_summary(output: RunOutput, name: str, window: tuple[float, float],
                            measures: SpikeMeasures) -> dict:
    """The STTC and phase locking of direct population `name`'s spikes in `window`, as
    asked by `measures`; numba is loaded only here, when one of them is asked for."""
    from . import spike_synchrony

    pop = output.populations[name]

    def trains(t_start: float, t_stop: float):
        return spike_synchrony.trains_from_events(pop.spike_times, pop.spike_ids,
                                                  pop.n_neurons, t_start, t_stop)

    entry = {}
    if measures.sttc_dt is not None:
        sttc = spike_synchrony.spike_time_tiling(trains(*window), measures.sttc_dt)
        entry.update({"sttc": _json_number(sttc.mean), "sttc_dt_s": measures.sttc_dt,
                      "sttc_pairs": sttc.pairs, "sttc_neurons": sttc.neurons})
    if measures.phase_locking:
        # The phases inside the window come from the events around it: all of them.
        events = spike_synchrony.event_onsets(trains(0.0, float(output.time[-1])),
                                              measures.burst_isi)
        locking = spike_synchrony.phase_locking(events, window)
        entry.update({
            "phase_locking": _json_number(locking.mean),
            "phase_locking_events": "spikes" if measures.burst_isi is None else "bursts",
            "burst_isi_s": measures.burst_isi,
            "phase_locking_neurons": locking.neurons,
            "phase_locking_independent": _json_number(locking.independent),
            "phase_locking_window": list(locking.window) if locking.window else None})
    return entry


def population_chi(output: RunOutput, name: str) -> float:
    """Golomb-Rinzel chi of direct population `name` over its synchrony window (the
    steps after synchrony/t_start, over which neuron_var_v was accumulated)."""
    pop = output.populations[name]
    inside = output.time - output.dt / 2 >= pop.synchrony_t_start
    return synchrony.golomb_chi(pop.mean[pop.variables[0]][inside], pop.neuron_var_v)


def window_counts(output: RunOutput, name: str, window, binning: Binning,
                  required: bool = True):
    """(population spike counts in the bins inside `window`, their end times). A
    window without a whole bin is an error if `required`, else gives empty arrays."""
    times = binning.times(output.time)
    _, selected = _window_mask(times, binning.width, window, output, _step_or_bin(binning),
                               required)
    return binning.sums(spike_counts(output, name))[selected], times[selected]


def spectra(output: RunOutput, names: list[str], window, binning: Binning) -> dict:
    """{population: (frequencies [Hz], power [counts^2/Hz])} of each spike count."""
    return {name: synchrony.count_spectrum(window_counts(output, name, window, binning)[0],
                                           binning.width) for name in names}


def compare(output: RunOutput, a: str, b: str, window: tuple[float, float] | None = None,
            binning: Binning | None = None) -> dict:
    """How far the rate of population `a` is from that of `b`.

    rms_difference_hz: root mean square over the whole run of rate_a - rate_b, both
    averaged in `binning` (default: per step; a direct population's per-step rate is
    mostly counting noise, so bin it). steady_*: means over `window` (default: the
    second half). steady_difference_standard_error_hz: the standard error of the
    steady difference by batch means: the window split into COMPARE_BATCHES
    consecutive batches, the standard deviation of the batch means of the difference
    over sqrt(COMPARE_BATCHES). It measures how much the steady difference would
    change in another run of the same length (finite-size noise, fluctuations); it
    assumes batches longer than the rates' correlation time, and it says nothing of
    a systematic error both runs share."""
    population_names(output, (a, b), "--compare")
    binning = binning or make_binning(output, None)
    times, rates = binned_rates(output, binning)
    difference = rates[a] - rates[b]
    window, selected = _window_mask(times, binning.width, window, output,
                                    _step_or_bin(binning))
    inside = difference[selected]
    if inside.size < COMPARE_BATCHES:
        raise ConfigError(f"--compare: the window {window[0]}:{window[1]} holds "
                          f"{inside.size} rate values; the standard error needs at least "
                          f"{COMPARE_BATCHES} (use a wider --window or a smaller --bin)",
                          path=output.path)
    batch_means = np.array([part.mean() for part in np.array_split(inside, COMPARE_BATCHES)])
    return {"compare": {
        "a": a, "b": b,
        "rms_difference_hz": float(np.sqrt(np.mean(difference ** 2))),
        "steady_mean_a_hz": float(rates[a][selected].mean()),
        "steady_mean_b_hz": float(rates[b][selected].mean()),
        "steady_difference_hz": float(inside.mean()),
        "steady_difference_standard_error_hz":
            float(batch_means.std(ddof=1) / math.sqrt(COMPARE_BATCHES)),
        "window": [window[0], window[1]],
        "bin_s": binning.width,
        "standard_error": f"batch means: {COMPARE_BATCHES} consecutive batches of the window",
    }}


def _json_number(value: float) -> float | None:
    """JSON has no NaN: undefined measures are null."""
    return float(value) if math.isfinite(value) else None


def write_rates_csv(output: RunOutput, stream: TextIO, binning: Binning | None = None) -> None:
    """t (end of each step or bin), then the rate of each population [Hz]."""
    times, rates = binned_rates(output, binning or make_binning(output, None))
    names = list(output.populations)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["t"] + names)
    columns = [rates[n] for n in names]
    for i, t in enumerate(times):
        writer.writerow([f"{t:.9g}"] + [f"{c[i]:.9g}" for c in columns])

