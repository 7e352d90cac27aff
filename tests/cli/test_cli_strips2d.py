"""`miind run` and `miind analyze` on a 2D strip artifact (mesh_kind "strips2d").

The strip artifact is a small AdEx grid's cells listed as polygons with the grid's
matrices (tests/unit/grid_as_polygons.py); one simulation runs it beside the grid
under the same input, so the two populations must agree to rounding, and the strip
population's output must draw like any 2D population's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import matplotlib.image
import numpy as np
import pytest

from clitools import assert_ok, invoke
from meshgen.formats.mesh_artifact import read_mesh
from meshgen.formats import run_output_reader as output_reader
from tests.unit.grid_as_polygons import CORNERS, write_grid_as_strips2d

N_V, N_W = 16, 12
T_END = 0.02
N_SNAPSHOTS = 5  # t = 0, 0.005, ..., 0.02
MODEL = f"""\
[model]
kind = "adex"
[mesh]
method = "grid"
ranges = {{ v = [-80.0, -40.4], w = [-50.0, 300.0] }}
resolution = {{ v = {N_V}, w = {N_W} }}
dt = 1e-4
efficacies = [3.0]
"""
SIMULATION = f"""\
[simulation]
t_end = {T_END}

[[population]]
name = "grid"
mesh = "GRID"
initial = {{ v = -65.0, w = 0.0 }}

[[population]]
name = "strips"
mesh = "STRIPS"
initial = {{ v = -65.0, w = 0.0 }}

[[input]]
name = "drive"
rate = 2000.0

[[connection]]
source = "drive"
target = "grid"
efficacy = 3.0

[[connection]]
source = "drive"
target = "strips"
efficacy = 3.0

[output]
density_interval = 0.005
"""
# Sums of a few hundred masses of at most 1: rounding only.
MASS_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Run:
    strips: Path  # the strip artifact
    output: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    folder = tmp_path_factory.mktemp("strips2d_run")
    (folder / "adex.toml").write_text(MODEL)
    grid, strips = folder / "grid.h5", folder / "strips.h5"
    assert_ok(invoke("mesh", folder / "adex.toml", "-o", grid, "-q"))
    write_grid_as_strips2d(read_mesh(grid), strips)
    simulation, output = folder / "sim.toml", folder / "run.h5"
    simulation.write_text(SIMULATION.replace("GRID", str(grid)).replace("STRIPS", str(strips)))
    assert_ok(invoke("run", simulation, "-o", output, "-q"))
    return Run(strips, output)


def test_the_strip_population_is_written_as_strips2d_and_equals_the_grid(run):
    with h5py.File(run.output) as f:
        grid, strips = f["populations/grid"], f["populations/strips"]
        assert grid.attrs["mesh_kind"] == "grid" and strips.attrs["mesh_kind"] == "strips2d"
        assert strips["rate"][()].max() > 50.0  # it fires
        np.testing.assert_allclose(strips["rate"][()], grid["rate"][()], rtol=1e-12, atol=1e-12)
        density = strips["density"]
        assert density["cell_vertices"].shape == (N_V * N_W, CORNERS, 2)
        assert "ranges" not in density.attrs and "resolution" not in density.attrs
        assert json.loads(density.attrs["variables"]) == ["v", "w"]
        assert density.attrs["threshold"] == grid["density"].attrs["threshold"]
        mass = density["mass"][()]
        assert mass.shape == (N_SNAPSHOTS, N_V * N_W)
        np.testing.assert_allclose(mass, grid["density/mass"][()], rtol=0, atol=1e-15)
        for variable in ("v", "w"):
            marginal = density["marginals"][variable][()]
            width = np.diff(density["marginals"][f"{variable}_edges"][()])
            # In-mesh mass (refractory excluded) is what the marginals integrate to.
            assert np.abs(marginal @ width - mass.sum(axis=1)).max() < MASS_TOLERANCE
            # Each listed cell fills exactly one bin: the grid's marginals.
            np.testing.assert_allclose(marginal, grid["density/marginals"][variable][()],
                                       rtol=0, atol=MASS_TOLERANCE)


def test_analysis_reads_polygon_cells(run):
    pop = output_reader.read_output(run.output).populations["strips"]
    assert pop.two_dimensional and not pop.cells.regular and not pop.grid
    assert pop.cells.vertices.shape == (N_V * N_W, CORNERS, 2)
    # The fifth corner is on an edge or a repeat: the areas are the grid's.
    np.testing.assert_allclose(pop.cells.areas(), (39.6 / N_V) * (350.0 / N_W), rtol=1e-12)
    assert set(pop.marginals) == {"v", "w"}


@pytest.mark.parametrize("option, name", [("--density", "density.png"),
                                          ("--marginals", "marginals.png"),
                                          ("--movie", "density.gif"),
                                          ("--plot", "rates.png"),
                                          ("--csv", "rates.csv")])
def test_analyze_draws_the_strip_population(run, tmp_path, option, name):
    figure = tmp_path / name
    extra = ["--population", "strips"] if option in ("--density", "--marginals", "--movie") \
        else []
    assert_ok(invoke("analyze", run.output, option, figure, *extra))
    assert figure.stat().st_size > 0
    if name.endswith(".png"):
        image = matplotlib.image.imread(figure)
        assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 50  # not blank
    if name.endswith(".csv"):
        table = np.genfromtxt(figure, delimiter=",", names=True)
        assert table.dtype.names == ("t", "grid", "strips")
        assert len(table) == round(T_END / 1e-4) and table["strips"].max() > 50.0
        np.testing.assert_array_equal(table["strips"], table["grid"])


def test_summary_and_compare_of_the_strip_population(run):
    result = invoke("analyze", run.output, "--compare", "grid", "strips")
    assert_ok(result)
    compare = json.loads(result.stdout)["compare"]
    assert compare["rms_difference_hz"] < 1e-9
    assert compare["steady_mean_a_hz"] > 50.0
    result = invoke("analyze", run.output, "--summary")
    assert_ok(result)
    populations = json.loads(result.stdout)["populations"]
    for key in ("mean_rate", "final_mass", "mean_v", "mean_w"):
        assert populations["strips"][key] == pytest.approx(populations["grid"][key],
                                                           rel=1e-12), key
    assert abs(populations["strips"]["final_mass"] - 1.0) < MASS_TOLERANCE


def test_mesh_figure_of_a_strip_artifact(run, tmp_path):
    figure = tmp_path / "mesh.png"
    assert_ok(invoke("analyze", run.strips, "--mesh", figure))
    image = matplotlib.image.imread(figure)
    assert image.shape[:2] == (660, 840)  # 7 x 5.5 in at 120 dpi, as a grid's
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 50
