"""The neuron model library: built-in kinds and user-written equations.

Every model, built-in or custom, is a set of equations written as strings over
declared parameters, so one compiler (`expressions`) serves both and a built-in
kind is documented by the same text that defines it. Time is in seconds; each
variable has the unit its kind declares (mV for the integrate-and-fire family).
The one-variable kinds are registered here; the two- and three-variable kinds live
in `model_catalogue`, imported at the end of this module.

Spikes. A model has up to three spike rules, all about its first variable:
- `threshold`: an upward crossing of it is a spike. None: the model has no spikes
  (FitzHugh-Nagumo by default); its state is never reset.
- `reset`: a table of new values, one entry per variable that changes. Empty: spikes
  are only counted, the state flows on (Morris-Lecar, Hindmarsh-Rose); the spike
  itself is part of the dynamics. The first variable's reset is a number (or an
  expression of parameters, evaluated once); the others may be expressions of any
  variables and parameters (`w = "w + b"`). All entries are evaluated at once, from
  the state at the crossing, so their order does not matter.
- `refractory` (s): only meaningful with a reset.
A model with one variable must have a threshold and a reset (one autonomous variable
cannot turn round by itself, so it would spike at most once).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError
from .expressions import CompiledExpression, compile_expression, parse_equation

SPIKE_KEYS = ("threshold", "reset", "refractory")


@dataclass(frozen=True)
class Parameter:
    default: float | None
    unit: str
    doc: str
    positive: bool = False


@dataclass(frozen=True)
class ModelKind:
    """A built-in model: its equations and documented parameter defaults.

    `spike` holds the default spike rules (see the module doc): any of `threshold`
    (a number), `reset` (a number for the first variable, or a table variable ->
    number or expression) and `refractory` (s). A key left out means "none".
    """

    name: str
    variables: tuple[str, ...]
    equations: tuple[str, ...]
    parameters: dict[str, Parameter]
    units: dict[str, str]
    spike: dict
    reference: str
    doc: str


MODEL_KINDS: dict[str, ModelKind] = {}


def register(kind: ModelKind) -> ModelKind:
    """Add a built-in kind, after checking it is complete and consistent."""
    def fail(problem: str):
        raise ValueError(f"model kind {kind.name!r}: {problem}")

    if kind.name in MODEL_KINDS or kind.name == "custom":
        raise ValueError(f"model kind {kind.name!r} is registered twice")
    if len(kind.equations) != len(kind.variables):
        fail("one equation per variable")
    if len(set(kind.variables)) != len(kind.variables) or not 1 <= len(kind.variables) <= 3:
        fail(f"1 to 3 distinct variables, got {list(kind.variables)}")
    if set(kind.units) != set(kind.variables):
        fail(f"units for exactly the variables {list(kind.variables)}, got {list(kind.units)}")
    for name, parameter in kind.parameters.items():
        if not (isinstance(parameter, Parameter) and parameter.unit and parameter.doc):
            fail(f"parameter {name!r} needs a unit and a doc")
    if unknown := set(kind.spike) - set(SPIKE_KEYS):
        fail(f"unknown spike keys {sorted(unknown)} (valid: {', '.join(SPIKE_KEYS)})")
    if kind.spike.get("reset") is not None and kind.spike.get("threshold") is None:
        fail("a reset needs a threshold")
    if len(kind.variables) == 1 and (kind.spike.get("threshold") is None
                                     or kind.spike.get("reset") is None):
        fail("a one-variable kind needs a threshold and a reset")
    if not (kind.reference and kind.doc):
        fail("a reference (the source of every default) and a doc are required")
    MODEL_KINDS[kind.name] = kind
    return kind


register(ModelKind(
    name="lif",
    variables=("v",),
    equations=("dv/dt = (E_l - v)/tau",),
    parameters={
        "tau": Parameter(0.02, "s", "membrane time constant", positive=True),
        "E_l": Parameter(-70.0, "mV", "leak (resting) potential"),
    },
    units={"v": "mV"},
    spike={"threshold": -50.0, "reset": -70.0, "refractory": 0.002},
    reference="Lapicque 1907; defaults after Brunel 2000 (tau = 20 ms, refractory 2 ms)",
    doc="Leaky integrate-and-fire neuron.",
))

register(ModelKind(
    name="qif",
    variables=("v",),
    equations=("dv/dt = (v^2 + I)/tau",),
    parameters={
        "tau": Parameter(0.02, "s", "time constant", positive=True),
        "I": Parameter(1.0, "1", "constant drive (dimensionless); I > 0 fires without input"),
    },
    units={"v": "1"},
    spike={"threshold": 10.0, "reset": -10.0, "refractory": 0.0},
    reference="Ermentrout & Kopell 1986 (theta neuron normal form); dimensionless units as in "
              "Montbrio, Pazo & Roxin 2015",
    doc="Quadratic integrate-and-fire neuron in dimensionless units.",
))

register(ModelKind(
    name="eif",
    variables=("v",),
    equations=("dv/dt = (E_l - v + Delta_T*exp((v - V_T)/Delta_T))/tau",),
    parameters={
        "tau": Parameter(0.009367, "s", "membrane time constant C/g_L (281 pF / 30 nS)",
                         positive=True),
        "E_l": Parameter(-70.6, "mV", "leak potential"),
        "V_T": Parameter(-50.4, "mV", "threshold slope factor position"),
        "Delta_T": Parameter(2.0, "mV", "slope factor", positive=True),
    },
    units={"v": "mV"},
    spike={"threshold": -40.0, "reset": -70.6, "refractory": 0.0},
    reference="Fourcaud-Trocme et al. 2003; parameter values from Brette & Gerstner 2005 "
              "(AdEx without adaptation)",
    doc="Exponential integrate-and-fire neuron; `threshold` is the numerical cut-off.",
))


@dataclass(frozen=True)
class NeuronModel:
    """A model with its parameters resolved and its equations compiled.

    `threshold` is None for a model without spikes; `reset` is empty for a model
    whose spikes are only counted. `reset_functions` has one entry per variable: the
    compiled reset expression (a function of all variables, like `derivatives`; a
    constant one returns a scalar, to be broadcast) or None where the variable keeps
    its value. All None when there is no reset.
    """

    kind: str
    variables: tuple[str, ...]
    equations: tuple[str, ...]
    parameters: dict[str, float]
    units: dict[str, str]
    threshold: float | None
    reset: dict[str, float | str]
    refractory: float
    derivatives: tuple[CompiledExpression, ...] = field(compare=False, repr=False)
    reset_functions: tuple[CompiledExpression | None, ...] = field(compare=False, repr=False)

    @property
    def dimension(self) -> int:
        return len(self.variables)

    @property
    def spikes(self) -> bool:
        """Whether upward crossings of `threshold` by the first variable count as spikes."""
        return self.threshold is not None

    @property
    def resets(self) -> bool:
        """Whether a spike resets the state (else it is only counted)."""
        return bool(self.reset)

    def drift(self, *state):
        """The right-hand sides, vectorised over numpy arrays of each variable."""
        values = tuple(d.function(*state) for d in self.derivatives)
        return values[0] if len(values) == 1 else values

    def reset_state(self, *state) -> tuple:
        """The state just after a spike, from the state at the crossing (vectorised:
        every entry has the broadcast shape of `state`). Unchanged without a reset."""
        shape = np.broadcast(*state).shape
        return tuple(
            np.array(np.broadcast_to(value if f is None else f.function(*state), shape),
                     dtype=float)
            for value, f in zip(state, self.reset_functions))

    def definition(self) -> dict:
        """A plain-data description, stored in artifacts and hashed."""
        return {
            "kind": self.kind, "variables": list(self.variables), "equations": list(self.equations),
            "parameters": dict(self.parameters), "units": dict(self.units),
            "spike": {"threshold": self.threshold, "reset": dict(self.reset),
                      "refractory": self.refractory},
        }


def build_model(section: dict, path: str | None = None) -> NeuronModel:
    """Resolve a checked `[model]` table (see `model_file.MODEL_LAYOUT`)."""
    kind_name = section["kind"]
    spike = section.get("spike") or {}
    if kind_name == "custom":
        variables = tuple(section.get("variables") or ())
        equations = tuple(section.get("equations") or ())
        if not variables:
            raise ConfigError("a custom model declares its variables, e.g. variables = [\"v\"]",
                              path=path, key="model.variables")
        if len(set(variables)) != len(variables):
            raise ConfigError(f"variables must be distinct, got {list(variables)}", path=path,
                              key="model.variables")
        if len(equations) != len(variables):
            raise ConfigError(f"{len(variables)} variables need {len(variables)} equations, "
                              f"got {len(equations)}", path=path, key="model.equations")
        declared: dict[str, Parameter] = {}
        units = {v: section.get("units", {}).get(v, "mV" if v == "v" else "1") for v in variables}
        defaults_spike: dict = {}
    else:
        if kind_name not in MODEL_KINDS:
            raise ConfigError(f"unknown model kind '{kind_name}' (valid: "
                              f"{', '.join(list(MODEL_KINDS) + ['custom'])})", path=path,
                              key="model.kind")
        kind = MODEL_KINDS[kind_name]
        for key in ("variables", "equations"):
            if section.get(key):
                raise ConfigError(f"only custom models set '{key}'; kind '{kind_name}' has "
                                  f"{list(getattr(kind, key))}", path=path, key=f"model.{key}")
        variables, equations = kind.variables, kind.equations
        declared = kind.parameters
        units = dict(kind.units)
        defaults_spike = kind.spike

    parameters = _resolve_parameters(kind_name, declared, section.get("parameters") or {}, path)
    derivatives = _compile_equations(variables, equations, parameters, path)
    threshold, reset, reset_functions, refractory = _spike_rules(
        variables, parameters, spike, defaults_spike, path)
    return NeuronModel(kind=kind_name, variables=tuple(variables), equations=tuple(equations),
                       parameters=parameters, units=units, threshold=threshold,
                       reset=reset, refractory=refractory, derivatives=derivatives,
                       reset_functions=reset_functions)


def _resolve_parameters(kind_name: str, declared: dict[str, Parameter], given: dict,
                        path: str | None) -> dict[str, float]:
    parameters = {name: p.default for name, p in declared.items()}
    for name, value in given.items():
        if declared and name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"model '{kind_name}' has no parameter '{name}'{hint} "
                              f"(parameters: {', '.join(declared)})",
                              path=path, key=f"model.parameters.{name}")
        parameters[name] = value
    missing = [name for name, value in parameters.items() if value is None]
    if missing:
        raise ConfigError(f"missing parameters: {', '.join(missing)}", path=path,
                          key="model.parameters")
    for name, value in parameters.items():
        # A time constant (declared positive, or a custom parameter named tau...) must be > 0.
        must_be_positive = (declared[name].positive if name in declared
                            else name.lower().startswith("tau"))
        if must_be_positive and not value > 0:
            raise ConfigError(f"must be positive, got {value!r}", path=path,
                              key=f"model.parameters.{name}")
    return parameters


def _compile_equations(variables, equations, parameters, path) -> tuple[CompiledExpression, ...]:
    derivatives = []
    seen = []
    for index, text in enumerate(equations):
        key = f"model.equations.{index}"
        try:
            variable, rhs = parse_equation(text, key=key)
            if variable not in variables or variable in seen:
                raise ConfigError(f"equation for '{variable}' does not match the variables "
                                  f"{list(variables)} (one equation each, in order)", key=key)
            seen.append(variable)
            derivatives.append(compile_expression(rhs, variables, parameters, key=key))
        except ConfigError as error:
            error.path = error.path or path
            raise
    order = {v: i for i, v in enumerate(seen)}
    return tuple(derivatives[order[v]] for v in variables)


def _spike_rules(variables, parameters, spike: dict, defaults: dict, path):
    """Threshold, reset table, compiled resets and refractory period (see module doc).

    The file's values override the kind's defaults; a reset table is merged entry by
    entry, so `reset = -60` on an AdEx keeps its `w = "w + b"`."""
    first = variables[0]

    def given(key):
        value = spike.get(key)
        return defaults.get(key) if value is None else value

    def as_table(value):
        if value is None:
            return {}
        return dict(value) if isinstance(value, dict) else {first: value}

    threshold = given("threshold")
    reset = {**as_table(defaults.get("reset")), **as_table(spike.get("reset"))}
    refractory = given("refractory")
    refractory = 0.0 if refractory is None else refractory
    if threshold is None and (len(variables) == 1 or reset):
        # One variable cannot turn round by itself; a reset needs a crossing to fire it.
        raise ConfigError("missing required key" if len(variables) == 1 else
                          "a reset needs a threshold (leave out [model.spike] entirely for a "
                          "model without spikes)", path=path, key="model.spike.threshold")
    if not reset and len(variables) == 1:
        raise ConfigError("missing required key", path=path, key="model.spike.reset")
    for variable in reset:
        if variable not in variables:
            raise ConfigError(f"reset names unknown variable '{variable}' (variables: "
                              f"{', '.join(variables)})", path=path,
                              key=f"model.spike.reset.{variable}")
    if reset and first not in reset:
        raise ConfigError(f"a reset must set the spiking variable '{first}' (leave out the "
                          f"reset to only count spikes)", path=path, key="model.spike.reset")

    functions: dict[str, CompiledExpression] = {}
    for variable, value in reset.items():
        key = f"model.spike.reset.{variable}"
        try:
            if variable == first:
                # The spiking variable is reset to a value: an expression of parameters.
                reset[variable] = _reset_value(value, variables, parameters, key)
                functions[variable] = compile_expression(repr(reset[variable]), variables, {},
                                                         key=key)
            else:
                text = value if isinstance(value, str) else repr(float(value))
                functions[variable] = compile_expression(text, variables, parameters, key=key)
        except ConfigError as error:
            error.path = error.path or path
            raise
    if threshold is not None and not math.isfinite(threshold):
        raise ConfigError(f"expected a finite number, got {threshold!r}", path=path,
                          key="model.spike.threshold")
    if reset and not reset[first] < threshold:
        raise ConfigError(f"reset ({reset[first]}) must lie below the threshold ({threshold})",
                          path=path, key="model.spike.reset")
    if not (refractory >= 0 and math.isfinite(refractory)):
        raise ConfigError(f"must not be negative, got {refractory!r}", path=path,
                          key="model.spike.refractory")
    if refractory > 0 and not reset:
        raise ConfigError("a refractory period needs a reset (it holds the reset value)",
                          path=path, key="model.spike.refractory")
    return (None if threshold is None else float(threshold), reset,
            tuple(functions.get(v) for v in variables), float(refractory))


def _reset_value(value, variables, parameters, key) -> float:
    """The first variable's reset: a number, or an expression of parameters only (so that
    every spike re-enters at one value, which the mesh needs)."""
    if isinstance(value, str):
        try:
            function = compile_expression(value, (), parameters, key=key).function
        except ConfigError as of_parameters:
            try:
                compile_expression(value, variables, parameters, key=key)
            except ConfigError:
                raise of_parameters from None
            raise ConfigError(f"the reset of '{variables[0]}' must be a number or an expression "
                              f"of parameters, not of the state ({', '.join(variables)}): got "
                              f"{value!r}", key=key) from None
        try:
            value = function()
        except (ArithmeticError, ValueError) as exc:
            raise ConfigError(f"cannot evaluate {value!r}: {exc}", key=key) from None
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"expected a finite number, got {value!r}", key=key)
    return value


# The two- and three-variable kinds (registered on import).
from . import model_catalogue  # noqa: E402,F401  (import for its registrations)
