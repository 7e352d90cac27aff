"""The 2D grid method (meshgen.grid2d*) against exact overlaps and slow references."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import shapely
from scipy.integrate import solve_ivp

from meshgen import grid2d_motion
from meshgen.errors import MeshError
from meshgen.grid2d_jumps import jump_matrix, reset_mapping
from meshgen.grid2d_motion import motion_matrix
from meshgen.model_file import read_model
from meshgen.polygon_overlap import (edges_of_geometries, edges_of_rings, overlap_areas,
                                     signed_areas)
from meshgen.regular_grid import Grid

# Every matrix column (with fired) must sum to 1 this closely (grid2d renormalises).
COLUMN_SUM = 1e-12
# Fractions computed from areas of O(1) cells in double precision: a few ulp of the
# coordinates, times the handful of terms in each area.
AREA = 1e-12
# Linear flows are integrated with RK4; 40 substeps of h*rate = ln(1.25)/40 leave a
# relative error of (h rate)^5/120 * 40 ~ 1e-13 in the flow map, far below this.
LINEAR_FLOW = 1e-10

ADEX_RANGES = ((-80.0, -40.4), (-100.0, 400.0))


def model_file(tmp_path_factory, name, text):
    path = tmp_path_factory.mktemp("models") / f"{name}.toml"
    path.write_text(text)
    return read_model(path)


def custom_model(tmp_path_factory, name, equations, parameters, threshold, reset):
    equations = ", ".join(f'"{e}"' for e in equations)
    parameters = "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    return model_file(tmp_path_factory, name, f"""
[model]
kind = "custom"
variables = ["v", "w"]
equations = [{equations}]
[model.parameters]
{parameters}
[model.spike]
threshold = {threshold!r}
reset = {reset!r}
""")


@pytest.fixture(scope="module")
def adex(tmp_path_factory):
    return model_file(tmp_path_factory, "adex", '[model]\nkind = "adex"\n')


@pytest.fixture(scope="module")
def adex_100(adex):
    grid = Grid(("v", "w"), ADEX_RANGES, (100, 100))
    start = time.perf_counter()
    motion = motion_matrix(adex, grid, 1e-4, adex.threshold)
    return grid, motion, time.perf_counter() - start


def column_sums(transition):
    return np.asarray(transition.matrix.sum(axis=0)).ravel() + transition.fired


def assert_stochastic(transition):
    np.testing.assert_allclose(column_sums(transition), 1.0, rtol=0, atol=COLUMN_SUM)
    assert transition.matrix.data.min(initial=0) >= 0 and transition.fired.min() >= 0
    assert transition.clamped.min() >= 0 and transition.clamped.max() <= 1


# --- the grid --------------------------------------------------------------------------------

def test_grid_numbering_edges_and_centres():
    grid = Grid(("v", "w"), ((-1.0, 2.0), (0.0, 1.0)), (3, 4))
    assert grid.n_cells == 12 and grid.widths == (1.0, 0.25) and grid.cell_area == 0.25
    np.testing.assert_array_equal(grid.edges[0], [-1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(grid.centres[1], [0.125, 0.375, 0.625, 0.875])
    # v fastest: cell = i_v + n_v * i_w.
    assert grid.index(2, 1) == 5
    assert [int(x) for x in grid.unravel(5)] == [2, 1]
    v, w = grid.cell_centres()
    assert (v[5], w[5]) == (1.5, 0.375)
    located = grid.locate(np.array([1.5, -9.0, 9.0]), np.array([0.375, -9.0, 9.0]))
    assert located.tolist() == [5, 0, 11]


def test_grid_rejects_bad_input():
    with pytest.raises(MeshError, match="lo < hi"):
        Grid(("v", "w"), ((1.0, 0.0), (0.0, 1.0)), (3, 3))
    with pytest.raises(MeshError, match="integer >= 2"):
        Grid(("v", "w"), ((0.0, 1.0), (0.0, 1.0)), (1, 3))
    with pytest.raises(MeshError, match="no variable 'u'"):
        jump_matrix(Grid(("v", "w"), ((0.0, 1.0), (0.0, 1.0)), (3, 3)), "u", 0.1)


# --- polygon overlap kernel against shapely ---------------------------------------------------

def test_overlap_areas_match_shapely_intersection():
    """Random concave (star-shaped) polygons, with and without holes, against boxes
    some of whose sides are at infinity (replaced by +-10 for shapely)."""
    rng = np.random.default_rng(7)
    count, corners = 500, 11
    angles = np.sort(rng.uniform(0, 2 * np.pi, (count, corners)), axis=1)
    radii = rng.uniform(0.3, 2.0, (count, corners))
    rings = np.stack([radii * np.cos(angles), radii * np.sin(angles)], -1)
    rings = np.concatenate([rings, rings[:, :1]], axis=1)
    polygons = shapely.polygons(rings)
    valid = shapely.is_valid(polygons)
    rings, polygons = rings[valid], polygons[valid]
    count = len(rings)
    x0, y0 = rng.uniform(-2, 1, count), rng.uniform(-2, 1, count)
    x1, y1 = x0 + rng.uniform(0, 2, count), y0 + rng.uniform(0, 2, count)
    x0[rng.random(count) < 0.3] = -np.inf
    y1[rng.random(count) < 0.3] = np.inf
    boxes = shapely.box(np.maximum(x0, -10), y0, x1, np.minimum(y1, 10))
    origin = np.zeros(count)
    everyone = np.arange(count)

    edges = edges_of_rings(rings)
    np.testing.assert_allclose(signed_areas(edges), shapely.area(polygons), rtol=0, atol=AREA)
    np.testing.assert_allclose(overlap_areas(edges, origin, origin, everyone, x0, x1, y0, y1),
                               shapely.area(shapely.intersection(polygons, boxes)),
                               rtol=0, atol=AREA)
    holed = shapely.difference(polygons, shapely.buffer(shapely.points(np.zeros((count, 2))), 0.2))
    edges = edges_of_geometries(holed)
    np.testing.assert_allclose(signed_areas(edges), shapely.area(holed), rtol=0, atol=AREA)
    np.testing.assert_allclose(overlap_areas(edges, origin, origin, everyone, x0, x1, y0, y1),
                               shapely.area(shapely.intersection(holed, boxes)),
                               rtol=0, atol=AREA)


def test_areas_in_cells_match_shapely():
    from meshgen.polygon_overlap import areas_in_cells
    angles = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    radius = 3.0 + np.sin(5 * angles)
    ring = np.stack([6.2 + radius * np.cos(angles), 4.7 + radius * np.sin(angles)], -1)
    blob = shapely.polygons(np.concatenate([ring, ring[:1]]))
    areas = areas_in_cells(edges_of_geometries(np.array([blob])), 12, 9, first_x=1)
    expected = np.array([[shapely.area(shapely.intersection(blob, shapely.box(i, j, i + 1, j + 1)))
                          for i in range(12)] for j in range(9)])
    assert expected[:, 0].max() == 0 and expected.sum() == pytest.approx(shapely.area(blob))
    np.testing.assert_allclose(areas, expected, rtol=0, atol=AREA)


# --- motion: exact cases ---------------------------------------------------------------------

def interval_overlaps(lo, hi, edges, top):
    """Fractions of [lo, hi] in each cell between `edges` (the outer cells extended to
    infinity, the last one ending at `top`) and beyond `top`, one cell at a time."""
    n = len(edges) - 1
    cells = []
    for i in range(n):
        a = -math.inf if i == 0 else edges[i]
        b = top if i == n - 1 else edges[i + 1]
        cells.append(max(0.0, min(hi, b) - max(lo, a)) / (hi - lo))
    return np.array(cells), max(0.0, hi - max(lo, top)) / (hi - lo)


def share_inside(lo, hi, a, b):
    return max(0.0, min(hi, b) - max(lo, a)) / (hi - lo)


def test_linear_flow_gives_the_exact_overlap_of_scaled_rectangles(tmp_path_factory):
    """dv/dt = v/tau, dw/dt = -w/tau_w: each cell moves to the rectangle scaled by
    a = e^(dt/tau) on v and b = e^(-dt/tau_w) on w. Mass beyond v = 1 fires, mass
    below v = -1 (stretched out of the grid) is clamped into the bottom row."""
    tau, tau_w, dt = 0.01, 0.02, 0.01 * math.log(1.25)
    model = custom_model(tmp_path_factory, "linear", ["dv/dt = v/tau", "dw/dt = -w/tau_w"],
                         {"tau": tau, "tau_w": tau_w}, threshold=1.0, reset=-0.5)
    grid = Grid(("v", "w"), ((-1.0, 1.0), (-1.0, 2.0)), (8, 6))
    motion = motion_matrix(model, grid, dt, 1.0, substeps=40)
    assert_stochastic(motion)
    a, b = math.exp(dt / tau), math.exp(-dt / tau_w)
    ev, ew = grid.edges
    nv, nw = grid.resolution
    expected = np.zeros((grid.n_cells, grid.n_cells))
    fired = np.zeros(grid.n_cells)
    clamped = np.zeros(grid.n_cells)
    for jw in range(nw):
        pw, _ = interval_overlaps(b * ew[jw], b * ew[jw + 1], ew, math.inf)
        inside_w = share_inside(b * ew[jw], b * ew[jw + 1], ew[0], ew[-1])
        for jv in range(nv):
            pv, fv = interval_overlaps(a * ev[jv], a * ev[jv + 1], ev, 1.0)
            inside_v = share_inside(a * ev[jv], a * ev[jv + 1], ev[0], 1.0)
            column = jv + nv * jw
            expected[:, column] = np.outer(pw, pv).ravel()
            fired[column] = fv
            clamped[column] = (1.0 - fv) - inside_v * inside_w
    np.testing.assert_allclose(motion.matrix.toarray(), expected, rtol=0, atol=LINEAR_FLOW)
    np.testing.assert_allclose(motion.fired, fired, rtol=0, atol=LINEAR_FLOW)
    np.testing.assert_allclose(motion.clamped, clamped, rtol=0, atol=LINEAR_FLOW)
    # The numbers themselves: the top cells [0.75, 1] on v move to [0.9375, 1.25], so
    # 0.25 / 0.3125 = 80 % fires; the bottom ones, [-1, -0.75] -> [-1.25, -0.9375], have
    # 80 % clamped into the bottom row (w contracts towards 0, so stays inside).
    for i_w in range(nw):
        assert motion.fired[grid.index(nv - 1, i_w)] == pytest.approx(0.8, abs=LINEAR_FLOW)
        assert motion.clamped[grid.index(0, i_w)] == pytest.approx(0.8, abs=LINEAR_FLOW)
    assert len(motion.degenerate) == 0


def test_without_threshold_mass_above_the_grid_is_clamped(tmp_path_factory):
    """The same expanding flow with threshold None: nothing fires, the 80 % of each
    top cell that leaves through v = 1 stays in the top row; progress is reported."""
    model = custom_model(tmp_path_factory, "linear_none", ["dv/dt = v/tau", "dw/dt = 0"],
                         {"tau": 0.01}, threshold=1.0, reset=-0.5)
    grid = Grid(("v", "w"), ((-1.0, 1.0), (0.0, 1.0)), (8, 3))
    calls = []
    motion = motion_matrix(model, grid, 0.01 * math.log(1.25), None, substeps=40,
                           progress=lambda done, total: calls.append((done, total)))
    assert_stochastic(motion)
    assert motion.fired.max() == 0
    assert calls == [(1, 1)]  # one band of rows of cells: the whole grid
    for i_w in range(3):
        top = grid.index(7, i_w)
        assert motion.clamped[top] == pytest.approx(0.8, abs=LINEAR_FLOW)
        assert motion.matrix[top, top] == pytest.approx(1.0, abs=LINEAR_FLOW)


@pytest.mark.parametrize("variable, speed", [("v", 23.0), ("v", -17.5), ("w", 41.0), ("w", -9.0)])
def test_translation_is_the_fractional_shift_of_jump_matrix(tmp_path_factory, variable, speed):
    """dv/dt = c (or dw/dt = c): every cell moves by c dt, so T is the jump matrix
    of c dt, including what fires at the top and what is clamped at the edges."""
    equations = ["dv/dt = c", "dw/dt = 0"] if variable == "v" else ["dv/dt = 0", "dw/dt = c"]
    model = custom_model(tmp_path_factory, f"shift_{variable}", equations, {"c": speed},
                         threshold=1.0, reset=0.0)
    grid = Grid(("v", "w"), ((0.0, 1.0), (0.0, 2.0)), (10, 7))
    dt = 0.01
    motion = motion_matrix(model, grid, dt, 1.0)
    jump = jump_matrix(grid, variable, speed * dt)
    assert_stochastic(motion)
    assert_stochastic(jump)
    np.testing.assert_allclose(motion.matrix.toarray(), jump.matrix.toarray(), rtol=0, atol=AREA)
    np.testing.assert_allclose(motion.fired, jump.fired, rtol=0, atol=AREA)
    np.testing.assert_allclose(motion.clamped, jump.clamped, rtol=0, atol=AREA)


# --- jumps against a slow reference ------------------------------------------------------------

def slow_jump(grid, axis, h):
    """Interval overlap of every shifted cell, one cell and one target at a time."""
    n = grid.n_cells
    dense, fired, clamped = np.zeros((n, n)), np.zeros(n), np.zeros(n)
    edges = grid.edges[axis]
    size = grid.resolution[axis]
    for cell in range(n):
        position = [int(x) for x in grid.unravel(cell)]
        lo, hi = edges[position[axis]] + h, edges[position[axis] + 1] + h
        width = hi - lo
        if axis == 0:
            fired[cell] = max(0.0, hi - max(lo, edges[-1])) / width
        for target in range(size):
            a = -math.inf if target == 0 else edges[target]
            b = (edges[-1] if axis == 0 else math.inf) if target == size - 1 else edges[target + 1]
            share = max(0.0, min(hi, b) - max(lo, a)) / width
            moved = list(position)
            moved[axis] = target
            dense[grid.index(*moved), cell] += share
        inside = max(0.0, min(hi, edges[-1]) - max(lo, edges[0])) / width
        clamped[cell] = 1.0 - inside - fired[cell]
    return dense, fired, clamped


@pytest.mark.parametrize("variable", ["v", "w"])
@pytest.mark.parametrize("cells", [0.37, 1.0, 2.6, -0.8, -3.0, 6.5, -9.25])
def test_jump_matrix_matches_slow_overlap(variable, cells):
    grid = Grid(("v", "w"), ((-65.0, -50.0), (0.0, 30.0)), (6, 5))
    axis = grid.axis(variable)
    h = cells * grid.widths[axis]
    jump = jump_matrix(grid, variable, h)
    assert_stochastic(jump)
    dense, fired, clamped = slow_jump(grid, axis, h)
    np.testing.assert_allclose(jump.matrix.toarray(), dense, rtol=0, atol=1e-12)
    np.testing.assert_allclose(jump.fired, fired, rtol=0, atol=1e-12)
    np.testing.assert_allclose(jump.clamped, clamped, rtol=0, atol=1e-12)


def test_jump_fractions_by_hand():
    """2.6 cells up along v from (i_v = 1): 40 % to i_v = 3, 60 % to i_v = 4; from
    i_v = 3, 40 % lands in the top cell 5 and 60 % fires."""
    grid = Grid(("v", "w"), ((0.0, 6.0), (0.0, 1.0)), (6, 2))
    jump = jump_matrix(grid, "v", 2.6)
    column = jump.matrix[:, 1].toarray().ravel()
    assert column[3] == pytest.approx(0.4, abs=1e-15) and column[4] == pytest.approx(0.6, abs=1e-15)
    assert jump.matrix[5, 3] == pytest.approx(0.4, abs=1e-15)
    assert jump.fired[3] == pytest.approx(0.6, abs=1e-15) and jump.fired[:3].sum() == 0
    # A whole number of cells, up to rounding (0.3 / (1.0 / 10) = 2.9999999999999996):
    # no 4e-16 sliver is left behind.
    fine = Grid(("v", "w"), ((0.0, 1.0), (0.0, 1.0)), (10, 2))
    assert 0.3 / fine.widths[0] != 3.0
    whole = jump_matrix(fine, "v", 0.3)
    assert whole.matrix.nnz == 14 and whole.fired.tolist() == ([0] * 7 + [1] * 3) * 2


# --- motion: AdEx ----------------------------------------------------------------------------

def test_adex_100_builds(adex_100):
    grid, motion, seconds = adex_100
    assert_stochastic(motion)
    print(f"\nAdEx 100 x 100 motion matrix: {seconds:.2f} s, {motion.matrix.nnz} entries")
    assert len(motion.degenerate) == 0
    # Only cells near the threshold fire in 0.1 ms (v there runs at > 1e4 mV/s).
    i_v, _ = grid.unravel(np.flatnonzero(motion.fired > 0))
    assert grid.centres[0][i_v.min()] > -52.0
    assert motion.fired.max() == pytest.approx(1.0, abs=1e-12)  # the top cells empty at once
    assert seconds < 20.0


def adex_flow(model, state, dt):
    def rhs(t, y):
        dv, dw = model.drift(np.array([y[0]]), np.array([y[1]]))
        return [float(dv[0]), float(np.broadcast_to(dw, (1,))[0])]
    return solve_ivp(rhs, (0.0, dt), state, method="DOP853", rtol=1e-12, atol=1e-12).y[:, -1]


@pytest.mark.parametrize("i_v, i_w", [(10, 20), (50, 50), (75, 30), (85, 60), (5, 90)])
def test_point_mass_mean_follows_the_flow(adex, adex_100, i_v, i_w):
    """One step from a single cell: the mean of the cell centres, weighted by where T
    puts the mass, is within half a cell of the flow map of the cell's centre."""
    grid, motion, _ = adex_100
    cell = grid.index(i_v, i_w)
    start = [grid.centres[0][i_v], grid.centres[1][i_w]]
    end = adex_flow(adex, start, 1e-4)
    mass = motion.matrix[:, cell].toarray().ravel()
    assert motion.fired[cell] == 0
    v, w = grid.cell_centres()
    mean = np.array([mass @ v, mass @ w]) / mass.sum()
    error = np.abs(mean - end) / np.array(grid.widths)
    assert np.all(error < 0.5), (error, mean, end)


def test_fired_fraction_is_the_share_of_the_cell_that_reaches_threshold(adex, adex_100):
    """Cells that fire in part: 100 x 100 sample points per cell, integrated with 400
    RK4 steps on the model's own drift, counted as fired once v >= threshold. The
    sampling resolves the share to about 1/100 of the cell's width along the curve
    that divides it, so 3e-3 is the tolerance."""
    grid, motion, _ = adex_100
    partial = np.flatnonzero((motion.fired > 0.02) & (motion.fired < 0.98))
    assert len(partial) > 50
    k, steps, dt = 100, 400, 1e-4
    h = dt / steps
    q = (np.arange(k) + 0.5) / k
    for cell in partial[::25]:
        i_v, i_w = grid.unravel(cell)
        v, w = (a.ravel() for a in np.meshgrid(grid.edges[0][i_v] + q * grid.widths[0],
                                               grid.edges[1][i_w] + q * grid.widths[1]))
        crossed = np.zeros(v.size, dtype=bool)

        def f(v, w):
            return adex.drift(np.minimum(v, adex.threshold), w)

        for _ in range(steps):
            k1 = f(v, w)
            k2 = f(v + h / 2 * k1[0], w + h / 2 * k1[1])
            k3 = f(v + h / 2 * k2[0], w + h / 2 * k2[1])
            k4 = f(v + h * k3[0], w + h * k3[1])
            v = v + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            w = w + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            crossed |= v >= adex.threshold
        assert motion.fired[cell] == pytest.approx(crossed.mean(), abs=3e-3), cell


def test_mass_is_conserved_over_1000_steps(adex_100):
    """fired + remaining = 1 to 1e-12 after T is applied 1000 times to a uniform density."""
    grid, motion, _ = adex_100
    p = np.full(grid.n_cells, 1.0 / grid.n_cells)
    fired = 0.0
    for _ in range(1000):
        fired += motion.fired @ p
        p = motion.matrix @ p
    assert p.min() >= 0
    assert abs(p.sum() + fired - 1.0) < 1e-12
    assert 0.05 < fired < 0.95  # mass did move through the threshold


def test_motion_is_deterministic(adex):
    grid = Grid(("v", "w"), ADEX_RANGES, (30, 20))
    first = motion_matrix(adex, grid, 2e-4, adex.threshold)
    second = motion_matrix(adex, grid, 2e-4, adex.threshold)
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(first.matrix, name), getattr(second.matrix, name))
    np.testing.assert_array_equal(first.fired, second.fired)


def test_worker_processes_give_the_same_matrix_and_progress(adex, monkeypatch):
    """jobs = 2 splits the same bands of cells over two spawned processes: every array
    is bit-for-bit that of jobs = 1, and progress counts the same bands."""
    monkeypatch.setattr(grid2d_motion, "CELL_BATCH", 100)
    grid = Grid(("v", "w"), ADEX_RANGES, (30, 20))
    results, calls = [], []
    for jobs in (1, 2):
        calls.append([])
        results.append(motion_matrix(adex, grid, 1e-4, adex.threshold, jobs=jobs,
                                     progress=lambda done, total: calls[-1].append((done, total))))
    one, two = results
    for a, b in ((one.matrix.indptr, two.matrix.indptr), (one.matrix.indices, two.matrix.indices),
                 (one.matrix.data, two.matrix.data), (one.fired, two.fired),
                 (one.clamped, two.clamped), (one.degenerate, two.degenerate)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    # Bands of 100 // 30 = 3 rows: 7 of them for 20 rows.
    assert calls[0] == calls[1] == [(k, 7) for k in range(1, 8)]


def test_degenerate_moved_cells_are_repaired_or_sent_with_their_centre(tmp_path_factory):
    """dv/dt = -v^3 with one RK4 step of 0.5: the RK4 map overshoots and turns back,
    so some moved cells fold over (repaired) or come out inside out (their mass goes
    to the cell of the moved centre). The matrix is still stochastic."""
    model = custom_model(tmp_path_factory, "cubic", ["dv/dt = -v^3/tau", "dw/dt = 0"],
                         {"tau": 1.0}, threshold=3.0, reset=0.0)
    grid = Grid(("v", "w"), ((0.0, 3.0), (0.0, 1.0)), (12, 2))
    motion = motion_matrix(model, grid, 0.5, 3.0, substeps=1)
    assert_stochastic(motion)

    def rk4(v, h=0.5):
        f = lambda x: -x ** 3  # noqa: E731
        k1 = f(v); k2 = f(v + h / 2 * k1); k3 = f(v + h / 2 * k2); k4 = f(v + h * k3)  # noqa: E702
        return v + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    # Cell 6 is [1.5, 1.75]: the map decreases over it (1.5 -> 2.74, 1.75 -> 1.905),
    # so it comes out inside out; its centre 1.625 goes to 2.329, cell 9.
    assert rk4(1.5) > rk4(1.75)
    assert 6 in motion.degenerate and 6 + 12 in motion.degenerate
    assert motion.matrix[int(rk4(1.625) / 0.25), 6] == 1.0
    # Cells where the map is increasing all along are not degenerate.
    assert 0 not in motion.degenerate and 2 not in motion.degenerate


# --- reset mapping -------------------------------------------------------------------------------

def test_adex_reset_mapping_puts_the_mean_at_v_r_and_w_plus_b(adex):
    grid = Grid(("v", "w"), ADEX_RANGES, (40, 50))
    mapping = reset_mapping(adex, grid)
    reset = mapping.matrix
    np.testing.assert_allclose(np.asarray(reset.sum(axis=0)).ravel(), 1.0, rtol=0, atol=COLUMN_SUM)
    assert reset.data.min() >= 0 and reset.shape == (grid.n_cells, grid.n_cells)
    v, w = grid.cell_centres()
    mean_v, mean_w = reset.T @ v, reset.T @ w
    b, v_r = adex.parameters["b"], adex.parameters["V_r"]
    assert v_r == -70.6 and b == 80.5
    inside = w + b <= grid.centres[1][-1]
    np.testing.assert_allclose(mean_v, v_r, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mean_w[inside], w[inside] + b, rtol=0, atol=1e-10)
    # Beyond the top row of centres it is clamped onto it.
    np.testing.assert_allclose(mean_w[~inside], grid.centres[1][-1], rtol=0, atol=1e-10)
    assert inside.sum() == 40 * 41  # w centres up to 395 - 80.5: 41 of the 50 rows
    # The mass of a column whose w + b lies beyond the range's top (400) is clamped,
    # at w high; between the last centre and the edge it is inside the range.
    beyond = w + b > ADEX_RANGES[1][1]
    assert beyond.sum() == 40 * 8  # w centres from 325 up: 8 rows
    np.testing.assert_array_equal(mapping.clamped, beyond.astype(float))
    np.testing.assert_array_equal(mapping.clamped_edge, np.where(beyond, 3, -1))
    # Bilinear: at most four cells, in two adjacent v columns around V_r.
    assert np.diff(reset.indptr).max() <= 4


def test_reset_mapping_needs_a_reset(tmp_path_factory):
    model = model_file(tmp_path_factory, "counted",
                       '[model]\nkind = "custom"\nvariables = ["v", "w"]\n'
                       'equations = ["dv/dt = 1 - w", "dw/dt = v"]\n'
                       '[model.spike]\nthreshold = 1.0\n')
    with pytest.raises(MeshError, match="no reset"):
        reset_mapping(model, Grid(("v", "w"), ((0.0, 1.0), (0.0, 1.0)), (3, 3)))
