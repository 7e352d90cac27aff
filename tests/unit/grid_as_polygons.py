"""A 2D strip artifact made by hand from a grid artifact: the grid's cells listed as
polygons (meshgen.polygon_mesh.PolygonMesh) with the grid's own matrices.

Such a Strips2DArtifact describes exactly the grid's population, so everything run or
written from it must equal what the grid gives: a strong round-trip check of the
strips2d plumbing (artifact, solver, output, analysis) without the strip method.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from scipy import sparse

from meshgen.formats.mesh_artifact import GridArtifact, GridMatrix, write_strip2d_mesh
from meshgen.grid2d import GridTransition
from meshgen.polygon_mesh import PolygonMesh
from meshgen.regular_grid import Grid

# Corners per listed cell: a grid cell has four; the even cells get a fifth on the
# midpoint of their lower edge (the same polygon), the odd ones repeat their last
# corner (the padding of PolygonMesh).
CORNERS = 5
# Strips: the cells of the first rows of the grid, one strip a row; the rest are
# fill cells (the layout only; the matrices are the grid's).
STRIP_ROWS = 3


def grid_of(artifact: GridArtifact) -> Grid:
    return Grid(artifact.variables, tuple(map(tuple, artifact.ranges)),
                tuple(artifact.resolution))


def grid_polygons(grid: Grid) -> np.ndarray:
    """(n_cells, CORNERS, 2): each grid cell counter-clockwise, v fastest."""
    v_edges, w_edges = grid.edges
    n_v = grid.resolution[0]
    i_w, i_v = np.divmod(np.arange(grid.n_cells), n_v)
    v0, v1, w0, w1 = v_edges[i_v], v_edges[i_v + 1], w_edges[i_w], w_edges[i_w + 1]
    square = np.stack([np.stack(corner, axis=1) for corner in
                       ((v0, w0), (v1, w0), (v1, w1), (v0, w1))], axis=1)
    vertices = np.concatenate([square, square[:, -1:]], axis=1)  # padded
    even = np.arange(grid.n_cells) % 2 == 0
    midpoint = np.stack([0.5 * (v0 + v1), w0], axis=1)
    vertices[even] = np.concatenate([square[even, :1], midpoint[even, None],
                                     square[even, 1:]], axis=1)
    return vertices


def polygon_mesh_of(artifact: GridArtifact) -> PolygonMesh:
    grid = grid_of(artifact)
    n_v = grid.resolution[0]
    return PolygonMesh(variables=grid.variables, ranges=np.array(grid.ranges),
                       resolution=grid.resolution, dt=artifact.dt,
                       cell_vertices=grid_polygons(grid),
                       centres=np.stack(grid.cell_centres(), axis=1),
                       strip_first=np.arange(STRIP_ROWS, dtype=np.int64) * n_v,
                       n_strip_cells=STRIP_ROWS * n_v)


def _transition(matrix: GridMatrix, n: int) -> GridTransition:
    csc = sparse.csc_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(n, n))
    degenerate = matrix.degenerate if matrix.degenerate is not None else np.zeros(0, np.int64)
    return GridTransition(csc, matrix.fired, matrix.clamped, degenerate, matrix.clamped_edge)


def write_grid_as_strips2d(artifact: GridArtifact, path: Path) -> PolygonMesh:
    """Write the grid artifact's cells and matrices as a strips2d artifact at `path`;
    returns the PolygonMesh written."""
    n = artifact.n_cells
    with h5py.File(artifact.path) as f:
        document = json.loads(f.attrs["model_file"])
    mesh = polygon_mesh_of(artifact)
    jumps = [(j.dimension, j.efficacy, _transition(j, n)) for j in artifact.jumps]
    reset = _transition(artifact.reset, n)
    threshold = None if np.isnan(artifact.threshold) else artifact.threshold
    write_strip2d_mesh(path, document=document, model=artifact.model, mesh=mesh,
                       threshold=threshold, motion=_transition(artifact.motion, n),
                       jumps=jumps, reset=reset)
    return mesh
