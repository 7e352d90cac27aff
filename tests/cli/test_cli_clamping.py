"""`miind run` on meshes that clamp mass at their edges: the warning (population, edge,
mechanism, amount, a wider range), its threshold, --strict (exit 6, output written),
the output's clamped series and `miind analyze --summary`; outputs and meshes
written before the accounting."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from clitools import assert_error, assert_ok, invoke
from solver.checks import CLAMP_WARNING_PER_SECOND

EXIT_SIMULATION_FAILED = 6

# The case that brought the check: AdEx (cut-off -40 mV, w + b with b = 80.5 pA) under
# 3000 Hz of 1 mV jumps, w's range ending at 300 pA. At ~21 Hz w climbs past it and
# the reset piles the mass onto the top row: 25.9 Hz against 20.86 Hz simulated
# directly (200,000 neurons), and most of the spikes' resets are clamped.
ADEX_NARROW = """\
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
ranges = { v = [-80.0, -40.0], w = [-20.0, 300.0] }
efficacies = { v = [1.0] }
"""

ADEX_SIMULATION = """\
[simulation]
t_end = 1.0
[[population]]
name = "adex"
mesh = "mesh.h5"
initial = { v = -70.6, w = 0.0 }
[[input]]
name = "drive"
rate = 3000.0
[[connection]]
source = "drive"
target = "adex"
efficacy = 1.0
"""

# No drift: mass stays where it is put. Jumps of 1.5 cells out of the top of v (no
# threshold, so v high clamps) from the top cell clamp it whole: input at rate r
# clamps r of the mass per second, by the jumps, at v high. (A matrix for jumps in w
# too, unused: a variable with jumps is not checked for the density's spread, which
# here is one cell.)
STILL = """\
[model]
kind = "custom"
variables = ["v", "w"]
equations = ["dv/dt = 0*v", "dw/dt = 0*w"]
[mesh]
method = "grid"
ranges = { v = [0.0, 10.0], w = [0.0, 10.0] }
resolution = { v = 10, w = 10 }
dt = 0.01
efficacies = { v = [1.5], w = [1.5] }
"""

STILL_SIMULATION = """\
[simulation]
t_end = 0.2
[[population]]
name = "still"
mesh = "mesh.h5"
initial = { v = 9.5, w = 5.5 }
[[input]]
name = "drive"
rate = RATE
[[connection]]
source = "drive"
target = "still"
efficacy = 1.5
"""


@pytest.fixture(scope="module")
def adex_narrow(tmp_path_factory):
    """The mesh of ADEX_NARROW and its simulation file, in one directory."""
    directory = tmp_path_factory.mktemp("adex_narrow")
    (directory / "model.toml").write_text(ADEX_NARROW)
    assert_ok(invoke("mesh", directory / "model.toml", "-o", directory / "mesh.h5", "-q"))
    (directory / "sim.toml").write_text(ADEX_SIMULATION)
    return directory


def still_run(tmp_path, rate: float, *options):
    (tmp_path / "model.toml").write_text(STILL)
    assert_ok(invoke("mesh", tmp_path / "model.toml", "-o", tmp_path / "mesh.h5", "-q"))
    (tmp_path / "sim.toml").write_text(STILL_SIMULATION.replace("RATE", repr(rate)))
    return invoke("run", tmp_path / "sim.toml", "-o", tmp_path / "out.h5", "-q", *options)


def test_the_narrow_adex_case_warns_about_the_reset_at_w_high(adex_narrow):
    result = invoke("run", adex_narrow / "sim.toml", "-o", adex_narrow / "out.h5", "-q")
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["mean_rates"]["adex"] == pytest.approx(25.9, abs=0.1)
    reset = summary["clamped_per_second"]["adex"]["reset"]["w high"]
    assert reset > 10.0  # most of its ~26 spikes per second
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: {adex_narrow / 'sim.toml'}: ")
    line = lines[0]
    for fragment in ("population 'adex'", "the reset", "w high", f"{reset:.3g} /s",
                     "of its spikes", "w up to ~"):
        assert fragment in line, (fragment, line)
    # The suggested top is where the exploration under the run's input puts it
    # (1,000 neurons: w reaches ~480 pA; plus the margin): 20.72 Hz with w up to 600
    # pA, against 20.86 Hz direct (issue), so anything from ~500 pA on will do.
    suggested = float(line.split("w up to ~")[1].split(" pA")[0])
    assert 500.0 <= suggested <= 650.0
    check = summary["clamped_mass_check"]
    assert check["result"] == "warning" and check["threshold_per_second"] == \
        CLAMP_WARNING_PER_SECOND
    assert check["over"] == [{"population": "adex", "mechanism": "reset", "edge": "w high",
                              "per_second": reset, "suggested_limit": suggested}]
    assert summary["warnings"] == [line.split(": ", 2)[2]] and summary["result"] == "warning"


def test_strict_fails_with_exit_6_and_writes_the_output(adex_narrow):
    output = adex_narrow / "strict.h5"
    result = invoke("run", adex_narrow / "sim.toml", "-o", output, "-q", "--strict")
    assert result.exit_code == EXIT_SIMULATION_FAILED
    assert output.exists()
    summary = json.loads(result.stdout)
    assert summary["clamped_mass_check"]["result"] == "failed"
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("warning: ") and "reset" in lines[0]
    assert lines[-1] == (f"error: {adex_narrow / 'sim.toml'}: the run has warnings "
                         f"(--strict); the output {output} is written")
    assert summary["result"] == "failed"


def test_the_output_holds_the_clamped_series_and_analyze_reads_it(adex_narrow):
    output = adex_narrow / "series.h5"
    assert_ok(invoke("run", adex_narrow / "sim.toml", "-o", output, "-q"))
    with h5py.File(output) as f:
        group = f["populations/adex/clamped"]
        assert json.loads(group.attrs["edges"]) == ["v low", "v high", "w low", "w high"]
        assert json.loads(group.attrs["accounted"]) == ["motion", "jump", "reset"]
        assert group.attrs["threshold_per_second"] == CLAMP_WARNING_PER_SECOND
        reset = group["reset"][()]
        assert group["reset"].attrs["units"] == "1/s" and reset.shape == (2000, 4)
        rate = f["populations/adex/rate"][()]
    # A clamped reset is a spike whose reset was clamped: never more than the rate.
    assert np.all(reset[:, 3] <= rate * (1 + 1e-12)) and reset[1000:, 3].mean() > 10.0
    assert np.all(reset[:, :3] == 0.0)
    result = invoke("analyze", output, "--summary", "--window", "0.5:1.0")
    assert_ok(result)
    entry = json.loads(result.stdout)["populations"]["adex"]
    assert entry["clamped_per_second"]["reset"]["w high"] == pytest.approx(
        reset[1000:, 3].mean(), rel=1e-12)
    assert entry["clamped_over_threshold"] == ["reset at w high"]
    assert entry["clamped_threshold_per_second"] == CLAMP_WARNING_PER_SECOND
    # Outputs written before the clamped series still read, without those figures.
    with h5py.File(output, "a") as f:
        del f["populations/adex/clamped"]
    result = invoke("analyze", output, "--summary")
    assert_ok(result)
    entry = json.loads(result.stdout)["populations"]["adex"]
    assert "clamped_per_second" not in entry and entry["mean_rate"] > 20.0


@pytest.mark.parametrize("factor, warns", [(0.5, False), (2.0, True)])
def test_the_warning_threshold(tmp_path, factor, warns):
    """Jumps at rate r clamp r of the mass per second (see STILL): half the threshold
    passes quietly, twice it warns."""
    rate = factor * CLAMP_WARNING_PER_SECOND
    result = still_run(tmp_path, rate)
    assert_ok(result)
    summary = json.loads(result.stdout)
    clamped = summary["clamped_per_second"]["still"]["jump"]["v high"]
    assert clamped == pytest.approx(rate, rel=1e-5)
    assert summary["clamped_mass_check"]["result"] == ("warning" if warns else "passed")
    assert ("warning:" in result.stderr) == warns
    if warns:
        assert "the jump put" in result.stderr and "v high edge" in result.stderr
        assert "widen its mesh's range" in result.stderr
    strict = still_run(tmp_path, rate, "--strict")
    assert strict.exit_code == (EXIT_SIMULATION_FAILED if warns else 0)


def test_a_mesh_without_the_reset_accounting_runs_and_says_so(tmp_path):
    """Meshes written before the reset's `clamped` (and every `clamped_edge`): the
    motion and jumps are accounted for (edges from the jump's direction and the cell's
    nearest edge), the reset is not, and the output and a warning say so."""
    (tmp_path / "model.toml").write_text(ADEX_NARROW.replace("ranges = { v = [-80.0, -40.0], "
                                                             "w = [-20.0, 300.0] }",
                                                             "ranges = { v = [-80.0, -40.0], "
                                                             "w = [-20.0, 300.0] }\n"
                                                             "resolution = { v = 80, w = 20 }"))
    assert_ok(invoke("mesh", tmp_path / "model.toml", "-o", tmp_path / "mesh.h5", "-q"))
    with h5py.File(tmp_path / "mesh.h5", "a") as f:
        for name in ("motion/clamped_edge", "jumps/0/clamped_edge", "reset/clamped",
                     "reset/clamped_edge"):
            del f[f"grid/{name}"]
    (tmp_path / "sim.toml").write_text(ADEX_SIMULATION.replace("t_end = 1.0", "t_end = 0.05"))
    result = invoke("run", tmp_path / "sim.toml", "-o", tmp_path / "out.h5", "-q")
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert set(summary["clamped_per_second"]["adex"]) == {"motion", "jump"}
    assert summary["clamped_mass_check"]["unaccounted"] == {"adex": ["reset"]}
    assert summary["clamped_mass_check"]["result"] == "warning"
    # (Its 20 cells of w are coarse for 50 ms of adaptation: the spread check speaks too.)
    assert summary["warnings"][0] == (
        "population 'adex': its mesh was written before the clamped-mass accounting of the "
        "reset, which is not checked; re-run `miind mesh` on its model file to check it")
    with h5py.File(tmp_path / "out.h5") as f:
        group = f["populations/adex/clamped"]
        assert json.loads(group.attrs["accounted"]) == ["motion", "jump"]
        assert set(group) == {"motion", "jump"}


@pytest.mark.parametrize("initial, key", [("v = 10.5, w = 5.5", "v"), ("v = 9.5, w = -1.0", "w")])
def test_an_initial_state_outside_the_mesh_is_refused(tmp_path, initial, key):
    """The mass would otherwise start in the nearest edge cell, silently."""
    (tmp_path / "model.toml").write_text(STILL)
    assert_ok(invoke("mesh", tmp_path / "model.toml", "-o", tmp_path / "mesh.h5", "-q"))
    simulation = tmp_path / "sim.toml"
    simulation.write_text(STILL_SIMULATION.replace("RATE", "1.0")
                          .replace("v = 9.5, w = 5.5", initial))
    output = tmp_path / "out.h5"
    result = invoke("run", simulation, "-o", output)
    assert_error(result, 3, file=simulation, key=f"population.0.initial.{key}",
                 says=("lies outside the mesh's range", "[0, 10]"), output=output)


# v moves one cell of 1 mV a step of 10 ms and fires from the top: every N steps on a
# v range of N cells, at 100 / N Hz (jumps in w as in STILL).
PACEMAKER = """\
[model]
kind = "custom"
variables = ["v", "w"]
equations = ["dv/dt = 100 + 0*v", "dw/dt = 0*w"]
[model.spike]
threshold = TOP
reset = { v = 0.5, w = "w" }
[mesh]
method = "grid"
ranges = { v = [0.0, TOP], w = [0.0, 10.0] }
resolution = { v = CELLS, w = 10 }
dt = 0.01
efficacies = { v = [1.5], w = [1.5] }
"""


@pytest.mark.parametrize("cells, warns", [(10, True), (30, False)])
def test_too_few_steps_per_interval_between_spikes(tmp_path, cells, warns):
    """10 steps per interval (10 Hz) warns, 30 (3.3 Hz) does not: the threshold is 20."""
    (tmp_path / "model.toml").write_text(PACEMAKER.replace("TOP", f"{cells:.1f}")
                                         .replace("CELLS", str(cells)))
    assert_ok(invoke("mesh", tmp_path / "model.toml", "-o", tmp_path / "mesh.h5", "-q"))
    (tmp_path / "sim.toml").write_text(STILL_SIMULATION.replace("RATE", "0.0")
                                       .replace("v = 9.5, w = 5.5", "v = 0.5, w = 5.5")
                                       .replace("t_end = 0.2", "t_end = 2.4"))
    result = invoke("run", tmp_path / "sim.toml", "-o", tmp_path / "out.h5", "-q")
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert summary["mean_rates"]["still"] == pytest.approx(100.0 / cells, rel=1e-9)
    assert summary["result"] == ("warning" if warns else "passed")
    if warns:
        assert summary["warnings"] == [
            "population 'still' fires at 10 Hz: 10 steps of its mesh (dt = 0.01 s) per "
            "interval between spikes, fewer than 20; the 2D methods' error grows with dt "
            "there (the conductance LIF at 147 Hz: +5.6% with 14 steps, +1.0% with 68): "
            "re-mesh with [mesh] dt <= 0.0025 s, or with [mesh] expected_input"]
        strict = invoke("run", tmp_path / "sim.toml", "-o", tmp_path / "strict.h5", "-q",
                        "--strict")
        assert strict.exit_code == EXIT_SIMULATION_FAILED and (tmp_path / "strict.h5").exists()
