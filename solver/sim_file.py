"""The simulation file read by `miind run`.

    [simulation]    t_end (s), dt (s, optional: the meshes' step)
    [[population]]  name, mesh (path relative to this file), initial = { v = ... } (a
                    number or a distribution such as "uniform(-70, -50)":
                    solver.distributions, placed by solver.initial_states),
                    method = "density" (default) or "direct"; a direct population has
                    n_neurons, seed, and a `model` file or a `mesh` whose model it uses;
                    optional record = [neuron ids] (state samples), integration_step (s)
    [[input]]       name, rate (Hz: a number, or an expression of t such as
                    "1000 + 500*(t > 0.5)")
    [[connection]]  source (input or population), target (population), efficacy,
                    n_connections (default 1), delay (s, default 0), dimension ("v"),
                    scheme ("auto", "jumps" or "diffusion": diffusion meshes only);
                    between two direct populations (spike-coupled, solver.spike_coupling)
                    also connectivity (NEST's rules, default "fixed_indegree" with
                    n_connections as the in-degree), probability, autapses, multapses,
                    seed, and efficacy and delay may be distributions ("normal(0.1,
                    0.01)", solver.distributions)
    [[gap_junction]] population (direct), conductance (1/s, added to dv/dt),
                    connectivity (default "all_to_all"; not one_to_one), n_connections,
                    probability, autapses, multapses, seed (solver.gap_junctions)
    [output]        density_interval (s): density snapshots (the final state is
                    always written)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from meshgen.errors import ConfigError
from meshgen.expressions import CompiledExpression, compile_expression
from meshgen.tomlconfig import (Field, Table, ValueProblem, anything, apply_overrides,
                                check_document, checked, integer, load_toml, number,
                                number_or_string, string)

from .connectivity import RULES
from .distributions import Distribution, parse_distribution


def _boolean(value):
    if not isinstance(value, bool):
        raise ValueProblem(f"expected true or false, got {value!r}")
    return value


def _seed(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueProblem(f"a seed is a whole number >= 0, got {value!r}")
    return value


def _number_or_distribution(value):
    if isinstance(value, str):
        return value  # parsed with the file's path and key in read_simulation_file
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueProblem(f"expected a number or a distribution such as \"normal(0.1, 0.01)\", "
                           f"got {value!r}")
    return float(value)


def _neuron_ids(value):
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                              and v >= 0 for v in value):
        raise ValueProblem(f"expected an array of neuron ids (whole numbers >= 0), got {value!r}")
    return value


def _initial_value(value, key):
    """A number as a float, a distribution as its text: the document stays plain data
    (run outputs hash it); read_simulation_file turns both into Distributions."""
    distribution = parse_distribution(value, key=key)
    return value if isinstance(value, str) else distribution.point


SIMULATION_LAYOUT = Table(fields={
    "simulation": Table(required=True, fields={
        "t_end": Field(number(positive=True), required=True, doc="simulated time (s)"),
        "dt": Field(number(positive=True), doc="network time step (s); default: the meshes' dt"),
        "comment": Field(anything, doc="free text"),
    }),
    "population": Table(array=True, fields={
        "name": Field(string(), required=True, doc="population name, used in outputs"),
        "mesh": Field(string(), doc="mesh artifact (path relative to this file)"),
        "initial": Table(free=_initial_value,
                         doc="initial state, e.g. { v = -65.0 } or { v = \"uniform(-70, -50)\" }"),
        "method": Field(string(choices=("density", "direct")), default="density",
                        doc="population density on a mesh, or direct simulation of neurons"),
        "model": Field(string(), doc="direct: model file (path relative to this file)"),
        "n_neurons": Field(integer(positive=True), doc="direct: number of neurons"),
        "seed": Field(integer(), default=0, doc="direct: random seed"),
        "record": Field(checked(_neuron_ids), default=[], doc="direct: neurons whose state "
                        "is sampled every step"),
        "integration_step": Field(number(positive=True),
                                  doc="direct: RK4 step (s); default: the simulation dt"),
    }),
    "input": Table(array=True, fields={
        "name": Field(string(), required=True, doc="input name"),
        "rate": Field(checked(number_or_string), required=True,
                      doc="Poisson rate (Hz): number or expression of t"),
    }),
    "connection": Table(array=True, fields={
        "source": Field(string(), required=True, doc="an input or population name"),
        "target": Field(string(), required=True, doc="a population name"),
        "efficacy": Field(checked(_number_or_distribution), required=True,
                          doc="jump size, in the unit of the variable; between direct "
                              "populations also a distribution, e.g. \"normal(0.1, 0.01)\""),
        "n_connections": Field(number(positive=True),
                               doc="number of connections (multiplies the source rate); "
                                   "between direct populations the in-degree of "
                                   "fixed_indegree (default 1)"),
        "delay": Field(checked(_number_or_distribution), default=0.0,
                       doc="transmission delay (s); between direct populations at least the "
                           "step, and also a distribution, e.g. \"uniform(1e-3, 2e-3)\""),
        "connectivity": Field(string(choices=RULES),
                              doc="between direct populations: NEST's rule (default "
                                  "fixed_indegree); rate-coupled connections are "
                                  "fixed_indegree only"),
        "probability": Field(number(), doc="pairwise_bernoulli: connection probability"),
        "autapses": Field(checked(_boolean), default=True,
                          doc="between direct populations: a neuron may connect to itself"),
        "multapses": Field(checked(_boolean), default=True,
                           doc="between direct populations: a pair may connect more than once"),
        "seed": Field(checked(_seed), default=0, doc="between direct populations: the draw of "
                                                 "synapses, efficacies and delays"),
        "dimension": Field(string(), default="v", doc="variable the jump moves"),
        "scheme": Field(string(choices=("auto", "jumps", "diffusion")), default="auto",
                        doc="into a diffusion mesh: 'jumps' (the exact master equation) or "
                            "'diffusion' (the diffusion limit); 'auto' picks by the efficacy "
                            "against the mesh's density scale (meshgen.diffusion_1d). Other "
                            "meshes take jumps only"),
    }),
    "gap_junction": Table(array=True, fields={
        "population": Field(string(), required=True, doc="a direct population"),
        "conductance": Field(number(nonnegative=True), required=True,
                             doc="g_gap (1/s): g_gap * sum_j (v_j - v_i) is added to dv/dt"),
        "connectivity": Field(string(choices=RULES), default="all_to_all",
                              doc="NEST's rule drawing the pairs (not one_to_one); the drawn "
                                  "graph is made symmetric (solver.gap_junctions)"),
        "n_connections": Field(number(positive=True), doc="fixed_indegree: the in-degree"),
        "probability": Field(number(), doc="pairwise_bernoulli: pair probability"),
        "autapses": Field(checked(_boolean), default=True,
                          doc="a neuron may be drawn as its own partner (couples nothing)"),
        "multapses": Field(checked(_boolean), default=True,
                           doc="fixed_indegree: a pair may be drawn more than once"),
        "seed": Field(checked(_seed), default=0, doc="the draw of the pairs"),
    }),
    "output": Table(fields={
        "density_interval": Field(number(positive=True), doc="density snapshot interval (s)"),
    }),
})


@dataclass(frozen=True)
class PopulationSpec:
    name: str
    mesh_path: str | None
    initial: dict[str, Distribution]  # the variables given: a number is a constant
    method: str = "density"
    model_path: str | None = None
    n_neurons: int = 0
    seed: int = 0
    record: tuple[int, ...] = ()
    integration_step: float | None = None

    @property
    def direct(self) -> bool:
        return self.method == "direct"


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
    scheme: str = "auto"
    # Between two direct populations (`spiking`), the synapses drawn by
    # solver.connectivity's rules; efficacy and delay above are then the means of
    # these distributions (constant ones for numbers).
    spiking: bool = False
    connectivity: str = "fixed_indegree"
    probability: float | None = None
    autapses: bool = True
    multapses: bool = True
    seed: int = 0
    efficacy_distribution: Distribution | None = None
    delay_distribution: Distribution | None = None


@dataclass(frozen=True)
class GapJunctionSpec:
    """A [[gap_junction]] (solver.gap_junctions): `conductance` in 1/s."""

    index: int
    population: str
    conductance: float
    connectivity: str = "all_to_all"
    n_connections: int | None = None
    probability: float | None = None
    autapses: bool = True
    multapses: bool = True
    seed: int = 0


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
    gap_junctions: tuple[GapJunctionSpec, ...] = ()


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
        key = f"population.{i}"
        mesh, model = entry["mesh"], entry["model"]
        if entry["method"] == "density":
            for option in ("model", "n_neurons", "integration_step"):
                if entry[option] is not None:
                    raise fail(f"'{option}' is for direct populations (method = \"direct\")",
                               f"{key}.{option}")
            if entry["record"]:
                raise fail("'record' is for direct populations (method = \"direct\")",
                           f"{key}.record")
            if mesh is None:
                raise fail("a density population needs a mesh artifact", f"{key}.mesh")
        else:
            if (mesh is None) == (model is None):
                raise fail("a direct population names either a model file or a mesh artifact "
                           "(whose model it uses)", f"{key}.model")
            if entry["n_neurons"] is None:
                raise fail("missing required key for a direct population", f"{key}.n_neurons")
            if any(r >= entry["n_neurons"] for r in entry["record"]):
                raise fail(f"recorded neuron ids must be below n_neurons = {entry['n_neurons']}",
                           f"{key}.record")
        populations.append(PopulationSpec(
            name=name, mesh_path=str(base / mesh) if mesh else None,
            initial={variable: parse_distribution(value)
                     for variable, value in entry["initial"].items()},
            method=entry["method"], model_path=str(base / model) if model else None,
            n_neurons=entry["n_neurons"] or 0, seed=entry["seed"], record=tuple(entry["record"]),
            integration_step=entry["integration_step"]))
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
    direct = {p.name for p in populations if p.direct}
    connections = []
    for i, entry in enumerate(document["connection"]):
        if entry["source"] not in names:
            raise fail(_unknown("source", entry["source"], list(names)), f"connection.{i}.source")
        if entry["target"] not in population_names:
            raise fail(_unknown("target population", entry["target"], population_names),
                       f"connection.{i}.target")
        spiking = entry["source"] in direct and entry["target"] in direct
        connections.append(_connection(i, entry, spiking, path))
    methods = {p.name: p.method for p in populations}
    gap_junctions = tuple(_gap_junction(i, entry, methods, path)
                          for i, entry in enumerate(document["gap_junction"]))
    sim = document["simulation"]
    return SimulationSpec(path=path, document=document, t_end=sim["t_end"], dt=sim["dt"],
                          populations=tuple(populations), inputs=tuple(inputs),
                          connections=tuple(connections),
                          density_interval=document["output"]["density_interval"],
                          gap_junctions=gap_junctions)


def _connection(i: int, entry: dict, spiking: bool, path: str) -> ConnectionSpec:
    """One [[connection]], its keys checked against what its kind of coupling takes."""
    def fail(message, key):
        return ConfigError(message, path=path, key=f"connection.{i}.{key}")

    efficacy = parse_distribution(entry["efficacy"], path=path, key=f"connection.{i}.efficacy")
    delay = parse_distribution(entry["delay"], path=path, key=f"connection.{i}.delay")
    if efficacy.is_constant and efficacy.mean == 0:
        raise fail("an efficacy of 0 moves nothing", "efficacy")
    if delay.is_constant and delay.mean < 0:
        raise fail(f"a delay cannot be negative, got {delay.mean!r}", "delay")
    rule = entry["connectivity"] or "fixed_indegree"
    n_connections = entry["n_connections"]
    probability = entry["probability"]
    if spiking:
        _check_rule_keys(rule, n_connections, probability, fail)
    else:
        # Rates couple this connection: n_connections multiplies the source's rate, the
        # mean-field limit of fixed_indegree. autapses, multapses and seed change no rate
        # and are accepted, so a line keeps working when a population changes method.
        if rule != "fixed_indegree":
            raise fail(f"{rule} is for connections between two direct populations; rates "
                       "couple this one, by n_connections (fixed_indegree)", "connectivity")
        if probability is not None:
            raise fail("a probability is for connections between two direct populations",
                       "probability")
        for key, value in (("efficacy", efficacy), ("delay", delay)):
            if not value.is_constant:
                raise fail(f"a distribution ({value}) is for connections between two direct "
                           "populations; rates couple this one", key)
    return ConnectionSpec(
        index=i, source=entry["source"], target=entry["target"], efficacy=efficacy.mean,
        n_connections=1.0 if n_connections is None else n_connections, delay=delay.mean,
        dimension=entry["dimension"], scheme=entry["scheme"], spiking=spiking,
        connectivity=rule, probability=probability, autapses=entry["autapses"],
        multapses=entry["multapses"], seed=entry["seed"], efficacy_distribution=efficacy,
        delay_distribution=delay)


def _check_rule_keys(rule: str, n_connections, probability, fail) -> None:
    """The keys a drawn rule takes (connections between direct populations, gap
    junctions): an in-degree for fixed_indegree only, a probability for
    pairwise_bernoulli only. `fail(message, key)` makes the error."""
    if rule == "fixed_indegree" and n_connections is not None \
            and n_connections != int(n_connections):
        raise fail(f"n_connections is the in-degree of fixed_indegree, a whole number; got "
                   f"{n_connections!r}", "n_connections")
    if rule != "fixed_indegree" and n_connections is not None:
        raise fail(f"n_connections is the in-degree of fixed_indegree; {rule} does not "
                   "take it", "n_connections")
    if (probability is not None) != (rule == "pairwise_bernoulli"):
        raise fail("pairwise_bernoulli needs a probability" if probability is None else
                   f"a probability is for pairwise_bernoulli, not {rule}",
                   "connectivity" if probability is None else "probability")
    if probability is not None and not 0 <= probability <= 1:
        raise fail(f"a probability is a number in [0, 1], got {probability!r}", "probability")


def _gap_junction(i: int, entry: dict, methods: dict[str, str], path: str) -> GapJunctionSpec:
    """One [[gap_junction]], checked: a direct population, a drawn rule's keys."""
    def fail(message, key):
        return ConfigError(message, path=path, key=f"gap_junction.{i}.{key}")

    name = entry["population"]
    if name not in methods:
        raise fail(_unknown("population", name, list(methods)), "population")
    if methods[name] != "direct":
        raise fail(f"population '{name}' is a density population; gap junctions couple the "
                   "neurons of a direct one (method = \"direct\")", "population")
    rule = entry["connectivity"]
    n_connections, probability = entry["n_connections"], entry["probability"]
    if rule == "one_to_one":
        # Within one population one_to_one pairs each neuron with itself: v_i - v_i = 0.
        raise fail("one_to_one pairs each neuron with itself, which a gap junction does not "
                   "couple; use all_to_all, fixed_indegree or pairwise_bernoulli",
                   "connectivity")
    if rule == "fixed_indegree" and n_connections is None:
        raise fail("fixed_indegree needs n_connections (the in-degree)", "connectivity")
    _check_rule_keys(rule, n_connections, probability, fail)
    return GapJunctionSpec(
        index=i, population=name, conductance=entry["conductance"], connectivity=rule,
        n_connections=None if n_connections is None else int(n_connections),
        probability=probability, autapses=entry["autapses"], multapses=entry["multapses"],
        seed=entry["seed"])


def _unknown(what: str, name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {what} '{name}'{hint} (known: {', '.join(valid) or 'none'})"
