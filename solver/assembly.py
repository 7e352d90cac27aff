"""Assembling a simulation: from its spec to the populations the engine advances.

Each population of the file becomes a population of the protocol
solver.population.Population, of the kind its method and mesh say (BUILDERS): the
density populations on 1D strip meshes all in one solver.network_1d.Strips1DNetwork
(its kernel couples them step by step), each one on a 1D diffusion mesh a
solver.diffusion_1d.Diffusion1DPopulation, each one on a 2D mesh a
solver.density_2d.Density2DPopulation, each direct one a solver.direct.DirectPopulation.
Each mesh is read once, here. Input rates from Poisson sources are tabulated now; rows
fed by other populations (their `feeds`) are filled by the engine between chunks, which
are never longer than the shortest such delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshgen.errors import ConfigError
from meshgen.formats.mesh_artifact import (Diffusion1DArtifact, GridArtifact,
                                           Strips2DArtifact, read_mesh)

from .network_1d import input_rate_table
from .population import Population, RateFeed
from .sim_file import SimulationSpec

# meshgen.model_file (with meshgen.models and meshgen.exploration) is imported by the
# builders that rebuild a model: a run of 1D strip populations needs none and starts
# without it (tests/cli/test_imports.py).

# The step of simulations made of direct populations only, when [simulation] dt is
# not given: 0.1 ms, Brian2's and NEST's default. LIF is solved exactly whatever the
# step; for other models the RK4 step defaults to it.
DEFAULT_DIRECT_DT = 1e-4


@dataclass
class Simulation:
    spec: SimulationSpec
    dt: float
    n_steps: int
    populations: list[Population]  # each advanced by the engine in turn
    input_table: np.ndarray  # (inputs, n_steps) Hz: the rate of each [[input]] per step
    chunk: int  # steps per chunk at most: the shortest delay between populations

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.spec.populations]


@dataclass(frozen=True)
class Context:
    """What every builder needs: the spec, where each population and input sits in
    the file, the input table, and the simulation's step."""

    spec: SimulationSpec
    index: dict[str, int]
    input_index: dict[str, int]
    inputs: np.ndarray
    dt: float
    n_steps: int

    def incoming(self, name: str):
        """The connections into population `name`, in file order."""
        return [c for c in self.spec.connections if c.target == name]

    def input_row(self, connection, row: int, table: np.ndarray, feeds: list) -> None:
        """Row `row` of `table` from a Poisson input, or a feed from a population."""
        if connection.source in self.input_index:
            table[row] = connection.n_connections * self.inputs[self.input_index[connection.source]]
        else:
            feeds.append(RateFeed(row, self.index[connection.source], connection.n_connections,
                                  max(connection.delay / self.dt, 1.0)))


def population_kind(population, artifact) -> str:
    """"direct", "density_2d" (a grid or 2D strip mesh), "diffusion_1d" or "strips_1d"."""
    if population.direct:
        return "direct"
    if isinstance(artifact, Diffusion1DArtifact):
        return "diffusion_1d"
    return "density_2d" if isinstance(artifact, GridArtifact) else "strips_1d"


def build_simulation(spec: SimulationSpec) -> Simulation:
    artifacts = {p.name: read_mesh(p.mesh_path) for p in spec.populations if not p.direct}
    kinds = {p.name: population_kind(p, artifacts.get(p.name)) for p in spec.populations}
    check_diffusion_connections(spec, artifacts)
    index = {p.name: i for i, p in enumerate(spec.populations)}
    strips_1d = [p for p in spec.populations if kinds[p.name] == "strips_1d"]
    populations = []
    if strips_1d:
        # One object for all of them: their kernel couples them step by step.
        from .network_1d import Strips1DNetwork
        populations.append(Strips1DNetwork(spec, strips_1d, [artifacts[p.name] for p in strips_1d],
                                           index))
        dt, n_steps = populations[0].dt, populations[0].n_steps
    else:
        dt = spec.dt or next((a.dt for a in artifacts.values()), DEFAULT_DIRECT_DT)
        n_steps = max(1, int(np.ceil(spec.t_end / dt - 1e-9)))
    context = Context(spec, index, {s.name: i for i, s in enumerate(spec.inputs)},
                      input_rate_table(spec, dt, n_steps), dt, n_steps)
    made = {kind: 0 for kind in BUILDERS}
    for population in spec.populations:
        kind = kinds[population.name]
        if kind in BUILDERS:
            populations.append(BUILDERS[kind](context, population, artifacts.get(population.name),
                                              made[kind]))
            made[kind] += 1
    delays = [feed.delay for population in populations for feed in population.feeds]
    chunk = max(1, int(np.floor(min(delays)))) if delays else n_steps
    spike_delay = couple_spikes(spec, populations, dt)
    if spike_delay is not None:
        from .spike_coupling import window_steps
        chunk = min(chunk, window_steps(spike_delay, dt))
    couple_gaps(spec, populations, dt)
    return Simulation(spec=spec, dt=dt, n_steps=n_steps, populations=populations,
                      input_table=context.inputs[:len(spec.inputs)], chunk=chunk)


def couple_spikes(spec: SimulationSpec, populations: list[Population], dt: float):
    """Draw the synapses of the connections between direct populations and wire them
    (solver.spike_coupling); the shortest of their delays, None without any."""
    connections = [c for c in spec.connections if c.spiking]
    if not connections:
        return None
    from .direct import DirectPopulation
    from .spike_coupling import Outbox, build_projection

    members = {p.name: p for p in populations if isinstance(p, DirectPopulation)}
    shortest = np.inf
    for c in connections:
        source, target = members[c.source], members[c.target]
        projection = build_projection(c, source.n_neurons, target.n_neurons,
                                      target.model.variables.index(c.dimension), dt, spec.path)
        if source.outbox is None:
            source.outbox = Outbox(0.0)
        source.outbox.keep = max(source.outbox.keep, projection.max_delay)
        target.spike_inputs.append((projection, source.outbox))
        shortest = min(shortest, projection.min_delay)
    return shortest


def couple_gaps(spec: SimulationSpec, populations: list[Population], dt: float) -> None:
    """Give each direct population its [[gap_junction]] tables' coupling
    (solver.gap_junctions); solver.sim_file has checked they name direct ones."""
    if not spec.gap_junctions:
        return
    from .direct import DirectPopulation
    from .gap_junctions import build_gap_coupling

    for population in populations:
        if isinstance(population, DirectPopulation):
            mine = [j for j in spec.gap_junctions if j.population == population.name]
            if mine:
                population.gap = build_gap_coupling(mine, population.n_neurons, dt, spec.path)


def check_diffusion_connections(spec: SimulationSpec, artifacts: dict) -> None:
    """What only diffusion meshes take, and what they do not (`miind run` and `miind
    steady` alike): scheme = "diffusion" into another kind, a dimension other than v."""
    for c in spec.connections:
        artifact = artifacts.get(c.target)
        diffusion = isinstance(artifact, Diffusion1DArtifact)
        if c.scheme == "diffusion" and not diffusion:
            raise ConfigError(f"population '{c.target}' is not on a diffusion mesh; only those "
                              "take connections in the diffusion limit (scheme = \"diffusion\")",
                              path=spec.path, key=f"connection.{c.index}.scheme")
        variable = artifact.model["variables"][0] if diffusion else None
        if diffusion and c.dimension != variable:
            raise ConfigError(f"the model of population '{c.target}' has no variable "
                              f"'{c.dimension}' (variables: {variable})", path=spec.path,
                              key=f"connection.{c.index}.dimension")


def build_direct(context: Context, population, artifact, stream: int):
    """A direct population (`stream`: its place among the direct ones, which picks its
    random stream; `artifact` is None)."""
    from .direct import DirectPopulation, InputGroup

    p = context.index[population.name]
    model = _direct_model(context.spec, p)
    incoming = context.incoming(population.name)
    for c in incoming:
        if c.dimension not in model.variables:
            raise ConfigError(f"population '{population.name}' has no variable "
                              f"'{c.dimension}' (variables: {', '.join(model.variables)})",
                              path=context.spec.path, key=f"connection.{c.index}.dimension")
    # Spike-coupled connections are wired by couple_spikes; the rest are rate groups.
    incoming = [c for c in incoming if not c.spiking]
    groups, feeds = [], []
    rates = np.zeros((len(incoming), context.n_steps))
    for g, c in enumerate(incoming):
        groups.append(InputGroup(c.efficacy, model.variables.index(c.dimension)))
        context.input_row(c, g, rates, feeds)
    member = DirectPopulation(
        name=population.name, model=model, n_neurons=population.n_neurons, groups=groups,
        n_steps=context.n_steps, dt=context.dt,
        integration_step=population.integration_step or context.dt,
        record=np.array(population.record, dtype=np.int64), seed=population.seed,
        stream=stream, accumulate_from=context.n_steps // 2, input_rates=rates, feeds=feeds)
    initial = _initial_values(context.spec, p, model, population, stream)
    # The test trajectory starts from the mean drawn state (a point like any other;
    # check_integration_step also starts one near the threshold).
    start = {name: float(np.mean(values)) for name, values in initial.items()}
    _check_integration_step(context, population, p, model, start, groups, rates)
    member.set_initial(initial)
    return member


def _initial_values(spec: SimulationSpec, p: int, model, population, stream: int) -> dict:
    """Each variable's initial value for every neuron of direct population `p`: a
    number, or an array of independent draws from the population's own streams
    (solver.rng.initial_state_generator), v's below the threshold."""
    from .initial_states import draw
    from .rng import initial_state_generator

    values = {}
    for k, (name, distribution) in enumerate(_initial_state(spec, p, model).items()):
        if distribution.point is not None:
            values[name] = distribution.point
            continue
        below = model.threshold if k == 0 and model.reset else None
        values[name] = draw(distribution, initial_state_generator(population.seed, stream, k),
                            population.n_neurons, below, path=spec.path,
                            key=f"population.{p}.initial.{name}")
    return values


def _check_integration_step(context, population, p, model, initial, groups, rates) -> None:
    from .direct import STEP_CHECK_TOLERANCE, check_integration_step

    step = population.integration_step or context.dt
    drive = {}
    for g, group in enumerate(groups):
        name = model.variables[group.dimension]
        drive[name] = drive.get(name, 0.0) + rates[g, 0] * group.efficacy
    suggested = check_integration_step(model, initial, step, drive, context.spec.t_end)
    if suggested is not None:
        raise ConfigError(f"the integration step {step:g} s is too coarse for model "
                          f"'{model.kind}' (RK4 at half the step differs by more than "
                          f"{STEP_CHECK_TOLERANCE:g} of the voltage scale); set "
                          f"integration_step = {suggested:.3g}", path=context.spec.path,
                          key=f"population.{p}.integration_step")


def build_density_2d(context: Context, population, artifact, _order: int):
    """A density population on a 2D grid or strip mesh."""
    from meshgen.model_file import model_from_definition

    from .density_2d import Density2DPopulation

    spec, dt = context.spec, context.dt
    p = context.index[population.name]
    if abs(dt - artifact.dt) > 1e-9 * artifact.dt:
        raise ConfigError(f"population '{population.name}': grid meshes step with their own dt "
                          f"({artifact.dt:.6g} s); the simulation dt must equal it, got "
                          f"{dt:.6g} s", path=spec.path, key="simulation.dt")
    incoming = context.incoming(population.name)
    group_jump = np.zeros(len(incoming), dtype=np.int64)
    rates = np.zeros((len(incoming), context.n_steps))
    feeds = []
    for g, c in enumerate(incoming):
        jump = artifact.jump_for(c.efficacy, c.dimension)
        if jump is None:
            built = ", ".join(f"{j.dimension} {j.efficacy:g}" for j in artifact.jumps) or "none"
            raise ConfigError(f"the mesh of population '{population.name}' has no jump matrix "
                              f"for efficacy {c.efficacy:g} in {c.dimension} (built: {built}); "
                              "add it to [mesh] efficacies and re-run `miind mesh`",
                              path=spec.path, key=f"connection.{c.index}.efficacy")
        group_jump[g] = jump
        context.input_row(c, g, rates, feeds)
    member = Density2DPopulation(name=population.name, artifact=artifact, group_jump=group_jump,
                                 n_steps=context.n_steps, dt=dt, input_rates=rates, feeds=feeds)
    model = model_from_definition(artifact.model, path=artifact.path)
    initial = _initial_state(spec, p, model)
    points = {name: d.point for name, d in initial.items()}
    for name, (lo, hi) in zip(artifact.variables, artifact.ranges):
        if points[name] is not None and not lo <= points[name] <= hi:
            given = "" if name in population.initial else " (the default: set it)"
            raise ConfigError(f"initial {name} = {points[name]:g}{given} lies outside the "
                              f"mesh's range [{lo:g}, {hi:g}] (mesh {artifact.path})",
                              path=spec.path, key=f"population.{p}.initial.{name}")
    if all(value is not None for value in points.values()):
        member.set_initial(points)
        return member
    from .initial_states import grid_mass, polygon_mass

    prefix = f"population.{p}.initial"
    if isinstance(artifact, Strips2DArtifact):
        mass = polygon_mass(artifact.cell_vertices, member.centres, artifact.variables, initial,
                            path=spec.path, key_prefix=prefix)
    else:
        mass = grid_mass(member.grid, initial, artifact.threshold, path=spec.path,
                         key_prefix=prefix)
    member.set_initial_mass(mass)
    return member


def build_diffusion_1d(context: Context, population, artifact, _order: int):
    """A density population on a 1D diffusion mesh."""
    from meshgen.model_file import model_from_definition

    from .diffusion_1d import Diffusion1DPopulation, connection_groups, takes_exact_jumps

    spec = context.spec
    p = context.index[population.name]
    incoming = context.incoming(population.name)
    variable = artifact.model["variables"][0]
    rates = np.zeros((len(incoming), context.n_steps))
    feeds = []
    for g, c in enumerate(incoming):
        context.input_row(c, g, rates, feeds)
    groups = connection_groups(artifact, [c.efficacy for c in incoming],
                               [takes_exact_jumps(artifact, c.efficacy, c.scheme) for c in incoming])
    member = Diffusion1DPopulation(name=population.name, artifact=artifact, groups=groups,
                                   n_steps=context.n_steps, dt=context.dt, input_rates=rates,
                                   feeds=feeds)
    model = model_from_definition(artifact.model, path=artifact.path)
    distribution = _initial_state(spec, p, model)[variable]
    where = f"the mesh's range [{artifact.lowest:g}, {artifact.threshold:g}]"
    key = f"population.{p}.initial.{variable}"
    v = distribution.point
    if v is None:
        from .initial_states import interval_mass

        member.set_initial_mass(interval_mass(distribution, artifact.lower, artifact.upper,
                                              f"in {where}", path=spec.path, key=key))
        return member
    if not artifact.lowest <= v <= artifact.threshold:
        raise ConfigError(f"initial {variable} = {v:g} lies outside {where} (mesh "
                          f"{artifact.path})", path=spec.path, key=key)
    member.set_initial(v)
    return member


def _direct_model(spec: SimulationSpec, p: int):
    from meshgen.model_file import model_from_definition, read_model

    population = spec.populations[p]
    if population.model_path is not None:
        return read_model(population.model_path)
    artifact = read_mesh(population.mesh_path)
    return model_from_definition(artifact.model, path=artifact.path)


def _initial_state(spec: SimulationSpec, p: int, model) -> dict:
    """Each variable's Distribution (solver.initial_states): the file's, else v at the
    reset and the others at 0; a number for v must be below the threshold."""
    from .initial_states import initial_distributions

    defaults = {}
    if model.reset and isinstance(model.reset.get(model.variables[0]), (int, float)):
        defaults[model.variables[0]] = float(model.reset[model.variables[0]])
    state = initial_distributions(spec.populations[p], model.variables, defaults, path=spec.path,
                                  key_prefix=f"population.{p}.initial")
    v, first = model.variables[0], state[model.variables[0]]
    if model.reset and first.point is not None and not first.point < model.threshold:
        raise ConfigError(f"initial {v} = {first.point:g} is not below the threshold "
                          f"({model.threshold:g})", path=spec.path,
                          key=f"population.{p}.initial.{v}")
    return state


# Kind -> builder(context, population spec, its mesh artifact or None, how many of
# the kind were built before it) of the kinds built one population at a time.
BUILDERS = {"direct": build_direct, "density_2d": build_density_2d,
            "diffusion_1d": build_diffusion_1d}
