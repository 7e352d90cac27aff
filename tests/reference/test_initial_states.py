"""Initial states given as distributions, on every kind of population, against the
distribution's own moments; and a LIF population relaxing from uniform(a, b) without
input, density and neurons, against v(t) = E_l + (v0 - E_l) exp(-t/tau).

Sample statistics of N neurons are compared within Z standard errors (the mean's
sigma/sqrt(N), the sd's sigma/sqrt(2N) relative), so a failure means a wrong draw
rather than bad luck. Cell masses are compared with Sheppard's moments over the cells
they lie in: the mean exact, the variance sigma^2 + sum m_i h_i^2 / 12 (h_i each cell's
width), up to terms far below the stated tolerances for densities ten cells wide.
"""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from meshgen.formats.mesh_artifact import read_mesh
from solver.assembly import build_simulation
from solver.engine import run_simulation
from solver.sim_file import read_simulation_file
from tests.support.studies import LIF_MODEL, PUBLIC_PARAMETERS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
N = 20_000
Z = 5.0
TAU, E_L = PUBLIC_PARAMETERS["tau"], PUBLIC_PARAMETERS["E_l"]


@pytest.fixture(scope="module")
def meshes(tmp_path_factory):
    """A 1D strip mesh (the public LIF case), a diffusion mesh (Brunel's LIF), a grid
    (AdEx, 10 cells along w) and that grid's cells listed as a 2D strip mesh."""
    from meshgen.build import build_mesh
    from tests.unit.grid_as_polygons import write_grid_as_strips2d

    directory = tmp_path_factory.mktemp("initial_states")
    (directory / "lif.toml").write_text(LIF_MODEL.format(efficacies=[1.0], **PUBLIC_PARAMETERS))
    build_mesh(directory / "lif.toml", directory / "lif.h5")
    build_mesh(EXAMPLES / "brunel" / "lif.toml", directory / "diffusion.h5")
    build_mesh(EXAMPLES / "grid2d" / "adex.toml", directory / "grid.h5",
               overrides=["mesh.resolution.w=10"])
    write_grid_as_strips2d(read_mesh(directory / "grid.h5"), directory / "polygons.h5")
    return directory


def built(directory: Path, populations: str, t_end: float = 0.01):
    path = directory / "simulation.toml"
    path.write_text(f"[simulation]\nt_end = {t_end}\n{populations}")
    return build_simulation(read_simulation_file(path))


def density(name: str, mesh: str, initial: str) -> str:
    return f'[[population]]\nname = "{name}"\nmesh = "{mesh}"\ninitial = {{ {initial} }}\n'


def direct(name: str, initial: str, seed: int = 1, n: int = N, model: str | None = None) -> str:
    source = f'model = "{model}"' if model else 'mesh = "lif.h5"'
    return (f'[[population]]\nname = "{name}"\nmethod = "direct"\n{source}\nn_neurons = {n}\n'
            f"seed = {seed}\ninitial = {{ {initial} }}\n")


def sheppard(mass, lower, upper):
    """(mean, variance, Sheppard's h^2/12 term) of cell masses placed at the centres."""
    centres = 0.5 * (lower + upper)
    mean = float(np.sum(mass * centres))
    return (mean, float(np.sum(mass * (centres - mean) ** 2)),
            float(np.sum(mass * (upper - lower) ** 2)) / 12)


@pytest.mark.parametrize("text, mu, sigma", [
    ("normal(-60, 2)", -60.0, 2.0),  # 4.9 sigma below the threshold (-50.2): 5e-7 redrawn
    ("uniform(-70, -55)", -62.5, 15 / math.sqrt(12)),
])
def test_direct_initial_v_has_the_distributions_mean_and_sd(meshes, text, mu, sigma):
    """The uniform's sd has a relative standard error of sqrt(0.8 / N) / 2, below the
    normal's 1/sqrt(2N)."""
    v = built(meshes, direct("cells", f'v = "{text}"')).populations[0].state[0]
    assert abs(v.mean() - mu) < Z * sigma / math.sqrt(N), text
    assert v.std() == pytest.approx(sigma, rel=Z / math.sqrt(2 * N)), text
    assert v.max() < PUBLIC_PARAMETERS["threshold"]


def test_the_same_seed_draws_the_same_states(meshes):
    """Deterministic for a seed; another seed, or another direct population (stream)
    with the same seed, draws other values; a distribution for w leaves v's draw."""
    text = 'v = "uniform(-70, -55)"'
    first = built(meshes, direct("a", text, seed=4)).populations[0].state[0]
    assert (first == built(meshes, direct("a", text, seed=4)).populations[0].state[0]).all()
    assert not np.allclose(first, built(meshes, direct("a", text, seed=5)).populations[0].state[0])
    pair = built(meshes, direct("a", text, seed=4) + direct("b", text, seed=4)).populations
    assert (pair[0].state[0] == first).all() and not np.allclose(pair[1].state[0], first)
    adex = EXAMPLES / "grid2d" / "adex.toml"
    alone = built(meshes, direct("a", 'v = "uniform(-70, -55)"', n=100, model=adex))
    both = built(meshes, direct("a", 'v = "uniform(-70, -55)", w = "normal(20, 5)"', n=100,
                                model=adex))
    assert (alone.populations[0].state[0] == both.populations[0].state[0]).all()
    assert (alone.populations[0].state[1] == 0.0).all()
    assert abs(both.populations[0].state[1].mean() - 20.0) < Z * 5 / math.sqrt(100)


def test_a_1d_strip_density_starts_with_the_distributions_moments(meshes):
    """Strip cells are unequal (0.02 to 0.07 mV within 3 sigma), so the centre rule
    is exact no longer: a cell's mass sits off its centre by f'(c) h^3 / 12, whose sum
    bounds the mean's error; the variance keeps Sheppard's term (each cell's) to
    within half of it (measured: a sixth)."""
    mu, sigma = -58.0, 1.5
    network = built(meshes, density("lif", "lif.h5", f'v = "normal({mu}, {sigma})"'))
    artifact = network.populations[0].network.artifacts[0]
    mass = network.populations[0].network.state.mass[:artifact.n_cells]
    mean, variance, cells = sheppard(mass, artifact.lower, artifact.upper)
    centres, widths = 0.5 * (artifact.lower + artifact.upper), artifact.upper - artifact.lower
    slope = (mu - centres) / sigma**2 * np.exp(-0.5 * ((centres - mu) / sigma) ** 2) / \
        (sigma * math.sqrt(2 * math.pi))
    assert mass.sum() == pytest.approx(1.0, rel=1e-12)
    assert abs(mean - mu) <= np.sum(np.abs(slope) * widths**3 / 12)
    assert abs(variance - (sigma**2 + cells)) <= 0.5 * cells


def test_a_diffusion_density_starts_with_the_distributions_moments(meshes):
    """Equal cells of 0.11 mV under a sd of 2 mV."""
    population = built(meshes, density("d", "diffusion.h5", 'v = "normal(5, 2)"'),
                       t_end=0.001).populations[0]
    a = population.artifact
    mean, variance, cells = sheppard(population.mass, a.lower, a.upper)
    assert abs(mean - 5.0) < 1e-9
    assert variance == pytest.approx(4.0 + a.width**2 / 12, rel=1e-9)
    assert cells == pytest.approx(a.width**2 / 12)


def test_a_grid_density_has_the_distributions_marginals(meshes):
    """v: uniform(-70, -50) on v cells of h = 0.125 mV: each cell inside gets h/20.
    w: normal(60, 40) on cells of 33 (w's 10): Sheppard's 91 added to 1600, cut at
    -50 and 280 (2.75 and 5.5 sigma below and above): the
    truncated normal's mean mu + sigma s, s = (phi(a) - phi(b)) / (Phi(b) - Phi(a)), and
    variance sigma^2 (1 + (a phi(a) - b phi(b)) / (Phi(b) - Phi(a)) - s^2). Cells 0.8
    sigma wide put Sheppard's series at the edge of its use: the variance to 1% (measured
    0.3%), the mean to sigma / 80."""
    population = built(meshes, density("g", "grid.h5",
                                       'v = "uniform(-70, -50)", w = "normal(60, 40)"'),
                       t_end=0.001).populations[0]
    n_v, n_w = population.grid.resolution
    mass = population.mass.reshape(n_w, n_v)
    v_edges, w_edges = population.grid.edges
    along_v = mass.sum(axis=0)
    inside = (v_edges[:-1] >= -70.0) & (v_edges[1:] <= -50.0)
    h = v_edges[1] - v_edges[0]
    np.testing.assert_allclose(along_v[inside], h / 20, rtol=1e-9)
    assert along_v[~inside].sum() < 2 * h / 20  # the two cells cut by -70 and -50
    a, b = (w_edges[0] - 60) / 40, (w_edges[-1] - 60) / 40
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    Phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    kept = Phi(b) - Phi(a)
    w_mean, w_variance, cells = sheppard(mass.sum(axis=1), w_edges[:-1], w_edges[1:])
    assert w_mean == pytest.approx(60 + 40 * (phi(a) - phi(b)) / kept, abs=0.5)
    shift = (phi(a) - phi(b)) / kept
    assert w_variance == pytest.approx(
        1600 * (1 + (a * phi(a) - b * phi(b)) / kept - shift**2) + cells, rel=0.01)


def test_a_2d_strip_mesh_along_a_line_starts_as_the_grid_it_lists(meshes):
    """The grid's cells listed as polygons: with w a number, the cells crossed by the
    line w = w0 get v's probability over their crossing, exactly the grid's row."""
    initial = 'v = "normal(-60, 4)", w = 30.0'
    grid = built(meshes, density("g", "grid.h5", initial), t_end=0.001).populations[0]
    polygons = built(meshes, density("p", "polygons.h5", initial), t_end=0.001).populations[0]
    np.testing.assert_allclose(polygons.mass, grid.mass, atol=1e-15)


def test_a_lif_density_relaxes_from_uniform_as_its_neurons_do(meshes):
    """Without input every neuron decays to E_l, so the mean v is E_l + (m0 - E_l)
    exp(-t/tau) for both methods. The neurons' sample mean is off the exact m0 by
    Z sd/sqrt(N) at most, and the offset decays with the same exponential. The density
    is exact while its mass moves along strips (up to the cell centres: the uniform's
    end cells, h^2/(b - a) with the largest cell h in [a, b]); the mesh ends its strips
    where they reach the stationary cell around E_l (0.63 mV wide), whose mass sits at
    its centre: from then on it is off by at most the cell's half width."""
    low, high = -60.0, -52.0
    text = f'"uniform({low}, {high})"'
    path = meshes / "relax.toml"
    path.write_text("[simulation]\nt_end = 0.05\n" + density("density", "lif.h5", f"v = {text}")
                    + direct("neurons", f"v = {text}"))
    run_simulation(path, meshes / "relax.h5")
    with h5py.File(meshes / "relax.h5") as f:
        time = f["time"][()]
        mean = {name: f[f"populations/{name}/mean/v"][()] for name in ("density", "neurons")}
        assert f["populations/density/rate"][()].max() == 0.0
        assert f["populations/neurons/rate"][()].max() == 0.0
    decay = np.exp(-time / TAU)
    exact = E_L + (0.5 * (low + high) - E_L) * decay
    sd = (high - low) / math.sqrt(12)
    assert np.all(np.abs(mean["neurons"] - exact) <= Z * sd / math.sqrt(N) * decay)
    artifact = read_mesh(meshes / "lif.h5")
    stationary = int(artifact.strip_terminal[0])
    half_width = 0.5 * (artifact.upper[stationary] - artifact.lower[stationary])
    on_strips = (low - E_L) * decay > half_width  # the lowest mass is still off that cell
    in_range = (artifact.lower >= low - 1) & (artifact.upper <= high + 1)
    widest = float(np.max((artifact.upper - artifact.lower)[in_range]))
    error = np.abs(mean["density"] - exact)
    assert on_strips[:len(time) // 2].all()
    assert np.all(error[on_strips] <= widest**2 / (high - low))
    assert np.all(error <= half_width)
