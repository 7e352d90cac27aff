#!/usr/bin/env python3
"""`make bench`, cost against the input rate (issue 12): the seconds a 1D density
population takes per simulated second at 1, 10 and 100 kHz of 0.1 mV and of 1 mV
jumps, meshed by the default rule (strips sized by the smallest efficacy) and by the
rule that knows the input (`[mesh] expected_input`: a diffusion mesh where the jumps
are small against the density, meshgen.diffusion_1d, strips elsewhere).

    .venv/bin/python benchmarks/bench_input_rates.py [--json out/bench_input_rates.json]

The neuron is Brunel's LIF (tau 20 ms, threshold 20 mV, reset 10 mV, refractory 2 ms,
rest 0 mV; examples/brunel/lif.toml) with one excitatory input and an inhibitory one at
an eighth of its rate with jumps five times larger (g = 5, as in Brunel's network).
Each case is meshed, run after a warm-up run (50 ms on strips, 1 s on a diffusion
mesh), in this process (solver.engine.run_simulation); the report gives the method,
the mesh, the Poisson terms per step (strips), the run's seconds per simulated second
(the whole call) and the kernel loop's ns per cell-step, with the rate.
On strips the jump step's cost grows with the jumps per step; on a diffusion mesh it
does not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench_report import OUT_DIR, REPO, log, machine_info, machine_line, md_table, publish

from meshgen.build import build_mesh
from solver.engine import run_simulation
from solver.step_operator_1d import poisson_weights

RATES = (1_000.0, 10_000.0, 100_000.0)
EFFICACIES = (0.1, 1.0)
# Simulated seconds: strips are slow here, a diffusion mesh is run long enough for its
# fixed cost (reading the mesh, writing the output) not to count.
T_END = {"strips": 0.05, "diffusion": 1.0}

MODEL = """[model]
kind = "lif"
[model.parameters]
tau = 0.02
E_l = 0.0
[model.spike]
threshold = 20.0
reset = 10.0
refractory = 0.002
[mesh]
v_range = [-40.0, 20.0]
efficacies = [{h}, {inhibitory}]
"""

SIMULATION = """[simulation]
t_end = {t_end}
[[population]]
name = "p"
mesh = "mesh.h5"
initial = {{ v = 10.0 }}
[[input]]
name = "excitation"
rate = {rate}
[[input]]
name = "inhibition"
rate = {inhibitory_rate}
[[connection]]
source = "excitation"
target = "p"
efficacy = {h}
[[connection]]
source = "inhibition"
target = "p"
efficacy = {inhibitory}
"""


# The default rule (no expected_input: strips), the rule that knows the input, and a
# diffusion mesh forced (method = "diffusion"), to show its cost per cell-step is flat
# where the automatic rule keeps strips (large jumps, rare firing: its rate there is
# the diffusion limit's, not exact).
RULES = ("default", "expected_input", "diffusion")


def measure(h: float, rate: float, rule: str, directory: Path) -> dict:
    model = MODEL.format(h=h, inhibitory=-5 * h)
    if rule != "default":
        model += (f"expected_input = [{{ rate = {rate}, efficacy = {h} }}, "
                  f"{{ rate = {rate / 8}, efficacy = {-5 * h} }}]\n")
    if rule == "diffusion":
        model += 'method = "diffusion"\n'
    (directory / "model.toml").write_text(model)
    mesh = build_mesh(directory / "model.toml", directory / "mesh.h5")
    method = mesh.method or "strips"
    t_end = T_END[method]
    text = SIMULATION.format(t_end=t_end, rate=rate, inhibitory_rate=rate / 8, h=h,
                             inhibitory=-5 * h)
    (directory / "sim.toml").write_text(text)
    (directory / "warm.toml").write_text(text.replace(f"t_end = {t_end}", "t_end = 0.001"))
    run_simulation(directory / "warm.toml", directory / "warm.h5")
    started = time.perf_counter()
    run = run_simulation(directory / "sim.toml", directory / "out.h5")
    seconds = time.perf_counter() - started
    terms = len(poisson_weights(1.125 * rate * mesh.dt)) if method == "strips" else None
    return {"efficacy_mv": h, "input_rate_hz": rate, "rule": rule, "method": method,
            "cells": mesh.n_cells, "dt": mesh.dt,
            "poisson_terms": terms, "rate_hz": run.mean_rates["p"],
            "simulated_seconds": t_end, "seconds_per_simulated_second": seconds / t_end,
            "ns_per_cell_step": run.seconds / (run.n_steps * mesh.n_cells) * 1e9}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench_input_rates.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    info = machine_info()
    rows = []
    for h in EFFICACIES:
        for rate in RATES:
            for rule in RULES:
                log(f"bench_input_rates: {h} mV at {rate:g} Hz, {rule} rule")
                with tempfile.TemporaryDirectory() as directory:
                    rows.append(measure(h, rate, rule, Path(directory)))
    table = md_table(["jump (mV)", "input (Hz)", "mesh rule", "method", "cells", "dt (s)",
                      "Poisson terms", "rate (Hz)", "s per simulated s", "ns per cell-step"],
                     [[r["efficacy_mv"], f"{r['input_rate_hz']:g}", r["rule"], r["method"],
                       r["cells"], f"{r['dt']:.3g}", r["poisson_terms"] or "",
                       f"{r['rate_hz']:.4g}",
                       f"{r['seconds_per_simulated_second']:.3g}",
                       f"{r['ns_per_cell_step']:.3g}"] for r in rows])
    text = ("### Cost against the input rate (`bench_input_rates.py`)\n\n"
            f"{machine_line(info)}\n\n{table}\n")
    publish(text, args.json, {"machine": info, "rows": rows}, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
