"""What users' scripts rely on: help and version, JSON on stdout, stamped HDF5 files,
mass conservation and bit-for-bit reproducible runs."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from clitools import LIF_MODEL, assert_error, assert_ok, edit, invoke, simulation_text
from meshgen import __version__

# The jumps and the drift are each exactly mass-preserving; what is left is the rounding
# of summing ~1300 cells over a few hundred steps.
MASS_TOLERANCE = 1e-12
MESH_SUMMARY_KEYS = {"n_cells", "dt", "input_hash", "min_column_sum", "max_column_sum"}


# --- help and version ------------------------------------------------------------------

def test_version():
    result = invoke("--version")
    assert_ok(result)
    assert __version__ in result.stdout
    assert "miind" in result.stdout


def test_help_shows_examples():
    result = invoke("--help")
    assert_ok(result)
    for command in ("mesh", "run", "analyze"):
        assert f"miind {command} " in result.stdout


@pytest.mark.parametrize("command", ["mesh", "run", "analyze"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_command_help_shows_an_example(command, flag):
    result = invoke(command, flag)
    assert_ok(result)
    assert "Examples:" in result.stdout
    assert f"miind {command} " in result.stdout


def test_unknown_command_is_a_usage_error():
    result = invoke("mesch")
    assert result.exit_code == 2
    assert "mesh" in result.stderr  # click suggests the closest command


# --- JSON on stdout --------------------------------------------------------------------

def test_mesh_prints_json_summary(lif_mesh):
    summary = lif_mesh.summary  # json.loads of the whole stdout succeeded
    assert MESH_SUMMARY_KEYS <= set(summary)
    assert summary["n_cells"] > 0 and summary["dt"] > 0
    assert abs(summary["min_column_sum"] - 1) <= 1e-12
    assert abs(summary["max_column_sum"] - 1) <= 1e-12


def test_run_prints_json_summary(lif_run):
    """The printed mean rate is the output file's rate over the second half."""
    rates = lif_run.summary["mean_rates"]
    assert list(rates) == ["lif"]
    with h5py.File(lif_run.path) as f:
        rate = f["populations/lif/rate"][()]
    assert rates["lif"] == pytest.approx(rate[len(rate) // 2:].mean(), rel=1e-12)
    assert 4.0 < rates["lif"] < 9.0  # 50 ms of the public case, rising to 7.5 Hz


def test_stdout_is_pure_json_even_when_verbose(write, tmp_path, lif_mesh):
    """Without --quiet the progress (if any) goes to stderr, never into the JSON."""
    simulation = write("simulation.toml", simulation_text(lif_mesh.path))
    result = invoke("run", simulation, "-o", tmp_path / "run.h5")
    assert_ok(result)
    assert json.loads(result.stdout)["mean_rates"]


# --- HDF5 layout -----------------------------------------------------------------------

def test_mesh_artifact_stamp(lif_mesh):
    with h5py.File(lif_mesh.path, "r") as f:
        assert f.attrs["format"] == "miind-mesh"
        assert f.attrs["format_version"] == 1
        assert f.attrs["created_by"].startswith("miind")
        assert f.attrs["input_hash"] == lif_mesh.summary["input_hash"]


def test_output_stamp_and_units(lif_run):
    with h5py.File(lif_run.path, "r") as f:
        assert f.attrs["format"] == "miind-output"
        assert f.attrs["format_version"] == 1
        assert f.attrs["created_by"].startswith("miind")
        assert len(f.attrs["input_hash"]) == 64
        assert f["time"].attrs["units"] == "s"
        assert f["populations/lif/rate"].attrs["units"] == "Hz"
        assert f["inputs/drive/rate"].attrs["units"] == "Hz"
        assert f["populations/lif/mass"].attrs["units"] == "1"
        assert len(f["time"]) == lif_run.summary["n_steps"]


def test_no_temporary_files_after_success(lif_mesh, lif_run):
    for built in (lif_mesh, lif_run):
        assert list(built.path.parent.glob(".*partial-*")) == []


# --- output paths -------------------------------------------------------------------

@pytest.mark.parametrize("command", ["mesh", "run", "analyze --csv", "analyze --plot"])
def test_output_in_missing_directory(command, write, tmp_path, lif_mesh, lif_run):
    """An output path in a directory that does not exist is a bad option: exit 3 and one
    line naming it, not an internal error with a traceback (exit 1)."""
    output = tmp_path / "no_such_directory" / "out"
    if command == "mesh":
        args = ["mesh", write("model.toml", LIF_MODEL), "-o", output]
    elif command == "run":
        args = ["run", write("simulation.toml", simulation_text(lif_mesh.path)), "-o", output]
    else:
        args = ["analyze", lif_run.path, command.split()[1], output]
    result = invoke(*args)
    assert_error(result, 3, file=output, output=output)


# --- numerics the users rely on --------------------------------------------------------

@pytest.mark.parametrize("change", [
    {},
    {"rate = 1000.0": "rate = 4000.0"},  # fires from the first few ms on
    {"rate = 1000.0": 'rate = "3000*(t > 0.01)"',
     "initial = { v = -65.0 }": "initial = { v = -52.0 }"},
    {"initial = { v = -65.0 }": 'initial = { v = "normal(-55, 3)" }'},  # 5% cut off at -50.2
], ids=["example", "strong-drive", "step-drive-near-threshold", "from-a-distribution"])
def test_total_mass_is_one_at_every_step(write, tmp_path, lif_mesh, change):
    text = simulation_text(lif_mesh.path)
    for old, new in change.items():
        text = edit(text, old, new)
    output = tmp_path / "run.h5"
    assert_ok(invoke("run", write("simulation.toml", text), "-o", output))
    with h5py.File(output, "r") as f:
        mass, rate = f["populations/lif/mass"][()], f["populations/lif/rate"][()]
    assert len(mass) == len(rate) > 0
    worst = int(np.argmax(np.abs(mass - 1)))
    assert abs(mass[worst] - 1) <= MASS_TOLERANCE, f"mass {mass[worst]!r} at step {worst}"
    if change:
        assert rate.max() > 0, "the scenario was meant to fire"


def test_total_mass_with_refractory_period(write, tmp_path):
    """Mass waiting out the refractory period still counts."""
    model = write("model.toml", edit(LIF_MODEL, "refractory = 0.0", "refractory = 0.002"))
    mesh = tmp_path / "mesh.h5"
    assert_ok(invoke("mesh", model, "-o", mesh))
    text = edit(simulation_text(mesh), "rate = 1000.0", "rate = 4000.0")
    output = tmp_path / "run.h5"
    assert_ok(invoke("run", write("simulation.toml", text), "-o", output))
    with h5py.File(output, "r") as f:
        mass, rate = f["populations/lif/mass"][()], f["populations/lif/rate"][()]
    assert rate.max() > 0
    assert np.abs(mass - 1).max() <= MASS_TOLERANCE


def test_identical_runs_are_identical(write, tmp_path, lif_mesh, lif_run):
    simulation = write("simulation.toml", simulation_text(lif_mesh.path))
    again = tmp_path / "again.h5"
    result = invoke("run", simulation, "-o", again)
    assert_ok(result)
    with h5py.File(lif_run.path, "r") as first, h5py.File(again, "r") as second:
        for name in ("time", "populations/lif/rate", "populations/lif/mass",
                     "populations/lif/density/mass"):
            a, b = first[name][()], second[name][()]
            assert a.dtype == b.dtype and a.shape == b.shape, name
            assert a.tobytes() == b.tobytes(), f"{name} differs between identical runs"
        assert first.attrs["input_hash"] == second.attrs["input_hash"]
    assert json.loads(result.stdout)["mean_rates"] == lif_run.summary["mean_rates"]
