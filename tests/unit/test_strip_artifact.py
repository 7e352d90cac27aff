"""2D strip artifacts (mesh_kind "strips2d"): written, read back, refused when
corrupt, and run by the grid solver.

The strip artifact is a small AdEx grid's cells listed as polygons with the grid's
matrices (tests/unit/grid_as_polygons.py), so its population must do exactly what
the grid's does.
"""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from meshgen.formats.mesh_artifact import GridArtifact, Strips2DArtifact, read_mesh
from meshgen.build import build_mesh
from meshgen.errors import ArtifactError
from solver.density_2d import Density2DPopulation, polygon_holding
from solver.marginals import extent_bin_shares

from .grid_as_polygons import grid_of, write_grid_as_strips2d

N_V, N_W = 16, 12
MODEL = f"""
[model]
kind = "adex"
[model.spike]
refractory = 6e-4
[mesh]
method = "grid"
ranges = {{ v = [-80.0, -40.4], w = [-50.0, 300.0] }}
resolution = {{ v = {N_V}, w = {N_W} }}
dt = 2e-4
efficacies = {{ v = [3.0], w = [30.0] }}
"""
# Sums of a few hundred masses of at most 1: rounding only.
MASS_TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def meshes(tmp_path_factory) -> tuple[GridArtifact, Strips2DArtifact, object]:
    """(grid artifact, the same cells as a strip artifact, the PolygonMesh written)."""
    folder = tmp_path_factory.mktemp("strips2d")
    (folder / "model.toml").write_text(MODEL)
    build_mesh(folder / "model.toml", folder / "grid.h5")
    grid = read_mesh(folder / "grid.h5")
    mesh = write_grid_as_strips2d(grid, folder / "strips.h5")
    return grid, read_mesh(folder / "strips.h5"), mesh


def test_round_trip_of_every_array(meshes):
    grid, strips, mesh = meshes
    assert type(strips) is Strips2DArtifact and type(grid) is GridArtifact
    assert strips.n_cells == N_V * N_W == grid.n_cells
    np.testing.assert_array_equal(strips.cell_vertices, mesh.cell_vertices)
    assert strips.cell_vertices.shape == (N_V * N_W, 5, 2)
    np.testing.assert_array_equal(strips.centres, mesh.centres)
    np.testing.assert_array_equal(strips.strip_first, [0, N_V, 2 * N_V])
    assert strips.strip_first.dtype == np.int64 and strips.n_strip_cells == 3 * N_V
    np.testing.assert_array_equal(strips.ranges, grid.ranges)
    np.testing.assert_array_equal(strips.resolution, grid.resolution)
    for name in ("variables", "units", "dt", "threshold", "refractory", "model", "input_hash"):
        assert getattr(strips, name) == getattr(grid, name), name
    pairs = [(strips.motion, grid.motion), (strips.reset, grid.reset)] + \
        list(zip(strips.jumps, grid.jumps))
    assert len(strips.jumps) == 2
    for ours, theirs in pairs:
        for name in ("indptr", "indices", "data", "fired"):
            np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name))
        assert (ours.efficacy, ours.dimension) == (theirs.efficacy, theirs.dimension)
    np.testing.assert_array_equal(strips.motion.clamped, grid.motion.clamped)
    np.testing.assert_array_equal(strips.motion.degenerate, grid.motion.degenerate)
    with h5py.File(strips.path) as f:
        assert f.attrs["mesh_kind"] == "strips2d" and "grid" not in f
        assert json.loads(f["strips2d/cell_vertices"].attrs["units"]) == ["mV", "pA"]


def _set(name, value):
    def change(f):
        del f[name]
        f[name] = value
    return change


def _scale(name, factor):
    def change(f):
        f[name].attrs.modify("n_strip_cells", f[name].attrs["n_strip_cells"] * factor)
    return change


def _nan_vertex(f):
    vertices = f["strips2d/cell_vertices"][()]
    vertices[7, 2, 1] = np.nan
    _set("strips2d/cell_vertices", vertices)(f)


CORRUPTIONS = {
    "vertices of two corners": (lambda f: _set("strips2d/cell_vertices",
                                               f["strips2d/cell_vertices"][:, :2])(f),
                                "cell vertices have shape"),
    "a NaN vertex": (_nan_vertex, "not finite"),
    "a cell fewer": (lambda f: _set("strips2d/centres", f["strips2d/centres"][1:])(f),
                     "cell vertices have shape"),
    "centres of three numbers": (lambda f: _set("strips2d/centres",
                                                np.zeros((N_V * N_W, 3)))(f),
                                 "cell centres have shape"),
    "strips not from 0": (_set("strips2d/strip_first", np.array([1, N_V], np.int64)),
                          "strip_first is not increasing from 0"),
    "strips out of order": (_set("strips2d/strip_first", np.array([0, 2 * N_V, N_V], np.int64)),
                            "strip_first is not increasing from 0"),
    "a strip past the strip cells": (_set("strips2d/strip_first",
                                          np.array([0, N_V, 3 * N_V], np.int64)),
                                     "below n_strip_cells"),
    "more strip cells than cells": (_scale("strips2d", N_W), "n_strip_cells"),
    "strip_first of floats": (_set("strips2d/strip_first", np.array([0.0, 16.0, 32.0])),
                              "not a list of cell indices"),
    "no centres": (lambda f: f["strips2d"].__delitem__("centres"), "incomplete: missing"),
    "no n_strip_cells": (lambda f: f["strips2d"].attrs.__delitem__("n_strip_cells"),
                         "incomplete: missing"),
    "a motion column that loses mass": (
        lambda f: f["strips2d/motion/data"].__setitem__(0, f["strips2d/motion/data"][0] * 0.5),
        "does not conserve mass"),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_corrupt_files_are_refused_in_one_line(meshes, tmp_path, corruption):
    change, says = CORRUPTIONS[corruption]
    path = tmp_path / "corrupt.h5"
    shutil.copy(meshes[1].path, path)
    with h5py.File(path, "a") as f:
        change(f)
    with pytest.raises(ArtifactError) as error:
        read_mesh(path)
    message = str(error.value)
    assert says in message and "\n" not in message, message


def test_unknown_mesh_kind_names_the_known_ones(meshes, tmp_path):
    path = tmp_path / "unknown.h5"
    shutil.copy(meshes[1].path, path)
    with h5py.File(path, "a") as f:
        f.attrs["mesh_kind"] = "hexagons"
    with pytest.raises(ArtifactError, match="'strips', 'grid', 'strips2d'"):
        read_mesh(path)


def run(artifact, initial, n_steps=80):
    rates = np.array([[2500.0], [300.0]])  # v jumps drive it to threshold; w jumps too
    population = Density2DPopulation("p", artifact, np.arange(len(artifact.jumps)), n_steps,
                                     artifact.dt, input_rates=np.tile(rates, (1, n_steps)))
    population.set_initial(initial)
    start = population.mass.copy()
    population.advance(0, n_steps)
    return start, population


def test_the_strip_population_runs_exactly_as_the_grid(meshes):
    grid, strips, _ = meshes
    initial = {"v": -65.0, "w": 20.0}
    grid_start, on_grid = run(grid, initial)
    strip_start, on_strips = run(strips, initial)
    np.testing.assert_array_equal(strip_start, grid_start)
    assert on_grid.rate.max() > 50.0  # it reaches the threshold and fires
    np.testing.assert_allclose(on_strips.rate, on_grid.rate, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(on_strips.mass, on_grid.mass, rtol=0, atol=1e-15)
    np.testing.assert_allclose(on_strips.mean, on_grid.mean, rtol=1e-12)
    np.testing.assert_allclose(on_strips.total_mass, 1.0, rtol=0, atol=MASS_TOLERANCE)


@pytest.mark.parametrize("v, w", [(-65.0, 20.0), (-79.9, -49.9), (-60.0, 154.1),
                                  (-40.5, 299.0)])
def test_the_polygon_holding_a_state_inside_a_cell_is_the_grid_cell(meshes, v, w):
    grid, strips, _ = meshes
    box = grid_of(grid)
    assert polygon_holding(strips.cell_vertices, tuple(strips.centres.T), box, v, w) == \
        box.locate(v, w)


@pytest.mark.parametrize("i_v, i_w", [(0, 0), (1, 3), (7, 0), (5, 11), (15, 6)])
def test_a_state_on_shared_edges_lies_in_the_cell_above_and_right(meshes, i_v, i_w):
    """Cells are half open, [v0, v1) x [w0, w1), as on a grid: a corner shared by
    four cells belongs to the one it is the lower left corner of."""
    grid, strips, _ = meshes
    box = grid_of(grid)
    v, w = box.edges[0][i_v], box.edges[1][i_w]
    assert polygon_holding(strips.cell_vertices, tuple(strips.centres.T), box, v, w) == \
        i_v + N_V * i_w


@pytest.mark.parametrize("v, w", [(-90.0, 20.0), (-30.0, 310.0), (-60.0, -400.0)])
def test_a_state_outside_every_cell_goes_to_the_nearest_centre(meshes, v, w):
    """Outside the box the nearest centre (in box units) is the boundary cell that
    Grid.locate clamps to."""
    grid, strips, _ = meshes
    box = grid_of(grid)
    assert polygon_holding(strips.cell_vertices, tuple(strips.centres.T), box, v, w) == \
        box.locate(v, w)


def test_extent_shares_by_hand():
    edges = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    lower = np.array([0.0, 0.5, 2.5, 3.5, -2.0, 1.5, 9.0])
    upper = np.array([1.0, 2.5, 2.5, 5.5, 1.0, 1.5, 9.5])
    cell, bins, share = extent_bin_shares(lower, upper, edges)
    shares = np.zeros((len(lower), len(edges) - 1))
    np.add.at(shares, (cell, bins), share)
    expected = np.array([
        [1.0, 0.0, 0.0, 0.0],  # exactly one bin
        [0.25, 0.5, 0.25, 0.0],  # over three bins, uniformly
        [0.0, 0.0, 1.0, 0.0],  # no extent: the bin holding it
        [0.0, 0.0, 0.0, 1.0],  # past the top: clipped into the last bin
        [1.0, 0.0, 0.0, 0.0],  # below the bottom: clipped, all in the first bin
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],  # wholly outside: the nearest end bin
    ])
    np.testing.assert_allclose(shares, expected, rtol=0, atol=1e-15)
