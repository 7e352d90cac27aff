"""Numba kernels of 2D density populations (meshgen.grid2d, solver.density_2d).

One step dt of a population, on the cell masses `mass` (n_cells,):

1. jumps: the master equation over dt, by uniformization as solver.kernels_1d.apply_jumps
   does in 1D: with total rate L = sum of the groups' rates and M = sum_g (r_g / L) J_g,
   mass <- sum_k Pois(k; L dt) M^k mass (Horner form). What crosses the threshold is
   collected per source cell (`fired`), so the reset mapping can tell where it goes.
2. motion: mass <- T @ mass; fired += T's fired fraction * mass, per cell.
3. reset: R @ fired is queued for `refractory_steps` steps (or put back at once) and
   re-enters the mesh; rate = sum(fired) / dt.

Clamped mass (meshgen.box_edges): what each mechanism put into an edge cell instead of
beyond the range box is added up per step, mechanism (CLAMP_MOTION, CLAMP_JUMP,
CLAMP_RESET) and edge, from per-matrix lists of the cells that clamp (cell, edge,
fraction), the way the fired mass is: for the jumps' Horner series, each application
of M clamps its fraction of its argument, and these add up to the expected clamped
mass of the series.

Data layouts (built by solver.density_2d from the artifact's CSC matrices):

* Every matrix (the jumps, then the motion last) is a few diagonals plus a CSC
  remainder. On a grid a jump is a fractional shift, so all of its entries lie on two
  diagonals (target = source + offset) except those clamped at a boundary, and a
  short step of the flow puts most of the motion's entries on a few; diagonals are
  applied as contiguous multiply-adds (`gather_diagonals`), about eight times faster
  per entry than through CSC indices, which matters most for the jumps: the Horner
  series applies each of them several times a step. Matrix j has the diagonals
  diagonal_ptr[j]:diagonal_ptr[j + 1] (offset `diagonal_offsets[d]`, values by target
  cell `diagonal_values[d]`); its remainder has CSC pointers `remainder_indptr[j]` and
  entries from `remainder_start[j]` of `remainder_indices` / `remainder_data`.
* Firing: only cells next to the threshold can fire. Each matrix's nonzero fired
  fractions are listed (cells, fractions) from fire_ptr[j], and the per-step work on
  `fired` touches only the union of those cells (`firing_cells`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from meshgen.box_edges import CLAMP_MECHANISMS

from .kernels_1d import MAX_POISSON_TERMS, exact_sum, poisson_weights

# Rows of the clamped-mass accounting, per step: what put the mass into an edge cell.
CLAMP_MOTION, CLAMP_JUMP, CLAMP_RESET = (CLAMP_MECHANISMS.index(name)
                                         for name in ("motion", "jump", "reset"))


@njit(cache=True)
def scatter_add(indptr, indices, data, offset, source, scale, target):
    """target += scale * (matrix @ source) for a CSC matrix whose entries start at
    `offset` of `indices`/`data`."""
    for column in range(source.shape[0]):
        value = source[column]
        if value == 0.0:
            continue
        value *= scale
        for k in range(indptr[column], indptr[column + 1]):
            target[indices[offset + k]] += data[offset + k] * value


@njit(cache=True)
def gather_diagonals(offsets, diagonals, count, source, scale, target):
    """target[t] += scale * sum_d diagonals[d, t] * source[t - offsets[d]], d < count."""
    size = source.shape[0]
    for d in range(count):
        offset = offsets[d]
        lo, hi = max(0, offset), min(size, size + offset)
        # Slices, not offset indices: numba then sees three separate arrays and
        # vectorises the loop (4x faster).
        values, shifted, out = diagonals[d, lo:hi], source[lo - offset:hi - offset], target[lo:hi]
        for t in range(hi - lo):
            out[t] += scale * values[t] * shifted[t]


@njit(cache=True)
def scale_into(source, scale, target):
    """target = scale * source."""
    for i in range(source.shape[0]):
        target[i] = scale * source[i]


@njit(cache=True, fastmath=True)
def settle(new, mass, centres_v, centres_w):
    """mass = new (and new cleared); returns the sums of mass, centres_v * mass and
    centres_w * mass. fastmath lets the sums be reordered (and vectorised): they are
    only reported, they do not feed back into the mass."""
    in_mesh = 0.0
    sum_v = 0.0
    sum_w = 0.0
    for i in range(mass.shape[0]):
        value = new[i]
        new[i] = 0.0
        mass[i] = value
        in_mesh += value
        sum_v += centres_v[i] * value
        sum_w += centres_w[i] * value
    return in_mesh, sum_v, sum_w


@njit(cache=True, fastmath=True)
def moments(mass, centres_v, centres_w):
    """The sums of mass, centres_v * mass and centres_w * mass (reordered as settle's)."""
    in_mesh = 0.0
    sum_v = 0.0
    sum_w = 0.0
    for i in range(mass.shape[0]):
        in_mesh += mass[i]
        sum_v += centres_v[i] * mass[i]
        sum_w += centres_w[i] * mass[i]
    return in_mesh, sum_v, sum_w


@njit(cache=True)
def _mean(total, weighted):
    return weighted / total if total > 0.0 else np.nan


@njit(cache=True)
def add_fired(fire_ptr, fire_cells, fire_fractions, matrix, source, scale, fired):
    """fired[c] += scale * (fired fraction of `matrix` at c) * source[c]."""
    for k in range(fire_ptr[matrix], fire_ptr[matrix + 1]):
        cell = fire_cells[k]
        fired[cell] += scale * fire_fractions[k] * source[cell]


@njit(cache=True)
def add_clamped(clamps, matrix, source, scale, out):
    """out[edge] += scale * fraction * source[cell] over the clamp list of `matrix`;
    `clamps` is the tuple (clamp_ptr, clamp_cells, clamp_edges, clamp_fractions)."""
    clamp_ptr, clamp_cells, clamp_edges, clamp_fractions = clamps
    for k in range(clamp_ptr[matrix], clamp_ptr[matrix + 1]):
        out[clamp_edges[k]] += scale * clamp_fractions[k] * source[clamp_cells[k]]


@njit(cache=True)
def apply_matrix(matrices, j, source, scale, target):
    """target += scale * (matrix j @ source); `matrices` is the tuple
    (diagonal_ptr, diagonal_offsets, diagonal_values, remainder_indptr,
    remainder_start, remainder_indices, remainder_data)."""
    (diagonal_ptr, diagonal_offsets, diagonal_values, remainder_indptr, remainder_start,
     remainder_indices, remainder_data) = matrices
    first, last = diagonal_ptr[j], diagonal_ptr[j + 1]
    gather_diagonals(diagonal_offsets[first:last], diagonal_values[first:last], last - first,
                     source, scale, target)
    if remainder_indptr[j, -1] > 0:
        scatter_add(remainder_indptr[j], remainder_indices, remainder_data, remainder_start[j],
                    source, scale, target)


@njit(cache=True)
def grid_jumps(matrices, fire_ptr, fire_cells, fire_fractions, clamps, group_jump, group_rates,
               dt, weights, mass, result, spare, fired, clamped):
    """The jump master equation over dt on `mass`, in place; the mass that crossed the
    threshold is added per source cell to `fired`, the mass clamped per edge to
    `clamped`. False when there was no input."""
    total_rate = 0.0
    for g in range(group_rates.shape[0]):
        if group_rates[g] > 0.0:
            total_rate += group_rates[g]
    if total_rate <= 0.0:
        return False
    n_terms = poisson_weights(total_rate * dt, weights)
    last = n_terms - 1
    scale_into(mass, weights[last], result)
    for term in range(last - 1, -1, -1):
        scale_into(mass, weights[term], spare)
        for g in range(group_rates.shape[0]):
            if group_rates[g] <= 0.0:
                continue
            share = group_rates[g] / total_rate
            # Horner: the loss of each application of M is M's fired fraction times
            # its argument, and these losses add up to what the series loses.
            add_fired(fire_ptr, fire_cells, fire_fractions, group_jump[g], result, share, fired)
            add_clamped(clamps, group_jump[g], result, share, clamped)
            apply_matrix(matrices, group_jump[g], result, share, spare)
        result, spare = spare, result
    scale_into(result, 1.0, mass)
    return True


@njit(cache=True)
def advance_grid(matrices, fire_ptr, fire_cells, fire_fractions, firing_cells, clamps,
                 group_jump, reset_indptr, reset_indices, reset_data, group_rates, first_step,
                 n_steps, dt, mass, queue, queued, centres_v, centres_w, rate, total_mass,
                 mean_v, mean_w, clamped, work):
    """Advance `n_steps` steps from `first_step`; group_rates (groups, steps) in Hz,
    queue (refractory_steps + 1, n_cells) a ring of reset mass indexed by step and
    queued (refractory_steps + 1,) the mass in each of its slots. The motion is the
    last matrix of `matrices` and of the fire lists; the clamp lists have the jumps,
    the motion, then the reset mapping (its entries only for cells that can fire).
    clamped (steps, 3, edges): the mass clamped per step, mechanism and edge.

    The means are those of the mass in the mesh at mid-jump: the end of the step plus
    half the shift the step's jumps gave the mean. A step applies all of its jumps
    before the motion, so its end state lags the inputs by half a step (the mean of
    a conductance g decaying with tau under jumps h at rate r comes out r h dt / 2 low
    at the end of the step); the mid-jump state is the one of the scheme symmetric
    in the jumps (half the jumps, motion, half the jumps), to first order in dt."""
    weights = np.zeros(MAX_POISSON_TERMS)
    result, spare, fired = work[0], work[1], work[2]
    slots = queue.shape[0]
    motion = fire_ptr.shape[0] - 2
    start_mass, start_v, start_w = moments(mass, centres_v, centres_w)
    for step in range(first_step, first_step + n_steps):
        for cell in firing_cells:
            fired[cell] = 0.0
        shift_v = 0.0
        shift_w = 0.0
        if grid_jumps(matrices, fire_ptr, fire_cells, fire_fractions, clamps, group_jump,
                      group_rates[:, step], dt, weights, mass, result, spare, fired,
                      clamped[step, CLAMP_JUMP]):
            jumped_mass, jumped_v, jumped_w = moments(mass, centres_v, centres_w)
            if jumped_mass > 0.0 and start_mass > 0.0:
                shift_v = jumped_v / jumped_mass - start_v / start_mass
                shift_w = jumped_w / jumped_mass - start_w / start_mass
        add_fired(fire_ptr, fire_cells, fire_fractions, motion, mass, 1.0, fired)
        add_clamped(clamps, motion, mass, 1.0, clamped[step, CLAMP_MOTION])
        add_clamped(clamps, motion + 1, fired, 1.0, clamped[step, CLAMP_RESET])
        # What fired now comes back `slots - 1` steps later; the slot it comes back
        # from (`back`, the same one without refractoriness) receives the moved mass
        # and becomes the new mass.
        slot = step % slots
        back = (step + 1) % slots
        spikes = 0.0
        compensation = 0.0
        for cell in firing_cells:
            value = fired[cell]
            if value == 0.0:
                continue
            t = spikes + value
            compensation += (spikes - t) + value if spikes >= value else (value - t) + spikes
            spikes = t
            for k in range(reset_indptr[cell], reset_indptr[cell + 1]):
                queue[slot, reset_indices[k]] += reset_data[k] * value
        spikes += compensation
        queued[slot] += spikes
        apply_matrix(matrices, motion, mass, 1.0, queue[back])
        in_mesh, sum_v, sum_w = settle(queue[back], mass, centres_v, centres_w)
        queued[back] = 0.0
        rate[step] = spikes / dt
        total_mass[step] = in_mesh + exact_sum(queued)
        mean_v[step] = _mean(in_mesh, sum_v) + 0.5 * shift_v
        mean_w[step] = _mean(in_mesh, sum_w) + 0.5 * shift_w
        start_mass, start_v, start_w = in_mesh, sum_v, sum_w
