"""The density solver against exact references: the event-driven Monte Carlo of the
same neurons (finite jumps) and the Siegert formula (small jumps).

Each case states its tolerance and why. Monte Carlo runs are sized so that their
standard error is well below the tolerance, so the tests have power.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.reference import lif_event_driven_rate, lif_siegert_rate

from .density_runs import lif_density_run, steady_rate

# The public case's exact rate: 7.5016 Hz (our event-driven Monte Carlo, 7.50162 +-
# 0.00065 Hz, and the delay-ODE stationary density; README "Accuracy"). The 7.463 Hz
# first quoted for it is 0.5% low; MIIND 1.0.21 accepts 8.75-8.78.
PUBLIC_CASE_RATE = 7.5016
# Required of the default mesh: within 1% of it.
PUBLIC_CASE_TOLERANCE = 0.01
# Our own cases: within 1% of our Monte Carlo, or 3 of its standard errors if larger.
RELATIVE_TOLERANCE = 0.01
STANDARD_ERRORS = 3.0
# Mass is conserved by construction (column-stochastic matrices, exact moves); only
# rounding is left, about 1e-16 per step.
MASS_TOLERANCE = 1e-12


def assert_agrees(density: float, reference, label: str) -> None:
    allowed = max(RELATIVE_TOLERANCE * reference.rate_hz, STANDARD_ERRORS * reference.standard_error_hz)
    assert abs(density - reference.rate_hz) <= allowed, (
        f"{label}: density {density:.5g} Hz, Monte Carlo {reference.rate_hz:.5g} "
        f"+- {reference.standard_error_hz:.2g} Hz (allowed difference {allowed:.3g})")


def test_public_case_default_mesh(tmp_path):
    time, rate, mass, _ = lif_density_run(tmp_path)
    result = steady_rate(time, rate, 0.5)
    assert abs(result / PUBLIC_CASE_RATE - 1) < PUBLIC_CASE_TOLERANCE, result
    assert np.max(np.abs(mass - 1.0)) < MASS_TOLERANCE
    assert np.all(rate >= 0)


def test_public_case_against_monte_carlo(tmp_path):
    time, rate, _, _ = lif_density_run(tmp_path)
    reference = lif_event_driven_rate(0.01, -65.0, -50.2, -65.0, 0.0, [1.0], [1000.0],
                                      t_warmup=0.2, t_end=5.2, n_neurons=2000, n_batches=8, seed=3)
    assert reference.standard_error_hz < 0.003 * reference.rate_hz
    assert_agrees(steady_rate(time, rate, 0.5), reference, "public case")


CASES = {
    # label: model keyword arguments, inputs ((efficacy mV, rate Hz), ...), MC neurons x seconds
    "suprathreshold with refractory": (dict(refractory=0.002), ((1.0, 3000.0),), 400, 3.0),
    "refractory 5 ms": (dict(refractory=0.005), ((1.0, 1400.0),), 1000, 4.0),
    "excitation and inhibition": (dict(lowest=-75.0), ((1.0, 2500.0), (-1.0, 1000.0)), 1000, 4.0),
    "reset below rest": (dict(reset=-70.0, lowest=-72.0, refractory=0.001), ((1.0, 1100.0),),
                         2000, 4.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", list(CASES))
def test_steady_rate_against_monte_carlo(tmp_path, label):
    model, inputs, neurons, seconds = CASES[label]
    time, rate, mass, _ = lif_density_run(tmp_path, inputs=inputs, **model)
    args = {"tau": 0.01, "E_l": -65.0, "threshold": -50.2, "reset": -65.0, "refractory": 0.0}
    args.update({k: v for k, v in model.items() if k in args})
    reference = lif_event_driven_rate(
        args["tau"], args["E_l"], args["threshold"], args["reset"], args["refractory"],
        [h for h, _ in inputs], [r for _, r in inputs], t_warmup=0.2, t_end=0.2 + seconds,
        n_neurons=neurons, n_batches=8, seed=11, v_min=model.get("lowest", -np.inf))
    assert_agrees(steady_rate(time, rate, 0.5), reference, label)
    assert np.max(np.abs(mass - 1.0)) < MASS_TOLERANCE


@pytest.mark.slow
def test_rare_firing_against_monte_carlo(tmp_path):
    """Below 0.1 Hz, where MIIND's coarse default meshes overestimate rates tenfold."""
    time, rate, _, _ = lif_density_run(tmp_path, inputs=((1.0, 600.0),), t_end=1.0)
    density = steady_rate(time, rate, 0.5)
    reference = lif_event_driven_rate(0.01, -65.0, -50.2, -65.0, 0.0, [1.0], [600.0],
                                      t_warmup=0.1, t_end=20.1, n_neurons=4000, n_batches=8,
                                      seed=5)
    assert reference.rate_hz < 0.1
    # A rare rate has a large relative standard error: 3 of them, or 5%.
    allowed = max(0.05 * reference.rate_hz, STANDARD_ERRORS * reference.standard_error_hz)
    assert abs(density - reference.rate_hz) <= allowed, (density, reference.rate_hz,
                                                         reference.standard_error_hz)


@pytest.mark.slow
def test_step_change_transient_against_monte_carlo(tmp_path):
    """A step of input at 0.3 s: the transient, not only the steady state."""
    step_time, low, high = 0.3, 1000.0, 1500.0
    time, rate, _, _ = lif_density_run(tmp_path, inputs=((1.0, f"{low} + {high - low}*(t > {step_time})"),),
                                       t_end=0.5)
    bin_width = 0.005
    reference = lif_event_driven_rate(0.01, -65.0, -50.2, -65.0, 0.0, [1.0], [[low], [high]],
                                      rate_times=[0.0, step_time], t_warmup=0.0, t_end=0.5,
                                      n_neurons=20000, n_batches=8, seed=9, bin_width=bin_width)
    edges = reference.bin_edges_s
    dt = time[1] - time[0]
    binned = np.array([rate[(time - dt / 2 >= a) & (time - dt / 2 < b)].mean()
                       for a, b in zip(edges[:-1], edges[1:])])
    mc = reference.population_rate_hz
    peak = mc.max()
    rms = np.sqrt(np.mean((binned - mc) ** 2))
    # Monte Carlo noise per 5 ms bin with 160,000 neurons is ~1% of the peak; the
    # density transient must match within 3% of the peak rate, RMS over bins.
    assert rms < 0.03 * peak, (rms, peak)
    after = (edges[:-1] >= step_time) & (edges[:-1] < step_time + 0.05)
    assert binned[after].max() > 1.5 * binned[(edges[:-1] > 0.2) & (edges[:-1] < step_time)].mean()


def test_small_jumps_against_siegert(tmp_path):
    """The diffusion limit: many small jumps. Siegert is exact only as h -> 0; at
    h = 0.1 mV the finite-jump correction here is 0.6% (Monte Carlo 17.74 +- 0.01 Hz
    against Siegert 17.86 Hz), inside the 2% tolerance. Cells of h/4 suffice for this
    comparison (h/4 to h/8 agree within 0.1%) and keep the test short."""
    h, nu = 0.1, 14000.0  # mu = tau nu h = 14 mV, sigma^2 = tau nu h^2 = 1.4 mV^2
    time, rate, _, _ = lif_density_run(tmp_path, inputs=((h, nu),), t_end=0.15, refractory=0.002,
                                       mesh_overrides=["mesh.cells_per_efficacy=4"])
    expected = lif_siegert_rate(0.01, -65.0, -50.2, -65.0, 0.002, [h], [nu])
    result = steady_rate(time, rate, 0.1)
    assert abs(result / expected - 1) < 0.02, (result, expected)
