"""The mass accounting of a grid mesh's matrices, for `miind mesh`'s summary and warnings.

Per matrix (motion, each jump): the smallest and largest column sum with the fired
fraction (1 to rounding), the largest fired fraction, how many columns clamp mass
(put what would leave the grid, other than through the threshold, into the nearest
boundary cell) and the largest clamped fraction, and on which sides of the grid.

Warnings (plain strings; the caller shows them):
* motion: a column clamps more than MOTION_CLAMP_WARNING of its mass in one step:
  the flow leaves the grid there, and the boundary cell holds mass that should have
  gone on;
* jump: more than JUMP_CLAMP_WARNING of the cells clamp: the jump is long against
  the range, so mass piles up at that edge whenever the density gets near it.
"""

from __future__ import annotations

import numpy as np

from .grid2d import DROP_FRACTION, Grid, GridTransition

# Fraction of a cell's mass clamped by one motion step above which `miind mesh` warns:
# a real outward flow clamps far more than this, rounding at the boundary far less.
MOTION_CLAMP_WARNING = 1e-3
# Share of the cells whose jump clamps above which `miind mesh` warns: a jump about a
# tenth of its axis (a 2 mV inhibitory jump on AdEx's 40 mV, 7.5% here, does not warn).
JUMP_CLAMP_WARNING = 0.1


def motion_accounting(grid: Grid, motion: GridTransition, widen_key: str,
                      centres: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[dict, list]:
    """(summary entry, warnings) of the motion matrix; the side of each clamping
    column is the grid boundary nearest its cell. `centres`: the cells' centres in
    grid units, for meshes whose cells are not the grid's (2D strips)."""
    entry = _entry("motion", motion)
    clamping = np.flatnonzero(motion.clamped > DROP_FRACTION)
    sides = _nearest_sides(grid, clamping, centres)
    entry["clamped_sides"] = {side: int(np.sum(sides == side)) for side in np.unique(sides)}
    entry["degenerate_cells"] = int(len(motion.degenerate))
    warnings = []
    heavy = motion.clamped > MOTION_CLAMP_WARNING
    if heavy.any():
        worst = _nearest_sides(grid, np.flatnonzero(heavy), centres)
        sides, counts = np.unique(worst, return_counts=True)
        where = ", ".join(f"{side} ({count} cells)" for side, count in zip(sides, counts))
        variables = sorted({side.split()[0] for side in sides})
        warnings.append(f"the motion matrix clamps up to {motion.clamped.max():.3g} of a "
                        f"cell's mass per step at the grid's edge: {where}; the flow leaves "
                        f"the grid there: widen {', '.join(f'{widen_key}.{v}' for v in variables)}")
    return entry, warnings


def jump_accounting(grid: Grid, variable: str, efficacy: float, jump: GridTransition,
                    widen_key: str) -> tuple[dict, list]:
    entry = _entry(f"jump {variable} {efficacy:g}", jump)
    entry.update(dimension=variable, efficacy=efficacy)
    clamping = int(entry["clamped_columns"])
    side = f"{variable} {'high' if efficacy > 0 else 'low'}"
    entry["clamped_sides"] = {side: clamping} if clamping else {}
    warnings = []
    n_cells = len(jump.fired)
    if clamping > JUMP_CLAMP_WARNING * n_cells:
        warnings.append(f"the jump of {efficacy:g} in {variable} leaves the grid from "
                        f"{clamping / n_cells:.0%} of the cells, clamped at the {side} "
                        f"edge: widen {widen_key}.{variable}")
    return entry, warnings


def _entry(name: str, transition: GridTransition) -> dict:
    sums = np.asarray(transition.matrix.sum(axis=0)).ravel() + transition.fired
    return {"matrix": name, "min_column_sum": float(sums.min()),
            "max_column_sum": float(sums.max()), "max_fired": float(transition.fired.max()),
            "clamped_columns": int(np.sum(transition.clamped > DROP_FRACTION)),
            "max_clamped": float(transition.clamped.max())}


def _nearest_sides(grid: Grid, cells: np.ndarray, centres=None) -> np.ndarray:
    """'v low', 'v high', 'w low' or 'w high': the grid edge nearest each cell."""
    if len(cells) == 0:
        return np.array([], dtype=object)
    if centres is None:
        i_v, i_w = grid.unravel(cells)
    else:
        i_v, i_w = centres[0][cells] - 0.5, centres[1][cells] - 0.5
    (n_v, n_w), (name_v, name_w) = grid.resolution, grid.variables
    distance = np.stack([i_v, n_v - 1 - i_v, i_w, n_w - 1 - i_w])
    names = np.array([f"{name_v} low", f"{name_v} high", f"{name_w} low", f"{name_w} high"],
                     dtype=object)
    return names[np.argmin(distance, axis=0)]
