"""Progress bars for the command line: rich on stderr, only when a person watches."""

from __future__ import annotations

import contextlib
import sys


@contextlib.contextmanager
def progress_callback(description: str, quiet: bool):
    """Yield a `progress(done, total)` callback, or None when stderr is not a terminal
    (pipelines, CI, job scripts) or --quiet was given."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  "[progress.percentage]{task.percentage:>3.0f}%", TimeElapsedColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield report
