"""Cells and placing mass on them: light (numpy only), shared by the mesh builder, the
artifacts and the solver."""

from __future__ import annotations

import numpy as np


def split_between_cells(lower: np.ndarray, upper: np.ndarray, value: float):
    """Place unit mass at `value`: split linearly between the two cells whose centres
    bracket it, so the mean position is exactly `value` (at the edges of the mesh,
    all of it goes to the outermost cell). Returns (cells, fractions)."""
    centres = 0.5 * (lower + upper)
    order = np.argsort(centres)
    sorted_centres = centres[order]
    right = int(np.searchsorted(sorted_centres, value))
    if right == 0 or right == len(order):
        index = int(order[min(right, len(order) - 1)])
        return np.array([index], dtype=np.int64), np.array([1.0])
    left_cell, right_cell = int(order[right - 1]), int(order[right])
    span = sorted_centres[right] - sorted_centres[right - 1]
    weight_right = (value - sorted_centres[right - 1]) / span
    return (np.array([left_cell, right_cell], dtype=np.int64),
            np.array([1.0 - weight_right, weight_right]))


def equal_cell_edges(lowest: float, width: float, n_cells: int, threshold: float) -> np.ndarray:
    """The n_cells + 1 edges of equal cells of `width` from `lowest`, the last exactly at
    `threshold` (lowest + n_cells * width may round beside it)."""
    edges = lowest + width * np.arange(n_cells + 1)
    edges[-1] = threshold
    return edges
