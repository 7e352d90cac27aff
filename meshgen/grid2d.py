"""The grid method in two dimensions: a regular grid over (v, w) and its matrices.

A density on the grid is one number per cell: the probability mass in it, spread
evenly over the cell. Cells are numbered with the first variable fastest,

    cell = i_v + n_v * i_w,

so `density.reshape(n_w, n_v)[i_w, i_v]` is the mass of cell (i_v, i_w) (numpy's C
order with v as the column index, the way `imshow` draws v across and w up).

Three sparse matrices, all column-stochastic (column = source cell), move that mass:

* `motion_matrix`: one mesh step dt of the deterministic flow. Each cell's boundary
  is carried along by the flow and the moved polygon is overlapped with the grid.
* `jump_matrix`: a synaptic jump of fixed size along one axis, a fractional shift.
* `reset_mapping`: where the mass that fires from each cell re-enters.

Motion and jumps also return `fired` (per source cell, the fraction that crosses
the threshold) and `clamped` (the fraction that left the grid on another side and
was put in the nearest boundary cell instead of being lost); for every column,
matrix column sum + fired = 1 to rounding (1e-12 is checked). One step of a
population without refractoriness is then

    fired_mass = fired * p;  p = T @ p + R @ fired_mass;  rate = fired_mass.sum() / dt.

Everything here is plain data in and out (numpy arrays, scipy CSC matrices); no I/O.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
import shapely
from scipy import sparse

from .box_edges import NO_EDGE, edge_index, edges_of_clamped, outward_edge
from .errors import MeshError
from .regular_grid import Grid
from .models import NeuronModel
from .parallel import Workers, resolve_jobs
from .polygon_overlap import (ExtendedGrid, PolygonEdges, areas_in_cells, edges_of_geometries,
                              edges_of_rings, invalid_rings, repair, signed_areas)

# RK4 steps per mesh step. Measured on AdEx (Brette & Gerstner parameters) on a
# 300 x 300 grid over v in [-80, -40.4] mV, w in [-100, 400] pA, against solve_ivp
# (DOP853, rtol 1e-12): with dt = 0.1 ms and 8 substeps, points that stay below the
# threshold land within 6e-6 cells of it (4e-5 with 4 substeps, 5e-7 with 16); at
# dt = 1 ms within 6e-4 cells. Points that cross the threshold are only second order
# (the drift has a kink there, see motion_matrix): within 0.02 cells at 0.1 ms, which
# matters only for where the fired part of a moved cell ends, not for how much fires.
DEFAULT_SUBSTEPS = 8
# Points on each cell edge between its corners. A moved edge is a curve drawn as
# k + 1 chords; the matrix error falls as 1/(k + 1)^2. Same AdEx grids, largest
# difference of a column (L1, with fired) from k = 15: dt = 0.1 ms, 5e-7 (100 x 100)
# and 2e-7 (300 x 300) with k = 3, 9e-6 with k = 0 (straight edges); dt = 1 ms,
# 2.3e-4 with k = 3, 2.5e-3 with k = 0. k = 3 costs about twice k = 0 (1.0 s vs 0.4 s
# at 300 x 300). Neighbouring cells share their edge points, so the moved cells tile
# the moved domain with no gaps or overlaps whatever k is.
DEFAULT_EDGE_POINTS = 3
# A moved cell smaller than this (in cell areas) has collapsed numerically: a real
# flow shrinks a cell by exp(trace(J) dt), far from 1e-9 for any usable dt. Its mass
# goes where its centre goes.
MIN_MOVED_AREA = 1e-9
# Matrix entries below this fraction of a cell's mass are the rounding residue of
# edges that only touch a cell; they are dropped and their mass given back to the
# column by the renormalisation.
DROP_FRACTION = 1e-14
# Before renormalisation the overlaps of a moved cell must add up to its area to
# this relative accuracy (they are an exact partition, so anything worse is a bug).
PARTITION_TOLERANCE = 1e-9
# After renormalisation every column sum (with fired) is 1 to this.
COLUMN_SUM_TOLERANCE = 1e-12
# Cells (rounded down to whole rows, at least one) and flow points processed at once:
# they bound the memory of the intermediate arrays, not the result. A batch of cells
# is also one task for the worker processes of `jobs`.
CELL_BATCH = 2 ** 14
POINT_BATCH = 2 ** 20


class GridTransition(NamedTuple):
    """Where one step (motion or a jump) takes each cell's mass.

    matrix: (n, n) CSC, column j = the fractions of cell j's mass per target cell.
    fired: (n,) the fraction of each cell's mass that crossed the threshold.
    clamped: (n,) the part of each column's mass that left the grid on a side other
        than the threshold and was put in the nearest boundary cell (it is included
        in `matrix`; reported so a caller can warn that the grid is too small).
    degenerate: indices of cells whose moved polygon was twisted or collapsed and
        was repaired or replaced (see `motion_matrix`); always empty for jumps.
    clamped_edge: (n,) int8, the edge of the range box each cell's clamped mass went
        out through (meshgen.box_edges numbering; -1 where nothing is clamped).

    The reset mapping has the same form, with `fired` all zero.
    """

    matrix: sparse.csc_matrix
    fired: np.ndarray
    clamped: np.ndarray
    degenerate: np.ndarray
    clamped_edge: np.ndarray


# --- motion ----------------------------------------------------------------------------------

def motion_matrix(model: NeuronModel, grid: Grid, dt: float, threshold: float | None,
                  substeps: int = DEFAULT_SUBSTEPS, edge_points: int = DEFAULT_EDGE_POINTS,
                  progress: Callable[[int, int], None] | None = None,
                  jobs: int = 1) -> GridTransition:
    """Where each cell's mass goes in one mesh step `dt` of the model's flow.

    The cell's boundary (corners and `edge_points` points inside each edge) is
    integrated for dt with fixed-step RK4 (`substeps` steps), all points at once;
    the moved polygon is overlapped with the grid cells exactly
    (meshgen.polygon_overlap), and the mass that does not fire is shared out in
    proportion to those overlaps: it is taken to stay evenly spread over the moved
    cell, as the grid method does.

    Firing. `threshold` (normally model.threshold, where the grid's v range ends):
    the fraction of a cell that fires is the part of the cell whose trajectories
    reach it within dt, that is the cell's overlap with the region between the
    threshold line and its image dt back in time (integrated backward like the
    cells, from points as dense as the cells' edge points). That is exact however
    the flow stretches, where sharing by moved area is not: a neuron gains speed
    steeply near an AdEx threshold (the flow's divergence there is ~1.6e4 /s), so
    mass that crossed early would otherwise be counted at the density it had when
    it crossed. The rest of the cell's mass goes to the cells under the moved
    polygon's part below the threshold. Past the threshold the forward flow keeps the
    speed it has on the threshold and never turns back (v has no meaning there,
    a crossing must stay counted, and AdEx's exponential stays finite). None: nothing
    fires; mass above the grid is clamped like anywhere else.

    Outside the grid (below v's range, either side of w's, above v's range but
    below the threshold) the boundary cells extend to infinity, so mass that leaves
    the grid lands in the nearest boundary cell; the amount is reported in `clamped`.

    Degenerate moved polygons: a self-intersecting (twisted) polygon is repaired with
    shapely's make_valid ('structure': the area it encloses is kept), and its
    overlaps are those of the repaired polygon; a polygon that collapsed to less
    than MIN_MOVED_AREA cells, or turned inside out, sends its mass to the cell its
    moved centre lies in (or fires it, if the centre is past threshold). Both
    only happen when dt is far too large for the flow; their cells are listed in
    `degenerate` so the caller can warn.

    `progress(done, total)` is called after each band of rows of cells (CELL_BATCH
    cells or one row). `jobs` worker processes share the bands (0: every core; see
    meshgen.parallel); the bands do not depend on it, nor does the result, to the
    last bit.
    """
    _check_model(model, grid)
    if not (dt > 0 and math.isfinite(dt)):
        raise MeshError(f"dt must be positive and finite, got {dt!r}")
    if int(substeps) != substeps or substeps < 1:
        raise MeshError(f"substeps must be a positive integer, got {substeps!r}")
    if int(edge_points) != edge_points or edge_points < 0:
        raise MeshError(f"edge_points must be a non-negative integer, got {edge_points!r}")
    if threshold is not None and not (math.isfinite(threshold) and threshold > grid.ranges[0][0]):
        raise MeshError(f"the threshold ({threshold}) must lie above the grid's lowest "
                        f"{grid.variables[0]} ({grid.ranges[0][0]})")
    substeps, edge_points = int(substeps), int(edge_points)
    jobs = resolve_jobs(jobs)
    n, (nv, nw) = grid.n_cells, grid.resolution
    # Bands of whole rows of cells: each task integrates its own cells' boundary points
    # (the row of nodes and edge points between two bands twice), so nothing but the
    # matrix entries travels between processes.
    rows = max(1, CELL_BATCH // nv)
    bands = [(first, min(first + rows, nw)) for first in range(0, nw, rows)]
    finished = [0]

    def done():
        finished[0] += 1
        if progress is not None:
            progress(finished[0], len(bands))

    # In worker processes the model is rebuilt from its definition (compiled
    # equations cannot be pickled); here the caller's model is used as it is.
    context_args = (model if jobs == 1 else model.definition(), grid, dt, substeps, threshold,
                    edge_points)
    with Workers(jobs, _motion_context, context_args) as workers:
        parts = list(workers.map(_motion_of_band, bands, done))
    diverging = [part.diverging for part in parts if part.diverging is not None]
    if diverging:
        _report_divergence(grid, np.array(diverging), dt)
    if threshold is None:
        crossing = np.zeros(n)
    else:
        reach = max(part.reach for part in parts)
        crossing = _crossing_fractions(model, grid, dt, substeps, threshold, edge_points, reach)

    below = np.concatenate([part.below for part in parts])
    inside = np.concatenate([part.inside for part in parts])
    # What does not fire is shared by the overlaps below the threshold; a moved cell
    # (next to) entirely past it fires whole.
    gone = below <= MIN_MOVED_AREA
    keep = np.where(gone, 0.0, 1.0 - crossing) / np.where(gone, 1.0, below)
    fired = np.where(gone, 1.0, crossing)
    clamped = (below - inside) * keep
    cols = np.concatenate([first * nv + part.owner.astype(np.int64)
                           for (first, _), part in zip(bands, parts)])
    values = np.concatenate([part.area for part in parts]) * keep[cols]
    matrix = sparse.csc_matrix((values, (np.concatenate([part.rows for part in parts]), cols)),
                               shape=(n, n))
    matrix, fired = _normalise_columns(matrix, fired, "motion matrix")
    degenerate = np.concatenate([part.degenerate for part in parts])
    clamped = np.clip(clamped, 0.0, 1.0)
    edge = edges_of_clamped(clamped, np.concatenate([part.edge for part in parts]))
    return GridTransition(matrix=matrix, fired=fired, clamped=clamped, degenerate=degenerate,
                          clamped_edge=edge)


class _MotionContext(NamedTuple):
    model: NeuronModel
    grid: Grid
    dt: float
    substeps: int
    threshold: float | None
    edge_points: int
    targets: ExtendedGrid
    theta: float | None


def _motion_context(model, grid, dt, substeps, threshold, edge_points) -> _MotionContext:
    if isinstance(model, dict):
        from .model_file import model_from_definition
        model = model_from_definition(model)
    theta = None if threshold is None else float(grid.to_units(0, threshold))
    return _MotionContext(model, grid, dt, substeps, threshold, edge_points,
                          ExtendedGrid(*grid.resolution, x_top=theta), theta)


class _BandMotion(NamedTuple):
    """Where the cells of one band of rows move, before the threshold crossing is known.

    rows, owner, area: each overlap of a moved cell with a target cell (owner = the
    cell's index in the band); below, inside: per cell, its moved area below the
    threshold (0: past it, fires whole) and inside the grid proper (the rest of `below`
    is clamped). A collapsed cell counts as area 1 at its moved centre. edge: the
    edge of the box each moved cell sticks out of farthest (meshgen.box_edges), where
    its clamped mass goes out. reach: the farthest any point moved along w (cells);
    diverging: the (u, w) box of points whose flow left the finite numbers (then
    nothing else is computed), or None."""

    rows: np.ndarray
    owner: np.ndarray
    area: np.ndarray
    below: np.ndarray
    inside: np.ndarray
    degenerate: np.ndarray
    edge: np.ndarray
    reach: float
    diverging: tuple | None


def _motion_of_band(context: _MotionContext, band) -> _BandMotion:
    first, stop = band
    grid, targets, theta = context.grid, context.targets, context.theta
    nv = grid.resolution[0]
    lattice = _BoundaryLattice(nv, stop - first, context.edge_points, first)
    moved_u, moved_s = _flow_in_units(context.model, grid, lattice.u, lattice.s, context.dt,
                                      context.substeps, context.threshold)
    count = nv * (stop - first)
    bad = ~(np.isfinite(moved_u) & np.isfinite(moved_s))
    if bad.any():
        empty = np.zeros(0)
        box = (lattice.u[bad].min(), lattice.u[bad].max(), lattice.s[bad].min(),
               lattice.s[bad].max())
        return _BandMotion(empty.astype(np.int32), empty.astype(np.int32), empty,
                           np.zeros(count), np.zeros(count), np.zeros(0, np.int64),
                           np.full(count, NO_EDGE, np.int8), 0.0, box)
    local = np.arange(count)
    i_v, i_row = np.divmod(local, nv)[::-1]
    origin_u, origin_s = i_v.astype(float), (i_row + first).astype(float)
    ring = lattice.rings(i_v, i_row)
    rings = np.stack([moved_u[ring] - origin_u[:, None], moved_s[ring] - origin_s[:, None]], -1)
    moved_bounds = np.stack([moved_u[ring].min(axis=1), moved_s[ring].min(axis=1),
                             moved_u[ring].max(axis=1), moved_s[ring].max(axis=1)], axis=1)
    edges = edges_of_rings(rings)
    area = signed_areas(edges)
    rows, owners, areas, degenerate = [], [], [], []
    below = np.zeros(count)
    inside = np.zeros(count)

    twisted = np.zeros(count, dtype=bool)
    twisted[invalid_rings(rings)] = True
    collapsed = ~twisted & (area <= MIN_MOVED_AREA)
    groups = [(edges, np.flatnonzero(~twisted & ~collapsed), area)]
    if twisted.any():
        which = np.flatnonzero(twisted)
        repaired = edges_of_geometries(repair(rings[which]))
        repaired_area = np.zeros(count)
        repaired_area[which] = signed_areas(repaired)
        collapsed[which[repaired_area[which] <= MIN_MOVED_AREA]] = True
        groups.append((_renumber(repaired, which, count),
                       which[repaired_area[which] > MIN_MOVED_AREA], repaired_area))
        degenerate.append(which)

    for group_edges, members, group_area in groups:
        if len(members) == 0:
            continue
        found = targets.overlaps(group_edges, origin_u, origin_s, members)
        partition = np.abs(found.below + found.beyond - group_area[members])
        if np.any(partition > PARTITION_TOLERANCE * group_area[members]):
            worst = int(members[np.argmax(partition / group_area[members])])
            raise MeshError(f"motion matrix: the overlaps of cell {first * nv + worst} do "
                            "not add up to its moved area")
        below[members] = found.below
        inside[members] = found.inside
        rows.append(found.cell)
        owners.append(members[found.member])
        areas.append(found.area)

    if collapsed.any():
        # Its mass goes where its centre goes: one entry of area 1, clamped if the
        # centre left the grid, fired whole if it passed the threshold.
        which = np.flatnonzero(collapsed)
        centre = lattice.centre_index(which)
        cu, cs = moved_u[centre], moved_s[centre]
        stays = np.ones(len(which), dtype=bool) if theta is None else cu <= theta
        which, cu, cs = which[stays], cu[stays], cs[stays]
        below[which] = 1.0
        outside = (cu < 0) | (cu > targets.inner_x) | (cs < 0) | (cs > grid.resolution[1])
        inside[which] = np.where(outside, 0.0, 1.0)
        moved_bounds[which] = np.stack([cu, cs, cu, cs], axis=1)
        target_v = np.clip(np.floor(cu), 0, targets.last_x).astype(np.int64)
        target_w = np.clip(np.floor(cs), 0, grid.resolution[1] - 1).astype(np.int64)
        rows.append(grid.index(target_v, target_w))
        owners.append(which)
        areas.append(np.ones(len(which)))
        degenerate.append(np.flatnonzero(collapsed))
    degenerate = (np.unique(np.concatenate(degenerate)) + first * nv if degenerate
                  else np.zeros(0, np.int64))
    # int32 halves what travels back from a worker; cell indices stay below 2**31.
    edge = outward_edge(moved_bounds, grid.resolution, top_fires=theta is not None)
    return _BandMotion(np.concatenate(rows).astype(np.int32),
                       np.concatenate(owners).astype(np.int32), np.concatenate(areas),
                       below, inside, degenerate, edge,
                       float(np.max(np.abs(moved_s - lattice.s))), None)


def _crossing_fractions(model, grid, dt, substeps, threshold, edge_points, reach) -> np.ndarray:
    """Per cell, the fraction of its area whose trajectories reach the threshold
    within dt: its overlap with `crossing_region`, sampled as densely as the cells'
    edges."""
    nv, nw = grid.resolution
    region, first_column = crossing_region(model, grid, dt, substeps, threshold,
                                           edge_points + 1, reach)
    first = int(np.clip(first_column, 0, nv - 1))
    inside = areas_in_cells(edges_of_geometries(np.array([region])), nv, nw, first)
    return np.clip(inside.ravel(), 0.0, 1.0)


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
    back_u, back_s = _flow_in_units(model, grid, np.full_like(s, theta), s, -dt, substeps,
                                    threshold)
    _check_finite(grid, np.full_like(s, theta), s, back_u, back_s, -dt)
    right = max(float(nv), theta) + 1.0
    ring = np.concatenate([np.stack([back_u, back_s], -1),
                           [[right, back_s[-1]], [right, back_s[0]], [back_u[0], back_s[0]]]])
    region = shapely.polygons(ring)
    if not shapely.is_valid(region):
        region = shapely.make_valid(region, method="structure", keep_collapsed=False)
    return region, float(np.floor(back_u.min()))


def _check_finite(grid, u, s, moved_u, moved_s, dt):
    """A MeshError naming the box of (v, w) whose points (grid units u, s) leave the
    finite numbers within one step dt."""
    bad = ~(np.isfinite(moved_u) & np.isfinite(moved_s))
    if bad.any():
        _report_divergence(grid, np.array([[u[bad].min(), u[bad].max(), s[bad].min(),
                                            s[bad].max()]]), dt)


def _report_divergence(grid, boxes, dt):
    """Raise the MeshError for the union of (u_lo, u_hi, s_lo, s_hi) boxes, in v and w."""
    v = grid.from_units(0, [boxes[:, 0].min(), boxes[:, 1].max()])
    w = grid.from_units(1, [boxes[:, 2].min(), boxes[:, 3].max()])
    box = ", ".join(f"{name} in [{lo:.4g}, {hi:.4g}]"
                    for name, (lo, hi) in zip(grid.variables, (v, w)))
    raise MeshError(f"the flow diverges within one step dt = {dt:g} s from {box} "
                    "(non-finite state); use a smaller dt or narrow the ranges", key="mesh.dt")


class _BoundaryLattice:
    """Every point whose motion the boundaries of the cells in rows
    `first_row .. first_row + rows - 1` need, each once, in grid units (cell (i, j) is
    [i, i+1] x [j, j+1]): the corners, `k` points inside each edge (shared by the two
    cells on either side) and the cell centres. Indices are local to the band: row b
    of the band is grid row first_row + b."""

    def __init__(self, nv: int, rows: int, k: int, first_row: int = 0):
        nw = rows
        self.nv, self.nw, self.k = nv, nw, k
        self.nodes = (nv + 1) * (nw + 1)
        self.horizontal = nv * k * (nw + 1)  # on edges along v
        self.vertical = (nv + 1) * nw * k  # on edges along w
        frac = np.arange(1, k + 1) / (k + 1)
        # Whole row numbers first, then the fraction: a point shared by two bands gets
        # the same coordinates, to the bit, from either.
        row = np.arange(first_row, first_row + nw + 1, dtype=float)
        node_u = np.tile(np.arange(nv + 1.0), nw + 1)
        node_s = np.repeat(row, nv + 1)
        h_u = np.tile((np.arange(nv)[:, None] + frac).ravel(), nw + 1)
        h_s = np.repeat(row, nv * k)
        v_u = np.tile(np.arange(nv + 1.0), nw * k)
        v_s = np.repeat((row[:-1, None] + frac).ravel(), nv + 1)
        centre_u, centre_s = np.tile(np.arange(nv) + 0.5, nw), np.repeat(row[:-1] + 0.5, nv)
        self.u = np.concatenate([node_u, h_u, v_u, centre_u])
        self.s = np.concatenate([node_s, h_s, v_s, centre_s])

    def _node(self, a, b):
        return a + (self.nv + 1) * b

    def _h(self, a, q, b):  # q-th (0-based) point inside the edge along v from node (a, b)
        return self.nodes + a * self.k + q + self.nv * self.k * b

    def _v(self, a, b, q):  # q-th point inside the edge along w from node (a, b)
        return self.nodes + self.horizontal + a + (self.nv + 1) * (b * self.k + q)

    def centre_index(self, cells):
        return self.nodes + self.horizontal + self.vertical + cells

    def rings(self, a, b) -> np.ndarray:
        """Point indices of each cell's closed boundary, counter-clockwise from its
        lower-left corner: (cells, 4 (k + 1) + 1)."""
        a, b = a[:, None], b[:, None]
        q = np.arange(self.k)[None, :]
        return np.concatenate([
            self._node(a, b), self._h(a, q, b),
            self._node(a + 1, b), self._v(a + 1, b, q),
            self._node(a + 1, b + 1), self._h(a, q[:, ::-1], b + 1),
            self._node(a, b + 1), self._v(a, b, q[:, ::-1]),
            self._node(a, b)], axis=1)


def _flow_in_units(model, grid, u, s, dt, substeps, threshold):
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
    and cannot come back (see motion_matrix)."""
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


def _renumber(edges: PolygonEdges, which: np.ndarray, size: int) -> PolygonEdges:
    """The same edges, renumbered so polygon i of `edges` is polygon which[i] of `size`
    (the others have none)."""
    counts = np.zeros(size, dtype=np.int64)
    counts[which] = np.diff(edges.ptr)
    return edges._replace(ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))


# --- jumps and resets ------------------------------------------------------------------------

def jump_matrix(grid: Grid, variable: str | int, efficacy: float,
                top_fires: bool = True) -> GridTransition:
    """A jump of every neuron by `efficacy` along one axis, as a fractional shift.

    With r = efficacy / cell width, o = floor(r) and g = r - o, fraction 1 - g of a
    cell's mass moves o cells and g moves o + 1 cells (negative efficacies alike);
    this is the exact overlap of the shifted cell with the grid. Along the first
    variable (v) mass shifted past the top of the grid (the threshold) fires, unless
    `top_fires` is False (a model without a threshold); past any other edge it is clamped
    into the edge cell and reported in `clamped`. A
    ratio within 8 ulp of an integer is taken as that integer, so a jump of a
    whole number of cells does not leave a 1e-16 sliver behind.
    """
    axis = grid.axis(variable)
    efficacy = float(efficacy)
    if not math.isfinite(efficacy):
        raise MeshError(f"efficacy must be finite, got {efficacy!r}")
    ratio = efficacy / grid.widths[axis]
    if abs(ratio - round(ratio)) <= 8 * np.finfo(float).eps * max(1.0, abs(ratio)):
        ratio = float(round(ratio))
    shift = math.floor(ratio)
    g = ratio - shift
    n, size = grid.n_cells, grid.resolution[axis]
    cells = np.arange(n)
    position = grid.unravel(cells)
    along = position[axis]

    rows, cols, values = [], [], []
    fired = np.zeros(n)
    clamped = np.zeros(n)
    for steps, part in ((shift, 1.0 - g), (shift + 1, g)):
        if part == 0.0:
            continue
        target = along + steps
        fires = (target >= size) if (axis == 0 and top_fires) else np.zeros(n, dtype=bool)
        outside = ((target < 0) | (target >= size)) & ~fires
        fired[fires] += part
        clamped[outside] += part
        moved = list(position)
        moved[axis] = np.clip(target, 0, size - 1)
        stay = ~fires
        rows.append(grid.index(*moved)[stay])
        cols.append(cells[stay])
        values.append(np.full(int(stay.sum()), part))
    matrix = sparse.csc_matrix((np.concatenate(values), (np.concatenate(rows),
                                                         np.concatenate(cols))), shape=(n, n))
    matrix, fired = _normalise_columns(matrix, fired, f"jump matrix ({efficacy} along {axis})")
    edge = edges_of_clamped(clamped, edge_index(axis, efficacy > 0))
    return GridTransition(matrix=matrix, fired=fired, clamped=clamped,
                          degenerate=np.zeros(0, np.int64), clamped_edge=edge)


def reset_mapping(model: NeuronModel, grid: Grid) -> GridTransition:
    """Column j: where mass that fires from cell j re-enters the grid.

    The state at the crossing is taken as (threshold, w of cell j's centre); the
    model's reset rule maps it (AdEx: v -> V_r, w -> w + b) and the mass is split
    bilinearly between the four cells whose centres surround that point, so its mean
    lands exactly there. A model without a threshold never fires: an empty mapping.
    A point beyond the outermost centres is first clamped onto them (the mean then
    sits at the clamped point); where it lies outside the grid, the column's mass is
    reported as clamped, at the edge it lies beyond. Refractoriness is the solver's
    business: this only says where mass goes when it comes back.
    """
    _check_model(model, grid)
    n = grid.n_cells
    if model.threshold is None:
        # Nothing ever fires (motion and jumps clamp at the top instead): no mapping.
        return reset_transition(sparse.csc_matrix((n, n)), np.zeros(n),
                                 np.full(n, NO_EDGE, np.int8))
    if not model.resets:
        raise MeshError(f"model '{model.kind}' has no reset (its spikes are only counted); "
                        "there is no reset mapping")
    centre_v, centre_w = grid.cell_centres()
    new_v, new_w = model.reset_state(np.full_like(centre_v, model.threshold), centre_w)
    if not (np.all(np.isfinite(new_v)) and np.all(np.isfinite(new_w))):
        raise MeshError("the reset rule gives non-finite values on the grid")
    corners = []
    for axis, value in ((0, new_v), (1, new_w)):
        size = grid.resolution[axis]
        # Position on the lattice of centres: centre i is at i.
        x = np.clip(grid.to_units(axis, value) - 0.5, 0.0, size - 1.0)
        low = np.minimum(np.floor(x), size - 2).astype(np.int64)
        corners.append((low, x - low))
    (lv, fv), (lw, fw) = corners
    rows = np.concatenate([grid.index(lv + dv, lw + dw) for dw in (0, 1) for dv in (0, 1)])
    weights = np.concatenate([(fv if dv else 1.0 - fv) * (fw if dw else 1.0 - fw)
                              for dw in (0, 1) for dv in (0, 1)])
    cols = np.tile(np.arange(n), 4)
    matrix = sparse.csc_matrix((weights, (rows, cols)), shape=(n, n))
    matrix, _ = _normalise_columns(matrix, np.zeros(n), "reset mapping")
    u, s = grid.to_units(0, new_v), grid.to_units(1, new_w)
    outside = (u < 0) | (u > grid.resolution[0]) | (s < 0) | (s > grid.resolution[1])
    edge = outward_edge(np.stack([u, s, u, s], axis=1), grid.resolution, top_fires=False)
    return reset_transition(matrix, outside.astype(float), edges_of_clamped(outside, edge))


def reset_transition(matrix, clamped: np.ndarray, edge: np.ndarray) -> GridTransition:
    """A reset mapping as a GridTransition: nothing fires, nothing is degenerate."""
    n = matrix.shape[1]
    return GridTransition(matrix=matrix, fired=np.zeros(n), clamped=clamped,
                          degenerate=np.zeros(0, np.int64), clamped_edge=edge)


# --- shared ----------------------------------------------------------------------------------

def _normalise_columns(matrix, fired: np.ndarray, what: str):
    """Make every column sum to 1 together with `fired`, after checking it already
    does to PARTITION_TOLERANCE: entries below DROP_FRACTION are dropped, the column
    is rescaled, and the last rounding residual goes on its largest entry (or on
    fired when that is larger), so mass does not drift one way over many steps."""
    matrix = sparse.csc_matrix(matrix)
    matrix.sum_duplicates()
    matrix.data[matrix.data <= DROP_FRACTION] = 0.0
    matrix.eliminate_zeros()
    fired = np.where(fired > DROP_FRACTION, fired, 0.0)
    n = matrix.shape[1]
    counts = np.diff(matrix.indptr)
    column = np.repeat(np.arange(n), counts)
    total = np.bincount(column, weights=matrix.data, minlength=n) + fired
    wrong = np.abs(total - 1.0) > PARTITION_TOLERANCE
    if wrong.any():
        worst = int(np.argmax(np.abs(total - 1.0)))
        raise MeshError(f"{what}: column {worst} sums to {total[worst]!r}, not 1 "
                        f"({int(wrong.sum())} such columns)")
    matrix.data /= total[column]
    fired = fired / total
    residual = 1.0 - (np.bincount(column, weights=matrix.data, minlength=n) + fired)
    # The largest entry of each column (the first, if tied); -1 for an empty column.
    largest = np.full(n, -1, dtype=np.int64)
    peak = np.zeros(n)
    if len(matrix.data):
        np.maximum.at(peak, column, matrix.data)
        at_peak = np.flatnonzero(matrix.data == peak[column])
        owner, first = np.unique(column[at_peak], return_index=True)
        largest[owner] = at_peak[first]
    on_matrix = (largest >= 0) & (peak >= fired)
    matrix.data[largest[on_matrix]] += residual[on_matrix]
    fired[~on_matrix] += residual[~on_matrix]
    total = np.bincount(column, weights=matrix.data, minlength=n) + fired
    if np.any(np.abs(total - 1.0) > COLUMN_SUM_TOLERANCE) or matrix.data.min(initial=0.0) < 0:
        raise MeshError(f"{what}: columns could not be normalised to 1")
    matrix.sort_indices()
    return matrix, fired


def _check_model(model: NeuronModel, grid: Grid):
    if tuple(model.variables) != grid.variables:
        raise MeshError(f"the grid's variables {list(grid.variables)} are not the model's "
                        f"{list(model.variables)}")
