"""In-process density runs for the benchmarks: mesh with `meshgen.build.build_mesh`,
run with `solver.engine.run_simulation`, exactly what `miind mesh` and `miind run` call.

Two kinds of run:
- `public_case`: the committed example (examples/lif/lif.toml + simulation.toml) with
  mesh knobs and run options passed as `--set`-style overrides, so the benchmark
  measures the files a user runs;
- `lif_case`: a LIF population written from parameters, for the validation cases.

The LIF files come from tests.support.studies, as in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from bench_report import REPO  # first: it puts the repository root on the path
from meshgen.build import build_mesh
from solver.engine import run_simulation
from tests.support.studies import PUBLIC_PARAMETERS, write_lif_files  # noqa: F401 - re-exported

PUBLIC_MODEL = REPO / "examples" / "lif" / "lif.toml"
PUBLIC_SIMULATION = REPO / "examples" / "lif" / "simulation.toml"
PUBLIC_POPULATION = "lif"

@dataclass
class DensityRun:
    n_cells: int
    dt: float            # mesh step (s)
    step: float          # network step = jump_interval * dt (s)
    n_steps: int
    mesh_seconds: float  # in-process build_mesh time
    kernel_seconds: list[float]  # RunSummary.seconds of each run, in order
    rate_hz: float       # mean over the second half of the run (what `miind run` prints)
    kernels: str         # "aot" or "jit": which compiled kernels ran (solver/backend.py)
    time: np.ndarray | None = field(default=None, repr=False)
    rate: np.ndarray | None = field(default=None, repr=False)


def mesh_knobs(cells_per_efficacy=None, jump_interval=None) -> list[str]:
    overrides = []
    if cells_per_efficacy is not None:
        overrides.append(f"mesh.cells_per_efficacy={cells_per_efficacy}")
    if jump_interval is not None:
        overrides.append(f"mesh.jump_interval={jump_interval}")
    return overrides


def _mesh_and_run(model_path: Path, sim_path: Path, workdir: Path, mesh_overrides,
                  run_overrides, population: str, runs: int, keep_series: bool) -> DensityRun:
    mesh_path = workdir / "mesh.h5"
    out_path = workdir / "out.h5"
    mesh = build_mesh(model_path, mesh_path, list(mesh_overrides))
    run_overrides = [f"population.0.mesh={mesh_path}"] + list(run_overrides)
    kernel = []
    for _ in range(runs):
        summary = run_simulation(sim_path, out_path, run_overrides)
        kernel.append(summary.seconds)
    time = rate = None
    if keep_series:
        with h5py.File(out_path) as f:
            time = f["time"][()]
            rate = f[f"populations/{population}/rate"][()]
    return DensityRun(n_cells=mesh.n_cells, dt=mesh.dt, step=mesh.step, n_steps=summary.n_steps,
                      mesh_seconds=mesh.seconds, kernel_seconds=kernel,
                      rate_hz=summary.mean_rates[population],
                      kernels=getattr(summary, "kernels", "jit"), time=time, rate=rate)


def public_case(workdir: Path, *, cells_per_efficacy=None, jump_interval=None, t_end=None,
                runs: int = 1) -> DensityRun:
    """The committed example with the given mesh knobs (None: the model file's default)."""
    workdir.mkdir(parents=True, exist_ok=True)
    run_overrides = [] if t_end is None else [f"simulation.t_end={t_end}"]
    return _mesh_and_run(PUBLIC_MODEL, PUBLIC_SIMULATION, workdir,
                         mesh_knobs(cells_per_efficacy, jump_interval), run_overrides,
                         PUBLIC_POPULATION, runs, keep_series=False)


def lif_case(workdir: Path, *, inputs, t_end: float, cells_per_efficacy=None,
             jump_interval=None, keep_series: bool = False, **parameters) -> DensityRun:
    """One LIF population (public-case parameters unless overridden) driven by Poisson
    inputs given as (efficacy mV, rate) pairs; a rate may be an expression of t."""
    write_lif_files(workdir, inputs=inputs, t_end=t_end, **parameters)
    return _mesh_and_run(workdir / "model.toml", workdir / "sim.toml", workdir,
                         mesh_knobs(cells_per_efficacy, jump_interval), [], "p", 1, keep_series)
