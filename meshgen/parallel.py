"""Independent pieces of mesh generation run in worker processes (`miind mesh --jobs`).

    with Workers(jobs, make_context, context_args) as workers:
        for result in workers.map(function, tasks, done):
            ...

yields `function(context, task)` for every task, in task order, whether it ran in
this process (jobs = 1) or in `jobs` spawned worker processes. Each worker builds
`context = make_context(*context_args)` once, at start, so what every task shares (a
model with compiled equations, which cannot be pickled, is rebuilt from its plain
definition) is sent once per worker, not once per task; one set of workers serves
every `map` in the `with` block.

The results do not depend on `jobs`: the caller splits the work into the same tasks
whatever the number of processes, each task is computed by the same code from the
same inputs, and the results are put together in task order.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator

from .errors import MeshError

# Tasks handed to the workers ahead of the one awaited, per worker: enough to keep
# every worker busy, few enough that the inputs waiting in the queue stay small.
TASKS_AHEAD_PER_WORKER = 2

_context = None


def available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_jobs(jobs: int) -> int:
    """Worker processes for `--jobs N`: N itself, or every core this process may use for 0."""
    if isinstance(jobs, bool) or int(jobs) != jobs or jobs < 0:
        raise MeshError(f"jobs must be a non-negative integer (0 = all cores), got {jobs!r}")
    return available_cores() if jobs == 0 else int(jobs)


class Workers:
    """`jobs` worker processes (none for 1), each with its context built at start.

    `make_context` and the functions given to `map` must be module-level functions,
    `context_args` and the tasks picklable: workers are spawned, not forked (safe with
    threads, the same on every platform)."""

    def __init__(self, jobs: int, make_context: Callable, context_args: tuple):
        self.jobs = resolve_jobs(jobs)
        self._make_context, self._context_args = make_context, context_args
        self._pool = None
        self._context = None

    def __enter__(self) -> "Workers":
        if self.jobs == 1:
            self._context = self._make_context(*self._context_args)
        else:
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(self._make_context, self._context_args))
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, function: Callable, tasks: Iterable,
            done: Callable[[], None] | None = None) -> Iterator:
        """function(context, task) for each task, in order; `done()` after each."""
        if self._pool is None:
            for task in tasks:
                result = function(self._context, task)
                if done is not None:
                    done()
                yield result
            return
        pending = []
        tasks = iter(tasks)
        while True:
            while len(pending) < self.jobs * (1 + TASKS_AHEAD_PER_WORKER):
                task = next(tasks, _END)
                if task is _END:
                    break
                pending.append(self._pool.submit(_run_task, function, task))
            if not pending:
                return
            try:
                result = pending.pop(0).result()
            except BrokenProcessPool:
                raise MeshError(f"a worker process (of --jobs {self.jobs}) stopped unexpectedly, "
                                "out of memory perhaps; try fewer jobs") from None
            if done is not None:
                done()
            yield result


_END = object()


def _start_worker(make_context, context_args):
    global _context
    # Ctrl-C is the parent's to handle (it stops handing out tasks and says so once);
    # a worker finishes its task and is shut down instead of printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _context = make_context(*context_args)


def _run_task(function, task):
    return function(_context, task)
