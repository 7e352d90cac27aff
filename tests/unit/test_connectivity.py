"""solver.connectivity: NEST's connection rules, checked for exact structure and, for
the random rules, against the degree distributions of the NEST documentation
("Connection management": binomial out-degrees for fixed in-degree, binomial degrees
for pairwise Bernoulli).

Each statistical check compares a sample statistic with its exact expectation. The
tolerance is Z standard errors of that statistic (the standard error is stated with
it), so a failure means a wrong rule rather than bad luck; fixed seeds keep the tests
reproducible.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from meshgen.errors import ConfigError
from solver import connectivity
from solver.connectivity import draw_connectivity

# Standard errors allowed: a normal deviate beyond 5.5 has probability 4e-8, so even
# the per-source checks over a few thousand sources fail by chance about 1 in 10^4.
Z = 5.5
SEED = 20260104


def rows(c):
    return [c.sources[c.indptr[t]:c.indptr[t + 1]] for t in range(c.n_target)]


def assert_per_source_binomial(out_degrees, n_trials, p):
    """Each out-degree ~ Binomial(n_trials, p): every one within Z sd of the mean, and
    the spread about the exact mean, mean((k - m)^2), within Z standard errors of the
    binomial variance (its relative standard error is sqrt(2/n) for n sources; the
    binomial's excess kurtosis adds under 1% at these sizes)."""
    mean, variance = n_trials * p, n_trials * p * (1 - p)
    assert np.abs(out_degrees - mean).max() < Z * math.sqrt(variance)
    spread = np.mean((out_degrees - mean) ** 2)
    assert spread == pytest.approx(variance, rel=Z * math.sqrt(2 / len(out_degrees)))


# --- fixed in-degree ------------------------------------------------------------------

@pytest.mark.parametrize("multapses", [True, False])
def test_fixed_indegree_gives_every_target_its_indegree_as_int32_csr(multapses):
    c = draw_connectivity("fixed_indegree", 2000, 2000, indegree=200, multapses=multapses,
                          seed=SEED)
    assert c.sources.dtype == np.int32 and c.indptr.dtype == np.int64
    assert c.indptr.shape == (2001,) and c.n_synapses == 400_000
    assert (c.in_degrees() == 200).all()
    assert c.sources.min() >= 0 and c.sources.max() < 2000


def test_fixed_indegree_with_multapses_has_multinomial_out_degrees():
    """N_t * K draws with replacement over N_s sources: out-degree of each source
    Binomial(N_t K, 1/N_s) (NEST documentation), mean exactly N_t K / N_s = 800."""
    c = draw_connectivity("fixed_indegree", 500, 2000, indegree=200, seed=SEED)
    out = c.out_degrees()
    assert out.sum() == 2000 * 200 and out.mean() == 800
    assert_per_source_binomial(out, 2000 * 200, 1 / 500)
    repeated = sum(len(r) - len(np.unique(r)) for r in rows(c))
    # With replacement repeats must occur: K(K-1)/(2 N_s) ~ 40 per target expected.
    assert repeated > 0


def test_fixed_indegree_without_multapses_draws_distinct_sources():
    """Without replacement each target takes source j with probability K/N_s,
    independently across targets: out-degree Binomial(N_t, K/N_s), mean 200."""
    c = draw_connectivity("fixed_indegree", 2000, 2000, indegree=200, multapses=False,
                          seed=SEED)
    assert all(len(np.unique(r)) == 200 for r in rows(c))
    assert c.out_degrees().mean() == 200
    assert_per_source_binomial(c.out_degrees(), 2000, 200 / 2000)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_fixed_indegree_without_multapses_draws_every_subset_equally_often(k):
    """Stronger than the marginals: each of the C(6, k) source sets of a target is
    equally likely (k = 2, 3 redraw repeats; k = 4 draws the sources left out). Each
    set's count over T targets ~ Binomial(T, 1/C)."""
    n_targets = 60_000
    c = draw_connectivity("fixed_indegree", 6, n_targets, indegree=k, multapses=False,
                          seed=SEED)
    codes = (np.left_shift(1, c.sources.astype(np.int64))).reshape(n_targets, k).sum(axis=1)
    counts = np.bincount(codes, minlength=64)
    subsets = [code for code in range(64) if bin(code).count("1") == k]
    assert counts.sum() == counts[subsets].sum()
    p = 1 / math.comb(6, k)
    assert np.abs(counts[subsets] - n_targets * p).max() < Z * math.sqrt(n_targets * p * (1 - p))


def test_fixed_indegree_of_most_sources_stays_uniform():
    """K > N_s / 2 takes the complement path (draw the sources left out)."""
    c = draw_connectivity("fixed_indegree", 100, 3000, indegree=90, multapses=False,
                          seed=SEED)
    assert all(len(np.unique(r)) == 90 for r in rows(c))
    assert_per_source_binomial(c.out_degrees(), 3000, 0.9)


def test_fixed_indegree_of_every_source_connects_all():
    c = draw_connectivity("fixed_indegree", 50, 40, indegree=50, multapses=False, seed=SEED)
    assert all((r == np.arange(50)).all() for r in rows(c))


@pytest.mark.parametrize("multapses", [True, False])
def test_fixed_indegree_without_autapses_never_connects_a_neuron_to_itself(multapses,
                                                                           monkeypatch):
    """In one population without autapses each target draws among the N - 1 others:
    out-degree Binomial(N - 1, K/(N - 1)) without multapses. Small blocks check that
    the self index is skipped with the right target offset in every block."""
    monkeypatch.setattr(connectivity, "BLOCK_ELEMENTS", 1000)
    n, k = 1500, 150
    c = draw_connectivity("fixed_indegree", n, n, indegree=k, multapses=multapses,
                          autapses=False, same_population=True, seed=SEED)
    assert (c.in_degrees() == k).all()
    assert not (c.sources == c.targets()).any()
    if not multapses:
        assert all(len(np.unique(r)) == k for r in rows(c))
        assert_per_source_binomial(c.out_degrees(), n - 1, k / (n - 1))


def test_fixed_indegree_of_all_others_without_autapses_or_multapses():
    c = draw_connectivity("fixed_indegree", 30, 30, indegree=29, multapses=False,
                          autapses=False, same_population=True, seed=SEED)
    for t, r in enumerate(rows(c)):
        assert (r == np.delete(np.arange(30), t)).all()


def test_autapses_only_matter_within_one_population():
    """Two populations of equal size: source 3 and target 3 are different neurons."""
    c = draw_connectivity("fixed_indegree", 10, 10, indegree=10, multapses=False,
                          autapses=False, seed=SEED)
    assert c.n_synapses == 100


# --- pairwise Bernoulli -------------------------------------------------------------

def test_pairwise_bernoulli_count_and_in_degrees_are_binomial(monkeypatch):
    """Total ~ Binomial(N_s N_t, p): mean 150,000, sd 377; in-degrees Binomial(N_s, p),
    variance 95 with a relative standard error sqrt(2/1500) = 3.7% over the targets.
    Small blocks cross many block boundaries."""
    monkeypatch.setattr(connectivity, "BLOCK_ELEMENTS", 5000)
    n_s, n_t, p = 2000, 1500, 0.05
    c = draw_connectivity("pairwise_bernoulli", n_s, n_t, probability=p, seed=SEED)
    mean = n_s * n_t * p
    assert abs(c.n_synapses - mean) < Z * math.sqrt(mean * (1 - p))
    assert np.var(c.in_degrees(), ddof=1) == pytest.approx(
        n_s * p * (1 - p), rel=Z * math.sqrt(2 / n_t))
    assert all(len(np.unique(r)) == len(r) for r in rows(c))
    assert c.sources.dtype == np.int32 and c.indptr[-1] == c.n_synapses


def test_pairwise_bernoulli_out_degrees_are_binomial():
    n_s, n_t, p = 1000, 3000, 0.1
    c = draw_connectivity("pairwise_bernoulli", n_s, n_t, probability=p, seed=SEED)
    out = c.out_degrees()
    assert np.abs(out - n_t * p).max() < Z * math.sqrt(n_t * p * (1 - p))
    assert np.var(out, ddof=1) == pytest.approx(n_t * p * (1 - p), rel=Z * math.sqrt(2 / n_s))


def test_pairwise_bernoulli_without_autapses_skips_the_diagonal():
    """N (N - 1) candidate pairs: mean 0.3 * 800 * 799 = 191,760, sd 410."""
    n, p = 800, 0.3
    c = draw_connectivity("pairwise_bernoulli", n, n, probability=p, autapses=False,
                          same_population=True, seed=SEED)
    assert not (c.sources == c.targets()).any()
    assert abs(c.n_synapses - n * (n - 1) * p) < Z * math.sqrt(n * (n - 1) * p * (1 - p))


def test_pairwise_bernoulli_limits_are_exact():
    none = draw_connectivity("pairwise_bernoulli", 300, 200, probability=0.0, seed=SEED)
    assert none.n_synapses == 0 and (none.indptr == 0).all() and none.sources.dtype == np.int32
    every = draw_connectivity("pairwise_bernoulli", 300, 200, probability=1.0, seed=SEED)
    full = draw_connectivity("all_to_all", 300, 200, seed=SEED)
    assert (every.indptr == full.indptr).all() and (every.sources == full.sources).all()
    no_self = draw_connectivity("pairwise_bernoulli", 50, 50, probability=1, autapses=False,
                                same_population=True, seed=SEED)
    assert no_self.n_synapses == 50 * 49


# --- deterministic rules --------------------------------------------------------------

def test_all_to_all_connects_every_pair():
    c = draw_connectivity("all_to_all", 7, 5, seed=SEED)
    assert (c.indptr == 7 * np.arange(6)).all()
    assert (c.sources == np.tile(np.arange(7), 5)).all()


def test_all_to_all_without_autapses_leaves_out_the_diagonal(monkeypatch):
    monkeypatch.setattr(connectivity, "BLOCK_ELEMENTS", 10)
    c = draw_connectivity("all_to_all", 6, 6, autapses=False, same_population=True, seed=SEED)
    assert (c.in_degrees() == 5).all()
    dense = np.zeros((6, 6), dtype=int)
    np.add.at(dense, (c.targets(), c.sources), 1)
    assert (dense == 1 - np.eye(6, dtype=int)).all()


def test_one_to_one_connects_source_i_to_target_i():
    c = draw_connectivity("one_to_one", 9, 9, seed=SEED)
    assert (c.sources == np.arange(9)).all() and (c.indptr == np.arange(10)).all()
    assert c.sources.dtype == np.int32


# --- seeds ---------------------------------------------------------------------------

@pytest.mark.parametrize("rule, options", [
    ("fixed_indegree", {"indegree": 20}),
    ("fixed_indegree", {"indegree": 20, "multapses": False}),
    ("pairwise_bernoulli", {"probability": 0.1}),
])
def test_same_seed_same_network_other_seed_other_network(rule, options):
    def draw(seed):
        return draw_connectivity(rule, 300, 400, seed=seed, **options)

    a, b, other = draw(7), draw(7), draw(8)
    assert (a.indptr == b.indptr).all() and (a.sources == b.sources).all()
    assert len(a.sources) != len(other.sources) or (a.sources != other.sources).any()
    by_index = draw((7, 1))
    assert len(a.sources) != len(by_index.sources) or (a.sources != by_index.sources).any()


# --- bad settings ----------------------------------------------------------------------

@pytest.mark.parametrize("rule, options, message", [
    ("fixed_indgree", {}, "did you mean 'fixed_indegree'?"),
    ("pairwise_bernoulli", {"probability": 1.5}, "a probability is a number in [0, 1], got 1.5"),
    ("pairwise_bernoulli", {"probability": -0.1}, "got -0.1"),
    ("pairwise_bernoulli", {"probability": float("nan")}, "got nan"),
    ("pairwise_bernoulli", {}, "pairwise_bernoulli needs a probability"),
    ("fixed_indegree", {"indegree": 101, "multapses": False},
     "in-degree 101 is larger than the 100 source neurons available without multapses"),
    ("fixed_indegree", {"indegree": 100, "multapses": False, "autapses": False,
                        "same_population": True, "n_target": 100},
     "larger than the 99 other source neurons"),
    ("fixed_indegree", {"indegree": -1}, "whole number >= 0, got -1"),
    ("fixed_indegree", {"indegree": 2.5}, "got 2.5"),
    ("all_to_all", {"indegree": 3}, "an in-degree is for fixed_indegree only"),
    ("one_to_one", {}, "one_to_one needs populations of equal size, got 100 sources and 80"),
    ("one_to_one", {"n_target": 100, "autapses": False, "same_population": True},
     "connects nothing"),
    ("all_to_all", {"seed": -3}, "a seed is a whole number >= 0"),
])
def test_bad_settings_raise_one_line_config_errors(rule, options, message):
    options = {"n_target": 80, "seed": SEED, **options}
    n_target = options.pop("n_target")
    with pytest.raises(ConfigError) as caught:
        draw_connectivity(rule, 100, n_target, path="net.toml", key="connection.2", **options)
    error = caught.value
    assert message in error.message
    assert (error.path, error.key) == ("net.toml", "connection.2")
    assert str(error).startswith("net.toml [connection.2]: ") and "\n" not in str(error)
