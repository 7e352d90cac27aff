"""`miind run`: read the simulation, build the network, advance it, write the output.

The kernels run in chunks of steps; between chunks the engine reports progress
through the caller's `progress(done, total)` callback and takes density snapshots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from meshgen.atomic_file import check_writable
from meshgen.errors import SimulationError

from .backend import load_kernels
from .network import Network, build_network
from .output import write_output
from .sim_file import read_simulation_file

Progress = Callable[[int, int], None]
# Steps per kernel call when nothing else sets the chunk: progress is reported about
# a hundred times per run, and the call overhead (~10 us) stays negligible.
PROGRESS_CHUNKS = 100


@dataclass
class Results:
    time: np.ndarray
    rate: np.ndarray  # (P, n)
    mass: np.ndarray
    mean: np.ndarray
    snapshot_times: list[float]
    snapshots: list[list[np.ndarray]]  # per population, per snapshot: logical cell masses
    input_rates: np.ndarray
    seconds: float
    kernels: str  # "aot" or "jit": see solver.backend


@dataclass(frozen=True)
class RunSummary:
    output: str
    n_steps: int
    dt: float
    seconds: float
    kernels: str
    mean_rates: dict[str, float]

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def run_simulation(sim_path: str | Path, output: str | Path, overrides: list[str] = (),
                   progress: Progress | None = None) -> RunSummary:
    check_writable(output)
    spec = read_simulation_file(sim_path, overrides)
    network = build_network(spec)
    results = simulate(network, progress)
    write_output(output, network, results)
    half = network.n_steps // 2
    return RunSummary(output=str(output), n_steps=network.n_steps, dt=network.dt,
                      seconds=results.seconds, kernels=results.kernels,
                      mean_rates={name: float(results.rate[p, half:].mean())
                                  for p, name in enumerate(network.population_names)})


def simulate(network: Network, progress: Progress | None = None) -> Results:
    kernels = load_kernels()
    started = time.perf_counter()
    n_pops = len(network.artifacts)
    n = network.n_steps
    rate = np.zeros((n_pops, n))
    mass = np.zeros((n_pops, n))
    mean = np.zeros((n_pops, n))
    stops = set(np.linspace(0, n, PROGRESS_CHUNKS + 1).astype(int)[1:])
    interval = network.spec.density_interval
    snapshot_stride = max(1, int(round(interval / network.dt))) if interval else None
    if snapshot_stride:
        stops |= set(range(snapshot_stride, n + 1, snapshot_stride))
    stops.add(n)
    snapshot_times: list[float] = []
    snapshots: list[list[np.ndarray]] = [[] for _ in range(n_pops)]

    def take_snapshot(step: int) -> None:
        snapshot_times.append(step * network.dt)
        for p in range(n_pops):
            buffer = np.zeros(network.artifacts[p].n_cells + len(network.artifacts[p].gap_entry_cell))
            kernels.gather_logical(network.mesh, network.state.mass, p, int(network.state.pop_step[p]), buffer)
            snapshots[p].append(buffer[:network.artifacts[p].n_cells].copy())

    if snapshot_stride:
        take_snapshot(0)
    done = 0
    for stop in sorted(stops):
        if stop <= done:
            continue
        kernels.advance_network(network.mesh, network.matrices, network.coupling, network.state,
                        network.input_rates, done, stop - done, network.dt, rate, mass, mean,
                        network.work)
        if not np.all(np.isfinite(rate[:, done:stop])):
            raise SimulationError(f"rates became non-finite between t = {done * network.dt:.6g} "
                                  f"and {stop * network.dt:.6g} s")
        done = stop
        if (snapshot_stride and done % snapshot_stride == 0) or (done == n and not snapshot_stride):
            if not snapshot_times or snapshot_times[-1] != done * network.dt:
                take_snapshot(done)
        if progress is not None:
            progress(done, n)
    return Results(time=(np.arange(n) + 1) * network.dt, rate=rate, mass=mass, mean=mean,
                   snapshot_times=snapshot_times, snapshots=snapshots,
                   input_rates=network.input_rates[:len(network.spec.inputs)],
                   seconds=time.perf_counter() - started, kernels=kernels.name)
