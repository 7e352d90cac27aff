#!/usr/bin/env python3
"""`make validate`, part 2: the 2D grid method against direct simulation.

    .venv/bin/python benchmarks/validate_2d.py [--json out/validate_2d.json] [--quick]

For AdEx (Brette-Gerstner), Izhikevich (regular spiking) and the conductance-based
LIF (jumps in g), each at two input rates, from the model files in examples/grid2d/:

1. steady rate of the grid (mean over the steady window) against a direct simulation
   of DIRECT_NEURONS neurons from the same model file; the direct rate's standard
   error comes from the batch means of N_BATCHES groups of neurons;
2. the transient from the fixed initial state: the first 300 ms of the population
   rate in 5 ms bins, RMS difference over the direct simulation's peak rate, against
   a larger direct run (TRANSIENT_NEURONS neurons over 300 ms) so that its own noise
   (reported) stays well below the target;
3. both along a refinement ladder: the resolution (at the base dt) and the mesh dt
   (at the base resolution); the coarsest setting of each ladder that meets the
   targets for both rates is the suggested default;
4. the same figures for the strip method (`method = "strips"`, meshgen/strips2d_tracing.py)
   on the same model files, along a ladder of mesh dt on one target resolution: a
   strip cell is one step of the flow long, so the step sets its error.

FitzHugh-Nagumo (no threshold: nothing fires, see examples/grid2d/fitzhugh_nagumo.toml):
the mean of v over the steady window against direct simulation, by both methods, with
the direct's standard error from batch means over time blocks.

A markdown report goes to stdout and out/validate_2d.md, the figures as JSON to
out/validate_2d.json, progress to stderr. All runs start from the same fixed state; the simulation files
are written into a scratch directory (tests.support.grid_studies) and can be rerun by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench_report import OUT_DIR, REPO, log, machine_info, machine_line, md_table, percent, publish
from meshgen.formats.atomic_file import atomic_output
from tests.support.grid_studies import Drive, mesh_overrides, run_direct, run_grid

EXAMPLES = REPO / "examples" / "grid2d"

# The targets.
STEADY_TARGET = 0.02  # |grid / direct - 1|
TRANSIENT_TARGET = 0.05  # RMS(grid - direct) / direct peak, 5 ms bins over 0-300 ms
TRANSIENT_STOP, BIN_WIDTH = 0.3, 0.005
# FitzHugh-Nagumo's target, our choice: the mean of v within 0.02 (v is
# dimensionless, its spikes span about -2 to 2, so 0.5% of the spike height).
FHN_MEAN_TARGET = 0.02

# Direct simulations: 20,000 neurons for the steady rate (the minimum); 20
# batches give the standard error to about +-16% (1/sqrt(2 x 19)). The transient is
# compared per 5 ms bin, where 20,000 neurons at 5 Hz leave ~0.2 Hz of noise per bin,
# a few % of a low peak: 100,000 neurons over 0.3 s keep it near 1% at the same cost.
DIRECT_NEURONS = 20_000
TRANSIENT_NEURONS = 100_000
N_BATCHES = 20
DIRECT_DT = 1e-4  # s: the direct simulations' network step (exact event times within)
SEED = 2026
FHN_DIRECT_NEURONS = 10_000  # RK4 at 50 us: ~55 s per 10,000 neuron-seconds here
FHN_TIME_BLOCKS = 14  # batch means of the population mean of v, 50 ms blocks


@dataclass(frozen=True)
class Model:
    label: str
    model_file: str
    dimension: str
    efficacy: float
    initial: dict
    rates: tuple[float, float]  # input rates (Hz): output ~5 Hz and ~20 Hz
    t_end: float
    steady: tuple[float, float]  # window of the steady means (s)
    # The refinement ladders, coarse to fine: resolution (at base dt) and dt (at base
    # resolution); the model file's own settings are the base.
    resolutions: tuple[tuple[int, int], ...]
    dts: tuple[float, ...]
    base_resolution: tuple[int, int]
    base_dt: float
    # The strip method: its target resolution and dt ladder, coarse to fine.
    strips_resolution: tuple[int, int]
    strips_dts: tuple[float, ...]
    integration_step: float | None = None


MODELS = (
    # AdEx: tau_w = 144 ms, the adaptation settles by ~0.5 s.
    Model("AdEx", "adex_validate_model.toml", "v", 1.0, {"v": -70.6, "w": 0.0}, (2000.0, 3000.0),
          1.0, (0.5, 1.0), ((100, 50), (200, 100), (400, 200)), (2e-4, 1e-4, 5e-5),
          (200, 100), 1e-4, (200, 100), (2e-4, 1e-4)),
    # Izhikevich RS: 1/a = 50 ms for u.
    Model("Izhikevich", "izhikevich.toml", "v", 1.0, {"v": -70.0, "u": -14.0}, (3000.0, 8000.0),
          1.0, (0.5, 1.0), ((115, 44), (230, 88), (345, 132), (460, 176)),
          (1e-3, 5e-4, 2.5e-4, 1.25e-4), (230, 88), 5e-4, (230, 88), (1e-4, 5e-5)),
    # Conductance LIF: tau 20 ms, tau_g 5 ms; steady after ~0.1 s.
    Model("conductance LIF", "conductance_lif.toml", "g", 0.05, {"v": -65.0, "g": 0.0},
          (550.0, 780.0), 1.0, (0.3, 1.0), ((110, 80), (220, 160), (440, 320)),
          (1e-3, 5e-4, 2.5e-4), (220, 160), 5e-4, (220, 160), (2e-4, 1e-4)),
)
FHN = Model("FitzHugh-Nagumo", "fitzhugh_nagumo.toml", "v", 0.1, {"v": -1.2, "w": -0.62},
            (1000.0, 2000.0), 1.0, (0.3, 1.0), ((100, 56), (200, 112), (400, 224)),
            (1e-3, 5e-4, 2.5e-4), (400, 224), 5e-4, (400, 224), (5e-4, 2e-4, 1e-4),
            integration_step=5e-5)


def drive(model: Model, rate: float) -> Drive:
    return Drive(EXAMPLES / model.model_file, model.dimension, model.efficacy, rate,
                 model.initial, model.integration_step)


def settings(model: Model) -> list[tuple[str, tuple[int, int], float]]:
    """(ladder, resolution, dt) of every grid run, the base setting once."""
    runs = [("resolution", r, model.base_dt) for r in model.resolutions]
    runs += [("dt", model.base_resolution, dt) for dt in model.dts if dt != model.base_dt]
    return runs


def strip_settings(model: Model) -> list[tuple[str, tuple[int, int], float]]:
    """(ladder, target resolution, dt) of every strip run."""
    return [("strips dt", model.strips_resolution, dt) for dt in model.strips_dts]


def _mesh(model: Model, method: str, resolution, dt) -> tuple[str, list[str]]:
    """A run's directory name and the overrides giving the model file its mesh."""
    overrides = mesh_overrides(EXAMPLES / model.model_file, resolution, dt)
    name = f"{method}_{resolution[0]}x{resolution[1]}_dt{dt:g}"
    return name, overrides + [f"mesh.method={method}"]


def direct_reference(model: Model, rate: float, scratch: Path, quick: bool) -> dict:
    neurons = DIRECT_NEURONS // (10 if quick else 1)
    log(f"{model.label} {rate:g} Hz: direct, {neurons} neurons x {model.t_end:g} s")
    run = run_direct(drive(model, rate), scratch / "direct", model.t_end, neurons, SEED, DIRECT_DT)
    a, b = model.steady
    batches = run.batch_rates(N_BATCHES, a, b)
    transient_neurons = TRANSIENT_NEURONS // (10 if quick else 1)
    log(f"{model.label} {rate:g} Hz: direct transient, {transient_neurons} neurons x "
        f"{TRANSIENT_STOP:g} s")
    early = run_direct(drive(model, rate), scratch / "transient", TRANSIENT_STOP,
                       transient_neurons, SEED + 1, DIRECT_DT)
    per_batch = early.batch_binned_rates(N_BATCHES, BIN_WIDTH, TRANSIENT_STOP)
    bins = early.binned_rate(BIN_WIDTH, TRANSIENT_STOP)
    noise = per_batch.std(axis=0, ddof=1) / math.sqrt(N_BATCHES)
    return {"n_neurons": neurons, "rate_hz": run.mean_rate(a, b),
            "standard_error_hz": float(batches.std(ddof=1) / math.sqrt(N_BATCHES)),
            "wall_seconds": run.wall_seconds, "transient_neurons": transient_neurons,
            "transient_hz": bins, "transient_se_hz": noise, "peak_hz": float(bins.max()),
            "transient_noise_over_peak": float(np.sqrt(np.mean(noise ** 2)) / bins.max()),
            "transient_wall_seconds": early.wall_seconds}


def grid_figures(model: Model, rate: float, reference: dict, scratch: Path, ladder, resolution,
                 dt, method: str = "grid") -> dict:
    name, overrides = _mesh(model, method, resolution, dt)
    log(f"{model.label} {rate:g} Hz: {method} {resolution[0]} x {resolution[1]}, dt {dt:g} s")
    run = run_grid(drive(model, rate), scratch / name, model.t_end, overrides)
    a, b = model.steady
    steady = run.mean_rate(a, b)
    bins = run.binned_rate(BIN_WIDTH, TRANSIENT_STOP)
    difference = bins - reference["transient_hz"]
    rms = float(np.sqrt(np.mean(difference ** 2)))
    noise = float(np.sqrt(np.mean(reference["transient_se_hz"] ** 2)))
    peak = reference["peak_hz"]
    error = steady / reference["rate_hz"] - 1
    return {"ladder": ladder, "method": method, "resolution": list(resolution),
            "n_cells": run.mesh.n_cells, "strip_cells": run.mesh.strip_cells,
            "dt": dt, "rate_hz": steady, "error": error,
            "error_in_se": (steady - reference["rate_hz"]) / reference["standard_error_hz"],
            "transient_rms_over_peak": rms / peak,
            "transient_beyond_noise_over_peak": math.sqrt(max(rms ** 2 - noise ** 2, 0.0)) / peak,
            "transient_hz": bins, "mesh_seconds": run.mesh.seconds,
            "run_seconds": run.wall_seconds, "steps_per_second": 1.0 / dt,
            "meets": bool(abs(error) <= STEADY_TARGET and rms / peak <= TRANSIENT_TARGET)}


def spiking_model(model: Model, scratch: Path, quick: bool) -> dict:
    per_rate = []
    for rate in model.rates:
        where = scratch / f"{model.model_file.split('.')[0]}_{rate:g}"
        reference = direct_reference(model, rate, where, quick)
        grids = [grid_figures(model, rate, reference, where, *s) for s in settings(model)]
        strips = [grid_figures(model, rate, reference, where, *s, method="strips")
                  for s in strip_settings(model)]
        per_rate.append({"input_hz": rate, "direct": reference, "grid": grids, "strips": strips})
    return {"label": model.label, "model_file": f"examples/grid2d/{model.model_file}",
            "efficacy": model.efficacy, "dimension": model.dimension, "initial": model.initial,
            "steady_window_s": list(model.steady), "rates": per_rate,
            "coarsest": coarsest(per_rate, model), "strips_coarsest": strips_coarsest(per_rate)}


def strips_coarsest(per_rate: list[dict]) -> dict:
    """The largest strip dt that meets the targets at every input rate."""
    for entry in sorted(per_rate[0].get("strips", []), key=lambda g: -g["dt"]):
        same = [h for r in per_rate for h in r["strips"] if h["dt"] == entry["dt"]]
        if all(h["meets"] for h in same):
            return {"resolution": entry["resolution"], "dt": entry["dt"],
                    "n_cells": entry["n_cells"]}
    return {}


def coarsest(per_rate: list[dict], model: Model) -> dict:
    """Per ladder, the coarsest setting that meets the targets at every input rate:
    fewest cells at the base dt, largest dt on the base resolution (the base setting
    belongs to both ladders)."""
    def candidates(ladder):
        base = [g for g in per_rate[0]["grid"]
                if (g["dt"] == model.base_dt if ladder == "resolution"
                    else tuple(g["resolution"]) == tuple(model.base_resolution))]
        return sorted(base, key=(lambda g: g["n_cells"]) if ladder == "resolution"
                      else (lambda g: -g["dt"]))

    found = {}
    for ladder in ("resolution", "dt"):
        for g in candidates(ladder):
            same = [[h for h in r["grid"] if h["resolution"] == g["resolution"]
                     and h["dt"] == g["dt"]][0] for r in per_rate]
            if all(h["meets"] for h in same):
                found[ladder] = {"resolution": g["resolution"], "dt": g["dt"],
                                 "n_cells": g["n_cells"]}
                break
    return found


def fitzhugh_nagumo(model: Model, scratch: Path, quick: bool) -> dict:
    per_rate = []
    a, b = model.steady
    for rate in model.rates:
        where = scratch / f"fhn_{rate:g}"
        neurons = FHN_DIRECT_NEURONS // (10 if quick else 1)
        log(f"{model.label} {rate:g} Hz: direct, {neurons} neurons x {model.t_end:g} s")
        run = run_direct(drive(model, rate), where / "direct", model.t_end, neurons, SEED,
                         DIRECT_DT)
        middle = run.time - run.dt / 2
        window = run.mean["v"][(middle >= a) & (middle < b)]
        blocks = np.array([part.mean() for part in np.array_split(window, FHN_TIME_BLOCKS)])
        direct = {"n_neurons": neurons, "mean_v": float(window.mean()),
                  "standard_error": float(blocks.std(ddof=1) / math.sqrt(FHN_TIME_BLOCKS)),
                  "wall_seconds": run.wall_seconds,
                  "spikes": int(len(run.spike_times))}  # no threshold: 0
        grids, strips = [], []
        for method, runs, into in (("grid", settings(model), grids),
                                   ("strips", strip_settings(model), strips)):
            for ladder, resolution, dt in runs:
                name, overrides = _mesh(model, method, resolution, dt)
                log(f"{model.label} {rate:g} Hz: {method} {resolution[0]} x {resolution[1]}, "
                    f"dt {dt:g} s")
                g = run_grid(drive(model, rate), where / name, model.t_end, overrides)
                # The output means are taken at mid-jump (solver/kernels_2d.py).
                mean_v = g.mean_of("v", a, b)
                into.append({"ladder": ladder, "method": method, "resolution": list(resolution),
                             "dt": dt, "n_cells": g.mesh.n_cells,
                             "strip_cells": g.mesh.strip_cells, "mean_v": mean_v,
                             "difference": mean_v - direct["mean_v"],
                             "fired_hz": g.mean_rate(a, b), "run_seconds": g.wall_seconds,
                             "meets": bool(abs(mean_v - direct["mean_v"]) <= FHN_MEAN_TARGET)})
        per_rate.append({"input_hz": rate, "direct": direct, "grid": grids, "strips": strips})
    return {"label": model.label, "model_file": f"examples/grid2d/{model.model_file}",
            "efficacy": model.efficacy, "initial": model.initial,
            "steady_window_s": list(model.steady), "rates": per_rate,
            "coarsest": coarsest(per_rate, model), "strips_coarsest": strips_coarsest(per_rate)}


# ---------------------------------------------------------------- report

def _setting(entry) -> str:
    if not entry:
        return "none of the ladder"
    r = entry["resolution"]
    return f"{r[0]} x {r[1]} ({entry['n_cells']:,} cells), dt {1e3 * entry['dt']:g} ms"


def _runs(per_rate: dict) -> list[dict]:
    """The grid runs, then the strip runs (absent from reports before strips)."""
    return per_rate["grid"] + per_rate.get("strips", [])


def _cells(run: dict) -> str:
    if run.get("method") == "strips":
        fill = run["n_cells"] - run["strip_cells"]
        return f"{run['n_cells']:,} ({run['strip_cells']:,} + {fill:,})"
    return f"{run['n_cells']:,}"


def report(machine: dict, spiking: list[dict], fhn: dict, total: float) -> str:
    out = ["# Validation: 2D grid and strip populations against direct simulation", "",
           machine_line(machine), "",
           f"Targets: steady rate within {percent(STEADY_TARGET, 0, False)} of a direct "
           f"simulation; transient (0-{1e3 * TRANSIENT_STOP:g} ms, {1e3 * BIN_WIDTH:g} ms bins) "
           f"RMS within {percent(TRANSIENT_TARGET, 0, False)} of the direct peak rate. "
           f"Direct: {N_BATCHES} batches of neurons give the standard error (SE).", ""]
    for m in spiking:
        out += [f"## {m['label']} ({m['model_file']}: jumps of {m['efficacy']:g} in "
                f"{m['dimension']}, from {m['initial']})", ""]
        for r in m["rates"]:
            d = r["direct"]
            out += [f"Input {r['input_hz']:g} Hz. Direct ({d['n_neurons']:,} neurons): "
                    f"**{d['rate_hz']:.4f} +- {d['standard_error_hz']:.4f} Hz** over "
                    f"{m['steady_window_s'][0]:g}-{m['steady_window_s'][1]:g} s; transient "
                    f"reference {d['transient_neurons']:,} neurons, peak {d['peak_hz']:.1f} Hz, "
                    f"its noise {percent(d['transient_noise_over_peak'], 2, False)} of the peak.",
                    ""]
            rows = [[g.get("method", "grid"), g["ladder"],
                     f"{g['resolution'][0]} x {g['resolution'][1]}",
                     _cells(g), f"{1e3 * g['dt']:g}", f"{g['rate_hz']:.4f}",
                     percent(g["error"]), f"{g['error_in_se']:+.1f}",
                     percent(g["transient_rms_over_peak"], 2, False),
                     percent(g["transient_beyond_noise_over_peak"], 2, False),
                     f"{g['run_seconds']:.1f}", "yes" if g["meets"] else "no"]
                    for g in _runs(r)]
            out += [md_table(["method", "ladder", "resolution", "cells", "dt (ms)", "rate (Hz)",
                              "error", "error / SE", "transient RMS / peak",
                              "beyond direct noise", "sim s", "meets both"], rows), ""]
        out += [f"Coarsest meeting both targets at both rates: resolution ladder "
                f"{_setting(m['coarsest'].get('resolution'))}; dt ladder "
                f"{_setting(m['coarsest'].get('dt'))}; strips "
                f"{_setting(m.get('strips_coarsest'))}.", ""]
    out += [f"## {fhn['label']} ({fhn['model_file']}: jumps of {fhn['efficacy']:g} in v, "
            f"from {fhn['initial']}): mean of v over {fhn['steady_window_s'][0]:g}-"
            f"{fhn['steady_window_s'][1]:g} s, target |difference| <= {FHN_MEAN_TARGET:g}", ""]
    for r in fhn["rates"]:
        d = r["direct"]
        out += [f"Input {r['input_hz']:g} Hz. Direct ({d['n_neurons']:,} neurons, "
                f"{d['spikes']} threshold crossings): mean v **{d['mean_v']:.4f} +- "
                f"{d['standard_error']:.4f}** (SE of {FHN_TIME_BLOCKS} time blocks).", ""]
        rows = [[g.get("method", "grid"), g["ladder"],
                 f"{g['resolution'][0]} x {g['resolution'][1]}", _cells(g),
                 f"{1e3 * g['dt']:g}", f"{g['mean_v']:.4f}", f"{g['difference']:+.4f}",
                 f"{g['run_seconds']:.1f}", "yes" if g["meets"] else "no"] for g in _runs(r)]
        out += [md_table(["method", "ladder", "resolution", "cells", "dt (ms)", "mean v",
                          "difference", "sim s", "meets"], rows), ""]
    out += ["The mean is the output's `mean/v`, taken at mid-jump (see "
            "solver/kernels_2d.py). Strip runs: cells are strip + fill cells (target-size "
            "grid cells clipped to where no strip reaches, meshgen/strips2d_tracing.py).", ""]
    out += ["## Suggested defaults: the coarsest settings meeting the targets", ""]
    rows = []
    for m in spiking + [fhn]:
        for ladder in ("resolution", "dt"):
            rows.append([m["label"], m["model_file"], ladder, _setting(m["coarsest"].get(ladder))])
        if "strips_coarsest" in m:
            rows.append([m["label"], m["model_file"], "strips dt", _setting(m["strips_coarsest"])])
    out += [md_table(["model", "model file (ranges)", "ladder", "coarsest passing"], rows), "",
            f"Validation wall time: {total:.0f} s.", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=OUT_DIR / "validate_2d.json",
                        help="where to write the JSON (default out/validate_2d.json)")
    parser.add_argument("--markdown", type=Path, default=OUT_DIR / "validate_2d.md",
                        help="where to write the report (default out/validate_2d.md)")
    parser.add_argument("--report-from", type=Path, metavar="JSON",
                        help="only write the report again from the figures of an earlier run")
    parser.add_argument("--quick", action="store_true",
                        help="a tenth of the direct neurons (a smoke test, not a validation)")
    args = parser.parse_args(argv)
    if args.report_from is not None:
        data = json.loads(args.report_from.read_text())
        models = {m.label: m for m in MODELS + (FHN,)}
        for entry in data["models"] + [data["fitzhugh_nagumo"]]:
            entry["coarsest"] = coarsest(entry["rates"], models[entry["label"]])
            if "strips" in entry["rates"][0]:
                entry["strips_coarsest"] = strips_coarsest(entry["rates"])
        sys.stdout.write(report(data["machine"], data["models"], data["fitzhugh_nagumo"],
                                data["total_seconds"]))
        return 0
    started = time.perf_counter()
    machine = machine_info()
    log(machine_line(machine))
    with tempfile.TemporaryDirectory(prefix="miind-validate-2d-") as scratch:
        scratch = Path(scratch)
        spiking = [spiking_model(m, scratch, args.quick) for m in MODELS]
        fhn = fitzhugh_nagumo(FHN, scratch, args.quick)
    total = time.perf_counter() - started
    text = report(machine, spiking, fhn, total)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.markdown) as temporary:
        Path(temporary).write_text(text)
    publish(text, args.json,
            {"machine": machine, "quick": args.quick, "steady_target": STEADY_TARGET,
             "transient_target": TRANSIENT_TARGET, "fhn_mean_target": FHN_MEAN_TARGET,
             "models": spiking, "fitzhugh_nagumo": fhn, "total_seconds": total}, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
