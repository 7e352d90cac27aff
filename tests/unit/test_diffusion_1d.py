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
from tests.support.studies import LIF_MODEL

# Brunel's (2000) LIF (mV, s) and the input of his state C at its rate, 37.8 Hz:
# 57.8 kHz of 0.1 mV and 9.45 kHz of -0.5 mV per neuron.
NEURON = dict(tau=0.02, E_l=0.0, threshold=20.0, reset=10.0, refractory=0.002)
STATE_C = ((0.1, 57_800.0), (-0.5, 9_450.0))

def expected_input(inputs) -> str:
    entries = ", ".join(f"{{ rate = {rate}, efficacy = {h} }}" for h, rate in inputs)
    return f"expected_input = [{entries}]"


def write_model(directory, inputs, extra="", **neuron):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "model.toml"
    parameters = dict(NEURON, **neuron)
    path.write_text(LIF_MODEL.format(efficacies=sorted({h for h, _ in inputs}), lowest=-20.0,
                                     **parameters) + extra + "\n")
    return path


def write_simulation(directory, inputs, t_end, schemes=None, v0=10.0):
    lines = [f"[simulation]\nt_end = {t_end}\n",
             f"[[population]]\nname = \"p\"\nmesh = \"mesh.h5\"\ninitial = {{ v = {v0} }}\n"]
    for i, (h, rate) in enumerate(inputs):
        lines.append(f"[[input]]\nname = \"in{i}\"\nrate = {rate}\n")
        scheme = f"scheme = \"{schemes[i]}\"\n" if schemes else ""
        lines.append(f"[[connection]]\nsource = \"in{i}\"\ntarget = \"p\"\nefficacy = {h}\n{scheme}")
    path = directory / "sim.toml"
    path.write_text("\n".join(lines))
    return path


def second_half_rate(output) -> float:
    with h5py.File(output) as f:
        rate = f["populations/p/rate"][()]
    return float(rate[len(rate) // 2:].mean())


def test_the_input_chooses_the_method(tmp_path):
    """Brunel's input (sigma 5.4 mV, jumps of 0.1 and 0.5 mV) gets a diffusion mesh of a
    few hundred cells; the public case's (1 mV jumps, sigma 2.2 mV) keeps strips."""
    summary = build_mesh(write_model(tmp_path / "brunel", STATE_C, expected_input(STATE_C)),
                         tmp_path / "brunel.h5")
    assert summary.method == "diffusion"
    assert summary.density_scale["sigma"] == pytest.approx(np.sqrt(0.5 * (57_800 * 0.01 + 9_450 * 0.25) * 0.02))
    assert 300 <= summary.n_cells <= 400 and summary.dt == pytest.approx(1e-4)
    artifact = read_mesh(tmp_path / "brunel.h5")
    assert isinstance(artifact, Diffusion1DArtifact)
    assert artifact.face_drift[-1] == pytest.approx(-20.0 / 0.02)
    public = ((1.0, 1000.0),)
    summary = build_mesh(write_model(tmp_path / "public", public, expected_input(public),
                                     tau=0.01, E_l=-65.0, threshold=-50.2, reset=-65.0,
                                     refractory=0.0).parent / "model.toml", tmp_path / "public.h5",
                         ["mesh.v_range=[-70.0, -50.2]"])
    assert summary.method is None and summary.n_strips >= 1
    # Asked for, a diffusion mesh is built whatever the jumps.
    summary = build_mesh(tmp_path / "public" / "model.toml", tmp_path / "forced.h5",
                         ["mesh.method=diffusion", "mesh.v_range=[-70.0, -50.2]"])
    assert summary.method == "diffusion"


def test_a_diffusion_mesh_needs_the_expected_input(tmp_path):
    model = write_model(tmp_path, STATE_C, 'method = "diffusion"')
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
        build_mesh(write_model(directory, inputs, expected_input(expected)
                               + '\nmethod = "diffusion"'), directory / "mesh.h5")
        spec = read_simulation_file(write_simulation(directory, inputs, t_end=0.1,
                                                     schemes=("diffusion", "diffusion")))
        rate = steady_state(spec).populations[0].rate
        errors.append(rate / exact - 1.0)
    assert abs(errors[0]) < 2e-4
    assert abs(errors[1]) < 0.35 * abs(errors[0])


def test_steady_is_where_the_run_settles_and_mass_is_kept(tmp_path):
    build_mesh(write_model(tmp_path, STATE_C, expected_input(STATE_C)), tmp_path / "mesh.h5")
    simulation = write_simulation(tmp_path, STATE_C, t_end=0.4, schemes=("auto", "jumps"))
    run = run_simulation(simulation, tmp_path / "out.h5")
    steady = steady_state(read_simulation_file(simulation)).populations[0]
    with h5py.File(tmp_path / "out.h5") as f:
        group = f["populations/p"]
        assert group.attrs["schemes"] == "diffusion,jumps"
        mass, rate = group["mass"][()], group["rate"][()]
        final = group["density/mass"][-1]
        mean = group["mean/v"][-1]
    np.testing.assert_allclose(mass, 1.0, rtol=0, atol=1e-12)
    assert final.min() >= 0.0
    assert rate[-1] == pytest.approx(steady.rate, rel=1e-9)
    assert run.mean_rates["p"] == pytest.approx(steady.rate, rel=1e-6)
    assert mean == pytest.approx(steady.mean_v, rel=1e-9)
    np.testing.assert_allclose(final, steady.mass, rtol=0, atol=1e-10)


def test_exact_jumps_match_event_driven_monte_carlo(tmp_path):
    """Large jumps taken exactly on the diffusion mesh: 2 mV jumps at 600 Hz (h / sigma =
    0.4, so `auto` takes them exactly) on top of a diffusing background (0.05 mV at 40
    kHz). Measured: 158.785 Hz against 158.81 +- 0.05 Hz by exact Monte Carlo; in the
    diffusion limit both inputs would give 165.15 Hz (+4%)."""
    inputs = ((0.05, 40_000.0), (2.0, 600.0))
    build_mesh(write_model(tmp_path, inputs, expected_input(inputs) + '\nmethod = "diffusion"'),
               tmp_path / "mesh.h5")
    simulation = write_simulation(tmp_path, inputs, t_end=0.1, schemes=("auto", "auto"))
    density = steady_state(read_simulation_file(simulation)).populations[0].rate
    reference = lif_event_driven_rate(NEURON["tau"], 0.0, 20.0, 10.0, NEURON["refractory"],
                                      [h for h, _ in inputs], [r for _, r in inputs], 0.2, 2.2,
                                      500, v0=10.0, v_min=-20.0, n_batches=8, seed=3)
    margin = 3 * reference.standard_error_hz / reference.rate_hz
    assert density == pytest.approx(reference.rate_hz, rel=0.003 + margin)


def test_a_corrupt_diffusion_artifact_is_refused(tmp_path):
    build_mesh(write_model(tmp_path, STATE_C, expected_input(STATE_C)), tmp_path / "mesh.h5")
    with h5py.File(tmp_path / "mesh.h5", "a") as f:
        f["diffusion"].attrs["width"] = -1.0
    with pytest.raises(ArtifactError, match="width"):
        read_mesh(tmp_path / "mesh.h5")


def test_the_step_operator_is_the_kernels_step(tmp_path):
    """solver.step_operator_diffusion (what --modes linearises) against one kernel step,
    for random states, with a diffusing group and an exact one; the stationary state of
    `miind steady` (queue included) is its fixed point."""
    from solver.assembly import build_simulation
    from solver.step_operator_diffusion import step_operator_diffusion

    build_mesh(write_model(tmp_path, STATE_C, expected_input(STATE_C)), tmp_path / "mesh.h5")
    spec = read_simulation_file(write_simulation(tmp_path, STATE_C, t_end=0.01,
                                                 schemes=("auto", "jumps")))
    simulation = build_simulation(spec)
    population = simulation.populations[0]
    artifact = population.artifact
    rates = {(0.1, False): STATE_C[0][1], (-0.5, True): STATE_C[1][1]}
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
    assert -200.0 < modes[0].growth_rate < -100.0
