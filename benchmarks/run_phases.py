#!/usr/bin/env python3
"""`miind run` in one process, its phases timed: what bench_network.py runs as ours.

    .venv/bin/python benchmarks/run_phases.py SIMULATION.toml OUTPUT.h5 [--set KEY=VALUE ...]

The same library call as `miind run -q` (solver.engine.run_simulation), without click,
with a progress callback that notes the wall and CPU clocks at each chunk's end. Prints
one JSON dict: the run's summary, the process's own peak RSS (`own_peak_rss_mb`:
VmHWM, reference_venv.own_peak_rss_mb) and `phases`, in wall and CPU seconds:
* `startup_build`: from this module's import (the interpreter's first moments
  aside) to the simulation's first step
  (imports, reading the file, drawing the connectivity, the kernels' load);
* `simulate`: the engine's loop over all steps;
* `write`: the output file and the end-of-run checks.
The first chunk (one spike delay, 1.5 ms of Brunel's network) ends before the first
note: its share of `simulate` is taken at the loop's mean rate and moved out of
`startup_build`.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402


def split(notes: list[tuple[int, float, float]], started: tuple[float, float],
          ended: tuple[float, float]) -> dict:
    """The phases from the progress notes (steps done, wall clock, CPU clock) and the
    (wall, CPU) clocks at the process's start and end. The loop's rate needs two notes:
    a run of one chunk is refused (ValueError), not reported as a loop of no time."""
    if len(notes) < 2 or notes[-1][0] <= notes[0][0]:
        raise ValueError(f"{len(notes)} progress note(s): the run must be longer than one "
                         "chunk (the shortest spike delay) to time its loop")
    (first_done, first_wall, first_cpu), (total, last_wall, last_cpu) = notes[0], notes[-1]
    # the loop's time over all its steps, at its mean rate after the first chunk
    whole_loop = total / (total - first_done)
    loop = (last_wall - first_wall, last_cpu - first_cpu)
    simulate = [x * whole_loop for x in loop]
    first_chunk = [whole - x for whole, x in zip(simulate, loop)]
    return {"startup_build": {"seconds": first_wall - started[0] - first_chunk[0],
                              "cpu_seconds": first_cpu - started[1] - first_chunk[1]},
            "simulate": {"seconds": simulate[0], "cpu_seconds": simulate[1]},
            "write": {"seconds": ended[0] - last_wall, "cpu_seconds": ended[1] - last_cpu}}


def main(argv: list[str]) -> int:
    from reference_venv import own_peak_rss_mb  # this script's directory
    from solver.engine import run_simulation

    simulation_file, output, *rest = argv
    overrides = [value for option, value in zip(rest[::2], rest[1::2]) if option == "--set"]
    notes: list[tuple[int, float, float]] = []

    def progress(done: int, total: int) -> None:
        notes.append((done, time.perf_counter(), time.process_time()))

    summary = run_simulation(simulation_file, output, overrides, progress=progress)
    phases = split(notes, (STARTED, 0.0), (time.perf_counter(), time.process_time()))
    json.dump({**summary.as_dict(), "phases": phases, "own_peak_rss_mb": own_peak_rss_mb()},
              sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
