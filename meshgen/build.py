"""`miind mesh`: from a model file to a mesh artifact."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .artifact import write_grid_mesh, write_mesh
from .atomic_file import check_writable
from .cells import split_between_cells
from .errors import MeshError
from .grid2d import Grid, jump_matrix, motion_matrix, reset_mapping
from .model_file import read_model_file
from .strips import StripMesh, accuracy_range, automatic_dt, build_strip_mesh
from .transitions import jump_tiling, transition_matrix

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
    min_column_sum: float
    max_column_sum: float
    largest_cell_near_threshold: float
    seconds: float

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def build_mesh(model_path: str | Path, output: str | Path, overrides: list[str] = (),
               progress: Progress | None = None) -> MeshSummary:
    started = time.perf_counter()
    check_writable(output)
    spec = read_model_file(model_path, overrides)
    if spec.grid is not None:
        return _build_grid(spec, output, progress, started)
    model, settings = spec.model, spec.mesh
    drift = model.drift
    reset = model.reset[model.variables[0]]
    smallest = min(abs(h) for h in settings.efficacies)
    low, high = accuracy_range(drift, settings.lowest, model.threshold, reset)
    dt = settings.dt or automatic_dt(drift, low, high, smallest, settings.cells_per_efficacy)
    stationary_width = smallest / settings.cells_per_efficacy
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
        largest_cell_near_threshold=near, seconds=time.perf_counter() - started)


def _build_grid(spec, output, progress: Progress | None, started: float) -> MeshSummary:
    model, settings = spec.model, spec.grid
    grid = Grid(tuple(model.variables), settings.ranges, settings.resolution)
    total_steps = 2 + len(settings.efficacies)
    _report(progress, 0, total_steps)
    motion = motion_matrix(model, grid, settings.dt, model.threshold)
    _report(progress, 1, total_steps)
    jumps = []
    for index, (variable, efficacy) in enumerate(settings.efficacies):
        jumps.append((variable, efficacy, jump_matrix(grid, variable, efficacy)))
        _report(progress, 2 + index, total_steps)
    reset = reset_mapping(model, grid)
    digest = write_grid_mesh(output, document=spec.document, model=model.definition(),
                             grid=grid, dt=settings.dt, threshold=model.threshold,
                             motion=motion, jumps=jumps, reset=reset)
    _report(progress, total_steps, total_steps)
    sums = [np.asarray(t.matrix.sum(axis=0)).ravel() + t.fired
            for t in [motion] + [j for _, _, j in jumps]]
    return MeshSummary(
        output=str(output), input_hash=digest, n_cells=grid.n_cells, n_strips=0,
        dt=settings.dt, jump_interval=1, step=settings.dt,
        efficacies=tuple(h for _, h in settings.efficacies),
        min_column_sum=float(min(s.min() for s in sums)),
        max_column_sum=float(max(s.max() for s in sums)),
        largest_cell_near_threshold=float(grid.widths[0]), seconds=time.perf_counter() - started)


def _largest_cell_between(mesh: StripMesh, low: float, high: float) -> float:
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


