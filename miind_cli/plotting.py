"""Figures of `miind run` outputs (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meshgen.atomic_file import atomic_output

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


def plot_density(output: RunOutput, path: str | Path, name: str, index: int) -> None:
    """The density of population `name` at snapshot `index` (see select_snapshot)."""
    pop = output.populations[name]
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
