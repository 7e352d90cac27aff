"""The `miind` command line: parse, call the library, turn its errors into messages.

Results go to stdout (JSON, CSV, paths); messages for people go to stderr. Exit codes:
0 success, 1 internal error, 2 usage error, 3 bad input file or option, 4 missing or
incompatible artifact, 5 model cannot be meshed as asked, 6 simulation failed,
130 interrupted.
"""

from __future__ import annotations

import json
import math
import sys

import click

from meshgen import __version__
from meshgen.atomic_file import atomic_output, check_writable
from meshgen.errors import ConfigError, MiindError, SimulationError

from .analyze_options import combination_problem
from .progress import progress_callback

# Frames per second of `analyze --movie` (miind_cli.plotting2d, which needs matplotlib
# and is imported only when drawing).
DEFAULT_FPS = 10.0

EXIT_INTERRUPTED = 130


class MiindGroup(click.Group):
    """Runs each command with library errors reported as one line and an exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MiindError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted; no output written", err=True)
            ctx.exit(EXIT_INTERRUPTED)


set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override a key of the input file, e.g. model.parameters.tau=0.02 (repeatable). "
         "Entries of [[...]] arrays are addressed by index or name: population.0.mesh=...")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")


@click.group(cls=MiindGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="miind")
def cli():
    """Population density simulation of spiking neuron populations.

    \b
      miind mesh lif.toml -o lif_mesh.h5          build a mesh artifact
      miind run simulation.toml -o run.h5         simulate populations on meshes
      miind analyze run.h5 --summary              mean rates as JSON
    """


def _emit_json(data: dict) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


@cli.command()
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Mesh artifact to write (HDF5).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True,
              help="Worker processes for a 2D mesh's matrices: a grid's motion, a strip "
                   "mesh's overlaps (0 = all cores); the artifact is the same whatever the "
                   "number.")
@set_option
@quiet_option
def mesh(model_file, output, jobs, overrides, quiet):
    """Build the mesh and transition matrices of MODEL_FILE.

    Prints a JSON summary (cells, strips, dt, mass accounting of each matrix).
    Grids add the resolution, which settings were chosen automatically, and per
    matrix the column sums, the fired and clamped fractions and where mass is
    clamped; warnings (mass clamped at the grid's edge, a reset outside the range)
    also go to stderr.

    \b
    Examples:
      miind mesh examples/lif/lif.toml -o lif_mesh.h5
      miind mesh lif.toml -o fine.h5 --set mesh.cells_per_efficacy=20
      miind mesh lif.toml -o tau20.h5 --set model.parameters.tau=0.02
      miind mesh examples/grid2d/adex.toml -o adex_mesh.h5 --jobs 0
    """
    from meshgen.build import build_mesh

    with progress_callback("meshing", quiet) as progress:
        summary = build_mesh(model_file, output, list(overrides), progress=progress, jobs=jobs)
    for warning in summary.warnings or ():
        click.echo(f"warning: {model_file}: {warning}", err=True)
    for note in summary.notes or ():
        click.echo(f"note: {model_file}: {note}", err=True)
    _emit_json(summary.as_dict())


@cli.command()
@click.argument("simulation_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file to write (HDF5).")
@click.option("--strict", is_flag=True,
              help="Fail (exit 6) on any warning of the run: a 2D population's mesh clamps "
                   "more mass at its edges than the threshold (or predates that check), "
                   "steps too long for its interval between spikes, or cells too coarse "
                   "for its density; the output is written all the same.")
@set_option
@quiet_option
def run(simulation_file, output, strict, overrides, quiet):
    """Simulate the populations of SIMULATION_FILE.

    Prints a JSON summary with each population's mean rate over the second half and,
    for 2D populations, the mass their mesh clamped at its edges per second (by
    motion, jumps and reset) with the check of it: above the threshold a warning on
    stderr names the population, the edge, the mechanism and a wider range.

    \b
    Examples:
      miind run examples/lif/simulation.toml -o run.h5
      miind run simulation.toml -o run.h5 --set simulation.t_end=5 --set input.0.rate=1200
      miind run adex_sim.toml -o run.h5 --strict     exit 6 if mass piles up at an edge
    """
    from solver.engine import run_simulation

    with progress_callback("simulating", quiet) as progress:
        summary = run_simulation(simulation_file, output, list(overrides), progress=progress,
                                 strict=strict)
    for warning in summary.warnings:
        click.echo(f"warning: {simulation_file}: {warning}", err=True)
    _emit_json(summary.as_dict())
    if summary.failed:
        click.echo(f"error: {simulation_file}: the run has warnings (--strict); the output "
                   f"{output} is written", err=True)
        raise click.exceptions.Exit(SimulationError.exit_code)


@cli.command()
@click.argument("output_file", type=click.Path(dir_okay=False))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write rates as CSV: t, then one column per population (Hz). '-' = stdout.")
@click.option("--summary", is_flag=True,
              help="Print mean rates as JSON; for direct populations also the spike count "
                   "in the window and synchrony measures (chi, Fano factor, spectrum peak).")
@click.option("--window", metavar="T0:T1",
              help="Time window of --summary, --compare and --spectrum (default: second half).")
@click.option("--bin", "bin_width", type=float, metavar="T",
              help="Average rates into bins of T seconds, a whole number of steps (--csv, "
                   "--plot, --summary, --raster, --compare), and count spikes in them "
                   "(Fano factor, spectrum; default 1 ms). Default: per step.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Plot rates (PNG); with --compare, the two compared overlaid.")
@click.option("--raster", "raster_path", type=click.Path(dir_okay=False),
              help="Spike raster of each direct population, its rate below (PNG).")
@click.option("--spectrum", "spectrum_path", type=click.Path(dir_okay=False),
              help="Power spectrum of each direct population's spike count (PNG).")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False),
              help="Plot the recorded neurons' state against time (direct populations "
                   "with `record`), one panel per variable (PNG).")
@click.option("--compare", nargs=2, metavar="POP_A POP_B",
              help="Print JSON comparing two populations' rates: RMS difference, steady "
                   "means over --window and the standard error of their difference.")
@click.option("--density", "density_path", type=click.Path(dir_okay=False),
              help="Plot the density of --population at --time (PNG); in 2D on the mesh "
                   "cells, with the threshold and reset lines.")
@click.option("--marginals", "marginals_path", type=click.Path(dir_okay=False),
              help="Plot the marginal density of each variable of a 2D --population at "
                   "--time, one panel each (PNG).")
@click.option("--movie", "movie_path", type=click.Path(dir_okay=False),
              help="Movie of the 2D density of --population over all its snapshots "
                   "(.gif or .mp4).")
@click.option("--fps", type=float, help=f"Frames per second of --movie (default "
                                        f"{DEFAULT_FPS:g}).")
@click.option("--log", "log_scale", is_flag=True,
              help="Logarithmic colour scale for a 2D --density or --movie (cells without "
                   "mass left blank).")
@click.option("--population",
              help="Population for --density, --marginals and --movie (default: the first "
                   "density population; the first 2D one for --marginals and --movie).")
@click.option("--time", "at_time", type=float,
              help="Time of --density and --marginals: the nearest snapshot is drawn "
                   "(default: the last snapshot).")
@click.option("--mesh", "mesh_path", type=click.Path(dir_okay=False),
              help="OUTPUT_FILE is a mesh artifact (`miind mesh`): draw its cells (PNG).")
def analyze(output_file, csv_path, summary, window, bin_width, plot_path, raster_path, trace_path,
            spectrum_path, compare, density_path, marginals_path, movie_path, fps, log_scale,
            population, at_time, mesh_path):
    """Rates, summaries, comparisons and plots of a `miind run` OUTPUT_FILE, or the
    cells of a mesh artifact (--mesh).

    \b
    Examples:
      miind analyze run.h5 --summary
      miind analyze run.h5 --summary --window 0.5:1.0
      miind analyze run.h5 --csv rates.csv --plot rates.png
      miind analyze run.h5 --csv - --bin 0.001        rates in 1 ms bins
      miind analyze run.h5 --raster raster.png        spikes of direct populations
      miind analyze run.h5 --spectrum spectrum.png --window 0.2:1.0
      miind analyze run.h5 --compare direct density --bin 0.002 --plot compare.png
      miind analyze run.h5 --density density.png --population lif --time 0.5

    \b
    2D density populations:
      miind analyze run.h5 --density d.png --population adex --time 0.5 --log
      miind analyze run.h5 --marginals m.png --population adex --time 0.5
      miind analyze run.h5 --movie density.gif --population adex --fps 10
      miind analyze mesh.h5 --mesh mesh.png       draw the cells of a mesh artifact

    \b
    --compare prints rms_difference_hz (over the whole run), the steady means over
    --window and steady_difference_standard_error_hz: the standard error of the
    steady difference from 10 batch means of the window, i.e. how much it would
    vary between runs of that length (noise only, not a shared bias). A difference
    within about two standard errors is consistent with noise.

    \b
    Synchrony (--summary, direct populations): chi (Golomb-Rinzel; ~1/sqrt(N) for
    independent neurons, 1 for identical ones) over the second half of the run,
    where the run recorded each neuron's variance of v; the Fano factor of the
    population spike count (1 for Poisson) and the peak of its spectrum over
    --window, in bins of --bin or of 1 ms rounded to whole steps.
    Bins: a last incomplete bin is left out.
    """
    from . import output_reader, selection, statistics

    given = {name for name, value in (
        ("csv", csv_path), ("summary", summary), ("window", window),
        ("bin", bin_width is not None), ("plot", plot_path), ("raster", raster_path),
        ("trace", trace_path), ("spectrum", spectrum_path), ("compare", compare),
        ("density", density_path), ("marginals", marginals_path), ("movie", movie_path),
        ("fps", fps is not None), ("log", log_scale), ("population", population),
        ("time", at_time is not None), ("mesh", mesh_path)) if value}
    problem = combination_problem(given)
    if problem:
        raise click.UsageError(problem)
    if mesh_path:
        _draw_mesh(output_file, mesh_path)
        return
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise click.UsageError(f"--fps must be a positive number of frames per second, got {fps:g}")
    if movie_path:
        from .plotting2d import check_movie_path
        try:
            check_movie_path(movie_path)
        except ValueError as problem:
            raise click.UsageError(str(problem)) from None
    # Check everything before writing anything, so an error leaves no file behind.
    for path in (csv_path, plot_path, density_path, raster_path, spectrum_path, trace_path,
                 marginals_path, movie_path):
        if path and path != "-":
            check_writable(path)
    result = output_reader.read_output(output_file, spikes=bool(raster_path))
    span = selection.parse_window(window)
    binning = statistics.make_binning(result, bin_width)
    count_binning = statistics.make_binning(result, bin_width, statistics.DEFAULT_BIN)
    snapshot = selection.select_snapshot(result, population, at_time) if density_path else None
    if snapshot and log_scale and not result.populations[snapshot[0]].two_dimensional:
        raise ConfigError(f"--log: population '{snapshot[0]}' is one-dimensional; the log "
                          "colour scale is for 2D densities", path=result.path)
    marginals = (selection.select_marginals(result, population, at_time) if marginals_path
                 else None)
    movie = selection.select_movie(result, population) if movie_path else None
    density_2d = bool(snapshot) and result.populations[snapshot[0]].two_dimensional
    raster_names = selection.direct_names(result, "--raster") if raster_path else None
    trace_names = selection.recorded_names(result) if trace_path else None
    spectra = (statistics.spectra(result, selection.direct_names(result, "--spectrum"), span,
                                count_binning) if spectrum_path else None)
    report = statistics.summarize(result, span, binning, count_binning) if summary else None
    comparison = statistics.compare(result, *compare, span, binning) if compare else None
    if csv_path == "-":
        statistics.write_rates_csv(result, sys.stdout, binning)
    elif csv_path:
        with atomic_output(csv_path) as temporary, open(temporary, "w", newline="") as stream:
            statistics.write_rates_csv(result, stream, binning)
    if density_2d or marginals or movie:
        from . import plotting2d
        if density_2d:
            plotting2d.plot_density_2d(result, density_path, *snapshot, log=log_scale,
                                       at_time=at_time)
        if marginals:
            plotting2d.plot_marginals(result, marginals_path, *marginals, at_time=at_time)
        if movie:
            plotting2d.write_movie(result, movie_path, movie, fps or DEFAULT_FPS, log=log_scale)
    if plot_path or (density_path and not density_2d) or raster_path or spectrum_path or \
            trace_path:
        from . import plotting
        if trace_path:
            plotting.plot_traces(result, trace_path, trace_names)
        if plot_path and comparison:
            plotting.plot_comparison(result, plot_path, comparison["compare"], binning)
        elif plot_path:
            plotting.plot_rates(result, plot_path, binning)
        if raster_path:
            plotting.plot_raster(result, raster_path, raster_names, count_binning)
        if spectrum_path:
            plotting.plot_spectra(result, spectrum_path, spectra, count_binning)
        if density_path and not density_2d:
            plotting.plot_density(result, density_path, *snapshot)
    if report is not None or comparison is not None:
        _emit_json({**(report or {}), **(comparison or {})})


def _draw_mesh(mesh_file, figure_path) -> None:
    """analyze MESH_FILE --mesh FIGURE: --mesh reads a mesh artifact (and goes alone)."""
    from .output_reader import read_mesh_to_draw
    from .plotting2d import plot_mesh

    check_writable(figure_path)
    plot_mesh(read_mesh_to_draw(mesh_file), figure_path)
