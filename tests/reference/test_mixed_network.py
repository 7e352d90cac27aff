"""One file, both methods: rates couple density and direct populations as they couple
populations of one method."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from solver.engine import run_simulation
from tests.support.studies import LIF_MODEL, PUBLIC_PARAMETERS

MIXED = """
[simulation]
t_end = 1.2
[[population]]
name = "density_source"
mesh = "mesh.h5"
[[population]]
name = "direct_follower"
method = "direct"
mesh = "mesh.h5"
n_neurons = 4000
seed = 2
[[population]]
name = "direct_source"
method = "direct"
mesh = "mesh.h5"
n_neurons = 4000
seed = 3
[[population]]
name = "density_follower"
mesh = "mesh.h5"
[[input]]
name = "drive"
rate = 1000.0
[[input]]
name = "copy"
rate = {copy_rate}
[[connection]]
source = "drive"
target = "density_source"
efficacy = 1.0
[[connection]]
source = "drive"
target = "direct_source"
efficacy = 1.0
[[connection]]
source = "{follower_source}"
target = "direct_follower"
efficacy = 1.0
n_connections = {count}
delay = 0.002
[[connection]]
source = "direct_source"
target = "density_follower"
efficacy = 1.0
n_connections = 130
delay = 0.002
"""


@pytest.mark.slow
def test_rates_cross_between_methods(tmp_path):
    from meshgen.build import build_mesh

    (tmp_path / "model.toml").write_text(LIF_MODEL.format(efficacies=[1.0], **PUBLIC_PARAMETERS))
    build_mesh(tmp_path / "model.toml", tmp_path / "mesh.h5")

    def run(name, **fields):
        (tmp_path / f"{name}.toml").write_text(MIXED.format(**fields))
        run_simulation(tmp_path / f"{name}.toml", tmp_path / f"{name}.h5")
        with h5py.File(tmp_path / f"{name}.h5") as f:
            time = f["time"][()]
            return time, {n: f[f"populations/{n}/rate"][()] for n in f["populations"]}

    time, rates = run("mixed", copy_rate=0.0, follower_source="density_source", count=130)
    steady = time > 0.4
    source = rates["density_source"][steady].mean()
    # The same direct population driven by a constant input at 130 x that rate.
    _, copied = run("copy", copy_rate=130 * source, follower_source="copy", count=1)
    follower, reference = rates["direct_follower"][steady], copied["direct_follower"][steady]
    # Batch means over time give the statistical error of each direct rate.
    batches = lambda r: r[: len(r) // 10 * 10].reshape(10, -1).mean(axis=1)  # noqa: E731
    error = np.hypot(batches(follower).std(ddof=1), batches(reference).std(ddof=1)) / np.sqrt(10)
    assert abs(follower.mean() - reference.mean()) < 3 * error + 1e-9, (follower.mean(),
                                                                       reference.mean(), error)
    # A direct source drives a density follower: the follower hears 130 x its rate.
    direct_source = rates["direct_source"][steady].mean()
    assert abs(direct_source / source - 1) < 0.03
    assert abs(rates["density_follower"][steady].mean() /
               rates["direct_follower"][steady].mean() - 1) < 0.05
