#!/usr/bin/env python3
"""`make bench`, refactoring part (issue 11): two revisions of this repository side by
side, on this machine, in one run, so that a slowdown shows against the same load.

    .venv/bin/python benchmarks/bench_revisions.py [--base c2b232b] [--head HEAD] \
        [--rounds 7] [--cases lif,grid2d,direct,strips2d] [--json out/bench_revisions.json]

The base defaults to c2b232b, the commit the figures in benchmarks/README.md were
measured at, before the redesign of issue 11 began. Each revision is checked out
with `git worktree add --detach` under .bench/revisions/<sha>/ and run from there in
this venv, installing nothing: `python -m miind_cli` with the worktree as cwd and
PYTHONPATH, so that it imports its own meshgen/solver/miind_cli and not the editable
install of this checkout (checked: `solver.__file__` must lie in the worktree). Its
ahead-of-time kernels are built first (`python -m solver.aot` in the worktree: the
base builds into its solver/, later revisions into $MIIND_CACHE_DIR/aot/<key>/), with
MIIND_CACHE_DIR a folder of its own under .bench/revisions/, which also keeps the
direct kernels that solver.codegen generates apart; numba's JIT cache lies in each
worktree's __pycache__. Every 1D run must report "kernels": "aot".

Cases, each revision's own examples/ files:
- lif: `miind mesh examples/lif/lif.toml`, `miind run examples/lif/simulation.toml`
  (the public case);
- grid2d: `miind mesh examples/grid2d/adex.toml`, and a run of the grid population of
  examples/grid2d/adex_sim.toml alone (its input, connection and output settings; the
  2,000 direct neurons next to it would be case `direct`'s cost again);
- direct: `miind run examples/lif/compare_methods.toml` (the lif mesh and 10,000 LIF
  neurons simulated one by one, as written);
- strips2d: `miind mesh examples/strips2d/adex.toml`, and the run of grid2d on it.
One warm-up run of every command per revision (numba's caches, the file cache), then
`--rounds` rounds; in each round every command runs once per revision, the order
alternating from round to round (base first, then head first), so that drift in the
machine's load falls on both alike. Whole-process wall time is time.perf_counter()
around subprocess.run. Per command: median and min per revision, the ratio of the
medians (head / base), and the median and range of the per-round ratios: the range is
the noise to judge a ratio by. The mean rates that the runs print must be identical
between the revisions (the redesign is bit-identical); they are printed and checked.

A markdown report goes to stdout and to .bench/bench_revisions.md, the figures as JSON
to out/bench_revisions.json, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench import timed
from bench_report import (OUT_DIR, REPO, atomic_output, log, machine_info, md_table, publish,
                          summary)  # atomic_output: the project's own, wherever meshgen keeps it

DEFAULT_BASE = "c2b232b"  # the figures of benchmarks/README.md, before issue 11's redesign
# Rounds: on the shared 2-core machine one command's time varies by 10-40% from run to
# run with the others' load (first trial, 2026-12-04, load 1.8-2.6); seven rounds of all
# cases take about 4 minutes (a round about 35 s, the warm-ups about 1 min more).
DEFAULT_ROUNDS = 7
REVISIONS_DIR = REPO / ".bench" / "revisions"
REPORT_PATH = REPO / ".bench" / "bench_revisions.md"
CASES = ("lif", "grid2d", "direct", "strips2d")


@dataclass(frozen=True)
class Revision:
    label: str    # "base" or "head"
    commit: str   # full hash
    tree: Path    # the worktree
    env: dict = field(compare=False, hash=False)
    work: Path = field(compare=False, hash=False)  # meshes, outputs, simulation files

    @property
    def short(self) -> str:
        return self.commit[:7]

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "miind_cli", *args]


@dataclass(frozen=True)
class Command:
    """One timed step of a case: a mesh or a run, the same arguments at both revisions
    except the paths, which `arguments(revision)` fills in."""
    case: str
    step: str  # "mesh" or "run"
    arguments: Callable[[Revision], list[str]]


def git(*args: str, cwd: Path = REPO) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def checked(cmd: list[str], revision: Revision) -> tuple[float, str]:
    """Whole-process wall time of cmd in the revision's worktree, and its stdout."""
    try:
        return timed(cmd, env=revision.env, cwd=revision.tree)
    except RuntimeError as error:
        raise RuntimeError(f"{revision.label} {revision.short}: {error}") from None


def prepare(label: str, rev: str) -> Revision:
    """The revision's worktree (made once, reused while it is at that commit), its
    environment, its AOT kernels, and a check that it imports its own code."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    tree = REVISIONS_DIR / commit
    if not (tree / ".git").exists():
        log(f"{label}: git worktree add --detach {tree} {commit[:7]}")
        # --force: `make clean` removes the folder but git still lists the worktree.
        git("worktree", "add", "--force", "--detach", str(tree), commit)
    elif git("rev-parse", "HEAD", cwd=tree) != commit:
        raise RuntimeError(f"{tree} is not at {commit}: remove it "
                           f"(git worktree remove --force {tree})")
    work = REVISIONS_DIR / "work" / commit
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(tree),
               MIIND_CACHE_DIR=str(REVISIONS_DIR / "cache" / commit))
    env.pop("MIIND_KERNELS", None)
    revision = Revision(label, commit, tree, env, work)
    _, origin = checked([sys.executable, "-c", "import solver, meshgen, miind_cli; "
                         "print(solver.__file__, meshgen.__file__, miind_cli.__file__)"],
                        revision)
    for path in origin.split():
        if not Path(path).resolve().is_relative_to(tree):
            raise RuntimeError(f"{label} imports {path}, not its worktree {tree}")
    _, current = checked([sys.executable, "-c", "from solver.backend import aot_is_current; "
                          "print(aot_is_current())"], revision)
    if current.strip() != "True":
        log(f"{label} {revision.short}: python -m solver.aot")
        checked([sys.executable, "-m", "solver.aot"], revision)
    return revision


# --- the cases ---------------------------------------------------------------------

def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for the paths and names here
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


def toml_text(document: dict) -> str:
    """Tables and arrays of tables of plain values: all a simulation file holds."""
    lines = []
    for name, table in document.items():
        for entry in table if isinstance(table, list) else [table]:
            lines.append(f"[[{name}]]" if isinstance(table, list) else f"[{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in entry.items()]
            lines.append("")
    return "\n".join(lines)


# The meshes: the model file, and the file name of the mesh in the revision's work folder.
MESHES = {"lif": ("examples/lif/lif.toml", "lif_mesh.h5"),
          "grid2d": ("examples/grid2d/adex.toml", "adex_grid.h5"),
          "strips2d": ("examples/strips2d/adex.toml", "adex_strips.h5")}
# The runs: the simulation file (None: the grid population of adex_sim.toml alone,
# under the case's name), the case whose mesh it runs on, the population to set it for.
RUNS = {"lif": ("examples/lif/simulation.toml", "lif", "0"),
        "grid2d": (None, "grid2d", "grid2d"),
        "direct": ("examples/lif/compare_methods.toml", "lif", "density"),
        "strips2d": (None, "strips2d", "strips2d")}


def density_only_simulation(revision: Revision, name: str) -> Path:
    """examples/grid2d/adex_sim.toml of the revision with its grid population alone,
    renamed `name`: its input, connection to the grid and output settings (the mesh is
    set on the command line)."""
    document = tomllib.loads((revision.tree / "examples/grid2d/adex_sim.toml").read_text())
    grid = [p for p in document["population"] if p["name"] == "grid"]
    document["population"] = [{**grid[0], "name": name}]
    document["connection"] = [{**c, "target": name} for c in document["connection"]
                              if c["target"] == "grid"]
    path = revision.work / f"{name}_sim.toml"
    path.write_text(toml_text(document))
    return path


def commands(selected: list[str]) -> list[Command]:
    if "direct" in selected and "lif" not in selected:
        selected = ["lif", *selected]  # its density population runs on the lif mesh
    plan = []
    for case in (c for c in CASES if c in selected):
        if case in MESHES:
            model, mesh = MESHES[case]
            plan.append(Command(case, "mesh", lambda r, model=model, mesh=mesh: [
                "mesh", model, "-o", str(r.work / mesh)]))
        simulation, mesh_case, population = RUNS[case]
        plan.append(Command(case, "run", lambda r, case=case, simulation=simulation,
                            mesh=MESHES[mesh_case][1], population=population: [
            "run", simulation or str(density_only_simulation(r, population)),
            "--set", f"population.{population}.mesh={r.work / mesh}",
            "-o", str(r.work / f"{case}_run.h5")]))
    return plan


# --- measuring ---------------------------------------------------------------------

def one_pass(plan: list[Command], order: list[Revision], arguments: dict) -> dict:
    """Every command once per revision, in `order`: {(case, step, label): (seconds,
    the run's printed summary or None for a mesh)}."""
    found = {}
    for command in plan:
        for revision in order:
            key = (command.case, command.step, revision.label)
            seconds, stdout = checked(revision.cli(*arguments[key], "--quiet"), revision)
            found[key] = (seconds, json.loads(stdout) if command.step == "run" else None)
    return found


def measure(revisions: list[Revision], plan: list[Command], rounds: int) -> dict:
    """A warm-up pass, then the rounds; every run must print the warm-up's mean rates."""
    arguments = {(c.case, c.step, r.label): c.arguments(r) for c in plan for r in revisions}
    warm_up = one_pass(plan, revisions, arguments)
    log("warm-up: " + ", ".join(f"{' '.join(key)} {seconds:.2f} s"
                                for key, (seconds, _) in warm_up.items()))
    outputs = {key: printed for key, (_, printed) in warm_up.items() if printed}
    times = {key: [] for key in warm_up}
    for number in range(rounds):
        order = revisions if number % 2 == 0 else revisions[::-1]
        for key, (seconds, printed) in one_pass(plan, order, arguments).items():
            times[key].append(seconds)
            if printed and printed["mean_rates"] != outputs[key]["mean_rates"]:
                raise RuntimeError(f"{key}: mean rates changed between runs of one "
                                   f"revision: {outputs[key]['mean_rates']} then "
                                   f"{printed['mean_rates']}")
        log(f"round {number + 1}/{rounds} (base/head s): " + ", ".join(
            f"{c.case} {c.step} {times[(c.case, c.step, 'base')][-1]:.2f}/"
            f"{times[(c.case, c.step, 'head')][-1]:.2f}" for c in plan))
    return {"times": times, "outputs": outputs}


def compare(revisions: list[Revision], plan: list[Command], measured: dict) -> list[dict]:
    rows = []
    for command in plan:
        base = measured["times"][(command.case, command.step, "base")]
        head = measured["times"][(command.case, command.step, "head")]
        per_round = [h / b for b, h in zip(base, head)]
        row = {"case": command.case, "step": command.step,
               "base": summary(base), "head": summary(head),
               "ratio_of_medians": statistics.median(head) / statistics.median(base),
               "per_round_ratio": summary(per_round)}
        if command.step == "run":
            printed = {r.label: measured["outputs"][(command.case, "run", r.label)]
                       for r in revisions}
            row["kernels"] = {label: p.get("kernels") for label, p in printed.items()}
            row["mean_rates"] = {label: p["mean_rates"] for label, p in printed.items()}
            row["rates_identical"] = row["mean_rates"]["base"] == row["mean_rates"]["head"]
        rows.append(row)
    return rows


# --- the report --------------------------------------------------------------------

def report(revisions: list[Revision], rows: list[dict], info: dict, load_end: list,
           rounds: int, seconds: float) -> str:
    base, head = revisions
    load = ", ".join(f"{x:.2f}" for x in info["load_average"])
    lines = [
        "### Refactoring: base and head revisions side by side (`bench_revisions.py`)",
        "",
        f"Base {base.commit} (`{base.short}`), head {head.commit} (`{head.short}`). "
        f"Machine: {info['cpu']}, nproc {info['nproc']}; Python {info['python']}; "
        f"{info['date']}. Load average (1/5/15 min) at the start {load}, at the end "
        + ", ".join(f"{x:.2f}" for x in load_end) + ".",
        "",
    ]
    table = []
    for row in rows:
        r = row["per_round_ratio"]
        table.append([
            row["case"], row["step"],
            f"{row['base']['median']:.3f} / {row['base']['min']:.3f}",
            f"{row['head']['median']:.3f} / {row['head']['min']:.3f}",
            f"{row['ratio_of_medians']:.3f}",
            f"{r['median']:.3f} ({r['min']:.3f}-{r['max']:.3f})",
            "-" if "kernels" not in row else
            f"{row['kernels']['base']} / {row['kernels']['head']}",
        ])
    lines.append(md_table(["case", "step", "base s, median / min", "head s, median / min",
                           "head / base, medians", "per round: median (range)",
                           "kernels base / head"], table))
    lines += ["", f"Whole-process wall seconds, {rounds} rounds after one warm-up run of "
              "each, the revisions alternating which runs first.", "",
              "Mean rates (Hz, 0.5-1 s) that the runs print:", ""]
    rate_rows = []
    for row in rows:
        if "mean_rates" not in row:
            continue
        for name, value in row["mean_rates"]["base"].items():
            rate_rows.append([row["case"], name, repr(value),
                              repr(row["mean_rates"]["head"].get(name)),
                              "yes" if row["rates_identical"] else "**no**"])
    lines += [md_table(["case", "population", "base", "head", "identical"], rate_rows), "",
              f"Benchmark wall time: {seconds:.0f} s.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=DEFAULT_BASE, help="revision to compare against")
    parser.add_argument("--head", default="HEAD", help="revision to measure")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated subset of {', '.join(CASES)}")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench_revisions.json")
    args = parser.parse_args()
    selected = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(selected) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; the cases are {', '.join(CASES)}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    started = time.perf_counter()
    info = machine_info()
    revisions = [prepare("base", args.base), prepare("head", args.head)]
    plan = commands(selected)
    measured = measure(revisions, plan, args.rounds)
    rows = compare(revisions, plan, measured)
    load_end = list(os.getloadavg())
    text = report(revisions, rows, info, load_end, args.rounds,
                  time.perf_counter() - started)
    with atomic_output(REPORT_PATH) as temporary:
        Path(temporary).write_text(text)
    data = {"machine": info, "load_average_end": load_end,
            "base": revisions[0].commit, "head": revisions[1].commit,
            "rounds": args.rounds, "rows": rows}
    publish(text, args.json, data, time.perf_counter() - started)
    bad = [r for r in rows if r.get("rates_identical") is False
           or (r["case"] == "lif" and set(r.get("kernels", {}).values()) - {"aot"})]
    for row in bad:
        log(f"FAILED {row['case']} {row['step']}: kernels {row.get('kernels')}, "
            f"mean rates {row.get('mean_rates')}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
