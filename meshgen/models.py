"""The neuron model library: built-in kinds and user-written equations.

Every model, built-in or custom, is a set of equations written as strings over
declared parameters, so one compiler (`expressions`) serves both and a built-in
kind is documented by the same text that defines it. Time is in seconds; each
variable has the unit its kind declares (mV for the integrate-and-fire family).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .errors import ConfigError
from .expressions import CompiledExpression, compile_expression, parse_equation


@dataclass(frozen=True)
class Parameter:
    default: float | None
    unit: str
    doc: str
    positive: bool = False


@dataclass(frozen=True)
class ModelKind:
    """A built-in model: its equations and documented parameter defaults."""

    name: str
    variables: tuple[str, ...]
    equations: tuple[str, ...]
    parameters: dict[str, Parameter]
    units: dict[str, str]
    spike: dict[str, float]
    reference: str
    doc: str


MODEL_KINDS: dict[str, ModelKind] = {}


def register(kind: ModelKind) -> ModelKind:
    if kind.name in MODEL_KINDS:
        raise ValueError(f"model kind {kind.name!r} is registered twice")
    if len(kind.equations) != len(kind.variables):
        raise ValueError(f"model kind {kind.name!r}: one equation per variable")
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
    """A model with its parameters resolved and its equations compiled."""

    kind: str
    variables: tuple[str, ...]
    equations: tuple[str, ...]
    parameters: dict[str, float]
    units: dict[str, str]
    threshold: float
    reset: dict[str, float | str]
    refractory: float
    derivatives: tuple[CompiledExpression, ...] = field(compare=False, repr=False)

    @property
    def dimension(self) -> int:
        return len(self.variables)

    def drift(self, *state):
        """The right-hand sides, vectorised over numpy arrays of each variable."""
        values = tuple(d.function(*state) for d in self.derivatives)
        return values[0] if len(values) == 1 else values

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
    spike = section["spike"]
    if kind_name == "custom":
        variables = tuple(section.get("variables") or ())
        equations = tuple(section.get("equations") or ())
        if not variables:
            raise ConfigError("a custom model declares its variables, e.g. variables = [\"v\"]",
                              path=path, key="model.variables")
        if len(equations) != len(variables):
            raise ConfigError(f"{len(variables)} variables need {len(variables)} equations, "
                              f"got {len(equations)}", path=path, key="model.equations")
        declared: dict[str, Parameter] = {}
        units = {v: section.get("units", {}).get(v, "mV" if v == "v" else "1") for v in variables}
        defaults_spike: dict[str, float] = {}
    else:
        kind = MODEL_KINDS[kind_name]
        for key in ("variables", "equations"):
            if section.get(key):
                raise ConfigError(f"only custom models set '{key}'; kind '{kind_name}' has "
                                  f"{list(getattr(kind, key))}", path=path, key=f"model.{key}")
        variables, equations = kind.variables, kind.equations
        declared = kind.parameters
        units = dict(kind.units)
        defaults_spike = kind.spike

    parameters = {name: p.default for name, p in declared.items()}
    for name, value in section["parameters"].items():
        if declared and name not in declared:
            import difflib
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
    derivatives = tuple(derivatives[order[v]] for v in variables)

    threshold = spike["threshold"] if spike["threshold"] is not None else defaults_spike.get("threshold")
    reset_value = spike["reset"] if spike["reset"] is not None else defaults_spike.get("reset")
    refractory = spike["refractory"] if spike["refractory"] is not None else defaults_spike.get(
        "refractory", 0.0)
    if threshold is None:
        raise ConfigError("missing required key", path=path, key="model.spike.threshold")
    if reset_value is None:
        raise ConfigError("missing required key", path=path, key="model.spike.reset")
    reset = dict(reset_value) if isinstance(reset_value, dict) else {variables[0]: reset_value}
    for variable, value in reset.items():
        key = f"model.spike.reset.{variable}"
        if variable not in variables:
            raise ConfigError(f"reset names unknown variable '{variable}' (variables: "
                              f"{', '.join(variables)})", path=path, key=key)
        if isinstance(value, str):
            try:
                if variable == variables[0]:
                    # The spiking variable is reset to a value: an expression of parameters.
                    reset[variable] = float(
                        compile_expression(value, (), parameters, key=key).function())
                else:
                    compile_expression(value, variables, parameters, key=key)
            except ConfigError as error:
                error.path = error.path or path
                raise
    v_reset = reset[variables[0]]
    if isinstance(v_reset, (int, float)) and not v_reset < threshold:
        raise ConfigError(f"reset ({v_reset}) must lie below the threshold ({threshold})",
                          path=path, key="model.spike.reset")
    if not (refractory >= 0 and math.isfinite(refractory)):
        raise ConfigError(f"must not be negative, got {refractory!r}", path=path,
                          key="model.spike.refractory")
    return NeuronModel(kind=kind_name, variables=tuple(variables), equations=tuple(equations),
                       parameters=parameters, units=units, threshold=float(threshold),
                       reset=reset, refractory=float(refractory), derivatives=derivatives)
