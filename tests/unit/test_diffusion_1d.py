"""The 1D diffusion mesh (meshgen.diffusion_1d, solver.kernels_diffusion): the automatic
choice of method, the diffusion limit against the Siegert formula, exact jumps against
event-driven Monte Carlo, mass conservation, and `miind steady` against `miind run`."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from meshgen.build import build_mesh
from meshgen.errors import ArtifactError, ConfigError
from meshgen.formats.mesh_artifact import Diffusion1DArtifact, read_mesh
from solver.engine import run_simulation
from solver.sim_file import read_simulation_file
from solver.steady import steady_state
from tests.support.reference.event_driven_lif import lif_event_driven_rate
from tests.support.reference.siegert import lif_siegert_rate
from tests.support.studies import write_lif_files

# Brunel's (2000) LIF (mV, s) and the input of his state C at its rate, 37.8 Hz:
# 57.8 kHz of 0.1 mV and 9.45 kHz of -0.5 mV per neuron.
NEURON = dict(tau=0.02, E_l=0.0, threshold=20.0, reset=10.0, refractory=0.002)
STATE_C = ((0.1, 57_800.0), (-0.5, 9_450.0))

def expected_input(inputs) -> str:
    entries = ", ".join(f"{{ rate = {rate}, efficacy = {h} }}" for h, rate in inputs)
    return f"expected_input = [{entries}]"


def write_files(directory, inputs, mesh_lines="", t_end=0.1, schemes=None, **neuron):
    """Brunel's LIF on [-20, 20] mV (`mesh_lines` added to its [mesh]) and a
    simulation of it from v = 10 mV under `inputs` (tests.support.studies)."""
    return write_lif_files(directory, inputs=inputs, t_end=t_end, v0=10.0, schemes=schemes,
                           mesh_lines=mesh_lines, lowest=-20.0, **dict(NEURON, **neuron))


def test_the_input_chooses_the_method(tmp_path):
    """Brunel's input (sigma 5.4 mV, jumps of 0.1 and 0.5 mV) gets a diffusion mesh of a
    few hundred cells; the public case's (1 mV jumps, sigma 2.2 mV) keeps strips."""
    summary = build_mesh(write_files(tmp_path / "brunel", STATE_C, expected_input(STATE_C))[0],
                         tmp_path / "brunel.h5")
    assert summary.method == "diffusion"
    sigma = np.sqrt(0.5 * (57_800 * 0.01 + 9_450 * 0.25) * 0.02)
    assert summary.density_scale["sigma"] == pytest.approx(sigma)
    # Cells of sigma / 50 from -20 to 20 mV; a step of tau / 200.
    assert summary.n_cells == int(np.ceil(40.0 * 50 / sigma)) == 369
    assert summary.dt == pytest.approx(1e-4)
    artifact = read_mesh(tmp_path / "brunel.h5")
    assert isinstance(artifact, Diffusion1DArtifact)
    assert artifact.face_drift[-1] == pytest.approx(-20.0 / 0.02)
    public = ((1.0, 1000.0),)
    model, _ = write_lif_files(tmp_path / "public", inputs=public, t_end=1.0,
                               mesh_lines=expected_input(public))
    summary = build_mesh(model, tmp_path / "public.h5")
    assert summary.method is None and summary.n_strips >= 1
    # Asked for, a diffusion mesh is built whatever the jumps; jump_interval is for strips.
    summary = build_mesh(model, tmp_path / "forced.h5",
                         ["mesh.method=diffusion", "mesh.jump_interval=2"])
    assert summary.method == "diffusion" and summary.jump_interval == 1
    assert "applies to strips only" in summary.notes[0]


def test_a_diffusion_mesh_needs_the_expected_input(tmp_path):
    model, _ = write_files(tmp_path, STATE_C, 'method = "diffusion"')
    with pytest.raises(ConfigError) as error:
        build_mesh(model, tmp_path / "mesh.h5")
    assert error.value.key == "mesh.expected_input"
    assert not (tmp_path / "mesh.h5").exists()


def test_the_diffusion_limit_converges_to_siegert(tmp_path):
    """In the diffusion limit the stationary rate is the Siegert formula's, up to the
    mesh: cells of sigma / 50 are within 2e-4 (measured: -6.2e-5), and halving them
    divides the error by four (measured: 0.24; the flux is second order)."""
    inputs = ((0.1, 57_800.0), (-0.1, 47_250.0))  # sigma 5.4 mV, both jumps diffusing
    exact = lif_siegert_rate(NEURON["tau"], 0.0, 20.0, 10.0, NEURON["refractory"],
                             [h for h, _ in inputs], [r for _, r in inputs])
    errors = []
    for share in (1.0, 0.25):  # a quarter of the rate: sigma / 2, cells half as wide
        directory = tmp_path / str(share)
        expected = tuple((h, rate * share) for h, rate in inputs)
        model, simulation = write_files(directory, inputs,
                                        expected_input(expected) + '\nmethod = "diffusion"',
                                        schemes=("diffusion", "diffusion"))
        build_mesh(model, directory / "mesh.h5")
        spec = read_simulation_file(simulation)
        rate = steady_state(spec).populations[0].rate
        errors.append(rate / exact - 1.0)
    assert abs(errors[0]) < 2e-4
    assert abs(errors[1]) < 0.35 * abs(errors[0])


@pytest.mark.parametrize("refractory", [0.002, 0.0])
def test_steady_is_where_the_run_settles_and_mass_is_kept(tmp_path, refractory):
    """Also without a refractory period, which the kernel holds a step (and says so)."""
    model, simulation = write_files(tmp_path, STATE_C, expected_input(STATE_C), t_end=0.4,
                                    schemes=("auto", "jumps"), refractory=refractory)
    build_mesh(model, tmp_path / "mesh.h5")
    run = run_simulation(simulation, tmp_path / "out.h5")
    steady = steady_state(read_simulation_file(simulation)).populations[0]
    with h5py.File(tmp_path / "out.h5") as f:
        group = f["populations/p"]
        assert group.attrs["schemes"] == "diffusion,jumps"
        mass, rate = group["mass"][()], group["rate"][()]
        final = group["density/mass"][-1]
        mean = group["mean/v"][-1]
    np.testing.assert_allclose(mass, 1.0, rtol=0, atol=1e-12)
    assert rate[-1] == pytest.approx(steady.rate, rel=1e-9)
    assert run.mean_rates["p"] == pytest.approx(steady.rate, rel=1e-6)
    assert mean == pytest.approx(steady.mean_v, rel=1e-9)
    np.testing.assert_allclose(final, steady.mass, rtol=0, atol=1e-10)
    # Without a refractory period the fired mass is held a step: 0.4% at 41 Hz, 0.1 ms.
    assert bool(run.warnings) == (refractory == 0.0)


def test_exact_jumps_match_event_driven_monte_carlo(tmp_path):
    """Large jumps taken exactly on the diffusion mesh: 2 mV jumps at 600 Hz (h / sigma =
    0.4, so `auto` takes them exactly) on top of a diffusing background (0.05 mV at 40
    kHz). Measured: 158.785 Hz against 158.81 +- 0.05 Hz by exact Monte Carlo; in the
    diffusion limit both inputs would give 165.15 Hz (+4%)."""
    inputs = ((0.05, 40_000.0), (2.0, 600.0))
    model, simulation = write_files(tmp_path, inputs,
                                    expected_input(inputs) + '\nmethod = "diffusion"',
                                    schemes=("auto", "auto"))
    build_mesh(model, tmp_path / "mesh.h5")
    density = steady_state(read_simulation_file(simulation)).populations[0].rate
    reference = lif_event_driven_rate(NEURON["tau"], 0.0, 20.0, 10.0, NEURON["refractory"],
                                      [h for h, _ in inputs], [r for _, r in inputs], 0.2, 2.2,
                                      500, v0=10.0, v_min=-20.0, n_batches=8, seed=3)
    margin = 3 * reference.standard_error_hz / reference.rate_hz
    assert density == pytest.approx(reference.rate_hz, rel=0.003 + margin)


def set_attr(group, name, value):
    def change(f):
        f[group].attrs[name] = value
    return change


def replace(name, values):
    def change(f):
        del f[name]
        f[name] = values
    return change


@pytest.mark.parametrize("change, says", [
    (set_attr("diffusion", "width", -1.0), "width"),
    (set_attr("diffusion", "lowest", np.nan), "lowest"),
    (set_attr("reset", "refractory", -1.0), "refractory"),
    (set_attr("reset", "potential", np.inf), "reset_potential"),
    (replace("reset/fractions", [1.0]), "differ in shape"),
    (replace("diffusion/face_drift", [np.nan] * 369), "face_drift"),
])
def test_a_corrupt_diffusion_artifact_is_refused(tmp_path, change, says):
    build_mesh(write_files(tmp_path, STATE_C, expected_input(STATE_C))[0], tmp_path / "mesh.h5")
    with h5py.File(tmp_path / "mesh.h5", "a") as f:
        change(f)
    with pytest.raises(ArtifactError, match=says):
        read_mesh(tmp_path / "mesh.h5")


def reference_generator(artifact, mu, diffusion, jumps):
    """L and the firing rates per cell written out plainly (dense numpy), from the
    definitions in solver.kernels_diffusion's docstring: not from its code."""
    n, w = artifact.n_cells, artifact.width
    edges = artifact.lowest + w * np.arange(n + 1)
    L = np.zeros((n, n))
    fired = np.zeros(n)
    for face in range(1, n + 1):
        distance = w if face < n else w / 2
        x = (artifact.face_drift[face] + mu) * distance / diffusion
        down = diffusion / (distance * w) * x / np.expm1(x)
        up = diffusion / (distance * w) * -x / np.expm1(-x)
        if face == n:
            L[n - 1, n - 1] -= up
            fired[n - 1] += up
            continue
        L[face, face - 1] += up
        L[face - 1, face - 1] -= up
        L[face - 1, face] += down
        L[face, face] -= down
    for rate, h in jumps:
        for j in range(n):
            lo, hi = edges[j] + h, edges[j + 1] + h
            L[j, j] -= rate
            fired[j] += rate * max(0.0, hi - max(lo, artifact.threshold)) / w
            L[0, j] += rate * max(0.0, min(hi, artifact.lowest) - lo) / w
            for k in range(n):
                L[k, j] += rate * max(0.0, min(hi, edges[k + 1]) - max(lo, edges[k])) / w
    return L, fired


@pytest.mark.parametrize("jumps", [
    (),  # diffusion only
    ((9_450.0, -0.5), (300.0, 0.3)),  # fractions of cells down and up
    ("whole cells",),  # 3 cells up, 2 down: rounding must not leave slivers
    ((200.0, 25.0), (100.0, -45.0)),  # past the threshold, and past the lowest cell
])
def test_the_generator_against_a_plain_reference(tmp_path, jumps):
    from solver.step_operator_diffusion import generator

    build_mesh(write_files(tmp_path, STATE_C, expected_input(STATE_C))[0], tmp_path / "mesh.h5")
    artifact = read_mesh(tmp_path / "mesh.h5")
    if jumps == ("whole cells",):
        jumps = ((500.0, 3 * artifact.width), (700.0, -2 * artifact.width))
    rates = {(0.1, False): 57_800.0, **{(h, True): rate for rate, h in jumps}}
    L, fired = generator(artifact, rates)
    expected_L, expected_fired = reference_generator(artifact, 5_780.0, 289.0, jumps)
    np.testing.assert_allclose(L.toarray(), expected_L, rtol=0, atol=1e-9 * np.abs(expected_L).max())
    np.testing.assert_allclose(fired, expected_fired, rtol=0, atol=1e-9 * expected_fired.max())
    np.testing.assert_allclose(L.toarray().sum(axis=0) + fired, 0.0, atol=1e-9 * np.abs(expected_L).max())


@pytest.mark.parametrize("schemes", [("auto", "jumps"), ("auto", "auto")])
def test_the_step_operator_is_the_kernels_step(tmp_path, schemes):
    """solver.step_operator_diffusion (what --modes linearises) against one kernel step,
    for random states: with an exact group (the banded solve) and without (Thomas'
    algorithm); the stationary state of `miind steady` (queue included) is its fixed
    point."""
    from solver.assembly import build_simulation
    from solver.step_operator_diffusion import step_operator_diffusion

    model, simulation = write_files(tmp_path, STATE_C, expected_input(STATE_C), t_end=0.01,
                                    schemes=schemes)
    build_mesh(model, tmp_path / "mesh.h5")
    spec = read_simulation_file(simulation)
    simulation = build_simulation(spec)
    population = simulation.populations[0]
    artifact = population.artifact
    rates = {(0.1, False): STATE_C[0][1], (-0.5, schemes[1] == "jumps"): STATE_C[1][1]}
    operator = step_operator_diffusion(artifact, rates, simulation.dt)
    n, slots = artifact.n_cells, operator.matrix.shape[0] - artifact.n_cells
    assert slots == population.queue.shape[0] - 1
    rng = np.random.default_rng(2)
    for step in (0, 7):
        x = rng.random(n + slots)
        population.mass[:] = x[:n]
        population.queue[:] = 0.0
        length = population.queue.shape[0]
        for j in range(slots):  # slot j is released at the start of step `step` + j
            population.queue[(step + j) % length] = x[n + j]
        population.advance(step, 1)
        after = np.array([population.queue[(step + 1 + j) % length] for j in range(slots)])
        np.testing.assert_allclose(operator.matrix @ x, np.r_[population.mass, after],
                                   rtol=0, atol=1e-13 * x.sum())
        assert operator.rate @ x == pytest.approx(population.rate[step], rel=1e-11)
    state = steady_state(spec).populations[0]
    np.testing.assert_allclose(operator.matrix @ state.vector, state.vector, rtol=0, atol=1e-12)
    assert state.vector[n:].sum() == pytest.approx(state.refractory_mass, rel=1e-12)


def test_modes_of_brunels_state_c(tmp_path):
    """State C is stable, and its leading mode is the fast oscillation NEST shows in the
    population rate (125 Hz, benchmarks/README.md): measured -147 /s at 124.6 Hz."""
    from pathlib import Path

    from solver.modes import linear_modes

    examples = Path(__file__).resolve().parents[2] / "examples" / "brunel"
    build_mesh(examples / "lif.toml", tmp_path / "mesh.h5")
    mesh = str(tmp_path / "mesh.h5")
    spec = read_simulation_file(examples / "network.toml",
                                [f"population.e.mesh={mesh}", f"population.i.mesh={mesh}"])
    modes = linear_modes(spec, steady_state(spec), 2)
    assert all(m.growth_rate < 0 for m in modes)
    assert modes[0].frequency == pytest.approx(125.0, rel=0.03)
    # At dt 0.1 ms; implicit Euler damps it by about omega^2 dt / 2 = 31 /s (-141 /s at
    # 0.05 ms), so this pins the scheme as much as the network.
    assert modes[0].growth_rate == pytest.approx(-147.0, rel=0.02)


def test_a_population_without_diffusion_is_solved(tmp_path):
    """Fed only by another population, b starts (rates 0) with no input: an upwind flux
    whose stable point (E_l = 0) is a cell face of the example's mesh, where two cells
    keep their mass; steady solves it anyway, as the run settles."""
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples" / "brunel"
    build_mesh(examples / "lif.toml", tmp_path / "mesh.h5")
    text = (f"[simulation]\nt_end = 0.5\n[[population]]\nname = \"a\"\nmesh = \"mesh.h5\"\n"
            f"initial = {{ v = 10.0 }}\n[[population]]\nname = \"b\"\nmesh = \"mesh.h5\"\n"
            f"initial = {{ v = 10.0 }}\n[[input]]\nname = \"x\"\nrate = 60000.0\n"
            f"[[connection]]\nsource = \"x\"\ntarget = \"a\"\nefficacy = 0.1\n"
            f"[[connection]]\nsource = \"a\"\ntarget = \"b\"\nefficacy = 0.1\n"
            f"n_connections = 1000\ndelay = 0.0015\n")
    (tmp_path / "sim.toml").write_text(text)
    run = run_simulation(tmp_path / "sim.toml", tmp_path / "out.h5")
    steady = steady_state(read_simulation_file(tmp_path / "sim.toml"))
    assert steady.converged
    for state in steady.populations:
        assert run.mean_rates[state.name] == pytest.approx(state.rate, rel=1e-6)
