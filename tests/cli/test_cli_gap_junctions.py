"""`miind run` with [[gap_junction]]: a mixed file runs, and each bad table is refused
with one line naming the file and key, exit 3 and no output file."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from clitools import LIF_MODEL, assert_error, assert_ok, edit, invoke

# A direct population with junctions beside a density one on the session's mesh.
MIXED = """\
[simulation]
t_end = 0.02

[[population]]
name = "cells"
method = "direct"
model = "lif.toml"
n_neurons = 200
record = [0, 1]
initial = { v = "uniform(-65, -55)" }

[[population]]
name = "density"
mesh = 'MESH'

[[input]]
name = "drive"
rate = 1000.0

[[connection]]
source = "drive"
target = "density"
efficacy = 1.0

[[gap_junction]]
population = "cells"
conductance = 20.0
"""


@pytest.fixture
def mixed(lif_mesh) -> str:
    return edit(MIXED, "MESH", str(lif_mesh.path))


def test_gap_junctions_run_beside_a_density_population(write, tmp_path, mixed):
    write("lif.toml", LIF_MODEL)
    simulation = write("sim.toml", mixed)
    output = tmp_path / "out.h5"
    assert_ok(invoke("run", simulation, "-o", output, "--quiet"))
    with h5py.File(output) as f:
        v = f["populations/cells/samples/v"][()]
    # g N = 4000 /s against 1/tau = 100 /s: the neurons meet within a few ms.
    assert abs(v[0, 0] - v[0, 1]) > abs(v[-1, 0] - v[-1, 1])
    np.testing.assert_allclose(v[-1, 0], v[-1, 1], atol=1e-6)


def test_a_step_too_coarse_for_accuracy_is_warned_about(write, tmp_path, mixed):
    """g N dt = 20 x 200 x 6.76e-5 s (the mesh's step) = 0.27, above the 0.1 the warning
    starts at: the summary says so and names the step that would do; 2 /s (0.027) runs
    without it."""
    write("lif.toml", LIF_MODEL)
    warnings = {}
    for conductance in (20.0, 2.0):
        simulation = write("sim.toml", edit(mixed, "conductance = 20.0",
                                            f"conductance = {conductance}"))
        result = invoke("run", simulation, "-o", tmp_path / f"out{conductance}.h5", "--quiet")
        assert_ok(result)
        warnings[conductance] = [w for w in json.loads(result.stdout)["warnings"]
                                 if "gap junctions" in w]
    assert len(warnings[20.0]) == 1 and "population 'cells'" in warnings[20.0][0]
    assert "lambda dt = 0.27" in warnings[20.0][0] and "dt <= 2.5e-05" in warnings[20.0][0]
    assert warnings[2.0] == []


@pytest.mark.parametrize("old, new, key, says", [
    ('population = "cells"', 'population = "density"', "gap_junction.0.population",
     ("'density' is a density population",)),
    ('population = "cells"', 'population = "cels"', "gap_junction.0.population",
     ("unknown population 'cels'", "did you mean 'cells'")),
    ("conductance = 20.0", "conductance = -1.0", "gap_junction.0.conductance",
     ("must not be negative",)),
    ("conductance = 20.0", "conductance = inf", "gap_junction.0.conductance", ("finite",)),
    ("conductance = 20.0", "conductance = nan", "gap_junction.0.conductance", ("finite",)),
    ("conductance = 20.0", "", "gap_junction.0.conductance", ()),
    # g N dt = 100 x 200 x 6.76e-5 (the mesh's step) = 1.35: the held coupling
    # would overshoot.
    ("conductance = 20.0", "conductance = 100.0", "gap_junction.0.conductance",
     ("too strong for the step", "dt <= 5e-05")),
    ("conductance = 20.0", 'conductance = 20.0\nconnectivity = "one_to_one"',
     "gap_junction.0.connectivity", ("pairs each neuron with itself",)),
    ("conductance = 20.0", 'conductance = 20.0\nconnectivity = "fixed_indegre"',
     "gap_junction.0.connectivity", ("fixed_indegree",)),
    ("conductance = 20.0", 'conductance = 20.0\nconnectivity = "fixed_indegree"',
     "gap_junction.0.connectivity", ("needs n_connections",)),
    ("conductance = 20.0", "conductance = 20.0\nn_connections = 3",
     "gap_junction.0.n_connections", ("all_to_all does not take it",)),
    ("conductance = 20.0", 'conductance = 1.0\nconnectivity = "fixed_indegree"\n'
     "n_connections = 2.5", "gap_junction.0.n_connections", ("a whole number",)),
    ("conductance = 20.0", 'conductance = 1.0\nconnectivity = "fixed_indegree"\n'
     "n_connections = 300\nmultapses = false", "gap_junction.0.n_connections", ("300",)),
    ("conductance = 20.0", 'conductance = 20.0\nconnectivity = "pairwise_bernoulli"',
     "gap_junction.0.connectivity", ("needs a probability",)),
    ("conductance = 20.0", 'conductance = 20.0\nconnectivity = "pairwise_bernoulli"\n'
     "probability = 1.5", "gap_junction.0.probability", ("[0, 1]",)),
    ("conductance = 20.0", "conductance = 20.0\nseed = -1", "gap_junction.0.seed", (">= 0",)),
    ("conductance = 20.0", "conductance = 20.0\nconductanse = 1.0",
     "gap_junction.0.conductanse", ("conductance",)),
])
def test_gap_junction_errors(write, tmp_path, mixed, old, new, key, says):
    write("lif.toml", LIF_MODEL)
    simulation = write("sim.toml", edit(mixed, old, new))
    output = tmp_path / "out.h5"
    assert_error(invoke("run", simulation, "-o", output), 3, file=simulation, key=key,
                 says=says, output=output)
