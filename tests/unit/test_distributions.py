"""solver.distributions: parsing of value specifications and the statistics of their
draws.

Sample statistics of N = 200,000 seeded draws are compared with the exact moments; each
tolerance is Z standard errors of the statistic (stated with it), so a failure means a
wrong formula or parameter order rather than bad luck.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from meshgen.errors import ConfigError
from solver.distributions import Distribution, parse_distribution

N = 200_000
Z = 5.0
SEED = 20260104


def draw(text):
    return parse_distribution(text).sample(np.random.default_rng(SEED), N)


def test_a_number_is_a_constant():
    for value in (0.1, -2, "0.1", " 1e-3 "):
        d = parse_distribution(value)
        assert d.is_constant and d.mean == float(value)
        assert (d.sample(np.random.default_rng(SEED), 4) == float(value)).all()


def test_normal_has_mean_mu_and_sd_sigma():
    """Standard error of the mean sigma/sqrt(N) = 2.2e-5; of the sd sigma/sqrt(2N),
    relative 0.16%."""
    values = draw("normal(0.1, 0.01)")
    assert parse_distribution("normal(0.1, 0.01)").mean == 0.1
    assert abs(values.mean() - 0.1) < Z * 0.01 / math.sqrt(N)
    assert values.std() == pytest.approx(0.01, rel=Z / math.sqrt(2 * N))


def test_uniform_stays_in_its_interval_with_the_right_moments():
    """sd of a flat density of width w is w/sqrt(12); the sample variance's relative
    standard error is sqrt((mu4/sigma^4 - 1)/N) = sqrt(0.8/N), the sd's half of it."""
    low, high = 1e-3, 2e-3
    values = draw("uniform(1e-3, 2e-3)")
    sd = (high - low) / math.sqrt(12)
    assert values.min() >= low and values.max() < high
    assert parse_distribution("uniform(1e-3, 2e-3)").mean == pytest.approx(1.5e-3, rel=1e-15)
    assert abs(values.mean() - 1.5e-3) < Z * sd / math.sqrt(N)
    assert values.std() == pytest.approx(sd, rel=Z * 0.5 * math.sqrt(0.8 / N))


def test_lognormal_mu_and_sigma_are_those_of_the_logarithm():
    """log(values) ~ normal(mu, sigma); the mean of the values is exp(mu + sigma^2/2),
    with standard error sqrt((exp(sigma^2) - 1) exp(2 mu + sigma^2) / N)."""
    mu, sigma = -2.3, 0.5
    d = parse_distribution(f"lognormal({mu}, {sigma})")
    values = d.sample(np.random.default_rng(SEED), N)
    assert d.mean == pytest.approx(math.exp(mu + sigma**2 / 2), rel=1e-15)
    assert abs(np.log(values).mean() - mu) < Z * sigma / math.sqrt(N)
    assert np.log(values).std() == pytest.approx(sigma, rel=Z / math.sqrt(2 * N))
    sd = math.sqrt((math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2))
    assert abs(values.mean() - d.mean) < Z * sd / math.sqrt(N)


def test_same_generator_state_same_values_and_text_round_trips():
    d = parse_distribution(" normal( -65 ,2.5 ) ")
    assert d == Distribution("normal", (-65.0, 2.5))
    assert parse_distribution(str(d)) == d
    a = d.sample(np.random.default_rng(3), 10)
    assert (a == d.sample(np.random.default_rng(3), 10)).all() and a.dtype == np.float64
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.kind = "uniform"


@pytest.mark.parametrize("text, message", [
    ("normal(0.1)", "normal takes 2 numbers (mu, sigma), got 1 in 'normal(0.1)'"),
    ("normal(0.1, -0.01)", "sigma cannot be negative in 'normal(0.1, -0.01)'"),
    ("uniform(2e-3, 1e-3)", "low must be below high in 'uniform(2e-3, 1e-3)'"),
    ("norml(0, 1)", "unknown distribution 'norml' in 'norml(0, 1)'; did you mean 'normal'?"),
    ("normal(mu, 1)", "mu of normal must be a number, got 'mu' in 'normal(mu, 1)'"),
    ("normal 0.1, 0.01", "cannot read 'normal 0.1, 0.01'"),
    ("lognormal(0, inf)", "sigma in 'lognormal(0, inf)' is not a finite number"),
    ("nan", "'nan' is not a finite number"),
    (True, "expected a number or a distribution"),
    ([0.1], "got [0.1]"),
])
def test_malformed_values_raise_one_line_errors_naming_text_and_key(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_distribution(text, path="net.toml", key="connection.0.efficacy")
    assert message in caught.value.message
    assert str(caught.value).startswith("net.toml [connection.0.efficacy]: ")
    assert "\n" not in str(caught.value)


# --- what density populations use: cdf, pdf, variance, point ----------------------

# Relative error allowed against scipy.stats: erfc is accurate to a few ulp, and the
# lognormal's log adds a few more; 1e-12 leaves room without hiding a wrong formula.
CDF_TOLERANCE = 1e-12


@pytest.mark.parametrize("text, reference", [
    ("normal(-60, 3)", lambda stats: stats.norm(-60, 3)),
    ("uniform(-70, -50)", lambda stats: stats.uniform(-70, 20)),
    ("lognormal(-2.3, 0.5)", lambda stats: stats.lognorm(0.5, scale=math.exp(-2.3))),
], ids=["normal", "uniform", "lognormal"])
def test_cdf_pdf_and_moments_match_scipy(text, reference):
    stats = pytest.importorskip("scipy.stats")
    d, exact = parse_distribution(text), reference(stats)
    x = np.linspace(exact.ppf(1e-9) - 1.0, exact.ppf(1 - 1e-9) + 1.0, 2001)
    np.testing.assert_allclose(d.cdf(x), exact.cdf(x), rtol=CDF_TOLERANCE, atol=1e-300,
                               err_msg=text)
    inside = (x != exact.support()[0]) & (x != exact.support()[1])
    np.testing.assert_allclose(d.pdf(x)[inside], exact.pdf(x)[inside], rtol=CDF_TOLERANCE,
                               atol=1e-300, err_msg=text)
    assert d.mean == pytest.approx(exact.mean(), rel=1e-14)
    assert d.variance == pytest.approx(exact.var(), rel=1e-12)


def test_lower_tail_of_the_normal_cdf_keeps_its_relative_precision():
    """1 + erf(-z/sqrt 2) would round to 0 beyond z ~ 8.3; erfc does not."""
    assert parse_distribution("normal(0, 1)").cdf(-20.0) == pytest.approx(2.7536241186e-89,
                                                                         rel=1e-9)


@pytest.mark.parametrize("text, value", [
    ("-65", -65.0), ("normal(-65, 0)", -65.0), ("lognormal(0, 0)", 1.0)])
def test_a_point_is_a_step_and_has_no_density(text, value):
    d = parse_distribution(text)
    assert d.point == value and d.variance == 0.0
    assert d.cdf([value - 1e-9, value, value + 1.0]).tolist() == [0.0, 1.0, 1.0]
    with pytest.raises(ValueError):
        d.pdf(value)
    assert parse_distribution("normal(-65, 1)").point is None
