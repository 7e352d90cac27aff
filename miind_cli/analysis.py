"""Reading `miind run` outputs and turning them into rates, CSV and summaries."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from meshgen.errors import ArtifactError, ConfigError
from meshgen.stamped_file import open_stamped
from solver.output import FORMAT, FORMAT_VERSION


@dataclass(frozen=True)
class PopulationOutput:
    name: str
    unit: str
    variables: list[str]
    rate: np.ndarray
    mass: np.ndarray
    mean: dict[str, np.ndarray]
    density_time: np.ndarray
    density_mass: np.ndarray  # (k, n_cells)
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class RunOutput:
    path: str
    time: np.ndarray
    dt: float
    populations: dict[str, PopulationOutput]
    input_rates: dict[str, np.ndarray]


def read_output(path: str | Path) -> RunOutput:
    path = str(path)
    with open_stamped(path, FORMAT, FORMAT_VERSION, "`miind run` output",
                      "`miind run` on its simulation file") as f:
        try:
            populations = {}
            for name, group in f["populations"].items():
                density = group["density"]
                populations[name] = PopulationOutput(
                    name=name, unit=str(group.attrs["unit"]),
                    variables=json.loads(group.attrs["variables"]), rate=group["rate"][()],
                    mass=group["mass"][()], mean={k: v[()] for k, v in group["mean"].items()},
                    density_time=density["time"][()], density_mass=density["mass"][()],
                    lower=density["lower"][()], upper=density["upper"][()])
            inputs = {name: group["rate"][()] for name, group in f["inputs"].items()}
            return RunOutput(path=path, time=f["time"][()], dt=float(f.attrs["dt"]),
                             populations=populations, input_rates=inputs)
        except KeyError as exc:
            raise ArtifactError(f"output file is incomplete: missing {exc}", path=path) from None


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


def summarize(output: RunOutput, window: tuple[float, float] | None = None) -> dict:
    """Mean rate of each population over `window` (default: the second half)."""
    t = output.time
    if window is None:
        window = (float(t[-1]) / 2, float(t[-1]))
    # A step's rate belongs to the interval that ends at t; take the steps inside.
    selected = (t - output.dt / 2 >= window[0]) & (t - output.dt / 2 <= window[1])
    if not selected.any():
        raise ConfigError(f"--window {window[0]}:{window[1]} contains no time step "
                          f"(the run covers 0 to {t[-1]:.6g} s)")
    populations = {}
    for name, pop in output.populations.items():
        rate = pop.rate[selected]
        entry = {"mean_rate": float(rate.mean()), "min_rate": float(rate.min()),
                 "max_rate": float(rate.max()),
                 "final_mass": float(pop.mass[-1])}
        for variable, values in pop.mean.items():
            entry[f"mean_{variable}"] = float(values[selected].mean())
        populations[name] = entry
    return {"window": [window[0], window[1]], "units": {"rate": "Hz", "time": "s"},
            "populations": populations}


def write_rates_csv(output: RunOutput, stream: TextIO) -> None:
    names = list(output.populations)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["t"] + names)
    columns = [output.populations[n].rate for n in names]
    for i, t in enumerate(output.time):
        writer.writerow([f"{t:.9g}"] + [f"{c[i]:.9g}" for c in columns])


def select_snapshot(output: RunOutput, population: str | None,
                    at_time: float | None) -> tuple[str, int]:
    """The population (default: the first) and the index of its density snapshot
    nearest to `at_time` (default: the last)."""
    name = population or next(iter(output.populations))
    if name not in output.populations:
        raise ConfigError(f"--population: no population '{name}' (has: "
                          f"{', '.join(output.populations)})", path=output.path)
    times = output.populations[name].density_time
    if len(times) == 0:
        raise ConfigError("the output has no density snapshots", path=output.path)
    index = len(times) - 1 if at_time is None else int(np.argmin(np.abs(times - at_time)))
    return name, index
