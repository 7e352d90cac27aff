"""meshgen.exploration: the region a population visits, against cases whose extent is
known, the ranges the rule makes of it, and the automatic resolution and dt that
meshgen.grid_defaults takes from it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from meshgen.exploration import (MARGIN_FRACTION, ExpectedInput, VisitedRegion, explore,
                                 ranges_from_region)
from meshgen.grid_defaults import (CELLS_PER_SPREAD, MAX_SPREAD_CELLS, STEPS_PER_INTERVAL,
                                   automatic_grid_dt, automatic_resolution)
from meshgen.model_file import read_model

LIF = """\
[model]
kind = "lif"
[model.parameters]
tau = 0.01
E_l = -65.0
[model.spike]
threshold = -50.2
reset = -65.0
refractory = 0.0
"""

ADEX = """\
[model]
kind = "adex"
[model.spike]
threshold = -40.4
reset = { v = -70.6, w = "w + b" }
"""


@pytest.fixture(scope="module")
def lif(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "lif.toml"
    path.write_text(LIF)
    return read_model(path)


@pytest.fixture(scope="module")
def adex(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "adex.toml"
    path.write_text(ADEX)
    return read_model(path)


def test_without_input_the_region_is_the_resting_state(lif, adex):
    """LIF starts at its reset, which is its rest: it never moves. AdEx starts at
    (V_r, 0) = (E_L, 0), next to its resting state (the exponential term moves it by
    g_L Delta_T exp(-10.1) / (g_L + a) ~ 7e-5 mV, and w by 3e-4 pA, with tau_w =
    144 ms): the relaxation stops within a hundredth of that, and nothing moves."""
    region = explore(lif, [])
    assert region.lower == region.upper == {"v": -65.0}
    assert region.settled and region.rest == {"v": -65.0}
    region = explore(adex, [])
    for name in ("v", "w"):
        assert region.upper[name] - region.lower[name] < 1e-5
        assert region.lower[name] == pytest.approx(region.rest[name], abs=1e-5)
    assert region.rest["v"] == pytest.approx(-70.6, abs=1e-4)
    assert region.rest["w"] == pytest.approx(0.0, abs=1e-3)


def test_excitatory_lif_input_stays_between_rest_and_threshold(lif):
    """Excitatory jumps from the rest (= reset): v never goes below E_l, and reaches
    the threshold (1000 Hz of 1 mV fires at 7.5 Hz)."""
    region = explore(lif, [ExpectedInput(1000.0, 1.0, "v")])
    assert region.lower["v"] == -65.0
    # Recorded after the reset of a crossing: up to the threshold, not beyond.
    assert -50.2 - 0.01 < region.upper["v"] <= -50.2
    assert region.settled


def test_inhibition_reaches_below_rest(lif):
    """Equal excitation and inhibition: v spreads both ways; its standard deviation is
    sqrt(rate h^2 tau / 2) = sqrt(2000 x 0.01 / 2) = 3.2 mV, so among a thousand
    neurons over half a second v goes well below rest."""
    region = explore(lif, [ExpectedInput(1000.0, 1.0, "v"), ExpectedInput(1000.0, -1.0, "v")])
    assert region.lower["v"] < -65.0 - 2 * 3.2
    ranges = ranges_from_region(lif, region, [ExpectedInput(1000.0, 1.0, "v")])
    assert ranges["v"][1] == -50.2 and ranges["v"][0] < region.lower["v"] - 1.0


def test_ranges_hold_the_envelope_the_reset_and_a_margin(adex):
    inputs = [ExpectedInput(3000.0, 1.0, "v")]
    region = explore(adex, inputs)
    ranges = ranges_from_region(adex, region, inputs)
    (v_lo, v_hi), (w_lo, w_hi) = ranges["v"], ranges["w"]
    assert v_hi == -40.4  # the threshold
    span_v = region.upper["v"] - region.lower["v"]
    assert v_lo <= region.lower["v"] - MARGIN_FRACTION * span_v - 1.0
    # w climbs with the resets (b = 80.5 pA per spike at ~21 Hz, tau_w = 144 ms).
    assert 400.0 < region.upper["w"] < 600.0
    # The reset of the highest w visited (w + b, b = 80.5 pA) is in range, with margin.
    assert w_hi >= region.upper["w"] + 80.5 + MARGIN_FRACTION * (region.upper["w"] + 80.5)
    assert w_lo < 0.0 <= region.lower["w"] + 1e-9
    # Rounded outward to fives (the widened span of w is in the hundreds).
    assert w_hi % 5 == 0 and w_lo % 5 == 0
    # A fixed seed: the same region again.
    again = explore(adex, inputs)
    assert again.upper == region.upper and again.lower == region.lower


def test_a_rarely_firing_population_keeps_the_first_reset_in_range(adex):
    """At 1000 Hz AdEx fires ~1e-4 Hz: the explored neurons may never spike, but the
    range of w must still hold w_rest + b, where the first spike resets it."""
    inputs = [ExpectedInput(1000.0, 1.0, "v")]
    region = explore(adex, inputs)
    ranges = ranges_from_region(adex, region, inputs)
    assert ranges["w"][1] >= region.rest["w"] + 80.5


def test_an_input_along_a_missing_variable_is_refused(adex):
    from meshgen.errors import MeshError
    with pytest.raises(MeshError, match="expected input along 'g'"):
        explore(adex, [ExpectedInput(100.0, 1.0, "g")])


# --- the automatic resolution and dt from a visited region (meshgen.grid_defaults) ------

def region_of(samples, firing_rate=0.0) -> VisitedRegion:
    samples = np.asarray(samples, dtype=float)
    names = ("v", "w")[:len(samples)]
    return VisitedRegion(lower=dict(zip(names, samples.min(axis=1))),
                         upper=dict(zip(names, samples.max(axis=1))), driven_seconds=1.0,
                         settled=True, n_neurons=samples.shape[1], samples=samples,
                         rest=dict(zip(names, samples[:, 0])), firing_rate=firing_rate)


def test_dt_is_a_tenth_of_the_time_scale_where_the_neurons_are(adex):
    """At AdEx's rest the Jacobian's largest eigenvalue is g_L / C = 106.8 /s (plus a
    little from the exponential): 0.1 / 106 s = 9.4e-4 s, rounded down to 5e-4 s."""
    at_rest = region_of(np.tile([[-70.6], [0.0]], 10))
    assert automatic_grid_dt(adex, at_rest) == 5e-4


def test_dt_resolves_the_interval_between_spikes(adex):
    """At 111 Hz a fortieth of the interval is 2.25e-4 s: rounded down to 2e-4 s."""
    firing = region_of(np.tile([[-70.6], [0.0]], 10), firing_rate=111.0)
    assert 2e-4 <= 1.0 / (STEPS_PER_INTERVAL * 111.0) < 5e-4
    assert automatic_grid_dt(adex, firing) == 2e-4


def test_an_axis_without_jumps_resolves_the_visited_density():
    """w (no jumps) over [0, 2]: samples with an interquartile range of 0.5 need 8 x 2 /
    0.5 = 32 cells, fewer than the default 100; an IQR of 0.01 needs 1,600, capped."""
    wide = region_of([np.linspace(-1, 1, 101), np.linspace(0.0, 1.0, 101)])
    narrow = region_of([np.linspace(-1, 1, 101), np.linspace(1.0, 1.02, 101)])
    ranges = ((-1.0, 1.0), (0.0, 2.0))
    efficacies = [("v", 0.1)]
    assert automatic_resolution(ranges, ("v", "w"), efficacies, region=wide) == (160, 100)
    assert automatic_resolution(ranges, ("v", "w"), efficacies, region=narrow) == \
        (160, MAX_SPREAD_CELLS)
    middle = region_of([np.linspace(-1, 1, 101), np.linspace(1.0, 1.1, 101)])
    assert automatic_resolution(ranges, ("v", "w"), efficacies, region=middle) == \
        (160, math.ceil(CELLS_PER_SPREAD * 2.0 / 0.05))
    # Without a region (no expected input) the default stands.
    assert automatic_resolution(ranges, ("v", "w"), efficacies) == (160, 100)


def test_the_spread_floor_stays_within_the_cost_budget():
    """A floor of 1,000 cells along w, 160 along v, at most 80,000 cells: 500 along w."""
    narrow = region_of([np.linspace(-1, 1, 101), np.linspace(1.0, 1.02, 101)])
    assert automatic_resolution(((-1.0, 1.0), (0.0, 2.0)), ("v", "w"), [("v", 0.1)],
                                region=narrow, max_cells=80_000) == (160, 500)
    # Never below the default.
    assert automatic_resolution(((-1.0, 1.0), (0.0, 2.0)), ("v", "w"), [("v", 0.1)],
                                region=narrow, max_cells=1_000) == (160, 100)
    # A resolution the user gave along v counts as given: 800 along v leave 100 along w.
    assert automatic_resolution(((-1.0, 1.0), (0.0, 2.0)), ("v", "w"), [("v", 0.1)],
                                region=narrow, max_cells=80_000, given=(800, None)) == (160, 100)
