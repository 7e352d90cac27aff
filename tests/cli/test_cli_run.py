"""`miind run`: every bad simulation file or mesh gets its exit code and one line naming
the file and key; `--set` reaches entries of [[...]] arrays by index and by name."""

from __future__ import annotations

import json
import shutil

import h5py
import pytest

from clitools import assert_error, assert_ok, edit, invoke, simulation_text

EXIT_BAD_INPUT = 3
EXIT_BAD_ARTIFACT = 4


# --- reading the file ------------------------------------------------------------

def test_missing_simulation_file(tmp_path):
    simulation, output = tmp_path / "absent.toml", tmp_path / "run.h5"
    result = invoke("run", simulation, "-o", output)
    assert_error(result, EXIT_BAD_INPUT, file=simulation, says=("not found",), output=output)


@pytest.mark.parametrize("old, new", [
    ("[[population]]", "[[population]"),
    ('name = "drive"', 'name = "drive'),
    ("initial = { v = -65.0 }", "initial = { v = -65.0"),
], ids=["unclosed-array", "unclosed-string", "unclosed-inline-table"])
def test_malformed_toml(run_of, simulation, old, new):
    result, path, output = run_of(edit(simulation, old, new))
    assert_error(result, EXIT_BAD_INPUT, file=path, says=("malformed TOML",), output=output)


@pytest.mark.parametrize("old, new, key, suggestion", [
    ("t_end = 0.05", "t_ned = 0.05", "simulation.t_ned", "t_end"),
    ("initial = { v = -65.0 }", "intial = { v = -65.0 }", "population.0.intial", "initial"),
    ("efficacy = 1.0", "efficacy = 1.0\nn_conections = 2", "connection.0.n_conections",
     "n_connections"),
    ("rate = 1000.0", "rate = 1000.0\nrat = 1", "input.0.rat", "rate"),
    ("density_interval = 0.01", "density_intervall = 0.01", "output.density_intervall",
     "density_interval"),
    ("[simulation]", "[simulaton]", "simulaton", "simulation"),
])
def test_unknown_key_suggests_closest(run_of, simulation, old, new, key, suggestion):
    result, path, output = run_of(edit(simulation, old, new))
    assert_error(result, EXIT_BAD_INPUT, file=path, key=key,
                 says=(f"did you mean '{suggestion}'",), output=output)


# --- values --------------------------------------------------------------------------

def test_efficacy_without_matrix(run_of, simulation):
    result, path, output = run_of(edit(simulation, "efficacy = 1.0", "efficacy = 2.0"))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="connection.0.efficacy",
                 says=("no transition matrix for efficacy 2", "add it to [mesh] efficacies"),
                 output=output)


def test_unknown_connection_source_suggests_closest(run_of, simulation):
    result, path, output = run_of(edit(simulation, 'source = "drive"', 'source = "drvie"'))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="connection.0.source",
                 says=("'drvie'", "did you mean 'drive'"), output=output)


def test_unknown_connection_target_suggests_closest(run_of, simulation):
    result, path, output = run_of(edit(simulation, 'target = "lif"', 'target = "lf"'))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="connection.0.target",
                 says=("'lf'", "did you mean 'lif'"), output=output)


@pytest.mark.parametrize("rate", ["-5.0", "nan", "inf"])
def test_bad_constant_rate(run_of, simulation, rate):
    result, path, output = run_of(edit(simulation, "rate = 1000.0", f"rate = {rate}"))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="input.0.rate", output=output)


def test_negative_rate_message(run_of, simulation):
    result, path, output = run_of(edit(simulation, "rate = 1000.0", "rate = -5.0"))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="input.0.rate",
                 says=("negative", "-5"), output=output)


@pytest.mark.parametrize("t_end", ["-0.05", "0.0", "nan"])
def test_t_end_not_positive(run_of, simulation, t_end):
    result, path, output = run_of(edit(simulation, "t_end = 0.05", f"t_end = {t_end}"))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="simulation.t_end", output=output)


def test_rate_expression_going_negative(run_of, simulation):
    """1000 - 5000 t is negative from t = 0.2 s on: found before anything runs."""
    text = edit(simulation, "t_end = 0.05", "t_end = 0.5")
    result, path, output = run_of(edit(text, "rate = 1000.0", 'rate = "1000 - 5000*t"'))
    message = assert_error(result, EXIT_BAD_INPUT, file=path, key="input.0.rate",
                           says=("not negative", "1000 - 5000*t"), output=output)
    assert "t = 0.2" in message, message


def test_rate_expression_with_forbidden_construct(run_of, simulation):
    result, path, output = run_of(edit(simulation, "rate = 1000.0",
                                       "rate = \"__import__('os').getpid()\""))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="input.0.rate", says=("not allowed",),
                 output=output)


@pytest.mark.parametrize("v", ["-80.0", "-40.0"], ids=["below", "above"])
def test_initial_v_outside_mesh(run_of, simulation, v):
    result, path, output = run_of(edit(simulation, "initial = { v = -65.0 }",
                                       f"initial = {{ v = {v} }}"))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population.0.initial.v",
                 says=("outside the mesh",), output=output)


def test_initial_state_of_unknown_variable(run_of, simulation):
    result, path, output = run_of(edit(simulation, "initial = { v = -65.0 }",
                                       "initial = { w = -65.0 }"))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population.0.initial.w",
                 says=("no variable 'w'",), output=output)


def test_duplicate_population_names(run_of, simulation, lif_mesh):
    second = f"[[population]]\nname = \"lif\"\nmesh = '{lif_mesh.path}'\n\n[[input]]"
    result, path, output = run_of(edit(simulation, "[[input]]", second))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population.1.name",
                 says=("'lif' is already used",), output=output)


def test_input_named_like_a_population(run_of, simulation):
    result, path, output = run_of(edit(simulation, 'name = "drive"', 'name = "lif"'))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="input.0.name",
                 says=("'lif' is already used",), output=output)


@pytest.mark.parametrize("factor", [1.5, 0.5, 2.3])
def test_dt_not_a_multiple_of_mesh_step(run_of, simulation, lif_run, factor):
    """The network step must be a whole multiple of the step the mesh advances by (its
    dt times its jump interval): the step a run takes by default, reported by `miind run`."""
    dt = factor * lif_run.summary["dt"]
    result, path, output = run_of(edit(simulation, "t_end = 0.05", f"t_end = 0.05\ndt = {dt!r}"))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="simulation.dt",
                 says=("not a whole multiple",), output=output)


def test_dt_a_multiple_of_mesh_step_runs(run_of, simulation, lif_run):
    dt = 2 * lif_run.summary["dt"]
    result, _, output = run_of(edit(simulation, "t_end = 0.05", f"t_end = 0.05\ndt = {dt!r}"))
    assert_ok(result)
    assert json.loads(result.stdout)["dt"] == pytest.approx(dt, rel=1e-12)


# --- the mesh artifact -------------------------------------------------------------------

def test_missing_mesh_artifact(run_of, tmp_path):
    mesh = tmp_path / "absent_mesh.h5"
    result, _, output = run_of(simulation_text(mesh))
    assert_error(result, EXIT_BAD_ARTIFACT, file=mesh, says=("not found", "miind mesh"),
                 output=output)


def test_mesh_that_is_not_hdf5(run_of, write):
    mesh = write("mesh.h5", "this is not an HDF5 file\n")
    result, _, output = run_of(simulation_text(mesh))
    assert_error(result, EXIT_BAD_ARTIFACT, file=mesh, says=("not an HDF5",), output=output)


def test_hdf5_that_is_not_a_mesh(run_of, tmp_path):
    mesh = tmp_path / "other.h5"
    with h5py.File(mesh, "w") as f:
        f["data"] = [1.0, 2.0]
    result, _, output = run_of(simulation_text(mesh))
    assert_error(result, EXIT_BAD_ARTIFACT, file=mesh, says=("not a mesh artifact",),
                 output=output)


def test_run_output_given_as_mesh(run_of, lif_run):
    result, _, output = run_of(simulation_text(lif_run.path))
    assert_error(result, EXIT_BAD_ARTIFACT, file=lif_run.path,
                 says=("not a mesh artifact", "miind-output"), output=output)


def test_mesh_from_a_newer_version(run_of, lif_mesh, tmp_path):
    mesh = tmp_path / "future_mesh.h5"
    shutil.copy(lif_mesh.path, mesh)
    with h5py.File(mesh, "a") as f:
        f.attrs["format_version"] = 99
    result, _, output = run_of(simulation_text(mesh))
    assert_error(result, EXIT_BAD_ARTIFACT, file=mesh, says=("version 99", "upgrade"),
                 output=output)


def test_corrupt_mesh(run_of, lif_mesh, tmp_path):
    """A matrix that loses mass is refused on load, never run."""
    mesh = tmp_path / "corrupt_mesh.h5"
    shutil.copy(lif_mesh.path, mesh)
    with h5py.File(mesh, "a") as f:
        data = f["transitions/0/data"]
        data[0] = data[0] * 0.5
    result, _, output = run_of(simulation_text(mesh))
    assert_error(result, EXIT_BAD_ARTIFACT, file=mesh, says=("corrupt", "mass"), output=output)


# --- --set -----------------------------------------------------------------------------

def test_set_initial_state_by_index(run_of, simulation):
    result, _, output = run_of(simulation, "--set", "population.0.initial.v=-60")
    assert_ok(result)
    with h5py.File(output, "r") as f:
        first_mean = f["populations/lif/mean/v"][0]
    # One mesh step (~68 us) of drift and 1000 Hz of 1 mV jumps moves the mean by < 0.1 mV.
    assert first_mean == pytest.approx(-60.0, abs=0.1)


def test_set_mesh_by_population_name(write, tmp_path, lif_mesh):
    mesh = tmp_path / "renamed_mesh.h5"
    shutil.copy(lif_mesh.path, mesh)
    simulation = write("simulation.toml", simulation_text(tmp_path / "absent_mesh.h5"))
    output = tmp_path / "run.h5"
    result = invoke("run", simulation, "-o", output, "--set", f"population.lif.mesh={mesh}")
    assert_ok(result)
    with h5py.File(output, "r") as f:
        assert f["populations/lif"].attrs["mesh"] == str(mesh)


def test_set_entry_of_unknown_name(run_of, simulation):
    result, path, output = run_of(simulation, "--set", "population.lfi.mesh=x.h5")
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population.lfi",
                 says=("no entry named 'lfi'",), output=output)


def test_set_entry_index_out_of_range(run_of, simulation):
    result, path, output = run_of(simulation, "--set", "population.3.mesh=x.h5")
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population.3",
                 says=("out of range",), output=output)


@pytest.mark.parametrize("override", ["foo", "simulation.t_end", "simulation..t_end=1"])
def test_malformed_set(run_of, simulation, override):
    result, path, output = run_of(simulation, "--set", override)
    assert_error(result, EXIT_BAD_INPUT, file=path, says=("--set",), output=output)


def test_set_unknown_key_suggests_closest(run_of, simulation):
    result, path, output = run_of(simulation, "--set", "simulation.t_ned=1")
    assert_error(result, EXIT_BAD_INPUT, file=path, key="simulation.t_ned",
                 says=("did you mean 't_end'",), output=output)


def test_set_value_is_checked_like_the_file(run_of, simulation):
    result, path, output = run_of(simulation, "--set", "input.drive.rate=-1")
    assert_error(result, EXIT_BAD_INPUT, file=path, key="input.0.rate", says=("negative",),
                 output=output)


def test_no_population(run_of):
    text = "[simulation]\nt_end = 0.05\n"
    result, path, output = run_of(text)
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population", output=output)


def test_failed_run_keeps_an_existing_output(run_of, simulation, tmp_path):
    """An error leaves a previous output as it was (atomic replacement)."""
    output = tmp_path / "run.h5"
    output.write_bytes(b"previous")
    result, _, _ = run_of(edit(simulation, "rate = 1000.0", "rate = -5.0"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert output.read_bytes() == b"previous"
    assert list(tmp_path.glob(".run.h5.partial-*")) == []

