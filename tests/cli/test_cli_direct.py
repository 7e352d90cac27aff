"""`miind run` with direct populations: the file keys and their error paths."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from clitools import LIF_MODEL, assert_error, assert_ok, edit, invoke

DIRECT = """\
[simulation]
t_end = 0.05

[[population]]
name = "cells"
method = "direct"
model = "lif.toml"
n_neurons = 200
seed = 1
record = [0, 5]

[[input]]
name = "drive"
rate = 1200.0

[[connection]]
source = "drive"
target = "cells"
efficacy = 1.0
"""

ADEX_MODEL = """\
[model]
kind = "adex"
"""


@pytest.fixture
def direct_files(write):
    write("lif.toml", LIF_MODEL)
    return write("sim.toml", DIRECT)


def test_direct_population_runs_and_writes_spikes(direct_files, tmp_path):
    output = tmp_path / "out.h5"
    result = invoke("run", direct_files, "-o", output)
    assert_ok(result)
    summary = json.loads(result.stdout)
    with h5py.File(output) as f:
        times = f["spikes/cells/timestamps"][()]
        ids = f["spikes/cells/node_ids"][()]
        rate = f["populations/cells/rate"][()]
        assert f["spikes/cells/timestamps"].attrs["units"] == "s"
        assert f["populations/cells"].attrs["method"] == "direct"
        assert f["populations/cells/samples/v"].shape == (len(rate), 2)
        dt = f.attrs["dt"]
    assert dt == pytest.approx(1e-4)  # the default step of direct-only simulations
    assert np.all(np.diff(times) >= 0) and ids.max() < 200
    # The rate is the spike count per step over N dt.
    counts = np.bincount(np.minimum((times / dt).astype(int), len(rate) - 1), minlength=len(rate))
    np.testing.assert_allclose(rate, counts / (200 * dt))
    assert summary["mean_rates"]["cells"] == pytest.approx(rate[len(rate) // 2:].mean())


@pytest.mark.parametrize("old, new, key, says", [
    ("n_neurons = 200", "n_neurons = 0", "population.0.n_neurons", ("positive",)),
    ("n_neurons = 200", "n_neurons = 2.5", "population.0.n_neurons", ("whole number",)),
    ("n_neurons = 200\n", "", "population.0.n_neurons", ("missing",)),
    ('model = "lif.toml"\n', "", "population.0.model", ("model file or a mesh",)),
    ("record = [0, 5]", "record = [0, 500]", "population.0.record", ("below n_neurons",)),
    ('method = "direct"', 'method = "drect"', "population.0.method", ("did you mean 'direct'",)),
    ("efficacy = 1.0", 'efficacy = 1.0\ndimension = "w"', "connection.0.dimension",
     ("no variable 'w'",)),
    ("seed = 1", "seed = 1\ninitial = { v = -40.0 }", "population.0.initial.v",
     ("not below the threshold",)),
])
def test_direct_population_errors(write, tmp_path, old, new, key, says):
    write("lif.toml", LIF_MODEL)
    simulation = write("sim.toml", edit(DIRECT, old, new))
    output = tmp_path / "out.h5"
    assert_error(invoke("run", simulation, "-o", output), 3, file=simulation, key=key,
                 says=says, output=output)


def test_density_population_refuses_direct_keys(write, tmp_path):
    simulation = write("sim.toml", edit(edit(DIRECT, 'method = "direct"\n', ""),
                                        'model = "lif.toml"', 'mesh = "m.h5"'))
    output = tmp_path / "out.h5"
    assert_error(invoke("run", simulation, "-o", output), 3, file=simulation,
                 key="population.0.n_neurons", says=("direct populations",), output=output)


def test_integration_step_too_coarse_is_refused_with_a_suggestion(write, tmp_path):
    write("adex.toml", ADEX_MODEL)
    text = edit(edit(DIRECT, 'model = "lif.toml"', 'model = "adex.toml"'),
                "t_end = 0.05", "t_end = 0.05\ndt = 0.002")
    simulation = write("sim.toml", text)
    output = tmp_path / "out.h5"
    message = assert_error(invoke("run", simulation, "-o", output), 3, file=simulation,
                           key="population.0.integration_step", says=("too coarse",), output=output)
    suggested = float(message.rsplit("integration_step = ", 1)[1])
    assert suggested < 0.002
    # The suggested step is accepted.
    fixed = write("fixed.toml", text.replace("seed = 1", f"seed = 1\nintegration_step = {suggested}")
                  .replace("dt = 0.002", f"dt = {suggested}"))
    assert_ok(invoke("run", fixed, "-o", tmp_path / "fixed.h5"))


def test_trace_of_recorded_neurons(direct_files, tmp_path):
    output = tmp_path / "out.h5"
    assert_ok(invoke("run", direct_files, "-o", output))
    picture = tmp_path / "trace.png"
    assert_ok(invoke("analyze", output, "--trace", picture))
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_trace_needs_recorded_neurons(write, tmp_path):
    write("lif.toml", LIF_MODEL)
    simulation = write("sim.toml", edit(DIRECT, "record = [0, 5]", "record = []"))
    output = tmp_path / "out.h5"
    assert_ok(invoke("run", simulation, "-o", output))
    picture = tmp_path / "trace.png"
    assert_error(invoke("analyze", output, "--trace", picture), 3, file=output,
                 says=("record",), output=picture)
