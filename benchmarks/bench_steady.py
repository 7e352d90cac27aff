#!/usr/bin/env python3
"""`make bench`, stationary states (issue 12): `miind steady` against `miind run` for
every example's density populations, with the time of each and the rates' difference.

    .venv/bin/python benchmarks/bench_steady.py [--json out/bench_steady.json]

Each example's model is meshed as written; its simulation file is run as written but
for its direct populations (and their connections), which `miind steady` does not
solve. Both in this process (library calls, numba caches warm after a first, untimed
run of each): `run` is solver.engine.run_simulation (its rate: the mean over the second
half, as it prints), `steady` solver.steady.steady_state. A markdown table goes to
stdout and .bench/bench_steady.md, the figures to out/bench_steady.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bench_report import OUT_DIR, REPO, log, machine_info, machine_line, md_table, publish

import miind_cli  # noqa: F401,E402  (first: its BLAS thread default, as `miind steady` runs)
from meshgen.build import build_mesh
from solver.engine import run_simulation
from solver.sim_file import read_simulation_file
from solver.steady import steady_state

EXAMPLES = REPO / "examples"
# (case, model file, simulation file, populations whose mesh the model makes)
CASES = [
    ("lif", "lif/lif.toml", "lif/simulation.toml", "lif"),
    ("grid2d adex", "grid2d/adex.toml", "grid2d/adex_sim.toml", "grid"),
    ("grid2d adex_validate", "grid2d/adex_validate_model.toml", "grid2d/adex_validate_sim.toml",
     "grid"),
    ("grid2d izhikevich", "grid2d/izhikevich.toml", "grid2d/izhikevich_sim.toml", "grid"),
    ("grid2d conductance_lif", "grid2d/conductance_lif.toml", "grid2d/conductance_lif_sim.toml",
     "grid"),
    ("grid2d fitzhugh_nagumo", "grid2d/fitzhugh_nagumo.toml", "grid2d/fitzhugh_nagumo_sim.toml",
     "grid"),
    ("strips2d adex", "strips2d/adex.toml", "grid2d/adex_sim.toml", "grid"),
    ("strips2d izhikevich", "strips2d/izhikevich.toml", "grid2d/izhikevich_sim.toml", "grid"),
    ("brunel (diffusion mesh)", "brunel/lif.toml", "brunel/network.toml", ("e", "i")),
]


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def density_only(document: dict, mesh: Path, population: str | tuple[str, ...]) -> str:
    """The simulation file without its direct populations, `population` (a name or
    names) on `mesh`."""
    on_mesh = {population} if isinstance(population, str) else set(population)
    direct = {p["name"] for p in document["population"] if p.get("method") == "direct"}
    lines = ["[simulation]"] + [f"{k} = {toml_value(v)}" for k, v in document["simulation"].items()]
    for p in document["population"]:
        if p["name"] in direct:
            continue
        p = dict(p, mesh=str(mesh)) if p["name"] in on_mesh else p
        lines += ["", "[[population]]"] + [f"{k} = {toml_value(v)}" for k, v in p.items()]
    for table in ("input", "connection"):
        for entry in document.get(table, []):
            if entry.get("source") in direct or entry.get("target") in direct:
                continue
            lines += ["", f"[[{table}]]"] + [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def measure(case, model, simulation, population, directory: Path) -> dict:
    mesh = directory / "mesh.h5"
    build_mesh(EXAMPLES / model, mesh)
    document = tomllib.loads((EXAMPLES / simulation).read_text())
    sim = directory / "sim.toml"
    sim.write_text(density_only(document, mesh, population))
    spec = read_simulation_file(sim)
    steady_state(spec)  # warm-up (imports, caches)
    started = time.perf_counter()
    solved = steady_state(spec)
    steady_seconds = time.perf_counter() - started
    started = time.perf_counter()
    run = run_simulation(sim, directory / "out.h5")
    run_seconds = time.perf_counter() - started
    rows = []
    for state in solved.populations:
        ran = run.mean_rates[state.name]
        rows.append({"case": case, "population": state.name, "cells": state.mass.size,
                     "steady_rate_hz": state.rate, "run_rate_hz": ran,
                     "difference": (state.rate - ran) / ran if ran else state.rate - ran,
                     "steady_seconds": steady_seconds, "run_seconds": run_seconds,
                     "t_end": spec.t_end})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench_steady.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    info = machine_info()
    rows = []
    for case in CASES:
        log(f"bench_steady: {case[0]}")
        with tempfile.TemporaryDirectory() as directory:
            rows += measure(*case, Path(directory))
    table = md_table(
        ["case", "population", "cells", "steady Hz", "run Hz (2nd half)", "difference",
         "steady s", "run s (t_end)"],
        [[r["case"], r["population"], r["cells"], f"{r['steady_rate_hz']:.6g}",
          f"{r['run_rate_hz']:.6g}", f"{100 * r['difference']:+.4f}%" if r["run_rate_hz"]
          else f"{r['difference']:+.3g} Hz", f"{r['steady_seconds']:.3f}",
          f"{r['run_seconds']:.2f} ({r['t_end']:g} s)"] for r in rows])
    info["load_average_end"] = machine_info()["load_average"]
    text = ("### `miind steady` against `miind run` (`bench_steady.py`)\n\n"
            f"{machine_line(info)}; load at the end {info['load_average_end']}\n\n{table}\n")
    (REPO / ".bench").mkdir(exist_ok=True)
    (REPO / ".bench" / "bench_steady.md").write_text(text)
    publish(text, args.json, {"machine": info, "rows": rows}, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
