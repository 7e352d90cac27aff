"""Gap junctions within a direct population: [[gap_junction]].

A junction between neurons i and j adds g (v_j - v_i) to dv_i/dt and g (v_i - v_j) to
dv_j/dt, where v is the model's first variable and g the junction's `conductance` in
1/s (the README tabulates what that is for each model kind). So neuron i's coupling is

    I_i = sum_j C_ij (v_j - v_i),   C = sum over junction tables of g * W,

with W the symmetric pair weights of a table's drawn graph, and sum_i I_i = 0.

Symmetry: the pairs are drawn as a directed graph A (A_ij: how many times neuron i drew
j) by solver.connectivity's NEST rules, and W is its symmetric part (A + A^T) / 2. So
all_to_all keeps every pair once (W = A), as NEST's all_to_all gap junctions do, a pair
pairwise_bernoulli draws in both directions is one junction and one drawn in a single
direction half of one, and each neuron's expected number of junctions is the rule's
in-degree (n_connections; probability x (N - 1)), as for connections. Autapses add
nothing (v_i - v_i = 0); one_to_one within a population is refused for that reason
(solver.sim_file).

Cost: an all_to_all table is summed through the mean, sum_j (v_j - v_i) = N (mean(v) -
v_i) (the j = i term is 0, so with or without autapses), O(N); the others as one CSR
of C, O(junctions) per step (solver.kernels_gap).

Time stepping: I_i is computed from the states at the start of each network step and
held through it, so every neuron still integrates on its own within the step (exactly
for LIF, by RK4 otherwise); the coupling is first order in dt (measured in the README).
Holding a current that pulls v towards its neighbours overshoots once lambda dt exceeds
1 (lambda the largest eigenvalue of the Laplacian of C, g N for all_to_all), so such
runs are refused (MAX_COUPLING_PER_STEP).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from meshgen.errors import ConfigError

from .connectivity import draw_connectivity
from .kernels_gap import sparse_gap_currents

# The largest lambda dt accepted. Over one held step the pattern of v along lambda's
# eigenvector becomes (1 - lambda dt) times itself (the leak aside): above 1 it changes
# sign every step, an oscillation of the scheme, not of the model (and above 2 it
# grows). The coupling's relative error is lambda dt / 2 (README, "Gap junctions"),
# so accurate runs keep lambda dt far below 1 anyway.
MAX_COUPLING_PER_STEP = 1.0
# Above this lambda dt a run is warned about. The held coupling's error is more than
# its 5% on the decay rate: neurons that cross the threshold in one step do not feel
# each other's reset in it, and strong coupling can end in another state. Measured
# (examples/synchrony/README.md): 8 regular spiking AdEx neurons all to all at 300 nS
# (lambda = 1,220 /s) lock (chi 1.00, R 1.00) at dt = 100 us, lambda dt = 0.12, and
# do not (0.915, 0.50) at 50, 25 and 10 us.
WARN_COUPLING_PER_STEP = 0.1


class GapCoupling(NamedTuple):
    """A population's gap junctions: I = mean_conductance * N * (mean(v) - v) from the
    all_to_all tables, plus sum_j C_ij (v_j - v_i) over the CSR (indptr, partners,
    weights) of the others (weights in 1/s; empty without them)."""

    mean_conductance: float  # 1/s, the sum of the all_to_all tables' g
    indptr: np.ndarray  # (N + 1,) int64
    partners: np.ndarray  # int32
    weights: np.ndarray  # float64, 1/s

    @property
    def sparse(self) -> bool:
        return self.partners.shape[0] > 0

    def largest_rate(self) -> float:
        """An upper bound of the largest eigenvalue of the coupling's Laplacian (1/s):
        exact, g N, for all_to_all; Gershgorin's 2 max_i sum_j C_ij for the rest."""
        n = len(self.indptr) - 1
        sparse = 0.0
        if self.sparse:
            owner = np.repeat(np.arange(n), np.diff(self.indptr))
            sparse = 2.0 * float(np.bincount(owner, self.weights, minlength=n).max())
        return self.mean_conductance * n + sparse

    def currents(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """I_i (v's unit per second) of the states `v`, into `out`."""
        if self.sparse:
            sparse_gap_currents(self.indptr, self.partners, self.weights, v, out)
        else:
            out[:] = 0.0
        if self.mean_conductance:
            out += self.mean_conductance * len(v) * (np.mean(v) - v)
        return out


def build_gap_coupling(junctions, n_neurons: int, dt: float, path: str) -> GapCoupling:
    """The coupling of one population's [[gap_junction]] tables
    (solver.sim_file.GapJunctionSpec); ConfigError naming the key if a rule cannot draw
    its pairs or the coupling is too strong for the step."""
    mean_conductance = 0.0
    rows, columns, values = [], [], []
    for junction in junctions:
        key = f"gap_junction.{junction.index}"
        if junction.connectivity == "all_to_all":
            mean_conductance += junction.conductance
            continue
        by_indegree = junction.connectivity == "fixed_indegree"
        drawn = draw_connectivity(
            junction.connectivity, n_neurons, n_neurons, seed=(junction.seed, junction.index),
            indegree=junction.n_connections, probability=junction.probability,
            autapses=junction.autapses, multapses=junction.multapses, same_population=True,
            path=path, key=f"{key}.n_connections" if by_indegree else f"{key}.connectivity")
        targets, sources = drawn.targets(), drawn.sources
        half = np.full(len(sources), 0.5 * junction.conductance)
        rows += [targets, sources]
        columns += [sources, targets]
        values += [half, half]
    coupling = _csr(rows, columns, values, n_neurons, mean_conductance)
    rate = coupling.largest_rate()
    per_step = rate * dt
    if per_step > MAX_COUPLING_PER_STEP:
        index = max(junctions, key=lambda j: j.conductance).index
        raise ConfigError(f"the gap junctions are too strong for the step: lambda dt = "
                          f"{per_step:.3g} exceeds {MAX_COUPLING_PER_STEP:g} (lambda = "
                          f"{rate:.4g} /s, the coupling's fastest rate, g N "
                          f"all to all; dt = {dt:g} s), where the coupling held over a step "
                          f"overshoots; set [simulation] dt <= "
                          f"{MAX_COUPLING_PER_STEP / rate:.3g}",
                          path=path, key=f"gap_junction.{index}.conductance")
    return coupling


def step_warning(coupling: GapCoupling, dt: float, population: str) -> str | None:
    """The run summary's warning for gap junctions too strong for an accurate step."""
    rate = coupling.largest_rate()
    if rate * dt <= WARN_COUPLING_PER_STEP:
        return None
    return (f"population '{population}': its gap junctions are held over steps of "
            f"{dt:g} s, lambda dt = {rate * dt:.3g} (lambda = {rate:.4g} /s); above "
            f"{WARN_COUPLING_PER_STEP:g} neurons that fire in one step miss each other's "
            f"reset and strong coupling may settle in another state: check with [simulation] "
            f"dt <= {WARN_COUPLING_PER_STEP / rate:.3g}")


def _csr(rows, columns, values, n: int, mean_conductance: float) -> GapCoupling:
    """C as CSR by row, duplicates (both directions of a pair, multapses) summed and
    the diagonal (autapses, which couple nothing) dropped."""
    if not rows:
        return GapCoupling(mean_conductance, np.zeros(n + 1, dtype=np.int64),
                           np.zeros(0, dtype=np.int32), np.zeros(0))
    row, column, value = (np.concatenate(x) for x in (rows, columns, values))
    keep = row != column
    row, column, value = row[keep].astype(np.int64), column[keep].astype(np.int64), value[keep]
    order = np.lexsort((column, row))
    pair = row[order] * n + column[order]
    first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    summed = np.add.reduceat(value[order], first) if len(first) else np.zeros(0)
    unique_row = row[order][first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(unique_row, minlength=n), out=indptr[1:])
    return GapCoupling(mean_conductance, indptr, column[order][first].astype(np.int32), summed)
