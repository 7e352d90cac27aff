"""What the options of `miind analyze` select in a `miind run` output: the time
window, the populations (checked, with errors that name the option and list what
there is), the density snapshot nearest to --time, and the neurons a raster draws.
"""

from __future__ import annotations

import math

import numpy as np

from meshgen.errors import ConfigError

from meshgen.formats.run_output_reader import PopulationOutput, RunOutput

# At most this many neurons of a population are drawn in a raster (chosen evenly).
RASTER_MAX_NEURONS = 2000


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


def select_density(output: RunOutput, population: str | None, at_time: float | None,
                   log: bool = False) -> tuple[str, int]:
    """The population and snapshot index of --density (select_snapshot); --log needs a
    2D population."""
    name, index = select_snapshot(output, population, at_time)
    if log and not output.populations[name].two_dimensional:
        raise ConfigError(f"--log: population '{name}' is one-dimensional; the log "
                          "colour scale is for 2D densities", path=output.path)
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
