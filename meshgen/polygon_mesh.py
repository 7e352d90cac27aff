"""A 2D mesh of polygon cells: what the 2D strip method builds (meshgen.strips2d_tracing),
and `polygon_mesh`, which makes one of a tracing's cells.

Cells are listed, not implied by ranges and resolution as on a grid:

* `cell_vertices` (n_cells, k, 2): each cell's outline (v, w) in model units,
  counter-clockwise, not closed; cells with fewer than k corners repeat their last
  corner (a repeated corner adds nothing to the area or the outline, so the array
  can be drawn and measured as it is). An outline of more than MAX_STORED_CORNERS
  corners is stored simplified (within a thousandth of a target cell): the padding
  to the longest outline would otherwise multiply the array's size.
* `centres` (n_cells, 2): each cell's area centroid (v, w), used for the means.
* Cells [0, n_strip_cells) lie on strips: strip i is the cells
  strip_first[i] <= cell < strip_first[i + 1] (the last ends at n_strip_cells), in
  the order the flow visits them, so deterministic motion moves mass one cell on.
  The cells after n_strip_cells fill the parts of the ranges that no strip covers
  (see meshgen.strips2d_tracing); their mass moves by polygon overlap, as on a grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    from .strips2d_tracing import Tracing

# The artifact stores every cell's outline padded to the most corners of any cell
# (PolygonMesh): a few fill cells that follow a strip's edge step by step have
# hundreds (AdEx with automatic settings: 22 of 57,779 cells over 32, one 267, which
# made cell_vertices 235 MB of a 246 MB file). Outlines over MAX_STORED_CORNERS are
# stored simplified, within STORED_OUTLINE_TOLERANCE cells (there: 19 corners at most,
# areas within 0.5%); the matrices are computed on the exact cells before.
MAX_STORED_CORNERS = 24
STORED_OUTLINE_TOLERANCE = 1e-3
MAX_SIMPLIFICATIONS = 20


@dataclass(frozen=True)
class PolygonMesh:
    """The cells of a 2D strip mesh, in model units (see the module doc)."""

    variables: tuple[str, str]
    ranges: np.ndarray  # (2, 2): [lo, hi] of each variable, model units
    resolution: tuple[int, int]  # the target cells per variable it was built for
    dt: float  # s, the mesh time step
    cell_vertices: np.ndarray  # (n_cells, k, 2)
    centres: np.ndarray  # (n_cells, 2)
    strip_first: np.ndarray  # (n_strips,) int64
    n_strip_cells: int

    @property
    def n_cells(self) -> int:
        return len(self.centres)

    @property
    def n_strips(self) -> int:
        return len(self.strip_first)


def polygon_mesh(tracing: Tracing) -> PolygonMesh:
    """The tracing's cells in model units, outlines padded to one length (see the
    module doc); outlines of more than MAX_STORED_CORNERS corners are simplified (see
    there)."""
    grid = tracing.grid
    rings = shapely.get_exterior_ring(_stored_outlines(tracing.cells))
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(owner, minlength=len(rings))
    # Rings are closed: drop each one's repeated first point.
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    keep = np.ones(len(coords), dtype=bool)
    keep[starts + counts - 1] = False
    coords, counts = coords[keep], counts - 1
    first = np.cumsum(counts) - counts
    # Corner k of each cell, or its last corner where it has fewer than k + 1.
    corner = np.minimum(np.arange(counts.max())[None, :], (counts - 1)[:, None])
    vertices = coords[first[:, None] + corner]
    vertices[..., 0] = grid.from_units(0, vertices[..., 0])
    vertices[..., 1] = grid.from_units(1, vertices[..., 1])
    centre = tracing.centres
    centres = np.stack([grid.from_units(0, centre[:, 0]), grid.from_units(1, centre[:, 1])], 1)
    return PolygonMesh(variables=grid.variables, ranges=np.array(grid.ranges, dtype=float),
                       resolution=tuple(grid.resolution), dt=tracing.dt,
                       cell_vertices=vertices, centres=centres,
                       strip_first=tracing.strip_first, n_strip_cells=tracing.n_strip_cells)


def _stored_outlines(cells: np.ndarray) -> np.ndarray:
    """The cells, those with more than MAX_STORED_CORNERS corners simplified
    (Douglas-Peucker, topology kept) with a tolerance of STORED_OUTLINE_TOLERANCE cells,
    doubled until they fit."""
    cells = cells.copy()
    tolerance = STORED_OUTLINE_TOLERANCE
    for _ in range(MAX_SIMPLIFICATIONS):
        over = np.flatnonzero(shapely.get_num_coordinates(cells) - 1 > MAX_STORED_CORNERS)
        if len(over) == 0:
            break
        cells[over] = shapely.simplify(cells[over], tolerance, preserve_topology=True)
        tolerance *= 2
    return cells
