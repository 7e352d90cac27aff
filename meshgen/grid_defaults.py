"""What a grid mesh chooses when the model file leaves it out, and what it refuses.

`[mesh] resolution` and `dt` are optional for grids:

* resolution: along a variable that has jumps, DEFAULT_CELLS_PER_EFFICACY_GRID cells per
  smallest efficacy in it; along one without, DEFAULT_CELLS, or DEFAULT_SPIKING_CELLS
  along the spiking variable (v: its flux through the threshold is the rate). With
  [mesh] expected_input, an axis without jumps also gets at least CELLS_PER_SPREAD
  cells across the interquartile range of the states the population visits
  (meshgen.exploration): a density narrow against its range (FitzHugh-Nagumo's w)
  would otherwise sit in a few cells. As far as the cost allows: the mesh stays
  within what `miind mesh` would warn about (meshgen.grid_accounting.affordable_cells),
  and at most MAX_SPREAD_CELLS along the axis.
* dt: the grid method spreads each moved cell evenly over the cells it lands on, once
  a step, which is a numerical diffusion that grows as the steps get shorter (about
  dx^2 g (1 - g) / dt per unit time, g the fractional shift). So dt is chosen as long
  as accuracy allows: TIME_SCALE_FRACTION of the flow's typical time scale, beyond
  which the fixed split of motion and jumps within a step costs accuracy, rounded
  down to 1, 2 or 5 times a power of ten. The typical time scale is 1 / the median,
  over the states the neurons pass through (meshgen.exploration: under
  [mesh] expected_input, or at rest without it), of the largest |eigenvalue| of the
  drift's Jacobian: the density lives where the flow is slow, not in a fast upstroke
  that may fill most of the range. With expected_input, dt is also at most
  1 / (STEPS_PER_INTERVAL x the firing rate the exploration finds): a step is a
  fortieth of the interval between spikes at most.

Until 2026-12 the median was taken over the cells of the ranges below threshold,
weighted by the time a neuron spends in each (1 / its speed); it gave the same steps
on the examples' ranges (AdEx 5e-4 s, Izhikevich 1e-4 s, conductance LIF 5e-4 s) but
depended on the ranges: Izhikevich on v in [-90, 30] mV, u in [-20, 20] got 5e-5 s,
twice the cost. The measurements below were made with that rule.

Measured (AdEx of tests/reference/test_grid_density.py: v in [-80, -40.4] mV, w in
[-50, 300] pA, 2000 Hz of 1 mV jumps, rate over 0.6..1.0 s against a direct simulation
of 20,000 neurons, 5.073 +- 0.018 Hz):

    v x w cells   dt      rate    error       v x w cells   dt      rate    error
    100 x 100     1e-4    5.779   +13.9%      200 x 200     5e-5    5.371   +5.9%
    100 x 200     1e-4    5.808   +14.5%      200 x 200     1e-4    5.133   +1.2%
    150 x 100     2e-4    5.203   +2.6%       200 x 200     2e-4    5.126   +1.0%
    200 x 100     1e-4    5.105   +0.6%       200 x 200     5e-4    5.135   +1.2%
    300 x 200     1e-4    5.134   +1.2%       200 x 200     1e-3    5.265   +3.8%
    250 x 100     2e-4    5.088   +0.3%       200 x 200     2e-3    5.807   +14.5%
    200 x 50      2e-4    5.043   -0.6%       238 x 100     2e-4    5.083   +0.2% (defaults)

The cells along v (the jump axis) decide: 2.5 cells per efficacy +14%, 3.8 +2.6%,
5 or more about +1% (the rest is within the noise and the direct simulation's own
step); the cells along w hardly matter. At 200 v cells the median cell moves 7200
cells/s, so dt 1e-4 .. 5e-4 is 0.7 .. 3.6 cells a step: all good, 0.36 (5e-5) is
not. The AdEx flow's typical time scale is 9.45 ms (105.8 /s, the membrane's
C / g_L), and 1 ms (0.11 of it) is too long, 0.5 ms (0.053) is not: with 0.05 the
rule gives 4.7e-4 s, rounded down to 2e-4 s. With the defaults (238 x 100 cells,
2e-4 s) the rate is 5.083 Hz, +0.2%. (Other models, for orientation: Izhikevich
regular spiking over v in [-80, 30], u in [-20, 20] gets 5e-5 s, conductance-based
LIF 2e-4 s.)

Then checked on the other models of benchmarks/validate_2d.py (each rate against
20,000 direct neurons, examples/grid2d ranges), which moved three constants:

    conductance LIF, jumps of 0.05 in g over [0, 0.8], 550 Hz (3.873 Hz direct):
      v x g 100 x 96, 2e-4 s +5.2%;  220 x 160, 2e-4 s +2.3%;  220 x 160, 5e-4 s +1.0%
      200 x 96, 5e-4 s +2.2%;  200 x 128, 5e-4 s +1.5%;  200 x 160, 5e-4 s +1.1%
      (780 Hz, 22.03 Hz direct: 200 x 96 +1.7%, 200 x 160 +1.6%)
    AdEx 238 x 200 at 5e-4 s: -0.3% (3000 Hz), +0.7% (2000 Hz)
    Izhikevich, 1 mV jumps over v in [-85, 30]: 690 x 100 at 5e-5 s +0.2% / -0.5%
      (3000 / 8000 Hz), at 1e-4 s +0.1% / -0.5%

The conductance LIF needs 5e-4 s (0.1 of its 5 ms time scale; 2e-4 diffuses too
much), 8 cells per efficacy of g and 200 cells along v. AdEx at 0.1 of its time
scale gets 5e-4 s, still within 1%.

With these defaults (left-out resolution and dt; examples/grid2d ranges):
    AdEx 317 x 100, 5e-4 s: -0.4% (2000 Hz), -0.7% (3000 Hz)
    Izhikevich 920 x 100, 1e-4 s: -0.0% (3000 Hz), -0.5% (8000 Hz)
    conductance LIF 200 x 128, 5e-4 s: +1.5% (550 Hz), +1.6% (780 Hz)
"""

from __future__ import annotations

import math

import numpy as np

from .errors import MeshError
from .exploration import VisitedRegion, median_spectral_radius
from .regular_grid import Grid
from .models import NeuronModel

# Grids: cells per smallest efficacy along a jump axis: 5 gave +1% on AdEx (see above);
# the conductance LIF needs 8 along g. (2D strips: strips2d_tracing's
# DEFAULT_CELLS_PER_EFFICACY_2D_STRIPS along v; 1D strips: model_file's.)
DEFAULT_CELLS_PER_EFFICACY_GRID = 8.0
# Cells along a variable without jumps: 100 and 200 along AdEx's w agree within 0.5%.
DEFAULT_CELLS = 100
# Cells along the spiking variable when it has no jumps (conductance LIF: +2.2% with
# 200 x 96 against +5.2% with 100 x 96 ... see above).
DEFAULT_SPIKING_CELLS = 200
# dt as a fraction of the flow's typical time scale, before rounding down: AdEx was
# good at 0.053, +3.8% at 0.11, and much shorter steps diffuse more (0.005: +5.9%); the
# conductance LIF needs 0.1 (5e-4 s) where 0.04 (2e-4 s) gave +2.3%.
TIME_SCALE_FRACTION = 0.1
# Relative slack of the rounding of dt (see round_down_step).
ROUNDING_SLACK = 1e-6
# Steps per expected interval between spikes, at least. The conductance LIF under
# 2340 Hz of 0.05 jumps in g (147 Hz, 200 x 312 cells, against 20,000 direct
# neurons): dt 5e-4 s +5.6%, 2e-4 s +2.1%, 1e-4 s +1.0%; 40 steps of its 6.8 ms
# interval give 1e-4 s. AdEx at 111 Hz (9000 Hz input) gets 2e-4 s instead of 5e-4 s
# (-2.0% there).
STEPS_PER_INTERVAL = 40
# Cells across the interquartile range of the visited density along an axis without
# jumps, at least (FitzHugh-Nagumo at 1000 Hz: w's IQR is 0.07 of its 2.05-wide
# range; 100 cells, mean v +0.033 against direct; 200 cells +0.017, target 0.02).
CELLS_PER_SPREAD = 8
# ... but no more than this many along such an axis: the floor is for densities tens
# of times narrower than their range (FitzHugh-Nagumo at 500 Hz asks for 537), not for
# the point a resting population shrinks to.
MAX_SPREAD_CELLS = 1000
# A jump smaller than this many cells is refused: less cannot be told from diffusion.
MIN_CELLS_PER_EFFICACY = 1.0


def automatic_resolution(ranges, variables, efficacies,
                         spiking_cells_per_efficacy: float = DEFAULT_CELLS_PER_EFFICACY_GRID,
                         region: VisitedRegion | None = None,
                         max_cells: float = math.inf, given=None) -> tuple[int, ...]:
    """Cells per axis: DEFAULT_CELLS_PER_EFFICACY_GRID per smallest efficacy along the axes
    that have jumps (`efficacies`: (variable, size) pairs; along the first variable,
    `spiking_cells_per_efficacy`), DEFAULT_SPIKING_CELLS along the first variable
    without them, DEFAULT_CELLS elsewhere; along an axis without jumps at least
    CELLS_PER_SPREAD across the interquartile range of the `region` visited under
    the expected input (None: no such floor), as far as the mesh stays within
    `max_cells` (the cost budget: meshgen.grid_accounting.affordable_cells), with the
    cells of the axes the user gave (`given`: per axis, a count or None) counted as
    given."""
    counts, floors = [], []
    for index, (name, (lo, hi)) in enumerate(zip(variables, ranges)):
        sizes = [abs(h) for variable, h in efficacies if variable == name]
        if sizes:
            per_efficacy = spiking_cells_per_efficacy if index == 0 \
                else DEFAULT_CELLS_PER_EFFICACY_GRID
            counts.append(cells_for_efficacy(hi - lo, min(sizes), per_efficacy))
            floors.append(None)
            continue
        counts.append(DEFAULT_SPIKING_CELLS if index == 0 else DEFAULT_CELLS)
        spread = (float(np.subtract(*np.quantile(region.samples[index], [0.75, 0.25])))
                  if region is not None else 0.0)
        floors.append(min(MAX_SPREAD_CELLS, math.ceil(CELLS_PER_SPREAD * (hi - lo) / spread))
                      if spread > 0 else None)
    actual = [n if n is not None else c for n, c in zip(given or [None] * len(counts), counts)]
    for index, floor in enumerate(floors):
        if floor is not None and floor > counts[index]:
            others = math.prod(actual) // actual[index]
            affordable = max_cells / others
            counts[index] = max(counts[index], min(floor, math.floor(affordable))
                                if math.isfinite(affordable) else floor)
    return tuple(counts)


def cells_for_efficacy(span: float, efficacy: float,
                       per_efficacy: float = DEFAULT_CELLS_PER_EFFICACY_GRID) -> int:
    return max(2, math.ceil(span * per_efficacy / abs(efficacy) - 1e-9))


def too_small_efficacy(grid: Grid, efficacies) -> tuple[str, float, int] | None:
    """The first (variable, efficacy, suggested cells) whose jump is shorter than
    MIN_CELLS_PER_EFFICACY cells along its axis, or None."""
    for name, h in efficacies:
        axis = grid.axis(name)
        if abs(h) < MIN_CELLS_PER_EFFICACY * grid.widths[axis]:
            lo, hi = grid.ranges[axis]
            return name, h, cells_for_efficacy(hi - lo, h)
    return None


def automatic_grid_dt(model: NeuronModel, region: VisitedRegion) -> float:
    """The mesh step (see the module doc): TIME_SCALE_FRACTION of the flow's typical
    time scale where the `region`'s neurons go, at most a STEPS_PER_INTERVAL-th of
    their interval between spikes, rounded down to 1, 2 or 5 times a power of ten."""
    states = region.samples
    if model.threshold is not None:
        states = states[:, states[0] < model.threshold]
    typical = median_spectral_radius(model, states) if states.shape[1] else math.nan
    if not (typical > 0 and math.isfinite(typical)):
        raise MeshError("cannot choose dt: the flow has no time scale where the neurons go "
                        "(it does not move them); give [mesh] dt")
    dt = TIME_SCALE_FRACTION / typical
    if region.firing_rate > 0:
        dt = min(dt, 1.0 / (STEPS_PER_INTERVAL * region.firing_rate))
    return round_down_step(dt)


def round_down_step(dt: float) -> float:
    """dt rounded down to 1, 2 or 5 times a power of ten; within ROUNDING_SLACK of one
    counts as that one (the time scale comes from finite differences: the conductance
    LIF's 1 / tau_g = 200 /s came out 200.0000000024 /s, which would round 5e-4 s
    down to 2e-4 s)."""
    exponent = math.floor(math.log10(dt * (1 + ROUNDING_SLACK)))
    for mantissa in (5.0, 2.0, 1.0):
        value = mantissa * 10.0 ** exponent
        if value <= dt * (1 + ROUNDING_SLACK):
            return float(f"{value:.3g}")
    return float(f"{10.0 ** exponent:.3g}")


def nonfinite_region(model: NeuronModel, grid: Grid) -> str | None:
    """Where in the ranges the drift is not finite, as 'v in [a, b], w in [c, d]'
    (the box of the grid's nodes and centres where it is), or None."""
    points = []
    for per_axis in (grid.edges, grid.centres):
        v, w = np.meshgrid(*per_axis)
        points.append((v.ravel(), w.ravel()))
    v = np.concatenate([p[0] for p in points])
    w = np.concatenate([p[1] for p in points])
    dv, dw = _drift(model, v, w)
    bad = ~(np.isfinite(dv) & np.isfinite(dw))
    if not bad.any():
        return None
    return ", ".join(f"{name} in [{values[bad].min():.4g}, {values[bad].max():.4g}]"
                     for name, values in zip(grid.variables, (v, w)))


def _drift(model, v, w):
    with np.errstate(all="ignore"):
        dv, dw = model.drift(v, w)
    return np.broadcast_to(dv, v.shape), np.broadcast_to(dw, v.shape)
