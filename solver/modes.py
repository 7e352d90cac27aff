"""`miind steady --modes K`: the linear stability of a stationary network.

Around its stationary state (solver.steady) a network of density populations (1D
strips or diffusion meshes, 2D grids or strips) is a linear map over one network step,
with delays. Its state is each population's
deviation dx_p = x_p - x_p* (cells and refractory queue), and the recent deviations of
each population's rate, dr_p(s - 1), ..., dr_p(s - H):

    dx_p(s + 1) = A_p dx_p(s) + sum_g D_pg drho_g(s)
    dr_p(s)     = c_p . dx_p(s) + sum_g e_pg drho_g(s)
    drho_g(s)   = sum_c n_c [(1 - f_c) dr_q(s - w_c) + f_c dr_q(s - w_c - 1)]

where A_p is the population's step operator at the stationary rates, D_pg and e_pg the
derivatives of A_p x_p* and of its rate with respect to the input rate of its group g
(central differences), and connection c from population q has a delay of w_c + f_c
network steps (at least 1), read as the kernel reads it. The deviations conserve each
population's mass, so the eigenvalue 1 of the mass (x_p*) is projected out.

An eigenvalue z of this map is a mode of the network: growth rate ln|z| / dt (1/s) and
frequency arg(z) / (2 pi dt) (Hz). A stationary state is stable when every growth rate
is negative. The leading K eigenvalues (largest |z|) come from ARPACK.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, eigs

from meshgen.errors import SimulationError
from meshgen.formats.mesh_artifact import Diffusion1DArtifact, GridArtifact

from .steady import SteadyResult, group_key, incoming_groups, population_rates
from .step_operator_1d import DenseOperator, reachable_states
from .step_operator_1d import step_operator as step_operator_strips
from .step_operator_2d import step_operator_2d
from .step_operator_diffusion import step_operator_diffusion

# Relative step of the central differences in the input rates (their error is second
# order, ~1e-8 here; rounding in the operator ~1e-16 / 1e-4).
RATE_STEP = 1e-4
MIN_EIGENVALUES = 8


@dataclass(frozen=True)
class Mode:
    eigenvalue: complex  # of the one-step map
    growth_rate: float  # 1/s, ln|z| / dt
    frequency: float  # Hz, arg(z) / (2 pi dt), >= 0 (modes come in conjugate pairs)


@dataclass
class Linearised:
    """The pieces of the linear map (see the module doc) of one population."""

    operator: sparse.csr_matrix
    rate_row: np.ndarray
    stationary: np.ndarray  # x_p*
    by_input: list[tuple[np.ndarray, float]]  # per group: (D_pg, e_pg)
    sources: list[list[tuple[int, float, int, float]]]  # per group: (q, n, whole, part)


def linear_modes(spec, result: SteadyResult, count: int) -> list[Mode]:
    """The `count` leading modes of the network linearised around `result`."""
    artifacts = [state.artifact for state in result.populations]
    rates = np.array([p.rate for p in result.populations])
    parts = [linearise(spec, p, artifacts[p], rates, result.populations[p].vector, result.dt)
             for p in range(len(artifacts))]
    history = 2 + max([whole + 1 for part in parts for group in part.sources
                       for _, _, whole, _ in group], default=0)
    sizes = [part.operator.shape[0] for part in parts]
    offsets = np.cumsum([0] + sizes)
    size = offsets[-1] + len(parts) * history

    def step(state: np.ndarray) -> np.ndarray:
        past = state[offsets[-1]:].reshape(len(parts), history)  # past[q, k] = dr_q(s-1-k)
        out = np.zeros_like(state)
        now = np.zeros(len(parts))
        for p, part in enumerate(parts):
            dx = state[offsets[p]:offsets[p + 1]]
            moved = part.operator @ dx
            dr = part.rate_row @ dx
            for (derivative, rate_derivative), sources in zip(part.by_input, part.sources):
                drho = sum(n * ((1.0 - f) * past[q, w - 1] + f * past[q, w])
                           for q, n, w, f in sources)
                moved = moved + derivative * drho
                dr += rate_derivative * drho
            moved -= part.stationary * moved.sum()  # the mass is conserved
            out[offsets[p]:offsets[p + 1]] = moved
            now[p] = dr
        shifted = np.concatenate([now[:, None], past[:, :-1]], axis=1)
        out[offsets[-1]:] = shifted.ravel()
        return out

    operator = LinearOperator((size, size), matvec=step, dtype=float)
    # ARPACK asked for a few eigenvalues of a map whose spectrum crowds the unit circle
    # (every |z| = exp(growth dt) is near 1) may return a later one and miss the leading
    # one: Brunel's state C on its diffusion mesh, asked for 4, lost its 125 Hz mode.
    wanted = min(max(2 * count + 4, MIN_EIGENVALUES), size - 2)
    try:
        # A fixed start: ARPACK's own draws from a generator that earlier solves in the
        # process have advanced, so the modes (and whether they converge) would depend
        # on what ran before.
        start = np.random.default_rng(0).standard_normal(size)
        values = eigs(operator, k=wanted, which="LM", return_eigenvectors=False, tol=1e-10,
                      maxiter=20 * size, v0=start)
    except Exception as error:  # ARPACK's convergence failures
        raise SimulationError(f"the leading modes did not converge ({error})") from None
    dt = result.dt
    modes = []
    for z in sorted(values, key=lambda z: -abs(z)):
        mode = Mode(complex(z), float(np.log(abs(z)) / dt),
                    float(abs(np.angle(z)) / (2 * np.pi * dt)))
        # One of each conjugate pair (with its frequency >= 0).
        if abs(z) > 0 and not any(abs(mode.eigenvalue - m.eigenvalue.conjugate())
                                  <= 1e-9 * abs(z) for m in modes):
            modes.append(mode)
    unique = sorted(modes, key=lambda m: -m.growth_rate)
    return unique[:count]


def operator_of(artifact):
    """The explicit step operator function of the population's kind."""
    if isinstance(artifact, Diffusion1DArtifact):
        return step_operator_diffusion
    return step_operator_2d if isinstance(artifact, GridArtifact) else step_operator_strips


def linearise(spec, p: int, artifact, rates: np.ndarray, state: np.ndarray,
              dt: float) -> Linearised:
    """Population p's pieces of the map, around its stationary `state` (solver.steady's,
    cells then queue) at the network's stationary `rates`."""
    groups = incoming_groups(spec, p, artifact)
    index = {q.name: k for k, q in enumerate(spec.populations)}
    at = population_rates(groups, rates)
    step_operator = operator_of(artifact)
    reachable = None  # 2D and diffusion operators keep every state
    if step_operator is step_operator_strips:
        # Only the states mass can reach from the reset under every input (a rate that is
        # 0 here still has a derivative): the stationary state is 0 elsewhere, and
        # nothing there flows back, so the rest only adds decaying modes, whose shifts
        # along strips (Jordan blocks) keep ARPACK from converging.
        reachable = reachable_states(artifact, {group.transition: 1.0 for group in groups})
        step_operator = functools.partial(step_operator_strips, reachable=reachable)
    try:
        operator = step_operator(artifact, at, dt)
    except DenseOperator as error:
        raise SimulationError(f"--modes needs the explicit step operator of population "
                              f"'{spec.populations[p].name}', which is too dense here "
                              f"({error}); its stationary state was solved by stepping "
                              "the kernel instead") from None
    by_input, sources = [], []
    for group in groups:
        h = RATE_STEP * max(at[group.transition], 1.0)
        up = step_operator(artifact, {**at, group.transition: at[group.transition] + h}, dt)
        down = step_operator(artifact, {**at, group.transition: max(at[group.transition] - h, 0.0)},
                             dt)
        span = at[group.transition] + h - max(at[group.transition] - h, 0.0)
        by_input.append(((up.matrix @ state - down.matrix @ state) / span,
                         float((up.rate - down.rate) @ state / span)))
        connections = [c for c in spec.connections
                       if c.target == spec.populations[p].name and c.source in index
                       and group_key(artifact, c) == group.transition]
        delays = [max(c.delay / dt, 1.0) for c in connections]
        sources.append([(index[c.source], c.n_connections, int(np.floor(d)), d - np.floor(d))
                        for c, d in zip(connections, delays)])
    if reachable is None:
        return Linearised(operator.matrix, operator.rate, state, by_input, sources)
    kept = operator.support
    return Linearised(operator.matrix[kept][:, kept], operator.rate[kept], state[kept],
                      [(derivative[kept], rate) for derivative, rate in by_input], sources)
