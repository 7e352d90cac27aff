"""Kernel of sparse gap-junction coupling (solver.gap_junctions)."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def sparse_gap_currents(indptr, partners, weights, v, out):
    """out[i] = sum_k weights[k] * (v[partners[k]] - v[i]) over neuron i's row k in
    indptr[i]:indptr[i + 1]. Differences first, not C v - (C 1) v: near synchrony the
    terms are small differences of large voltages, which this keeps exact."""
    for i in range(v.shape[0]):
        total = 0.0
        own = v[i]
        for k in range(indptr[i], indptr[i + 1]):
            total += weights[k] * (v[partners[k]] - own)
        out[i] = total
