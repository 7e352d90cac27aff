"""The strip method in two dimensions, tracing: the strips and fill cells of the mesh.

`trace_strips` works in cell units (the range box is [0, n_v] x [0, n_w], one target
cell is a unit square, see meshgen.regular_grid.Grid.to_units). The inflow boundary
(the parts of the box's edge where the flow points in) is cut into seeds SEED_SPACING
apart. All seeds are integrated together, one mesh step dt at a time:
the front of step k is where the inflow boundary has been carried in k steps, and
the region between fronts k and k + 1 is cut into cells by the trajectories, so a
cell's mass is, one step later, exactly in the cell above it: deterministic motion
moves mass one cell on, with no numerical diffusion.

The front is kept near the target size as it goes, without hand-drawn fix-ups:

* split: where the next front would stretch a gap past SPLIT_LENGTH cells, a new
  trajectory starts from the gap's middle (a point on the current front, so the
  cells below still tile exactly);
* merge: where trajectories crowd together (AdEx's trajectories all converge on
  the slow manifold), a point is dropped from the front: its gap's two cells go on
  as one, whose lower edge keeps the dropped point;
* ends: a trajectory that leaves the box (through the threshold, or another side)
  ends its strips there (cells are clipped to the box); a cell that would be
  twisted, turned over, narrower than MIN_CELL_WIDTH or not moving ends its strip
  and cuts the front in two; so do stationary points, where the front shrinks to nothing.

Whatever part of the box no strip reaches (around stationary points, along the
separatrices near saddles, past the last step traced) is covered by fill cells: the
target grid's cells clipped to the uncovered region. Every cell is a polygon.

The matrices over these cells are built by meshgen.strips2d_matrices; the cells are
stored as a meshgen.polygon_mesh.PolygonMesh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
import shapely

from .errors import MeshError
from .grid_defaults import round_down_step
from .grid2d_flow import DEFAULT_SUBSTEPS, check_finite, crossing_region, flow_in_units
from .models import NeuronModel
from .regular_grid import Grid

# Seeds per cell along the inflow boundary.
SEED_SPACING = 1.0
# A gap of the front wider than this across the flow (cells) after a step gets a
# trajectory from its middle; at most MAX_SPLITS halvings per gap per step, never
# below MIN_GAP.
SPLIT_LENGTH = 1.5
MAX_SPLITS = 8
MIN_GAP = 1e-3
# A point whose gaps to both neighbours, and between them, are narrower than this
# across the flow (cells) leaves the front. Below SPLIT_LENGTH / 2, so a merged gap
# does not split again.
MERGE_LENGTH = 0.5
# A merged gap may be no longer than this (cells) along the front: a front sheared
# along the flow is narrow across it, and merging it would make cells that long.
MERGED_LENGTH = 2 * SPLIT_LENGTH
# Cells narrower than this across the flow (cells) end their strip: the front has
# shrunk onto a line the flow converges to. Cells shorter than MIN_STEP_LENGTH along
# it end it too: the flow stops there (a stationary point).
MIN_CELL_WIDTH = 0.3
MIN_STEP_LENGTH = 1e-3
# Second-pass seeds sit this far (cells) either side of a repelling branch.
BRANCH_OFFSET = 1.0
# A second-pass cell may overlap first-pass cells by this share of its area (the
# chords of neighbouring trajectories), no more.
AVOID_TOLERANCE = 0.05
# Rounding (cells) allowed at the box's edges: a front point this close to the top of v
# has reached it, one this far outside another edge is still on it.
EDGE_TOLERANCE = 1e-9
# Fill pieces and clipped strip cells smaller than this (cells^2) are rounding.
MIN_FILL_AREA = 1e-6
# Overlaps below this fraction of a cell are rounding where outlines share an edge.
NEGLIGIBLE_OVERLAP = 1e-9
# Steps traced at most; what is left is covered by fill cells.
MAX_STEPS = 100_000

# The default strip dt is the grid's (meshgen.grid_defaults) over this, rounded down
# to 1, 2 or 5 x 10^k: a strip cell is one step of the flow long, and near an AdEx
# threshold a grid step of 0.5 ms makes cells several mV long against a 1 mV jump.
# AdEx (adex_validate_model.toml, 200 x 100 target cells, against 20,000 direct
# neurons at 2000 / 3000 Hz): dt 0.5 ms +8.7%, 0.2 ms +1.4% / -0.05%, 0.1 ms -0.62% /
# -0.05%. Until 2026-12 it was 5 (0.1 ms for AdEx): accurate, but 24-45 s of `miind
# run` per simulated second and 55,000-90,000 cells with automatic settings
# (benchmarks/validate_defaults.py); 2 halves both. Izhikevich gets 0.05 ms
# (230 x 88 target cells: -1.29% / -0.41%), FitzHugh-Nagumo 0.1 ms, the conductance
# LIF 0.2 ms (-0.23% / +0.48%).
GRID_DT_OVER_STRIP_DT = 2
# Automatic target cells per smallest efficacy along v, for strips (the grid's 8 along
# the other variables). Along v a strip cell's length is the flow's step, not the
# target size; finer target cells along v stretch the flow, in cell units, towards
# the seed lines it grazes (Izhikevich below its saddle, right of the repelling
# branch), whose strips then end and leave fill cells. Measured against 20,000 direct
# neurons (1 s, steady rate over the last half): Izhikevich at the automatic dt of
# 0.02 ms, 920 x 100 target cells (8 per mV) -1.85% / +49% at 3000 / 8000 Hz, 460 x
# 100 (4 per mV) -1.16% / -0.54%; AdEx (adex_validate_model.toml ranges) 317 x 100
# -0.63% / -0.59%, 159 x 100 -0.63% / -0.59% at 2000 / 3000 Hz. The conductance LIF
# jumps in g and keeps 8 there (4, 64 cells along g: +26% at 550 Hz).
DEFAULT_CELLS_PER_EFFICACY_2D_STRIPS = 4.0

Progress = Callable[[int, int], None]


def automatic_strip_dt(grid_dt: float) -> float:
    """The default strip mesh step from the grid's default step."""
    return round_down_step(grid_dt / GRID_DT_OVER_STRIP_DT)


@dataclass
class _Front:
    """One connected piece of the front: points in order along it (the box to their
    left as the flow sees it), which of them go on (`tracked`; the others were merged
    and are only corners of the next cells' lower edges), and for the gap that starts
    at each tracked point the cell below it (-1: none, or the gap changed)."""

    points: np.ndarray  # (m, 2)
    tracked: np.ndarray = None  # (m,) bool; default all
    below: np.ndarray = None  # (m,) int64; default none
    moved: np.ndarray = None  # (m, 2) after dt; NaN where not computed
    heading: np.ndarray = None  # (m, 2) the step that brought each point here; NaN: none

    def __post_init__(self):
        m = len(self.points)
        if self.heading is None:
            self.heading = np.full_like(self.points, np.nan)
        if self.tracked is None:
            self.tracked = np.ones(m, dtype=bool)
        if self.below is None:
            self.below = np.full(m, -1, dtype=np.int64)
        if self.moved is None:
            self.moved = np.full_like(self.points, np.nan)


def _across_flow(gap: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """The length of each `gap` vector (n, 2) across the flow's direction `heading`
    (n, 2); its whole length where the direction is unknown or the flow stops.
    Fronts that shear (trajectories at different speeds, as right of Izhikevich's
    repelling branch) grow along the flow without the cells between them widening."""
    length = np.hypot(*gap.T)
    speed = np.hypot(*heading.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        across = np.abs(gap[:, 0] * heading[:, 1] - gap[:, 1] * heading[:, 0]) / speed
    return np.where(speed > MIN_STEP_LENGTH, across, length)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of at least two consecutive True entries."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(int), [0]])))
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= 2]

def _reach(model, grid, dt) -> float:
    """The farthest a point on the threshold moves along w in dt (cells), for the
    crossing region's sampling."""
    s = np.linspace(0.0, grid.resolution[1], 64)
    with np.errstate(over="ignore", invalid="ignore"):
        _, dw = model.drift(np.full_like(s, model.threshold), grid.from_units(1, s))
    speed = np.abs(np.broadcast_to(dw, s.shape)) / grid.widths[1]
    return float(np.nan_to_num(speed.max(), nan=0.0, posinf=1e6) * dt)





@dataclass(frozen=True)
class Tracing:
    """The strip cells (polygons in cell units, in strip order), the strips, the
    fill cells and what the tracing met; with what the matrices share, computed once."""

    model: NeuronModel
    grid: Grid
    dt: float
    substeps: int
    cells: np.ndarray  # shapely polygons: strip cells, then fill cells
    strip_first: np.ndarray
    n_strip_cells: int
    steps: int
    truncated: bool  # MAX_STEPS or max_cells reached with fronts left

    @cached_property
    def tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.cells)

    @cached_property
    def areas(self) -> np.ndarray:
        return shapely.area(self.cells)

    @cached_property
    def centres(self) -> np.ndarray:
        """(n, 2) the cells' centroids, in cell units."""
        return shapely.get_coordinates(shapely.centroid(self.cells))

    @cached_property
    def crossing(self):
        """The region whose trajectories reach the threshold within dt
        (meshgen.grid2d_flow.crossing_region), or None for a model without a threshold."""
        if self.model.threshold is None:
            return None
        region, _ = crossing_region(self.model, self.grid, self.dt, self.substeps,
                                    self.model.threshold, 4, _reach(self.model, self.grid,
                                                                    self.dt))
        return region


def trace_strips(model: NeuronModel, grid: Grid, dt: float, max_cells: int,
                 substeps: int = DEFAULT_SUBSTEPS, max_steps: int = MAX_STEPS,
                 progress: Progress | None = None) -> Tracing:
    """Trace the strip cells of `model` over `grid`'s ranges (target size: one grid
    cell) with mesh step `dt`, then fill what they leave uncovered."""
    if not (dt > 0 and math.isfinite(dt)):
        raise MeshError(f"dt must be positive and finite, got {dt!r}")
    nv, nw = grid.resolution
    threshold = model.threshold

    def flow(points):
        u, s = flow_in_units(model, grid, points[:, 0], points[:, 1], dt, substeps, threshold)
        check_finite(grid, points[:, 0], points[:, 1], u, s, dt)
        return np.stack([u, s], axis=1)

    rings, successor = [], []  # per strip cell: outline (k, 2), next cell or -1
    steps = _trace(_inflow_fronts(model, grid), flow, nv, nw, rings, successor, max_steps,
                   max_cells, progress)
    # Second pass: trajectories leaving a repelling branch of the v-nullcline, in the
    # parts of the box the first pass did not reach.
    covered = shapely.STRtree(_polygons(rings))
    fronts = _branch_fronts(model, grid)
    more = _trace(fronts, flow, nv, nw, rings, successor, max_steps, max_cells, progress,
                  avoid=covered)
    truncated = steps >= max_steps or more >= max_steps or len(rings) >= max_cells
    cells, strip_first, n_strip = _strip_order(rings, successor, nv, nw)
    fill = _fill_cells(cells, nv, nw)
    return Tracing(model=model, grid=grid, dt=dt, substeps=substeps,
                   cells=np.concatenate([cells, fill]),
                   strip_first=strip_first, n_strip_cells=n_strip, steps=steps + more,
                   truncated=truncated)


def _trace(fronts, flow, nv, nw, rings, successor, max_steps, max_cells, progress,
           avoid=None) -> int:
    """Carry `fronts` step by step until none is left, appending the cells; returns the
    steps taken. Cells overlapping `avoid` (cells traced before) end their strip."""
    step = 0
    while fronts and step < max_steps and len(rings) < max_cells:
        _move_fronts(fronts, flow)
        _split_gaps(fronts, flow)
        fronts = _cut_cells(fronts, nv, nw, rings, successor, avoid)
        _merge_points(fronts)
        step += 1
        if progress is not None and step % 100 == 0:
            progress(min(len(rings), max_cells), max_cells)
    return step


def _branch_fronts(model, grid) -> list[_Front]:
    """Fronts BRANCH_OFFSET cells either side of each repelling branch of the
    v-nullcline (where dv/dt turns from negative to positive as v grows); the flow
    leaves such a branch on both sides, so no trajectory from the boundary reaches
    the region next to it."""
    nv, nw = grid.resolution
    rows = np.arange(nw + 1, dtype=float)
    x = np.arange(nv + 1, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        dv, _ = model.drift(grid.from_units(0, x)[None, :], grid.from_units(1, rows)[:, None])
    dv = np.broadcast_to(dv, (len(rows), len(x)))
    fronts = []
    # A grid vertex may lie on the branch (dv exactly 0; Izhikevich's parabola does).
    turns = (dv[:, :-1] < 0) & (dv[:, 1:] >= 0)
    # One branch per row at most is followed: the first from the left.
    has = turns.any(axis=1)
    column = np.argmax(turns, axis=1)
    row = np.arange(len(rows))
    left, right = dv[row, column], dv[row, column + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        root = column + left / (left - right)
    # Left of the branch the flow goes to lower v: the front runs up the rows so the
    # box lies to its left as the flow sees it; right of it, down.
    for side, order in ((-1.0, 1), (1.0, -1)):
        seeds = np.stack([root + side * BRANCH_OFFSET, rows], axis=1)[::order]
        usable = has[::order] & (seeds[:, 0] >= 0) & (seeds[:, 0] <= nv)
        fronts += [_Front(points=seeds[a:b].copy()) for a, b in _runs(usable)]
    return fronts


def _inflow_fronts(model, grid) -> list[_Front]:
    """The runs of boundary seeds where the flow points into the box, going round it
    counter-clockwise (so the box lies left of each run)."""
    nv, nw = grid.resolution
    corners = np.array([[0.0, 0.0], [nv, 0.0], [nv, nw], [0.0, nw]])
    seeds, normals = [], []
    for side in range(4):
        start, end = corners[side], corners[(side + 1) % 4]
        count = max(1, math.ceil(np.hypot(*(end - start)) / SEED_SPACING))
        t = np.arange(count)[:, None] / count
        seeds.append(start + t * (end - start))
        direction = (end - start) / np.hypot(*(end - start))
        normals.append(np.tile([-direction[1], direction[0]], (count, 1)))
    seeds, normals = np.concatenate(seeds), np.concatenate(normals)
    # At a corner the flow must point into the box across both sides.
    previous = np.roll(normals, 1, axis=0)
    corner = np.any(normals != previous, axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        dv, dw = model.drift(grid.from_units(0, seeds[:, 0]), grid.from_units(1, seeds[:, 1]))
    velocity = np.stack([np.broadcast_to(dv, len(seeds)) / grid.widths[0],
                         np.broadcast_to(dw, len(seeds)) / grid.widths[1]], axis=1)
    inward = np.sum(velocity * normals, axis=1)
    inward_previous = np.sum(velocity * previous, axis=1)
    inflow = np.where(corner, (inward > 0) & (inward_previous >= 0) |
                      (inward >= 0) & (inward_previous > 0), inward > 0)
    inflow &= np.all(np.isfinite(velocity), axis=1)
    if inflow.all():
        # The flow enters everywhere: one closed front, its first seed repeated at the end.
        runs = [np.append(np.arange(len(seeds)), 0)]
    else:
        # Runs of inflow seeds, cyclically, starting after an outflow seed.
        first = int(np.flatnonzero(~inflow)[0])
        order = np.roll(np.arange(len(seeds)), -first)
        runs = [order[a:b] for a, b in _runs(inflow[order])]
    return [_Front(points=seeds[run]) for run in runs]


def _move_fronts(fronts: list[_Front], flow) -> None:
    """Carry every tracked point of every front one step (all at once)."""
    pending = [np.flatnonzero(f.tracked & np.isnan(f.moved[:, 0])) for f in fronts]
    points = np.concatenate([f.points[p] for f, p in zip(fronts, pending)])
    if len(points) == 0:
        return
    moved = flow(points)
    start = 0
    for front, which in zip(fronts, pending):
        front.moved[which] = moved[start:start + len(which)]
        start += len(which)


def _split_gaps(fronts: list[_Front], flow) -> None:
    """Give every gap that the step stretches past SPLIT_LENGTH a trajectory from its
    middle (a merged point of the gap if it has one, else the midpoint), up to
    MAX_SPLITS rounds."""
    for _ in range(MAX_SPLITS):
        changed = False
        for front in fronts:
            track = np.flatnonzero(front.tracked)
            a, b = track[:-1], track[1:]
            step = front.moved - front.points
            heading = 0.5 * (step[a] + step[b])
            stretched = _across_flow(front.moved[b] - front.moved[a], heading) > SPLIT_LENGTH
            wide = np.hypot(*(front.points[b] - front.points[a]).T) > MIN_GAP
            gaps = np.flatnonzero(stretched & (wide | (b - a > 1)))
            if len(gaps) == 0:
                continue
            changed = True
            inner = gaps[b[gaps] - a[gaps] > 1]
            revived = (a[inner] + b[inner]) // 2
            front.tracked[revived] = True
            front.below[a[inner]] = -1

            fresh = gaps[b[gaps] - a[gaps] == 1]
            if len(fresh):
                middle = 0.5 * (front.points[a[fresh]] + front.points[b[fresh]])
                at = b[fresh]
                front.below[a[fresh]] = -1
                front.points = np.insert(front.points, at, middle, axis=0)
                front.moved = np.insert(front.moved, at, np.nan, axis=0)
                front.tracked = np.insert(front.tracked, at, True)
                front.below = np.insert(front.below, at, -1)
                front.heading = np.insert(front.heading, at, np.nan, axis=0)
        if not changed:
            return
        _move_fronts(fronts, flow)


def _cut_cells(fronts: list[_Front], nv: int, nw: int, rings: list, successor: list,
               avoid=None) -> list[_Front]:
    """The cells between each front and its moved self (appended to `rings`, linked in
    `successor`); returns the next fronts: the moved tracked points, cut where a
    point left the box or a cell was unusable."""
    pieces = []
    for front in fronts:
        track = np.flatnonzero(front.tracked)
        a, b = track[:-1], track[1:]
        outlines = [np.concatenate([front.points[i:j + 1], front.moved[[j, i]]])
                    for i, j in zip(a, b)]
        usable = _usable(outlines, avoid)
        moved = front.moved[track]
        # A point on the top of v (the threshold, to rounding) has left: the cell after
        # it would lie past it. On the other edges points may run along them.
        edge = EDGE_TOLERANCE
        inside = ((moved[:, 0] >= -edge) & (moved[:, 0] < nv - edge) &
                  (moved[:, 1] >= -edge) & (moved[:, 1] <= nw + edge))
        next_below = np.full(len(track), -1, dtype=np.int64)

        for gap, (i, j) in enumerate(zip(a, b)):
            if not usable[gap]:
                continue
            cell = len(rings)
            rings.append(outlines[gap])
            successor.append(-1)
            if j == i + 1 and front.below[i] >= 0:
                successor[front.below[i]] = cell
            next_below[gap] = cell
        # The next front: the moved tracked points, cut at points that left the box
        # and at gaps without a cell.
        keep_gap = usable & inside[:-1] & inside[1:]
        start = 0
        for gap in list(np.flatnonzero(~keep_gap)) + [len(track) - 1]:
            members = np.arange(start, gap + 1)
            members = members[inside[members]]
            if len(members) >= 2 and np.all(np.diff(members) == 1):
                below = next_below[members].copy()
                below[-1] = -1  # the last point starts no gap
                pieces.append(_Front(points=moved[members].copy(), below=below,
                                     heading=moved[members] - front.points[track[members]]))
            start = gap + 1
    return pieces


def _usable(outlines: list[np.ndarray], avoid=None) -> np.ndarray:
    """Which outlines make cells: simple, counter-clockwise, at least MIN_CELL_WIDTH
    across and MIN_STEP_LENGTH along the flow,
    not overlapping the cells of `avoid` (an STRtree) by more than AVOID_TOLERANCE."""
    if not outlines:
        return np.zeros(0, dtype=bool)
    sizes = np.array([len(o) for o in outlines])
    coords = np.concatenate(outlines)
    ids = np.repeat(np.arange(len(outlines)), sizes)
    x, y = coords[:, 0], coords[:, 1]
    nxt = np.arange(len(coords)) + 1
    ends = np.cumsum(sizes) - 1
    nxt[ends] = ends - sizes + 1
    area = 0.5 * np.bincount(ids, weights=x * y[nxt] - x[nxt] * y, minlength=len(outlines))
    # Width across the flow: the area over the mean length of the two trajectory sides
    # (each outline ends with the moved ends of its gap, j then i).
    first, last = ends - sizes + 1, ends
    along = 0.5 * (np.hypot(*(coords[last] - coords[first]).T) +
                   np.hypot(*(coords[last - 1] - coords[last - 2]).T))
    width = area / np.maximum(along, 1e-300)
    usable = (width >= MIN_CELL_WIDTH) & (along >= MIN_STEP_LENGTH)
    if usable.any():
        which = np.flatnonzero(usable)
        polygons = _polygons([outlines[i] for i in which])
        valid = shapely.is_valid(polygons)
        if avoid is not None:
            valid &= _overlap_with(polygons, avoid) <= AVOID_TOLERANCE * area[which]
        usable[which] = valid
    return usable


def _merge_points(fronts: list[_Front]) -> None:
    """Drop from the front the interior points that crowd their neighbours across the
    flow (see MERGE_LENGTH), keeping them as corners of the next cells' lower edges."""
    for front in fronts:
        m = len(front.points)
        if m < 3:
            continue
        points, heading = front.points, front.heading
        gap_heading = 0.5 * (heading[:-1] + heading[1:])
        across = _across_flow(np.diff(points, axis=0), gap_heading)
        kept = 0
        for c in range(1, m - 1):
            if across[c - 1] < MERGE_LENGTH and across[c] < MERGE_LENGTH:
                merged = points[c + 1] - points[kept]
                merged_heading = 0.5 * (heading[kept] + heading[c + 1])
                if (float(np.hypot(*merged)) < MERGED_LENGTH and
                        _across_flow(merged[None], merged_heading[None])[0] < MERGE_LENGTH):
                    front.tracked[c] = False
                    front.below[kept] = -1
                    front.below[c] = -1
                    continue
            kept = c


def _strip_order(rings, successor, nv, nw):
    """Cells numbered strip by strip (each strip: a chain of successors), clipped to
    the box; returns the polygons, the first cell of each strip and their count."""
    n = len(rings)
    successor = np.asarray(successor, dtype=np.int64)
    has_predecessor = np.zeros(n, dtype=bool)
    has_predecessor[successor[successor >= 0]] = True
    order, strip_first = [], []
    for start in np.flatnonzero(~has_predecessor):
        strip_first.append(len(order))
        cell = int(start)
        while cell >= 0:
            order.append(cell)
            cell = int(successor[cell])
    if len(order) != n:
        raise MeshError("strip tracing produced a cycle of cells (a bug)")
    polygons = _polygons([rings[i] for i in order])
    box = shapely.box(0.0, 0.0, nv, nw)
    outside = ~shapely.contains_properly(box, polygons) if n else np.zeros(0, bool)
    if outside.any():
        clipped = shapely.intersection(polygons[outside], box)
        # A clipped cell keeps its largest piece (it is a strip's last cell; the rest
        # is rounding at a corner) so strips stay chains.
        polygons[outside] = [_largest_polygon(g) for g in clipped]
    keep = ~shapely.is_empty(polygons) & (shapely.area(polygons) >= MIN_FILL_AREA)
    if not keep.all():
        # Cells wholly outside the box: drop them, renumbering the strips.
        index = np.cumsum(keep) - 1
        starts = np.asarray(strip_first, dtype=np.int64)
        bounds = np.append(starts, n)
        strip_first = [int(index[first:last][keep[first:last]][0])
                       for first, last in zip(bounds[:-1], bounds[1:]) if keep[first:last].any()]
        polygons = polygons[keep]
    return polygons, np.asarray(strip_first, dtype=np.int64), len(polygons)


def _polygons(outlines: list[np.ndarray]) -> np.ndarray:
    """Shapely polygons of outlines with any number of corners, all at once."""
    if not outlines:
        return np.zeros(0, dtype=object)
    sizes = np.array([len(o) for o in outlines])
    ids = np.repeat(np.arange(len(outlines)), sizes)
    return shapely.polygons(shapely.linearrings(np.concatenate(outlines), indices=ids))


def _largest_polygon(geometry):
    parts = [g for g in shapely.get_parts(geometry) if isinstance(g, shapely.Polygon)]
    if not parts:
        return shapely.Polygon()
    return max(parts, key=lambda g: g.area)


def _fill_cells(strip_cells: np.ndarray, nv: int, nw: int) -> np.ndarray:
    """Grid cells clipped to the part of the box no strip cell covers. Squares the
    strip cells' overlaps cover to NEGLIGIBLE_OVERLAP are left out, squares they miss
    are kept whole; only the rest needs a (small) union."""
    iv, iw = np.meshgrid(np.arange(nv), np.arange(nw))
    squares = shapely.box(iv.ravel(), iw.ravel(), iv.ravel() + 1.0, iw.ravel() + 1.0)
    square, cell = shapely.STRtree(strip_cells).query(squares, predicate="intersects")
    shared = shapely.area(shapely.intersection(squares[square], strip_cells[cell]))
    covered = np.bincount(square, weights=shared, minlength=len(squares))
    pieces = [squares[covered <= NEGLIGIBLE_OVERLAP]]
    partial = np.flatnonzero((covered > NEGLIGIBLE_OVERLAP) & (covered < 1.0 - MIN_FILL_AREA))
    order = np.argsort(square, kind="stable")
    starts = np.searchsorted(square[order], partial)
    ends = np.searchsorted(square[order], partial, side="right")
    rest = [shapely.difference(squares[k], shapely.union_all(strip_cells[cell[order[a:b]]]))
            for k, a, b in zip(partial, starts, ends)]
    pieces.append(shapely.get_parts(np.array(rest, dtype=object)) if rest else
                  np.zeros(0, dtype=object))
    pieces = np.concatenate(pieces)
    pieces = pieces[shapely.get_type_id(pieces) == 3]  # polygons, not touching lines
    pieces = pieces[shapely.area(pieces) >= MIN_FILL_AREA]
    return shapely.orient_polygons(pieces)


def _overlap_with(cells: np.ndarray, others: shapely.STRtree) -> np.ndarray:
    """Per cell, the area it shares with the geometries of `others` (summed: overlaps
    among them count twice)."""
    if len(cells) == 0:
        return np.zeros(0)
    index, other = others.query(cells, predicate="intersects")
    shared = shapely.area(shapely.intersection(cells[index], others.geometries[other]))
    return np.bincount(index, weights=shared, minlength=len(cells))
