"""A regular grid over two variables: the cells of a 2D grid mesh, or the range box
and target cells of a 2D strip mesh.

Cells are numbered with the first variable fastest, cell = i_v + n_v * i_w (see
meshgen.grid2d). Only numpy: `miind run` uses it without the mesh builder's
geometry (shapely) or sparse matrices (scipy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import MeshError


@dataclass(frozen=True)
class Grid:
    """A regular grid over two variables: `ranges[k] = (lo, hi)` split into
    `resolution[k]` equal cells. The first variable is the spiking one (v)."""

    variables: tuple[str, str]
    ranges: tuple[tuple[float, float], tuple[float, float]]
    resolution: tuple[int, int]

    def __post_init__(self):
        variables = tuple(self.variables)
        if len(variables) != 2 or len(set(variables)) != 2:
            raise MeshError(f"a 2D grid needs two distinct variables, got {list(variables)}")
        try:
            ranges = tuple((float(lo), float(hi)) for lo, hi in self.ranges)
            resolution = tuple(int(n) for n in self.resolution)
        except (TypeError, ValueError):
            raise MeshError(f"ranges must be two (lo, hi) pairs and resolution two integers, "
                            f"got {self.ranges!r}, {self.resolution!r}") from None
        if len(ranges) != 2 or len(resolution) != 2:
            raise MeshError("ranges and resolution need one entry per variable")
        for name, (lo, hi), n, given in zip(variables, ranges, resolution, self.resolution):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise MeshError(f"range of {name} must be finite with lo < hi, got [{lo}, {hi}]")
            if n < 2 or n != given:
                # Two cells at least: the reset mapping splits between two centres per axis.
                raise MeshError(f"resolution of {name} must be an integer >= 2, got {given!r}")
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "ranges", ranges)
        object.__setattr__(self, "resolution", resolution)

    @property
    def n_cells(self) -> int:
        return self.resolution[0] * self.resolution[1]

    @property
    def widths(self) -> tuple[float, float]:
        return tuple((hi - lo) / n for (lo, hi), n in zip(self.ranges, self.resolution))

    @property
    def cell_area(self) -> float:
        dv, dw = self.widths
        return dv * dw

    @property
    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell boundaries per axis, (n_k + 1,) each, ending exactly at lo and hi."""
        return tuple(np.linspace(lo, hi, n + 1)
                     for (lo, hi), n in zip(self.ranges, self.resolution))

    @property
    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres per axis, (n_k,) each."""
        return tuple(0.5 * (e[:-1] + e[1:]) for e in self.edges)

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(v, w) of every cell's centre, (n_cells,) each, in cell order."""
        cv, cw = self.centres
        return np.tile(cv, len(cw)), np.repeat(cw, len(cv))

    def index(self, i_v, i_w):
        return np.asarray(i_v) + self.resolution[0] * np.asarray(i_w)

    def unravel(self, cell):
        """(i_v, i_w) of cell indices."""
        return np.divmod(np.asarray(cell), self.resolution[0])[::-1]

    def axis(self, variable: str | int) -> int:
        if variable in (0, 1):
            return int(variable)
        if variable in self.variables:
            return self.variables.index(variable)
        raise MeshError(f"the grid has no variable {variable!r} (variables: "
                        f"{', '.join(self.variables)})")

    def to_units(self, axis: int, values):
        """Positions along an axis in cell widths from its lower end (cell i is [i, i+1])."""
        lo = self.ranges[axis][0]
        return (np.asarray(values, dtype=float) - lo) / self.widths[axis]

    def from_units(self, axis: int, units):
        return self.ranges[axis][0] + np.asarray(units, dtype=float) * self.widths[axis]

    def locate(self, v, w) -> np.ndarray:
        """The cell holding each point; points outside go to the nearest boundary cell."""
        i_v = np.clip(np.floor(self.to_units(0, v)), 0, self.resolution[0] - 1).astype(np.int64)
        i_w = np.clip(np.floor(self.to_units(1, w)), 0, self.resolution[1] - 1).astype(np.int64)
        return self.index(i_v, i_w)
