"""Numba kernels of 2D grid populations (meshgen.grid2d, solver.grid).

One step dt of a grid population, on the cell masses `mass` (n_cells,):

1. jumps: the master equation over dt, by uniformization as solver.kernels.apply_jumps
   does in 1D: with total rate L = sum of the groups' rates and M = sum_g (r_g / L) J_g,
   mass <- sum_k Pois(k; L dt) M^k mass (Horner form). What crosses the threshold is
   collected per source cell (`fired`), so the reset mapping can tell where it goes.
2. motion: mass <- T @ mass; fired += T's fired fraction * mass, per cell.
3. reset: R @ fired is queued for `refractory_steps` steps (or put back at once) and
   re-enters the grid; rate = sum(fired) / dt.

Matrices are CSC triples (indptr, indices, data); the jump matrices are concatenated:
jump j has pointers jump_indptr[j] and entries from jump_offset[j].
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import MAX_POISSON_TERMS, exact_sum, poisson_weights


@njit(cache=True)
def _multiply_add(indptr, indices, data, offset, source, scale, target):
    """target += scale * (matrix @ source)."""
    for column in range(source.shape[0]):
        value = source[column]
        if value == 0.0:
            continue
        value *= scale
        for k in range(indptr[column], indptr[column + 1]):
            target[indices[offset + k]] += data[offset + k] * value


@njit(cache=True)
def grid_jumps(jump_indptr, jump_offset, jump_indices, jump_data, jump_fired, group_jump,
               group_rates, dt, weights, mass, result, spare, fired):
    """The jump master equation over dt on `mass`, in place; the mass that crossed the
    threshold is added per source cell to `fired`."""
    total_rate = 0.0
    for g in range(group_rates.shape[0]):
        if group_rates[g] > 0.0:
            total_rate += group_rates[g]
    if total_rate <= 0.0:
        return
    n_terms = poisson_weights(total_rate * dt, weights)
    size = mass.shape[0]
    last = n_terms - 1
    for i in range(size):
        result[i] = weights[last] * mass[i]
    for term in range(last - 1, -1, -1):
        weight = weights[term]
        for i in range(size):
            spare[i] = weight * mass[i]
        for g in range(group_rates.shape[0]):
            if group_rates[g] <= 0.0:
                continue
            share = group_rates[g] / total_rate
            j = group_jump[g]
            # Horner: the loss of each application of M is M's fired fraction times
            # its argument, and these losses add up to what the series loses.
            for i in range(size):
                fired[i] += share * jump_fired[j, i] * result[i]
            _multiply_add(jump_indptr[j], jump_indices, jump_data, jump_offset[j], result,
                          share, spare)
        result, spare = spare, result
    for i in range(size):
        mass[i] = result[i]


@njit(cache=True)
def advance_grid(motion_indptr, motion_indices, motion_data, motion_fired,
                 jump_indptr, jump_offset, jump_indices, jump_data, jump_fired, group_jump,
                 reset_indptr, reset_indices, reset_data, group_rates, first_step, n_steps, dt,
                 mass, queue, centres_v, centres_w, rate, total_mass, mean_v, mean_w, work):
    """Advance `n_steps` steps from `first_step`; group_rates (groups, steps) in Hz,
    queue (refractory_steps + 1, n_cells) a ring of reset mass indexed by step."""
    size = mass.shape[0]
    weights = np.zeros(MAX_POISSON_TERMS)
    result, spare, fired, moved = work[0], work[1], work[2], work[3]
    slots = queue.shape[0]
    for step in range(first_step, first_step + n_steps):
        for i in range(size):
            fired[i] = 0.0
        grid_jumps(jump_indptr, jump_offset, jump_indices, jump_data, jump_fired, group_jump,
                   group_rates[:, step], dt, weights, mass, result, spare, fired)
        for i in range(size):
            moved[i] = 0.0
            fired[i] += motion_fired[i] * mass[i]
        _multiply_add(motion_indptr, motion_indices, motion_data, 0, mass, 1.0, moved)
        # What fired now comes back `slots - 1` steps later: the slot of this step is
        # free once its mass is put back below.
        slot = step % slots
        _multiply_add(reset_indptr, reset_indices, reset_data, 0, fired, 1.0, queue[slot])
        back = (step + 1) % slots
        for i in range(size):
            mass[i] = moved[i] + queue[back, i]
            queue[back, i] = 0.0
        rate[step] = exact_sum(fired) / dt
        held = 0.0
        for s in range(slots):
            held += exact_sum(queue[s])
        in_grid = exact_sum(mass)
        total_mass[step] = in_grid + held
        sum_v = 0.0
        sum_w = 0.0
        for i in range(size):
            sum_v += centres_v[i] * mass[i]
            sum_w += centres_w[i] * mass[i]
        mean_v[step] = sum_v / in_grid if in_grid > 0.0 else np.nan
        mean_w[step] = sum_w / in_grid if in_grid > 0.0 else np.nan
