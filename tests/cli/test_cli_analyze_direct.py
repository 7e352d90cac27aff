"""`miind analyze` of runs with direct populations: binned rates, rasters, comparisons,
synchrony measures, and their error paths.

One run per module: 2000 LIF neurons simulated directly next to the density
population of the same model and drive (0.5 s, about 2 s to run), and a small
direct-only run for the default step of 0.1 ms.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest

from clitools import LIF_MODEL, assert_error, assert_ok, invoke

EXIT_USAGE = 2
EXIT_BAD_OPTION = 3
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# The CSV prints 9 significant digits (statistics.write_rates_csv).
CSV_RELATIVE_PRECISION = 1e-8
N_NEURONS = 2000
T_END = 0.5
# Direct against density, same model and drive: over the second half (0.25 s) the
# direct population fires ~3800 spikes, so its mean rate has a Poisson relative
# error of 1/sqrt(3800) = 1.6%; 5% is three of those.
DIRECT_VS_DENSITY = 0.05

MIXED = f"""\
[simulation]
t_end = {T_END}

[[population]]
name = "dir"
method = "direct"
model = "MODEL"
n_neurons = {N_NEURONS}
seed = 1
record = [0, 1, 2]

[[population]]
name = "dens"
mesh = "MESH"

[[input]]
name = "drive"
rate = 1000.0

[[connection]]
source = "drive"
target = "dir"
efficacy = 1.0

[[connection]]
source = "drive"
target = "dens"
efficacy = 1.0
"""

# Direct only: the step is the default 0.1 ms, so a 1 ms bin is 10 whole steps.
DIRECT_ONLY = """\
[simulation]
t_end = 0.1

[[population]]
name = "solo"
method = "direct"
model = "MODEL"
n_neurons = 200
seed = 2

[[input]]
name = "drive"
rate = 1000.0

[[connection]]
source = "drive"
target = "solo"
efficacy = 1.0
"""


@dataclass(frozen=True)
class Run:
    path: Path
    summary: dict
    dt: float
    time: np.ndarray
    spike_times: np.ndarray  # of the direct population


def _run(directory: Path, template: str, mesh: Path | None, name: str) -> Run:
    model = directory / "lif.toml"
    model.write_text(LIF_MODEL)
    text = template.replace("MODEL", str(model))
    if mesh is not None:
        text = text.replace("MESH", str(mesh))
    simulation = directory / "simulation.toml"
    simulation.write_text(text)
    output = directory / "run.h5"
    result = invoke("run", simulation, "-o", output, "--quiet")
    assert_ok(result)
    with h5py.File(output, "r") as f:
        return Run(output, json.loads(result.stdout), float(f.attrs["dt"]), f["time"][()],
                   f[f"spikes/{name}/timestamps"][()])


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, lif_mesh) -> Run:
    return _run(tmp_path_factory.mktemp("mixed"), MIXED, lif_mesh.path, "dir")


@pytest.fixture(scope="module")
def solo(tmp_path_factory) -> Run:
    return _run(tmp_path_factory.mktemp("solo"), DIRECT_ONLY, None, "solo")


def read_csv(text: str) -> tuple[list[str], np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=float)


def spikes_per_bin(run: Run, steps: int) -> np.ndarray:
    """Spike timestamps counted in bins of `steps` steps (edges at the step ends)."""
    edges = np.concatenate([[0.0], run.time[steps - 1::steps]])
    return np.histogram(run.spike_times, bins=edges)[0]


def analyze_json(*args) -> dict:
    result = invoke("analyze", *args)
    assert_ok(result)
    return json.loads(result.stdout)


# --- CSV and bins -------------------------------------------------------------------

def test_csv_per_step_is_spike_count_over_n_dt(mixed):
    result = invoke("analyze", mixed.path, "--csv", "-")
    assert_ok(result)
    header, rows = read_csv(result.stdout)
    assert header == ["t", "dir", "dens"]
    assert len(rows) == len(mixed.time)
    np.testing.assert_array_equal(np.rint(rows[:, 1] * N_NEURONS * mixed.dt),
                                  spikes_per_bin(mixed, 1))


@pytest.mark.parametrize("steps", [15, 74])
def test_binned_csv_is_spike_count_over_n_bin(mixed, steps):
    """--bin T: the direct column is spikes per bin / (N T); the density column the
    mean of its per-step rates; a last incomplete bin is left out."""
    width = steps * mixed.dt
    result = invoke("analyze", mixed.path, "--csv", "-", "--bin", repr(width))
    assert_ok(result)
    _, rows = read_csv(result.stdout)
    n_bins = len(mixed.time) // steps
    assert len(rows) == n_bins
    np.testing.assert_allclose(rows[:, 0], mixed.time[steps - 1::steps][:n_bins],
                               rtol=CSV_RELATIVE_PRECISION)
    counts = spikes_per_bin(mixed, steps)
    assert counts.sum() > 1000
    np.testing.assert_allclose(rows[:, 1], counts / (N_NEURONS * width),
                               rtol=CSV_RELATIVE_PRECISION, atol=1e-9)
    _, per_step = read_csv(invoke("analyze", mixed.path, "--csv", "-").stdout)
    expected = per_step[:n_bins * steps, 2].reshape(n_bins, steps).mean(axis=1)
    np.testing.assert_allclose(rows[:, 2], expected, rtol=1e-7, atol=1e-9)


def test_bin_of_a_decimal_number_of_steps(solo):
    """dt = 0.1 ms: --bin 0.001 is 10 steps although 0.001 / 1e-4 is not exactly 10."""
    assert solo.dt == pytest.approx(1e-4, rel=1e-12)
    result = invoke("analyze", solo.path, "--csv", "-", "--bin", "0.001")
    assert_ok(result)
    _, rows = read_csv(result.stdout)
    np.testing.assert_allclose(rows[:, 1], spikes_per_bin(solo, 10) / (200 * 1e-3),
                               rtol=CSV_RELATIVE_PRECISION, atol=1e-9)


def test_bin_not_a_whole_number_of_steps(mixed, tmp_path):
    """The mixed run's step is the mesh's, 0.0676 ms: 1 ms is 14.8 steps."""
    table = tmp_path / "rates.csv"
    result = invoke("analyze", mixed.path, "--csv", table, "--bin", "0.001")
    message = assert_error(result, EXIT_BAD_OPTION, file=mixed.path, output=table,
                           says=("--bin 0.001", "14.8 steps", "whole number of steps",
                                 "(15 steps)"))
    # The suggestion is precise enough to be accepted as it is printed.
    suggested = message.split(" or ")[-1].split(" ")[0]
    assert_ok(invoke("analyze", mixed.path, "--csv", table, "--bin", suggested))


@pytest.mark.parametrize("width", ["0", "-0.001", "10"], ids=["zero", "negative", "too-long"])
def test_bad_bin(mixed, width):
    result = invoke("analyze", mixed.path, "--summary", "--bin", width)
    assert_error(result, EXIT_BAD_OPTION, says=("--bin",))


@pytest.mark.parametrize("args, says", [
    (["--bin", "0.001", "--density", "d.png"], "--bin goes with"),
    (["--window", "0:0.1", "--csv", "-"], "--window goes with"),
    (["--time", "0.1", "--summary"], "--time goes with --density"),
], ids=["bin", "window", "time"])
def test_option_without_what_it_modifies(mixed, tmp_path, args, says):
    args = [str(tmp_path / a) if a.endswith(".png") else a for a in args]
    result = invoke("analyze", mixed.path, *args)
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert says in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


# --- summary ------------------------------------------------------------------------

def test_summary_direct_against_density(mixed):
    summary = analyze_json(mixed.path, "--summary")
    direct, density = summary["populations"]["dir"], summary["populations"]["dens"]
    assert direct["method"] == "direct" and density["method"] == "density"
    assert direct["mean_rate"] == pytest.approx(mixed.summary["mean_rates"]["dir"], rel=1e-12)
    assert direct["mean_rate"] == pytest.approx(density["mean_rate"], rel=DIRECT_VS_DENSITY)
    assert "final_mass" in density and "final_mass" not in direct
    # spike_count: the spikes in the window's steps; mean_rate is that over N * window.
    t0, t1 = summary["window"]
    inside = (mixed.time - mixed.dt / 2 >= t0) & (mixed.time - mixed.dt / 2 <= t1)
    edges = mixed.time[inside][[0, -1]] - [mixed.dt, 0]
    expected = np.count_nonzero((mixed.spike_times > edges[0]) &
                                (mixed.spike_times <= edges[1]))
    assert direct["spike_count"] == expected
    assert direct["mean_rate"] == pytest.approx(
        expected / (N_NEURONS * inside.sum() * mixed.dt), rel=1e-12)
    assert direct["n_neurons"] == N_NEURONS


def test_summary_synchrony(mixed):
    sync = analyze_json(mixed.path, "--summary")["populations"]["dir"]["synchrony"]
    # chi from the file by the definition: v averaged over neurons, its variance over
    # the second half of the steps, over the mean of the neurons' variances there.
    with h5py.File(mixed.path, "r") as f:
        mean_v = f["populations/dir/mean/v"][()]
        neuron_var = f["populations/dir/synchrony/neuron_var_v"][()]
        t_start = float(f["populations/dir/synchrony"].attrs["t_start"])
    half = len(mean_v) // 2
    assert sync["chi"] == pytest.approx(math.sqrt(mean_v[half:].var() / neuron_var.mean()),
                                        rel=1e-12)
    assert sync["chi_window"] == pytest.approx([t_start, T_END])
    # Independent neurons (each has its own Poisson drive): chi ~ 1/sqrt(N) = 0.022,
    # with a large spread as 0.25 s hold only ~10 membrane correlation times (measured
    # 0.026); 0.1 is far from both that and synchrony (1).
    assert 0 < sync["chi"] < 0.1
    # Default bin: 1 ms rounded to whole steps of the mesh step (15 x 0.0676 ms).
    assert sync["fano_bin_s"] == pytest.approx(15 * mixed.dt, rel=1e-12)
    assert sync["fano_bin_from"].startswith("default 1 ms")
    # Independent neurons firing every ~130 ms fire at most once per 1 ms bin, so the
    # population count is nearly Poisson: Fano ~1 (measured 0.96; the estimate's
    # standard error over ~250 bins is ~0.09).
    assert 0.7 < sync["fano_factor"] < 1.3
    assert 0 < sync["spectrum_peak_hz"] <= 1 / (2 * sync["fano_bin_s"])
    assert sync["spectrum_peak_relative_power"] > 1


def test_summary_with_bin(mixed):
    steps = 74
    width = steps * mixed.dt
    summary = analyze_json(mixed.path, "--summary", "--bin", repr(width))
    direct = summary["populations"]["dir"]
    assert direct["synchrony"]["fano_bin_s"] == pytest.approx(width, rel=1e-12)
    assert direct["synchrony"]["fano_bin_from"] == "--bin"
    # Binned: min and max are of the bins in the window (their midpoints inside).
    _, rows = read_csv(invoke("analyze", mixed.path, "--csv", "-", "--bin", repr(width)).stdout)
    t0, t1 = summary["window"]
    inside = (rows[:, 0] - width / 2 >= t0) & (rows[:, 0] - width / 2 <= t1)
    assert direct["max_rate"] == pytest.approx(rows[inside, 1].max(), rel=1e-8)
    assert direct["min_rate"] == pytest.approx(rows[inside, 1].min(), rel=1e-8)
    assert direct["mean_rate"] == pytest.approx(rows[inside, 1].mean(), rel=1e-8)


def test_density_only_summary_has_no_synchrony(lif_run):
    population = analyze_json(lif_run.path, "--summary")["populations"]["lif"]
    assert "synchrony" not in population and "spike_count" not in population


# --- compare ------------------------------------------------------------------------

def test_compare_with_itself_is_zero(mixed):
    compare = analyze_json(mixed.path, "--compare", "dir", "dir", "--bin",
                           repr(15 * mixed.dt))["compare"]
    assert (compare["a"], compare["b"]) == ("dir", "dir")
    assert compare["rms_difference_hz"] == 0.0
    assert compare["steady_difference_hz"] == 0.0
    assert compare["steady_difference_standard_error_hz"] == 0.0
    assert compare["steady_mean_a_hz"] == compare["steady_mean_b_hz"] > 0


def test_compare_direct_with_density(mixed):
    steps = 30
    compare = analyze_json(mixed.path, "--compare", "dir", "dens", "--bin",
                           repr(steps * mixed.dt))["compare"]
    assert compare["window"] == pytest.approx([T_END / 2, T_END])
    difference = compare["steady_mean_a_hz"] - compare["steady_mean_b_hz"]
    assert compare["steady_difference_hz"] == pytest.approx(difference, rel=1e-9)
    se = compare["steady_difference_standard_error_hz"]
    # The density rate is deterministic, so the SE is the direct rate's counting
    # noise: rate / sqrt(spikes in the window) (~0.12 Hz); the 10-batch estimate of
    # it is good to ~25% (1/sqrt(2 * 9)), so allow a factor 2.
    poisson = compare["steady_mean_a_hz"] / math.sqrt(
        compare["steady_mean_a_hz"] * N_NEURONS * T_END / 2)
    assert poisson / 2 < se < 2 * poisson
    # Same model, same drive: the difference is noise (within 4 standard errors).
    assert abs(compare["steady_difference_hz"]) < 4 * se
    # RMS over the whole run of the binned difference, from the CSV.
    _, rows = read_csv(invoke("analyze", mixed.path, "--csv", "-", "--bin",
                              repr(steps * mixed.dt)).stdout)
    assert compare["rms_difference_hz"] == pytest.approx(
        np.sqrt(np.mean((rows[:, 1] - rows[:, 2]) ** 2)), rel=1e-6)


def test_compare_window_and_summary_in_one_json(mixed):
    out = analyze_json(mixed.path, "--compare", "dens", "dir", "--summary",
                       "--window", "0.1:0.4")
    assert out["window"] == [0.1, 0.4] and out["compare"]["window"] == [0.1, 0.4]
    assert out["compare"]["steady_mean_b_hz"] == pytest.approx(
        out["populations"]["dir"]["mean_rate"], rel=1e-12)


def test_compare_plot_overlays(mixed, tmp_path):
    figure = tmp_path / "compare.png"
    result = invoke("analyze", mixed.path, "--compare", "dir", "dens", "--plot", figure,
                    "--bin", repr(74 * mixed.dt))
    assert_ok(result)
    assert figure.read_bytes()[:8] == PNG_MAGIC
    assert "compare" in json.loads(result.stdout)


def test_compare_unknown_population(mixed, tmp_path):
    figure = tmp_path / "compare.png"
    result = invoke("analyze", mixed.path, "--compare", "dir", "dense", "--plot", figure)
    assert_error(result, EXIT_BAD_OPTION, file=mixed.path, output=figure,
                 says=("--compare", "'dense'", "dir, dens"))


def test_compare_window_too_short_for_batches(mixed):
    result = invoke("analyze", mixed.path, "--compare", "dir", "dens",
                    "--bin", repr(740 * mixed.dt), "--window", "0.2:0.5")
    assert_error(result, EXIT_BAD_OPTION, says=("--compare", "at least 10"))


# --- pictures -----------------------------------------------------------------------

def test_raster_and_spectrum_and_binned_plot(mixed, tmp_path):
    raster, spectrum, rates = (tmp_path / n for n in ("raster.png", "spectrum.png", "rates.png"))
    result = invoke("analyze", mixed.path, "--raster", raster, "--spectrum", spectrum,
                    "--plot", rates, "--bin", repr(15 * mixed.dt))
    assert_ok(result)
    for figure in (raster, spectrum, rates):
        assert figure.read_bytes()[:8] == PNG_MAGIC
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raster.png", "rates.png",
                                                         "spectrum.png"]


def test_raster_of_density_only_output(lif_run, tmp_path):
    raster, table = tmp_path / "raster.png", tmp_path / "rates.csv"
    result = invoke("analyze", lif_run.path, "--csv", table, "--raster", raster)
    assert_error(result, EXIT_BAD_OPTION, file=lif_run.path, output=raster,
                 says=("--raster", "no direct population"))
    assert not table.exists()


def test_spectrum_of_density_only_output(lif_run, tmp_path):
    spectrum = tmp_path / "spectrum.png"
    result = invoke("analyze", lif_run.path, "--spectrum", spectrum)
    assert_error(result, EXIT_BAD_OPTION, output=spectrum, says=("--spectrum",))


def test_density_of_a_direct_population(mixed, tmp_path):
    figure = tmp_path / "density.png"
    result = invoke("analyze", mixed.path, "--density", figure, "--population", "dir")
    assert_error(result, EXIT_BAD_OPTION, file=mixed.path, output=figure,
                 says=("'dir'", "density pictures are for density populations"))


def test_density_defaults_to_the_first_density_population(mixed, tmp_path):
    """The first population of the mixed run is direct; --density takes 'dens'."""
    figure = tmp_path / "density.png"
    assert_ok(invoke("analyze", mixed.path, "--density", figure))
    assert figure.read_bytes()[:8] == PNG_MAGIC


def test_density_of_direct_only_output(solo, tmp_path):
    figure = tmp_path / "density.png"
    result = invoke("analyze", solo.path, "--density", figure)
    assert_error(result, EXIT_BAD_OPTION, output=figure,
                 says=("no density population", "density pictures are for density"))
