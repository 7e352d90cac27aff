"""Values given per synapse or per neuron: a number, or a distribution to draw from.

A simulation file may write an efficacy, a delay or an initial state as a number, or as
a string naming a distribution with numeric arguments:

    normal(mu, sigma)       mean mu, standard deviation sigma >= 0
    uniform(low, high)      flat on [low, high), low < high
    lognormal(mu, sigma)    exp(X) with X ~ normal(mu, sigma): mu and sigma are the mean
                            and standard deviation of the *logarithm*, as in numpy and in
                            NEST's nest.random.lognormal; the values' own mean is
                            exp(mu + sigma**2 / 2) (`Distribution.mean`)

Arguments are plain numbers (no expressions), in the unit of the key they are given
for. Nothing is clipped: a normal delay can come out below the step and a normal
efficacy can change sign, so whoever uses the values checks them.

Density populations place an initial distribution on their cells through `cdf` (the
probability of each interval) and `pdf`, which use math.erf rather than scipy.special:
`miind run` on density meshes does not load scipy (tests/cli/test_imports.py).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

import numpy as np

from meshgen.errors import ConfigError


@dataclass(frozen=True)
class _Kind:
    arguments: tuple[str, ...]
    description: str


KINDS = {
    "constant": _Kind(("value",), "a number"),
    "normal": _Kind(("mu", "sigma"), "normal(mu, sigma)"),
    "uniform": _Kind(("low", "high"), "uniform(low, high)"),
    "lognormal": _Kind(("mu", "sigma"), "lognormal(mu, sigma) of the logarithm"),
}

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$")


@dataclass(frozen=True)
class Distribution:
    """A parsed value specification: `kind` (a key of KINDS) and its numeric arguments."""

    kind: str
    arguments: tuple[float, ...]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n float64 values drawn with `rng` (a constant draws nothing from it)."""
        a = self.arguments
        if self.kind == "constant":
            return np.full(n, a[0], dtype=np.float64)
        if self.kind == "normal":
            return rng.normal(a[0], a[1], size=n)
        if self.kind == "uniform":
            return rng.uniform(a[0], a[1], size=n)
        return rng.lognormal(a[0], a[1], size=n)

    @property
    def mean(self) -> float:
        a = self.arguments
        if self.kind == "uniform":
            return 0.5 * (a[0] + a[1])
        if self.kind == "lognormal":
            return math.exp(a[0] + 0.5 * a[1] ** 2)
        return a[0]

    @property
    def variance(self) -> float:
        a = self.arguments
        if self.kind == "uniform":
            return (a[1] - a[0]) ** 2 / 12.0
        if self.kind == "lognormal":
            return (math.exp(a[1] ** 2) - 1.0) * math.exp(2.0 * a[0] + a[1] ** 2)
        if self.kind == "normal":
            return a[1] ** 2
        return 0.0

    @property
    def is_constant(self) -> bool:
        return self.kind == "constant"

    @property
    def point(self) -> float | None:
        """The one value taken with certainty (a constant, or a zero sigma), else None.
        Such values are placed as numbers are, not spread by `cdf`."""
        a = self.arguments
        if self.kind == "constant":
            return a[0]
        if self.kind in ("normal", "lognormal") and a[1] == 0.0:
            return a[0] if self.kind == "normal" else math.exp(a[0])
        return None

    def cdf(self, x) -> np.ndarray:
        """P(X <= x), elementwise; a point is a step up at its value."""
        x = np.asarray(x, dtype=np.float64)
        a = self.arguments
        point = self.point
        if point is not None:
            return np.where(x >= point, 1.0, 0.0)
        if self.kind == "uniform":
            return np.clip((x - a[0]) / (a[1] - a[0]), 0.0, 1.0)
        if self.kind == "normal":
            return _standard_normal_cdf((x - a[0]) / a[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.where(x > 0.0, x, 1.0)) - a[0]) / a[1]
        return np.where(x > 0.0, _standard_normal_cdf(z), 0.0)

    def pdf(self, x) -> np.ndarray:
        """The probability density at x, elementwise; a point has none (ValueError)."""
        if self.point is not None:
            raise ValueError(f"{self} takes one value: it has no density")
        x = np.asarray(x, dtype=np.float64)
        a = self.arguments
        if self.kind == "uniform":
            return np.where((x >= a[0]) & (x < a[1]), 1.0 / (a[1] - a[0]), 0.0)
        if self.kind == "normal":
            return _standard_normal_pdf((x - a[0]) / a[1]) / a[1]
        positive = np.where(x > 0.0, x, 1.0)
        density = _standard_normal_pdf((np.log(positive) - a[0]) / a[1]) / (a[1] * positive)
        return np.where(x > 0.0, density, 0.0)

    def __str__(self) -> str:
        if self.kind == "constant":
            return repr(self.arguments[0])
        return f"{self.kind}({', '.join(repr(a) for a in self.arguments)})"


def parse_distribution(value, *, path: str | None = None, key: str | None = None) -> Distribution:
    """A number or a distribution string as a Distribution; ConfigError if it does not parse.

    `path` and `key` are the file and key the value came from, for the error message.
    """
    def fail(message):
        return ConfigError(message, path=path, key=key)

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Distribution("constant", (_finite(float(value), repr(value), fail),))
    if not isinstance(value, str):
        raise fail(f"expected a number or a distribution such as \"normal(0.1, 0.01)\", "
                   f"got {value!r}")
    text = value
    try:
        return Distribution("constant", (_finite(float(text), repr(text), fail),))
    except ValueError:
        pass
    call = _CALL.match(text)
    if call is None:
        raise fail(f"cannot read {text!r}: expected a number or one of "
                   f"{', '.join(k.description for k in list(KINDS.values())[1:])}")
    name, inside = call.group(1), call.group(2)
    if name not in KINDS or name == "constant":
        known = [k for k in KINDS if k != "constant"]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise fail(f"unknown distribution '{name}' in {text!r}{hint} (known: {', '.join(known)})")
    expected = KINDS[name].arguments
    pieces = [piece.strip() for piece in inside.split(",")] if inside.strip() else []
    if len(pieces) != len(expected):
        raise fail(f"{name} takes {len(expected)} numbers ({', '.join(expected)}), "
                   f"got {len(pieces)} in {text!r}")
    numbers = []
    for argument, piece in zip(expected, pieces):
        try:
            number = float(piece)
        except ValueError:
            raise fail(f"{argument} of {name} must be a number, got {piece!r} in {text!r}") from None
        numbers.append(_finite(number, f"{argument} in {text!r}", fail))
    if name in ("normal", "lognormal") and numbers[1] < 0:
        raise fail(f"sigma cannot be negative in {text!r}")
    if name == "uniform" and not numbers[0] < numbers[1]:
        raise fail(f"low must be below high in {text!r}")
    return Distribution(name, tuple(numbers))


_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _standard_normal_cdf(z: np.ndarray) -> np.ndarray:
    # erfc keeps the lower tail's relative precision, where 1 + erf would cancel.
    return 0.5 * _erfc(-z / math.sqrt(2.0))


def _standard_normal_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _finite(number: float, what: str, fail) -> float:
    if not math.isfinite(number):
        raise fail(f"{what} is not a finite number")
    return number
