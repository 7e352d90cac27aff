"""2D strip meshes (meshgen.strips2d_tracing, meshgen.strips2d_matrices): geometry,
matrices and a run, on a flow whose strips are known exactly and on AdEx."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from meshgen.model_file import read_model_file
from meshgen.polygon_mesh import polygon_mesh
from meshgen.regular_grid import Grid
from meshgen.strips2d_matrices import jump_of_cells, motion_of_cells, reset_of_cells
from meshgen.strips2d_tracing import trace_strips

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# v moves at 100 /s, w stands still: with dt = 1 ms and cells of 0.1 in v, every
# neuron moves exactly one cell per step along horizontal strips.
UNIFORM = """  # also used by tests/cli/test_cli_mesh_strips2d.py
[model]
kind = "custom"
variables = ["v", "w"]
equations = ["dv/dt = 100.0 + 0.0 * v", "dw/dt = 0.0 * w"]
[model.spike]
threshold = 1.0
reset = { v = 0.0, w = "w" }
refractory = 0.0
[mesh]
method = "strips"
ranges = { v = [0.0, 1.0], w = [0.0, 1.0] }
resolution = { v = 10, w = 5 }
dt = 1e-3
efficacies = [0.1]
"""


def _tracing(path: Path):
    spec = read_model_file(path)
    settings = spec.strips2d
    grid = Grid(tuple(spec.model.variables), settings.ranges,
                tuple(int(n) for n in settings.resolution))
    return trace_strips(spec.model, grid, settings.dt, settings.max_cells)


@pytest.fixture
def uniform(tmp_path):
    path = tmp_path / "uniform.toml"
    path.write_text(UNIFORM)
    return path


def test_uniform_flow_gives_one_strip_per_row_of_unit_cells(uniform):
    tracing = _tracing(uniform)
    # Seeds on the left edge (the only inflow) one cell apart: 5 strips of 10 cells.
    assert tracing.n_strip_cells == 50 and len(tracing.cells) == 50
    assert list(np.diff(np.append(tracing.strip_first, 50))) == [10] * 5
    np.testing.assert_allclose(shapely.area(tracing.cells), 1.0, rtol=1e-9)
    assert shapely.union_all(tracing.cells).area == pytest.approx(50.0, rel=1e-12)


def test_uniform_flow_moves_and_jumps_one_cell_exactly(uniform):
    tracing = _tracing(uniform)
    motion = motion_of_cells(tracing)
    last = np.append(tracing.strip_first[1:], 50) - 1
    for cell in range(50):
        column = motion.matrix[:, cell].toarray().ravel()
        if cell in last:
            # The last cell of a strip reaches the threshold within the step.
            assert motion.fired[cell] == pytest.approx(1.0, abs=1e-9)
        else:
            assert motion.fired[cell] == 0.0
            assert column[cell + 1] == 1.0 and column.sum() == 1.0
    jump = jump_of_cells(tracing, 0, 0.1)
    dense = jump.matrix.toarray()
    for cell in range(50):
        if cell in last:
            assert jump.fired[cell] == pytest.approx(1.0, abs=1e-9)
        else:
            assert dense[cell + 1, cell] == pytest.approx(1.0, abs=1e-9)
    reset = reset_of_cells(tracing).matrix.toarray()
    first = tracing.strip_first
    # Fired mass re-enters at v = 0 in the first cell of its own row.
    for cell in last:
        row = np.searchsorted(first, cell, side="right") - 1
        assert reset[first[row], cell] == 1.0


def test_adex_strips_tile_the_box(tmp_path):
    path = tmp_path / "adex.toml"
    path.write_text((EXAMPLES / "strips2d" / "adex.toml").read_text())
    tracing = _tracing(path)
    nv, nw = tracing.grid.resolution
    cells = tracing.cells
    area = shapely.area(cells)
    assert shapely.is_valid(cells).all()
    # Strips and fill cells cover the range box once: their areas add up to it and
    # overlaps (chords of neighbouring trajectories) stay below 0.1% of it.
    assert area.sum() == pytest.approx(nv * nw, rel=2e-3)
    assert shapely.union_all(cells).area == pytest.approx(nv * nw, rel=1e-6)
    # The strips (from the inflow boundary and the repelling branch of the
    # v-nullcline) cover most of it.
    assert area[:tracing.n_strip_cells].sum() > 0.7 * nv * nw
    motion = motion_of_cells(tracing)
    sums = np.asarray(motion.matrix.sum(axis=0)).ravel() + motion.fired
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    # Inside a strip the mass moves one cell on, whole.
    bounds = np.append(tracing.strip_first, tracing.n_strip_cells)
    inner = np.concatenate([np.arange(a, b - 1) for a, b in zip(bounds[:-1], bounds[1:])])
    assert len(inner) > 0.5 * tracing.n_strip_cells
    diagonal = motion.matrix[inner + 1, inner].A1
    np.testing.assert_array_equal(diagonal, 1.0)
    # Only cells next to the threshold fire.
    mesh = polygon_mesh(tracing)
    firing = motion.fired > 0
    assert mesh.centres[firing, 0].min() > -50.0


def test_izhikevich_strips_follow_sheared_fronts_to_the_threshold(tmp_path):
    """Right of Izhikevich's repelling branch the trajectories run to the threshold at
    speeds that differ with u, so the front shears along the flow: it grows long
    without the cells between trajectories widening. Splitting by the gap's width
    across the flow (not its length) keeps those strips going; splitting by length
    cut them into slivers that ended at once, leaving 27% of the box to strips."""
    text = (EXAMPLES / "grid2d" / "izhikevich.toml").read_text()
    for old, new in (('method = "grid"', 'method = "strips"'),
                     ("resolution = { v = 230, u = 88 }", "resolution = { v = 115, u = 44 }"),
                     ("dt = 5e-4", "dt = 1e-4")):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "izhikevich.toml"
    path.write_text(text)
    tracing = _tracing(path)
    nv, nw = tracing.grid.resolution
    area = shapely.area(tracing.cells)
    assert shapely.union_all(tracing.cells).area == pytest.approx(nv * nw, rel=1e-6)
    # Measured: 86.6% (8,172 cells, 6,688 on strips).
    assert area[:tracing.n_strip_cells].sum() > 0.8 * nv * nw
    # Strip cells reach the threshold (the top of v) from the repelling branch.
    right = shapely.bounds(tracing.cells[:tracing.n_strip_cells])[:, 2]
    assert right.max() > nv - 1.0


def test_reset_spreads_over_the_reset_segment(tmp_path):
    """Reset w -> w + 0.05 on the uniform flow (rows 0.2 high): a last cell fires over
    its row's w range [0.2 k, 0.2 k + 0.2], which resets to [0.2 k + 0.05, 0.2 k +
    0.25] on v = 0: three quarters in its own row's first cell, one quarter in the
    next row's; the top row's segment leaves the box, so all of it stays in that row."""
    path = tmp_path / "shifted.toml"
    path.write_text(UNIFORM.replace('reset = { v = 0.0, w = "w" }',
                                    'reset = { v = 0.0, w = "w + 0.05" }'))
    tracing = _tracing(path)
    reset = reset_of_cells(tracing).matrix.toarray()
    np.testing.assert_allclose(reset.sum(axis=0), 1.0, atol=1e-15)
    first = tracing.strip_first
    last = np.append(first[1:], 50) - 1
    centres = shapely.get_coordinates(shapely.centroid(tracing.cells))
    row_of = np.floor(centres[:, 1]).astype(int)
    first_of_row = {row_of[cell]: cell for cell in first}
    for cell in last:
        row = row_of[cell]
        expected = np.zeros(50)
        if row == 4:
            expected[first_of_row[4]] = 1.0
        else:
            expected[first_of_row[row]] = 0.75
            expected[first_of_row[row + 1]] = 0.25
        np.testing.assert_allclose(reset[:, cell], expected, atol=1e-12, err_msg=str(cell))
