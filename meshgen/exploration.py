"""Where a population goes: the region of state space a short direct simulation visits.

Used for the ranges of a mesh that the model file leaves out (`[mesh] expected_input`,
meshgen.build), for the check of given ranges against that input, and for the range
`miind run` suggests when a mesh clamps mass (solver.checks).

The rule (README, "Choosing ranges"):

1. EXPLORE_NEURONS neurons start at the model's reset (v at its reset value, the
   other variables at 0) and relax without input until their envelope stops growing:
   the resting state, or the cycle of a model that fires by itself.
2. From there the expected input (Poisson jumps of each `efficacy` along `dimension`
   at `rate` Hz) is switched on, and every state the neurons pass through, the
   transient included, is recorded per variable (lowest and highest), block by block
   of BLOCK_SECONDS, until SETTLED_BLOCKS blocks in a row add less than
   GROWTH_TOLERANCE of the span (at least MIN_DRIVEN_SECONDS, at most
   MAX_DRIVEN_SECONDS).
3. The range of each variable is that envelope, with the resting state, the reset of
   the envelope's corners and of the resting state (AdEx: w + b for the lowest and
   highest w visited, and w_rest + b, the first spike's, which a population that
   rarely fires may not show) and (for v) the threshold in it, widened on each side by the distance
   from its extreme to the TAIL_QUANTILE of the samples (how far the tail reaches;
   at least MARGIN_FRACTION of the span) plus the largest jump along it, and rounded
   outward to half a tenth of the widened span's power of ten (a span of 650 rounds
   to fives, one of 50 to halves). v's range ends at the threshold.

The neurons are integrated with RK4 (steps of at most MAX_STEP, shorter where the
flow is stiff: STIFFNESS_STEP over the median largest eigenvalue of its Jacobian);
jumps arrive at the start of each step, Poisson counts per neuron; a neuron whose v
reaches the threshold is reset (the reset rule from the state at the threshold) and
waits out the refractory period at its reset v (inputs to v ignored, as in direct
simulation). It is an envelope, not an accurate simulation: only the extent of the
density matters. A fixed seed makes it (and so the mesh) deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import MeshError
from .models import NeuronModel

# Neurons simulated: their extreme values make the envelope, and the margin (below)
# covers what more neurons would add. 1000 neurons explore in 1-2.5 s here (numpy, a
# few microseconds per neuron and step).
EXPLORE_NEURONS = 1000
EXPLORE_SEED = 20261204
# RK4 step: at most MAX_STEP, and STIFFNESS_STEP / (median largest |eigenvalue| of the
# drift's Jacobian over the neurons), re-chosen every block. AdEx at 3000 Hz: w's top
# 473 pA with 1e-4 s steps, 483 pA with 2e-4 s (the envelope, not the density, is
# wanted; half the steps halve the time).
MAX_STEP = 2e-4
STIFFNESS_STEP = 0.2
# The envelope grows block by block; it has settled when SETTLED_BLOCKS blocks in a
# row add less than GROWTH_TOLERANCE of the span (a point creeping to rest: less than
# SETTLE_FLOOR of its own size). Blocks of 0.1 s resolve AdEx's adaptation (tau_w
# 144 ms: it settles after 0.5-0.7 s at 2000-3000 Hz).
BLOCK_SECONDS = 0.1
GROWTH_TOLERANCE = 0.02
SETTLE_FLOOR = 1e-4
SETTLED_BLOCKS = 2
MIN_DRIVEN_SECONDS = 0.5
MAX_DRIVEN_SECONDS = 5.0
MAX_RELAX_SECONDS = 2.0
# Widening of the envelope on each side: the distance from the extreme to this
# quantile of the samples, at least MARGIN_FRACTION of the span, plus the largest jump.
TAIL_QUANTILE = 1e-3
MARGIN_FRACTION = 0.02
# The driven neurons' states are sampled this often (s) for VisitedRegion.samples.
SAMPLE_INTERVAL = 2e-3
# Central differences of the drift for its Jacobian: steps of JACOBIAN_STEP times a
# variable's magnitude (1e-6: the drifts are smooth, and double precision keeps ~10
# digits of their differences), and at least JACOBIAN_FLOOR (in its unit) where it is
# near 0 (a conductance at rest).
JACOBIAN_STEP = 1e-6
JACOBIAN_FLOOR = 1e-3


@dataclass(frozen=True)
class ExpectedInput:
    """Poisson input a population is expected to receive: jumps of `efficacy` (in the
    unit of `dimension`) at `rate` Hz."""

    rate: float
    efficacy: float
    dimension: str


@dataclass(frozen=True)
class VisitedRegion:
    """The envelope of the states visited (per variable, no margin), how it was found,
    and samples of the driven neurons' states (variables, m), SAMPLE_INTERVAL apart,
    to tell which cells of a mesh the population visits."""

    lower: dict[str, float]
    upper: dict[str, float]
    driven_seconds: float
    settled: bool
    n_neurons: int
    samples: np.ndarray
    rest: dict[str, float]  # where the neurons were when the input started
    firing_rate: float  # Hz, per neuron, over the later half of the driven time


def explore(model: NeuronModel, inputs, n_neurons: int = EXPLORE_NEURONS,
            seed: int = EXPLORE_SEED, max_seconds: float = MAX_DRIVEN_SECONDS,
            within: dict | None = None) -> VisitedRegion:
    """The region `n_neurons` neurons of `model` visit under `inputs` (ExpectedInput),
    by the rule of the module doc, driven for at most `max_seconds`. `within`: ranges
    (variable -> (lo, hi), or None) the starting state is moved into."""
    for given in inputs:
        if given.dimension not in model.variables:
            raise MeshError(f"expected input along '{given.dimension}', which the model lacks "
                            f"(variables: {', '.join(model.variables)})")
    rng = np.random.default_rng(seed)
    # Without input every neuron follows the same path: relax one, then copy it (and
    # drive one, if there is no input either).
    neurons = _Neurons(model, 1, rng)
    for k, name in enumerate(model.variables):
        if within and within.get(name) is not None:
            neurons.state[k] = np.clip(neurons.state[k], *within[name])
    neurons.run(inputs=(), max_seconds=MAX_RELAX_SECONDS)
    rest = dict(zip(model.variables, map(float, neurons.state[:, 0])))
    inputs = [given for given in inputs if given.rate > 0]
    neurons.widen(n_neurons if inputs else 1)
    neurons.samples, neurons.spikes, neurons.clock = [], [], 0.0
    seconds, settled, (lower, upper) = neurons.run(
        inputs=inputs, max_seconds=max_seconds,
        min_seconds=min(MIN_DRIVEN_SECONDS, max_seconds))
    # The firing rate of the later half of the blocks: past the transient from rest.
    later = neurons.spikes[len(neurons.spikes) // 2:]
    rate = sum(later) / (neurons.state.shape[1] * BLOCK_SECONDS * len(later)) if later else 0.0
    names = model.variables
    return VisitedRegion(lower=dict(zip(names, map(float, lower))),
                         upper=dict(zip(names, map(float, upper))), driven_seconds=seconds,
                         settled=settled, n_neurons=neurons.state.shape[1],
                         samples=np.concatenate(neurons.samples, axis=1), rest=rest,
                         firing_rate=float(rate))


def ranges_from_region(model: NeuronModel, region: VisitedRegion, inputs) -> dict[str, tuple]:
    """Per variable, the mesh range the rule gives (see the module doc)."""
    ranges = {}
    shifted = _reset_of_region(model, region)
    for k, name in enumerate(model.variables):
        lo, hi = region.lower[name], region.upper[name]
        fixed = list(shifted[k])
        if k == 0 and model.threshold is not None:
            fixed.append(model.threshold)
        lo, hi = min([lo] + fixed), max([hi] + fixed)
        jump = max([abs(i.efficacy) for i in inputs if i.dimension == name], default=0.0)
        span = hi - lo
        if span <= 0:
            span = max(abs(lo), 1.0) * MARGIN_FRACTION
        # The tail beyond the TAIL_QUANTILE of the samples, once more: the extremes of
        # a thousand neurons fall short of those of a large population.
        low_q, high_q = np.quantile(region.samples[k], [TAIL_QUANTILE, 1 - TAIL_QUANTILE])
        lo -= max(low_q - region.lower[name], MARGIN_FRACTION * span) + jump
        hi += max(region.upper[name] - high_q, MARGIN_FRACTION * span) + jump
        step = 0.5 * 10.0 ** (math.floor(math.log10(hi - lo)) - 1)
        lo = math.floor(lo / step) * step
        hi = math.ceil(hi / step) * step
        if k == 0 and model.threshold is not None:
            hi = model.threshold
        ranges[name] = (float(f"{lo:.12g}"), float(f"{hi:.12g}"))
    return ranges


def _reset_of_region(model: NeuronModel, region: VisitedRegion) -> list[list[float]]:
    """Per variable, where the reset takes the corners of the visited envelope and the
    resting state, moved onto the threshold (AdEx: w + b for the lowest and the highest
    w visited, and w_rest + b): the reset of any state the population visits, and the
    first spike's, which a population that rarely fires may not have shown. A strip
    mesh resets the mass fired from a cell along the w range over which it crosses
    (meshgen.strips2d_matrices), which may reach past the highest w visited: Izhikevich at
    3000 Hz with u up to -2.5 (the visited top plus the margin) clamped 0.19 /s of
    resets there and fired 29% too fast; with u + d of the visited top in range, +0.05%."""
    if model.threshold is None or not model.resets:
        return [[] for _ in model.variables]
    others = [np.array([region.lower[name], region.upper[name], region.rest[name]])
              for name in model.variables[1:]]
    grids = np.meshgrid(*others) if others else []
    state = [np.full(grids[0].size if grids else 1, model.threshold)] + \
        [values.ravel() for values in grids]
    return [[float(x) for x in np.ravel(values)] for values in model.reset_state(*state)]


class _Neurons:
    """The neurons of an exploration: state (variables, n), refractory countdowns."""

    def __init__(self, model: NeuronModel, n: int, rng: np.random.Generator):
        self.model, self.rng = model, rng
        self.state = np.zeros((model.dimension, n))
        if model.threshold is not None and model.resets:
            self.state[0] = float(model.reset[model.variables[0]])
        self.refractory_left = np.zeros(n)
        self.samples = None  # a list to collect samples into, SAMPLE_INTERVAL apart
        self.spikes = None  # a list to collect each block's spike count into
        self.clock = 0.0

    def widen(self, n: int) -> None:
        """n copies of the (single) neuron."""
        self.state = np.repeat(self.state[:, :1], n, axis=1)
        self.refractory_left = np.repeat(self.refractory_left[:1], n)

    def run(self, inputs, max_seconds: float, min_seconds: float = 0.0):
        """Blocks of BLOCK_SECONDS from the current state until the envelope of the
        states passed through settles, or `max_seconds`; returns (seconds simulated,
        settled, (lower, upper) per variable)."""
        lower, upper = self.state.min(axis=1), self.state.max(axis=1)
        quiet_blocks, seconds = 0, 0.0
        while seconds < max_seconds - 1e-12:
            block_lo, block_hi = self._block(inputs, self._step())
            seconds += BLOCK_SECONDS
            grown = _growth(lower, upper, block_lo, block_hi)
            np.minimum(lower, block_lo, out=lower)
            np.maximum(upper, block_hi, out=upper)
            quiet_blocks = quiet_blocks + 1 if grown < GROWTH_TOLERANCE else 0
            if quiet_blocks >= SETTLED_BLOCKS and seconds >= min_seconds - 1e-12:
                return seconds, True, (lower, upper)
        return seconds, False, (lower, upper)

    def _step(self) -> float:
        rate = median_spectral_radius(self.model, self.state)
        step = MAX_STEP if not (rate > 0 and math.isfinite(rate)) else \
            min(MAX_STEP, STIFFNESS_STEP / rate)
        return BLOCK_SECONDS / math.ceil(BLOCK_SECONDS / step - 1e-9)

    def _block(self, inputs, h: float):
        model, state = self.model, self.state
        n_steps = int(round(BLOCK_SECONDS / h))
        lo, hi = state.min(axis=1), state.max(axis=1)
        threshold = model.threshold
        dims = [model.variables.index(i.dimension) for i in inputs]
        spikes = 0
        for _ in range(n_steps):
            waiting = self.refractory_left > 0
            for given, dim in zip(inputs, dims):
                if given.rate > 0:
                    counts = self.rng.poisson(given.rate * h, state.shape[1])
                    if dim == 0:
                        counts[waiting] = 0
                    state[dim] += counts * given.efficacy
            state[:] = _rk4(model, state, h)
            if threshold is not None:
                self.refractory_left[waiting] -= h
                if model.resets:
                    state[0, waiting & (self.refractory_left > 0)] = \
                        float(model.reset[model.variables[0]])
                crossed = state[0] >= threshold
                if crossed.any():
                    spikes += int(crossed.sum())
                    self._spike(crossed)
            if not np.all(np.isfinite(state)):
                raise MeshError("the direct exploration of where the neurons go diverged "
                                "(non-finite state); check the model's equations")
            np.minimum(lo, state.min(axis=1), out=lo)
            np.maximum(hi, state.max(axis=1), out=hi)
            self.clock += h
            if self.samples is not None and self.clock >= SAMPLE_INTERVAL:
                self.clock -= SAMPLE_INTERVAL
                self.samples.append(state.copy())
        if self.spikes is not None:
            self.spikes.append(spikes)
        return lo, hi

    def _spike(self, crossed: np.ndarray) -> None:
        model, state = self.model, self.state
        at_threshold = [np.full(int(crossed.sum()), model.threshold)] + \
            [state[k, crossed] for k in range(1, model.dimension)]
        if model.resets:
            new = model.reset_state(*at_threshold)
            for k in range(model.dimension):
                state[k, crossed] = new[k]
            self.refractory_left[crossed] = model.refractory
        else:
            # Spikes only counted: the state flows on from the threshold.
            state[0, crossed] = model.threshold


def _growth(lower, upper, block_lo, block_hi) -> float:
    """How far the block reaches beyond (lower, upper), as a share of the new span."""
    lo = np.minimum(lower, block_lo)
    hi = np.maximum(upper, block_hi)
    size = np.maximum(np.maximum(np.abs(hi), np.abs(lo)), 1.0)
    span = np.maximum(hi - lo, SETTLE_FLOOR * size)
    return float(np.max(np.maximum(lower - lo, hi - upper) / span))


def _drift(model: NeuronModel, state: np.ndarray) -> np.ndarray:
    """The drift with v held below the threshold (past it v keeps the threshold's
    speed, as meshgen.grid2d_flow does), so a step across it stays finite."""
    values = list(state)
    if model.threshold is not None:
        values[0] = np.minimum(values[0], model.threshold)
    with np.errstate(over="ignore", invalid="ignore"):
        drift = model.drift(*values)
    out = np.empty_like(state)
    for k, value in enumerate(drift if isinstance(drift, tuple) else (drift,)):
        out[k] = value  # broadcasts a constant
    return out


def _rk4(model: NeuronModel, state: np.ndarray, h: float) -> np.ndarray:
    k1 = _drift(model, state)
    k2 = _drift(model, state + (0.5 * h) * k1)
    k3 = _drift(model, state + (0.5 * h) * k2)
    k4 = _drift(model, state + h * k3)
    k2 += k3
    k2 *= 2.0
    k1 += k2
    k1 += k4
    k1 *= h / 6.0
    return state + k1


def median_spectral_radius(model: NeuronModel, state: np.ndarray) -> float:
    """The median over the states (variables, n) of the largest |eigenvalue| of the
    drift's Jacobian (1/s), by central differences of JACOBIAN_STEP times each
    variable's magnitude among the states (at least JACOBIAN_FLOOR in its unit)."""
    scale = np.maximum(np.abs(state).max(axis=1), JACOBIAN_FLOOR)
    columns = []
    for k in range(model.dimension):
        shift = np.zeros_like(state)
        shift[k] = JACOBIAN_STEP * scale[k]
        columns.append((_drift(model, state + shift) - _drift(model, state - shift))
                       / (2 * JACOBIAN_STEP * scale[k]))
    jacobian = np.stack(columns, axis=1)  # (variables, variables, n)
    with np.errstate(all="ignore"):
        radius = np.abs(np.linalg.eigvals(np.moveaxis(jacobian, -1, 0))).max(axis=1)
    radius = radius[np.isfinite(radius)]
    return float(np.median(radius)) if len(radius) else math.nan
