"""`miind mesh`: from a model file to a mesh artifact."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .diffusion_1d import build_diffusion_mesh, density_scale, suits_diffusion
from .formats.mesh_artifact import (write_diffusion_mesh, write_grid_mesh, write_mesh,
                                    write_strip2d_mesh)
from .formats.atomic_file import check_writable
from .cells import split_between_cells
from .errors import MeshError
from .grid2d_jumps import jump_matrix, reset_mapping
from .grid2d_motion import motion_matrix
from .grid_accounting import (affordable_cells, cost, jump_accounting, motion_accounting,
                              reset_accounting)
from .grid_defaults import (DEFAULT_CELLS_PER_EFFICACY_GRID, automatic_grid_dt,
                            automatic_resolution, nonfinite_region, too_small_efficacy)
from .exploration import VisitedRegion, explore, ranges_from_region
from .model_file import check_threshold_and_reset, check_v_range, read_model_file
from .parallel import resolve_jobs
from .polygon_mesh import polygon_mesh
from .regular_grid import Grid
from .strips_1d import Strips1DMesh, accuracy_range, automatic_dt, build_strip_mesh
from .strips2d_matrices import jump_of_cells, motion_of_cells, overlap_workers, reset_of_cells
from .strips2d_tracing import DEFAULT_CELLS_PER_EFFICACY_2D_STRIPS, automatic_strip_dt, trace_strips
from .transitions_1d import jump_tiling, transition_matrix

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class MeshSummary:
    """What `miind mesh` reports: machine-readable, printed as JSON by the CLI."""

    output: str
    input_hash: str
    n_cells: int
    n_strips: int
    dt: float
    jump_interval: int
    step: float
    efficacies: tuple[float, ...]
    min_column_sum: float | None  # None: no transition matrices (diffusion meshes)
    max_column_sum: float | None
    largest_cell_near_threshold: float
    seconds: float
    # Grid meshes only (left out of the JSON for strips): see _build_grid.
    method: str | None = None
    resolution: dict | None = None
    ranges: dict | None = None  # 2D: [lo, hi] per variable, given or found
    # 1D diffusion meshes: the density scale the expected input makes (meshgen.diffusion_1d).
    density_scale: dict | None = None
    # With [mesh] expected_input: what meshgen.exploration found (visited envelope).
    exploration: dict | None = None
    cost: dict | None = None  # 2D: meshgen.grid_accounting.cost
    automatic: tuple[str, ...] | None = None
    degenerate_cells: int | None = None
    jobs: int | None = None
    matrices: tuple[dict, ...] | None = None
    warnings: tuple[str, ...] | None = None
    notes: tuple[str, ...] | None = None  # facts that matter if mass gets there (stderr too)
    # 2D strips only: cells on strips, fill cells, mesh steps traced.
    strip_cells: int | None = None
    fill_cells: int | None = None
    steps: int | None = None

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()
                if v is not None}


def build_mesh(model_path: str | Path, output: str | Path, overrides: list[str] = (),
               progress: Progress | None = None, jobs: int = 1) -> MeshSummary:
    """Mesh the model file at `model_path` into the artifact `output`. `jobs`: worker
    processes (0: every core) for a grid's motion matrix, or a 2D strip mesh's
    overlaps (motion and jumps)."""
    started = time.perf_counter()
    jobs = resolve_jobs(jobs)
    check_writable(output)
    spec = read_model_file(model_path, overrides)
    if spec.grid is not None or spec.strips2d is not None:
        return _build_2d(spec, output, progress, started, jobs)
    model, settings = spec.model, spec.mesh
    name = model.variables[0]
    found = _explored_ranges(spec, model, settings.expected_input,
                             {name: None if settings.lowest is None
                              else (settings.lowest, model.threshold)}, at_rest=False)
    if settings.lowest is None:
        check_v_range(model, found.ranges[name][0], model.threshold, spec.path)
        settings = dataclasses.replace(settings, lowest=found.ranges[name][0])
    drift = model.drift
    reset = model.reset[model.variables[0]]
    smallest = min(abs(h) for h in settings.efficacies)
    low, high = accuracy_range(drift, settings.lowest, model.threshold, reset)
    if settings.method != "strips":
        built = _diffusion_if_suited(spec, settings, found, low, high, output, started)
        if built is not None:
            return built
    dt = settings.dt or automatic_dt(drift, low, high, smallest, settings.cells_per_efficacy)
    # Strip cells shrink toward a stable fixed point (drift x dt -> 0): resolving it to
    # h/K, like the cells near threshold, spends a quarter to a third of the mesh on
    # mass that jumps of h smooth anyway. h/sqrt(K) still shrinks as K grows, and moves
    # no figure of `make validate` by more than 0.02 points (issue 12: 1318 -> 978
    # cells on the public case, its rate unchanged to 1e-5).
    stationary_width = smallest / math.sqrt(settings.cells_per_efficacy)
    total_steps = 2 + len(settings.efficacies)
    _report(progress, 0, total_steps)
    mesh = build_strip_mesh(drift, settings.lowest, model.threshold, dt, stationary_width,
                            settings.max_cells, settings.jump_interval)
    near = _largest_cell_between(mesh, low, high)
    if near > smallest:
        suggested = dt * smallest / near / settings.cells_per_efficacy
        raise MeshError(f"mesh too coarse for efficacy {smallest:g}: cells between reset and "
                        f"threshold are up to {near:.3g} wide; use [mesh] dt <= {suggested:.3g} "
                        "or leave dt out to choose it automatically", path=spec.path, key="mesh.dt")
    _report(progress, 1, total_steps)
    tiling = jump_tiling(mesh)
    matrices = []
    for index, efficacy in enumerate(settings.efficacies):
        matrices.append(transition_matrix(tiling, efficacy, settings.lowest, model.threshold))
        _report(progress, 2 + index, total_steps)
    cells, fractions = split_between_cells(mesh.lower, mesh.upper, reset)
    sums = [_column_sums(m) for m in matrices]
    digest = write_mesh(output, document=spec.document, model=model.definition(),
                        unit=model.units[model.variables[0]], mesh=mesh, tiling=tiling,
                        transitions=matrices, reset_cells=cells, reset_fractions=fractions)
    _report(progress, total_steps, total_steps)
    return MeshSummary(
        output=str(output), input_hash=digest, n_cells=mesh.n_cells,
        n_strips=len(mesh.strip_first), dt=dt, jump_interval=settings.jump_interval,
        step=dt * settings.jump_interval, efficacies=settings.efficacies,
        min_column_sum=float(min(s.min() for s in sums)),
        max_column_sum=float(max(s.max() for s in sums)),
        largest_cell_near_threshold=near, seconds=time.perf_counter() - started,
        ranges={name: [settings.lowest, model.threshold]} if found.exploration else None,
        exploration=found.exploration, automatic=found.automatic or None,
        warnings=found.warnings or None)


def _diffusion_if_suited(spec, settings, found, low: float, high: float, output,
                         started: float) -> MeshSummary | None:
    """A 1D diffusion mesh (meshgen.diffusion_1d) over [settings.lowest, threshold] if
    asked for (method = "diffusion") or if the rule chooses it (method left out); else
    None: strips."""
    model = spec.model
    asked = settings.method == "diffusion"
    try:
        scale = density_scale(model.drift, low, high, settings.expected_input)
    except MeshError as error:
        if not asked:
            return None  # no density scale (a constant drift, say): strips, as before
        raise MeshError(error.message, path=spec.path, key="mesh.method") from None
    explored = found.exploration["firing_rate"] if found.exploration else 0.0
    if not (asked or suits_diffusion(scale, settings.expected_input, explored)):
        return None
    try:
        mesh = build_diffusion_mesh(model.drift, settings.lowest, model.threshold, scale,
                                    settings.dt, settings.max_cells)
    except MeshError as error:
        raise MeshError(error.message, path=spec.path, key=error.key) from None
    cells, fractions = split_between_cells(mesh.edges[:-1], mesh.edges[1:],
                                           model.reset[model.variables[0]])
    # The file records the method built, also when it was chosen automatically.
    document = {**spec.document, "mesh": {**spec.document["mesh"], "method": "diffusion"}}
    digest = write_diffusion_mesh(output, document=document, model=model.definition(),
                                  unit=model.units[model.variables[0]], mesh=mesh,
                                  reset_cells=cells, reset_fractions=fractions)
    name = model.variables[0]
    return MeshSummary(
        output=str(output), input_hash=digest, n_cells=mesh.n_cells, n_strips=0, dt=mesh.dt,
        jump_interval=1, step=mesh.dt, efficacies=settings.efficacies, min_column_sum=None,
        max_column_sum=None, largest_cell_near_threshold=mesh.width,
        seconds=time.perf_counter() - started, method="diffusion",
        density_scale={"sigma": scale.sigma, "tau": scale.tau, "diffusion": scale.diffusion,
                       "scale": scale.scale, "cell_width": mesh.width,
                       "largest_diffusing_jump": dict(zip(("up", "down"),
                                                          scale.largest_diffusing))},
        ranges={name: [settings.lowest, model.threshold]} if found.exploration else None,
        exploration=found.exploration, automatic=found.automatic or None,
        warnings=found.warnings or None,
        notes=(f"jump_interval = {settings.jump_interval} applies to strips only: a diffusion "
               "mesh takes its inputs every step",) if settings.jump_interval != 1 else None)


# Below this firing rate (Hz) under expected_input, `miind mesh` warns that 2D meshes
# overestimate it: benchmarks/validate_defaults.py, Izhikevich at 1500 Hz (0.0086 Hz
# direct) +16% to +250% on grids, +70% to +7000% on strips; AdEx at 5 Hz is within 1%.
RARE_FIRING_RATE = 0.1
# Progress units the motion matrix counts for, against 1 per jump matrix and 1 for
# the reset mapping and the file: the motion matrix is nearly all the work.
MOTION_PROGRESS = 100


def _build_2d(spec, output, progress: Progress | None, started: float,
              jobs: int) -> MeshSummary:
    """A 2D mesh, grid or strips: motion, jumps and reset matrices; the summary adds
    the per-matrix accounting (meshgen.grid_accounting), the cells whose moved
    polygon was degenerate, which settings were chosen automatically
    (meshgen.grid_defaults) and the warnings."""
    model = spec.model
    strips = spec.strips2d is not None
    settings = spec.strips2d if strips else spec.grid
    variables = tuple(model.variables)
    explored = _explored_ranges(spec, model, settings.expected_input,
                                dict(zip(variables, settings.ranges)),
                                at_rest=settings.dt is None)
    automatic = list(explored.automatic)
    warnings = list(explored.warnings)
    grid, dt = _grid_and_dt(model, settings, explored, strips, automatic)
    _check_grid(spec, model, settings, grid)
    total_steps = MOTION_PROGRESS + len(settings.efficacies) + 1
    _report(progress, 0, total_steps)
    try:
        if strips:
            built = _strip_matrices(model, grid, dt, settings, progress, total_steps, jobs)
        else:
            built = _grid_matrices(model, grid, dt, settings, progress, total_steps, jobs)
    except MeshError as error:
        raise MeshError(error.message, path=spec.path, key=error.key) from None
    motion, jumps, reset, extra = built
    matrices, found, notes = _accounting(model, settings, grid, explored, automatic, built)
    warnings += found
    if strips:
        mesh = extra["mesh"]
        digest = write_strip2d_mesh(output, document=spec.document, model=model.definition(),
                                    mesh=mesh, threshold=model.threshold, motion=motion,
                                    jumps=jumps, reset=reset)
        n_cells, n_strips = mesh.n_cells, mesh.n_strips
        warnings += extra["warnings"]
    else:
        digest = write_grid_mesh(output, document=spec.document, model=model.definition(),
                                 grid=grid, dt=dt, threshold=model.threshold,
                                 motion=motion, jumps=jumps, reset=reset)
        n_cells, n_strips = grid.n_cells, 0
    costs, found = cost("strips" if strips else "grid", n_cells, dt,
                        [motion, reset] + [jump for _, _, jump in jumps],
                        Path(output).stat().st_size)
    warnings += found
    _report(progress, total_steps, total_steps)
    return MeshSummary(
        output=str(output), input_hash=digest, n_cells=n_cells, n_strips=n_strips,
        dt=dt, jump_interval=1, step=dt,
        efficacies=tuple(h for _, h in settings.efficacies),
        min_column_sum=min(m["min_column_sum"] for m in matrices if "min_column_sum" in m),
        max_column_sum=max(m["max_column_sum"] for m in matrices if "max_column_sum" in m),
        largest_cell_near_threshold=float(grid.widths[0]), seconds=time.perf_counter() - started,
        method="strips" if strips else "grid", resolution=dict(zip(variables, grid.resolution)),
        ranges={name: list(bounds) for name, bounds in zip(variables, grid.ranges)},
        exploration=explored.exploration, cost=costs,
        automatic=tuple(automatic), degenerate_cells=int(len(motion.degenerate)),
        jobs=jobs, matrices=tuple(matrices), warnings=tuple(warnings), notes=tuple(notes),
        strip_cells=extra.get("strip_cells"), fill_cells=extra.get("fill_cells"),
        steps=extra.get("steps"))


def _grid_and_dt(model, settings, explored: _FoundRanges, strips: bool,
                 automatic: list) -> tuple[Grid, float]:
    """The grid (for strips: the range box and target cells) and the mesh step: those
    given, the others chosen (meshgen.grid_defaults) and named in `automatic`."""
    variables = tuple(model.variables)
    ranges = tuple(explored.ranges[name] for name in variables)
    dt = settings.dt
    if dt is None:
        dt = automatic_grid_dt(model, explored.region)
        if strips:
            dt = automatic_strip_dt(dt)
    resolution = list(settings.resolution)
    default = automatic_resolution(ranges, variables, settings.efficacies,
                                   DEFAULT_CELLS_PER_EFFICACY_2D_STRIPS if strips
                                   else DEFAULT_CELLS_PER_EFFICACY_GRID,
                                   explored.region if settings.expected_input else None,
                                   max_cells=affordable_cells("strips" if strips else "grid", dt),
                                   given=settings.resolution)
    for axis, name in enumerate(variables):
        if resolution[axis] is None:
            resolution[axis] = default[axis]
            automatic.append(f"resolution.{name}")
    if settings.dt is None:
        automatic.append("dt")
    return Grid(variables, ranges, tuple(resolution)), dt


def _check_grid(spec, model, settings, grid: Grid) -> None:
    """A MeshError naming the model file's key for a grid too large, too coarse for an
    efficacy, or where the model's equations are not finite."""
    resolution = grid.resolution
    if grid.n_cells > settings.max_cells:
        raise MeshError(f"the grid has {grid.n_cells} cells ({resolution[0]} x {resolution[1]}), "
                        f"more than mesh.max_cells = {settings.max_cells}", path=spec.path,
                        key="mesh.resolution")
    coarse = too_small_efficacy(grid, settings.efficacies)
    if coarse is not None:
        name, efficacy, suggested = coarse
        raise MeshError(f"resolution too coarse for the efficacy {efficacy:g} in {name}: the "
                        f"jump is {abs(efficacy) / grid.widths[grid.axis(name)]:.2g} cells long; "
                        f"use resolution.{name} = {suggested} (or leave it out to choose it)",
                        path=spec.path, key=f"mesh.resolution.{name}")
    region = nonfinite_region(model, grid)
    if region is not None:
        raise MeshError(f"the model's equations are not finite for {region}: narrow the ranges "
                        "or fix the equations", path=spec.path, key="mesh.ranges")


def _accounting(model, settings, grid: Grid, explored: _FoundRanges, automatic: list,
                built: tuple) -> tuple[list, list, list]:
    """The summary's entry for each matrix (meshgen.grid_accounting: motion, jumps,
    reset), with the warnings and notes they raise."""
    motion, jumps, reset, extra = built
    entry, found, notes = motion_accounting(
        grid, motion, "mesh.ranges",
        _visited_cells(explored.region, grid, extra) if settings.expected_input else None)
    matrices, warnings = [entry], list(found)
    for variable, efficacy, jump in jumps:
        entry, found, noted = jump_accounting(grid, variable, efficacy, jump, "mesh.ranges")
        matrices.append(entry)
        warnings += found
        notes += noted
    firing = (motion.fired > 0) | np.any([jump.fired > 0 for _, _, jump in jumps], axis=0)
    entry, found, noted = reset_accounting(
        grid, reset, firing, model, "mesh.ranges",
        automatic=[name for name in model.variables if f"ranges.{name}" in automatic])
    matrices.append(entry)
    warnings += found
    notes += noted
    return matrices, warnings, notes


def _grid_matrices(model, grid, dt, settings, progress, total_steps, jobs):
    def motion_progress(done, total):
        _report(progress, MOTION_PROGRESS * done // total, total_steps)

    motion = motion_matrix(model, grid, dt, model.threshold, progress=motion_progress,
                           jobs=jobs)
    jumps = []
    for index, (variable, efficacy) in enumerate(settings.efficacies):
        jump = jump_matrix(grid, variable, efficacy, top_fires=model.threshold is not None)
        jumps.append((variable, efficacy, jump))
        _report(progress, MOTION_PROGRESS + 1 + index, total_steps)
    return motion, jumps, reset_mapping(model, grid), {}


def _strip_matrices(model, grid, dt, settings, progress, total_steps, jobs):
    """The 2D strip mesh (meshgen.strips2d_tracing) and its matrices, their overlaps shared by
    `jobs` processes; tracing counts for two thirds of the motion's progress."""
    def tracing_progress(done, total):
        _report(progress, (2 * MOTION_PROGRESS // 3) * done // total, total_steps)

    tracing = trace_strips(model, grid, dt, settings.max_cells, progress=tracing_progress)
    workers = overlap_workers(tracing, jobs) if jobs > 1 else None
    with workers or contextlib.nullcontext():
        motion = motion_of_cells(tracing, workers)
        _report(progress, MOTION_PROGRESS, total_steps)
        jumps = []
        for index, (variable, efficacy) in enumerate(settings.efficacies):
            jumps.append((variable, efficacy,
                          jump_of_cells(tracing, grid.axis(variable), efficacy, workers)))
            _report(progress, MOTION_PROGRESS + 1 + index, total_steps)
    mesh = polygon_mesh(tracing)
    warnings = []
    if tracing.truncated:
        warnings.append(f"strip tracing stopped after {tracing.steps} steps with "
                        f"{tracing.n_strip_cells} strip cells (mesh.max_cells = "
                        f"{settings.max_cells}); fill cells cover the rest")
    extra = {"mesh": mesh, "warnings": warnings, "strip_cells": tracing.n_strip_cells,
             "fill_cells": mesh.n_cells - tracing.n_strip_cells, "steps": tracing.steps}
    firing = (motion.fired > 0) | np.any([jump.fired > 0 for _, _, jump in jumps], axis=0)
    return motion, jumps, reset_of_cells(tracing, firing), extra


@dataclass(frozen=True)
class _FoundRanges:
    ranges: dict  # variable -> (lo, hi), given or found
    automatic: tuple[str, ...]  # "ranges.<variable>" of the ones found
    exploration: dict | None  # for the summary
    warnings: tuple[str, ...]
    region: VisitedRegion | None = None  # with no expected input: the neurons at rest


def _visited_cells(region: VisitedRegion | None, grid: Grid, extra: dict) -> np.ndarray | None:
    """Per cell of a 2D mesh, whether an exploration sample lies within a target cell
    of it (the cell of the grid, or of the range box for a strip mesh's cell centre);
    None without an exploration."""
    if region is None:
        return None
    n_v, n_w = grid.resolution
    i_v, i_w = grid.unravel(grid.locate(*region.samples))
    near = np.zeros((n_w, n_v), dtype=bool)
    for dv in (-1, 0, 1):
        for dw in (-1, 0, 1):
            near[np.clip(i_w + dw, 0, n_w - 1), np.clip(i_v + dv, 0, n_v - 1)] = True
    if "mesh" not in extra:
        return near.ravel()
    centres = extra["mesh"].centres
    return near.ravel()[grid.locate(centres[:, 0], centres[:, 1])]


def _explored_ranges(spec, model, expected, given: dict, at_rest: bool) -> _FoundRanges:
    """The ranges of a mesh: those given, and those left out found from the expected
    input (meshgen.exploration); given ranges that miss part of the region the
    population visits under that input are warned about. Without expected input the
    region is where the neurons rest if `at_rest` (for a 2D mesh's automatic dt), or
    None."""
    if not expected:
        region = _explore(spec, model, (), given, "mesh.dt") if at_rest else None
        return _FoundRanges(given, (), None, (), region)
    region = _explore(spec, model, expected, given, "mesh.expected_input")
    chosen = ranges_from_region(model, region, expected)
    ranges, automatic, warnings = {}, [], []
    for name, bounds in given.items():
        if bounds is None:
            ranges[name] = chosen[name]
            automatic.append(f"ranges.{name}")
            continue
        ranges[name] = tuple(bounds)
        lo, hi = bounds
        low, high = region.lower[name], region.upper[name]
        top_is_threshold = name == model.variables[0] and model.threshold is not None
        if low < lo or (high > hi and not top_is_threshold):
            unit = model.units.get(name, "")
            unit = f" {unit}" if unit not in ("", "1") else ""
            key = "mesh.v_range" if model.dimension == 1 else f"mesh.ranges.{name}"
            warnings.append(
                f"under expected_input the population visits {name} in [{low:.4g}, {high:.4g}]"
                f"{unit}, beyond {key} = [{lo:g}, {hi:g}]: mass that gets there is clamped "
                f"to the edge cells; widen it to about [{chosen[name][0]:g}, "
                f"{chosen[name][1]:g}] (the rule of automatic ranges) or leave it out")
    if automatic and model.dimension == 2:
        # (A strip mesh's v_range is checked by its builder.)
        check_threshold_and_reset(model, tuple(ranges[v] for v in model.variables), spec.path)
    driven = any(given_input.rate > 0 for given_input in expected)
    if model.dimension == 2 and model.threshold is not None and driven and \
            region.firing_rate < RARE_FIRING_RATE:
        warnings.append(f"under expected_input the population fires rarely "
                        f"({region.firing_rate:.2g} Hz among {region.n_neurons} neurons): 2D "
                        "meshes overestimate rare, fluctuation-driven firing (numerical "
                        "diffusion carries mass across the threshold region; Izhikevich at "
                        "0.009 Hz: grids 0.01-0.03 Hz, strips 0.016-0.6 Hz); check the rate "
                        "against a direct population (method = \"direct\")")
    if not region.settled:
        warnings.append(f"the exploration of the visited region did not settle within "
                        f"{region.driven_seconds:g} s of input: the ranges found may be too "
                        "narrow; `miind run` reports any clamped mass")
    exploration = {"neurons": region.n_neurons, "seconds": region.driven_seconds,
                   "settled": region.settled, "firing_rate": region.firing_rate,
                   "visited": {name: [region.lower[name], region.upper[name]]
                               for name in model.variables}}
    return _FoundRanges(ranges, tuple(automatic), exploration, tuple(warnings), region)


def _explore(spec, model, expected, given: dict, key: str) -> VisitedRegion:
    """meshgen.exploration.explore from a state within the given ranges; its errors
    name the model file and `key` (what the exploration was for)."""
    try:
        return explore(model, expected, within=given)
    except MeshError as error:
        advice = ("give [mesh] dt" if key == "mesh.dt"
                  else "give [mesh] ranges for every variable")
        raise MeshError(f"{error.message} ({advice})", path=spec.path, key=key) from None


def _largest_cell_between(mesh: Strips1DMesh, low: float, high: float) -> float:
    inside = (mesh.upper > low) & (mesh.lower < high) & ~mesh.is_stationary
    widths = (mesh.upper - mesh.lower)[inside]
    return float(widths.max()) if widths.size else 0.0


def _column_sums(matrix) -> np.ndarray:
    size = len(matrix.indptr) - 1
    columns = np.repeat(np.arange(size), np.diff(matrix.indptr))
    return np.bincount(columns, weights=matrix.data, minlength=size) + matrix.threshold_fraction


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


