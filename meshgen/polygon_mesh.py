"""A 2D mesh of polygon cells: what the 2D strip method (meshgen.strips2d) builds.

Cells are listed, not implied by ranges and resolution as on a grid:

* `cell_vertices` (n_cells, k, 2): each cell's outline (v, w) in model units,
  counter-clockwise, not closed; cells with fewer than k corners repeat their last
  corner (a repeated corner adds nothing to the area or the outline, so the array
  can be drawn and measured as it is). An outline of more than
  meshgen.strips2d.MAX_STORED_CORNERS corners is stored simplified (within a
  thousandth of a target cell): the padding to the longest outline would otherwise
  multiply the array's size.
* `centres` (n_cells, 2): each cell's area centroid (v, w), used for the means.
* Cells [0, n_strip_cells) lie on strips: strip i is the cells
  strip_first[i] <= cell < strip_first[i + 1] (the last ends at n_strip_cells), in
  the order the flow visits them, so deterministic motion moves mass one cell on.
  The cells after n_strip_cells fill the parts of the ranges that no strip covers
  (see meshgen.strips2d); their mass moves by polygon overlap, as on a grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PolygonMesh:
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
