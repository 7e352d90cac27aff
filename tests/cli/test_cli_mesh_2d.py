"""`miind mesh` on grid (2D) models: the summary and its accounting, the artifact's
clamped fractions, --jobs, the automatic resolution and dt, and every bad input (one
line naming file and key, exit 3 or 5, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from clitools import assert_error, assert_ok, edit, invoke
from meshgen import grid2d, grid2d_motion
from meshgen.formats.mesh_artifact import read_mesh
from meshgen.parallel import available_cores

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXIT_BAD_INPUT = 3
EXIT_CANNOT_MESH = 5
# Column sums with the fired fraction: 1 to rounding (meshgen.grid2d renormalises).
COLUMN_SUM = 1e-12

# AdEx as in tests/reference/test_grid_density.py, on a small grid.
GRID_MODEL = """\
[model]
kind = "adex"

[mesh]
method = "grid"
ranges = { v = [-80.0, -40.4], w = [-50.0, 280.0] }
resolution = { v = 40, w = 12 }
dt = 1e-4
efficacies = [1.0]
"""

# The same flow in a custom model, for equations that go wrong.
CUSTOM_2D = """\
[model]
kind = "custom"
variables = ["v", "w"]
equations = ["dv/dt = (E_l - v)/tau", "dw/dt = -w/tau"]

[model.parameters]
tau = 0.01
E_l = -65.0

[model.spike]
threshold = -50.0
reset = -65.0

[mesh]
method = "grid"
ranges = { v = [-70.0, -50.0], w = [-1.0, 1.0] }
resolution = { v = 40, w = 10 }
dt = 1e-4
efficacies = [1.0]
"""

OLD_KEYS = ("output", "input_hash", "n_cells", "n_strips", "dt", "jump_interval", "step",
            "efficacies", "min_column_sum", "max_column_sum", "largest_cell_near_threshold",
            "seconds")
MATRIX_KEYS = ("matrix", "min_column_sum", "max_column_sum", "max_fired", "clamped_columns",
               "max_clamped", "clamped_sides")


@pytest.fixture
def mesh_of(write, tmp_path):
    """mesh_of(model_text, *options) -> (result, model path, output path)."""

    def run(text: str, *options: str, name: str = "mesh.h5"):
        model = write("model.toml", text)
        output = tmp_path / name
        return invoke("mesh", model, "-o", output, *options), model, output

    return run


def summary_of(result) -> dict:
    assert_ok(result)
    return json.loads(result.stdout)


# --- the summary and the artifact -------------------------------------------------------

def test_summary_keys_and_values(mesh_of):
    result, _, output = mesh_of(edit(GRID_MODEL, "efficacies = [1.0]",
                                     "efficacies = { v = [1.0, -2.0], w = [30.0] }"))
    summary = summary_of(result)
    assert all(key in summary for key in OLD_KEYS)
    assert summary["n_cells"] == 480 and summary["n_strips"] == 0
    assert summary["method"] == "grid" and summary["resolution"] == {"v": 40, "w": 12}
    assert summary["dt"] == summary["step"] == 1e-4 and summary["automatic"] == []
    assert summary["jobs"] == 1 and summary["seconds"] > 0
    assert summary["efficacies"] == [1.0, -2.0, 30.0]
    assert [m["matrix"] for m in summary["matrices"]] == ["motion", "jump v 1", "jump v -2",
                                                          "jump w 30", "reset"]
    artifact = read_mesh(output)
    for entry, matrix in zip(summary["matrices"], [artifact.motion, *artifact.jumps]):
        assert all(key in entry for key in MATRIX_KEYS)
        assert abs(entry["min_column_sum"] - 1) <= COLUMN_SUM
        assert abs(entry["max_column_sum"] - 1) <= COLUMN_SUM
        # The artifact holds the same accounting, per source cell.
        assert entry["max_clamped"] == matrix.clamped.max()
        assert entry["clamped_columns"] == int(np.sum(matrix.clamped > grid2d.DROP_FRACTION))
        assert entry["max_fired"] == matrix.fired.max()
    motion, up, down, across, reset = summary["matrices"]
    entries = len(artifact.motion.data) + len(artifact.reset.data) + \
        sum(len(j.data) for j in artifact.jumps)
    assert summary["cost"] == {"cells": 480, "steps_per_second": 1e4,
                               "cell_steps_per_second": 4.8e6,
                               "estimated_run_seconds_per_second": [4.8e6 * 2e-8, 4.8e6 * 4e-8],
                               "matrix_entries": entries,
                               "artifact_mb": output.stat().st_size / 2 ** 20}
    assert summary["degenerate_cells"] == motion["degenerate_cells"] == 0
    assert len(artifact.motion.degenerate) == 0
    # Up in v fires at the top and clamps nothing; -2 mV is 2.02 cells of 0.99 mV: the
    # three lowest columns of cells clamp (the two lowest whole); 30 pA is 1.09 cells
    # of 27.5 pA: the top row clamps whole, the one below 0.09 of its mass.
    assert up["clamped_columns"] == 0 and up["max_fired"] == 1.0
    assert down["clamped_columns"] == 3 * 12 and down["clamped_sides"] == {"v low": 36}
    assert down["max_clamped"] == 1.0 and down["max_fired"] == 0.0
    assert across["clamped_sides"] == {"w high": 80} and across["max_clamped"] == 1.0
    below_top = artifact.jumps[2].clamped.reshape(12, 40)[10]
    np.testing.assert_allclose(below_top, 30.0 / (330.0 / 12) - 1, rtol=1e-12)
    # The artifact records the edge of every clamped column.
    assert np.all(artifact.jumps[1].clamped_edge[artifact.jumps[1].clamped > 0] == 0)
    assert np.all(artifact.jumps[2].clamped_edge[artifact.jumps[2].clamped > 0] == 3)
    # The reset w + b (80.5 pA) leaves the top (280 pA) from the rows whose centre is
    # above 199.5 pA: 3 of the 12 rows of 27.5 pA, whole columns, at w high.
    w_centre = np.repeat(-50.0 + 27.5 * (np.arange(12) + 0.5), 40)
    beyond = w_centre + 80.5 > 280.0
    np.testing.assert_array_equal(artifact.reset.clamped, beyond.astype(float))
    firing = (artifact.motion.fired > 0) | (artifact.jumps[0].fired > 0)
    # The summary counts the cells that can fire (the two columns next to the threshold).
    clamping = int((firing & beyond).sum())
    assert reset["clamped_columns"] == clamping and reset["clamped_sides"] == {"w high": clamping}
    assert reset["firing_cells"] == firing.sum()
    assert reset["clamped_firing_cells"] == (firing & beyond).sum() > 0
    assert reset["clamped_firing_fraction"] == (firing & beyond).sum() / firing.sum()
    # Nothing leaves these ranges under the flow (see examples/grid2d/adex.toml); the
    # jump in w is long against the range (80 of 480 cells clamp): one warning. The
    # inhibitory jump (7.5% of the cells) and the reset (25% of the firing cells) are
    # noted: whether they matter depends on where the mass goes.
    assert motion["clamped_columns"] == 0 and len(summary["warnings"]) == 1
    assert summary["warnings"][0].startswith("the jump of 30 in w leaves the grid from 17%")
    assert result.stderr.count("warning: ") == 1
    assert summary["notes"][0].startswith("the jump of -2 in v leaves the grid from 8% of the "
                                          "cells, clamped at the v low edge")
    assert summary["notes"][1].startswith("the reset (w -> w + b) lands outside the range box "
                                          "for 25% of the cells that can fire")
    assert result.stderr.count("note: ") == 2


def test_old_grid_artifact_without_clamped_still_reads(mesh_of):
    _, _, output = mesh_of(GRID_MODEL)
    with h5py.File(output, "a") as f:
        for name in ("motion/clamped", "motion/clamped_edge", "motion/degenerate",
                     "jumps/0/clamped", "jumps/0/clamped_edge", "reset/clamped",
                     "reset/clamped_edge"):
            del f[f"grid/{name}"]
    artifact = read_mesh(output)
    assert artifact.motion.clamped is None and artifact.jumps[0].clamped is None
    assert artifact.motion.degenerate is None and artifact.n_cells == 480
    assert artifact.reset.clamped is None and artifact.motion.clamped_edge is None


def test_automatic_resolution_and_dt(mesh_of):
    """Left out, resolution is 8 cells per smallest efficacy along a jump axis (39.6 mV /
    (2 mV / 8) = 158.4 -> 159 cells along v) and 100 along w; dt: 0.1 of AdEx's
    membrane time scale C / g_L = 9.37 ms (its Jacobian's fast eigenvalue, 105.8 /s,
    where the neurons rest), 9.4e-4 s, rounded down to 5e-4 s."""
    text = edit(edit(edit(GRID_MODEL, "resolution = { v = 40, w = 12 }\n", ""), "dt = 1e-4\n",
                     ""), "efficacies = [1.0]", "efficacies = [2.0, 4.0]")
    summary = summary_of(mesh_of(text)[0])
    assert summary["resolution"] == {"v": 159, "w": 100} and summary["n_cells"] == 15900
    assert summary["automatic"] == ["resolution.v", "resolution.w", "dt"]
    assert summary["dt"] == 5e-4


def test_automatic_resolution_of_one_axis(mesh_of):
    text = edit(GRID_MODEL, "resolution = { v = 40, w = 12 }", "resolution = { v = 40 }")
    summary = summary_of(mesh_of(text)[0])
    assert summary["resolution"] == {"v": 40, "w": 100}
    assert summary["automatic"] == ["resolution.w"]


# --- --jobs -----------------------------------------------------------------------------

def datasets(path) -> dict:
    found = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, item: found.__setitem__(name, item[()])
                     if isinstance(item, h5py.Dataset) else None)
        found["attrs"] = {k: v for k, v in f.attrs.items()}
    return found


def assert_same_artifact(one, two) -> None:
    """Every dataset (dtype and values) and root attribute of two artifacts equal."""
    a, b = datasets(one), datasets(two)
    assert sorted(a) == sorted(b)
    for name in a:
        if name != "attrs":
            assert a[name].dtype == b[name].dtype and np.array_equal(a[name], b[name]), name
    assert a["attrs"] == b["attrs"]


def test_jobs_give_the_same_artifact_to_the_bit(mesh_of, monkeypatch):
    # Bands of one row, so two workers share twelve of them.
    monkeypatch.setattr(grid2d_motion, "CELL_BATCH", 40)
    one = summary_of(mesh_of(GRID_MODEL, "--jobs", "1", name="one.h5")[0])
    two = summary_of(mesh_of(GRID_MODEL, "--jobs", "2", name="two.h5")[0])
    assert one["jobs"] == 1 and two["jobs"] == 2
    assert_same_artifact(one["output"], two["output"])
    for key in ("matrices", "input_hash", "n_cells", "dt"):
        assert one[key] == two[key]


def test_jobs_zero_uses_every_core(mesh_of):
    assert summary_of(mesh_of(GRID_MODEL, "--jobs", "0", "--quiet")[0])["jobs"] == \
        available_cores()


def test_negative_jobs_is_a_usage_error(mesh_of):
    result, _, output = mesh_of(GRID_MODEL, "--jobs", "-1")
    assert result.exit_code == 2 and "--jobs" in result.stderr and not output.exists()


# --- warnings ---------------------------------------------------------------------------

def test_flow_leaving_the_grid_warns(mesh_of):
    """Below -80 mV the AdEx flow points down once w > 282 pA: with w up to 400 pA the
    lowest v cells clamp what leaves."""
    result, model, _ = mesh_of(edit(GRID_MODEL, "-50.0, 280.0", "-50.0, 400.0"))
    summary = summary_of(result)
    motion = summary["matrices"][0]
    assert motion["clamped_columns"] > 0 and set(motion["clamped_sides"]) == {"v low"}
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("warning")]
    assert len(lines) == 1 and lines[0].startswith(f"warning: {model}: the motion matrix")
    assert "v low" in lines[0] and "widen mesh.ranges.v" in lines[0]
    assert summary["warnings"] == [lines[0].split(": ", 2)[2]]


def test_long_jump_warns(mesh_of):
    """A 60 pA jump in w is 2.2 cells of 27.5 pA: 3 of the 12 rows clamp at the top."""
    result, _, _ = mesh_of(edit(GRID_MODEL, "efficacies = [1.0]",
                                "efficacies = { v = [1.0], w = [60.0] }"))
    summary_of(result)
    assert "jump of 60 in w" in result.stderr and "25% of the cells" in result.stderr
    assert "w high" in result.stderr and "widen mesh.ranges.w" in result.stderr


def test_a_costly_mesh_says_what_a_run_will_cost(mesh_of):
    """480 cells at dt = 1e-7 s: 4.8e9 cell-steps per simulated second."""
    result, _, _ = mesh_of(edit(GRID_MODEL, "dt = 1e-4", "dt = 1e-7"))
    summary = summary_of(result)
    assert summary["cost"]["cell_steps_per_second"] == pytest.approx(4.8e9)
    assert "480 cells at dt = 1e-07 s are 4.8e+09 cell-steps per simulated second: " \
        "expect `miind run` to take about 96-192 s per simulated second" in result.stderr


def test_reset_leaving_the_w_range_warns(mesh_of):
    result, _, _ = mesh_of(GRID_MODEL, "--set", "model.parameters.b=1000")
    summary = summary_of(result)
    assert ("warning: " in result.stderr and "the reset (w -> w + b) lands outside the range "
            "box for 100% of the cells that can fire" in result.stderr)
    assert "at the w high edge" in result.stderr and "widen mesh.ranges.w" in result.stderr
    assert summary["matrices"][-1]["clamped_firing_fraction"] == 1.0


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, says", [
    ("v = [-80.0, -40.4]", "v = [-65.0, -40.4]", ("does not contain the reset", "v = -70.6")),
    ("v = [-80.0, -40.4]", "v = [-30.0, -20.0]", ("threshold (-40.4) lies below",)),
    ("v = [-80.0, -40.4]", "v = [-80.0, -30.0]", ("must end at the threshold (-40.4)",)),
    ("v = [-80.0, -40.4]", "v = [-80.0, -45.0]", ("must end at the threshold (-40.4)",)),
])
def test_v_range_against_threshold_and_reset(mesh_of, old, new, says):
    result, model, output = mesh_of(edit(GRID_MODEL, old, new))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.ranges.v", says=says,
                 output=output)


def test_missing_range(mesh_of):
    result, model, output = mesh_of(edit(GRID_MODEL, ", w = [-50.0, 280.0]", ""))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.ranges.w",
                 says=("missing required key",), output=output)


def test_unknown_method(mesh_of):
    result, model, output = mesh_of(edit(GRID_MODEL, 'method = "grid"', 'method = "grids"'))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.method", says=("grid",),
                 output=output)


def test_jump_in_a_variable_the_model_lacks(mesh_of):
    result, model, output = mesh_of(edit(GRID_MODEL, "efficacies = [1.0]",
                                         "efficacies = { g = [0.1] }"))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.efficacies.g",
                 says=("no variable 'g'", "v, w"), output=output)


@pytest.mark.parametrize("old, new, key, says", [
    # 4 mV cells against 1 mV jumps: 39.6 mV / (1 mV / 8) = 316.8 -> 317 cells.
    ("v = 40, w = 12", "v = 10, w = 12", "mesh.resolution.v",
     ("efficacy 1 in v", "0.25 cells", "resolution.v = 317")),
    ("efficacies = [1.0]", "efficacies = { v = [1.0], w = [-5.0] }", "mesh.resolution.w",
     ("efficacy -5 in w", "resolution.w = 528")),
])
def test_resolution_too_coarse_for_an_efficacy(mesh_of, old, new, key, says):
    result, model, output = mesh_of(edit(GRID_MODEL, old, new))
    assert_error(result, EXIT_CANNOT_MESH, file=model, key=key, says=says, output=output)


def test_too_many_cells(mesh_of):
    result, model, output = mesh_of(GRID_MODEL, "--set", "mesh.max_cells=100")
    assert_error(result, EXIT_CANNOT_MESH, file=model, key="mesh.resolution",
                 says=("480 cells", "max_cells = 100"), output=output)


def test_equations_not_finite_name_the_region(mesh_of):
    """sqrt(w) is NaN for w < 0: the grid's nodes and centres there, w in [-1, -0.1]."""
    text = edit(CUSTOM_2D, '"dw/dt = -w/tau"', '"dw/dt = -sqrt(w)/tau"')
    result, model, output = mesh_of(text)
    assert_error(result, EXIT_CANNOT_MESH, file=model, key="mesh.ranges",
                 says=("not finite for v in [-70, -50], w in [-1, -0.1]",), output=output)


def test_flow_diverging_within_a_step_names_the_region(mesh_of):
    """dw/dt = w^2 / tau is finite on the grid, but from w > 0 it reaches infinity in
    tau / w: within dt = 0.05 s from w > 0.2; the mesh's RK4 overflows from w = 0.3 on."""
    text = edit(edit(CUSTOM_2D, '"dw/dt = -w/tau"', '"dw/dt = w*w/tau"'), "dt = 1e-4",
                "dt = 0.05")
    result, model, output = mesh_of(text)
    message = assert_error(result, EXIT_CANNOT_MESH, file=model, key="mesh.dt",
                           says=("diverges within one step dt = 0.05 s", "w in [0.3, 1]"),
                           output=output)
    assert "v in [-70, -50]" in message


GRID_SIMULATION = """\
[simulation]
t_end = 0.01

[[population]]
name = "adex"
mesh = 'MESH'
initial = { v = -70.6, w = 0.0 }

[[input]]
name = "drive"
rate = 1000.0

[[connection]]
source = "drive"
target = "adex"
efficacy = 1.0
dimension = "w"
"""


def test_run_with_a_dimension_the_mesh_has_no_jump_for(mesh_of, write, tmp_path):
    _, _, mesh = mesh_of(GRID_MODEL)
    simulation = write("sim.toml", edit(GRID_SIMULATION, "MESH", str(mesh)))
    output = tmp_path / "out.h5"
    result = invoke("run", simulation, "-o", output)
    assert_error(result, EXIT_BAD_INPUT, file=simulation, key="connection.0.efficacy",
                 says=("no jump matrix for efficacy 1 in w", "built: v 1"), output=output)


def test_the_example_meshes_with_its_documented_defaults(tmp_path):
    """examples/grid2d/adex.toml leaves resolution and dt out: 317 x 100 cells and
    5e-4 s, as its comments say, and its ranges keep the flow in (no warning)."""
    example = EXAMPLES / "grid2d" / "adex.toml"
    result = invoke("mesh", example, "-o", tmp_path / "mesh.h5", "--quiet")
    summary = summary_of(result)
    assert summary["resolution"] == {"v": 317, "w": 100} and summary["dt"] == 5e-4
    # The reset w + b leaves w's top (280 pA) from the rows above 199.5 pA: noted only,
    # since the example's populations never get there (`miind run` checks).
    assert summary["warnings"] == [] and "warning" not in result.stderr
    assert summary["notes"] == [result.stderr.strip().split(": ", 2)[2]]
    assert "the reset (w -> w + b) lands outside the range box for 23%" in result.stderr
    assert "resolution = { v = 317, w = 100 }" in example.read_text()
    assert "(here 5e-4 s)" in example.read_text()
