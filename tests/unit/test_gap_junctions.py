"""solver.gap_junctions against a dense numpy reference: the symmetric pair weights
of each rule, the coupling currents (sparse and through the mean), their sum (zero),
and the refusal of a coupling too strong for the step."""

from __future__ import annotations

import numpy as np
import pytest

from meshgen.errors import ConfigError
from solver.connectivity import draw_connectivity
from solver.gap_junctions import build_gap_coupling
from solver.sim_file import GapJunctionSpec

N = 60
DT = 1e-4
# Currents are sums of about N terms g (v_j - v_i) of size g * 20 mV: rounding leaves
# a few N eps of g * 20 mV * N, far below this (1/s * mV units, g ~ 1-10 /s here).
ROUNDING = 1e-9


def junction(rule="all_to_all", conductance=2.0, index=0, **fields) -> GapJunctionSpec:
    return GapJunctionSpec(index=index, population="p", conductance=conductance,
                           connectivity=rule, seed=7, **fields)


def dense_reference(spec: GapJunctionSpec, n: int) -> np.ndarray:
    """C = g (A + A^T) / 2 from the same draw, with A_ij the times i drew j."""
    if spec.connectivity == "all_to_all":
        a = np.ones((n, n))
    else:
        drawn = draw_connectivity(spec.connectivity, n, n, seed=(spec.seed, spec.index),
                                  indegree=spec.n_connections, probability=spec.probability,
                                  autapses=spec.autapses, multapses=spec.multapses,
                                  same_population=True)
        a = np.zeros((n, n))
        np.add.at(a, (drawn.targets(), drawn.sources), 1.0)
    return spec.conductance * (a + a.T) / 2


def dense_currents(c: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (c * (v[None, :] - v[:, None])).sum(axis=1)


RULES = [
    junction(),
    junction("fixed_indegree", n_connections=5),
    junction("fixed_indegree", n_connections=5, autapses=False, multapses=False),
    junction("pairwise_bernoulli", probability=0.1),
]


@pytest.mark.parametrize("spec", RULES, ids=lambda s: s.connectivity)
def test_currents_match_the_dense_reference_and_sum_to_zero(spec):
    v = np.random.default_rng(1).uniform(-70, -50, N)
    coupling = build_gap_coupling([spec], N, DT, "sim.toml")
    currents = coupling.currents(v, np.empty(N))
    np.testing.assert_allclose(currents, dense_currents(dense_reference(spec, N), v), rtol=0,
                               atol=ROUNDING, err_msg=spec.connectivity)
    # Each junction moves as much into one neuron as out of the other.
    assert abs(currents.sum()) < ROUNDING


def test_sparse_weights_are_symmetric_with_the_rules_mean_degree():
    spec = junction("fixed_indegree", n_connections=5, autapses=False)
    coupling = build_gap_coupling([spec], N, DT, "sim.toml")
    dense = np.zeros((N, N))
    rows = np.repeat(np.arange(N), np.diff(coupling.indptr))
    dense[rows, coupling.partners] = coupling.weights
    np.testing.assert_array_equal(dense, dense.T)
    # (A + A^T) / 2 keeps A's N x 5 pairs: 5 junctions of g per neuron on average.
    assert dense.sum() / (N * spec.conductance) == pytest.approx(5.0, rel=1e-12)


@pytest.mark.parametrize("complete", [
    junction("fixed_indegree", n_connections=N - 1, autapses=False, multapses=False),
    junction("pairwise_bernoulli", probability=1.0),
], ids=lambda s: s.connectivity)
def test_all_to_all_through_the_mean_equals_the_complete_sparse_graph(complete):
    v = np.random.default_rng(2).uniform(-70, -50, N)
    mean_path = build_gap_coupling([junction()], N, DT, "sim.toml")
    sparse_path = build_gap_coupling([complete], N, DT, "sim.toml")
    assert not mean_path.sparse and sparse_path.sparse
    np.testing.assert_allclose(mean_path.currents(v, np.empty(N)),
                               sparse_path.currents(v, np.empty(N)), rtol=0, atol=ROUNDING)
    assert mean_path.largest_rate() == pytest.approx(N * 2.0)


def test_tables_of_one_population_add_up():
    specs = [junction(conductance=1.0), junction("pairwise_bernoulli", conductance=3.0, index=1,
                                                  probability=0.2)]
    v = np.random.default_rng(3).uniform(-70, -50, N)
    both = build_gap_coupling(specs, N, DT, "sim.toml").currents(v, np.empty(N))
    reference = sum(dense_currents(dense_reference(s, N), v) for s in specs)
    np.testing.assert_allclose(both, reference, rtol=0, atol=ROUNDING)


def test_a_coupling_too_strong_for_the_step_is_refused_with_a_step():
    # g N dt = 200 x 60 x 1e-4 = 1.2 > 1.
    with pytest.raises(ConfigError, match=r"dt <= 8.33e-05") as caught:
        build_gap_coupling([junction(conductance=200.0, index=3)], N, DT, "sim.toml")
    assert caught.value.key == "gap_junction.3.conductance"
