"""Density populations on 1D strip meshes: all of them in one network kernel
(solver.kernels_1d), which couples them step by step, as one population of the
protocol solver.population.Population (`names` lists them).

Building it checks everything that can be wrong before any kernel runs: time steps
that do not fit the meshes, efficacies with no transition matrix, initial states off
the mesh, negative or non-finite input rates.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from meshgen.cells import split_between_cells
from meshgen.errors import ConfigError
from meshgen.formats.mesh_artifact import Strips1DArtifact

from .backend import load_kernels
from .initial_states import initial_distributions, interval_mass
from .layout_1d import RANKED_SLOTS, Coupling, JumpRanks, Matrices, Mesh, State
from .population import Dataset, PopulationChecks, PopulationRecord, RateFeed
from .sim_file import InputSpec, SimulationSpec

# Relative slack when checking that the network step is a whole number of mesh steps.
STEP_RATIO_TOLERANCE = 1e-6


@dataclass
class Network:
    spec: SimulationSpec
    artifacts: tuple[Strips1DArtifact, ...]
    dt: float
    n_steps: int
    mesh: Mesh
    matrices: Matrices
    coupling: Coupling
    ranks: JumpRanks
    state: State
    input_rates: np.ndarray  # (n_inputs, n_steps) Hz
    work: np.ndarray
    lanes: np.ndarray  # (largest + 1, 4) scratch of solver.kernels_1d.apply_jumps_ranked


def build_network(spec: SimulationSpec, artifacts: tuple[Strips1DArtifact, ...],
                  positions=None) -> Network:
    """The kernel's arrays for the populations of `spec` (all on 1D strip meshes, whose
    `artifacts` are in the same order; `positions`: their places in the file, for the
    keys of error messages, by default their places in `spec`)."""
    dt = network_dt(spec, artifacts)
    n_steps = max(1, int(np.ceil(spec.t_end / dt - 1e-9)))
    substeps = np.array([int(round(dt / a.dt)) for a in artifacts], dtype=np.int64)
    mesh = _mesh_arrays(spec, artifacts, substeps)
    matrices, coupling = _coupling_arrays(spec, artifacts, dt)
    history = 2 + int(np.ceil(max([c.delay / dt for c in spec.connections], default=0.0)))
    queue = max(refractory_queue_length(a) for a in artifacts)
    positions = range(len(artifacts)) if positions is None else positions
    state = State(mass=_initial_mass(spec, artifacts, mesh, positions),
                  pop_step=np.zeros(len(artifacts), np.int64),
                  refractory_queue=np.zeros((len(artifacts), queue)),
                  rate_history=np.zeros((len(artifacts), history)))
    sizes = [a.n_cells + len(a.gap_entry_cell) for a in artifacts]
    return Network(spec=spec, artifacts=artifacts, dt=dt, n_steps=n_steps, mesh=mesh,
                   matrices=matrices, coupling=coupling, ranks=jump_ranks(sizes, matrices, coupling),
                   state=state, input_rates=input_rate_table(spec, dt, n_steps),
                   work=np.zeros((3, max(sizes))), lanes=np.zeros((max(sizes) + 1, 4)))


def refractory_queue_length(artifact: Strips1DArtifact) -> int:
    """Mesh steps the kernel's refractory ring spans for this mesh: the longest delay
    a crossing is scheduled with (refractory + half a jump block), rounded up, plus the
    split into two steps and the slot due now."""
    return 3 + int(np.ceil(artifact.refractory / artifact.dt + artifact.jump_interval / 2.0))


def density_1d_record(name: str, artifact: Strips1DArtifact, rate, mean, total_mass,
                      snapshot_times, snapshots, **attrs) -> PopulationRecord:
    """The output record of a 1D density population (`miind run`'s, and `miind steady`'s
    one-step state): per-step rate, mean v and mass, density snapshots over the cells;
    `attrs` are added to the group's."""
    variables = artifact.model["variables"]
    stacked = np.array(snapshots) if len(snapshots) else np.zeros((0, artifact.n_cells))
    datasets = {"rate": Dataset(rate, "Hz"),
                f"mean/{variables[0]}": Dataset(mean, artifact.unit),
                "mass": Dataset(total_mass, "1"),
                "density/time": Dataset(np.array(snapshot_times), "s"),
                "density/mass": Dataset(stacked, "1", compress=True),
                "density/lower": Dataset(artifact.lower, artifact.unit),
                "density/upper": Dataset(artifact.upper, artifact.unit)}
    group = {"method": "density", "variables": json.dumps(variables), "unit": artifact.unit,
             "mesh": artifact.path, "mesh_hash": artifact.input_hash, **attrs}
    return PopulationRecord(name, "density", rate, artifact.input_hash, datasets, {"": group})


def network_dt(spec: SimulationSpec, artifacts) -> float:
    """The network step: [simulation] dt, checked to be a whole number of every mesh's
    blocks (mesh dt x jump_interval), or that block when all meshes share it."""
    if spec.dt is None:
        steps = {a.dt * a.jump_interval for a in artifacts}
        reference = artifacts[0].dt * artifacts[0].jump_interval
        if any(abs(d - reference) > STEP_RATIO_TOLERANCE * reference for d in steps):
            listing = ", ".join(f"{p.name}: {a.dt:.6g} s" for p, a in zip(spec.populations, artifacts))
            raise ConfigError(f"the meshes have different time steps ({listing}); set dt to a "
                              "common multiple", path=spec.path, key="simulation.dt")
        return reference
    for population, artifact in zip(spec.populations, artifacts):
        ratio = spec.dt / (artifact.dt * artifact.jump_interval)
        if ratio < 1 - STEP_RATIO_TOLERANCE or abs(ratio - round(ratio)) > STEP_RATIO_TOLERANCE * ratio:
            raise ConfigError(f"dt = {spec.dt:.6g} s is not a whole multiple of the mesh step "
                              f"{artifact.dt * artifact.jump_interval:.6g} s of population "
                              f"'{population.name}' (dt x jump_interval)",
                              path=spec.path, key="simulation.dt")
    return spec.dt


def _mesh_arrays(spec, artifacts, substeps) -> Mesh:
    cell_offset = np.cumsum([0] + [a.n_cells for a in artifacts]).astype(np.int64)
    cell_strip, cell_position, first, length, terminal = [], [], [], [], []
    strip_offset, gap_offset, gap_entry = [0], [0], []
    reset_offset, reset_cells, reset_fractions = [0], [], []
    for p, artifact in enumerate(artifacts):
        base = cell_offset[p]
        strips_so_far = strip_offset[-1]
        strip_of = np.full(artifact.n_cells, -1, dtype=np.int64)
        position = np.zeros(artifact.n_cells, dtype=np.int64)
        for s, (f, n) in enumerate(zip(artifact.strip_first, artifact.strip_length)):
            strip_of[f:f + n] = strips_so_far + s
            position[f:f + n] = np.arange(n)
        cell_strip.append(strip_of)
        cell_position.append(position)
        first.append(artifact.strip_first + base)
        length.append(artifact.strip_length)
        terminal.append(np.where(artifact.strip_terminal < 0, -1, artifact.strip_terminal + base))
        strip_offset.append(strips_so_far + len(artifact.strip_first))
        gap_entry.append(artifact.gap_entry_cell + base)
        gap_offset.append(gap_offset[-1] + len(artifact.gap_entry_cell))
        reset_cells.append(artifact.reset_cells + base)
        reset_fractions.append(artifact.reset_fractions)
        reset_offset.append(reset_offset[-1] + len(artifact.reset_cells))
    as_int = lambda parts: np.concatenate(parts).astype(np.int64)  # noqa: E731
    stationary = [np.flatnonzero(strip_of < 0) + cell_offset[p] for p, strip_of in enumerate(cell_strip)]
    return Mesh(
        cell_offset=cell_offset, cell_strip=as_int(cell_strip),
        stationary_offset=np.cumsum([0] + [len(c) for c in stationary]).astype(np.int64),
        stationary_cells=as_int(stationary), cell_position=as_int(cell_position),
        centres=np.concatenate([a.centres for a in artifacts]),
        strip_first=as_int(first), strip_length=as_int(length), strip_terminal=as_int(terminal),
        pop_strip_offset=np.array(strip_offset, np.int64), gap_offset=np.array(gap_offset, np.int64),
        gap_entry_cell=as_int(gap_entry), reset_offset=np.array(reset_offset, np.int64),
        reset_cells=as_int(reset_cells), reset_fractions=np.concatenate(reset_fractions),
        reset_potential=np.array([a.reset_potential for a in artifacts]),
        refractory_steps=np.array([a.refractory / a.dt for a in artifacts]),
        substeps=substeps, jump_interval=np.array([a.jump_interval for a in artifacts], np.int64))


def _coupling_arrays(spec: SimulationSpec, artifacts, dt: float):
    pop_index = {p.name: i for i, p in enumerate(spec.populations)}
    input_index = {s.name: i for i, s in enumerate(spec.inputs)}
    matrices: list = []  # (population, transition)
    groups: dict[tuple[int, int], int] = {}
    conn = {k: [] for k in Coupling._fields if k.startswith("conn_")}
    for c in spec.connections:
        target = pop_index[c.target]
        artifact = artifacts[target]
        transition = artifact.transition_for(c.efficacy, c.dimension)
        if transition is None:
            dims = sorted({t.dimension for t in artifact.transitions})
            if c.dimension not in dims:
                raise ConfigError(f"population '{c.target}' has no variable '{c.dimension}' to "
                                  f"jump (mesh jumps: {', '.join(dims)})", path=spec.path,
                                  key=f"connection.{c.index}.dimension")
            have = ", ".join(f"{t.efficacy:g}" for t in artifact.transitions)
            raise ConfigError(f"mesh {artifact.path} has no transition matrix for efficacy "
                              f"{c.efficacy:g} (it has {have}); add it to [mesh] efficacies and "
                              "re-run `miind mesh`", path=spec.path, key=f"connection.{c.index}.efficacy")
        matrix_key = (target, artifact.transitions.index(transition))
        if matrix_key not in groups:
            groups[matrix_key] = len(groups)
            matrices.append((target, transition))
        conn["conn_group"].append(groups[matrix_key])
        conn["conn_source_pop"].append(pop_index.get(c.source, -1))
        conn["conn_source_input"].append(input_index.get(c.source, -1))
        conn["conn_count"].append(c.n_connections)
        # A population hears another (or itself) one step late at the earliest.
        conn["conn_delay"].append(max(c.delay / dt, 1.0))

    indptr_offset, indptr, indices, data, threshold_offset, threshold = [0], [], [], [], [], []
    data_so_far = 0
    threshold_so_far = 0
    for _, t in matrices:
        indptr.append(t.indptr + data_so_far)
        indptr_offset.append(indptr_offset[-1] + len(t.indptr))
        indices.append(t.indices)
        data.append(t.data)
        data_so_far += len(t.data)
        threshold_offset.append(threshold_so_far)
        threshold.append(t.threshold_fraction)
        threshold_so_far += len(t.threshold_fraction)
    cat_i = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
    cat_f = lambda parts: np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)  # noqa: E731
    packed = Matrices(indptr_offset=np.array(indptr_offset, np.int64), indptr=cat_i(indptr),
                      indices=cat_i(indices), data=cat_f(data),
                      threshold_offset=np.array(threshold_offset, np.int64),
                      threshold_fraction=cat_f(threshold))
    order = sorted(groups.items(), key=lambda item: item[1])
    coupling = Coupling(
        group_pop=np.array([key[0] for key, _ in order], np.int64),
        group_matrix=np.array([g for _, g in order], np.int64),
        conn_group=np.array(conn["conn_group"], np.int64),
        conn_source_pop=np.array(conn["conn_source_pop"], np.int64),
        conn_source_input=np.array(conn["conn_source_input"], np.int64),
        conn_count=np.array(conn["conn_count"], np.float64),
        conn_delay=np.array(conn["conn_delay"], np.float64))
    return packed, coupling


def jump_ranks(sizes: list[int], matrices: Matrices, coupling: Coupling) -> JumpRanks:
    """The populations' jumps in the form of solver.kernels_1d.apply_jumps_ranked, for
    those with one jump matrix whose cells (work buffers of `sizes`) can be ranked so
    that every jump goes to a higher rank or stays in its cell; the others get an
    empty range."""
    parts = {name: [] for name in ("cell", "theta", "diagonal", "slot_source", "slot_weight",
                                   "extra_count", "extra_source", "extra_weight")}
    pop_offset = [0]
    for pop, size in enumerate(sizes):
        groups = np.flatnonzero(coupling.group_pop == pop)
        ranked = None
        if len(groups) == 1:
            matrix = coupling.group_matrix[groups[0]]
            source, target, weight = _matrix_entries(size, matrix, matrices)
            stays = source == target
            diagonal = np.zeros(size)
            diagonal[source[stays]] = weight[stays]
            source, target, weight = source[~stays], target[~stays], weight[~stays]
            ranked = _forward_order(size, source, target)
        if ranked is None:
            pop_offset.append(pop_offset[-1])
            continue
        rank = np.empty(size, np.int64)
        rank[ranked] = np.arange(size)
        target, source = rank[target], rank[source]
        by_target = np.lexsort((source, target))
        target, source, weight = target[by_target], source[by_target], weight[by_target]
        place = np.arange(len(target)) - np.searchsorted(target, np.arange(size))[target]
        slot_source = np.full((size, RANKED_SLOTS), size, np.int64)  # row `size` of lanes is 0
        slot_weight = np.zeros((size, RANKED_SLOTS))
        in_slot = place < RANKED_SLOTS
        slot_source[target[in_slot], place[in_slot]] = source[in_slot]
        slot_weight[target[in_slot], place[in_slot]] = weight[in_slot]
        start = matrices.threshold_offset[matrix]
        parts["cell"].append(ranked)
        parts["theta"].append(matrices.threshold_fraction[start:start + size][ranked])
        parts["diagonal"].append(diagonal[ranked])
        parts["slot_source"].append(slot_source)
        parts["slot_weight"].append(slot_weight)
        parts["extra_count"].append(np.bincount(target[~in_slot], minlength=size))
        parts["extra_source"].append(source[~in_slot])
        parts["extra_weight"].append(weight[~in_slot])
        pop_offset.append(pop_offset[-1] + size)

    def joined(name, dtype, shape=(0,)):
        return np.concatenate(parts[name]).astype(dtype) if parts[name] else np.zeros(shape, dtype)

    extra_count = joined("extra_count", np.int64)
    return JumpRanks(
        pop_offset=np.array(pop_offset, np.int64), cell=joined("cell", np.int64),
        theta=joined("theta", np.float64), diagonal=joined("diagonal", np.float64),
        slot_source=joined("slot_source", np.int64, (0, RANKED_SLOTS)),
        slot_weight=joined("slot_weight", np.float64, (0, RANKED_SLOTS)),
        extra_offset=np.concatenate([[0], np.cumsum(extra_count)]).astype(np.int64),
        extra_source=joined("extra_source", np.int64), extra_weight=joined("extra_weight", np.float64))


def _matrix_entries(size: int, matrix: int, matrices: Matrices):
    """(source, target, weight) of every nonzero entry of a packed matrix."""
    pointer = matrices.indptr[matrices.indptr_offset[matrix]:matrices.indptr_offset[matrix + 1]]
    span = slice(pointer[0], pointer[-1])
    source = np.repeat(np.arange(size), np.diff(pointer))
    target, weight = matrices.indices[span], matrices.data[span]
    keep = weight != 0.0
    return source[keep], target[keep].astype(np.int64), weight[keep].astype(np.float64)


def _forward_order(size: int, source: np.ndarray, target: np.ndarray):
    """The cells in an order where every edge source -> target goes forward (Kahn's
    algorithm, lowest index first among the ready), or None if the edges have a cycle."""
    pending = np.bincount(target, minlength=size).tolist()
    by_source = np.argsort(source, kind="stable")
    starts = np.searchsorted(source[by_source], np.arange(size + 1)).tolist()
    targets = target[by_source].tolist()
    ready = [cell for cell in range(size) if pending[cell] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        cell = heapq.heappop(ready)
        order.append(cell)
        for k in range(starts[cell], starts[cell + 1]):
            t = targets[k]
            pending[t] -= 1
            if pending[t] == 0:
                heapq.heappush(ready, t)
    return np.array(order, np.int64) if len(order) == size else None


def _initial_mass(spec: SimulationSpec, artifacts, mesh: Mesh, positions) -> np.ndarray:
    """Unit mass per population at its initial v: a number split between the two cells
    around it, a distribution spread over the cells (solver.initial_states)."""
    mass = np.zeros(mesh.cell_offset[-1])
    for p, artifact in enumerate(artifacts):
        variables = artifact.model["variables"]
        prefix = f"population.{positions[p]}.initial"
        state = initial_distributions(spec.populations[p], variables,
                                      {variables[0]: artifact.reset_potential}, path=spec.path,
                                      key_prefix=prefix)
        key = f"{prefix}.{variables[0]}"
        where = f"the mesh [{artifact.lowest:g}, {artifact.threshold:g}]"
        v0 = state[variables[0]].point
        cells = mesh.cell_offset[p] + np.arange(artifact.n_cells)  # step 0: physical = logical
        if v0 is None:
            mass[cells] = interval_mass(state[variables[0]], artifact.lower, artifact.upper,
                                        f"in {where}", path=spec.path, key=key)
            continue
        if not artifact.lowest <= v0 <= artifact.threshold:
            raise ConfigError(f"initial v = {v0:g} lies outside {where}", path=spec.path, key=key)
        split, fractions = split_between_cells(artifact.lower, artifact.upper, v0)
        mass[cells[split]] += fractions
    return mass


def input_rate_table(spec: SimulationSpec, dt: float, n_steps: int) -> np.ndarray:
    """Each input's rate during each network step, evaluated at the step's midpoint."""
    times = (np.arange(n_steps) + 0.5) * dt
    table = np.zeros((max(1, len(spec.inputs)), n_steps))
    for i, source in enumerate(spec.inputs):
        if isinstance(source.rate, float):
            table[i] = source.rate
            continue
        with np.errstate(all="ignore"):
            values = np.asarray(source.rate.function(times), dtype=float) * np.ones_like(times)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            t = times[np.argmax(bad)]
            raise ConfigError(f"rate {source.rate.text!r} is {values[np.argmax(bad)]!r} at "
                              f"t = {t:.6g} s; rates must be finite and not negative",
                              path=spec.path, key=f"input.{i}.rate")
        table[i] = values
    return table


class Strips1DNetwork:
    """Every 1D density population of a simulation, advanced by one kernel call.

    Connections among them are read inside the kernel, step by step, with their delay
    (at least one step); the rest of the simulation reaches them through rows of the
    input table added for each connection from another kind of population (`feeds`)."""

    has_density: ClassVar[bool] = True

    def __init__(self, spec: SimulationSpec, members, artifacts, index: dict[str, int]):
        """`members`: the 1D populations' specs, `artifacts` their meshes; `index`:
        every population's position in the file."""
        names = {p.name for p in members}
        inputs = list(spec.inputs)
        connections = []
        pending = []
        for c in spec.connections:
            if c.target not in names:
                continue
            if c.source in index and c.source not in names:
                # From another kind of population: a virtual input whose rate row the
                # engine fills from that population's rates.
                virtual = f"__feed_{c.index}"
                pending.append((len(inputs), c))
                inputs.append(InputSpec(name=virtual, rate=0.0))
                connections.append(dataclasses.replace(c, source=virtual, delay=0.0))
            else:
                connections.append(c)
        view = dataclasses.replace(spec, populations=tuple(members), inputs=tuple(inputs),
                                   connections=tuple(connections))
        self.network = build_network(view, tuple(artifacts), [index[p.name] for p in members])
        self.names = tuple(p.name for p in members)
        self.feeds = [RateFeed(row, index[c.source], 1.0, max(c.delay / self.network.dt, 1.0))
                      for row, c in pending]
        self.input_rates = self.network.input_rates
        n = self.network.n_steps
        self.rate = np.zeros((len(members), n))
        self.total_mass = np.zeros((len(members), n))
        self.mean = np.zeros((len(members), n))
        self.snapshots: list[list[np.ndarray]] = [[] for _ in members]
        self._kernels = load_kernels()
        self.kernels = self._kernels.name

    @property
    def dt(self) -> float:
        return self.network.dt

    @property
    def n_steps(self) -> int:
        return self.network.n_steps

    def advance(self, first_step: int, n_steps: int) -> None:
        network = self.network
        self._kernels.advance_network(network.mesh, network.matrices, network.coupling,
                                      network.ranks, network.state, network.input_rates,
                                      first_step, n_steps, network.dt, self.rate,
                                      self.total_mass, self.mean, network.work, network.lanes)

    def rates(self) -> np.ndarray:
        return self.rate

    def snapshot(self) -> None:
        network = self.network
        for p, artifact in enumerate(network.artifacts):
            buffer = np.zeros(artifact.n_cells + len(artifact.gap_entry_cell))
            self._kernels.gather_logical(network.mesh, network.state.mass, p,
                                         int(network.state.pop_step[p]), buffer)
            self.snapshots[p].append(buffer[:artifact.n_cells].copy())

    def records(self, snapshot_times: list[float]) -> list[PopulationRecord]:
        return [density_1d_record(name, artifact, self.rate[p], self.mean[p],
                                  self.total_mass[p], snapshot_times, self.snapshots[p])
                for p, (name, artifact) in enumerate(zip(self.names, self.network.artifacts))]

    def checks(self, seconds: float) -> list[PopulationChecks]:
        # The 1D kernel does not account for clamped mass yet (issue 10's note).
        return [PopulationChecks() for _ in self.names]
