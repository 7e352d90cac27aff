"""Transition matrices for synaptic jumps, by exact overlap of intervals.

The solver applies jumps once per block of J = jump_interval mesh steps, at the
block's middle, so the matrices are built in mid-block coordinates: a strip cell is
where it will be J/2 steps after its mesh point, a stationary cell stays put. Those
intervals tile [lowest, threshold] except just behind each strip's entry (where
nothing has arrived yet by mid-block); those gaps are extra "entry" cells, index
n_cells + g, whose mass the solver moves into the strip cell they reach by the end of
the block (cell J//2 + i for a gap piece in cell i) after the strip has moved. With them the matrix is
square and each column (source) sums to 1 together with its threshold fraction:
mass is redistributed, never lost.

Column j says where the mass of cell j goes after a jump of size h, assuming it is
spread evenly over the cell: to each target in proportion to the overlap of the
shifted interval, to the threshold for what lands above it, and to the lowest target
for what would land below the mesh (clamped, not lost).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .errors import MeshError
from .strips_1d import Strips1DMesh


@dataclass(frozen=True)
class JumpTiling:
    """Mid-step intervals that tile [lowest, threshold], each with the cell it is."""

    boundaries: np.ndarray  # (n_pieces + 1,) ascending
    target: np.ndarray  # (n_pieces,) cell index, or n_cells + g for entry gap g
    source_lower: np.ndarray  # (n_cells + n_gaps,) the interval each cell jumps from
    source_upper: np.ndarray
    gap_entry_cell: np.ndarray  # (n_gaps,) strip first cell that entry gap g feeds


@dataclass(frozen=True)
class TransitionMatrix:
    efficacy: float
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    threshold_fraction: np.ndarray


def jump_tiling(mesh: Strips1DMesh) -> JumpTiling:
    n = mesh.n_cells
    stationary = mesh.is_stationary
    span = max(1.0, abs(mesh.lowest), abs(mesh.threshold))
    tolerance = 1e-12 * span
    clip_lo = np.clip(mesh.midstep_lower, mesh.lowest, mesh.threshold)
    clip_hi = np.clip(mesh.midstep_upper, mesh.lowest, mesh.threshold)

    pieces = [(lo, hi, cell) for cell, (lo, hi) in enumerate(zip(clip_lo, clip_hi))
              if not stationary[cell] and hi - lo > tolerance]
    pieces.sort()
    # Uncovered stretches: split at original cell boundaries and attribute each part
    # to the stationary cell it lies in, or to the entry gap of the strip it starts.
    order = np.argsort(mesh.lower)
    cuts = np.concatenate([mesh.lower[order], [mesh.threshold]])
    # Behind each strip's entry, mid-block positions that only the first cells reach
    # by the end of the block: a piece lying in original cell i feeds cell i + J//2.
    lead = mesh.jump_interval // 2
    entry_of = {}
    for f, length in zip(mesh.strip_first, mesh.strip_length):
        if lead >= length:
            raise MeshError(f"a strip of {length} cells is too short for jump_interval = "
                            f"{mesh.jump_interval}; lower [mesh] jump_interval")
        # One cell more than the block reaches: a strip that starts at the lowest edge
        # begins with a partial (shorter than a step) cell.
        for i in range(min(lead + 2, length)):
            entry_of[int(f) + i] = int(f) + min(i + lead, length - 1)
    first_cells = {}
    covered = []
    cursor = mesh.lowest
    for lo, hi, cell in pieces + [(mesh.threshold, mesh.threshold, -1)]:
        if lo < cursor - 1e-9 * span:
            raise MeshError("mid-step cells overlap; lower [mesh] dt")
        if lo > cursor + tolerance:
            inner = cuts[(cuts > cursor) & (cuts < lo)]
            edges = np.concatenate([[cursor], inner, [lo]])
            for left, right in zip(edges[:-1], edges[1:]):
                if right - left <= tolerance:
                    continue
                owner = int(order[np.searchsorted(mesh.lower[order], 0.5 * (left + right)) - 1])
                if stationary[owner]:
                    covered.append((left, right, owner))
                elif owner in entry_of:
                    gap = first_cells.setdefault(owner, len(first_cells))
                    covered.append((left, right, n + gap))
                else:
                    raise MeshError(f"mid-step gap at v in [{left:.6g}, {right:.6g}] inside a strip; "
                                    "lower [mesh] dt")
        if cell >= 0:
            covered.append((max(lo, cursor), hi, cell))
            cursor = hi
    covered.sort()
    boundaries = np.array([c[0] for c in covered] + [mesh.threshold])
    target = np.array([c[2] for c in covered], dtype=np.int64)
    n_gaps = len(first_cells)
    gap_lower = np.full(n_gaps, np.inf)
    gap_upper = np.full(n_gaps, -np.inf)
    for lo, hi, owner in covered:
        if owner >= n:
            gap_lower[owner - n] = min(gap_lower[owner - n], lo)
            gap_upper[owner - n] = max(gap_upper[owner - n], hi)
    gap_entry = np.empty(n_gaps, dtype=np.int64)
    for cell, gap in first_cells.items():
        gap_entry[gap] = entry_of[cell]
    source_lower = np.concatenate([np.where(stationary, mesh.lower, mesh.midstep_lower), gap_lower])
    source_upper = np.concatenate([np.where(stationary, mesh.upper, mesh.midstep_upper), gap_upper])
    return JumpTiling(boundaries=boundaries, target=target, source_lower=source_lower,
                      source_upper=source_upper, gap_entry_cell=gap_entry)


def transition_matrix(tiling: JumpTiling, efficacy: float, lowest: float,
                      threshold: float) -> TransitionMatrix:
    """The column-stochastic jump matrix (with its threshold column) for one efficacy."""
    size = len(tiling.source_lower)
    source_lo, source_hi = tiling.source_lower, tiling.source_upper
    width = source_hi - source_lo
    if np.any(width <= 0):
        raise MeshError("a cell has no width at mid-block; lower [mesh] dt")
    # The part of a strip cell already past threshold at mid-block fires by drift in
    # this block whatever the jumps do: it stays in its cell, so the solver counts its
    # crossing when the strip moves, at the right time. A part below the mesh is taken
    # to sit at its edge.
    fired = np.clip(source_hi - np.maximum(source_lo, threshold), 0.0, None)
    at_edge = np.clip(np.minimum(source_hi, lowest) - source_lo, 0.0, None)
    x0 = np.clip(source_lo, lowest, threshold) + efficacy
    x1 = np.clip(source_hi, lowest, threshold) + efficacy
    # What lands above threshold fires; what lands below the mesh is clamped to its edge.
    above = np.clip(x1 - np.maximum(x0, threshold), 0.0, None)
    below = np.clip(np.minimum(x1, lowest) - x0, 0.0, None)
    lo = np.clip(x0, lowest, threshold)
    hi = np.clip(x1, lowest, threshold)
    edge_landing = lowest + efficacy
    if edge_landing >= threshold:
        above = above + at_edge
        at_edge = np.zeros_like(at_edge)

    bounds = tiling.boundaries
    first = np.clip(np.searchsorted(bounds, lo, side="right") - 1, 0, len(bounds) - 2)
    last = np.clip(np.searchsorted(bounds, hi, side="left") - 1, 0, len(bounds) - 2)
    last = np.maximum(last, first)
    counts = last - first + 1
    column = np.repeat(np.arange(size), counts)
    piece = np.repeat(first, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    overlap = (np.minimum(hi[column], bounds[piece + 1]) - np.maximum(lo[column], bounds[piece]))
    overlap = np.clip(overlap, 0.0, None)
    rows = tiling.target[piece]
    fractions = overlap / width[column]

    bottom = tiling.target[0]
    edge_piece = min(max(int(np.searchsorted(bounds, edge_landing, side="right")) - 1, 0),
                     len(bounds) - 2)
    rows = np.concatenate([rows, np.full(size, bottom), np.full(size, tiling.target[edge_piece]),
                           np.arange(size)])
    column = np.concatenate([column, np.arange(size), np.arange(size), np.arange(size)])
    fractions = np.concatenate([fractions, below / width, at_edge / width, fired / width])
    matrix = sparse.csc_matrix((fractions, (rows, column)), shape=(size, size))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    threshold_fraction = above / width
    # Fractions are lengths over widths: renormalise the last bits of rounding so the
    # columns sum to 1 exactly as far as floating point allows.
    total = np.asarray(matrix.sum(axis=0)).ravel() + threshold_fraction
    if np.any(np.abs(total - 1.0) > 1e-9):
        worst = int(np.argmax(np.abs(total - 1.0)))
        raise MeshError(f"jump matrix for efficacy {efficacy} loses mass in cell {worst} "
                        f"(column sum {total[worst]!r})")
    scale = 1.0 / total
    matrix = matrix @ sparse.diags(scale)
    matrix = sparse.csc_matrix(matrix)
    matrix.sort_indices()
    threshold_fraction = threshold_fraction * scale
    _make_columns_sum_to_one(matrix.indptr, matrix.data, threshold_fraction)
    return TransitionMatrix(efficacy=efficacy, indptr=matrix.indptr.astype(np.int64),
                            indices=matrix.indices.astype(np.int64), data=matrix.data,
                            threshold_fraction=threshold_fraction * scale)


def _make_columns_sum_to_one(indptr, data, threshold_fraction) -> None:
    """Put each column's rounding residual (computed exactly, with fsum) on its largest
    entry, so the sums are 1 to the last bit and mass does not drift one way over
    millions of steps."""
    for column in range(len(indptr) - 1):
        start, end = indptr[column], indptr[column + 1]
        values = data[start:end]
        residual = 1.0 - math.fsum(list(values) + [threshold_fraction[column]])
        if residual == 0.0:
            continue
        if end > start and (values.max() >= threshold_fraction[column]):
            values[int(np.argmax(values))] += residual
        else:
            threshold_fraction[column] += residual
