"""`miind run`: read the simulation, assemble it, advance it, write the output.

The engine knows populations only through the protocol of solver.population. It
advances each in turn by chunks of steps; between chunks it feeds rates from
population to population, reports progress through the caller's `progress(done,
total)` callback, and has the populations with a density take snapshots. At the end
each population hands over its records for the output and its checks' findings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from meshgen.errors import SimulationError
from meshgen.formats.atomic_file import check_writable
from meshgen.formats.run_output import write_output

from .assembly import Simulation, build_simulation
from .checks import CLAMP_WARNING_PER_SECOND
from .population import PopulationRecord, fill_feeds
from .sim_file import read_simulation_file

Progress = Callable[[int, int], None]
# Chunks per run when nothing else sets their length: progress is reported about a
# hundred times, and the call overhead (~10 us) stays negligible.
PROGRESS_CHUNKS = 100


@dataclass
class Results:
    time: np.ndarray
    populations: list[PopulationRecord]  # in file order
    input_rates: np.ndarray
    seconds: float
    kernels: str  # the density kernels: "aot" or "jit" (solver.backend); "none" without them


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
    # The output first: the checks explore (meshgen.exploration), which may fail on a
    # model whose flow diverges where the run never went.
    write_output(output, simulation, results)
    seconds = simulation.n_steps * simulation.dt
    checks = {name: found for population in simulation.populations
              for name, found in zip(population.names, population.checks(seconds))}
    checks = {name: checks[name] for name in simulation.names}  # file order
    half = simulation.n_steps // 2
    mean_rates = {r.name: float(r.rate[half:].mean()) for r in results.populations}
    tables = {name: c.clamped_per_second for name, c in checks.items()
              if c.clamped_per_second is not None}
    found = [finding for c in checks.values() for finding in c.clamp_findings]
    # Meshes written before the accounting of a mechanism cannot be checked for it.
    unaccounted = {name: c.unaccounted for name, c in checks.items() if c.unaccounted}
    unchecked = [f"population '{name}': its mesh was written before the clamped-mass "
                 f"accounting of the {' and the '.join(missing)}, which is not checked; "
                 "re-run `miind mesh` on its model file to check it"
                 for name, missing in unaccounted.items()]
    slow = ([w for c in checks.values() for w in c.step_warnings]
            + [w for c in checks.values() for w in c.spread_warnings])
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


def simulation_stops(simulation: Simulation) -> tuple[list[int], int | None]:
    """The steps at which chunks end (progress, feeds between populations, density
    snapshots) and the snapshot stride in steps (None: the final state only)."""
    n = simulation.n_steps
    stops = set(np.linspace(0, n, PROGRESS_CHUNKS + 1).astype(int)[1:])
    stops |= set(range(simulation.chunk, n + 1, simulation.chunk))
    interval = simulation.spec.density_interval
    stride = max(1, int(round(interval / simulation.dt))) if interval else None
    if stride and any(p.has_density for p in simulation.populations):
        stops |= set(range(stride, n + 1, stride))
    stops.add(n)
    return sorted(stops), stride


def simulate(simulation: Simulation, progress: Progress | None = None) -> Results:
    started = time.perf_counter()
    n = simulation.n_steps
    populations = simulation.populations
    position = {name: k for k, name in enumerate(simulation.names)}
    rows = [[position[name] for name in population.names] for population in populations]
    all_rates = np.zeros((len(simulation.names), n))
    with_density = [p for p in populations if p.has_density]
    stops, stride = simulation_stops(simulation)
    snapshot_times: list[float] = []

    def take_snapshot(step: int) -> None:
        snapshot_times.append(step * simulation.dt)
        for population in with_density:
            population.snapshot()

    if stride and with_density:
        take_snapshot(0)
    done = 0
    for stop in stops:
        if stop <= done:
            continue
        for population, where in zip(populations, rows):
            fill_feeds(population.input_rates, population.feeds, all_rates, done, stop)
            population.advance(done, stop - done)
            all_rates[where, done:stop] = population.rates()[:, done:stop]
        if not np.all(np.isfinite(all_rates[:, done:stop])):
            raise SimulationError(f"rates became non-finite between t = {done * simulation.dt:.6g} "
                                  f"and {stop * simulation.dt:.6g} s")
        done = stop
        if with_density and ((stride and done % stride == 0) or (done == n and not stride)):
            if not snapshot_times or snapshot_times[-1] != done * simulation.dt:
                take_snapshot(done)
        if progress is not None:
            progress(done, n)

    records = {record.name: record for population in populations
               for record in population.records(snapshot_times)}
    return Results(time=(np.arange(n) + 1) * simulation.dt,
                   populations=[records[name] for name in simulation.names],
                   input_rates=simulation.input_table, seconds=time.perf_counter() - started,
                   kernels=next((p.kernels for p in populations if p.kernels), "none"))
