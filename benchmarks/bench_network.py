#!/usr/bin/env python3
"""Brunel's network (model A, state C) neuron by neuron: our direct network against
NEST 3.10 (one thread) and Brian2 2.9, whole processes, and how our cost grows with N.

    .venv/bin/python benchmarks/bench_network.py [--t-end 1.0] [--warmup 0.2]
        [--sizes 1000,10000,50000,100000] [--large-t-end 0.2] [--skip-nest] [--skip-brian2]
        [--json out/bench_network.json]

1. Side by side: 12,500 neurons (10,000 E, 2,500 I; C_E = 1,000, C_I = 250; J = 0.1 mV,
   g = 5, eta = 2, delay 1.5 ms), --t-end seconds simulated in all (the first --warmup of
   them unmeasured for the rates), one process each, never two at once:
   * ours: `miind run examples/brunel/network_direct.toml` (wall time, CPU time and peak
     RSS of the child from os.wait4);
   * NEST 3.10, `iaf_psc_delta`, one thread (benchmarks/nest_side, .bench/nest-venv);
   * Brian2 2.9, Cython target (benchmarks/brian2_side/brian2_brunel.py, .bench/brian2-venv),
     after a small run that fills its code cache (timed apart: a first run pays it).
   NEST and Brian2 report their own peak RSS (getrusage of the worker process); their CPU
   time is the growth of this script's children's CPU time around the run.
2. Ours against N: N = --sizes with N_E = 0.8 N, N_I = 0.2 N and the in-degrees kept at
   1,000 and 250 (so synapses grow as N, and the state, which depends on the in-degree, is
   the same), --t-end simulated up to 12,500 neurons and --large-t-end above.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import bench_brunel as bb
from bench_report import OUT_DIR, REPO, fmt, log, machine_info, machine_line, md_table, \
    publish, work_directory

sys.path.insert(0, str(REPO / "benchmarks" / "brian2_side"))
import brian2_side  # noqa: E402  (a script directory, not a package)

DIRECT_FILE = REPO / "examples" / "brunel" / "network_direct.toml"
BRIAN2_VENV = REPO / ".bench" / "brian2-venv"
STATE = "C"
N_BRUNEL = 12500
E_FRACTION = 0.8
C_E, C_I = 1000, 250
SEED = 1
# The scaling runs draw each recurrent synapse's delay from 1.5 ms +- 10 us: with one
# delay, the networks of 1,000 and 10,000 neurons lock within 1 s (from 10 mV or from
# uniform(0, 20) mV alike) into a volley every 3 ms at ~330 Hz, every E neuron at the
# same instant (Brian2 stays at 38 Hz): simultaneous E and I arrivals are applied one
# by one, E first, with a threshold test between (solver/codegen.py). With the jitter
# they stay at ~40 Hz; it costs 8 bytes per synapse and a sort of each neuron's arrivals.
SCALING_DELAY = "uniform(1.49e-3, 1.51e-3)"
# Brian2's code cache is filled by a run this small before the timed one.
BRIAN2_CACHE_RUN = {"n_neurons": 1000, "t_end": 0.01}


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(cmd: list[str], cwd: Path) -> dict:
    """One process: wall seconds, CPU seconds and peak RSS (MB) from its own rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        load = os.getloadavg()[0]
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
    if process.returncode != 0:
        raise bb.OurSideError(f"{' '.join(map(str, cmd[:3]))} failed (exit "
                              f"{process.returncode}): {message[0]}")
    return {"seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024.0, "load_average_before": load}


def ours(n_neurons: int, t_end: float, warmup: float, workdir: Path,
         delay: str | None = None) -> dict:
    n_e = int(round(E_FRACTION * n_neurons))
    out = workdir / f"ours_{n_neurons}.h5"
    sets = bb.network_sets(bb.state_inputs(STATE), None, DIRECT_FILE) + [
        "--set", f"population.e.n_neurons={n_e}", "--set",
        f"population.i.n_neurons={n_neurons - n_e}", "--set", f"simulation.t_end={t_end!r}"]
    if delay:
        network = tomllib.loads(DIRECT_FILE.read_text())
        recurrent = [k for k, c in enumerate(network["connection"]) if c["source"] in ("e", "i")]
        sets += [item for k in recurrent for item in ("--set", f'connection.{k}.delay="{delay}"')]
    result = measured([str(bb.OUR_MIIND), "run", str(DIRECT_FILE), "-o", str(out), "-q"] + sets,
                      workdir)
    figures = bb.rate_figures(out, t_end, warmup)
    result.update(n_neurons=n_neurons, n_e=n_e, t_end=t_end, in_degree=C_E + C_I,
                  delay=delay or "the file's (1.5 ms)",
                  n_synapses=n_neurons * (C_E + C_I), rate_e_hz=figures["rate_e_hz"],
                  rate_i_hz=figures["rate_i_hz"], spectrum_peak_hz=figures["spectrum_peak_hz"],
                  window_s=figures["window_s"])
    # every neuron receives C_E spikes at the E rate and C_I at the I rate
    delivered = t_end * (figures["rate_e_hz"] * n_neurons * C_E + figures["rate_i_hz"]
                         * n_neurons * C_I)
    result["cpu_ns_per_delivered_spike"] = 1e9 * result["cpu_seconds"] / delivered
    result["cpu_us_per_neuron_second"] = 1e6 * result["cpu_seconds"] / (n_neurons * t_end)
    log(f"ours, {n_neurons} neurons, {t_end:g} s: {result['seconds']:.1f} s wall, "
        f"{result['cpu_seconds']:.1f} s CPU, {result['peak_rss_mb']:.0f} MB, E "
        f"{result['rate_e_hz']:.4g} Hz (load {result['load_average_before']:.2f})")
    return result


def with_cpu(run, *args, **kwargs) -> dict:
    load, before = os.getloadavg()[0], cpu_of_children()
    result = run(*args, **kwargs)
    result["cpu_seconds"] = cpu_of_children() - before
    result["load_average_before"] = load
    return result


def side_by_side(t_end: float, warmup: float, workdir: Path, skip_nest: bool,
                 skip_brian2: bool) -> dict:
    g, eta = bb.STATES[STATE]
    sides = {"ours": ours(N_BRUNEL, t_end, warmup, workdir)}
    if not skip_nest:
        bb.nest_side.ensure_venv(str(bb.NEST_VENV))
        try:
            sides["nest"] = with_cpu(bb.nest_side.run_brunel, str(bb.NEST_VENV), STATE,
                                     t_end - warmup, t_warmup=warmup, threads=1, seed=bb.NEST_SEED)
        except (bb.nest_side.NestSideError, OSError) as error:
            sides["nest"] = {"error": str(error)}
    if not skip_brian2:
        try:
            brian2_side.ensure_venv(str(BRIAN2_VENV))
            cache = with_cpu(brian2_side.run_brunel, str(BRIAN2_VENV), g, eta,
                             BRIAN2_CACHE_RUN["t_end"], n_neurons=BRIAN2_CACHE_RUN["n_neurons"])
            sides["brian2"] = with_cpu(brian2_side.run_brunel, str(BRIAN2_VENV), g, eta,
                                       t_end - warmup, warmup, N_BRUNEL, SEED)
            sides["brian2"]["cache_run"] = cache
        except (brian2_side.Brian2SideError, OSError, ValueError) as error:
            sides["brian2"] = {"error": str(error)}
    return sides


def render(info: dict, command: str, sides: dict, scaling: list[dict], t_end: float,
           warmup: float) -> str:
    ref = sides.get("nest", {}).get("rate_e_hz")
    rows = []
    for name, label in (("ours", "ours (`miind run`, direct)"),
                        ("nest", "NEST 3.10, one thread"), ("brian2", "Brian2 2.9, Cython")):
        r = sides.get(name)
        if r is None:
            continue
        if "error" in r:
            rows.append([label, "failed: " + r["error"]] + ["-"] * 6)
            continue
        rows.append([label, fmt(r.get("whole_process_seconds", r.get("seconds"))),
                     fmt(r["cpu_seconds"]), f"{r['peak_rss_mb']:.0f}",
                     f"{r['load_average_before']:.2f}", f"{r['rate_e_hz']:.4g}",
                     bb.pct(bb.relative(r["rate_e_hz"], ref)) if name != "nest" else "",
                     fmt(r.get("spectrum_peak_hz"), 4)])
    brian2 = sides.get("brian2", {})
    scaling_rows = [[f"{r['n_neurons']:,}", f"{r['n_synapses'] / 1e6:.3g} M", f"{r['t_end']:g}",
                     fmt(r["seconds"]), fmt(r["cpu_seconds"]),
                     fmt(r["cpu_seconds"] / r["t_end"]), f"{r['cpu_us_per_neuron_second']:.3g}",
                     f"{r['cpu_ns_per_delivered_spike']:.3g}", f"{r['peak_rss_mb']:.0f}",
                     f"{r['rate_e_hz']:.4g}", f"{r['load_average_before']:.2f}"]
                    for r in scaling]
    text = ["### Brunel's network neuron by neuron: ours, NEST, Brian2 (`bench_network.py`)", "",
            machine_line(info), "", f"Command: `{command}`.", "",
            f"State C (g = 5, eta = 2), 12,500 neurons, 15.6 M synapses, {t_end:g} s "
            f"simulated; rates over the last {t_end - warmup:g} s. Whole processes (wall "
            "seconds; CPU seconds of the process, which on a loaded 2-core machine is the "
            "steadier figure); peak RSS; load: 1-minute average before the run.", "",
            md_table(["", "whole process (s)", "CPU (s)", "peak RSS (MB)", "load",
                      "E rate (Hz)", "vs NEST", "spectrum peak (Hz)"], rows), ""]
    if "cache_run" in brian2:
        cache = brian2["cache_run"]
        text += [f"Brian2's code cache was filled first by a run of "
                 f"{cache['n_neurons']:,} neurons, {cache['t_end']:g} s: "
                 f"{cache['whole_process_seconds']:.1f} s whole process (a fresh install pays "
                 "this once).", ""]
    text += ["Ours against N (in-degrees fixed at 1,000 + 250, N_E = 0.8 N; recurrent delays "
             f"{scaling[0]['delay'] if scaling else '-'} s): CPU per "
             "simulated second, per neuron and simulated second, and per recurrent spike "
             "delivered (rate x N x in-degree).", "",
             md_table(["N", "synapses", "simulated (s)", "wall (s)", "CPU (s)",
                       "CPU per sim. s", "CPU us per neuron-s", "CPU ns per delivered spike",
                       "peak RSS (MB)", "E rate (Hz)", "load"], scaling_rows), ""]
    return "\n".join(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--t-end", type=float, default=1.0, help="simulated seconds (default 1)")
    parser.add_argument("--warmup", type=float, default=0.2,
                        help="of those, seconds before the rates' window (default 0.2)")
    parser.add_argument("--sizes", default="1000,10000,50000,100000",
                        help="N of the scaling runs (comma-separated; empty: none)")
    parser.add_argument("--large-t-end", type=float, default=0.2,
                        help="simulated seconds of the scaling runs above 12,500 neurons")
    parser.add_argument("--scaling-delay", default=SCALING_DELAY,
                        help=f"recurrent delays of the scaling runs (default {SCALING_DELAY!r}; "
                             "empty: the file's 1.5 ms)")
    parser.add_argument("--skip-nest", action="store_true")
    parser.add_argument("--skip-brian2", action="store_true")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench_network.json")
    parser.add_argument("--workdir", type=Path, help="keep run outputs here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not 0 <= args.warmup < args.t_end or args.large_t_end <= 0:
        parser.error("need 0 <= --warmup < --t-end and --large-t-end > 0")
    command = " ".join(["benchmarks/bench_network.py"]
                       + list(argv if argv is not None else sys.argv[1:]))
    started, info = time.perf_counter(), machine_info()
    try:
        with work_directory(args.workdir, "bench_network_") as workdir:
            sides = side_by_side(args.t_end, args.warmup, workdir, args.skip_nest,
                                 args.skip_brian2)
            scaling = []
            for n in sizes:
                t_end = args.t_end if n <= N_BRUNEL else args.large_t_end
                scaling.append(ours(n, t_end, min(args.warmup, t_end / 2), workdir,
                                    args.scaling_delay))
                (workdir / f"ours_{n}.h5").unlink()
    except bb.OurSideError as error:
        print(f"bench_network: {error}", file=sys.stderr)
        return 1
    text = render(info, command, sides, scaling, args.t_end, args.warmup)
    publish(text, args.json, {"machine": info, "command": command,
                              "load_average_end": list(os.getloadavg()),
                              "side_by_side": sides, "scaling": scaling},
            time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
