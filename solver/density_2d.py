"""Density populations on 2D grid meshes (meshgen.grid2d) and 2D strip meshes
(meshgen.strips2d_tracing, whose artifacts hold the same matrices over listed polygon cells):
a population of the protocol solver.population.Population.

The step itself is solver.kernels_2d (compiled ahead of time with the 1D kernels:
solver.backend), whose data layouts (jump diagonals, fire
lists) are built here from the artifact's CSC matrices. At the end of a run the
population hands over its output datasets and the findings of solver.checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import numpy as np

from meshgen.box_edges import CLAMP_MECHANISMS, N_EDGES, edge_index, edge_names, nearest_edge
from meshgen.exploration import ExpectedInput
from meshgen.formats.mesh_artifact import GridArtifact, GridMatrix, Strips2DArtifact
from meshgen.model_file import model_from_definition
from meshgen.padded_polygons import edge_crossings
from meshgen.regular_grid import Grid

from .backend import load_kernels
from .checks import (CLAMP_WARNING_PER_SECOND, clamped_per_second, findings, spread_warnings,
                     steps_warning, with_suggestions)
from .marginals import grid_marginals, polygon_marginals, spike_lines
from .population import Dataset, PopulationChecks, PopulationRecord, TableInput

# A diagonal is applied as one contiguous pass over all cells (measured ~0.2 ns a
# cell), an entry through CSC indices costs ~1 ns: a diagonal pays when it holds at
# least a fifth of the cells. A fractional shift (a grid jump) puts every entry on two
# diagonals; a 0.1 ms step of AdEx on a 400 x 100 grid puts 66% of the motion's on six.
MIN_DIAGONAL_FILL = 0.2
MAX_DIAGONALS = 8


class Diagonals(NamedTuple):
    """A square CSC matrix split as diagonals plus a CSC remainder."""

    offsets: np.ndarray  # (d,) target - source of each diagonal
    values: np.ndarray  # (d, n) values by target cell, 0 where absent
    remainder: tuple[np.ndarray, np.ndarray, np.ndarray]  # CSC indptr, indices, data


def split_diagonals(matrix: GridMatrix, n: int) -> Diagonals:
    counts = np.diff(matrix.indptr)
    source = np.repeat(np.arange(n), counts)
    offset = matrix.indices.astype(np.int64) - source
    found, frequency = np.unique(offset, return_counts=True)
    order = np.argsort(-frequency, kind="stable")[:MAX_DIAGONALS]
    chosen = np.sort(found[order[frequency[order] >= MIN_DIAGONAL_FILL * n]])
    values = np.zeros((len(chosen), n))
    on_diagonal = np.zeros(len(offset), dtype=bool)
    for d, o in enumerate(chosen):
        here = offset == o
        values[d, matrix.indices[here]] = matrix.data[here]
        on_diagonal |= here
    rest = ~on_diagonal
    indptr = np.concatenate([[0], np.cumsum(np.bincount(source[rest], minlength=n))])
    return Diagonals(chosen.astype(np.int64), values,
                     (indptr.astype(np.int64), matrix.indices[rest].astype(np.int64),
                      matrix.data[rest].astype(float)))


@dataclass
class Density2DPopulation(TableInput):
    """A density population on a 2D grid or strip mesh."""

    name: str
    artifact: GridArtifact
    group_jump: np.ndarray  # (groups,) index of each input group's jump matrix
    n_steps: int
    dt: float
    has_density: ClassVar[bool] = True
    mass: np.ndarray = field(init=False)
    queue: np.ndarray = field(init=False)
    rate: np.ndarray = field(init=False)
    total_mass: np.ndarray = field(init=False)
    mean: np.ndarray = field(init=False)  # (2, n_steps)

    def __post_init__(self):
        a = self.artifact
        n = a.n_cells
        # A strip mesh's grid is its range box only; its cells are listed.
        self.grid = Grid(a.variables, tuple(map(tuple, a.ranges)), tuple(a.resolution))
        self.centres = cell_centres(a, self.grid)
        refractory_steps = int(round(a.refractory / self.dt))
        self.mass = np.zeros(n)
        self.queue = np.zeros((refractory_steps + 1, n))
        self.queued = np.zeros(refractory_steps + 1)
        self.rate = np.zeros(self.n_steps)
        self.total_mass = np.zeros(self.n_steps)
        self.mean = np.zeros((2, self.n_steps))
        # Mass clamped per step, mechanism (meshgen.box_edges.CLAMP_MECHANISMS) and edge of
        # the range box (meshgen.box_edges).
        self.clamped = np.zeros((self.n_steps, len(CLAMP_MECHANISMS), N_EDGES))
        self.work = np.zeros((3, n))
        self._kernel_arrays = _kernel_arrays(a, n)
        self.clamps, self.accounted = clamp_lists(a, self.grid, self.centres,
                                                  self._kernel_arrays[-1])
        self.fill_missing_rates(len(self.group_jump), self.n_steps)
        kernels = load_kernels()
        self.kernels = kernels.name
        self._advance_grid = kernels.advance_grid
        self.snapshots: list[np.ndarray] = []

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def set_initial(self, state: dict[str, float]) -> None:
        """All mass in the cell holding the initial state."""
        v, w = state[self.grid.variables[0]], state[self.grid.variables[1]]
        mass = np.zeros(self.artifact.n_cells)
        if isinstance(self.artifact, Strips2DArtifact):
            mass[polygon_holding(self.artifact.cell_vertices, self.centres, self.grid, v, w)] = 1.0
        else:
            mass[self.grid.locate(v, w)] = 1.0
        self.set_initial_mass(mass)

    def set_initial_mass(self, mass: np.ndarray) -> None:
        """Start from `mass` per cell (solver.initial_states), none of it refractory."""
        self.mass[:] = mass
        self.queue[:] = 0.0
        self.queued[:] = 0.0

    def advance(self, first_step: int, n_steps: int) -> None:
        reset = self.artifact.reset
        self._advance_grid(
            *self._kernel_arrays, self.clamps, self.group_jump, reset.indptr, reset.indices,
            reset.data, np.ascontiguousarray(self.input_rates), first_step, n_steps, self.dt,
            self.mass, self.queue, self.queued, self.centres[0], self.centres[1], self.rate,
            self.total_mass, self.mean[0], self.mean[1], self.clamped, self.work)

    def rates(self) -> np.ndarray:
        return self.rate[None, :]

    def snapshot(self) -> None:
        self.snapshots.append(self.mass.copy())

    def records(self, snapshot_times: list[float]) -> list[PopulationRecord]:
        clamped = {mechanism: self.clamped[:, m, :] / self.dt
                   for m, mechanism in enumerate(CLAMP_MECHANISMS) if mechanism in self.accounted}
        return [density_2d_record(self.name, self.artifact, self.rate, self.mean,
                                  self.total_mass, snapshot_times, self.snapshots, clamped)]

    def checks(self, seconds: float) -> list[PopulationChecks]:
        a = self.artifact
        table = clamped_per_second(self.clamped, self.dt, a.variables)
        table = {m: v for m, v in table.items() if m in self.accounted}
        found = findings(self.name, table, float(self.rate.mean()), a.variables, a.units)
        if found:
            found = with_suggestions(found, lambda _: self.exploration_inputs(), seconds)
        steps = steps_warning(self.name, float(self.rate[self.n_steps // 2:].mean()), self.dt)
        # Without input nothing spreads the density, nothing diffuses it away.
        driven = self.input_rates.size and self.input_rates.max() > 0
        spread = spread_warnings(self.name, self.mass, self.centres, self.grid.widths, a.ranges,
                                 a.variables, {jump.dimension for jump in a.jumps}) \
            if driven else []
        return [PopulationChecks(
            clamped_per_second=table, clamp_findings=found,
            unaccounted=[m for m in CLAMP_MECHANISMS if m not in self.accounted],
            step_warnings=[steps] if steps else [], spread_warnings=spread)]

    def exploration_inputs(self):
        """The model, the input the population got (the peak rate of each connection:
        the widest region) and its mesh's ranges: what solver.checks explores to
        suggest a range."""
        a = self.artifact
        inputs = [ExpectedInput(float(self.input_rates[g].max(initial=0.0)),
                                a.jumps[j].efficacy, a.jumps[j].dimension)
                  for g, j in enumerate(self.group_jump)]
        model = model_from_definition(a.model, path=a.path)
        return model, inputs, dict(zip(a.variables, map(tuple, a.ranges)))


def density_2d_record(name: str, artifact: GridArtifact, rate, mean, total_mass,
                      snapshot_times, snapshots, clamped: dict, **attrs) -> PopulationRecord:
    """The output record of a 2D density population (`miind run`'s, and `miind steady`'s
    one-step state): per-step rate, means (one row per variable) and mass, snapshots
    with their marginals, and `clamped` (mechanism -> (steps, edges) clamped mass per
    second; the mechanisms accounted for). `attrs` are added to the group's."""
    a = artifact
    variables = list(a.variables)
    units = {v: a.units.get(v, "1") for v in variables}
    stacked = np.array(snapshots) if len(snapshots) else np.zeros((0, a.n_cells))
    threshold, reset_v = spike_lines(a)
    strips = isinstance(a, Strips2DArtifact)
    box = Grid(a.variables, tuple(map(tuple, a.ranges)), tuple(a.resolution))
    density_attrs = {"variables": json.dumps(variables), "units": json.dumps(a.units),
                     "threshold": threshold, "reset_v": reset_v}
    datasets = {"rate": Dataset(rate, "Hz"),
                **{f"mean/{v}": Dataset(mean[k], units[v]) for k, v in enumerate(variables)},
                "mass": Dataset(total_mass, "1"),
                "density/time": Dataset(np.array(snapshot_times), "s"),
                "density/mass": Dataset(stacked, "1", compress=True)}
    if strips:
        datasets["density/cell_vertices"] = Dataset(a.cell_vertices, json.dumps(
            [units[v] for v in variables]))
        marginals = polygon_marginals(box, a.cell_vertices, stacked)
    else:
        density_attrs.update({"ranges": np.array(box.ranges),
                              "resolution": np.array(box.resolution)})
        marginals = grid_marginals(box, stacked)
    for variable, values, edges in marginals:
        unit = units[variable]
        datasets[f"density/marginals/{variable}"] = Dataset(
            values, "1" if unit == "1" else f"1/{unit}", compress=True)
        datasets[f"density/marginals/{variable}_edges"] = Dataset(edges, unit)
    for mechanism, values in clamped.items():
        datasets[f"clamped/{mechanism}"] = Dataset(values, "1/s", compress=True)
    group_attrs = {
        "": {"method": "density", "variables": json.dumps(variables), "unit": a.unit,
             "mesh": a.path, "mesh_hash": a.input_hash,
             "mesh_kind": "strips2d" if strips else "grid", **attrs},
        "density": density_attrs,
        "clamped": {"edges": json.dumps(edge_names(variables)),
                    "accounted": json.dumps(list(clamped)),
                    "threshold_per_second": CLAMP_WARNING_PER_SECOND}}
    return PopulationRecord(name, "density", rate, a.input_hash, datasets, group_attrs)


def cell_centres(artifact: GridArtifact, grid: Grid | None = None):
    """The cell centres of a 2D mesh, one array per variable (a strip mesh lists them;
    a grid's follow from its ranges and resolution, `grid` if already made)."""
    if isinstance(artifact, Strips2DArtifact):
        return tuple(np.ascontiguousarray(artifact.centres[:, k]) for k in (0, 1))
    grid = grid or Grid(artifact.variables, tuple(map(tuple, artifact.ranges)),
                        tuple(artifact.resolution))
    return grid.cell_centres()


def clamp_lists(artifact: GridArtifact, grid: Grid, centres, firing_cells: np.ndarray):
    """The kernel's clamp lists (clamp_ptr, cells, edges, fractions) over the jumps,
    the motion and the reset mapping (only its cells that can fire), and the names of
    the mechanisms accounted for. Artifacts written before `clamped_edge` get the
    edge from the jump's direction, or the cell's nearest edge for the motion; before
    the reset's `clamped`, the reset is not accounted for."""
    lists = []
    for k, matrix in enumerate(list(artifact.jumps) + [artifact.motion, artifact.reset]):
        is_reset = k == len(artifact.jumps) + 1
        if matrix.clamped is None:
            lists.append((np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)))
            continue
        cells = np.flatnonzero(matrix.clamped > 0.0)
        if is_reset:
            cells = np.intersect1d(cells, firing_cells)
        if matrix.clamped_edge is not None:
            edges = matrix.clamped_edge[cells]
        elif k < len(artifact.jumps):
            edges = np.full(len(cells), edge_index(grid.axis(matrix.dimension),
                                                   matrix.efficacy > 0))
        else:
            edges = nearest_edge(grid.to_units(0, centres[0][cells]),
                                 grid.to_units(1, centres[1][cells]), grid.resolution)
        lists.append((cells.astype(np.int64), edges.astype(np.int64),
                      matrix.clamped[cells].astype(float)))
    known = {"motion": [artifact.motion], "jump": list(artifact.jumps), "reset": [artifact.reset]}
    accounted = tuple(name for name in CLAMP_MECHANISMS
                      if all(m.clamped is not None for m in known[name]))
    ptr = np.cumsum([0] + [len(cells) for cells, _, _ in lists]).astype(np.int64)
    return ((ptr,) + tuple(np.concatenate([entry[i] for entry in lists]) for i in range(3)),
            accounted)


def polygon_holding(vertices: np.ndarray, centres, box: Grid, v: float, w: float) -> int:
    """The first cell whose polygon (vertices (n_cells, k, 2)) holds (v, w); if none
    does (outside the mesh, or in a crack between cells), the cell whose centre is
    nearest, distances measured in units of the range box so both variables count."""
    # Crossing number of a ray towards +v: an edge counts if it straddles w (the same
    # cell Grid.locate gives on a grid, for a point on an edge) and crosses the ray
    # right of v.
    straddles, crossing = edge_crossings(vertices, 1, w)
    inside = np.count_nonzero(straddles & (v < crossing), axis=1) % 2 == 1
    if inside.any():
        return int(np.argmax(inside))
    (v_lo, v_hi), (w_lo, w_hi) = box.ranges
    distance = np.hypot((centres[0] - v) / (v_hi - v_lo), (centres[1] - w) / (w_hi - w_lo))
    return int(np.argmin(distance))


def _kernel_arrays(artifact: GridArtifact, n: int) -> tuple:
    """The matrix and firing arguments of kernels_2d.advance_grid, in its order:
    the jumps, then the motion, as diagonals and remainders, and their fire lists."""
    sources = list(artifact.jumps) + [artifact.motion]
    split = [split_diagonals(m, n) for m in sources]
    matrices = (
        np.cumsum([0] + [len(d.offsets) for d in split]).astype(np.int64),
        np.concatenate([d.offsets for d in split]).astype(np.int64),
        np.concatenate([d.values for d in split]).reshape(-1, n),
        np.array([d.remainder[0] for d in split], dtype=np.int64),
        np.cumsum([0] + [len(d.remainder[2]) for d in split]).astype(np.int64),
        np.concatenate([d.remainder[1] for d in split]).astype(np.int64),
        np.concatenate([d.remainder[2] for d in split]).astype(float))
    fire_cells = [np.flatnonzero(m.fired > 0.0) for m in sources]
    fire_ptr = np.cumsum([0] + [len(c) for c in fire_cells]).astype(np.int64)
    fractions = np.concatenate([m.fired[c] for m, c in zip(sources, fire_cells)]).astype(float)
    cells = np.concatenate(fire_cells).astype(np.int64)
    return matrices, fire_ptr, cells, fractions, np.unique(cells)
