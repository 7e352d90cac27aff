"""`miind mesh` with [mesh] expected_input: ranges left out (per variable) are found
from it (meshgen.exploration) and appear in the summary; given ranges are checked
against it; every bad form of the key is one line naming file and key."""

from __future__ import annotations

import json

import pytest

from clitools import assert_error, assert_ok, edit, invoke
from meshgen.formats.mesh_artifact import read_mesh

EXIT_BAD_INPUT = 3

AUTO_ADEX = """\
[model]
kind = "adex"
[model.spike]
threshold = -40.4
reset = { v = -70.6, w = "w + b" }
[mesh]
method = "grid"
resolution = { v = 80, w = 40 }
dt = 5e-4
efficacies = { v = [1.0] }
expected_input = [{ rate = 3000.0, efficacy = 1.0, dimension = "v" }]
"""

AUTO_LIF = """\
[model]
kind = "lif"
[model.parameters]
tau = 0.01
E_l = -65.0
[model.spike]
threshold = -50.2
reset = -65.0
refractory = 0.0
[mesh]
efficacies = [1.0, -1.0]
expected_input = [{ rate = 1000.0, efficacy = 1.0 }, { rate = 500.0, efficacy = -1.0 }]
"""


@pytest.fixture
def mesh_of(write, tmp_path):
    def run(text: str, *options: str):
        model = write("model.toml", text)
        output = tmp_path / "mesh.h5"
        return invoke("mesh", model, "-o", output, "-q", *options), model, output
    return run


def test_ranges_left_out_are_found_and_reported(mesh_of):
    result, _, output = mesh_of(AUTO_ADEX)
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["automatic"][:2] == ["ranges.v", "ranges.w"]
    (v_lo, v_hi), (w_lo, w_hi) = summary["ranges"]["v"], summary["ranges"]["w"]
    visited = summary["exploration"]["visited"]
    assert summary["exploration"]["neurons"] == 1000 and summary["exploration"]["settled"]
    # v ends at the threshold and holds the reset and everything visited, with room.
    assert v_hi == -40.4 and v_lo < min(visited["v"][0], -70.6) - 1.0
    # w climbs to ~500 pA at ~21 Hz (b = 80.5 pA, tau_w = 144 ms).
    assert 400.0 < visited["w"][1] < w_hi and w_lo < visited["w"][0]
    artifact = read_mesh(output)
    assert artifact.ranges.tolist() == [[v_lo, v_hi], [w_lo, w_hi]]
    # No warning: the population stays inside what was found.
    assert summary["warnings"] == [] and "warning" not in result.stderr


def test_a_2d_strip_mesh_finds_its_ranges_too(mesh_of):
    result, _, output = mesh_of(edit(AUTO_ADEX, 'method = "grid"\nresolution = { v = 80, w = 40 }',
                                     'method = "strips"\nresolution = { v = 40, w = 30 }'))
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["method"] == "strips" and summary["automatic"][:2] == ["ranges.v", "ranges.w"]
    assert summary["ranges"]["w"][1] > summary["exploration"]["visited"]["w"][1]
    assert read_mesh(output).ranges.tolist() == [summary["ranges"]["v"], summary["ranges"]["w"]]
    # The flow leaves v's bottom where w is high, where the population never goes.
    assert summary["warnings"] == []


def test_rare_firing_under_the_expected_input_warns(mesh_of):
    """At 1000 Hz AdEx fires ~1e-4 Hz: 2D meshes overestimate such rates."""
    result, model, _ = mesh_of(edit(AUTO_ADEX, "rate = 3000.0", "rate = 1000.0"))
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["exploration"]["firing_rate"] < 0.1
    rare = [w for w in summary["warnings"] if "fires rarely" in w]
    assert len(rare) == 1 and "check the rate against a direct population" in rare[0]
    assert f"warning: {model}: under expected_input the population fires rarely" in result.stderr


def test_one_range_given_the_other_found(mesh_of):
    result, _, _ = mesh_of(edit(AUTO_ADEX, "method = \"grid\"",
                                "method = \"grid\"\nranges = { v = [-90.0, -40.4] }"))
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["ranges"]["v"] == [-90.0, -40.4]
    assert "ranges.w" in summary["automatic"] and "ranges.v" not in summary["automatic"]


def test_given_ranges_the_population_leaves_are_warned_about(mesh_of):
    result, model, _ = mesh_of(edit(AUTO_ADEX, "method = \"grid\"",
                                    "method = \"grid\"\nranges = { v = [-80.0, -40.4], "
                                    "w = [-20.0, 300.0] }"))
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["automatic"] == []
    warning = [w for w in summary["warnings"] if w.startswith("under expected_input")]
    assert len(warning) == 1
    assert "visits w in [" in warning[0] and "beyond mesh.ranges.w = [-20, 300]" in warning[0]
    assert f"warning: {model}: under expected_input" in result.stderr


def test_a_strip_mesh_finds_v_range_from_the_expected_input(mesh_of):
    """Excitation and inhibition: v goes well below rest; the lowest v is found."""
    result, _, output = mesh_of(AUTO_LIF)
    assert_ok(result)
    summary = json.loads(result.stdout)
    lowest, top = summary["ranges"]["v"]
    assert top == -50.2 and lowest < summary["exploration"]["visited"]["v"][0] - 1.0
    assert summary["automatic"] == ["ranges.v"]
    assert read_mesh(output).lowest == lowest


def test_the_single_table_form(mesh_of):
    result, _, _ = mesh_of(edit(AUTO_ADEX, '[{ rate = 3000.0, efficacy = 1.0, dimension = "v" }]',
                                "{ rate = 3000.0, efficacy = 1.0 }"))
    assert_ok(result)
    assert json.loads(result.stdout)["ranges"]["w"][1] > 400.0


@pytest.mark.parametrize("old, new, key, says", [
    ("[{ rate = 3000.0, efficacy = 1.0, dimension = \"v\" }]", "3000.0",
     "mesh.expected_input", ("expected a table",)),
    ("rate = 3000.0, efficacy", "efficacy", "mesh.expected_input.0.rate",
     ("missing required key",)),
    ("rate = 3000.0", "rate = -1.0", "mesh.expected_input.0.rate", ("must not be negative",)),
    ("efficacy = 1.0, dimension", "efficacy = 0.0, dimension", "mesh.expected_input.0.efficacy",
     ("an efficacy of 0",)),
    ("dimension = \"v\" }", "dimension = \"g\" }", "mesh.expected_input.0.dimension",
     ("no variable 'g'",)),
    ("dimension = \"v\" }", "dimension = \"v\", delay = 1.0 }", "mesh.expected_input.0.delay",
     ("unknown key 'delay'",)),
])
def test_bad_expected_input(mesh_of, old, new, key, says):
    result, model, output = mesh_of(edit(AUTO_ADEX, old, new))
    assert_error(result, EXIT_BAD_INPUT, file=model, key=key, says=says, output=output)


def test_ranges_left_out_without_expected_input(mesh_of):
    result, model, output = mesh_of(edit(AUTO_ADEX, "expected_input = [{ rate = 3000.0, "
                                         "efficacy = 1.0, dimension = \"v\" }]\n", ""))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.ranges.v",
                 says=("missing required key", "expected_input"), output=output)
    result, model, output = mesh_of(edit(AUTO_LIF, "expected_input = [{ rate = 1000.0, "
                                         "efficacy = 1.0 }, { rate = 500.0, efficacy = -1.0 }]\n",
                                         ""))
    assert_error(result, EXIT_BAD_INPUT, file=model, key="mesh.v_range",
                 says=("missing required key", "expected_input"), output=output)
