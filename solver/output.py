"""The output file of `miind run` (format "miind-output", version 1).

    /                      attrs: format, format_version, created_by, input_hash,
                                  simulation (JSON), simulation_file, dt, t_end
    /time                  (n,) end time of each step [s]
    /populations/<name>    attrs: method ("density" | "direct"), variables, unit,
                                  mesh, mesh_hash (density), n_neurons (direct)
        rate               (n,) [Hz]
        mean/<variable>    (n,) population mean of each state variable (grid populations:
                           of the mass in the mesh, at mid-jump of each step, see
                           solver.grid_kernels.advance_grid)
      density only:
        mass               (n,) total probability mass, refractory included [1]
        density/time       (k,) [s]
        density/mass       (k, n_cells) probability mass per cell, logical order [1]
        density/lower, density/upper   (n_cells,) cell bounds [unit of v]
      grid density (attr mesh_kind = "grid"): density/mass is (k, n_cells) in the
        grid's cell order (meshgen.grid2d: v fastest), with density attrs variables,
        ranges (2, 2) and resolution (2,) in place of lower and upper, and
        density attrs  units (JSON: variable -> unit), threshold and reset_v (the
                       spike threshold on v and the value v is reset to [unit of v];
                       NaN when the model has none: lines to draw on plots)
        density/marginals/<variable>         (k, n_bins) marginal density of each
                       variable at each snapshot: the mass summed over the other
                       variable, per bin, over the bin width [1/unit of the variable];
                       sum * width = the snapshot's in-mesh mass (refractory excluded)
        density/marginals/<variable>_edges   (n_bins + 1,) bin edges [unit]
        clamped/<mechanism>  (n, 4) [1/s] the mass (fraction of the population) that
                       the motion, the jumps or the reset put into an edge cell of the
                       range box instead of beyond it in each step, over dt; columns
                       are the edges of group attr `edges` (JSON, e.g. ["v low",
                       "v high", "w low", "w high"]); a mechanism is written when its
                       mesh accounts for it (group attr `accounted`; meshes written
                       before the reset's accounting lack "reset"); group attr
                       threshold_per_second: where `miind run` warns (solver.checks)
      2D strip density (attr mesh_kind = "strips2d", meshgen.strips2d): the same
        density attrs and marginals, with density/mass in the mesh's cell order and
        density/cell_vertices (n_cells, k, 2) [model units] in place of ranges and
        resolution: each cell's corners (v, w) counter-clockwise; a cell of fewer than
        k corners repeats its last one (which adds nothing to its area or outline).
        Marginal bins: the mesh's range box split into its target cells per variable;
        each cell's mass is spread over the bins its extent [min, max] along the
        variable overlaps, uniformly (an approximation of the polygon's own profile
        that keeps sum * width = the in-mesh mass exactly)
      direct only:
        samples/node_ids   (r,) recorded neurons; samples/<variable> (n, r)
        synchrony/neuron_mean_v, neuron_var_v  (N,) each neuron's time mean and
                           variance of v over the second half (attr t_start) [unit, unit^2]
    /spikes/<name>         direct only (SONATA style): timestamps (m,) [s],
                           node_ids (m,) [1], sorted by time
    /inputs/<name>/rate    (n,) [Hz]

Written atomically: a failed or interrupted run leaves no file behind.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import h5py
import numpy as np

from meshgen import __version__
from meshgen.artifact import StripArtifact
from meshgen.atomic_file import atomic_output
from meshgen.box_edges import edge_names
from meshgen.regular_grid import Grid

from .checks import CLAMP_WARNING_PER_SECOND
from meshgen.box_edges import CLAMP_MECHANISMS

FORMAT = "miind-output"
FORMAT_VERSION = 1


def write_output(path: str | Path, simulation, results) -> None:
    spec = simulation.spec
    digest = hashlib.sha256(json.dumps(
        {"simulation": spec.document,
         "meshes": [p.mesh_hash for p in results.populations if p.mesh_hash]},
        sort_keys=True).encode()).hexdigest()
    with atomic_output(path) as temporary:
        with h5py.File(temporary, "w") as f:
            f.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION,
                            "created_by": f"miind-cli {__version__}", "input_hash": digest,
                            "simulation": json.dumps(spec.document),
                            "simulation_file": str(spec.path), "dt": simulation.dt,
                            "t_end": simulation.n_steps * simulation.dt})
            _dataset(f, "time", results.time, "s")
            populations = f.create_group("populations")
            spikes = f.create_group("spikes")
            grid_artifacts = {grid.name: grid.artifact for grid in simulation.grids}
            for result in results.populations:
                group = populations.create_group(result.name)
                direct = result.spike_times is not None
                group.attrs.update({"method": "direct" if direct else "density",
                                    "variables": json.dumps(result.variables),
                                    "unit": result.unit})
                _dataset(group, "rate", result.rate, "Hz")
                mean = group.create_group("mean")
                for variable, values in result.mean.items():
                    _dataset(mean, variable, values, result.unit if variable == result.variables[0]
                             else "model unit")
                if direct:
                    _write_direct(group, spikes.create_group(result.name), result, simulation)
                else:
                    _write_density(group, result, grid_artifacts.get(result.name),
                                   simulation.dt)
            inputs = f.create_group("inputs")
            for i, source in enumerate(spec.inputs):
                _dataset(inputs.create_group(source.name), "rate", results.input_rates[i], "Hz")


def _write_density(group, result, artifact_2d=None, dt: float = 1.0) -> None:
    """`artifact_2d`: the mesh artifact of a 2D population (grid or strips), else None."""
    group.attrs.update({"mesh": result.mesh_path, "mesh_hash": result.mesh_hash})
    _dataset(group, "mass", result.mass, "1")
    density = group.create_group("density")
    _dataset(density, "time", np.array(result.snapshot_times), "s")
    n_cells = artifact_2d.n_cells if artifact_2d is not None else len(result.lower)
    stacked = (np.array(result.snapshots) if result.snapshots else np.zeros((0, n_cells)))
    _dataset(density, "mass", stacked, "1", compress=True)
    if artifact_2d is None:
        _dataset(density, "lower", result.lower, result.unit)
        _dataset(density, "upper", result.upper, result.unit)
        return
    box = Grid(artifact_2d.variables, tuple(map(tuple, artifact_2d.ranges)),
               tuple(artifact_2d.resolution))
    density.attrs["variables"] = json.dumps(list(box.variables))
    _write_spike_lines(density, artifact_2d)
    _write_clamped(group, result, dt)
    if isinstance(artifact_2d, StripArtifact):
        group.attrs["mesh_kind"] = "strips2d"
        _dataset(density, "cell_vertices", artifact_2d.cell_vertices, "model units")
        _write_polygon_marginals(density, box, artifact_2d.cell_vertices, stacked,
                                 artifact_2d.units)
        return
    group.attrs["mesh_kind"] = "grid"
    density.attrs.update({"ranges": np.array(box.ranges), "resolution": np.array(box.resolution)})
    _write_grid_marginals(density, box, stacked, artifact_2d.units)


def _write_clamped(group, result, dt: float) -> None:
    clamped = group.create_group("clamped")
    clamped.attrs.update({"edges": json.dumps(edge_names(result.variables)),
                          "accounted": json.dumps(list(result.clamp_accounted)),
                          "threshold_per_second": CLAMP_WARNING_PER_SECOND})
    for m, mechanism in enumerate(CLAMP_MECHANISMS):
        if mechanism in result.clamp_accounted:
            _dataset(clamped, mechanism, result.clamped[:, m, :] / dt, "1/s", compress=True)


def spike_lines(artifact) -> tuple[float, float]:
    """(threshold, reset value of v) of a mesh artifact's model, NaN where it has none."""
    spike = artifact.model.get("spike", {})
    threshold = spike.get("threshold")
    reset = spike.get("reset")
    reset_v = reset.get(artifact.model["variables"][0]) if isinstance(reset, dict) else reset
    return (math.nan if threshold is None else float(threshold),
            math.nan if reset_v is None else float(reset_v))


def _write_spike_lines(density, artifact) -> None:
    threshold, reset_v = spike_lines(artifact)
    density.attrs.update({"units": json.dumps(artifact.units), "threshold": threshold,
                          "reset_v": reset_v})


def _write_grid_marginals(density, grid, stacked: np.ndarray, units: dict) -> None:
    """density/marginals of a grid's snapshots `stacked` (k, n_cells), v fastest."""
    n_v, n_w = grid.resolution
    planes = stacked.reshape(len(stacked), n_w, n_v)
    marginals = density.create_group("marginals")
    for axis, (variable, edges, width) in enumerate(zip(grid.variables, grid.edges, grid.widths)):
        # planes is (k, w, v): v's marginal sums over axis 1, w's over axis 2.
        summed = planes.sum(axis=1 if axis == 0 else 2)
        _write_marginal(marginals, variable, summed / width, edges, units.get(variable, ""))


def _write_polygon_marginals(density, box: Grid, vertices: np.ndarray, stacked: np.ndarray,
                             units: dict) -> None:
    """density/marginals of snapshots `stacked` (k, n_cells) on polygon cells
    `vertices` (n_cells, k, 2), over the bins of the range box `box`."""
    marginals = density.create_group("marginals")
    for axis, (variable, edges, width) in enumerate(zip(box.variables, box.edges, box.widths)):
        cell, bins, share = extent_bin_shares(vertices[..., axis].min(axis=1),
                                              vertices[..., axis].max(axis=1), edges)
        summed = np.zeros((len(edges) - 1, len(stacked)))
        np.add.at(summed, bins, (stacked[:, cell] * share).T)
        _write_marginal(marginals, variable, summed.T / width, edges, units.get(variable, ""))


def extent_bin_shares(lower: np.ndarray, upper: np.ndarray, edges: np.ndarray):
    """(cell, bin, share) of every (cell, bin) pair: the share of each cell's mass in
    each bin when its mass is spread uniformly over its extent [lower, upper], clipped
    to the bins (what lies outside goes to the end bins, so every cell's shares sum to
    1); a cell of no extent puts all of it in the bin holding it. (Plain numpy: a run
    does not import scipy.)"""
    n_bins = len(edges) - 1
    lower = np.clip(lower, edges[0], edges[-1])
    upper = np.clip(upper, edges[0], edges[-1])
    first = np.clip(np.searchsorted(edges, lower, side="right") - 1, 0, n_bins - 1)
    last = np.clip(np.searchsorted(edges, upper, side="left") - 1, first, n_bins - 1)
    counts = last - first + 1
    # One entry per (cell, bin it overlaps): bins first, first + 1, ..., last of each.
    cell = np.repeat(np.arange(len(lower)), counts)
    entry_of_first = np.repeat(np.cumsum(counts) - counts, counts)
    bins = np.repeat(first, counts) + np.arange(counts.sum()) - entry_of_first
    overlap = np.minimum(upper[cell], edges[bins + 1]) - np.maximum(lower[cell], edges[bins])
    share = np.where(upper[cell] > lower[cell], np.maximum(overlap, 0.0), 1.0)
    share /= np.bincount(cell, weights=share, minlength=len(lower))[cell]
    return cell, bins, share


def _write_marginal(marginals, variable: str, values: np.ndarray, edges: np.ndarray,
                    unit: str) -> None:
    _dataset(marginals, variable, values, f"1/{unit}" if unit else "1", compress=True)
    _dataset(marginals, f"{variable}_edges", edges, unit or "1")


def _write_direct(group, spikes, result, simulation) -> None:
    group.attrs["n_neurons"] = result.n_neurons
    _dataset(spikes, "timestamps", result.spike_times, "s", compress=True)
    _dataset(spikes, "node_ids", result.spike_ids, "1", compress=True)
    samples = group.create_group("samples")
    _dataset(samples, "node_ids", result.record, "1")
    for j, variable in enumerate(result.variables):
        _dataset(samples, variable, result.samples[:, :, j], result.unit if j == 0
                 else "model unit", compress=True)
    synchrony = group.create_group("synchrony")
    synchrony.attrs["t_start"] = (simulation.n_steps // 2) * simulation.dt
    _dataset(synchrony, "neuron_mean_v", result.neuron_mean_v, result.unit)
    _dataset(synchrony, "neuron_var_v", result.neuron_var_v, f"{result.unit}^2")


def _dataset(group, name, values, units, compress=False):
    options = {"compression": "gzip", "compression_opts": 4} if compress and np.size(values) > 1024 else {}
    group.create_dataset(name, data=values, **options)
    group[name].attrs["units"] = units
