"""The jump matrices and the reset mapping of a 2D grid.

`jump_matrix`: a synaptic jump of fixed size along one axis, as a fractional shift of
the grid. `reset_mapping`: where the mass that fires from each cell re-enters. Both in
meshgen.grid2d's form.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse

from .box_edges import edge_index, edges_of_clamped, outward_edge
from .errors import MeshError
from .grid2d import (GridTransition, check_model_variables, normalise_columns,
                     reset_transition, reset_without_rule)
from .models import NeuronModel
from .regular_grid import Grid


def jump_matrix(grid: Grid, variable: str | int, efficacy: float,
                top_fires: bool = True) -> GridTransition:
    """A jump of every neuron by `efficacy` along one axis, as a fractional shift.

    With r = efficacy / cell width, o = floor(r) and g = r - o, fraction 1 - g of a
    cell's mass moves o cells and g moves o + 1 cells (negative efficacies alike);
    this is the exact overlap of the shifted cell with the grid. Along the first
    variable (v) mass shifted past the top of the grid (the threshold) fires, unless
    `top_fires` is False (a model without a threshold); past any other edge it is clamped
    into the edge cell and reported in `clamped`. A
    ratio within 8 ulp of an integer is taken as that integer, so a jump of a
    whole number of cells does not leave a 1e-16 sliver behind.
    """
    axis = grid.axis(variable)
    efficacy = float(efficacy)
    if not math.isfinite(efficacy):
        raise MeshError(f"efficacy must be finite, got {efficacy!r}")
    ratio = efficacy / grid.widths[axis]
    if abs(ratio - round(ratio)) <= 8 * np.finfo(float).eps * max(1.0, abs(ratio)):
        ratio = float(round(ratio))
    shift = math.floor(ratio)
    g = ratio - shift
    n, size = grid.n_cells, grid.resolution[axis]
    cells = np.arange(n)
    position = grid.unravel(cells)
    along = position[axis]

    rows, cols, values = [], [], []
    fired = np.zeros(n)
    clamped = np.zeros(n)
    for steps, part in ((shift, 1.0 - g), (shift + 1, g)):
        if part == 0.0:
            continue
        target = along + steps
        fires = (target >= size) if (axis == 0 and top_fires) else np.zeros(n, dtype=bool)
        outside = ((target < 0) | (target >= size)) & ~fires
        fired[fires] += part
        clamped[outside] += part
        moved = list(position)
        moved[axis] = np.clip(target, 0, size - 1)
        stay = ~fires
        rows.append(grid.index(*moved)[stay])
        cols.append(cells[stay])
        values.append(np.full(int(stay.sum()), part))
    matrix = sparse.csc_matrix((np.concatenate(values), (np.concatenate(rows),
                                                         np.concatenate(cols))), shape=(n, n))
    matrix, fired = normalise_columns(matrix, fired, f"jump matrix ({efficacy} along {axis})")
    edge = edges_of_clamped(clamped, edge_index(axis, efficacy > 0))
    return GridTransition(matrix=matrix, fired=fired, clamped=clamped,
                          degenerate=np.zeros(0, np.int64), clamped_edge=edge)


def reset_mapping(model: NeuronModel, grid: Grid) -> GridTransition:
    """Column j: where mass that fires from cell j re-enters the grid.

    The state at the crossing is taken as (threshold, w of cell j's centre); the
    model's reset rule maps it (AdEx: v -> V_r, w -> w + b) and the mass is split
    bilinearly between the four cells whose centres surround that point, so its mean
    lands exactly there. A model without a threshold never fires: an empty mapping.
    A point beyond the outermost centres is first clamped onto them (the mean then
    sits at the clamped point); where it lies outside the grid, the column's mass is
    reported as clamped, at the edge it lies beyond. Refractoriness is the solver's
    business: this only says where mass goes when it comes back.
    """
    check_model_variables(model, grid)
    n = grid.n_cells
    settled = reset_without_rule(model, n)
    if settled is not None:
        return settled
    centre_v, centre_w = grid.cell_centres()
    new_v, new_w = model.reset_state(np.full_like(centre_v, model.threshold), centre_w)
    if not (np.all(np.isfinite(new_v)) and np.all(np.isfinite(new_w))):
        raise MeshError("the reset rule gives non-finite values on the grid")
    corners = []
    for axis, value in ((0, new_v), (1, new_w)):
        size = grid.resolution[axis]
        # Position on the lattice of centres: centre i is at i.
        x = np.clip(grid.to_units(axis, value) - 0.5, 0.0, size - 1.0)
        low = np.minimum(np.floor(x), size - 2).astype(np.int64)
        corners.append((low, x - low))
    (lv, fv), (lw, fw) = corners
    rows = np.concatenate([grid.index(lv + dv, lw + dw) for dw in (0, 1) for dv in (0, 1)])
    weights = np.concatenate([(fv if dv else 1.0 - fv) * (fw if dw else 1.0 - fw)
                              for dw in (0, 1) for dv in (0, 1)])
    cols = np.tile(np.arange(n), 4)
    matrix = sparse.csc_matrix((weights, (rows, cols)), shape=(n, n))
    matrix, _ = normalise_columns(matrix, np.zeros(n), "reset mapping")
    u, s = grid.to_units(0, new_v), grid.to_units(1, new_w)
    outside = (u < 0) | (u > grid.resolution[0]) | (s < 0) | (s > grid.resolution[1])
    edge = outward_edge(np.stack([u, s, u, s], axis=1), grid.resolution, top_fires=False)
    return reset_transition(matrix, outside.astype(float), edges_of_clamped(outside, edge))
