"""The four edges of a 2D mesh's range box, where mass that would leave it is clamped.

Mass that motion, a jump or the reset would carry out of the box on a side other
than the threshold is put in the nearest edge cell instead ("clamped"). Every
mechanism reports, per source cell, the fraction clamped and the edge it went out
through, so `miind mesh` and `miind run` can say which range to widen. Edges are
numbered `2 * axis + high`: for variables (v, w), 0 "v low", 1 "v high",
2 "w low", 3 "w high". -1 marks a cell that clamps nothing.
"""

from __future__ import annotations

import numpy as np

N_EDGES = 4
NO_EDGE = -1
# What put the mass into an edge cell (the rows of `miind run`'s accounting).
CLAMP_MECHANISMS = ("motion", "jump", "reset")


def edge_names(variables) -> list[str]:
    """['v low', 'v high', 'w low', 'w high'] for variables ('v', 'w')."""
    return [f"{name} {end}" for name in variables for end in ("low", "high")]


def edge_index(axis: int, high: bool) -> int:
    return 2 * int(axis) + int(bool(high))


def outward_edge(bounds: np.ndarray, size: tuple[int, int], top_fires: bool) -> np.ndarray:
    """The edge each box (rows u_lo, s_lo, u_hi, s_hi, in cell units of a box
    [0, size[0]] x [0, size[1]], as shapely.bounds gives) sticks out of farthest.
    With `top_fires` nothing is clamped past v's top (it fires there), so that edge
    is never chosen. A box inside the box gets the edge nearest to it."""
    bounds = np.atleast_2d(np.asarray(bounds, dtype=float))
    u_lo, s_lo, u_hi, s_hi = bounds.T
    n_v, n_w = size
    beyond = np.stack([-u_lo, u_hi - n_v, -s_lo, s_hi - n_w])
    if top_fires:
        beyond[1] = -np.inf
    nearest = np.stack([u_lo, n_v - u_hi, s_lo, n_w - s_hi])
    if top_fires:
        nearest[1] = np.inf
    return np.where(beyond.max(axis=0) > 0, np.argmax(beyond, axis=0),
                    np.argmin(nearest, axis=0)).astype(np.int8)


def edges_of_clamped(clamped: np.ndarray, edge) -> np.ndarray:
    """`edge` where anything is clamped, NO_EDGE elsewhere (int8)."""
    return np.where(np.asarray(clamped) > 0.0, edge, NO_EDGE).astype(np.int8)


def nearest_edge(u: np.ndarray, s: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The edge nearest each point (cell units of a box [0, size[0]] x [0, size[1]]);
    ties go to the lower-numbered edge."""
    n_v, n_w = size
    distance = np.stack([u, n_v - u, s, n_w - s])
    return np.argmin(distance, axis=0).astype(np.int8)
