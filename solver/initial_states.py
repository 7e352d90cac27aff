"""Initial states: what each variable of a population starts from (a number, or a
distribution of solver.distributions), spread over a density population's cells or
drawn for a direct population's neurons.

A number keeps its meaning from before distributions existed: all the mass at that
value (split between the two cells around it on 1D meshes, in the cell holding it on
2D ones), every neuron at it. A distribution is conditioned on where a population can
be: on a mesh, its range (and below the threshold); for neurons, below the threshold.
The same conditioning on both sides, so a density population and a direct one given
the same strings start from the same state, which is what comparing the two needs
(a clipped draw would instead start the clipped neurons in one synchronous spike).
"""

from __future__ import annotations

import numpy as np

from meshgen.errors import ConfigError
from meshgen.padded_polygons import edge_crossings, polygon_areas

from .distributions import Distribution

# Below this probability of lying where the population can be, the distribution is
# refused rather than renormalised: what is left (say normal(-40, 2) against a
# threshold at -50, 3e-7 of it) says more about a typing error than about the state
# the user meant, and redrawing neurons until that little remains costs 1/p draws.
MIN_MASS_IN_RANGE = 0.01


def initial_distributions(population, variables, defaults: dict, *, path: str,
                          key_prefix: str) -> dict[str, Distribution]:
    """Each of `variables` of `population` (a solver.sim_file.PopulationSpec): its value
    or distribution from the file, else a constant at `defaults` (missing ones: 0). A
    key naming no variable is an error (keys `key_prefix`.name)."""
    for key in population.initial:
        if key not in variables:
            raise ConfigError(f"the model has no variable '{key}' (variables: "
                              f"{', '.join(variables)})", path=path, key=f"{key_prefix}.{key}")
    return {name: population.initial.get(
                name, Distribution("constant", (float(defaults.get(name, 0.0)),)))
            for name in variables}


def _renormalised(mass: np.ndarray, what: str, where: str, path: str, key: str) -> np.ndarray:
    total = float(mass.sum())
    if not total >= MIN_MASS_IN_RANGE:
        raise ConfigError(f"only {total:.2g} of {what} lies {where}; at least "
                          f"{MIN_MASS_IN_RANGE:g} must", path=path, key=key)
    return mass / total


def interval_mass(distribution: Distribution, lower: np.ndarray, upper: np.ndarray,
                  where: str, *, path: str, key: str) -> np.ndarray:
    """The probability of each cell [lower, upper), renormalised to 1 over the cells
    (so conditioned on the mesh); a ConfigError naming `key` if less than
    MIN_MASS_IN_RANGE of it lies there. `where` says where ("in the mesh ..."), for
    the message."""
    upper = np.asarray(upper, dtype=np.float64)
    mass = np.clip(distribution.cdf(upper) - distribution.cdf(lower), 0.0, None)
    return _renormalised(mass, str(distribution), where, path, key)


def grid_mass(grid, state: dict[str, Distribution], threshold: float, *, path: str,
              key_prefix: str) -> np.ndarray:
    """The initial mass of a 2D grid (meshgen.regular_grid.Grid): the product of each
    variable's cell probabilities (the variables are independent). A number is the
    cell holding it along its axis, as a number for both variables is the cell holding
    the point; v's cells are cut at the threshold."""
    axes = []
    for k, (name, edges) in enumerate(zip(grid.variables, grid.edges)):
        distribution = state[name]
        point = distribution.point
        if point is not None:
            along = np.zeros(grid.resolution[k])
            cell = np.floor(grid.to_units(k, point))
            along[int(np.clip(cell, 0, grid.resolution[k] - 1))] = 1.0
        else:
            lo, hi = grid.ranges[k]
            if k == 0 and np.isfinite(threshold):
                hi = min(hi, threshold)
            upper = np.clip(edges[1:], edges[:-1], hi)
            along = interval_mass(distribution, edges[:-1], upper,
                                  f"in the mesh's range [{lo:g}, {hi:g}]", path=path,
                                  key=f"{key_prefix}.{name}")
        axes.append(along)
    # Cells are numbered with v fastest (meshgen.regular_grid).
    return np.outer(axes[1], axes[0]).ravel()


def polygon_mass(vertices: np.ndarray, centres, variables, state: dict[str, Distribution], *,
                 path: str, key_prefix: str) -> np.ndarray:
    """The initial mass of a 2D strip mesh's polygon cells (vertices (n_cells, k, 2),
    centres the centroids per variable), for at least one variable given as a
    distribution. An approximation, as the cells are not products of intervals:

    * both distributions: the joint density at each cell's centroid times its area,
      renormalised (exact up to the density's curvature across a cell);
    * one number: the line where that variable has that value crosses cells; each
      gets the other variable's probability over its crossing (exact for convex cells).
    """
    points = [state[name].point for name in variables]
    if points[0] is None and points[1] is None:
        density = state[variables[0]].pdf(centres[0]) * state[variables[1]].pdf(centres[1])
        return _renormalised(density * polygon_areas(vertices),
                             f"{state[variables[0]]} x {state[variables[1]]}",
                             "on the mesh's cells", path, f"{key_prefix}.{variables[0]}")
    fixed = 0 if points[0] is not None else 1
    spread = 1 - fixed
    at = points[fixed]
    straddles, crossing = edge_crossings(vertices, fixed, at)
    low = np.where(straddles, crossing, np.inf).min(axis=1)
    high = np.where(straddles, crossing, -np.inf).max(axis=1)
    crossed = np.isfinite(low) & (high > low)
    lower, upper = np.where(crossed, low, 0.0), np.where(crossed, high, 0.0)
    name = variables[spread]
    return interval_mass(state[name], lower, upper,
                         f"in the mesh's cells along {variables[fixed]} = {at:g}",
                         path=path, key=f"{key_prefix}.{name}")


def draw(distribution: Distribution, rng: np.random.Generator, n: int, below: float | None,
         *, path: str, key: str) -> np.ndarray:
    """n independent values of `distribution`, conditioned on lying below `below` (a
    threshold, or None): values at or above it are drawn again, as a density's mass
    outside its mesh is renormalised away; a ConfigError naming `key` if less than
    MIN_MASS_IN_RANGE of the distribution lies below."""
    if below is None:
        return distribution.sample(rng, n)
    accepted = float(distribution.cdf(below))
    if not accepted >= MIN_MASS_IN_RANGE:
        raise ConfigError(f"only {accepted:.2g} of {distribution} lies below the threshold "
                          f"({below:g}); at least {MIN_MASS_IN_RANGE:g} must", path=path, key=key)
    values = distribution.sample(rng, n)
    redraw = np.flatnonzero(values >= below)
    while len(redraw):
        # Enough for all of them at once, on average; the rest go round again.
        extra = distribution.sample(rng, int(len(redraw) / accepted) + 16)
        extra = extra[extra < below][:len(redraw)]
        values[redraw[:len(extra)]] = extra
        redraw = redraw[len(extra):]
    return values
