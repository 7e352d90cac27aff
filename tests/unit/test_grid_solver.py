"""The grid population's kernel (solver.density_2d, solver.kernels_2d) against a plain
scipy statement of the same step, and its matrix layout against the artifact's CSC
matrices it is built from."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from meshgen.formats.mesh_artifact import GridArtifact, GridMatrix
from meshgen.build import build_mesh
from meshgen.formats.mesh_artifact import read_mesh
from solver.density_2d import Density2DPopulation, split_diagonals
from solver.kernels_1d import MAX_POISSON_TERMS, poisson_weights

MODEL = """
[model]
kind = "adex"
[model.spike]
refractory = {refractory}
[mesh]
method = "grid"
ranges = {{ v = [-80.0, -40.4], w = [-50.0, 300.0] }}
resolution = {{ v = 40, w = 30 }}
dt = 2e-4
efficacies = {{ v = [1.5, -1.2], w = [12.0] }}
"""


@pytest.fixture(scope="module", params=[0.0, 6e-4], ids=["no-refractory", "refractory"])
def artifact(request, tmp_path_factory) -> GridArtifact:
    folder = tmp_path_factory.mktemp("grid_solver")
    (folder / "model.toml").write_text(MODEL.format(refractory=request.param))
    build_mesh(folder / "model.toml", folder / "mesh.h5")
    return read_mesh(folder / "mesh.h5")


def csc(matrix: GridMatrix, n: int) -> sparse.csc_matrix:
    return sparse.csc_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(n, n))


def test_diagonals_and_remainder_rebuild_each_matrix(artifact):
    n = artifact.n_cells
    for matrix in list(artifact.jumps) + [artifact.motion]:
        split = split_diagonals(matrix, n)
        rebuilt = sparse.csc_matrix((split.remainder[2], split.remainder[1], split.remainder[0]),
                                    shape=(n, n)).toarray()
        for offset, values in zip(split.offsets, split.values):
            target = np.arange(max(0, offset), min(n, n + offset))
            rebuilt[target, target - offset] += values[target]
        np.testing.assert_array_equal(rebuilt, csc(matrix, n).toarray())
    # A fractional shift along v lies on two diagonals but for its clamped entries.
    shift = split_diagonals(artifact.jumps[0], n)
    assert list(shift.offsets) == [1, 2]  # 1.5 mV is 1.52 cells of 0.99 mV


def reference_steps(artifact, rates, dt, n_steps, start, centres):
    """The step of solver.kernels_2d in scipy: uniformized jumps (Horner over the
    same Poisson weights), motion, then the reset queue; per step the rate, the total
    mass and the mean of (v, w) at mid-jump; `centres` (2, n_cells) of the cells."""
    n = artifact.n_cells
    jumps = [csc(j, n) for j in artifact.jumps]
    motion, reset = csc(artifact.motion, n), csc(artifact.reset, n)
    slots = int(round(artifact.refractory / dt)) + 1
    queue = np.zeros((slots, n))
    mass, out = start.copy(), []
    weights = np.zeros(MAX_POISSON_TERMS)
    total = float(sum(rates))

    def mean(m):
        return centres @ m / m.sum()

    for step in range(n_steps):
        before = mean(mass)
        fired = np.zeros(n)
        count = poisson_weights(total * dt, weights)
        result = weights[count - 1] * mass
        for term in range(count - 2, -1, -1):
            spare = weights[term] * mass
            for jump, source, rate in zip(jumps, artifact.jumps, rates):
                fired += rate / total * source.fired * result
                spare += rate / total * (jump @ result)
            result = spare
        mass = result
        shift = mean(mass) - before
        fired += artifact.motion.fired * mass
        queue[step % slots] += reset @ fired
        mass = motion @ mass + queue[(step + 1) % slots]
        queue[(step + 1) % slots] = 0.0
        out.append((fired.sum() / dt, mass.sum() + queue.sum(), *(mean(mass) + shift / 2)))
    return mass, np.array(out)



def test_kernel_matches_the_scipy_step(artifact):
    dt, n_steps = artifact.dt, 60
    rates = [1500.0, 400.0, 300.0]
    population = Density2DPopulation("g", artifact, np.arange(3), n_steps, dt,
                                     input_rates=np.tile(np.array(rates)[:, None], (1, n_steps)))
    population.set_initial({"v": -52.0, "w": 40.0})
    start = population.mass.copy()
    population.advance(0, n_steps)
    mass, expected = reference_steps(artifact, rates, dt, n_steps, start,
                                     np.stack(population.centres))
    assert expected[:, 0].max() > 20.0  # the point mass reaches threshold and fires
    np.testing.assert_allclose(population.mass, mass, rtol=0, atol=1e-14)
    np.testing.assert_allclose(population.rate, expected[:, 0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(population.total_mass, 1.0, rtol=0, atol=1e-13)
    # Means at mid-jump: the end of the step plus half the shift of its jumps.
    np.testing.assert_allclose(population.mean.T, expected[:, 2:], rtol=1e-12)


FHN_MODEL = """
[model]
kind = "fitzhugh_nagumo"
[mesh]
method = "grid"
ranges = { v = [-2.5, 2.5], w = [-0.8, 2.0] }
resolution = { v = 50, w = 28 }
dt = 5e-4
efficacies = [0.3]
"""


def driven(tmp_path, model_text, initial, n_steps, rate):
    """Mesh `model_text` and run its population from `initial` under one input."""
    (tmp_path / "model.toml").write_text(model_text)
    build_mesh(tmp_path / "model.toml", tmp_path / "mesh.h5")
    artifact = read_mesh(tmp_path / "mesh.h5")
    population = Density2DPopulation("g", artifact, np.array([0]), n_steps, artifact.dt,
                                     input_rates=np.full((1, n_steps), rate))
    population.set_initial(initial)
    population.advance(0, n_steps)
    return artifact, population


def test_model_without_threshold_never_fires_and_keeps_its_mass(tmp_path):
    """FitzHugh-Nagumo has no threshold: jumps past the top of v are clamped, not
    fired, the reset mapping is empty, and the kernel keeps all mass in the grid."""
    artifact, population = driven(tmp_path, FHN_MODEL, {"v": 2.2, "w": 0.0}, 400, 3000.0)
    assert np.isnan(artifact.threshold) and len(artifact.reset.data) == 0
    jump = artifact.jumps[0]
    assert not np.any(jump.fired) and not np.any(artifact.motion.fired)
    top_row = np.arange(artifact.n_cells) % 50 == 49
    assert np.all(jump.clamped[top_row] == 1.0)  # 0.3 is three cells of 0.1
    assert np.all(population.rate == 0.0)
    np.testing.assert_allclose(population.total_mass, 1.0, rtol=0, atol=1e-13)
    assert population.mean[0, -1] < 0.5  # from 2.2, the excursion comes back down


LINEAR_MODEL = """
[model]
kind = "custom"
variables = ["v", "w"]
equations = ["dv/dt = -v/tau", "dw/dt = -w/tau_w"]
[model.parameters]
tau = 0.01
tau_w = 0.05
[mesh]
method = "grid"
ranges = { v = [-1.0, 9.0], w = [-1.0, 1.0] }
resolution = { v = 200, w = 4 }
dt = 1e-3
efficacies = [0.25]
"""


def test_mean_is_taken_at_mid_jump(tmp_path):
    """Shot noise through a linear leak: the stationary mean of v is r h tau exactly
    (Campbell), 4.0 here. A step ends with all its jumps decayed for a whole dt, r h
    dt / 2 = 0.2 below that; the mean at mid-jump is not."""
    rate, h, tau = 1600.0, 0.25, 0.01
    _, population = driven(tmp_path, LINEAR_MODEL, {"v": 0.0, "w": 0.0}, 300, rate)
    steady = population.mean[0, 100:].mean()
    # Measured: 4.0033; the end-of-step mean would be 3.80.
    assert abs(steady - rate * h * tau) < 0.02, steady
