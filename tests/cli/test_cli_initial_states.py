"""`miind run` with initial states given as distributions: they run, and each bad one
gets exit 3 and one line naming the file and the key `population.N.initial.VAR`,
with no output file."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from clitools import assert_error, assert_ok, edit

EXIT_BAD_INPUT = 3
NUMBER = "initial = { v = -65.0 }"


def with_direct(simulation: str, lif_mesh, initial: str) -> str:
    """The simulation with a second population, of 2,000 neurons of the same model."""
    return edit(simulation, "[[input]]", (
        f"[[population]]\nname = \"cells\"\nmethod = \"direct\"\nmesh = '{lif_mesh.path}'\n"
        f"n_neurons = 2000\nseed = 1\ninitial = {{ {initial} }}\n\n[[input]]"))


def test_both_methods_start_from_a_distribution(run_of, simulation, lif_mesh):
    """At the end of the first step, both means are near the uniform's, -61 mV (the
    neurons' to 5 standard errors of 2,000 draws of sd 2.3, 0.26 mV)."""
    text = with_direct(edit(simulation, NUMBER, 'initial = { v = "uniform(-65, -57)" }'),
                       lif_mesh, 'v = "uniform(-65, -57)"')
    result, _, output = run_of(text)
    assert_ok(result)
    with h5py.File(output) as f:
        first = {name: f[f"populations/{name}/mean/v"][0] for name in ("lif", "cells")}
        mass = f["populations/lif/mass"][()]
    # One step (68 us) of 1 mV x 1000 Hz and of the leak moves the mean by 0.04 mV.
    assert abs(first["lif"] - -61.0) < 0.1
    assert abs(first["cells"] - -61.0) < 0.1 + 0.26
    assert np.abs(mass - 1).max() < 1e-12


def test_set_gives_a_distribution(run_of, simulation):
    result, _, output = run_of(simulation, "--set", "population.lif.initial.v=normal(-60, 2)")
    assert_ok(result)
    with h5py.File(output) as f:
        assert abs(f["populations/lif/mean/v"][0] - -60.0) < 0.1


@pytest.mark.parametrize("initial, says", [
    ('v = "normal(-60)"', "normal takes 2 numbers (mu, sigma), got 1"),
    ('v = "gauss(-60, 2)"', "unknown distribution 'gauss'"),
    ('v = "uniform(-50, -60)"', "low must be below high"),
    ('v = "normal(-60, 2"', "cannot read 'normal(-60, 2'"),
    ("v = [-60, 2]", "expected a number or a distribution"),
    ('v = "normal(-40, 2)"', "lies in the mesh [-70, -50.2]; at least 0.01 must"),
], ids=["arguments", "unknown-kind", "empty-interval", "unclosed", "array", "off-the-mesh"])
def test_bad_distribution_on_a_density(run_of, simulation, initial, says):
    result, path, output = run_of(edit(simulation, NUMBER, f"initial = {{ {initial} }}"))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population.0.initial.v", says=(says,),
                 output=output)


def test_distribution_for_a_variable_the_model_lacks(run_of, simulation):
    result, path, output = run_of(edit(simulation, NUMBER,
                                       'initial = { v = -65.0, w = "normal(0, 1)" }'))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population.0.initial.w",
                 says=("no variable 'w'",), output=output)


def test_neurons_mostly_above_the_threshold_are_refused(run_of, simulation, lif_mesh):
    """0.6% of uniform(-50.3, -34) lies below the threshold, -50.2: too little to be meant."""
    result, path, output = run_of(with_direct(simulation, lif_mesh, 'v = "uniform(-50.3, -34)"'))
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population.1.initial.v",
                 says=("lies below the threshold (-50.2)",), output=output)


def test_a_bad_set_names_the_key(run_of, simulation):
    result, path, output = run_of(simulation, "--set", "population.lif.initial.v=normal(-60,")
    assert_error(result, EXIT_BAD_INPUT, file=path, key="population.0.initial.v",
                 says=("cannot read",), output=output)
