"""Reading `miind run` output files (and mesh artifacts drawn by --mesh) into arrays.

An output holds two kinds of populations (see run_output, the writer, whose layout
this reads): density populations (rate, mass, mean v and density snapshots) and direct
ones (rate, mean state, spikes of each neuron, sampled traces and the per-neuron
statistics of the synchrony measures). `read_output` returns them as a RunOutput of
PopulationOutputs; the cells of a 2D population come as MeshCells, whatever kind of
mesh it is. Used by `miind analyze` (miind_cli: statistics, selection, plotting).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..errors import ArtifactError
from ..padded_polygons import polygon_areas
from .mesh_artifact import FORMAT as MESH_FORMAT
from .mesh_artifact import read_mesh
from .run_output import FORMAT, FORMAT_VERSION
from .stamps import open_stamped

METHODS = ("density", "direct")


@dataclass(frozen=True)
class PopulationOutput:
    name: str
    unit: str
    variables: list[str]
    rate: np.ndarray
    mean: dict[str, np.ndarray]
    method: str = "density"
    # density populations
    mass: np.ndarray | None = None
    density_time: np.ndarray | None = None
    density_mass: np.ndarray | None = None  # (k, n_cells)
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    grid: bool = False  # a 2D grid: density_mass in grid cell order, no lower/upper
    cells: MeshCells | None = None  # 2D populations (grids and polygon meshes)
    threshold: float = math.nan  # 2D: the lines drawn on the density [unit of v]
    reset_v: float = math.nan
    marginals: dict[str, tuple[np.ndarray, np.ndarray]] | None = None  # 2D: variable ->
    # (marginal density (k, n_bins) [1/unit], bin edges (n_bins + 1,) [unit])
    # 2D: mechanism -> (n_steps, edges) clamped mass per second [1/s] (solver.checks),
    # the edges' names and the threshold of `miind run`'s warning; None in older outputs
    clamped: dict[str, np.ndarray] | None = None
    clamp_edges: list[str] | None = None
    clamp_threshold: float = math.nan
    # direct populations
    n_neurons: int | None = None
    spike_times: np.ndarray | None = None  # [s], sorted; None if not read
    spike_ids: np.ndarray | None = None
    sample_ids: np.ndarray | None = None  # (r,) recorded neurons
    samples: dict[str, np.ndarray] | None = None  # variable -> (n_steps, r)
    neuron_mean_v: np.ndarray | None = None  # (N,) over the synchrony window
    neuron_var_v: np.ndarray | None = None
    synchrony_t_start: float | None = None  # the synchrony window is t_start to the end

    @property
    def direct(self) -> bool:
        return self.method == "direct"

    @property
    def two_dimensional(self) -> bool:
        return self.cells is not None


@dataclass(frozen=True)
class RunOutput:
    path: str
    time: np.ndarray
    dt: float
    populations: dict[str, PopulationOutput]
    input_rates: dict[str, np.ndarray]

    def names(self, method: str) -> list[str]:
        return [name for name, pop in self.populations.items() if pop.method == method]


def read_output(path: str | Path, spikes: bool = True) -> RunOutput:
    """The output file at `path`. `spikes=False` skips the spike times of direct
    populations (large, and needed only for rasters)."""
    path = str(path)
    if _stamp(path) == MESH_FORMAT:
        raise ArtifactError(f"a mesh artifact (format {MESH_FORMAT!r}), not a `miind run` "
                            "output; of the analyze options only --mesh FILE.png reads a mesh",
                            path=path)
    with open_stamped(path, FORMAT, FORMAT_VERSION, "`miind run` output",
                      "`miind run` on its simulation file") as f:
        try:
            populations = {}
            for name in _population_order(f):
                group = f["populations"][name]
                method = str(group.attrs.get("method", "density"))
                if method not in METHODS:
                    raise ArtifactError(f"population '{name}' has unknown method {method!r} "
                                        f"(known: {', '.join(METHODS)})", path=path)
                common = dict(name=name, unit=str(group.attrs["unit"]), method=method,
                              variables=json.loads(group.attrs["variables"]),
                              rate=group["rate"][()],
                              mean={k: v[()] for k, v in group["mean"].items()})
                if method == "density":
                    extra = _read_density(group)
                else:
                    extra = _read_direct(group, f["spikes"][name] if spikes else None)
                populations[name] = PopulationOutput(**common, **extra)
            inputs = {name: group["rate"][()] for name, group in f["inputs"].items()}
            return RunOutput(path=path, time=f["time"][()], dt=float(f.attrs["dt"]),
                             populations=populations, input_rates=inputs)
        except KeyError as exc:
            raise ArtifactError(f"output file is incomplete: missing {exc}", path=path) from None


def read_mesh_to_draw(path: str | Path):
    """The mesh artifact at `path` for --mesh (meshgen.formats.mesh_artifact.read_mesh), or an error
    that says so when it is a `miind run` output."""
    path = str(path)
    if _stamp(path) == FORMAT:
        raise ArtifactError("--mesh draws a mesh artifact (`miind mesh`); this is a `miind "
                            "run` output (its populations name their meshes)", path=path)
    return read_mesh(path)


def _stamp(path: str) -> str | None:
    """The `format` stamp of an HDF5 file; None if it has none or cannot be read (the
    readers then say why)."""
    try:
        with h5py.File(path, "r") as f:
            return str(f.attrs.get("format"))
    except OSError:
        return None


def _population_order(f) -> list[str]:
    """The population names in the order of the simulation file (HDF5 lists a group's
    members alphabetically), so CSV columns and defaults follow the file."""
    stored = list(f["populations"])
    try:
        listed = [p["name"] for p in json.loads(f.attrs["simulation"])["population"]]
    except (KeyError, TypeError, ValueError):
        listed = []
    return [n for n in listed if n in stored] + [n for n in stored if n not in listed]


def _read_density(group) -> dict:
    density = group["density"]
    common = dict(mass=group["mass"][()], density_time=density["time"][()],
                  density_mass=density["mass"][()])
    kind = group.attrs.get("mesh_kind", "strips")
    grid = kind == "grid"
    # 2D strip meshes (mesh_kind "strips2d") list their cells as polygons.
    if not grid and kind != "strips2d" and "cell_vertices" not in density:
        return dict(common, lower=density["lower"][()], upper=density["upper"][()])
    variables = json.loads(density.attrs["variables"])
    # Outputs written before the units attribute: v has the population's unit.
    stated = json.loads(density.attrs.get("units", "{}"))
    units = [stated.get(v, str(group.attrs["unit"]) if j == 0 else "")
             for j, v in enumerate(variables)]
    cells = (polygon_cells(variables, units, density["cell_vertices"][()])
             if not grid else
             grid_cells(variables, units, density.attrs["ranges"], density.attrs["resolution"]))
    marginals = None
    if "marginals" in density:
        marginals = {v: (density["marginals"][v][()], density["marginals"][f"{v}_edges"][()])
                     for v in variables}
    clamp = {}
    if "clamped" in group:
        found = group["clamped"]
        clamp = dict(clamped={m: found[m][()] for m in json.loads(found.attrs["accounted"])},
                     clamp_edges=json.loads(found.attrs["edges"]),
                     clamp_threshold=float(found.attrs["threshold_per_second"]))
    return dict(common, grid=grid, cells=cells, marginals=marginals,
                threshold=float(density.attrs.get("threshold", math.nan)),
                reset_v=float(density.attrs.get("reset_v", math.nan)), **clamp)


def _read_direct(group, spikes) -> dict:
    samples, sync = group["samples"], group["synchrony"]
    return dict(
        n_neurons=int(group.attrs["n_neurons"]),
        spike_times=None if spikes is None else spikes["timestamps"][()],
        spike_ids=None if spikes is None else spikes["node_ids"][()],
        sample_ids=samples["node_ids"][()],
        samples={k: v[()] for k, v in samples.items() if k != "node_ids"},
        neuron_mean_v=sync["neuron_mean_v"][()], neuron_var_v=sync["neuron_var_v"][()],
        synchrony_t_start=float(sync.attrs["t_start"]))


# --- the cells of a 2D mesh ---------------------------------------------------------
#
# Two representations, so a figure never asks which mesh it came from:
#
# * a regular grid: the cell edges along each axis, cells numbered v fastest
#   (meshgen.grid2d), drawn as one pcolormesh;
# * polygons: every cell's corners, (n_cells, n_corners, 2) in (v, w), drawn as a
#   PolyCollection (the cells of 2D strip meshes are arbitrary polygons; one of fewer
#   corners repeats its last, which changes neither its outline nor its area).
#
# Built from an output's density group (`_read_density`) or from a mesh artifact
# (`artifact_cells`): a GridArtifact, or any artifact with a `cell_vertices` array
# (n_cells, k, 2) (a Strips2DArtifact) and `variables`, `units`, `model` like a
# GridArtifact.


@dataclass(frozen=True)
class MeshCells:
    variables: tuple[str, str]
    units: tuple[str, str]
    edges: tuple[np.ndarray, np.ndarray] | None = None  # regular grid: (n_v + 1,), (n_w + 1,)
    vertices: np.ndarray | None = None  # polygons: (n_cells, n_corners, 2)

    @property
    def regular(self) -> bool:
        return self.edges is not None

    @property
    def n_cells(self) -> int:
        if self.regular:
            return (len(self.edges[0]) - 1) * (len(self.edges[1]) - 1)
        return len(self.vertices)

    @property
    def shape(self) -> tuple[int, int]:
        """Cells per axis (n_v, n_w) of a regular grid."""
        return len(self.edges[0]) - 1, len(self.edges[1]) - 1

    def areas(self) -> np.ndarray:
        """(n_cells,) cell areas [unit of v x unit of w], in cell order."""
        if self.regular:
            dv, dw = np.diff(self.edges[0]), np.diff(self.edges[1])
            return np.outer(dw, dv).ravel()
        return polygon_areas(self.vertices)

    def densities(self, mass: np.ndarray) -> np.ndarray:
        """Mass per unit area of each cell; NaN for cells of zero area."""
        areas = self.areas()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(areas > 0, mass / np.where(areas > 0, areas, 1.0), np.nan)

    def limits(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((v_lo, v_hi), (w_lo, w_hi)) enclosing every cell."""
        if self.regular:
            return tuple((float(e[0]), float(e[-1])) for e in self.edges)
        return tuple((float(self.vertices[..., k].min()), float(self.vertices[..., k].max()))
                     for k in (0, 1))


def grid_cells(variables, units, ranges, resolution) -> MeshCells:
    """The cells of a regular grid (meshgen.regular_grid.Grid's edges: exactly lo to hi)."""
    edges = tuple(np.linspace(float(lo), float(hi), int(n) + 1)
                  for (lo, hi), n in zip(np.asarray(ranges), np.asarray(resolution)))
    return MeshCells(tuple(variables), tuple(units), edges=edges)


def polygon_cells(variables, units, vertices) -> MeshCells:
    vertices = np.asarray(vertices, dtype=float)
    return MeshCells(tuple(variables), tuple(units), vertices=vertices)


def artifact_cells(artifact) -> MeshCells:
    """The cells of a 2D mesh artifact (see the module docstring)."""
    variables = tuple(artifact.variables)
    units = tuple(artifact.units.get(v, "") for v in variables)
    vertices = getattr(artifact, "cell_vertices", None)
    if vertices is not None:
        return polygon_cells(variables, units, vertices)
    return grid_cells(variables, units, artifact.ranges, artifact.resolution)
