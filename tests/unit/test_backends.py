"""The ahead-of-time kernels (built by `make install` into the per-user cache) and the
numba JIT give the same results, bit for bit: they compile the same functions. A run
without a current compiled module falls back to the JIT. And the compiler they are
built with, numba.pycc, is still there (see solver/aot.py for why we use it)."""

from __future__ import annotations

import importlib
import shutil
import warnings

import numpy as np
import pytest

from solver import backend
from solver.assembly import build_simulation
from solver.engine import simulate
from solver.sim_file import read_simulation_file

REBUILD = "run `make install` (or `.venv/bin/python -m solver.aot`) to build them"


def test_numba_still_has_pycc():
    """numba.pycc is pending deprecation (solver/aot.py). This fails loudly once a numba
    release removes it or schedules its removal, while runs still work (JIT)."""
    from numba.core.errors import NumbaDeprecationWarning, NumbaPendingDeprecationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import numba.pycc
            importlib.reload(numba.pycc)  # warn again if an earlier test imported it
        except ImportError as error:
            pytest.fail(f"numba.pycc cannot be imported ({error}). If the installed numba "
                        "removed it, pin numba below that release in pyproject.toml and "
                        "reinstall (`make install`), or replace solver/aot.py with numba's "
                        "announced replacement; if setuptools is missing, install it "
                        "(`pip install -e '.[aot]'`). Runs use the slower JIT meanwhile.")
    # Today it warns NumbaPendingDeprecationWarning, which is no NumbaDeprecationWarning.
    assert not issubclass(NumbaPendingDeprecationWarning, NumbaDeprecationWarning)
    escalated = [w for w in caught if issubclass(w.category, NumbaDeprecationWarning)]
    assert not escalated, (
        "numba now deprecates numba.pycc for real, so its removal is scheduled: "
        f"{escalated[0].message}\nPin numba below the release it names (pyproject.toml) and "
        "move solver/aot.py to the replacement it recommends.")


def test_aot_kernels_are_built_and_current():
    assert backend.aot_is_current(), f"no current ahead-of-time kernels: {REBUILD}"
    assert backend.load_kernels().name == "aot"


@pytest.fixture
def built():
    """The current build's directory (the test needs `make install` to have run)."""
    directory = backend.build_directory()
    if not backend.aot_is_current(directory):
        pytest.fail(f"no current ahead-of-time kernels in {directory}: {REBUILD}")
    return directory


def test_the_build_is_found_under_the_cache_root(built, tmp_path, monkeypatch):
    """A copy under another MIIND_CACHE_DIR is found there: the copies below that are
    refused are refused for what is wrong with them, not for where they are."""
    monkeypatch.setenv(backend.CACHE_ENV, str(tmp_path))
    copy = backend.build_directory()
    assert copy.is_relative_to(tmp_path)
    shutil.copytree(built, copy)
    assert backend.load_kernels().name == "aot"


def test_a_missing_module_falls_back_to_the_jit(tmp_path, monkeypatch):
    """An empty cache: the JIT, whatever older versions left in solver/ itself."""
    monkeypatch.setenv(backend.CACHE_ENV, str(tmp_path))
    assert not backend.aot_is_current()
    assert backend.load_kernels().name == "jit"


def test_a_stale_module_falls_back_to_the_jit(built, tmp_path, monkeypatch):
    monkeypatch.setenv(backend.CACHE_ENV, str(tmp_path))
    copy = backend.build_directory()
    shutil.copytree(built, copy)
    (copy / backend.STAMP_NAME).write_text("0" * 64 + "\n")  # built from other sources
    assert backend.load_kernels().name == "jit"
    (copy / backend.STAMP_NAME).unlink()  # a build that never finished
    assert backend.load_kernels().name == "jit"
    # A build for other sources, versions or CPU sits under another key.
    shutil.rmtree(copy)
    shutil.copytree(built, copy.parent / ("0" * 16 + copy.name[16:]))
    assert backend.load_kernels().name == "jit"


def test_aot_jit_and_fallback_agree_exactly(built, tmp_path, monkeypatch):
    from tests.reference.density_runs import lif_density_run

    lif_density_run(tmp_path, refractory=0.003, inputs=((1.0, 1200.0), (-1.0, 200.0)), t_end=0.05)
    spec = read_simulation_file(tmp_path / "sim.toml")
    aot = simulate(build_simulation(spec))
    monkeypatch.setenv("MIIND_KERNELS", "jit")
    jit = simulate(build_simulation(spec))
    monkeypatch.delenv("MIIND_KERNELS")
    monkeypatch.setenv(backend.CACHE_ENV, str(tmp_path / "empty-cache"))
    fallback = simulate(build_simulation(spec))
    assert (aot.kernels, jit.kernels, fallback.kernels) == ("aot", "jit", "jit")
    a = aot.populations[0]
    for other in (jit.populations[0], fallback.populations[0]):
        np.testing.assert_array_equal(a.rate, other.rate)
        for name in ("mean/v", "mass", "density/mass"):
            np.testing.assert_array_equal(a.datasets[name].values, other.datasets[name].values)


GRID_MODEL = """
[model]
kind = "adex"
[mesh]
method = "grid"
ranges = { v = [-80.0, -40.4], w = [-50.0, 280.0] }
resolution = { v = 80, w = 20 }
dt = 5e-4
efficacies = [1.0]
"""

GRID_SIMULATION = """
[simulation]
t_end = 0.05
[[population]]
name = "grid"
mesh = "mesh.h5"
initial = { v = -70.6, w = 0.0 }
[[input]]
name = "drive"
rate = "2500 + 1000*(t > 0.02)"
[[connection]]
source = "drive"
target = "grid"
efficacy = 1.0
"""


def test_the_2d_kernel_compiled_and_jit_agree_exactly(built, tmp_path, monkeypatch):
    from meshgen.build import build_mesh

    (tmp_path / "model.toml").write_text(GRID_MODEL)
    build_mesh(tmp_path / "model.toml", tmp_path / "mesh.h5")
    (tmp_path / "sim.toml").write_text(GRID_SIMULATION)
    spec = read_simulation_file(tmp_path / "sim.toml")
    aot = simulate(build_simulation(spec))
    monkeypatch.setenv("MIIND_KERNELS", "jit")
    jit = simulate(build_simulation(spec))
    assert (aot.kernels, jit.kernels) == ("aot", "jit")
    a, b = aot.populations[0], jit.populations[0]
    assert a.rate.max() > 10.0  # it fires: the reset and its clamping run too
    for name in ("rate", "mean/v", "mean/w", "mass", "density/mass", "clamped/reset"):
        np.testing.assert_array_equal(a.datasets[name].values, b.datasets[name].values,
                                      err_msg=name)


def test_the_diffusion_kernel_compiled_and_jit_agree_exactly(built, tmp_path, monkeypatch):
    """Brunel's network on its diffusion mesh, the inhibitory connections as exact jumps
    (the banded path) and the rest in the diffusion limit (the tridiagonal one)."""
    from pathlib import Path

    from meshgen.build import build_mesh

    examples = Path(__file__).resolve().parents[2] / "examples" / "brunel"
    build_mesh(examples / "lif.toml", tmp_path / "mesh.h5")
    mesh = str(tmp_path / "mesh.h5")
    spec = read_simulation_file(examples / "network.toml", [
        "simulation.t_end=0.03", f"population.e.mesh={mesh}", f"population.i.mesh={mesh}",
        "connection.4.scheme=jumps", "connection.5.scheme=diffusion"])
    aot = simulate(build_simulation(spec))
    monkeypatch.setenv("MIIND_KERNELS", "jit")
    jit = simulate(build_simulation(spec))
    assert (aot.kernels, jit.kernels) == ("aot", "jit")
    for a, b in zip(aot.populations, jit.populations):
        assert a.rate.max() > 10.0
        for name in ("rate", "mean/v", "mass", "density/mass"):
            np.testing.assert_array_equal(a.datasets[name].values, b.datasets[name].values,
                                          err_msg=name)
