"""The model file read by `miind mesh` (and by direct simulation later).

    [model]            kind: a built-in kind (see docs/models.md) or "custom"
                       variables, equations   (custom only)
                       units = { v = "mV" }   (custom only, optional)
    [model.parameters] name = value, ...
    [model.spike]      threshold, reset (a value of v, or a table per variable whose
                       other entries may be expressions of the state: w = "w + b"),
                       refractory (s); left out: a model without spikes
    [mesh]             v_range = [lowest, threshold], efficacies = [...], dt (s, optional),
                       cells_per_efficacy (optional accuracy knob, see meshgen.strips_1d)
    [mesh] (grids)     method = "grid", ranges = { v = [lo, threshold], w = [lo, hi] },
                       resolution = { v = N_v, w = N_w } (optional, per variable),
                       dt (s, optional), efficacies = [...] (jumps in v) or
                       { v = [...], w = [...] }; defaults: meshgen.grid_defaults
    [mesh] (2D strips) method = "strips" on a two-variable model: the same keys as a
                       grid; resolution is the target cell size (meshgen.strips2d_tracing)
    [mesh] expected_input = [{ rate = Hz, efficacy = ..., dimension = "v" }, ...] (or
                       one table): the input the population is expected to receive.
                       With it, ranges (and a strip mesh's v_range) may be left out,
                       per variable: meshgen.exploration finds them; given ones are
                       checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .exploration import ExpectedInput
from .models import MODEL_KINDS, NeuronModel, build_model
from .tomlconfig import (Field, Table, anything, apply_overrides, check_document, checked,
                         integer, load_toml, number, number_list, number_or_string, string, string_list)

# 1D strips: cells near threshold per smallest efficacy when [mesh] dt is not given.
# Chosen by the convergence study in `make validate` (benchmarks/validate.py): see
# README, "Accuracy". (The 2D methods' own: grid_defaults.DEFAULT_CELLS_PER_EFFICACY_GRID,
# strips2d_tracing.DEFAULT_CELLS_PER_EFFICACY_2D_STRIPS.)
DEFAULT_CELLS_PER_EFFICACY_1D_STRIPS = 10.0
# Mesh steps per application of the jump matrices (see meshgen.transitions_1d). Same source.
DEFAULT_JUMP_INTERVAL = 1


def _reset(value, key):
    if isinstance(value, dict):
        return {k: checked(number_or_string)(v, f"{key}.{k}") for k, v in value.items()}
    return checked(number_or_string)(value, key)


EXPECTED_INPUT_KEYS = ("rate", "efficacy", "dimension")


def _expected_input(value, key) -> dict | list[dict]:
    """One table or an array of tables {rate (Hz, >= 0), efficacy (non-zero), dimension
    (a variable; default the first)}, returned in the form given (the document keeps
    it); the dimension is checked against the model by expected_inputs."""
    entries = [value] if isinstance(value, dict) else value
    if not isinstance(entries, list) or not entries or \
            not all(isinstance(e, dict) for e in entries):
        raise ConfigError("expected a table { rate = ..., efficacy = ... } or an array of them",
                          key=key)
    checked_entries = []
    for i, entry in enumerate(entries):
        where = key if isinstance(value, dict) else f"{key}.{i}"
        for name in entry:
            if name not in EXPECTED_INPUT_KEYS:
                raise ConfigError(f"unknown key '{name}' (valid keys: "
                                  f"{', '.join(EXPECTED_INPUT_KEYS)})", key=f"{where}.{name}")
        for name in ("rate", "efficacy"):
            if name not in entry:
                raise ConfigError("missing required key", key=f"{where}.{name}")
        rate = number(nonnegative=True)(entry["rate"], f"{where}.rate")
        efficacy = number()(entry["efficacy"], f"{where}.efficacy")
        if efficacy == 0:
            raise ConfigError("an efficacy of 0 moves nothing", key=f"{where}.efficacy")
        checked_entry = {"rate": rate, "efficacy": efficacy}
        if "dimension" in entry:
            checked_entry["dimension"] = string()(entry["dimension"], f"{where}.dimension")
        checked_entries.append(checked_entry)
    return checked_entries[0] if isinstance(value, dict) else checked_entries


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
        "method": Field(string(choices=("strips", "grid", "diffusion")), default="strips",
                        doc="'strips' (1D or 2D models), 'grid' (2D models) or 'diffusion' "
                            "(1D models under many small inputs, meshgen.diffusion_1d); left "
                            "out on a 1D model with expected_input, 'diffusion' when its "
                            "jumps are small against the density, else 'strips'"),
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
        "cells_per_efficacy": Field(number(positive=True), default=DEFAULT_CELLS_PER_EFFICACY_1D_STRIPS,
                                    doc="accuracy target of the automatic dt"),
        "jump_interval": Field(integer(positive=True), default=DEFAULT_JUMP_INTERVAL,
                               doc="mesh steps per application of the jump matrices: 1 or even"),
        "max_cells": Field(checked(lambda v: int(number(positive=True)(v, "mesh.max_cells"))),
                           default=2_000_000, doc="refuse meshes larger than this"),
        "expected_input": Field(_expected_input,
                                doc="the Poisson input the population is expected to get: "
                                    "{ rate = Hz, efficacy = ..., dimension = \"v\" } or an "
                                    "array of them; ranges left out are found from it "
                                    "(meshgen.exploration)"),
        "comment": Field(anything, doc="free text, kept in the artifact"),
    }),
})


@dataclass(frozen=True)
class MeshSettings:
    lowest: float | None  # None: found from expected_input (meshgen.exploration)
    efficacies: tuple[float, ...]
    dt: float | None
    cells_per_efficacy: float
    jump_interval: int
    max_cells: int
    expected_input: tuple[ExpectedInput, ...] = ()
    # "strips", "diffusion", or "auto" (method left out: meshgen.build chooses from
    # expected_input, meshgen.diffusion_1d.suits_diffusion).
    method: str = "strips"


@dataclass(frozen=True)
class GridSettings:
    # In model variable order; None: found from expected_input (meshgen.exploration).
    ranges: tuple[tuple[float, float] | None, tuple[float, float] | None]
    resolution: tuple[int | None, int | None]  # None: chosen by meshgen.grid_defaults
    dt: float | None  # None: chosen by meshgen.grid_defaults
    efficacies: tuple[tuple[str, float], ...]  # (variable, jump size)
    max_cells: int
    expected_input: tuple[ExpectedInput, ...] = ()

    @property
    def automatic_ranges(self) -> bool:
        return any(r is None for r in self.ranges)


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
    if mesh["method"] == "diffusion" and model.dimension != 1:
        raise ConfigError(f"the diffusion method needs a model with one variable, this one has "
                          f"{model.dimension}", path=path, key="mesh.method")
    if mesh["method"] == "grid":
        return ModelFile(path=path, document=document, model=model, mesh=None,
                         grid=_grid_settings(model, mesh, path))
    if model.dimension == 2:
        return ModelFile(path=path, document=document, model=model, mesh=None,
                         strips2d=_grid_settings(model, mesh, path))
    if model.dimension != 1:
        raise ConfigError(f"model has {model.dimension} variables; strips mesh models of "
                          "one or two variables", path=path, key="model.variables")
    expected = expected_inputs(mesh, model, path)
    if mesh["v_range"] is None and not expected:
        raise ConfigError("missing required key: give v_range = [lowest, threshold], or "
                          "[mesh] expected_input to find it", path=path, key="mesh.v_range")
    if isinstance(mesh["efficacies"], dict):
        raise ConfigError("expected an array of numbers (jumps in v)", path=path,
                          key="mesh.efficacies")
    lowest = None
    if mesh["v_range"] is not None:
        lowest, top = mesh["v_range"]
        check_v_range(model, lowest, top, path)
    if any(h == 0 for h in mesh["efficacies"]):
        raise ConfigError("an efficacy of 0 moves nothing", path=path, key="mesh.efficacies")
    if mesh["jump_interval"] != 1 and mesh["jump_interval"] % 2:
        raise ConfigError(f"must be 1 or even, got {mesh['jump_interval']}", path=path,
                          key="mesh.jump_interval")
    if mesh["method"] == "diffusion" and not expected:
        raise ConfigError("a diffusion mesh is sized by the input it will get: give [mesh] "
                          "expected_input", path=path, key="mesh.expected_input")
    given = "method" in (raw.get("mesh") or {})
    settings = MeshSettings(lowest=lowest, efficacies=tuple(dict.fromkeys(mesh["efficacies"])),
                            dt=mesh["dt"], cells_per_efficacy=mesh["cells_per_efficacy"],
                            jump_interval=mesh["jump_interval"],
                            max_cells=mesh["max_cells"], expected_input=expected,
                            method=mesh["method"] if given or not expected else "auto")
    return ModelFile(path=path, document=document, model=model, mesh=settings)


def check_v_range(model: NeuronModel, lowest: float, top: float, path: str | None) -> None:
    """A strip mesh's [lowest, top] must end at the threshold and hold the reset."""
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


def expected_inputs(mesh: dict, model: NeuronModel, path: str) -> tuple[ExpectedInput, ...]:
    """[mesh] expected_input as ExpectedInput, each dimension checked (default: v)."""
    given = mesh["expected_input"]
    if given is None:
        return ()
    found = []
    for i, entry in enumerate([given] if isinstance(given, dict) else given):
        dimension = entry.get("dimension", model.variables[0])
        if dimension not in model.variables:
            key = "mesh.expected_input" + ("" if isinstance(given, dict) else f".{i}")
            raise ConfigError(f"the model has no variable '{dimension}' (variables: "
                              f"{', '.join(model.variables)})", path=path,
                              key=f"{key}.dimension")
        found.append(ExpectedInput(entry["rate"], entry["efficacy"], dimension))
    return tuple(found)


def _grid_settings(model: NeuronModel, mesh: dict, path: str) -> GridSettings:
    """The settings of a 2D mesh, grid or strips (resolution: the target cells per
    variable, see meshgen.strips2d_tracing)."""
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
    expected = expected_inputs(mesh, model, path)
    for name in variables:
        if name not in (mesh["ranges"] or {}) and not expected:
            raise ConfigError(f"missing required key: the grid needs [lo, hi] of every variable "
                              f"({', '.join(variables)}), or [mesh] expected_input to find "
                              "them", path=path, key=f"mesh.ranges.{name}")
    given_ranges = mesh["ranges"] or {}
    ranges = tuple(tuple(given_ranges[name]) if name in given_ranges else None
                   for name in variables)
    for name, bounds in zip(variables, ranges):
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ConfigError(f"range of {name} must have lo < hi, got [{bounds[0]}, "
                              f"{bounds[1]}]", path=path, key=f"mesh.ranges.{name}")
    if model.spikes and not model.resets:
        # A 2D mesh's v range ends at the threshold, where mass fires and needs a reset
        # mapping; crossings that are only counted have nowhere to go.
        raise ConfigError(f"the {mesh['method']} method needs a reset with the threshold; model "
                          f"'{model.kind}' only counts its spikes (set [model.spike] reset, "
                          "or leave the threshold out)", path=path, key="model.spike.reset")
    if None not in ranges:
        check_threshold_and_reset(model, ranges, path)
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
                        efficacies=tuple(efficacies), max_cells=mesh["max_cells"],
                        expected_input=expected)


def check_threshold_and_reset(model: NeuronModel, ranges, path: str) -> None:
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
