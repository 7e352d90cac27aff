"""Clamped mass on small grids where it can be computed by hand: every edge of the
range box and every mechanism (motion, jump, reset), from the mesh's per-cell
accounting to the run's per-step totals (solver.kernels_2d, solver.checks).

The grids are 10 x 10 unit cells over [0, 10] x [0, 10] with a constant drift, so RK4
moves every cell by exactly the drift times dt, and the mass sits in one edge cell."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from meshgen.formats.mesh_artifact import read_mesh
from meshgen.build import build_mesh
from solver.engine import run_simulation

DT = 0.01
# A cell moved half a cell out of the box clamps half of its mass (exact polygon
# overlaps of unit squares: rounding only).
OVERLAP = 1e-12
# The jumps' Poisson series is truncated where its tail is below 1e-5 of the expected
# jumps (the tail goes to the last term): the expected clamped mass is that close.
POISSON_TAIL = 1e-5

FLOW = """\
[model]
kind = "custom"
variables = ["v", "w"]
equations = ["dv/dt = c_v + 0*v", "dw/dt = c_w + 0*w"]

[model.parameters]
c_v = C_V
c_w = C_W
SPIKE
[mesh]
method = "grid"
ranges = { v = [0.0, 10.0], w = [0.0, 10.0] }
resolution = { v = 10, w = 10 }
dt = 0.01
efficacies = { v = [1.5, -1.5], w = [1.5, -1.5] }
"""

SIMULATION = """\
[simulation]
t_end = T_END

[[population]]
name = "p"
mesh = "mesh.h5"
initial = { v = V0, w = W0 }

[[input]]
name = "drive"
rate = RATE

[[connection]]
source = "drive"
target = "p"
efficacy = EFFICACY
dimension = "DIMENSION"
"""

EDGES = ["v low", "v high", "w low", "w high"]


def run(tmp_path, *, c_v=0.0, c_w=0.0, spike="", start=(5.5, 5.5), rate=0.0,
        efficacy=1.5, dimension="v", t_end=0.1):
    """Mesh the flow and run it; returns (mesh artifact, run summary, output path)."""
    model = tmp_path / "model.toml"
    model.write_text(FLOW.replace("C_V", repr(c_v)).replace("C_W", repr(c_w))
                     .replace("SPIKE", spike))
    build_mesh(model, tmp_path / "mesh.h5")
    simulation = tmp_path / "sim.toml"
    simulation.write_text(SIMULATION.replace("T_END", repr(t_end))
                          .replace("V0", repr(start[0])).replace("W0", repr(start[1]))
                          .replace("RATE", repr(rate)).replace("EFFICACY", repr(efficacy))
                          .replace("DIMENSION", dimension))
    summary = run_simulation(simulation, tmp_path / "out.h5")
    return read_mesh(tmp_path / "mesh.h5"), summary, tmp_path / "out.h5"


def clamped_series(output, mechanism: str) -> np.ndarray:
    """The run's clamped mass per step of one mechanism, (steps, edges), from the
    output's 1/s series."""
    with h5py.File(output) as f:
        group = f["populations/p/clamped"]
        assert group.attrs["edges"] == '["v low", "v high", "w low", "w high"]'
        assert group[mechanism].attrs["units"] == "1/s"
        return group[mechanism][()] * DT


# Half a cell per step (50 cells/s x 10 ms) out through each edge, from its edge cell.
MOTION_CASES = [
    ("v low", {"c_v": -50.0}, (0.5, 5.5)),
    ("v high", {"c_v": 50.0}, (9.5, 5.5)),
    ("w low", {"c_w": -50.0}, (5.5, 0.5)),
    ("w high", {"c_w": 50.0}, (5.5, 9.5)),
]


@pytest.mark.parametrize("edge, drift, start", MOTION_CASES, ids=[c[0] for c in MOTION_CASES])
def test_motion_clamps_half_the_edge_cell_every_step(tmp_path, edge, drift, start):
    """The edge cell moved half out: half of its mass is clamped back into it each
    step, so all the mass stays there and 0.5 is clamped per step, at that edge."""
    artifact, summary, output = run(tmp_path, **drift, start=start)
    cell = int(artifact.motion.clamped.argmax())
    assert np.count_nonzero(artifact.motion.clamped) == 10  # the row or column at the edge
    assert artifact.motion.clamped[cell] == pytest.approx(0.5, abs=OVERLAP)
    assert EDGES[artifact.motion.clamped_edge[cell]] == edge
    series = clamped_series(output, "motion")
    expected = np.zeros_like(series)
    expected[:, EDGES.index(edge)] = 0.5
    np.testing.assert_allclose(series, expected, rtol=0, atol=OVERLAP)
    assert summary.clamped_per_second["p"]["motion"][edge] == pytest.approx(0.5 / DT)
    assert all(value == 0 for value in summary.clamped_per_second["p"]["jump"].values())


# Jumps of 1.5 cells out through each edge (no drift), from the edge cell.
JUMP_CASES = [
    ("v low", "v", -1.5, (0.5, 5.5)),
    ("v high", "v", 1.5, (9.5, 5.5)),
    ("w low", "w", -1.5, (5.5, 0.5)),
    ("w high", "w", 1.5, (5.5, 9.5)),
]


@pytest.mark.parametrize("edge, dimension, efficacy, start", JUMP_CASES,
                         ids=[c[0] for c in JUMP_CASES])
def test_each_jump_clamps_the_edge_cell(tmp_path, edge, dimension, efficacy, start):
    """Each jump would carry the edge cell's mass 1 or 2 cells out of the box (half
    each): all of it is clamped back into that cell, so rate r clamps r of the mass
    per second, the expected number of jumps."""
    rate = 40.0
    artifact, summary, output = run(tmp_path, start=start, rate=rate, efficacy=efficacy,
                                    dimension=dimension)
    jump = artifact.jumps[artifact.jump_for(efficacy, dimension)]
    # The edge row or column clamps all, the one next to it half.
    assert sorted(np.unique(jump.clamped)) == [0.0, 0.5, 1.0]
    assert {EDGES[e] for e in jump.clamped_edge[jump.clamped > 0]} == {edge}
    series = clamped_series(output, "jump")
    expected = np.zeros_like(series)
    expected[:, EDGES.index(edge)] = rate * DT
    np.testing.assert_allclose(series, expected, rtol=POISSON_TAIL, atol=0)
    assert summary.clamped_per_second["p"]["jump"][edge] == pytest.approx(rate,
                                                                          rel=POISSON_TAIL)
    assert all(value == 0 for value in summary.clamped_per_second["p"]["motion"].values())


# v moves one cell a step, fires from the top cell every 10 steps, and re-enters at
# v = 0.5 with w shifted out of the box.
RESET_CASES = [("w high", '"w + 20"', (0.5, 5.5)), ("w low", '"w - 20"', (0.5, 5.5))]


@pytest.mark.parametrize("edge, rule, start", RESET_CASES, ids=[c[0] for c in RESET_CASES])
def test_every_reset_beyond_the_box_is_clamped(tmp_path, edge, rule, start):
    spike = f"[model.spike]\nthreshold = 10.0\nreset = {{ v = 0.5, w = {rule} }}\n"
    artifact, summary, output = run(tmp_path, c_v=100.0, spike=spike, start=start, t_end=0.2)
    # Every column's reset lands 20 beyond a 10-wide box: all clamped, at that edge.
    np.testing.assert_array_equal(artifact.reset.clamped, 1.0)
    assert {EDGES[e] for e in artifact.reset.clamped_edge} == {edge}
    series = clamped_series(output, "reset")
    with h5py.File(output) as f:
        fired = f["populations/p/rate"][()] * DT
    assert fired.sum() == pytest.approx(2.0) and np.count_nonzero(fired) == 2
    expected = np.zeros_like(series)
    expected[:, EDGES.index(edge)] = fired
    np.testing.assert_allclose(series, expected, rtol=0, atol=1e-15)
    assert summary.clamped_per_second["p"]["reset"][edge] == pytest.approx(2.0 / 0.2)
