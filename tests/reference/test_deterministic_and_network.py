"""Analytic limits of the density solver that need no Monte Carlo."""

from __future__ import annotations

import math

import numpy as np

from .density_runs import lif_density_run


def test_deterministic_lif_fires_at_the_analytic_rate(tmp_path):
    """No input, E_l above threshold: every neuron fires with period
    tau_ref + tau ln((E_l - v_r)/(E_l - theta)). The strip moves mass exactly one cell
    per step, so the period is exact up to the placement of the reset between cells
    (a fraction of a step, about 0.1% of the period here)."""
    tau, E_l, theta, v_r, refractory = 0.02, -40.0, -50.0, -65.0, 0.002
    period = refractory + tau * math.log((E_l - v_r) / (E_l - theta))
    time, rate, mass, _ = lif_density_run(
        tmp_path, tau=tau, E_l=E_l, threshold=theta, reset=v_r, refractory=refractory,
        lowest=-70.0, inputs=((1.0, 0.0),), t_end=1.0, v0=v_r)
    # Averaged over whole periods once the initial pulse has spread a little.
    window = time > 1.0 - 10 * period
    assert abs(rate[window].mean() * period - 1) < 0.01, (rate[window].mean(), 1 / period)
    assert np.max(np.abs(mass - 1)) < 1e-12


NETWORK = """
[simulation]
t_end = 0.4
[[population]]
name = "A"
mesh = "mesh.h5"
[[population]]
name = "B"
mesh = "mesh.h5"
[[input]]
name = "drive"
rate = 1000.0
[[input]]
name = "copy"
rate = {copy_rate}
[[connection]]
source = "drive"
target = "A"
efficacy = 1.0
[[connection]]
source = "A"
target = "B"
efficacy = 1.0
n_connections = 100
delay = {delay}
"""


def test_population_drives_another_through_a_delayed_connection(tmp_path):
    """B hears A as a Poisson input of 100 x A's rate, `delay` later. In the steady
    state B must fire as a population driven by that constant rate, and B's first
    input arrives exactly `delay` after A's first spikes."""
    import h5py

    from meshgen.build import build_mesh
    from solver.engine import run_simulation

    from .density_runs import LIF_MODEL

    (tmp_path / "model.toml").write_text(LIF_MODEL.format(
        tau=0.01, E_l=-65.0, threshold=-50.2, reset=-65.0, refractory=0.0, lowest=-70.0,
        efficacies=[1.0]))
    build_mesh(tmp_path / "model.toml", tmp_path / "mesh.h5")
    delay = 0.005
    (tmp_path / "net.toml").write_text(NETWORK.format(copy_rate=0.0, delay=delay))
    run_simulation(tmp_path / "net.toml", tmp_path / "net.h5")
    with h5py.File(tmp_path / "net.h5") as f:
        time = f["time"][()]
        rate_a = f["populations/A/rate"][()]
        rate_b = f["populations/B/rate"][()]
    steady_a = rate_a[time > 0.2].mean()
    # The same B, driven by a constant input at 100 x A's steady rate.
    (tmp_path / "copy.toml").write_text(
        NETWORK.format(copy_rate=100 * steady_a, delay=delay)
        .replace('source = "A"\ntarget = "B"', 'source = "copy"\ntarget = "B"')
        .replace("n_connections = 100", "n_connections = 1"))
    run_simulation(tmp_path / "copy.toml", tmp_path / "copy.h5")
    with h5py.File(tmp_path / "copy.h5") as f:
        copy_b = f["populations/B/rate"][()]
    assert abs(rate_b[time > 0.3].mean() / copy_b[time > 0.3].mean() - 1) < 1e-3
    # A longer delay shifts B's whole response by the difference: B rests until its
    # input arrives, so its rate is the same series, later by exactly that many steps.
    (tmp_path / "later.toml").write_text(NETWORK.format(copy_rate=0.0, delay=2 * delay))
    run_simulation(tmp_path / "later.toml", tmp_path / "later.h5")
    with h5py.File(tmp_path / "later.h5") as f:
        later_b = f["populations/B/rate"][()]
    shift = int(round(delay / (time[1] - time[0])))
    assert shift > 10
    np.testing.assert_allclose(later_b[shift:], rate_b[:-shift], rtol=1e-6, atol=1e-9)
    assert np.all(later_b[:shift] <= rate_b[:shift] + 1e-12)


QIF_MODEL = """
[model]
kind = "qif"
[model.parameters]
tau = {tau}
I = {I}
[model.spike]
threshold = {threshold}
reset = {reset}
refractory = 0.0
[mesh]
v_range = [{reset}, {threshold}]
efficacies = [0.5]
"""

QIF_SIMULATION = """
[simulation]
t_end = 1.0
[[population]]
name = "q"
mesh = "qif.h5"
initial = {{ v = {reset} }}
[[input]]
name = "silent"
rate = 0.0
[[connection]]
source = "silent"
target = "q"
efficacy = 0.5
"""


def test_deterministic_qif_fires_at_the_analytic_rate(tmp_path):
    """QIF with I > 0 and no input: tau dv/dt = v^2 + I takes
    T = tau/sqrt(I) (atan(theta/sqrt(I)) - atan(v_r/sqrt(I))) from reset to threshold."""
    import h5py

    from meshgen.build import build_mesh
    from solver.engine import run_simulation

    tau, drive, theta, v_r = 0.02, 1.0, 10.0, -10.0
    period = tau / math.sqrt(drive) * (math.atan(theta / math.sqrt(drive))
                                       - math.atan(v_r / math.sqrt(drive)))
    (tmp_path / "qif.toml").write_text(QIF_MODEL.format(tau=tau, I=drive, threshold=theta, reset=v_r))
    build_mesh(tmp_path / "qif.toml", tmp_path / "qif.h5")
    (tmp_path / "sim.toml").write_text(QIF_SIMULATION.format(reset=v_r))
    run_simulation(tmp_path / "sim.toml", tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5") as f:
        time, rate = f["time"][()], f["populations/q/rate"][()]
        mass = f["populations/q/mass"][()]
    window = time > 1.0 - 10 * period
    assert abs(rate[window].mean() * period - 1) < 0.01, (rate[window].mean(), 1 / period)
    assert np.max(np.abs(mass - 1)) < 1e-12
