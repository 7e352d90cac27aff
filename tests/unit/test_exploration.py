"""meshgen.exploration: the region a population visits, against cases whose extent is
known, and the ranges the rule makes of it."""

from __future__ import annotations

import numpy as np
import pytest

from meshgen.exploration import (MARGIN_FRACTION, ExpectedInput, explore,
                                 ranges_from_region)
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
    assert w_hi >= region.upper["w"] + MARGIN_FRACTION * region.upper["w"]
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
