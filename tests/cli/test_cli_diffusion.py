"""The diffusion method on the command line: Brunel's network meshed, run and solved
(examples/brunel), and one-line errors for what it does not take."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clitools import assert_error, assert_ok, edit, invoke, simulation_text

BRUNEL = Path(__file__).resolve().parents[2] / "examples" / "brunel"


@pytest.fixture(scope="module")
def brunel_mesh(tmp_path_factory):
    path = tmp_path_factory.mktemp("brunel") / "mesh.h5"
    result = invoke("mesh", BRUNEL / "lif.toml", "-o", path)
    assert_ok(result)
    assert json.loads(result.stdout)["method"] == "diffusion"
    return path


def on_mesh(mesh) -> list[str]:
    return ["--set", f"population.e.mesh={mesh}", "--set", f"population.i.mesh={mesh}"]


def test_brunels_network_runs_and_solves_alike(brunel_mesh, tmp_path):
    run = invoke("run", BRUNEL / "network.toml", "-o", tmp_path / "run.h5", "-q",
                 "--set", "simulation.t_end=0.4", *on_mesh(brunel_mesh))
    assert_ok(run)
    steady = invoke("steady", BRUNEL / "network.toml", "-o", tmp_path / "steady.h5",
                    *on_mesh(brunel_mesh))
    assert_ok(steady)
    rate = json.loads(steady.stdout)["populations"]["e"]["rate"]
    # Brunel's diffusion theory: 37.95 Hz (its self-consistent Siegert rate).
    assert rate == pytest.approx(37.95, rel=2e-3)
    assert json.loads(run.stdout)["mean_rates"]["e"] == pytest.approx(rate, rel=1e-6)


def test_diffusion_needs_a_diffusion_mesh(lif_mesh, write, tmp_path):
    simulation = write("simulation.toml",
                       edit(simulation_text(lif_mesh.path), "efficacy = 1.0",
                            'efficacy = 1.0\nscheme = "diffusion"'))
    result = invoke("run", simulation, "-o", tmp_path / "out.h5")
    assert_error(result, 3, file=simulation, key="connection.0.scheme",
                 says=("not on a diffusion mesh",), output=tmp_path / "out.h5")


def test_an_unknown_scheme_is_refused(brunel_mesh, tmp_path):
    result = invoke("run", BRUNEL / "network.toml", "-o", tmp_path / "out.h5",
                    "--set", "connection.0.scheme=fokker", *on_mesh(brunel_mesh))
    assert_error(result, 3, key="connection.0.scheme", says=("fokker",),
                 output=tmp_path / "out.h5")


def test_a_diffusion_mesh_without_its_input(write, tmp_path):
    text = (BRUNEL / "lif.toml").read_text()
    model = write("model.toml", edit(text, "expected_input = [", "# expected_input = [")
                  .replace("[mesh]\n", '[mesh]\nmethod = "diffusion"\n'))
    result = invoke("mesh", model, "-o", tmp_path / "mesh.h5")
    assert_error(result, 3, file=model, key="mesh.expected_input",
                 says=("a diffusion mesh is sized by the input",), output=tmp_path / "mesh.h5")


def test_a_2d_model_has_no_diffusion_mesh(write, tmp_path):
    text = (Path(__file__).resolve().parents[2] / "examples" / "grid2d" / "adex.toml").read_text()
    model = write("adex.toml", text.replace('method = "grid"', 'method = "diffusion"'))
    result = invoke("mesh", model, "-o", tmp_path / "mesh.h5")
    assert_error(result, 3, file=model, key="mesh.method", says=("one variable",),
                 output=tmp_path / "mesh.h5")


def test_a_diffusion_mesh_over_max_cells(tmp_path):
    model = BRUNEL / "lif.toml"
    result = invoke("mesh", model, "-o", tmp_path / "mesh.h5", "--set", "mesh.max_cells=100")
    assert_error(result, 5, file=model, key="mesh.max_cells", says=("needs 368 cells",),
                 output=tmp_path / "mesh.h5")


def test_a_diffusion_mesh_is_drawn(brunel_mesh, tmp_path):
    figure = tmp_path / "mesh.png"
    assert_ok(invoke("analyze", brunel_mesh, "--mesh", figure))
    assert figure.read_bytes().startswith(b"\x89PNG")
