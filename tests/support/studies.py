"""Scripted studies: mesh and run a LIF population from parameters, in process.

What `miind mesh` + `miind run` do, for tests, benchmarks and convergence studies
that vary parameters in a loop: the model and simulation files are written to a
directory (so every run can be reproduced from the command line) and the library
builds and runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from meshgen.build import MeshSummary, build_mesh

from solver.engine import RunSummary, run_simulation

LIF_MODEL = """[model]
kind = "lif"
[model.parameters]
tau = {tau}
E_l = {E_l}
[model.spike]
threshold = {threshold}
reset = {reset}
refractory = {refractory}
[mesh]
v_range = [{lowest}, {threshold}]
efficacies = {efficacies}
"""

# MIIND's public case (its system test 24), in mV and s.
PUBLIC_PARAMETERS = dict(tau=0.01, E_l=-65.0, threshold=-50.2, reset=-65.0, refractory=0.0,
                         lowest=-70.0)


@dataclass
class StudyRun:
    time: np.ndarray  # (n,) s
    rate: np.ndarray  # (n,) Hz
    mass: np.ndarray  # (n,)
    mean_v: np.ndarray  # (n,) mV
    mesh: MeshSummary
    run: RunSummary


def write_lif_files(directory: Path, *, inputs, t_end: float, v0: float | None = None,
                    schemes=None, mesh_lines: str = "", **parameters) -> tuple[Path, Path]:
    """A LIF model file (public-case parameters unless overridden; `mesh_lines` added
    to its [mesh] table) and a simulation of one population "p" driven by Poisson
    inputs given as (efficacy, rate) pairs; a rate may be an expression of t. `schemes`:
    each connection's scheme (diffusion meshes)."""
    directory.mkdir(parents=True, exist_ok=True)
    p = dict(PUBLIC_PARAMETERS, **parameters)
    efficacies = sorted({h for h, _ in inputs})
    model = directory / "model.toml"
    model.write_text(LIF_MODEL.format(efficacies=efficacies, **p) + mesh_lines + "\n")
    lines = [f"[simulation]\nt_end = {t_end}\n",
             f"[[population]]\nname = \"p\"\nmesh = \"mesh.h5\"\n"
             f"initial = {{ v = {p['reset'] if v0 is None else v0} }}\n"]
    for i, (h, rate) in enumerate(inputs):
        rate_text = f'"{rate}"' if isinstance(rate, str) else repr(float(rate))
        lines.append(f"[[input]]\nname = \"in{i}\"\nrate = {rate_text}\n")
        scheme = f"scheme = \"{schemes[i]}\"\n" if schemes else ""
        lines.append(f"[[connection]]\nsource = \"in{i}\"\ntarget = \"p\"\nefficacy = {h}\n"
                     + scheme)
    simulation = directory / "sim.toml"
    simulation.write_text("\n".join(lines))
    return model, simulation


def lif_density_run(directory: Path, *, inputs=((1.0, 1000.0),), t_end: float = 1.0,
                    v0: float | None = None, mesh_overrides=(), **parameters) -> StudyRun:
    model, simulation = write_lif_files(directory, inputs=inputs, t_end=t_end, v0=v0,
                                        **parameters)
    mesh = build_mesh(model, directory / "mesh.h5", list(mesh_overrides))
    run = run_simulation(simulation, directory / "out.h5")
    with h5py.File(directory / "out.h5") as f:
        group = f["populations/p"]
        return StudyRun(time=f["time"][()], rate=group["rate"][()], mass=group["mass"][()],
                        mean_v=group["mean/v"][()], mesh=mesh, run=run)


def write_direct_lif_files(directory: Path, *, inputs, t_end: float, n_neurons: int,
                           seed: int = 0, dt: float | None = None, record=(),
                           **parameters) -> Path:
    """The same LIF population as `write_lif_files`, simulated neuron by neuron."""
    model, simulation = write_lif_files(directory, inputs=inputs, t_end=t_end, **parameters)
    text = simulation.read_text().replace(
        'mesh = "mesh.h5"',
        f'method = "direct"\nmodel = "model.toml"\nn_neurons = {n_neurons}\nseed = {seed}\n'
        f'record = {list(record)}')
    if dt is not None:
        text = text.replace(f"t_end = {t_end}\n", f"t_end = {t_end}\ndt = {dt}\n")
    simulation.write_text(text)
    return simulation
