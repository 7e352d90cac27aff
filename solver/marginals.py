"""The marginal densities a 2D density population writes with its snapshots (plain
numpy: a run imports neither scipy nor shapely), and the spike lines drawn on them."""

from __future__ import annotations

import math

import numpy as np

from meshgen.regular_grid import Grid


def spike_lines(artifact) -> tuple[float, float]:
    """(threshold, reset value of v) of a mesh artifact's model, NaN where it has none."""
    spike = artifact.model.get("spike", {})
    threshold = spike.get("threshold")
    reset = spike.get("reset")
    reset_v = reset.get(artifact.model["variables"][0]) if isinstance(reset, dict) else reset
    return (math.nan if threshold is None else float(threshold),
            math.nan if reset_v is None else float(reset_v))


def grid_marginals(grid: Grid, stacked: np.ndarray):
    """(variable, marginal density (k, n_bins), bin edges) per variable of a grid's
    snapshots `stacked` (k, n_cells), v fastest."""
    n_v, n_w = grid.resolution
    planes = stacked.reshape(len(stacked), n_w, n_v)
    for axis, (variable, edges, width) in enumerate(zip(grid.variables, grid.edges, grid.widths)):
        # planes is (k, w, v): v's marginal sums over axis 1, w's over axis 2.
        summed = planes.sum(axis=1 if axis == 0 else 2)
        yield variable, summed / width, edges


def polygon_marginals(box: Grid, vertices: np.ndarray, stacked: np.ndarray):
    """As grid_marginals for snapshots `stacked` (k, n_cells) on polygon cells
    `vertices` (n_cells, k, 2), over the bins of the range box `box`."""
    for axis, (variable, edges, width) in enumerate(zip(box.variables, box.edges, box.widths)):
        cell, bins, share = extent_bin_shares(vertices[..., axis].min(axis=1),
                                              vertices[..., axis].max(axis=1), edges)
        summed = np.zeros((len(edges) - 1, len(stacked)))
        np.add.at(summed, bins, (stacked[:, cell] * share).T)
        yield variable, summed.T / width, edges


def extent_bin_shares(lower: np.ndarray, upper: np.ndarray, edges: np.ndarray):
    """(cell, bin, share) of every (cell, bin) pair: the share of each cell's mass in
    each bin when its mass is spread uniformly over its extent [lower, upper], clipped
    to the bins (what lies outside goes to the end bins, so every cell's shares sum to
    1); a cell of no extent puts all of it in the bin holding it."""
    n_bins = len(edges) - 1
    lower = np.clip(lower, edges[0], edges[-1])
    upper = np.clip(upper, edges[0], edges[-1])
    first = np.clip(np.searchsorted(edges, lower, side="right") - 1, 0, n_bins - 1)
    last = np.clip(np.searchsorted(edges, upper, side="left") - 1, first, n_bins - 1)
    counts = last - first + 1
    # One entry per (cell, bin it overlaps): bins first, first + 1, ..., last of each.
    cell = np.repeat(np.arange(len(lower)), counts)
    entry_of_first = np.repeat(np.cumsum(counts) - counts, counts)
    bins = np.repeat(first, counts) + np.arange(counts.sum()) - entry_of_first
    overlap = np.minimum(upper[cell], edges[bins + 1]) - np.maximum(lower[cell], edges[bins])
    share = np.where(upper[cell] > lower[cell], np.maximum(overlap, 0.0), 1.0)
    share /= np.bincount(cell, weights=share, minlength=len(lower))[cell]
    return cell, bins, share
