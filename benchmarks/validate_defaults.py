#!/usr/bin/env python3
"""`make validate`, part 3: the automatic mesh settings away from our own examples.

    .venv/bin/python benchmarks/validate_defaults.py [--quick] [--models AdEx,...]
                                                     [--methods grid,strips] [--fresh]

For every 2D model of examples/grid2d a user's model file is written with only its
[model], the method and the efficacies: resolution and dt are left to the defaults,
and the ranges are
  * "example": the example's,
  * "wide": wider ones a user might pick without knowing where the density goes,
  * "auto": left out, found from [mesh] expected_input at the run's input rate
    (meshgen.exploration).
Each runs 1 s at four input rates, from half the example's lower rate to three times
its higher one, by both 2D methods, against direct simulation of the same model file:
the steady rate (DIRECT_NEURONS neurons, standard error from batch means), and the
transient (first 0.3 s in 5 ms bins, TRANSIENT_NEURONS neurons) as RMS over the
direct peak, beyond the direct's own noise. Where the direct steady rate's standard
error exceeds 2% (rare firing) the steady rate meets the target if it agrees within
SE_MARGIN standard errors. FitzHugh-Nagumo has no threshold: its mean v is compared
instead.

Per case: cells, mesh seconds, mesh file size and peak memory (of `miind mesh`, from
/usr/bin/time), run seconds per simulated second (of `miind run`, whole process),
the clamped-mass check, and the errors; those beyond the targets (2% steady, 5%
transient, FitzHugh-Nagumo 0.02 in mean v) or the costs (30 s per simulated second,
300 MB) are flagged. The mesh and run are the command line's, in subprocesses, with
the files in out/validate_defaults/ so each can be rerun by hand.

Results are appended case by case to out/validate_defaults.jsonl and a rerun skips
the cases already there (--fresh starts over); the report goes to
out/validate_defaults.md and stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from bench_report import OUT_DIR, REPO, log, machine_info, machine_line, md_table, percent, \
    resumed_results
from tests.support.grid_studies import Drive, run_direct

EXAMPLES = REPO / "examples" / "grid2d"
MIIND = str(Path(sys.executable).with_name("miind"))
WORK = OUT_DIR / "validate_defaults"
RESULTS = OUT_DIR / "validate_defaults.jsonl"
REPORT = OUT_DIR / "validate_defaults.md"

STEADY_TARGET = 0.02
TRANSIENT_TARGET = 0.05
FHN_MEAN_TARGET = 0.02
SECONDS_PER_SECOND_TARGET = 30.0
MESH_MB_TARGET = 300.0
T_END, STEADY = 1.0, (0.5, 1.0)
TRANSIENT_STOP, BIN_WIDTH = 0.3, 0.005
DIRECT_NEURONS = 20_000
TRANSIENT_NEURONS = 100_000
FHN_NEURONS = 10_000
N_BATCHES = 20
DIRECT_DT = 1e-4
SEED = 2026
# Where the direct reference is too noisy to judge 2% (rare firing: AdEx at 1000 Hz
# fires ~1e-4 Hz, a few spikes), agreement within this many standard errors.
SE_MARGIN = 3.0
# A mesh or run taking longer than this (wall seconds) is stopped and reported.
CASE_TIMEOUT = 1800


@dataclass(frozen=True)
class Model:
    label: str
    example: str  # examples/grid2d file whose [model] is used
    dimension: str
    efficacy: float
    initial: dict
    rates: tuple[float, float]  # the example's two input rates (Hz)
    wide: dict  # ranges a user might pick
    integration_step: float | None = None  # direct RK4 step

    @property
    def input_rates(self) -> tuple[float, ...]:
        low, high = self.rates
        return (0.5 * low, low, high, 3.0 * high)


MODELS = (
    Model("AdEx", "adex.toml", "v", 1.0, {"v": -70.6, "w": 0.0}, (2000.0, 3000.0),
          {"v": [-90.0, -40.4], "w": [-100.0, 600.0]}),
    Model("Izhikevich", "izhikevich.toml", "v", 1.0, {"v": -70.0, "u": -14.0},
          (3000.0, 8000.0), {"v": [-90.0, 30.0], "u": [-20.0, 20.0]}),
    Model("conductance LIF", "conductance_lif.toml", "g", 0.05, {"v": -65.0, "g": 0.0},
          (550.0, 780.0), {"v": [-70.0, -55.0], "g": [0.0, 2.0]}),
    Model("FitzHugh-Nagumo", "fitzhugh_nagumo.toml", "v", 0.1, {"v": -1.2, "w": -0.62},
          (1000.0, 2000.0), {"v": [-3.0, 3.0], "w": [-1.5, 2.5]}, integration_step=5e-5),
)


def model_text(model: Model, method: str, ranges: str, rate: float) -> str:
    """A user's model file: the example's [model], the method, the efficacy, and the
    ranges named by `ranges` (or expected_input instead)."""
    document = tomllib.loads((EXAMPLES / model.example).read_text())
    lines = ["[model]", f'kind = "{document["model"]["kind"]}"']
    for table in ("parameters", "spike"):
        if table in document["model"]:
            lines.append(f"[model.{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in document["model"][table].items()]
    lines += ["[mesh]", f'method = "{method}"',
              f'efficacies = {{ {model.dimension} = [{model.efficacy!r}] }}']
    if ranges == "auto":
        lines.append(f"expected_input = {{ rate = {rate!r}, efficacy = {model.efficacy!r}, "
                     f'dimension = "{model.dimension}" }}')
    else:
        chosen = document["mesh"]["ranges"] if ranges == "example" else model.wide
        lines.append("ranges = { " + ", ".join(f"{k} = [{lo!r}, {hi!r}]"
                                               for k, (lo, hi) in chosen.items()) + " }")
    return "\n".join(lines) + "\n"


def toml_value(value) -> str:
    """A number, string or table as TOML (strings as JSON, which TOML reads)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def simulation_text(model: Model, rate: float) -> str:
    initial = ", ".join(f"{k} = {v!r}" for k, v in model.initial.items())
    return (f"[simulation]\nt_end = {T_END!r}\n[[population]]\nname = \"p\"\n"
            f"mesh = \"mesh.h5\"\ninitial = {{ {initial} }}\n[[input]]\nname = \"drive\"\n"
            f"rate = {rate!r}\n[[connection]]\nsource = \"drive\"\ntarget = \"p\"\n"
            f"efficacy = {model.efficacy!r}\ndimension = \"{model.dimension}\"\n")


def timed(command: list[str]) -> tuple[dict | None, float, float, str]:
    """(JSON stdout or None, wall seconds, peak memory MB, stderr) of a command."""
    started = time.perf_counter()
    try:
        done = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, capture_output=True,
                              text=True, timeout=CASE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - started, math.nan, "timeout"
    wall = time.perf_counter() - started
    *messages, peak = done.stderr.strip().splitlines() or ["0"]
    try:
        peak_mb = int(peak) / 1024
    except ValueError:
        peak_mb, messages = math.nan, messages + [peak]
    summary = json.loads(done.stdout) if done.returncode in (0, 6) and done.stdout else None
    return summary, wall, peak_mb, "\n".join(messages)


def direct_reference(model: Model, rate: float, cache: dict, quick: bool) -> dict:
    key = f"{model.label}|{rate:g}|{'quick' if quick else 'full'}"
    if key in cache:
        return cache[key]
    scale = 10 if quick else 1
    drive = Drive(EXAMPLES / model.example, model.dimension, model.efficacy, rate, model.initial,
                  model.integration_step)
    where = WORK / "direct" / f"{model.label.replace(' ', '_')}_{rate:g}"
    a, b = STEADY
    if model.label == "FitzHugh-Nagumo":
        neurons = FHN_NEURONS // scale
        log(f"{model.label} {rate:g} Hz: direct, {neurons} neurons")
        run = run_direct(drive, where, T_END, neurons, SEED, DIRECT_DT)
        middle = run.time - run.dt / 2
        window = run.mean["v"][(middle >= a) & (middle < b)]
        blocks = np.array([p.mean() for p in np.array_split(window, 10)])
        found = {"mean_v": float(window.mean()),
                 "standard_error": float(blocks.std(ddof=1) / math.sqrt(10)),
                 "n_neurons": neurons}
    else:
        neurons = DIRECT_NEURONS // scale
        log(f"{model.label} {rate:g} Hz: direct, {neurons} neurons")
        run = run_direct(drive, where, T_END, neurons, SEED, DIRECT_DT)
        batches = run.batch_rates(N_BATCHES, a, b)
        early_neurons = TRANSIENT_NEURONS // scale
        log(f"{model.label} {rate:g} Hz: direct transient, {early_neurons} neurons")
        early = run_direct(drive, where / "transient", TRANSIENT_STOP, early_neurons, SEED + 1,
                           DIRECT_DT)
        bins = early.binned_rate(BIN_WIDTH, TRANSIENT_STOP)
        noise = early.batch_binned_rates(N_BATCHES, BIN_WIDTH, TRANSIENT_STOP).std(
            axis=0, ddof=1) / math.sqrt(N_BATCHES)
        found = {"rate_hz": run.mean_rate(a, b),
                 "standard_error_hz": float(batches.std(ddof=1) / math.sqrt(N_BATCHES)),
                 "transient_hz": bins.tolist(), "peak_hz": float(bins.max()),
                 "transient_noise_over_peak": float(np.sqrt(np.mean(noise ** 2)) / bins.max()),
                 "n_neurons": neurons}
    cache[key] = found
    return found


def run_case(model: Model, method: str, ranges: str, rate: float, reference: dict) -> dict:
    where = WORK / model.label.replace(" ", "_") / f"{method}_{ranges}_{rate:g}"
    where.mkdir(parents=True, exist_ok=True)
    (where / "model.toml").write_text(model_text(model, method, ranges, rate))
    (where / "sim.toml").write_text(simulation_text(model, rate))
    case = {"model": model.label, "method": method, "ranges": ranges, "input_hz": rate}
    mesh, mesh_wall, mesh_mb, mesh_err = timed([MIIND, "mesh", str(where / "model.toml"), "-o",
                                               str(where / "mesh.h5"), "--quiet"])
    if mesh is None:
        return {**case, "failed": f"mesh: {mesh_err.strip()[-300:]}", "mesh_seconds": mesh_wall}
    case.update(n_cells=mesh["n_cells"], resolution=mesh["resolution"], dt=mesh["dt"],
                mesh_ranges=mesh["ranges"], mesh_seconds=mesh_wall, mesh_peak_mb=mesh_mb,
                mesh_file_mb=(where / "mesh.h5").stat().st_size / 2 ** 20,
                mesh_warnings=mesh.get("warnings", []))
    run, run_wall, run_mb, run_err = timed([MIIND, "run", str(where / "sim.toml"), "-o",
                                           str(where / "out.h5"), "--quiet"])
    if run is None:
        return {**case, "failed": f"run: {run_err.strip()[-300:]}", "run_seconds": run_wall}
    case.update(run_seconds=run_wall, run_peak_mb=run_mb,
                seconds_per_second=run_wall / T_END,
                clamp_check=run["clamped_mass_check"]["result"],
                clamped_per_second=run["clamped_per_second"]["p"],
                run_warnings=run.get("warnings", []))
    with h5py.File(where / "out.h5") as f:
        time_ = f["time"][()]
        rate_hz = f["populations/p/rate"][()]
        mean_v = f["populations/p/mean/v"][()]
    dt = float(time_[1] - time_[0])
    middle = time_ - dt / 2
    steady = (middle >= STEADY[0]) & (middle < STEADY[1])
    if "mean_v" in reference:
        value = float(mean_v[steady].mean())
        case.update(mean_v=value, difference=value - reference["mean_v"],
                    meets=bool(abs(value - reference["mean_v"]) <= FHN_MEAN_TARGET))
        return case
    per_bin = int(round(BIN_WIDTH / dt))
    n_bins = int(round(TRANSIENT_STOP / BIN_WIDTH))
    bins = rate_hz[:n_bins * per_bin].reshape(n_bins, per_bin).mean(axis=1)
    rms = float(np.sqrt(np.mean((bins - np.array(reference["transient_hz"])) ** 2)))
    value = float(rate_hz[steady].mean())
    error = value / reference["rate_hz"] - 1
    error_in_se = (value - reference["rate_hz"]) / reference["standard_error_hz"]
    noise = reference["transient_noise_over_peak"]
    beyond_noise = math.sqrt(max((rms / reference["peak_hz"]) ** 2 - noise ** 2, 0.0))
    # A reference whose standard error exceeds the target cannot judge the steady rate:
    # consistent within SE_MARGIN standard errors is then all that can be said.
    noisy = reference["standard_error_hz"] > STEADY_TARGET * reference["rate_hz"]
    case.update(rate_hz=value, error=error, error_in_se=error_in_se, noisy_reference=noisy,
                transient_rms_over_peak=rms / reference["peak_hz"],
                transient_beyond_noise=beyond_noise)
    case["meets"] = meets(case)
    return case


def meets(case: dict) -> bool:
    """Whether a spiking case meets the targets. With a noisy reference (rare firing,
    a few direct spikes) the steady rate need only agree within SE_MARGIN standard
    errors, and the transient, whose peak is then a few spikes, is not judged."""
    noisy = case["noisy_reference"]
    steady = abs(case["error"]) <= STEADY_TARGET or (noisy and
                                                    abs(case["error_in_se"]) <= SE_MARGIN)
    return bool(steady and (noisy or case["transient_beyond_noise"] <= TRANSIENT_TARGET))


def report(cases: list[dict]) -> str:
    lines = ["# Automatic mesh settings away from the examples (benchmarks/validate_defaults.py)",
             "", machine_line(machine_info()), ""]
    for model in MODELS:
        mine = [c for c in cases if c["model"] == model.label]
        if not mine:
            continue
        lines += [f"## {model.label} (jumps of {model.efficacy:g} in {model.dimension}; "
                  f"example rates {model.rates[0]:g} / {model.rates[1]:g} Hz)", ""]
        rows = []
        for c in sorted(mine, key=lambda c: (c["method"], c["ranges"], c["input_hz"])):
            if "failed" in c:
                rows.append([c["method"], c["ranges"], f"{c['input_hz']:g}", "-", "-", "-", "-",
                             "-", "-", f"FAILED {c['failed'][:80]}"])
                continue
            cells = f"{c['n_cells']:,} ({' x '.join(str(n) for n in c['resolution'].values())})"
            ranges = "; ".join(f"{k} [{lo:g}, {hi:g}]" for k, (lo, hi) in c["mesh_ranges"].items())
            cost = (f"{c['mesh_seconds']:.0f} s, {c['mesh_peak_mb']:.0f} MB; "
                    f"{c['seconds_per_second']:.1f} s/s")
            if "error" in c:
                c["meets"] = meets(c)
                accuracy = f"{percent(c['error'])} ({c['error_in_se']:+.1f} se)" + \
                    (" noisy ref." if c["noisy_reference"] else "")
                transient = ("-" if c["noisy_reference"]
                             else percent(c["transient_beyond_noise"], signed=False))
            else:
                accuracy, transient = f"{c['difference']:+.4f} (mean v)", "-"
            flags = []
            if not c["meets"]:
                flags.append("accuracy")
            if c["seconds_per_second"] > SECONDS_PER_SECOND_TARGET:
                flags.append("slow")
            if max(c["mesh_peak_mb"], c["run_peak_mb"]) > MESH_MB_TARGET:
                flags.append("memory")
            if c["clamp_check"] != "passed":
                flags.append("clamped")
            elif c.get("run_warnings"):
                flags.append("warned")
            rows.append([c["method"], c["ranges"], f"{c['input_hz']:g}", cells, ranges,
                         f"{c['dt']:g}", cost, accuracy, transient, ", ".join(flags) or "ok"])
        lines += [md_table(["method", "ranges", "input Hz", "cells", "mesh ranges", "dt (s)",
                            "mesh; run cost", "steady", "transient", "flags"], rows), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the direct neurons")
    parser.add_argument("--models", default=",".join(m.label for m in MODELS))
    parser.add_argument("--methods", default="grid,strips")
    parser.add_argument("--ranges", default="auto,example,wide")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--report", action="store_true",
                        help="only render the report of the results so far")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    cases = resumed_results(RESULTS, args.fresh)
    if args.report:
        text = report(cases)
        REPORT.write_text(text)
        print(text)
        return
    done = {(c["model"], c["method"], c["ranges"], c["input_hz"]) for c in cases}
    cache_path = WORK / "direct.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    wanted = set(args.models.split(","))
    for model in MODELS:
        if model.label not in wanted:
            continue
        for rate in model.input_rates:
            reference = direct_reference(model, rate, cache, args.quick)
            cache_path.write_text(json.dumps(cache))
            for method in args.methods.split(","):
                for ranges in args.ranges.split(","):
                    if (model.label, method, ranges, rate) in done:
                        continue
                    log(f"{model.label} {rate:g} Hz: {method}, {ranges} ranges")
                    case = run_case(model, method, ranges, rate, reference)
                    with open(RESULTS, "a") as stream:
                        stream.write(json.dumps(case) + "\n")
                    cases.append(case)
                    REPORT.write_text(report(cases))
    text = report(cases)
    REPORT.write_text(text)
    print(text)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
