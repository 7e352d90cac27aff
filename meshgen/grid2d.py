"""The grid method in two dimensions: the cell numbering and the form of its matrices.

A density on the grid (meshgen.regular_grid.Grid) is one number per cell: the
probability mass in it, spread evenly over the cell. Cells are numbered with the first
variable fastest,

    cell = i_v + n_v * i_w,

so `density.reshape(n_w, n_v)[i_w, i_v]` is the mass of cell (i_v, i_w) (numpy's C
order with v as the column index, the way `imshow` draws v across and w up).

Three sparse matrices, all column-stochastic (column = source cell), move that mass:

* `motion_matrix` (meshgen.grid2d_motion): one mesh step dt of the deterministic flow
  (meshgen.grid2d_flow). Each cell's boundary is carried along by the flow and the
  moved polygon is overlapped with the grid.
* `jump_matrix` (meshgen.grid2d_jumps): a synaptic jump of fixed size along one axis,
  a fractional shift.
* `reset_mapping` (meshgen.grid2d_jumps): where the mass that fires from each cell
  re-enters.

Motion and jumps also return `fired` (per source cell, the fraction that crosses
the threshold) and `clamped` (the fraction that left the grid on another side and
was put in the nearest boundary cell instead of being lost); for every column,
matrix column sum + fired = 1 to rounding (1e-12 is checked). One step of a
population without refractoriness is then

    fired_mass = fired * p;  p = T @ p + R @ fired_mass;  rate = fired_mass.sum() / dt.

This module holds that form, `GridTransition`, and `normalise_columns`, which every
2D matrix (grid or strips, meshgen.strips2d_matrices) goes through. Everything here is
plain data in and out (numpy arrays, scipy CSC matrices); no I/O.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import sparse

from .box_edges import NO_EDGE
from .errors import MeshError
from .models import NeuronModel
from .regular_grid import Grid

# Matrix entries below this fraction of a cell's mass are the rounding residue of
# edges that only touch a cell; they are dropped and their mass given back to the
# column by the renormalisation.
DROP_FRACTION = 1e-14
# Before renormalisation the overlaps of a moved cell must add up to its area to
# this relative accuracy (they are an exact partition, so anything worse is a bug).
PARTITION_TOLERANCE = 1e-9
# After renormalisation every column sum (with fired) is 1 to this.
COLUMN_SUM_TOLERANCE = 1e-12


class GridTransition(NamedTuple):
    """Where one step (motion or a jump) takes each cell's mass.

    matrix: (n, n) CSC, column j = the fractions of cell j's mass per target cell.
    fired: (n,) the fraction of each cell's mass that crossed the threshold.
    clamped: (n,) the part of each column's mass that left the grid on a side other
        than the threshold and was put in the nearest boundary cell (it is included
        in `matrix`; reported so a caller can warn that the grid is too small).
    degenerate: indices of cells whose moved polygon was twisted or collapsed and
        was repaired or replaced (see meshgen.grid2d_motion.motion_matrix); always empty
        for jumps.
    clamped_edge: (n,) int8, the edge of the range box each cell's clamped mass went
        out through (meshgen.box_edges numbering; -1 where nothing is clamped).

    The reset mapping has the same form, with `fired` all zero.
    """

    matrix: sparse.csc_matrix
    fired: np.ndarray
    clamped: np.ndarray
    degenerate: np.ndarray
    clamped_edge: np.ndarray


def reset_transition(matrix, clamped: np.ndarray, edge: np.ndarray) -> GridTransition:
    """A reset mapping as a GridTransition: nothing fires, nothing is degenerate."""
    n = matrix.shape[1]
    return GridTransition(matrix=matrix, fired=np.zeros(n), clamped=clamped,
                          degenerate=np.zeros(0, np.int64), clamped_edge=edge)


def reset_without_rule(model: NeuronModel, n: int) -> GridTransition | None:
    """The reset mapping of `n` cells where the model settles it without its reset rule:
    none for a model without a threshold (nothing ever fires; motion and jumps clamp
    at the top instead), an error for one that fires without a reset (its spikes are
    only counted); None for every other model."""
    if model.threshold is None:
        return reset_transition(sparse.csc_matrix((n, n)), np.zeros(n),
                                np.full(n, NO_EDGE, np.int8))
    if not model.resets:
        raise MeshError(f"model '{model.kind}' has no reset (its spikes are only counted); "
                        "there is no reset mapping")
    return None


def normalise_columns(matrix, fired: np.ndarray, what: str):
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


def check_model_variables(model: NeuronModel, grid: Grid) -> None:
    """A MeshError unless the grid's variables are the model's, in order."""
    if tuple(model.variables) != grid.variables:
        raise MeshError(f"the grid's variables {list(grid.variables)} are not the model's "
                        f"{list(model.variables)}")
