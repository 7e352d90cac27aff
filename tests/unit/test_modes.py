"""`miind steady --modes` (solver.modes): the leading mode of the linearised network is
the decay (and ringing) of a run's transient towards the stationary state."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from scipy.optimize import curve_fit

from meshgen.build import build_mesh
from solver.engine import run_simulation
from solver.modes import linear_modes
from solver.sim_file import read_simulation_file
from solver.steady import steady_state
from tests.support.studies import lif_density_run, write_lif_files

from .test_steady import E_I_NETWORK


def damped(t, amplitude, growth, frequency, phase):
    return amplitude * np.exp(growth * t) * np.cos(2 * np.pi * frequency * t + phase)


def fitted_transient(time, rate, settled, window, guess):
    """(growth rate, frequency) of rate - settled over `window`, a damped cosine."""
    inside = (time > window[0]) & (time < window[1])
    found, _ = curve_fit(damped, time[inside], rate[inside] - settled,
                         p0=[1.0, guess.growth_rate, max(guess.frequency, 1.0), 0.0],
                         maxfev=50_000)
    return found[1], abs(found[2])


def test_the_public_cases_leading_mode_is_its_transient(tmp_path):
    """From the reset, the public case's rate rings down to 7.518 Hz at the leading
    mode: -159.5 /s and 12.91 Hz; a fit of the run's rate over 20-70 ms gives the same
    within 0.2%."""
    run = lif_density_run(tmp_path, t_end=0.1)
    spec = read_simulation_file(tmp_path / "sim.toml")
    result = steady_state(spec)
    modes = linear_modes(spec, result, 3)
    leading = modes[0]
    assert all(m.growth_rate < 0 for m in modes)
    growth, frequency = fitted_transient(run.time, run.rate, result.populations[0].rate,
                                         (0.02, 0.07), leading)
    assert leading.growth_rate == pytest.approx(growth, rel=2e-3)
    assert leading.frequency == pytest.approx(frequency, rel=2e-3)
    assert -165 < leading.growth_rate < -155 and 12.5 < leading.frequency < 13.3


def test_a_networks_leading_mode_includes_its_delays(tmp_path):
    """The E-I network of test_steady: its slowest mode (-115 /s) against the decay of
    the excitatory rate's transient in a run (fit over 30-120 ms), within 5%."""
    model, _ = write_lif_files(tmp_path, inputs=((1.0, 1.0), (-1.0, 1.0)), t_end=1.0,
                               lowest=-75.0, refractory=0.002)
    build_mesh(model, tmp_path / "mesh.h5")
    (tmp_path / "net.toml").write_text(E_I_NETWORK.format(t_end=0.2))
    spec = read_simulation_file(tmp_path / "net.toml")
    result = steady_state(spec)
    leading = linear_modes(spec, result, 2)[0]
    run_simulation(tmp_path / "net.toml", tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5") as f:
        time, rate = f["time"][()], f["populations/e/rate"][()]
    growth, _ = fitted_transient(time, rate, result.populations[0].rate, (0.03, 0.12), leading)
    assert leading.growth_rate == pytest.approx(growth, rel=0.05)


def test_modes_on_the_command_line(tmp_path):
    import json

    from click.testing import CliRunner

    from miind_cli.cli import cli

    lif_density_run(tmp_path, t_end=0.01)
    result = CliRunner().invoke(cli, ["steady", str(tmp_path / "sim.toml"), "-o",
                                      str(tmp_path / "s.h5"), "--modes", "2"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["stable"] is True and len(printed["modes"]) == 2
    assert printed["modes"][0]["growth_rate"] > printed["modes"][1]["growth_rate"]


def test_modes_of_a_population_solved_by_stepping_are_refused(tmp_path, monkeypatch):
    """A population whose explicit operator is too dense is solved by stepping its
    kernel; --modes needs that operator, and says so (exit 6) instead of failing."""
    import json

    from click.testing import CliRunner

    from miind_cli.cli import cli
    from solver import step_operator_1d

    lif_density_run(tmp_path, t_end=0.01)
    monkeypatch.setattr(step_operator_1d, "MAX_OPERATOR_ENTRIES", 0)
    result = CliRunner().invoke(cli, ["steady", str(tmp_path / "sim.toml"), "-o",
                                      str(tmp_path / "s.h5"), "--modes", "2"])
    assert result.exit_code == 6 and "too dense" in result.stderr, result.output
    assert not (tmp_path / "s.h5").exists()
    assert json.loads(CliRunner().invoke(cli, ["steady", str(tmp_path / "sim.toml"), "-o",
                                               str(tmp_path / "s.h5")]).stdout)["converged"]


def test_a_2d_populations_leading_mode_is_its_transient(tmp_path):
    """A coarse AdEx grid (40 x 40 cells, tests/unit/test_backends.py) at 3000 Hz: its
    leading mode, -57.4 /s and not oscillating, against a fit of the run's relaxation
    over 0.1-0.3 s (-56.3 /s; the next mode, -99 /s, has died out by then)."""
    from tests.unit.test_backends import GRID_MODEL, GRID_SIMULATION

    (tmp_path / "model.toml").write_text(GRID_MODEL)
    build_mesh(tmp_path / "model.toml", tmp_path / "mesh.h5")
    (tmp_path / "sim.toml").write_text(
        GRID_SIMULATION.replace('rate = "2500 + 1000*(t > 0.02)"', "rate = 3000.0"))
    overrides = ["simulation.t_end=0.4"]
    spec = read_simulation_file(tmp_path / "sim.toml", overrides)
    result = steady_state(spec)
    leading = linear_modes(spec, result, 2)[0]
    run_simulation(tmp_path / "sim.toml", tmp_path / "out.h5", overrides)
    with h5py.File(tmp_path / "out.h5") as f:
        time, rate = f["time"][()], f["populations/grid/rate"][()]
    growth, _ = fitted_transient(time, rate, result.populations[0].rate, (0.1, 0.3), leading)
    assert leading.frequency < 0.1
    assert leading.growth_rate == pytest.approx(growth, rel=0.03)
