"""`miind run`: read the simulation, assemble it, advance it, write the output.

The kernels run in chunks of steps; between chunks the engine feeds rates between
density and direct populations, reports progress through the caller's
`progress(done, total)` callback, and takes density snapshots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from meshgen.atomic_file import check_writable
from meshgen.errors import SimulationError
from meshgen.exploration import ExpectedInput
from meshgen.model_file import model_from_definition

from .assembly import Simulation, build_simulation, delayed_rates
from .backend import load_kernels
from .checks import (CLAMP_WARNING_PER_SECOND, clamped_per_second, findings,
                     spread_warnings, steps_warning, with_suggestions)
from meshgen.box_edges import CLAMP_MECHANISMS
from .output import write_output
from .sim_file import read_simulation_file

Progress = Callable[[int, int], None]
# Chunks per run when nothing else sets their length: progress is reported about a
# hundred times, and the call overhead (~10 us) stays negligible.
PROGRESS_CHUNKS = 100


@dataclass
class PopulationResult:
    name: str
    variables: list[str]
    unit: str
    rate: np.ndarray  # (n,) Hz
    mean: dict[str, np.ndarray]
    mass: np.ndarray | None = None  # density only
    snapshot_times: list[float] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)  # density: cell masses
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    mesh_path: str | None = None
    mesh_hash: str | None = None
    grid: object | None = None  # 2D populations: the meshgen.regular_grid.Grid (strips: the range box)
    clamped: np.ndarray | None = None  # 2D: (n, mechanisms, edges) mass clamped per step
    clamp_accounted: tuple[str, ...] = ()  # 2D: the mechanisms the mesh accounts for
    spike_times: np.ndarray | None = None  # direct only
    spike_ids: np.ndarray | None = None
    n_neurons: int | None = None
    record: np.ndarray | None = None
    samples: np.ndarray | None = None  # (n, record, variables)
    neuron_mean_v: np.ndarray | None = None  # over the second half, per neuron
    neuron_var_v: np.ndarray | None = None


@dataclass
class Results:
    time: np.ndarray
    populations: list[PopulationResult]
    input_rates: np.ndarray
    seconds: float
    kernels: str  # density kernels: "aot" or "jit" (solver.backend); "none" without density


@dataclass(frozen=True)
class RunSummary:
    output: str
    n_steps: int
    dt: float
    seconds: float
    kernels: str
    mean_rates: dict[str, float]
    # 2D populations: {name: {mechanism: {edge: clamped mass per second}}} over the run,
    # and the check of it against solver.checks.CLAMP_WARNING_PER_SECOND.
    clamped_per_second: dict = field(default_factory=dict)
    clamped_mass_check: dict = field(default_factory=dict)
    # Every warning of the run (clamped mass, too few steps per interval between spikes);
    # with `strict` any of them fails the run.
    warnings: tuple[str, ...] = ()
    strict: bool = False

    @property
    def failed(self) -> bool:
        return self.strict and bool(self.warnings)

    @property
    def result(self) -> str:
        """"passed", "warning" or "failed" (warnings under `strict`)."""
        return "failed" if self.failed else "warning" if self.warnings else "passed"

    def as_dict(self) -> dict:
        found = {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()
                 if k != "strict"}
        return {**found, "result": self.result}


def run_simulation(sim_path: str | Path, output: str | Path, overrides: list[str] = (),
                   progress: Progress | None = None, strict: bool = False) -> RunSummary:
    """Run the simulation file and write its output. `strict`: any warning of the
    run (the checks of solver.checks) marks the summary failed (the output is written
    all the same; the caller decides what failing means)."""
    check_writable(output)
    spec = read_simulation_file(sim_path, overrides)
    simulation = build_simulation(spec)
    results = simulate(simulation, progress)
    # The output first: the checks below explore (meshgen.exploration), which may fail
    # on a model whose flow diverges where the run never went.
    write_output(output, simulation, results)
    tables, found = check_clamping(simulation, results)
    half = simulation.n_steps // 2
    mean_rates = {r.name: float(r.rate[half:].mean()) for r in results.populations}
    # 2D populations whose mesh step is long against their interval between spikes, or
    # whose cells are coarse against their density.
    slow = [message for message in (steps_warning(r.name, mean_rates[r.name], simulation.dt)
                                    for r in results.populations if r.clamped is not None)
            if message]
    for population, rates in zip(simulation.grids, simulation.grid_rates):
        if not rates.size or rates.max() <= 0:
            continue  # no input: nothing spreads the density, nothing diffuses it away
        artifact = population.artifact
        slow += spread_warnings(population.name, population.mass, population.centres,
                                population.grid.widths, artifact.ranges, artifact.variables,
                                {jump.dimension for jump in artifact.jumps})
    # Meshes written before the accounting of a mechanism cannot be checked for it.
    unaccounted = {r.name: [m for m in CLAMP_MECHANISMS if m not in r.clamp_accounted]
                   for r in results.populations if r.clamped is not None}
    unaccounted = {name: missing for name, missing in unaccounted.items() if missing}
    unchecked = [f"population '{name}': its mesh was written before the clamped-mass "
                 f"accounting of the {' and the '.join(missing)}, which is not checked; "
                 "re-run `miind mesh` on its model file to check it"
                 for name, missing in unaccounted.items()]
    result = ("passed" if not (found or unaccounted) else "failed" if strict else "warning")
    check = {"result": result, "threshold_per_second": CLAMP_WARNING_PER_SECOND,
             "over": [{"population": f.population, "mechanism": f.mechanism, "edge": f.edge,
                       "per_second": f.per_second, "suggested_limit": f.suggestion}
                      for f in found], "unaccounted": unaccounted} if tables else {}
    return RunSummary(output=str(output), n_steps=simulation.n_steps, dt=simulation.dt,
                      seconds=results.seconds, kernels=results.kernels, mean_rates=mean_rates,
                      clamped_per_second=tables, clamped_mass_check=check,
                      warnings=tuple(f.message() for f in found) + tuple(unchecked)
                      + tuple(slow), strict=strict)


def check_clamping(simulation: Simulation, results: Results):
    """({population: clamped_per_second table}, [ClampFinding]) of the 2D populations."""
    tables, found = {}, []
    for result in results.populations:
        if result.clamped is None:
            continue
        table = clamped_per_second(result.clamped, simulation.dt, result.variables)
        tables[result.name] = {m: v for m, v in table.items() if m in result.clamp_accounted}
        population = next(p for p in simulation.grids if p.name == result.name)
        found += findings(result.name, tables[result.name], float(result.rate.mean()),
                          result.variables, population.artifact.units)

    def explore_inputs(name):
        """The model, the input the population got (the peak rate of each connection:
        the widest region) and its mesh's ranges."""
        k = next(k for k, p in enumerate(simulation.grids) if p.name == name)
        population, rates = simulation.grids[k], simulation.grid_rates[k]
        artifact = population.artifact
        inputs = [ExpectedInput(float(rates[g].max(initial=0.0)), artifact.jumps[j].efficacy,
                                artifact.jumps[j].dimension)
                  for g, j in enumerate(population.group_jump)]
        model = model_from_definition(artifact.model, path=artifact.path)
        return model, inputs, dict(zip(artifact.variables, map(tuple, artifact.ranges)))

    seconds = simulation.n_steps * simulation.dt
    return tables, with_suggestions(found, explore_inputs, seconds) if found else found


def simulate(simulation: Simulation, progress: Progress | None = None) -> Results:
    kernels = load_kernels() if simulation.density is not None else None
    started = time.perf_counter()
    n = simulation.n_steps
    network = simulation.density
    n_density = len(network.artifacts) if network else 0
    rate = np.zeros((n_density, n))
    mass = np.zeros((n_density, n))
    mean = np.zeros((n_density, n))
    all_rates = np.zeros((len(simulation.kinds), n))

    stops = set(np.linspace(0, n, PROGRESS_CHUNKS + 1).astype(int)[1:])
    stops |= set(range(simulation.chunk, n + 1, simulation.chunk))
    interval = simulation.spec.density_interval
    snapshot_stride = max(1, int(round(interval / simulation.dt))) if interval else None
    if snapshot_stride and (network or simulation.grids):
        stops |= set(range(snapshot_stride, n + 1, snapshot_stride))
    stops.add(n)
    snapshot_times: list[float] = []
    snapshots: list[list[np.ndarray]] = [[] for _ in range(n_density)]

    grid_snapshots: list[list[np.ndarray]] = [[] for _ in simulation.grids]

    def take_snapshot(step: int) -> None:
        snapshot_times.append(step * simulation.dt)
        for k, population in enumerate(simulation.grids):
            grid_snapshots[k].append(population.mass.copy())
        for p, artifact in enumerate(network.artifacts if network else ()):
            buffer = np.zeros(artifact.n_cells + len(artifact.gap_entry_cell))
            kernels.gather_logical(network.mesh, network.state.mass, p,
                                   int(network.state.pop_step[p]), buffer)
            snapshots[p].append(buffer[:artifact.n_cells].copy())

    if snapshot_stride and (network or simulation.grids):
        take_snapshot(0)
    separate = (list(zip(simulation.direct, simulation.direct_rates, simulation.direct_feeds)) +
                list(zip(simulation.grids, simulation.grid_rates, simulation.grid_feeds)))
    done = 0
    for stop in sorted(stops):
        if stop <= done:
            continue
        steps = np.arange(done, stop)
        if network:
            for feed in simulation.density_feeds:
                network.input_rates[feed.row, done:stop] = feed.count * delayed_rates(
                    all_rates[feed.source], steps, feed.delay)
            kernels.advance_network(network.mesh, network.matrices, network.coupling,
                                    network.state, network.input_rates, done, stop - done,
                                    network.dt, rate, mass, mean, network.work)
            for p, (kind, k) in enumerate(simulation.kinds):
                if kind == "density":
                    all_rates[p, done:stop] = rate[k, done:stop]
        # Direct and grid populations each run their own kernel on their input table.
        for population, table, feeds in separate:
            for feed in feeds:
                table[feed.row, done:stop] = feed.count * delayed_rates(
                    all_rates[feed.source], steps, feed.delay)
            population.advance(done, stop - done, table)
            all_rates[simulation.names.index(population.name), done:stop] = \
                population.rate[done:stop]
        if not np.all(np.isfinite(all_rates[:, done:stop])):
            raise SimulationError(f"rates became non-finite between t = {done * simulation.dt:.6g} "
                                  f"and {stop * simulation.dt:.6g} s")
        done = stop
        if (network or simulation.grids) and ((snapshot_stride and done % snapshot_stride == 0)
                                              or (done == n and not snapshot_stride)):
            if not snapshot_times or snapshot_times[-1] != done * simulation.dt:
                take_snapshot(done)
        if progress is not None:
            progress(done, n)

    results = []
    for p, (kind, k) in enumerate(simulation.kinds):
        if kind == "density":
            artifact = network.artifacts[k]
            variables = artifact.model["variables"]
            results.append(PopulationResult(
                name=simulation.names[p], variables=variables, unit=artifact.unit,
                rate=rate[k], mean={variables[0]: mean[k]}, mass=mass[k],
                snapshot_times=list(snapshot_times), snapshots=snapshots[k],
                lower=artifact.lower, upper=artifact.upper, mesh_path=artifact.path,
                mesh_hash=artifact.input_hash))
        elif kind == "grid":
            population = simulation.grids[k]
            artifact = population.artifact
            variables = list(artifact.variables)
            results.append(PopulationResult(
                name=simulation.names[p], variables=variables, unit=artifact.unit,
                rate=population.rate, mean=dict(zip(variables, population.mean)),
                mass=population.total_mass, snapshot_times=list(snapshot_times),
                snapshots=grid_snapshots[k], mesh_path=artifact.path,
                mesh_hash=artifact.input_hash, grid=population.grid,
                clamped=population.clamped, clamp_accounted=population.accounted))
        else:
            population = simulation.direct[k]
            population.finish()
            times, ids = population.spikes()
            model = population.model
            half = n - population.accumulate_from
            neuron_mean = population.v_sum / half
            results.append(PopulationResult(
                name=population.name, variables=list(model.variables),
                unit=model.units[model.variables[0]], rate=population.rate,
                mean={v: population.mean[j] for j, v in enumerate(model.variables)},
                spike_times=times, spike_ids=ids, n_neurons=population.n_neurons,
                record=population.record, samples=population.samples,
                neuron_mean_v=neuron_mean,
                neuron_var_v=np.maximum(population.v_square / half - neuron_mean ** 2, 0.0)))
    spec_inputs = len(simulation.spec.inputs)
    inputs = network.input_rates[:spec_inputs] if network else None
    if inputs is None:
        from .network import input_rate_table
        inputs = input_rate_table(simulation.spec, simulation.dt, n)[:spec_inputs]
    return Results(time=(np.arange(n) + 1) * simulation.dt, populations=results,
                   input_rates=inputs, seconds=time.perf_counter() - started,
                   kernels=kernels.name if kernels else "none")
