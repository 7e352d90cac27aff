"""`miind mesh` and `miind run` with 2D strip meshes (method = "strips" on a
two-variable model): the summary, a run, and bad input."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from clitools import assert_error, assert_ok, invoke
from meshgen import strips2d_matrices
from tests.cli.test_cli_mesh_2d import assert_same_artifact
from tests.unit.test_strips2d import EXAMPLES, UNIFORM


def test_uniform_flow_runs_at_one_spike_per_strip_length(tmp_path):
    uniform = tmp_path / "uniform.toml"
    uniform.write_text(UNIFORM)
    mesh = tmp_path / "mesh.h5"
    result = invoke("mesh", uniform, "-o", mesh, "-q")
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["method"] == "strips" and summary["n_strips"] == 5
    assert summary["strip_cells"] == 50 and summary["fill_cells"] == 0
    simulation = tmp_path / "sim.toml"
    simulation.write_text(f"""
[simulation]
t_end = 0.1
[[population]]
name = "strips"
mesh = "{mesh}"
initial = {{ v = 0.05, w = 0.5 }}
""")
    out = tmp_path / "out.h5"
    assert_ok(invoke("run", simulation, "-o", out, "-q"))
    with h5py.File(out) as f:
        rate = f["populations/strips/rate"][()]
        mass = f["populations/strips/mass"][()]
    # All mass crosses once every 10 steps of 1 ms: 100 Hz, nothing lost.
    assert rate.mean() == pytest.approx(100.0, rel=1e-9)
    np.testing.assert_allclose(mass, 1.0, atol=1e-12)


def test_strips_refuse_a_range_without_the_threshold(tmp_path):
    model = tmp_path / "bad.toml"
    model.write_text(UNIFORM.replace("v = [0.0, 1.0]", "v = [0.0, 2.0]"))
    out = tmp_path / "mesh.h5"
    assert_error(invoke("mesh", model, "-o", out), 3, file=model, key="mesh.ranges.v",
                 says=("threshold",), output=out)


def test_strips_refuse_a_jump_dimension_the_model_lacks(tmp_path):
    model = tmp_path / "bad.toml"
    model.write_text(UNIFORM.replace("efficacies = [0.1]", "efficacies = { g = [0.1] }"))
    out = tmp_path / "mesh.h5"
    assert_error(invoke("mesh", model, "-o", out), 3, file=model, key="mesh.efficacies.g",
                 output=out)


@pytest.mark.slow
def test_jobs_give_the_same_strip_artifact_to_the_bit(tmp_path, monkeypatch):
    """--jobs shares the overlaps of the motion and jump matrices out in fixed chunks
    of cells (here 500, so two workers share several): the artifact is the same."""
    monkeypatch.setattr(strips2d_matrices, "OVERLAP_CHUNK", 500)
    model = EXAMPLES / "strips2d" / "adex.toml"
    summaries = []
    for jobs in ("1", "2"):
        result = invoke("mesh", model, "-o", tmp_path / f"jobs{jobs}.h5", "--jobs", jobs, "-q")
        assert_ok(result)
        summaries.append(json.loads(result.stdout))
    assert [s["jobs"] for s in summaries] == [1, 2]
    assert summaries[0]["n_cells"] > 3 * 500
    assert_same_artifact(tmp_path / "jobs1.h5", tmp_path / "jobs2.h5")
    for key in ("matrices", "input_hash", "n_cells", "strip_cells", "fill_cells"):
        assert summaries[0][key] == summaries[1][key]


def test_strips_choose_four_target_cells_per_efficacy_along_v(tmp_path):
    """Left out, the strips' resolution is 4 target cells per efficacy along v (the
    grid's 8 elsewhere; meshgen.strips2d_tracing.DEFAULT_CELLS_PER_EFFICACY_2D_STRIPS) and
    100 along a variable without jumps."""
    model = tmp_path / "automatic.toml"
    model.write_text(UNIFORM.replace("resolution = { v = 10, w = 5 }\n", ""))
    result = invoke("mesh", model, "-o", tmp_path / "mesh.h5", "-q")
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["resolution"] == {"v": 40, "w": 100}
    assert summary["automatic"] == ["resolution.v", "resolution.w"]
    assert summary["n_strips"] == 100 and summary["fill_cells"] == 0
