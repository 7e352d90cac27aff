"""The case that brought the clamped-mass check, with its ranges left out: AdEx
(cut-off -40 mV, w + b with b = 80.5 pA) under 3000 Hz of 1 mV jumps, on a grid whose
ranges come from [mesh] expected_input, against direct simulation of the same
neurons: within the 2% target, and the run does not warn."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshgen.build import build_mesh
from solver.engine import run_simulation
from tests.support.grid_studies import Drive, run_direct, simulation_text

# The target for the steady rate.
STEADY_TARGET = 0.02
# 4,000 direct neurons over 0.5 s at ~21 Hz: a standard error of 0.1 Hz (0.5%).
DIRECT_NEURONS = 4000
STEADY = (0.5, 1.0)

MODEL = """\
[model]
kind = "adex"
[model.parameters]
b = 80.5
[model.spike]
threshold = -40.0
reset = { v = -70.6, w = "w + b" }
refractory = 0.0
[mesh]
method = "grid"
efficacies = { v = [1.0] }
expected_input = [{ rate = 3000.0, efficacy = 1.0, dimension = "v" }]
"""


@pytest.mark.slow
def test_automatic_ranges_meet_the_target_without_warning(tmp_path: Path):
    model = tmp_path / "adex.toml"
    model.write_text(MODEL)
    mesh = build_mesh(model, tmp_path / "mesh.h5")
    assert mesh.automatic[:2] == ("ranges.v", "ranges.w") and mesh.warnings == ()
    drive = Drive(model, "v", 1.0, 3000.0, {"v": -70.6, "w": 0.0})
    (tmp_path / "sim.toml").write_text(simulation_text(drive, 1.0, "grid", mesh="mesh.h5"))
    summary = run_simulation(tmp_path / "sim.toml", tmp_path / "out.h5")
    assert summary.warnings == () and summary.clamped_mass_check["result"] == "passed"
    direct = run_direct(drive, tmp_path / "direct", 1.0, DIRECT_NEURONS, seed=7, dt=1e-4)
    rate = summary.mean_rates["grid"]
    expected = direct.mean_rate(*STEADY)
    # 20.86 Hz with 200,000 neurons (the issue); ours 20.7 Hz with these ranges.
    assert expected == pytest.approx(20.86, rel=0.03)
    assert rate == pytest.approx(expected, rel=STEADY_TARGET)
