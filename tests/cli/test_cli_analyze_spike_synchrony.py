"""`miind analyze --summary --sttc DT --phase-locking [--burst-isi T]` on direct runs
with known answers: identical oscillators (all measures 1) and independent neurons
(STTC about 0, phase locking about sqrt(pi / 4N)); the summary without them keeps its
keys; their error paths.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import pytest

from clitools import LIF_MODEL, assert_error, assert_ok, invoke
from miind_cli import spike_synchrony

EXIT_USAGE = 2
EXIT_BAD_OPTION = 3
# The synchrony entries of --summary before the spike measures: a contract.
SYNCHRONY_KEYS = {"chi", "chi_window", "fano_factor", "fano_bin_s", "fano_bin_from",
                  "spectrum_peak_hz", "spectrum_peak_relative_power"}
STTC_KEYS = {"sttc", "sttc_dt_s", "sttc_pairs", "sttc_neurons"}
PHASE_KEYS = {"phase_locking", "phase_locking_events", "burst_isi_s",
              "phase_locking_neurons", "phase_locking_independent", "phase_locking_window"}

# LIF with its leak above threshold: a neuron without input fires every
# tau ln((E_l - reset) / (E_l - threshold)) = 13.5 ms, so neurons started alike stay
# alike to the last bit.
OSCILLATOR = LIF_MODEL.replace("E_l = -65.0", "E_l = -45.0")
N_OSCILLATORS = 50
OSCILLATORS = f"""\
[simulation]
t_end = 0.5

[[population]]
name = "osc"
method = "direct"
model = "MODEL"
n_neurons = {N_OSCILLATORS}
seed = 3
initial = {{ v = -65.0 }}
"""

# Each neuron with its own Poisson drive of 2000 Hz x 1 mV (mean 20 mV above rest
# against a 14.8 mV threshold): ~78 Hz, started alike, apart well before the second half.
N_INDEPENDENT = 200
INDEPENDENT = f"""\
[simulation]
t_end = 2.0

[[population]]
name = "noisy"
method = "direct"
model = "MODEL"
n_neurons = {N_INDEPENDENT}
seed = 4

[[input]]
name = "drive"
rate = 2000.0

[[connection]]
source = "drive"
target = "noisy"
efficacy = 1.0
"""


def _run(directory: Path, model: str, template: str) -> Path:
    (directory / "model.toml").write_text(model)
    simulation = directory / "simulation.toml"
    simulation.write_text(template.replace("MODEL", str(directory / "model.toml")))
    assert_ok(invoke("run", simulation, "-o", directory / "run.h5", "--quiet"))
    return directory / "run.h5"


@pytest.fixture(scope="module")
def oscillators(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("oscillators"), OSCILLATOR, OSCILLATORS)


@pytest.fixture(scope="module")
def independent(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("independent"), LIF_MODEL, INDEPENDENT)


def synchrony_of(path: Path, *args) -> tuple[dict, list[float]]:
    """(the only population's synchrony entry, the summary's window)."""
    result = invoke("analyze", path, "--summary", *args)
    assert_ok(result)
    summary = json.loads(result.stdout)
    (population,) = summary["populations"].values()
    return population["synchrony"], summary["window"]


def test_identical_oscillators_give_one(oscillators):
    sync, window = synchrony_of(oscillators, "--sttc", "0.001", "--phase-locking")
    assert set(sync) == SYNCHRONY_KEYS | STTC_KEYS | PHASE_KEYS
    assert sync["chi"] == pytest.approx(1.0, rel=1e-9)
    assert sync["sttc"] == pytest.approx(1.0, abs=1e-12)
    assert (sync["sttc_dt_s"], sync["sttc_pairs"], sync["sttc_neurons"]) == \
        (0.001, N_OSCILLATORS * (N_OSCILLATORS - 1) // 2, N_OSCILLATORS)
    assert sync["phase_locking"] == pytest.approx(1.0, abs=1e-12)
    assert (sync["phase_locking_events"], sync["burst_isi_s"]) == ("spikes", None)
    assert sync["phase_locking_neurons"] == N_OSCILLATORS
    assert sync["phase_locking_independent"] == pytest.approx(
        math.sqrt(math.pi / (4 * N_OSCILLATORS)))
    # Inside the summary's window, up to the last spike (one period before the end).
    start, end = sync["phase_locking_window"]
    assert window[0] == start < end <= window[1]


def test_bursts_of_identical_oscillators(oscillators):
    """A 20 ms burst interval holds every 13.5 ms interval: one burst per neuron, no
    phase; 10 ms holds none, so every spike starts a burst of one."""
    sync, _ = synchrony_of(oscillators, "--phase-locking", "--burst-isi", "0.01")
    assert (sync["phase_locking_events"], sync["burst_isi_s"]) == ("bursts", 0.01)
    assert sync["phase_locking"] == pytest.approx(1.0, abs=1e-12)
    sync, _ = synchrony_of(oscillators, "--phase-locking", "--burst-isi", "0.02")
    assert sync["phase_locking"] is None and sync["phase_locking_window"] is None
    assert sync["phase_locking_neurons"] == 0
    assert not set(sync) & STTC_KEYS


def test_independent_neurons(independent):
    """200 independent neurons at ~78 Hz over the second second, dt = 2 ms: a pair's
    STTC has a standard deviation of about sqrt(T (1 - T) / n) / (1 - P T) = 0.06
    (T = 2 dt x 78 Hz = 0.31 tiled, n = 78 spikes) and the mean over 19,900 pairs a
    standard error of 0.06 sqrt(2 / N^2) = 0.0004 (measured over 3 seeds: 0.0005 to
    0.0017, a little residue of the common start); 0.01 is far from both that and
    synchrony. Phase locking: R is Rayleigh with mean sqrt(pi / 4N) = 0.063 and
    relative spread 0.52, decorrelating within ~ one interval (13 ms), so ~75
    independent values over 1 s: a relative standard error of 6% (measured 0.90 to
    1.03 of it); 25% is four of those."""
    sync, _ = synchrony_of(independent, "--sttc", "0.002", "--phase-locking")
    assert abs(sync["sttc"]) < 0.01
    assert sync["sttc_pairs"] == N_INDEPENDENT * (N_INDEPENDENT - 1) // 2
    expected = math.sqrt(math.pi / (4 * N_INDEPENDENT))
    assert sync["phase_locking_independent"] == pytest.approx(expected)
    assert sync["phase_locking"] == pytest.approx(expected, rel=0.25)
    # The existing measures agree: chi ~ 1/sqrt(N) = 0.07 (measured 0.066 to 0.075).
    assert sync["chi"] < 0.15


def test_summary_without_spike_measures_keeps_its_keys(independent):
    sync, _ = synchrony_of(independent)
    assert set(sync) == SYNCHRONY_KEYS


def test_sttc_is_of_the_spikes_in_the_window(independent):
    sync, window = synchrony_of(independent, "--sttc", "0.002", "--window", "1.2:1.8")
    assert window == [1.2, 1.8]
    with h5py.File(independent, "r") as f:
        times, ids = f["spikes/noisy/timestamps"][()], f["spikes/noisy/node_ids"][()]
    trains = spike_synchrony.trains_from_events(times, ids, N_INDEPENDENT, 1.2, 1.8)
    assert sync["sttc"] == spike_synchrony.spike_time_tiling(trains, 0.002).mean


@pytest.mark.parametrize("args, says", [
    (["--summary", "--sttc", "0"], "--sttc must be a positive number of seconds"),
    (["--summary", "--phase-locking", "--burst-isi", "-0.01"],
     "--burst-isi must be a positive number of seconds"),
    (["--csv", "-", "--sttc", "0.005"], "--sttc goes with --summary"),
    (["--summary", "--burst-isi", "0.01"], "--burst-isi goes with --phase-locking"),
], ids=["sttc-zero", "burst-negative", "sttc-without-summary", "burst-without-phase"])
def test_usage_errors(independent, args, says):
    result = invoke("analyze", independent, *args)
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert says in result.stderr and result.stdout == ""


def test_spike_measures_of_density_only_output(lif_run):
    result = invoke("analyze", lif_run.path, "--summary", "--phase-locking")
    assert_error(result, EXIT_BAD_OPTION, file=lif_run.path,
                 says=("--phase-locking needs spikes", "no direct population"))
