"""`miind steady` on the command line: the state, a scanned transfer curve, its CSV, and
clear errors for what it does not solve."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from clitools import assert_error, assert_ok, edit, invoke, simulation_text


def test_a_scan_gives_the_transfer_curve_and_its_csv(lif_mesh, write, tmp_path):
    simulation = write("simulation.toml", simulation_text(lif_mesh.path))
    table = tmp_path / "curve.csv"
    result = invoke("steady", simulation, "--scan", "input.0.rate=500:1500:11", "--csv", table,
                    "--quiet")
    assert_ok(result)
    curve = json.loads(result.stdout)
    assert curve["scan"]["values"] == pytest.approx(np.linspace(500, 1500, 11).tolist())
    rates = curve["populations"]["lif"]["rate"]
    assert all(curve["converged"]) and len(rates) == 11
    assert np.all(np.diff(rates) > 0)  # more input, more output
    lines = table.read_text().splitlines()
    assert lines[0] == "input.0.rate,lif" and len(lines) == 12
    assert float(lines[6].split(",")[1]) == pytest.approx(rates[5], rel=1e-9)
    # The middle point is the public case's 1000 Hz: its single solve gives the same.
    single = invoke("steady", simulation, "-o", tmp_path / "state.h5")
    assert_ok(single)
    assert json.loads(single.stdout)["populations"]["lif"]["rate"] == pytest.approx(rates[5],
                                                                                rel=1e-12)


@pytest.mark.parametrize("args, says", [
    ([], "give -o OUT.h5"),
    (["-o", "x.h5", "--scan", "input.0.rate=0:1:2"], "--scan solves many states"),
    (["-o", "x.h5", "--csv", "c.csv"], "--csv goes with --scan"),
])
def test_usage(lif_mesh, write, tmp_path, args, says):
    simulation = write("simulation.toml", simulation_text(lif_mesh.path))
    result = invoke("steady", simulation, *[tmp_path / a if a.endswith((".h5", ".csv"))
                                            else a for a in args])
    assert result.exit_code == 2 and says in result.stderr
    assert not list(tmp_path.glob("*.h5")) and not list(tmp_path.glob("*.csv"))


@pytest.mark.parametrize("change, key, says", [
    (("rate = 1000.0", 'rate = "1000 + 100*(t > 0.5)"'), "input.0.rate",
     "a stationary state needs constant"),
    (("name = \"lif\"", 'name = "lif"\nmethod = "direct"\nn_neurons = 10'),
     "population.0.method", "is simulated directly"),
])
def test_what_steady_does_not_solve_is_an_error(lif_mesh, write, tmp_path, change, key, says):
    simulation = write("simulation.toml", edit(simulation_text(lif_mesh.path), *change))
    result = invoke("steady", simulation, "-o", tmp_path / "x.h5")
    assert_error(result, 3, file=simulation, key=key, says=(says,), output=tmp_path / "x.h5")


def test_a_bad_scan(lif_mesh, write, tmp_path):
    simulation = write("simulation.toml", simulation_text(lif_mesh.path))
    result = invoke("steady", simulation, "--scan", "input.0.rate=0:100")
    assert_error(result, 3, says=("expected KEY=START:STOP:N",))


def test_modes_go_with_one_state(lif_mesh, write, tmp_path):
    simulation = write("simulation.toml", simulation_text(lif_mesh.path))
    result = invoke("steady", simulation, "--scan", "input.0.rate=0:1:2", "--modes", "2")
    assert result.exit_code == 2 and "--modes goes with one state" in result.stderr


GRID_SIMULATION = """
[simulation]
t_end = 0.01
[[population]]
name = "g"
mesh = 'MESH'
initial = { v = -70.6, w = 0.0 }
[[input]]
name = "drive"
rate = 2000.0
[[connection]]
source = "drive"
target = "g"
efficacy = 1.0
dimension = "v"
"""


@pytest.mark.parametrize("mesh", ["grid_mesh.h5", "strips_mesh.h5"])
def test_a_2d_state_is_drawn_like_a_run(write, tmp_path, mesh):
    """The archived grid and strip meshes (tests/data/format_v1): the state's file has
    the 2D density, its marginals (each sums to the in-mesh mass) and draws."""
    from tests.support.golden import DATA

    simulation = write("simulation.toml",
                       GRID_SIMULATION.replace("MESH", str(DATA / "format_v1" / mesh)))
    result = invoke("steady", simulation, "-o", tmp_path / "state.h5")
    assert_ok(result)
    state = json.loads(result.stdout)["populations"]["g"]
    assert state["rate"] > 0 and set(state["mean"]) == {"v", "w"}
    with h5py.File(tmp_path / "state.h5") as f:
        group = f["populations/g"]
        mass = group["density/mass"][()]
        assert mass.shape[0] == 1 and group["rate"][0] == state["rate"]
        for variable in ("v", "w"):
            density = group[f"density/marginals/{variable}"][()][0]
            widths = np.diff(group[f"density/marginals/{variable}_edges"][()])
            assert (density * widths).sum() == pytest.approx(mass.sum(), rel=1e-12)
    for option in ("--density", "--marginals"):
        picture = tmp_path / f"{option[2:]}.png"
        assert_ok(invoke("analyze", tmp_path / "state.h5", option, picture, "--population", "g"))
        assert picture.read_bytes().startswith(b"\x89PNG")
