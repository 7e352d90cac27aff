"""Solver kernels against dense numpy/scipy references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse, stats
from scipy.linalg import expm

from solver.kernels_1d import (MAX_POISSON_TERMS, POISSON_TAIL, RANKED_TERMS, Coupling, Matrices,
                               Mesh, State, apply_jumps, apply_jumps_ranked, gather_logical,
                               group_input_rates, poisson_weights, scatter_logical)
from solver.network_1d import jump_ranks
from solver.population import delayed_rates


@pytest.mark.parametrize("expected", [1e-4, 0.07, 0.5, 3.0])
def test_poisson_weights_match_scipy(expected):
    weights = np.zeros(MAX_POISSON_TERMS)
    count = poisson_weights(expected, weights)
    assert weights[:count].sum() == pytest.approx(1.0, abs=1e-15)
    pmf = stats.poisson.pmf(np.arange(count), expected)
    np.testing.assert_allclose(weights[:count - 1], pmf[:count - 1], rtol=1e-12)
    assert stats.poisson.sf(count - 1, expected) <= POISSON_TAIL * expected


def random_stochastic(size, rng, density=0.3):
    """A random column-substochastic matrix plus its threshold column (sums to 1)."""
    m = sparse.random(size, size, density=density, random_state=rng, format="csc")
    m.data[:] = rng.random(m.nnz)
    threshold = rng.random(size) * 0.3
    sums = np.asarray(m.sum(axis=0)).ravel()
    scale = np.where(sums > 0, (1 - threshold) / np.where(sums > 0, sums, 1), 0.0)
    threshold = np.where(sums > 0, threshold, 1.0)
    m = sparse.csc_matrix(m @ sparse.diags(scale))
    m.sort_indices()
    return m, threshold


def test_apply_jumps_is_the_master_equation_solution():
    """Uniformization against expm of the generator, with threshold as an absorbing state."""
    rng = np.random.default_rng(0)
    size = 12
    rates = np.array([300.0, 700.0])
    step = 2e-4
    mats = [random_stochastic(size, rng) for _ in rates]
    matrices = Matrices(
        indptr_offset=np.array([0, size + 1, 2 * (size + 1)], np.int64),
        indptr=np.concatenate([mats[0][0].indptr, mats[1][0].indptr + mats[0][0].nnz]).astype(np.int64),
        indices=np.concatenate([m.indices for m, _ in mats]).astype(np.int64),
        data=np.concatenate([m.data for m, _ in mats]),
        threshold_offset=np.array([0, size], np.int64),
        threshold_fraction=np.concatenate([t for _, t in mats]))
    coupling = Coupling(group_pop=np.zeros(2, np.int64), group_matrix=np.arange(2, dtype=np.int64),
                        conn_group=np.zeros(0, np.int64), conn_source_pop=np.zeros(0, np.int64),
                        conn_source_input=np.zeros(0, np.int64), conn_count=np.zeros(0),
                        conn_delay=np.zeros(0))
    start = rng.random(size)
    start /= start.sum()
    weights = np.zeros(MAX_POISSON_TERMS)
    total = rates.sum()
    count = poisson_weights(total * step, weights)
    current, following, accumulated = start.copy(), np.zeros(size), np.zeros(size)
    crossed = apply_jumps(matrices, coupling, 0, rates, total, weights, count, current,
                          following, accumulated)

    generator = np.zeros((size + 1, size + 1))
    for rate, (m, threshold) in zip(rates, mats):
        block = np.zeros((size + 1, size + 1))
        block[:size, :size] = m.toarray()
        block[size, :size] = threshold
        block[size, size] = 1.0
        generator += rate * (block - np.eye(size + 1))
    exact = expm(generator * step) @ np.concatenate([start, [0.0]])
    # Only the truncated Poisson tail may differ: at most POISSON_TAIL x expected jumps.
    bound = POISSON_TAIL * total * step
    np.testing.assert_allclose(accumulated, exact[:size], atol=bound)
    assert crossed == pytest.approx(exact[size], abs=bound)
    assert accumulated.sum() + crossed == pytest.approx(1.0, abs=1e-14)


def forward_matrix(size, rng, backward=False, diagonal=False):
    """A jump matrix on cells in a shuffled order whose jumps all go up a hidden
    ranking (one to five targets each, some cells crossing threshold), packed as the
    kernels take it; `backward` adds one jump down the ranking, `diagonal` jumps that
    stay in their cell."""
    hidden = rng.permutation(size)  # hidden[k]: the cell at rank k
    rows, cols, vals = [], [], []
    threshold = np.zeros(size)
    for k in range(size):
        targets = hidden[k + 1:k + 1 + rng.integers(1, 6)]
        shares = rng.random(len(targets) + 1)
        shares /= shares.sum()
        rows += targets.tolist()
        cols += [hidden[k]] * len(targets)
        vals += shares[:-1].tolist()
        threshold[hidden[k]] = shares[-1] if len(targets) < 5 else 0.0
        if len(targets) == 5:
            vals[-1] += shares[-1]
    if backward:
        rows.append(hidden[0])
        cols.append(hidden[-1])
        vals.append(threshold[hidden[-1]] / 2)
        threshold[hidden[-1]] /= 2
    if diagonal:  # half of what some cells send past threshold stays in them instead
        for cell in hidden[size // 2:]:
            rows.append(cell)
            cols.append(cell)
            vals.append(threshold[cell] / 2)
            threshold[cell] /= 2
    m = sparse.csc_matrix((vals, (rows, cols)), shape=(size, size))
    m.sum_duplicates()
    matrices = Matrices(indptr_offset=np.array([0, size + 1], np.int64),
                        indptr=m.indptr.astype(np.int64), indices=m.indices.astype(np.int64),
                        data=m.data, threshold_offset=np.zeros(1, np.int64),
                        threshold_fraction=threshold)
    coupling = Coupling(group_pop=np.zeros(1, np.int64), group_matrix=np.zeros(1, np.int64),
                        conn_group=np.zeros(0, np.int64), conn_source_pop=np.zeros(0, np.int64),
                        conn_source_input=np.zeros(0, np.int64), conn_count=np.zeros(0),
                        conn_delay=np.zeros(0))
    return matrices, coupling


@pytest.mark.parametrize("expected", [1e-3, 0.07, 0.17])
@pytest.mark.parametrize("diagonal", [False, True])
@pytest.mark.parametrize("empty_below", [0, 15])
def test_ranked_jumps_are_the_term_by_term_sum(expected, diagonal, empty_below):
    """apply_jumps_ranked (one pass over the cells in an order every jump goes up, or
    stays in its cell) gives apply_jumps's cells and crossed mass, on a matrix whose
    order must be found; also when the lowest ranks hold no mass (the pass starts
    above them), over scratch and output left over from other steps."""
    rng = np.random.default_rng(5)
    size = 40
    matrices, coupling = forward_matrix(size, rng, diagonal=diagonal)
    ranks = jump_ranks([size], matrices, coupling)
    assert ranks.pop_offset.tolist() == [0, size]
    assert len(ranks.extra_source) > 0  # some cells have more sources than slots
    assert (np.count_nonzero(ranks.diagonal) > 0) == diagonal
    weights = np.zeros(MAX_POISSON_TERMS)
    count = poisson_weights(expected, weights)
    assert count <= RANKED_TERMS
    start = rng.random(size)
    start[ranks.cell[:empty_below]] = 0.0
    start /= start.sum()
    rates = np.array([1000.0])
    by_terms = np.zeros(size)
    crossed_by_terms = apply_jumps(matrices, coupling, 0, rates, 1000.0, weights, count,
                                   start.copy(), np.zeros(size), by_terms)
    ranked = np.full(size, 7.0)
    crossed = apply_jumps_ranked(ranks, 0, weights, count, start, ranked,
                                 np.full((size + 1, 4), 7.0))
    np.testing.assert_allclose(ranked, by_terms, rtol=0, atol=1e-16)
    assert crossed == pytest.approx(crossed_by_terms, abs=1e-15)
    assert crossed > 0.1 * expected  # threshold fractions of about a quarter
    assert ranked.sum() + crossed == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("flaw", ["backward", "two groups"])
def test_jumps_without_a_forward_order_are_not_ranked(flaw):
    """A jump down the ranking (inhibition with excitation) or two matrices (whose
    shares change step by step) leave the population to apply_jumps."""
    rng = np.random.default_rng(6)
    size = 20
    matrices, coupling = forward_matrix(size, rng, backward=flaw == "backward")
    if flaw == "two groups":
        coupling = coupling._replace(group_pop=np.zeros(2, np.int64),
                                     group_matrix=np.zeros(2, np.int64))
    ranks = jump_ranks([size], matrices, coupling)
    assert ranks.pop_offset.tolist() == [0, 0]


@pytest.mark.parametrize("inputs, ranked", [(((1.0, 1000.0),), True),
                                             (((1.0, 1000.0), (-1.0, 300.0)), False)])
def test_which_strip_populations_take_the_ranked_pass(tmp_path, inputs, ranked):
    """The public case's jumps (one efficacy, up) take apply_jumps_ranked; excitation
    with inhibition (two matrices, jumps both ways) the term-by-term sum."""
    from meshgen.build import build_mesh
    from solver.assembly import build_simulation
    from solver.sim_file import read_simulation_file
    from tests.support.studies import write_lif_files

    model, simulation_file = write_lif_files(tmp_path, inputs=inputs, t_end=1e-3, lowest=-75.0,
                                             mesh_lines="cells_per_efficacy = 3")
    build_mesh(model, tmp_path / "mesh.h5", [])
    network = build_simulation(read_simulation_file(simulation_file)).populations[0].network
    artifact = network.artifacts[0]
    size = artifact.n_cells + len(artifact.gap_entry_cell)
    assert network.ranks.pop_offset.tolist() == [0, size if ranked else 0]


def test_gather_and_scatter_follow_the_ring_offset():
    # One population: a strip of 5 cells then 2 stationary cells.
    mesh = Mesh(cell_offset=np.array([0, 7], np.int64),
                cell_strip=np.array([0, 0, 0, 0, 0, -1, -1], np.int64),
                stationary_offset=np.array([0, 2], np.int64),
                stationary_cells=np.array([5, 6], np.int64),
                cell_position=np.array([0, 1, 2, 3, 4, 0, 0], np.int64),
                centres=np.arange(7.0), strip_first=np.array([0], np.int64),
                strip_length=np.array([5], np.int64), strip_terminal=np.array([5], np.int64),
                pop_strip_offset=np.array([0, 1], np.int64), gap_offset=np.array([0, 0], np.int64),
                gap_entry_cell=np.zeros(0, np.int64), reset_offset=np.array([0, 0], np.int64),
                reset_cells=np.zeros(0, np.int64), reset_fractions=np.zeros(0),
                reset_potential=np.zeros(1), refractory_steps=np.zeros(1),
                substeps=np.ones(1, np.int64), jump_interval=np.ones(1, np.int64))
    logical = np.arange(7.0) + 1
    for step in range(12):
        mass = np.zeros(7)
        scatter_logical(mesh, logical, 0, step, mass)
        # Logical cell q of the strip sits at (q - step) mod 5.
        for q in range(5):
            assert mass[(q - step) % 5] == logical[q]
        out = np.zeros(7)
        gather_logical(mesh, mass, 0, step, out)
        np.testing.assert_array_equal(out, logical)


@pytest.mark.parametrize("delay", [1.0, 1.25, 3.5, 7.0])
def test_the_kernel_reads_delayed_rates_as_the_engine_feeds_them(delay):
    """The 1D kernel's delayed population rates (group_input_rates, from its rate
    history) equal the engine's (solver.population.delayed_rates, from the rates of
    the whole run): one rule, in both places it is needed."""
    rng = np.random.default_rng(3)
    n_steps, history = 40, 12
    rates = rng.random(n_steps) * 50.0
    coupling = Coupling(group_pop=np.zeros(1, np.int64), group_matrix=np.zeros(1, np.int64),
                        conn_group=np.zeros(1, np.int64), conn_source_pop=np.zeros(1, np.int64),
                        conn_source_input=np.full(1, -1, np.int64), conn_count=np.array([2.0]),
                        conn_delay=np.array([delay]))
    state = State(mass=np.zeros(1), pop_step=np.zeros(1, np.int64),
                  refractory_queue=np.zeros((1, 2)), rate_history=np.zeros((1, history)))
    from_kernel = np.zeros(n_steps)
    group_rates = np.zeros(1)
    for step in range(n_steps):
        group_input_rates(coupling, state, np.zeros((1, n_steps)), step, group_rates)
        from_kernel[step] = group_rates[0]
        state.rate_history[0, step % history] = rates[step]  # the step's own rate, after it
    expected = 2.0 * delayed_rates(rates, np.arange(n_steps), delay)
    np.testing.assert_array_equal(from_kernel, expected)
