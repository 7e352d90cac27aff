"""solver.initial_states: a distribution spread over cells and drawn for neurons.

Cell masses are compared with exact moments. On equal cells of width h the moments of
a smooth density's cell masses, taken at the cell centres, are Sheppard's: the mean
exact, the variance sigma^2 + h^2/12, both up to terms of order exp(-2 pi^2 sigma^2 /
h^2) (1e-85 at sigma = 10 h), so the tolerances below are rounding only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from .grid_as_polygons import grid_polygons
from meshgen.errors import ConfigError
from meshgen.regular_grid import Grid
from solver.distributions import parse_distribution
from solver.initial_states import (MIN_MASS_IN_RANGE, draw, grid_mass, interval_mass,
                                   polygon_mass)

# Sums of ~1000 cell masses in float64, relative.
ROUNDING = 1e-10
N = 200_000
Z = 5.0


def moments(mass, centres):
    mean = float(np.sum(mass * centres))
    return mean, float(np.sum(mass * (centres - mean) ** 2))


def equal_cells(lo, hi, n):
    edges = np.linspace(lo, hi, n + 1)
    return edges[:-1], edges[1:]


def place(text, lower, upper):
    return interval_mass(parse_distribution(text), lower, upper, "in the test range",
                         path="sim.toml", key="population.0.initial.v")


def test_cell_masses_of_a_normal_have_sheppards_moments():
    mu, sigma, h = -60.0, 4.0, 0.4
    lower, upper = equal_cells(mu - 10 * sigma, mu + 10 * sigma, 200)  # sigma = 10 h
    mass = place(f"normal({mu}, {sigma})", lower, upper)
    mean, variance = moments(mass, 0.5 * (lower + upper))
    assert mass.sum() == pytest.approx(1.0, rel=ROUNDING)
    assert abs(mean - mu) < ROUNDING * sigma * 100
    assert variance == pytest.approx(sigma**2 + h**2 / 12, rel=ROUNDING * 100)


def test_cells_of_unequal_widths_get_their_probability():
    """A uniform density gives each cell its share of the interval, whatever its width."""
    edges = np.array([-70.0, -69.0, -65.5, -65.4, -60.0, -50.0])
    mass = place("uniform(-70, -50)", edges[:-1], edges[1:])
    np.testing.assert_allclose(mass, np.diff(edges) / 20.0, rtol=ROUNDING)


def test_mass_outside_the_range_is_renormalised_away():
    """Conditioned on the mesh: a normal cut at its mean leaves the half-normal, of mean
    mu - sigma sqrt(2/pi), to Sheppard's accuracy (h = sigma / 100)."""
    mu, sigma = -50.0, 2.0
    lower, upper = equal_cells(mu - 12 * sigma, mu, 1200)
    mass = place(f"normal({mu}, {sigma})", lower, upper)
    mean, _ = moments(mass, 0.5 * (lower + upper))
    assert mass.sum() == pytest.approx(1.0, rel=ROUNDING)
    # The cut is not smooth: the centre rule's error there is O(h^2 f'(cut)) ~ 1e-5.
    assert mean == pytest.approx(mu - sigma * math.sqrt(2 / math.pi), abs=1e-4)


def test_a_distribution_mostly_off_the_mesh_is_refused():
    lower, upper = equal_cells(-70.0, -50.2, 100)
    with pytest.raises(ConfigError) as caught:
        place("normal(-40, 2)", lower, upper)
    assert str(caught.value).startswith("sim.toml [population.0.initial.v]: only ")
    assert f"at least {MIN_MASS_IN_RANGE:g} must" in caught.value.message
    # Just above the limit: 1.3% of normal(-45, 2.3) lies below -50.2.
    assert place("normal(-45, 2.3)", lower, upper).sum() == pytest.approx(1.0)


GRID = Grid(("v", "w"), ((-80.0, -40.0), (-50.0, 250.0)), (80, 60))


def grid_state(v, w):
    return {"v": parse_distribution(v), "w": parse_distribution(w)}


def test_a_grid_gets_the_product_of_its_axes_cut_at_the_threshold():
    threshold = -45.0
    mass = grid_mass(GRID, grid_state("uniform(-70, -40)", "normal(100, 40)"), threshold,
                     path="sim.toml", key_prefix="population.0.initial").reshape(60, 80)
    along_v = mass.sum(axis=0)
    # The first 20 cells lie below -70, the last 10 above the threshold.
    np.testing.assert_allclose(along_v[20:70], 1 / 50, rtol=ROUNDING)
    assert along_v[:20].sum() == 0.0 and along_v[70:].sum() == 0.0
    w_mean, w_variance = moments(mass.sum(axis=1), GRID.centres[1])
    h = GRID.widths[1]  # 5: sigma = 8 h
    # The range cuts the normal at +-a sigma, a = 3.75: what is left has the variance
    # sigma^2 (1 - 2 a phi(a) / (2 Phi(a) - 1)), and Sheppard adds h^2/12 to it, up to
    # the cuts, where the density jumps: of order (h/sigma)^2 a phi(a), 1e-5 relative.
    a = 3.75
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    kept = math.erf(a / math.sqrt(2))
    assert abs(w_mean - 100.0) < 1e-9
    assert w_variance == pytest.approx(40**2 * (1 - 2 * a * phi / kept) + h**2 / 12, rel=3e-5)
    assert np.allclose(mass, np.outer(mass.sum(axis=1), along_v))


def test_a_number_on_one_axis_is_the_cell_holding_it():
    mass = grid_mass(GRID, grid_state("uniform(-70, -50)", "12.3"), np.nan, path="sim.toml",
                     key_prefix="population.0.initial").reshape(60, 80)
    row = int(GRID.unravel(GRID.locate(-60.0, 12.3))[1])
    assert mass[row].sum() == pytest.approx(1.0) and mass.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("v, w", [("uniform(-70.3, -50.1)", "37.5"), ("-61.25", "normal(80, 30)"),
                                  ("-61.25", "uniform(0, 100)")])
def test_polygons_crossed_by_a_line_get_what_the_grid_gives(v, w):
    """A grid's cells listed as polygons (one corner padded, one added on an edge)
    are cut by the line of the variable given as a number exactly as the grid's axis
    is; a value on a cell edge goes to the cell above, as Grid.locate does."""
    state = grid_state(v, w)
    expected = grid_mass(GRID, state, np.nan, path="s", key_prefix="p")
    found = polygon_mass(grid_polygons(GRID), GRID.cell_centres(), GRID.variables, state,
                         path="s", key_prefix="p")
    np.testing.assert_allclose(found, expected, atol=1e-15)


def test_polygons_with_both_spread_take_the_density_at_their_centroid():
    """The centroid rule's error on a cell is (h_v^2 f_vv + h_w^2 f_ww) / 24 relative:
    here h / sigma = 0.2 and 0.17, so a few per mille, and the marginal moments keep
    Sheppard's values to that order."""
    state = grid_state("normal(-60, 2.5)", "normal(100, 30)")
    found = polygon_mass(grid_polygons(GRID), GRID.cell_centres(), GRID.variables, state,
                         path="s", key_prefix="p")
    exact = grid_mass(GRID, state, np.nan, path="s", key_prefix="p")
    assert found.sum() == pytest.approx(1.0, rel=ROUNDING)
    assert np.abs(found - exact).sum() < 5e-3
    for k, (mu, sigma) in enumerate(((-60.0, 2.5), (100.0, 30.0))):
        mean, variance = moments(found, GRID.cell_centres()[k])
        assert abs(mean - mu) < 1e-3 * sigma
        assert variance == pytest.approx(sigma**2 + GRID.widths[k] ** 2 / 12, rel=5e-3)


def test_polygons_refuse_a_distribution_off_their_cells():
    with pytest.raises(ConfigError, match="lies on the mesh's cells"):
        polygon_mass(grid_polygons(GRID), GRID.cell_centres(), GRID.variables,
                     grid_state("normal(-20, 2)", "normal(100, 30)"), path="s", key_prefix="p")


def test_draws_below_a_threshold_are_the_truncated_distribution():
    """normal(-52, 3) below -50: the mean of the truncated normal is
    mu - sigma phi(a) / Phi(a), a = 2/3; its standard error at most sigma / sqrt(N)."""
    d = parse_distribution("normal(-52, 3)")
    values = draw(d, np.random.default_rng(7), N, -50.0, path="s", key="k")
    a = 2 / 3
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    Phi = 0.5 * math.erfc(-a / math.sqrt(2))
    assert values.max() < -50.0 and len(values) == N
    assert abs(values.mean() - (-52 - 3 * phi / Phi)) < Z * 3 / math.sqrt(N)
    again = draw(d, np.random.default_rng(7), N, -50.0, path="s", key="k")
    assert (values == again).all()


def test_draws_without_a_bound_are_the_distribution_itself():
    d = parse_distribution("uniform(-70, -50)")
    values = draw(d, np.random.default_rng(7), 1000, None, path="s", key="k")
    assert (values == d.sample(np.random.default_rng(7), 1000)).all()


def test_draws_mostly_above_the_threshold_are_refused():
    with pytest.raises(ConfigError) as caught:
        draw(parse_distribution("uniform(-50, 0)"), np.random.default_rng(7), 10, -49.9,
             path="sim.toml", key="population.1.initial.v")
    assert str(caught.value) == ("sim.toml [population.1.initial.v]: only 0.002 of "
                                 "uniform(-50.0, 0.0) lies below the threshold (-49.9); at "
                                 "least 0.01 must")
