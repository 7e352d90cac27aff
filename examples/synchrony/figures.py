"""The study's figures: synchrony against coupling, one column per pattern; rasters of
chosen points, like the Brian2 study's."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from meshgen.formats.run_output_reader import read_output
from miind_cli.plotting import pyplot, save_figure

from .cases import POPULATION

STYLES = {False: dict(color="k", linestyle="-", marker="o", label="no background"),
          True: dict(color="tab:red", linestyle="--", marker="s", label="background")}
# The top of the figure kept for its title, above the panels' own.
TITLE_ROOM = (0.0, 0.0, 1.0, 0.985)
# The rasters show the end of the run, where the measures are taken: 200 ms hold 5
# cycles of the regular and bursting patterns and 15 of fast spiking.
RASTER_SPAN = 0.2  # s
# Groups firing in turn 1 ms apart at up to 700 Hz fill 200 ms with ink: their panels
# show the last GROUPS_INTERVALS mean intervals between spikes (at least 20 ms),
# neurons sorted by their last spike, so that each group is a block.
GROUPS_INTERVALS = 4
GROUPS_SPAN = 0.02  # s


# The rows of one coupling kind: (key, index into a list value, axis label).
MEASURES = (("chi", None, "chi (Golomb-Rinzel)"), ("sttc", None, "STTC (+-2 ms)"),
            ("locking", 0, "phase locking R\n(m: spikes in m groups)"))
# Strengths spanning more than this ratio are drawn on a log axis (linear below the
# weakest non-zero one, so that the uncoupled point stays on it): the gap
# conductances run from 1 nS to 1 uS, the excitatory couplings over less than 100.
LOG_AXIS_RATIO = 100.0


def plot_sweep(rows: list[dict], n_neurons: int, path: Path, title: str) -> None:
    """chi, STTC and phase locking R against coupling, a column per pattern and a block
    of three rows per coupling kind, with and without background; a point whose spikes
    fall in m >= 2 groups is labelled "m", a runaway one (no measure) marked on the
    axis."""
    plt = pyplot()
    patterns = list(dict.fromkeys(r["label"] for r in rows))
    couplings = list(dict.fromkeys(r["coupling"] for r in rows))
    figure, axes = plt.subplots(len(MEASURES) * len(couplings), len(patterns),
                                figsize=(4.2 * len(patterns), 2.8 * len(MEASURES) * len(couplings)),
                                squeeze=False)
    for block, coupling in enumerate(couplings):
        block_axes = axes[len(MEASURES) * block:len(MEASURES) * (block + 1)]
        for column, pattern in enumerate(patterns):
            case_rows = [r for r in rows if r["coupling"] == coupling and r["label"] == pattern]
            if case_rows:
                _plot_case(block_axes[:, column], case_rows, n_neurons)
                block_axes[0, column].set_title(f"{pattern}, {coupling}", fontsize=10)
            else:
                for ax in block_axes[:, column]:
                    ax.set_visible(False)
        for ax, (_, _, label) in zip(block_axes[:, 0], MEASURES):
            ax.set_ylabel(label)
        block_axes[0, 0].legend(fontsize=8)
        block_axes[-1, 0].legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout(rect=TITLE_ROOM)
    save_figure(figure, path)
    plt.close(figure)


def _plot_case(axes, rows: list[dict], n_neurons: int) -> None:
    """One case's column of MEASURES."""
    for background in (False, True):
        points = [r for r in rows if r["background"] == background]
        if not points:
            continue
        strength = np.array([p["strength"] for p in points])
        for ax, (key, index, _) in zip(axes, MEASURES):
            ax.plot(strength, _values(points, key, index), **STYLES[background])
        locking = _values(points, "locking", 0)
        for p, s, r in zip(points, strength, locking):
            if p["clusters"] >= 2:
                axes[-1].annotate(str(p["clusters"]), (s, r), textcoords="offset points",
                                  xytext=(3, 4), color=STYLES[background]["color"])
            if p["status"] == "runaway":
                axes[-1].plot([s], [0.0], "x", color=STYLES[background]["color"])
    axes[0].axhline(1 / math.sqrt(n_neurons), color="0.6", linewidth=0.8, label="1/sqrt(N)")
    axes[-1].axhline(math.sqrt(math.pi / (4 * n_neurons)), color="0.6", linewidth=0.8,
                     label="independent")
    axes[-1].set_xlabel(rows[0]["strength_label"], fontsize=8)
    coupled = sorted({r["strength"] for r in rows} - {0.0})
    for ax in axes:
        if coupled and coupled[-1] > LOG_AXIS_RATIO * coupled[0]:
            ax.set_xscale("symlog", linthresh=coupled[0])
            ax.set_xlim(-0.2 * coupled[0], 1.5 * coupled[-1])
        ax.set_ylim(-0.1, 1.05)
        ax.grid(alpha=0.3)


def plot_rasters(panels: list[list[tuple[str, Path, bool]]], path: Path, title: str) -> None:
    """A grid of rasters, `panels[row][column]` = (label, run output, grouped), each
    the last RASTER_SPAN of its run, or if grouped a few intervals with the neurons
    sorted by their last spike (see GROUPS_INTERVALS)."""
    plt = pyplot()
    n_rows, n_columns = len(panels), max(len(row) for row in panels)
    figure, axes = plt.subplots(n_rows, n_columns, figsize=(3.6 * n_columns, 2.6 * n_rows),
                                squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for r, row in enumerate(panels):
        for c, (label, output_path, grouped) in enumerate(row):
            ax = axes[r, c]
            ax.set_visible(True)
            output = read_output(output_path)
            pop = output.populations[POPULATION]
            t_end = float(output.time[-1])
            span = RASTER_SPAN
            rows = np.arange(pop.n_neurons)
            if grouped:
                last = np.full(pop.n_neurons, -np.inf)
                np.maximum.at(last, pop.spike_ids, pop.spike_times)
                rows[np.argsort(last, kind="stable")] = np.arange(pop.n_neurons)
                rate = np.count_nonzero(pop.spike_times >= t_end / 2) / (pop.n_neurons * t_end / 2)
                span = min(RASTER_SPAN, max(GROUPS_SPAN, GROUPS_INTERVALS / max(rate, 1e-9)))
            shown = pop.spike_times >= t_end - span
            ax.plot(pop.spike_times[shown] * 1e3, rows[pop.spike_ids[shown]], "|",
                    markersize=3, color="k", rasterized=True)
            ax.set_xlim((t_end - span) * 1e3, t_end * 1e3)
            ax.set_ylim(-0.5, pop.n_neurons - 0.5)
            ax.set_title(label, fontsize=8)
            ax.set_xlabel("t (ms)", fontsize=8)
            ax.set_ylabel("neuron, by last spike" if grouped else "neuron", fontsize=8)
    figure.suptitle(title)
    figure.tight_layout(rect=TITLE_ROOM)
    save_figure(figure, path)
    plt.close(figure)


def _values(points: list[dict], key: str, index: int | None = None) -> np.ndarray:
    values = [p[key] if index is None else p[key][index] for p in points]
    return np.array([np.nan if v is None else v for v in values], dtype=float)
