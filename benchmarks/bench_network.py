#!/usr/bin/env python3
"""Brunel's network (model A, state C) neuron by neuron: our direct network against
NEST 3.10 (one thread) and Brian2 2.9, whole processes split into their phases, and
how the cost of each grows with N and with the in-degree.

    .venv/bin/python benchmarks/bench_network.py [--t-end 1.0] [--warmup 0.2]
        [--sizes 1000,10000,50000,100000] [--large-t-end 0.2]
        [--in-degrees 100,200,500,1000] [--in-degree-n 10000]
        [--skip-nest] [--skip-brian2] [--json out/bench_network.json]

Each point is a network of N neurons (N_E = 0.8 N, N_I = 0.2 N), C_E excitatory and
C_I = C_E / 4 inhibitory inputs per neuron, J = 0.1 mV x 1,000 / C_E (inhibitory
-g J, g = 5), external Poisson input eta nu_thr C_E per neuron of J (eta = 2; nu_thr =
theta / (J C_E tau) = 10 Hz whatever C_E is), one delay of 1.5 ms. Scaling J as
1 / C_E keeps the mean input of a neuron, so the state stays near Brunel's state C
(its fluctuations grow as 1 / sqrt(C_E): the rates are in the tables). The points:

1. Side by side: N = 12,500, C_E = 1,000 (15.6 M synapses), --t-end simulated.
2. Against N: --sizes at C_E = 1,000, --t-end simulated up to 12,500 neurons and
   --large-t-end above (so start-up and build weigh more there).
3. Against the in-degree: --in-degrees at N = --in-degree-n, --t-end simulated (the
   point of C_E = 1,000 is the one of 2. when N is among --sizes).

At each point the three simulators run one after another (never two at once), in
processes of their own; the rates are over the last t_end - warmup seconds:
* ours: benchmarks/run_phases.py (what `miind run` does, phases timed) on
  examples/brunel/network_direct.toml with the point's --set overrides;
* NEST 3.10, `iaf_psc_delta`, one thread (benchmarks/nest_side, .bench/nest-venv);
* Brian2 2.9, Cython target (benchmarks/brian2_side/brian2_brunel.py,
  .bench/brian2-venv), after a small run with the same C_E and J that fills its code
  cache (Brian2 writes them into its code; the cache run is timed apart).
Whole process: wall, CPU (this script's children's CPU around the run, os.wait4 for
ours) and peak RSS (VmHWM of the process itself: getrusage's ru_maxrss of a child
starts at this script's RSS, 220 MB and more, which hid the small runs' own). Each
side times its simulate phase (warm-up and recorded window) in wall and CPU seconds
itself; the rest of the process (start-up, build and connect, output) is the whole
CPU less it. A point
whose estimated memory (bytes per synapse measured at 12,500 neurons, below) would
not fit in 70% of the machine's available memory is skipped, and the report says so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import NamedTuple

import bench_brunel as bb
from bench_report import OUT_DIR, REPO, fmt, log, machine_info, machine_line, md_table, \
    publish, work_directory

sys.path.insert(0, str(REPO / "benchmarks" / "brian2_side"))
import brian2_side  # noqa: E402  (a script directory, not a package)

DIRECT_FILE = REPO / "examples" / "brunel" / "network_direct.toml"
RUN_PHASES = REPO / "benchmarks" / "run_phases.py"
BRIAN2_VENV = REPO / ".bench" / "brian2-venv"
STATE = "C"
G, ETA = bb.STATES[STATE]
N_BRUNEL = 12500
E_FRACTION = 0.8
C_E_BRUNEL = 1000
J_BRUNEL = 0.1  # mV at C_E = 1,000
SEED = 1
SIMULATORS = ("ours", "nest", "brian2")
# Brian2's code cache is filled by a run this small (N; s) before each timed one.
BRIAN2_CACHE_RUN = (1000, 0.01)
# Peak memory per synapse, from the 12,500-neuron runs of 2026-12-05 (15.6 M synapses,
# benchmarks/README.md): NEST 1169 MB, Brian2 729 MB, ours 338 MB; rounded up, with a
# base above each one's at 1,000 neurons: an estimate that decides whether to run.
BYTES_PER_SYNAPSE = {"ours": 8, "nest": 80, "brian2": 50}
BASE_BYTES = 300e6
# Of the memory available when a run starts, the share a run may take: other
# sessions share the machine, and their runs grow while ours runs.
MEMORY_SHARE = 0.7


class Point(NamedTuple):
    """One network: N neurons, C_E excitatory inputs each; t_end s simulated, the rates
    over [warmup, t_end]."""

    n_neurons: int
    c_e: int
    t_end: float
    warmup: float

    @property
    def n_e(self) -> int:
        return int(round(E_FRACTION * self.n_neurons))

    @property
    def c_i(self) -> int:
        return self.c_e // 4

    @property
    def j_mv(self) -> float:
        return J_BRUNEL * C_E_BRUNEL / self.c_e

    @property
    def n_synapses(self) -> int:
        return self.n_neurons * (self.c_e + self.c_i)

    @property
    def label(self) -> str:
        return f"N {self.n_neurons:,}, C_E {self.c_e:,}"


def parse_counts(text: str, what: str) -> list[int]:
    """Comma-separated positive integers ("" gives none); ValueError naming `what`."""
    counts = []
    for item in text.split(","):
        if not item.strip():
            continue
        try:
            count = int(item)
        except ValueError:
            raise ValueError(f"{what}: {item.strip()!r} is not a whole number") from None
        if count <= 0:
            raise ValueError(f"{what}: {count} is not positive")
        counts.append(count)
    return counts


def plan(sizes: list[int], in_degrees: list[int], in_degree_n: int, t_end: float,
         large_t_end: float, warmup: float) -> dict[str, list[Point]]:
    """The points of the three studies (side by side, against N, against C_E); a point
    of two studies is one run, listed in both."""
    for c_e in in_degrees + [C_E_BRUNEL]:
        if c_e % 4:
            raise ValueError(f"in-degree {c_e} is not a multiple of 4 (C_I = C_E / 4)")

    def point(n: int, c_e: int) -> Point:
        long = n <= N_BRUNEL
        return Point(n, c_e, t_end if long else large_t_end,
                     warmup if long else min(warmup, large_t_end / 2))

    return {"side_by_side": [point(N_BRUNEL, C_E_BRUNEL)],
            "sizes": [point(n, C_E_BRUNEL) for n in sizes],
            "in_degrees": [point(in_degree_n, c_e) for c_e in in_degrees]}


def estimated_bytes(simulator: str, point: Point) -> float:
    return BASE_BYTES + BYTES_PER_SYNAPSE[simulator] * point.n_synapses


def available_bytes() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return 1024.0 * int(line.split()[1])
    return float("inf")


def events(point: Point, rate_e_hz: float, rate_i_hz: float) -> float:
    """Recurrent spike deliveries in the simulated time: every neuron receives C_E spikes
    at the E rate and C_I at the I rate (the rates over the window stand for the run's)."""
    return point.t_end * point.n_neurons * (point.c_e * rate_e_hz + point.c_i * rate_i_hz)


def costs(point: Point, run: dict) -> dict:
    """A run's CPU per neuron and simulated second (ms) and per recurrent spike delivered
    (ns) in its simulate phase, and the rest of its process (start-up, build and
    connect, output) per synapse (ns)."""
    simulate = run["simulate_cpu_seconds"]
    delivered = events(point, run["rate_e_hz"], run["rate_i_hz"])
    return {"ms_per_neuron_second": 1e3 * simulate / (point.n_neurons * point.t_end),
            "ns_per_event": 1e9 * simulate / delivered if delivered > 0 else None,
            "build_ns_per_synapse": 1e9 * run["rest_cpu_seconds"] / point.n_synapses}


# ---------------------------------------------------------------- the three sides

def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ours(point: Point, workdir: Path) -> dict:
    out = workdir / f"ours_{point.n_neurons}_{point.c_e}.h5"
    network = tomllib.loads(DIRECT_FILE.read_text())
    recurrent = [k for k, c in enumerate(network["connection"]) if c["source"] in ("e", "i")]
    external = [k for k, c in enumerate(network["connection"]) if c["source"] == "external"]
    values = {"population.e.n_neurons": point.n_e,
              "population.i.n_neurons": point.n_neurons - point.n_e,
              "simulation.t_end": point.t_end,
              "input.external.rate": ETA * bb.NU_THR * point.c_e}
    for k in external:
        values[f"connection.{k}.efficacy"] = point.j_mv
    for k in recurrent:
        inhibitory = network["connection"][k]["source"] == "i"
        values[f"connection.{k}.efficacy"] = -G * point.j_mv if inhibitory else point.j_mv
        values[f"connection.{k}.n_connections"] = point.c_i if inhibitory else point.c_e
    sets = [item for key, value in values.items() for item in ("--set", f"{key}={value!r}")]
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        load = os.getloadavg()[0]
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(RUN_PHASES), str(DIRECT_FILE),
                                    str(out)] + sets, cwd=workdir, stdout=stdout,
                                   stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        message = stderr.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
        if os.waitstatus_to_exitcode(status) != 0:
            raise bb.OurSideError(f"run_phases.py on {point.label} failed: {message[0]}")
        summary = json.loads(stdout.read())
    figures = bb.rate_figures(out, point.t_end, point.warmup)
    out.unlink()
    phases = summary["phases"]
    cpu = usage.ru_utime + usage.ru_stime
    return {"whole_seconds": wall, "whole_cpu_seconds": cpu,
            "peak_rss_mb": summary["own_peak_rss_mb"], "load": load,
            "simulate_seconds": phases["simulate"]["seconds"],
            "simulate_cpu_seconds": phases["simulate"]["cpu_seconds"],
            "build_cpu_seconds": phases["startup_build"]["cpu_seconds"],
            "phases": phases, "rate_e_hz": figures["rate_e_hz"],
            "rate_i_hz": figures["rate_i_hz"], "spectrum_peak_hz": figures["spectrum_peak_hz"]}


def with_cpu(run, *args, **kwargs) -> tuple[dict, float, float]:
    """run(...)'s result, the load before it and the CPU its processes took."""
    load, before = os.getloadavg()[0], cpu_of_children()
    result = run(*args, **kwargs)
    return result, load, cpu_of_children() - before


def nest(point: Point) -> dict:
    r, load, cpu = with_cpu(bb.nest_side.run_brunel, str(bb.NEST_VENV), STATE,
                            point.t_end - point.warmup, t_warmup=point.warmup, threads=1,
                            seed=bb.NEST_SEED, n_neurons=point.n_neurons, c_e=point.c_e,
                            j_mv=point.j_mv)
    return {"whole_seconds": r["whole_process_seconds"], "whole_cpu_seconds": cpu,
            "peak_rss_mb": r["own_peak_rss_mb"], "load": load,
            "simulate_seconds": r["warmup_simulate_seconds"] + r["simulate_seconds"],
            "simulate_cpu_seconds": r["warmup_cpu_seconds"] + r["simulate_cpu_seconds"],
            "build_cpu_seconds": r["build_cpu_seconds"], "worker": r,
            "rate_e_hz": r["rate_e_hz"], "rate_i_hz": r["rate_i_hz"],
            "spectrum_peak_hz": r["spectrum_peak_hz"]}


def brian2(point: Point, filled: set) -> dict:
    """Brian2's timed run, after a cache run for C_E and J the first time (`filled`)."""
    cache = None
    if point.c_e not in filled:
        n, t_end = BRIAN2_CACHE_RUN
        run, _, cpu = with_cpu(brian2_side.run_brunel, str(BRIAN2_VENV), G, ETA, t_end,
                               n_neurons=n, c_e=point.c_e, j_mv=point.j_mv)
        cache = {"n_neurons": n, "t_end": t_end, "whole_seconds": run["whole_process_seconds"],
                 "whole_cpu_seconds": cpu}
        filled.add(point.c_e)
    r, load, cpu = with_cpu(brian2_side.run_brunel, str(BRIAN2_VENV), G, ETA,
                            point.t_end - point.warmup, point.warmup, point.n_neurons, SEED,
                            c_e=point.c_e, j_mv=point.j_mv)
    return {"whole_seconds": r["whole_process_seconds"], "whole_cpu_seconds": cpu,
            "peak_rss_mb": r["own_peak_rss_mb"], "load": load,
            "simulate_seconds": r["warmup_run_seconds"] + r["run_seconds"],
            "simulate_cpu_seconds": r["warmup_cpu_seconds"] + r["run_cpu_seconds"],
            "build_cpu_seconds": r["build_cpu_seconds"], "worker": r, "cache_run": cache,
            "rate_e_hz": r["rate_e_hz"], "rate_i_hz": r["rate_i_hz"]}


def ready(simulator: str) -> bool:
    """Whether the reference simulator's venv is there (installed now if not); why not
    on stderr."""
    side, venv = ((bb.nest_side, bb.NEST_VENV) if simulator == "nest"
                  else (brian2_side, BRIAN2_VENV))
    try:
        side.ensure_venv(str(venv))
    except (bb.nest_side.NestSideError, brian2_side.Brian2SideError, OSError) as error:
        log(f"{simulator} left out: {error}")
        return False
    return True


def run_point(point: Point, workdir: Path, simulators: tuple[str, ...], filled: set) -> dict:
    """The point's runs, one simulator after another: {simulator: run or {"skipped"} or
    {"error"}}, each run with its costs."""
    runs = {}
    for simulator in simulators:
        need, free = estimated_bytes(simulator, point), available_bytes()
        if need > MEMORY_SHARE * free:
            runs[simulator] = {"skipped": f"needs ~{need / 1e9:.1f} GB, {free / 1e9:.1f} GB "
                                          "available"}
            log(f"{simulator}, {point.label}: skipped ({runs[simulator]['skipped']})")
            continue
        try:
            run = (ours(point, workdir) if simulator == "ours" else nest(point)
                   if simulator == "nest" else brian2(point, filled))
        except (bb.nest_side.NestSideError, brian2_side.Brian2SideError, OSError,
                ValueError) as error:
            runs[simulator] = {"error": str(error)}
            log(f"{simulator}, {point.label}: failed: {error}")
            continue
        run["rest_cpu_seconds"] = run["whole_cpu_seconds"] - run["simulate_cpu_seconds"]
        run.update(costs(point, run))
        runs[simulator] = run
        log(f"{simulator}, {point.label}, {point.t_end:g} s: {run['whole_seconds']:.1f} s wall, "
            f"{run['whole_cpu_seconds']:.1f} s CPU (simulate {run['simulate_cpu_seconds']:.1f}),"
            f" {run['peak_rss_mb']:.0f} MB, E {run['rate_e_hz']:.4g} Hz (load {run['load']:.2f})")
    return runs


# ---------------------------------------------------------------- the report

LABELS = {"ours": "ours", "nest": "NEST 3.10, 1 thread", "brian2": "Brian2 2.9, Cython"}


def side_by_side_rows(point: Point, runs: dict) -> list[list[str]]:
    rows = []
    for simulator in SIMULATORS:
        r = runs.get(simulator)
        if r is None:
            continue
        if "simulate_cpu_seconds" not in r:
            rows.append([LABELS[simulator], r.get("error") or r.get("skipped")] + ["-"] * 9)
            continue
        rows.append([LABELS[simulator], fmt(r["whole_seconds"]), fmt(r["whole_cpu_seconds"]),
                     fmt(r["rest_cpu_seconds"]), fmt(r["simulate_cpu_seconds"]),
                     fmt(r["simulate_cpu_seconds"] / point.t_end),
                     fmt(r["simulate_seconds"] / point.t_end), f"{r['peak_rss_mb']:.0f}",
                     f"{r['rate_e_hz']:.4g}", fmt(r.get("spectrum_peak_hz"), 4),
                     f"{r['load']:.2f}"])
    return rows


def cost_rows(points: list[Point], results: dict, key) -> list[list[str]]:
    """One row per point: its key, synapses, simulated time, then per simulator ms CPU
    per neuron-second, ns per event, build ns per synapse, peak MB, E rate."""
    rows = []
    for point in points:
        row = [key(point), f"{point.n_synapses / 1e6:.3g} M", f"{point.t_end:g}"]
        for simulator in SIMULATORS:
            r = results.get(point, {}).get(simulator)
            if r is None:
                continue
            if "simulate_cpu_seconds" not in r:
                row += ["skipped" if "skipped" in r else "failed"] + ["-"] * 4
                continue
            row += [f"{r['ms_per_neuron_second']:.3g}", fmt(r["ns_per_event"]),
                    f"{r['build_ns_per_synapse']:.3g}", f"{r['peak_rss_mb']:.0f}",
                    f"{r['rate_e_hz']:.4g}"]
        rows.append(row)
    return rows


def cost_headers(first: str, simulators: list[str]) -> list[str]:
    headers = [first, "synapses", "simulated (s)"]
    for simulator in simulators:
        name = {"ours": "ours", "nest": "NEST", "brian2": "Brian2"}[simulator]
        headers += [f"{name} ms/neuron-s", f"{name} ns/event", f"{name} rest ns/synapse",
                    f"{name} MB", f"{name} E Hz"]
    return headers


def render(info: dict, command: str, studies: dict, results: dict,
           simulators: tuple[str, ...]) -> str:
    (point,) = studies["side_by_side"]
    text = ["### Brunel's network neuron by neuron: ours, NEST, Brian2 (`bench_network.py`)", "",
            machine_line(info), "", f"Command: `{command}`.", "",
            f"State C, {point.n_neurons:,} neurons, {point.n_synapses / 1e6:.3g} M synapses, "
            f"{point.t_end:g} s simulated, rates over the last {point.t_end - point.warmup:g} "
            "s. Whole processes (wall and CPU seconds), the CPU of their simulate phase and "
            "of the rest (start-up, build and connect, output), peak RSS; load: 1-minute "
            "average before the run.", "",
            md_table(["", "whole (s)", "CPU (s)", "rest CPU (s)", "simulate CPU (s)",
                      "simulate CPU per sim. s", "simulate wall per sim. s", "peak RSS (MB)",
                      "E rate (Hz)", "spectrum peak (Hz)", "load"],
                     side_by_side_rows(point, results[point])), ""]
    present = [s for s in SIMULATORS if s in simulators]
    n_fixed = studies["in_degrees"][0].n_neurons if studies["in_degrees"] else 0
    for study, title, key, first in (
            ("sizes", "Against N (C_E = 1,000, C_I = 250, J = 0.1 mV)",
             lambda p: f"{p.n_neurons:,}", "N"),
            ("in_degrees", f"Against the in-degree (N = {n_fixed:,}; C_I = C_E / 4, "
             "J = 0.1 mV x 1,000 / C_E)", lambda p: f"{p.c_e:,}", "C_E")):
        if not studies[study]:
            continue
        text += [f"{title}: CPU of the simulate phase per neuron and simulated second (ms) "
                 "and per recurrent spike delivered (ns: rate x N x in-degree), CPU of the "
                 "rest of the process per synapse (ns), peak RSS (MB), E rate.", "",
                 md_table(cost_headers(first, present),
                          cost_rows(studies[study], results, key)), ""]
    caches = [(p, r["brian2"]["cache_run"]) for p, r in results.items()
              if r.get("brian2", {}).get("cache_run")]
    if caches:
        text += ["Brian2's code cache, filled before the first timed run of each C_E: "
                 + "; ".join(f"C_E {p.c_e:,}: {c['whole_seconds']:.1f} s wall, "
                             f"{c['whole_cpu_seconds']:.1f} s CPU" for p, c in caches) + ".", ""]
    return "\n".join(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--t-end", type=float, default=1.0, help="simulated seconds (default 1)")
    parser.add_argument("--warmup", type=float, default=0.2,
                        help="of those, seconds before the rates' window (default 0.2)")
    parser.add_argument("--sizes", default="1000,10000,50000,100000",
                        help="N of the runs against N (comma-separated; empty: none)")
    parser.add_argument("--large-t-end", type=float, default=0.2,
                        help="simulated seconds of the runs above 12,500 neurons")
    parser.add_argument("--in-degrees", default="100,200,500,1000",
                        help="C_E of the runs against the in-degree (multiples of 4; empty: "
                             "none)")
    parser.add_argument("--in-degree-n", type=int, default=10000,
                        help="N of the runs against the in-degree (default 10,000)")
    parser.add_argument("--skip-nest", action="store_true")
    parser.add_argument("--skip-brian2", action="store_true")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench_network.json")
    parser.add_argument("--workdir", type=Path, help="keep run outputs here")
    args = parser.parse_args(argv)
    if not 0 <= args.warmup < args.t_end or args.large_t_end <= 0:
        parser.error("need 0 <= --warmup < --t-end and --large-t-end > 0")
    try:
        studies = plan(parse_counts(args.sizes, "--sizes"),
                       parse_counts(args.in_degrees, "--in-degrees"), args.in_degree_n,
                       args.t_end, args.large_t_end, args.warmup)
    except ValueError as error:
        parser.error(str(error))
    simulators = tuple(s for s in SIMULATORS if not (s == "nest" and args.skip_nest)
                       and not (s == "brian2" and args.skip_brian2))
    command = " ".join(["benchmarks/bench_network.py"]
                       + list(argv if argv is not None else sys.argv[1:]))
    started, info = time.perf_counter(), machine_info()
    simulators = tuple(s for s in simulators if s == "ours" or ready(s))
    points = list(dict.fromkeys(p for study in studies.values() for p in study))
    results, filled = {}, set()
    try:
        with work_directory(args.workdir, "bench_network_") as workdir:
            for point in points:
                results[point] = run_point(point, workdir, simulators, filled)
    except bb.OurSideError as error:
        print(f"bench_network: {error}", file=sys.stderr)
        return 1
    text = render(info, command, studies, results, simulators)
    publish(text, args.json, {"machine": info, "command": command,
                              "load_average_end": list(os.getloadavg()),
                              "studies": {k: [p._asdict() for p in v] for k, v in studies.items()},
                              "runs": [{"point": p._asdict(), **r} for p, r in results.items()]},
            time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
