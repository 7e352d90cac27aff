"""The commented examples in examples/ are contracts too: each one meshes and runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clitools import assert_ok, invoke

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def lif_mesh(tmp_path_factory):
    mesh = tmp_path_factory.mktemp("examples") / "lif_mesh.h5"
    assert_ok(invoke("mesh", EXAMPLES / "lif" / "lif.toml", "-o", mesh, "--quiet"))
    return mesh


@pytest.mark.parametrize("simulation, population", [
    ("simulation.toml", "lif"),
    ("compare_methods.toml", "density"),
])
def test_lif_examples_run(lif_mesh, tmp_path, simulation, population):
    output = tmp_path / "out.h5"
    result = invoke("run", EXAMPLES / "lif" / simulation, "-o", output, "--quiet",
                    "--set", f"population.{population}.mesh={lif_mesh}",
                    "--set", "simulation.t_end=0.05")
    assert_ok(result)
    rates = json.loads(result.stdout)["mean_rates"]
    assert all(rate >= 0 for rate in rates.values())


@pytest.mark.parametrize("model", sorted(p.name for p in (EXAMPLES / "adex_patterns").glob("*.toml")
                                         if p.name != "pattern.toml"))
def test_adex_pattern_examples_run(tmp_path, model):
    output = tmp_path / "out.h5"
    result = invoke("run", EXAMPLES / "adex_patterns" / "pattern.toml", "-o", output, "--quiet",
                    "--set", f"population.0.model={model}", "--set", "simulation.t_end=0.2")
    assert_ok(result)
    # Every pattern fires under its constant current (mean over 0.1-0.2 s).
    assert json.loads(result.stdout)["mean_rates"]["neuron"] > 0
