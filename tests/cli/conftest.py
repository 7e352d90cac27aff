"""Fixtures of the command-line tests: one mesh and one run per session, file writing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from clitools import LIF_MODEL, assert_ok, invoke, simulation_text


@dataclass(frozen=True)
class Built:
    """A file made once per session by the CLI, and the JSON it printed."""

    path: Path
    summary: dict


@pytest.fixture
def write(tmp_path):
    """write(name, text) -> the path of a new file in this test's directory."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write_file


@pytest.fixture
def run_of(write, tmp_path):
    """run_of(simulation_text, *options) -> (result, simulation path, output path)."""

    def run(text: str, *options: str):
        simulation = write("simulation.toml", text)
        output = tmp_path / "run.h5"
        return invoke("run", simulation, "-o", output, "--quiet", *options), simulation, output

    return run


@pytest.fixture(scope="session")
def lif_mesh(tmp_path_factory) -> Built:
    """The mesh artifact of LIF_MODEL. Tests must not modify it (copy it first)."""
    directory = tmp_path_factory.mktemp("mesh")
    model = directory / "lif.toml"
    model.write_text(LIF_MODEL)
    output = directory / "lif_mesh.h5"
    result = invoke("mesh", model, "-o", output)
    assert_ok(result)
    return Built(output, json.loads(result.stdout))


@pytest.fixture(scope="session")
def lif_run(tmp_path_factory, lif_mesh) -> Built:
    """The output of SIMULATION on the session mesh. Tests must not modify it."""
    directory = tmp_path_factory.mktemp("run")
    simulation = directory / "simulation.toml"
    simulation.write_text(simulation_text(lif_mesh.path))
    output = directory / "run.h5"
    result = invoke("run", simulation, "-o", output)
    assert_ok(result)
    return Built(output, json.loads(result.stdout))


@pytest.fixture
def simulation(lif_mesh) -> str:
    """The text of a valid simulation file on the session mesh."""
    return simulation_text(lif_mesh.path)
