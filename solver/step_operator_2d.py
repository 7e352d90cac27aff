"""The one-step operator of a 2D density population (grid or strips) as an explicit
sparse matrix: what solver.kernels_2d.advance_grid does in one step under constant
input rates, so that a stationary state is a linear solve (solver.steady).

As in the kernel, a step applies the jumps (uniformization, P = sum_k w_k J^k with
J = sum_g (rate_g / L) J_g; what each application of J fires, per source cell, is
fired), then the motion (what it fires is added); the fired mass goes through the reset
mapping and re-enters after the refractory period, `slots - 1` steps later.

The state is x = [cell masses (n); the reset mass queued for each of the next
slots - 1 steps, on the cells the reset mapping reaches]. `rate` gives the step's
firing rate (Hz) from x, `jumped` the mass after the jumps (for the mean at mid-jump,
as the kernel reports it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from meshgen.formats.mesh_artifact import GridArtifact, GridMatrix

from .step_operator_1d import jump_series


@dataclass(frozen=True)
class StepOperator2D:
    matrix: sparse.csr_matrix  # (n + queued, n + queued)
    rate: np.ndarray  # (n + queued,)
    jumped: sparse.csr_matrix  # (n, n + queued): the cells' mass after the jumps
    n_cells: int


def csc(matrix: GridMatrix, n: int) -> sparse.csc_matrix:
    return sparse.csc_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(n, n))


def jump_operator_2d(artifact: GridArtifact, rates: dict[int, float], dt: float):
    """(P, fired by the jumps per source cell as a matrix F: fired = F @ mass): each
    application of J = sum_g (rate_g / L) J_g fires its fired fraction of its argument."""
    n = artifact.n_cells
    # No limit: the 2D solve needs the operator even when it steps the kernel.
    result, applied = jump_series(artifact.jumps, rates, n, dt)
    if result is None:
        return sparse.identity(n, format="csr"), sparse.csr_matrix((n, n))
    total = sum(rate for rate in rates.values() if rate > 0.0)
    fires = sum((rate / total) * artifact.jumps[index].fired
                for index, rate in rates.items() if rate > 0.0)
    return result, (sparse.diags(fires) @ applied).tocsr()


def step_operator_2d(artifact: GridArtifact, rates: dict[int, float],
                     dt: float) -> StepOperator2D:
    n = artifact.n_cells
    slots = int(round(artifact.refractory / dt)) + 1
    jumps, fired_by_jumps = jump_operator_2d(artifact, rates, dt)
    motion = csc(artifact.motion, n)
    fired = (fired_by_jumps + sparse.diags(artifact.motion.fired) @ jumps).tocsr()
    reset = csc(artifact.reset, n)
    reached = np.unique(reset.indices)  # the cells the reset mapping puts mass in
    moved = (motion @ jumps).tocsr()
    reset_of_fired = (reset @ fired).tocsr()
    rate_cells = np.asarray(fired.sum(axis=0)).ravel() / dt
    waiting = (slots - 1) * len(reached)
    if slots == 1:
        matrix = (moved + reset_of_fired).tocsr()
        rate = rate_cells
    else:
        # Queue slot d (of slots - 1) re-enters after d + 1 more steps.
        k = len(reached)
        onto_cells = sparse.csr_matrix((np.ones(k), (reached, np.arange(k))), shape=(n, k))
        to_queue = reset_of_fired[reached]
        shift = sparse.diags(np.ones(slots - 2), 1, shape=(slots - 1, slots - 1))
        last = sparse.csr_matrix(([1.0], ([slots - 2], [0])), shape=(slots - 1, 1))
        first = sparse.csr_matrix(([1.0], ([0], [0])), shape=(1, slots - 1))
        matrix = sparse.bmat([[moved, sparse.kron(first, onto_cells)],
                              [sparse.kron(last, to_queue), sparse.kron(shift, sparse.identity(k))]],
                             format="csr")
        rate = np.r_[rate_cells, np.zeros(waiting)]
    jumped = sparse.hstack([jumps, sparse.csr_matrix((n, waiting))], format="csr")
    return StepOperator2D(matrix, rate, jumped, n)
