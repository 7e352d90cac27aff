"""Density populations on a 1D diffusion mesh (meshgen.diffusion_1d), one population of
the protocol solver.population.Population each, stepped by
solver.kernels_diffusion.advance_diffusion.

Each incoming connection is one group of the input table, taken either in the
diffusion limit or as exact jumps (`scheme`, `connection_groups`). Populations couple
through the engine's feeds, so a chunk is never longer than the shortest delay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from meshgen.cells import split_between_cells
from meshgen.formats.mesh_artifact import Diffusion1DArtifact

from .backend import load_kernels
from .network_1d import density_1d_record
from .population import PopulationChecks, PopulationRecord, TableInput

# Below this many cells across the density scale of the input a population actually
# got (meshgen.diffusion_1d sizes cells by 50 per scale), `miind run` warns that the
# mesh is too coarse for that input.
MIN_CELLS_PER_SCALE = 10


@dataclass(frozen=True)
class Groups:
    """The incoming groups of a diffusion population, as the kernel takes them."""

    efficacy: np.ndarray  # (G,) jump in v
    exact: np.ndarray  # (G,) int64: 1 exact jumps, 0 diffusion limit
    shift: np.ndarray  # (G,) int64: floor(h / width), the whole cells of an exact jump
    fraction: np.ndarray  # (G,) the rest, in cells
    bands_above: int  # of the step's band matrix, above the diagonal (jumps down)
    bands_below: int  # and below it (jumps up)

    @property
    def schemes(self) -> list[str]:
        return ["jumps" if e else "diffusion" for e in self.exact]


def takes_exact_jumps(artifact: Diffusion1DArtifact, efficacy: float, scheme: str) -> bool:
    """`scheme` of a connection: "jumps", "diffusion", or "auto": the diffusion limit
    for jumps up to the mesh's limits (meshgen.diffusion_1d)."""
    if scheme == "auto":
        limit = artifact.diffusing_up if efficacy > 0 else artifact.diffusing_down
        return abs(efficacy) > limit
    return scheme == "jumps"


def connection_groups(artifact: Diffusion1DArtifact, efficacies, exact) -> Groups:
    """The groups of the given efficacies, each exact jumps or not (takes_exact_jumps)."""
    efficacy = np.asarray(efficacies, dtype=float)
    exact = np.asarray(exact, dtype=np.int64)
    cells = efficacy / artifact.width
    # Rounding must not turn a whole number of cells into a sliver of the next one.
    whole = np.floor(cells + 1e-9)
    shift = whole.astype(np.int64)
    fraction = np.clip(cells - whole, 0.0, None)
    fraction[fraction < 1e-9] = 0.0
    offsets = [0]
    for s, f, e in zip(shift, fraction, exact):
        if e:
            offsets += [int(s), int(s) + 1] if f > 0 else [int(s)]
    # A jump past either end of the mesh lands in its end cell: n - 1 bands at most.
    most = max(1, artifact.n_cells - 1)
    return Groups(efficacy=efficacy, exact=exact, shift=shift, fraction=fraction,
                  bands_above=min(max(1, -min(offsets)), most),
                  bands_below=min(max(1, max(offsets)), most))


def refractory_delay(refractory: float, dt: float) -> float:
    """The kernel's refractory delay in steps. Mass that fires in a step leaves the
    density at the step's end, where implicit Euler puts it, and the kernel counts the
    delay from the step after: so a whole step less, and the refractory mass is rate x
    refractory, as in the stationary state of the generator (solver.steady). A
    refractory period under one step is one step long (`held_seconds`)."""
    return max(refractory / dt - 1.0, 0.0)


def held_seconds(refractory: float, dt: float) -> float:
    """How long the kernel holds mass that fired: the refractory period, or one step if
    that is longer."""
    return dt * (refractory_delay(refractory, dt) + 1.0)


@dataclass
class Diffusion1DPopulation(TableInput):
    """A density population on a 1D diffusion mesh."""

    name: str
    artifact: Diffusion1DArtifact
    groups: Groups
    n_steps: int
    dt: float
    has_density: ClassVar[bool] = True
    mass: np.ndarray = field(init=False)

    def __post_init__(self):
        a = self.artifact
        n = a.n_cells
        self.refractory_steps = refractory_delay(a.refractory, self.dt)
        self.mass = np.zeros(n)
        # Released at the start of a step, filled up to refractory_steps + 2 after it.
        self.queue = np.zeros(int(np.floor(self.refractory_steps)) + 3)
        self.rate = np.zeros(self.n_steps)
        self.total_mass = np.zeros(self.n_steps)
        self.mean = np.zeros(self.n_steps)
        self.band = np.zeros((self.groups.bands_above + self.groups.bands_below + 1, n))
        self.fired = np.zeros(n)
        self.centres = a.centres
        self.fill_missing_rates(len(self.groups.efficacy), self.n_steps)
        self.snapshots: list[np.ndarray] = []
        kernels = load_kernels()
        self.kernels = kernels.name
        self._advance_diffusion = kernels.advance_diffusion

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def set_initial(self, v: float) -> None:
        """All mass at v, split between the two cells around it (the mean is v)."""
        a = self.artifact
        mass = np.zeros(a.n_cells)
        cells, fractions = split_between_cells(a.lower, a.upper, v)
        mass[cells] = fractions
        self.set_initial_mass(mass)

    def set_initial_mass(self, mass: np.ndarray) -> None:
        """Start from `mass` per cell (solver.initial_states), none of it refractory."""
        self.mass[:] = mass
        self.queue[:] = 0.0

    def advance(self, first_step: int, n_steps: int) -> None:
        a, g = self.artifact, self.groups
        self._advance_diffusion(a.face_drift, a.width, self.centres, g.efficacy, g.exact,
                                g.shift, g.fraction, g.bands_above, g.bands_below,
                                a.reset_cells, a.reset_fractions, a.reset_potential,
                                self.refractory_steps, np.ascontiguousarray(self.input_rates),
                                first_step, n_steps, self.dt, self.mass, self.queue, self.rate,
                                self.total_mass, self.mean, self.band, self.fired)

    def rates(self) -> np.ndarray:
        return self.rate[None, :]

    def snapshot(self) -> None:
        self.snapshots.append(self.mass.copy())

    def records(self, snapshot_times: list[float]) -> list[PopulationRecord]:
        return [density_1d_record(self.name, self.artifact, self.rate, self.mean,
                                  self.total_mass, snapshot_times, self.snapshots,
                                  schemes=",".join(self.groups.schemes))]

    def checks(self, seconds: float) -> list[PopulationChecks]:
        half = self.n_steps // 2
        found = [coarse_mesh_warning(self.name, self.artifact, self.groups,
                                     self.input_rates[:, half:].mean(axis=1)),
                 short_refractory_warning(self.name, self.artifact, self.dt,
                                          float(self.rate[half:].mean()))]
        return [PopulationChecks(step_warnings=[w for w in found if w])]


def coarse_mesh_warning(name: str, artifact: Diffusion1DArtifact, groups: Groups,
                        rates: np.ndarray) -> str | None:
    """The warning that the density the population's input makes (mean `rates` of its
    groups) is narrow against the mesh's cells, or None."""
    diffusion = float(np.sum(0.5 * rates * groups.efficacy ** 2))
    if diffusion == 0.0:
        return None  # no input spreads it: no mesh would be finer for that
    scale = min(np.sqrt(diffusion * artifact.tau), artifact.threshold - artifact.reset_potential)
    if scale >= MIN_CELLS_PER_SCALE * artifact.width:
        return None
    return (f"population '{name}': its input spreads the density over {scale:.3g} "
            f"{artifact.unit}, {scale / artifact.width:.2g} cells of its diffusion mesh "
            f"(cells of {artifact.width:.3g}, built for a scale of {artifact.scale:.3g}), fewer "
            f"than {MIN_CELLS_PER_SCALE}: re-mesh with [mesh] expected_input set to the input "
            "it gets")


# Relative error of the rate, rate x (dt - refractory), above which `miind run` warns
# that the kernel holds fired mass a whole step (held_seconds).
SHORT_REFRACTORY_ERROR = 1e-3


def short_refractory_warning(name: str, artifact: Diffusion1DArtifact, dt: float,
                             rate: float) -> str | None:
    """The warning that a refractory period shorter than the step lowers the rate by
    about rate x (dt - refractory), or None."""
    error = rate * (held_seconds(artifact.refractory, dt) - artifact.refractory)
    if not error > SHORT_REFRACTORY_ERROR:
        return None
    return (f"population '{name}': its refractory period ({artifact.refractory:g} s) is shorter "
            f"than the step ({dt:g} s), which holds fired mass a whole step: the rate "
            f"({rate:.4g} Hz) is about {100 * error:.2g}% low; set [simulation] dt <= "
            f"{max(artifact.refractory, SHORT_REFRACTORY_ERROR / max(rate, 1e-9)):.2g} s")
