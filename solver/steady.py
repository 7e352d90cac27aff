"""`miind steady`: the stationary state of every population of a simulation file, and
the self-consistent rates of a recurrent network, by solving instead of running.

A population under constant input rates is a linear map over one network step (its
explicit operator: solver.step_operator_1d). Its stationary density is the null vector
of (I - A), normalised: one sparse LU solve. That is the state a long `miind run`
settles to on the same mesh and step, to rounding (tests/unit/test_steady.py), not an
approximation of it.

A network adds the rates: a population's input is its Poisson inputs plus n x the
stationary rate of each source population; delays do not change a stationary state.
The rates are a fixed point r = F(r), found by scipy's hybrid Powell method on
F(r) - r, started from damped iteration; a network without a stationary solution is
reported as such (no convergence, with the residual and the iterations).

Populations on 1D strip meshes and on 2D grid or strip meshes are solved
(solver.step_operator_2d); direct populations are not (an error says so). A
population on a 1D diffusion mesh is solved from its generator L itself
(solver.kernels_diffusion.fill_generator): the stationary state of its implicit step
does not depend on dt, so it is the null vector of L with the refractory mass's
return at the reset.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, sparse
from scipy.sparse.linalg import splu

from meshgen.errors import ConfigError, SimulationError
from meshgen.formats.mesh_artifact import (Diffusion1DArtifact, GridArtifact, Strips1DArtifact,
                                           read_mesh)

from .assembly import check_diffusion_connections
from .network_1d import network_dt
from .sim_file import SimulationSpec
from .step_operator_1d import DenseOperator, reachable_states, step_operator
from .step_operator_2d import step_operator_2d

# A network's rates are self-consistent when each changes by less than this fraction
# (or 1e-9 Hz) from one evaluation of all populations to the next.
RATE_TOLERANCE = 1e-10
DAMPED_ITERATIONS = 8  # plain (damped) iterations before the hybrid method
MAX_EVALUATIONS = 400
# Largest residual of the stationary equations accepted from a factorisation (the
# masses sum to 1; rounding leaves ~1e-15).
STATIONARY_RESIDUAL = 1e-10
# 2D operators larger than this (states) are solved iteratively: a sparse LU of 40,000
# AdEx grid cells fills 350 M entries (47 s, 3 GB), of 20,000 AdEx cells takes 8.6 s, of
# 19,000 Izhikevich strip cells 28 s; LGMRES takes ~3,000 steps of the kernel (40,000
# AdEx cells: 3.7 s; with the explicit operator's products 8 s), reaching a rate within
# 1e-9 of the LU's.
DIRECT_SOLVE_LIMIT_2D = 5_000
WARM_UP_STEPS = 50
ITERATIVE_TOLERANCE = 1e-11
ITERATIVE_MAX_RESTARTS = 300
ITERATIVE_RESIDUAL = 1e-9  # sum |A x - x| of the normalised state


@dataclass
class PopulationState:
    """One population's stationary state."""

    name: str
    rate: float  # Hz
    mass: np.ndarray  # (n_cells,) the mesh's cell order, refractory mass excluded
    refractory_mass: float
    means: dict[str, float]  # of each variable, as `miind run` reports them
    artifact: Strips1DArtifact | Diffusion1DArtifact | GridArtifact
    # The whole state in its step operator's layout (cells, then the refractory queue):
    # where solver.modes linearises.
    vector: np.ndarray = field(repr=False, default=None)
    stepped: bool = False  # solved by stepping the kernel (the operator was too dense)

    @property
    def mean_v(self) -> float:
        return next(iter(self.means.values()))


@dataclass
class SteadyResult:
    populations: list[PopulationState]
    dt: float
    iterations: int  # evaluations of every population's stationary rate
    converged: bool
    residual: float  # largest rate change of the last evaluation (Hz)
    seconds: float
    rates_history: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class Incoming:
    """One group of a population's input: its transition, and its rate as a constant
    plus n x the rates of source populations."""

    transition: int
    constant: float
    sources: tuple[tuple[int, float], ...]  # (population index, n_connections)


def steady_state(spec: SimulationSpec, initial_rates: np.ndarray | None = None) -> SteadyResult:
    """The stationary state of every population of `spec`."""
    started = time.perf_counter()
    artifacts = [population_artifact(spec, p) for p in range(len(spec.populations))]
    check_diffusion_connections(spec, {p.name: a for p, a in zip(spec.populations, artifacts)})
    dt = steady_dt(spec, artifacts)
    incoming = [incoming_groups(spec, p, artifacts[p]) for p in range(len(artifacts))]
    history: list[list[float]] = []
    stepped: set[str] = set()  # meshes whose explicit operator was too dense

    def evaluate(rates: np.ndarray) -> tuple[np.ndarray, list]:
        # Populations on the same mesh with the same input (E and I of a Brunel network,
        # say) have the same state: solved once.
        known: dict = {}
        solved = []
        for p in range(len(artifacts)):
            jumps = population_rates(incoming[p], rates)
            key = (artifacts[p].path, artifacts[p].input_hash, tuple(sorted(jumps.items())))
            if key not in known:
                known[key] = solve_population(artifacts[p], jumps, dt,
                                              explicit=artifacts[p].input_hash not in stepped)
                if known[key].stepped:  # too dense at one rate: at the next ones as well
                    stepped.add(artifacts[p].input_hash)
            solved.append(dataclasses.replace(known[key]))
        found = np.array([s.rate for s in solved])
        history.append(found.tolist())
        return found, solved

    rates = np.zeros(len(artifacts)) if initial_rates is None else np.asarray(initial_rates, float)
    recurrent = any(group.sources for groups in incoming for group in groups)
    found, solved = evaluate(rates)
    if recurrent:
        rates, found, solved = self_consistent(evaluate, rates, found)
    residual = float(np.max(np.abs(found - rates))) if recurrent else 0.0
    converged = (not recurrent) or residual <= tolerance(found)
    for population, state in zip(spec.populations, solved):
        state.name = population.name
    return SteadyResult(solved, dt, len(history), converged, residual,
                        time.perf_counter() - started, history)


def steady_dt(spec: SimulationSpec, artifacts) -> float:
    """The step `miind run` would take: the 1D meshes' network step, which 2D meshes
    (stepping with their own dt) must equal."""
    strips = [(p, a) for p, a in zip(spec.populations, artifacts)
              if isinstance(a, Strips1DArtifact)]
    dt = (network_dt(dataclasses.replace(spec, populations=tuple(p for p, _ in strips)),
                     [a for _, a in strips]) if strips else (spec.dt or artifacts[0].dt))
    for p, artifact in enumerate(artifacts):
        if isinstance(artifact, GridArtifact) and abs(dt - artifact.dt) > 1e-9 * artifact.dt:
            raise ConfigError(f"population '{spec.populations[p].name}': 2D meshes step with "
                              f"their own dt ({artifact.dt:.6g} s); the simulation dt must equal "
                              f"it, got {dt:.6g} s", path=spec.path, key="simulation.dt")
    return dt


def tolerance(rates: np.ndarray) -> float:
    return float(np.max(np.maximum(RATE_TOLERANCE * np.abs(rates), 1e-9)))


def self_consistent(evaluate, rates: np.ndarray, found: np.ndarray):
    """Rates r with F(r) = r: damped iteration (halving the step when the change does not
    shrink by a tenth), then scipy's hybrid method from where it got. Returns (r, F(r),
    solutions).

    Halving only when the change grows is not enough: a strongly inhibited network
    (Brunel's state B, F' ~ -3 at its fixed point) swings between 0 and F(0), where it
    is silent, with a change that stays the same, and the hybrid method started there
    sees F flat and does not get out."""
    step = 1.0
    change = np.inf
    solved = None
    for _ in range(DAMPED_ITERATIONS):
        new_change = float(np.max(np.abs(found - rates)))
        if new_change <= tolerance(found):
            break
        if new_change > 0.9 * change:
            step = max(step / 2.0, 1.0 / 64.0)
        change = new_change
        rates = rates + step * (found - rates)
        found, solved = evaluate(rates)
    if float(np.max(np.abs(found - rates))) > tolerance(found):
        outcome = optimize.root(lambda r: evaluate(np.maximum(r, 0.0))[0] - np.maximum(r, 0.0),
                                rates, method="hybr",
                                options={"xtol": RATE_TOLERANCE, "maxfev": MAX_EVALUATIONS})
        rates = np.maximum(outcome.x, 0.0)
    found, solved = evaluate(rates)
    return rates, found, solved


def population_artifact(spec: SimulationSpec,
                        p: int) -> Strips1DArtifact | Diffusion1DArtifact | GridArtifact:
    population = spec.populations[p]
    if population.direct:
        raise ConfigError(f"population '{population.name}' is simulated directly: a stationary "
                          "state is solved for density populations only (use `miind run`)",
                          path=spec.path, key=f"population.{p}.method")
    return read_mesh(population.mesh_path)


def jump_index(artifact, efficacy: float, dimension: str) -> int | None:
    """The index of the mesh's jump matrix for `efficacy` along `dimension`, or None."""
    if isinstance(artifact, GridArtifact):
        return artifact.jump_for(efficacy, dimension)
    transition = artifact.transition_for(efficacy, dimension)
    return None if transition is None else artifact.transitions.index(transition)


def group_key(artifact, connection):
    """The group a connection's input joins: its jump matrix's index, or on a diffusion
    mesh (no matrices) its efficacy and whether it is taken as exact jumps; None if the
    mesh has no matrix for it."""
    if isinstance(artifact, Diffusion1DArtifact):
        from .diffusion_1d import takes_exact_jumps

        return (connection.efficacy,
                takes_exact_jumps(artifact, connection.efficacy, connection.scheme))
    return jump_index(artifact, connection.efficacy, connection.dimension)


def incoming_groups(spec: SimulationSpec, p: int, artifact) -> list[Incoming]:
    """The groups of population p's input, one per transition it uses."""
    index = {q.name: k for k, q in enumerate(spec.populations)}
    inputs = {source.name: source for source in spec.inputs}
    constant: dict[int, float] = {}
    sources: dict[int, list] = {}
    for c in spec.connections:
        if c.target != spec.populations[p].name:
            continue
        t = group_key(artifact, c)
        if t is None:
            jumps = artifact.transitions if isinstance(artifact, Strips1DArtifact) \
                else artifact.jumps
            have = ", ".join(f"{j.dimension} {j.efficacy:g}" for j in jumps) or "none"
            raise ConfigError(f"mesh {artifact.path} has no jump matrix for efficacy "
                              f"{c.efficacy:g} in {c.dimension} (it has {have}); add it to "
                              "[mesh] efficacies and re-run `miind mesh`", path=spec.path,
                              key=f"connection.{c.index}.efficacy")
        if c.source in inputs:
            rate = inputs[c.source].rate
            if not isinstance(rate, float):
                key = f"input.{list(inputs).index(c.source)}.rate"
                raise ConfigError(f"input '{c.source}' has a rate that changes in time "
                                  f"({rate.text!r}); a stationary state needs constant rates",
                                  path=spec.path, key=key)
            constant[t] = constant.get(t, 0.0) + c.n_connections * rate
        else:
            sources.setdefault(t, []).append((index[c.source], c.n_connections))
    return [Incoming(t, constant.get(t, 0.0), tuple(sources.get(t, ())))
            for t in sorted(set(constant) | set(sources))]


def population_rates(groups: list[Incoming], rates: np.ndarray) -> dict[int, float]:
    """Transition index -> its total input rate (Hz) given the populations' rates."""
    return {g.transition: g.constant + sum(n * rates[q] for q, n in g.sources) for g in groups}


def solve_population(artifact, rates: dict[int, float], dt: float,
                     explicit: bool = True) -> PopulationState:
    """The stationary state under constant jump rates (jump index -> Hz); its name is
    set by the caller. A 1D population is solved with its explicit operator unless that
    is too dense (or `explicit` is False: known to be), else by stepping its kernel."""
    if isinstance(artifact, Diffusion1DArtifact):
        return stationary_diffusion(artifact, rates, dt)
    if isinstance(artifact, GridArtifact):
        operator = step_operator_2d(artifact, rates, dt)
        state = (stationary(operator.matrix, ("COLAMD",))
                 if operator.matrix.shape[0] <= DIRECT_SOLVE_LIMIT_2D
                 else stationary_by_kernel(artifact, rates, dt, operator))
        from .density_2d import cell_centres

        n = operator.n_cells
        mass = state[:n]
        jumped = operator.jumped @ state
        # At mid-jump, as the kernel reports them: the end of the step (here the state
        # itself) plus half the jumps' shift, i.e. halfway between before and after them.
        means = {v: float(0.5 * (mass @ c / mass.sum() + jumped @ c / jumped.sum()))
                 for v, c in zip(artifact.variables, cell_centres(artifact))}
        return PopulationState("", float(operator.rate @ state), mass,
                               float(state[n:].sum()), means, artifact, state)
    try:
        if not explicit:
            raise DenseOperator("known from an earlier solve")
        operator = step_operator(artifact, rates, dt, reachable_states(artifact, rates))
    except DenseOperator:
        (state, rate), stepped = stationary_1d_by_kernel(artifact, rates, dt), True
    else:
        support = operator.support
        state = np.zeros(operator.matrix.shape[0])
        state[support] = stationary(operator.matrix[support][:, support],
                                    ("MMD_AT_PLUS_A", "NATURAL"))
        stepped = False
        rate = float(operator.rate @ state)
    n = artifact.n_cells
    queued = float(state[n:].sum())
    mean_v = float(state[:n] @ artifact.centres + queued * artifact.reset_potential)
    return PopulationState("", rate, state[:n], queued,
                           {artifact.model["variables"][0]: mean_v}, artifact, state, stepped)


def stationary_diffusion(artifact: Diffusion1DArtifact, rates: dict[tuple[float, bool], float],
                         dt: float) -> PopulationState:
    """The stationary state of a diffusion population under constant rates, keyed by
    (efficacy, exact jumps): L m + (f . m) reset = 0, sum m + (f . m) refractory = 1,
    with f each cell's firing rate per unit mass."""
    from .diffusion_1d import held_seconds, refractory_delay
    from .step_operator_diffusion import generator, stationary_queue

    L, fired = generator(artifact, rates)
    n = artifact.n_cells
    held = held_seconds(artifact.refractory, dt)
    returned = sparse.csr_matrix((np.repeat(artifact.reset_fractions, n),
                                  (np.repeat(artifact.reset_cells, n),
                                   np.tile(np.arange(n), len(artifact.reset_cells)))),
                                 shape=(n, n)).multiply(fired[None, :])
    system = (L.tocsr() + returned).tolil()
    # The columns sum to zero (mass is conserved), so the rows are dependent and one
    # can be the normalisation.
    system[0, :] = 1.0 + held * fired
    right = np.zeros(n)
    right[0] = 1.0
    try:
        mass = splu(system.tocsc(), permc_spec="COLAMD").solve(right)
    except RuntimeError:
        # Singular: without diffusion the flux is upwind, and a stable point on a cell
        # face leaves two cells that keep their mass; least squares picks a state.
        mass = np.linalg.lstsq(system.toarray(), right, rcond=None)[0]
    residual = float(np.abs(system.tocsr() @ mass - right).sum())
    if not (np.all(np.isfinite(mass)) and residual < STATIONARY_RESIDUAL):
        raise SimulationError(f"no stationary state found on the diffusion mesh {artifact.path} "
                              f"(residual {residual:.3g})")
    mass = np.maximum(mass, 0.0)
    rate = float(fired @ mass)
    queued = rate * held
    mean_v = float(mass @ artifact.centres + queued * artifact.reset_potential)
    queue = stationary_queue(rate, dt, refractory_delay(artifact.refractory, dt))
    return PopulationState("", rate, mass, queued, {artifact.model["variables"][0]: mean_v},
                           artifact, np.append(mass, queue))


def stationary_by_stepping(step, size: int, n_cells: int) -> np.ndarray:
    """The normalised solution of (I - A + v 1^T) x = v by LGMRES, A applied by `step`
    (a kernel's step on the state vector), v WARM_UP_STEPS steps of A from mass spread
    evenly over the first n_cells entries (nonsingular for 1^T v = 1, and its solution is
    the normalised null vector of I - A)."""
    from scipy.sparse.linalg import LinearOperator, lgmres

    guess = np.zeros(size)
    guess[:n_cells] = 1.0 / n_cells
    for _ in range(WARM_UP_STEPS):
        guess = step(guess)

    def apply(y):
        return y - step(y) + guess * y.sum()

    state, _ = lgmres(LinearOperator((size, size), matvec=apply, dtype=float), guess,
                      x0=guess, rtol=ITERATIVE_TOLERANCE, maxiter=ITERATIVE_MAX_RESTARTS,
                      inner_m=30)
    return state / state.sum()


def check_converged(residual: float) -> None:
    """An iterative solve's sum |A x - x| must be below ITERATIVE_RESIDUAL."""
    if not residual < ITERATIVE_RESIDUAL:
        raise SimulationError(f"the stationary state did not converge (LGMRES residual "
                              f"{residual:.3g} after {ITERATIVE_MAX_RESTARTS} restarts)")


def stationary_1d_by_kernel(artifact: Strips1DArtifact, rates: dict[int, float],
                            dt: float) -> tuple[np.ndarray, float]:
    """(state [cells; queue], rate) of a 1D population whose explicit operator is too
    dense: LGMRES with the network kernel's step of this population alone
    (solver.network_1d) as the operator, as for large 2D populations."""
    from . import kernels_1d
    from .network_1d import Strips1DNetwork
    from .sim_file import ConnectionSpec, InputSpec, PopulationSpec

    groups = sorted(rates)
    population = PopulationSpec(name="steady", mesh_path=artifact.path, initial={})
    inputs = tuple(InputSpec(name=f"input{g}", rate=float(rates[g])) for g in groups)
    connections = tuple(ConnectionSpec(index=k, source=f"input{g}", target="steady",
                                       efficacy=artifact.transitions[g].efficacy,
                                       n_connections=1.0, delay=0.0,
                                       dimension=artifact.transitions[g].dimension)
                        for k, g in enumerate(groups))
    spec = SimulationSpec(path=artifact.path, document={}, t_end=dt, dt=dt,
                          populations=(population,), inputs=inputs, connections=connections,
                          density_interval=None)
    network = Strips1DNetwork(spec, [population], [artifact], {"steady": 0})
    mesh, kernel_state = network.network.mesh, network.network.state
    n, gaps = artifact.n_cells, len(artifact.gap_entry_cell)
    length = kernel_state.refractory_queue.shape[1]
    cells = np.zeros(n + gaps)

    def step(y: np.ndarray) -> np.ndarray:
        kernel_state.pop_step[:] = 0
        kernel_state.mass[:] = 0.0
        kernels_1d.scatter_logical(mesh, np.r_[y[:n], np.zeros(gaps)], 0, 0, kernel_state.mass)
        kernel_state.refractory_queue[0, :] = y[n:]
        kernel_state.refractory_queue[0, 0] = 0.0  # due now: released by the step before
        network.advance(0, 1)
        moved = int(kernel_state.pop_step[0])
        kernels_1d.gather_logical(mesh, kernel_state.mass, 0, moved, cells)
        return np.r_[cells[:n], np.roll(kernel_state.refractory_queue[0], -moved)]

    state = stationary_by_stepping(step, n + length, n)
    after = step(state)
    check_converged(float(np.abs(after - state).sum()))
    return state, float(network.rate[0, 0])


def stationary(matrix: sparse.csr_matrix, orderings) -> np.ndarray:
    """The normalised null vector of I - A. A conserves mass (its columns sum to 1, but
    for a 1D queue's slot "due now", which no state holds), so the rows of I - A but
    that slot's sum to zero: the last one is replaced by the normalisation. `orderings`
    are tried in turn: a minimum-degree order suits 1D strips (the cells' own order is
    the fallback, nearly banded, where the dense last row fills nothing before it); 2D
    meshes need COLAMD."""
    size = matrix.shape[0]
    system = (sparse.identity(size, format="csr") - matrix).tocsr()
    system = sparse.vstack([system[:size - 1], np.ones((1, size))], format="csc")
    right = np.zeros(size)
    right[-1] = 1.0
    # I - A is column diagonally dominant (A >= 0, columns summing to at most 1), where
    # elimination needs little pivoting; a sparser factor (the public case: 14 k entries
    # against 60 k with full pivoting, 1.5 against 3.7 ms) is checked by the residual.
    pivoting = {"NATURAL": 0.1, "COLAMD": 1.0, "MMD_AT_PLUS_A": 0.01}
    for ordering in orderings:
        try:
            state = splu(system, permc_spec=ordering,
                         diag_pivot_thresh=pivoting[ordering]).solve(right)
        except RuntimeError:  # singular in this order
            continue
        if np.all(np.isfinite(state)) and \
                np.max(np.abs(system @ state - right)) < STATIONARY_RESIDUAL:
            return state
    raise SimulationError("no unique stationary state on this mesh (the step operator's "
                          "eigenvalue 1 is degenerate)")


def stationary_by_kernel(artifact: GridArtifact, rates: dict[int, float], dt: float,
                         operator) -> np.ndarray:
    """The stationary state of a large 2D population by LGMRES on (I - A + v 1^T) x = v,
    A applied by the population's own compiled kernel (0.6 ms a step on 40,000 AdEx
    cells, against 2 ms for the explicit operator's 2 M entries), v a few dozen steps
    of A from uniform (nonsingular for 1^T v = 1, and its solution is the normalised
    null vector of I - A); checked against the explicit operator by its residual.
    Returns the state in the explicit operator's layout (see step_operator_2d)."""
    from .density_2d import Density2DPopulation
    from .step_operator_2d import csc

    n = artifact.n_cells
    groups = sorted(rates)
    population = Density2DPopulation("steady", artifact, np.array(groups, dtype=np.int64), 1,
                                     dt, input_rates=np.array([[rates[g]] for g in groups]))
    slots = population.queue.shape[0]
    size = n * slots  # the cells, then each queue slot over every cell

    def step(y: np.ndarray) -> np.ndarray:
        population.mass[:] = y[:n]
        population.queue[:] = 0.0
        population.queued[:] = 0.0
        for d in range(slots - 1):  # slot d re-enters at the end of this step + d
            population.queue[(1 + d) % slots] = y[n * (1 + d):n * (2 + d)]
        population.advance(0, 1)
        return np.concatenate([population.mass] + [population.queue[(2 + d) % slots]
                                                   for d in range(slots - 1)])

    state = stationary_by_stepping(step, size, n)
    reached = np.unique(csc(artifact.reset, n).indices)
    explicit = np.concatenate([state[:n]] + [state[n * (1 + d):n * (2 + d)][reached]
                                             for d in range(slots - 1)])
    check_converged(float(np.abs(operator.matrix @ explicit - explicit).sum()))
    return explicit


def parse_scan(text: str) -> tuple[str, np.ndarray]:
    """"KEY=START:STOP:N" -> (KEY, N values from START to STOP)."""
    key, _, span = text.partition("=")
    parts = span.split(":")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        count = 0
    if not key or len(parts) != 3 or count < 1 or not (np.isfinite(start) and np.isfinite(stop)):
        raise ConfigError(f"--scan {text!r}: expected KEY=START:STOP:N, e.g. "
                          "input.bg.rate=0:5000:101")
    return key, np.linspace(start, stop, count)


@dataclass
class Scan:
    key: str
    values: np.ndarray
    results: list[SteadyResult]
    seconds: float


def scan_steady(path: str, overrides: list[str], key: str, values: np.ndarray,
                progress=None) -> Scan:
    """The stationary state at each value of `key`, each started from the rates of the
    one before (a transfer curve in one process)."""
    from .sim_file import read_simulation_file

    started = time.perf_counter()
    results = []
    rates = None
    for k, value in enumerate(values):
        spec = read_simulation_file(path, [*overrides, f"{key}={float(value)!r}"])
        result = steady_state(spec, rates)
        rates = np.array([p.rate for p in result.populations])
        results.append(result)
        if progress is not None:
            progress(k + 1, len(values))
    return Scan(key, values, results, time.perf_counter() - started)


def scan_rates(curve: Scan) -> dict[str, list[float]]:
    """Population name -> its rate (Hz) at each value of the scan."""
    names = [p.name for p in curve.results[0].populations]
    return {name: [r.populations[k].rate for r in curve.results]
            for k, name in enumerate(names)}


def scan_summary(curve: Scan) -> dict:
    """The JSON `miind steady --scan` prints."""
    return {"scan": {"key": curve.key, "values": curve.values.tolist()},
            "seconds": curve.seconds, "converged": [r.converged for r in curve.results],
            "populations": {name: {"rate": rates} for name, rates in scan_rates(curve).items()}}


def scan_csv(curve: Scan) -> str:
    """The curve as CSV: the scanned key, then one rate column per population (Hz)."""
    rates = scan_rates(curve)
    lines = [",".join([curve.key, *rates])]
    lines += [",".join([f"{value:.10g}", *(f"{column[i]:.10g}" for column in rates.values())])
              for i, value in enumerate(curve.values)]
    return "\n".join(lines) + "\n"


def steady_records(result: SteadyResult):
    """The output's population records (format miind-output, one step: the state)."""
    return [(records_2d if isinstance(state.artifact, GridArtifact) else records_1d)(state,
                                                                                        result.dt)
            for state in result.populations]


def records_1d(state: PopulationState, dt: float):
    from .network_1d import density_1d_record

    return density_1d_record(state.name, state.artifact, np.array([state.rate]),
                             np.array([state.mean_v]),
                             np.array([state.mass.sum() + state.refractory_mass]), [dt],
                             [state.mass], refractory_mass=state.refractory_mass)


def records_2d(state: PopulationState, dt: float):
    """As a 2D population of `miind run` writes itself (marginals included); no
    clamped-mass series (nothing ran)."""
    from .density_2d import density_2d_record

    return density_2d_record(state.name, state.artifact, np.array([state.rate]),
                             np.array([[value] for value in state.means.values()]),
                             np.array([state.mass.sum() + state.refractory_mass]), [dt],
                             [state.mass], {}, refractory_mass=state.refractory_mass)


def write_steady_output(path, spec: SimulationSpec, result: SteadyResult) -> None:
    """The state as a one-step miind-output file (root attr solved_by = "steady")."""
    from types import SimpleNamespace

    from meshgen.formats.run_output import write_output

    simulation = SimpleNamespace(spec=spec, dt=result.dt, n_steps=1)
    inputs = np.array([[source.rate] for source in spec.inputs]).reshape(len(spec.inputs), 1)
    results = SimpleNamespace(time=np.array([result.dt]), populations=steady_records(result),
                              input_rates=inputs)
    write_output(path, simulation, results, solved_by="steady")


def steady_summary(output, result: SteadyResult) -> dict:
    """The JSON `miind steady` prints."""
    return {"output": str(output) if output else None, "dt": result.dt,
            "seconds": result.seconds, "converged": result.converged,
            "iterations": result.iterations, "residual_hz": result.residual,
            "populations": {p.name: {"rate": p.rate, "mean": p.means,
                                     "refractory_mass": p.refractory_mass}
                            for p in result.populations}}


def modes_summary(modes) -> dict:
    """The JSON entries of `--modes`: each mode, and whether the state is stable."""
    return {"modes": [{"growth_rate": m.growth_rate, "frequency": m.frequency,
                       "eigenvalue": [m.eigenvalue.real, m.eigenvalue.imag]} for m in modes],
            "stable": all(m.growth_rate < 0 for m in modes)}


def not_converged(result: SteadyResult) -> str:
    """What the iteration did, for the error of a network without a stationary state."""
    last = result.rates_history[-3:]
    shown = "; ".join(", ".join(f"{r:.6g}" for r in rates) for rates in last)
    return (f"no stationary state found: the rates did not become self-consistent in "
            f"{result.iterations} evaluations (largest change {result.residual:.3g} Hz; the "
            f"last rates, Hz: {shown}); the network may oscillate or have no fixed point "
            "(`miind run` shows what it does)")
