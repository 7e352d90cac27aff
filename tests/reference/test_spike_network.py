"""Spike-coupled direct populations (solver.spike_coupling) against exact references:
a single spike's arrival against the analytic LIF solution, and a target of Poisson
sources against the same target fed the equivalent Poisson input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from scipy import signal

from solver.engine import run_simulation

MODEL = """[model]
kind = "{kind}"
{variables}
[model.parameters]
tau = {tau}
E_l = {E_l}
[model.spike]
threshold = {threshold}
reset = {reset}
refractory = {refractory}
"""
CUSTOM = 'variables = ["v"]\nequations = ["dv/dt = (E_l - v)/tau"]'


def model(kind="lif", **parameters) -> str:
    """A model file of LIF's equation (`kind` "custom": the same, integrated by RK4)."""
    return MODEL.format(kind=kind, variables=CUSTOM if kind == "custom" else "", **parameters)


# A LIF neuron whose rest (E_l = 30) lies above its threshold (20): from v = 10 it fires
# once, deterministically, at tau ln((10 - 30) / (20 - 30)) = 20 ms x ln 2, and the 1 s
# refractory period keeps it silent after. Spike times are exact for LIF.
PACEMAKER = dict(tau=0.02, E_l=30.0, threshold=20.0, reset=10.0, refractory=1.0)
FIRST_SPIKE = 0.02 * np.log(2.0)
# The target: at rest 0, threshold far away, starting at 5 mV.
LISTENER = dict(tau=0.01, E_l=0.0, threshold=50.0, reset=0.0, refractory=0.0)

SINGLE_SPIKE = """[simulation]
t_end = 0.04
dt = {dt}
[[population]]
name = "source"
method = "direct"
model = "pacemaker.toml"
n_neurons = 1
initial = {{ v = 10.0 }}
[[population]]
name = "target"
method = "direct"
model = "listener.toml"
n_neurons = 3
record = [0, 1, 2]
initial = {{ v = 5.0 }}
{integration}
[[connection]]
source = "source"
target = "target"
efficacy = 1.5
delay = {delay}
connectivity = "all_to_all"
"""

# LIF's only error is rounding: exp and log to a few ulps over ~1e3 operations.
LIF_EXACT = 1e-12
# RK4 at 0.1 ms steps on tau = 10 ms: local error (h/tau)^5 / 120 per step, ~1e-17 of
# the 5 mV scale per step and ~1e-10 mV over 400 steps (measured 2e-12); the jump landing
# on a step boundary instead of its exact time would err by ~1.5 mV x dt/tau = 1e-2 mV.
RK4_ERROR = 1e-9


def listener_trace(delay, dt, t_end, tau=0.01, v0=5.0, jump=1.5):
    """v at the step ends of the listener: exp decay, plus the jump at spike + delay."""
    t = (np.arange(int(round(t_end / dt))) + 1) * dt
    arrival = FIRST_SPIKE + delay
    v = v0 * np.exp(-t / tau)
    return t, np.where(t >= arrival, v + jump * np.exp(-(t - arrival) / tau), v)


@pytest.mark.parametrize("kind, dt, delay, tolerance", [
    ("lif", 1e-4, 2.5e-3, LIF_EXACT),
    ("lif", 1e-3, 1.7e-3, LIF_EXACT),  # a coarse step, a delay not a multiple of it
    ("lif", 1e-4, 1e-4, LIF_EXACT),  # the shortest delay: one step
    ("custom", 1e-4, 2.5e-3, RK4_ERROR),
])
def test_a_spike_lands_at_its_exact_time(tmp_path, kind, dt, delay, tolerance):
    (tmp_path / "pacemaker.toml").write_text(model(**PACEMAKER))
    (tmp_path / "listener.toml").write_text(model(kind, **LISTENER))
    integration = f"integration_step = {dt}" if kind == "custom" else ""
    (tmp_path / "sim.toml").write_text(SINGLE_SPIKE.format(dt=dt, delay=delay,
                                                           integration=integration))
    run_simulation(tmp_path / "sim.toml", tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5") as f:
        source_spikes = f["spikes/source/timestamps"][()]
        samples = f["populations/target/samples/v"][()]
    np.testing.assert_allclose(source_spikes, [FIRST_SPIKE], rtol=LIF_EXACT)
    t, expected = listener_trace(delay, dt, 0.04)
    for neuron in range(3):
        np.testing.assert_allclose(samples[:, neuron], expected, rtol=0, atol=tolerance * 5.0,
                                   err_msg=f"{kind}, dt {dt}, delay {delay}")
    # The test can fail: the trace just after the arrival differs from one without it.
    after = np.searchsorted(t, FIRST_SPIKE + delay)
    assert expected[after] - 5.0 * np.exp(-t[after] / 0.01) > 1.0


SIMULTANEOUS = """[simulation]
t_end = 0.04
dt = 1e-4
[[population]]
name = "excitatory"
method = "direct"
model = "pacemaker.toml"
n_neurons = 1
initial = {{ v = 10.0 }}
[[population]]
name = "inhibitory"
method = "direct"
model = "pacemaker.toml"
n_neurons = 1
initial = {{ v = 10.0 }}
[[population]]
name = "target"
method = "direct"
model = "listener.toml"
n_neurons = 1
initial = {{ v = 1.4 }}
{connections}
"""


@pytest.mark.parametrize("order", ["excitation first", "inhibition first", "excitation only"])
def test_arrivals_at_one_instant_are_one_input(tmp_path, order):
    """Two identical pacemakers fire at the same instant; their spikes reach the target
    together, +1.5 and -1.0 mV, at 0.27 mV against a threshold of 1.5: their sum (0.77)
    stays below it whatever the order of the connections in the file, where +1.5 alone
    (1.77) fires it."""
    (tmp_path / "pacemaker.toml").write_text(model(**PACEMAKER))
    (tmp_path / "listener.toml").write_text(model(**dict(LISTENER, threshold=1.5)))
    line = '[[connection]]\nsource = "{}"\ntarget = "target"\nefficacy = {}\ndelay = 2.5e-3\n'
    excitation, inhibition = line.format("excitatory", 1.5), line.format("inhibitory", -1.0)
    connections = {"excitation first": excitation + inhibition,
                   "inhibition first": inhibition + excitation,
                   "excitation only": excitation}[order]
    (tmp_path / "sim.toml").write_text(SIMULTANEOUS.format(connections=connections))
    run_simulation(tmp_path / "sim.toml", tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5") as f:
        sources = [f[f"spikes/{name}/timestamps"][()] for name in ("excitatory", "inhibitory")]
        fired = f["spikes/target/timestamps"][()]
    assert sources[0].tolist() == sources[1].tolist()  # the same instant, to the bit
    np.testing.assert_allclose(sources[0], [FIRST_SPIKE], rtol=1e-12)
    assert 0.27 < 1.4 * np.exp(-(FIRST_SPIKE + 2.5e-3) / 0.01) < 0.28
    if order == "excitation only":
        np.testing.assert_allclose(fired, [FIRST_SPIKE + 2.5e-3], rtol=1e-12)
    else:
        assert len(fired) == 0


def test_each_synapse_delivers_with_its_own_delay_and_efficacy(tmp_path):
    """Delays and efficacies drawn per synapse: each listener's trace has its jump at the
    spike time plus its synapse's delay, of its synapse's efficacy (the synapses drawn
    again from the file by solver.spike_coupling.build_projection: same seed, same
    draw)."""
    from solver.sim_file import read_simulation_file
    from solver.spike_coupling import build_projection

    (tmp_path / "pacemaker.toml").write_text(model(**PACEMAKER))
    (tmp_path / "listener.toml").write_text(model(**LISTENER))
    text = SINGLE_SPIKE.format(dt=1e-4, delay='"uniform(1e-3, 4e-3)"', integration="")
    text = text.replace("efficacy = 1.5", 'efficacy = "normal(1.5, 0.3)"\nseed = 11')
    (tmp_path / "sim.toml").write_text(text)
    run_simulation(tmp_path / "sim.toml", tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5") as f:
        samples = f["populations/target/samples/v"][()]
    spec = read_simulation_file(tmp_path / "sim.toml")
    projection = build_projection(spec.connections[0], 1, 3, 0, 1e-4, spec.path)
    assert len(set(projection.delay.tolist())) == 3  # three different delays
    for neuron in range(3):
        synapse = int(np.flatnonzero(projection.targets == neuron)[0])
        _, expected = listener_trace(projection.delay[synapse], 1e-4, 0.04,
                                     jump=projection.efficacy[synapse])
        np.testing.assert_allclose(samples[:, neuron], expected, rtol=0, atol=LIF_EXACT * 5.0)


# Poisson sources: each input event lifts a source neuron far over threshold (reset,
# no refractory period), so each source fires exactly at its input's events, a Poisson
# train at SOURCE_RATE, independent across sources.
GENERATOR = dict(tau=0.01, E_l=0.0, threshold=1.0, reset=0.0, refractory=0.0)
TARGET = dict(tau=0.01, E_l=0.0, threshold=12.0, reset=0.0, refractory=0.002)
SOURCE_RATE = 20.0
INDEGREE = 50
N_SOURCES = 5000
N_TARGETS = 2000
T_END = 1.2
T_START = 0.2  # s: the first 0.2 s (20 membrane times) are left out as transient

POISSON_NETWORK = f"""[simulation]
t_end = {T_END}
dt = 1e-4
[[population]]
name = "sources"
method = "direct"
model = "generator.toml"
n_neurons = {N_SOURCES}
seed = 1
[[population]]
name = "spiking"
method = "direct"
model = "target.toml"
n_neurons = {N_TARGETS}
seed = 2
[[population]]
name = "poisson"
method = "direct"
model = "target.toml"
n_neurons = {N_TARGETS}
seed = 3
[[input]]
name = "drive"
rate = {SOURCE_RATE}
[[input]]
name = "equivalent"
rate = {INDEGREE * SOURCE_RATE}
[[connection]]
source = "drive"
target = "sources"
efficacy = 100.0
[[connection]]
source = "sources"
target = "spiking"
efficacy = 0.9
n_connections = {INDEGREE}
multapses = false
delay = 1e-3
seed = {{seed}}
[[connection]]
source = "equivalent"
target = "poisson"
efficacy = 0.9
"""
STANDARD_ERRORS = 3.0
# Batches of time, 50 ms each (5 membrane times: nearly independent). Not batches of
# neurons: targets share sources, so every target hears the same realisation of the
# source trains, and batches of neurons miss that common noise (measured: 0.04-0.08 Hz
# across batches of neurons against 0.2-0.3 Hz across batches of time at ~15 Hz).
BATCHES = 20


def batch_rate(times, n, batches=BATCHES):
    """Mean rate after T_START over batches of time, and its standard error."""
    keep = times[times >= T_START] - T_START
    width = (T_END - T_START) / batches
    counts = np.bincount(np.minimum((keep / width).astype(int), batches - 1), minlength=batches)
    per_batch = counts / (n * width)
    return per_batch.mean(), per_batch.std(ddof=1) / np.sqrt(batches)


def run_poisson_network(directory, seed=7):
    directory.mkdir(exist_ok=True)
    (directory / "generator.toml").write_text(model(**GENERATOR))
    (directory / "target.toml").write_text(model(**TARGET))
    (directory / "sim.toml").write_text(POISSON_NETWORK.format(seed=seed))
    run_simulation(directory / "sim.toml", directory / "out.h5")
    with h5py.File(directory / "out.h5") as f:
        return {name: (f[f"spikes/{name}/timestamps"][()], f[f"spikes/{name}/node_ids"][()])
                for name in ("sources", "spiking", "poisson")}


def test_poisson_sources_give_the_rate_of_the_equivalent_poisson_input(tmp_path):
    """Each target draws 50 distinct sources, each firing a Poisson train: its input is
    exactly a Poisson train of 50 x 20 Hz of 0.9 mV jumps, the input of the "poisson"
    population. So their expected rates are equal; the tolerance is 3 standard errors
    of the two means combined, each from batches of time (BATCHES), which carry the
    noise all targets share: two targets share 50^2 / 5000 = 0.5 sources on average,
    and all of them hear the same realisation of the source trains. Over 4 seeds of
    sources and synapses the difference was -0.75 to +0.6 combined standard errors."""
    spikes = run_poisson_network(tmp_path)
    source_rate, source_error = batch_rate(spikes["sources"][0], N_SOURCES)
    assert abs(source_rate - SOURCE_RATE) < STANDARD_ERRORS * source_error, source_rate
    spiking, spiking_error = batch_rate(spikes["spiking"][0], N_TARGETS)
    poisson, poisson_error = batch_rate(spikes["poisson"][0], N_TARGETS)
    combined = np.hypot(spiking_error, poisson_error)
    assert abs(spiking - poisson) < STANDARD_ERRORS * combined, (spiking, poisson, combined)
    # Power: the mean drive (9 mV) is below threshold (12 mV), the rate (~15 Hz) rests
    # on the fluctuations, and the comparison resolves a few percent of it.
    assert combined < 0.03 * poisson, (poisson, combined)


def test_spike_network_is_deterministic_and_the_connection_seed_draws_it(tmp_path):
    first = run_poisson_network(tmp_path / "a")
    again = run_poisson_network(tmp_path / "b")
    other = run_poisson_network(tmp_path / "c", seed=8)
    for name in ("sources", "spiking", "poisson"):
        for k in range(2):
            np.testing.assert_array_equal(first[name][k], again[name][k], err_msg=name)
    # Another connection seed: the same sources and Poisson population, other synapses.
    np.testing.assert_array_equal(first["sources"][0], other["sources"][0])
    np.testing.assert_array_equal(first["poisson"][0], other["poisson"][0])
    assert len(first["spiking"][0]) != len(other["spiking"][0]) or \
        not np.array_equal(first["spiking"][0], other["spiking"][0])


# NEST 3.10, iaf_psc_delta, one thread, all 12,500 neurons of state C: 38.11 Hz on the
# excitatory population over a long run, its population rate peaking at 125 Hz in
# 1 ms bins (benchmarks/README.md, "Brunel's network against NEST 3.10").
NEST_STATE_C_RATE = 38.11
NEST_STATE_C_PEAK = 125.0
# The accuracy targets: mean rate within 2%, spectrum peak within 10%.
RATE_TOLERANCE = 0.02
PEAK_TOLERANCE = 0.10


@pytest.mark.slow
def test_brunel_state_c_neuron_by_neuron_against_nest(tmp_path):
    """examples/brunel/network_direct.toml over 1.2 s (~70 s here), rate over 0.2-1.2 s
    (T_START, T_END as above). The statistical error over 1 s is ~0.1 Hz (time
    batches), so the 2% (0.76 Hz) is the issue's target, not noise. The peak of a 1 s
    spectrum moves by a few of its 3.9 Hz bins from one second to the next (measured
    on a 2 s run: 128.9 Hz over 0.2-1.2 s and over 0.2-2 s, 113.3 Hz over 1-2 s)."""
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "brunel" / "network_direct.toml"
    run_simulation(example, tmp_path / "out.h5", ["simulation.t_end=1.2"])
    with h5py.File(tmp_path / "out.h5") as f:
        times = f["spikes/e/timestamps"][()]
    rate, error = batch_rate(times, 10_000)
    assert abs(rate / NEST_STATE_C_RATE - 1) < RATE_TOLERANCE, (rate, error)
    bins = np.bincount(((times[times >= T_START] - T_START) / 1e-3).astype(int),
                       minlength=1000)[:1000] / (10_000 * 1e-3)
    # NEST's figure's method (benchmarks/nest_side, bench_brunel.rate_figures): Welch,
    # Hann windows of 256 bins of 1 ms, half overlap, the largest power above 5 Hz.
    frequency, power = signal.welch(bins - bins.mean(), fs=1e3, window="hann", nperseg=256,
                                    noverlap=128)
    above = frequency > 5.0
    peak = frequency[above][np.argmax(power[above])]
    assert abs(peak / NEST_STATE_C_PEAK - 1) < PEAK_TOLERANCE, peak


def test_a_spike_moves_the_dimension_it_names(tmp_path):
    """A spike into AdEx's w (dimension = "w"): two identical neurons without input, one
    of them listening; w differs by nothing before the arrival and by the jump, decayed
    with tau_w = 144 ms, at the first sample after it. The v coupling over < 0.1 ms
    moves w by 3e-6 pA (measured); 1e-4 of the 50 pA jump covers it and still sees an
    arrival moved by a seventh of a step (50 pA x 1.4e-5 s / tau_w)."""
    (tmp_path / "pacemaker.toml").write_text(model(**PACEMAKER))
    (tmp_path / "adex.toml").write_text('[model]\nkind = "adex"\n')
    text = edit_spike_file(SINGLE_SPIKE.format(dt=1e-4, delay=2.5e-3, integration=""))
    (tmp_path / "sim.toml").write_text(text)
    run_simulation(tmp_path / "sim.toml", tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5") as f:
        w = f["populations/target/samples/w"][()][:, 0]
        control = f["populations/control/samples/w"][()][:, 0]
        time = f["time"][()]
    arrival = FIRST_SPIKE + 2.5e-3
    before = time < arrival
    np.testing.assert_array_equal(w[before], control[before])
    first = np.argmax(~before)
    expected = 50.0 * np.exp(-(time[first] - arrival) / 0.144)
    assert abs(w[first] - control[first] - expected) < 1e-4 * 50.0


def edit_spike_file(text: str) -> str:
    """The single-spike file with an AdEx target, its jump in w, and an AdEx control."""
    text = text.replace('model = "listener.toml"\nn_neurons = 3\nrecord = [0, 1, 2]\n'
                        'initial = { v = 5.0 }', 'model = "adex.toml"\nn_neurons = 1\nrecord = [0]')
    text = text.replace("efficacy = 1.5", 'efficacy = 50.0\ndimension = "w"')
    assert text.count("adex.toml") == 1 and 'dimension = "w"' in text
    return text + ('[[population]]\nname = "control"\nmethod = "direct"\nmodel = "adex.toml"\n'
                   'n_neurons = 1\nrecord = [0]\n')
