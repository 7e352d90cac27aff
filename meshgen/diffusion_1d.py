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
  Brunel's network, D = 1,480 mV^2/s: sigma = 5.4 mV), but no more than the distance
  from reset to threshold, which bounds the density of a neuron driven across it;
* cells of scale / CELLS_PER_SCALE (Brunel: 0.11 mV, 368 cells from -20 to 20 mV);
* a step of tau / STEPS_PER_TIME_CONSTANT (Brunel: 0.1 ms);
* an input diffuses (is taken in the diffusion limit) when its jumps are small against
  the scale: up to scale / UP_JUMP_LIMIT for jumps up, which cross the threshold (the
  limit's error is a boundary layer of the jump's size there), and scale /
  DOWN_JUMP_LIMIT for jumps down. Other inputs are taken as exact jumps;
* `method = "diffusion"` is chosen automatically (method left out) when some input
  diffuses, enough to resolve the drift on these cells (max |F| x width / D_diffusing
  <= MAX_CELL_PECLET: the flux is exact for drift and diffusion together; without
  diffusion it becomes upwind, whose numerical diffusion |F| width / 2 is what strips
  avoid: the public case, 1 mV jumps only, on a diffusion mesh: +6%), and the
  population fires at MIN_FIRING_RATE or more under it (rare firing is a tail that the
  diffusion limit gets wrong by large factors).

Measured errors of the rate against exact Monte Carlo (benchmarks/README.md,
"Diffusion meshes"): Brunel's state C +0.46% (self-consistent; NEST's 12,500 neurons:
-0.4%); 0.1 mV x 100 kHz with -0.5 mV x 12.5 kHz +0.28%; 0.05 mV x 40 kHz diffusing
with 2 mV x 600 Hz exact -0.02%. With 1 mV jumps up against 10 mV from reset to
threshold (ratio 1/10) the limit was +1% to +2.6% off: hence the limit of 1/20 up.

At run time each connection into the population diffuses or jumps by the same limits
(the mesh stores them); `scheme` on the connection overrides that (solver.diffusion_1d).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .cells import equal_cell_edges
from .errors import MeshError
from .strips_1d import sampled_drift

CELLS_PER_SCALE = 50
STEPS_PER_TIME_CONSTANT = 200
UP_JUMP_LIMIT = 20.0
DOWN_JUMP_LIMIT = 10.0
MAX_CELL_PECLET = 2.0
MIN_FIRING_RATE = 1.0  # Hz, of the exploration under expected_input
# Fewest cells from the lowest potential to the threshold: a mesh coarser than this
# cannot place the reset and the threshold's boundary layer apart.
MIN_CELLS = 40


@dataclass(frozen=True)
class DensityScale:
    """What the expected input makes of the density: its width `sigma` (unit of v), the
    model's relaxation time `tau` (s), the diffusion D (unit^2 / s), and the `scale`
    cells and jumps are measured against (sigma, or the reset's distance to the
    threshold if less); `fastest`, max |F| where the density relaxes (unit / s)."""

    sigma: float
    tau: float
    diffusion: float
    scale: float
    fastest: float

    @property
    def largest_diffusing(self) -> tuple[float, float]:
        """The largest jumps (up, down: |h|) taken in the diffusion limit."""
        return self.scale / UP_JUMP_LIMIT, self.scale / DOWN_JUMP_LIMIT

    def diffuses(self, efficacy: float) -> bool:
        up, down = self.largest_diffusing
        return efficacy <= up if efficacy > 0 else -efficacy <= down


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
        return equal_cell_edges(self.lowest, self.width, self.n_cells, self.threshold)


def density_scale(drift: Callable, low: float, high: float, inputs) -> DensityScale:
    """The density's scale under `inputs` (ExpectedInput in v) for the flow `drift`,
    relaxing over [low, high] (meshgen.strips_1d.accuracy_range)."""
    diffusion = sum(0.5 * i.rate * i.efficacy ** 2 for i in inputs)
    grid, speed = sampled_drift(drift, low, high)
    relaxation = float(np.abs(np.diff(speed) / np.diff(grid)).mean())
    if relaxation == 0.0:
        raise MeshError("the model has no relaxation time between reset and threshold "
                        "(its drift is constant); give [mesh] dt and method = \"strips\"")
    tau = 1.0 / relaxation
    sigma = float(np.sqrt(diffusion * tau))
    return DensityScale(sigma=sigma, tau=tau, diffusion=diffusion, scale=min(sigma, high - low),
                        fastest=float(np.abs(speed).max()))


def suits_diffusion(scale: DensityScale, inputs, firing_rate: float) -> bool:
    """The automatic choice of method (module doc): some of the expected `inputs`
    diffuse, enough to resolve the drift where the density relaxes on the mesh's
    cells, and the population fires at `firing_rate` (Hz, explored) of at least
    MIN_FIRING_RATE."""
    diffusing = sum(0.5 * i.rate * i.efficacy ** 2 for i in inputs if scale.diffuses(i.efficacy))
    if not diffusing > 0 or firing_rate < MIN_FIRING_RATE:
        return False
    return scale.fastest * (scale.scale / CELLS_PER_SCALE) / diffusing <= MAX_CELL_PECLET


def build_diffusion_mesh(drift: Callable, lowest: float, threshold: float, scale: DensityScale,
                         dt: float | None, max_cells: int) -> DiffusionMesh:
    span = threshold - lowest
    n = max(MIN_CELLS, int(np.ceil(span * CELLS_PER_SCALE / scale.scale)))
    if n > max_cells:
        raise MeshError(f"the mesh needs {n} cells, more than [mesh] max_cells = {max_cells}",
                        key="mesh.max_cells")
    width = span / n
    faces = equal_cell_edges(lowest, width, n, threshold)
    with np.errstate(all="ignore"):
        face_drift = np.asarray(drift(faces), dtype=float) * np.ones_like(faces)
    if not np.all(np.isfinite(face_drift)):
        raise MeshError("the model's derivative is not finite on the mesh", key="mesh.v_range")
    return DiffusionMesh(lowest=lowest, threshold=threshold, width=width,
                         dt=dt or scale.tau / STEPS_PER_TIME_CONSTANT, face_drift=face_drift,
                         scale=scale)
