"""The simulation file read by `miind run`.

    [simulation]    t_end (s), dt (s, optional: the meshes' step)
    [[population]]  name, mesh (path relative to this file), initial = { v = ... }
    [[input]]       name, rate (Hz: a number, or an expression of t such as
                    "1000 + 500*(t > 0.5)")
    [[connection]]  source (input or population), target (population), efficacy,
                    n_connections (default 1), delay (s, default 0), dimension ("v")
    [output]        density_interval (s): density snapshots (the final state is
                    always written)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from meshgen.errors import ConfigError
from meshgen.expressions import CompiledExpression, compile_expression
from meshgen.tomlconfig import (Field, Table, anything, apply_overrides, check_document, checked,
                                load_toml, number, number_or_string, string)

SIMULATION_LAYOUT = Table(fields={
    "simulation": Table(required=True, fields={
        "t_end": Field(number(positive=True), required=True, doc="simulated time (s)"),
        "dt": Field(number(positive=True), doc="network time step (s); default: the meshes' dt"),
        "comment": Field(anything, doc="free text"),
    }),
    "population": Table(array=True, fields={
        "name": Field(string(), required=True, doc="population name, used in outputs"),
        "mesh": Field(string(), required=True, doc="mesh artifact (path relative to this file)"),
        "initial": Table(free=number(), doc="initial state, e.g. { v = -65.0 }"),
    }),
    "input": Table(array=True, fields={
        "name": Field(string(), required=True, doc="input name"),
        "rate": Field(checked(number_or_string), required=True,
                      doc="Poisson rate (Hz): number or expression of t"),
    }),
    "connection": Table(array=True, fields={
        "source": Field(string(), required=True, doc="an input or population name"),
        "target": Field(string(), required=True, doc="a population name"),
        "efficacy": Field(number(), required=True, doc="jump size, in the unit of the variable"),
        "n_connections": Field(number(positive=True), default=1.0,
                               doc="number of connections (multiplies the source rate)"),
        "delay": Field(number(nonnegative=True), default=0.0, doc="transmission delay (s)"),
        "dimension": Field(string(), default="v", doc="variable the jump moves"),
    }),
    "output": Table(fields={
        "density_interval": Field(number(positive=True), doc="density snapshot interval (s)"),
    }),
})


@dataclass(frozen=True)
class PopulationSpec:
    name: str
    mesh_path: str
    initial: dict


@dataclass(frozen=True)
class InputSpec:
    name: str
    rate: float | CompiledExpression


@dataclass(frozen=True)
class ConnectionSpec:
    index: int
    source: str
    target: str
    efficacy: float
    n_connections: float
    delay: float
    dimension: str


@dataclass(frozen=True)
class SimulationSpec:
    path: str
    document: dict
    t_end: float
    dt: float | None
    populations: tuple[PopulationSpec, ...]
    inputs: tuple[InputSpec, ...]
    connections: tuple[ConnectionSpec, ...]
    density_interval: float | None


def read_simulation_file(path: str | Path, overrides: list[str] = ()) -> SimulationSpec:
    path = str(path)
    raw = apply_overrides(load_toml(path), list(overrides), path)
    document = check_document(raw, SIMULATION_LAYOUT, path)
    base = Path(path).resolve().parent

    def fail(message, key):
        return ConfigError(message, path=path, key=key)

    populations = []
    names: dict[str, str] = {}
    for i, entry in enumerate(document["population"]):
        name = entry["name"]
        if name in names:
            raise fail(f"name '{name}' is already used by {names[name]}", f"population.{i}.name")
        names[name] = "a population"
        populations.append(PopulationSpec(name=name, mesh_path=str(base / entry["mesh"]),
                                          initial=entry["initial"]))
    if not populations:
        raise fail("the simulation has no [[population]]", "population")
    inputs = []
    for i, entry in enumerate(document["input"]):
        name = entry["name"]
        if name in names:
            raise fail(f"name '{name}' is already used by {names[name]}", f"input.{i}.name")
        names[name] = "an input"
        rate = entry["rate"]
        if isinstance(rate, str):
            try:
                rate = compile_expression(rate, ("t",), {}, key=f"input.{i}.rate")
            except ConfigError as error:
                error.path = path
                raise
        elif rate < 0:
            raise fail(f"a rate cannot be negative, got {rate}", f"input.{i}.rate")
        inputs.append(InputSpec(name=name, rate=rate))
    population_names = [p.name for p in populations]
    connections = []
    for i, entry in enumerate(document["connection"]):
        if entry["source"] not in names:
            raise fail(_unknown("source", entry["source"], list(names)), f"connection.{i}.source")
        if entry["target"] not in population_names:
            raise fail(_unknown("target population", entry["target"], population_names),
                       f"connection.{i}.target")
        if entry["efficacy"] == 0:
            raise fail("an efficacy of 0 moves nothing", f"connection.{i}.efficacy")
        connections.append(ConnectionSpec(index=i, **{k: entry[k] for k in (
            "source", "target", "efficacy", "n_connections", "delay", "dimension")}))
    sim = document["simulation"]
    return SimulationSpec(path=path, document=document, t_end=sim["t_end"], dt=sim["dt"],
                          populations=tuple(populations), inputs=tuple(inputs),
                          connections=tuple(connections),
                          density_interval=document["output"]["density_interval"])


def _unknown(what: str, name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {what} '{name}'{hint} (known: {', '.join(valid) or 'none'})"
