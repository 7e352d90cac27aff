"""Numba kernels of the 1D diffusion mesh (meshgen.diffusion_1d): plain functions over
arrays.

The density lives on n equal cells of width `width` from `lowest` to the threshold.
Its generator over one step, L, has three parts (solver.diffusion_1d says which input
goes where):

* drift F(v) of the model plus the mean drift mu = sum_g r_g h_g of the connections
  taken in the diffusion limit, with their diffusion D = sum_g r_g h_g^2 / 2, as the
  Scharfetter-Gummel flux between neighbouring cells: exact for constant coefficients
  on a cell, so it adds no numerical diffusion where drift dominates (upwind would
  add |F| width / 2, 3% of Brunel's D at 0.1 mV cells);
* an absorbing threshold half a cell above the last centre (the density vanishes
  there): its flux is the firing rate;
* the exact jumps of the other connections: column j sends rate r_g of its mass to
  the cells its interval lands on, shifted by h_g (two cells, by overlap), beyond the
  threshold (fired) or, below the lowest cell, into it (clamped).

A step is implicit Euler, (I - dt L) m' = m: the matrix is an M-matrix, banded (one
cell each way for diffusion, |h| / width for jumps), solved by elimination without
pivoting in O(n x bands), whatever the number of jumps per step. Mass stays
non-negative, the threshold flux is the only loss, and the stationary state of the
step is the null vector of L itself, whatever dt (so `miind steady` solves L).

Band layout (LAPACK's, without pivot rows): band[upper + i - j, j] = A[i, j].
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def face_rates(drift, diffusion, width, at_threshold):
    """The rates (per unit of mass) up from the cell below a face and down from the
    cell above it, for the drift and diffusion there. The threshold face is half a
    cell from the last centre, where the density vanishes."""
    distance = 0.5 * width if at_threshold else width
    if diffusion > 0.0:
        # Scharfetter-Gummel: down = D B(x) / (distance width), up = D B(-x) / (...),
        # B(x) = x / (exp(x) - 1), x the cell's Peclet number. Both from exp(-|x|) <= 1:
        # no overflow when the diffusion is tiny, and no cancellation (B(x) + x would
        # give a negative rate at x << 0).
        peclet = drift * distance / diffusion
        scale = diffusion / (distance * width)
        if abs(peclet) < 1e-8:
            return scale * (1.0 + 0.5 * peclet), scale * (1.0 - 0.5 * peclet)
        size = abs(peclet)
        along = scale * size / -np.expm1(-size)  # with the drift
        against = along * np.exp(-size)
        return (along, against) if peclet > 0 else (against, along)
    return max(drift, 0.0) / width, max(-drift, 0.0) / width


@njit(cache=True)
def fill_generator(face_drift, width, mu, diffusion, jump_rate, jump_shift, jump_fraction,
                   upper, band, fired):
    """Fill `band` with L (cells x cells, band layout with `upper` bands above the
    diagonal) and `fired` with each cell's rate of loss through the threshold.

    face_drift: (n + 1,) F at the cell faces, face k below cell k, face n the threshold.
    jump_rate, jump_shift, jump_fraction: per exact-jump group, its rate and its jump in
    cells, floor(h / width) and the remaining fraction."""
    n = fired.shape[0]
    band[:, :] = 0.0
    fired[:] = 0.0
    for k in range(1, n + 1):
        up, down = face_rates(face_drift[k] + mu, diffusion, width, k == n)
        if k == n:
            fired[n - 1] += up
            band[upper, n - 1] -= up
            continue
        band[upper + 1, k - 1] += up  # A[k, k - 1]
        band[upper, k - 1] -= up
        band[upper - 1, k] += down  # A[k - 1, k]
        band[upper, k] -= down
    for g in range(jump_rate.shape[0]):
        rate = jump_rate[g]
        if rate <= 0.0:
            continue
        shift = jump_shift[g]
        fraction = jump_fraction[g]
        for j in range(n):
            band[upper, j] -= rate
            for target, share in ((j + shift, 1.0 - fraction), (j + shift + 1, fraction)):
                if share <= 0.0:
                    continue
                if target >= n:
                    fired[j] += rate * share
                else:
                    target = max(target, 0)
                    band[upper + target - j, j] += rate * share


@njit(cache=True)
def factor(band, upper, lower, dt):
    """Replace L in `band` by the LU factors of I - dt L (the multipliers below the
    diagonal). No pivoting: I - dt L is a column diagonally dominant M-matrix."""
    n = band.shape[1]
    for j in range(n):
        for row in range(band.shape[0]):
            band[row, j] *= -dt
        band[upper, j] += 1.0
    for k in range(n):
        pivot = band[upper, k]
        last_column = min(n - 1, k + upper)
        for i in range(k + 1, min(n - 1, k + lower) + 1):
            multiplier = band[upper + i - k, k] / pivot
            band[upper + i - k, k] = multiplier
            if multiplier == 0.0:
                continue
            for j in range(k + 1, last_column + 1):
                band[upper + i - j, j] -= multiplier * band[upper + k - j, j]


@njit(cache=True)
def substitute(band, upper, lower, mass):
    """mass <- (I - dt L)^-1 mass from the factors `factor` left in `band`."""
    n = mass.shape[0]
    for k in range(n):
        value = mass[k]
        if value != 0.0:
            for i in range(k + 1, min(n - 1, k + lower) + 1):
                mass[i] -= band[upper + i - k, k] * value
    for k in range(n - 1, -1, -1):
        value = mass[k]
        for j in range(k + 1, min(n - 1, k + upper) + 1):
            value -= band[upper + k - j, j] * mass[j]
        # The exact solution is non-negative; this only drops rounding below zero.
        mass[k] = max(value / band[upper, k], 0.0)


@njit(cache=True)
def factor_tridiagonal(face_drift, width, mu, diffusion, dt, band, fired):
    """For inputs in the diffusion limit only (L tridiagonal): the LU factors of
    I - dt L by Thomas' algorithm, in one pass with fill_generator's rates, into
    band[0] (A[k, k + 1]), band[1] (1 / the pivots) and band[2] (the multipliers)."""
    n = fired.shape[0]
    down_below = 0.0  # rate from cell k down through face k: none through the bottom
    up_into = 0.0  # rate from cell k - 1 up into k
    inverse_pivot = 1.0
    for k in range(n):
        up, down = face_rates(face_drift[k + 1] + mu, diffusion, width, k + 1 == n)
        diagonal = 1.0 + dt * (up + down_below)
        if k > 0:
            multiplier = -dt * up_into * inverse_pivot
            band[2, k] = multiplier
            diagonal -= multiplier * band[0, k - 1]
        inverse_pivot = 1.0 / diagonal
        band[1, k] = inverse_pivot
        band[0, k] = -dt * down
        fired[k] = up if k + 1 == n else 0.0
        up_into = up
        down_below = down


@njit(cache=True)
def substitute_tridiagonal(band, mass):
    """mass <- (I - dt L)^-1 mass from factor_tridiagonal's factors."""
    n = mass.shape[0]
    for k in range(1, n):
        mass[k] -= band[2, k] * mass[k - 1]
    mass[n - 1] = max(mass[n - 1] * band[1, n - 1], 0.0)
    for k in range(n - 2, -1, -1):
        mass[k] = max((mass[k] - band[0, k] * mass[k + 1]) * band[1, k], 0.0)


@njit(cache=True)
def place_reset(mass, reset_cells, reset_fractions, amount):
    for r in range(reset_cells.shape[0]):
        mass[reset_cells[r]] += amount * reset_fractions[r]


@njit(cache=True)
def advance_diffusion(face_drift, width, centres, group_efficacy, group_exact, jump_shift,
                      jump_fraction, upper, lower, reset_cells, reset_fractions,
                      reset_potential, refractory_steps, input_rates, first_step, n_steps, dt,
                      mass, queue, out_rate, out_mass, out_mean, band, fired):
    """Advance n_steps steps from step `first_step`, reading input_rates[g, step] (Hz) of
    each group g: in the diffusion limit (group_exact 0) or as exact jumps (1, its jump
    in cells jump_shift / jump_fraction). Mass that fires waits refractory_steps steps
    (split between two slots when fractional) in the ring `queue`, then re-enters at
    the reset cells."""
    n_groups = group_efficacy.shape[0]
    rates = np.zeros(n_groups)
    factored = np.full(n_groups, -1.0)  # the rates the factors in `band` are for
    tridiagonal = upper == 1 and lower == 1
    for g in range(n_groups):
        if group_exact[g]:
            tridiagonal = False
    length = queue.shape[0]
    whole = int(np.floor(refractory_steps))
    part = refractory_steps - whole
    for i in range(n_steps):
        step = first_step + i
        mu = 0.0
        diffusion = 0.0
        for g in range(n_groups):
            rate = input_rates[g, step]
            if group_exact[g]:
                rates[g] = rate
            else:
                rates[g] = 0.0
                mu += rate * group_efficacy[g]
                diffusion += 0.5 * rate * group_efficacy[g] * group_efficacy[g]
        released = queue[step % length]
        queue[step % length] = 0.0
        if released != 0.0:
            place_reset(mass, reset_cells, reset_fractions, released)
        changed = False
        for g in range(n_groups):
            if input_rates[g, step] != factored[g]:
                changed = True
            factored[g] = input_rates[g, step]
        if changed or step == first_step:
            if tridiagonal:
                factor_tridiagonal(face_drift, width, mu, diffusion, dt, band, fired)
            else:
                fill_generator(face_drift, width, mu, diffusion, rates, jump_shift,
                               jump_fraction, upper, band, fired)
                factor(band, upper, lower, dt)
        if tridiagonal:
            substitute_tridiagonal(band, mass)
        else:
            substitute(band, upper, lower, mass)
        lost = 0.0
        for j in range(mass.shape[0]):
            lost += fired[j] * mass[j]
        lost *= dt
        # Fired in this step, back at the reset refractory_steps steps after its end.
        queue[(step + 1 + whole) % length] += lost * (1.0 - part)
        queue[(step + 2 + whole) % length] += lost * part
        total = 0.0
        moment = 0.0
        for j in range(mass.shape[0]):
            total += mass[j]
            moment += mass[j] * centres[j]
        queued = 0.0
        for k in range(length):
            queued += queue[k]
        out_rate[step] = lost / dt
        out_mass[step] = total + queued
        out_mean[step] = moment + queued * reset_potential
