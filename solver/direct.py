"""Direct simulation: populations of individual neurons, `method = "direct"`.

Each population runs a kernel generated from its model's equations (solver.codegen),
with its own random stream, and reports the same outputs as a density population
(rate, mean state) plus its spikes, so one simulation file can mix both methods.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass, field

import numpy as np

from meshgen.errors import ConfigError
from meshgen.models import NeuronModel

from .codegen import cache_directory, kernel_source
from .rng import exponential_table, neuron_states, population_key

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
class DirectPopulation:
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
    state: np.ndarray = field(init=False)
    kernel: object = field(init=False, repr=False)

    def __post_init__(self):
        self.kernel = load_kernel_module(self.model)
        self.rng = neuron_states(population_key(self.seed, self.stream), self.n_neurons)
        n_vars = self.model.dimension
        self.state = np.zeros((n_vars, self.n_neurons))
        self.refractory_until = np.full(self.n_neurons, -np.inf)
        self.remaining = exponential_table(self.rng, max(1, len(self.groups)))
        self.counts = np.zeros(self.n_steps, dtype=np.int64)
        self.mean = np.zeros((n_vars, self.n_steps))
        self.samples = np.zeros((self.n_steps, len(self.record), n_vars))
        self.v_sum = np.zeros(self.n_neurons)
        self.v_square = np.zeros(self.n_neurons)
        self._times = np.zeros(SPIKE_BUFFER + 4 * self.n_neurons)
        self._ids = np.zeros(SPIKE_BUFFER + 4 * self.n_neurons, dtype=np.int64)
        self._stored = 0
        self.spike_times: list[np.ndarray] = []
        self.spike_ids: list[np.ndarray] = []
        self.efficacy = np.array([g.efficacy for g in self.groups] or [0.0])
        self.dimension = np.array([g.dimension for g in self.groups] or [0], dtype=np.int64)

    def set_initial(self, values: dict[str, float]) -> None:
        for k, variable in enumerate(self.model.variables):
            self.state[k, :] = values[variable]

    def advance(self, first_step: int, n_steps: int, group_rates: np.ndarray) -> None:
        """group_rates: (groups, n_steps_total) Poisson rate of each input group (Hz)."""
        if group_rates.shape[0] == 0:
            group_rates = np.zeros((1, self.n_steps))
        done = 0
        while done < n_steps:
            steps, stored = self.kernel.advance(
                self.state, self.refractory_until, self.remaining, self.rng, first_step + done,
                n_steps - done, self.dt, group_rates, self.efficacy, self.dimension,
                self.integration_step, self.counts, self._times, self._ids, self._stored,
                self.mean, self.record, self.samples, self.accumulate_from, self.v_sum,
                self.v_square)
            self._stored = stored
            done += steps
            if done < n_steps or stored > SPIKE_BUFFER // 2:
                self._flush()
        if not np.all(np.isfinite(self.state)):
            raise ConfigError(f"population '{self.name}': the state became non-finite; the "
                              f"integration step {self.integration_step:g} s is too coarse for "
                              f"model '{self.model.kind}' (try {self.integration_step / 10:g} s)",
                              key="population.integration_step")

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

    def spikes(self) -> tuple[np.ndarray, np.ndarray]:
        times = np.concatenate(self.spike_times) if self.spike_times else np.zeros(0)
        ids = np.concatenate(self.spike_ids) if self.spike_ids else np.zeros(0, np.int64)
        order = np.argsort(times, kind="stable")
        return times[order], ids[order]
