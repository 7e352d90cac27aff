"""What the engine knows of a population: the population protocol.

solver.engine advances a simulation in chunks of steps without knowing what kind of
population it advances. Each kind is one class with the members of `Population`:

* solver.network_1d.Strips1DNetwork: every density population on a 1D strip mesh, in
  one kernel that couples them step by step (so one object stands for several
  populations: `names`);
* solver.diffusion_1d.Diffusion1DPopulation: a density population on a 1D diffusion
  mesh;
* solver.density_2d.Density2DPopulation: a density population on a 2D grid or strip
  mesh;
* solver.direct.DirectPopulation: neurons simulated one by one.

Each takes its inputs from a rate table (`input_rates`, one row per incoming group of
connections, one column per step): rows from Poisson inputs are filled when it is
built, rows from other populations (`feeds`) by the engine before each chunk, from
their rates with the connection's delay (`fill_feeds`). A chunk is never longer than
the shortest delay between populations, so every rate a chunk reads is known before
it starts. A kind is added by writing one such class and one builder in
solver.assembly.BUILDERS; the engine, the output writer and the checks do not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class RateFeed:
    """Row `row` of a population's input table gets `count` times the rate of the
    population `source` (index in file order), `delay` steps earlier (at least one)."""

    row: int
    source: int
    count: float
    delay: float


def delayed_rates(rates: np.ndarray, steps: np.ndarray, delay: float) -> np.ndarray:
    """rates[k - delay] for each k in `steps`, interpolated linearly between whole
    steps; zero before the start. (The 1D network kernel reads its own populations'
    rates the same way, step by step: solver.kernels_1d.advance_network.)"""
    whole = int(np.floor(delay))
    part = delay - whole
    first = steps - whole
    second = first - 1
    value = np.where(first >= 0, (1.0 - part) * rates[np.clip(first, 0, None)], 0.0)
    if part > 0:
        value += np.where(second >= 0, part * rates[np.clip(second, 0, None)], 0.0)
    return value


def fill_feeds(table: np.ndarray, feeds, all_rates: np.ndarray, first: int, stop: int) -> None:
    """Fill columns first..stop-1 of the rows of `table` that `feeds` name from the
    populations' rates `all_rates` (populations x steps, file order)."""
    steps = np.arange(first, stop)
    for feed in feeds:
        table[feed.row, first:stop] = feed.count * delayed_rates(all_rates[feed.source], steps,
                                                                 feed.delay)


@dataclass
class TableInput:
    """The protocol's input members for kinds written as dataclasses: `input_rates`
    (groups, n_steps) Hz, zero where not given (fill_missing_rates), and `feeds`."""

    input_rates: np.ndarray | None = field(default=None, kw_only=True)
    feeds: list[RateFeed] = field(default_factory=list, kw_only=True)

    def fill_missing_rates(self, groups: int, n_steps: int) -> None:
        if self.input_rates is None:
            self.input_rates = np.zeros((groups, n_steps))


@dataclass(frozen=True)
class Dataset:
    """One dataset of the output file: its values and their units."""

    values: np.ndarray
    units: str
    compress: bool = False


@dataclass
class PopulationRecord:
    """What a population hands over when the run ends: the output writer writes its
    group /populations/<name> from it (meshgen.formats.run_output), the run summary reads its rate.

    `datasets` and `group_attrs` are keyed by paths inside the population's group
    ("rate", "density/mass", ...; "" is the group itself); `spikes`, if any, are the
    datasets of /spikes/<name>."""

    name: str
    method: str  # "density" or "direct": the output's `method` attribute
    rate: np.ndarray  # (n_steps,) Hz
    mesh_hash: str | None = None  # density populations: their mesh's input hash
    datasets: dict[str, Dataset] = field(default_factory=dict)
    group_attrs: dict[str, dict] = field(default_factory=dict)
    spikes: dict[str, Dataset] | None = None


@dataclass
class PopulationChecks:
    """A population's findings at the end of a run (solver.checks): each list in the
    order the run summary gives it."""

    clamped_per_second: dict | None = None  # {mechanism: {edge: /s}}, 2D populations only
    clamp_findings: list = field(default_factory=list)  # solver.checks.ClampFinding
    unaccounted: list[str] = field(default_factory=list)  # mechanisms its mesh cannot check
    step_warnings: list[str] = field(default_factory=list)
    spread_warnings: list[str] = field(default_factory=list)


class Population(Protocol):
    """One kind of population, as the engine drives it."""

    names: tuple[str, ...]  # the populations it advances, in file order
    input_rates: np.ndarray  # (rows, n_steps) Hz: the rate of each incoming group per step
    feeds: list[RateFeed]  # the rows filled from other populations
    has_density: bool  # whether it has density snapshots to take
    kernels: str | None  # the build of its compiled density kernels ("aot", "jit"), or None

    def advance(self, first_step: int, n_steps: int) -> None:
        """Advance steps first_step .. first_step + n_steps - 1, reading input_rates."""

    def rates(self) -> np.ndarray:
        """(len(names), n_steps) Hz, filled up to the last step advanced."""

    def snapshot(self) -> None:
        """Keep the current density for the output (only called if has_density)."""

    def records(self, snapshot_times: list[float]) -> list[PopulationRecord]:
        """One record per name, once the run is over."""

    def checks(self, seconds: float) -> list[PopulationChecks]:
        """One entry per name: what the run's checks found."""
