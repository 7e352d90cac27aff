"""Integrating the model's flow: fixed points, trajectories sampled every mesh step,
and the flow map of many points at once. scipy's solve_ivp at tight tolerances;
nothing here knows about cells."""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from .errors import MeshError

# Relative tolerance of trajectory integration. Mesh points must be placed far more
# accurately than the cells are wide (cells are ~1e-3 of the range at the finest), so
# integration error never shows up as a misplaced cell boundary.
RTOL = 1e-11
FIXED_POINT_SAMPLES = 20_001


def fixed_points(drift: Callable, lowest: float, highest: float) -> list[tuple[float, bool]]:
    """Zeros of a 1D drift strictly inside (lowest, highest), with their stability
    (True = stable). Found as sign changes on a fine grid, refined by brentq."""
    grid = np.linspace(lowest, highest, FIXED_POINT_SAMPLES)
    signs = np.sign(_finite_drift(drift, grid))
    points = []
    for i in range(1, len(grid) - 1):
        if signs[i] == 0 and signs[i - 1] != 0:
            points.append((float(grid[i]), bool(signs[i - 1] > 0)))
    for i in np.flatnonzero(signs[:-1] * signs[1:] < 0):
        root = brentq(lambda x: float(drift(np.array([x]))[0]), grid[i], grid[i + 1],
                      xtol=1e-14 * max(1.0, abs(grid[i])), rtol=1e-15)
        points.append((float(root), bool(signs[i] > 0)))
    return sorted(points)


def _finite_drift(drift: Callable, points: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        values = np.asarray(drift(points), dtype=float) * np.ones_like(points)
    bad = ~np.isfinite(values)
    if bad.any():
        where = points[bad]
        raise MeshError(f"the model's derivative is not finite for v in "
                        f"[{where.min():.6g}, {where.max():.6g}] inside the mesh range")
    return values


def sample_trajectory(drift: Callable, start: float, direction: int, dt: float,
                      stop: Callable[[float], float], max_points: int) -> np.ndarray:
    """Points of the trajectory from `start`, one `dt` apart in time (backward in
    time when direction = -1), up to the first point past where `stop(v)` changes
    sign. Returns the points including `start`; the last one is the first at which
    stop(v) <= 0 (callers clip or drop it)."""
    def rhs(t, y):
        return direction * drift(y)

    def event(t, y):
        return stop(float(y[0]))
    event.terminal = True

    horizon = max_points * dt
    scale = max(1.0, abs(start))
    with np.errstate(all="ignore"):
        solution = solve_ivp(rhs, (0.0, horizon), [start], method="DOP853", rtol=RTOL,
                             atol=RTOL * scale, dense_output=True, events=event)
    if solution.status == -1:
        raise MeshError(f"integration from v = {start:.6g} failed: {solution.message}")
    if solution.status == 0:
        raise MeshError(f"the trajectory from v = {start:.6g} needs more than {max_points} "
                        "cells; raise [mesh] max_cells or dt, or narrow v_range")
    t_stop = solution.t_events[0][0]
    count = int(np.floor(t_stop / dt)) + 1
    times = np.arange(count + 1) * dt
    times[-1] = min(times[-1], solution.t[-1])
    points = solution.sol(times)[0]
    points[-1] = solution.y_events[0][0][0] if times[-1] >= t_stop else points[-1]
    if not np.all(np.isfinite(points)):
        raise MeshError(f"the trajectory from v = {start:.6g} diverged")
    return points


def flow_map(drift: Callable, points: np.ndarray, duration: float) -> np.ndarray:
    """Where each point is after `duration` (s), all points integrated together."""
    points = np.asarray(points, dtype=float)
    if points.size == 0:
        return points.copy()
    scale = max(1.0, float(np.max(np.abs(points))))
    with np.errstate(all="ignore"):
        solution = solve_ivp(lambda t, y: drift(y), (0.0, duration), points, method="DOP853",
                             rtol=RTOL, atol=RTOL * scale)
    if solution.status != 0 or not np.all(np.isfinite(solution.y[:, -1])):
        raise MeshError("the flow diverged within half a mesh step of the mesh points; "
                        "lower the threshold or the mesh dt")
    return solution.y[:, -1]
