"""Mesh and run a LIF population through the library, as `miind mesh` + `miind run` do."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from meshgen.build import build_mesh
from solver.engine import run_simulation

LIF_MODEL = """
[model]
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


def lif_density_run(directory: Path, *, tau=0.01, E_l=-65.0, threshold=-50.2, reset=-65.0,
                    refractory=0.0, lowest=-70.0, inputs=((1.0, 1000.0),), t_end=1.0,
                    v0=None, mesh_overrides=()):
    """Returns (time, rate, mass, mean_v) arrays of one population driven by Poisson
    inputs given as (efficacy, rate) pairs; a rate may be an expression of t."""
    directory.mkdir(parents=True, exist_ok=True)
    efficacies = sorted({h for h, _ in inputs})
    (directory / "model.toml").write_text(LIF_MODEL.format(
        tau=tau, E_l=E_l, threshold=threshold, reset=reset, refractory=refractory,
        lowest=lowest, efficacies=efficacies))
    build_mesh(directory / "model.toml", directory / "mesh.h5", list(mesh_overrides))
    lines = [f"[simulation]\nt_end = {t_end}\n",
             f"[[population]]\nname = \"p\"\nmesh = \"mesh.h5\"\n"
             f"initial = {{ v = {reset if v0 is None else v0} }}\n"]
    for i, (h, rate) in enumerate(inputs):
        rate_text = f'"{rate}"' if isinstance(rate, str) else repr(float(rate))
        lines.append(f"[[input]]\nname = \"in{i}\"\nrate = {rate_text}\n")
        lines.append(f"[[connection]]\nsource = \"in{i}\"\ntarget = \"p\"\nefficacy = {h}\n")
    (directory / "sim.toml").write_text("\n".join(lines))
    run_simulation(directory / "sim.toml", directory / "out.h5")
    with h5py.File(directory / "out.h5") as f:
        group = f["populations/p"]
        return (f["time"][()], group["rate"][()], group["mass"][()], group["mean/v"][()])


def steady_rate(time: np.ndarray, rate: np.ndarray, start: float) -> float:
    return float(rate[time > start].mean())
