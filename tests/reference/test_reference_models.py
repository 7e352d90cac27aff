"""The ground-truth models: Siegert formula and exact event-driven Monte Carlo of LIF.

Potentials are in volts and times in seconds, as everywhere inside the project.
Monte Carlo comparisons are stated in standard errors (SE) from independent batches;
seeds are fixed, so every test is deterministic.
"""

import math

import numpy as np
import pytest

from tests.support.reference.event_driven_lif import (
    lif_event_driven_rate,
    number_of_bins,
    simulate_lif_event_driven,
)
from tests.support.reference.siegert import (
    lif_diffusion_parameters,
    lif_siegert_rate,
    siegert_rate,
)

MV = 1e-3  # volts per millivolt
MS = 1e-3  # seconds per millisecond

# --- tolerances, each with its reason ------------------------------------------------
# The published check value has 9 significant digits; quad resolves the integral to 1e-10.
SIEGERT_CHECK_VALUE_TOLERANCE = 1e-6
# Two estimates that should agree differ by chance by more than 3 SE in 0.3% of seeds.
MONTE_CARLO_SIGMAS = 3.0
# Two independent Monte Carlo runs are compared at 4 combined SE: the comparison is
# made several times per test, and a looser bound still catches any real mismatch here
# (the effects tested are tens of SE).
MONTE_CARLO_SIGMAS_TWO_RUNS = 4.0
# For the public case we want a test with power: an SE below 0.5% of the rate resolves
# the finite-jump correction to the diffusion limit (15%) many times over.
PUBLIC_CASE_MAX_RELATIVE_SE = 0.005
# The public-case Siegert rate is quoted as "about 6.37 Hz".
PUBLIC_CASE_SIEGERT_TOLERANCE = 0.01
# h = 0.05 mV against sigma = 2 mV: the finite-jump correction to Siegert (a threshold
# shift of order 0.6 h, Siegmund's overshoot correction) is ~0.5% here, measured 0.05%
# to 0.5%; 2% leaves room for it plus 3 SE.
SMALL_JUMP_TOLERANCE = 0.02
# The small-jump run must resolve that tolerance: 3 SE + 0.5% correction < 2%.
SMALL_JUMP_MAX_RELATIVE_SE = 0.005
# Supra-threshold drive with sigma = 0.35 mV: Siegert puts the noise correction at 0.09%,
# jumps of 5 uV overshoot threshold by < 20 us of a 24 ms interval (0.08%), SE ~0.03%.
DETERMINISTIC_LIMIT_TOLERANCE = 0.005

# --- the public case: LIF with 1 mV jumps at 1000 Hz -----------------------------------
PUBLIC_TAU = 10 * MS
PUBLIC_E_L = -65 * MV
PUBLIC_RESET = -65 * MV
PUBLIC_THRESHOLD = -50.2 * MV
PUBLIC_EFFICACY = 1 * MV
PUBLIC_INPUT_RATE = 1000.0
# Stationary rate of the public case. Two independent methods agree: the stationary
# density of fixed-size shot noise solved as a delay ODE by the method of steps
# (7.50164 Hz, reset = E_l makes the reset a point mass, solve_ivp at rtol 1e-13), and
# 3.2e7 neuron-seconds of this Monte Carlo (7.50162 +- 0.00065 Hz). A value of
# 7.463 Hz that has circulated for this case is ~60 SE away from both.
PUBLIC_CASE_RATE_HZ = 7.5016
PUBLIC_CASE_SIEGERT_HZ = 6.37


def public_case_rate(input_rates, t_warmup, t_end, n_neurons, seed, rate_times=None):
    return lif_event_driven_rate(
        PUBLIC_TAU, PUBLIC_E_L, PUBLIC_THRESHOLD, PUBLIC_RESET, 0.0,
        [PUBLIC_EFFICACY], input_rates, t_warmup, t_end, n_neurons,
        rate_times=rate_times, seed=seed,
    )


def assert_agree(first, second, sigmas):
    """Two Monte Carlo estimates (rate, SE) agree within `sigmas` combined SE."""
    difference = abs(first[0] - second[0])
    combined_se = math.hypot(first[1], second[1])
    assert difference <= sigmas * combined_se, (
        f"{first[0]:.4f} +- {first[1]:.4f} Hz vs {second[0]:.4f} +- {second[1]:.4f} Hz"
    )


# --- Siegert -----------------------------------------------------------------------------


def test_siegert_matches_published_check_value():
    rate = siegert_rate(mu=15.0, sigma=math.sqrt(1.5), tau=10 * MS, threshold=15.0,
                        reset=0.0, refractory=2 * MS)
    assert rate == pytest.approx(27.1095934, rel=SIEGERT_CHECK_VALUE_TOLERANCE)


def test_diffusion_parameters_sum_over_inputs():
    mu, sigma = lif_diffusion_parameters(20 * MS, [0.1 * MV, -0.5 * MV], [4000.0, 400.0])
    assert mu == pytest.approx(20 * MS * (4000 * 0.1 - 400 * 0.5) * MV, rel=1e-12)
    assert sigma == pytest.approx(
        math.sqrt(20 * MS * (4000 * 0.01 + 400 * 0.25)) * MV, rel=1e-12
    )


def test_siegert_without_noise_is_the_deterministic_lif_rate():
    tau, refractory, threshold, reset = 10 * MS, 2 * MS, 15.0, 0.0
    expected = 1.0 / (refractory + tau * math.log((20.0 - reset) / (20.0 - threshold)))
    assert siegert_rate(20.0, 0.0, tau, threshold, reset, refractory) == pytest.approx(
        expected, rel=1e-12
    )
    # The noisy formula converges to it: the correction is second order in sigma.
    assert siegert_rate(20.0, 1e-3, tau, threshold, reset, refractory) == pytest.approx(
        expected, rel=1e-7
    )
    assert siegert_rate(14.0, 0.0, tau, threshold, reset, refractory) == 0.0


def test_siegert_far_below_threshold_underflows_to_zero_not_an_error():
    rate = siegert_rate(-20.0, 1.0, 10 * MS, 15.0, 0.0)
    assert rate == 0.0


def test_siegert_in_absolute_potentials_matches_the_public_case():
    rate = lif_siegert_rate(PUBLIC_TAU, PUBLIC_E_L, PUBLIC_THRESHOLD, PUBLIC_RESET, 0.0,
                            [PUBLIC_EFFICACY], [PUBLIC_INPUT_RATE])
    assert rate == pytest.approx(PUBLIC_CASE_SIEGERT_HZ, rel=PUBLIC_CASE_SIEGERT_TOLERANCE)


@pytest.mark.parametrize(
    "keyword, value",
    [("tau", float("nan")), ("tau", -1.0), ("sigma", -0.1), ("reset", 20.0)],
)
def test_siegert_rejects_bad_arguments(keyword, value):
    arguments = dict(mu=10.0, sigma=1.0, tau=0.01, threshold=15.0, reset=0.0)
    arguments[keyword] = value
    with pytest.raises(ValueError, match=keyword):
        siegert_rate(**arguments)


# --- event-driven Monte Carlo --------------------------------------------------------------


def test_public_case_monte_carlo_rate():
    result = public_case_rate([PUBLIC_INPUT_RATE], t_warmup=0.5, t_end=5.5,
                              n_neurons=500, seed=2024)
    assert result.standard_error_hz < PUBLIC_CASE_MAX_RELATIVE_SE * result.rate_hz
    assert abs(result.rate_hz - PUBLIC_CASE_RATE_HZ) <= MONTE_CARLO_SIGMAS * (
        result.standard_error_hz
    ), f"{result.rate_hz} +- {result.standard_error_hz} Hz"


@pytest.mark.slow
def test_small_jumps_approach_siegert_in_the_fluctuation_driven_regime():
    # Brunel (2000) neuron; excitation and inhibition of 0.05 mV with rates chosen for
    # mu = 19 mV < threshold 20 mV and sigma = 2 mV.
    tau, threshold, reset, refractory = 20 * MS, 20 * MV, 10 * MV, 2 * MS
    jump, mu, sigma = 0.05 * MV, 19 * MV, 2 * MV
    total_rate = sigma**2 / (tau * jump**2)
    net_rate = mu / (tau * jump)
    efficacies = [jump, -jump]
    rates = [(total_rate + net_rate) / 2, (total_rate - net_rate) / 2]

    expected = lif_siegert_rate(tau, 0.0, threshold, reset, refractory, efficacies, rates)
    result = lif_event_driven_rate(tau, 0.0, threshold, reset, refractory, efficacies,
                                   rates, t_warmup=0.1, t_end=1.1, n_neurons=150,
                                   seed=19)
    assert result.standard_error_hz < SMALL_JUMP_MAX_RELATIVE_SE * result.rate_hz
    assert result.rate_hz == pytest.approx(expected, rel=SMALL_JUMP_TOLERANCE)


def test_tiny_supra_threshold_jumps_approach_the_deterministic_lif_rate():
    tau, threshold, reset, refractory = 20 * MS, 20 * MV, 10 * MV, 2 * MS
    jump, mu = 5e-3 * MV, 25 * MV  # sigma = sqrt(mu * jump) = 0.35 mV
    input_rate = mu / (tau * jump)
    deterministic = 1.0 / (refractory + tau * math.log((mu - reset) / (mu - threshold)))
    # Neurons start in phase; 10 s per neuron lets the noise spread the phases so that
    # counting whole spikes in the window adds no bias.
    result = lif_event_driven_rate(tau, 0.0, threshold, reset, refractory, [jump],
                                   [input_rate], t_warmup=1.0, t_end=11.0, n_neurons=2,
                                   seed=25)
    assert result.rate_hz == pytest.approx(deterministic, rel=DETERMINISTIC_LIMIT_TOLERANCE)


def test_leak_above_threshold_fires_periodically_without_input():
    # E_l above threshold: the leak alone carries v from reset to threshold, every
    # refractory + tau ln((E_l - reset)/(E_l - threshold)) seconds. No randomness at all.
    tau, E_l, threshold, reset, refractory = 10 * MS, -40 * MV, -50 * MV, -65 * MV, 2 * MS
    first_spike = tau * math.log((E_l - reset) / (E_l - threshold))
    period = refractory + first_spike
    t_end, n_neurons = 1.0, 3
    expected_per_neuron = math.floor((t_end - first_spike) / period) + 1  # 89, not near an edge
    counts = simulate_lif_event_driven(
        tau, E_l, threshold, reset, refractory, -np.inf, np.array([1 * MV]), np.zeros(1),
        np.zeros((1, 1)), reset, t_end, n_neurons, 1 * MS, 0,
    )
    assert counts.sum() == n_neurons * expected_per_neuron
    first_bin = int(first_spike / (1 * MS))
    assert counts[first_bin] == n_neurons and counts[:first_bin].sum() == 0


def test_input_switched_off_at_a_rate_boundary_stops_firing_exactly():
    # Strong input in [0, 0.5 s), none afterwards: with E_l below threshold no spike
    # may follow the switch, which tests the exact hand-over at the boundary.
    result = public_case_rate([[5000.0], [0.0]], t_warmup=0.5, t_end=1.0, n_neurons=50,
                              seed=3, rate_times=[0.0, 0.5])
    before = result.bin_edges_s[1:] <= 0.5
    assert result.population_rate_hz[before].sum() > 0
    assert result.population_rate_hz[~before].sum() == 0
    assert result.rate_hz == 0.0


def test_rate_step_relaxes_to_the_steady_rate_of_the_new_input():
    step = public_case_rate([[800.0], [1200.0]], t_warmup=0.7, t_end=1.5, n_neurons=500,
                            seed=11, rate_times=[0.0, 0.5])
    steady_high = public_case_rate([1200.0], t_warmup=0.2, t_end=1.2, n_neurons=500, seed=12)
    steady_low = public_case_rate([800.0], t_warmup=0.2, t_end=1.2, n_neurons=500, seed=13)

    # The two rates differ by ~20x, so agreement below is not a coincidence of noise.
    assert steady_high.rate_hz > 10 * steady_low.rate_hz
    assert_agree(step.window_rate(0.2, 0.5), (steady_low.rate_hz, steady_low.standard_error_hz),
                 MONTE_CARLO_SIGMAS_TWO_RUNS)
    assert_agree((step.rate_hz, step.standard_error_hz),
                 (steady_high.rate_hz, steady_high.standard_error_hz),
                 MONTE_CARLO_SIGMAS_TWO_RUNS)
    # The time series is on the bin grid, one value per bin.
    assert step.population_rate_hz.shape == (1500,)
    assert step.bin_centres_s[0] == pytest.approx(0.5 * MS)


def test_spikes_of_one_neuron_are_separated_by_more_than_the_refractory_period():
    # Strong excitation plus inhibition with a floor at reset: the neuron fires as soon
    # as it leaves refractoriness, the case most likely to break the dead time.
    tau, E_l, threshold, reset, refractory = 10 * MS, -65 * MV, -50 * MV, -65 * MV, 5 * MS
    efficacies = np.array([4 * MV, -2 * MV])
    rates = np.array([[20000.0, 5000.0]])
    t_end = 20.0
    counts = simulate_lif_event_driven(
        tau, E_l, threshold, reset, refractory, reset, efficacies, np.zeros(1), rates,
        reset, t_end, 1, refractory, 7,
    )
    # In bins one refractory period wide a neuron can fire at most once.
    assert counts.max() == 1
    mean_interval = t_end / counts.sum()
    assert refractory < mean_interval < 2 * refractory  # and it is near the dead time


def test_inhibition_alone_never_fires_even_with_a_floor_at_reset():
    counts = simulate_lif_event_driven(
        10 * MS, -65 * MV, -50 * MV, -65 * MV, 2 * MS, -65 * MV, np.array([-1 * MV]),
        np.zeros(1), np.array([[5000.0]]), -51 * MV, 2.0, 100, 1 * MS, 1,
    )
    assert counts.sum() == 0


def test_a_floor_at_reset_raises_the_rate_under_balanced_input():
    # Clamping after inhibitory jumps keeps v higher than without the floor; with mu =
    # 5 mV and sigma = 6.7 mV v spends much time below reset, so the floor matters (~17%).
    arguments = (10 * MS, -65 * MV, -50.2 * MV, -65 * MV, 0.0, [1 * MV, -1 * MV],
                 [2500.0, 2000.0], 0.2, 1.2, 300)
    floored = lif_event_driven_rate(*arguments, v_min=-65 * MV, seed=1)
    free = lif_event_driven_rate(*arguments, seed=2)
    difference = floored.rate_hz - free.rate_hz
    combined_se = math.hypot(floored.standard_error_hz, free.standard_error_hz)
    assert difference > MONTE_CARLO_SIGMAS_TWO_RUNS * combined_se


def test_same_seed_gives_identical_counts_and_different_seeds_differ():
    arguments = ([PUBLIC_INPUT_RATE], 0.1, 0.5, 50)
    first = public_case_rate(*arguments, seed=5)
    again = public_case_rate(*arguments, seed=5)
    other = public_case_rate(*arguments, seed=6)
    np.testing.assert_array_equal(first.batch_spike_counts, again.batch_spike_counts)
    assert not np.array_equal(first.batch_spike_counts, other.batch_spike_counts)
    # The batches inside one run are independent too.
    assert len({tuple(row) for row in first.batch_spike_counts}) == first.n_batches


def test_result_does_not_depend_on_the_number_of_threads():
    arguments = (PUBLIC_TAU, PUBLIC_E_L, PUBLIC_THRESHOLD, PUBLIC_RESET, 0.0,
                 [PUBLIC_EFFICACY], [PUBLIC_INPUT_RATE], 0.1, 0.5, 50)
    serial = lif_event_driven_rate(*arguments, n_batches=4, seed=8, max_workers=1)
    threaded = lif_event_driven_rate(*arguments, n_batches=4, seed=8, max_workers=2)
    np.testing.assert_array_equal(serial.batch_spike_counts, threaded.batch_spike_counts)


def test_bin_count_forgives_rounding_in_the_division():
    assert number_of_bins(1.1, 0.1) == 11  # 1.1 / 0.1 = 11.000000000000002
    assert number_of_bins(1.05, 0.1) == 11
    assert number_of_bins(1.0, 1e-3) == 1000


@pytest.mark.parametrize(
    "keyword, value",
    [
        ("tau", -0.01),
        ("refractory", float("nan")),
        ("reset", -40 * MV),
        ("rates", [-1.0]),
        ("rate_times", [0.1]),
        ("v0", -40 * MV),
        ("v_min", -60 * MV),
        ("t_warmup", 2.0),
        ("bin_width", 0.0),
        ("n_neurons", 0),
        ("n_batches", 1),
        ("seed", -1),
    ],
)
def test_event_driven_rate_rejects_bad_arguments(keyword, value):
    arguments = dict(
        tau=PUBLIC_TAU, E_l=PUBLIC_E_L, threshold=PUBLIC_THRESHOLD, reset=PUBLIC_RESET,
        refractory=0.0, efficacies=[PUBLIC_EFFICACY], rates=[PUBLIC_INPUT_RATE],
        t_warmup=0.1, t_end=1.0, n_neurons=10,
    )
    arguments[keyword] = value
    with pytest.raises(ValueError, match=keyword):
        lif_event_driven_rate(**arguments)
