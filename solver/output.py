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
      2D meshes with cells of any shape (not written yet; plots read it): the same
        density attrs and marginals, and density/cell_vertices (n_cells, 4, 2): each
        cell's corners (v, w) in order around it, in place of ranges and resolution
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
from meshgen.atomic_file import atomic_output

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
                    _write_density(group, result, grid_artifacts.get(result.name))
            inputs = f.create_group("inputs")
            for i, source in enumerate(spec.inputs):
                _dataset(inputs.create_group(source.name), "rate", results.input_rates[i], "Hz")


def _write_density(group, result, grid_artifact=None) -> None:
    group.attrs.update({"mesh": result.mesh_path, "mesh_hash": result.mesh_hash})
    _dataset(group, "mass", result.mass, "1")
    density = group.create_group("density")
    _dataset(density, "time", np.array(result.snapshot_times), "s")
    n_cells = result.grid.n_cells if result.grid is not None else len(result.lower)
    stacked = (np.array(result.snapshots) if result.snapshots else np.zeros((0, n_cells)))
    _dataset(density, "mass", stacked, "1", compress=True)
    if result.grid is not None:
        group.attrs["mesh_kind"] = "grid"
        density.attrs.update({"variables": json.dumps(list(result.grid.variables)),
                              "ranges": np.array(result.grid.ranges),
                              "resolution": np.array(result.grid.resolution)})
        _write_spike_lines(density, grid_artifact)
        _write_grid_marginals(density, result.grid, stacked, grid_artifact.units)
        return
    _dataset(density, "lower", result.lower, result.unit)
    _dataset(density, "upper", result.upper, result.unit)


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
        unit = units.get(variable, "")
        # planes is (k, w, v): v's marginal sums over axis 1, w's over axis 2.
        summed = planes.sum(axis=1 if axis == 0 else 2)
        _dataset(marginals, variable, summed / width, f"1/{unit}" if unit else "1", compress=True)
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
