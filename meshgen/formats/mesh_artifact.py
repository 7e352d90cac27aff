"""The mesh artifact: one HDF5 file with everything `miind run` needs.

Layout (format "miind-mesh", version 1)::

    /                 attrs: format, format_version, created_by, input_hash,
                             model (JSON), model_file (JSON), dimension, variables
    /mesh             attrs: dt [s], lowest, threshold [unit of v], jump_interval
                      (mesh steps per application of the jump matrices)
      lower, upper            (n_cells,)  cell intervals, logical order
      midstep_lower, midstep_upper        where each cell is half a step later
      strip_first, strip_length, strip_terminal   (n_strips,) terminal -1 = threshold
    /jumps            source_lower, source_upper  (n_cells + n_gaps,) jump sources
                      gap_entry_cell (n_gaps,)
    /transitions/<k>  attrs: efficacy, dimension; indptr, indices, data (CSC,
                      square n_cells + n_gaps), threshold_fraction (n_cells + n_gaps,)
    /reset            attrs: potential, refractory [s]; cells, fractions

Grid meshes (2D models, `[mesh] method = "grid"`, see meshgen.grid2d) carry the root
attr mesh_kind = "grid" (absent: the strips above) and instead::

    /grid             attrs: variables (JSON), units (JSON), dt [s], threshold,
                      refractory [s]; ranges (2, 2) (a row per variable; units: a
                      JSON list of the variables' units), resolution (2,)
    /grid/motion      indptr, indices, data (CSC, n_cells square), fired (n_cells,),
                      clamped (n_cells,), clamped_edge (n_cells,), degenerate (cell indices)
    /grid/jumps/<k>   attrs: efficacy, dimension; indptr, indices, data, fired, clamped,
                      clamped_edge
    /grid/reset       indptr, indices, data (CSC: column = cell that fired), clamped,
                      clamped_edge

`clamped` is the accounting of mass that would have left the grid (not through the
threshold) and was put in the nearest boundary cell instead: per source cell, the
fraction of its mass (it is part of the matrix, so column sums are unchanged).
`clamped_edge` (int8, attr `edges` naming them) is the edge of the range box that
mass went out through: 0 v low, 1 v high, 2 w low, 3 w high, -1 none
(meshgen.box_edges). `degenerate` lists the cells whose moved polygon was twisted or
collapsed (see meshgen.grid2d_motion.motion_matrix). These were added after the first grid
files: a file without them reads with them None (the reset's clamped mass is then
unknown).

2D strip meshes (two-variable models, the strip method, see meshgen.strips2d_tracing and
meshgen.polygon_mesh) carry mesh_kind = "strips2d" and the grid layout above under
/strips2d instead of /grid, with ranges the range box and resolution the target cells
per variable the mesh was built for (their product is not the number of cells: the
cells are listed)::

    /strips2d         attrs: n_strip_cells (cells [0, n_strip_cells) lie on strips)
      cell_vertices   (n_cells, k, 2) [JSON list of the variables' units] each cell's corners (v, w),
                      counter-clockwise; a cell of fewer than k corners repeats its last
      centres         (n_cells, 2) [as cell_vertices] each cell's area centroid (v, w)
      strip_first     (n_strips,) int64, the first cell of each strip (increasing from 0)

The matrices under /strips2d/motion, jumps and reset are square in n_cells, in the
order of the listed cells.

1D diffusion meshes (meshgen.diffusion_1d: equal cells for many small inputs) carry
mesh_kind = "diffusion"::

    /diffusion        attrs: lowest, threshold, width [unit of v], dt [s], scale [unit
                      of v] and tau [s] (the density scale of the expected input the
                      mesh was built for), diffusing_up, diffusing_down [unit of v]
                      (the largest jumps up and down taken in the diffusion limit)
      face_drift      (n_cells + 1,) [unit of v / s] dv/dt at the cell faces
    /reset            as for strips: attrs potential, refractory [s]; cells, fractions

Everything is validated on load (shapes, index ranges, non-negative fractions, column
sums of 1), never inside kernels.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ..box_edges import N_EDGES, NO_EDGE, edge_names
from ..cells import equal_cell_edges
from ..errors import ArtifactError
from .atomic_file import atomic_output
from .stamps import open_stamped, stamp_root, write_dataset

FORMAT = "miind-mesh"
FORMAT_VERSION = 1
# Column sums of a transition matrix may differ from 1 by rounding only.
COLUMN_SUM_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Transition:
    efficacy: float
    dimension: str
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    threshold_fraction: np.ndarray


@dataclass(frozen=True)
class Strips1DArtifact:
    path: str
    input_hash: str
    model: dict
    dt: float
    jump_interval: int
    lowest: float
    threshold: float
    unit: str
    lower: np.ndarray
    upper: np.ndarray
    strip_first: np.ndarray
    strip_length: np.ndarray
    strip_terminal: np.ndarray
    gap_entry_cell: np.ndarray
    transitions: tuple[Transition, ...]
    reset_cells: np.ndarray
    reset_fractions: np.ndarray
    reset_potential: float
    refractory: float

    @property
    def n_cells(self) -> int:
        return len(self.lower)

    @property
    def centres(self) -> np.ndarray:
        return 0.5 * (self.lower + self.upper)

    def transition_for(self, efficacy: float, dimension: str = "v") -> Transition | None:
        for transition in self.transitions:
            if transition.dimension == dimension and abs(transition.efficacy - efficacy) <= \
                    1e-9 * max(1.0, abs(efficacy)):
                return transition
        return None


@dataclass(frozen=True)
class Diffusion1DArtifact:
    path: str
    input_hash: str
    model: dict
    dt: float
    lowest: float
    threshold: float
    width: float
    unit: str
    face_drift: np.ndarray
    scale: float
    tau: float
    diffusing_up: float
    diffusing_down: float
    reset_cells: np.ndarray
    reset_fractions: np.ndarray
    reset_potential: float
    refractory: float

    @property
    def n_cells(self) -> int:
        return len(self.face_drift) - 1

    @property
    def edges(self) -> np.ndarray:
        return equal_cell_edges(self.lowest, self.width, self.n_cells, self.threshold)

    @property
    def lower(self) -> np.ndarray:
        return self.edges[:-1]

    @property
    def upper(self) -> np.ndarray:
        return self.edges[1:]

    @property
    def centres(self) -> np.ndarray:
        edges = self.edges
        return 0.5 * (edges[:-1] + edges[1:])


@dataclass(frozen=True)
class GridMatrix:
    """A column-stochastic CSC matrix with its fired fraction per column (motion and
    jumps; for the reset mapping `fired` is all zero)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    fired: np.ndarray
    efficacy: float = 0.0
    dimension: str = ""
    clamped: np.ndarray | None = None  # (n_cells,) where written (see the module doc)
    degenerate: np.ndarray | None = None  # motion only
    clamped_edge: np.ndarray | None = None  # (n_cells,) int8, meshgen.box_edges numbering


@dataclass(frozen=True)
class GridArtifact:
    path: str
    input_hash: str
    model: dict
    variables: tuple[str, str]
    units: dict
    ranges: np.ndarray  # (2, 2)
    resolution: np.ndarray  # (2,)
    dt: float
    threshold: float
    refractory: float
    motion: GridMatrix
    jumps: tuple[GridMatrix, ...]
    reset: GridMatrix

    @property
    def n_cells(self) -> int:
        return int(self.resolution[0] * self.resolution[1])

    @property
    def unit(self) -> str:
        return self.units[self.variables[0]]

    def jump_for(self, efficacy: float, dimension: str) -> int | None:
        for index, jump in enumerate(self.jumps):
            if jump.dimension == dimension and abs(jump.efficacy - efficacy) <= \
                    1e-9 * max(1.0, abs(efficacy)):
                return index
        return None


@dataclass(frozen=True)
class Strips2DArtifact(GridArtifact):
    """A 2D strip mesh (meshgen.polygon_mesh.PolygonMesh): a GridArtifact, so the
    grid solver runs it, whose cells are listed polygons instead of being implied by
    ranges and resolution."""

    cell_vertices: np.ndarray = field(kw_only=True)  # (n_cells, k, 2)
    centres: np.ndarray = field(kw_only=True)  # (n_cells, 2)
    strip_first: np.ndarray = field(kw_only=True)  # (n_strips,)
    n_strip_cells: int = field(kw_only=True)

    @property
    def n_cells(self) -> int:
        return len(self.centres)


def input_hash(document: dict) -> str:
    canonical = json.dumps({"format_version": FORMAT_VERSION, "input": document},
                           sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def write_mesh(path: str | Path, *, document: dict, model: dict, unit: str, mesh, tiling,
               transitions, reset_cells, reset_fractions) -> str:
    """Write the artifact atomically; returns its input hash."""
    digest = input_hash(document)
    with atomic_output(path) as temporary:
        with h5py.File(temporary, "w") as f:
            stamp_root(f, FORMAT, FORMAT_VERSION, digest, model=json.dumps(model),
                       model_file=json.dumps(document), dimension=1,
                       variables=json.dumps(model["variables"]))
            group = f.create_group("mesh")
            group.attrs.update({"dt": mesh.dt, "lowest": mesh.lowest, "threshold": mesh.threshold,
                                "unit": unit, "jump_interval": mesh.jump_interval})
            _dataset(group, "lower", mesh.lower, unit)
            _dataset(group, "upper", mesh.upper, unit)
            _dataset(group, "midstep_lower", mesh.midstep_lower, unit)
            _dataset(group, "midstep_upper", mesh.midstep_upper, unit)
            _dataset(group, "strip_first", mesh.strip_first, "1")
            _dataset(group, "strip_length", mesh.strip_length, "1")
            _dataset(group, "strip_terminal", mesh.strip_terminal, "1")
            group["dt"] = mesh.dt
            group["dt"].attrs["units"] = "s"
            jumps = f.create_group("jumps")
            _dataset(jumps, "source_lower", tiling.source_lower, unit)
            _dataset(jumps, "source_upper", tiling.source_upper, unit)
            _dataset(jumps, "gap_entry_cell", tiling.gap_entry_cell, "1")
            matrices = f.create_group("transitions")
            for index, matrix in enumerate(transitions):
                entry = matrices.create_group(str(index))
                entry.attrs.update({"efficacy": matrix.efficacy, "dimension": "v", "units": unit})
                _dataset(entry, "indptr", matrix.indptr, "1")
                _dataset(entry, "indices", matrix.indices, "1")
                _dataset(entry, "data", matrix.data, "1")
                _dataset(entry, "threshold_fraction", matrix.threshold_fraction, "1")
            _write_reset(f, model, reset_cells, reset_fractions)
    return digest


def write_diffusion_mesh(path: str | Path, *, document: dict, model: dict, unit: str, mesh,
                         reset_cells, reset_fractions) -> str:
    """Write a 1D diffusion artifact atomically (`mesh`: meshgen.diffusion_1d.DiffusionMesh);
    returns its input hash."""
    digest = input_hash(document)
    with atomic_output(path) as temporary:
        with h5py.File(temporary, "w") as f:
            stamp_root(f, FORMAT, FORMAT_VERSION, digest, model=json.dumps(model),
                       model_file=json.dumps(document), dimension=1,
                       variables=json.dumps(model["variables"]), mesh_kind="diffusion")
            group = f.create_group("diffusion")
            group.attrs.update({"lowest": mesh.lowest, "threshold": mesh.threshold,
                                "width": mesh.width, "dt": mesh.dt, "unit": unit,
                                "scale": mesh.scale.scale, "tau": mesh.scale.tau,
                                "diffusing_up": mesh.scale.largest_diffusing[0],
                                "diffusing_down": mesh.scale.largest_diffusing[1]})
            _dataset(group, "face_drift", mesh.face_drift, f"{unit}/s")
            _write_reset(f, model, reset_cells, reset_fractions)
    return digest


def _write_reset(f, model: dict, cells, fractions) -> None:
    reset = f.create_group("reset")
    reset.attrs.update({"potential": model["spike"]["reset"]["v"],
                        "refractory": model["spike"]["refractory"]})
    _dataset(reset, "cells", cells, "1")
    _dataset(reset, "fractions", fractions, "1")


def write_grid_mesh(path: str | Path, *, document: dict, model: dict, grid, dt: float,
                    threshold: float, motion, jumps, reset) -> str:
    """Write a grid artifact atomically; `motion` is a grid2d.GridTransition, `jumps`
    (variable, efficacy, GridTransition) triples, `reset` a CSC matrix. Returns the
    input hash."""
    with _grid_like_file(path, "grid", document, model, grid.variables, grid.ranges,
                         grid.resolution, dt, threshold, motion, jumps, reset) as (_, digest):
        pass
    return digest


def write_strip2d_mesh(path: str | Path, *, document: dict, model: dict, mesh, threshold: float,
                       motion, jumps, reset) -> str:
    """Write a 2D strip artifact atomically; `mesh` is a polygon_mesh.PolygonMesh, the
    matrices as for write_grid_mesh, over the mesh's cells. Returns the input hash."""
    with _grid_like_file(path, "strips2d", document, model, mesh.variables, mesh.ranges,
                         mesh.resolution, mesh.dt, threshold, motion, jumps,
                         reset) as (group, digest):
        group.attrs["n_strip_cells"] = int(mesh.n_strip_cells)
        per_variable = variable_units(model, mesh.variables)
        _dataset(group, "cell_vertices", np.asarray(mesh.cell_vertices, dtype=float),
                 per_variable)
        _dataset(group, "centres", np.asarray(mesh.centres, dtype=float), per_variable)
        _dataset(group, "strip_first", np.asarray(mesh.strip_first, dtype=np.int64), "1")
    return digest


@contextmanager
def _grid_like_file(path, kind, document, model, variables, ranges, resolution, dt,
                    threshold, motion, jumps, reset):
    """The stamped file of a grid or 2D strip artifact, with the group named `kind`
    holding the attrs and matrices both kinds share; yields (group, input hash) for
    the kind's own datasets, then moves the file into place."""
    digest = input_hash(document)
    units = model.get("units", {})
    with atomic_output(path) as temporary:
        with h5py.File(temporary, "w") as f:
            stamp_root(f, FORMAT, FORMAT_VERSION, digest, model=json.dumps(model),
                       model_file=json.dumps(document), dimension=2,
                       variables=json.dumps(model["variables"]), mesh_kind=kind)
            group = f.create_group(kind)
            group.attrs.update({"variables": json.dumps(list(variables)),
                                "units": json.dumps(units), "dt": dt,
                                "threshold": np.nan if threshold is None else threshold,
                                "refractory": model["spike"]["refractory"]})
            _dataset(group, "ranges", np.array(ranges, dtype=float),
                     variable_units(model, variables))
            _dataset(group, "resolution", np.array(resolution, dtype=np.int64), "1")
            group["dt"] = dt
            group["dt"].attrs["units"] = "s"
            edges = json.dumps(edge_names(variables))
            moving = group.create_group("motion")
            _write_transition(moving, motion, edges)
            _dataset(moving, "degenerate", np.asarray(motion.degenerate, dtype=np.int64), "1")
            entries = group.create_group("jumps")
            for index, (variable, efficacy, jump) in enumerate(jumps):
                entry = entries.create_group(str(index))
                entry.attrs.update({"efficacy": efficacy, "dimension": variable,
                                    "units": units.get(variable, "")})
                _write_transition(entry, jump, edges)
            _write_transition(group.create_group("reset"), reset, edges, fired=False)
            yield group, digest


def _write_transition(group, transition, edges: str, fired: bool = True):
    """A meshgen.grid2d.GridTransition: its CSC matrix, fired fractions (not for the
    reset mapping) and clamped mass with the edge it goes out through."""
    _write_csc(group, transition.matrix, transition.fired if fired else None,
               transition.clamped)
    _dataset(group, "clamped_edge", np.asarray(transition.clamped_edge, dtype=np.int8), "1")
    group["clamped_edge"].attrs["edges"] = edges


def _write_csc(group, matrix, fired, clamped=None):
    matrix = matrix.tocsc()
    matrix.sort_indices()
    _dataset(group, "indptr", matrix.indptr.astype(np.int64), "1")
    _dataset(group, "indices", matrix.indices.astype(np.int64), "1")
    _dataset(group, "data", matrix.data, "1")
    if fired is not None:
        _dataset(group, "fired", np.asarray(fired, dtype=float), "1")
    if clamped is not None:
        _dataset(group, "clamped", np.asarray(clamped, dtype=float), "1")


def _dataset(group, name, values, units):
    write_dataset(group, name, values, units)


def variable_units(model: dict, variables) -> str:
    """The `units` of a dataset that holds several variables (one row or column
    each): a JSON list of their units."""
    units = model.get("units", {})
    return json.dumps([units.get(variable, "1") for variable in variables])


def read_mesh(path: str | Path) -> Strips1DArtifact | Diffusion1DArtifact | GridArtifact:
    """The artifact at `path`: a Strips1DArtifact (strips, 1D), a Diffusion1DArtifact, a
    GridArtifact (2D grid) or a Strips2DArtifact (2D strips, a kind of GridArtifact)."""
    path = str(path)
    readers = {"strips": (_read_strips_1d, validate_mesh), "grid": (_read_grid, validate_grid),
               "strips2d": (_read_strips2d, validate_strips2d),
               "diffusion": (_read_diffusion_1d, validate_diffusion)}
    with open_stamped(path, FORMAT, FORMAT_VERSION, "mesh artifact",
                      "`miind mesh` on its model file") as f:
        kind = str(f.attrs.get("mesh_kind", "strips"))
        if kind not in readers:
            raise ArtifactError(f"unknown mesh_kind {kind!r} (this version reads "
                                f"{', '.join(map(repr, readers))}); re-run `miind mesh` on "
                                "its model file", path=path)
        read, validate = readers[kind]
        try:
            artifact = read(f, path)
        except KeyError as exc:
            raise ArtifactError(f"mesh artifact is incomplete: missing {exc}", path=path) from None
    validate(artifact)
    return artifact


def _read_csc(group, **attrs) -> GridMatrix:
    fired = group["fired"][()] if "fired" in group else np.zeros(len(group["indptr"]) - 1)
    optional = {name: group[name][()] for name in ("clamped", "degenerate", "clamped_edge")
                if name in group}
    return GridMatrix(indptr=group["indptr"][()], indices=group["indices"][()],
                      data=group["data"][()], fired=fired, **optional, **attrs)


def _grid_fields(f, path, kind: str) -> dict:
    """The GridArtifact fields of the group `kind` of a grid or 2D strip artifact."""
    group = f[kind]
    jumps = tuple(_read_csc(group["jumps"][key], efficacy=float(group["jumps"][key].attrs["efficacy"]),
                            dimension=str(group["jumps"][key].attrs["dimension"]))
                  for key in sorted(group["jumps"], key=int))
    return dict(
        path=path, input_hash=str(f.attrs["input_hash"]), model=json.loads(f.attrs["model"]),
        variables=tuple(json.loads(group.attrs["variables"])),
        units=json.loads(group.attrs["units"]), ranges=group["ranges"][()],
        resolution=group["resolution"][()], dt=float(group.attrs["dt"]),
        threshold=float(group.attrs["threshold"]), refractory=float(group.attrs["refractory"]),
        motion=_read_csc(group["motion"]), jumps=jumps, reset=_read_csc(group["reset"]))


def _read_grid(f, path) -> GridArtifact:
    return GridArtifact(**_grid_fields(f, path, "grid"))


def _read_strips2d(f, path) -> Strips2DArtifact:
    group = f["strips2d"]
    return Strips2DArtifact(**_grid_fields(f, path, "strips2d"),
                         cell_vertices=group["cell_vertices"][()], centres=group["centres"][()],
                         strip_first=group["strip_first"][()],
                         n_strip_cells=int(group.attrs["n_strip_cells"]))


def validate_strips2d(artifact: Strips2DArtifact) -> None:
    """The listed cells and strips, then everything validate_grid checks (its matrices
    are square in the number of listed cells)."""
    def bad(message):
        raise ArtifactError(f"corrupt mesh artifact: {message}", path=artifact.path)

    centres, vertices = artifact.centres, artifact.cell_vertices
    if centres.ndim != 2 or centres.shape[1:] != (2,) or len(centres) < 1 or \
            not np.all(np.isfinite(centres)):
        bad(f"cell centres have shape {centres.shape} (expected (n_cells, 2)) or are not finite")
    n = artifact.n_cells
    if vertices.ndim != 3 or vertices.shape[0] != n or vertices.shape[1] < 3 or \
            vertices.shape[2] != 2 or not np.all(np.isfinite(vertices)):
        bad(f"cell vertices have shape {vertices.shape} (expected ({n}, k >= 3, 2)) or are "
            "not finite")
    first, on_strips = artifact.strip_first, artifact.n_strip_cells
    if not 0 <= on_strips <= n:
        bad(f"n_strip_cells = {on_strips} is not between 0 and the {n} cells")
    if first.ndim != 1 or not np.issubdtype(first.dtype, np.integer):
        bad("strip_first is not a list of cell indices")
    if len(first) == 0 and on_strips:
        bad(f"n_strip_cells = {on_strips} but there are no strips")
    if len(first) and (first[0] != 0 or np.any(np.diff(first) <= 0) or first[-1] >= on_strips):
        bad(f"strip_first is not increasing from 0 below n_strip_cells = {on_strips}")
    validate_grid(artifact)


def validate_grid(artifact: GridArtifact) -> None:
    def bad(message):
        raise ArtifactError(f"corrupt mesh artifact: {message}", path=artifact.path)

    if artifact.ranges.shape != (2, 2) or artifact.resolution.shape != (2,) or \
            np.any(artifact.resolution < 2) or np.any(artifact.ranges[:, 1] <= artifact.ranges[:, 0]):
        bad("grid ranges or resolution have the wrong shape or are empty")
    if not (artifact.dt > 0 and np.isfinite(artifact.dt)):
        bad(f"dt = {artifact.dt}")
    if not (artifact.refractory >= 0):
        bad(f"refractory = {artifact.refractory}")
    n = artifact.n_cells
    stochastic = [("motion matrix", artifact.motion)]
    if np.isfinite(artifact.threshold):
        stochastic.append(("reset mapping", artifact.reset))
    elif len(artifact.reset.data) or np.any(artifact.motion.fired) or \
            any(np.any(j.fired) for j in artifact.jumps):
        bad("a mesh without a threshold fires or has a reset mapping")
    jumps = [(f"jump matrix for {j.dimension} efficacy {j.efficacy}", j) for j in artifact.jumps]
    for what, m in stochastic + jumps:
        check_column_stochastic(bad, what, n, m.indptr, m.indices, m.data, m.fired)
    for what, m in [("motion matrix", artifact.motion), ("reset mapping", artifact.reset)] + jumps:
        if m.clamped is not None and (m.clamped.shape != (n,) or np.any(m.clamped < 0)
                                      or np.any(m.clamped > 1 + COLUMN_SUM_TOLERANCE)):
            bad(f"{what} has clamped fractions of the wrong shape or outside [0, 1]")
        if m.degenerate is not None and len(m.degenerate) and (
                m.degenerate.min() < 0 or m.degenerate.max() >= n):
            bad(f"{what} lists degenerate cells out of range")
        if m.clamped_edge is not None and (
                m.clamped_edge.shape != (n,) or m.clamped is None
                or np.any((m.clamped_edge < NO_EDGE) | (m.clamped_edge >= N_EDGES))
                or np.any((m.clamped > 0) & (m.clamped_edge == NO_EDGE))):
            bad(f"{what} has clamped edges of the wrong shape, out of range, or missing "
                "where mass is clamped")


def _read_strips_1d(f, path) -> Strips1DArtifact:
    mesh = f["mesh"]
    transitions = []
    for key in sorted(f["transitions"], key=int):
        entry = f["transitions"][key]
        transitions.append(Transition(
            efficacy=float(entry.attrs["efficacy"]), dimension=str(entry.attrs["dimension"]),
            indptr=entry["indptr"][()], indices=entry["indices"][()], data=entry["data"][()],
            threshold_fraction=entry["threshold_fraction"][()]))
    return Strips1DArtifact(
        path=path, input_hash=str(f.attrs["input_hash"]), model=json.loads(f.attrs["model"]),
        dt=float(mesh.attrs["dt"]), jump_interval=int(mesh.attrs["jump_interval"]), lowest=float(mesh.attrs["lowest"]),
        threshold=float(mesh.attrs["threshold"]), unit=str(mesh.attrs["unit"]),
        lower=mesh["lower"][()], upper=mesh["upper"][()],
        strip_first=mesh["strip_first"][()], strip_length=mesh["strip_length"][()],
        strip_terminal=mesh["strip_terminal"][()], gap_entry_cell=f["jumps"]["gap_entry_cell"][()],
        transitions=tuple(transitions), reset_cells=f["reset"]["cells"][()],
        reset_fractions=f["reset"]["fractions"][()],
        reset_potential=float(f["reset"].attrs["potential"]),
        refractory=float(f["reset"].attrs["refractory"]))


def check_column_stochastic(bad, what: str, size: int, indptr, indices, data, leftover) -> None:
    """A square CSC matrix of fractions whose columns, with `leftover` (the fraction
    that fires), sum to 1; `bad(message)` reports the first problem."""
    if indptr.shape != (size + 1,) or indptr[0] != 0 or indptr[-1] != len(data) \
            or np.any(np.diff(indptr) < 0) or leftover.shape != (size,):
        bad(f"{what} has the wrong shape")
    if len(indices) != len(data) or (len(indices) and (indices.min() < 0 or indices.max() >= size)):
        bad(f"{what} has rows out of range")
    if np.any(data < 0) or np.any(leftover < 0):
        bad(f"{what} has negative fractions")
    columns = np.repeat(np.arange(size), np.diff(indptr))
    sums = np.bincount(columns, weights=data, minlength=size) + leftover
    if np.any(np.abs(sums - 1.0) > COLUMN_SUM_TOLERANCE):
        bad(f"{what} does not conserve mass (column sums {sums.min()!r}..{sums.max()!r})")


def validate_mesh(artifact: Strips1DArtifact) -> None:
    def bad(message):
        raise ArtifactError(f"corrupt mesh artifact: {message}", path=artifact.path)

    n = artifact.n_cells
    size = n + len(artifact.gap_entry_cell)
    if artifact.upper.shape != (n,) or np.any(artifact.upper <= artifact.lower):
        bad("cell bounds have the wrong shape or zero width")
    if not (artifact.dt > 0 and np.isfinite(artifact.dt)):
        bad(f"dt = {artifact.dt}")
    if artifact.jump_interval < 1:
        bad(f"jump_interval = {artifact.jump_interval}")
    first, length = artifact.strip_first, artifact.strip_length
    if np.any(first < 0) or np.any(length < 1) or np.any(first + length > n):
        bad("strips point outside the cells")
    terminal = artifact.strip_terminal
    if np.any((terminal != -1) & ((terminal < 0) | (terminal >= n))):
        bad("a strip empties into a cell that does not exist")
    in_strip = np.zeros(n, dtype=bool)
    for f, count in zip(first, length):
        in_strip[f:f + count] = True
    if np.any(in_strip[terminal[terminal >= 0]]):
        bad("a strip empties into a cell of a strip (it must be a stationary cell)")
    if np.any((artifact.gap_entry_cell < 0) | (artifact.gap_entry_cell >= n)):
        bad("an entry gap feeds a cell that does not exist")
    for t in artifact.transitions:
        check_column_stochastic(bad, f"transition matrix for efficacy {t.efficacy}", size,
                                t.indptr, t.indices, t.data, t.threshold_fraction)
    if np.any(artifact.reset_fractions < 0) or abs(artifact.reset_fractions.sum() - 1.0) > 1e-12:
        bad("reset fractions do not sum to 1")
    if np.any((artifact.reset_cells < 0) | (artifact.reset_cells >= n)):
        bad("reset cells out of range")


def _read_diffusion_1d(f, path) -> Diffusion1DArtifact:
    group = f["diffusion"]
    attrs = group.attrs
    return Diffusion1DArtifact(
        path=path, input_hash=str(f.attrs["input_hash"]), model=json.loads(f.attrs["model"]),
        dt=float(attrs["dt"]), lowest=float(attrs["lowest"]), threshold=float(attrs["threshold"]),
        width=float(attrs["width"]), unit=str(attrs["unit"]),
        face_drift=np.asarray(group["face_drift"][()], dtype=float),
        scale=float(attrs["scale"]), tau=float(attrs["tau"]),
        diffusing_up=float(attrs["diffusing_up"]), diffusing_down=float(attrs["diffusing_down"]),
        # The kernels take these types only (a compiled kernel would misread others).
        reset_cells=np.asarray(f["reset"]["cells"][()], dtype=np.int64),
        reset_fractions=np.asarray(f["reset"]["fractions"][()], dtype=float),
        reset_potential=float(f["reset"].attrs["potential"]),
        refractory=float(f["reset"].attrs["refractory"]))


def validate_diffusion(artifact: Diffusion1DArtifact) -> None:
    def bad(message):
        raise ArtifactError(f"corrupt mesh artifact: {message}", path=artifact.path)

    a = artifact
    for name in ("dt", "width", "scale", "tau", "diffusing_up", "diffusing_down"):
        value = getattr(a, name)
        if not (np.isfinite(value) and value > 0):
            bad(f"{name} = {value}")
    for name in ("lowest", "threshold", "reset_potential"):
        if not np.isfinite(getattr(a, name)):
            bad(f"{name} = {getattr(a, name)}")
    if not (np.isfinite(a.refractory) and a.refractory >= 0):
        bad(f"refractory = {a.refractory}")
    if a.face_drift.ndim != 1 or a.n_cells < 1 or not np.all(np.isfinite(a.face_drift)):
        bad("face_drift has the wrong shape or is not finite")
    if not a.lowest < a.threshold or \
            abs(a.lowest + a.width * a.n_cells - a.threshold) > 1e-9 * max(1.0, abs(a.threshold)):
        bad("the cells do not span [lowest, threshold]")
    if a.reset_cells.ndim != 1 or a.reset_cells.shape != a.reset_fractions.shape:
        bad("reset cells and fractions differ in shape")
    if np.any(a.reset_fractions < 0) or abs(a.reset_fractions.sum() - 1.0) > 1e-12:
        bad("reset fractions do not sum to 1")
    if np.any((a.reset_cells < 0) | (a.reset_cells >= a.n_cells)):
        bad("reset cells out of range")
