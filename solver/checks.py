"""Run-time checks of 2D density populations, which `miind run` reports as warnings
(`--strict`: fails, exit 6):

* clamped mass: how much of a population's mass the motion, the jumps or the reset
  put into an edge cell of its mesh instead of beyond it. A mesh's ranges bound every
  variable; what would leave them (other than through the threshold) stays in the edge
  cell ("clamped", meshgen.box_edges). Whether that matters depends on where the
  population's mass goes, which only the run knows: the grid kernel adds up the clamped
  mass per step, mechanism and edge (solver.kernels_2d), and this module turns the
  totals into findings. The measure is the clamped mass per second as a fraction of
  the population, the run's mean per mechanism and edge: a number comparable with a
  firing rate in Hz (for the reset, it is the rate of spikes whose reset was clamped);
  CLAMP_WARNING_PER_SECOND is the threshold.
* steps per interval between spikes: a mesh step long against it (MIN_STEPS_PER_INTERVAL).
* the density's spread: along a variable without jumps, the final density must span
  MIN_CELLS_ACROSS_SPREAD cells across its interquartile range.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from meshgen.box_edges import CLAMP_MECHANISMS, edge_names
from meshgen.errors import MeshError

# meshgen.exploration (with meshgen.models) and meshgen.grid_defaults are imported by
# the checks of 2D populations that use them: solver.engine imports this module for
# CLAMP_WARNING_PER_SECOND, and a run of 1D populations needs no more.

# Clamped mass per second (fraction of the population) above which `miind run` warns.
# Measured (AdEx, b 80.5 pA, 3000 Hz of 1 mV jumps, grid of 320 x 100 cells over w in
# [-20, HI] pA; steady rate against HI = 600 pA, where nothing is clamped):
#     HI (pA)                      300    350    400    420    440    460    480
#     reset clamped at w high /s   19.7   8.39   1.17   0.35   0.115  0.021  0.0027
#     rate error                   +25%   +7.6%  +1.1%  +0.45% +0.24% +0.18% +0.14%
# (part of the last errors is the finer w cells of the narrower range). A clamped
# reset moves w by up to b; a clamped jump or motion step moves mass less than a cell,
# so the reset is the costly case: at 0.05 /s it stays within a few tenths of a
# percent. The examples' model files at the rates `make validate` checks them at
# clamp at most 0.005 /s (AdEx strips at 2000 Hz 0.0047, the grids 1e-4 to 8e-4: AdEx
# reset at 2000 Hz, Izhikevich reset at 8000 Hz, FitzHugh-Nagumo jumps at 2000 Hz);
# driven beyond them, 0.2 /s and more (FitzHugh-Nagumo at 4000 Hz 0.2 /s, conductance
# LIF at 1600 Hz 3.9 /s, AdEx at 3000 Hz on adex.toml's w range 24 /s).
CLAMP_WARNING_PER_SECOND = 0.05


@dataclass(frozen=True)
class ClampFinding:
    """One mechanism at one edge of one population, over the threshold."""

    population: str
    mechanism: str  # "motion", "jump" or "reset"
    edge: str  # e.g. "w high"
    per_second: float  # clamped mass per second, fraction of the population
    rate: float  # the population's mean firing rate over the run (Hz)
    variable: str
    unit: str
    suggestion: float | None = None  # where the range should end, from a direct exploration

    def message(self) -> str:
        spikes = (f" ({self.per_second / self.rate:.0%} of its spikes)"
                  if self.mechanism == "reset" and self.rate > 0 else "")
        side = "up to" if self.edge.endswith("high") else "down to"
        hint = (f"widen its mesh's range: {self.variable} {side} ~{self.suggestion:.4g}"
                f"{' ' + self.unit if self.unit not in ('', '1') else ''}"
                if self.suggestion is not None else f"widen its mesh's range of {self.variable}")
        return (f"population '{self.population}': the {self.mechanism} put "
                f"{self.per_second:.3g} /s of its mass{spikes} into the {self.edge} edge cells "
                f"instead of beyond them (threshold {CLAMP_WARNING_PER_SECOND:g} /s); {hint}, "
                "or leave the range out and give [mesh] expected_input")


# Mesh steps per interval between spikes below which `miind run` warns about a 2D
# population's time step (the automatic dt of a mesh made with expected_input keeps
# 40: meshgen.grid_defaults.STEPS_PER_INTERVAL). The conductance LIF firing at 147 Hz
# (2340 Hz of 0.05 jumps in g): 13.6 steps (dt 5e-4 s) +5.6% against direct
# simulation, 34 steps +2.1%, 68 steps +1.0%; AdEx at 111 Hz with 18 steps -2.0%.
MIN_STEPS_PER_INTERVAL = 20


def steps_warning(name: str, rate: float, dt: float) -> str | None:
    """The warning about a 2D population firing at `rate` (Hz, the run's mean) on a mesh
    step `dt` too long for its interval between spikes, or None."""
    from meshgen.grid_defaults import STEPS_PER_INTERVAL

    if not rate > 0 or 1.0 / (rate * dt) >= MIN_STEPS_PER_INTERVAL:
        return None
    return (f"population '{name}' fires at {rate:.3g} Hz: {1.0 / (rate * dt):.3g} steps of its "
            f"mesh (dt = {dt:g} s) per interval between spikes, fewer than "
            f"{MIN_STEPS_PER_INTERVAL}; the 2D methods' error grows with dt there (the "
            f"conductance LIF at 147 Hz: +5.6% with 14 steps, +1.0% with 68): re-mesh with "
            f"[mesh] dt <= {1.0 / (STEPS_PER_INTERVAL * rate):.2g} s, or with [mesh] "
            "expected_input")


# Cells across the interquartile range of the final density along a variable without
# jumps below which `miind run` warns (a mesh made with expected_input has at least
# meshgen.grid_defaults.CELLS_PER_SPREAD = 8 across the spread it explored). The
# density on the mesh is wider than the true one, by the diffusion this check is
# about: FitzHugh-Nagumo at 1000 Hz (jumps in v; w's range [-0.8, 2] in 100 cells)
# spans 4.0 cells of w on the grid (2.4 in direct simulation), and its mean v is
# 0.040 off (target 0.02); with 199 cells over [-0.7, 1.35] (automatic) it is 0.014
# off. AdEx's w spans 19 cells (examples/grid2d/adex.toml, defaults), Izhikevich's u
# 9.5 (example), 5.2 on u in [-20, 20] (within 1% of direct), the conductance LIF's
# v 59.
MIN_CELLS_ACROSS_SPREAD = 5


def spread_warnings(name: str, mass: np.ndarray, centres, widths, ranges, variables,
                    jump_variables) -> list[str]:
    """Warnings about the variables without jumps along which the density `mass` (on
    cells whose centres are `centres`, one array per variable) spans fewer than
    MIN_CELLS_ACROSS_SPREAD cells of `widths` across its interquartile range."""
    from meshgen.grid_defaults import CELLS_PER_SPREAD, MAX_SPREAD_CELLS

    total = float(mass.sum())
    found = []
    for axis, variable in enumerate(variables):
        if variable in jump_variables or not total > 0:
            continue
        order = np.argsort(centres[axis], kind="stable")
        cumulative = np.cumsum(mass[order]) / total
        lower, upper = (centres[axis][order][min(np.searchsorted(cumulative, q), len(order) - 1)]
                        for q in (0.25, 0.75))
        cells = (upper - lower) / widths[axis]
        if cells < MIN_CELLS_ACROSS_SPREAD:
            span = ranges[axis][1] - ranges[axis][0]
            wanted = min(MAX_SPREAD_CELLS, math.ceil(CELLS_PER_SPREAD * span
                                                     / max(upper - lower, widths[axis])))
            found.append(f"population '{name}': its final density spans {cells:.2g} cells of "
                         f"{variable} across its interquartile range, fewer than "
                         f"{MIN_CELLS_ACROSS_SPREAD}; the 2D methods diffuse such a narrow "
                         f"density (FitzHugh-Nagumo's w: mean v 0.04 off with 4 cells): "
                         f"re-mesh with about {wanted} cells along {variable} "
                         f"(mesh.resolution.{variable}), or with [mesh] expected_input")
    return found


def with_suggestions(found: list[ClampFinding], explore_inputs,
                     seconds: float) -> list[ClampFinding]:
    """The findings with the range the exploration rule (meshgen.exploration) gives for
    each population under the input it got in the run, driven at most as long as the
    run (`seconds`); `explore_inputs(name)` returns (model, [ExpectedInput], current
    ranges). A limit that would not widen the range is left out."""
    from meshgen.exploration import MAX_DRIVEN_SECONDS, explore, ranges_from_region

    ranges_of = {}
    suggested = []
    for finding in found:
        if finding.population not in ranges_of:
            model, inputs, current = explore_inputs(finding.population)
            try:
                region = explore(model, inputs, max_seconds=min(seconds, MAX_DRIVEN_SECONDS),
                                 within=current)
            except MeshError:
                # No suggestion then; the warning stands without one.
                ranges_of[finding.population] = None
            else:
                ranges_of[finding.population] = (ranges_from_region(model, region, inputs),
                                                  current)
        if ranges_of[finding.population] is None:
            suggested.append(finding)
            continue
        ranges, current = ranges_of[finding.population]
        high = finding.edge.endswith("high")
        limit = ranges[finding.variable][1 if high else 0]
        now = current[finding.variable][1 if high else 0]
        wider = limit > now if high else limit < now
        suggested.append(dataclasses.replace(finding, suggestion=limit if wider else None))
    return suggested


def clamped_per_second(clamped: np.ndarray, dt: float, variables) -> dict:
    """{mechanism: {edge: mean clamped mass per second}} of a (steps, mechanisms,
    edges) table of clamped mass per step."""
    seconds = len(clamped) * dt
    totals = clamped.sum(axis=0) / seconds if seconds > 0 else clamped.sum(axis=0)
    names = edge_names(variables)
    return {mechanism: {edge: float(totals[m, e]) for e, edge in enumerate(names)}
            for m, mechanism in enumerate(CLAMP_MECHANISMS)}


def findings(name: str, table: dict, rate: float, variables, units: dict) -> list[ClampFinding]:
    """The entries of `table` (clamped_per_second) over CLAMP_WARNING_PER_SECOND,
    largest first."""
    found = []
    for mechanism, by_edge in table.items():
        for edge, value in by_edge.items():
            if value > CLAMP_WARNING_PER_SECOND:
                variable = edge.rsplit(" ", 1)[0]
                found.append(ClampFinding(name, mechanism, edge, value, rate, variable,
                                          units.get(variable, "")))
    return sorted(found, key=lambda f: -f.per_second)
