"""The strip method in two dimensions, matrices: motion, jumps and reset over the cells.

The cells are a tracing's (meshgen.strips2d_tracing): polygons in cell units, strip
cells then fill cells. The matrices are in meshgen.grid2d's form, so the grid solver
runs them:

* motion: a strip cell goes whole to the next cell of its strip. Any other cell
  (a strip's last, a fill cell) moves as on a grid: its outline is carried dt by
  the flow and its mass shared by the moved polygon's overlaps with the cells;
  the part of it that reaches the threshold within dt fires
  (meshgen.grid2d_flow.crossing_region).
* jumps: every cell translated by the efficacy and overlapped with the cells
  (one STRtree query, vectorised intersections); past the threshold fires.
* reset: the mass fired from a cell re-enters spread over the reset of
  (threshold, w) for the w where it crosses, split between the cells that segment
  crosses.

Mass a moved or translated cell carries onto no cell (outside the box on a side
other than the threshold) stays on the cells it does overlap, in proportion, and is
reported as `clamped`; a cell moved or translated wholly outside goes to the
nearest cell.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy import sparse

from .box_edges import NO_EDGE, edge_index, edges_of_clamped, outward_edge
from .errors import MeshError
from .grid2d import GridTransition, normalise_columns, reset_transition, reset_without_rule
from .grid2d_flow import check_finite, flow_in_units
from .parallel import Workers
from .strips2d_tracing import NEGLIGIBLE_OVERLAP, Tracing

# A reset segment shorter than this (cells) is a point.
RESET_POINT_LENGTH = 1e-6
# Polygons per task of the matrices' overlaps (fixed, so results do not depend on --jobs).
OVERLAP_CHUNK = 4096
# Outline points of a moved cell: edges are cut to this length (cells) first.
MOVED_EDGE_LENGTH = 0.25


def motion_of_cells(tracing: Tracing, workers: Workers | None = None) -> GridTransition:
    """One mesh step: strip cells to the next cell of their strip, every other cell by
    the overlaps of its moved outline (see the module doc); `workers`: see
    overlap_workers."""
    model, grid, cells, dt = tracing.model, tracing.grid, tracing.cells, tracing.dt
    n = len(cells)
    nv = grid.resolution[0]
    threshold = model.threshold
    nexts = np.full(n, -1, dtype=np.int64)
    bounds = np.append(tracing.strip_first, tracing.n_strip_cells)
    for first, last in zip(bounds[:-1], bounds[1:]):
        nexts[first:last - 1] = np.arange(first + 1, last)
    chained = np.flatnonzero(nexts >= 0)
    loose = np.flatnonzero(nexts < 0)

    fired = np.zeros(n)
    if tracing.crossing is not None:
        inside = shapely.area(shapely.intersection(cells[loose], tracing.crossing))
        fired[loose] = np.clip(inside / tracing.areas[loose], 0.0, 1.0)
    outlines = shapely.segmentize(shapely.get_exterior_ring(cells[loose]), MOVED_EDGE_LENGTH)
    coords, owner = shapely.get_coordinates(outlines, return_index=True)
    u, s = flow_in_units(model, grid, coords[:, 0], coords[:, 1], dt, tracing.substeps,
                          threshold)
    check_finite(grid, coords[:, 0], coords[:, 1], u, s, dt)
    moved = shapely.polygons(shapely.linearrings(np.stack([u, s], axis=1), indices=owner))
    twisted = ~shapely.is_valid(moved)
    degenerate = loose[twisted]
    if twisted.any():
        moved[twisted] = shapely.make_valid(moved[twisted], method="structure",
                                            keep_collapsed=False)
    below = shapely.box(-1e9, -1e9, nv, 1e9) if threshold is not None else None
    rows, cols, values, clamped = _share_overlaps(moved, loose, tracing, 1.0 - fired[loose],
                                                  below, workers)
    matrix = sparse.csc_matrix((np.concatenate([np.ones(len(chained)), values]),
                                (np.concatenate([nexts[chained], rows]),
                                 np.concatenate([chained, cols]))), shape=(n, n))
    matrix, fired = normalise_columns(matrix, fired, "strip motion matrix")
    clamped = _significant(clamped)
    bounds = shapely.bounds(moved)
    # A moved cell that collapsed to nothing has no bounds: its own stand in.
    emptied = np.isnan(bounds).any(axis=1)
    bounds[emptied] = shapely.bounds(cells[loose[emptied]])
    edge = np.full(n, NO_EDGE, np.int8)
    edge[loose] = outward_edge(bounds, grid.resolution, top_fires=threshold is not None)
    return GridTransition(matrix=matrix, fired=fired, clamped=clamped, degenerate=degenerate,
                          clamped_edge=edges_of_clamped(clamped, edge))


def jump_of_cells(tracing: Tracing, axis: int, efficacy: float,
                  workers: Workers | None = None) -> GridTransition:
    """A jump of every neuron by `efficacy` along variable `axis`: each cell translated
    and overlapped with the cells; past the threshold (axis 0) fires. `workers`: see
    overlap_workers."""
    efficacy = float(efficacy)
    if not math.isfinite(efficacy) or efficacy == 0.0:
        raise MeshError(f"efficacy must be finite and non-zero, got {efficacy!r}")
    grid, cells = tracing.grid, tracing.cells
    n = len(cells)
    nv = grid.resolution[0]
    shift = np.zeros(2)
    shift[axis] = efficacy / grid.widths[axis]
    moved = shapely.transform(cells, lambda xy: xy + shift)
    area = tracing.areas
    fired = np.zeros(n)
    below = None
    if axis == 0 and tracing.model.threshold is not None:
        beyond = shapely.bounds(moved)[:, 2] > nv
        past = shapely.area(shapely.intersection(moved[beyond], shapely.box(nv, -1e9, 1e9, 1e9)))
        fired[beyond] = np.clip(past / area[beyond], 0.0, 1.0)
        below = shapely.box(-1e9, -1e9, nv, 1e9)
    rows, cols, values, clamped = _share_overlaps(moved, np.arange(n), tracing, 1.0 - fired,
                                                  below, workers)
    matrix = sparse.csc_matrix((values, (rows, cols)), shape=(n, n))
    matrix, fired = normalise_columns(matrix, fired, f"strip jump matrix ({efficacy} along "
                                                      f"{grid.variables[axis]})")
    clamped = _significant(clamped)
    return GridTransition(matrix=matrix, fired=fired, clamped=clamped,
                          degenerate=np.zeros(0, np.int64),
                          clamped_edge=edges_of_clamped(clamped,
                                                        edge_index(axis, efficacy > 0)))


def _significant(clamped: np.ndarray) -> np.ndarray:
    """Clamped fractions in [0, 1], those at or below NEGLIGIBLE_OVERLAP (rounding where
    clipped outlines meet the box's edge) set to 0."""
    clamped = np.clip(clamped, 0.0, 1.0)
    clamped[clamped <= NEGLIGIBLE_OVERLAP] = 0.0
    return clamped


def overlap_workers(tracing: Tracing, jobs: int) -> Workers:
    """`jobs` (> 1) worker processes for the overlaps of the matrices (`miind mesh
    --jobs`), each holding the cells and their spatial index. Geometries cross to the
    workers as WKB (one array of bytes pickles much faster than as many shapely
    objects); without workers the overlaps use the tracing's own index."""
    return Workers(jobs, _overlap_context, (shapely.to_wkb(tracing.cells),))


def _overlap_context(cells_wkb: np.ndarray) -> tuple[np.ndarray, shapely.STRtree]:
    cells = shapely.from_wkb(cells_wkb)
    return cells, shapely.STRtree(cells)


def _overlaps_of_wkb_chunk(context, moved_wkb: np.ndarray):
    """_overlaps_of_chunk in a worker, the moved polygons sent as WKB."""
    return _overlaps_of_chunk(context, shapely.from_wkb(moved_wkb))


def _overlaps_of_chunk(context, moved: np.ndarray):
    """(index, target, pieces): each overlap of a polygon of `moved` with a cell, above
    NEGLIGIBLE_OVERLAP of the moved polygon's area."""
    cells, tree = context
    moved_area = shapely.area(moved)
    index, target = tree.query(moved, predicate="intersects")
    pieces = shapely.area(shapely.intersection(moved[index], cells[target]))
    keep = pieces > NEGLIGIBLE_OVERLAP * moved_area[index]
    return index[keep], target[keep], pieces[keep]


def _share_overlaps(moved, sources, tracing: Tracing, share, below, workers=None):
    """Entries (rows, cols, values) giving each source cell's `share` to the cells its
    moved polygon overlaps (only the part left of the threshold, `below`), in
    proportion to the overlaps; and per cell the fraction clamped (moved area on
    no cell). The overlaps are computed OVERLAP_CHUNK polygons at a time, by
    `workers` (overlap_workers) if given; the chunks, and so the result, do not depend
    on their number."""
    tree, cells, n = tracing.tree, tracing.cells, len(tracing.cells)
    if below is not None:
        reach = shapely.bounds(moved)[:, 2] > below.bounds[2]
        moved = moved.copy()
        moved[reach] = shapely.intersection(moved[reach], below)
    moved_area = shapely.area(moved)
    starts = range(0, len(moved), OVERLAP_CHUNK)
    chunks = [moved[start:start + OVERLAP_CHUNK] for start in starts]
    if workers is None:
        parts = [_overlaps_of_chunk((cells, tree), chunk) for chunk in chunks]
    else:
        parts = list(workers.map(_overlaps_of_wkb_chunk, [shapely.to_wkb(c) for c in chunks]))
    if parts:
        index = np.concatenate([i + start for (i, _, _), start in zip(parts, starts)])
        target = np.concatenate([t for _, t, _ in parts])
        pieces = np.concatenate([a for _, _, a in parts])
    else:
        index, target, pieces = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    covered = np.bincount(index, weights=pieces, minlength=len(moved))
    with np.errstate(invalid="ignore", divide="ignore"):
        outside = np.where(moved_area > 0, 1.0 - covered / moved_area, 0.0)
    # Polygons clipped at the threshold or the box's edges miss the cells there by
    # rounding (~1e-10 of their area): not clamped.
    outside[outside <= NEGLIGIBLE_OVERLAP] = 0.0
    lost = np.flatnonzero((covered <= 0) & (share > 0))
    if len(lost):
        # Wholly outside the cells: to the cell nearest its centre, clamped.
        centre = shapely.centroid(moved[lost])
        centre[shapely.is_empty(centre)] = shapely.centroid(cells[sources[lost]])[
            shapely.is_empty(centre)]
        nearest = tree.query_nearest(centre, all_matches=False)[1]
        index = np.concatenate([index, lost])
        target = np.concatenate([target, nearest])
        pieces = np.concatenate([pieces, np.ones(len(lost))])
        covered[lost] = 1.0
        outside[lost] = 1.0
    values = share[index] * pieces / covered[index]
    clamped = np.zeros(n)
    clamped[sources] = np.clip(outside, 0.0, 1.0) * share
    return target, sources[index], values, clamped



def reset_of_cells(tracing: Tracing, firing: np.ndarray | None = None) -> GridTransition:
    """Column j: where mass fired from cell j re-enters. Cell j crosses the threshold
    over a range of w (that of its part reaching it in one step, or its own); the
    reset rule maps the two ends of that range to a segment (AdEx: on v = V_r, from
    w_low + b to w_high + b), and the mass is split between the cells the segment
    crosses in proportion to the length in each, as if spread evenly along it. A
    segment shorter than RESET_POINT_LENGTH, or on no cell, goes to the cell holding
    (or nearest) its middle. The part of a segment outside the range box (or a point
    reset outside it) is reported as clamped, at the edge the segment sticks out of.
    `firing` (bool per cell): the cells that can fire (the others' columns, never
    used, hold their centre's reset); default all."""
    model, grid, cells = tracing.model, tracing.grid, tracing.cells
    n = len(cells)
    settled = reset_without_rule(model, n)
    if settled is not None:
        return settled
    firing = np.ones(n, dtype=bool) if firing is None else np.asarray(firing, dtype=bool)
    part = cells.copy()
    touching = np.flatnonzero(firing)
    touching = touching[shapely.intersects(cells[touching], tracing.crossing)]
    part[touching] = shapely.intersection(cells[touching], tracing.crossing)
    part[shapely.area(part) <= 0] = cells[shapely.area(part) <= 0]
    bounds = shapely.bounds(part)
    # A cell that never fires: the reset of its centre's w, as a point.
    bounds[~firing, 1] = bounds[~firing, 3] = tracing.centres[~firing, 1]
    ends = []
    for w in (bounds[:, 1], bounds[:, 3]):
        new_v, new_w = model.reset_state(np.full(n, model.threshold), grid.from_units(1, w))
        new_v, new_w = np.broadcast_to(new_v, (n,)), np.broadcast_to(new_w, (n,))
        if not (np.all(np.isfinite(new_v)) and np.all(np.isfinite(new_w))):
            raise MeshError("the reset rule gives non-finite values on the mesh")
        ends.append(np.stack([grid.to_units(0, new_v), grid.to_units(1, new_w)], axis=1))
    low, high = ends
    middle = 0.5 * (low + high)
    long = np.flatnonzero(np.hypot(*(high - low).T) >= RESET_POINT_LENGTH)
    segments = shapely.linestrings(np.stack([low[long], high[long]], axis=1))
    index, target = tracing.tree.query(segments, predicate="intersects")
    lengths = shapely.length(shapely.intersection(segments[index], cells[target]))
    keep = lengths > NEGLIGIBLE_OVERLAP * shapely.length(segments)[index]
    index, target, lengths = index[keep], target[keep], lengths[keep]
    on_cells = np.bincount(index, weights=lengths, minlength=len(long))
    single = np.setdiff1d(np.arange(n), long[on_cells > 0])
    rows = np.concatenate([target, locate_cells(tracing.tree, middle[single, 0],
                                                middle[single, 1])])
    cols = np.concatenate([long[index], single])
    values = np.concatenate([lengths / on_cells[index], np.ones(len(single))])
    matrix = sparse.csc_matrix((values, (rows, cols)), shape=(n, n))
    matrix, _ = normalise_columns(matrix, np.zeros(n), "strip reset mapping")
    # Clamped: the share of each segment on no cell (outside the box), or the whole
    # of a point reset outside it.
    clamped = np.zeros(n)
    length = np.hypot(*(high[long] - low[long]).T)
    clamped[long] = 1.0 - on_cells / length
    box_u, box_s = grid.resolution
    outside = ((middle[:, 0] < 0) | (middle[:, 0] > box_u) | (middle[:, 1] < 0)
               | (middle[:, 1] > box_s))
    clamped[single] = outside[single]
    clamped = _significant(clamped)
    extent = np.concatenate([np.minimum(low, high), np.maximum(low, high)], axis=1)
    edge = outward_edge(extent, grid.resolution, top_fires=False)
    return reset_transition(matrix, clamped, edges_of_clamped(clamped, edge))



def locate_cells(tree: shapely.STRtree, u: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The cell (of the cells in `tree`) holding each point (cell units); the nearest
    cell for points on none."""
    points = shapely.points(np.asarray(u, float), np.asarray(s, float))
    index, target = tree.query(points, predicate="intersects")
    found = np.full(len(points), -1, dtype=np.int64)
    found[index[::-1]] = target[::-1]  # the lowest-numbered cell holding it
    missing = np.flatnonzero(found < 0)
    if len(missing):
        found[missing] = tree.query_nearest(points[missing], all_matches=False)[1]
    return found
