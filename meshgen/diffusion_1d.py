"""The 1D diffusion mesh: equal cells sized by the density the expected input makes.

Strip meshes (meshgen.strips_1d) size cells by the smallest efficacy and move mass
exactly along the flow; their jump step costs one sparse product per expected jump.
Under many small inputs (a cortical neuron's thousands of 0.1 mV synapses at tens of
kHz) that is the wrong trade: the density is smooth on the scale of millivolts, and
the jumps per step run into tens. This mesh is built for that regime
(solver.kernels_diffusion): a few hundred equal cells, a step whose cost does not
depend on the input rate, and connections taken in the diffusion limit (their mean
drift and variance) when their jumps are small against the density's width, as
exact jumps otherwise.

The rule, from `[mesh] expected_input` (rates r_g of jumps h_g in v):

* the density's scale: sigma = sqrt(D tau), with D = sum_g r_g h_g^2 / 2 and tau the
  model's relaxation time, 1 / mean |F'(v)| between reset and threshold (LIF: its tau;
  Brunel's network, D = 1,480 mV^2/s: sigma = 5.4 mV);
* cells of sigma / CELLS_PER_SIGMA (Brunel: 0.11 mV, 370 cells from -20 to 20 mV);
* a step of tau / STEPS_PER_TIME_CONSTANT (Brunel: 0.1 ms);
* `method = "diffusion"` is chosen automatically (method left out) when every
  efficacy is at most sigma / DIFFUSION_LIMIT: the diffusion limit's error on the
  rate grows with h / sigma (benchmarks/README.md, "Diffusion meshes").

At run time each connection into the population is taken in the diffusion limit when
|h| <= sigma / DIFFUSION_LIMIT (sigma of the mesh's expected input), as exact jumps
otherwise; `scheme` on the connection overrides that (solver.diffusion_1d).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import MeshError

CELLS_PER_SIGMA = 50
STEPS_PER_TIME_CONSTANT = 200
DIFFUSION_LIMIT = 10.0
DRIFT_SAMPLES = 4001
# Fewest cells from the lowest potential to the threshold: a mesh coarser than this
# cannot place the reset and the threshold's boundary layer apart.
MIN_CELLS = 40


@dataclass(frozen=True)
class DensityScale:
    """What the expected input makes of the density: its width `sigma` (unit of v), the
    model's relaxation time `tau` (s) and the diffusion D (unit^2 / s)."""

    sigma: float
    tau: float
    diffusion: float


@dataclass(frozen=True)
class DiffusionMesh:
    lowest: float
    threshold: float
    width: float
    dt: float
    face_drift: np.ndarray  # (n + 1,) F at the faces, lowest .. threshold
    scale: DensityScale

    @property
    def n_cells(self) -> int:
        return len(self.face_drift) - 1

    @property
    def edges(self) -> np.ndarray:
        return self.lowest + self.width * np.arange(self.n_cells + 1)


def density_scale(drift: Callable, low: float, high: float, inputs) -> DensityScale:
    """The density's scale under `inputs` (ExpectedInput in v) for the flow `drift`,
    relaxing over [low, high] (meshgen.strips_1d.accuracy_range)."""
    diffusion = sum(0.5 * i.rate * i.efficacy ** 2 for i in inputs)
    grid = np.linspace(low, high, DRIFT_SAMPLES)
    with np.errstate(all="ignore"):
        speed = np.asarray(drift(grid), dtype=float) * np.ones_like(grid)
    slope = np.abs(np.diff(speed) / np.diff(grid))
    if not np.all(np.isfinite(slope)):
        raise MeshError("the model's derivative is not finite between reset and threshold")
    relaxation = float(slope.mean())
    if relaxation == 0.0:
        raise MeshError("the model has no relaxation time between reset and threshold "
                        "(its drift is constant); give [mesh] dt and method = \"strips\"")
    tau = 1.0 / relaxation
    return DensityScale(sigma=float(np.sqrt(diffusion * tau)), tau=tau, diffusion=diffusion)


def suits_diffusion(scale: DensityScale, efficacies) -> bool:
    """Whether every efficacy is small enough against the density for the diffusion
    limit: the automatic choice of method."""
    return scale.sigma > 0 and all(abs(h) <= scale.sigma / DIFFUSION_LIMIT for h in efficacies)


def build_diffusion_mesh(drift: Callable, lowest: float, threshold: float, scale: DensityScale,
                         dt: float | None, max_cells: int) -> DiffusionMesh:
    span = threshold - lowest
    n = max(MIN_CELLS, int(np.ceil(span * CELLS_PER_SIGMA / scale.sigma)))
    if n > max_cells:
        raise MeshError(f"the mesh needs {n} cells, more than [mesh] max_cells = {max_cells}")
    width = span / n
    faces = lowest + width * np.arange(n + 1)
    faces[-1] = threshold
    with np.errstate(all="ignore"):
        face_drift = np.asarray(drift(faces), dtype=float) * np.ones_like(faces)
    if not np.all(np.isfinite(face_drift)):
        raise MeshError("the model's derivative is not finite on the mesh")
    return DiffusionMesh(lowest=lowest, threshold=threshold, width=width,
                         dt=dt or scale.tau / STEPS_PER_TIME_CONSTANT, face_drift=face_drift,
                         scale=scale)
