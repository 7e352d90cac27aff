"""The tests' shorthand for tests.support.studies: (time, rate, mass, mean_v) of one run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support.studies import LIF_MODEL, lif_density_run as study  # noqa: F401 - LIF_MODEL re-exported


def lif_density_run(directory: Path, **options):
    run = study(directory, **options)
    return run.time, run.rate, run.mass, run.mean_v


def steady_rate(time: np.ndarray, rate: np.ndarray, start: float) -> float:
    return float(rate[time > start].mean())
