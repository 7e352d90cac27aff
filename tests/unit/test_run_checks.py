"""solver.checks: the run-time checks of 2D populations, on densities and rates whose
verdict is known by hand (the clamped mass is checked end to end in
tests/reference/test_clamped_mass.py and tests/cli/test_cli_clamping.py)."""

from __future__ import annotations

import numpy as np

from solver.checks import (MIN_CELLS_ACROSS_SPREAD, MIN_STEPS_PER_INTERVAL, spread_warnings,
                           steps_warning)

# A 10 x 10 grid of unit cells over [0, 10] x [0, 10], cells numbered v fastest.
CENTRES = (np.tile(np.arange(10) + 0.5, 10), np.repeat(np.arange(10) + 0.5, 10))
WIDTHS = (1.0, 1.0)
RANGES = ((0.0, 10.0), (0.0, 10.0))


def density_in_rows(rows) -> np.ndarray:
    """Equal mass in every cell of the given w rows."""
    mass = np.zeros(100)
    for row in rows:
        mass[row * 10:(row + 1) * 10] = 1.0
    return mass / mass.sum()


def test_a_density_a_few_cells_wide_along_w_warns():
    """Mass in rows 4 and 5: the quartiles are the centres 4.5 and 5.5, one cell apart."""
    found = spread_warnings("p", density_in_rows([4, 5]), CENTRES, WIDTHS, RANGES, ("v", "w"),
                            {"v"})
    assert found == [
        "population 'p': its final density spans 1 cells of w across its interquartile "
        f"range, fewer than {MIN_CELLS_ACROSS_SPREAD}; the 2D methods diffuse such a narrow "
        "density (FitzHugh-Nagumo's w: mean v 0.04 off with 4 cells): re-mesh with about 80 "
        "cells along w (mesh.resolution.w), or with [mesh] expected_input"]


def test_a_wide_density_or_an_axis_with_jumps_does_not():
    """Rows 1 to 7: quartiles at the centres 2.5 and 6.5, four cells, warn; all ten
    rows: 2.5 and 7.5, five cells, the threshold, do not. Along v (which has jumps)
    nothing is checked."""
    assert MIN_CELLS_ACROSS_SPREAD == 5
    assert len(spread_warnings("p", density_in_rows(range(1, 8)), CENTRES, WIDTHS, RANGES,
                               ("v", "w"), {"v"})) == 1
    assert spread_warnings("p", density_in_rows(range(10)), CENTRES, WIDTHS, RANGES,
                           ("v", "w"), {"v"}) == []
    assert spread_warnings("p", density_in_rows([4, 5]), CENTRES, WIDTHS, RANGES, ("v", "w"),
                           {"v", "w"}) == []


def test_steps_per_interval_between_spikes():
    """At 100 Hz an interval is 10 ms: 19 steps of 1/1900 s warn, 20 do not."""
    assert MIN_STEPS_PER_INTERVAL == 20
    assert steps_warning("p", 100.0, 1.0 / 1900) is not None
    assert steps_warning("p", 100.0, 1.0 / 2000) is None
    assert steps_warning("p", 0.0, 1.0) is None
