"""`miind steady` (solver.steady): the explicit one-step operator of a 1D population is
the kernel's step, column for column; its stationary state is the one a long run
settles to; a recurrent network's rates are self-consistent and match the run."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from meshgen.formats.mesh_artifact import read_mesh
from solver import kernels_1d
from solver.assembly import build_simulation
from solver.sim_file import read_simulation_file
from solver.steady import steady_state
from solver.step_operator_1d import poisson_weights, reachable_states, step_operator
from tests.support.studies import lif_density_run, write_lif_files

CASES = {
    # MIIND's public case: no refractory period (resets placed at once, mid-cell).
    "public": dict(inputs=((1.0, 1000.0),)),
    # Refractory 3 ms through the queue, excitation and inhibition.
    "refractory": dict(inputs=((1.0, 1200.0), (-1.0, 300.0)), refractory=0.003, lowest=-75.0),
    # Jumps every second mesh step: entry gaps carried through a block.
    "jump interval 2": dict(inputs=((1.0, 1000.0),), mesh_overrides=["mesh.jump_interval=2"]),
}


def kernel_step(simulation, x):
    """One network step of the kernel from the logical state x = [cells; queue]."""
    network = simulation.populations[0].network
    mesh, state = network.mesh, network.state
    artifact = network.artifacts[0]
    n, gaps = artifact.n_cells, len(artifact.gap_entry_cell)
    state.pop_step[:] = 0
    state.mass[:] = 0.0
    kernels_1d.scatter_logical(mesh, np.r_[x[:n], np.zeros(gaps)], 0, 0, state.mass)
    state.refractory_queue[0, :] = x[n:]
    simulation.populations[0].advance(0, 1)
    step = int(state.pop_step[0])
    cells = np.zeros(n + gaps)
    kernels_1d.gather_logical(mesh, state.mass, 0, step, cells)
    return np.r_[cells[:n], np.roll(state.refractory_queue[0], -step)], \
        simulation.populations[0].rate[0, 0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_operator_is_the_kernels_step(tmp_path, case):
    options = dict(CASES[case])
    overrides = options.pop("mesh_overrides", [])
    model, simulation_file = write_lif_files(tmp_path, t_end=1e-3, **options)
    from meshgen.build import build_mesh
    build_mesh(model, tmp_path / "mesh.h5", overrides)
    simulation = build_simulation(read_simulation_file(simulation_file))
    network = simulation.populations[0].network
    artifact = network.artifacts[0]
    rates = {artifact.transitions.index(artifact.transition_for(h)): rate
             for h, rate in options["inputs"]}
    operator = step_operator(artifact, rates, network.dt)
    assert operator.matrix.shape[0] == artifact.n_cells + network.state.refractory_queue.shape[1]
    # Column sums 1: the operator conserves mass, queue included (but for the queue's
    # slot "due now", which the step before released: no state holds mass there).
    sums = np.asarray(operator.matrix.sum(axis=0)).ravel()
    np.testing.assert_allclose(np.delete(sums, artifact.n_cells), 1.0, rtol=0, atol=1e-13)
    assert sums[artifact.n_cells] == 0.0
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = rng.random(operator.matrix.shape[0])
        x[artifact.n_cells] = 0.0  # due now: released by the step before
        expected, rate = kernel_step(simulation, x)
        np.testing.assert_allclose(operator.matrix @ x, expected, rtol=0, atol=1e-13 * x.sum())
        assert operator.rate @ x == pytest.approx(rate, rel=1e-12)


@pytest.mark.parametrize("case", ["public", "refractory"])
def test_the_stationary_state_lives_where_the_reset_leads(tmp_path, case):
    """Solving on the states reachable from the reset gives the full solve's state.
    With only excitation, nothing below the reset can be reached (the public case: its
    lower strip, -70 to -65 mV); inhibition reaches down to the lowest cell."""
    from solver.steady import stationary

    options = dict(CASES[case])
    model, simulation_file = write_lif_files(tmp_path, t_end=1e-3, **options)
    from meshgen.build import build_mesh
    build_mesh(model, tmp_path / "mesh.h5")
    artifact = read_mesh(tmp_path / "mesh.h5")
    rates = {artifact.transitions.index(artifact.transition_for(h)): rate
             for h, rate in options["inputs"]}
    dt = artifact.dt
    full = step_operator(artifact, rates, dt)
    reduced = step_operator(artifact, rates, dt, reachable_states(artifact, rates))
    n = artifact.n_cells
    support = reduced.support
    cells = support[support < n]
    below_reset = artifact.upper <= artifact.reset_potential
    if case == "public":
        assert not np.any(np.isin(np.flatnonzero(below_reset), cells))
        assert len(cells) == np.count_nonzero(~below_reset)
    else:
        assert len(cells) == n
    # The support is closed: nothing in it flows out of it.
    outside = np.setdiff1d(np.arange(full.matrix.shape[0]), support)
    assert full.matrix[outside][:, support].nnz == 0
    expected = stationary(full.matrix, ("NATURAL", "COLAMD"))
    found = np.zeros_like(expected)
    found[support] = stationary(reduced.matrix[support][:, support], ("MMD_AT_PLUS_A",))
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-13)
    assert reduced.rate @ found == pytest.approx(full.rate @ expected, rel=1e-12)


@pytest.mark.parametrize("expected", [1e-4, 0.068, 3.35, 40.0])
def test_python_poisson_weights_are_the_kernels(expected):
    weights = np.zeros(kernels_1d.MAX_POISSON_TERMS)
    count = kernels_1d.poisson_weights(expected, weights)
    assert poisson_weights(expected) == weights[:count].tolist()


@pytest.mark.parametrize("case", ["public", "refractory"])
def test_the_stationary_rate_is_where_a_long_run_settles(tmp_path, case):
    """Against the mean over 1-2 s of a 2 s run on the same mesh: the same to 1e-9."""
    options = dict(CASES[case])
    run = lif_density_run(tmp_path, t_end=2.0, **options)
    settled = run.rate[run.time > 1.0].mean()
    spec = read_simulation_file(tmp_path / "sim.toml")
    result = steady_state(spec)
    state = result.populations[0]
    assert result.converged and result.iterations == 1
    assert state.rate == pytest.approx(settled, rel=1e-9)
    assert state.mean_v == pytest.approx(run.mean_v[run.time > 1.0].mean(), rel=1e-9)
    assert state.mass.min() > -1e-12
    assert state.mass.sum() + state.refractory_mass == pytest.approx(1.0, abs=1e-12)
    if case == "refractory":
        # Rate x refractory period is the mass waiting at the reset.
        assert state.refractory_mass == pytest.approx(state.rate * 0.003, rel=0.02)


E_I_NETWORK = """
[simulation]
t_end = {t_end}
[[population]]
name = "e"
mesh = "mesh.h5"
[[population]]
name = "i"
mesh = "mesh.h5"
[[input]]
name = "bg"
rate = 800.0
[[connection]]
source = "bg"
target = "e"
efficacy = 1.0
[[connection]]
source = "bg"
target = "i"
efficacy = 1.0
[[connection]]
source = "e"
target = "e"
efficacy = 1.0
n_connections = 10
delay = 0.002
[[connection]]
source = "e"
target = "i"
efficacy = 1.0
n_connections = 20
delay = 0.001
[[connection]]
source = "i"
target = "e"
efficacy = -1.0
n_connections = 15
delay = 0.0015
"""


def test_a_recurrent_network_has_self_consistent_rates(tmp_path):
    """E-I populations with delays: the solved rates are a fixed point, and a 3 s run
    settles to them (mean over 1.5-3 s) within 0.1%."""
    from meshgen.build import build_mesh
    from solver.engine import run_simulation

    model, _ = write_lif_files(tmp_path, inputs=((1.0, 1.0), (-1.0, 1.0)), t_end=1.0,
                               lowest=-75.0, refractory=0.002)
    build_mesh(model, tmp_path / "mesh.h5")
    (tmp_path / "net.toml").write_text(E_I_NETWORK.format(t_end=3.0))
    result = steady_state(read_simulation_file(tmp_path / "net.toml"))
    assert result.converged and result.residual < 1e-8
    rates = {p.name: p.rate for p in result.populations}
    assert 1.0 < rates["e"] < rates["i"]
    run_simulation(tmp_path / "net.toml", tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5") as f:
        time = f["time"][()]
        for name, rate in rates.items():
            settled = f[f"populations/{name}/rate"][()][time > 1.5].mean()
            assert rate == pytest.approx(settled, rel=1e-3), name


def test_the_state_is_read_as_a_run_output(tmp_path):
    from click.testing import CliRunner

    from miind_cli.cli import cli

    lif_density_run(tmp_path, t_end=0.01)
    runner = CliRunner()
    result = runner.invoke(cli, ["steady", str(tmp_path / "sim.toml"), "-o",
                                 str(tmp_path / "steady.h5")])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)["populations"]["p"]
    summary = runner.invoke(cli, ["analyze", str(tmp_path / "steady.h5"), "--summary"])
    assert summary.exit_code == 0, summary.output
    assert json.loads(summary.stdout)["populations"]["p"]["mean_rate"] == printed["rate"]
    with h5py.File(tmp_path / "steady.h5") as f:
        assert f.attrs["solved_by"] == "steady"
        mass = f["populations/p/density/mass"][()]
    assert mass.shape == (1, read_mesh(tmp_path / "mesh.h5").n_cells)


GRID_MODEL = """
[model]
kind = "adex"
[model.spike]
refractory = 0.0005
[mesh]
method = "grid"
ranges = {{ v = [-80.0, -40.4], w = [-50.0, 280.0] }}
resolution = {{ v = 80, w = 20 }}
dt = 1e-4
efficacies = {{ v = [1.0], w = [20.0] }}
"""

GRID_SIMULATION = """
[simulation]
t_end = {t_end}
[[population]]
name = "g"
mesh = "mesh.h5"
initial = {{ v = -70.6, w = 0.0 }}
[[input]]
name = "drive"
rate = 2500.0
[[input]]
name = "wdrive"
rate = 300.0
[[connection]]
source = "drive"
target = "g"
efficacy = 1.0
dimension = "v"
[[connection]]
source = "wdrive"
target = "g"
efficacy = 20.0
dimension = "w"
"""


@pytest.fixture(scope="module")
def grid_files(tmp_path_factory):
    """An AdEx grid with a refractory queue of 5 steps and jumps along both variables,
    and a 2 s run of it."""
    from meshgen.build import build_mesh
    from solver.engine import run_simulation

    directory = tmp_path_factory.mktemp("grid")
    (directory / "model.toml").write_text(GRID_MODEL.format())
    build_mesh(directory / "model.toml", directory / "mesh.h5")
    (directory / "sim.toml").write_text(GRID_SIMULATION.format(t_end=2.0))
    run_simulation(directory / "sim.toml", directory / "out.h5")
    return directory


def test_the_2d_operator_is_the_kernels_step(grid_files):
    from solver.density_2d import Density2DPopulation
    from solver.step_operator_2d import csc, step_operator_2d

    artifact = read_mesh(grid_files / "mesh.h5")
    n = artifact.n_cells
    operator = step_operator_2d(artifact, {0: 2500.0, 1: 300.0}, artifact.dt)
    population = Density2DPopulation("g", artifact, np.array([0, 1]), 1, artifact.dt,
                                     input_rates=np.array([[2500.0], [300.0]]))
    slots = population.queue.shape[0]
    assert slots == 6
    reached = np.unique(csc(artifact.reset, n).indices)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = rng.random(operator.matrix.shape[0])
        population.mass[:] = x[:n]
        population.queue[:] = 0.0
        population.queued[:] = 0.0
        waiting = x[n:].reshape(slots - 1, len(reached))
        for d in range(slots - 1):  # slot d re-enters at the end of step d
            population.queue[(1 + d) % slots, reached] = waiting[d]
            population.queued[(1 + d) % slots] = waiting[d].sum()
        population.advance(0, 1)
        after = np.concatenate([population.mass] + [population.queue[(2 + d) % slots, reached]
                                                    for d in range(slots - 1)])
        np.testing.assert_allclose(operator.matrix @ x, after, rtol=0, atol=1e-13 * x.sum())
        assert operator.rate @ x == pytest.approx(population.rate[0], rel=1e-12)


def test_the_2d_stationary_state_is_where_a_long_run_settles(grid_files):
    result = steady_state(read_simulation_file(grid_files / "sim.toml"))
    state = result.populations[0]
    with h5py.File(grid_files / "out.h5") as f:
        settled = f["time"][()] > 1.0
        group = f["populations/g"]
        assert state.rate == pytest.approx(group["rate"][()][settled].mean(), rel=1e-9)
        for variable in ("v", "w"):
            assert state.means[variable] == pytest.approx(
                group[f"mean/{variable}"][()][settled].mean(), rel=1e-9)
    assert state.refractory_mass == pytest.approx(state.rate * 0.0005, rel=1e-9)
    assert state.mass.sum() + state.refractory_mass == pytest.approx(1.0, abs=1e-12)


def assert_same_state(found, exact, mass_tolerance: float) -> None:
    """An iterative solve's state against the LU's: rate to 1e-8, cells to
    `mass_tolerance`, refractory mass to 1e-7."""
    assert found.rate == pytest.approx(exact.rate, rel=1e-8)
    np.testing.assert_allclose(found.mass, exact.mass, rtol=0, atol=mass_tolerance)
    assert found.refractory_mass == pytest.approx(exact.refractory_mass, rel=1e-7, abs=1e-12)


def test_large_2d_operators_are_solved_iteratively_to_the_same_state(grid_files, monkeypatch):
    from solver import steady

    spec = read_simulation_file(grid_files / "sim.toml")
    direct = steady_state(spec).populations[0]
    monkeypatch.setattr(steady, "DIRECT_SOLVE_LIMIT_2D", 0)
    iterative = steady_state(spec).populations[0]
    assert_same_state(iterative, direct, mass_tolerance=1e-9)


def test_rates_that_do_not_settle_are_an_error_that_says_what_happened(tmp_path, monkeypatch):
    """Starved of evaluations, the iteration stops short: exit 6, the message gives the
    evaluations, the residual and the last rates, and no output is written."""
    from click.testing import CliRunner

    from meshgen.build import build_mesh
    from miind_cli.cli import cli
    from solver import steady

    model, _ = write_lif_files(tmp_path, inputs=((1.0, 1.0), (-1.0, 1.0)), t_end=1.0,
                               lowest=-75.0, refractory=0.002)
    build_mesh(model, tmp_path / "mesh.h5")
    (tmp_path / "net.toml").write_text(E_I_NETWORK.format(t_end=1.0))
    monkeypatch.setattr(steady, "DAMPED_ITERATIONS", 1)
    monkeypatch.setattr(steady, "MAX_EVALUATIONS", 2)
    result = CliRunner().invoke(cli, ["steady", str(tmp_path / "net.toml"), "-o",
                                      str(tmp_path / "out.h5")])
    assert result.exit_code == 6
    assert "no stationary state found" in result.stderr and "evaluations" in result.stderr
    assert json.loads(result.stdout)["converged"] is False
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("case", ["public", "refractory"])
def test_a_dense_1d_operator_is_solved_by_stepping_the_kernel(tmp_path, monkeypatch, case):
    """When the explicit jump operator would be too dense (Brunel's network), the
    kernel's own step is the operator of an LGMRES solve: the same state."""
    from solver import step_operator_1d

    options = dict(CASES[case])
    lif_density_run(tmp_path, t_end=0.01, **options)
    spec = read_simulation_file(tmp_path / "sim.toml")
    exact = steady_state(spec).populations[0]
    monkeypatch.setattr(step_operator_1d, "MAX_OPERATOR_ENTRIES", 0)
    stepped = steady_state(spec).populations[0]
    assert stepped.stepped and not exact.stepped
    assert_same_state(stepped, exact, mass_tolerance=1e-10)


def test_a_swinging_network_still_finds_its_fixed_point():
    """A strongly inhibited network's rate map, F(r) = 196 exp(-(r/70)^3) (F(0) = 196,
    silent at 196, slope -3 at its fixed point, as Brunel's state B on its mesh): plain
    iteration swings between 0 and 196 with a change that stays the same, and the hybrid
    method started there sees F flat; the damped iteration must shrink its step."""
    from solver.steady import self_consistent, tolerance

    def rates_map(r):
        return 196.0 * np.exp(-(np.maximum(r, 0.0) / 70.0) ** 3)

    start = np.zeros(2)
    rates, found, _ = self_consistent(lambda r: (rates_map(r), None), start, rates_map(start))
    assert np.max(np.abs(found - rates)) <= tolerance(found)
    expected = 70.0 * np.log(196.0 / 70.51595361) ** (1 / 3)  # r = F(r), by its inverse
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
