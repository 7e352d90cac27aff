"""The cells of a 2D mesh as the figures need them, whatever kind of mesh it is.

Two representations, so a figure never asks which mesh it came from:

* a regular grid: the cell edges along each axis, cells numbered v fastest
  (meshgen.grid2d), drawn as one pcolormesh;
* polygons: every cell's corners, (n_cells, n_corners, 2) in (v, w), drawn as a
  PolyCollection (the cells of 2D strip meshes are arbitrary polygons; one of fewer
  corners repeats its last, which changes neither its outline nor its area).

Built from an output's density group (analysis) or from a mesh artifact
(`artifact_cells`): a GridArtifact, or any artifact with a `cell_vertices` array
(n_cells, k, 2) (a StripArtifact) and `variables`, `units`, `model` like a
GridArtifact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeshCells:
    variables: tuple[str, str]
    units: tuple[str, str]
    edges: tuple[np.ndarray, np.ndarray] | None = None  # regular grid: (n_v + 1,), (n_w + 1,)
    vertices: np.ndarray | None = None  # polygons: (n_cells, n_corners, 2)

    @property
    def regular(self) -> bool:
        return self.edges is not None

    @property
    def n_cells(self) -> int:
        if self.regular:
            return (len(self.edges[0]) - 1) * (len(self.edges[1]) - 1)
        return len(self.vertices)

    @property
    def shape(self) -> tuple[int, int]:
        """Cells per axis (n_v, n_w) of a regular grid."""
        return len(self.edges[0]) - 1, len(self.edges[1]) - 1

    def areas(self) -> np.ndarray:
        """(n_cells,) cell areas [unit of v x unit of w], in cell order."""
        if self.regular:
            dv, dw = np.diff(self.edges[0]), np.diff(self.edges[1])
            return np.outer(dw, dv).ravel()
        v, w = self.vertices[..., 0], self.vertices[..., 1]
        # Shoelace formula; the corners may run either way round.
        return 0.5 * np.abs(np.sum(v * np.roll(w, -1, axis=1) - np.roll(v, -1, axis=1) * w,
                                   axis=1))

    def densities(self, mass: np.ndarray) -> np.ndarray:
        """Mass per unit area of each cell; NaN for cells of zero area."""
        areas = self.areas()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(areas > 0, mass / np.where(areas > 0, areas, 1.0), np.nan)

    def limits(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((v_lo, v_hi), (w_lo, w_hi)) enclosing every cell."""
        if self.regular:
            return tuple((float(e[0]), float(e[-1])) for e in self.edges)
        return tuple((float(self.vertices[..., k].min()), float(self.vertices[..., k].max()))
                     for k in (0, 1))


def grid_cells(variables, units, ranges, resolution) -> MeshCells:
    """The cells of a regular grid (meshgen.regular_grid.Grid's edges: exactly lo to hi)."""
    edges = tuple(np.linspace(float(lo), float(hi), int(n) + 1)
                  for (lo, hi), n in zip(np.asarray(ranges), np.asarray(resolution)))
    return MeshCells(tuple(variables), tuple(units), edges=edges)


def polygon_cells(variables, units, vertices) -> MeshCells:
    vertices = np.asarray(vertices, dtype=float)
    return MeshCells(tuple(variables), tuple(units), vertices=vertices)


def artifact_cells(artifact) -> MeshCells:
    """The cells of a 2D mesh artifact (see the module docstring)."""
    variables = tuple(artifact.variables)
    units = tuple(artifact.units.get(v, "") for v in variables)
    vertices = getattr(artifact, "cell_vertices", None)
    if vertices is not None:
        return polygon_cells(variables, units, vertices)
    return grid_cells(variables, units, artifact.ranges, artifact.resolution)
