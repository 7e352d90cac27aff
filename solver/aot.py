"""Compile the run-time kernels ahead of time: `python -m solver.aot [--force]`.

Uses numba's ahead-of-time compiler (numba.pycc) on the very functions the JIT
compiles, for the argument types the network builder produces, into the cache
directory that solver.backend loads from (`backend.build_directory()`), and writes
the stamp it checks last. Run by `make install`; does nothing when a current build
is there already. If it fails, runs fall back to the JIT and nothing else changes.

Why numba.pycc, which numba has deprecated (decided 2026-12, numba 0.68.1):
* Its status: numba.pycc is *pending* deprecation since numba 0.57 (a
  NumbaPendingDeprecationWarning on import; still so in 0.68.1 and on numba's main
  branch in 2026-08). numba's deprecation notice ("Deprecation of the numba.pycc
  module", docs/source/reference/deprecation.rst) sets no removal release: full
  deprecation warnings come only once a replacement exists, for at least two
  releases before removal (numba removes features in minor releases). So no release
  lacks it yet, and the earliest that could is 0.71 (warnings in 0.69 and 0.70):
  pyproject.toml pins numba below 0.71.
* Cannot rot: tests/unit/test_backends.py fails, saying what to do, when the
  installed numba lacks numba.pycc or when its warning becomes a real
  NumbaDeprecationWarning (the removal is then scheduled: pin below the release it
  names and replace this module). Until then a missing pycc costs speed only.
* The alternatives are worse today: the JIT alone costs numba's start-up on every
  run (`make bench` measures it; README, "Kernels"); numba's announced successor,
  PIXIE, is an experimental 0.0.1dev0 with no documented path for @njit functions;
  a C or Cython copy of the kernels would be a second implementation to keep
  bit-identical with the JIT's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .backend import (AOT_MODULE, MODULE_FILE, STAMP_NAME, aot_is_current, build_directory,
                      source_hash)


def argument_types():
    from numba import typeof

    from .layout_1d import Coupling, JumpRanks, Matrices, Mesh, State

    ints = np.zeros(1, np.int64)
    floats = np.zeros(1)
    grid = np.zeros((1, 1))
    mesh = Mesh(*[floats if name in ("centres", "reset_fractions", "reset_potential",
                                     "refractory_steps") else ints for name in Mesh._fields])
    matrices = Matrices(*[floats if name in ("data", "threshold_fraction") else ints
                          for name in Matrices._fields])
    coupling = Coupling(*[floats if name in ("conn_count", "conn_delay") else ints
                          for name in Coupling._fields])
    int_grid = np.zeros((1, 1), np.int64)
    ranks = JumpRanks(*[grid if name == "slot_weight" else int_grid if name == "slot_source"
                        else floats if name in ("extra_weight", "theta", "diagonal") else ints
                        for name in JumpRanks._fields])
    state = State(mass=floats, pop_step=ints, refractory_queue=grid, rate_history=grid)
    t = typeof
    advance = (t(mesh), t(matrices), t(coupling), t(ranks), t(state), t(grid), t(1), t(1), t(1.0),
               t(grid), t(grid), t(grid), t(grid), t(grid))
    gather = (t(mesh), t(floats), t(1), t(1), t(floats))
    return advance, gather, grid_argument_types(), diffusion_argument_types()


def diffusion_argument_types():
    """solver.kernels_diffusion.advance_diffusion's, as solver.diffusion_1d calls it."""
    from numba import typeof as t

    ints = t(np.zeros(1, np.int64))
    floats = t(np.zeros(1))
    return (floats, t(1.0), floats, floats, ints, ints, floats, t(1), t(1), ints, floats,
            t(1.0), t(1.0), t(np.zeros((1, 1))), t(1), t(1), t(1.0), floats, floats, floats,
            floats, floats, t(np.zeros((1, 1))), floats)


def grid_argument_types():
    """solver.kernels_2d.advance_grid's, as solver.density_2d calls it."""
    from numba import typeof as t

    ints = np.zeros(1, np.int64)
    floats = np.zeros(1)
    table = np.zeros((1, 1))
    matrices = (ints, ints, table, np.zeros((1, 1), np.int64), ints, ints, floats)
    clamps = (ints, ints, ints, floats)
    return (t(matrices), t(ints), t(ints), t(floats), t(ints), t(clamps), t(ints), t(ints),
            t(ints), t(floats), t(table), t(1), t(1), t(1.0), t(floats), t(table), t(floats),
            t(floats), t(floats), t(floats), t(floats), t(floats), t(floats),
            t(np.zeros((1, 1, 1))), t(table))


def compile_into(directory: Path) -> None:
    with warnings.catch_warnings():
        # numba.pycc announces its pending deprecation on import: the test suite
        # watches it (tests/unit/test_backends.py), a build need not repeat it.
        warnings.simplefilter("ignore")
        from numba.pycc import CC

        from . import kernels_1d as kernels
        from . import kernels_2d, kernels_diffusion

        advance, gather, grid, diffusion = argument_types()
        compiler = CC(AOT_MODULE)
        compiler.output_dir = str(directory)
        # Built on the machine that runs it (make install), so tune for this CPU;
        # the build key names the CPU (backend.host_cpu).
        compiler.target_cpu = "host"
        compiler.verbose = False
        compiler.export("advance_network", advance)(kernels.advance_network.py_func)
        compiler.export("gather_logical", gather)(kernels.gather_logical.py_func)
        compiler.export("advance_grid", grid)(kernels_2d.advance_grid.py_func)
        compiler.export("advance_diffusion", diffusion)(kernels_diffusion.advance_diffusion.py_func)
        compiler.compile()
    if not (directory / MODULE_FILE).is_file():
        raise RuntimeError(f"numba.pycc wrote no {MODULE_FILE}")


def build(directory: Path | None = None) -> Path:
    """Compile into a fresh directory beside `directory`, stamp it, then move it into
    place, so that a run never sees a half-written build."""
    directory = build_directory() if directory is None else directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=directory.parent))
    try:
        compile_into(scratch)
        (scratch / STAMP_NAME).write_text(source_hash() + "\n")
        shutil.rmtree(directory, ignore_errors=True)
        scratch.rename(directory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return directory


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver.aot",
                                     description="Compile the run-time kernels ahead of time.")
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    args = parser.parse_args(argv)
    directory = build_directory()
    if not args.force and aot_is_current(directory):
        print(f"miind: ahead-of-time kernels are current in {directory}", file=sys.stderr)
        return 0
    try:
        build(directory)
    except Exception as error:  # any failure leaves the JIT path in place
        print(f"miind: ahead-of-time kernels not built ({type(error).__name__}: {error}); "
              "runs will use the numba JIT. `pytest tests/unit/test_backends.py` says why.",
              file=sys.stderr)
        return 0
    print(f"miind: ahead-of-time kernels built in {directory}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
