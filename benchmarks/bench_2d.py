#!/usr/bin/env python3
"""`make bench`, 2D part: MIIND 1.0.21's AdEx grid example, our grid method, direct
simulation (ours and Brian2 2.9) side by side, on this machine, in one run.

    .venv/bin/python benchmarks/bench_2d.py [--quick] [--skip-miind] [--skip-brian2] \
        [--json out/bench_2d.json]

The case is MIIND's model_archive/Adex example as its wheel ships it: AdEx (Brette &
Gerstner 2005 parameters), threshold -40 mV, reset v = -70 mV, w += 100 pA, no
refractory period; 2100 Hz Poisson input of 1 mV jumps in v; 1 s simulated from
v = -70.6 mV, w = 4 pA; 100 strips in w x 400 cells in v over v in [-80, -35] mV,
w in [-20, 300] pA, mesh step 1e-5 s, network step 1e-4 s (the parameters are read off
its files, see benchmarks/miind_side/miind_side.py).

Measured, every figure with the load average at its start:
1. The case, whole processes: MIIND's `python -m miind.run adex.xml` (as shipped, with
   its default OpenMP threads and with one; and without its density reporting, which
   writes 0.9 GB), against our `miind mesh` and `miind run` (numba cache warm) on
   400 x 100 cells over v in [-80, -40] mV (our v range ends at the threshold),
   w in [-20, 300] pA, dt 1e-4 s. Reference: our direct simulation of the same model,
   DIRECT_NEURONS neurons; the rates' errors are against it.
2. Mesh generation, whole processes: MIIND's `miind.grid_generate.generate` against
   `miind mesh` on the same grids at MIIND's mesh step; then `miind mesh` alone up to
   1,000,000 cells with its peak RSS.
3. Memory: peak RSS of `miind mesh` and of a short `miind run` at 1,000,000 cells.
4. Break-even population size: the cost of one density population (item 1) over the
   cost per neuron of direct simulation (ours and Brian2), and the number of neurons a
   direct simulation needs for a rate standard error equal to the density's error.

A markdown report goes to stdout, the same figures as JSON to out/bench_2d.json, and
progress to stderr. Whole-process wall times are time.perf_counter() around the child;
peak RSS is the child's ru_maxrss (os.wait4).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_report import (OUT_DIR, REPO, fmt, log, machine_info, machine_line, md_table,
                          percent, publish)

sys.path.insert(0, str(REPO / "benchmarks" / "miind_side"))
sys.path.insert(0, str(REPO / "benchmarks" / "brian2_side"))
import brian2_side  # noqa: E402  (script directories, not packages)
import miind_side  # noqa: E402
from bench import second_half_mean  # noqa: E402
from bench_direct import ADEX_MODEL, SIMULATION as DIRECT_SIMULATION, spike_rate  # noqa: E402

MIIND_VENV = REPO / ".bench" / "miind-venv"
MIIND_WORKDIR = REPO / ".bench" / "miind-work-2d"
BRIAN2_VENV = REPO / ".bench" / "brian2-venv"
MIIND_EXAMPLE = "Adex"
MIIND_XML = "adex.xml"
OUR_CLI = [sys.executable, "-m", "miind_cli"]

# The case (MIIND's example); our grid covers v up to the threshold only.
THRESHOLD = -40.0  # mV, the example's .model file
V_RANGE = (-80.0, THRESHOLD)
W_RANGE = (-20.0, 300.0)
INPUT_RATE_HZ = 2100.0
START = "{ v = -70.6, w = 4.0 }"
RUN_DT = 1e-4  # our mesh and network step (s): MIIND runs its mesh at 1e-5
# Our direct simulation at a coarser step (network dt, RK4 step): the cheapest that
# `miind run`'s step check accepts for AdEx (bench_direct.py), 0.1% from the reference.
COARSE_DIRECT = (1e-3, 5e-4)
MIIND_MESH_DT = 1e-5  # the step of MIIND's example mesh, used to compare mesh generation
SEED = 1


@dataclass(frozen=True)
class Sizes:
    """What one run of the benchmark measures; --quick shrinks everything."""

    resolution: tuple[int, int]  # (v, w) of the case
    t_end: float  # s simulated in the case
    direct_neurons: int  # the reference
    brian2_neurons: int
    miind_generate: tuple[tuple[int, int], ...]  # grids for MIIND's generator and ours
    scaling: tuple[tuple[int, int], ...]  # our meshes up to the memory case
    memory_t_end: float  # s simulated on the largest grid


FULL = Sizes(resolution=(400, 100), t_end=1.0, direct_neurons=20_000, brian2_neurons=10_000,
             miind_generate=((100, 100), (400, 100), (300, 300)),
             scaling=((100, 100), (300, 300), (600, 600), (1000, 1000)), memory_t_end=0.05)
QUICK = Sizes(resolution=(100, 25), t_end=0.2, direct_neurons=2000, brian2_neurons=1000,
              miind_generate=((50, 50),), scaling=((50, 50), (100, 100), (200, 200)),
              memory_t_end=0.01)
MEMORY_LIMIT_BYTES = 4 * 1024 ** 3  # the issue's: a 1,000,000-cell mesh builds and runs in 4 GB
OUR_MESH_REPEATS = 3
OUR_RUN_REPEATS = 2
WARM_UP_T_END = 0.01  # s: a run that makes numba compile or load every kernel

# bench_direct.py's AdEx (Brette & Gerstner 2005, every value given) with the example's
# spike rule, and a [mesh] section for the grid.
EXAMPLE_SPIKE_RULE = (("b = 80.5", "b = 100.0"), ("V_r = -70.6", "V_r = -70.0"),
                      ("threshold = -40.4        # V_T + 5 Delta_T",
                       f"threshold = {THRESHOLD}  # MIIND's example"))
MESH = """[mesh]
method = "grid"
ranges = {{ v = [{v_lo}, {v_hi}], w = [{w_lo}, {w_hi}] }}
resolution = {{ v = {n_v}, w = {n_w} }}
dt = {dt}
efficacies = [1.0]
"""

# A grid population; the direct one is bench_direct.py's (its model file is model.toml).
GRID_SIMULATION = """[simulation]
t_end = {t_end}
[[population]]
name = "p"
mesh = "{mesh}"
initial = {start}
[[input]]
name = "drive"
rate = {rate}
[[connection]]
source = "drive"
target = "p"
efficacy = 1.0
dimension = "v"
"""


def example_model() -> str:
    """The model file's text before its [mesh] section."""
    text = ADEX_MODEL
    for old, new in EXAMPLE_SPIKE_RULE:
        if text.count(old) != 1:
            raise RuntimeError(f"bench_direct.ADEX_MODEL has changed: {old!r} is not in it once")
        text = text.replace(old, new)
    return text


class BenchError(RuntimeError):
    pass


def load_average() -> list[float]:
    """What `uptime` prints (1, 5, 15 min): the machine is shared, so each figure keeps it."""
    return [round(x, 2) for x in os.getloadavg()]


def measured(cmd: list[str], cwd: Path = REPO, env: dict | None = None) -> dict:
    """Run cmd to completion: wall seconds, the child's peak RSS, its stdout, the load."""
    load = load_average()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))} exited {process.returncode}: "
                         f"{stderr.strip()[-500:]}")
    return {"seconds": seconds, "peak_rss_bytes": usage.ru_maxrss * 1024,
            "load_average": load, "stdout": stdout}


def write_model(directory: Path, resolution: tuple[int, int], dt: float) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "model.toml"
    path.write_text(example_model() + MESH.format(
        v_lo=V_RANGE[0], v_hi=V_RANGE[1], w_lo=W_RANGE[0], w_hi=W_RANGE[1],
        n_v=resolution[0], n_w=resolution[1], dt=dt))
    return path


def our_mesh(directory: Path, resolution: tuple[int, int], dt: float) -> dict:
    """`miind mesh` as a whole process: its JSON, wall seconds, peak RSS and load."""
    mesh = directory / "mesh.h5"
    run = measured(OUR_CLI + ["mesh", str(write_model(directory, resolution, dt)),
                              "-o", str(mesh), "-q"])
    summary = json.loads(run.pop("stdout"))
    return {**run, "mesh": mesh, "n_cells": summary["n_cells"], "dt": summary["dt"],
            "internal_seconds": summary["seconds"]}


def our_run(directory: Path, mesh: Path, t_end: float, name: str = "sim") -> dict:
    """`miind run` of the grid population as a whole process."""
    simulation = directory / f"{name}.toml"
    simulation.write_text(GRID_SIMULATION.format(t_end=t_end, mesh=mesh, start=START,
                                                 rate=INPUT_RATE_HZ))
    run = measured(OUR_CLI + ["run", str(simulation), "-o", str(directory / f"{name}.h5"),
                              "-q"])
    summary = json.loads(run.pop("stdout"))
    return {**run, "n_steps": summary["n_steps"], "dt": summary["dt"],
            "kernel_seconds": summary["seconds"], "rate_hz": summary["mean_rates"]["p"]}


# ---------------------------------------------------------------- 1. the case

def case_ours(scratch: Path, sizes: Sizes) -> dict:
    directory = scratch / "case"
    meshes = []
    for i in range(OUR_MESH_REPEATS):
        log(f"ours: miind mesh, {sizes.resolution[0]} x {sizes.resolution[1]} cells, "
            f"dt {RUN_DT:g} s ({i + 1}/{OUR_MESH_REPEATS})")
        meshes.append(our_mesh(directory, sizes.resolution, RUN_DT))
    mesh = meshes[-1]["mesh"]
    log(f"ours: warm-up run ({WARM_UP_T_END:g} s simulated)")
    our_run(directory, mesh, WARM_UP_T_END, "warm")
    runs = []
    for i in range(OUR_RUN_REPEATS):
        log(f"ours: miind run, {sizes.t_end:g} s simulated ({i + 1}/{OUR_RUN_REPEATS})")
        runs.append(our_run(directory, mesh, sizes.t_end))
        log(f"ours: rate {runs[-1]['rate_hz']:.4f} Hz, whole process "
            f"{runs[-1]['seconds']:.2f} s, kernel loop {runs[-1]['kernel_seconds']:.2f} s")
    for m in meshes:
        m["mesh"] = str(m["mesh"])
    return {"resolution": sizes.resolution, "ranges": {"v": V_RANGE, "w": W_RANGE},
            "n_cells": meshes[0]["n_cells"], "dt": RUN_DT, "meshes": meshes, "runs": runs,
            "mesh": min(meshes, key=lambda m: m["seconds"]),
            "run": min(runs, key=lambda r: r["seconds"]), "rate_hz": runs[-1]["rate_hz"]}


def direct_ours(scratch: Path, sizes: Sizes) -> list[dict]:
    """Our direct simulation of the same model, after a small run that fills numba's
    cache: first the reference (RK4 between input events, steps of at most RUN_DT),
    then at the coarser step of COARSE_DIRECT, which draws the same input events, so
    its difference from the reference is time-step error alone."""
    directory = scratch / "direct"
    write_model(directory, sizes.resolution, RUN_DT)

    def run(n_neurons: int, t_end: float, name: str, dt: float = RUN_DT,
            integration_step: float | None = None) -> dict:
        simulation = directory / f"{name}.toml"
        extra = f"integration_step = {integration_step!r}\n" if integration_step else ""
        simulation.write_text(DIRECT_SIMULATION.format(
            t_end=t_end, dt=dt, n_neurons=n_neurons, seed=SEED, initial=START, extra=extra,
            rate=INPUT_RATE_HZ))
        output = directory / f"{name}.h5"
        log(f"ours, direct: {n_neurons} neurons, {t_end:g} s simulated, dt {dt:g} s"
            + (f", RK4 step {integration_step:g} s" if integration_step else ""))
        result = measured(OUR_CLI + ["run", str(simulation), "-o", str(output), "-q"])
        summary = json.loads(result.pop("stdout"))
        return {**result, "output": output, "loop_seconds": summary["seconds"], "dt": dt,
                "integration_step": integration_step or dt, "n_neurons": n_neurons,
                "t_end": t_end}

    run(100, WARM_UP_T_END, "warm")  # numba compiles or loads the kernels here
    rows = []
    for name, dt, step in (("direct", RUN_DT, None), ("direct_coarse", *COARSE_DIRECT)):
        row = run(sizes.direct_neurons, sizes.t_end, name, dt, step)
        row.update(spike_rate(row.pop("output"), sizes.direct_neurons, "p", sizes.t_end / 2,
                              sizes.t_end))
        row["simulator"] = (f"ours, direct (RK4 ≤ {1e3 * row['integration_step']:g} ms, "
                            f"dt {1e3 * dt:g} ms)")
        log(f"ours, direct: {row['rate_hz']:.4f} +- {row['rate_se_hz']:.4f} Hz, "
            f"loop {row['loop_seconds']:.2f} s")
        rows.append(row)
    return rows


def case_miind() -> dict:
    """MIIND's example in a copy of its directory: as shipped with its default threads
    and with one, then without its density reporting (one thread)."""
    miind_side.ensure_venv(str(MIIND_VENV))
    workdir = MIIND_WORKDIR / MIIND_EXAMPLE
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(miind_side.example_dir(str(MIIND_VENV), MIIND_EXAMPLE), workdir)
    shipped = (workdir / MIIND_XML).read_text()
    t_end = float(re.search(r"<Variable Name='TIME_END'>([^<]+)<", shipped).group(1))
    quiet_xml = "adex_no_density.xml"
    (workdir / quiet_xml).write_text(re.sub(r"\s*<Density [^>]*/>", "", shipped))
    runs = []
    for label, xml, threads in (("as shipped, default threads", MIIND_XML, 0),
                                ("as shipped, OMP_NUM_THREADS=1", MIIND_XML, 1),
                                ("no density reporting, OMP_NUM_THREADS=1", quiet_xml, 1)):
        output = workdir / (Path(xml).stem + "_")
        if output.exists():
            shutil.rmtree(output)  # 0.9 GB of densities per shipped run
        log(f"MIIND: python -m miind.run {xml} ({label})")
        load = load_average()
        seconds, stdout = miind_side.run_xml(str(MIIND_VENV), str(workdir), xml, threads)
        rate_file = output / "rate_0"
        if not rate_file.exists():
            raise miind_side.MiindSideError(f"miind.run {xml} wrote no {rate_file}")
        loop = re.search(r"([0-9.]+)s wall", stdout)
        runs.append({"label": label, "xml": xml, "threads": threads or "default",
                     "seconds": seconds, "load_average": load,
                     "loop_seconds": float(loop.group(1)) if loop else None,
                     "output_bytes": sum(f.stat().st_size for f in output.rglob("*")),
                     "rate_hz": second_half_mean(str(rate_file), t_end)})
        shutil.rmtree(output)
        log(f"MIIND: {seconds:.1f} s, rate {runs[-1]['rate_hz']:.4f} Hz")
    n_cells, mesh_dt = miind_side.count_cells(str(workdir / "adex.model"))
    return {"version": miind_side.MIIND_VERSION, "n_cells": n_cells, "mesh_dt": mesh_dt,
            "network_dt": float(re.search(r"<t_step>([^<]+)<", shipped).group(1)),
            "t_end": t_end, "runs": runs, "rate_hz": runs[0]["rate_hz"]}


# ---------------------------------------------------------------- 2, 3. meshes, memory

def mesh_comparison(scratch: Path, sizes: Sizes, with_miind: bool) -> list[dict]:
    rows = []
    for n_v, n_w in sizes.miind_generate:
        row = {"resolution": (n_v, n_w), "n_cells": n_v * n_w, "dt": MIIND_MESH_DT}
        if with_miind:
            load = load_average()
            workdir = MIIND_WORKDIR / f"generate_{n_v}x{n_w}"
            if workdir.exists():
                shutil.rmtree(workdir)
            row["miind"] = {"seconds": miind_side.generate_adex_grid(
                str(MIIND_VENV), str(workdir), n_v, n_w), "load_average": load}
            shutil.rmtree(workdir)
        log(f"ours: miind mesh {n_v} x {n_w}, dt {MIIND_MESH_DT:g} s")
        ours = our_mesh(scratch / f"compare_{n_v}x{n_w}", (n_v, n_w), MIIND_MESH_DT)
        ours["mesh"] = str(ours["mesh"])
        row["ours"] = ours
        rows.append(row)
    return rows


def scaling(scratch: Path, sizes: Sizes) -> tuple[list[dict], dict]:
    """Our meshes up to the largest grid at RUN_DT, then a short run on the largest."""
    rows = []
    for n_v, n_w in sizes.scaling:
        log(f"ours: miind mesh {n_v} x {n_w}, dt {RUN_DT:g} s")
        rows.append(our_mesh(scratch / f"scale_{n_v}x{n_w}", (n_v, n_w), RUN_DT))
        rows[-1]["resolution"] = (n_v, n_w)
    largest = rows[-1]
    directory = Path(largest["mesh"]).parent
    log(f"ours: miind run on {largest['n_cells']:,} cells, {sizes.memory_t_end:g} s simulated")
    run = our_run(directory, largest["mesh"], sizes.memory_t_end)
    for row in rows:
        row["mesh"] = str(row["mesh"])
    memory = {"n_cells": largest["n_cells"], "resolution": largest["resolution"],
              "mesh_peak_rss_bytes": largest["peak_rss_bytes"], "run": run,
              "limit_bytes": MEMORY_LIMIT_BYTES,
              "within_limit": max(largest["peak_rss_bytes"], run["peak_rss_bytes"])
              <= MEMORY_LIMIT_BYTES}
    return rows, memory


# ---------------------------------------------------------------- 4. direct, break-even

def brian2_rows(sizes: Sizes) -> list[dict]:
    """Brian2's AdEx with the example's spike rule: its standard PoissonInput, and the
    variant with Poisson counts applied before the threshold test (accurate at 0.1 ms,
    see bench_direct.py)."""
    rows = []
    for input_kind, when in (("binomial", "synapses"), ("poisson", "before_thresholds")):
        row = {"load_average": load_average()}
        row.update(brian2_side.run_workload(str(BRIAN2_VENV), "adex_grid", sizes.brian2_neurons,
                                            sizes.t_end, RUN_DT, SEED, input_kind, when))
        row["simulator"] = (f"Brian2 {row['brian2_version']}, euler, "
                            + ("PoissonInput(N=1)" if input_kind == "binomial" else
                               "poisson() counts, when='before_thresholds'"))
        row["loop_seconds"] = row["run_seconds"]
        # One run as a process: everything but the second (timed) run.
        row["seconds"] = row["whole_process_seconds"] - row["run_seconds"]
        rows.append(row)
    return rows


def judge(rate: float, reference: dict) -> dict:
    """Error of a rate against the direct reference, in relative terms and in the
    reference's standard errors."""
    error = rate / reference["rate_hz"] - 1.0
    return {"error": error, "error_in_se": (rate - reference["rate_hz"]) / reference["rate_se_hz"]}


def neurons_for_error(reference: dict, error: float) -> float | None:
    """Neurons a direct simulation needs for a rate standard error of |error| (relative):
    the standard error falls as 1/sqrt(N), measured at the reference's N."""
    if error == 0:
        return None
    relative_se = reference["rate_se_hz"] / reference["rate_hz"]
    return reference["n_neurons"] * (relative_se / abs(error)) ** 2


def break_even(density: list[dict], direct: list[dict], reference: dict) -> list[dict]:
    """For each density population: its rate error, the neurons a direct simulation
    needs to match it, and the neurons at which each direct simulator costs as much
    (kernel loop against loop; whole process against one direct process scaled by N)."""
    rows = []
    for d in density:
        error = judge(d["rate_hz"], reference)["error"]
        row = {"simulator": d["simulator"], "loop_seconds": d["loop_seconds"],
               "seconds": d["seconds"], "error": error,
               "neurons_matching_error": neurons_for_error(reference, error), "per_direct": []}
        for r in direct:
            per_neuron_loop = r["loop_seconds"] / r["n_neurons"]
            per_neuron_process = r["seconds"] / r["n_neurons"]
            row["per_direct"].append({
                "direct": r["simulator"],
                "break_even_neurons_loop": (d["loop_seconds"] / per_neuron_loop
                                            if d["loop_seconds"] else None),
                "break_even_neurons_process": d["seconds"] / per_neuron_process})
        rows.append(row)
    return rows


# ---------------------------------------------------------------- report

def load_text(record: dict) -> str:
    return f"{record['load_average'][0]:.2f}"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2 ** 20:,.0f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def report(results: dict) -> str:
    sizes = results["sizes"]
    ours, direct, miind = results["ours"], results["direct"], results.get("miind")
    out = ["# Benchmark: 2D grid, AdEx (MIIND 1.0.21's model_archive/Adex example)", "",
           machine_line(results["machine"]), ""]
    if results.get("miind_error"):
        out += [f"MIIND was not measured: {results['miind_error']}", ""]
    if results.get("brian2_error"):
        out += [f"Brian2 was not measured: {results['brian2_error']}", ""]

    out += ["## 1. The example, whole processes", ""]
    n_v, n_w = ours["resolution"]
    rows = []
    if miind:
        for r in miind["runs"]:
            rows.append([f"MIIND {miind['version']}: `python -m miind.run {r['xml']}`, "
                         f"{r['label']}", miind["n_cells"],
                         f"{miind['mesh_dt'] * 1e3:g} ms mesh, {miind['network_dt'] * 1e3:g} ms "
                         "network", fmt(r["seconds"]), fmt(r["loop_seconds"]), load_text(r),
                         f"{r['rate_hz']:.4f}", percent(r["error"]), f"{r['error_in_se']:+.1f}"])
    mesh, run = ours["mesh"], ours["run"]
    rows.append([f"ours: `miind mesh` ({n_v} x {n_w})", ours["n_cells"], f"{RUN_DT * 1e3:g} ms",
                 fmt(mesh["seconds"]), fmt(mesh["internal_seconds"]), load_text(mesh),
                 "", "", ""])
    rows.append(["ours: `miind run` (numba cache warm)", ours["n_cells"],
                 f"{RUN_DT * 1e3:g} ms", fmt(run["seconds"]), fmt(run["kernel_seconds"]),
                 load_text(run), f"{run['rate_hz']:.4f}", percent(ours["error"]),
                 f"{ours['error_in_se']:+.1f}"])
    rows.append(["ours: `miind mesh` + `miind run`", ours["n_cells"], "",
                 fmt(mesh["seconds"] + run["seconds"]), "", "", "", "", ""])
    rows.append([f"reference: ours, direct, {direct['n_neurons']:,} neurons", "-",
                 f"{RUN_DT * 1e3:g} ms (RK4)", fmt(direct["seconds"]),
                 fmt(direct["loop_seconds"]), load_text(direct),
                 f"{direct['rate_hz']:.4f} ± {direct['rate_se_hz']:.4f}", "-", "-"])
    out += [md_table(["what", "cells", "step", "wall s", "loop s", "load (1 min)",
                      f"rate (Hz, mean {sizes['t_end'] / 2:g}-{sizes['t_end']:g} s)",
                      "error vs direct", "error / SE of direct"], rows), ""]
    if miind:
        both = mesh["seconds"] + run["seconds"]
        rows = [[r["label"], fmt(r["seconds"]), fmt(ratio(r["seconds"], run["seconds"])),
                 fmt(ratio(r["seconds"], both))] for r in miind["runs"]]
        out += [md_table(["MIIND's run", "wall s", "/ ours `miind run`",
                          "/ ours `miind mesh` + `miind run`"], rows), "",
                "Speed ratios, whole processes. MIIND's run reads the transform file its "
                "example ships; its default threads are two OpenMP threads on this 2-core "
                "machine, so they suffer most from other load.", ""]
    out += [f"Ours: v in [{V_RANGE[0]:g}, {V_RANGE[1]:g}] mV (our grid ends at the threshold), "
            f"w in [{W_RANGE[0]:g}, {W_RANGE[1]:g}] pA, {n_v} x {n_w} cells "
            f"({(V_RANGE[1] - V_RANGE[0]) / n_v:.3g} mV x "
            f"{(W_RANGE[1] - W_RANGE[0]) / n_w:.3g} pA; "
            "MIIND's: 0.1125 mV x 3.2 pA over v in [-80, -35] mV). Loop s: MIIND's own timer, "
            "our JSON's `seconds`. Our timings: the fastest of "
            f"{OUR_MESH_REPEATS} meshes and {OUR_RUN_REPEATS} runs (all in the JSON). "
            "Reference: our direct simulation, rate from its spikes, ± the standard error over "
            "10 batches of neuron ids.", ""]

    out += ["## 2. Mesh generation, whole processes", ""]
    rows = []
    for r in results["mesh_comparison"]:
        m = r.get("miind")
        rows.append([f"{r['resolution'][0]} x {r['resolution'][1]}", f"{r['n_cells']:,}",
                     fmt(m["seconds"]) if m else "-", load_text(m) if m else "-",
                     fmt(r["ours"]["seconds"]), load_text(r["ours"]),
                     mib(r["ours"]["peak_rss_bytes"]),
                     fmt(ratio(m["seconds"], r["ours"]["seconds"])) if m else "-"])
    out += [md_table(["grid (v x w)", "cells", "MIIND grid_generate s", "load",
                      "ours `miind mesh` s", "load", "ours peak RSS (MiB)", "MIIND / ours"],
                     rows), "",
            f"Both at MIIND's mesh step, {MIIND_MESH_DT:g} s. MIIND: "
            "`miind.grid_generate.generate` in one process (odeint per grid vertex, then its "
            "C++ model and transform files), one thread.", ""]
    rows = [[f"{r['resolution'][0]} x {r['resolution'][1]}", f"{r['n_cells']:,}",
             fmt(r["seconds"]), fmt(r["internal_seconds"]), mib(r["peak_rss_bytes"]),
             load_text(r)] for r in results["scaling"]]
    out += [md_table(["grid (v x w)", "cells", "`miind mesh` wall s", "in-process s",
                      "peak RSS (MiB)", "load"], rows), "", f"Mesh step {RUN_DT:g} s.", ""]

    memory = results["memory"]
    mrun = memory["run"]
    out += [f"## 3. Memory at {memory['n_cells']:,} cells", "",
            md_table(["process", "wall s", "peak RSS (MiB)", "load"],
                     [["`miind mesh`", fmt(results["scaling"][-1]["seconds"]),
                       mib(memory["mesh_peak_rss_bytes"]), load_text(results["scaling"][-1])],
                      [f"`miind run`, {sizes['memory_t_end']:g} s simulated "
                       f"({mrun['n_steps']} steps, loop {fmt(mrun['kernel_seconds'])} s)",
                       fmt(mrun["seconds"]), mib(mrun["peak_rss_bytes"]), load_text(mrun)]]),
            "", f"Limit {mib(memory['limit_bytes'])} MiB: "
            + ("both within it." if memory["within_limit"] else "**exceeded**."), ""]

    out += ["## 4. Break-even population size", ""]
    rows = [[r["simulator"], f"{r['n_neurons']:,}", fmt(r["loop_seconds"]), fmt(r["seconds"]),
             fmt(1e6 * r["loop_seconds"] / (r["n_neurons"] * r["t_end"])),
             f"{r['rate_hz']:.4f} ± {r['rate_se_hz']:.4f}", load_text(r),
             percent(r.get("error")), "-" if r.get("error_in_se") is None else
             f"{r['error_in_se']:+.1f}"] for r in results["direct_rows"]]
    out += [md_table(["direct simulation", "neurons", "loop s", "process s",
                      "µs per neuron-s (loop)", "rate (Hz) ± SE", "load", "error vs reference",
                      "error / SE"], rows), ""]
    rows = []
    for r in results["break_even"]:
        for p in r["per_direct"]:
            rows.append([r["simulator"], fmt(r["loop_seconds"]), fmt(r["seconds"]),
                         percent(r["error"]), fmt(r["neurons_matching_error"]), p["direct"],
                         fmt(p["break_even_neurons_loop"]), fmt(p["break_even_neurons_process"])])
    out += [md_table(["density population", "loop s", "process s", "rate error vs direct",
                      "direct neurons for that SE", "against", "break-even neurons (loop)",
                      "break-even neurons (process)"], rows), "",
            "Break-even: the density population's cost over the direct simulation's cost per "
            "neuron (loop: kernel loop against loop; process: whole process against one "
            "direct process divided by its neurons, which charges the direct side's start-up "
            "to its neurons). Direct neurons for that SE: a direct simulation of N neurons "
            "has a rate standard error of SE_ref x sqrt(N_ref / N); it matches the density's "
            "error at this N. Where that is below the break-even, direct simulation is the "
            "cheaper way to this accuracy. The density's error is itself measured against a "
            f"reference with {percent(direct['rate_se_hz'] / direct['rate_hz'], signed=False)} "
            "standard error. A direct simulation whose own error is larger than the "
            "density's (Brian2's PoissonInput at 0.1 ms) is not at matched accuracy. Our "
            "coarse direct row draws the same input events as the reference: its difference "
            "is time-step error alone (no SE).", ""]
    out.append(f"Benchmark wall time: {results['wall_seconds']:.0f} s.")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="small grids and populations, no MIIND or Brian2 (a smoke run)")
    ap.add_argument("--skip-miind", action="store_true", help="no MIIND")
    ap.add_argument("--skip-brian2", action="store_true", help="no Brian2")
    ap.add_argument("--json", type=Path, default=OUT_DIR / "bench_2d.json")
    a = ap.parse_args(argv)
    started = time.perf_counter()
    sizes = QUICK if a.quick else FULL
    with_miind, with_brian2 = not (a.quick or a.skip_miind), not (a.quick or a.skip_brian2)
    results: dict = {"machine": machine_info(), "sizes": sizes.__dict__}
    log(machine_line(results["machine"]))

    with tempfile.TemporaryDirectory(prefix="bench-2d-") as scratch_name:
        scratch = Path(scratch_name)
        if with_miind:
            try:
                results["miind"] = case_miind()
            except (miind_side.MiindSideError, OSError, subprocess.SubprocessError) as error:
                results["miind_error"] = str(error)
                with_miind = False
                log(f"MIIND side failed, continuing without it: {error}")
        else:
            results["miind_error"] = "--quick" if a.quick else "--skip-miind"
        results["ours"] = case_ours(scratch, sizes)
        direct_rows = direct_ours(scratch, sizes)
        results["direct"] = reference = direct_rows[0]
        if with_brian2:
            try:
                brian2_side.ensure_venv(str(BRIAN2_VENV))
                direct_rows += brian2_rows(sizes)
            except (brian2_side.Brian2SideError, OSError, subprocess.SubprocessError) as error:
                results["brian2_error"] = str(error)
                log(f"Brian2 side failed, continuing without it: {error}")
        else:
            results["brian2_error"] = "--quick" if a.quick else "--skip-brian2"
        results["mesh_comparison"] = mesh_comparison(scratch, sizes, with_miind)
        results["scaling"], results["memory"] = scaling(scratch, sizes)

    for row in direct_rows[1:]:
        row.update(judge(row["rate_hz"], reference))
    # The same input events as the reference: not a statistical difference.
    direct_rows[1]["error_in_se"] = None
    results["direct_rows"] = direct_rows
    ours = results["ours"]
    ours.update(judge(ours["rate_hz"], reference))
    density = [{"simulator": f"ours, grid {ours['resolution'][0]} x {ours['resolution'][1]}",
                "rate_hz": ours["rate_hz"], "loop_seconds": ours["run"]["kernel_seconds"],
                "seconds": ours["run"]["seconds"]}]
    if results.get("miind"):
        for r in results["miind"]["runs"]:
            r.update(judge(r["rate_hz"], reference))
        quiet = results["miind"]["runs"][-1]
        density.append({"simulator": f"MIIND {results['miind']['version']} ({quiet['label']})",
                        "rate_hz": quiet["rate_hz"], "loop_seconds": quiet["loop_seconds"],
                        "seconds": quiet["seconds"]})
    results["break_even"] = break_even(density, direct_rows, reference)
    results["machine"]["load_average_end"] = load_average()
    results["wall_seconds"] = time.perf_counter() - started
    publish(report(results), a.json, results, results["wall_seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
