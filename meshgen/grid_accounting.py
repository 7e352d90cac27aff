"""The mass accounting of a 2D mesh's matrices, for `miind mesh`'s summary and warnings.

Per matrix (motion, each jump, the reset mapping): the smallest and largest column
sum with the fired fraction (1 to rounding), the largest fired fraction, how many
columns clamp mass (put what would leave the range box, other than through the
threshold, into the nearest edge cell) and the largest clamped fraction, and through
which edges of the box (meshgen.box_edges). For the reset mapping, also the share of
the cells that can fire (by motion or a jump) whose reset lands outside the box.

What the mesh alone can tell is limited: whether clamping matters depends on where
the population's mass goes, which `miind run` measures (solver.checks). So:
* warnings (likely problems; the caller shows them):
  - motion: a column clamps more than MOTION_CLAMP_WARNING of its mass in one step:
    the flow leaves the box there, and the edge cell holds mass that should have gone on;
  - jump: more than JUMP_CLAMP_WARNING of the cells clamp: the jump is long against
    the range, so mass piles up at that edge whenever the density gets near it;
  - reset: it lands outside the box for more than RESET_CLAMP_WARNING of the cells
    that can fire;
* notes (facts that matter only if mass gets there): any other clamping jump or reset,
  with the share of cells affected.
"""

from __future__ import annotations

import numpy as np

from .box_edges import NO_EDGE, edge_names
from .grid2d import DROP_FRACTION, GridTransition
from .regular_grid import Grid

# Fraction of a cell's mass clamped by one motion step above which `miind mesh` warns:
# a real outward flow clamps far more than this, rounding at the boundary far less.
MOTION_CLAMP_WARNING = 1e-3
# Share of the cells whose jump clamps above which `miind mesh` warns: a jump about a
# tenth of its axis (a 2 mV inhibitory jump on AdEx's 40 mV, 7.5% here, does not warn).
JUMP_CLAMP_WARNING = 0.1
# Share of the cells that can fire whose reset lands outside the box above which
# `miind mesh` warns. AdEx's w + b leaves a w range of span S from a share b / S of
# them whatever the population does (24% on examples/grid2d/adex.toml, which its
# populations never reach): below half of them it is only noted, and `miind run`
# says whether mass went there.
RESET_CLAMP_WARNING = 0.5


# What a cell and a step of `miind run` cost here (AMD EPYC, 2 cores, 2026-12; whole
# runs of benchmarks/validate_defaults.py, 1-3 jumps a step), in ns: grids 19-24
# (AdEx 30,800 cells 22.5, Izhikevich 92,000 cells 18-26, conductance LIF 35,200 cells
# 23.8), 2D strip meshes 48-60 (their jumps are overlaps of listed cells, not
# diagonals: AdEx 30,000 cells 57, Izhikevich 55,000 cells 48). The estimate
# `miind mesh` gives is the low and high figure of the method.
SECONDS_PER_CELL_STEP = {"grid": (2e-8, 4e-8), "strips": (4.5e-8, 6.5e-8)}
# `miind mesh` warns when the low estimate exceeds this many seconds of `miind run` per
# simulated second.
RUN_SECONDS_WARNING = 30.0
# A mesh file larger than this warns (MB): `miind run` holds it in memory, twice over.
ARTIFACT_MB_WARNING = 300.0


def affordable_cells(method: str, dt: float) -> float:
    """The most cells a mesh of `method` at `dt` can have for `miind run` to take
    RUN_SECONDS_WARNING per simulated second at the high estimate: the budget the
    automatic resolution keeps to where it could add cells (meshgen.grid_defaults)."""
    return RUN_SECONDS_WARNING / SECONDS_PER_CELL_STEP[method][1] * dt


def cost(method: str, n_cells: int, dt: float, transitions,
         artifact_bytes: int) -> tuple[dict, list]:
    """(summary entry, warnings) of what a 2D mesh (`method` "grid" or "strips") costs
    to run: cells, steps and cell-steps per simulated second, the estimated seconds
    of `miind run` per simulated second (low, high), matrix entries, file size."""
    entries = int(sum(t.matrix.nnz for t in transitions))
    cell_steps = n_cells / dt
    low, high = (cell_steps * seconds for seconds in SECONDS_PER_CELL_STEP[method])
    entry = {"cells": int(n_cells), "steps_per_second": 1.0 / dt,
             "cell_steps_per_second": cell_steps,
             "estimated_run_seconds_per_second": [low, high], "matrix_entries": entries,
             "artifact_mb": artifact_bytes / 2 ** 20}
    warnings = []
    if low > RUN_SECONDS_WARNING:
        warnings.append(f"{n_cells:,} cells at dt = {dt:g} s are {cell_steps:.2g} cell-steps "
                        f"per simulated second: expect `miind run` to take about "
                        f"{low:.0f}-{high:.0f} s per simulated second on a machine like ours; "
                        "fewer cells (mesh.resolution) or a longer mesh.dt cost less")
    if entry["artifact_mb"] > ARTIFACT_MB_WARNING:
        warnings.append(f"the mesh file is {entry['artifact_mb']:.0f} MB (matrices with "
                        f"{entries:,} entries); `miind run` holds it in memory")
    return entry, warnings


def motion_accounting(grid: Grid, motion: GridTransition, widen_key: str,
                      visited: np.ndarray | None = None) -> tuple[dict, list, list]:
    """(summary entry, warnings, notes) of the motion matrix. `visited` (bool per cell,
    from meshgen.exploration under the expected input, or None): heavy clamping in
    cells the population does not visit is only noted."""
    entry = _entry("motion", motion, grid)
    entry["degenerate_cells"] = int(len(motion.degenerate))
    heavy = motion.clamped > MOTION_CLAMP_WARNING
    if visited is None:
        return entry, _motion_clamps(grid, motion, heavy, widen_key), []
    return (entry, _motion_clamps(grid, motion, heavy & visited, widen_key),
            _motion_clamps(grid, motion, heavy & ~visited, None))


def _motion_clamps(grid: Grid, motion: GridTransition, heavy: np.ndarray,
                   widen_key: str | None) -> list[str]:
    """The message about the heavily clamping cells `heavy`: a warning naming the
    ranges to widen, or (widen_key None) a note that the population does not go there."""
    if not heavy.any():
        return []
    names = edge_names(grid.variables)
    edges, counts = np.unique(motion.clamped_edge[heavy], return_counts=True)
    where = ", ".join(f"{names[edge]} ({count} cells)" for edge, count in zip(edges, counts))
    variables = sorted({names[edge].split()[0] for edge in edges})
    message = (f"the motion matrix clamps up to {motion.clamped[heavy].max():.3g} of a cell's "
               f"mass per step at the grid's edge: {where}")
    if widen_key is None:
        return [f"{message}, in cells the population does not visit under expected_input"]
    return [f"{message}; the flow leaves the grid there: widen "
            f"{', '.join(f'{widen_key}.{v}' for v in variables)}"]


def jump_accounting(grid: Grid, variable: str, efficacy: float, jump: GridTransition,
                    widen_key: str) -> tuple[dict, list, list]:
    """(summary entry, warnings, notes) of one jump matrix."""
    entry = _entry(f"jump {variable} {efficacy:g}", jump, grid)
    entry.update(dimension=variable, efficacy=efficacy)
    clamping = int(entry["clamped_columns"])
    side = f"{variable} {'high' if efficacy > 0 else 'low'}"
    share = clamping / len(jump.fired)
    message = (f"the jump of {efficacy:g} in {variable} leaves the grid from {share:.0%} of the "
               f"cells, clamped at the {side} edge")
    if share > JUMP_CLAMP_WARNING:
        return entry, [f"{message}: widen {widen_key}.{variable}"], []
    return entry, [], [f"{message} (the cells within {abs(efficacy):g} of it)"] if clamping else []


def reset_accounting(grid: Grid, reset: GridTransition, firing: np.ndarray, model,
                     widen_key: str, automatic=()) -> tuple[dict, list, list]:
    """(summary entry, warnings, notes) of the reset mapping; `firing` (bool per cell)
    marks the cells that can fire, by motion or a jump (the others' columns are never
    used, and are left out of the entry). `automatic`: the variables whose ranges were
    found from the expected input; widening them is not the user's to do, so a reset
    leaving only those is noted, not warned about."""
    entry = _entry("reset", reset, grid, fired=False, among=firing)
    clamping = firing & (reset.clamped > DROP_FRACTION)
    n_firing = int(firing.sum())
    share = float(clamping.sum() / n_firing) if n_firing else 0.0
    entry.update(firing_cells=n_firing, clamped_firing_cells=int(clamping.sum()),
                 clamped_firing_fraction=share)
    if not clamping.any():
        return entry, [], []
    names = edge_names(grid.variables)
    edges = np.unique(reset.clamped_edge[clamping])
    variables = sorted({names[edge].split()[0] for edge in edges})
    rules = ", ".join(f"{name} -> {model.reset.get(name, name)}" for name in variables)
    message = (f"the reset ({rules}) lands outside the range box for {share:.0%} of the cells "
               f"that can fire ({int(clamping.sum())} of {n_firing}), at the "
               f"{' and '.join(names[edge] for edge in edges)} edge; mass fired there is "
               "clamped to the edge cells")
    if share > RESET_CLAMP_WARNING and not set(variables) <= set(automatic):
        return entry, [f"{message}: widen {', '.join(f'{widen_key}.{v}' for v in variables)}"], []
    return entry, [], [f"{message}; `miind run` reports how much mass that is"]


def _entry(name: str, transition: GridTransition, grid: Grid, fired: bool = True,
           among: np.ndarray | None = None) -> dict:
    """The summary entry of a matrix; `among` (bool per cell): count only these."""
    sums = np.asarray(transition.matrix.sum(axis=0)).ravel() + transition.fired
    clamping = transition.clamped > DROP_FRACTION
    counted = transition.clamped
    if among is not None:
        clamping &= among
        counted = counted[among]
    names = edge_names(grid.variables)
    edges, counts = np.unique(transition.clamped_edge[clamping], return_counts=True)
    entry = {"matrix": name}
    if fired:
        entry.update(min_column_sum=float(sums.min()), max_column_sum=float(sums.max()),
                     max_fired=float(transition.fired.max()))
    entry.update(clamped_columns=int(clamping.sum()),
                 max_clamped=float(counted.max(initial=0.0)),
                 clamped_sides={names[edge]: int(count) for edge, count in zip(edges, counts)
                                if edge != NO_EDGE})
    return entry
