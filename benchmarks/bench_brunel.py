#!/usr/bin/env python3
"""Brunel's (2000) sparse E-I network (model A), states A-D of his Fig. 8: our density
method (`miind mesh` / `run` / `steady` as whole processes) against NEST 3.10, side by side.

    .venv/bin/python benchmarks/bench_brunel.py [--states ABCD] [--json out/bench_brunel.json]
        [--skip-nest [--nest-json PATH]] [--repeat 3] [--workdir DIR] [--keep-auto-method]

The network is examples/brunel/network.toml (two density populations `e` and `i` on one
mesh of examples/brunel/lif.toml) changed per state by `--set`: the external rate
eta * nu_thr * C_E (nu_thr = 10 Hz, C_E = 1,000: 20 kHz for eta = 2) and the
inhibitory efficacy -g * 0.1 mV of the connections from `i`.

Ours, per state:

1. Mesh. `[mesh] expected_input` is what a neuron of the state gets,
   [{rate = ext + 1000 r, efficacy = 0.1}, {rate = 250 r, efficacy = -0.1 g}], for its
   stationary rate r, found as a user would: a first mesh for Brunel's diffusion theory
   (the self-consistent Siegert rate), `miind steady` on it, then the mesh again for the
   steady rate (once). `miind mesh` chooses the method; where it does not choose the
   diffusion method (its rule: meshgen.diffusion_1d), the mesh is built
   again with `mesh.method = "diffusion"` unless --keep-auto-method, and the report says
   so with what the automatic choice was. Mesh builds are timed apart from the runs.
2. Run. `miind run ... -q` for 1 s simulated, whole process, median of --repeat; then one
   2 s run for the figures: mean E and I rates over its second half (1-2 s), the E
   rate's relative amplitude std / mean there (per step: the density network oscillates
   if it is above 1%), and the spectrum peak of the E rate in 1 ms bins over the same
   second (mean removed, scipy.signal.welch: Hann, 256 bins, half overlap; the largest
   power above 5 Hz; the method of benchmarks/nest_side).
3. Steady. `miind steady` on the final mesh (rate, whole process) and `miind steady
   --modes 3` (the leading modes of the network linearised around it); a refusal or a
   failure of either is recorded (exit code and message), not fatal.

NEST (benchmarks/nest_side, its venv .bench/nest-venv): `run_brunel` for each state,
after ours (never in parallel): 2 s recorded for C, 1 s for A, B and D, 0.2 s warm-up,
one thread, seed 12345. The speed ratio is NEST's whole process per simulated second
(warm-up included) over our whole process for 1 s.

--skip-nest measures ours only; the NEST columns then come from --nest-json PATH (a
JSON written by this script, or {state: run_brunel's dict}) if given and present, else
stay empty. Exits 1 with a one-line message if our side fails (mesh or run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import h5py
import numpy as np
from scipy import optimize

from bench_report import OUT_DIR, REPO, fmt, log, machine_info, machine_line, md_table, publish, \
    work_directory

from tests.support.reference import lif_siegert_rate  # noqa: E402  (repository root on sys.path)

sys.path.insert(0, str(REPO / "benchmarks" / "nest_side"))
import nest_side  # noqa: E402  (a script directory, not a package)
from spike_measures import peak_figures, spectrum_peak, welch  # noqa: E402  (the same
#                                                                    directory)

# Brunel (2000), Fig. 8: (g, eta)
STATES = {"A": (3.0, 2.0), "B": (6.0, 4.0), "C": (5.0, 2.0), "D": (4.5, 0.9)}
J = 0.1            # mV, excitatory efficacy
C_E, C_I = 1000, 250
NU_THR = 10.0      # Hz, threshold / (J C_E tau)
# LIF of examples/brunel/lif.toml (mV, s), for the theory's first guess
TAU, THETA, V_RESET, T_REF = 0.02, 20.0, 10.0, 0.002

MODEL_FILE = REPO / "examples" / "brunel" / "lif.toml"
NETWORK_FILE = REPO / "examples" / "brunel" / "network.toml"
OUR_MIIND = Path(sys.executable).parent / "miind"
NEST_VENV = REPO / ".bench" / "nest-venv"

RUN_T_END = 1.0    # s, the timed runs
RATE_T_END = 2.0   # s, the run the rates come from (its second half)
NEST_T_END = {"A": 1.0, "B": 1.0, "C": 2.0, "D": 1.0}
NEST_WARMUP = 0.2
NEST_SEED = 12345
MODES = 3
BIN_S = 0.001      # spectrum bins
WELCH_BINS = 256
SPECTRUM_FROM_HZ = 5.0
OSCILLATION_THRESHOLD = 0.01  # std / mean of the E rate above which we say it oscillates
FLAT = 1e-9        # std / mean below which the E rate is constant (its spectrum meaningless)


class OurSideError(RuntimeError):
    pass


# ---------------------------------------------------------------- subprocesses

def run_cli(args: list[str], cwd: Path) -> dict:
    """One `miind` process: wall time, exit code, stdout parsed as JSON when it is."""
    cmd = [str(OUR_MIIND)] + [str(a) for a in args]
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    try:
        parsed = json.loads(result.stdout) if result.stdout.strip() else None
    except ValueError:
        parsed = None
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return {"seconds": seconds, "returncode": result.returncode, "json": parsed,
            "message": lines[-1].strip() if lines else "", "stderr": result.stderr[-2000:],
            "command": " ".join(cmd)}


def checked(call: dict, what: str) -> dict:
    if call["returncode"] != 0 or call["json"] is None:
        raise OurSideError(f"{what} failed (exit {call['returncode']}): "
                           f"{call['message'] or 'no JSON on stdout'}")
    return call


# ---------------------------------------------------------------- the state's files

def state_inputs(state: str) -> dict:
    g, eta = STATES[state]
    return {"g": g, "eta": eta, "external_rate_hz": eta * NU_THR * C_E,
            "inhibitory_efficacy_mv": -round(J * g, 12)}


def expected_input(inputs: dict, rate: float) -> list[dict]:
    return [{"rate": inputs["external_rate_hz"] + C_E * rate, "efficacy": J},
            {"rate": C_I * rate, "efficacy": inputs["inhibitory_efficacy_mv"]}]


def theory_rates(inputs: dict) -> list[float]:
    """Brunel's diffusion theory: the self-consistent Siegert rates (Hz), lowest first."""
    def excess(rate):
        ei = expected_input(inputs, rate)
        return lif_siegert_rate(TAU, 0.0, THETA, V_RESET, T_REF, [i["efficacy"] for i in ei],
                                [i["rate"] for i in ei]) - rate

    grid = np.linspace(1e-3, 1.0 / T_REF - 1e-3, 2001)
    values = [excess(r) for r in grid]
    return [optimize.brentq(excess, grid[k], grid[k + 1], xtol=1e-12)
            for k in range(len(grid) - 1) if values[k] * values[k + 1] < 0]


def network_sets(inputs: dict, mesh: Path | None = None,
                 network_file: Path = NETWORK_FILE) -> list[str]:
    """--set overrides of a Brunel network file for the state (network.toml with the
    mesh of both populations, or network_direct.toml without); connections from `i` by
    lookup."""
    network = tomllib.loads(network_file.read_text())
    inhibitory = [k for k, c in enumerate(network["connection"]) if c["source"] == "i"]
    if len(inhibitory) != 2:
        raise OurSideError(f"{network_file} has {len(inhibitory)} connections from 'i', not 2")
    sets = [f"population.e.mesh={mesh}", f"population.i.mesh={mesh}"] if mesh else []
    sets.append(f"input.external.rate={inputs['external_rate_hz']!r}")
    sets += [f"connection.{k}.efficacy={inputs['inhibitory_efficacy_mv']!r}" for k in inhibitory]
    return [item for s in sets for item in ("--set", s)]


def toml_inline(entries: list[dict]) -> str:
    return "[" + ", ".join("{ " + ", ".join(f"{k} = {float(v)!r}" for k, v in e.items()) + " }"
                           for e in entries) + "]"


def build_mesh(inputs: dict, rate: float, path: Path, workdir: Path, force_diffusion: bool,
               purpose: str) -> dict:
    """`miind mesh` of lif.toml for the input at `rate`; the automatic method, and the
    diffusion method forced where the automatic one is another (force_diffusion)."""
    sets = ["--set", f"mesh.efficacies=[{J!r}, {inputs['inhibitory_efficacy_mv']!r}]",
            "--set", f"mesh.expected_input={toml_inline(expected_input(inputs, rate))}"]
    call = checked(run_cli(["mesh", MODEL_FILE, "-o", path, "-q"] + sets, workdir),
                   f"miind mesh ({purpose})")
    summary = call["json"]
    auto = {"method": summary.get("method", "strips"), "cells": summary["n_cells"],
            "dt": summary["dt"], "seconds": call["seconds"],
            "density_scale": summary.get("density_scale")}
    record = {"purpose": purpose, "rate_hz": rate, "expected_input": expected_input(inputs, rate),
              "auto": auto, "forced_diffusion": False, **auto}
    if auto["method"] != "diffusion" and force_diffusion:
        log(f"  {purpose}: the automatic method is {auto['method']} ({auto['cells']} cells, "
            f"dt {auto['dt']:g} s); building the diffusion mesh instead")
        call = checked(run_cli(["mesh", MODEL_FILE, "-o", path, "-q", "--set",
                                "mesh.method=diffusion"] + sets, workdir),
                       f"miind mesh ({purpose}, method = diffusion)")
        summary = call["json"]
        record.update(method=summary.get("method", "?"), cells=summary["n_cells"],
                      dt=summary["dt"], seconds=call["seconds"],
                      density_scale=summary.get("density_scale"), forced_diffusion=True)
    log(f"  {purpose}: r = {rate:.4g} Hz -> {record['method']} mesh, {record['cells']} cells, "
        f"dt {record['dt']:g} s, {record['seconds']:.2f} s")
    return record


# ---------------------------------------------------------------- our output

def welch_spectrum(binned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Welch power of a rate in BIN_S bins, mean removed (the method of nest_side)."""
    return welch(binned, BIN_S, min(WELCH_BINS, len(binned)))


def rate_figures(path: Path, t_end: float, t_from: float | None = None,
                 keep_series: bool = False) -> dict:
    """Rates of a `miind run` output (density or direct) over [t_from, t_end] (default:
    its second half): means, E's relative amplitude (per step) and the spectrum peak of
    E in BIN_S bins: `spectrum_peak_hz` the highest bin of WELCH_BINS-bin segments, and
    `spectrum` spike_measures.spectrum_peak's (segments long enough for a bin within 5%
    of the peak, the peak interpolated between bins). keep_series: also the binned E
    rate and the latter's spectrum."""
    t_from = t_end / 2 if t_from is None else t_from
    with h5py.File(path, "r") as f:
        t = np.asarray(f["time"][:])
        rate_e = np.asarray(f["populations/e/rate"][:])
        rate_i = np.asarray(f["populations/i/rate"][:])
    dt = float(t[1] - t[0]) if len(t) > 1 else float(t[0])
    # time[k] is the end of step k; the window holds the steps starting at t_from
    window = (t - dt) >= t_from - 1e-9 * t_end
    e, i = rate_e[window], rate_i[window]
    per_bin = int(round(BIN_S / dt))
    if per_bin < 1 or abs(per_bin * dt - BIN_S) > 1e-6 * BIN_S:
        raise OurSideError(f"time step {dt:g} s does not divide the {BIN_S:g} s bins")
    n_bins = len(e) // per_bin
    binned = e[:n_bins * per_bin].reshape(n_bins, per_bin).mean(axis=1)
    freqs, power = welch_spectrum(binned)
    above = freqs > SPECTRUM_FROM_HZ
    # the same segments in time, unbinned: 1 ms bins alias what is above 500 Hz
    step_freqs, step_power = welch(e, dt, min(WELCH_BINS * per_bin, len(e)))
    refined = spectrum_peak(binned, BIN_S, SPECTRUM_FROM_HZ)
    step_above = step_freqs > SPECTRUM_FROM_HZ
    mean_e = float(e.mean())
    amplitude = float(e.std() / mean_e) if mean_e > 0 else None
    figures = {"dt": dt, "window_s": [t_from, t_end], "rate_e_hz": mean_e,
               "rate_i_hz": float(i.mean()), "relative_amplitude_e": amplitude,
               "binned_relative_amplitude_e": float(binned.std() / binned.mean())
               if binned.mean() > 0 else None,
               "min_rate_e_hz": float(e.min()), "max_rate_e_hz": float(e.max()),
               "oscillates": amplitude is not None and amplitude > OSCILLATION_THRESHOLD,
               "spectrum_peak_hz": float(freqs[above][np.argmax(power[above])]),
               "spectrum_bins": n_bins,
               "spectrum": peak_figures(refined),
               "step_spectrum_peak_hz":
                   float(step_freqs[step_above][np.argmax(step_power[step_above])]),
               # a rate constant to rounding has a spectrum of rounding noise
               "spectrum_meaningful": amplitude is not None and amplitude > FLAT}
    if keep_series:
        figures["series"] = {"t_s": t_from + BIN_S * np.arange(n_bins), "rate_e_hz": binned,
                             "freqs_hz": refined["freqs"], "power": refined["power"]}
    return figures


def steady_call(sets: list[str], out: Path, workdir: Path, modes: int | None) -> dict:
    args = ["steady", NETWORK_FILE, "-o", out, "-q"] + sets
    if modes:
        args += ["--modes", str(modes)]
    call = run_cli(args, workdir)
    record = {"seconds": call["seconds"], "returncode": call["returncode"],
              "ok": call["returncode"] == 0 and call["json"] is not None}
    if record["ok"]:
        data = call["json"]
        record.update(rate_e_hz=data["populations"]["e"]["rate"],
                      rate_i_hz=data["populations"]["i"]["rate"],
                      converged=data.get("converged"), iterations=data.get("iterations"),
                      solver_seconds=data.get("seconds"))
        if modes:
            record.update(modes=data.get("modes"), stable=data.get("stable"))
    else:
        record.update(message=call["message"], stderr=call["stderr"])
    return record


# ---------------------------------------------------------------- ours, one state

def state_mesh(state: str, workdir: Path, force_diffusion: bool) -> dict:
    """The state's inputs, theory rates and final mesh (`workdir`/<state>_mesh.h5), built
    as a user would: for the theory's rate, then again for `miind steady`'s rate on it."""
    inputs = state_inputs(state)
    theory = theory_rates(inputs)
    if not theory:
        raise OurSideError(f"state {state}: no self-consistent Siegert rate for the first guess")
    guess = theory[0]
    log(f"ours, state {state} (g {inputs['g']:g}, eta {inputs['eta']:g}, external "
        f"{inputs['external_rate_hz']:g} Hz, theory {', '.join(f'{r:.4g}' for r in theory)} Hz)")
    first_mesh = workdir / f"{state}_mesh_first.h5"
    mesh = workdir / f"{state}_mesh.h5"
    meshes = [build_mesh(inputs, guess, first_mesh, workdir, force_diffusion,
                         "first mesh, theory's rate")]
    first_steady = steady_call(network_sets(inputs, first_mesh),
                               workdir / f"{state}_steady_first.h5", workdir, None)
    if first_steady["ok"]:
        log(f"  steady on the first mesh: {first_steady['rate_e_hz']:.6g} Hz")
        meshes.append(build_mesh(inputs, first_steady["rate_e_hz"], mesh, workdir,
                                 force_diffusion, "final mesh, steady rate"))
    else:
        log(f"  steady on the first mesh failed (exit {first_steady['returncode']}: "
            f"{first_steady['message']}); the first mesh is the final one")
        shutil.copyfile(first_mesh, mesh)
    return {"inputs": inputs, "theory": theory, "meshes": meshes, "first_steady": first_steady,
            "path": mesh}


def our_state(state: str, workdir: Path, repeat: int, force_diffusion: bool) -> dict:
    built = state_mesh(state, workdir, force_diffusion)
    inputs, theory, meshes = built["inputs"], built["theory"], built["meshes"]
    first_steady, final = built["first_steady"], built["meshes"][-1]
    sets = network_sets(inputs, built["path"])

    runs = []
    for k in range(repeat):
        call = checked(run_cli(["run", NETWORK_FILE, "-o", workdir / f"{state}_run1.h5", "-q",
                                "--set", f"simulation.t_end={RUN_T_END!r}"] + sets, workdir),
                       f"state {state}: miind run ({RUN_T_END:g} s)")
        runs.append({"seconds": call["seconds"], "loop_seconds": call["json"].get("seconds"),
                     "warnings": call["json"].get("warnings")})
        log(f"  run {RUN_T_END:g} s ({k + 1}/{repeat}): {call['seconds']:.2f} s whole process")
    call = checked(run_cli(["run", NETWORK_FILE, "-o", workdir / f"{state}_run2.h5", "-q",
                            "--set", f"simulation.t_end={RATE_T_END!r}"] + sets, workdir),
                   f"state {state}: miind run ({RATE_T_END:g} s)")
    figures = rate_figures(workdir / f"{state}_run2.h5", RATE_T_END)
    figures.update(seconds=call["seconds"], printed_mean_rates=call["json"].get("mean_rates"),
                   warnings=call["json"].get("warnings"))
    log(f"  run {RATE_T_END:g} s: E {figures['rate_e_hz']:.4g} Hz, I {figures['rate_i_hz']:.4g} "
        f"Hz, amplitude {figures['relative_amplitude_e']:.3g}, peak "
        f"{figures['spectrum_peak_hz']:.4g} Hz")

    steady = steady_call(sets, workdir / f"{state}_steady.h5", workdir, None)
    log("  steady: " + (f"{steady['rate_e_hz']:.6g} Hz, {steady['seconds']:.2f} s" if steady["ok"]
                         else f"exit {steady['returncode']}: {steady['message']}"))
    modes = steady_call(sets, workdir / f"{state}_modes.h5", workdir, MODES)
    if modes["ok"] and modes.get("modes"):
        lead = modes["modes"][0]
        log(f"  steady --modes {MODES}: leading growth {lead['growth_rate']:.4g}/s at "
            f"{lead['frequency']:.4g} Hz, stable {modes.get('stable')}, {modes['seconds']:.2f} s")
    else:
        log(f"  steady --modes {MODES}: exit {modes['returncode']}: {modes.get('message', '')}")
    timings = [r["seconds"] for r in runs]
    return {**inputs, "theory_rates_hz": theory, "meshes": meshes, "first_steady": first_steady,
            "mesh": {k: final[k] for k in ("method", "cells", "dt", "forced_diffusion", "auto")},
            "mesh_seconds": sum(m["seconds"] for m in meshes),
            "run_1s": {"repeat": repeat, "median_seconds": statistics.median(timings),
                       "all_seconds": timings,
                       "median_loop_seconds": statistics.median(r["loop_seconds"] for r in runs),
                       "warnings": runs[-1]["warnings"]},
            "run_2s": figures, "steady": steady, "modes": modes}


# ---------------------------------------------------------------- NEST

def nest_states(states: str) -> dict:
    log(f"NEST: ensuring NEST {nest_side.NEST_SERIES} in {NEST_VENV}")
    setup = nest_side.ensure_venv(str(NEST_VENV))
    results = {}
    for state in states:
        load_before = os.getloadavg()
        try:
            result = nest_side.run_brunel(str(NEST_VENV), state, NEST_T_END[state],
                                          t_warmup=NEST_WARMUP, threads=1, seed=NEST_SEED)
        except (nest_side.NestSideError, OSError, subprocess.SubprocessError) as error:
            log(f"NEST, state {state}: {error}")
            result = {"error": str(error)}
        result["load_average_before"] = list(load_before)
        result["load_average_after"] = list(os.getloadavg())
        result["nest_version"] = setup["nest_version"]
        results[state] = result
    return results


def reused_nest(path: Path | None, states: str) -> tuple[dict, str | None]:
    if path is None or not path.exists():
        if path is not None:
            log(f"--nest-json {path} does not exist: NEST columns left empty")
        return {}, None
    data = json.loads(path.read_text())
    table = {s: v.get("nest") for s, v in data.get("states", {}).items()} if "states" in data \
        else data
    found = {s: table[s] for s in states if isinstance(table.get(s), dict)}
    log(f"NEST: reusing states {''.join(found) or 'none'} from {path}")
    return found, str(path)


# ---------------------------------------------------------------- report

def nest_figure(nest: dict | None, *keys):
    value = nest
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def relative(a, b):
    return None if a is None or b in (None, 0) else a / b - 1


def pct(value, digits=1) -> str:
    return "-" if value is None else f"{100 * value:+.{digits}f}%"


def render(results: dict, info: dict, load_start, load_end, nest_source, command: str) -> str:
    cost_rows, rate_rows, mesh_rows, mode_rows = [], [], [], []
    for state, r in results.items():
        ours, nest = r["ours"], r.get("nest")
        mesh = ours["mesh"]
        method = mesh["method"] + (f" (forced; auto: {mesh['auto']['method']}, "
                                   f"{mesh['auto']['cells']} cells, dt {mesh['auto']['dt']:g} s)"
                                   if mesh["forced_diffusion"] else "")
        ours_s = ours["run_1s"]["median_seconds"]
        nest_whole = nest_figure(nest, "seconds_per_simulated_second", "whole_process")
        nest_sim = nest_figure(nest, "seconds_per_simulated_second", "simulate")
        cost_rows.append([
            state, f"{ours['g']:g}, {ours['eta']:g}", f"{ours['external_rate_hz']:g}", method,
            mesh["cells"], f"{mesh['dt']:g}", fmt(ours["mesh_seconds"]),
            f"{fmt(ours_s)} ({fmt(ours['run_1s']['median_loop_seconds'])})",
            fmt(ours["steady"]["seconds"]) if ours["steady"]["ok"] else "failed",
            fmt(nest_whole), fmt(nest_sim),
            "-" if nest_whole is None else f"{nest_whole / ours_s:.3g}x"])
        run2 = ours["run_2s"]
        nest_e = nest_figure(nest, "rate_e_hz")
        steady = ours["steady"]
        rate_rows.append([
            state, f"{run2['rate_e_hz']:.4g}", f"{run2['rate_i_hz']:.4g}", fmt(nest_e, 4),
            fmt(nest_figure(nest, "rate_i_hz"), 4), pct(relative(run2["rate_e_hz"], nest_e)),
            f"{steady['rate_e_hz']:.4g}" if steady["ok"] else f"exit {steady['returncode']}",
            ", ".join(f"{x:.4g}" for x in ours["theory_rates_hz"]),
            f"{run2['spectrum_peak_hz']:.4g} ({run2['step_spectrum_peak_hz']:.4g})"
            if run2["spectrum_meaningful"] else "- (flat)",
            fmt(nest_figure(nest, "spectrum_peak_hz"), 4),
            fmt(nest_figure(nest, "cv_isi_e")),
            f"{run2['relative_amplitude_e']:.3g} ({'yes' if run2['oscillates'] else 'no'})"])
        first, final = ours["meshes"][0], ours["meshes"][-1]
        fs = ours["first_steady"]
        mesh_rows.append([
            state, f"{first['rate_hz']:.4g}", f"{first['cells']}, {first['dt']:g}",
            fmt(first["seconds"]),
            f"{fs['rate_e_hz']:.6g} ({fmt(fs['seconds'])} s)" if fs["ok"]
            else f"exit {fs['returncode']}: {fs['message']}",
            f"{final['cells']}, {final['dt']:g}" if len(ours["meshes"]) > 1 else "(first)",
            fmt(final["seconds"]) if len(ours["meshes"]) > 1 else "-"])
        modes = ours["modes"]
        if modes["ok"]:
            lead = "; ".join(f"{m['growth_rate']:.3g}/s at {m['frequency']:.3g} Hz"
                             for m in modes.get("modes") or [])
            mode_rows.append([state, modes["returncode"], fmt(modes["seconds"]), lead,
                              modes.get("stable"), ""])
        else:
            mode_rows.append([state, modes["returncode"], fmt(modes["seconds"]), "-", "-",
                              modes.get("message", "")])
    load = lambda values: ", ".join(f"{x:.2f}" for x in values)  # noqa: E731
    nest_note = ("NEST columns reused from " + nest_source) if nest_source else (
        "NEST columns empty (--skip-nest)" if not any(r.get("nest") for r in results.values())
        else f"NEST {nest_side.NEST_SERIES} run now")
    text = [
        "### Brunel's network (model A), ours against NEST (`bench_brunel.py`)", "",
        machine_line(info), "",
        f"Load average (1/5/15 min) at start {load(load_start)}, at end {load(load_end)}. "
        f"{nest_note}. Command: `{command}`", "",
        "Cost. Ours: whole processes; the run is the median of "
        f"{next(iter(results.values()))['ours']['run_1s']['repeat']} runs of "
        f"{RUN_T_END:g} s simulated (in brackets the run loop it prints); mesh builds "
        "(all of them) and steady apart. NEST: whole process per simulated second "
        f"(warm-up {NEST_WARMUP:g} s included) and its `Simulate` alone; the speed ratio is "
        "NEST's whole process per simulated second over ours.", "",
        md_table(["state", "g, eta", "external (Hz)", "mesh", "cells", "dt (s)",
                  "mesh builds (s)", "ours, 1 s (s)", "ours steady (s)",
                  "NEST whole (s / sim s)", "NEST Simulate (s / sim s)", "speed ratio"],
                 cost_rows), "",
        f"Rates. Ours: the {RATE_T_END:g} s run's means over {RATE_T_END / 2:g}-{RATE_T_END:g} s; "
        "the E rate's relative amplitude std / mean there (per step; oscillates above "
        f"{OSCILLATION_THRESHOLD:g}); spectrum peaks of the E rate in 1 ms bins (Welch, Hann, "
        f"256 bins, half overlap, above {SPECTRUM_FROM_HZ:g} Hz), ours over the same second "
        f"('flat': std / mean below {FLAT:g}, a spectrum of rounding noise; in brackets the "
        "peak of the unbinned per-step rate, same segments in time: 1 ms bins alias "
        "oscillations above 500 Hz), "
        "NEST's over its recorded window (2 s for C, 1 s otherwise). Theory: Brunel's "
        "self-consistent Siegert rate(s).", "",
        md_table(["state", "ours E (Hz)", "ours I (Hz)", "NEST E (Hz)", "NEST I (Hz)",
                  "E: ours vs NEST", "ours steady (Hz)", "theory (Hz)", "ours peak (Hz)",
                  "NEST peak (Hz)", "NEST CV ISI", "ours amplitude (oscillates)"], rate_rows), "",
        "Meshes: the first for the theory's rate, `miind steady` on it, the final mesh for "
        "the steady rate.", "",
        md_table(["state", "first guess (Hz)", "first mesh: cells, dt", "first mesh (s)",
                  "steady on it (Hz)", "final mesh: cells, dt", "final mesh (s)"], mesh_rows), "",
        f"`miind steady --modes {MODES}`: growth rate and frequency of the leading modes "
        "(all growth rates negative: stable).", "",
        md_table(["state", "exit", "whole process (s)", "modes", "stable", "message"],
                 mode_rows), ""]
    warnings = [(s, w) for s, r in results.items()
                for w in (r["ours"]["run_2s"].get("warnings") or [])]
    if warnings:
        text += ["Warnings of our runs:", ""] + [f"- {s}: {w}" for s, w in warnings] + [""]
    errors = [(s, r["nest"]["error"]) for s, r in results.items()
              if isinstance(r.get("nest"), dict) and "error" in r["nest"]]
    if errors:
        text += ["NEST failures:", ""] + [f"- {s}: {e}" for s, e in errors] + [""]
    return "\n".join(text) + "\n"


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--states", default="ABCD", help="Brunel's states to run (default ABCD)")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench_brunel.json")
    parser.add_argument("--skip-nest", action="store_true",
                        help="ours only; NEST's columns from --nest-json if given")
    parser.add_argument("--nest-json", type=Path,
                        help="with --skip-nest: NEST results to reuse (a JSON of this script, "
                             "or {state: run_brunel's dict})")
    parser.add_argument("--repeat", type=int, default=3, help="timed 1 s runs per state")
    parser.add_argument("--workdir", type=Path,
                        help="keep meshes and outputs here (default: a temporary directory)")
    parser.add_argument("--keep-auto-method", action="store_true",
                        help="use the method `miind mesh` chooses even when it is not diffusion")
    args = parser.parse_args(argv)
    states = "".join(dict.fromkeys(args.states.upper()))
    if not states or any(s not in STATES for s in states):
        parser.error(f"--states takes letters of {''.join(STATES)}, got {args.states!r}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not OUR_MIIND.exists():
        print(f"bench_brunel: no miind CLI at {OUR_MIIND}", file=sys.stderr)
        return 1
    python = Path(sys.executable)
    python = python.relative_to(REPO).as_posix() if python.is_relative_to(REPO) else str(python)
    given = list(argv) if argv is not None else sys.argv[1:]
    command = " ".join([python, "benchmarks/bench_brunel.py"] + given)
    started = time.perf_counter()
    info = machine_info()
    load_start = list(os.getloadavg())

    results = {}
    try:
        with work_directory(args.workdir, "bench_brunel_") as workdir:
            for state in states:
                load_before = list(os.getloadavg())
                ours = our_state(state, workdir, args.repeat, not args.keep_auto_method)
                ours["load_average_before"], ours["load_average_after"] = load_before, list(
                    os.getloadavg())
                results[state] = {"ours": ours}
    except OurSideError as error:
        print(f"bench_brunel: {error}", file=sys.stderr)
        return 1

    nest_source = None
    if args.skip_nest:
        nest, nest_source = reused_nest(args.nest_json, states)
    else:
        nest = nest_states(states)
    for state in states:
        results[state]["nest"] = nest.get(state)
        ours, other = results[state]["ours"], nest.get(state) or {}
        whole = nest_figure(other, "seconds_per_simulated_second", "whole_process")
        results[state]["comparison"] = {
            "speed_ratio": None if whole is None else whole / ours["run_1s"]["median_seconds"],
            "rate_e_relative_difference": relative(ours["run_2s"]["rate_e_hz"],
                                                   other.get("rate_e_hz")),
            "rate_i_relative_difference": relative(ours["run_2s"]["rate_i_hz"],
                                                   other.get("rate_i_hz"))}
    load_end = list(os.getloadavg())
    text = render(results, info, load_start, load_end, nest_source, command)
    data = {"machine": info, "load_average_start": load_start, "load_average_end": load_end,
            "command": command, "nest_source": nest_source,
            "settings": {"run_t_end": RUN_T_END, "rate_t_end": RATE_T_END,
                         "repeat": args.repeat, "nest_t_end": NEST_T_END,
                         "nest_warmup": NEST_WARMUP, "nest_seed": NEST_SEED, "modes": MODES,
                         "force_diffusion": not args.keep_auto_method,
                         "oscillation_threshold": OSCILLATION_THRESHOLD},
            "states": results}
    publish(text, args.json, data, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
