"""Reading `miind run` outputs and turning them into rates, CSV, summaries and
comparisons.

An output holds two kinds of populations (see solver.output): density populations
(rate, mass, mean v and density snapshots) and direct ones (rate, mean state, spikes
of each neuron, sampled traces and the per-neuron statistics of the synchrony
measures). Everything here is arrays in, arrays or dicts out; the figures are in
`plotting` (2D densities and meshes: `plotting2d`) and the synchrony measures in
`synchrony`.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import h5py
import numpy as np

from meshgen.artifact import FORMAT as MESH_FORMAT
from meshgen.artifact import read_mesh
from meshgen.errors import ArtifactError, ConfigError
from meshgen.stamped_file import open_stamped
from solver.output import FORMAT, FORMAT_VERSION

from . import synchrony
from .mesh_cells import MeshCells, grid_cells, polygon_cells

# Bin of the spike-count measures (raster rate panel, Fano factor, spectrum) when no
# --bin is given: 1 ms, rounded to a whole number of steps. Short enough to resolve
# gamma rhythms (Nyquist 500 Hz), long enough to hold a few spikes of a population.
DEFAULT_BIN = 1e-3
# --bin must be a whole number of steps to within this relative difference: enough
# for a decimal typed by hand (0.001 / 1e-4 = 10.000000000000002), small enough that
# a bin of 14.8 steps is refused rather than silently changed.
BIN_RELATIVE_TOLERANCE = 1e-6
# The steady difference of --compare: its standard error from this many batch means.
COMPARE_BATCHES = 10
# At most this many neurons of a population are drawn in a raster (chosen evenly).
RASTER_MAX_NEURONS = 2000

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
    """The mesh artifact at `path` for --mesh (meshgen.artifact.read_mesh), or an error
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


# --- options ------------------------------------------------------------------------

def parse_window(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        start, end = (float(part) for part in text.split(":"))
    except ValueError:
        raise ConfigError(f"--window expects T0:T1 in seconds, got {text!r}") from None
    if not end > start:
        raise ConfigError(f"--window {text!r}: T1 must be after T0")
    return start, end


def population_names(output: RunOutput, names, option: str) -> list[str]:
    """`names` checked against the populations of `output` (errors name `option`)."""
    for name in names:
        if name not in output.populations:
            raise ConfigError(f"{option}: no population '{name}' (has: "
                              f"{', '.join(output.populations)})", path=output.path)
    return list(names)


def direct_names(output: RunOutput, option: str) -> list[str]:
    """The direct populations, or an error saying `option` needs one."""
    names = output.names("direct")
    if not names:
        raise ConfigError(f"{option} needs spikes, and the output has no direct population "
                          f"(method = \"direct\"; has: {', '.join(output.populations)})",
                          path=output.path)
    return names


def recorded_names(output: RunOutput) -> list[str]:
    """The direct populations that recorded neurons, or an error saying how to."""
    names = [n for n in output.names("direct")
             if output.populations[n].sample_ids is not None and len(output.populations[n].sample_ids)]
    if not names:
        raise ConfigError("--trace needs recorded neurons: give a direct population "
                          "`record = [ids]` in the simulation file", path=output.path)
    return names


@dataclass(frozen=True)
class Binning:
    """Whole steps of the run grouped into bins of `steps` steps; a last incomplete
    bin is left out. `given`: the width came from --bin."""

    steps: int
    width: float  # [s]
    given: bool

    def count(self, n_steps: int) -> int:
        return n_steps // self.steps

    def means(self, values: np.ndarray) -> np.ndarray:
        n = self.count(len(values)) * self.steps
        return np.asarray(values[:n], dtype=float).reshape(-1, self.steps).mean(axis=1)

    def sums(self, values: np.ndarray) -> np.ndarray:
        n = self.count(len(values)) * self.steps
        return np.asarray(values[:n]).reshape(-1, self.steps).sum(axis=1)

    def times(self, time: np.ndarray) -> np.ndarray:
        """End time of each bin, as `time` holds the end time of each step."""
        return time[self.steps - 1::self.steps][:self.count(len(time))]


def make_binning(output: RunOutput, width: float | None,
                 default: float | None = None) -> Binning:
    """Bins of `width` seconds (--bin), which must be a whole number of steps; without
    it, `default` rounded to whole steps, or single steps if no default."""
    dt, n_steps = output.dt, len(output.time)
    if width is None:
        steps = 1 if default is None else max(1, round(default / dt))
        return Binning(min(steps, n_steps), min(steps, n_steps) * dt, False)
    if not (math.isfinite(width) and width > 0):
        raise ConfigError(f"--bin must be a positive number of seconds, got {width:g}")
    ratio = width / dt
    steps = round(ratio)
    if steps < 1 or abs(ratio - steps) > BIN_RELATIVE_TOLERANCE * steps:
        near = sorted({max(1, math.floor(ratio)), math.ceil(ratio)})
        raise ConfigError(f"--bin {width:g} s is {ratio:.6g} steps of dt = {dt:.12g} s; it "
                          f"must be a whole number of steps, e.g. "
                          + " or ".join(f"{k * dt:.12g} ({k} steps)" for k in near),
                          path=output.path)
    if steps > n_steps:
        raise ConfigError(f"--bin {width:g} s is longer than the run "
                          f"({n_steps * dt:.6g} s)", path=output.path)
    return Binning(steps, steps * dt, True)


def _window_mask(times: np.ndarray, width: float, window, output: RunOutput,
                 what: str, required: bool = True) -> tuple[tuple[float, float], np.ndarray]:
    """Window (default: the second half) and the bins ending at `times` of `width`
    inside it: a bin belongs to the window if its midpoint does. No bin inside is an
    error if `required`."""
    end = float(output.time[-1])
    if window is None:
        window = (end / 2, end)
    middle = times - width / 2
    selected = (middle >= window[0]) & (middle <= window[1])
    if required and not selected.any():
        raise ConfigError(f"--window {window[0]}:{window[1]} contains no {what} "
                          f"(the run covers 0 to {end:.6g} s)")
    return (float(window[0]), float(window[1])), selected


def _step_or_bin(binning: Binning) -> str:
    return "time step" if binning.steps == 1 and not binning.given else \
        f"whole bin of {binning.width:.6g} s"


# --- rates, counts and summaries ----------------------------------------------------

def spike_counts(output: RunOutput, name: str) -> np.ndarray:
    """Spikes of direct population `name` in each step (rate = count / (N dt))."""
    pop = output.populations[name]
    return np.rint(pop.rate * pop.n_neurons * output.dt).astype(np.int64)


def binned_rates(output: RunOutput, binning: Binning) -> tuple[np.ndarray, dict]:
    """(end time of each bin, {population: mean rate in each bin [Hz]})."""
    return (binning.times(output.time),
            {name: binning.means(pop.rate) for name, pop in output.populations.items()})


def summarize(output: RunOutput, window: tuple[float, float] | None = None,
              binning: Binning | None = None, count_binning: Binning | None = None) -> dict:
    """Mean, min and max rate of each population over `window` (default: the second
    half), of its rate in `binning` (default: per step); for direct populations also
    the spike count in the window and the synchrony measures (spike counts in
    `count_binning`, default: DEFAULT_BIN)."""
    binning = binning or make_binning(output, None)
    count_binning = count_binning or make_binning(output, None, DEFAULT_BIN)
    times = binning.times(output.time)
    window, selected = _window_mask(times, binning.width, window, output,
                                    _step_or_bin(binning))
    populations = {}
    for name, pop in output.populations.items():
        rate = binning.means(pop.rate)[selected]
        entry = {"method": pop.method, "mean_rate": float(rate.mean()),
                 "min_rate": float(rate.min()), "max_rate": float(rate.max())}
        if pop.mass is not None:
            entry["final_mass"] = float(pop.mass[-1])
        for variable, values in pop.mean.items():
            entry[f"mean_{variable}"] = float(binning.means(values)[selected].mean())
        if pop.clamped is not None:
            entry.update(_clamped_summary(pop, binning, selected))
        if pop.direct:
            entry["n_neurons"] = pop.n_neurons
            entry["spike_count"] = int(binning.sums(spike_counts(output, name))[selected].sum())
            entry["synchrony"] = synchrony_summary(output, name, window, count_binning)
        populations[name] = entry
    return {"window": [window[0], window[1]], "units": {"rate": "Hz", "time": "s"},
            "populations": populations}


def _clamped_summary(pop: PopulationOutput, binning: Binning, selected: np.ndarray) -> dict:
    """A 2D population's clamped mass per second over the window, per mechanism and
    edge, and those over `miind run`'s warning threshold ("reset at w high")."""
    table = {mechanism: {edge: float(binning.means(series[:, e])[selected].mean())
                         for e, edge in enumerate(pop.clamp_edges)}
             for mechanism, series in pop.clamped.items()}
    over = [f"{mechanism} at {edge}" for mechanism, by_edge in table.items()
            for edge, value in by_edge.items() if value > pop.clamp_threshold]
    return {"clamped_per_second": table, "clamped_threshold_per_second": pop.clamp_threshold,
            "clamped_over_threshold": over}


def synchrony_summary(output: RunOutput, name: str, window: tuple[float, float],
                      binning: Binning) -> dict:
    """chi over the file's synchrony window; Fano factor and spectrum peak of the
    population spike count in `binning` over `window`."""
    pop = output.populations[name]
    counts, _ = window_counts(output, name, window, binning, required=False)
    frequencies, power = synchrony.count_spectrum(counts, binning.width)
    peak, relative = synchrony.spectrum_peak(frequencies, power)
    return {"chi": _json_number(population_chi(output, name)),
            "chi_window": [pop.synchrony_t_start, float(output.time[-1])],
            "fano_factor": _json_number(synchrony.fano_factor(counts)),
            "fano_bin_s": binning.width,
            "fano_bin_from": "--bin" if binning.given else
            f"default {DEFAULT_BIN * 1e3:g} ms, rounded to {binning.steps} whole steps",
            "spectrum_peak_hz": _json_number(peak),
            "spectrum_peak_relative_power": _json_number(relative)}


def population_chi(output: RunOutput, name: str) -> float:
    """Golomb-Rinzel chi of direct population `name` over its synchrony window (the
    steps after synchrony/t_start, over which neuron_var_v was accumulated)."""
    pop = output.populations[name]
    inside = output.time - output.dt / 2 >= pop.synchrony_t_start
    return synchrony.golomb_chi(pop.mean[pop.variables[0]][inside], pop.neuron_var_v)


def window_counts(output: RunOutput, name: str, window, binning: Binning,
                  required: bool = True):
    """(population spike counts in the bins inside `window`, their end times). A
    window without a whole bin is an error if `required`, else gives empty arrays."""
    times = binning.times(output.time)
    _, selected = _window_mask(times, binning.width, window, output, _step_or_bin(binning),
                               required)
    return binning.sums(spike_counts(output, name))[selected], times[selected]


def spectra(output: RunOutput, names: list[str], window, binning: Binning) -> dict:
    """{population: (frequencies [Hz], power [counts^2/Hz])} of each spike count."""
    return {name: synchrony.count_spectrum(window_counts(output, name, window, binning)[0],
                                           binning.width) for name in names}


def compare(output: RunOutput, a: str, b: str, window: tuple[float, float] | None = None,
            binning: Binning | None = None) -> dict:
    """How far the rate of population `a` is from that of `b`.

    rms_difference_hz: root mean square over the whole run of rate_a - rate_b, both
    averaged in `binning` (default: per step; a direct population's per-step rate is
    mostly counting noise, so bin it). steady_*: means over `window` (default: the
    second half). steady_difference_standard_error_hz: the standard error of the
    steady difference by batch means: the window split into COMPARE_BATCHES
    consecutive batches, the standard deviation of the batch means of the difference
    over sqrt(COMPARE_BATCHES). It measures how much the steady difference would
    change in another run of the same length (finite-size noise, fluctuations); it
    assumes batches longer than the rates' correlation time, and it says nothing of
    a systematic error both runs share."""
    population_names(output, (a, b), "--compare")
    binning = binning or make_binning(output, None)
    times, rates = binned_rates(output, binning)
    difference = rates[a] - rates[b]
    window, selected = _window_mask(times, binning.width, window, output,
                                    _step_or_bin(binning))
    inside = difference[selected]
    if inside.size < COMPARE_BATCHES:
        raise ConfigError(f"--compare: the window {window[0]}:{window[1]} holds "
                          f"{inside.size} rate values; the standard error needs at least "
                          f"{COMPARE_BATCHES} (use a wider --window or a smaller --bin)",
                          path=output.path)
    batch_means = np.array([part.mean() for part in np.array_split(inside, COMPARE_BATCHES)])
    return {"compare": {
        "a": a, "b": b,
        "rms_difference_hz": float(np.sqrt(np.mean(difference ** 2))),
        "steady_mean_a_hz": float(rates[a][selected].mean()),
        "steady_mean_b_hz": float(rates[b][selected].mean()),
        "steady_difference_hz": float(inside.mean()),
        "steady_difference_standard_error_hz":
            float(batch_means.std(ddof=1) / math.sqrt(COMPARE_BATCHES)),
        "window": [window[0], window[1]],
        "bin_s": binning.width,
        "standard_error": f"batch means: {COMPARE_BATCHES} consecutive batches of the window",
    }}


def _json_number(value: float) -> float | None:
    """JSON has no NaN: undefined measures are null."""
    return float(value) if math.isfinite(value) else None


def write_rates_csv(output: RunOutput, stream: TextIO, binning: Binning | None = None) -> None:
    """t (end of each step or bin), then the rate of each population [Hz]."""
    times, rates = binned_rates(output, binning or make_binning(output, None))
    names = list(output.populations)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["t"] + names)
    columns = [rates[n] for n in names]
    for i, t in enumerate(times):
        writer.writerow([f"{t:.9g}"] + [f"{c[i]:.9g}" for c in columns])


# --- pictures -----------------------------------------------------------------------

def select_snapshot(output: RunOutput, population: str | None,
                    at_time: float | None) -> tuple[str, int]:
    """The density population (default: the first) and the index of its density
    snapshot nearest to `at_time` (default: the last)."""
    density = output.names("density")
    if population is None:
        if not density:
            raise ConfigError("--density: the output has no density population (density "
                              "pictures are for density populations; the others are "
                              "simulated directly)", path=output.path)
        population = density[0]
    name, = population_names(output, [population], "--population")
    if output.populations[name].direct:
        raise ConfigError(f"--density: population '{name}' is simulated directly; density "
                          f"pictures are for density populations (has: "
                          f"{', '.join(density) or 'none'})", path=output.path)
    if output.populations[name].two_dimensional:
        return name, _snapshot_index(output, name, at_time, "--density")
    times = output.populations[name].density_time
    if len(times) == 0:
        raise ConfigError("the output has no density snapshots", path=output.path)
    index = len(times) - 1 if at_time is None else int(np.argmin(np.abs(times - at_time)))
    return name, index


def select_2d(output: RunOutput, population: str | None, option: str) -> str:
    """The 2D density population for `option` (default: the first one)."""
    planar = [n for n in output.names("density") if output.populations[n].two_dimensional]
    if population is None:
        if not planar:
            raise ConfigError(f"{option}: the output has no 2D density population (has: "
                              f"{', '.join(output.populations) or 'none'})", path=output.path)
        return planar[0]
    name, = population_names(output, [population], "--population")
    if not output.populations[name].two_dimensional:
        kind = "simulated directly" if output.populations[name].direct else "one-dimensional"
        raise ConfigError(f"{option}: population '{name}' is {kind}; {option} is for 2D "
                          f"density populations (has: {', '.join(planar) or 'none'})",
                          path=output.path)
    return name


def select_marginals(output: RunOutput, population: str | None,
                     at_time: float | None) -> tuple[str, int]:
    """The 2D population and snapshot index of --marginals."""
    name = select_2d(output, population, "--marginals")
    if output.populations[name].marginals is None:
        raise ConfigError(f"--marginals: population '{name}' has no marginal densities (the "
                          "output predates them; re-run `miind run`)", path=output.path)
    return name, _snapshot_index(output, name, at_time, "--marginals")


def select_movie(output: RunOutput, population: str | None) -> str:
    """The 2D population of --movie, which needs snapshots over time."""
    name = select_2d(output, population, "--movie")
    count = len(output.populations[name].density_time)
    if count < 2:
        raise ConfigError(f"--movie: population '{name}' has {count} density snapshot"
                          f"{'' if count == 1 else 's'}; a movie needs snapshots over time "
                          "(set [output] density_interval in the simulation file)",
                          path=output.path)
    return name


def _snapshot_index(output: RunOutput, name: str, at_time: float | None, option: str) -> int:
    """The snapshot of 2D population `name` nearest to `at_time` (default: the last);
    a time outside the run, or far from the one snapshot of a run without
    density_interval, is an error."""
    times = output.populations[name].density_time
    if len(times) == 0:
        raise ConfigError(f"{option}: population '{name}' has no density snapshots (set "
                          "[output] density_interval in the simulation file)", path=output.path)
    if at_time is None:
        return len(times) - 1
    end = float(output.time[-1])
    # Half a step of slack: a time typed as the end of the run may round past it.
    if not (-output.dt / 2 <= at_time <= end + output.dt / 2):
        raise ConfigError(f"--time {at_time:g} s is outside the run (0 to {end:.6g} s)",
                          path=output.path)
    index = int(np.argmin(np.abs(times - at_time)))
    if len(times) == 1 and abs(times[0] - at_time) > output.dt / 2:
        raise ConfigError(f"--time {at_time:g} s: the run recorded only the density at "
                          f"t = {times[0]:.6g} s (set [output] density_interval in the "
                          "simulation file for snapshots over time)", path=output.path)
    return index


def raster_selection(pop: PopulationOutput, max_neurons: int = RASTER_MAX_NEURONS):
    """(spike times, neuron ids, stride) of every stride-th neuron, at most
    `max_neurons` of them."""
    stride = max(1, math.ceil(pop.n_neurons / max_neurons))
    keep = pop.spike_ids % stride == 0
    return pop.spike_times[keep], pop.spike_ids[keep], stride
