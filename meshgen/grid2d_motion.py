"""The motion matrix of a 2D grid: one mesh step of the deterministic flow.

Each cell's boundary (corners and points inside each edge) is carried one step dt by
the flow (meshgen.grid2d_flow), the moved polygon is overlapped with the grid exactly
(meshgen.polygon_overlap), and the cell's mass is shared by those overlaps; the part
of the cell whose trajectories reach the threshold within dt fires. See
`motion_matrix`; the matrix's form is meshgen.grid2d's.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
from scipy import sparse

from .box_edges import NO_EDGE, edges_of_clamped, outward_edge
from .errors import MeshError
from .grid2d import PARTITION_TOLERANCE, GridTransition, check_model_variables, normalise_columns
from .grid2d_flow import DEFAULT_SUBSTEPS, crossing_region, flow_in_units, report_divergence
from .models import NeuronModel
from .parallel import Workers, resolve_jobs
from .polygon_overlap import (ExtendedGrid, PolygonEdges, areas_in_cells, edges_of_geometries,
                              edges_of_rings, invalid_rings, repair, signed_areas)
from .regular_grid import Grid

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
# Cells processed at once (rounded down to whole rows, at least one): they bound the
# memory of the intermediate arrays, not the result. A batch of cells is also one task
# for the worker processes of `jobs`.
CELL_BATCH = 2 ** 14


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
    _check_motion_arguments(model, grid, dt, threshold, substeps, edge_points)
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
        report_divergence(grid, np.array(diverging), dt)
    if threshold is None:
        crossing = np.zeros(n)
    else:
        reach = max(part.reach for part in parts)
        crossing = _crossing_fractions(model, grid, dt, substeps, threshold, edge_points, reach)
    return _joined_bands(grid, bands, parts, crossing)


def _check_motion_arguments(model, grid, dt, threshold, substeps, edge_points) -> None:
    """A MeshError for arguments of motion_matrix it cannot work with."""
    check_model_variables(model, grid)
    if not (dt > 0 and math.isfinite(dt)):
        raise MeshError(f"dt must be positive and finite, got {dt!r}")
    if int(substeps) != substeps or substeps < 1:
        raise MeshError(f"substeps must be a positive integer, got {substeps!r}")
    if int(edge_points) != edge_points or edge_points < 0:
        raise MeshError(f"edge_points must be a non-negative integer, got {edge_points!r}")
    if threshold is not None and not (math.isfinite(threshold) and threshold > grid.ranges[0][0]):
        raise MeshError(f"the threshold ({threshold}) must lie above the grid's lowest "
                        f"{grid.variables[0]} ({grid.ranges[0][0]})")


def _joined_bands(grid: Grid, bands: list, parts: list, crossing: np.ndarray) -> GridTransition:
    """The motion matrix from each band's overlaps (`parts`, one _BandMotion per band of
    `bands`) and each cell's fraction `crossing` the threshold within dt."""
    n, nv = grid.n_cells, grid.resolution[0]
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
    matrix, fired = normalise_columns(matrix, fired, "motion matrix")
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
    moved_u, moved_s = flow_in_units(context.model, grid, lattice.u, lattice.s, context.dt,
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
    rows, owners, areas = [], [], []
    below = np.zeros(count)
    inside = np.zeros(count)
    groups, collapsed, degenerate = _polygon_groups(rings, edges, area)
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
        which, target = _collapsed_cells(context, collapsed, lattice, moved_u, moved_s,
                                         below, inside, moved_bounds)
        rows.append(target)
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


def _polygon_groups(rings: np.ndarray, edges: PolygonEdges, area: np.ndarray):
    """The moved cells (closed `rings`, their `edges` and signed `area`) in groups
    whose overlaps are found together, each (edges, members, area): the valid
    polygons, then the twisted ones repaired (meshgen.polygon_overlap.repair). Also
    which cells collapsed (area at most MIN_MOVED_AREA, before or after the repair)
    and a list holding the twisted cells' indices (empty if none)."""
    count = len(rings)
    degenerate = []
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
    return groups, collapsed, degenerate


def _collapsed_cells(context: _MotionContext, collapsed: np.ndarray, lattice, moved_u,
                     moved_s, below, inside, moved_bounds):
    """The collapsed cells that stay below the threshold and the cell each goes to.
    Its mass goes where its centre goes: one entry of area 1, clamped if the centre
    left the grid, fired whole if it passed the threshold; `below`, `inside` and
    `moved_bounds` are set for them in place."""
    grid, targets, theta = context.grid, context.targets, context.theta
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
    return which, grid.index(target_v, target_w)


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


def _renumber(edges: PolygonEdges, which: np.ndarray, size: int) -> PolygonEdges:
    """The same edges, renumbered so polygon i of `edges` is polygon which[i] of `size`
    (the others have none)."""
    counts = np.zeros(size, dtype=np.int64)
    counts[which] = np.diff(edges.ptr)
    return edges._replace(ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
