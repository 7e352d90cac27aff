"""The output file of `miind run` (format "miind-output", version 1).

    /                      attrs: format, format_version, created_by, input_hash,
                                  simulation (JSON), simulation_file, dt, t_end;
                                  solved_by = "steady" in the files of `miind steady`:
                                  one step, the stationary state (population attr
                                  refractory_mass: the mass waiting out the refractory
                                  period, not in density/mass)
    /time                  (n,) end time of each step [s]
    /populations/<name>    attrs: method ("density": a density on a mesh, 1D or 2D;
                                  "direct": neurons one by one), variables, unit (of
                                  v), mesh, mesh_hash (density), n_neurons (direct)
        rate               (n,) [Hz]
        mean/<variable>    (n,) population mean of each state variable (grid populations:
                           of the mass in the mesh, at mid-jump of each step, see
                           solver.kernels_2d.advance_grid)
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
      2D strip density (attr mesh_kind = "strips2d", meshgen.strips2d_tracing): the same
        density attrs and marginals, with density/mass in the mesh's cell order and
        density/cell_vertices (n_cells, k, 2) [units: JSON list, per variable] in place of ranges and
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

Every dataset has a `units` attribute: the unit of the model's variable (e.g. "mV",
"pA"), "Hz", "s", "1" (dimensionless), or, for a dataset that holds several
variables (density/cell_vertices: a column each), a JSON list of their units. Files written before 0.1.0's issue 11
carry "model unit(s)" where the variable's unit was not known to the writer.

Each population writes what its record (solver.population.PopulationRecord) holds;
this module writes the root, the time axis and the inputs. Written atomically: a
failed or interrupted run leaves no file behind.
"""


from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py

from .atomic_file import atomic_output
from .stamps import stamp_root, write_dataset

FORMAT = "miind-output"
FORMAT_VERSION = 1


def write_output(path: str | Path, simulation, results, **root_attrs) -> None:
    """Write the run's output: `simulation` (solver.assembly.Simulation) for its spec
    and steps, `results` (solver.engine.Results) for the records; `root_attrs` are added
    to the root (`solved_by = "steady"` for `miind steady`'s one-step files)."""
    spec = simulation.spec
    digest = hashlib.sha256(json.dumps(
        {"simulation": spec.document,
         "meshes": [p.mesh_hash for p in results.populations if p.mesh_hash]},
        sort_keys=True).encode()).hexdigest()
    with atomic_output(path) as temporary:
        with h5py.File(temporary, "w") as f:
            stamp_root(f, FORMAT, FORMAT_VERSION, digest, simulation=json.dumps(spec.document),
                       simulation_file=str(spec.path), dt=simulation.dt,
                       t_end=simulation.n_steps * simulation.dt, **root_attrs)
            write_dataset(f, "time", results.time, "s")
            populations = f.create_group("populations")
            spikes = f.create_group("spikes")
            for record in results.populations:
                write_record(populations.create_group(record.name), record)
                if record.spikes is not None:
                    write_record_datasets(spikes.create_group(record.name), record.spikes)
            inputs = f.create_group("inputs")
            for i, source in enumerate(spec.inputs):
                write_dataset(inputs.create_group(source.name), "rate", results.input_rates[i],
                              "Hz")


def write_record(group: h5py.Group, record) -> None:
    """A population's group from its record: datasets and group attributes by path."""
    write_record_datasets(group, record.datasets)
    for where, attrs in record.group_attrs.items():
        (group.require_group(where) if where else group).attrs.update(attrs)


def write_record_datasets(group: h5py.Group, datasets: dict) -> None:
    for where, dataset in datasets.items():
        parent, _, name = where.rpartition("/")
        write_dataset(group.require_group(parent) if parent else group, name, dataset.values,
                      dataset.units, compress=dataset.compress)
