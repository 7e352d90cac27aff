"""Figures of `miind run` outputs (matplotlib, no display needed).

The numbers come from `statistics` and `selection`; this module only draws them and writes the file
atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meshgen.formats.atomic_file import atomic_output

from meshgen.formats.run_output_reader import RunOutput
from .selection import raster_selection
from .statistics import Binning, binned_rates, make_binning


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed), imported only when a
    figure is drawn."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(figure, path: str | Path) -> None:
    """Write `figure` to `path` atomically, in the format its suffix names (PNG without
    one)."""
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format=Path(path).suffix.lstrip(".") or "png", dpi=120)


def _bin_label(binning: Binning) -> str:
    return "per step" if binning.steps == 1 else f"in bins of {binning.width * 1e3:.4g} ms"


def plot_rates(output: RunOutput, path: str | Path, binning: Binning | None = None) -> None:
    """The rate of every population (in `binning`, default per step)."""
    binning = binning or make_binning(output, None)
    times, rates = binned_rates(output, binning)
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
    for name, rate in rates.items():
        axes.plot(times, rate, label=name, lw=1)
    axes.set_xlabel("time (s)")
    axes.set_ylabel(f"rate (Hz), {_bin_label(binning)}")
    axes.legend(frameon=False)
    axes.set_title(Path(output.path).name)
    save_figure(figure, path)
    plt.close(figure)


def plot_comparison(output: RunOutput, path: str | Path, comparison: dict,
                    binning: Binning | None = None) -> None:
    """The rates of the two populations of `comparison` (statistics.compare) overlaid,
    and their difference below, with the steady window shaded."""
    binning = binning or make_binning(output, None)
    times, rates = binned_rates(output, binning)
    a, b = comparison["a"], comparison["b"]
    plt = pyplot()
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True,
                                         height_ratios=[2, 1], constrained_layout=True)
    top.plot(times, rates[a], label=a, lw=1)
    top.plot(times, rates[b], label=b, lw=1, alpha=0.8)
    top.set_ylabel(f"rate (Hz), {_bin_label(binning)}")
    top.legend(frameon=False)
    top.set_title(f"{a} vs {b}: RMS difference {comparison['rms_difference_hz']:.3g} Hz, "
                  f"steady {comparison['steady_difference_hz']:.3g} ± "
                  f"{comparison['steady_difference_standard_error_hz']:.2g} Hz")
    bottom.plot(times, rates[a] - rates[b], lw=0.8, color="k")
    bottom.axhline(0.0, color="0.6", lw=0.5)
    bottom.set_ylabel(f"{a} − {b} (Hz)")
    bottom.set_xlabel("time (s)")
    for axes in (top, bottom):
        axes.axvspan(*comparison["window"], color="0.9", zorder=0)
    save_figure(figure, path)
    plt.close(figure)


def plot_raster(output: RunOutput, path: str | Path, names: list[str],
                binning: Binning) -> None:
    """For each direct population in `names`: a spike raster (at most
    selection.RASTER_MAX_NEURONS neurons, chosen evenly) above its rate in `binning`."""
    times, rates = binned_rates(output, binning)
    plt = pyplot()
    figure, axes = plt.subplots(2 * len(names), 1, figsize=(7, 4.5 * len(names)),
                                sharex=True, squeeze=False, constrained_layout=True,
                                height_ratios=[3, 1] * len(names))
    for k, name in enumerate(names):
        pop = output.populations[name]
        raster, rate = axes[2 * k, 0], axes[2 * k + 1, 0]
        spike_times, spike_ids, stride = raster_selection(pop)
        shown = -(-pop.n_neurons // stride)
        raster.plot(spike_times, spike_ids, ".", markersize=1, color="k", rasterized=True)
        raster.set_ylim(-0.5, pop.n_neurons - 0.5)
        raster.set_ylabel("neuron")
        every = "" if stride == 1 else f", one in {stride}"
        raster.set_title(f"{name}: {shown} of {pop.n_neurons} neurons drawn{every}")
        rate.plot(times, rates[name], lw=0.8)
        rate.set_ylabel("rate (Hz)")
        rate.set_title(f"rate {_bin_label(binning)}", fontsize="small")
    axes[-1, 0].set_xlabel("time (s)")
    axes[-1, 0].set_xlim(0.0, float(output.time[-1]))
    save_figure(figure, path)
    plt.close(figure)


def plot_spectra(output: RunOutput, path: str | Path, spectra: dict,
                 binning: Binning) -> None:
    """Power spectra of population spike counts (statistics.spectra), log scale."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
    for name, (frequencies, power) in spectra.items():
        above = frequencies > 0
        if above.any():
            axes.semilogy(frequencies[above], power[above], label=name, lw=1)
    axes.set_xlabel("frequency (Hz)")
    axes.set_ylabel("power (spikes² / Hz)")
    axes.legend(frameon=False)
    axes.set_title(f"spike count spectrum, {_bin_label(binning)} (Welch)")
    save_figure(figure, path)
    plt.close(figure)


def plot_density(output: RunOutput, path: str | Path, name: str, index: int) -> None:
    """The density of population `name` at snapshot `index` (see select_snapshot)."""
    pop = output.populations[name]
    order = np.argsort(pop.lower)
    lower, upper = pop.lower[order], pop.upper[order]
    density = pop.density_mass[index][order] / (upper - lower)
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
    edges = np.concatenate([lower, upper[-1:]])
    axes.stairs(density, edges, fill=True, alpha=0.6)
    axes.set_xlabel(f"v ({pop.unit})")
    axes.set_ylabel(f"density (1/{pop.unit})")
    axes.set_title(f"{name} at t = {pop.density_time[index]:.4g} s")
    save_figure(figure, path)
    plt.close(figure)


def plot_traces(output: RunOutput, path: str | Path, names: list[str]) -> None:
    """State of the recorded neurons against time: a panel per variable, a line per
    neuron, every recorded population."""
    plt = pyplot()
    panels = [(name, variable) for name in names for variable in output.populations[name].variables]
    figure, axes = plt.subplots(len(panels), 1, figsize=(7, 2.2 * len(panels)), sharex=True,
                                constrained_layout=True, squeeze=False)
    for axis, (name, variable) in zip(axes[:, 0], panels):
        population = output.populations[name]
        for column, neuron in enumerate(population.sample_ids):
            axis.plot(output.time, population.samples[variable][:, column], lw=0.8,
                      label=f"neuron {neuron}")
        axis.set_ylabel(f"{name}: {variable}")
    axes[0, 0].legend(frameon=False, fontsize="small", loc="upper right")
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].set_title(Path(output.path).name)
    save_figure(figure, path)
    plt.close(figure)
