"""Accuracy of 2D grid populations against direct simulation of the same model files
(examples/grid2d), on grids small enough for the test suite.

The full study (20,000 direct neurons, two rates per model, refinement ladders) is
`make validate` (benchmarks/validate_2d.py); these tests repeat a small part of it
with seeded direct runs of a few thousand neurons, and tolerances set from the
figures measured here (in the comments: grid value, direct value, and the direct
standard error from batch means of neuron groups).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.support.grid_studies import Drive, mesh_overrides, run_direct, run_grid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "grid2d"
T_END = 0.6  # s
STEADY = (0.3, 0.6)  # s: the window of steady means, after the initial transient
TRANSIENT_STOP, BIN_WIDTH = 0.3, 0.005  # the transient: 0-300 ms in 5 ms bins
N_BATCHES = 20
DIRECT_NEURONS = 4000
DIRECT_DT = 1e-4
SEED = 7


def _drive(model_file, dimension, efficacy, rate, initial, integration_step=None):
    return Drive(EXAMPLES / model_file, dimension, efficacy, rate, initial, integration_step)


ADEX = _drive("adex_validate_model.toml", "v", 1.0, 3000.0, {"v": -70.6, "w": 0.0})
IZHIKEVICH = _drive("izhikevich.toml", "v", 1.0, 8000.0, {"v": -70.0, "u": -14.0})
CONDUCTANCE = _drive("conductance_lif.toml", "g", 0.05, 780.0, {"v": -65.0, "g": 0.0})
CONDUCTANCE_LOW = _drive("conductance_lif.toml", "g", 0.05, 550.0, {"v": -65.0, "g": 0.0})
FHN = _drive("fitzhugh_nagumo.toml", "v", 0.1, 2000.0, {"v": -1.2, "w": -0.62}, 5e-5)


def _grid(drive, tmp_path, resolution, dt, method="grid"):
    """A run on the model file's 2D mesh at `resolution` and `dt`, by `method`."""
    return run_grid(drive, tmp_path / f"{method}{resolution[0]}x{resolution[1]}", T_END,
                    mesh_overrides(drive.model_file, resolution, dt) + [f"mesh.method={method}"])


def _direct(drive, tmp_path, n_neurons=DIRECT_NEURONS):
    return run_direct(drive, tmp_path / "direct", T_END, n_neurons, SEED, DIRECT_DT)


def _steady(direct):
    """The direct rate and its standard error from N_BATCHES groups of neurons."""
    batches = direct.batch_rates(N_BATCHES, *STEADY)
    return direct.mean_rate(*STEADY), batches.std(ddof=1) / math.sqrt(N_BATCHES)


def _transient_error(grid, direct):
    """RMS over the 5 ms bins of 0-300 ms of grid - direct, over the direct peak."""
    reference = direct.binned_rate(BIN_WIDTH, TRANSIENT_STOP)
    difference = grid.binned_rate(BIN_WIDTH, TRANSIENT_STOP) - reference
    return float(np.sqrt(np.mean(difference ** 2)) / reference.max())


# Per case: the drive, a coarse grid (resolution, dt), tolerances on the steady rate
# (relative) and the transient (RMS / peak), and the mesh method. Measured here (4000 direct neurons, seed 7;
# standard errors from 20 neuron groups) and, for the same grids, by make validate
# (20,000 neurons, 1 s):
RATE_CASES = {
    # grid 20.973 Hz, direct 20.864 +- 0.043 Hz: +0.52% (validate: +0.52%); transient
    # 1.8%. The targets hold with room on this coarse grid.
    "adex": (ADEX, (100, 50), 1e-4, 0.02, 0.05, "grid"),
    # The 2D strip method (meshgen.strips2d_tracing) on the same case: strips 20.6251 Hz, direct
    # 20.8642 +- 0.0426 Hz (-1.15%), transient 1.48% (make validate, 1 s against 20,000
    # direct neurons on 200 x 100 target cells: -0.63% / -0.60% at 2000 / 3000 Hz).
    "adex_strips": (ADEX, (100, 50), 1e-4, 0.03, 0.05, "strips"),
    # grid 19.197 Hz, direct 19.154 +- 0.028 Hz: +0.22%; transient 5.1%: the coarse grid
    # smears the bursts after the synchronous start (finer grids meet 5%, make
    # validate); 7% bounds it with the direct's own per-bin noise (~0.6% of the peak).
    "izhikevich": (IZHIKEVICH, (115, 44), 2.5e-4, 0.02, 0.07, "grid"),
    # Strips on the same target cells at 0.1 ms: strips 19.167 Hz, direct 19.154 +-
    # 0.028 Hz (+0.07%), transient 5.3%, as coarse as the grid's (make validate on
    # 230 x 88 target cells at 0.1 ms: -0.76% / +0.19% at 3000 / 8000 Hz).
    "izhikevich_strips": (IZHIKEVICH, (115, 44), 1e-4, 0.02, 0.07, "strips"),
    # grid 22.441 Hz, direct 21.975 +- 0.079 Hz: +2.1% (the grid's diffusion raises
    # the rate); transient 3.75%. 4% = the error and 5 standard errors.
    "conductance_lif": (CONDUCTANCE, (110, 80), 5e-4, 0.04, 0.05, "grid"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(RATE_CASES))
def test_rate_and_transient_against_direct(tmp_path, case):
    drive, resolution, dt, rate_tolerance, transient_tolerance, method = RATE_CASES[case]
    grid = _grid(drive, tmp_path, resolution, dt, method)
    direct = _direct(drive, tmp_path)
    rate, standard_error = _steady(direct)
    error = grid.mean_rate(*STEADY) / rate - 1
    transient = _transient_error(grid, direct)
    print(f"{case}: grid {grid.mean_rate(*STEADY):.4f} Hz, direct {rate:.4f} +- "
          f"{standard_error:.4f} Hz, error {100 * error:+.2f}%, transient RMS/peak "
          f"{100 * transient:.2f}%")
    assert rate > 10.0  # the drive makes the population fire at ~20 Hz
    assert abs(error) <= rate_tolerance, (case, error)
    assert transient <= transient_tolerance, (case, transient)


FHN_MEAN_TOLERANCE = 0.04


# Per method: the mesh (resolution, dt) of the FitzHugh-Nagumo case. Measured against
# 1000 direct neurons (-0.7411; -0.7406 +- 0.0006 with 10,000 in make validate): grid
# -0.7178 (+0.023 on this coarse grid; means at mid-jump, solver/kernels_2d.py, the
# end-of-step state is 0.05 lower); strips at 0.1 ms -0.7255 (+0.016; +0.009 on
# 200 x 112 target cells).
FHN_CASES = {"grid": ((100, 56), 5e-4), "strips": ((100, 56), 1e-4)}


@pytest.fixture(scope="module")
def fhn_direct(tmp_path_factory):
    """1000 direct FitzHugh-Nagumo neurons, shared by both methods' cases."""
    return _direct(FHN, tmp_path_factory.mktemp("fhn"), 1000)


@pytest.mark.parametrize("method", sorted(FHN_CASES))
def test_fitzhugh_nagumo_mean_v(tmp_path, fhn_direct, method):
    resolution, dt = FHN_CASES[method]
    grid = _grid(FHN, tmp_path, resolution, dt, method)
    direct = fhn_direct
    grid_mean, direct_mean = grid.mean_of("v", *STEADY), direct.mean_of("v", *STEADY)
    print(f"fhn {method}: {grid_mean:.4f}, direct {direct_mean:.4f}")
    assert len(direct.spike_times) == 0  # no threshold: it never spikes
    assert abs(grid_mean - direct_mean) <= FHN_MEAN_TOLERANCE, (method, grid_mean, direct_mean)


def test_refinement_moves_the_rate_towards_direct(tmp_path):
    rates = [_grid(CONDUCTANCE_LOW, tmp_path, r, 5e-4).mean_rate(*STEADY)
             for r in ((55, 40), (110, 80), (220, 160))]
    direct, standard_error = _steady(_direct(CONDUCTANCE_LOW, tmp_path))
    print(f"refinement: grid {rates}, direct {direct:.4f} +- {standard_error:.4f}")
    # Measured: 4.457, 4.030, 3.913 Hz on 55 x 40, 110 x 80, 220 x 160 against direct
    # 3.848 +- 0.044 Hz: the grid's diffusion raises the rate, less on finer cells
    # (+16%, +4.7%, +1.7%). The finest within its measured 1.7% plus 3 of the direct's
    # standard errors (3 x 1.1% there).
    assert rates[0] > rates[1] > rates[2]
    assert abs(rates[2] / direct - 1) <= 0.017 + 3 * standard_error / direct

