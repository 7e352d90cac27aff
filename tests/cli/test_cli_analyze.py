"""`miind analyze`: CSV and JSON summaries of a run, and its error paths."""

from __future__ import annotations

import csv
import io
import json

import h5py
import numpy as np
import pytest

from clitools import T_END, assert_error, assert_ok, invoke

EXIT_USAGE = 2
EXIT_BAD_OPTION = 3
EXIT_BAD_ARTIFACT = 4
# The CSV prints 9 significant digits (statistics.write_rates_csv).
CSV_RELATIVE_PRECISION = 1e-8


def read_csv(text: str) -> tuple[list[str], np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=float)


# --- errors -------------------------------------------------------------------------

def test_missing_output_file(tmp_path):
    missing = tmp_path / "absent.h5"
    result = invoke("analyze", missing, "--summary")
    assert_error(result, EXIT_BAD_ARTIFACT, file=missing, says=("not found",))


def test_mesh_given_instead_of_output(lif_mesh):
    result = invoke("analyze", lif_mesh.path, "--summary")
    assert_error(result, EXIT_BAD_ARTIFACT, file=lif_mesh.path,
                 says=("not a `miind run` output", "miind-mesh"))


def test_file_that_is_not_hdf5(write):
    text = write("run.h5", "t,lif\n0.1,5\n")
    result = invoke("analyze", text, "--summary")
    assert_error(result, EXIT_BAD_ARTIFACT, file=text, says=("not an HDF5",))


def test_output_from_a_newer_version(lif_run, tmp_path):
    future = tmp_path / "future_run.h5"
    future.write_bytes(lif_run.path.read_bytes())
    with h5py.File(future, "a") as f:
        f.attrs["format_version"] = 99
    result = invoke("analyze", future, "--summary")
    assert_error(result, EXIT_BAD_ARTIFACT, file=future, says=("version 99", "upgrade"))


@pytest.mark.parametrize("window", ["5:1", "0.03:0.03", "a:b", "0.01", "1:2"],
                         ids=["reversed", "empty", "not-numbers", "one-number", "after-run"])
def test_bad_window(lif_run, window):
    result = invoke("analyze", lif_run.path, "--summary", "--window", window)
    assert_error(result, EXIT_BAD_OPTION, says=("--window",))


def test_reversed_window_message(lif_run):
    result = invoke("analyze", lif_run.path, "--summary", "--window", "5:1")
    assert_error(result, EXIT_BAD_OPTION, says=("'5:1'", "T1 must be after T0"))


def test_no_action_is_a_usage_error(lif_run):
    result = invoke("analyze", lif_run.path)
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert "nothing to do" in result.stderr
    assert result.stdout == ""


def test_density_of_unknown_population(lif_run, tmp_path):
    figure = tmp_path / "density.png"
    result = invoke("analyze", lif_run.path, "--density", figure, "--population", "lfi")
    assert_error(result, EXIT_BAD_OPTION, says=("--population", "'lfi'", "lif"), output=figure)


def test_bad_window_writes_no_csv(lif_run, tmp_path):
    """Options are checked before any output is written: a failed command leaves nothing."""
    table = tmp_path / "rates.csv"
    result = invoke("analyze", lif_run.path, "--csv", table, "--summary", "--window", "5:1")
    assert_error(result, EXIT_BAD_OPTION, says=("--window",), output=table)


def test_unknown_population_writes_no_csv_or_plot(lif_run, tmp_path):
    table, figure = tmp_path / "rates.csv", tmp_path / "density.png"
    result = invoke("analyze", lif_run.path, "--csv", table, "--density", figure,
                    "--population", "lfi")
    assert_error(result, EXIT_BAD_OPTION, says=("--population",), output=table)
    assert not figure.exists()


# --- CSV ----------------------------------------------------------------------------

def test_csv_to_stdout(lif_run):
    result = invoke("analyze", lif_run.path, "--csv", "-")
    assert_ok(result)
    header, rows = read_csv(result.stdout)
    assert header == ["t", "lif"]
    with h5py.File(lif_run.path, "r") as f:
        time, rate = f["time"][()], f["populations/lif/rate"][()]
    np.testing.assert_allclose(rows[:, 0], time, rtol=CSV_RELATIVE_PRECISION)
    np.testing.assert_allclose(rows[:, 1], rate, rtol=CSV_RELATIVE_PRECISION, atol=1e-9)
    assert rows[-1, 0] == pytest.approx(T_END, rel=1e-6)


def test_csv_to_file_is_the_same(lif_run, tmp_path):
    table = tmp_path / "rates.csv"
    result = invoke("analyze", lif_run.path, "--csv", table)
    assert_ok(result)
    assert result.stdout == ""
    assert table.read_text() == invoke("analyze", lif_run.path, "--csv", "-").stdout
    assert list(tmp_path.glob(".rates.csv.partial-*")) == []


# --- summary ------------------------------------------------------------------------

def test_summary_json(lif_run):
    result = invoke("analyze", lif_run.path, "--summary")
    assert_ok(result)
    summary = json.loads(result.stdout)
    assert list(summary["populations"]) == ["lif"]
    # Default window: the second half, the same mean `miind run` reports.
    assert summary["populations"]["lif"]["mean_rate"] == pytest.approx(
        lif_run.summary["mean_rates"]["lif"], rel=1e-12)


def test_summary_window_is_the_mean_of_its_rows(lif_run):
    t0, t1 = 0.02, 0.05
    result = invoke("analyze", lif_run.path, "--summary", "--window", f"{t0}:{t1}")
    assert_ok(result)
    mean_rate = json.loads(result.stdout)["populations"]["lif"]["mean_rate"]
    _, rows = read_csv(invoke("analyze", lif_run.path, "--csv", "-").stdout)
    t, rate = rows[:, 0], rows[:, 1]
    # Row t holds the rate of the step (t - dt, t]: it is in the window if its midpoint is.
    dt = t[1] - t[0]
    inside = (t - dt / 2 >= t0) & (t - dt / 2 <= t1)
    assert inside.sum() > 0.5 * (t1 - t0) / dt
    assert mean_rate > 0, "the window should contain firing to compare"
    assert mean_rate == pytest.approx(rate[inside].mean(), rel=CSV_RELATIVE_PRECISION)
    whole = json.loads(invoke("analyze", lif_run.path, "--summary", "--window", "0:0.05")
                       .stdout)["populations"]["lif"]["mean_rate"]
    assert whole != pytest.approx(mean_rate, rel=1e-6), "the window made no difference"


# --- plots --------------------------------------------------------------------------

def test_plots_are_written(lif_run, tmp_path):
    rates, density = tmp_path / "rates.png", tmp_path / "density.png"
    result = invoke("analyze", lif_run.path, "--plot", rates, "--density", density,
                    "--population", "lif", "--time", "0.02")
    assert_ok(result)
    for figure in (rates, density):
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.stdout == ""
