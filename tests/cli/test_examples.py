"""The commented examples in examples/ are contracts too: each one meshes and runs to
a reference figure, and gives the stored digests (behaviour kept bit for bit)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest

from clitools import assert_ok, invoke
from meshgen.model_file import read_model
from tests.support import golden
from tests.support.reference.adex_neuron import adex_spike_times

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def lif_mesh(tmp_path_factory):
    mesh = tmp_path_factory.mktemp("examples") / "lif_mesh.h5"
    assert_ok(invoke("mesh", EXAMPLES / "lif" / "lif.toml", "-o", mesh, "--quiet"))
    return mesh


# The public case's exact rate: event-driven Monte Carlo of the same LIF neuron
# (tests/support/reference/event_driven_lif.py; README "Accuracy").
EXACT_LIF_RATE = 7.5016


def test_lif_example_gives_the_exact_rate(lif_mesh, tmp_path):
    """examples/lif/simulation.toml as written (1 s): +0.22% against the exact rate."""
    result = invoke("run", EXAMPLES / "lif" / "simulation.toml", "-o", tmp_path / "out.h5",
                    "--quiet", "--set", f"population.lif.mesh={lif_mesh}")
    assert_ok(result)
    assert json.loads(result.stdout)["mean_rates"]["lif"] == pytest.approx(EXACT_LIF_RATE,
                                                                            rel=0.005)


def test_lif_methods_agree_with_the_exact_rate(lif_mesh, tmp_path):
    """examples/lif/compare_methods.toml as written: the density within 0.5% and 10,000
    direct neurons within 4 standard errors (their count over the second half,
    37,500 spikes: SE 0.5%) of the exact rate."""
    result = invoke("run", EXAMPLES / "lif" / "compare_methods.toml", "-o", tmp_path / "out.h5",
                    "--quiet", "--set", f"population.density.mesh={lif_mesh}")
    assert_ok(result)
    rates = json.loads(result.stdout)["mean_rates"]
    assert rates["density"] == pytest.approx(EXACT_LIF_RATE, rel=0.005)
    standard_error = (EXACT_LIF_RATE * 0.5 * 10_000) ** 0.5 / (0.5 * 10_000)
    assert abs(rates["direct"] - EXACT_LIF_RATE) < 4 * standard_error


PATTERNS = sorted(p.stem for p in (EXAMPLES / "adex_patterns").glob("*.toml")
                  if p.name != "pattern.toml")


@pytest.mark.parametrize("model", PATTERNS)
def test_adex_pattern_examples_spike_when_the_exact_neuron_does(tmp_path, model):
    """pattern.toml as written (0.4 s, RK4 at 0.01 ms) against the same neuron
    integrated adaptively to 1e-11 (tests/support/reference/adex_neuron.py): the same
    number of spikes (9 to 32), each within a step (measured: 0.4-4.4 us)."""
    output = tmp_path / "out.h5"
    assert_ok(invoke("run", EXAMPLES / "adex_patterns" / "pattern.toml", "-o", output, "--quiet",
                     "--set", f"population.0.model={model}.toml"))
    with h5py.File(output) as f:
        ours = f["spikes/neuron/timestamps"][()]
    neuron = read_model(EXAMPLES / "adex_patterns" / f"{model}.toml")
    exact = adex_spike_times(neuron.parameters, neuron.threshold, 0.4, v0=-70.0, w0=0.0)
    assert len(exact) >= 9
    assert len(ours) == len(exact)
    assert np.max(np.abs(ours - exact)) < 1e-5


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
    """A grid example's simulation briefly (20 ms), with `mesh` as its "grid" population,
    beside 50 of its direct neurons: the density keeps its mass, and its final mean v is
    the direct neurons' within 5% of v's range (measured on these coarse meshes: at
    most 1.5%; the direct mean's own standard error is about 1%). Accuracy on the
    examples' own meshes: tests/reference/test_grid_accuracy.py and make validate."""
    output = tmp_path / "out.h5"
    result = invoke("run", GRID2D / simulation, "-o", output, "--quiet",
                    "--set", f"population.grid.mesh={mesh}",
                    "--set", "population.direct.n_neurons=50",
                    "--set", "simulation.t_end=0.02")
    assert_ok(result)
    assert set(json.loads(result.stdout)["mean_rates"]) == {"grid", "direct"}
    with h5py.File(output) as f, h5py.File(mesh) as m:
        grid, direct = f["populations/grid"], f["populations/direct"]
        np.testing.assert_allclose(grid["mass"][()], 1.0, rtol=0, atol=1e-12)
        v = json.loads(grid.attrs["variables"])[0]
        group = m["grid"] if "grid" in m else m["strips2d"]
        (low, high) = group["ranges"][0]
        assert abs(grid[f"mean/{v}"][-1] - direct[f"mean/{v}"][-1]) < 0.05 * (high - low)


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
