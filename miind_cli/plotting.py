"""Figures of `miind run` outputs (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meshgen.atomic_file import atomic_output
from meshgen.errors import ConfigError

from .analysis import RunOutput


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(figure, path: str | Path) -> None:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format=Path(path).suffix.lstrip(".") or "png", dpi=120)


def plot_rates(output: RunOutput, path: str | Path) -> None:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
    for name, pop in output.populations.items():
        axes.plot(output.time, pop.rate, label=name, lw=1)
    axes.set_xlabel("time (s)")
    axes.set_ylabel("rate (Hz)")
    axes.legend(frameon=False)
    axes.set_title(Path(output.path).name)
    _save(figure, path)
    plt.close(figure)


def plot_density(output: RunOutput, path: str | Path, population: str | None,
                 at_time: float | None) -> None:
    name = population or next(iter(output.populations))
    if name not in output.populations:
        raise ConfigError(f"--population: no population '{name}' (has: "
                          f"{', '.join(output.populations)})")
    pop = output.populations[name]
    if len(pop.density_time) == 0:
        raise ConfigError("the output has no density snapshots")
    index = (len(pop.density_time) - 1 if at_time is None
             else int(np.argmin(np.abs(pop.density_time - at_time))))
    order = np.argsort(pop.lower)
    lower, upper = pop.lower[order], pop.upper[order]
    density = pop.density_mass[index][order] / (upper - lower)
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
    edges = np.concatenate([lower, upper[-1:]])
    axes.stairs(density, edges, fill=True, alpha=0.6)
    axes.set_xlabel(f"v ({pop.unit})")
    axes.set_ylabel(f"density (1/{pop.unit})")
    axes.set_title(f"{name} at t = {pop.density_time[index]:.4g} s")
    _save(figure, path)
    plt.close(figure)
