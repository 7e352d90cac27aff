"""The one-step operator of a population on a 1D diffusion mesh, written out: what
solver.kernels_diffusion.advance_diffusion does in one step under constant input
rates, for solver.modes (the stationary state itself is solved from the generator, in
solver.steady.stationary_diffusion).

The state is x = [cell masses (n); the refractory queue (Q)], Q[j] the mass that
re-enters at the reset at the start of the (j + 1)-th step from now. A step:

1. Q[0] is placed at the reset cells; the queue moves on one slot;
2. the cells take the implicit step, m <- (I - dt L)^-1 m: a dense inverse, fine for
   the few hundred cells of these meshes;
3. what left through the threshold, dt f . m, waits `delay` steps
   (solver.diffusion_1d.refractory_delay, split between two slots when fractional).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, sparse

from meshgen.formats.mesh_artifact import Diffusion1DArtifact

from .diffusion_1d import refractory_delay
from .step_operator_1d import StepOperator


def generator(artifact: Diffusion1DArtifact, rates: dict[tuple[float, bool], float]):
    """L (dense, cells x cells) and each cell's firing rate per unit mass f, under the
    rates of the groups keyed (efficacy, exact jumps) as solver.steady keys them."""
    from .diffusion_1d import connection_groups
    from .kernels_diffusion import fill_generator

    keys = list(rates)
    groups = connection_groups(artifact, [h for h, _ in keys], [exact for _, exact in keys])
    given = np.array([rates[key] for key in keys], dtype=float)
    diffusing = given * (1 - groups.exact)
    n = artifact.n_cells
    band = np.zeros((groups.bands_above + groups.bands_below + 1, n))
    fired = np.zeros(n)
    fill_generator(artifact.face_drift, artifact.width, float(diffusing @ groups.efficacy),
                   float(0.5 * diffusing @ groups.efficacy ** 2), given * groups.exact,
                   groups.shift, groups.fraction, groups.bands_above, band, fired)
    offsets = np.arange(groups.bands_above, -groups.bands_below - 1, -1)
    return sparse.dia_matrix((band, offsets), shape=(n, n)), fired


def stationary_queue(rate: float, dt: float, delay: float) -> np.ndarray:
    """The queue after a step of the stationary state: rate x dt fired every step."""
    whole = int(np.floor(delay))
    part = delay - whole
    queue = np.zeros(whole + 2)
    for age in range(whole + 2):  # fired `age` steps ago, partly released already
        if whole - age >= 0:
            queue[whole - age] += 1.0 - part
        queue[whole - age + 1] += part
    return rate * dt * queue


def step_operator_diffusion(artifact: Diffusion1DArtifact, rates, dt: float) -> StepOperator:
    L, fired = generator(artifact, rates)
    n = artifact.n_cells
    delay = refractory_delay(artifact.refractory, dt)
    whole = int(np.floor(delay))
    part = delay - whole
    slots = whole + 2
    inverse = linalg.inv(np.eye(n) - dt * L.toarray())
    reset = np.zeros(n)
    reset[artifact.reset_cells] = artifact.reset_fractions
    # Cells after the step from [cells; queue]: the queue's first slot enters at the reset.
    cells = np.hstack([inverse, (inverse @ reset)[:, None], np.zeros((n, slots - 1))])
    lost = dt * fired @ cells
    queue = np.zeros((slots, n + slots))
    queue[:-1, n + 1:] = np.eye(slots - 1)  # the queue moves on
    queue[whole] += (1.0 - part) * lost
    if part > 0:
        queue[whole + 1] += part * lost
    matrix = sparse.csr_matrix(np.vstack([cells, queue]))
    return StepOperator(matrix, lost / dt, n)
