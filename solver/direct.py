"""Direct simulation: populations of individual neurons, `method = "direct"`.

Each population runs a kernel generated from its model's equations (solver.codegen),
with its own random stream, and reports the same outputs as a density population
(rate, mean state) plus its spikes, so one simulation file can mix both methods. A
population of the protocol solver.population.Population.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import json
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from meshgen.errors import SimulationError
from meshgen.models import NeuronModel

from .codegen import cache_directory, kernel_source
from .population import Dataset, PopulationChecks, PopulationRecord, TableInput
from .rng import exponential_table, neuron_states, population_key
from .gap_junctions import GapCoupling, step_warning
from .spike_coupling import (ArrivalBuffers, Outbox, SpikeProjection, StepArrivals, boundary,
                             no_arrivals, window_arrivals)

# Spikes stored between two flushes of the kernel's buffers.
SPIKE_BUFFER = 1_000_000


def load_kernel_module(model: NeuronModel):
    """Import (writing it first if needed) the generated module of this model."""
    source = kernel_source(model)
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    name = f"miind_direct_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    path = cache_directory() / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        temporary = path.with_suffix(f".tmp{id(source)}")
        temporary.write_text(source)
        temporary.replace(path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class InputGroup:
    """One connection into a direct population."""

    efficacy: float
    dimension: int


@dataclass
class DirectPopulation(TableInput):
    name: str
    model: NeuronModel
    n_neurons: int
    groups: list[InputGroup]
    n_steps: int
    dt: float
    integration_step: float
    record: np.ndarray
    seed: int
    stream: int
    accumulate_from: int
    has_density: ClassVar[bool] = False
    kernels: ClassVar[str | None] = None
    state: np.ndarray = field(init=False)
    kernel: object = field(init=False, repr=False)
    # Spike coupling (solver.spike_coupling), wired by solver.assembly once every
    # population exists: the projections into this population with their sources'
    # outboxes, and this population's outbox if spikes leave it.
    spike_inputs: list[tuple[SpikeProjection, Outbox]] = field(default_factory=list, init=False)
    outbox: Outbox | None = field(default=None, init=False)
    # Gap junctions (solver.gap_junctions), set by solver.assembly: then the population
    # advances one network step per kernel call, the coupling held through each.
    gap: GapCoupling | None = field(default=None, init=False)

    def __post_init__(self):
        self.kernel = load_kernel_module(self.model)
        self.rng = neuron_states(population_key(self.seed, self.stream), self.n_neurons)
        n_vars = self.model.dimension
        self.state = np.zeros((n_vars, self.n_neurons))
        self.refractory_until = np.full(self.n_neurons, -np.inf)
        self.next_event = exponential_table(self.rng, max(1, len(self.groups)))
        # Drawn after next_event from the same streams: with one input, each interval is
        # the draw it was when drawn at the event before it.
        self.next_interval = exponential_table(self.rng, max(1, len(self.groups)))
        self.intensity = np.zeros(self.next_event.shape[0])
        self.counts = np.zeros(self.n_steps, dtype=np.int64)
        self.mean = np.zeros((n_vars, self.n_steps))
        self.samples = np.zeros((self.n_steps, len(self.record), n_vars))
        self.v_sum = np.zeros(self.n_neurons)
        self.v_square = np.zeros(self.n_neurons)
        self._times = np.zeros(SPIKE_BUFFER + 4 * self.n_steps + 64)
        self._ids = np.zeros(SPIKE_BUFFER + 4 * self.n_steps + 64, dtype=np.int64)
        self.record_slot = np.full(self.n_neurons, -1, dtype=np.int64)
        self.record_slot[self.record] = np.arange(len(self.record))
        self._stored = 0
        self.spike_times: list[np.ndarray] = []
        self.spike_ids: list[np.ndarray] = []
        self.efficacy = np.array([g.efficacy for g in self.groups] or [0.0])
        self.dimension = np.array([g.dimension for g in self.groups] or [0], dtype=np.int64)
        self.fill_missing_rates(len(self.groups), self.n_steps)
        self._no_arrivals = no_arrivals(self.n_neurons)
        self._gap_drive = np.zeros(self.n_neurons)
        self._arrival_buffers = ArrivalBuffers()
        self._step_buffers = ArrivalBuffers()  # the chunk's arrivals handed out per step

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def set_initial(self, values: dict) -> None:
        """Each variable's value: one number for all neurons, or one per neuron."""
        for k, variable in enumerate(self.model.variables):
            self.state[k, :] = values[variable]

    def advance(self, first_step: int, n_steps: int) -> None:
        group_rates = self.input_rates
        if group_rates.shape[0] == 0:
            group_rates = np.zeros((1, self.n_steps))
        start, end = boundary(first_step, self.dt), boundary(first_step + n_steps, self.dt)
        pieces = len(self.spike_times)
        if self.gap is None:
            self._run(first_step, n_steps, group_rates, self._arrivals(start, end))
        else:
            # Each neuron's coupling needs the others' v at the start of every step.
            by_step = (StepArrivals(self._arrivals(start, end), self._step_buffers)
                       if self.spike_inputs else None)
            for step in range(first_step, first_step + n_steps):
                self.gap.currents(self.state[0], self._gap_drive)
                self._run(step, 1, group_rates, by_step.until(boundary(step + 1, self.dt))
                          if by_step else self._no_arrivals)
        if self.outbox is not None:
            self._flush()
            new = slice(pieces, None)
            self.outbox.add(np.concatenate([np.zeros(0)] + self.spike_times[new]),
                            np.concatenate([np.zeros(0, np.int64)] + self.spike_ids[new]),
                            start, end)
        if not np.all(np.isfinite(self.state)):
            raise SimulationError(f"population '{self.name}': the state became non-finite at "
                                  f"t = {(first_step + n_steps) * self.dt:.6g} s; the integration "
                                  f"step {self.integration_step:g} s is too coarse for model "
                                  f"'{self.model.kind}' (try {self.integration_step / 10:g} s)")

    def _arrivals(self, start: float, end: float):
        return (window_arrivals(self.spike_inputs, self.n_neurons, start, end,
                                self._arrival_buffers)
                if self.spike_inputs else self._no_arrivals)

    def _run(self, first_step: int, n_steps: int, group_rates: np.ndarray, arrivals) -> None:
        """Every neuron through steps first_step.. (the kernel, in calls between which
        the spike buffers are flushed)."""
        neuron = 0
        while neuron < self.n_neurons:
            neuron, stored = self.kernel.advance(
                self.state, self.refractory_until, self.next_event, self.next_interval,
                self.intensity, self.rng,
                first_step, n_steps, self.dt, group_rates, self.efficacy, self.dimension,
                *arrivals, self.integration_step, self.counts, self._times, self._ids,
                self._stored, self.mean, self.record_slot, self.samples, self.accumulate_from,
                self.v_sum, self.v_square, self._gap_drive, neuron)
            self._stored = stored
            if neuron < 0:
                raise SimulationError(f"population '{self.name}': a neuron fired more than "
                                      f"{len(self._times)} times in {n_steps} steps; shorten "
                                      "the run's chunks or check the model")
            if neuron < self.n_neurons or stored > SPIKE_BUFFER // 2:
                self._flush()

    def _flush(self) -> None:
        if self._stored:
            self.spike_times.append(self._times[:self._stored].copy())
            self.spike_ids.append(self._ids[:self._stored].copy())
            self._stored = 0

    def finish(self) -> None:
        self._flush()
        self.mean /= self.n_neurons

    @property
    def rate(self) -> np.ndarray:
        return self.counts / (self.n_neurons * self.dt)

    def rates(self) -> np.ndarray:
        return self.rate[None, :]

    def snapshot(self) -> None:
        pass  # no density

    def records(self, snapshot_times: list[float]) -> list[PopulationRecord]:
        self.finish()
        times, ids = self.spikes()
        model = self.model
        units = model.units
        half = self.n_steps - self.accumulate_from
        neuron_mean = self.v_sum / half
        neuron_var = np.maximum(self.v_square / half - neuron_mean ** 2, 0.0)
        v_unit = units[model.variables[0]]
        datasets = {
            "rate": Dataset(self.rate, "Hz"),
            **{f"mean/{v}": Dataset(self.mean[j], units[v])
               for j, v in enumerate(model.variables)},
            "samples/node_ids": Dataset(self.record, "1"),
            **{f"samples/{v}": Dataset(self.samples[:, :, j], units[v], compress=True)
               for j, v in enumerate(model.variables)},
            "synchrony/neuron_mean_v": Dataset(neuron_mean, v_unit),
            "synchrony/neuron_var_v": Dataset(neuron_var, f"{v_unit}^2")}
        group_attrs = {"": {"method": "direct", "variables": json.dumps(list(model.variables)),
                            "unit": v_unit, "n_neurons": self.n_neurons},
                       "synchrony": {"t_start": self.accumulate_from * self.dt}}
        spikes = {"timestamps": Dataset(times, "s", compress=True),
                  "node_ids": Dataset(ids, "1", compress=True)}
        return [PopulationRecord(self.name, "direct", self.rate, None, datasets, group_attrs,
                                 spikes)]

    def checks(self, seconds: float) -> list[PopulationChecks]:
        warning = None if self.gap is None else step_warning(self.gap, self.dt, self.name)
        return [PopulationChecks(step_warnings=[warning] if warning else [])]

    def spikes(self) -> tuple[np.ndarray, np.ndarray]:
        times = np.concatenate(self.spike_times) if self.spike_times else np.zeros(0)
        ids = np.concatenate(self.spike_ids) if self.spike_ids else np.zeros(0, np.int64)
        order = np.argsort(times, kind="stable")
        return times[order], ids[order]


# The integration step check: RK4 at the step and at half of it must agree to this
# fraction of the model's voltage scale (|threshold - reset|, or the range the
# trajectory spans) along a test trajectory, else the step is refused. RK4's error
# falls 16-fold per halving, so passing means the step's own error is below ~1e-3.
STEP_CHECK_TOLERANCE = 1e-3
STEP_CHECK_DURATION = 0.05  # s of test trajectory
STEP_CHECK_HALVINGS = 6


def check_integration_step(model: NeuronModel, initial: dict[str, float], step: float,
                           mean_drive: dict[str, float], duration: float) -> float | None:
    """None if RK4 at `step` follows the model closely enough, else a suggested step.

    The test trajectory starts at the initial state under the mean input drive (each
    input's rate x efficacy added to its variable's derivative), with spikes and
    resets, for `duration` s."""
    if model.kind == "lif":
        return None  # solved exactly
    duration = min(duration, STEP_CHECK_DURATION)

    starts = [initial]
    v = model.variables[0]
    reset = model.reset.get(v) if model.reset else None
    if model.threshold is not None and isinstance(reset, float):
        # Also from near threshold, where fast (exponential, quadratic) upstrokes need
        # the smallest steps; noise takes neurons there even when the mean does not.
        starts.append(dict(initial, **{v: model.threshold - 0.1 * (model.threshold - reset)}))

    def error_at(h: float) -> float:
        return max(error_from(h, start) for start in starts)

    def error_from(h: float, start: dict) -> float:
        coarse = _test_trajectory(model, start, h, mean_drive, duration)
        fine = _test_trajectory(model, start, h / 2, mean_drive, duration)
        if coarse is None or fine is None:
            return np.inf
        (v_coarse, spikes_coarse), (v_fine, spikes_fine) = coarse, fine
        if len(spikes_coarse) != len(spikes_fine):
            return np.inf
        scale = (abs(model.threshold - model.reset[model.variables[0]])
                 if model.threshold is not None and model.reset and
                 isinstance(model.reset[model.variables[0]], float)
                 else max(np.ptp(v_fine), 1e-12))
        # Compare voltages up to the first spike (after it, crossing-time rounding of
        # either run shifts everything), and spike times to within half a step.
        fine_on_coarse = v_fine[::2][:len(v_coarse)]
        until = len(v_coarse)
        if spikes_coarse:
            until = min(until, int(min(spikes_coarse[0], spikes_fine[0]) / h))
        voltage = (np.max(np.abs(v_coarse[:until] - fine_on_coarse[:until])) / scale
                   if until > 0 else 0.0)
        # Intervals, not absolute times: a fraction of a step per spike adds up over
        # a fast spike train without making any interval wrong.
        timing = (np.max(np.abs(np.diff(np.concatenate([[0.0], spikes_coarse])) -
                                np.diff(np.concatenate([[0.0], spikes_fine])))) / (0.5 * h)
                  if spikes_coarse else 0.0)
        return max(voltage, timing * STEP_CHECK_TOLERANCE)

    if error_at(step) <= STEP_CHECK_TOLERANCE:
        return None
    candidate = step
    # Each halving doubles the test's cost; beyond a few, say so rather than search on.
    for _ in range(STEP_CHECK_HALVINGS):
        candidate /= 2
        if error_at(candidate) <= STEP_CHECK_TOLERANCE:
            return candidate
    return candidate


def _test_trajectory(model, initial, h, mean_drive, duration):
    names = model.variables
    drive = np.array([mean_drive.get(name, 0.0) for name in names])
    x = np.array([initial[name] for name in names], dtype=float)

    def f(state):
        return np.array(model.drift(*state), dtype=float).reshape(-1) + drive

    n_steps = int(np.ceil(duration / h))
    trace = np.empty(n_steps + 1)
    trace[0] = x[0]
    spikes = []
    def rk4(state, step):
        k1 = f(state)
        k2 = f(state + 0.5 * step * k1)
        k3 = f(state + 0.5 * step * k2)
        k4 = f(state + step * k3)
        return state + step / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    with np.errstate(all="ignore"):
        for k in range(n_steps):
            new = rk4(x, h)
            if not np.all(np.isfinite(new)):
                return None
            if model.threshold is not None and x[0] < model.threshold <= new[0]:
                # As the kernel does: the crossing by linear interpolation, the reset
                # there, and the rest of the step from the reset state.
                fraction = (model.threshold - x[0]) / (new[0] - x[0])
                spikes.append((k + fraction) * h)
                if model.reset:
                    new = rk4(_reset(model, x + fraction * (new - x)), (1 - fraction) * h)
            x = new
            trace[k + 1] = x[0]
    return trace, spikes


def _reset(model, state):
    return np.array(model.reset_state(*state), dtype=float).reshape(-1)
