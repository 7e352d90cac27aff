"""The one-dimensional strip mesh.

Trajectories of dv/dt = F(v) are sampled every mesh step dt; the interval between two
consecutive points is a cell, so deterministic motion is exactly one cell per step.
Between fixed points F keeps its sign, and each such stretch is one strip, ordered
in the direction of motion:

* a strip that reaches the threshold is integrated backward from it, so the threshold
  is exactly a cell boundary and mass leaving the last cell fires;
* a strip that ends at a stable fixed point (or leaves the range at its lowest end)
  stops where the remaining distance is below `stationary_width`; what is left around
  the fixed point is a stationary cell, into which the strip empties.

Cells are stored in logical order: the cells of each strip in the direction of motion,
then the stationary cells. Each strip cell also records where it is half a step later
(`midstep_lower/upper`): jumps are applied once every `jump_interval` steps, at the
middle of that block of steps, which makes the splitting of drift and jumps second
order in the block's length (see meshgen.transitions_1d).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import MeshError
from .integration import fixed_points, flow_map, sample_trajectory

THRESHOLD = -1  # strip_terminal value: mass leaving the strip crosses the threshold
DRIFT_SAMPLES = 4001


@dataclass(frozen=True)
class Strips1DMesh:
    dt: float
    lowest: float
    threshold: float
    lower: np.ndarray
    upper: np.ndarray
    midstep_lower: np.ndarray
    midstep_upper: np.ndarray
    strip_first: np.ndarray
    strip_length: np.ndarray
    strip_terminal: np.ndarray
    fixed_points: tuple[tuple[float, bool], ...]
    jump_interval: int = 1

    @property
    def n_cells(self) -> int:
        return len(self.lower)

    @property
    def is_stationary(self) -> np.ndarray:
        flags = np.ones(self.n_cells, dtype=bool)
        for first, length in zip(self.strip_first, self.strip_length):
            flags[first:first + length] = False
        return flags


def accuracy_range(drift: Callable, lowest: float, threshold: float,
                   reset: float) -> tuple[float, float]:
    """Where cells must be small against the efficacies: from the reset to the
    threshold, or to the highest unstable fixed point if there is one (EIF, QIF with
    I < 0): above it a neuron runs away to threshold by itself, so how finely jumps
    are resolved there hardly changes the rate, while its fast drift would otherwise
    force a tiny dt on the whole mesh."""
    start = min(max(reset, lowest), threshold)
    if start >= threshold:
        start = lowest
    unstable = [p for p, stable in fixed_points(drift, lowest, threshold) if not stable and p > start]
    return start, max(unstable) if unstable else threshold


def sampled_drift(drift: Callable, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """(v, F(v)) at DRIFT_SAMPLES points over [low, high] (see accuracy_range), F
    checked finite."""
    grid = np.linspace(low, high, DRIFT_SAMPLES)
    with np.errstate(all="ignore"):
        speed = np.asarray(drift(grid), dtype=float) * np.ones_like(grid)
    if not np.all(np.isfinite(speed)):
        raise MeshError("the model's derivative is not finite between reset and threshold")
    return grid, speed


def automatic_dt(drift: Callable, low: float, high: float, smallest_efficacy: float,
                 cells_per_efficacy: float) -> float:
    """The mesh step that makes cells in [low, high] (see accuracy_range) no wider
    than |smallest efficacy| / cells_per_efficacy: a cell is |F(v)| dt wide, so
    dt = |h_min| / (cells_per_efficacy * max |F| over [low, high])."""
    fastest = float(np.abs(sampled_drift(drift, low, high)[1]).max())
    if fastest == 0.0:
        raise MeshError("the model does not move between reset and threshold; give [mesh] dt")
    return abs(smallest_efficacy) / (cells_per_efficacy * fastest)


def build_strip_mesh(drift: Callable, lowest: float, threshold: float, dt: float,
                     stationary_width: float, max_cells: int, jump_interval: int = 1) -> Strips1DMesh:
    points = fixed_points(drift, lowest, threshold)
    breaks = [lowest] + [p for p, _ in points] + [threshold]
    strips: list[np.ndarray] = []  # each: motion-ordered points
    for a, b in zip(breaks[:-1], breaks[1:]):
        if b - a <= 2 * stationary_width:
            continue
        upward = float(drift(np.array([0.5 * (a + b)]))[0]) > 0
        budget = max_cells - sum(len(s) for s in strips)
        strip = _strip_points(drift, a, b, upward, lowest, threshold, dt, stationary_width, budget)
        if len(strip) >= 2:
            strips.append(strip)

    # Past threshold a neuron has fired: only how much of a cell lies there matters,
    # so the flow keeps its threshold speed rather than running away (EIF, QIF).
    def beyond_threshold(v):
        return drift(np.minimum(v, threshold))

    lower, upper, mid_lower, mid_upper = [], [], [], []
    first, length, ends = [], [], []
    count = 0
    for strip in strips:
        middle = flow_map(beyond_threshold, strip, 0.5 * jump_interval * dt)
        lower.append(np.minimum(strip[:-1], strip[1:]))
        upper.append(np.maximum(strip[:-1], strip[1:]))
        mid_lower.append(np.minimum(middle[:-1], middle[1:]))
        mid_upper.append(np.maximum(middle[:-1], middle[1:]))
        first.append(count)
        length.append(len(strip) - 1)
        ends.append(strip[-1])
        count += len(strip) - 1
    if count > max_cells:
        raise MeshError(f"the mesh needs {count} cells, more than [mesh] max_cells = {max_cells}")

    # Whatever the strips leave uncovered (around fixed points, at the lowest edge)
    # becomes a stationary cell.
    edges = sorted((lo, hi) for lo, hi in zip(np.concatenate(lower or [[]]),
                                               np.concatenate(upper or [[]])))
    stationary = []
    cursor = lowest
    tolerance = 1e-12 * max(1.0, abs(lowest), abs(threshold))
    for lo, hi in edges:
        if lo > cursor + tolerance:
            stationary.append((cursor, lo))
        cursor = max(cursor, hi)
    if threshold > cursor + tolerance:
        stationary.append((cursor, threshold))
    for lo, hi in stationary:
        lower.append(np.array([lo]))
        upper.append(np.array([hi]))
        mid_lower.append(np.array([lo]))
        mid_upper.append(np.array([hi]))

    lower_all = np.concatenate(lower)
    upper_all = np.concatenate(upper)
    if np.any(upper_all - lower_all <= 0):
        raise MeshError("the mesh has cells of zero width; lower [mesh] dt or widen v_range")
    order = np.argsort(lower_all)
    if np.any(lower_all[order][1:] < upper_all[order][:-1] - tolerance):
        raise MeshError("mesh cells overlap; the model's flow could not be meshed")

    terminals = []
    for end in ends:
        if abs(end - threshold) <= tolerance:
            terminals.append(THRESHOLD)
            continue
        for index, (lo, hi) in enumerate(stationary):
            if lo - tolerance <= end <= hi + tolerance:
                terminals.append(count + index)
                break
        else:
            raise MeshError(f"a strip ends at v = {end:.6g} with no cell to empty into")
    return Strips1DMesh(
        dt=dt, lowest=lowest, threshold=threshold, lower=lower_all, upper=upper_all,
        midstep_lower=np.concatenate(mid_lower), midstep_upper=np.concatenate(mid_upper),
        strip_first=np.array(first, dtype=np.int64), strip_length=np.array(length, dtype=np.int64),
        strip_terminal=np.array(terminals, dtype=np.int64), fixed_points=tuple(points),
        jump_interval=jump_interval)


def _strip_points(drift, a, b, upward, lowest, threshold, dt, width, budget) -> np.ndarray:
    """Motion-ordered points of the strip over the stretch (a, b) between breaks."""
    a_is_fixed = a != lowest
    b_is_fixed = b != threshold
    if upward and not b_is_fixed:
        # Ends at threshold: integrate backward from it so threshold is a boundary.
        stop_at = (lambda v: v - (a + width)) if a_is_fixed else (lambda v: v - lowest)
        points = sample_trajectory(drift, threshold, -1, dt, stop_at, budget)
        points = points[:-1] if a_is_fixed else _clip_last(points, lowest)
        return points[::-1]
    if upward:
        start = a + width if a_is_fixed else lowest
        points = sample_trajectory(drift, start, +1, dt, lambda v: (b - width) - v, budget)
        return points[:-1]
    # Downward.
    start = threshold if not b_is_fixed else b - width
    stop_at = (lambda v: v - (a + width)) if a_is_fixed else (lambda v: v - lowest)
    points = sample_trajectory(drift, start, +1, dt, stop_at, budget)
    # Toward the lowest edge: the partial last cell becomes the stationary edge cell.
    return points[:-1]


def _clip_last(points: np.ndarray, lowest: float) -> np.ndarray:
    points = points.copy()
    points[-1] = max(points[-1], lowest)
    if len(points) >= 2 and points[-1] >= points[-2]:
        points = points[:-1]
    return points
