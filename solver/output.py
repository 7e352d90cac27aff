"""The output file of `miind run` (format "miind-output", version 1).

    /                      attrs: format, format_version, created_by, input_hash,
                                  simulation (JSON), simulation_file, dt, t_end
    /time                  (n,) end time of each step [s]
    /populations/<name>    attrs: mesh, mesh_hash, variables, unit
        rate               (n,) [Hz]
        mass               (n,) total probability mass, refractory included [1]
        mean/<variable>    (n,) population mean of each state variable
        density/time       (k,) [s]
        density/mass       (k, n_cells) probability mass per cell, logical order [1]
        density/lower, density/upper   (n_cells,) cell bounds [unit of v]
    /inputs/<name>/rate    (n,) [Hz]

Written atomically: a failed or interrupted run leaves no file behind.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

from meshgen import __version__
from meshgen.atomic_file import atomic_output

FORMAT = "miind-output"
FORMAT_VERSION = 1


def write_output(path: str | Path, network, results) -> None:
    spec = network.spec
    digest = hashlib.sha256(json.dumps(
        {"simulation": spec.document, "meshes": [a.input_hash for a in network.artifacts]},
        sort_keys=True).encode()).hexdigest()
    with atomic_output(path) as temporary:
        with h5py.File(temporary, "w") as f:
            f.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION,
                            "created_by": f"miind-cli {__version__}", "input_hash": digest,
                            "simulation": json.dumps(spec.document),
                            "simulation_file": str(spec.path), "dt": network.dt,
                            "t_end": network.n_steps * network.dt})
            _dataset(f, "time", results.time, "s")
            populations = f.create_group("populations")
            for p, (population, artifact) in enumerate(zip(spec.populations, network.artifacts)):
                group = populations.create_group(population.name)
                variables = artifact.model["variables"]
                group.attrs.update({"mesh": artifact.path, "mesh_hash": artifact.input_hash,
                                    "variables": json.dumps(variables), "unit": artifact.unit})
                _dataset(group, "rate", results.rate[p], "Hz")
                _dataset(group, "mass", results.mass[p], "1")
                mean = group.create_group("mean")
                _dataset(mean, variables[0], results.mean[p], artifact.unit)
                density = group.create_group("density")
                _dataset(density, "time", np.array(results.snapshot_times), "s")
                stacked = (np.array(results.snapshots[p]) if results.snapshots[p]
                           else np.zeros((0, artifact.n_cells)))
                _dataset(density, "mass", stacked, "1", compress=True)
                _dataset(density, "lower", artifact.lower, artifact.unit)
                _dataset(density, "upper", artifact.upper, artifact.unit)
            inputs = f.create_group("inputs")
            for i, source in enumerate(spec.inputs):
                _dataset(inputs.create_group(source.name), "rate", results.input_rates[i], "Hz")


def _dataset(group, name, values, units, compress=False):
    options = {"compression": "gzip", "compression_opts": 4} if compress and np.size(values) > 1024 else {}
    group.create_dataset(name, data=values, **options)
    group[name].attrs["units"] = units
