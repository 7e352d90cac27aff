"""The one-step operator of a 1D density population as an explicit sparse matrix: what
solver.kernels_1d.advance_network does to one population in one network step under
constant input rates, written out with scipy so that a stationary state is a linear
solve (solver.steady) instead of a long run.

The state is x = [logical cell masses (n); the refractory queue (Q)], Q[d] the mass
that re-enters at the reset d mesh steps after the start of the step. One network step
is `substeps` mesh steps, each, as in the kernel:

1. the jumps (uniformization, solver.kernels_1d.apply_jumps) on [mass; entry gaps]:
   P = sum_k w_k M^k, M = sum_g (rate_g / L) M_g; what leaves the cells is what crossed;
2. the motion: every strip moves one cell on, its last cell into its terminal cell
   or across the threshold; stationary cells stay;
3. the entry gaps join their cells;
4. the crossed mass is scheduled for the reset after the refractory period (split
   between two mesh steps when that is not whole, placed at once, moved part of a cell
   on, when it is already over);
5. the queue's mass due now is placed at the reset cells.

`rate` is the row vector giving the step's firing rate (Hz) from x. The matrix is
checked against the kernel itself, column by column, in tests/unit/test_steady.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order

from meshgen.formats.mesh_artifact import Strips1DArtifact

from .layout_1d import MAX_POISSON_TERMS, POISSON_TAIL
from .network_1d import refractory_queue_length


# Beyond this many entries the jump operator is too dense to factorise (many jumps per
# step over cells much thinner than a jump: Brunel's network on 4,793 cells fills 45%
# of it, 10 M entries); solver.steady then steps the kernel instead.
MAX_OPERATOR_ENTRIES = 3_000_000


class DenseOperator(Exception):
    """The explicit operator would be too dense (see MAX_OPERATOR_ENTRIES)."""


@dataclass(frozen=True)
class StepOperator:
    """x_next = matrix @ x; rate (Hz) = rate @ x, over one network step."""

    matrix: sparse.csr_matrix  # (n + Q, n + Q)
    rate: np.ndarray  # (n + Q,)
    n_cells: int
    # The states the stationary state can hold mass in (reachable_states); None: all.
    # Outside them the operator holds mass still instead of jumping it.
    support: np.ndarray | None = None


def jump_series(matrices, rates: dict[int, float], size: int, expected_per_hz: float,
                limit: int | None = None, columns: np.ndarray | None = None,
                with_applied: bool = True):
    """The jumps' one-step operator P = sum_k w_k M^k by uniformization, as the kernels
    evaluate it (Horner: R <- w_k I + M R from the last term down), with M = sum_g
    (rate_g / L) M_g over the CSC `matrices` (anything with data, indices, indptr)
    indexed by `rates`' keys, and w_k the Poisson weights of L * expected_per_hz jumps.
    Returns (P, the sum of the Horner partials M is applied to: what each application
    of M acts on, for the mass fired by the jumps; None unless `with_applied`), both
    None without input. More than `limit` entries raise DenseOperator. `columns`
    (bool, size): only these cells jump; P holds the others' mass where it is."""
    total = sum(rate for rate in rates.values() if rate > 0.0)
    if total <= 0.0:
        return None, None
    combined = None
    for index, rate in rates.items():
        if rate > 0.0:
            m = matrices[index]
            part = sparse.csc_matrix(((rate / total) * np.asarray(m.data), m.indices, m.indptr),
                                     shape=(size, size))
            combined = part if combined is None else combined + part
    if columns is not None:
        combined = combined.tocsc()
        combined.data[~np.repeat(columns, np.diff(combined.indptr))] = 0.0
        combined.eliminate_zeros()
    combined = combined.tocsr()
    weights = poisson_weights(total * expected_per_hz)
    identity = sparse.identity(size, format="csr")
    result = weights[-1] * identity
    applied = sparse.csr_matrix((size, size)) if with_applied else None
    for term in range(len(weights) - 2, -1, -1):
        if with_applied:
            applied = applied + result
        result = (weights[term] * identity + combined @ result).tocsr()
        if limit is not None and result.nnz > limit:
            raise DenseOperator(f"{result.nnz} entries after {len(weights) - 1 - term} of "
                                f"{len(weights)} Poisson terms")
    if columns is not None:  # P e_j = w_0 e_j for a cell that does not jump: make it e_j
        result = (result + sparse.diags((1.0 - weights[0]) * ~columns)).tocsr()
    return result, applied


def reachable_states(artifact: Strips1DArtifact, rates: dict[int, float]) -> np.ndarray:
    """Which of the work buffer's entries ([cells; entry gaps]) mass placed at the reset
    can reach by jumps (the transitions of `rates` > 0) and motion. A unique stationary
    state lives there: below the reset and the lowest cell mass jumps into, a mesh's
    range often holds cells no mass ever visits (the public case: 410 of 980), and their
    thin cells near a fixed point fill most of the jump operator."""
    n, gaps = artifact.n_cells, len(artifact.gap_entry_cell)
    size = n + gaps
    sources, targets = [], []
    for index, rate in rates.items():
        if rate > 0.0:
            m = artifact.transitions[index]
            sources.append(np.repeat(np.arange(size), np.diff(m.indptr)))
            targets.append(np.asarray(m.indices))
    for first, length, terminal in zip(artifact.strip_first, artifact.strip_length,
                                       artifact.strip_terminal):
        cells = np.arange(first, first + length)
        sources.append(cells[:-1])
        targets.append(cells[1:])
        if terminal >= 0:
            sources.append(cells[-1:])
            targets.append(np.array([terminal]))
    sources.append(n + np.arange(gaps))
    targets.append(np.asarray(artifact.gap_entry_cell))
    # A virtual start (entry `size`) feeds the reset cells.
    sources.append(np.full(len(artifact.reset_cells), size))
    targets.append(np.asarray(artifact.reset_cells))
    source, target = np.concatenate(sources), np.concatenate(targets)
    graph = sparse.csr_matrix((np.ones(len(source)), (source, target)), shape=(size + 1, size + 1))
    reached = breadth_first_order(graph, size, directed=True, return_predecessors=False)
    found = np.zeros(size + 1, dtype=bool)
    found[reached] = True
    return found[:size]


def jump_operator(artifact: Strips1DArtifact, rates: dict[int, float], mesh_dt: float,
                  columns: np.ndarray | None = None):
    """(P over [cells; gaps], what crosses per column) of one application of the jumps:
    `rates` maps a transition's index to its total rate (Hz); `columns` as in
    jump_series."""
    size = artifact.n_cells + len(artifact.gap_entry_cell)
    result, _ = jump_series(artifact.transitions, rates, size, mesh_dt * artifact.jump_interval,
                            limit=MAX_OPERATOR_ENTRIES, columns=columns, with_applied=False)
    if result is None:
        return sparse.identity(size, format="csr"), np.zeros(size)
    return result, np.maximum(1.0 - np.asarray(result.sum(axis=0)).ravel(), 0.0)


def poisson_weights(expected: float) -> list[float]:
    """solver.kernels_1d.poisson_weights in plain Python (the same operations in the
    same order, so the same numbers, without loading numba): Pois(k; expected) until
    the tail is below POISSON_TAIL * expected, the tail added to the last weight."""
    weights = [math.exp(-expected)]
    total = weights[0]
    while 1.0 - total > POISSON_TAIL * expected and len(weights) < MAX_POISSON_TERMS:
        weights.append(weights[-1] * expected / len(weights))
        total += weights[-1]
    weights[-1] += 1.0 - total
    return weights


def motion_operator(artifact: Strips1DArtifact):
    """(D, crossing): D moves the logical masses one mesh step along their strips;
    crossing[j] = 1 where cell j's mass runs off its strip across the threshold."""
    n = artifact.n_cells
    rows, cols = [], []
    on_strip = np.zeros(n, dtype=bool)
    crossing = np.zeros(n)
    for first, length, terminal in zip(artifact.strip_first, artifact.strip_length,
                                       artifact.strip_terminal):
        cells = np.arange(first, first + length)
        on_strip[cells] = True
        rows += list(cells[1:])
        cols += list(cells[:-1])
        if terminal < 0:
            crossing[cells[-1]] = 1.0
        else:
            rows.append(int(terminal))
            cols.append(int(cells[-1]))
    still = np.flatnonzero(~on_strip)
    rows += list(still)
    cols += list(still)
    moving = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return moving, crossing


def reset_placement(artifact: Strips1DArtifact, drift_steps: float) -> np.ndarray:
    """Where a unit of mass placed at the reset goes (n,): the reset cells by their
    fractions, moved `drift_steps` (< 1) of a step on along their strip."""
    n = artifact.n_cells
    placed = np.zeros(n)
    strip_end = np.full(n, -1)
    for first, length in zip(artifact.strip_first, artifact.strip_length):
        strip_end[first:first + length] = first + length - 1
    for cell, fraction in zip(artifact.reset_cells, artifact.reset_fractions):
        if drift_steps > 0.0 and strip_end[cell] >= 0 and cell < strip_end[cell]:
            placed[cell] += fraction * (1.0 - drift_steps)
            placed[cell + 1] += fraction * drift_steps
        else:
            placed[cell] += fraction
    return placed


def step_operator(artifact: Strips1DArtifact, rates: dict[int, float], dt: float,
                  reachable: np.ndarray | None = None) -> StepOperator:
    """The operator of one network step of `dt` (a whole number of the mesh's blocks)
    under constant jump rates `rates` (transition index -> Hz). `reachable` (from
    reachable_states): only these cells jump, and they are the operator's `support`;
    for a stationary state or its modes, this spares the products the rest would
    fill."""
    substeps = int(round(dt / artifact.dt))
    mesh_dt = dt / substeps  # as the kernel computes it
    n, gaps = artifact.n_cells, len(artifact.gap_entry_cell)
    length = refractory_queue_length(artifact)
    jumps, jump_crossed = jump_operator(artifact, rates, mesh_dt, reachable)
    jumping = sum(rate for rate in rates.values() if rate > 0.0) > 0.0
    moving, drift_crossed = motion_operator(artifact)
    parts = SubstepParts(artifact, jumps, jump_crossed, moving, drift_crossed,
                         artifact.refractory / mesh_dt, length)
    # The state within a network step: [cells (n); queue (length); gaps pending (gaps)].
    total = rate = None  # the product of the mesh steps so far, and its fired row
    block = artifact.jump_interval
    for sub in range(substeps):
        step, fired = parts.matrix(start=jumping and sub % block == 0,
                                   end=jumping and (sub + 1) % block == 0)
        rate = fired if total is None else rate + total.T @ fired
        total = step if total is None else (step @ total).tocsr()
    kept = slice(0, n + length)  # no gap is pending at the end of a network step
    support = None if reachable is None else \
        np.concatenate([np.flatnonzero(reachable[:n]), n + np.arange(length)])
    return StepOperator(total[kept, kept].tocsr(), rate[kept] / dt, n, support)


@dataclass(frozen=True)
class SubstepParts:
    """The pieces of one mesh step (see the module doc)."""

    artifact: Strips1DArtifact
    jumps: sparse.csr_matrix  # over [cells; gaps]
    jump_crossed: np.ndarray
    moving: sparse.csr_matrix
    drift_crossed: np.ndarray
    refractory: float  # in mesh steps
    length: int  # of the queue

    def matrix(self, start: bool, end: bool):
        """(matrix over [cells; queue; pending gaps], fired row) of one mesh step: `start`
        applies the jumps (a block starts), `end` lets the entry gaps join (it ends)."""
        a, n, length = self.artifact, self.artifact.n_cells, self.length
        gaps = len(a.gap_entry_cell)
        if start:
            to_cells, to_gaps = self.jumps[:n, :n], self.jumps[n:, :n]
            crossed_by_jumps = self.jump_crossed[:n]
        else:
            to_cells, to_gaps = sparse.identity(n, format="csr"), sparse.csr_matrix((gaps, n))
            crossed_by_jumps = np.zeros(n)
        cells = (self.moving @ to_cells).tocsr()
        crossed_by_drift = to_cells.T @ self.drift_crossed
        entry = sparse.csr_matrix((np.ones(gaps), (a.gap_entry_cell, np.arange(gaps))),
                                  shape=(n, gaps))
        from_pending = sparse.csr_matrix((n, gaps))
        pending_from_cells, pending_kept = sparse.csr_matrix((gaps, n)), sparse.csr_matrix((gaps, gaps))
        if end:
            cells = cells + entry @ to_gaps  # this step's jumps' gaps join at once
            from_pending = entry  # or those carried since the block's start
        elif start:
            pending_from_cells = to_gaps
        else:
            pending_kept = sparse.identity(gaps, format="csr")
        queue_from_cells = np.zeros((length, n))  # a few rows
        placed_now = sparse.csr_matrix((n, n))
        for amount, delay in ((crossed_by_drift, self.refractory - 0.5),
                              (crossed_by_jumps, self.refractory + 0.5 * a.jump_interval - 1.0)):
            if not np.any(amount):
                continue
            if delay < 0.0:
                placed_now = placed_now + sparse.csr_matrix(reset_placement(a, -delay)[:, None]) \
                    @ sparse.csr_matrix(amount[None, :])
                continue
            whole = int(np.floor(delay))
            part = delay - whole
            # The queue after this step: Q'[d] re-enters d steps after it.
            queue_from_cells[whole] += (1.0 - part) * amount
            queue_from_cells[whole + 1] += part * amount
        # What is due now (Q'[0]) re-enters at the reset at once: the crossings due now,
        # and what the queue's next slot held (Q[1]; the other slots move down one).
        placement = reset_placement(a, 0.0)
        at = np.flatnonzero(placement)
        released = queue_from_cells[0].copy()
        queue_from_cells[0] = 0.0
        if np.any(released):
            placed_now = placed_now + sparse.csr_matrix(placement[:, None]) \
                @ sparse.csr_matrix(released[None, :])
        from_queue = sparse.csr_matrix((placement[at], (at, np.ones(len(at), dtype=int))),
                                       shape=(n, length)) if length > 1 else None
        moved_down = np.arange(1, length - 1)
        shift = sparse.csr_matrix((np.ones(len(moved_down)), (moved_down, moved_down + 1)),
                                  shape=(length, length))
        matrix = sparse.bmat([[cells + placed_now, from_queue, from_pending],
                              [sparse.csr_matrix(queue_from_cells), shift, None],
                              [pending_from_cells, None, pending_kept]], format="csr")
        fired = np.zeros(n + length + gaps)
        fired[:n] = crossed_by_drift + crossed_by_jumps
        return matrix, fired
