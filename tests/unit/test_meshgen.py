"""Mesh building blocks against slow, obvious references."""

from __future__ import annotations

import numpy as np
import pytest

from meshgen.cells import split_between_cells
from meshgen.errors import ConfigError
from meshgen.expressions import compile_expression, parse_equation
from meshgen.strips_1d import THRESHOLD, build_strip_mesh
from meshgen.tomlconfig import apply_overrides
from meshgen.transitions_1d import jump_tiling, transition_matrix

TAU, E_L, THETA, LOWEST = 0.01, -65.0, -50.2, -70.0
DT = 1e-4


def lif_drift(v):
    return (E_L - v) / TAU


@pytest.fixture(scope="module")
def lif_mesh():
    return build_strip_mesh(lif_drift, LOWEST, THETA, DT, stationary_width=0.1, max_cells=10**6,
                            jump_interval=2)


def test_strip_points_follow_the_exact_lif_solution(lif_mesh):
    """Consecutive mesh points are one dt apart on v(t) = E + (v0 - E) exp(-t/tau)."""
    first, length = lif_mesh.strip_first[1], lif_mesh.strip_length[1]
    upper = lif_mesh.upper[first:first + length]  # decaying strip from threshold
    expected = E_L + (THETA - E_L) * np.exp(-np.arange(length) * DT / TAU)
    np.testing.assert_allclose(upper, expected, rtol=0, atol=1e-9)
    assert lif_mesh.strip_terminal[1] != THRESHOLD
    assert lif_mesh.fixed_points == ((pytest.approx(E_L, abs=1e-12), True),)


def test_cells_tile_the_range_without_overlap(lif_mesh):
    order = np.argsort(lif_mesh.lower)
    lower, upper = lif_mesh.lower[order], lif_mesh.upper[order]
    assert lower[0] == LOWEST and upper[-1] == pytest.approx(THETA, abs=1e-12)
    np.testing.assert_allclose(lower[1:], upper[:-1], atol=1e-12)


def slow_overlap_matrix(sources, targets, target_ids, size, h, lowest, threshold):
    """Cell by cell, piece by piece: the reference for transition_matrix."""
    dense = np.zeros((size, size))
    fired = np.zeros(size)
    for j, (a, b) in enumerate(sources):
        width = b - a
        for lo, hi in [(a, b)]:
            part_above = max(0.0, hi - max(lo, threshold))
            dense[j, j] += part_above / width  # fires by drift: stays in its cell
            lo, hi = max(lo, lowest), min(hi, threshold)
            lo, hi = lo + h, hi + h
            fired[j] += max(0.0, hi - max(lo, threshold)) / width
            below = max(0.0, min(hi, lowest) - lo)
            dense[target_ids[0], j] += below / width
            for (t_lo, t_hi), row in zip(targets, target_ids):
                overlap = min(hi, t_hi, threshold) - max(lo, t_lo, lowest)
                if overlap > 0:
                    dense[row, j] += overlap / width
    return dense, fired


@pytest.mark.parametrize("efficacy", [1.0, 0.37, -1.0, -3.3, 20.0])
def test_transition_matrix_matches_slow_overlap(lif_mesh, efficacy):
    tiling = jump_tiling(lif_mesh)
    matrix = transition_matrix(tiling, efficacy, LOWEST, THETA)
    size = len(tiling.source_lower)
    dense = np.zeros((size, size))
    for column in range(size):
        for k in range(matrix.indptr[column], matrix.indptr[column + 1]):
            dense[matrix.indices[k], column] += matrix.data[k]
    targets = list(zip(tiling.boundaries[:-1], tiling.boundaries[1:]))
    sources = list(zip(tiling.source_lower, tiling.source_upper))
    reference, fired = slow_overlap_matrix(sources, targets, tiling.target, size, efficacy,
                                           LOWEST, THETA)
    np.testing.assert_allclose(dense, reference, atol=1e-12)
    np.testing.assert_allclose(matrix.threshold_fraction, fired, atol=1e-12)
    np.testing.assert_allclose(dense.sum(axis=0) + matrix.threshold_fraction, 1.0, atol=1e-14)
    assert (matrix.data >= 0).all()


def test_entry_gaps_feed_cells_reached_by_the_end_of_the_block(lif_mesh):
    tiling = jump_tiling(lif_mesh)
    # jump_interval 2: one gap per strip, feeding the strip's second cell.
    assert sorted(tiling.gap_entry_cell) == sorted(lif_mesh.strip_first + 1)


def test_split_between_cells_keeps_the_mean():
    lower = np.array([0.0, 1.0, 3.0])
    upper = np.array([1.0, 3.0, 4.0])
    cells, fractions = split_between_cells(lower, upper, 1.7)
    centres = 0.5 * (lower + upper)
    assert fractions.sum() == pytest.approx(1.0)
    assert np.dot(centres[cells], fractions) == pytest.approx(1.7)


def test_expressions_power_precedence_and_whitelist():
    f = compile_expression("(E - v)/tau + v^2", ("v",), {"E": 1.0, "tau": 2.0})
    assert f.function(3.0) == pytest.approx((1 - 3) / 2 + 9)
    assert parse_equation("dv/dt = -v") == ("v", "-v")
    for bad in ["__import__('os').system('true')", "v.__class__", "[v]", "open('x')"]:
        with pytest.raises(ConfigError):
            compile_expression(bad, ("v",), {})


def test_overrides_address_arrays_by_index_and_name():
    document = {"population": [{"name": "a", "mesh": "x"}, {"name": "b", "mesh": "y"}]}
    apply_overrides(document, ["population.1.mesh=z", "population.a.initial.v=-60",
                               "simulation.t_end=2"], "f.toml")
    assert document["population"][1]["mesh"] == "z"
    assert document["population"][0]["initial"] == {"v": -60}
    assert document["simulation"]["t_end"] == 2
