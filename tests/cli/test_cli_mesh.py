"""`miind mesh`: every bad model file gets exit 3 (or 5) and one line naming file and key;
a good one prints a JSON summary and writes a stamped artifact."""

from __future__ import annotations

import json
import re

import h5py
import pytest

from clitools import CUSTOM_MODEL, LIF_MODEL, assert_error, assert_ok, edit, invoke

EXIT_BAD_INPUT = 3
EXIT_CANNOT_MESH = 5


@pytest.fixture
def mesh_of(write, tmp_path):
    """mesh_of(model_text, *options) -> (result, model path, output path)."""

    def run(text: str, *options: str):
        model = write("model.toml", text)
        output = tmp_path / "mesh.h5"
        return invoke("mesh", model, "-o", output, *options), model, output

    return run


# --- reading the file ------------------------------------------------------------

def test_missing_model_file(tmp_path):
    model, output = tmp_path / "absent.toml", tmp_path / "mesh.h5"
    result = invoke("mesh", model, "-o", output)
    assert_error(result, EXIT_BAD_INPUT, file=model, says=("not found",), output=output)


@pytest.mark.parametrize("text", [
    LIF_MODEL.replace("[model.spike]", "[model.spike"),
    LIF_MODEL.replace("tau = 0.01", "tau = "),
    LIF_MODEL + "\n[model]\nkind = 'qif'\n",  # a table defined twice
], ids=["unclosed-table", "missing-value", "duplicate-table"])
def test_malformed_toml(mesh_of, text):
    result, model, output = mesh_of(text)
    assert_error(result, EXIT_BAD_INPUT, file=model, says=("malformed TOML",), output=output)


# --- keys and kinds ----------------------------------------------------------------

def test_unknown_model_kind_suggests_closest(mesh_of):
    result, model, output = mesh_of(edit(LIF_MODEL, 'kind = "lif"', 'kind = "lfi"'))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="model.kind",
                 says=("'lfi'", "did you mean 'lif'"), output=output)


@pytest.mark.parametrize("old, new, key, suggestion", [
    ("efficacies = [1.0]", "efficacy = [1.0]", "mesh.efficacy", "efficacies"),
    ("refractory = 0.0", "refactory = 0.0", "model.spike.refactory", "refractory"),
    ('kind = "lif"', 'kind = "lif"\nequatons = []', "model.equatons", "equations"),
    ("[mesh]", "[mesg]", "mesg", "mesh"),
    ("tau = 0.01", "tua = 0.01", "model.parameters.tua", "tau"),
])
def test_unknown_key_suggests_closest(mesh_of, old, new, key, suggestion):
    result, model, output = mesh_of(edit(LIF_MODEL, old, new))
    assert_error(result, EXIT_BAD_INPUT, file=model, key=key,
                 says=(f"did you mean '{suggestion}'",), output=output)


# --- values --------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, key", [
    ("tau = 0.01", "tau = nan", "model.parameters.tau"),
    ("E_l = -65.0", "E_l = nan", "model.parameters.E_l"),
    ("threshold = -50.2", "threshold = nan", "model.spike.threshold"),
    ("efficacies = [1.0]", "efficacies = [nan]", "mesh.efficacies"),
    ("v_range = [-70.0, -50.2]", "v_range = [nan, -50.2]", "mesh.v_range"),
])
def test_nan_value(mesh_of, old, new, key):
    result, model, output = mesh_of(edit(LIF_MODEL, old, new))
    assert_error(result, EXIT_BAD_INPUT, file=model, key=key, says=("finite",), output=output)


@pytest.mark.parametrize("tau", ["-0.01", "0.0"])
def test_time_constant_not_positive(mesh_of, tau):
    result, model, output = mesh_of(edit(LIF_MODEL, "tau = 0.01", f"tau = {tau}"))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="model.parameters.tau",
                 says=("must be positive",), output=output)


def test_negative_time_constant_of_custom_model(mesh_of):
    result, model, output = mesh_of(edit(CUSTOM_MODEL, "tau = 0.01", "tau = -0.01"))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="model.parameters.tau",
                 says=("must be positive",), output=output)


@pytest.mark.parametrize("threshold", ["-65.0", "-66.0"], ids=["equal", "below"])
def test_threshold_not_above_reset(mesh_of, threshold):
    text = edit(LIF_MODEL, "threshold = -50.2", f"threshold = {threshold}")
    text = edit(text, "v_range = [-70.0, -50.2]", f"v_range = [-70.0, {threshold}]")
    result, model, output = mesh_of(text)
    assert_error(result, EXIT_BAD_INPUT, file=model, key="model.spike.reset",
                 says=("below the threshold",), output=output)


def test_empty_efficacy_list(mesh_of):
    result, model, output = mesh_of(edit(LIF_MODEL, "efficacies = [1.0]", "efficacies = []"))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.efficacies",
                 says=("must not be empty",), output=output)


def test_v_range_not_ending_at_threshold(mesh_of):
    result, model, output = mesh_of(
        edit(LIF_MODEL, "v_range = [-70.0, -50.2]", "v_range = [-70.0, -50.0]"))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.v_range",
                 says=("end at the threshold", "-50.2"), output=output)


def test_v_range_not_containing_reset(mesh_of):
    result, model, output = mesh_of(
        edit(LIF_MODEL, "v_range = [-70.0, -50.2]", "v_range = [-60.0, -50.2]"))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.v_range",
                 says=("does not contain the reset", "-65"), output=output)


# --- meshing ---------------------------------------------------------------------------

def test_mesh_too_coarse_suggests_a_dt_that_works(mesh_of):
    result, model, output = mesh_of(edit(LIF_MODEL, "efficacies = [1.0]",
                                         "efficacies = [1.0]\ndt = 0.01"))
    message = assert_error(result, EXIT_CANNOT_MESH, file=model, key="mesh.dt",
                           says=("too coarse", "dt <="), output=output)
    suggested = re.search(r"dt <= ([0-9.eE+-]+)", message).group(1)
    result, _, _ = mesh_of(edit(LIF_MODEL, "efficacies = [1.0]",
                                f"efficacies = [1.0]\ndt = {float(suggested)!r}"))
    assert_ok(result)


# --- custom equations ------------------------------------------------------------------

@pytest.mark.parametrize("equation, says", [
    ("dv/dt = __import__('os')", "'__import__' is not allowed"),
    ("dv/dt = v.real", "'Attribute' is not allowed"),
    ("dv/dt = np.exp(v)", "not allowed"),
    ("dv/dt = (E_l - v)/tau + [1][0]", "not allowed"),
    ("dv/dt = (lambda: 0)()", "not allowed"),
], ids=["import", "attribute", "attribute-call", "subscript", "lambda"])
def test_forbidden_construct_in_equation(mesh_of, equation, says):
    text = edit(CUSTOM_MODEL, '"dv/dt = (E_l - v)/tau"', json.dumps(equation))
    result, model, output = mesh_of(text)
    assert_error(result, EXIT_BAD_INPUT, file=model, key="model.equations.0", says=(says,),
                 output=output)


def test_unknown_name_in_equation_suggests_closest(mesh_of):
    text = edit(CUSTOM_MODEL, '"dv/dt = (E_l - v)/tau"', '"dv/dt = (E_l - v)/tua"')
    result, model, output = mesh_of(text)
    assert_error(result, EXIT_BAD_INPUT, file=model, key="model.equations.0",
                 says=("unknown name 'tua'", "did you mean 'tau'"), output=output)


def test_custom_model_meshes(mesh_of, lif_mesh):
    """The custom spelling of the LIF equation gives the built-in's mesh."""
    result, _, output = mesh_of(CUSTOM_MODEL)
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["n_cells"] == lif_mesh.summary["n_cells"]
    assert summary["dt"] == pytest.approx(lif_mesh.summary["dt"], rel=1e-12)


# --- --set -----------------------------------------------------------------------------

def test_set_changes_the_artifact(mesh_of, lif_mesh):
    result, _, output = mesh_of(LIF_MODEL, "--set", "model.parameters.tau=0.02")
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["input_hash"] != lif_mesh.summary["input_hash"]
    # The automatic dt is inversely proportional to the fastest drift, |E_l - v|/tau.
    assert summary["dt"] == pytest.approx(2 * lif_mesh.summary["dt"], rel=1e-9)
    with h5py.File(output, "r") as f:
        assert json.loads(f.attrs["model"])["parameters"]["tau"] == 0.02
        assert f.attrs["input_hash"] == summary["input_hash"]


def test_set_without_override_is_the_file(mesh_of, lif_mesh):
    """Setting a key to the value it has changes nothing, not even the hash."""
    result, _, _ = mesh_of(LIF_MODEL, "--set", "model.parameters.tau=0.01")
    assert_ok(result)
    assert json.loads(result.stdout)["input_hash"] == lif_mesh.summary["input_hash"]


@pytest.mark.parametrize("override", ["foo", "model.parameters.tau", "=1"])
def test_malformed_set(mesh_of, override):
    result, model, output = mesh_of(LIF_MODEL, "--set", override)
    assert_error(result, EXIT_BAD_INPUT, file=model, says=("--set",), output=output)


def test_set_value_is_checked_like_the_file(mesh_of):
    result, model, output = mesh_of(LIF_MODEL, "--set", "model.parameters.tau=-1")
    assert_error(result, EXIT_BAD_INPUT, file=model, key="model.parameters.tau",
                 says=("must be positive",), output=output)


def test_set_unknown_key_suggests_closest(mesh_of):
    result, model, output = mesh_of(LIF_MODEL, "--set", "mesh.efficacy=[2.0]")
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.efficacy",
                 says=("did you mean 'efficacies'",), output=output)


@pytest.mark.parametrize("interval", ["3", "0", "1.5", "-2"])
def test_bad_jump_interval(mesh_of, interval):
    result, model, output = mesh_of(edit(LIF_MODEL, "efficacies = [1.0]",
                                         f"efficacies = [1.0]\njump_interval = {interval}"))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.jump_interval", output=output)


# --- reset expressions ------------------------------------------------------------------

def test_unknown_name_in_reset_expression(mesh_of):
    """The reset may be written as an expression; its errors name the file like any other."""
    result, model, output = mesh_of(edit(LIF_MODEL, "reset = -65.0", 'reset = { v = "E_x" }'))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="model.spike.reset.v",
                 says=("unknown name 'E_x'", "did you mean 'E_l'"), output=output)


def test_reset_expression_is_meshed_or_refused_cleanly(mesh_of):
    """`reset = { v = "E_l" }` passes the file layout; meshing it must either work or be
    refused with a one-line error naming the key, never end in a traceback."""
    result, model, output = mesh_of(edit(LIF_MODEL, "reset = -65.0", 'reset = { v = "E_l" }'))
    if result.exit_code != 0:
        assert_error(result, EXIT_BAD_INPUT, file=model, key="model.spike.reset.v",
                     output=output)


# --- grid meshes (2D) --------------------------------------------------------------------

GRID_MODEL = """
[model]
kind = "adex"
[mesh]
method = "grid"
ranges = { v = [-80.0, -40.4], w = [-50.0, 300.0] }
resolution = { v = 40, w = 8 }
dt = 1e-4
efficacies = [1.0]
"""


def test_grid_mesh(mesh_of):
    result, _, output = mesh_of(GRID_MODEL)
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["n_cells"] == 320
    with h5py.File(output) as f:
        assert f.attrs["mesh_kind"] == "grid" and f.attrs["format"] == "miind-mesh"


def test_grid_range_not_ending_at_threshold(mesh_of):
    result, model, output = mesh_of(edit(GRID_MODEL, "-40.4]", "-45.0]"))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.ranges.v",
                 says=("end at the threshold", "-40.4"), output=output)


def test_grid_efficacy_in_unknown_variable(mesh_of):
    result, model, output = mesh_of(edit(GRID_MODEL, "efficacies = [1.0]",
                                         "efficacies = { v = [1.0], u = [2.0] }"))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.efficacies.u",
                 says=("no variable 'u'", "v, w"), output=output)


def test_grid_model_without_threshold(mesh_of):
    # Used to fail with a TypeError traceback (threshold None in meshgen/model_file.py);
    # a model that never spikes now gets a grid whose top clamps instead of firing.
    model = edit(GRID_MODEL, 'kind = "adex"', 'kind = "fitzhugh_nagumo"')
    model = edit(model, "{ v = [-80.0, -40.4], w = [-50.0, 300.0] }",
                 "{ v = [-2.5, 2.5], w = [-0.8, 2.0] }")
    model = edit(model, "efficacies = [1.0]", "efficacies = [0.2]")
    result, _, output = mesh_of(model)
    assert_ok(result)
    assert output.exists()


@pytest.mark.parametrize("method", ["grid", "strips"])
def test_2d_model_that_only_counts_spikes(mesh_of, method):
    model = edit(GRID_MODEL, 'kind = "adex"', 'kind = "morris_lecar"')
    model = edit(model, "{ v = [-80.0, -40.4], w = [-50.0, 300.0] }",
                 "{ v = [-80.0, 0.0], w = [0.0, 1.0] }")
    model = edit(model, 'method = "grid"', f'method = "{method}"')
    result, path, output = mesh_of(model)
    assert_error(result, EXIT_BAD_INPUT, file=path, key="model.spike.reset",
                 says=(f"the {method} method needs a reset with the threshold",), output=output)
