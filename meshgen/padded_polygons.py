"""Cells of 2D strip meshes as stored: polygons of (n_cells, k, 2) corners, a cell
with fewer than k corners padded by repeating one. A repeated corner makes an edge of
no length, which adds no area and straddles no line, so these work on the padded
array as it is."""

from __future__ import annotations

import numpy as np


def polygon_areas(vertices: np.ndarray) -> np.ndarray:
    """(n_cells,) areas by the shoelace formula; the corners may run either way round."""
    x, y = vertices[..., 0], vertices[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))


def edge_crossings(vertices: np.ndarray, along: int, at: float) -> tuple[np.ndarray, np.ndarray]:
    """For each edge (corner k to corner k + 1) of each polygon: whether it straddles
    the line where coordinate `along` equals `at`, and the other coordinate where it
    crosses that line (meaningless where it does not straddle). Straddling is half
    open, so a point on an edge shared by two cells lies in exactly one of them."""
    start, end = vertices, np.roll(vertices, -1, axis=1)
    other = 1 - along
    straddles = (start[..., along] > at) != (end[..., along] > at)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = start[..., other] + (at - start[..., along]) * \
            (end[..., other] - start[..., other]) / (end[..., along] - start[..., along])
    return straddles, crossing
