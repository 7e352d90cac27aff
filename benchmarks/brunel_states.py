#!/usr/bin/env python3
"""Brunel's (2000) network, model A, states A-D of his Fig. 8, in both methods: `make brunel`.

    .venv/bin/python benchmarks/brunel_states.py [--states ABCD] [--t-end 0.5] [--warmup 0.2]
        [--out out/brunel] [--nest [--nest-precise] | --nest-json PATH] [--workdir DIR]

Per state (g, eta) = A (3, 2), B (6, 4), C (5, 2), D (4.5, 0.9):

* density: examples/brunel/network.toml, two density populations coupled by rates, on
  the state's diffusion mesh as benchmarks/bench_brunel.py builds it (for the theory's
  rate, then for `miind steady`'s); `miind steady --modes` on it says whether the
  stationary state is stable (the density network's own phase diagram);
* direct: examples/brunel/network_direct.toml, 12,500 LIF neurons exchanging spikes,
  with the state's --set lines (its header);
* NEST 3.10 (--nest; benchmarks/nest_side, its venv .bench/nest-venv, one thread) for
  the same window, its neurons started at the direct network's v (--nest-precise: its
  continuous-time models, iaf_psc_delta_ps and poisson_generator_ps, as ours), or its
  figures from --nest-json (this script's JSON, or {state: nest_side.run_brunel's dict}).

Every run simulates --warmup + --t-end seconds; the figures are over the last --t-end
(the warm-up holds the synchronous start of the direct network from v = 10 mV): mean
E and I rates, the E rate's spectrum peak (1 ms bins, Welch, Hann, half overlap, above
5 Hz; segments of 256 bins lengthened until a bin is within 5% of the peak, and the peak
interpolated between bins: spike_measures.spectrum_peak, applied alike to NEST's binned
rate, which its worker saves), the mean CV of interspike
intervals of E neurons (direct, NEST), the relative amplitude std / mean of the
density E rate per step (it oscillates above 1%), and Brunel's self-consistent
diffusion rate (Siegert, tests/support/reference).

Writes <out>/brunel_<state>.png (raster of the direct network, E rate of each method,
E rate spectra) and <out>/brunel.json; the table goes to stdout as markdown.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import bench_brunel as bb  # noqa: E402  (benchmarks/ is the script's directory)
from bench_report import OUT_DIR, REPO, fmt, log, machine_info, machine_line, md_table, \
    publish, work_directory  # noqa: E402
from meshgen.formats.atomic_file import atomic_output  # noqa: E402
from spike_measures import mean_cv_isi, peak_figures, spectrum_peak  # noqa: E402  (nest_side,
#                                                           on the path via bench_brunel)

DIRECT_FILE = REPO / "examples" / "brunel" / "network_direct.toml"
N_E = 10000  # network_direct.toml's excitatory population
# Brunel's (2000) Fig. 8 names the regimes of the four states; only C is asynchronous.
REGIMES = {"A": "SR (synchronous regular)", "B": "SI, fast oscillation",
           "C": "AI (asynchronous irregular)", "D": "SI, slow oscillation"}
ASYNCHRONOUS = {"C"}
# The accuracy targets: rates within 2% (asynchronous), peaks within 10%.
RATE_TARGET = 0.02
PEAK_TARGET = 0.10
# What the figure shows: the last RASTER_S of the window, RASTER_NEURONS E neurons.
RASTER_S = 0.2
RASTER_NEURONS = 100


# ---------------------------------------------------------------- runs

def timed_run(network: Path, sets: list[str], out: Path, t_total: float, workdir: Path,
              what: str) -> dict:
    load = os.getloadavg()[0]
    # children run one at a time, so the growth of their total CPU time is this run's
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    call = bb.checked(bb.run_cli(["run", network, "-o", out, "-q", "--set",
                                  f"simulation.t_end={t_total!r}"] + sets, workdir), what)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    log(f"  {what}: {call['seconds']:.1f} s whole process, {cpu:.1f} s CPU (load {load:.2f})")
    return {"seconds": call["seconds"], "cpu_seconds": cpu,
            "seconds_per_simulated_second": call["seconds"] / t_total,
            "load_average_before": load, "warnings": call["json"].get("warnings")}


def initial_v() -> float:
    """The direct network's initial v (mV), given to NEST's neurons too, so that both
    networks start alike (NEST's own default is 0 mV)."""
    network = bb.tomllib.loads(DIRECT_FILE.read_text())
    values = {float(p["initial"]["v"]) for p in network["population"]}
    if len(values) != 1:
        raise bb.OurSideError(f"{DIRECT_FILE}: populations start at different v {values}")
    return values.pop()


def direct_spikes(path: Path, t_from: float) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(path, "r") as f:
        times = np.asarray(f["spikes/e/timestamps"][:])
        ids = np.asarray(f["spikes/e/node_ids"][:])
    keep = times >= t_from
    return times[keep], ids[keep]


def one_state(state: str, workdir: Path, t_end: float, warmup: float, nest_venv: Path | None,
              nest_reused: dict | None, nest_precise: bool = False) -> dict:
    built = bb.state_mesh(state, workdir, force_diffusion=True)
    inputs, total = built["inputs"], warmup + t_end
    density_sets = bb.network_sets(inputs, built["path"])
    density = timed_run(bb.NETWORK_FILE, density_sets, workdir / f"{state}_density.h5", total,
                        workdir, f"state {state}: density run ({total:g} s)")
    density.update(bb.rate_figures(workdir / f"{state}_density.h5", total, warmup,
                                   keep_series=True))
    modes = bb.steady_call(density_sets, workdir / f"{state}_modes.h5", workdir, bb.MODES)

    direct = timed_run(DIRECT_FILE, bb.network_sets(inputs, None, DIRECT_FILE),
                       workdir / f"{state}_direct.h5", total, workdir,
                       f"state {state}: direct run ({total:g} s)")
    direct.update(bb.rate_figures(workdir / f"{state}_direct.h5", total, warmup,
                                  keep_series=True))
    times, ids = direct_spikes(workdir / f"{state}_direct.h5", warmup)
    direct["cv_isi_e"], direct["cv_isi_e_neurons"] = mean_cv_isi(ids, times)
    shown = (ids < RASTER_NEURONS) & (times >= total - RASTER_S)
    direct["raster"] = {"t_s": times[shown], "ids": ids[shown]}

    nest = (nest_reused or {}).get(state)
    if nest_venv is not None:
        rates_out = workdir / f"{state}_nest.npz"
        try:
            nest = bb.nest_side.run_brunel(str(nest_venv), state, t_end, t_warmup=warmup,
                                           threads=1, seed=bb.NEST_SEED, rates_out=rates_out,
                                           precise=nest_precise, v_init_mv=initial_v())
        except (bb.nest_side.NestSideError, OSError) as error:
            log(f"NEST, state {state}: {error}")
            nest = {"error": str(error)}
        else:
            with np.load(rates_out) as saved:
                t_s, rate_e = saved["t_s"], saved["rate_e_hz"]
            # ours and NEST's peaks by one method, on their rates in the same bins
            found = spectrum_peak(rate_e, bb.BIN_S, bb.SPECTRUM_FROM_HZ)
            nest["spectrum"] = peak_figures(found)
            nest["series"] = {"t_s": t_s, "rate_e_hz": rate_e, "freqs_hz": found["freqs"],
                              "power": found["power"]}
    log(f"  state {state}: density E {density['rate_e_hz']:.4g} Hz, direct E "
        f"{direct['rate_e_hz']:.4g} Hz, CV {fmt(direct['cv_isi_e'])}, peaks "
        f"{peak(density):.4g} / {peak(direct):.4g} Hz")
    return {**inputs, "regime": REGIMES[state], "theory_rates_hz": built["theory"],
            "mesh": {k: built["meshes"][-1][k] for k in ("method", "cells", "dt")},
            "density": density, "modes": modes, "direct": direct, "nest": nest}


def peak(side: dict) -> float | None:
    """The refined spectrum peak of a side's E rate (a worker's JSON reused by --nest-json
    holds it as spectrum_peak_refined)."""
    found = side.get("spectrum") or side.get("spectrum_peak_refined")
    return None if found is None else found["peak"]


def peak_cell(side: dict) -> str:
    found = side.get("spectrum") or side.get("spectrum_peak_refined")
    return "-" if found is None else f"{found['peak']:.4g} (bin {found['bin']:.2g})"


# ---------------------------------------------------------------- figures

def draw(state: str, r: dict, path: Path) -> None:
    fig, (raster, rate, spectrum) = plt.subplots(3, 1, figsize=(8, 9),
                                                 gridspec_kw={"height_ratios": [2, 1.3, 1.3]})
    fig.suptitle(f"Brunel (2000) state {state}: g = {r['g']:g}, eta = {r['eta']:g}, "
                 f"{r['regime']}", fontsize=11)
    shown = r["direct"]["raster"]
    raster.plot(shown["t_s"], shown["ids"], ".", markersize=2, color="k", rasterized=True)
    raster.set(ylabel="E neuron", title=f"direct network, {RASTER_NEURONS} of 10,000 E neurons")
    t_last = r["density"]["window_s"][1]
    curves = [("density", r["density"]["series"], "C0"), ("direct", r["direct"]["series"], "C1")]
    nest = r.get("nest") or {}
    if "series" in nest:
        curves.append((f"NEST 3.10 ({nest.get('neuron_model', 'iaf_psc_delta')})",
                       nest["series"], "C2"))
    spiking_floor = []  # the lowest power of the spiking networks' spectra
    for label, series, colour in curves:
        t = np.asarray(series["t_s"]) + bb.BIN_S  # bin ends, as the raster's times
        last = t > t_last - RASTER_S - 1e-9
        rate.plot(t[last], np.asarray(series["rate_e_hz"])[last], color=colour, lw=0.9,
                  label=label)
        if label == "density" and not r["density"]["spectrum_meaningful"]:
            # a stationary density network: the power is rounding noise, 1e-28 and below
            spectrum.plot([], [], color=colour, label="density: constant rate, no spectrum")
            continue
        freqs, power = np.asarray(series["freqs_hz"]), np.asarray(series["power"])
        above = freqs > bb.SPECTRUM_FROM_HZ
        spectrum.semilogy(freqs[above], power[above], color=colour, lw=0.9, label=label)
        if label != "density":
            spiking_floor.append(power[above].min())
    for axis in (raster, rate):
        axis.set_xlim(max(t_last - RASTER_S, r["density"]["window_s"][0]), t_last)
    rate.set(ylabel="E rate (Hz)", xlabel="time (s)", title="population rate, 1 ms bins")
    rate.legend(fontsize=8, loc="upper right")
    spectrum.set(xlabel="frequency (Hz)", ylabel="power (Hz$^2$/Hz)", xlim=(0, 500),
                 title=f"E rate spectrum over {r['density']['window_s'][0]:g}-{t_last:g} s")
    if spiking_floor:
        # an oscillating density network's harmonics fall to 1e-19: they would squash the
        # spiking networks' spectra, whose noise floor lies near 1e-3
        spectrum.set_ylim(bottom=0.1 * min(spiking_floor))
    spectrum.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary:
        fig.savefig(temporary, dpi=110, format="png")
    plt.close(fig)


# ---------------------------------------------------------------- table

def verdict(state: str, r: dict) -> str:
    nest = r.get("nest") or {}
    if state in ASYNCHRONOUS:
        checks = [("density vs direct", bb.relative(r["density"]["rate_e_hz"],
                                                   r["direct"]["rate_e_hz"])),
                  ("direct vs NEST", bb.relative(r["direct"]["rate_e_hz"],
                                                nest.get("rate_e_hz")))]
        limit = RATE_TARGET
    else:
        checks = [("peak vs NEST", bb.relative(peak(r["direct"]), peak(nest)))]
        limit = PEAK_TARGET
    outcome = lambda value: "-" if value is None else (  # noqa: E731
        "met" if abs(value) <= limit else "missed")
    return "; ".join(f"{name} {outcome(value)}" for name, value in checks) + \
        f" (target {100 * limit:g}%)"


def render(results: dict, info: dict, command: str, t_end: float, warmup: float) -> str:
    rows, cost_rows = [], []
    for state, r in results.items():
        density, direct, nest, modes = r["density"], r["direct"], r.get("nest") or {}, r["modes"]
        lead = (modes.get("modes") or [None])[0] if modes["ok"] else None
        rows.append([
            state, f"{r['g']:g}, {r['eta']:g}", r["regime"],
            ", ".join(f"{x:.4g}" for x in r["theory_rates_hz"]),
            f"{density['rate_e_hz']:.4g} / {density['rate_i_hz']:.4g}",
            f"{direct['rate_e_hz']:.4g} / {direct['rate_i_hz']:.4g}",
            "-" if "rate_e_hz" not in nest else
            f"{nest['rate_e_hz']:.4g} / {nest['rate_i_hz']:.4g}",
            bb.pct(bb.relative(density["rate_e_hz"], direct["rate_e_hz"])),
            bb.pct(bb.relative(direct["rate_e_hz"], nest.get("rate_e_hz"))),
            fmt(direct["cv_isi_e"]), fmt(nest.get("cv_isi_e")),
            peak_cell(density) if density["spectrum_meaningful"] else "- (flat)",
            peak_cell(direct), peak_cell(nest), bb.pct(bb.relative(peak(direct), peak(nest))),
            f"{density['relative_amplitude_e']:.3g} ({'yes' if density['oscillates'] else 'no'})",
            "-" if lead is None else
            f"{'stable' if modes.get('stable') else 'unstable'}: {lead['growth_rate']:.3g}/s "
            f"at {lead['frequency']:.3g} Hz",
            verdict(state, r)])
        cost_rows.append([state, r["mesh"]["cells"], fmt(density["seconds"]),
                          fmt(direct["seconds"]), fmt(direct["cpu_seconds"]),
                          fmt(direct["seconds_per_simulated_second"]),
                          f"{direct['load_average_before']:.2f}",
                          fmt(nest.get("whole_process_seconds"))])
    return "\n".join([
        "### Brunel's network (model A), states A-D in both methods (`brunel_states.py`)", "",
        machine_line(info), "",
        f"Command: `{command}`. Each run simulates {warmup + t_end:g} s; figures over the "
        f"last {t_end:g} s. Rates E / I in Hz; spectrum peaks of the E rate (1 ms bins, "
        "Welch, segments lengthened to a bin within 5% of the peak, the peak interpolated "
        "between bins; in brackets the bin, the resolution); CV: mean CV of E neurons' "
        "interspike intervals; amplitude: std / mean of "
        "the density E rate per step (oscillates above 1%); modes: `miind steady --modes` "
        "on the density network, the leading mode.", "",
        md_table(["state", "g, eta", "Brunel's regime", "theory (Hz)", "density E / I",
                  "direct E / I", "NEST E / I", "E: density vs direct", "E: direct vs NEST",
                  "CV direct", "CV NEST", "peak density (Hz)", "peak direct (Hz)",
                  "peak NEST (Hz)", "peak: direct vs NEST", "density amplitude (oscillates)",
                  "density modes", "targets"], rows), "",
        "Cost: whole processes, wall seconds, and CPU seconds of the direct run (load: 1-minute "
        "average before the run; the machine has 2 cores).", "",
        md_table(["state", "mesh cells", "density run (s)", "direct run (s)", "direct CPU (s)",
                  "direct, s per simulated s", "load", "NEST whole process (s)"],
                 cost_rows), ""])


def without_series(value):
    """The results without the arrays drawn (the JSON keeps figures, not series)."""
    if isinstance(value, dict):
        return {k: without_series(v) for k, v in value.items() if k not in ("series", "raster")}
    return value


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--states", default="ABCD", help="Brunel's states (default ABCD)")
    parser.add_argument("--t-end", type=float, default=0.5,
                        help="simulated seconds measured, after the warm-up (default 0.5)")
    parser.add_argument("--warmup", type=float, default=0.2,
                        help="simulated seconds before the measured window (default 0.2)")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "brunel",
                        help="directory of the figures and brunel.json (default out/brunel)")
    nest = parser.add_mutually_exclusive_group()
    nest.add_argument("--nest", action="store_true",
                      help="run NEST 3.10 too (one thread; 30-500 s per simulated second here)")
    parser.add_argument("--nest-precise", action="store_true",
                        help="with --nest: NEST's continuous-time models (iaf_psc_delta_ps, "
                             "poisson_generator_ps; 3-8x the cost)")
    nest.add_argument("--nest-json", type=Path,
                      help="NEST figures to reuse: this script's JSON or "
                           "{state: run_brunel's dict}")
    parser.add_argument("--workdir", type=Path,
                        help="keep meshes and run outputs here (default: a temporary directory)")
    args = parser.parse_args(argv)
    states = "".join(dict.fromkeys(args.states.upper()))
    if not states or any(s not in bb.STATES for s in states):
        parser.error(f"--states takes letters of {''.join(bb.STATES)}, got {args.states!r}")
    if args.nest_precise and not args.nest:
        parser.error("--nest-precise goes with --nest")
    if args.t_end <= 0 or args.warmup < 0:
        parser.error("--t-end must be positive and --warmup not negative")
    if not bb.OUR_MIIND.exists():
        print(f"brunel_states: no miind CLI at {bb.OUR_MIIND}", file=sys.stderr)
        return 1
    command = " ".join(["benchmarks/brunel_states.py"]
                       + list(argv if argv is not None else sys.argv[1:]))
    started, info = time.perf_counter(), machine_info()
    nest_venv = None
    if args.nest:
        nest_venv = bb.NEST_VENV
        bb.nest_side.ensure_venv(str(nest_venv))
    nest_reused = bb.reused_nest(args.nest_json, states)[0] if args.nest_json else None

    results = {}
    try:
        with work_directory(args.workdir, "brunel_states_") as workdir:
            for state in states:
                results[state] = one_state(state, workdir, args.t_end, args.warmup, nest_venv,
                                           nest_reused, args.nest_precise)
                draw(state, results[state], args.out / f"brunel_{state}.png")
                log(f"  figure: {args.out / f'brunel_{state}.png'}")
    except bb.OurSideError as error:
        print(f"brunel_states: {error}", file=sys.stderr)
        return 1
    text = render(results, info, command, args.t_end, args.warmup)
    data = {"machine": info, "command": command, "load_average_end": list(os.getloadavg()),
            "settings": {"t_end": args.t_end, "warmup": args.warmup, "rate_target": RATE_TARGET,
                         "peak_target": PEAK_TARGET},
            "states": without_series(results)}
    publish(text, args.out / "brunel.json", data, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
