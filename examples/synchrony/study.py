"""Synchrony of all-to-all coupled AdEx neurons (and LIF oscillators) against coupling
strength, with and without background input: the studies of the Brian2 simulator this
project replaces (issue 13, seed 004), neuron by neuron with `method = "direct"`.

    make synchrony                                   # N = 8 and 100, 2 s per run
    python -m examples.synchrony.study --full        # N = 3, 8, 100, 1000, 3 s per run
    python -m examples.synchrony.study --n 8 --t-end 4 --case regular_excitatory

For every case of cases.CASES (a firing pattern and a coupling kind), every N and
every strength, with and without background, it writes the simulation file and its
output to OUT/runs/ (each point can be re-run with `miind run`), measures it
(measures.py), and writes OUT/results.json, a sweep figure per N
(OUT/sweep_N<n>.png) and rasters of chosen points (OUT/rasters_N<n>.png). What it
shows, with the measured figures: examples/synchrony/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from . import figures
from .cases import BACKGROUND, CASES, Case, network_file
from .measures import Point, run_point

DEFAULT_N = (8, 100)
DEFAULT_T_END = 2.0  # s
FULL_N = (3, 8, 100, 1000)
FULL_T_END = 3.0  # s


def point_name(case: Case, n_neurons: int, strength: float, background: bool) -> str:
    return (f"{case.name}_N{n_neurons}_{case.coupling.symbol}{strength:g}_"
            f"{'bg' if background else 'nobg'}")


def sweep(case: Case, n_neurons: int, t_end: float, runs: Path, report,
          only: list[float] | None = None) -> list[dict]:
    """Every strength of the case (or those of `only` it has), without and with
    background."""
    rows = []
    for background in (False, True):
        for strength in (s for s in case.strengths if only is None or s in only):
            name = point_name(case, n_neurons, strength, background)
            sim = runs / f"{name}.toml"
            sim.write_text(network_file(case, n_neurons, strength,
                                        BACKGROUND if background else None, t_end))
            point = run_point(sim, runs / f"{name}.h5", strength, case.pattern.burst_isi)
            report(name, point)
            rows.append({"case": case.name, "label": case.pattern.label,
                         "coupling": case.coupling.name,
                         "strength_label": case.coupling.strength_label(case.pattern),
                         "strength_symbol": case.coupling.symbol,
                         "strength_unit": case.coupling.unit(case.pattern), "n_neurons": n_neurons,
                         "background": background, "t_end": t_end,
                         "output": str(sim.with_suffix(".h5")),
                         **point.as_dict()})
    return rows


def chosen_points(rows: list[dict]) -> list[tuple[str, str, bool]]:
    """The rasters of one case: uncoupled; the most synchronous coupling without
    background, and the same coupling with it; the weakest coupling that splits the
    spikes into groups (beyond it they fire ever faster towards the runaway), or else
    the one that spreads the phases most evenly (R_1 under a third of its chance
    level: weak gap junctions), or else the strongest that ran. Most synchronous is
    the highest phase locking R_1 (not chi, which the 3-group state of fast spiking
    neurons would win at N = 8, and which gap junctions raise by pulling v together
    without locking the spikes). A point not run (`--strength`) is left out."""
    def find(background, strength):
        return next((r for r in rows
                     if r["background"] == background and r["strength"] == strength), None)

    quiet = [r for r in rows if not r["background"] and r["status"] == "ok"]
    coupled = [r for r in quiet if r["strength"] > 0]
    picks = [(find(False, 0.0), "uncoupled")]
    if coupled:
        # Ties in R (1.00 from several strengths) go to the higher chi, then to the
        # weaker coupling: the least that reaches it.
        best = max(coupled, key=lambda r: (round(_locking(r, 0.0), 2),
                                           round(r["chi"] or 0.0, 2), -r["strength"]))
        split = [r for r in coupled if r["clusters"] >= 2]
        spread = min(coupled, key=lambda r: _locking(r, 1.0))
        chance = math.sqrt(math.pi / (4 * spread["n_neurons"]))
        picks += [(best, "most synchronous"),
                  (find(True, best["strength"]), "same, with background"),
                  (split[0], "in groups") if split
                  else (spread, "phases spread") if _locking(spread, 1.0) < chance / 3
                  else (coupled[-1], "strongest")]
    picks = [(r, why) for r, why in picks if r is not None]
    return [(("" if k else f"{r['label']}, {r['coupling']}\n")
             + f"{why}: {r['strength_symbol']} = {r['strength']:g} {r['strength_unit']}, "
             f"{'background' if r['background'] else 'none'}\nchi {_fmt(r['chi'])}, "
             f"R {_fmt(r['locking'][0])}"
             + (f", {r['clusters']} groups" if r["clusters"] >= 2 else ""),
             r["output"], r["clusters"] >= 2)
            for k, (r, why) in enumerate(picks)]


def _locking(row: dict, missing: float) -> float:
    """A point's phase locking R, or `missing` where it has none (too few spikes)."""
    locking = row["locking"][0]
    return missing if locking is None else locking


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def draw(rows: list[dict], n_neurons: int, out: Path) -> None:
    """The sweep figure and the rasters of one N."""
    durations = "/".join(f"{t:g}" for t in sorted({r["t_end"] for r in rows}))
    title = (f"N = {n_neurons} neurons, all to all (synapses: delay 1 ms); {durations} s "
             "runs, measures over the second half")
    figures.plot_sweep(rows, n_neurons, out / f"sweep_N{n_neurons}.png", title)
    cases = list(dict.fromkeys(r["case"] for r in rows))
    panels = [chosen_points([r for r in rows if r["case"] == case]) for case in cases]
    figures.plot_rasters(panels, out / f"rasters_N{n_neurons}.png",
                         f"N = {n_neurons}: the end of each run, the last "
                         f"{figures.RASTER_SPAN * 1e3:g} ms (points in groups: "
                         f"{figures.GROUPS_INTERVALS} mean intervals, neurons sorted)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", help=f"network sizes (default {DEFAULT_N})")
    parser.add_argument("--t-end", type=float, help=f"simulated seconds per run (default "
                        f"{DEFAULT_T_END:g}; measures over the second half)")
    parser.add_argument("--full", action="store_true",
                        help=f"N = {FULL_N}, {FULL_T_END:g} s per run (50 min here)")
    parser.add_argument("--case", nargs="+", choices=[c.name for c in CASES],
                        help="cases to run (default: all); the results of other cases "
                        "already in OUT/results.json are kept and drawn with them")
    parser.add_argument("--strength", type=float, nargs="+",
                        help="only these strengths of each case (a few points of a large N); "
                        "they replace the rows of the same case, N and strength in "
                        "OUT/results.json, and the case's other points are kept")
    parser.add_argument("--out", type=Path, default=Path("out/synchrony"))
    parser.add_argument("--plot-only", action="store_true",
                        help="redraw the figures from OUT/results.json and the kept runs")
    options = parser.parse_args(argv)
    if options.plot_only:
        rows = json.loads((options.out / "results.json").read_text())
        for n_neurons in dict.fromkeys(r["n_neurons"] for r in rows):
            draw([r for r in rows if r["n_neurons"] == n_neurons], n_neurons, options.out)
        return 0
    sizes = options.n or (FULL_N if options.full else DEFAULT_N)
    t_end = options.t_end or (FULL_T_END if options.full else DEFAULT_T_END)
    cases = [c for c in CASES if not options.case or c.name in options.case]
    if options.strength:
        swept = {s for c in cases for s in c.strengths}
        unknown = [s for s in options.strength if s not in swept]
        if unknown:
            parser.error(f"--strength {' '.join(f'{s:g}' for s in unknown)}: not swept by "
                         f"{', '.join(c.name for c in cases)}, whose strengths are "
                         f"{' '.join(f'{s:g}' for s in sorted(swept))}")
    runs = options.out / "runs"
    runs.mkdir(parents=True, exist_ok=True)

    def report(name: str, point: Point) -> None:
        print(f"{name}: chi {_fmt(point.as_dict()['chi'])}, R "
              f"{_fmt(point.as_dict()['locking'][0])}, groups {point.clusters}, "
              f"{point.rate:.1f} Hz, {point.seconds:.1f} s {point.status}", file=sys.stderr)

    start = time.perf_counter()
    results = options.out / "results.json"
    rows = json.loads(results.read_text()) if results.exists() else []
    order = {case.name: k for k, case in enumerate(CASES)}
    new = 0
    for n_neurons in sizes:
        rows_n = [row for case in cases
                  for row in sweep(case, n_neurons, t_end, runs, report, options.strength)]
        new += len(rows_n)
        rerun = {(r["case"], r["strength"]) for r in rows_n}
        rows = [r for r in rows if not (r["n_neurons"] == n_neurons and (
            (r["case"], r["strength"]) in rerun
            or (not options.strength and r["case"] in {c.name for c in cases})))] + rows_n
        rows.sort(key=lambda r: (r["n_neurons"], order.get(r["case"], len(order))))
        draw([r for r in rows if r["n_neurons"] == n_neurons], n_neurons, options.out)
        # After each N, so that a long --full run can be looked at (--plot-only) as it goes.
        results.write_text(json.dumps(rows, indent=1))
    print(f"{new} runs in {time.perf_counter() - start:.0f} s; figures and "
          f"results.json in {options.out}", file=sys.stderr)
    for n_neurons in sizes:
        print(options.out / f"sweep_N{n_neurons}.png")
        print(options.out / f"rasters_N{n_neurons}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
