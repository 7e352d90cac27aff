"""Gap junctions ([[gap_junction]], solver.gap_junctions) against their analytic
limits.

Subthreshold LIF with all-to-all junctions of g (1/s) among N neurons:
    dv_i/dt = (E_l - v_i)/tau + g N (mean(v) - v_i),
so the mean relaxes as an uncoupled neuron, (E_l - mean)/tau (the coupling terms sum
to zero), and each deviation d_i = v_i - mean decays at rate 1/tau + g N. The held
coupling (the current of the step's start, held through it, LIF exact around it)
multiplies d by exactly F = exp(-dt/tau) - g N tau (1 - exp(-dt/tau)) per step, whose
rate -ln(F)/dt exceeds 1/tau + g N by (1/tau + g N) g N dt / 2 + O(dt^2): a relative
error g N dt / 2, first order."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from miind_cli.cli import cli
from solver.engine import run_simulation

LIF = """[model]
kind = "lif"
[model.parameters]
tau = {tau}
E_l = 10.0
[model.spike]
threshold = {threshold}
reset = 0.0
refractory = 0.0
"""
ADEX = """[model]
kind = "adex"
[model.parameters]
I = 1000.0
"""
SIMULATION = """[simulation]
t_end = {t_end}
dt = {dt}
[[population]]
name = "p"
method = "direct"
model = "{model}"
n_neurons = {n}
seed = 3
record = {record}
initial = {initial}
[[gap_junction]]
population = "p"
conductance = {g}
{rule}
"""
TAU = 0.02
G = 100.0  # 1/s

# The scheme's factor is met to rounding: exp to a few ulps, ratios of differences of
# ~10 mV voltages lose a few more digits as d falls to ~1e-3 mV over the run.
ROUNDING = 1e-9


def run(tmp_path, *, n, g=G, dt=1e-4, t_end=0.02, model="lif", threshold=50.0,
        initial='{ v = "uniform(0, 20)" }', rule="", name="out.h5"):
    (tmp_path / "lif.toml").write_text(LIF.format(tau=TAU, threshold=threshold))
    (tmp_path / "adex.toml").write_text(ADEX)
    (tmp_path / "sim.toml").write_text(SIMULATION.format(
        t_end=t_end, dt=dt, model=f"{model}.toml", n=n, record=list(range(n)),
        initial=initial, g=g, rule=rule))
    run_simulation(tmp_path / "sim.toml", tmp_path / name)
    return tmp_path / name


def samples(path) -> np.ndarray:
    with h5py.File(path) as f:
        return f["populations/p/samples/v"][()]


def scheme_factor(n: int, dt: float, g: float = G) -> float:
    decay = np.exp(-dt / TAU)
    return decay - g * n * TAU * (1 - decay)


@pytest.mark.parametrize("n", [2, 3])
def test_deviations_decay_at_the_schemes_rate_and_the_mean_as_uncoupled(tmp_path, n):
    v = samples(run(tmp_path, n=n))
    mean = v.mean(axis=1)
    deviation = v - mean[:, None]
    np.testing.assert_allclose(deviation[1:] / deviation[:-1], scheme_factor(n, 1e-4),
                               rtol=ROUNDING, err_msg=f"N = {n}")
    # The junctions move no charge in total: the mean is an uncoupled LIF's, exactly.
    np.testing.assert_allclose((mean[1:] - 10.0) / (mean[:-1] - 10.0), np.exp(-1e-4 / TAU),
                               rtol=ROUNDING)
    assert abs(deviation[0, 0]) > 0.1  # the start was not synchronous already


def test_the_held_coupling_is_first_order_in_dt(tmp_path):
    """Two neurons: the decay rate of v_1 - v_2 against 1/tau + 2 g = 250 /s."""
    exact = 1 / TAU + 2 * G
    errors = []
    for dt in (2e-4, 1e-4, 5e-5):
        v = samples(run(tmp_path, n=2, dt=dt, name=f"dt{dt}.h5"))
        d = v[:, 0] - v[:, 1]
        rate = -np.log(d[-1] / d[0]) / ((len(d) - 1) * dt)
        errors.append(rate / exact - 1)
    # Expanding -ln(F)/dt: the relative error is lambda dt / 2 + O(dt^2), lambda = 2 g
    # the coupling's rate: 1% at 0.1 ms (measured +2.06%, +1.02%, +0.50%).
    assert errors[1] == pytest.approx(G * 1e-4, rel=0.05)
    np.testing.assert_allclose(np.array(errors[:-1]) / np.array(errors[1:]), 2.0, rtol=0.05)


@pytest.mark.parametrize("complete", [
    'connectivity = "fixed_indegree"\nn_connections = 4\nautapses = false\nmultapses = false',
    'connectivity = "pairwise_bernoulli"\nprobability = 1.0',
])
def test_all_to_all_run_equals_the_complete_sparse_graph(tmp_path, complete):
    """Five LIF neurons firing (rest above threshold), through the mean and as CSR."""
    spiking = dict(n=5, threshold=8.0, t_end=0.05)
    through_mean = samples(run(tmp_path, **spiking, name="mean.h5"))
    sparse = samples(run(tmp_path, **spiking, rule=complete, name="sparse.h5"))
    assert through_mean.max() - through_mean.min() > 5.0  # they fire and reset
    np.testing.assert_allclose(through_mean, sparse, rtol=0, atol=ROUNDING)


def chi(path) -> float:
    result = CliRunner().invoke(cli, ["analyze", str(path), "--summary"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["populations"]["p"]["synchrony"]["chi"]


# Eight identical regular-spiking AdEx neurons (Brette & Gerstner 2005, I = 1 nA, ~56
# Hz) from random states. Uncoupled they keep their random phases: chi of independent
# oscillators is about 1/sqrt(N) = 0.35 (measured 0.29 over 0.5-1 s); 0.6 leaves room
# for the fluctuation of 8 phases. g = 300 /s (84 nS at C = 281 pF, g N dt = 0.24)
# pulls them together within tens of ms (measured chi = 1 - 1e-8; 0.990 at dt = 25 us,
# lambda dt = 0.06, below the step warning of solver.gap_junctions).
ADEX_RUN = dict(n=8, model="adex", t_end=1.0,
                initial='{ v = "uniform(-70, -45)", w = "uniform(0, 400)" }')


def test_strong_gap_coupling_synchronises_identical_adex_neurons(tmp_path):
    assert chi(run(tmp_path, g=300.0, **ADEX_RUN, name="coupled.h5")) > 0.9
    assert chi(run(tmp_path, g=0.0, **ADEX_RUN, name="uncoupled.h5")) < 0.6


def test_spikes_reach_a_population_with_junctions_at_their_exact_times(tmp_path):
    """test_spike_network's single spike into three listeners, now gap-coupled: they
    start equal and all get the spike, so v_j - v_i = 0 and the analytic trace holds,
    through the per-step gathering of arrivals that junctions need."""
    from tests.reference.test_spike_network import (LIF_EXACT, LISTENER, PACEMAKER,
                                                    SINGLE_SPIKE, listener_trace, model)

    (tmp_path / "pacemaker.toml").write_text(model(**PACEMAKER))
    (tmp_path / "listener.toml").write_text(model(**LISTENER))
    # Not a whole number of steps. The chunks end at multiples of 4 steps (progress)
    # and of 11 (the delay): the arrival, at 15.01 ms, is in step 150 of the chunk
    # 148-152, whose step 151 must not take it again.
    delay = 1.15e-3
    text = SINGLE_SPIKE.format(dt=1e-4, delay=delay, integration="")
    (tmp_path / "sim.toml").write_text(text + '[[gap_junction]]\npopulation = "target"\n'
                                       'conductance = 50.0\n')
    run_simulation(tmp_path / "sim.toml", tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5") as f:
        v = f["populations/target/samples/v"][()]
    _, expected = listener_trace(delay, 1e-4, 0.04)
    for neuron in range(3):
        np.testing.assert_allclose(v[:, neuron], expected, rtol=0, atol=LIF_EXACT * 5.0)
