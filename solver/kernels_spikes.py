"""Kernels of spike coupling between direct populations (solver.spike_coupling).

Plain functions over arrays: synapses grouped by source (CSR: a source's targets are
targets[indptr[j]:indptr[j + 1]]), a source population's recent spikes sorted by
time, and the arrivals of one window grouped by target neuron, which the direct
kernel (solver.codegen) merges with its Poisson input events.

A spike at time s reaches a synapse's target at max(s + delay, floor), where `floor`
is the end of the window the spike was emitted in: windows are never longer than the
shortest delay, so s + delay >= floor holds in exact arithmetic and the floor only
absorbs rounding (an arrival rounded into the window that made it would be lost).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def group_by_source(indptr, sources, n_source):
    """The synapses of CSR-by-target (indptr, sources) as CSR by source: (indptr int64,
    targets int32), each source's targets in ascending order (a counting sort)."""
    by_source = np.zeros(n_source + 1, dtype=np.int64)
    for k in range(sources.shape[0]):
        by_source[sources[k] + 1] += 1
    for j in range(n_source):
        by_source[j + 1] += by_source[j]
    cursor = by_source[:-1].copy()
    targets = np.empty(sources.shape[0], dtype=np.int32)
    for t in range(indptr.shape[0] - 1):
        for k in range(indptr[t], indptr[t + 1]):
            j = sources[k]
            targets[cursor[j]] = t
            cursor[j] += 1
    return by_source, targets


@njit(cache=True)
def gather_arrivals(times, ids, floors, t0, t1, indptr, targets, delay, efficacy, cursor,
                    out_time, out_value, fill):
    """The arrivals in [t0, t1) of the spikes (times, ids, floors) through the synapses.
    Without `fill`, count them: cursor[target] += 1. With it, write each at
    cursor[target] (then advanced) of out_time, and of out_value if the efficacies
    are per synapse. `delay` and `efficacy` have one value (for all) or one per
    synapse. Spikes are visited in time order, so with one delay each target's arrivals
    come out sorted by time."""
    constant = delay.shape[0] == 1
    for k in range(times.shape[0]):
        j = ids[k]
        if constant:
            arrival = max(times[k] + delay[0], floors[k])
            if arrival < t0 or arrival >= t1:
                continue
        for p in range(indptr[j], indptr[j + 1]):
            if not constant:
                arrival = max(times[k] + delay[p], floors[k])
                if arrival < t0 or arrival >= t1:
                    continue
            target = targets[p]
            slot = cursor[target]
            if fill:
                out_time[slot] = arrival
                if efficacy.shape[0] != 1:
                    out_value[slot] = efficacy[p]
            cursor[target] = slot + 1


@njit(cache=True)
def sort_segments(indptr, out_time, out_value, with_value):
    """Sort each segment indptr[t]:indptr[t + 1] of the arrivals by time (synapses with
    their own delays deliver out of order), and out_value with them if `with_value`."""
    for t in range(indptr.shape[0] - 1):
        lo, hi = indptr[t], indptr[t + 1]
        if hi - lo < 2:
            continue
        if not with_value:
            out_time[lo:hi] = np.sort(out_time[lo:hi])
            continue
        order = np.argsort(out_time[lo:hi], kind="mergesort")
        out_time[lo:hi] = out_time[lo:hi][order]
        out_value[lo:hi] = out_value[lo:hi][order]


@njit(cache=True)
def take_until(indptr, time, value, per_synapse, cursor, end, out_indptr, out_time, out_value):
    """From each segment (projection p, neuron i) of a chunk's sorted arrivals, the
    ones from cursor[p, i] up to (not including) time `end`, compacted into (out_indptr,
    out_time, out_value) of the same layout (values only where per_synapse[p]: the
    others are the projection's one efficacy); the cursors move past them."""
    taken = 0
    n = indptr.shape[1] - 1
    for p in range(indptr.shape[0]):
        for i in range(n):
            out_indptr[p, i] = taken
            k = cursor[p, i]
            stop = indptr[p, i + 1]
            while k < stop and time[k] < end:
                out_time[taken] = time[k]
                if per_synapse[p]:
                    out_value[taken] = value[k]
                taken += 1
                k += 1
            cursor[p, i] = k
        out_indptr[p, n] = taken
