"""The model's flow over a 2D mesh, in cell units: where points go in one mesh step.

Both 2D methods move cells by carrying points of their outlines one step dt of the
deterministic flow (meshgen.grid2d_motion, meshgen.strips2d_matrices; the strip
method also traces its strips with it, meshgen.strips2d_tracing). Points are in the
grid's units (cell (i, j) is [i, i+1] x [j, j+1], meshgen.regular_grid.Grid.to_units)
and are integrated in model units by fixed-step RK4, all at once. Past the threshold
v keeps the speed it has on the threshold and never turns back (see
meshgen.grid2d_motion.motion_matrix). Also here: the error for a flow that leaves the
finite numbers, and the region whose trajectories reach the threshold within dt.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from .errors import MeshError
from .models import NeuronModel

# RK4 steps per mesh step. Measured on AdEx (Brette & Gerstner parameters) on a
# 300 x 300 grid over v in [-80, -40.4] mV, w in [-100, 400] pA, against solve_ivp
# (DOP853, rtol 1e-12): with dt = 0.1 ms and 8 substeps, points that stay below the
# threshold land within 6e-6 cells of it (4e-5 with 4 substeps, 5e-7 with 16); at
# dt = 1 ms within 6e-4 cells. Points that cross the threshold are only second order
# (the drift has a kink there, see motion_matrix): within 0.02 cells at 0.1 ms, which
# matters only for where the fired part of a moved cell ends, not for how much fires.
DEFAULT_SUBSTEPS = 8
# Flow points processed at once: bounds the memory of the intermediate arrays, not the
# result.
POINT_BATCH = 2 ** 20


def flow_in_units(model, grid, u, s, dt, substeps, threshold):
    """Grid-unit positions after one step dt, by fixed-step RK4 on all points."""
    drift = _drift_for_mesh(model, threshold)
    h = dt / substeps
    out_u, out_s = np.empty_like(u), np.empty_like(s)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, len(u), POINT_BATCH):
            part = slice(start, start + POINT_BATCH)
            v, w = grid.from_units(0, u[part]), grid.from_units(1, s[part])
            for _ in range(substeps):
                k1v, k1w = drift(v, w)
                k2v, k2w = drift(v + 0.5 * h * k1v, w + 0.5 * h * k1w)
                k3v, k3w = drift(v + 0.5 * h * k2v, w + 0.5 * h * k2w)
                k4v, k4w = drift(v + h * k3v, w + h * k3w)
                v = v + (h / 6.0) * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
                w = w + (h / 6.0) * (k1w + 2.0 * k2w + 2.0 * k3w + k4w)
            out_u[part], out_s[part] = grid.to_units(0, v), grid.to_units(1, w)
    return out_u, out_s


def _drift_for_mesh(model: NeuronModel, threshold: float | None):
    """The model's drift as two arrays; past the threshold v keeps its threshold speed
    and cannot come back (see meshgen.grid2d_motion.motion_matrix)."""
    def drift(v, w):
        if threshold is None:
            dv, dw = model.drift(v, w)
            return _as_array(dv, v), _as_array(dw, v)
        beyond = v > threshold
        dv, dw = model.drift(np.minimum(v, threshold), w)
        dv = _as_array(dv, v)
        return np.where(beyond, np.maximum(dv, 0.0), dv), _as_array(dw, v)
    return drift


def _as_array(value, like):
    return np.broadcast_to(np.asarray(value, dtype=float), like.shape)


def crossing_region(model, grid, dt, substeps, threshold, points_per_cell, reach):
    """The region (grid units) whose trajectories reach the threshold within dt: right
    of the curve the threshold line comes from (the line's points integrated dt
    backward), closed far right of the grid. The line is sampled `points_per_cell`
    times per cell over the grid's w range widened by `reach` (the farthest any point
    moves along w in dt, in cells) so every crossing is covered. Returns the region
    and the lowest v (grid units) it reaches."""
    nv, nw = grid.resolution
    pad = math.ceil(reach) + 1
    s = np.arange(-pad * points_per_cell, (nw + pad) * points_per_cell + 1) / points_per_cell
    theta = float(grid.to_units(0, threshold))
    back_u, back_s = flow_in_units(model, grid, np.full_like(s, theta), s, -dt, substeps,
                                    threshold)
    check_finite(grid, np.full_like(s, theta), s, back_u, back_s, -dt)
    right = max(float(nv), theta) + 1.0
    ring = np.concatenate([np.stack([back_u, back_s], -1),
                           [[right, back_s[-1]], [right, back_s[0]], [back_u[0], back_s[0]]]])
    region = shapely.polygons(ring)
    if not shapely.is_valid(region):
        region = shapely.make_valid(region, method="structure", keep_collapsed=False)
    return region, float(np.floor(back_u.min()))


def check_finite(grid, u, s, moved_u, moved_s, dt):
    """A MeshError naming the box of (v, w) whose points (grid units u, s) leave the
    finite numbers within one step dt."""
    bad = ~(np.isfinite(moved_u) & np.isfinite(moved_s))
    if bad.any():
        report_divergence(grid, np.array([[u[bad].min(), u[bad].max(), s[bad].min(),
                                            s[bad].max()]]), dt)


def report_divergence(grid, boxes, dt):
    """Raise the MeshError for the union of (u_lo, u_hi, s_lo, s_hi) boxes, in v and w."""
    v = grid.from_units(0, [boxes[:, 0].min(), boxes[:, 1].max()])
    w = grid.from_units(1, [boxes[:, 2].min(), boxes[:, 3].max()])
    box = ", ".join(f"{name} in [{lo:.4g}, {hi:.4g}]"
                    for name, (lo, hi) in zip(grid.variables, (v, w)))
    raise MeshError(f"the flow diverges within one step dt = {dt:g} s from {box} "
                    "(non-finite state); use a smaller dt or narrow the ranges", key="mesh.dt")
