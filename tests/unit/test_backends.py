"""The ahead-of-time kernels (built by `make install`) and the numba JIT give the
same results, bit for bit: they compile the same functions."""

from __future__ import annotations

import numpy as np

from solver import backend
from solver.assembly import build_simulation
from solver.engine import simulate
from solver.sim_file import read_simulation_file


def test_aot_kernels_are_built_and_current():
    assert backend.aot_is_current(), "run `make install` (python -m solver.aot) to build them"
    assert backend.load_kernels().name == "aot"


def test_aot_and_jit_agree_exactly(tmp_path, monkeypatch):
    from tests.reference.density_runs import lif_density_run

    lif_density_run(tmp_path, refractory=0.003, inputs=((1.0, 1200.0), (-1.0, 200.0)), t_end=0.05)
    spec = read_simulation_file(tmp_path / "sim.toml")
    aot = simulate(build_simulation(spec))
    monkeypatch.setenv("MIIND_KERNELS", "jit")
    jit = simulate(build_simulation(spec))
    assert (aot.kernels, jit.kernels) == ("aot", "jit")
    a, b = aot.populations[0], jit.populations[0]
    np.testing.assert_array_equal(a.rate, b.rate)
    for name in ("mean/v", "mass", "density/mass"):
        np.testing.assert_array_equal(a.datasets[name].values, b.datasets[name].values)
