"""Assembling a simulation that may mix density and direct populations.

Density populations on strip meshes (1D) run together in the network kernel, which
couples them step by step. Density populations on grid meshes (2D, solver.grid) and
direct populations run in their own kernels. Connections between
the two kinds (and between direct populations) carry rates through tables filled in
between chunks of steps; a chunk is never longer than the shortest such delay, so
every rate a chunk needs is known before it starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from meshgen.artifact import GridArtifact, read_mesh
from meshgen.errors import ConfigError
from meshgen.model_file import model_from_definition, read_model

from .network import Network, build_network, input_rate_table
from .sim_file import InputSpec, SimulationSpec

if TYPE_CHECKING:
    # Imported where used: the direct and grid populations' modules import numba
    # (and their kernels), which a simulation without them need not load.
    from .direct import DirectPopulation
    from .grid import GridPopulation

# The step of simulations made of direct populations only, when [simulation] dt is
# not given: 0.1 ms, Brian2's and NEST's default. LIF is solved exactly whatever the
# step; for other models the RK4 step defaults to it.
DEFAULT_DIRECT_DT = 1e-4


@dataclass(frozen=True)
class RateFeed:
    """A rate fed through a table: row `row` gets n x the rate of population `source`
    (index in file order) `delay` steps earlier."""

    row: int
    source: int
    count: float
    delay: float


@dataclass
class Simulation:
    spec: SimulationSpec
    dt: float
    n_steps: int
    kinds: list[tuple[str, int]]  # per population in file order: (kind, index), kind one
    # of "density" (strips, in the network kernel), "grid" or "direct"
    density: Network | None
    density_feeds: list[RateFeed]  # rows of density.input_rates filled from populations
    direct: list[DirectPopulation]
    direct_rates: list[np.ndarray]  # per direct population: (groups, n_steps) Hz
    direct_feeds: list[list[RateFeed]]
    chunk: int
    grids: list[GridPopulation] = dataclasses.field(default_factory=list)
    grid_rates: list[np.ndarray] = dataclasses.field(default_factory=list)  # (groups, n_steps)
    grid_feeds: list[list[RateFeed]] = dataclasses.field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.spec.populations]


def build_simulation(spec: SimulationSpec) -> Simulation:
    index = {p.name: i for i, p in enumerate(spec.populations)}
    grid_artifacts = {p.name: a for p in spec.populations if not p.direct
                      for a in [read_mesh(p.mesh_path)] if isinstance(a, GridArtifact)}
    density_members = [p for p in spec.populations if not p.direct and p.name not in grid_artifacts]
    direct_members = [p for p in spec.populations if p.direct]
    grid_members = [p for p in spec.populations if p.name in grid_artifacts]
    kinds = []
    counters = {"density": 0, "direct": 0, "grid": 0}
    for p in spec.populations:
        kind = "direct" if p.direct else "grid" if p.name in grid_artifacts else "density"
        kinds.append((kind, counters[kind]))
        counters[kind] += 1

    density, density_feeds = None, []
    if density_members:
        density, density_feeds = _density_network(spec, density_members, index)
        dt, n_steps = density.dt, density.n_steps
    else:
        dt = spec.dt or next((a.dt for a in grid_artifacts.values()), DEFAULT_DIRECT_DT)
        n_steps = max(1, int(np.ceil(spec.t_end / dt - 1e-9)))

    inputs = input_rate_table(spec, dt, n_steps)
    input_index = {s.name: i for i, s in enumerate(spec.inputs)}
    direct, direct_rates, direct_feeds = [], [], []
    if direct_members:
        from .direct import (STEP_CHECK_TOLERANCE, DirectPopulation, InputGroup,
                             check_integration_step)
    for stream, population in enumerate(direct_members):
        p = index[population.name]
        model = _direct_model(spec, p)
        incoming = [c for c in spec.connections if c.target == population.name]
        groups, feeds = [], []
        rates = np.zeros((len(incoming), n_steps))
        for g, c in enumerate(incoming):
            if c.dimension not in model.variables:
                raise ConfigError(f"population '{population.name}' has no variable "
                                  f"'{c.dimension}' (variables: {', '.join(model.variables)})",
                                  path=spec.path, key=f"connection.{c.index}.dimension")
            groups.append(InputGroup(c.efficacy, model.variables.index(c.dimension)))
            if c.source in input_index:
                rates[g] = c.n_connections * inputs[input_index[c.source]]
            else:
                feeds.append(RateFeed(g, index[c.source], c.n_connections, max(c.delay / dt, 1.0)))
        member = DirectPopulation(
            name=population.name, model=model, n_neurons=population.n_neurons, groups=groups,
            n_steps=n_steps, dt=dt, integration_step=population.integration_step or dt,
            record=np.array(population.record, dtype=np.int64), seed=population.seed,
            stream=stream, accumulate_from=n_steps // 2)
        initial = _initial_state(spec, p, model)
        step = population.integration_step or dt
        drive = {}
        for g, group in enumerate(groups):
            name = model.variables[group.dimension]
            drive[name] = drive.get(name, 0.0) + rates[g, 0] * group.efficacy
        suggested = check_integration_step(model, initial, step, drive, spec.t_end)
        if suggested is not None:
            raise ConfigError(f"the integration step {step:g} s is too coarse for model "
                              f"'{model.kind}' (RK4 at half the step differs by more than "
                              f"{STEP_CHECK_TOLERANCE:g} of the voltage scale); set "
                              f"integration_step = {suggested:.3g}", path=spec.path,
                              key=f"population.{p}.integration_step")
        member.set_initial(initial)
        direct.append(member)
        direct_rates.append(rates)
        direct_feeds.append(feeds)

    grids, grid_rates, grid_feeds = [], [], []
    for population in grid_members:
        grid, rates, feeds = _grid_population(spec, population, grid_artifacts[population.name],
                                              index, input_index, inputs, dt, n_steps)
        grids.append(grid)
        grid_rates.append(rates)
        grid_feeds.append(feeds)

    delays = [f.delay for f in density_feeds] + [f.delay for feeds in direct_feeds for f in feeds]
    delays += [f.delay for feeds in grid_feeds for f in feeds]
    chunk = max(1, int(np.floor(min(delays)))) if delays else n_steps
    return Simulation(spec=spec, dt=dt, n_steps=n_steps, kinds=kinds, density=density,
                      density_feeds=density_feeds, direct=direct, direct_rates=direct_rates,
                      direct_feeds=direct_feeds, chunk=chunk, grids=grids,
                      grid_rates=grid_rates, grid_feeds=grid_feeds)


def _grid_population(spec, population, artifact, index, input_index, inputs, dt, n_steps):
    """A grid population, its input rate table (groups, n_steps) and its rate feeds."""
    from .grid import GridPopulation
    p = index[population.name]
    if abs(dt - artifact.dt) > 1e-9 * artifact.dt:
        raise ConfigError(f"population '{population.name}': grid meshes step with their own dt "
                          f"({artifact.dt:.6g} s); the simulation dt must equal it, got "
                          f"{dt:.6g} s", path=spec.path, key="simulation.dt")
    incoming = [c for c in spec.connections if c.target == population.name]
    group_jump = np.zeros(len(incoming), dtype=np.int64)
    rates = np.zeros((len(incoming), n_steps))
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
        if c.source in input_index:
            rates[g] = c.n_connections * inputs[input_index[c.source]]
        else:
            feeds.append(RateFeed(g, index[c.source], c.n_connections, max(c.delay / dt, 1.0)))
    grid = GridPopulation(name=population.name, artifact=artifact, group_jump=group_jump,
                          n_steps=n_steps, dt=dt)
    model = model_from_definition(artifact.model, path=artifact.path)
    initial = _initial_state(spec, p, model)
    for name, (lo, hi) in zip(artifact.variables, artifact.ranges):
        if not lo <= initial[name] <= hi:
            given = "" if name in population.initial else " (the default: set it)"
            raise ConfigError(f"initial {name} = {initial[name]:g}{given} lies outside the "
                              f"mesh's range [{lo:g}, {hi:g}] (mesh {artifact.path})",
                              path=spec.path, key=f"population.{p}.initial.{name}")
    grid.set_initial(initial)
    return grid, rates, feeds


def _density_network(spec: SimulationSpec, members, index):
    """The network kernel's view: density populations only; a connection from a direct
    population becomes an input whose rate is fed from that population's output."""
    names = {p.name for p in members}
    inputs = list(spec.inputs)
    connections = []
    pending = []
    for c in spec.connections:
        if c.target not in names:
            continue
        if c.source in index and c.source not in names:
            virtual = f"__feed_{c.index}"
            pending.append((len(inputs), c))
            inputs.append(InputSpec(name=virtual, rate=0.0))
            connections.append(dataclasses.replace(c, source=virtual, delay=0.0))
        else:
            connections.append(c)
    view = dataclasses.replace(spec, populations=tuple(members), inputs=tuple(inputs),
                               connections=tuple(connections))
    network = build_network(view)
    feeds = [RateFeed(row, index[c.source], 1.0, max(c.delay / network.dt, 1.0))
             for row, c in pending]
    return network, feeds


def _direct_model(spec: SimulationSpec, p: int):
    population = spec.populations[p]
    if population.model_path is not None:
        return read_model(population.model_path)
    artifact = read_mesh(population.mesh_path)
    return model_from_definition(artifact.model, path=artifact.path)


def _initial_state(spec: SimulationSpec, p: int, model) -> dict[str, float]:
    population = spec.populations[p]
    for key in population.initial:
        if key not in model.variables:
            raise ConfigError(f"the model has no variable '{key}' (variables: "
                              f"{', '.join(model.variables)})", path=spec.path,
                              key=f"population.{p}.initial.{key}")
    values = {}
    for k, variable in enumerate(model.variables):
        default = model.reset.get(variable) if k == 0 and model.reset else 0.0
        value = population.initial.get(variable, default)
        if not isinstance(value, (int, float)):
            value = 0.0
        if k == 0 and model.reset and not value < model.threshold:
            raise ConfigError(f"initial {variable} = {value:g} is not below the threshold "
                              f"({model.threshold:g})", path=spec.path,
                              key=f"population.{p}.initial.{variable}")
        values[variable] = float(value)
    return values


def delayed_rates(rates: np.ndarray, steps: np.ndarray, delay: float) -> np.ndarray:
    """rates[k - delay] for each k in `steps`, interpolated between whole steps as the
    network kernel does; zero before the start."""
    whole = int(np.floor(delay))
    part = delay - whole
    first = steps - whole
    second = first - 1
    value = np.where(first >= 0, (1.0 - part) * rates[np.clip(first, 0, None)], 0.0)
    if part > 0:
        value += np.where(second >= 0, part * rates[np.clip(second, 0, None)], 0.0)
    return value
