"""Scripted studies of 2D models: one population driven by Poisson input, run on a
grid mesh or simulated directly, in process.

What `miind mesh` + `miind run` do, for the accuracy tests and `make validate`
(benchmarks/validate_2d.py): the simulation file is written into a directory next
to the mesh, so every run can be repeated from the command line, and the library
builds and runs it. The model file is the user's (e.g. examples/grid2d/*.toml);
mesh settings are varied with `--set` style overrides (`mesh.resolution.v=200`).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from meshgen.build import MeshSummary, build_mesh

from solver.engine import run_simulation


@dataclass(frozen=True)
class Drive:
    """A population's model file and its input: Poisson jumps of `efficacy` along
    `dimension` at `rate` Hz, from every neuron at `initial`."""

    model_file: Path
    dimension: str
    efficacy: float
    rate: float
    initial: dict[str, float]
    # Direct populations: the RK4 step (None: the simulation dt).
    integration_step: float | None = None


@dataclass
class PopulationRun:
    time: np.ndarray  # (n,) s, end of each step
    dt: float
    rate: np.ndarray  # (n,) Hz
    mean: dict[str, np.ndarray]  # variable -> (n,) population mean
    wall_seconds: float
    mesh: MeshSummary | None = None
    n_neurons: int = 0
    spike_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    spike_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def mean_rate(self, start: float, stop: float) -> float:
        """Mean rate over the steps lying in [start, stop)."""
        middle = self.time - self.dt / 2
        return float(self.rate[(middle >= start) & (middle < stop)].mean())

    def mean_of(self, variable: str, start: float, stop: float) -> float:
        middle = self.time - self.dt / 2
        return float(self.mean[variable][(middle >= start) & (middle < stop)].mean())

    def binned_rate(self, bin_width: float, stop: float) -> np.ndarray:
        """Rate averaged over bins [k bin_width, (k + 1) bin_width) up to `stop`; the
        bin width must be a whole number of steps."""
        per_bin = int(round(bin_width / self.dt))
        if not math.isclose(per_bin * self.dt, bin_width, rel_tol=1e-9):
            raise ValueError(f"bin width {bin_width} is not a multiple of dt {self.dt}")
        n_bins = int(round(stop / bin_width))
        return self.rate[:n_bins * per_bin].reshape(n_bins, per_bin).mean(axis=1)

    def batch_rates(self, n_batches: int, start: float, stop: float) -> np.ndarray:
        """Direct populations: the mean rate over [start, stop) of each of `n_batches`
        groups of neurons (ids split evenly); neurons are independent, so these are
        independent estimates of the population rate."""
        chosen = (self.spike_times >= start) & (self.spike_times < stop)
        group = self.spike_ids[chosen] * n_batches // self.n_neurons
        sizes = np.bincount(np.arange(self.n_neurons) * n_batches // self.n_neurons,
                            minlength=n_batches)
        return np.bincount(group, minlength=n_batches) / (sizes * (stop - start))

    def batch_binned_rates(self, n_batches: int, bin_width: float, stop: float) -> np.ndarray:
        """(n_batches, bins): each neuron group's rate per bin (see batch_rates)."""
        n_bins = int(round(stop / bin_width))
        chosen = self.spike_times < n_bins * bin_width
        group = self.spike_ids[chosen] * n_batches // self.n_neurons
        bins = np.minimum((self.spike_times[chosen] / bin_width).astype(np.int64), n_bins - 1)
        counts = np.zeros((n_batches, n_bins))
        np.add.at(counts, (group, bins), 1.0)
        sizes = np.bincount(np.arange(self.n_neurons) * n_batches // self.n_neurons,
                            minlength=n_batches)
        return counts / (sizes[:, None] * bin_width)


def mesh_overrides(model_file: Path, resolution: tuple[int, int], dt: float) -> list[str]:
    """`--set` overrides giving a grid model file another resolution and dt."""
    names = list(tomllib.loads(Path(model_file).read_text())["mesh"]["resolution"])
    return [f"mesh.resolution.{names[0]}={resolution[0]}",
            f"mesh.resolution.{names[1]}={resolution[1]}", f"mesh.dt={dt!r}"]


def _inline_table(values: dict[str, float]) -> str:
    return "{ " + ", ".join(f"{k} = {float(v)!r}" for k, v in values.items()) + " }"


def simulation_text(drive: Drive, t_end: float, population: str, *, mesh: str | None = None,
                    n_neurons: int | None = None, seed: int = 0, dt: float | None = None) -> str:
    """A simulation file with one population: on the grid mesh `mesh`, or simulated
    directly (`n_neurons`) from the drive's model file."""
    lines = ["[simulation]", f"t_end = {t_end!r}"]
    if dt is not None:
        lines.append(f"dt = {dt!r}")
    lines += ["", "[[population]]", f'name = "{population}"']
    if mesh is not None:
        lines.append(f'mesh = "{mesh}"')
    else:
        lines += ['method = "direct"', f'model = "{Path(drive.model_file).resolve()}"',
                  f"n_neurons = {n_neurons}", f"seed = {seed}"]
        if drive.integration_step is not None:
            lines.append(f"integration_step = {drive.integration_step!r}")
    lines += [f"initial = {_inline_table(drive.initial)}", "",
              "[[input]]", 'name = "drive"', f"rate = {float(drive.rate)!r}", "",
              "[[connection]]", 'source = "drive"', f'target = "{population}"',
              f"efficacy = {float(drive.efficacy)!r}", f'dimension = "{drive.dimension}"', ""]
    return "\n".join(lines)


def _read(output: Path, name: str) -> dict:
    with h5py.File(output) as f:
        group = f[f"populations/{name}"]
        result = {"time": f["time"][()], "rate": group["rate"][()],
                  "mean": {k: group[f"mean/{k}"][()] for k in group["mean"]}}
        if f"spikes/{name}" in f:
            result["spike_times"] = f[f"spikes/{name}/timestamps"][()]
            result["spike_ids"] = f[f"spikes/{name}/node_ids"][()].astype(np.int64)
    time = result["time"]
    result["dt"] = float(time[1] - time[0]) if len(time) > 1 else float(time[0])
    return result


def run_grid(drive: Drive, directory: Path, t_end: float, overrides=()) -> PopulationRun:
    """Mesh the drive's model file (with `overrides`, see mesh_overrides) and run it
    as a grid population "grid"; files go into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    mesh = build_mesh(drive.model_file, directory / "mesh.h5", list(overrides))
    simulation = directory / "grid_sim.toml"
    simulation.write_text(simulation_text(drive, t_end, "grid", mesh="mesh.h5"))
    summary = run_simulation(simulation, directory / "grid_out.h5")
    return PopulationRun(wall_seconds=summary.seconds, mesh=mesh,
                         **_read(directory / "grid_out.h5", "grid"))


def run_direct(drive: Drive, directory: Path, t_end: float, n_neurons: int, seed: int,
               dt: float) -> PopulationRun:
    """`n_neurons` neurons of the drive's model simulated one by one, population "direct"."""
    directory.mkdir(parents=True, exist_ok=True)
    simulation = directory / "direct_sim.toml"
    simulation.write_text(simulation_text(drive, t_end, "direct", n_neurons=n_neurons,
                                          seed=seed, dt=dt))
    summary = run_simulation(simulation, directory / "direct_out.h5")
    return PopulationRun(wall_seconds=summary.seconds, n_neurons=n_neurons,
                         **_read(directory / "direct_out.h5", "direct"))
