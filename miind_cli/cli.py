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
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from meshgen import __version__
from meshgen.formats.atomic_file import atomic_output, check_writable
from meshgen.errors import MiindError, SimulationError

from .progress import progress_callback

if TYPE_CHECKING:  # only analyze uses these, and imports them itself (h5py, numpy)
    from meshgen.formats.run_output_reader import RunOutput
    from .analyze_options import AnalyzeOptions
    from .statistics import Binning

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
@click.argument("simulation_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the stationary state (HDF5, the format of `miind run`, one step).")
@click.option("--scan", metavar="KEY=START:STOP:N",
              help="Solve at N values of KEY from START to STOP (a transfer curve), e.g. "
                   "input.bg.rate=0:5000:101; the curve goes to stdout as JSON and to --csv.")
@click.option("--csv", type=click.Path(dir_okay=False, allow_dash=True),
              help="With --scan: write the curve as CSV (KEY, then one rate column per "
                   "population, Hz). '-' = stdout.")
@click.option("--modes", type=click.IntRange(min=1), metavar="K",
              help="Also give the K leading modes of the network linearised around its "
                   "stationary state, delays included: growth rate (1/s; all negative: "
                   "stable) and frequency (Hz) of each. Density populations of every kind.")
@set_option
@quiet_option
def steady(simulation_file, output, scan, csv, modes, overrides, quiet):
    """Solve for the stationary state of SIMULATION_FILE instead of running it.

    Each density population's stationary density under its inputs is the null vector
    of its one-step operator (a sparse solve), and a recurrent network's rates are
    made self-consistent; delays do not change a stationary state. The state is the
    one a long `miind run` settles to on the same meshes. Prints JSON:
    {"populations": {NAME: {"rate": Hz, "mean": {VARIABLE: ...}, ...}}, "converged": ...}.
    A network whose rates do not converge is an error (exit 6), with what the
    iteration did. 1D strip and diffusion meshes and 2D meshes; not direct populations.

    \b
    Examples:
      miind steady examples/lif/simulation.toml -o steady.h5
      miind steady sim.toml --scan input.drive.rate=0:5000:101 --csv curve.csv
    """
    if scan and output:
        raise click.UsageError("--scan solves many states: it writes its curve as JSON or "
                               "with --csv, not -o")
    if not scan and not output:
        raise click.UsageError("give -o OUT.h5 for the state, or --scan for a curve")
    if csv and not scan:
        raise click.UsageError("--csv goes with --scan")
    if modes and scan:
        raise click.UsageError("--modes goes with one state (-o), not --scan")
    from solver import steady as solver_steady
    from solver.sim_file import read_simulation_file

    if scan:
        key, values = solver_steady.parse_scan(scan)
        if csv:
            check_writable(csv)
        with progress_callback("solving", quiet) as progress:
            curve = solver_steady.scan_steady(simulation_file, list(overrides), key, values,
                                              progress=progress)
        _emit_scan(curve, csv)
        return
    check_writable(output)
    spec = read_simulation_file(simulation_file, list(overrides))
    result = solver_steady.steady_state(spec)
    if not result.converged:
        _emit_json(solver_steady.steady_summary(None, result))
        raise SimulationError(solver_steady.not_converged(result), path=simulation_file)
    summary = solver_steady.steady_summary(output, result)
    if modes:
        from solver.modes import linear_modes

        summary.update(solver_steady.modes_summary(linear_modes(spec, result, modes)))
    solver_steady.write_steady_output(output, spec, result)
    _emit_json(summary)


def _emit_scan(curve, csv_path) -> None:
    from solver.steady import scan_csv, scan_summary

    if csv_path == "-":
        click.echo(scan_csv(curve), nl=False)
        return
    if csv_path:
        with atomic_output(csv_path) as temporary:
            with open(temporary, "w") as stream:
                stream.write(scan_csv(curve))
    _emit_json(scan_summary(curve))


@cli.command()
@click.argument("output_file", type=click.Path(dir_okay=False))
@click.option("--csv", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write rates as CSV: t, then one column per population (Hz). '-' = stdout.")
@click.option("--summary", is_flag=True,
              help="Print mean rates as JSON; for direct populations also the spike count "
                   "in the window and synchrony measures (chi, Fano factor, spectrum peak).")
@click.option("--window", metavar="T0:T1",
              help="Time window of --summary, --compare and --spectrum (default: second half).")
@click.option("--bin", type=float, metavar="T",
              help="Average rates into bins of T seconds, a whole number of steps (--csv, "
                   "--plot, --summary, --raster, --compare), and count spikes in them "
                   "(Fano factor, spectrum; default 1 ms). Default: per step.")
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Plot rates (PNG); with --compare, the two compared overlaid.")
@click.option("--raster", type=click.Path(dir_okay=False),
              help="Spike raster of each direct population, its rate below (PNG).")
@click.option("--spectrum", type=click.Path(dir_okay=False),
              help="Power spectrum of each direct population's spike count (PNG).")
@click.option("--trace", type=click.Path(dir_okay=False),
              help="Plot the recorded neurons' state against time (direct populations "
                   "with `record`), one panel per variable (PNG).")
@click.option("--compare", nargs=2, metavar="POP_A POP_B",
              help="Print JSON comparing two populations' rates: RMS difference, steady "
                   "means over --window and the standard error of their difference.")
@click.option("--density", type=click.Path(dir_okay=False),
              help="Plot the density of --population at --time (PNG); in 2D on the mesh "
                   "cells, with the threshold and reset lines.")
@click.option("--marginals", type=click.Path(dir_okay=False),
              help="Plot the marginal density of each variable of a 2D --population at "
                   "--time, one panel each (PNG).")
@click.option("--movie", type=click.Path(dir_okay=False),
              help="Movie of the 2D density of --population over all its snapshots "
                   "(.gif or .mp4).")
@click.option("--fps", type=float, help=f"Frames per second of --movie (default "
                                        f"{DEFAULT_FPS:g}).")
@click.option("--log", is_flag=True,
              help="Logarithmic colour scale for a 2D --density or --movie (cells without "
                   "mass left blank).")
@click.option("--population",
              help="Population for --density, --marginals and --movie (default: the first "
                   "density population; the first 2D one for --marginals and --movie).")
@click.option("--time", type=float,
              help="Time of --density and --marginals: the nearest snapshot is drawn "
                   "(default: the last snapshot).")
@click.option("--mesh", type=click.Path(dir_okay=False),
              help="OUTPUT_FILE is a mesh artifact (`miind mesh`): draw its cells (PNG).")
@click.option("--sttc", type=float, metavar="DT",
              help="With --summary: the spike time tiling coefficient of each direct "
                   "population over --window, averaged over pairs of neurons, spikes "
                   "within +-DT seconds coinciding (e.g. 0.005).")
@click.option("--phase-locking", is_flag=True,
              help="With --summary: the Kuramoto order parameter of each direct "
                   "population's phases between events (every spike, or burst onsets "
                   "with --burst-isi) over --window.")
@click.option("--burst-isi", type=float, metavar="T",
              help="With --phase-locking: the events are burst onsets, a burst being "
                   "spikes at most T seconds apart (e.g. 0.01).")
def analyze(output_file, **given):
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

    \b
    Spike-time synchrony (--summary, direct populations, over --window):
      miind analyze run.h5 --summary --sttc 0.005
      miind analyze run.h5 --summary --phase-locking --burst-isi 0.01
    sttc: the spike time tiling coefficient (Cutts & Eglen 2014), -1 to 1, about 0
    for independent neurons, 1 for identical spike trains. phase_locking: the
    Kuramoto order parameter of phases rising by 2 pi from each event to the next,
    0 to 1, 1 in step, phase_locking_independent (sqrt(pi/4n)) for independent
    neurons. Bursts: a spike more than --burst-isi after its neuron's previous spike
    starts one.
    """
    from .analyze_options import AnalyzeOptions

    options = AnalyzeOptions(**given)
    _check_usage(options)
    if options.mesh:
        _draw_mesh(output_file, options.mesh)
        return
    # Check everything before writing anything, so an error leaves no file behind.
    for path in options.files():
        check_writable(path)
    _write_results(options, _compute(output_file, options))


def _check_usage(options: AnalyzeOptions) -> None:
    """The usage errors of analyze: options that do not go together, a bad --fps,
    --sttc or --burst-isi, a bad --movie suffix."""
    from .analyze_options import combination_problem, option_name

    problem = combination_problem(options.given())
    if problem:
        raise click.UsageError(problem)
    if options.mesh:
        return
    fps = options.fps
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise click.UsageError(f"--fps must be a positive number of frames per second, got {fps:g}")
    for name in ("sttc", "burst_isi"):
        seconds = getattr(options, name)
        if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
            raise click.UsageError(f"{option_name(name)} must be a positive number of "
                                   f"seconds, got {seconds:g}")
    if options.movie:
        from .plotting2d import check_movie_path
        try:
            check_movie_path(options.movie)
        except ValueError as problem:
            raise click.UsageError(str(problem)) from None


@dataclass(frozen=True)
class _Analysis:
    """What analyze reads, selects and computes before it writes anything."""

    output: RunOutput
    binning: Binning  # rates (--bin, default per step)
    count_binning: Binning  # spike counts (--bin, default statistics.DEFAULT_BIN)
    snapshot: tuple[str, int] | None  # --density: population, snapshot index
    density_2d: bool
    marginals: tuple[str, int] | None
    movie: str | None
    raster_names: list[str] | None
    trace_names: list[str] | None
    spectra: dict | None
    report: dict | None  # --summary
    comparison: dict | None  # --compare


def _compute(output_file: str, options: AnalyzeOptions) -> _Analysis:
    """Read OUTPUT_FILE, select what the options name and compute what they ask for."""
    from meshgen.formats.run_output_reader import read_output

    from . import selection, statistics

    spike_measures = (statistics.SpikeMeasures(options.sttc, options.phase_locking,
                                               options.burst_isi)
                      if options.sttc is not None or options.phase_locking else None)
    result = read_output(output_file, spikes=bool(options.raster) or spike_measures is not None)
    span = selection.parse_window(options.window)
    binning = statistics.make_binning(result, options.bin)
    count_binning = statistics.make_binning(result, options.bin, statistics.DEFAULT_BIN)
    snapshot = (selection.select_density(result, options.population, options.time, options.log)
                if options.density else None)
    marginals = (selection.select_marginals(result, options.population, options.time)
                 if options.marginals else None)
    movie = selection.select_movie(result, options.population) if options.movie else None
    if spike_measures is not None:
        selection.direct_names(result, "--sttc" if options.sttc is not None else "--phase-locking")
    raster_names = selection.direct_names(result, "--raster") if options.raster else None
    trace_names = selection.recorded_names(result) if options.trace else None
    spectra = (statistics.spectra(result, selection.direct_names(result, "--spectrum"), span,
                                  count_binning) if options.spectrum else None)
    report = (statistics.summarize(result, span, binning, count_binning, spike_measures)
              if options.summary else None)
    comparison = (statistics.compare(result, *options.compare, span, binning)
                  if options.compare else None)
    return _Analysis(
        output=result, binning=binning, count_binning=count_binning, snapshot=snapshot,
        density_2d=bool(snapshot) and result.populations[snapshot[0]].two_dimensional,
        marginals=marginals, movie=movie, raster_names=raster_names, trace_names=trace_names,
        spectra=spectra, report=report, comparison=comparison)


def _write_results(options: AnalyzeOptions, analysis: _Analysis) -> None:
    """The CSV, then the figures, then the JSON of --summary and --compare."""
    from . import statistics

    if options.csv == "-":
        statistics.write_rates_csv(analysis.output, sys.stdout, analysis.binning)
    elif options.csv:
        with atomic_output(options.csv) as temporary, open(temporary, "w", newline="") as stream:
            statistics.write_rates_csv(analysis.output, stream, analysis.binning)
    if analysis.density_2d or analysis.marginals or analysis.movie:
        _draw_2d(options, analysis)
    if options.plot or (options.density and not analysis.density_2d) or options.raster or \
            options.spectrum or options.trace:
        _draw_figures(options, analysis)
    if analysis.report is not None or analysis.comparison is not None:
        _emit_json({**(analysis.report or {}), **(analysis.comparison or {})})


def _draw_2d(options: AnalyzeOptions, analysis: _Analysis) -> None:
    """--density of a 2D population, --marginals and --movie (plotting2d)."""
    from . import plotting2d

    result = analysis.output
    if analysis.density_2d:
        plotting2d.plot_density_2d(result, options.density, *analysis.snapshot, log=options.log,
                                   at_time=options.time)
    if analysis.marginals:
        plotting2d.plot_marginals(result, options.marginals, *analysis.marginals,
                                  at_time=options.time)
    if analysis.movie:
        plotting2d.write_movie(result, options.movie, analysis.movie, options.fps or DEFAULT_FPS,
                               log=options.log)


def _draw_figures(options: AnalyzeOptions, analysis: _Analysis) -> None:
    """--trace, --plot, --raster, --spectrum and --density of a 1D population (plotting)."""
    from . import plotting

    result = analysis.output
    if options.trace:
        plotting.plot_traces(result, options.trace, analysis.trace_names)
    if options.plot and analysis.comparison:
        plotting.plot_comparison(result, options.plot, analysis.comparison["compare"],
                                 analysis.binning)
    elif options.plot:
        plotting.plot_rates(result, options.plot, analysis.binning)
    if options.raster:
        plotting.plot_raster(result, options.raster, analysis.raster_names,
                             analysis.count_binning)
    if options.spectrum:
        plotting.plot_spectra(result, options.spectrum, analysis.spectra,
                              analysis.count_binning)
    if options.density and not analysis.density_2d:
        plotting.plot_density(result, options.density, *analysis.snapshot)


def _draw_mesh(mesh_file, figure_path) -> None:
    """analyze MESH_FILE --mesh FIGURE: --mesh reads a mesh artifact (and goes alone)."""
    from meshgen.formats.run_output_reader import read_mesh_to_draw
    from .plotting2d import plot_mesh

    check_writable(figure_path)
    plot_mesh(read_mesh_to_draw(mesh_file), figure_path)
