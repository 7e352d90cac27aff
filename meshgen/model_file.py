"""The model file read by `miind mesh` (and by direct simulation later).

    [model]            kind: a built-in kind (see docs/models.md) or "custom"
                       variables, equations   (custom only)
                       units = { v = "mV" }   (custom only, optional)
    [model.parameters] name = value, ...
    [model.spike]      threshold, reset (a value of v, or a table per variable whose
                       other entries may be expressions of the state: w = "w + b"),
                       refractory (s); left out: a model without spikes
    [mesh]             v_range = [lowest, threshold], efficacies = [...], dt (s, optional),
                       cells_per_efficacy (optional accuracy knob, see meshgen.strips)
    [mesh] (grids)     method = "grid", ranges = { v = [lo, threshold], w = [lo, hi] },
                       resolution = { v = N_v, w = N_w } (optional, per variable),
                       dt (s, optional), efficacies = [...] (jumps in v) or
                       { v = [...], w = [...] }; defaults: meshgen.grid_defaults
    [mesh] (2D strips) method = "strips" on a two-variable model: the same keys as a
                       grid; resolution is the target cell size (meshgen.strips2d)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .models import MODEL_KINDS, NeuronModel, build_model
from .tomlconfig import (Field, Table, anything, apply_overrides, check_document, checked,
                         integer, load_toml, number, number_list, number_or_string, string, string_list)

# Cells near threshold per smallest efficacy when [mesh] dt is not given. Chosen by the
# convergence study in `make validate` (benchmarks/validate.py): see README, "Accuracy".
DEFAULT_CELLS_PER_EFFICACY = 10.0
# Mesh steps per application of the jump matrices (see meshgen.transitions). Same source.
DEFAULT_JUMP_INTERVAL = 1


def _reset(value, key):
    if isinstance(value, dict):
        return {k: checked(number_or_string)(v, f"{key}.{k}") for k, v in value.items()}
    return checked(number_or_string)(value, key)


def _efficacies(value, key):
    if isinstance(value, dict):
        return {k: number_list(min_length=1)(v, f"{key}.{k}") for k, v in value.items()}
    return number_list(min_length=1)(value, key)


MODEL_LAYOUT = Table(fields={
    "model": Table(required=True, fields={
        "kind": Field(string(choices=tuple(MODEL_KINDS) + ("custom",)), required=True,
                      doc="built-in model kind, or 'custom'"),
        "variables": Field(checked(string_list), doc="custom: the state variables"),
        "equations": Field(checked(string_list), doc="custom: 'dv/dt = ...' per variable"),
        "units": Table(free=string(), doc="custom: unit of each variable"),
        "parameters": Table(free=number(), doc="parameter values; built-ins have defaults"),
        "spike": Table(fields={
            "threshold": Field(number(), doc="spike threshold on the first variable"),
            "reset": Field(_reset, doc="reset value of the first variable: a number or an "
                                              "expression of parameters (or a table)"),
            "refractory": Field(number(nonnegative=True), doc="refractory period (s)"),
        }),
    }),
    "mesh": Table(required=True, fields={
        "method": Field(string(choices=("strips", "grid")), default="strips",
                        doc="'strips' (1D models) or 'grid' (2D models)"),
        "v_range": Field(number_list(length=2),
                         doc="strips: [lowest, threshold] of the mesh, in the unit of v"),
        "ranges": Table(free=number_list(length=2),
                        doc="grid: [lo, hi] of each variable; v's ends at the threshold"),
        "resolution": Table(free=integer(positive=True),
                            doc="grid: cells along each variable (optional: default from the "
                                "efficacies, see meshgen.grid_defaults)"),
        "efficacies": Field(_efficacies, required=True,
                            doc="jump sizes of the transition matrices to build (grid: a "
                                "list for jumps in v, or a table of lists per variable)"),
        "dt": Field(number(positive=True), doc="mesh time step (s); chosen automatically if absent"),
        "cells_per_efficacy": Field(number(positive=True), default=DEFAULT_CELLS_PER_EFFICACY,
                                    doc="accuracy target of the automatic dt"),
        "jump_interval": Field(integer(positive=True), default=DEFAULT_JUMP_INTERVAL,
                               doc="mesh steps per application of the jump matrices: 1 or even"),
        "max_cells": Field(checked(lambda v: int(number(positive=True)(v, "mesh.max_cells"))),
                           default=2_000_000, doc="refuse meshes larger than this"),
        "comment": Field(anything, doc="free text, kept in the artifact"),
    }),
})


@dataclass(frozen=True)
class MeshSettings:
    lowest: float
    efficacies: tuple[float, ...]
    dt: float | None
    cells_per_efficacy: float
    jump_interval: int
    max_cells: int


@dataclass(frozen=True)
class GridSettings:
    ranges: tuple[tuple[float, float], tuple[float, float]]  # in model variable order
    resolution: tuple[int | None, int | None]  # None: chosen by meshgen.grid_defaults
    dt: float | None  # None: chosen by meshgen.grid_defaults
    efficacies: tuple[tuple[str, float], ...]  # (variable, jump size)
    max_cells: int


@dataclass(frozen=True)
class ModelFile:
    path: str
    document: dict  # checked, overrides applied: what the artifact records and hashes
    model: NeuronModel
    mesh: MeshSettings | None  # strips (1D)
    grid: GridSettings | None = None  # [mesh] method = "grid" (2D)
    strips2d: GridSettings | None = None  # method = "strips" on a 2D model


def read_model(path: str | Path, overrides: list[str] = ()) -> NeuronModel:
    """Only the [model] of a model file: what a direct simulation needs ([mesh] may be
    absent)."""
    path = str(path)
    raw = apply_overrides(load_toml(path), list(overrides), path)
    layout = Table(fields={"model": MODEL_LAYOUT.fields["model"],
                           "mesh": Field(anything, doc="mesh settings, unused here")})
    document = check_document(raw, layout, path)
    return build_model(document["model"], path=path)


def model_from_definition(definition: dict, path: str | None = None) -> NeuronModel:
    """Rebuild a model from `NeuronModel.definition()` (as stored in mesh artifacts)."""
    section = {"kind": definition["kind"], "parameters": definition["parameters"],
               "spike": definition["spike"], "units": definition.get("units", {}),
               "variables": definition["variables"] if definition["kind"] == "custom" else None,
               "equations": definition["equations"] if definition["kind"] == "custom" else None}
    return build_model(section, path=path)


def read_model_file(path: str | Path, overrides: list[str] = ()) -> ModelFile:
    path = str(path)
    raw = apply_overrides(load_toml(path), list(overrides), path)
    document = check_document(raw, MODEL_LAYOUT, path)
    model = build_model(document["model"], path=path)
    mesh = document["mesh"]
    if mesh["method"] == "grid":
        return ModelFile(path=path, document=document, model=model, mesh=None,
                         grid=_grid_settings(model, mesh, path))
    if model.dimension == 2:
        return ModelFile(path=path, document=document, model=model, mesh=None,
                         strips2d=_grid_settings(model, mesh, path))
    if model.dimension != 1:
        raise ConfigError(f"model has {model.dimension} variables; strips mesh models of "
                          "one or two variables", path=path, key="model.variables")
    if mesh["v_range"] is None:
        raise ConfigError("missing required key", path=path, key="mesh.v_range")
    if isinstance(mesh["efficacies"], dict):
        raise ConfigError("expected an array of numbers (jumps in v)", path=path,
                          key="mesh.efficacies")
    lowest, top = mesh["v_range"]
    if abs(top - model.threshold) > 1e-9 * max(1.0, abs(model.threshold)):
        raise ConfigError(f"v_range must end at the threshold ({model.threshold}), got {top}",
                          path=path, key="mesh.v_range")
    reset = model.reset[model.variables[0]]
    if not lowest < model.threshold:
        raise ConfigError(f"v_range must start below the threshold, got {lowest}",
                          path=path, key="mesh.v_range")
    if isinstance(reset, (int, float)) and not lowest <= reset:
        raise ConfigError(f"v_range [{lowest}, {top}] does not contain the reset ({reset})",
                          path=path, key="mesh.v_range")
    if any(h == 0 for h in mesh["efficacies"]):
        raise ConfigError("an efficacy of 0 moves nothing", path=path, key="mesh.efficacies")
    if mesh["jump_interval"] != 1 and mesh["jump_interval"] % 2:
        raise ConfigError(f"must be 1 or even, got {mesh['jump_interval']}", path=path,
                          key="mesh.jump_interval")
    settings = MeshSettings(lowest=lowest, efficacies=tuple(dict.fromkeys(mesh["efficacies"])),
                            dt=mesh["dt"], cells_per_efficacy=mesh["cells_per_efficacy"],
                            jump_interval=mesh["jump_interval"],
                            max_cells=mesh["max_cells"])
    return ModelFile(path=path, document=document, model=model, mesh=settings)


def _grid_settings(model: NeuronModel, mesh: dict, path: str) -> GridSettings:
    """The settings of a 2D mesh, grid or strips (resolution: the target cells per
    variable, see meshgen.strips2d)."""
    variables = list(model.variables)
    if model.dimension != 2:
        raise ConfigError(f"the grid method needs a model with two variables, this one has "
                          f"{model.dimension}", path=path, key="mesh.method")
    for key in ("ranges", "resolution"):
        given = mesh[key] or {}
        for name in given:
            if name not in variables:
                raise ConfigError(f"the model has no variable '{name}' (variables: "
                                  f"{', '.join(variables)})", path=path, key=f"mesh.{key}.{name}")
    for name in variables:
        if name not in (mesh["ranges"] or {}):
            raise ConfigError(f"missing required key: the grid needs [lo, hi] of every variable "
                              f"({', '.join(variables)})", path=path, key=f"mesh.ranges.{name}")
    ranges = tuple(tuple(mesh["ranges"][name]) for name in variables)
    for name, (lo, hi) in zip(variables, ranges):
        if not lo < hi:
            raise ConfigError(f"range of {name} must have lo < hi, got [{lo}, {hi}]", path=path,
                              key=f"mesh.ranges.{name}")
    if model.spikes and not model.resets:
        # A 2D mesh's v range ends at the threshold, where mass fires and needs a reset
        # mapping; crossings that are only counted have nowhere to go.
        raise ConfigError(f"the {mesh['method']} method needs a reset with the threshold; model "
                          f"'{model.kind}' only counts its spikes (set [model.spike] reset, "
                          "or leave the threshold out)", path=path, key="model.spike.reset")
    _check_threshold_and_reset(model, ranges, path)
    given_resolution = mesh["resolution"] or {}
    resolution = tuple(given_resolution.get(name) for name in variables)
    for name, n in zip(variables, resolution):
        if n is not None and n < 2:
            raise ConfigError(f"must be at least 2, got {n}", path=path,
                              key=f"mesh.resolution.{name}")
    given = mesh["efficacies"]
    table = given if isinstance(given, dict) else {variables[0]: given}
    efficacies = []
    for name, sizes in table.items():
        if name not in variables:
            raise ConfigError(f"the model has no variable '{name}' (variables: "
                              f"{', '.join(variables)})", path=path, key=f"mesh.efficacies.{name}")
        if any(h == 0 for h in sizes):
            raise ConfigError("an efficacy of 0 moves nothing", path=path,
                              key=f"mesh.efficacies.{name}")
        efficacies += [(name, float(h)) for h in dict.fromkeys(sizes)]
    return GridSettings(ranges=ranges, resolution=resolution, dt=mesh["dt"],
                        efficacies=tuple(efficacies), max_cells=mesh["max_cells"])


def _check_threshold_and_reset(model: NeuronModel, ranges, path: str) -> None:
    """The grid's v axis ends at the threshold: mass that crosses its top fires (motion
    and jumps alike), so the two must be the same; and the reset of v must lie inside."""
    name = model.variables[0]
    (lo, top), (w_lo, w_hi) = ranges
    key = f"mesh.ranges.{name}"
    threshold = model.threshold
    if threshold is None:
        return
    if threshold <= lo:
        raise ConfigError(f"the threshold ({threshold}) lies below the range of {name} "
                          f"[{lo}, {top}]: the range must end at the threshold", path=path, key=key)
    if abs(top - threshold) > 1e-9 * max(1.0, abs(threshold)):
        raise ConfigError(f"the range of {name} must end at the threshold ({threshold}), got "
                          f"{top}: mass fires where it leaves the top of the grid", path=path,
                          key=key)
    if not model.resets:
        return
    w = np.linspace(w_lo, w_hi, 101)
    reset_v, _ = model.reset_state(np.full_like(w, threshold), w)
    outside = ~((reset_v >= lo) & (reset_v < top))
    if outside.any():
        value = float(reset_v[np.argmax(outside)])
        raise ConfigError(f"the range of {name} [{lo}, {top}] does not contain the reset "
                          f"({name} = {value:g}); it must lie inside", path=path, key=key)
