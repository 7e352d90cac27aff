"""Figures of 2D densities and meshes: the density on the mesh cells, its marginals,
a movie over the snapshots, and the cells of a mesh artifact.

Cells are drawn from their generic form (meshgen.formats.run_output_reader.MeshCells): a regular grid as one
pcolormesh, any other mesh as a PolyCollection of its polygons. Every file is
written atomically: a failure leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import numpy as np

from meshgen.formats.mesh_artifact import Diffusion1DArtifact, Strips1DArtifact
from meshgen.formats.atomic_file import atomic_output
from solver.marginals import spike_lines

from meshgen.formats.run_output_reader import MeshCells, RunOutput, artifact_cells
from .plotting import pyplot, save_figure

# The log colour scale spans this many decades below the largest density: deeper
# cells hold under a millionth of the peak, and without a floor the rounding residue
# of the matrices (~1e-16) would stretch the scale over fifteen decades.
LOG_DECADES = 6
# Above this many cells per axis the lines of a mesh merge into a grey block at the
# figure's size and resolution (7 in at 120 dpi: 840 pixels, about 4 per line): only
# every k-th line is drawn, and the title says so.
MAX_LINES_PER_AXIS = 200
MOVIE_SUFFIXES = (".gif", ".mp4")
# Movie frames: 640 x 480 pixels; both even, as H.264 (yuv420p) needs.
MOVIE_SIZE_INCHES = (6.4, 4.8)
MOVIE_DPI = 100
COLOUR_MAP = "viridis"
# Margin left and right of the mesh, as a fraction of its v range.
V_PADDING = 0.015


def plot_density_2d(output: RunOutput, path: str | Path, name: str, index: int,
                    log: bool = False, at_time: float | None = None) -> None:
    """The density (mass / cell area) of 2D population `name` at snapshot `index`."""
    pop = output.populations[name]
    densities = _shown_densities(pop.cells, pop.density_mass[index:index + 1], log)
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 5), constrained_layout=True)
    _draw_density(figure, axes, pop.cells, densities[0], _norm(densities, log), log)
    _draw_spike_lines(axes, pop.threshold, pop.reset_v, pop.cells.units[0])
    axes.set_title(_snapshot_title(pop, name, index, at_time))
    save_figure(figure, path)
    plt.close(figure)


def plot_marginals(output: RunOutput, path: str | Path, name: str, index: int,
                   at_time: float | None = None) -> None:
    """One panel per variable: its marginal density at snapshot `index`."""
    pop = output.populations[name]
    plt = pyplot()
    variables = list(pop.marginals)
    figure, axes = plt.subplots(1, len(variables), figsize=(4 * len(variables), 3.5),
                                constrained_layout=True, squeeze=False)
    for axis, variable, unit in zip(axes[0], variables, pop.cells.units):
        values, edges = pop.marginals[variable]
        axis.stairs(values[index], edges, fill=True, alpha=0.6)
        axis.set_xlabel(_label(variable, unit))
        axis.set_ylabel(f"density (1/{unit})" if unit else "density")
        if variable == pop.cells.variables[0]:
            _draw_spike_lines(axis, pop.threshold, pop.reset_v, unit)
    figure.suptitle(_snapshot_title(pop, name, index, at_time, "marginal densities"))
    save_figure(figure, path)
    plt.close(figure)


def check_movie_path(path: str | Path) -> str:
    """The suffix of a --movie file, or ValueError naming the ones written."""
    suffix = Path(path).suffix.lower()
    if suffix not in MOVIE_SUFFIXES:
        raise ValueError(f"--movie writes {' or '.join(MOVIE_SUFFIXES)} files, not "
                         f"{suffix or 'a file without a suffix'!r}")
    return suffix


def write_movie(output: RunOutput, path: str | Path, name: str, fps: float,
                log: bool = False) -> None:
    """The density of 2D population `name` at every snapshot, one frame each, on one
    colour scale. GIF by pillow, MP4 by the ffmpeg that imageio-ffmpeg bundles."""
    suffix = check_movie_path(path)
    pop = output.populations[name]
    densities = _shown_densities(pop.cells, pop.density_mass, log)
    plt = pyplot()
    from matplotlib import animation
    if suffix == ".gif":
        writer = animation.PillowWriter(fps=fps)
    else:
        import imageio_ffmpeg
        plt.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
        writer = animation.FFMpegWriter(fps=fps, codec="h264")
    figure, axes = plt.subplots(figsize=MOVIE_SIZE_INCHES, constrained_layout=True)
    artist = _draw_density(figure, axes, pop.cells, densities[0], _norm(densities, log), log)
    _draw_spike_lines(axes, pop.threshold, pop.reset_v, pop.cells.units[0])
    with atomic_output(path) as temporary:
        # Pillow and ffmpeg choose the format by the file's suffix, which the
        # temporary name of atomic_output lacks.
        staged = temporary.with_name(temporary.name + suffix)
        try:
            writer.setup(figure, str(staged), MOVIE_DPI)
            try:
                for index in range(len(densities)):
                    _set_values(artist, pop.cells, densities[index])
                    axes.set_title(_snapshot_title(pop, name, index, None))
                    writer.grab_frame()
            except BaseException:
                # Stop ffmpeg; what was written is discarded below. (writer.saving
                # would finish a GIF without frames, raising over the real error.)
                with contextlib.suppress(Exception):
                    writer.finish()
                raise
            writer.finish()
            os.replace(staged, temporary)
        finally:
            staged.unlink(missing_ok=True)
            plt.close(figure)


def plot_mesh(artifact, path: str | Path) -> None:
    """The cells of a mesh artifact: grid lines or polygons in 2D, the cell boundaries
    along v (and each cell's width) in 1D; threshold and reset lines."""
    plt = pyplot()
    name = Path(artifact.path).name
    if isinstance(artifact, (Strips1DArtifact, Diffusion1DArtifact)):  # 1D: intervals of v
        figure = _plot_intervals(plt, artifact, name)
    else:
        cells = artifact_cells(artifact)
        figure, axes = plt.subplots(figsize=(7, 5.5), constrained_layout=True)
        note = draw_cell_lines(axes, cells)
        threshold, reset_v = spike_lines(artifact)
        _draw_spike_lines(axes, threshold, reset_v, cells.units[0])
        _set_limits(axes, cells)
        shape = (f"{cells.shape[0]} x {cells.shape[1]} grid" if cells.regular
                 else f"{cells.n_cells} cells")
        axes.set_title(f"{name}: {shape}{note}")
    save_figure(figure, path)
    plt.close(figure)


# --- pieces -----------------------------------------------------------------------------

def _label(variable: str, unit: str) -> str:
    return f"{variable} ({unit})" if unit else variable


def _snapshot_title(pop, name: str, index: int, at_time: float | None,
                    what: str = "density") -> str:
    time = float(pop.density_time[index])
    title = f"{name}: {what} at t = {time:.4g} s"
    if at_time is not None and not math.isclose(time, at_time, rel_tol=1e-9, abs_tol=1e-12):
        title += f" (snapshot nearest to {at_time:g} s)"
    return title


def _shown_densities(cells: MeshCells, masses: np.ndarray, log: bool) -> np.ndarray:
    """(k, n_cells) densities to colour; on a log scale, cells without mass are NaN
    (left blank)."""
    densities = cells.densities(np.asarray(masses, dtype=float))
    if log:
        densities = np.where(np.asarray(masses) > 0, densities, np.nan)
    return densities


def _norm(densities: np.ndarray, log: bool):
    from matplotlib import colors
    finite = densities[np.isfinite(densities)]
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    if log:
        return colors.LogNorm(vmin=top * 10.0 ** -LOG_DECADES, vmax=top)
    return colors.Normalize(vmin=0.0, vmax=top)


def _grid_values(cells: MeshCells, values: np.ndarray) -> np.ndarray:
    """Cell values as the (n_w, n_v) array pcolormesh takes (cells are v fastest)."""
    n_v, n_w = cells.shape
    return np.ma.masked_invalid(values.reshape(n_w, n_v))


def _draw_density(figure, axes, cells: MeshCells, values: np.ndarray, norm, log: bool):
    import matplotlib
    from matplotlib.collections import PolyCollection
    cmap = matplotlib.colormaps[COLOUR_MAP].with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    if cells.regular:
        artist = axes.pcolormesh(*cells.edges, _grid_values(cells, values), cmap=cmap,
                                 norm=norm, shading="flat", rasterized=True)
    else:
        # Without antialiasing: neighbouring cells meet without pale seams.
        artist = PolyCollection(cells.vertices, cmap=cmap, norm=norm, linewidths=0.0,
                                antialiaseds=False, rasterized=True)
        artist.set_array(np.ma.masked_invalid(values))
        axes.add_collection(artist)
    _set_limits(axes, cells)
    area_unit = "·".join(u for u in cells.units if u)
    colour_bar = figure.colorbar(artist, ax=axes, extend="min" if log else "neither")
    colour_bar.set_label(f"density (1/({area_unit}))" if area_unit else "density")
    return artist


def _set_limits(axes, cells: MeshCells) -> None:
    """The mesh's extent, padded along v so that a threshold line on its edge (the
    grid of a spiking model ends there) is not hidden by the frame."""
    (v_lo, v_hi), (w_lo, w_hi) = cells.limits()
    pad = V_PADDING * (v_hi - v_lo)
    axes.set_xlim(v_lo - pad, v_hi + pad)
    axes.set_ylim(w_lo, w_hi)
    axes.set_xlabel(_label(cells.variables[0], cells.units[0]))
    axes.set_ylabel(_label(cells.variables[1], cells.units[1]))


def _set_values(artist, cells: MeshCells, values: np.ndarray) -> None:
    if cells.regular:
        artist.set_array(_grid_values(cells, values))
    else:
        artist.set_array(np.ma.masked_invalid(values))


def _draw_spike_lines(axes, threshold: float, reset_v: float, unit: str) -> None:
    """Vertical lines at the threshold and the reset value of v, named in a legend."""
    drawn = False
    for value, what, style in ((threshold, "threshold", "-"), (reset_v, "reset", "--")):
        if math.isfinite(value):
            axes.axvline(value, color="crimson", ls=style, lw=1.2, clip_on=False,
                         label=f"{what} v = {value:g} {unit}".rstrip())
            drawn = True
    if drawn:
        axes.legend(loc="upper left", fontsize="small", framealpha=0.8)


def subsampled_edges(edges: np.ndarray) -> tuple[np.ndarray, int]:
    """Every k-th of `edges` (the ends always), k chosen so at most
    MAX_LINES_PER_AXIS cells' lines remain."""
    stride = max(1, math.ceil((len(edges) - 1) / MAX_LINES_PER_AXIS))
    kept = edges[::stride]
    if kept[-1] != edges[-1]:
        kept = np.append(kept, edges[-1])
    return kept, stride


def draw_cell_lines(axes, cells: MeshCells) -> str:
    """Draw the cells' outlines; returns a note for the title if lines were left out."""
    from matplotlib.collections import PolyCollection
    if not cells.regular:
        axes.add_collection(PolyCollection(cells.vertices, facecolors="none",
                                           edgecolors="0.3", linewidths=0.3))
        return ""
    (v_lo, v_hi), (w_lo, w_hi) = cells.limits()
    (v_lines, v_stride), (w_lines, w_stride) = (subsampled_edges(e) for e in cells.edges)
    axes.vlines(v_lines, w_lo, w_hi, colors="0.3", linewidths=0.4)
    axes.hlines(w_lines, v_lo, v_hi, colors="0.3", linewidths=0.4)
    thinned = [f"one line in {stride} along {variable}" for variable, stride
               in zip(cells.variables, (v_stride, w_stride)) if stride > 1]
    return f" ({', '.join(thinned)} drawn)" if thinned else ""


def _plot_intervals(plt, artifact, name: str):
    """A 1D mesh (strips or diffusion): its cell boundaries along v, and the width of
    each cell."""
    order = np.argsort(artifact.lower)
    lower, upper = artifact.lower[order], artifact.upper[order]
    boundaries = np.unique(np.concatenate([lower, upper]))
    shown, stride = subsampled_edges(boundaries)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True,
                                         height_ratios=[1, 2], constrained_layout=True)
    top.vlines(shown, 0.0, 1.0, colors="0.3", linewidths=0.4)
    top.set_yticks([])
    top.set_ylabel("cells")
    every = "" if stride == 1 else f", one boundary in {stride} drawn"
    layout = (f"in {len(artifact.strip_first)} strips" if isinstance(artifact, Strips1DArtifact)
              else "of equal width")
    top.set_title(f"{name}: {artifact.n_cells} cells {layout}{every}")
    bottom.semilogy(0.5 * (lower + upper), upper - lower, ".", markersize=2, color="k")
    bottom.set_ylabel(f"cell width ({artifact.unit})")
    bottom.set_xlabel(f"v ({artifact.unit})")
    _draw_spike_lines(bottom, artifact.threshold, artifact.reset_potential, artifact.unit)
    for value, style in ((artifact.threshold, "-"), (artifact.reset_potential, "--")):
        top.axvline(value, color="crimson", ls=style, lw=1.2)
    return figure
