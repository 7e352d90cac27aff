"""`miind analyze` of 2D density populations: the density on the mesh cells, its
marginals, movies, drawings of mesh artifacts, and their error paths.

One run per module: an AdEx population on a 30 x 30 grid, 0.05 s with a snapshot
every 10 ms (six snapshots, t = 0 included), and a short run without snapshots.
A hand-made output whose cells are polygons stands in for the 2D strip meshes.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import h5py
import matplotlib.image
import numpy as np
import pytest
from PIL import Image

from clitools import assert_error, assert_ok, invoke, leftovers
from meshgen.formats import run_output_reader as output_reader
from meshgen.formats.run_output_reader import grid_cells, polygon_cells
from miind_cli import selection
from miind_cli.plotting2d import (MAX_LINES_PER_AXIS, draw_cell_lines, subsampled_edges,
                                  plot_mesh)

EXIT_USAGE = 2
EXIT_BAD_OPTION = 3
EXIT_BAD_ARTIFACT = 4
EXIT_INTERRUPTED = 130
N_CELLS_PER_AXIS = 30
T_END = 0.05
N_SNAPSHOTS = 6  # t = 0, 0.01, ..., 0.05
# The AdEx defaults (meshgen.models): threshold (numerical cut-off) and reset of v.
ADEX_THRESHOLD = -40.4
ADEX_RESET = -70.6
# Sums of a few thousand masses of at most 1: rounding only.
MASS_TOLERANCE = 1e-12
# Figure sizes in pixels: figsize x dpi of plotting2d (density 7 x 5 in, marginals
# 4 in per variable x 3.5 in, 2D mesh 7 x 5.5 in, 1D mesh 7 x 4.5 in, at 120 dpi;
# movie frames 6.4 x 4.8 in at 100 dpi).
DENSITY_PIXELS = (600, 840)
MARGINALS_PIXELS = (420, 960)
MESH_PIXELS = (660, 840)
STRIP_MESH_PIXELS = (540, 840)
MOVIE_PIXELS = (640, 480)
# A drawn figure has hundreds of colours (the colour map, antialiased text); a blank
# one a handful.
MIN_COLOURS = 50

MODEL = f"""\
[model]
kind = "adex"
[mesh]
method = "grid"
ranges = {{ v = [-80.0, {ADEX_THRESHOLD}], w = [-50.0, 300.0] }}
resolution = {{ v = {N_CELLS_PER_AXIS}, w = {N_CELLS_PER_AXIS} }}
dt = 1e-4
efficacies = [2.0]  # 1.5 cells: a coarser jump than one cell is refused
"""

SIMULATION = f"""\
[simulation]
t_end = T_END

[[population]]
name = "adex"
mesh = "MESH"
initial = {{ v = -70.6, w = 0.0 }}

[[input]]
name = "drive"
rate = 1000.0

[[connection]]
source = "drive"
target = "adex"
efficacy = 2.0

[output]
density_interval = 0.01
"""


@dataclass(frozen=True)
class Runs:
    mesh: Path
    output: Path
    unsampled: Path  # no density_interval: only the final density
    polygons: Path  # hand-made: the grid's cells as sheared quadrilaterals


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    directory = tmp_path_factory.mktemp("adex2d")
    model, mesh = directory / "adex.toml", directory / "adex_mesh.h5"
    model.write_text(MODEL)
    assert_ok(invoke("mesh", model, "-o", mesh, "-q"))
    text = SIMULATION.replace("MESH", str(mesh))
    simulation, output = directory / "sim.toml", directory / "run.h5"
    simulation.write_text(text.replace("T_END", str(T_END)))
    assert_ok(invoke("run", simulation, "-o", output, "-q"))
    short, unsampled = directory / "short.toml", directory / "unsampled.h5"
    short.write_text(text.replace("T_END", "0.01").replace("density_interval = 0.01\n", ""))
    assert_ok(invoke("run", short, "-o", unsampled, "-q"))
    polygons = directory / "polygons.h5"
    _polygon_output(output, polygons)
    return Runs(mesh, output, unsampled, polygons)


# Shear of the hand-made polygon cells: w moves by this much per mV of v.
SHEAR = 2.0


def _sheared_vertices(density) -> np.ndarray:
    """The grid's cells as quadrilaterals (corners anticlockwise), sheared along w."""
    (v_lo, v_hi), (w_lo, w_hi) = density.attrs["ranges"]
    n_v, n_w = density.attrs["resolution"]
    v_edges, w_edges = np.linspace(v_lo, v_hi, n_v + 1), np.linspace(w_lo, w_hi, n_w + 1)
    i_w, i_v = np.divmod(np.arange(n_v * n_w), n_v)  # v fastest
    corners = []
    for dv, dw in ((0, 0), (1, 0), (1, 1), (0, 1)):
        v, w = v_edges[i_v + dv], w_edges[i_w + dw]
        corners.append(np.stack([v, w + SHEAR * (v - v_lo)], axis=1))
    return np.stack(corners, axis=1)


def _polygon_output(grid_output: Path, path: Path) -> None:
    """A copy of the grid run whose population has cell_vertices and no grid: what a
    2D strip mesh's output looks like to analyze (meshgen.formats.run_output)."""
    shutil.copy(grid_output, path)
    with h5py.File(path, "a") as f:
        group = f["populations/adex"]
        group.attrs["mesh_kind"] = "strips"
        density = group["density"]
        density["cell_vertices"] = _sheared_vertices(density)
        del density.attrs["ranges"], density.attrs["resolution"]


def read_image(path: Path) -> np.ndarray:
    return matplotlib.image.imread(path)


def assert_drawn(image: np.ndarray, pixels: tuple[int, int]) -> None:
    """The image has the expected size (rows, columns) and is not blank."""
    assert image.shape[:2] == pixels
    colours = np.unique(image.reshape(-1, image.shape[-1]), axis=0)
    assert len(colours) >= MIN_COLOURS, f"only {len(colours)} colours: blank?"


# --- the output format ---------------------------------------------------------------

def test_marginals_integrate_to_the_mass_in_the_grid(runs):
    with h5py.File(runs.output) as f:
        density = f["populations/adex/density"]
        mass = density["mass"][()]
        assert mass.shape == (N_SNAPSHOTS, N_CELLS_PER_AXIS ** 2)
        planes = mass.reshape(N_SNAPSHOTS, N_CELLS_PER_AXIS, N_CELLS_PER_AXIS)  # (k, w, v)
        for variable, summed in (("v", planes.sum(axis=1)), ("w", planes.sum(axis=2))):
            marginal = density["marginals"][variable][()]
            edges = density["marginals"][f"{variable}_edges"][()]
            width = np.diff(edges)
            assert marginal.shape == (N_SNAPSHOTS, N_CELLS_PER_AXIS)
            assert np.abs(marginal @ width - mass.sum(axis=1)).max() < MASS_TOLERANCE
            assert np.abs(marginal * width - summed).max() < MASS_TOLERANCE
        # No refractory period: all the mass is in the grid, and it is conserved.
        assert np.abs(mass.sum(axis=1) - 1.0).max() < MASS_TOLERANCE
        (v_lo, v_hi), (w_lo, w_hi) = density.attrs["ranges"]
        v_edges = density["marginals"]["v_edges"][()]
        assert v_edges[0] == v_lo and v_edges[-1] == v_hi
        assert density["marginals"]["v"].attrs["units"] == "1/mV"
        assert density["marginals"]["w_edges"].attrs["units"] == "pA"
        assert density.attrs["threshold"] == ADEX_THRESHOLD
        assert density.attrs["reset_v"] == ADEX_RESET
        assert json.loads(density.attrs["units"]) == {"v": "mV", "w": "pA"}


def test_densities_on_the_cells_hold_the_mass(runs):
    output = output_reader.read_output(runs.output)
    pop = output.populations["adex"]
    mass = pop.density_mass[-1]
    assert abs(np.sum(pop.cells.densities(mass) * pop.cells.areas()) - mass.sum()) < MASS_TOLERANCE


def test_polygon_areas_match_the_grid(runs):
    with h5py.File(runs.output) as f:
        density = f["populations/adex/density"]
        grid = grid_cells("vw", ("mV", "pA"), density.attrs["ranges"], density.attrs["resolution"])
        sheared = polygon_cells("vw", ("mV", "pA"), _sheared_vertices(density))
    # A shear keeps areas; the corners, anticlockwise here, may run either way round.
    np.testing.assert_allclose(sheared.areas(), grid.areas(), rtol=1e-12)
    flipped = polygon_cells("vw", ("mV", "pA"), sheared.vertices[:, ::-1])
    np.testing.assert_allclose(flipped.areas(), grid.areas(), rtol=1e-12)


def test_nearest_snapshot_is_chosen(runs):
    output = output_reader.read_output(runs.output)
    name, index = selection.select_snapshot(output, "adex", 0.032)
    assert (name, index) == ("adex", 3)
    assert output.populations["adex"].density_time[index] == pytest.approx(0.03)


# --- figures -------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [[], ["--log"]], ids=["linear", "log"])
def test_density_figure(runs, tmp_path, extra):
    figure = tmp_path / "density.png"
    result = invoke("analyze", runs.output, "--density", figure, "--population", "adex",
                    "--time", "0.03", *extra)
    assert_ok(result)
    assert result.stdout == ""
    assert_drawn(read_image(figure), DENSITY_PIXELS)


def test_log_scale_leaves_empty_cells_blank(runs, tmp_path):
    """At t = 0 all the mass is in one cell: on a log scale every other cell is
    transparent, so the axes show the white background almost everywhere."""
    linear, log = tmp_path / "linear.png", tmp_path / "log.png"
    for figure, extra in ((linear, []), (log, ["--log"])):
        assert_ok(invoke("analyze", runs.output, "--density", figure, "--time", "0", *extra))
    white = [np.mean(np.all(read_image(f)[..., :3] == 1.0, axis=-1)) for f in (linear, log)]
    # The mesh covers most of the figure: coloured in linear, blank in log.
    assert white[1] > white[0] + 0.3, white


def test_marginals_figure(runs, tmp_path):
    figure = tmp_path / "marginals.png"
    assert_ok(invoke("analyze", runs.output, "--marginals", figure, "--population", "adex",
                     "--time", "0.02"))
    assert_drawn(read_image(figure), MARGINALS_PIXELS)


def test_movie_gif_has_a_frame_per_snapshot(runs, tmp_path):
    movie = tmp_path / "density.gif"
    assert_ok(invoke("analyze", runs.output, "--movie", movie, "--fps", "4"))
    with Image.open(movie) as image:
        assert image.format == "GIF"
        assert image.size == MOVIE_PIXELS
        assert image.n_frames == N_SNAPSHOTS
        assert image.info["duration"] == 250  # 1000 ms / 4 fps
    assert leftovers(movie) == [movie]


def test_movie_mp4(runs, tmp_path):
    movie = tmp_path / "density.mp4"
    assert_ok(invoke("analyze", runs.output, "--movie", movie, "--log"))
    head = movie.read_bytes()[:12]
    assert head[4:8] == b"ftyp", head  # an ISO media file starts with its ftyp box
    assert leftovers(movie) == [movie]


@pytest.mark.parametrize("suffix, writer", [(".gif", "PillowWriter"),
                                            (".mp4", "FFMpegWriter")])
def test_interrupted_movie_leaves_nothing(runs, tmp_path, monkeypatch, suffix, writer):
    from matplotlib import animation
    frames = []

    def interrupt_at_third_frame(self, **options):
        frames.append(1)
        if len(frames) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(getattr(animation, writer), "grab_frame", interrupt_at_third_frame)
    result = invoke("analyze", runs.output, "--movie", tmp_path / f"density{suffix}")
    assert result.exit_code == EXIT_INTERRUPTED, result.stderr
    assert len(frames) == 3
    assert list(tmp_path.iterdir()) == []


def test_polygon_cells_are_drawn(runs, tmp_path):
    figure, movie = tmp_path / "density.png", tmp_path / "density.gif"
    assert_ok(invoke("analyze", runs.polygons, "--density", figure, "--log",
                     "--movie", movie))
    assert_drawn(read_image(figure), DENSITY_PIXELS)
    output = output_reader.read_output(runs.polygons)
    cells = output.populations["adex"].cells
    assert not cells.regular and cells.vertices.shape == (N_CELLS_PER_AXIS ** 2, 4, 2)
    # The sheared mesh reaches higher in w than the grid: the axes follow the cells.
    (_, _), (_, w_top) = cells.limits()
    assert w_top == pytest.approx(300.0 + SHEAR * (ADEX_THRESHOLD + 80.0))
    with Image.open(movie) as image:
        assert image.n_frames == N_SNAPSHOTS


def test_grid_mesh_figure(runs, tmp_path):
    figure = tmp_path / "mesh.png"
    result = invoke("analyze", runs.mesh, "--mesh", figure)
    assert_ok(result)
    assert result.stdout == ""
    assert_drawn(read_image(figure), MESH_PIXELS)


def test_strip_mesh_figure(lif_mesh, tmp_path):
    figure = tmp_path / "mesh.png"
    assert_ok(invoke("analyze", lif_mesh.path, "--mesh", figure))
    assert_drawn(read_image(figure), STRIP_MESH_PIXELS)


def test_polygon_mesh_figure(runs, tmp_path):
    """A mesh artifact whose cells are polygons (as 2D strip meshes will be) is drawn
    from its cell_vertices (output_reader.artifact_cells)."""
    with h5py.File(runs.output) as f:
        vertices = _sheared_vertices(f["populations/adex/density"])
    artifact = SimpleNamespace(path=str(tmp_path / "strips.h5"), variables=("v", "w"),
                               units={"v": "mV", "w": "pA"}, cell_vertices=vertices,
                               model={"variables": ["v", "w"], "spike": {
                                   "threshold": ADEX_THRESHOLD, "reset": {"v": ADEX_RESET}}})
    figure = tmp_path / "mesh.png"
    plot_mesh(artifact, figure)
    assert_drawn(read_image(figure), MESH_PIXELS)


@pytest.mark.parametrize("n_cells", [30, 200, 201, 1000, 1001])
def test_mesh_lines_are_subsampled(n_cells):
    edges = np.linspace(0.0, 1.0, n_cells + 1)
    kept, stride = subsampled_edges(edges)
    assert len(kept) - 1 <= MAX_LINES_PER_AXIS
    assert kept[0] == 0.0 and kept[-1] == 1.0
    assert stride == (1 if n_cells <= MAX_LINES_PER_AXIS else -(-n_cells // MAX_LINES_PER_AXIS))
    np.testing.assert_array_equal(kept[:-1], edges[::stride][:len(kept) - 1])


def test_thinned_mesh_lines_are_said(tmp_path):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots()
    cells = grid_cells("vw", ("mV", "pA"), [[-80.0, -40.0], [0.0, 1.0]], [1000, 150])
    assert draw_cell_lines(axes, cells) == " (one line in 5 along v drawn)"
    assert len(axes.collections[0].get_segments()) == 201  # v lines: every 5th edge
    assert len(axes.collections[1].get_segments()) == 151  # all w lines
    plt.close(figure)


# --- errors --------------------------------------------------------------------------

@pytest.mark.parametrize("options, says", [
    (["--time", "0.2"], ("--time 0.2 s is outside the run", "0 to 0.05")),
    (["--time", "-0.01"], ("outside the run",)),
    (["--population", "adx"], ("no population 'adx'", "adex")),
], ids=["after-the-run", "before-the-run", "unknown-population"])
@pytest.mark.parametrize("option", ["--density", "--marginals"])
def test_bad_snapshot(runs, tmp_path, option, options, says):
    figure = tmp_path / "figure.png"
    result = invoke("analyze", runs.output, option, figure, *options)
    assert_error(result, EXIT_BAD_OPTION, file=runs.output, says=says, output=figure)


@pytest.mark.parametrize("option, name", [("--marginals", "m.png"), ("--movie", "m.gif")])
def test_one_dimensional_population(lif_run, tmp_path, option, name):
    figure = tmp_path / name
    result = invoke("analyze", lif_run.path, option, figure, "--population", "lif")
    assert_error(result, EXIT_BAD_OPTION, file=lif_run.path,
                 says=(option, "'lif' is one-dimensional"), output=figure)


def test_log_of_a_one_dimensional_density(lif_run, tmp_path):
    figure = tmp_path / "d.png"
    result = invoke("analyze", lif_run.path, "--density", figure, "--log")
    assert_error(result, EXIT_BAD_OPTION, file=lif_run.path, says=("--log",), output=figure)


@pytest.mark.parametrize("file, option, name, exit_code, says", [
    ("unsampled", "--movie", "m.gif", EXIT_BAD_OPTION, ("--movie", "density_interval")),
    ("output", "--mesh", "mesh.png", EXIT_BAD_ARTIFACT, ("--mesh", "`miind run` output")),
    ("mesh", "--density", "d.png", EXIT_BAD_ARTIFACT, ("not a `miind run` output", "--mesh")),
], ids=["movie-without-snapshots", "mesh-of-an-output", "density-of-a-mesh"])
def test_wrong_file(runs, tmp_path, file, option, name, exit_code, says):
    figure = tmp_path / name
    result = invoke("analyze", getattr(runs, file), option, figure)
    assert_error(result, exit_code, file=getattr(runs, file), says=says, output=figure)


def test_time_without_snapshots(runs, tmp_path):
    figure = tmp_path / "d.png"
    result = invoke("analyze", runs.unsampled, "--density", figure, "--time", "0.005")
    assert_error(result, EXIT_BAD_OPTION, file=runs.unsampled,
                 says=("--time", "only the density at t = 0.01", "density_interval"),
                 output=figure)
    # The one snapshot there is, at the end, can be drawn.
    assert_ok(invoke("analyze", runs.unsampled, "--density", figure))


@pytest.mark.parametrize("options, says", [
    (["--movie", "m.avi"], "--movie writes .gif or .mp4"),
    (["--movie", "m"], "--movie writes .gif or .mp4"),
    (["--movie", "m.gif", "--fps", "0"], "--fps must be a positive"),
    (["--density", "m.png", "--fps", "5"], "--fps goes with --movie"),
    (["--movie", "m.gif", "--time", "0.01"], "--time goes with --density or --marginals"),
    (["--summary", "--log"], "--log goes with"),
    (["--mesh", "m.png", "--log"], "--mesh draws a mesh artifact"),
], ids=["avi", "no-suffix", "zero-fps", "fps-without-movie", "time-with-movie",
        "log-alone", "mesh-with-others"])
def test_usage_errors(runs, tmp_path, monkeypatch, options, says):
    monkeypatch.chdir(tmp_path)
    result = invoke("analyze", runs.output, *options)
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert says in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []
