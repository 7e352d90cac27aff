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
    assert_run_error(write, tmp_path, edit(DIRECT, old, new), key, says)


def assert_run_error(write, tmp_path, text, key, says):
    """`miind run` of simulation `text` (beside lif.toml) fails on `key` as it should."""
    write("lif.toml", LIF_MODEL)
    simulation = write("sim.toml", text)
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


# Two direct populations, spike-coupled: "cells" drives "listeners" through 20 synapses
# per listener.
NETWORK = DIRECT + """
[[population]]
name = "listeners"
method = "direct"
model = "lif.toml"
n_neurons = 100
seed = 2

[[connection]]
source = "cells"
target = "listeners"
efficacy = 1.0
n_connections = 20
delay = 0.001
"""


def test_spike_coupled_network_runs_and_writes_both_populations(write, tmp_path):
    write("lif.toml", LIF_MODEL)
    simulation = write("sim.toml", edit(NETWORK, "delay = 0.001",
                                        'delay = "uniform(1e-3, 2e-3)"\nseed = 4'))
    output = tmp_path / "out.h5"
    assert_ok(invoke("run", simulation, "-o", output))
    with h5py.File(output) as f:
        assert sorted(f["spikes"]) == ["cells", "listeners"]
        assert f["populations/listeners"].attrs["method"] == "direct"
        cells = f["spikes/cells/timestamps"][()]
        mean_v = f["populations/listeners/mean/v"][()]
        time = f["time"][()]
    # The listeners hear only the cells' spikes: each spike reaches 20 / 200 of them on
    # average, 1 mV decaying with tau = 10 ms from its arrival (delay 1.5 ms on average).
    # Their mean v follows; the spread of out-degrees and delays (~5% each over the ~40
    # spikes of the last 10 ms) is within 15% of the rise.
    late = time > 0.025
    arrivals = cells + 1.5e-3
    expected = -65.0 + np.array([0.1 * np.exp(-(t - arrivals[arrivals < t]) / 0.01).sum()
                                 for t in time[late]])
    rise = expected - -65.0
    assert rise.mean() > 2.0
    assert abs((mean_v[late] - -65.0).mean() / rise.mean() - 1) < 0.15


@pytest.mark.parametrize("old, new, key, says", [
    ('target = "listeners"', 'target = "listener"', "connection.1.target",
     ("unknown target population 'listener'", "did you mean 'listeners'")),
    ('source = "cells"', 'source = "cels"', "connection.1.source",
     ("unknown source 'cels'", "did you mean 'cells'")),
    ("n_connections = 20", 'connectivity = "pairwise_bernoulli"\nprobability = 1.5',
     "connection.1.probability", ("[0, 1]", "1.5")),
    ("n_connections = 20", "n_connections = 500\nmultapses = false", "connection.1.n_connections",
     ("in-degree 500 is larger than the 200 source neurons",)),
    ("n_connections = 20", "n_connections = 2.5", "connection.1.n_connections",
     ("whole number",)),
    ("n_connections = 20", 'connectivity = "fixed_in_degree"', "connection.1.connectivity",
     ("did you mean 'fixed_indegree'",)),
    ("n_connections = 20", 'connectivity = "all_to_all"\nprobability = 0.5',
     "connection.1.probability", ("for pairwise_bernoulli",)),
    ("n_connections = 20", 'connectivity = "pairwise_bernoulli"', "connection.1.connectivity",
     ("needs a probability",)),
    ("delay = 0.001", 'delay = 0.001\ndimension = "w"', "connection.1.dimension",
     ("no variable 'w'",)),
    ("efficacy = 1.0\nn_connections", 'efficacy = "normal(1.0)"\nn_connections',
     "connection.1.efficacy", ("normal takes 2 numbers",)),
    ("delay = 0.001", 'delay = "gauss(1e-3, 1e-4)"', "connection.1.delay",
     ("unknown distribution 'gauss'",)),
    ("delay = 0.001", "delay = 5e-5", "connection.1.delay",
     ("shorter than the network step dt = 0.0001 s",)),
    ("delay = 0.001", 'delay = "uniform(5e-5, 1e-3)"', "connection.1.delay",
     ("shorter than the network step dt = 0.0001 s",)),
    ("delay = 0.001", "delay = 0.001\nseed = -1", "connection.1.seed", (">= 0",)),
    # Rates couple an input to a population: no rules, probabilities or distributions.
    ("efficacy = 1.0\n\n[[pop", 'efficacy = 1.0\nconnectivity = "all_to_all"\n\n[[pop',
     "connection.0.connectivity", ("two direct populations",)),
    ("efficacy = 1.0\n\n[[pop", 'efficacy = "normal(1.0, 0.1)"\n\n[[pop',
     "connection.0.efficacy", ("two direct populations",)),
])
def test_spike_coupling_errors(write, tmp_path, old, new, key, says):
    assert_run_error(write, tmp_path, edit(NETWORK, old, new), key, says)
