"""What the commands load: `miind --help` no numba; `miind run` none of the mesh
builder's geometry (shapely), the plots (matplotlib) or worker processes
(multiprocessing), and on 1D or 2D density populations (ahead-of-time kernels) not
numba or scipy either; on 1D strip populations not the model definitions either
(meshgen.model_file and what it loads), nor analyze's option table; `miind analyze
--summary` numba only for the spike-time synchrony measures. Each command runs in a
fresh interpreter, which reports its modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clitools import LIF_MODEL, assert_ok, invoke
from solver.backend import aot_is_current

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# Never loaded by `miind run`: the mesh builder's and the plots' libraries.
NOT_FOR_RUNS = {"shapely", "matplotlib", "multiprocessing"}
# Not loaded by a run of 1D strip populations, nor by importing the command line and
# the engine: the model definitions (only direct, 2D and diffusion populations rebuild
# a model from its definition; ~30 ms to import) and what only `miind analyze` uses.
NOT_FOR_1D_RUNS = {"meshgen.model_file", "meshgen.models", "meshgen.exploration",
                   "meshgen.grid_defaults", "miind_cli.analyze_options"}

REPORT_MODULES = """\
import json, sys
from click.testing import CliRunner
from miind_cli.cli import cli
result = CliRunner().invoke(cli, sys.argv[1:])
print(json.dumps({"exit": result.exit_code, "modules": sorted(sys.modules)}))
"""


def modules_of(*args) -> set[str]:
    """The modules `miind ARGS` loaded: their full names and their top-level packages."""
    done = subprocess.run([sys.executable, "-c", REPORT_MODULES, *map(str, args)],
                          capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["exit"] == 0, done.stdout
    return set(report["modules"]) | {name.split(".")[0] for name in report["modules"]}


def test_importing_the_command_line_and_the_engine_loads_no_model_definitions():
    """What every `miind run` imports before it reads its files."""
    done = subprocess.run([sys.executable, "-c", "import json, sys, miind_cli.cli, solver.engine; "
                           "print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert {"miind_cli.cli", "solver.engine", "solver.assembly", "solver.checks"} <= loaded
    assert sorted(loaded & NOT_FOR_1D_RUNS) == []


def test_help_loads_no_numba():
    loaded = modules_of("--help")
    assert not loaded & {"numba", "scipy", "shapely", "matplotlib", "h5py"}


def test_a_run_of_the_public_case_loads_only_what_it_needs(lif_mesh, tmp_path):
    loaded = modules_of("run", EXAMPLES / "lif" / "simulation.toml", "-o", tmp_path / "out.h5",
                        "-q", "--set", f"population.0.mesh={lif_mesh.path}")
    assert not loaded & NOT_FOR_RUNS
    assert sorted(loaded & NOT_FOR_1D_RUNS) == []
    if aot_is_current():
        # The kernels compiled ahead of time need neither numba nor (through it) scipy.
        assert not loaded & {"numba", "scipy"}


GRID_ONLY = """
[simulation]
t_end = 0.01
[[population]]
name = "grid"
mesh = "{mesh}"
initial = {{ v = -70.6, w = 0.0 }}
[[input]]
name = "drive"
rate = 2000.0
[[connection]]
source = "drive"
target = "grid"
efficacy = 1.0
dimension = "v"
"""


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    """A coarse grid of examples/grid2d/adex.toml."""
    path = tmp_path_factory.mktemp("grid") / "mesh.h5"
    assert_ok(invoke("mesh", EXAMPLES / "grid2d" / "adex.toml", "-o", path, "-q",
                     "--set", "mesh.resolution.v=60", "--set", "mesh.resolution.w=20",
                     "--set", "mesh.dt=5e-4"))
    return path


def test_a_2d_run_loads_only_what_it_needs(tmp_path, mesh):
    """A grid population on its own: with the kernels compiled ahead of time (the 2D
    kernel with the 1D ones) neither numba nor scipy, and never a mesh-building or
    plotting library."""
    simulation = tmp_path / "grid.toml"
    simulation.write_text(GRID_ONLY.format(mesh=mesh))
    loaded = modules_of("run", simulation, "-o", tmp_path / "out.h5", "-q")
    assert not loaded & NOT_FOR_RUNS
    if aot_is_current():
        assert not loaded & {"numba", "scipy"}


def test_a_diffusion_run_loads_only_what_it_needs(tmp_path):
    """Brunel's network on its diffusion mesh (examples/brunel): as the 1D and 2D runs."""
    mesh = tmp_path / "mesh.h5"
    assert_ok(invoke("mesh", EXAMPLES / "brunel" / "lif.toml", "-o", mesh, "-q"))
    loaded = modules_of("run", EXAMPLES / "brunel" / "network.toml", "-o", tmp_path / "out.h5",
                        "-q", "--set", "simulation.t_end=0.01", "--set",
                        f"population.e.mesh={mesh}", "--set", f"population.i.mesh={mesh}")
    assert not loaded & NOT_FOR_RUNS
    if aot_is_current():
        assert not loaded & {"numba", "scipy"}


def test_direct_populations_load_numba_but_no_mesh_geometry(tmp_path, mesh):
    """Direct populations run kernels generated from their model (numba's JIT, which
    loads scipy), but still no mesh-building or plotting library."""
    loaded = modules_of("run", EXAMPLES / "grid2d" / "adex_sim.toml", "-o", tmp_path / "out.h5",
                        "-q", "--set", f"population.grid.mesh={mesh}",
                        "--set", "population.direct.n_neurons=10",
                        "--set", "simulation.t_end=0.01")
    assert "numba" in loaded and not loaded & NOT_FOR_RUNS


DIRECT_ONLY = """
[simulation]
t_end = 0.05
[[population]]
name = "cells"
method = "direct"
model = "{model}"
n_neurons = 10
[[input]]
name = "drive"
rate = 2000.0
[[connection]]
source = "drive"
target = "cells"
efficacy = 1.0
"""


def test_analyze_loads_numba_only_for_the_spike_measures(tmp_path):
    """The summary of a direct population is numpy's; its STTC and phase locking are
    numba kernels (miind_cli.spike_synchrony), loaded only when asked for. elephant is
    the tests' reference only."""
    model, simulation, output = (tmp_path / n for n in ("lif.toml", "sim.toml", "out.h5"))
    model.write_text(LIF_MODEL)
    simulation.write_text(DIRECT_ONLY.format(model=model))
    assert_ok(invoke("run", simulation, "-o", output, "-q"))
    loaded = modules_of("analyze", output, "--summary")
    assert not loaded & {"numba", "miind_cli.spike_synchrony", "elephant"}
    loaded = modules_of("analyze", output, "--summary", "--sttc", "0.005", "--phase-locking")
    assert {"numba", "miind_cli.spike_synchrony"} <= loaded and "elephant" not in loaded


@pytest.mark.parametrize("given, expected", [(None, "1"), ("2", "2")])
def test_the_command_line_runs_one_blas_thread_unless_told(given, expected):
    """Set before numpy is imported (it reads the variable once), and a user's own
    setting kept."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    code = ("import sys, os; import miind_cli; "
            "print(os.environ['OPENBLAS_NUM_THREADS'], 'numpy' in sys.modules)")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, check=True).stdout.split()
    assert found == [expected, "False"]
