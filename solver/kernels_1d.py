"""Numba kernels of the density solver: plain functions over arrays.

State layout (built by solver.network_1d from the mesh artifacts):

* `mass` holds every population's cells back to back. A strip is a ring buffer:
  logical cell q of strip s sits at physical index first[s] + (q - r) mod length[s],
  where r is the number of mesh steps the population has taken. Motion along the
  strip is r += 1; no mass is copied.
* Jumps are applied in logical order in a work buffer of n_cells + n_gaps entries
  (see meshgen.transitions_1d for the entry gaps), as the exact solution of the master
  equation over one mesh step (uniformization):

      m(t + dt) = sum_k Pois(k; L dt) M^k m,   M = sum_g (rate_g / L) M_g,  L = sum_g rate_g

  truncated where the Poisson tail falls below POISSON_TAIL; the tail's weight goes to
  the last term, so every term is column-stochastic and mass is conserved exactly.
  Where the cells can be ranked so that every jump goes up the ranks (jumps of one
  sign), the sum is taken in one pass over the ranks (apply_jumps_ranked, 2.5x faster);
  otherwise term by term (apply_jumps). Both compute the same sum.
* Mass crossing threshold (by a jump or by drift off a strip's end) waits in a
  refractory queue and re-enters at the reset cells.

Every function here is @njit(cache=True) and takes arrays and scalars only.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from .layout_1d import (MAX_POISSON_TERMS, POISSON_TAIL, RANKED_SLOTS, RANKED_TERMS,  # noqa: F401
                        Coupling, JumpRanks, Matrices, Mesh, State)


@njit(cache=True)
def physical_index(mesh, cell, step):
    strip = mesh.cell_strip[cell]
    if strip < 0:
        return cell
    length = mesh.strip_length[strip]
    return mesh.strip_first[strip] + (mesh.cell_position[cell] - step) % length


@njit(cache=True)
def gather_logical(mesh, mass, pop, step, out):
    """Copy the population's cells to `out` in logical order (out[:n_cells])."""
    base = mesh.cell_offset[pop]
    for i in range(mesh.stationary_offset[pop], mesh.stationary_offset[pop + 1]):
        cell = mesh.stationary_cells[i]
        out[cell - base] = mass[cell]
    for s in range(mesh.pop_strip_offset[pop], mesh.pop_strip_offset[pop + 1]):
        first = mesh.strip_first[s]
        length = mesh.strip_length[s]
        shift = step % length
        local = first - base
        # Logical q sits at physical first + (q - shift) mod length: two straight runs.
        out[local + shift:local + length] = mass[first:first + length - shift]
        out[local:local + shift] = mass[first + length - shift:first + length]


@njit(cache=True)
def scatter_logical(mesh, values, pop, step, mass):
    """The inverse of gather_logical."""
    base = mesh.cell_offset[pop]
    for i in range(mesh.stationary_offset[pop], mesh.stationary_offset[pop + 1]):
        cell = mesh.stationary_cells[i]
        mass[cell] = values[cell - base]
    for s in range(mesh.pop_strip_offset[pop], mesh.pop_strip_offset[pop + 1]):
        first = mesh.strip_first[s]
        length = mesh.strip_length[s]
        shift = step % length
        local = first - base
        mass[first:first + length - shift] = values[local + shift:local + length]
        mass[first + length - shift:first + length] = values[local:local + shift]


@njit(cache=True)
def poisson_weights(expected, weights):
    """Fill weights[k] = Pois(k; expected) until the tail is below POISSON_TAIL *
    expected; the last weight absorbs the tail. Returns the number of weights used."""
    weights[0] = np.exp(-expected)
    total = weights[0]
    count = 1
    while 1.0 - total > POISSON_TAIL * expected and count < MAX_POISSON_TERMS:
        weights[count] = weights[count - 1] * expected / count
        total += weights[count]
        count += 1
    weights[count - 1] += 1.0 - total
    return count


@njit(cache=True)
def exact_sum(values):
    """Neumaier's compensated sum: the rounding of a plain sum would be the same in
    every step of a steady state, and so would add up."""
    total = 0.0
    compensation = 0.0
    for value in values:
        t = total + value
        if abs(total) >= abs(value):
            compensation += (total - t) + value
        else:
            compensation += (value - t) + total
        total = t
    return total + compensation


@njit(cache=True)
def apply_jumps(matrices, coupling, pop, group_rates, total_rate, weights, n_terms,
                current, following, accumulated):
    """One mesh step of the jump master equation on the logical work buffer `current`.
    The result goes to `accumulated` (`following` is scratch); returns the mass that
    crossed threshold during the step.

    The series sum_k w_k M^k u is evaluated in Horner form, r <- w_k u + M r from the
    last term down, so each term costs one matrix-vector product and one pass that
    both clears and seeds the next buffer."""
    size = current.shape[0]
    before = exact_sum(current)
    result = accumulated
    spare = following
    last = n_terms - 1
    for i in range(size):
        result[i] = weights[last] * current[i]
    crossed = False
    for term in range(last - 1, -1, -1):
        weight = weights[term]
        for i in range(size):
            spare[i] = weight * current[i]
        for g in range(coupling.group_pop.shape[0]):
            if coupling.group_pop[g] != pop or group_rates[g] <= 0.0:
                continue
            share = group_rates[g] / total_rate
            m = coupling.group_matrix[g]
            pointer = matrices.indptr[matrices.indptr_offset[m]:matrices.indptr_offset[m + 1]]
            threshold = matrices.threshold_fraction[matrices.threshold_offset[m]:
                                                    matrices.threshold_offset[m] + size]
            for column in range(size):
                value = result[column]
                if value == 0.0:
                    continue
                value *= share
                if threshold[column] > 0.0:
                    crossed = True
                for k in range(uint64(pointer[column]), uint64(pointer[column + 1])):
                    spare[uint64(matrices.indices[k])] += matrices.data[k] * value
        result, spare = spare, result
    if n_terms % 2 == 0:  # the result ended in the caller's `following`
        for i in range(size):
            accumulated[i] = result[i]
    # What crossed is what left the cells: computed as the difference, the total of
    # cells plus crossed mass is conserved to rounding, with no systematic drift from
    # the weights or fractions.
    return max(before - exact_sum(accumulated), 0.0) if crossed else 0.0


@njit(cache=True)
def apply_jumps_ranked(ranks, pop, weights, n_terms, current, accumulated, lanes):
    """apply_jumps in one pass, for a population whose cells `ranks` orders so that
    every jump goes to a higher rank or stays in its cell (one jump matrix, n_terms <=
    RANKED_TERMS).

    The mass that has made k jumps, (M^k u) at a cell, depends only on the (k-1)-jump
    masses of lower ranks and of the cell itself, so all of a cell's k-jump masses are
    computed when it is reached, from the rows `lanes` already holds: lanes[t] = (u,
    Mu, M^2u, M^3u) at rank t. The cell then gets sum_k w_k M^k u.

    What crossed is, as in apply_jumps, the mass the cells lost, from compensated
    sums (exact_sum's) taken in the same pass. Computed from the threshold fractions
    instead (sum_k P(more than k jumps) theta.M^k u), it would miss the rounding of
    the matrix's column sums, the same in every step, and the total mass would drift
    (1e-12 in 15,000 steps); that formula only tells whether anything can have
    crossed."""
    first = ranks.pop_offset[pop]
    size = ranks.pop_offset[pop + 1] - first
    w0 = weights[0]
    w1 = weights[1] if n_terms > 1 else 0.0
    w2 = weights[2] if n_terms > 2 else 0.0
    w3 = weights[3] if n_terms > 3 else 0.0
    w4 = weights[4] if n_terms > 4 else 0.0
    beyond3 = w4
    beyond2 = w3 + beyond3
    beyond1 = w2 + beyond2
    beyond0 = w1 + beyond1
    # Flat views and unsigned indices: numba then neither reads 2D strides nor wraps
    # negative indices in the loop (20% of its time).
    flat = lanes.ravel()
    slot_source = ranks.slot_source.ravel()
    slot_weight = ranks.slot_weight.ravel()
    for k in range(4):
        flat[4 * size + k] = 0.0  # the row unused slots read
    # Ranks below the lowest that holds mass receive none (their sources rank lower
    # still), so the pass starts there: a mesh's range often reaches well below where
    # the mass lives (the public case: 380 of 980 ranks).
    start = 0
    while start < size and current[uint64(ranks.cell[first + start])] == 0.0:
        accumulated[uint64(ranks.cell[first + start])] = 0.0
        start += 1
    flat[:4 * start] = 0.0
    reached = 0.0
    before = 0.0
    before_error = 0.0
    after = 0.0
    after_error = 0.0
    for t in range(start, size):
        r = uint64(first + t)
        m1 = 0.0
        m2 = 0.0
        m3 = 0.0
        m4 = 0.0
        for j in range(RANKED_SLOTS):
            e = uint64(RANKED_SLOTS) * r + uint64(j)
            s = uint64(4) * uint64(slot_source[e])
            w = slot_weight[e]
            m1 += w * flat[s]
            m2 += w * flat[s + uint64(1)]
            m3 += w * flat[s + uint64(2)]
            m4 += w * flat[s + uint64(3)]
        for e in range(uint64(ranks.extra_offset[r]), uint64(ranks.extra_offset[r + uint64(1)])):
            s = uint64(4) * uint64(ranks.extra_source[e])
            w = ranks.extra_weight[e]
            m1 += w * flat[s]
            m2 += w * flat[s + uint64(1)]
            m3 += w * flat[s + uint64(2)]
            m4 += w * flat[s + uint64(3)]
        cell = uint64(ranks.cell[r])
        m0 = current[cell]
        stay = ranks.diagonal[r]
        if stay != 0.0:  # jumps shorter than the cell (coarse meshes, stationary cells)
            m1 += stay * m0
            m2 += stay * m1
            m3 += stay * m2
            m4 += stay * m3
        row = uint64(4) * uint64(t)
        flat[row] = m0
        flat[row + uint64(1)] = m1
        flat[row + uint64(2)] = m2
        flat[row + uint64(3)] = m3
        jumped = (w0 * m0 + w1 * m1) + (w2 * m2 + (w3 * m3 + w4 * m4))
        accumulated[cell] = jumped
        reached += ranks.theta[r] * ((beyond0 * m0 + beyond1 * m1) + (beyond2 * m2 + beyond3 * m3))
        # Neumaier's sums of the cells before and after (masses are >= 0).
        total = before + m0
        before_error += (before - total) + m0 if before >= m0 else (m0 - total) + before
        before = total
        total = after + jumped
        after_error += (after - total) + jumped if after >= jumped else (jumped - total) + after
        after = total
    if reached == 0.0:
        return 0.0
    return max((before + before_error) - (after + after_error), 0.0)


@njit(cache=True)
def advance_strips(mesh, mass, pop, step):
    """Move every strip of the population one cell; returns the mass that ran off
    a strip's end into the threshold. Mass running into a stationary cell stays."""
    crossed = 0.0
    for s in range(mesh.pop_strip_offset[pop], mesh.pop_strip_offset[pop + 1]):
        first = mesh.strip_first[s]
        length = mesh.strip_length[s]
        slot = first + (length - 1 - step % length + length) % length
        leaving = mass[slot]
        mass[slot] = 0.0
        terminal = mesh.strip_terminal[s]
        if terminal < 0:
            crossed += leaving
        else:
            mass[terminal] += leaving
    return crossed


@njit(cache=True)
def split(amount, fraction):
    """(amount * (1 - fraction), amount * fraction) whose sum is `amount` exactly in
    floating point: the larger part is multiplied out and the smaller is the exact
    difference (Sterbenz), so repeated splits never make mass drift one way."""
    if fraction <= 0.5:
        small = amount * fraction
        return amount - small, small
    large = amount * fraction
    return amount - large, large


@njit(cache=True)
def enqueue(queue, step, delay, mass):
    """Schedule `mass` to re-enter at mesh step `step + delay`, split between the two
    neighbouring steps when the delay is not a whole number of steps."""
    whole = int(np.floor(delay))
    part = delay - whole
    length = queue.shape[0]
    now, later = split(mass, part)
    queue[(step + whole) % length] += now
    queue[(step + whole + 1) % length] += later


@njit(cache=True)
def place_at_reset(mesh, mass, pop, step, amount, drift_steps):
    """Put `amount` at the reset, moved `drift_steps` (< 1) of a step along its strip:
    the cells of a strip are one step apart, so that is a shift by a fraction of a
    cell. Stationary reset cells do not move."""
    left = amount
    last = mesh.reset_offset[pop + 1] - 1
    for r in range(mesh.reset_offset[pop], last + 1):
        cell = mesh.reset_cells[r]
        share = left if r == last else amount * mesh.reset_fractions[r]
        left -= share
        strip = mesh.cell_strip[cell]
        if drift_steps > 0.0 and strip >= 0 and \
                mesh.cell_position[cell] + 1 < mesh.strip_length[strip]:
            share, moved = split(share, drift_steps)
            mass[physical_index(mesh, cell + 1, step)] += moved
        mass[physical_index(mesh, cell, step)] += share


@njit(cache=True)
def schedule_reset(mesh, state, pop, step, delay, amount):
    """Mass that crossed threshold re-enters at the reset `delay` steps after the end
    of mesh step `step`; a negative delay (refractory period shorter than the time
    since the crossing) means it is already drifting from the reset by then."""
    if amount == 0.0:
        return
    if delay < 0.0:
        place_at_reset(mesh, state.mass, pop, step, amount, -delay)
    else:
        enqueue(state.refractory_queue[pop], step, delay, amount)


@njit(cache=True)
def run_moments(mass, centres, mass_first, centre_first, count):
    """(sum of mass, sum of mass * centre) over `count` consecutive cells, with four
    partial sums: one running sum would wait on each addition before the next."""
    m0 = m1 = m2 = m3 = 0.0
    c0 = c1 = c2 = c3 = 0.0
    whole = count - count % 4
    for i in range(0, whole, 4):
        a = uint64(mass_first + i)  # unsigned: no wrapping of negative indices
        b = uint64(centre_first + i)
        m0 += mass[a]
        m1 += mass[a + uint64(1)]
        m2 += mass[a + uint64(2)]
        m3 += mass[a + uint64(3)]
        c0 += mass[a] * centres[b]
        c1 += mass[a + uint64(1)] * centres[b + uint64(1)]
        c2 += mass[a + uint64(2)] * centres[b + uint64(2)]
        c3 += mass[a + uint64(3)] * centres[b + uint64(3)]
    for i in range(whole, count):
        m0 += mass[mass_first + i]
        c0 += mass[mass_first + i] * centres[centre_first + i]
    return (m0 + m1) + (m2 + m3), (c0 + c1) + (c2 + c3)


@njit(cache=True)
def population_moments(mesh, mass, pop, step):
    """The population's mass on the mesh and the sum of its mass times v."""
    total = 0.0
    moment = 0.0
    for i in range(mesh.stationary_offset[pop], mesh.stationary_offset[pop + 1]):
        cell = mesh.stationary_cells[i]
        total += mass[cell]
        moment += mass[cell] * mesh.centres[cell]
    for s in range(mesh.pop_strip_offset[pop], mesh.pop_strip_offset[pop + 1]):
        first = mesh.strip_first[s]
        length = mesh.strip_length[s]
        shift = step % length
        # Logical q sits at physical first + (q - shift) mod length: two straight runs.
        part, part_moment = run_moments(mass, mesh.centres, first, first + shift, length - shift)
        total += part
        moment += part_moment
        part, part_moment = run_moments(mass, mesh.centres, first + length - shift, first, shift)
        total += part
        moment += part_moment
    return total, moment


@njit(cache=True)
def group_input_rates(coupling, state, input_rates, step, group_rates):
    """Fill group_rates with each (population, matrix) group's total input rate in
    network step `step`: Poisson inputs from the table, populations from their rate
    history with the connection's delay, interpolated between whole steps as
    solver.population.delayed_rates does."""
    history_length = state.rate_history.shape[1]
    for g in range(group_rates.shape[0]):
        group_rates[g] = 0.0
    for c in range(coupling.conn_group.shape[0]):
        source = coupling.conn_source_pop[c]
        if source < 0:
            rate = input_rates[coupling.conn_source_input[c], step]
        else:
            delay = coupling.conn_delay[c]
            whole = int(np.floor(delay))
            part = delay - whole
            rate = 0.0
            if step - whole >= 0:
                rate += (1.0 - part) * state.rate_history[source, (step - whole) % history_length]
            if step - whole - 1 >= 0 and part > 0.0:
                rate += part * state.rate_history[source, (step - whole - 1) % history_length]
        group_rates[coupling.conn_group[c]] += coupling.conn_count[c] * rate


@njit(cache=True)
def record_step(mesh, state, pop, step, rate, out_rate, out_mass, out_mean):
    """Keep the population's rate in its history (for the populations it feeds) and
    write its rate, total mass (refractory included) and mean v of network step `step`."""
    state.rate_history[pop, step % state.rate_history.shape[1]] = rate
    queued = 0.0
    for k in range(state.refractory_queue.shape[1]):
        queued += state.refractory_queue[pop, k]
    on_mesh, moment = population_moments(mesh, state.mass, pop, state.pop_step[pop])
    out_rate[pop, step] = rate
    out_mass[pop, step] = on_mesh + queued
    out_mean[pop, step] = moment + queued * mesh.reset_potential[pop]


@njit(cache=True)
def advance_network(mesh, matrices, coupling, ranks, state, input_rates, first_step, n_steps,
                    dt_network, out_rate, out_mass, out_mean, work, lanes):
    """Advance the network by n_steps network steps starting at step index first_step,
    recording each population's rate (Hz), total mass and mean v of every step in
    column `step` of the output arrays."""
    n_pops = mesh.cell_offset.shape[0] - 1
    n_groups = coupling.group_pop.shape[0]
    queue_length = state.refractory_queue.shape[1]
    group_rates = np.zeros(n_groups)
    weights = np.zeros(MAX_POISSON_TERMS)
    for i in range(n_steps):
        step = first_step + i
        group_input_rates(coupling, state, input_rates, step, group_rates)

        for pop in range(n_pops):
            total_rate = 0.0
            for g in range(n_groups):
                if coupling.group_pop[g] == pop:
                    total_rate += group_rates[g]
            substeps = mesh.substeps[pop]
            block = mesh.jump_interval[pop]
            mesh_dt = dt_network / substeps
            n_terms = poisson_weights(total_rate * mesh_dt * block, weights) if total_rate > 0.0 else 1
            n_cells = mesh.cell_offset[pop + 1] - mesh.cell_offset[pop]
            n_gaps = mesh.gap_offset[pop + 1] - mesh.gap_offset[pop]
            size = n_cells + n_gaps
            current = work[0, :size]
            following = work[1, :size]
            accumulated = work[2, :size]
            ranked = ranks.pop_offset[pop + 1] > ranks.pop_offset[pop]
            fired = 0.0
            for sub in range(substeps):
                mesh_step = state.pop_step[pop]
                jumping = total_rate > 0.0 and sub % block == 0
                crossed_by_jumps = 0.0
                if jumping:
                    gather_logical(mesh, state.mass, pop, mesh_step, current)
                    for gap in range(n_gaps):
                        current[n_cells + gap] = 0.0
                    if ranked and n_terms <= RANKED_TERMS:
                        crossed_by_jumps = apply_jumps_ranked(ranks, pop, weights, n_terms,
                                                              current, accumulated, lanes)
                    else:
                        crossed_by_jumps = apply_jumps(matrices, coupling, pop, group_rates,
                                                       total_rate, weights, n_terms, current,
                                                       following, accumulated)
                    scatter_logical(mesh, accumulated, pop, mesh_step, state.mass)
                crossed_by_drift = advance_strips(mesh, state.mass, pop, mesh_step)
                mesh_step += 1
                state.pop_step[pop] = mesh_step
                if total_rate > 0.0 and (sub + 1) % block == 0:
                    # Entry gaps join the strips once the block's moves are done.
                    for gap in range(n_gaps):
                        cell = mesh.gap_entry_cell[mesh.gap_offset[pop] + gap]
                        state.mass[physical_index(mesh, cell, mesh_step)] += accumulated[n_cells + gap]
                # Re-entry after the refractory period, timed from when the mass crossed,
                # in steps after the end of this step: drift crossings happen on average
                # half a step before it, jump crossings at the middle of the block.
                refractory = mesh.refractory_steps[pop]
                schedule_reset(mesh, state, pop, mesh_step, refractory - 0.5, crossed_by_drift)
                if jumping:
                    schedule_reset(mesh, state, pop, mesh_step, refractory + 0.5 * block - 1.0,
                                   crossed_by_jumps)
                queue = state.refractory_queue[pop]
                released = queue[mesh_step % queue_length]
                queue[mesh_step % queue_length] = 0.0
                if released != 0.0:
                    place_at_reset(mesh, state.mass, pop, mesh_step, released, 0.0)
                fired += crossed_by_jumps + crossed_by_drift
            record_step(mesh, state, pop, step, fired / dt_network, out_rate, out_mass, out_mean)
