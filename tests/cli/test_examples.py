"""The commented examples in examples/ are contracts too: each one meshes and runs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from clitools import assert_ok, invoke
from tests.support import golden

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def lif_mesh(tmp_path_factory):
    mesh = tmp_path_factory.mktemp("examples") / "lif_mesh.h5"
    assert_ok(invoke("mesh", EXAMPLES / "lif" / "lif.toml", "-o", mesh, "--quiet"))
    return mesh


@pytest.mark.parametrize("simulation, population", [
    ("simulation.toml", "lif"),
    ("compare_methods.toml", "density"),
])
def test_lif_examples_run(lif_mesh, tmp_path, simulation, population):
    output = tmp_path / "out.h5"
    result = invoke("run", EXAMPLES / "lif" / simulation, "-o", output, "--quiet",
                    "--set", f"population.{population}.mesh={lif_mesh}",
                    "--set", "simulation.t_end=0.05")
    assert_ok(result)
    rates = json.loads(result.stdout)["mean_rates"]
    assert all(rate >= 0 for rate in rates.values())


@pytest.mark.parametrize("model", sorted(p.name for p in (EXAMPLES / "adex_patterns").glob("*.toml")
                                         if p.name != "pattern.toml"))
def test_adex_pattern_examples_run(tmp_path, model):
    output = tmp_path / "out.h5"
    result = invoke("run", EXAMPLES / "adex_patterns" / "pattern.toml", "-o", output, "--quiet",
                    "--set", f"population.0.model={model}", "--set", "simulation.t_end=0.2")
    assert_ok(result)
    # Every pattern fires under its constant current (mean over 0.1-0.2 s).
    assert json.loads(result.stdout)["mean_rates"]["neuron"] > 0


GRID2D = EXAMPLES / "grid2d"
# (model file, its side-by-side simulation file): meshed coarsely and run briefly,
# since only that they mesh and run is checked here (accuracy: tests/reference/
# test_grid_accuracy.py and make validate).
GRID2D_CASES = [("adex.toml", "adex_sim.toml"),
                ("adex_validate_model.toml", "adex_validate_sim.toml"),
                ("izhikevich.toml", "izhikevich_sim.toml"),
                ("conductance_lif.toml", "conductance_lif_sim.toml"),
                ("fitzhugh_nagumo.toml", "fitzhugh_nagumo_sim.toml")]


def _run_beside_direct(tmp_path, simulation, mesh):
    """A grid example's simulation briefly, with `mesh` as its "grid" population."""
    output = tmp_path / "out.h5"
    result = invoke("run", GRID2D / simulation, "-o", output, "--quiet",
                    "--set", f"population.grid.mesh={mesh}",
                    "--set", "population.direct.n_neurons=50",
                    "--set", "simulation.t_end=0.02")
    assert_ok(result)
    assert set(json.loads(result.stdout)["mean_rates"]) == {"grid", "direct"}


@pytest.mark.parametrize("model, simulation", GRID2D_CASES)
def test_grid2d_examples_run(tmp_path, model, simulation):
    mesh = tmp_path / "mesh.h5"
    settings = tomllib.loads((GRID2D / model).read_text())["mesh"]
    jumping = (list(settings["efficacies"]) if isinstance(settings["efficacies"], dict)
               else ["v"])
    # Coarse across the jumps only: a jump shorter than a cell is refused.
    coarse = [f"mesh.resolution.{name}=10" for name in settings.get("resolution", {})
              if name not in jumping]
    assert_ok(invoke("mesh", GRID2D / model, "-o", mesh, "--quiet",
                     *[word for item in coarse for word in ("--set", item)]))
    _run_beside_direct(tmp_path, simulation, mesh)


STRIPS2D = EXAMPLES / "strips2d"


# (model file, the grid example's simulation file, target cells along v and dt: coarser
# than the example's to keep it quick, at most one cell per 1 mV jump).
STRIPS2D_CASES = [("adex.toml", "adex_sim.toml", 40, 5e-4),
                  ("izhikevich.toml", "izhikevich_sim.toml", 115, 2e-4)]


@pytest.mark.parametrize("model, simulation, cells_along_v, dt", STRIPS2D_CASES)
def test_strips2d_examples_run_with_the_grid_examples_simulations(tmp_path, model, simulation,
                                                                   cells_along_v, dt):
    """A strip mesh takes the place of the grid in the grid example's simulation file."""
    mesh = tmp_path / "mesh.h5"
    result = invoke("mesh", STRIPS2D / model, "-o", mesh, "--quiet",
                    "--set", f"mesh.resolution.v={cells_along_v}", "--set", f"mesh.dt={dt}")
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["method"] == "strips" and summary["strip_cells"] > summary["fill_cells"]
    _run_beside_direct(tmp_path, simulation, mesh)


@pytest.mark.parametrize("case", golden.CASES, ids=lambda case: case.name)
def test_examples_give_the_stored_digests(tmp_path, case):
    """Bit for bit (tests/support/golden.py): a refactoring changes no result. A change
    meant to alter results rewrites tests/data/golden_quick.json and says why."""
    stored = json.loads(golden.golden_path("quick").read_text())[case.name]
    found = golden.run_case(case, "quick", tmp_path)
    assert golden.differences(stored, found) == []
